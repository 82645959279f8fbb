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
	struct pb_pkey self;
	struct pb_pkey parent;
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
};

/* Is a the process instance b? */
static __always_inline int pb_pkey_is(const struct pb_pkey *a, const struct pb_pkey *b)
{
	return a->tgid == b->tgid && a->start_time == b->start_time;
}

/* Is the subject a forked child of the credential's owner, and does the
 * credential allow children? Only then does the decision need the owner's
 * record (to know whether the owner is still alive), so the BPF side looks it
 * up only when this says so. */
static __always_inline int pb_is_inheriting_child(const struct pb_subject *s,
						  const struct pb_cred *c)
{
	return (c->flags & PB_CRED_INHERIT_CHILDREN) && s->self.tgid != c->owner.tgid &&
	       pb_pkey_is(&s->parent, &c->owner);
}

/* An adopted file whose holder is the container's main process is bound to
 * the executable main runs when it first opens the file (its entrypoint may
 * exec the application first); until then no executable is bound. */
static __always_inline int pb_exe_unbound(const struct pb_cred *c)
{
	return (c->flags & PB_CRED_ADOPTED) && !(c->flags & PB_CRED_HOLDER_EXE) && !c->exe_dev &&
	       !c->exe_ino;
}

/* Does holding credential c entitle subject s to connect at time now?
 *
 * c is NULL when the credential id is not in the kernel's map (removed after
 * revocation): that fails closed as PB_R_REVOKED. owner is the bound process's
 * current record (procs[c->owner.tgid]) or NULL; it is read only for an inheriting
 * child, see pb_is_inheriting_child().
 *
 * Checks run in this order; the first that fails is the reason:
 *  1. who holds it: same tgid but another start time -> pid_reused; another
 *     process that is not an allowed child -> foreign_cgroup when its cgroup
 *     differs from the bound one, else foreign_pid;
 *  2. where it runs: cgroup differs (the owner or child moved) -> foreign_cgroup;
 *     executable differs (exec'd another binary) -> exe_changed (not while an
 *     adopted file's executable is unbound, pb_exe_unbound);
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

	is_owner = pb_pkey_is(&s->self, &c->owner);
	if (!is_owner) {
		if (s->self.tgid == c->owner.tgid)
			return PB_R_PID_REUSED;
		child = pb_is_inheriting_child(s, c);
		if (!child)
			return s->cgroup_id != c->cgroup_id ? PB_R_FOREIGN_CGROUP
							    : PB_R_FOREIGN_PID;
	}
	if (s->cgroup_id != c->cgroup_id)
		return PB_R_FOREIGN_CGROUP;
	if ((s->exe_dev != c->exe_dev || s->exe_ino != c->exe_ino) && !pb_exe_unbound(c))
		return PB_R_EXE_CHANGED;
	if (c->flags & PB_CRED_REVOKED)
		return PB_R_REVOKED;
	if (now >= c->expires)
		return PB_R_EXPIRED;
	if (child && !(owner && pb_pkey_is(&owner->self, &c->owner)))
		return PB_R_OWNER_EXITED;
	return PB_OK;
}

/* The owner's record (procs[tgid]) as the caller has it, or NULL: a map
 * look-up in BPF, a copy on the host. A constant at every call, so the
 * compiler calls it directly (BPF has no indirect calls). */
typedef const struct pb_proc *(*pb_owner_fn)(void *ctx, __u32 tgid);

/* The credential check every hook and the agent make: pb_cred_reason, with
 * the owner's record looked up only when the rule needs it (an inheriting
 * child). The connect hooks, the BPF-LSM programs, the file guard and the
 * proofs all judge a holder with this; what each adds after it (a tracer
 * at open and at a proof, a received descriptor) is theirs. */
static __always_inline enum pb_reason pb_judge_cred(const struct pb_subject *s,
						    const struct pb_cred *c, pb_owner_fn owner,
						    void *ctx, __u64 now)
{
	const struct pb_proc *op = 0;

	if (c && pb_is_inheriting_child(s, c))
		op = owner(ctx, c->owner.tgid);
	return pb_cred_reason(s, c, op, now);
}

