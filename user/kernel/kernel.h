/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel side's life cycle: open, size, load, attach and pin the BPF
 * programs and maps; adopt those of a running procbind; walk the tasks;
 * read the counters; probe the kernel's features. */
#ifndef PB_KERNEL_H
#define PB_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "state.h"
#include "sysfs.h"
#include "procbind/decision.h"

/* Open, size, load and pin the maps; attach the cgroup watchers. Pinned
 * maps and links of a running procbind are adopted: maps reused, programs
 * replaced in their links. The policy is installed between this and
 * pb_loader_attach, so a cgroup that appears meanwhile is seen. */
int pb_loader_start(struct pb_agent *a);
/* Attach the life-cycle, acquisition and connect hooks: by the time a
 * connect is judged, the records it reads are being kept. */
int pb_loader_attach(struct pb_agent *a);
/* Free; pins (and with them enforcement) stay. Accepts partial state. */
void pb_loader_stop(struct pb_agent *a);
/* Remove every pin under pin_dir: enforcement and its state go. */
int pb_loader_cleanup(const char *pin_dir);
/* Walk processes (tgid 0: all) with the task iterator, or from /proc when
 * walk_proc (start times rounded down to the tick, PB_TI_COARSE); cb returns
 * non-zero to stop. */
int pb_walk(struct pb_agent *a, uint32_t tgid, int (*cb)(const struct pb_task_info *ti, void *ctx),
	    void *ctx);
int pb_walk_one(struct pb_agent *a, uint32_t tgid, struct pb_task_info *out); /* -ESRCH */
int pb_counters_read(struct pb_agent *a, uint64_t out[PB_CNT_MAX]);
int pb_map_count(int fd, size_t key_size, uint64_t *n);
int pb_map_fd(struct pb_agent *a, const char *name);

/* The connect hooks' fast path (abi.h: maps "fastpath" and "holding"),
 * mapped into the agent after load (and inherited by the guard it forks).
 * Mark tgid as one that may hold a credential: before it first holds one. */
static inline void pb_holding_mark(uint8_t *holding, size_t n, uint32_t tgid)
{
	if (holding && tgid < n && !__atomic_load_n(&holding[tgid], __ATOMIC_RELAXED))
		__atomic_store_n(&holding[tgid], 1, __ATOMIC_SEQ_CST);
}
/* After a change a kept allow may depend on (a credential written or
 * removed): the hooks decide such connects again. */
void pb_fast_bump(struct pb_agent *a);
/* A policy switch, in two steps around the generation's: before it, widen
 * the protected prefilter to cover the new policy too; after it, set it to
 * the new policy's alone, with its flags and the earliest expiry of its
 * identities (boot ns). At every moment the prefilter covers the policy a
 * hook may be reading. */
void pb_fast_widen(struct pb_agent *a, const struct pb_prot_hint *h, uint32_t flags);
void pb_fast_policy(struct pb_agent *a, const struct pb_prot_hint *h, uint32_t flags,
		    uint64_t expiry);

/* Until every BPF program running now has returned (an RCU grace period):
 * what a hook may have read before a switch can go after this. */
void pb_kernel_quiesce(void);

/* subject.c: the live process tgid as the decision sees it. Its record when
 * the record is this process's (have_rec: start to the nanosecond, parent,
 * executable), else /proc (start to the tick: never a credential's owner);
 * the cgroup always live. 0, -ESRCH (gone) or -errno. */
struct pb_live {
	struct pb_subject s;
	struct pb_proc rec;
	int have_rec;
	struct pb_stat st; /* /proc/PID/stat: comm, ppid */
};
int pb_subject_read(int procs_fd, const char *cgroup_root, uint32_t tgid, struct pb_live *lv);
/* pb_judge_cred's look-up of an owner's record in user space: ctx is a
 * struct pb_owner_lookup, the record is copied into it. */
struct pb_owner_lookup {
	int procs_fd;
	struct pb_proc rec;
};
const struct pb_proc *pb_owner_lookup(void *ctx, __u32 tgid);

/* probe.c: 0 when every required kernel feature is there; a table to out */
int pb_probe(struct pb_agent *a, FILE *out); /* 0, -ENOTSUP (missing) or -EPERM */
/* 1 when this process may load and attach BPF, else 0 and why lists the
 * capabilities it lacks */
int pb_privileged(char *why, size_t len);

/* One agent per pin directory: make it and hold its lock while the agent
 * runs (a no-op once held). 0; -EBUSY with *holder the PID that holds it;
 * -errno when it cannot be made (bpffs not mounted yet). */
int pb_kernel_lock_pins(struct pb_agent *a, pid_t *holder);

#endif
