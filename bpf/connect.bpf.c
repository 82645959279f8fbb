// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The connect decision: cgroup/connect4, connect6, sendmsg4 and sendmsg6 at
 * the cgroup v2 root. Each gathers the inputs, calls the pure decision in
 * procbind/decision.h, counts, reports and acts: returning 0 fails the
 * syscall with EPERM. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET	 2
#define AF_INET6 10

/* A digest of (hook, protocol, address, port): equal digests are treated as
 * the same destination; a collision only drops an allow event, counted. */
static __always_inline __u64 pb_dest_digest(struct bpf_sock_addr *ctx, __u8 hook, __u16 family)
{
	__u64 h = ((__u64)hook << 56) ^ ((__u64)ctx->protocol << 48) ^ (ctx->user_port & 0xffff);

	if (family == AF_INET) {
		h ^= (__u64)ctx->user_ip4 << 16;
	} else {
		h ^= ((__u64)ctx->user_ip6[0] << 16) * 0x9e3779b97f4a7c15ULL;
		h ^= ((__u64)ctx->user_ip6[1] << 8) * 0xc2b2ae3d27d4eb4fULL;
		h ^= (__u64)ctx->user_ip6[2] * 0x165667b19e3779f9ULL;
		h ^= ((__u64)ctx->user_ip6[3] << 16) ^ ((__u64)ctx->user_ip6[3] >> 16);
	}
	return h | 1; /* never 0, the value of a fresh record */
}

/* The destination as the decision sees it (ctx fields are read at constant
 * offsets, as the verifier requires). */
static __always_inline void pb_dest_fill(struct bpf_sock_addr *ctx, __u16 family, struct pb_dest *d)
{
	d->family = family;
	d->proto = ctx->protocol;
	d->port = bpf_ntohs((__u16)ctx->user_port);
	if (family == AF_INET) {
		d->addr[0] = ctx->user_ip4;
	} else {
		d->addr[0] = ctx->user_ip6[0];
		d->addr[1] = ctx->user_ip6[1];
		d->addr[2] = ctx->user_ip6[2];
		d->addr[3] = ctx->user_ip6[3];
		pb_dest_normalize(d);
	}
}

/* The rule scans are global (not inlined) functions: the verifier checks
 * each once, on its own, instead of once per path through the decision,
 * where the held-credential loop would multiply them past its limit. Their
 * arguments are the context and scalars only (pointers to the stack or a map
 * value as arguments of a global function need 5.12; this runs on 5.10), so
 * each looks up the policy itself, by the generation the caller read (one
 * decision, one policy), and reads the destination from the context. */
struct pb_held_ids {
	__u64 id[PB_MAX_HELD];
	__u64 need; /* out: the identity a protected destination requires */
	__u32 n;
	__u32 _pad;
};

/* Per family: a connect4 program may not even name the IPv6 fields of its
 * context, and a global function is checked for every value of its
 * arguments, so each family has its own. pb_decide, inlined with a constant
 * family, calls only its own family's. */
#define PB_DEST_SCANS(v, fam)                                                                      \
	/* 1: exempt, 2: protected, 0: neither. */                                                 \
	__noinline int pb_dest_class##v(struct bpf_sock_addr *ctx, __u32 gen)                      \
	{                                                                                          \
		const struct pb_kpolicy *pol = bpf_map_lookup_elem(&policies, &gen);               \
		struct pb_dest d = {};                                                             \
                                                                                                   \
		if (!pol)                                                                          \
			return 0;                                                                  \
		pb_dest_fill(ctx, fam, &d);                                                        \
		if (pb_rules_first(pol->exempt, pol->nexempt, &d) >= 0)                            \
			return 1;                                                                  \
		if (pb_rules_first(pol->prot, pol->nprotected, &d) >= 0)                           \
			return 2;                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	/* The protected rules the destination matches, as a mask. */                              \
	__noinline int pb_protected_rules##v(struct bpf_sock_addr *ctx, __u32 gen)                 \
	{                                                                                          \
		const struct pb_kpolicy *pol = bpf_map_lookup_elem(&policies, &gen);               \
		struct pb_dest d = {};                                                             \
                                                                                                   \
		if (!pol)                                                                          \
			return 0;                                                                  \
		pb_dest_fill(ctx, fam, &d);                                                        \
		return (int)pb_rules_mask(pol->prot, pol->nprotected, &d);                         \
	}                                                                                          \
	/* pb_scope_reason for the identity ident of generation gen. */                            \
	__noinline int pb_scope_check##v(struct bpf_sock_addr *ctx, __u32 gen, __u64 ident,        \
					 __u64 now)                                                \
	{                                                                                          \
		struct pb_scope_key k = {.gen = gen, .ident = ident};                              \
		struct pb_dest d = {};                                                             \
                                                                                                   \
		pb_dest_fill(ctx, fam, &d);                                                        \
		return pb_scope_reason(bpf_map_lookup_elem(&scopes, &k), &d, now);                 \
	}