/* A bound process that another process traces does what its tracer makes
 * it do: while traced it gets no proof and no open or read of its file
 * (PB_R_TRACED), unless its identity allows tracing (PB_CRED_ALLOW_TRACED,
 * set at mint from the policy). traced: whether any of its threads has a
 * tracer. Applied after pb_cred_reason, to an entitled process only. */
static __always_inline enum pb_reason pb_traced_reason(enum pb_reason r, const struct pb_cred *c,
						       int traced)
{
	if (r == PB_OK && traced && !(c->flags & PB_CRED_ALLOW_TRACED))
		return PB_R_TRACED;
	return r;
}

/* Receiving a descriptor of a credential's file (SCM_RIGHTS, pidfd_getfd):
 * the process the credential is bound to may receive it whatever it runs
 * now, because procbindctl run receives its descriptor before it execs the
 * command the credential names. That is no way around the executable: every
 * read through the descriptor is judged again, with the executable (the
 * file guard), and so is every mapping of it (lsm/mmap_file). */
static __always_inline enum pb_reason pb_receive_reason(enum pb_reason r)
{
	return r == PB_R_EXE_CHANGED ? PB_OK : r;
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

/* What the file guard does with one open or read of a credential's file by
 * a process, given pb_cred_reason's answer, the mode, and whether the process
 * already holds that credential:
 *  - entitled: allowed; recorded as a holder if it is not one, and reported,
 *    except a holder's read (the bound process reading its token: no event);
 *  - not entitled, enforce: refused and reported, nothing recorded;
 *  - not entitled, monitor: allowed; recorded and reported once per process
 *    (the connect hooks judge it from then on). */
struct pb_file_action {
	enum pb_verdict verdict;
	int hold;   /* add the credential to the process's record */
	int report; /* one event */
};

static __always_inline struct pb_file_action pb_file_decide(enum pb_reason reason, __u32 mode,
							    int is_read, int holds)
{
	struct pb_file_action a = {pb_verdict_for(reason, mode), 0, 0};

	if (a.verdict == PB_VERDICT_DENY) {
		a.report = 1;
		return a;
	}
	if (holds && (is_read || reason != PB_OK))
		return a;
	a.hold = !holds;
	a.report = 1;
	return a;
}

/* The owner reference an event carries: the process credential c names
 * (zero when c is NULL). */
static __always_inline void pb_owner_ref_of(struct pb_owner_ref *o, const struct pb_cred *c)
{
	if (!c) {
		__builtin_memset(o, 0, sizeof(*o));
		return;
	}
	o->proc = c->owner;
	o->cgroup_id = c->cgroup_id;
	o->exe_dev = c->exe_dev;
	o->exe_ino = c->exe_ino;
}

/* Does the held[] slot list already contain id? Bounded by PB_MAX_HELD. */
static __always_inline int pb_holds(const struct pb_proc *p, __u64 id)
{
	for (int i = 0; i < PB_MAX_HELD; i++)
		if (p->held[i] == id)
			return 1;
	return 0;
}

/* Record that p holds id (user space: the agent at mint, the file guard):
 * once; a process past PB_MAX_HELD fails closed (held_overflow). */
static __always_inline void pb_hold_add(struct pb_proc *p, __u64 id)
{
	if (pb_holds(p, id))
		return;
	if (p->nheld < PB_MAX_HELD)
		p->held[p->nheld++] = id;
	else
		p->flags |= PB_PROC_OVERFLOW;
}

/* ---- Purpose binding: destinations, scopes, protected, identity tags ---- */

#define PB_AF_INET  2
#define PB_AF_INET6 10

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PB_V4MAPPED_WORD 0xffff0000u /* ::ffff:0:0/96, third word, as loaded */
#else
#define PB_V4MAPPED_WORD 0x0000ffffu
#endif

/* An IPv4-mapped IPv6 destination (::ffff:a.b.c.d) is the IPv4 one: rules
 * written for 10.0.0.0/8 must hold for a dual-stack socket too. */
static __always_inline void pb_dest_normalize(struct pb_dest *d)
{
	if (d->family == PB_AF_INET6 && !d->addr[0] && !d->addr[1] &&
	    d->addr[2] == PB_V4MAPPED_WORD) {
		d->family = PB_AF_INET;
		d->addr[0] = d->addr[3];
		d->addr[1] = d->addr[2] = d->addr[3] = 0;
	}
}

static __always_inline int pb_rule_match(const struct pb_rule *r, const struct pb_dest *d)
{
	if (r->family != d->family || (r->proto && r->proto != d->proto))
		return 0;
	if (d->port < r->port_lo || d->port > r->port_hi)
		return 0;
	if ((d->addr[0] & r->mask[0]) != r->net[0])
		return 0;
	if (d->family == PB_AF_INET)
		return 1;
	return (d->addr[1] & r->mask[1]) == r->net[1] && (d->addr[2] & r->mask[2]) == r->net[2] &&
	       (d->addr[3] & r->mask[3]) == r->net[3];
}

/* The prefilter of protected rules (abi.h, struct pb_prot_hint): r's ports
 * and leading address bytes added to h. */
static inline void pb_hint_add_rule(struct pb_prot_hint *h, const struct pb_rule *r)
{
	__u8 net = ((const __u8 *)&r->net[0])[0], mask = ((const __u8 *)&r->mask[0])[0];
	int fam = r->family == PB_AF_INET ? 0 : 1;

	for (__u32 p = r->port_lo; p <= r->port_hi; p++)
		h->ports[p / 64] |= 1ULL << (p % 64);
	for (__u32 b = 0; b < 256; b++)
		if (((__u8)b & mask) == net)
			h->lead[fam][b / 64] |= 1ULL << (b % 64);
}

/* Whether some rule added to h may admit d (no: none does). */
static __always_inline int pb_hint_may_match(const struct pb_prot_hint *h, const struct pb_dest *d)
{
	__u8 lead = ((const __u8 *)&d->addr[0])[0];
	int fam = d->family == PB_AF_INET ? 0 : 1;

	return (h->ports[(d->port / 64) & 1023] >> (d->port % 64) & 1) &&
	       (h->lead[fam & 1][(lead / 64) & 3] >> (lead % 64) & 1);
}

/* Index of the first of n rules that d matches, or -1. */
static __always_inline int pb_rules_first(const struct pb_rule *rules, __u32 n,
					  const struct pb_dest *d)
{
	for (int i = 0; i < PB_MAX_RULES; i++) {
		if ((__u32)i >= n)
			break;
		if (pb_rule_match(&rules[i], d))
			return i;
	}
	return -1;
}

/* Bitmask of the rules (of n, at most PB_MAX_RULES) that d matches. */
static __always_inline __u32 pb_rules_mask(const struct pb_rule *rules, __u32 n,
					   const struct pb_dest *d)
{
	__u32 mask = 0;

	for (int i = 0; i < PB_MAX_RULES; i++) {
		if ((__u32)i >= n)
			break;
		if (pb_rule_match(&rules[i], d))
			mask |= 1u << i;
	}
	return mask;
}

/* The identity the first protected rule in mask names; 0 for an empty mask. */
static __always_inline __u64 pb_protected_need(const struct pb_kpolicy *pol, __u32 mask)
{
	for (int i = 0; i < PB_MAX_RULES; i++)
		if ((mask >> i) & 1)
			return pol->prot[i].ident;
	return 0;
}

/* Does one of the protected rules in mask name identity ident? */
static __always_inline int pb_protected_names(const struct pb_kpolicy *pol, __u32 mask, __u64 ident)
{
	for (int i = 0; i < PB_MAX_RULES; i++)
		if (((mask >> i) & 1) && pol->prot[i].ident == ident)
			return 1;
	return 0;
}

/* Where a check finds the policy's rules. The host passes the policy itself;
 * the BPF programs pass the generation, and look the policy up inside a
 * global function (on 5.10 a global BPF function takes only the context and
 * scalars, and the verifier checks it once instead of once per path). */
struct pb_policy_ref {
	const struct pb_kpolicy *pol; /* host */
	__u32 gen;		      /* BPF */
};

/* Does a protected rule in mask name identity ident? */
typedef int (*pb_names_fn)(const struct pb_policy_ref *ref, __u32 mask, __u64 ident);

static __always_inline int pb_protected_names_in(const struct pb_policy_ref *ref, __u32 mask,
						 __u64 ident)
{
	return pb_protected_names(ref->pol, mask, ident);
}

/* May a process whose valid credentials are of identities held[0..nheld)
 * (0: a credential that is not valid) reach a destination that matches the
 * protected rules in mask? PB_OK when mask is empty or a rule in it names a
 * held identity; otherwise no_credential (it holds none) or wrong_identity.
 * names answers for one identity; it is a constant at every call, so the
 * compiler calls it directly (BPF has no indirect calls): the connect
 * programs run this very function with their own names. */
static __always_inline enum pb_reason pb_protected_held_reason(pb_names_fn names,
							       const struct pb_policy_ref *ref,
							       __u32 mask, const __u64 *held,
							       __u32 nheld)
{
	if (!mask)
		return PB_OK;
	for (int j = 0; j < PB_MAX_HELD; j++) {
		if ((__u32)j >= nheld)
			break;
		if (held[j] && names(ref, mask, held[j]))
			return PB_OK;
	}
	return nheld ? PB_R_WRONG_IDENTITY : PB_R_NO_CREDENTIAL;
}

/* pb_protected_held_reason over policy pol. */
static __always_inline enum pb_reason
pb_protected_mask_reason(const struct pb_kpolicy *pol, __u32 mask, const __u64 *held, __u32 nheld)
{
	struct pb_policy_ref ref = {.pol = pol};

	return pb_protected_held_reason(pb_protected_names_in, &ref, mask, held, nheld);
}

/* pb_protected_mask_reason for destination d; *need is the identity of the
 * first matching rule. */
static __always_inline enum pb_reason pb_protected_reason(const struct pb_kpolicy *pol,
							  const struct pb_dest *d,
							  const __u64 *held, __u32 nheld,
							  __u64 *need)
{
	__u32 mask = pb_rules_mask(pol->prot, pol->nprotected, d);

	*need = pb_protected_need(pol, mask);
	return pb_protected_mask_reason(pol, mask, held, nheld);
}

/* May a holder of an identity with scope sc (NULL: the identity is not in
 * the policy in force) reach d at time now? */
static __always_inline enum pb_reason pb_scope_reason(const struct pb_scope *sc,
						      const struct pb_dest *d, __u64 now)
{
	if (!sc)
		return PB_R_OUT_OF_SCOPE;
	if (now >= sc->expires)
		return PB_R_EXPIRED;
	return pb_rules_first(sc->rules, sc->nrules, d) >= 0 ? PB_OK : PB_R_OUT_OF_SCOPE;
}

/* pb_scope_reason, with PB_SCOPE_APPROVAL added when the scope rule that
 * admits d (the first that matches) requires an approval. */
#define PB_SCOPE_APPROVAL 0x100
static __always_inline int pb_scope_gate(const struct pb_scope *sc, const struct pb_dest *d,
					 __u64 now)
{
	int i;

	if (!sc)
		return PB_R_OUT_OF_SCOPE;
	if (now >= sc->expires)
		return PB_R_EXPIRED;
	i = pb_rules_first(sc->rules, sc->nrules, d);
	if (i < 0)
		return PB_R_OUT_OF_SCOPE;
	return (sc->rules[i & (PB_MAX_RULES - 1)].flags & PB_RULE_APPROVAL) ? PB_SCOPE_APPROVAL
									    : PB_OK;
}

/* What spending an approval found: the approval in force for a connect
 * (NULL: none for it), at time now. PB_OK when a use is left (the caller
 * spends it under the element's lock), else why not. */
static __always_inline enum pb_reason pb_approval_reason(const struct pb_approval *ap, __u64 now)
{
	if (!ap)
		return PB_R_APPROVAL_MISSING;
	if (ap->used >= ap->uses)
		return PB_R_APPROVAL_EXHAUSTED;
	if (now >= ap->expires)
		return PB_R_APPROVAL_EXPIRED;
	return PB_OK;
}

/* A credential of a holder whose credentials were judged under what still
 * holds (pb_connect_in.judged) is read for its identity and expiry, not
 * judged again: 1 while it is there, not revoked and not expired; else 0,
 * and it is judged in full. */
static __always_inline int pb_still_valid(const struct pb_cred *c, __u64 now)
{
	return c && !(c->flags & PB_CRED_REVOKED) && now < c->expires;
}

/* ---- The connect rule: the order of the steps ---- */

/* The identities of a holder's valid credentials (0: a slot whose
 * credential is not valid), and the identity a protected destination needs. */
struct pb_held_ids {
	__u64 id[PB_MAX_HELD];
	__u64 need; /* out: the identity a protected destination requires */
	__u32 n;
	__u32 gated; /* out: a rule that admits the destination requires an approval */
};

/* What the connect rule looks up, as the kernel (bpf/connect.bpf.c) or a
 * test has it. Each is a constant at every call, so the compiler calls it
 * directly; ctx is the caller's (the hook's context and family in BPF). The
 * destination is the caller's to know: every look-up that needs it takes
 * ctx. gen is the policy generation the decision read, once. */
struct pb_connect_lookups {
	/* the policy of generation gen, or NULL (none in force) */
	const struct pb_kpolicy *(*policy)(void *ctx, __u32 gen);
	/* -1: the caller's container adopted no file with a protect rule the
	 * destination matches; else pb_cred_reason for that file's credential,
	 * whose id goes to *cred_id */
	int (*adopt)(void *ctx, __u64 *cred_id);
	/* 1: an exempt rule matches, 2: a protected one, 0: neither */
	int (*dest_class)(void *ctx, __u32 gen);
	/* the protected rules the destination matches, as a mask */
	__u32 (*protected_rules)(void *ctx, __u32 gen);
	/* pb_protected_need and pb_protected_names over generation gen */
	__u64 (*protected_need)(void *ctx, __u32 gen, __u32 mask);
	pb_names_fn names;
	/* pb_scope_gate for identity ident */
	int (*scope)(void *ctx, __u32 gen, __u64 ident, __u64 now);
	/* for an allowed connect that needs an approval: spend one use of an
	 * approval for the destination and one of the credentials rec holds,
	 * atomically, and report it; PB_OK or the approval_* reason */
	int (*approval)(void *ctx, __u32 mode);
	/* pb_judge_cred for the caller and credential id; the credential */
	int (*held)(void *ctx, __u64 id, __u64 cgroup_id, __u64 now);
	const struct pb_cred *(*cred)(void *ctx, __u64 id);
	/* a process with no record whose parent holds credentials */
	int (*untracked_child)(void *ctx);
	/* is rec the caller's own (not an earlier process's of that PID)?
	 * Settles a record seeded from /proc to the nanosecond. */
	int (*rec_is_self)(void *ctx, struct pb_proc *rec);
	__u64 (*now)(void *ctx);    /* boot ns */
	__u64 (*cgroup)(void *ctx); /* the caller's cgroup, live */
	/* an allow not judged, counted under counter (PB_CNT_*) */
	void (*count)(void *ctx, __u32 counter);
	/* rec outlived its process (the hooks never saw the one that has its
	 * PID): counted and reported; the process is judged as holding nothing */
	void (*stale)(void *ctx, const struct pb_proc *rec);
};

/* What the caller gathered before the rule. */
struct pb_connect_in {
	struct pb_proc *rec; /* procs[tgid], or NULL */
	__u32 gen;	     /* the policy generation in force, read once */
	__u32 fast_flags;    /* PB_FAST_* (0: no fast-path map) */
	int hint_match;	     /* pb_hint_may_match for the destination */
	/* The caller's record is its own and its credentials were judged,
	 * all valid, under what still holds: the same epoch, thread, cgroup
	 * and credentials held, before the first expiry involved (the
	 * conditions of a kept allow, for a destination not kept). Step 3
	 * then reads them instead of judging them again. */
	int judged;
};

/* What a verdict is about, for the caller to count, report and keep. */
struct pb_connect_out {
	__u32 mode;		 /* the policy's (enforce without one) */
	__u32 nheld;		 /* credentials the record holds (reported) */
	struct pb_proc *rec;	 /* the caller's own record (reported, keeps an allow), or NULL */
	const struct pb_cred *c; /* the credential judged last, or NULL */
	__u64 cred_id;		 /* its id */
	__u64 ident;		 /* the identity misused, needed or out of scope */
	__u64 now;		 /* when the held credentials were judged (0: not judged) */
	__u64 cgroup_id;	 /* the caller's cgroup they were judged in */
	__u64 until;		 /* the first expiry judged: an allow may be kept until then */
	__u64 keep;		 /* an allow that may be kept (every credential judged) */
};

/* pb_connect_rule's answer for a connect it allows without judging (a
 * count through lk->count says why). */
#define PB_CONNECT_QUIET (-1)

/* A destination protected by rules in the policy of generation gen: a
 * valid credential of an identity a matching rule names (ids), else
 * wrong_identity, or no_credential when nothing valid is held. */
static __always_inline enum pb_reason pb_connect_protected(const struct pb_connect_lookups *lk,
							   void *ctx, const struct pb_kpolicy *pol,
							   __u32 gen, struct pb_held_ids *ids)
{
	struct pb_policy_ref ref = {.pol = pol, .gen = gen};
	__u32 mask = lk->protected_rules(ctx, gen);

	ids->need = mask ? lk->protected_need(ctx, gen, mask) : 0;
	if (pol && (mask & pol->prot_approval))
		ids->gated = 1;
	return pb_protected_held_reason(lk->names, &ref, mask, ids->id, ids->n);
}

/* Step 3: every held credential must entitle the process. The identities
 * of the valid ones go to ids; o names the last one judged (and the
 * identity of a misused one), and the first expiry among them. */
static __always_inline enum pb_reason pb_connect_held(const struct pb_connect_lookups *lk,
						      void *ctx, const struct pb_proc *rec,
						      __u64 cgroup_id, struct pb_held_ids *ids,
						      struct pb_connect_out *o)
{
	enum pb_reason reason = pb_proc_reason(rec);
	__u32 n = rec->nheld;

	for (int i = 0; i < PB_MAX_HELD && reason == PB_OK; i++) {
		const struct pb_cred *c;
		__u64 id;

		if ((__u32)i >= n)
			break;
		id = rec->held[i];
		if (!id) {
			o->until = 0; /* slot claimed, id not yet written: keep nothing */
			continue;
		}
		/* the entry the judgement reads; gone (ended), it is what
		 * pb_cred_reason says of a missing one */
		c = lk->cred(ctx, id);
		reason = (enum pb_reason)lk->held(ctx, id, cgroup_id, o->now);
		o->c = c;
		if (!c)
			reason = PB_R_REVOKED;
		o->cred_id = id;
		if (c && reason != PB_OK)
			o->ident = c->ident; /* the identity of the credential misused */
		if (reason == PB_OK && c) {
			ids->id[i & (PB_MAX_HELD - 1)] = c->ident; /* one per credential */
			if (c->expires < o->until)
				o->until = c->expires;
		}
	}
	ids->n = PB_MAX_HELD;
	return reason;
}

/* Step 3 for a holder whose credentials were judged under what still holds
 * (pb_connect_in.judged): each is read (pb_still_valid), not judged again.
 * 1 when every one of them was, with their identities in ids and o naming
 * the last and the first expiry; else 0, nothing written, and they are
 * judged in full (pb_connect_held). */
static __always_inline int pb_connect_vouch(const struct pb_connect_lookups *lk, void *ctx,
					    const struct pb_proc *rec, struct pb_held_ids *ids,
					    struct pb_connect_out *o)
{
	const struct pb_cred *last = 0;
	__u64 until = o->until, last_id = 0;
	__u32 n = rec->nheld;
	int ok = pb_proc_reason(rec) == PB_OK;

	for (int i = 0; i < PB_MAX_HELD && ok; i++) {
		const struct pb_cred *c;
		__u64 id;

		if ((__u32)i >= n)
			break;
		id = rec->held[i];
		c = id ? lk->cred(ctx, id) : 0;
		ok = pb_still_valid(c, o->now);
		if (ok) {
			ids->id[i & (PB_MAX_HELD - 1)] = c->ident;
			if (c->expires < until)
				until = c->expires;
			last = c;
			last_id = id;
		}
	}
	if (!ok) {
		__builtin_memset(ids, 0, sizeof(*ids)); /* as it was: nothing written */
		return 0;
	}
	ids->n = PB_MAX_HELD;
	o->c = last;
	o->cred_id = last_id;
	o->until = until;
	return 1;
}

/* Steps 4 and 5 for a holder whose credentials are all valid: a protected
 * destination needs a named identity, and every identity held must have the
 * destination in its scope. */
static __always_inline enum pb_reason
pb_connect_identities(const struct pb_connect_lookups *lk, void *ctx, const struct pb_kpolicy *pol,
		      __u32 gen, int prot, struct pb_held_ids *ids, __u64 now, __u64 *ident)
{
	enum pb_reason reason = PB_OK;

	if (prot) {
		reason = pb_connect_protected(lk, ctx, pol, gen, ids);
		*ident = ids->need;
	}
	for (int j = 0; j < PB_MAX_HELD && reason == PB_OK; j++) {
		int r;

		if (!ids->id[j])
			continue;
		r = lk->scope(ctx, gen, ids->id[j], now);
		if (r & PB_SCOPE_APPROVAL)
			ids->gated = 1;
		reason = (enum pb_reason)(r & 0xff);
		*ident = ids->id[j];
	}
	return reason;
}

/* The connect rule: may the caller connect (or send) to the destination?
 * After the kernel's own fast paths (a process that never held anything
 * while nothing is protected; an allow kept from the same connect), in
 * this order; the first step that decides ends it:
 *  A. in a container that adopted a file with protect rules, those
 *     destinations admit only the file's rightful holder, whatever the
 *     caller holds (else the reason pb_cred_reason gives it);
 *  2. a process that holds nothing (a settled record holding nothing, or
 *     no record and a parent that held nothing) is allowed, not judged,
 *     unless a protected rule matches;
 *  1. an exempt destination is allowed, not judged;
 *  2. a process with no record whose parent held credentials: untracked;
 *     a record that outlived its process is reported (lk->stale) and the
 *     process judged as holding nothing; a process holding nothing is
 *     allowed where nothing is protected, else no_credential;
 *  3. every held credential must entitle the process (pb_judge_cred;
 *     read, not judged again, while in->judged vouches for them);
 *  4. a protected destination needs a valid credential of an identity a
 *     matching rule names, else wrong_identity;
 *  5. the destination is in the scope of every identity held, else
 *     out_of_scope (expired once the identity itself has expired); with no
 *     policy in force, out_of_scope: a holder fails closed;
 *  6. where a scope rule or protected rule that admits it requires an
 *     approval, one use of a live approval for the destination and a held
 *     credential is spent (lk->approval), else approval_missing,
 *     approval_exhausted or approval_expired. Such an allow is never kept:
 *     every connect spends its own use.
 * Returns PB_CONNECT_QUIET for an allow it does not judge (counted through
 * lk->count), else the reason of the verdict, with what it is about in o:
 * the caller counts, reports, keeps an allow and acts. */
static __always_inline int pb_connect_rule(const struct pb_connect_lookups *lk, void *ctx,
					   const struct pb_connect_in *in, struct pb_connect_out *o)
{
	const struct pb_kpolicy *pol;
	struct pb_proc *rec = in->rec;
	struct pb_held_ids ids = {};
	int prot = 0, untracked = 0, reason;

	__builtin_memset(o, 0, sizeof(*o));
	o->mode = PB_MODE_ENFORCE;
	o->until = ~0ULL;

	/* A */
	if ((in->fast_flags & PB_FAST_ADOPT) && in->hint_match) {
		reason = lk->adopt(ctx, &o->cred_id);
		if (reason > 0) {
			o->c = o->cred_id ? lk->cred(ctx, o->cred_id) : 0;
			pol = lk->policy(ctx, in->gen);
			if (pol)
				o->mode = pol->mode;
			/* an earlier process's record is not this one's to report */
			if (rec && lk->rec_is_self(ctx, rec)) {
				o->rec = rec;
				o->nheld = rec->nheld;
			}
			return reason;
		}
	}

	/* 2, early: one scan, no exempt scan */
	if (!rec)
		untracked = lk->untracked_child(ctx);
	if ((rec && !rec->nheld && !(rec->flags & PB_PROC_COARSE)) || (!rec && !untracked)) {
		if (!lk->protected_rules(ctx, in->gen)) {
			lk->count(ctx, rec ? PB_CNT_NOCRED_CONNECT : PB_CNT_NO_RECORD);
			return PB_CONNECT_QUIET;
		}
	}

	/* 1 */
	pol = lk->policy(ctx, in->gen);
	if (pol) {
		o->mode = pol->mode;
		if (pol->nexempt || pol->nprotected) {
			int cls = lk->dest_class(ctx, in->gen);

			if (cls == 1) {
				lk->count(ctx, PB_CNT_EXEMPT);
				return PB_CONNECT_QUIET;
			}
			prot = cls == 2;
		}
	}

	/* 2 */
	if (!rec && untracked)
		return PB_R_UNTRACKED;
	if (rec && (rec->flags & PB_PROC_COARSE))
		lk->rec_is_self(ctx, rec); /* settle a /proc seed */
	if (!rec || !rec->nheld) {
		if (!prot) {
			lk->count(ctx, rec ? PB_CNT_NOCRED_CONNECT : PB_CNT_NO_RECORD);
			return PB_CONNECT_QUIET;
		}
		o->rec = rec;
		reason = pb_connect_protected(lk, ctx, pol, in->gen, &ids);
		o->ident = ids.need;
		return reason;
	}
	if (!in->judged && !lk->rec_is_self(ctx, rec)) {
		lk->stale(ctx, rec);
		if (!prot)
			return PB_CONNECT_QUIET;
		reason = pb_connect_protected(lk, ctx, pol, in->gen, &ids);
		o->ident = ids.need;
		return reason;
	}

	/* 3 */
	o->rec = rec;
	o->nheld = rec->nheld;
	o->now = lk->now(ctx);
	o->cgroup_id = lk->cgroup(ctx);
	if (in->judged && pb_connect_vouch(lk, ctx, rec, &ids, o))
		reason = PB_OK;
	else
		reason = pb_connect_held(lk, ctx, rec, o->cgroup_id, &ids, o);

	/* 4 and 5 */
	if (reason == PB_OK && !pol)
		return PB_R_OUT_OF_SCOPE; /* no policy in force: fail closed */
	if (reason == PB_OK)
		reason =
		    pb_connect_identities(lk, ctx, pol, in->gen, prot, &ids, o->now, &o->ident);

	/* 6 */
	if (reason == PB_OK && ids.gated)
		reason = lk->approval(ctx, o->mode);
	o->keep = reason == PB_OK && !ids.gated && !(rec->flags & PB_PROC_OVERFLOW);
	return reason;
}

/* The identity a process carries, from the mask of identities whose cgroup
 * part matches its cgroup (cgm) and whose executable part matches what it
 * exec'd (exm). An identity matches when every part it has matches; the
 * first such identity in policy order wins. Returns the index, or -1. */
static __always_inline int pb_tag_pick(const struct pb_kpolicy *pol, __u64 cgm, __u64 exm)
{
	__u64 defined = pol->nident >= 64 ? ~0ULL : ((1ULL << pol->nident) - 1);
	__u64 m = (cgm | ~pol->need_cgroup) & (exm | ~pol->need_exe) & defined;

	if (!m)
		return -1;
	for (int i = 0; i < PB_MAX_IDENTITIES; i++)
		if ((m >> i) & 1)
			return i;
	return -1;
}

/* The identity id a process carries (0: none): the exec hook's tag, and the
 * agent's when it derives a tag again. */
static __always_inline __u64 pb_tag_derive(const struct pb_kpolicy *pol, __u64 cgm, __u64 exm)
{
	int i = pb_tag_pick(pol, cgm, exm);

	return i >= 0 && i < PB_MAX_IDENTITIES ? pol->ident[i] : 0;
}

#endif /* PROCBIND_DECISION_H */
