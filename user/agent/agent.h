/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The agent's own parts, above every module: the control socket, the ring
 * buffer's consumer, reload and metrics. procbindd.c orchestrates them. */
#ifndef PB_AGENT_H
#define PB_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* ringbuf.c */
int pb_events_handle(void *ctx, void *data, size_t size); /* ring_buffer callback */
/* Read at most budget records from the ring buffer: 1 when it stopped at
 * the budget (more wait), 0 when it is empty. A flood of events (every
 * denied connect is one) must not starve the control socket, the workload
 * socket, the guard's queue or the audit trail's clock: libbpf's consume
 * alone reads for as long as the kernel writes. */
int pb_events_drain(struct pb_agent *a, uint32_t budget);
/* A drain between other work, and the most a ring buffer holds (the
 * smallest event is 32 bytes): what was there when a drain began. */
#define PB_DRAIN_STEP  4096
#define PB_DRAIN_WHOLE (PB_RINGBUF_BYTES / 32)
void pb_events_init(struct pb_agent *a);   /* before the first event */
void pb_guard_drain(struct pb_agent *a);   /* the file guard's queued events */
void pb_refusals_pass(struct pb_agent *a); /* once a second: refusals_folded records */
/* watch.c: the policy file's watch. open: the inotify descriptor, or -1
 * (off, or cannot: logged); event: it is readable; due: 1 once a change
 * has settled and the file's bytes differ from those last loaded or
 * refused; seen: record the file's bytes as loaded or refused now. */
int pb_watch_open(struct pb_agent *a);
void pb_watch_event(struct pb_agent *a);
int pb_watch_due(struct pb_agent *a);
void pb_watch_seen(struct pb_agent *a);
void pb_watch_close(struct pb_agent *a);
/* Before a request is served, the node as it is now: every event the kernel
 * and the guard have reported, and every new cgroup named (not as of the
 * last tick: a mint right after a container started would find it
 * unmatched, a workload's exec would be unknown). */
void pb_agent_catch_up(struct pb_agent *a);
#define PB_ERRLEN 512 /* one error line of a socket's reply */

/* workload.c: the workload socket (a listening fd, or -1 when off). */
int pb_workload_listen(struct pb_agent *a);
void pb_workload_accept(struct pb_agent *a, int ep);
int pb_workload_owns(struct pb_agent *a, int fd); /* a client connection of the workload socket? */
void pb_workload_io(struct pb_agent *a, int fd, uint32_t events, int ep);
void pb_workload_expire(struct pb_agent *a, int ep); /* clients past their deadline */

/* How credential files are kept from other processes, in a word. */
const char *pb_file_path_name(const struct pb_agent *a);

/* reload.c: re-read the policy file and swap it in atomically, or keep the
 * old one; credentials of identities it no longer has are revoked. */
int pb_reload(struct pb_agent *a, char *err, size_t errlen);

/* control.c: the control socket (its listening fd, or -errno). */
int pb_control_listen(struct pb_agent *a);
void pb_control_accept(struct pb_agent *a, int ep);
int pb_control_owns(struct pb_agent *a, int fd); /* a client connection of the control socket? */
void pb_control_io(struct pb_agent *a, int fd, uint32_t events, int ep);
void pb_control_expire(struct pb_agent *a, int ep); /* clients past their deadline */

/* metrics.c: the Prometheus text format, once a second, to the textfile
 * collector's file and to the HTTP server */
int pb_metrics_write(struct pb_agent *a);
/* metrics_http.c: GET /metrics on --metrics-addr, from a thread of its own
 * that serves the latest rendering. listen: the socket, before anything is
 * loaded (a port in use stops the start); start: the thread, once signals
 * are blocked. Each 0 or -errno (logged). */
int pb_metrics_http_listen(struct pb_agent *a, const char *addr);
int pb_metrics_http_start(struct pb_agent *a);
int pb_metrics_http_on(struct pb_agent *a);
void pb_metrics_http_publish(struct pb_agent *a, char *text,
			     size_t len); /* takes text (malloc'd) */
void pb_metrics_http_stop(struct pb_agent *a);

/* What status and the metrics report, read in one place. */
struct pb_stats {
	uint64_t cnt[PB_CNT_MAX]; /* the kernel's counters, summed over CPUs */
	uint64_t nprocs, ncreds;  /* entries in the procs and creds maps */
	uint64_t live;		  /* credentials not yet ended */
};
void pb_stats_read(struct pb_agent *a, struct pb_stats *st);

/* single.c: one agent per node. Before anything is written or loaded:
 * the control socket answered by another agent, or the state directory
 * locked by one, refuses the start (naming its PID), unless --take-over,
 * which asks it to step down and waits for it. 0 or -errno (logged). */
int pb_single_claim(struct pb_agent *a);
/* The same for --cleanup: the agent that holds the pin directory refuses
 * it (or, with --take-over, is asked to step down first); the lock is held
 * while it cleans up. */
int pb_single_idle(struct pb_agent *a);
/* procbindd's exit status when it was refused because another agent serves
 * (EX_TEMPFAIL): the systemd unit does not restart it then
 * (RestartPreventExitStatus=), so a unit whose agent was taken over by
 * another (--take-over) does not restart into a refusal every second. */
#define PB_EXIT_OTHER_AGENT 75

/* notify.c: systemd's readiness protocol. pb_notify sends one state
 * ("READY=1", "WATCHDOG=1", ...) to $NOTIFY_SOCKET: 0 (also when there is
 * none) or -errno (logged). pb_watchdog_interval_ns: how often to send
 * WATCHDOG=1 (half of $WATCHDOG_USEC), 0 when no watchdog is asked of us. */
int pb_notify(const char *state);
uint64_t pb_watchdog_interval_ns(void);

#endif