/* Is the caller entitled to credential id (decision.h), as a process in
 * cgroup cg, at now? Its executable and parent come from its record, when
 * the record is its own; without one it can only be judged foreign.
 * A global function, so the verifier checks pb_cred_reason once, on its
 * own, and not once per held slot and per path into the decision (that
 * was most of the connect programs' verification, 227,000 instructions
 * for connect6 on 5.10). Its arguments are scalars (5.10: see above). */
__noinline int pb_held_reason(__u64 id, __u64 cg, __u64 now)
{
	struct task_struct *t = pb_current();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const struct pb_cred *c = bpf_map_lookup_elem(&creds, &id);
	struct pb_proc *rec = bpf_map_lookup_elem(&procs, &tgid);
	const struct pb_proc *owner = NULL;
	struct pb_subject s = {};

	s.self.tgid = tgid;
	s.self.start_time = pb_task_start(t);
	s.cgroup_id = cg;
	if (rec && pb_rec_is_task(rec, t)) {
		s.parent = rec->parent;
		s.exe_dev = rec->exe_dev;
		s.exe_ino = rec->exe_ino;
	}
	if (c && pb_is_inheriting_child(&s, c)) {
		__u32 otgid = c->owner.tgid;

		owner = bpf_map_lookup_elem(&procs, &otgid);
	}
	return pb_cred_reason(&s, c, owner, now);
}

/* The protect rules of an adopted file (abi.h, struct pb_adopt_cg): -1 when
 * the caller's cgroup adopted none or d matches none of its rules, else the
 * reason pb_cred_reason gives the caller for that file's credential. */
#define PB_ADOPT_SCAN(v, fam)                                                                      \
	__noinline int pb_adopt_check##v(struct bpf_sock_addr *ctx)                                \
	{                                                                                          \
		__u64 cg = bpf_get_current_cgroup_id();                                            \
		const struct pb_adopt_cg *ad = bpf_map_lookup_elem(&adopt_cg, &cg);               \
		struct pb_dest d = {};                                                             \
		__u32 n;                                                                           \
                                                                                                   \
		if (!ad)                                                                           \
			return -1;                                                                 \
		pb_dest_fill(ctx, fam, &d);                                                        \
		n = ad->nrules < PB_MAX_ADOPT_RULES ? ad->nrules : PB_MAX_ADOPT_RULES;             \
		for (int i = 0; i < PB_MAX_ADOPT_RULES; i++) {                                     \
			if ((__u32)i >= n)                                                         \
				break;                                                             \
			if (pb_rule_match(&ad->rules[i], &d))                                      \
				return pb_held_reason(ad->cred_id, cg, bpf_ktime_get_boot_ns());  \
		}                                                                                  \
		return -1;                                                                         \
	}

PB_DEST_SCANS(4, AF_INET)
PB_DEST_SCANS(6, AF_INET6)
PB_ADOPT_SCAN(4, AF_INET)
PB_ADOPT_SCAN(6, AF_INET6)

static __always_inline int pb_dest_class(struct bpf_sock_addr *ctx, __u32 gen, __u16 family)
{
	return family == AF_INET ? pb_dest_class4(ctx, gen) : pb_dest_class6(ctx, gen);
}

static __always_inline __u32 pb_protected_rules(struct bpf_sock_addr *ctx, __u32 gen, __u16 family)
{
	return (__u32)(family == AF_INET ? pb_protected_rules4(ctx, gen)
					 : pb_protected_rules6(ctx, gen));
}

