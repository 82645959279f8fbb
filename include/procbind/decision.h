/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The connect decision, as pure functions over plain structs. The same code
 * is compiled into the BPF connect programs and into the host unit tests, so
 * the whole decision table is tested without a kernel. */
#ifndef PROCBIND_DECISION_H
#define PROCBIND_DECISION_H

#include "abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* The process asking to connect, as the connect hook sees it: tgid and start
 * time from the live task, cgroup live from bpf_get_current_cgroup_id(), the
 * executable and the parent from its record (kept by the exec/fork hooks). */
struct pb_subject {
	__u64 start_time;
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
	__u64 parent_start;
	__u32 tgid;
	__u32 parent_tgid;
};

/* Is the subject a forked child of the credential's owner, and does the
 * credential allow children? Only then does the decision need the owner's
 * record (to know whether the owner is still alive), so the BPF side looks it
 * up only when this says so. */
static __always_inline int pb_is_inheriting_child(const struct pb_subject *s,
						  const struct pb_cred *c)
{
	return (c->flags & PB_CRED_INHERIT_CHILDREN) && s->tgid != c->tgid &&
	       s->parent_tgid == c->tgid && s->parent_start == c->start_time;
}

/* Does holding credential c entitle subject s to connect at time now?
 *
 * c is NULL when the credential id is not in the kernel's map (removed after
 * revocation): that fails closed as PB_R_REVOKED. owner is the bound process's
 * current record (procs[c->tgid]) or NULL; it is read only for an inheriting
 * child, see pb_is_inheriting_child().
 *
 * Checks run in this order; the first that fails is the reason:
 *  1. who holds it: same tgid but another start time -> pid_reused; another
 *     process that is not an allowed child -> foreign_cgroup when its cgroup
 *     differs from the bound one, else foreign_pid;
 *  2. where it runs: cgroup differs (the owner or child moved) -> foreign_cgroup;
 *     executable differs (exec'd another binary) -> exe_changed;
 *  3. life cycle: revoked -> revoked; now >= expires -> expired; an
 *     inheriting child whose owner no longer lives -> owner_exited.
 * Who-holds-it comes first because a foreign holder is the security signal
 * even when the credential is dead as well.
 *
 * Examples: owner 4242 (start S, cgroup A, exe E) minted c, inherit none.
 *  - 4242/S in A running E, before expiry            -> ok
 *  - 4243 in A that read the token file              -> foreign_pid
 *  - 5000 in B that read it                          -> foreign_cgroup
 *  - 4242/S' (PID reused after 4242/S exited)        -> pid_reused
 *  - 4242/S after execve of another binary           -> exe_changed
 *  - child of 4242/S                                 -> foreign_pid, or ok when
 *    minted with inherit children (owner_exited once 4242/S is gone)
 */
static __always_inline enum pb_reason pb_cred_reason(const struct pb_subject *s,
						     const struct pb_cred *c,
						     const struct pb_proc *owner, __u64 now)
{
	int is_owner, child = 0;

	if (!c)
		return PB_R_REVOKED;

	is_owner = s->tgid == c->tgid && s->start_time == c->start_time;
	if (!is_owner) {
		if (s->tgid == c->tgid)
			return PB_R_PID_REUSED;
		child = pb_is_inheriting_child(s, c);
		if (!child)
			return s->cgroup_id != c->cgroup_id ? PB_R_FOREIGN_CGROUP
							    : PB_R_FOREIGN_PID;
	}
	if (s->cgroup_id != c->cgroup_id)
		return PB_R_FOREIGN_CGROUP;
	if (s->exe_dev != c->exe_dev || s->exe_ino != c->exe_ino)
		return PB_R_EXE_CHANGED;
	if (c->flags & PB_CRED_REVOKED)
		return PB_R_REVOKED;
	if (now >= c->expires)
		return PB_R_EXPIRED;
	if (child && !(owner && owner->tgid == c->tgid && owner->start_time == c->start_time))
		return PB_R_OWNER_EXITED;
	return PB_OK;
}

/* A reason that applies to the whole process before any credential is read:
 * a process that tried to hold more than PB_MAX_HELD credentials cannot be
 * judged on all of them, so it fails closed. */
static __always_inline enum pb_reason pb_proc_reason(const struct pb_proc *p)
{
	if ((p->flags & PB_PROC_OVERFLOW) || p->nheld > PB_MAX_HELD)
		return PB_R_HELD_OVERFLOW;
	return PB_OK;
}

/* What the hook does with a reason in a mode. */
static __always_inline enum pb_verdict pb_verdict_for(enum pb_reason r, __u32 mode)
{
	if (r == PB_OK)
		return PB_VERDICT_ALLOW;
	return mode == PB_MODE_ENFORCE ? PB_VERDICT_DENY : PB_VERDICT_MONITOR;
}

/* Does the held[] slot list already contain id? Bounded by PB_MAX_HELD. */
static __always_inline int pb_holds(const struct pb_proc *p, __u64 id)
{
	for (int i = 0; i < PB_MAX_HELD; i++)
		if (p->held[i] == id)
			return 1;
	return 0;
}

#endif /* PROCBIND_DECISION_H */
