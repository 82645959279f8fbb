/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The agent module's state (agent/): what procbindd was told, the ring
 * buffer's consumer, the sockets it serves. Written by agent/ only. */
#ifndef PB_AGENT_STATE_H
#define PB_AGENT_STATE_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "conn.h"
#include "procbind/abi.h"

struct ring_buffer;
struct MHD_Daemon;

/* What procbindd was told: flags, or their defaults. */
struct pb_agent_conf {
	char policy_path[PATH_MAX];
	int mode_override; /* -1: take the policy's */
	char state_dir[PATH_MAX];
	char cred_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char workload_socket[PATH_MAX]; /* "" = none */
	char cgroup_root[PATH_MAX];
	char bpffs[PATH_MAX];
	char pin_dir[PATH_MAX];
	char node[64];
	char k8s_dir[PATH_MAX]; /* the kubelet's container log links */
	char audit_dir[PATH_MAX];
	char metrics_file[PATH_MAX]; /* "" = none */
	char metrics_addr[64];	     /* HOST:PORT for HTTP; "" = none */
	int seed_source;	     /* PB_SEED_*: how processes that predate the agent are found */
	int lsm_mode;	   /* PB_LSM_*: refuse foreign opens of token files with BPF-LSM */
	int file_guard;	   /* guard credential files with fanotify (default on) */
	int acquire_tp;	   /* the open(2) syscall tracepoints (default off: they tax every task) */
	int events_stream; /* PB_STREAM_*: stdout's event lines (--events-format); the trail keeps
			      JSON */
	int record_refs;   /* --record-refs: later records refer to a full description (on) */
	uint64_t audit_segment_bytes; /* --audit-segment-size; 0: the trail's default */
	uint64_t dead_retention;      /* ns an ended credential is kept (default 1 h) */
	int take_over;		      /* --take-over: ask a running agent to step down first */
	char guard_host[108]; /* --guard-host: the guard host's socket; "" = fork the guard */
	int watch_policy;     /* --watch-policy: reload when the policy file changes (on) */
};

/* The policy file's watch (watch.c): an inotify descriptor on its
 * directory, and what the file held when it was last loaded or refused. */
struct pb_policy_watch {
	int fd;			/* -1: not watching */
	uint64_t changed_at;	/* boot ns of the last change seen, not yet acted on; 0 */
	unsigned char seen[32]; /* BLAKE2b of the bytes last loaded or refused */
	int have_seen;
	uint64_t loaded, refused; /* reloads by outcome, for the metrics */
};

enum { PB_SEED_AUTO, PB_SEED_ITER, PB_SEED_PROC };
enum { PB_STREAM_JSON, PB_STREAM_OCSF, PB_STREAM_NONE };
enum { PB_LSM_AUTO, PB_LSM_ON, PB_LSM_OFF };

/* Allowed (process, destination) pairs already recorded. Open addressing;
 * a process's entries go at its exit, and the table is emptied when half
 * full (a later repeat is then recorded once more, never lost). */
#define PB_DEDUP_SLOTS (1u << 16)

struct pb_dedup {
	struct pb_pkey proc; /* tgid 0: free; UINT32_MAX: removed */
	uint8_t daddr[16];   /* the destination, whole: no digest decides */
	uint16_t dport;
	uint8_t protocol, family;
	uint32_t repeats;
};

/* The ring buffer's consumer (ringbuf.c). The kernel's events, each
 * counted once: events_sent (kernel) = received once drained; received =
 * recorded + folded + dropped. */
struct pb_drain {
	struct ring_buffer *rb;
	uint64_t received;	  /* records read from the ring buffer */
	uint64_t recorded;	  /* ...that became a line of their own */
	uint64_t folded;	  /* ...counted in another line (an allowed connect
				   * repeated: its exit record's allow_repeats) or
				   * not a line (a new cgroup, matched silently) */
	uint32_t rb_budget;	  /* records this drain may still take */
	uint64_t dropped;	  /* ...too short, of no known type, or not
				   * formatted for want of memory (each logged) */
	uint64_t guard_lost;	  /* the guard queue's losses already written as a gap */
	uint64_t refusals_folded; /* refusals counted in refusals_folded records */
	uint64_t budget_folded;	  /* past a fair share: counted in *_folded records */
	/* Allowed (process, destination) pairs already recorded (ringbuf.c). */
	struct pb_dedup dedup[PB_DEDUP_SLOTS];
	uint32_t dedup_used;
};

/* The metrics endpoint (metrics_http.c): its server's thread reads text
 * under lock, the agent's loop replaces it. */
struct pb_http {
	int fd; /* the listening socket, until the daemon takes it; -1 */
	char addr[64];
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	char *text; /* the latest rendering, NUL-terminated */
	size_t len;
	uint64_t published; /* CLOCK_BOOTTIME ns of the latest: the loop is alive */
	int ready;	    /* the agent enforces (hooks, policy, guard, sockets) */
};

static inline void pb_http_state_init(struct pb_http *h)
{
	h->fd = -1;
	pthread_mutex_init(&h->lock, NULL);
}

/* The sockets the agent serves (control.c, workload.c). */
/* Workload socket requests by verb (enum pb_wl_verb; PB_WL_VERBS: one that
 * did not parse) and outcome (0 answered, 1 refused). */
#define PB_WL_VERBS 3
struct pb_serve {
	struct pb_conn_pool ctl, wl;
	uint64_t wl_requests[PB_WL_VERBS + 1][2];
	int state_lock;	 /* STATE-DIR/procbindd.lock, held while the agent runs (single.c) */
	int other_agent; /* the start was refused: another agent serves (single.c) */
	int replaced;	 /* this pod's agent was taken over by another pod's (single.c) */
	int ready;	 /* enforcing: set once agent_started is written (procbindd.c) */
};

#endif