static __always_inline int pb_scope_check(struct bpf_sock_addr *ctx, __u32 gen, __u16 family,
					  __u64 ident, __u64 now)
{
	return family == AF_INET ? pb_scope_check4(ctx, gen, ident, now)
				 : pb_scope_check6(ctx, gen, ident, now);
}

__noinline __u64 pb_protected_need_of(__u32 gen, __u32 mask)
{
	const struct pb_kpolicy *pol = bpf_map_lookup_elem(&policies, &gen);

	return pol ? pb_protected_need(pol, mask) : 0;
}

__noinline int pb_protected_names_of(__u32 gen, __u32 mask, __u64 ident)
{
	const struct pb_kpolicy *pol = bpf_map_lookup_elem(&policies, &gen);

	return pol ? pb_protected_names(pol, mask, ident) : 0;
}

static __always_inline int pb_protected_names_by_gen(const struct pb_policy_ref *ref, __u32 mask,
						     __u64 ident)
{
	return pb_protected_names_of(ref->gen, mask, ident);
}

/* The protected check of decision.h, with one global call per identity. */
static __always_inline int pb_protected_check(struct bpf_sock_addr *ctx, __u32 gen, __u32 family,
					      struct pb_held_ids *ids)
{
	struct pb_policy_ref ref = {.gen = gen};
	__u32 mask = (__u32)pb_protected_rules(ctx, gen, family);

	ids->need = mask ? pb_protected_need_of(gen, mask) : 0;
	return pb_protected_held_reason(pb_protected_names_by_gen, &ref, mask, ids->id, ids->n);
}

/* A process with no record: every process gets one at fork, so the map was
 * full then. It fails closed (untracked) if what it may hold came from its
 * parent: the fork copied credentials the kernel cannot see. */
static __always_inline int pb_untracked_child(void)
{
	struct task_struct *parent = BPF_CORE_READ(pb_current(), real_parent);
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	struct pb_proc *prec = bpf_map_lookup_elem(&procs, &ptgid);

	return prec && prec->nheld && pb_rec_is(prec, pb_task_start(parent));
}

/* Step 3: every held credential must entitle the process (decision.h). The
 * identities of the valid ones go to ids; *c and *cred_id name the last one
 * judged, *ident the identity of a misused one. */
static __always_inline enum pb_reason
pb_judge_held(const struct pb_proc *rec, const struct pb_subject *s, __u64 now,
	      struct pb_held_ids *ids, const struct pb_cred **c, __u64 *cred_id, __u64 *ident,
	      __u64 *until)
{
	enum pb_reason reason = pb_proc_reason(rec);
	__u32 n = rec->nheld;

	for (int i = 0; i < PB_MAX_HELD && reason == PB_OK; i++) {
		__u64 id;

		if (i >= n)
			break;
		id = rec->held[i];
		if (!id) {
			*until = 0; /* slot claimed, id not yet written: keep nothing */
			continue;
		}
		reason = (enum pb_reason)pb_held_reason(id, s->cgroup_id, now);
		/* the same entry the global read; gone since (ended), it is
		 * what pb_cred_reason says of a missing one */
		*c = bpf_map_lookup_elem(&creds, &id);
		if (!*c)
			reason = PB_R_REVOKED;
		*cred_id = id;
		if (*c && reason != PB_OK)
			*ident = (*c)->ident; /* the identity of the credential misused */
		if (reason == PB_OK && *c) {
			ids->id[i & (PB_MAX_HELD - 1)] = (*c)->ident; /* one per credential */
			if ((*c)->expires < *until)
				*until = (*c)->expires;
		}
	}
	ids->n = PB_MAX_HELD;
	return reason;
}

/* Steps 4 and 5 for a holder whose credentials are all valid: a protected
 * destination needs a named identity, and every identity held must have
 * the destination in its scope. */
static __always_inline enum pb_reason pb_judge_identities(struct bpf_sock_addr *ctx, __u32 gen,
							  __u16 family, int prot,
							  struct pb_held_ids *ids, __u64 now,
							  __u64 *ident)
{
	enum pb_reason reason = PB_OK;

	if (prot) {
		reason = pb_protected_check(ctx, gen, family, ids);
		*ident = ids->need;
	}
	for (int j = 0; j < PB_MAX_HELD && reason == PB_OK; j++) {
		if (!ids->id[j])
			continue;
		reason = pb_scope_check(ctx, gen, family, ids->id[j], now);
		*ident = ids->id[j];
	}
	return reason;
}

