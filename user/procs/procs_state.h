/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process module's state (procs/): what the seeding of processes that
 * predate the agent found. Written by procs/ only. */
#ifndef PB_PROCS_STATE_H
#define PB_PROCS_STATE_H

#include <stdint.h>

struct pb_procs {
	uint64_t seeded; /* processes seeded at start */
};

#endif
