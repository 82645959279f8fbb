/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The file guard's state (guard/). Written by guard/ only. */
#ifndef PB_GUARD_STATE_H
#define PB_GUARD_STATE_H

#include <stdint.h>

#include "procbind/abi.h"

/* guard/: the fanotify group every credential file is marked in, and the
 * guard process that answers its permission events. */
struct pb_guard {
	int fan_fd; /* the group; -1 when the file guard is off */
	int pidfd;  /* the guard process this agent started; -1: none */
	int pid;
	int respawns;		/* guards started again after one died or stalled */
	int stalls;		/* of those, guards killed as stalled */
	uint64_t orphans;	/* events an ended guard had read, refused */
	uint64_t waiting_since; /* boot ns: events waited, answered_seen unchanged */
	uint64_t answered_seen;
	struct pb_pkey old; /* the guard an earlier agent left running, until retired */
};

static inline void pb_guard_state_init(struct pb_guard *g)
{
	g->fan_fd = g->pidfd = -1;
}

#endif