/* Allowed connects are many: a process that connects again to the
 * destination of its last allow event is counted, not reported. */
static __always_inline int pb_allow_repeat(struct bpf_sock_addr *ctx, __u8 hook, __u16 family,
					   struct pb_proc *rec, __u64 dig)
{
	if (!dig)
		dig = pb_dest_digest(ctx, hook, family); /* not taken yet on this path */
	if (rec->last_allow == dig) {
		pb_count(PB_CNT_ALLOW_REPEAT);
		__sync_fetch_and_add(&rec->allow_repeats, 1); /* reported at exit */
		return 1;
	}
	rec->last_allow = dig;
	return 0;
}

/* The decision's event: who asked, where to, the verdict and reason, and
 * for a misused credential the process it was minted for. */
static __always_inline void pb_report(struct task_struct *t, const struct pb_proc *rec,
				      const struct pb_cred *c, __u64 cred_id,
				      const struct pb_dest *d, __u8 hook, enum pb_verdict verdict,
				      enum pb_reason reason, __u32 mode, __u32 n, __u64 ident)
{
	struct pb_connect_event *e = pb_event_reserve(sizeof(*e), PB_EV_CONNECT);

	if (!e)
		return;
	pb_task_ref_fill(&e->task, t, rec);
	e->task.cgroup_id = bpf_get_current_cgroup_id();
	pb_owner_ref_of(&e->owner,
			c && cred_id && reason != PB_OK && reason < PB_R_OUT_OF_SCOPE ? c : NULL);
	e->cred_id = cred_id;
	__builtin_memcpy(e->daddr, d->addr, sizeof(e->daddr));
	e->dport = d->port;
	e->family = d->family;
	e->protocol = d->proto;
	e->hook = hook;
	e->verdict = verdict;
	e->reason = reason;
	e->mode = mode;
	e->nheld = n;
	e->ident = ident;
	pb_event_submit(e);
}

/* A kept allow (abi.h, struct pb_proc) holds only on a CPU that keeps loads
 * in order (x86's TSO): the epoch must be read before what the decision
 * reads, and the agent bumps it after each change. Elsewhere every connect
 * of a holder is decided in full. */
#if defined(__TARGET_ARCH_x86)
#define PB_KEEP_ALLOWS 1
#else
#define PB_KEEP_ALLOWS 0
#endif

/* The clock of a kept allow: the coarse one (5.11+: no clock read, a few ns)
 * where there is one, else the boot clock. Coarse is CLOCK_MONOTONIC to the
 * tick, so a kept allow ends PB_KEEP_MARGIN before the expiry it was given,
 * lasts a second at most, and a suspend of the node cannot stretch it by
 * more than that second. */
#define PB_KEEP_MAX_NS	1000000000ULL
#define PB_KEEP_MARGIN	20000000ULL /* above any tick (HZ >= 100) */
static __always_inline __u64 pb_keep_clock(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_boot_ns();
}

/* The allow kept for rec: the same destination from the same thread,
 * nothing it depended on changed, before the first expiry involved. The
 * thread stands for the process: a record is made anew at fork and goes at
 * exit, so a task that reuses the PID never finds this one's kept allow. */
static __always_inline int pb_kept_allow(const struct pb_proc *rec, __u64 dig, __u32 epoch)
{
	return PB_KEEP_ALLOWS && rec->ok_until && rec->last_allow == dig &&
	       rec->ok_epoch == epoch && rec->ok_nheld == rec->nheld &&
	       rec->ok_task == bpf_get_current_task() &&
	       rec->ok_cgroup == bpf_get_current_cgroup_id() && pb_keep_clock() < rec->ok_until;
}

/* Keep an allow decided at boot time now, valid until (boot ns). */
static __always_inline void pb_keep_allow(struct pb_proc *rec, __u64 cgroup, __u32 epoch,
					  __u32 nheld, __u64 now, __u64 until)
{
	__u64 left = until > now + PB_KEEP_MARGIN ? until - now - PB_KEEP_MARGIN : 0;

	if (left > PB_KEEP_MAX_NS)
		left = PB_KEEP_MAX_NS;
	rec->ok_cgroup = cgroup;
	rec->ok_epoch = epoch;
	rec->ok_nheld = nheld; /* a credential acquired since voids it */
	rec->ok_task = bpf_get_current_task();
	rec->ok_until = left ? pb_keep_clock() + left : 0;
}

