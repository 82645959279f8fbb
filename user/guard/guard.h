/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The file guard. Every live credential file carries a fanotify mark for
 * open and read permission in one group; a guard process, forked from the
 * agent and outliving it, answers every permission event from the pinned
 * maps with the rule the connect hooks use (pb_judge_cred), so a sibling is
 * refused at the file even while no agent runs. A new agent starts its own
 * guard in a new group, marks every live file in it, and only then stops
 * the old guard: there is always one guard judging. */
#ifndef PB_GUARD_H
#define PB_GUARD_H

#include <limits.h>
#include <stdint.h>

#include "state.h"

/* The guard process's name (comm), what the agent checks before it signals
 * one, and the bound on its descriptors (its RLIMIT_NOFILE): the events a
 * guard that ended had read carry numbers below it. */
#define PB_GUARD_COMM  "procbind-guard"
#define PB_GUARD_MAXFD 4096

/* What the guard process works with: its group and the pinned maps. */
struct pb_guard_ctx {
	int fan;
	int procs, creds, cred_files, cfg, policies, queue, state, adopt_files, names, refusals;
	uint8_t *holding; /* map "holding", mapped by the agent before the fork */
	size_t nholding;
	const struct pb_fast *fast; /* map "fastpath", mapped likewise; NULL: none */
	char cgroup_root[PATH_MAX];
};

/* answer.c: the guard process's loop; returns when told to stop (SIGTERM,
 * after answering every event it has read) or on a fatal error. */
int pb_guard_run(const struct pb_guard_ctx *g);
/* child.c: the guard process, in the child of a fork (the agent's, or the
 * guard host's): its own session and name, ahead of its openers, its
 * descriptors below PB_GUARD_MAXFD and none but g's; it waits for a byte on
 * go (sent once map guard_state names it), then answers until stopped. */
void pb_guard_child(const struct pb_guard_ctx *g, int go) __attribute__((noreturn));

/* host.c: the guard host (procbindd --serve-guards=SOCKET): serves until
 * SIGTERM or SIGINT, 0, or -errno (logged). */
int pb_guard_host_serve(const char *path);
/* The agent's request to the host at path: a guard forked there with fan
 * and the maps pinned under pin_dir. 0 with *pid and *conn, to which "g"
 * is written once map guard_state names the guard (closing it instead
 * kills the guard); -errno. */
int pb_guard_host_ask(const char *path, const char *pin_dir, const char *cgroup_root, int fan,
		      int *conn, pid_t *pid);

/* keeper.c, the agent's side. */
/* Create the group and start a guard answering in it. A guard an earlier
 * agent left running keeps answering in its own group until pb_guard_retire. */
int pb_guard_start(struct pb_agent *a);
/* Stop the earlier agent's guard: call once every live file is marked. */
void pb_guard_retire(struct pb_agent *a);
/* Mark one credential file (fd: the file, or -1 to name it by path). */
int pb_guard_mark(struct pb_agent *a, int fd, const char *path);
void pb_guard_unmark(struct pb_agent *a, const char *path);
/* The inode of fd is a credential's from now on (registered in cred_files
 * before this): the ignore mark the guard put on it while it was another
 * file of a marked volume goes. 0 or -errno. */
int pb_guard_unignore(struct pb_agent *a, int fd);
/* Mark (add 1) or unmark (0) the whole filesystem fd is on: an adopted
 * file's volume, so that each new inode on it is asked about too. */
int pb_guard_mark_fs(struct pb_agent *a, int fd, int add);
/* A guard that ended leaves the events it had read and not answered in the
 * group, each waiting under the descriptor number it had in that guard, and
 * the group would allow them all when it closes. Refuse them by number (the
 * group takes an answer from any of its descriptors): every number below
 * maxfd, the ended guard's RLIMIT_NOFILE. Call before another guard reads,
 * so that no number it is given can answer one of them. Returns how many
 * were refused. */
unsigned int pb_guard_refuse_below(int fan, int maxfd);
/* The guard died: start another in the same group (queued events wait;
 * those the dead one had read are refused). */
int pb_guard_respawn(struct pb_agent *a);
/* Every tick: a guard that has left events waiting half a second without
 * answering any (stopped, stuck) is killed: 1, and the caller replaces it
 * on the same group (pb_guard_respawn) as it does a guard that died; 0. */
int pb_guard_watch(struct pb_agent *a);
/* Stop the guards recorded in the pinned maps under pin_dir (--cleanup). */
void pb_guard_stop_pinned(const char *pin_dir);
/* The guards' counters; -errno. */
int pb_guard_counts(struct pb_agent *a, struct pb_guard_state *out);

#endif
