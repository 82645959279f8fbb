/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel module's state (kernel/): the skeleton, its links, what the
 * probe chose, the mapped maps. Written by kernel/ only; read by the
 * modules above it. */
#ifndef PB_KERNEL_STATE_H
#define PB_KERNEL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "procbind/abi.h"

struct procbind;
struct bpf_link;

#define PB_MAX_LINKS 32

/* kernel/: the BPF objects and what the probe chose. */
struct pb_kernel {
	struct procbind *skel;
	struct bpf_link *links[PB_MAX_LINKS];
	int nlinks;
	int cgroup_fd;
	int open_hooks;	      /* how many open tracepoints attached */
	int adopted;	      /* maps and links were taken over from a pinned, running state */
	uint32_t adopted_gen; /* the policy generation in force when adopted */
	int walk_proc; /* walks read /proc: no task iterator, or --seed-from proc */
	int atomics;   /* BPF_ATOMIC with BPF_FETCH (5.12+): lock-free slot claims */
	int use_lsm;   /* lsm/file_open is loaded: foreign opens of token files fail */
	struct pb_fast *fast; /* map "fastpath", mapped */
	uint8_t *holding;     /* map "holding", mapped: one byte per PID */
	size_t nholding;      /* PIDs it covers */
	size_t holding_len;   /* bytes mapped */
	int pin_lock;	      /* the pin directory, flock'ed while the agent runs */
};

static inline void pb_kernel_state_init(struct pb_kernel *k)
{
	k->cgroup_fd = -1;
	k->pin_lock = -1;
}

#endif