/* Decide one connect/sendmsg. The policy generation is read once, so the
 * whole decision uses one policy even while the agent reloads. Order:
 *  0. a process that never held a credential, while no destination is
 *     protected: allow, on map "holding" alone; a holder connecting again
 *     to where it was last allowed, nothing changed since: allow;
 *  A. in a container that adopted a file, its protect destinations: only
 *     the file's rightful holder (else the reason of pb_cred_reason);
 *  1. exempt destination -> allow, nothing else looked up;
 *  2. a process holding nothing: allow, unless the destination is protected
 *     (no_credential);
 *  3. every held credential must entitle the process (decision.h);
 *  4. protected destination: a valid credential of a named identity is held,
 *     else wrong_identity;
 *  5. the destination is in the scope of every identity held, else
 *     out_of_scope (expired once the identity itself has expired). */
static __always_inline int pb_decide(struct bpf_sock_addr *ctx, __u8 hook, __u16 family)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, mode = PB_MODE_ENFORCE, n = 0, gen = 0;
	__u32 zero = 0, epoch = 0;
	struct pb_held_ids ids = {};
	enum pb_reason reason = PB_OK;
	const struct pb_kpolicy *pol;
	const struct pb_cred *c = NULL;
	struct pb_subject s = {};
	struct pb_dest d = {};
	struct task_struct *t;
	struct pb_proc *rec;
	struct pb_fast *fast;
	enum pb_verdict verdict;
	__u64 cred_id = 0, ident = 0, now, until = ~0ULL, dig = 0;
	__u8 *hold;
	int prot = 0;

	/* 0. Read first: whatever the decision reads below is at least as
	 * new as this epoch. */
	fast = bpf_map_lookup_elem(&fastpath, &zero);
	hold = pb_holding_byte(tgid);
	pb_dest_fill(ctx, family, &d);
	if (fast) {
		epoch = fast->epoch;
		if (hold && !*hold &&
		    (!(fast->flags & PB_FAST_PROTECTED) || !pb_hint_may_match(&fast->hint, &d))) {
			pb_count(PB_CNT_NOCRED_CONNECT);
			return 1;
		}
	}
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (rec && fast && rec->nheld) {
		dig = pb_dest_digest(ctx, hook, family);
		if (pb_kept_allow(rec, dig, epoch)) {
			pb_count(PB_COUNTER_VERDICT(PB_VERDICT_ALLOW, PB_OK));
			pb_count(PB_CNT_ALLOW_REPEAT);
			__sync_fetch_and_add(&rec->allow_repeats, 1); /* reported at exit */
			return 1;
		}
	}

	/* A. In a container that adopted a file with protect rules, those
	 * destinations admit only the file's rightful holder, whatever the
	 * caller holds: whoever else got the bytes cannot use them here. */
	if (fast && (fast->flags & PB_FAST_ADOPT) && pb_hint_may_match(&fast->hint, &d)) {
		int ar = family == AF_INET ? pb_adopt_check4(ctx) : pb_adopt_check6(ctx);

		if (ar > 0) {
			__u64 cg = bpf_get_current_cgroup_id();
			const struct pb_adopt_cg *ad = bpf_map_lookup_elem(&adopt_cg, &cg);

			t = pb_current();
			if (ad) {
				cred_id = ad->cred_id;
				c = bpf_map_lookup_elem(&creds, &cred_id);
			}
			pol = pb_policy_now(&gen);
			if (pol)
				mode = pol->mode;
			if (rec && !pb_rec_is(rec, pb_task_start(t)))
				rec = NULL; /* an earlier process's: not this one's to report */
			n = rec ? rec->nheld : 0;
			reason = (enum pb_reason)ar;
			goto verdict;
		}
	}

	/* 2, early: a process that holds nothing (a settled record holding
	 * nothing, or no record and a parent that held nothing) is allowed
	 * unless a protected rule matches: one scan, no exempt scan. */
	if ((rec && !rec->nheld && !(rec->flags & PB_PROC_COARSE)) ||
	    (!rec && !pb_untracked_child())) {
		struct pb_config *cfg = bpf_map_lookup_elem(&agent_cfg, &zero);

		if (!cfg || !pb_protected_rules(ctx, cfg->gen, family)) {
			pb_count(rec ? PB_CNT_NOCRED_CONNECT : PB_CNT_NO_RECORD);
			return 1;
		}
	}

	/* 1 */
	pol = pb_policy_now(&gen);
	if (pol) {
		mode = pol->mode;
		if (pol->nexempt || pol->nprotected) {
			int cls = pb_dest_class(ctx, gen, family);

			if (cls == 1) {
				pb_count(PB_CNT_EXEMPT);
				return 1;
			}
			prot = cls == 2;
		}
	}

	/* 2. A process that holds no credential, going somewhere not
	 * protected. */
	if (!rec && pb_untracked_child()) {
		t = pb_current();
		reason = PB_R_UNTRACKED;
		goto verdict;
	}
	if (rec && (rec->flags & PB_PROC_COARSE))
		pb_rec_is_task(rec, pb_current()); /* settle a /proc seed */
	if (!rec || !rec->nheld) {
		if (!prot) {
			pb_count(rec ? PB_CNT_NOCRED_CONNECT : PB_CNT_NO_RECORD);
			return 1;
		}
		t = pb_current();
		reason = pb_protected_check(ctx, gen, family, &ids);
		ident = ids.need;
		goto verdict;
	}
	t = pb_current();
	s.self.tgid = tgid;
	s.self.start_time = pb_task_start(t);
	if (!pb_rec_is_task(rec, t)) {
		/* The record outlived its process and the hooks never saw this
		 * one: what it holds is not this process's. Counted, reported,
		 * and judged as a process holding nothing. */
		pb_count(PB_CNT_STALE_RECORD);
		pb_anomaly(t, PB_AN_STALE_RECORD, rec->self.start_time, 0);
		if (!prot)
			return 1;
		reason = pb_protected_check(ctx, gen, family, &ids);
		ident = ids.need;
		rec = NULL;
		goto verdict;
	}

	/* 3 */
	s.cgroup_id = bpf_get_current_cgroup_id();
	s.exe_dev = rec->exe_dev;
	s.exe_ino = rec->exe_ino;
	s.parent = rec->parent;
	now = bpf_ktime_get_boot_ns();
	n = rec->nheld;
	reason = pb_judge_held(rec, &s, now, &ids, &c, &cred_id, &ident, &until);

	/* 4 and 5 */
	if (reason == PB_OK && !pol)
		reason = PB_R_OUT_OF_SCOPE; /* no policy in force: fail closed */
	else if (reason == PB_OK)
		reason = pb_judge_identities(ctx, gen, family, prot, &ids, now, &ident);

	/* Kept for the next connect to the same place, unless something
	 * changed while this one was decided. */
	if (reason == PB_OK && fast && fast->epoch == epoch && !(rec->flags & PB_PROC_OVERFLOW)) {
		if (fast->expiry < until)
			until = fast->expiry;
		pb_keep_allow(rec, s.cgroup_id, epoch, n, now, until);
	}

