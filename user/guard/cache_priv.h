/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the guard process remembers between permission events (guard/ only):
 *  - the processes it has seen, each pinned against PID reuse by a pidfd, so
 *    an event from one of them is judged from its record in map "procs"
 *    without reading /proc;
 *  - for each, the last few (file, access) it was allowed, with everything
 *    the allow depended on, answered again without the decision;
 *  - files on a marked volume that are no credential's.
 * Everything remembered is void once map "fastpath"'s epoch moves (a
 * credential written or removed, a policy switch, a bound process's exit)
 * or the guard writes a credential itself (gen). */
#ifndef PB_GUARD_CACHE_PRIV_H
#define PB_GUARD_CACHE_PRIV_H

#include <stdint.h>

#include "procbind/abi.h"
#include "procbind/decision.h"

#define PB_GC_PROCS  256 /* processes remembered (direct-mapped by tgid) */
#define PB_GC_ALLOWS 4	 /* allows remembered per process */
#define PB_GC_OTHERS 256 /* files remembered as no credential's */
/* A process found untraced at an open is not asked again for this long:
 * a tracer that attached since may see one more open of the file allowed,
 * and it could read the process's memory anyway. */
#define PB_GC_TRACED_NS 1000000000ULL

/* The epoch an entry was made under: the kernel's and the guard's own. */
struct pb_gc_epoch {
	uint32_t kernel;
	uint32_t guard;
};

struct pb_gc_allow {
	uint64_t dev, ino;
	uint8_t access; /* PB_ACC_* */
	struct pb_gc_epoch ep;
	uint64_t until;	     /* boot ns: the credential's expiry */
	struct pb_subject s; /* what the process was when it was allowed */
};

struct pb_gc_proc {
	int pidfd; /* -1: an empty slot */
	uint32_t tgid;
	uint64_t start_tick;  /* its start to the tick, read while the pidfd was held */
	uint64_t start_ns;    /* its record's exact start, once checked against the pidfd; 0 */
	uint64_t untraced_at; /* boot ns of the last open that found no tracer; 0 */
	unsigned int next;    /* the allow slot to replace next */
	int named;	      /* a refusal of it has named it (map "proc_names") */
	uint64_t deny_window; /* boot ns: the second its refusals are counted in */
	uint32_t denies;
	struct pb_gc_allow allow[PB_GC_ALLOWS];
};

struct pb_gc_other {
	uint64_t dev, ino, ctime_ns;
	struct pb_gc_epoch ep;
	int used;
};

struct pb_gcache {
	const volatile struct pb_fast *fast; /* map "fastpath", mapped; NULL: remember nothing */
	uint32_t gen;			     /* bumped by the guard's own credential writes */
	struct pb_gc_proc proc[PB_GC_PROCS];
	struct pb_gc_other other[PB_GC_OTHERS];
	/* the mode in force, as of epoch mode_ep (mode_ok: read) */
	uint32_t mode;
	int mode_ok;
	struct pb_gc_epoch mode_ep;
};

void pb_gc_init(struct pb_gcache *c, const volatile struct pb_fast *fast);
struct pb_gc_epoch pb_gc_now(const struct pb_gcache *c);
/* The process remembered under tgid, or NULL. It may have exited since:
 * pb_gc_proc_alive tells, or its record's exact start (start_ns). */
struct pb_gc_proc *pb_gc_proc_find(struct pb_gcache *c, uint32_t tgid);
/* 1 when p's process has not exited (so the one asking under its tgid is
 * it); else 0, and p is forgotten. */
int pb_gc_proc_alive(struct pb_gc_proc *p);
/* Remember tgid: pidfd is held by the cache from now on. */
struct pb_gc_proc *pb_gc_proc_add(struct pb_gcache *c, uint32_t tgid, int pidfd,
				  uint64_t start_tick);
/* A remembered allow of (dev, ino, access) for subject s, valid at epoch
 * ep and time now. */
int pb_gc_allowed(const struct pb_gc_proc *p, struct pb_gc_epoch ep, const struct pb_subject *s,
		  uint64_t dev, uint64_t ino, uint8_t access, uint64_t now);
/* ep: the epoch read before the decision read anything */
void pb_gc_allow(struct pb_gc_proc *p, struct pb_gc_epoch ep, const struct pb_subject *s,
		 uint64_t dev, uint64_t ino, uint8_t access, uint64_t until);
/* Files that are no credential's, by inode and change time. */
int pb_gc_other_known(const struct pb_gcache *c, struct pb_gc_epoch ep, uint64_t dev, uint64_t ino,
		      uint64_t ctime_ns);
void pb_gc_other_add(struct pb_gcache *c, struct pb_gc_epoch ep, uint64_t dev, uint64_t ino,
		     uint64_t ctime_ns);

#endif