verdict:
	verdict = pb_verdict_for(reason, mode);
	pb_count(PB_COUNTER_VERDICT(verdict, reason));
	/* Denials and monitor verdicts are always reported. */
	if (verdict == PB_VERDICT_ALLOW && rec && pb_allow_repeat(ctx, hook, family, rec, dig))
		return 1;
	pb_report(t, rec, c, cred_id, &d, hook, verdict, reason, mode, n, ident);
	return verdict == PB_VERDICT_DENY ? 0 : 1;
}

SEC("cgroup/connect4")
int pb_guard_connect4(struct bpf_sock_addr *ctx)
{
	return pb_decide(ctx, PB_HOOK_CONNECT4, AF_INET);
}

SEC("cgroup/connect6")
int pb_guard_connect6(struct bpf_sock_addr *ctx)
{
	return pb_decide(ctx, PB_HOOK_CONNECT6, AF_INET6);
}

SEC("cgroup/sendmsg4")
int pb_guard_sendmsg4(struct bpf_sock_addr *ctx)
{
	return pb_decide(ctx, PB_HOOK_SENDMSG4, AF_INET);
}

SEC("cgroup/sendmsg6")
int pb_guard_sendmsg6(struct bpf_sock_addr *ctx)
{
	return pb_decide(ctx, PB_HOOK_SENDMSG6, AF_INET6);
}
