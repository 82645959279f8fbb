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
/* The key of a destination in a process's dests[]. An IPv4 one is the
 * destination itself, every bit (hook, protocol, port, address: 64 bits),
 * so no two destinations share one; only such a key carries a kept allow
 * (pb_kept_allow), which answers without a decision. An IPv6 address does
 * not fit: its key is a digest, which two destinations may share, and is
 * used only to report a process's first allow to a destination once. */
static __always_inline __u64 pb_dest_digest(struct bpf_sock_addr *ctx, __u8 hook, __u16 family)
{
	__u64 h = ((__u64)hook << 56) ^ ((__u64)(ctx->protocol & 0xff) << 48) ^
		  ((__u64)(ctx->user_port & 0xffff) << 32);

	if (family == AF_INET)
		return h | ctx->user_ip4; /* hook >= 1: never 0, a fresh slot's value */
	h ^= (__u64)ctx->user_ip6[0] * 0x9e3779b97f4a7c15ULL;
	h ^= ((__u64)ctx->user_ip6[1] << 7) * 0xc2b2ae3d27d4eb4fULL;
	h ^= (__u64)ctx->user_ip6[2] * 0x165667b19e3779f9ULL;
	h ^= ((__u64)ctx->user_ip6[3] << 16) ^ ((__u64)ctx->user_ip6[3] >> 16);
	return h | 1;
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

/* Step 6 (decision.h): the approval for this connect. The held
 * credentials were all judged valid in step 3; the first with a live
 * approval for the destination spends a use, under the element's lock, so
 * two connects racing for the last use cannot both pass. The event is
 * reserved first: a use that no event records is not spent. */
static __always_inline int pb_approval_spend(struct bpf_sock_addr *ctx, __u16 family, __u32 hook,
					     __u32 mode)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, n, use = 0, uses = 0;
	struct pb_proc *rec = bpf_map_lookup_elem(&procs, &tgid);
	struct pb_approval *ap = 0, *a;
	struct pb_approval_event *e;
	struct pb_approval_key k = {};
	__u64 now = bpf_ktime_get_boot_ns(), cred_id = 0, id = 0;
	struct pb_dest d = {};
	int reason, live;

	pb_dest_fill(ctx, family, &d);
	__builtin_memcpy(k.addr, d.addr, sizeof(k.addr));
	k.port = d.port;
	k.family = d.family;
	k.proto = d.proto;
	n = rec ? rec->nheld : 0;
	for (int i = 0; i < PB_MAX_HELD && rec; i++) {
		if ((__u32)i >= n)
			break;
		k.cred_id = rec->held[i];
		if (!k.cred_id)
			continue;
		a = bpf_map_lookup_elem(&approvals, &k);
		if (!a)
			continue;
		live = pb_approval_reason(a, now) == PB_OK;
		if (!ap || live) {
			ap = a;
			cred_id = k.cred_id;
		}
		if (live)
			break;
	}
	if (!cred_id && rec && n)
		cred_id = rec->held[0];
	e = pb_event_reserve(sizeof(*e), PB_EV_APPROVAL);
	if (!e)
		return ap ? PB_R_APPROVAL_UNRECORDED : PB_R_APPROVAL_MISSING;
	reason = PB_R_APPROVAL_MISSING;
	if (ap) {
		bpf_spin_lock(&ap->lock);
		reason = pb_approval_reason(ap, now);
		if (reason == PB_OK)
			use = ++ap->used;
		uses = ap->uses;
		id = ap->id;
		bpf_spin_unlock(&ap->lock);
	}
	pb_task_ref_fill(&e->task, pb_current(), rec);
	e->task.cgroup_id = bpf_get_current_cgroup_id();
	e->cred_id = cred_id;
	e->approval_id = id;
	__builtin_memcpy(e->daddr, d.addr, sizeof(e->daddr));
	e->dport = d.port;
	e->family = d.family;
	e->protocol = d.proto;
	e->hook = hook;
	e->verdict = pb_verdict_for(reason, mode);
	e->reason = reason;
	e->mode = mode;
	e->use = use;
	e->uses = uses;
	e->_pad = 0;
	pb_event_submit(e);
	return reason;
}

/* The rule scans are global (not inlined) functions: the verifier checks
 * each once, on its own, instead of once per path through the decision,
 * where the held-credential loop would multiply them past its limit. Their
 * arguments are the context and scalars only (pointers to the stack or a map
 * value as arguments of a global function need 5.12; this runs on 5.10), so
 * each looks up the policy itself, by the generation the caller read (one
 * decision, one policy), and reads the destination from the context. */
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
	/* pb_scope_gate for the identity ident of generation gen. */                              \
	__noinline int pb_scope_check##v(struct bpf_sock_addr *ctx, __u32 gen, __u64 ident,        \
					 __u64 now)                                                \
	{                                                                                          \
		struct pb_scope_key k = {.gen = gen, .ident = ident};                              \
		struct pb_dest d = {};                                                             \
                                                                                                   \
		pb_dest_fill(ctx, fam, &d);                                                        \
		return pb_scope_gate(bpf_map_lookup_elem(&scopes, &k), &d, now);                   \
	}                                                                                          \
	/* Step 6 of the rule: spend one use of an approval for the destination */                 \
	/* and a credential the caller holds (the first live one), or say why not. */              \
	__noinline int pb_approval_spend##v(struct bpf_sock_addr *ctx, __u32 hook, __u32 mode)     \
	{                                                                                          \
		return pb_approval_spend(ctx, fam, hook, mode);                                    \
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
	struct pb_subject s = {};

	s.self.tgid = tgid;
	s.self.start_time = pb_task_start(t);
	s.cgroup_id = cg;
	if (rec && pb_rec_is_task(rec, t)) {
		s.parent = rec->parent;
		s.exe_dev = rec->exe_dev;
		s.exe_ino = rec->exe_ino;
	}
	return pb_judge_cred(&s, c, pb_owner_record, 0, now);
}

/* The protect rules of an adopted file (abi.h, struct pb_adopt_cg): -1 when
 * the caller's cgroup adopted none or d matches none of its rules, else the
 * reason pb_cred_reason gives the caller for that file's credential. */
#define PB_ADOPT_SCAN(v, fam)                                                                      \
	__noinline int pb_adopt_check##v(struct bpf_sock_addr *ctx)                                \
	{                                                                                          \
		__u64 cg = bpf_get_current_cgroup_id();                                            \
		const struct pb_adopt_cg *ad = bpf_map_lookup_elem(&adopt_cg, &cg);                \
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
				return pb_held_reason(ad->cred_id, cg, bpf_ktime_get_boot_ns());   \
		}                                                                                  \
		return -1;                                                                         \
	}

PB_DEST_SCANS(4, AF_INET)
PB_DEST_SCANS(6, AF_INET6)
PB_ADOPT_SCAN(4, AF_INET)
PB_ADOPT_SCAN(6, AF_INET6)

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

/* Allowed connects are many: a process that connects again to one of the
 * destinations of its last PB_KEEP_DESTS allow events is counted, not
 * reported. The slot of dig in rec->dests[], or -1. */
static __always_inline int pb_dest_find(const struct pb_proc *rec, __u64 dig)
{
	for (int i = 0; i < PB_KEEP_DESTS; i++)
		if (rec->dests[i].dig == dig)
			return i;
	return -1;
}

/* dig takes the oldest slot (nothing kept for it yet); its index. Not
 * atomic (a fetching add needs 5.12): two threads adding at once may take
 * one slot, and the destination that loses it is reported again later. */
static __always_inline int pb_dest_add(struct pb_proc *rec, __u64 dig)
{
	int i = rec->dest_next++ & (PB_KEEP_DESTS - 1);

	rec->dests[i].until = 0;
	rec->dests[i].dig = dig;
	return i;
}

/* What a connect event says besides the verdict: who asked (its record,
 * start time and cgroup, read once by the decision) and when (boot ns, 0:
 * not read yet), the credential judged last and for a misused one the
 * process it was minted for, where to, and the identity it is about. */
struct pb_connect_about {
	const struct pb_proc *rec;
	const struct pb_cred *c;
	__u64 cred_id;
	__u64 ident;
	__u64 start;
	__u64 cgroup_id;
	__u64 now;
	const struct pb_dest *d;
	__u32 mode;
	__u32 nheld;
};

/* The decision's event: who asked, where to, the verdict and reason, and
 * for a misused credential the process it was minted for. */
static __always_inline void pb_connect_fill(struct pb_connect_event *e,
					    const struct pb_connect_about *a, __u8 hook,
					    enum pb_verdict verdict, enum pb_reason reason)
{
	const struct pb_cred *c = a->c;

	pb_task_ref_current(&e->task, a->rec, a->start, a->cgroup_id);
	pb_owner_ref_of(
	    &e->owner, c && a->cred_id && reason != PB_OK && reason < PB_R_OUT_OF_SCOPE ? c : NULL);
	e->cred_id = a->cred_id;
	__builtin_memcpy(e->daddr, a->d->addr, sizeof(e->daddr));
	e->dport = a->d->port;
	e->family = a->d->family;
	e->protocol = a->d->proto;
	e->hook = hook;
	e->verdict = verdict;
	e->reason = reason;
	e->mode = a->mode;
	e->nheld = a->nheld;
	e->ident = a->ident;
}

static __always_inline void pb_report(const struct pb_connect_about *a, __u8 hook,
				      enum pb_verdict verdict, enum pb_reason reason)
{
	struct pb_connect_event *e = pb_event_reserve_at(sizeof(*e), PB_EV_CONNECT, a->now);

	if (!e)
		return;
	pb_connect_fill(e, a, hook, verdict, reason);
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
#define PB_KEEP_MAX_NS 1000000000ULL
#define PB_KEEP_MARGIN 20000000ULL /* above any tick (HZ >= 100) */
static __always_inline __u64 pb_keep_clock(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_boot_ns();
}

/* Do rec's kept allows still hold: from the same thread, nothing they
 * depended on changed, before the latest of them ends? The coarse time
 * read, or 0 when they do not. The thread stands for the process: a record
 * is made anew at fork and goes at exit, so a task that reuses the PID
 * never finds this one's kept allows. */
static __always_inline __u64 pb_kept_state(const struct pb_proc *rec, __u32 epoch, __u64 *cgroup)
{
	__u64 now;

	if (!PB_KEEP_ALLOWS || !rec->ok_until || rec->ok_epoch != epoch ||
	    rec->ok_nheld != rec->nheld || rec->ok_task != bpf_get_current_task())
		return 0;
	*cgroup = bpf_get_current_cgroup_id(); /* the decision's too (pb_lk_cgroup) */
	if (rec->ok_cgroup != *cgroup)
		return 0;
	now = pb_keep_clock();
	return now < rec->ok_until ? now : 0;
}

/* Keep the allow of dests[slot], decided at boot time now, valid until
 * (boot ns); coarse is the kept allows' clock as the decision began (0:
 * not read). Kept allows made under other conditions (another epoch,
 * thread, cgroup or set of credentials), or voided since, go first. */
static __always_inline void pb_keep_allow(struct pb_proc *rec, int slot, __u64 cgroup, __u32 epoch,
					  __u32 nheld, __u64 now, __u64 until, __u64 coarse)
{
	__u64 left = until > now + PB_KEEP_MARGIN ? until - now - PB_KEEP_MARGIN : 0, end;
	__u64 task = bpf_get_current_task();

	if (left > PB_KEEP_MAX_NS)
		left = PB_KEEP_MAX_NS;
	end = left ? (coarse ? coarse : pb_keep_clock()) + left : 0;
	if (!rec->ok_until || rec->ok_cgroup != cgroup || rec->ok_epoch != epoch ||
	    rec->ok_nheld != nheld || rec->ok_task != task) {
		for (int i = 0; i < PB_KEEP_DESTS; i++)
			rec->dests[i].until = 0;
		rec->ok_until = 0;
		rec->ok_cgroup = cgroup;
		rec->ok_epoch = epoch;
		rec->ok_nheld = nheld; /* a credential acquired since voids it */
		rec->ok_task = task;
	}
	rec->dests[slot & (PB_KEEP_DESTS - 1)].until = end;
	if (end > rec->ok_until)
		rec->ok_until = end;
}

/* The connect rule's look-ups (decision.h, struct pb_connect_lookups) in the
 * kernel: the hook's context and family, the global scans above. */
struct pb_sa_ctx {
	struct bpf_sock_addr *sa;
	__u64 cgroup; /* the caller's cgroup, once read (0: not yet) */
	__u16 family;
	__u8 hook;
};

static __always_inline const struct pb_kpolicy *pb_lk_policy(void *ctx, __u32 gen)
{
	const struct pb_kpolicy *pol = bpf_map_lookup_elem(&policies, &gen);

	(void)ctx;
	if (!pol)
		pb_count(PB_CNT_NO_POLICY);
	return pol;
}

static __always_inline int pb_lk_adopt(void *ctx, __u64 *cred_id)
{
	struct pb_sa_ctx *h = ctx;
	int ar = h->family == AF_INET ? pb_adopt_check4(h->sa) : pb_adopt_check6(h->sa);

	if (ar > 0) {
		__u64 cg = bpf_get_current_cgroup_id();
		const struct pb_adopt_cg *ad = bpf_map_lookup_elem(&adopt_cg, &cg);

		*cred_id = ad ? ad->cred_id : 0;
	}
	return ar;
}

static __always_inline int pb_lk_dest_class(void *ctx, __u32 gen)
{
	struct pb_sa_ctx *h = ctx;

	return h->family == AF_INET ? pb_dest_class4(h->sa, gen) : pb_dest_class6(h->sa, gen);
}

static __always_inline __u32 pb_lk_protected_rules(void *ctx, __u32 gen)
{
	struct pb_sa_ctx *h = ctx;

	return (__u32)(h->family == AF_INET ? pb_protected_rules4(h->sa, gen)
					    : pb_protected_rules6(h->sa, gen));
}

static __always_inline __u64 pb_lk_protected_need(void *ctx, __u32 gen, __u32 mask)
{
	(void)ctx;
	return pb_protected_need_of(gen, mask);
}

static __always_inline int pb_lk_scope(void *ctx, __u32 gen, __u64 ident, __u64 now)
{
	struct pb_sa_ctx *h = ctx;

	return h->family == AF_INET ? pb_scope_check4(h->sa, gen, ident, now)
				    : pb_scope_check6(h->sa, gen, ident, now);
}

static __always_inline int pb_lk_approval(void *ctx, __u32 mode)
{
	struct pb_sa_ctx *h = ctx;

	return h->family == AF_INET ? pb_approval_spend4(h->sa, h->hook, mode)
				    : pb_approval_spend6(h->sa, h->hook, mode);
}

static __always_inline int pb_lk_held(void *ctx, __u64 id, __u64 cg, __u64 now)
{
	(void)ctx;
	return pb_held_reason(id, cg, now);
}

static __always_inline const struct pb_cred *pb_lk_cred(void *ctx, __u64 id)
{
	(void)ctx;
	return bpf_map_lookup_elem(&creds, &id);
}

static __always_inline int pb_lk_untracked_child(void *ctx)
{
	(void)ctx;
	return pb_untracked_child();
}

static __always_inline int pb_lk_rec_is_self(void *ctx, struct pb_proc *rec)
{
	(void)ctx;
	return pb_rec_is_task(rec, pb_current());
}

static __always_inline __u64 pb_lk_now(void *ctx)
{
	(void)ctx;
	return bpf_ktime_get_boot_ns();
}

static __always_inline __u64 pb_lk_cgroup(void *ctx)
{
	struct pb_sa_ctx *h = ctx;

	return h->cgroup ? h->cgroup : bpf_get_current_cgroup_id();
}

static __always_inline void pb_lk_count(void *ctx, __u32 counter)
{
	(void)ctx;
	pb_count(counter);
}

static __always_inline void pb_lk_stale(void *ctx, const struct pb_proc *rec)
{
	(void)ctx;
	pb_count(PB_CNT_STALE_RECORD);
	pb_anomaly(pb_current(), PB_AN_STALE_RECORD, rec->self.start_time, 0);
}

static const struct pb_connect_lookups pb_kernel_lookups = {
    .policy = pb_lk_policy,
    .adopt = pb_lk_adopt,
    .dest_class = pb_lk_dest_class,
    .protected_rules = pb_lk_protected_rules,
    .protected_need = pb_lk_protected_need,
    .names = pb_protected_names_by_gen,
    .scope = pb_lk_scope,
    .approval = pb_lk_approval,
    .held = pb_lk_held,
    .cred = pb_lk_cred,
    .untracked_child = pb_lk_untracked_child,
    .rec_is_self = pb_lk_rec_is_self,
    .now = pb_lk_now,
    .cgroup = pb_lk_cgroup,
    .count = pb_lk_count,
    .stale = pb_lk_stale,
};

/* Decide one connect/sendmsg: the kernel's fast paths, then the connect
 * rule (decision.h, pb_connect_rule), then what is the kernel's to do with
 * its answer: count, report (an allow repeated to where it was last
 * allowed is counted, not reported), keep an allow, act. */
static __always_inline int pb_decide(struct bpf_sock_addr *ctx, __u8 hook, __u16 family)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, epoch = 0;
	struct pb_sa_ctx h = {.sa = ctx, .family = family, .hook = hook};
	struct pb_connect_in in = {};
	struct pb_connect_about about;
	struct pb_connect_out o;
	struct pb_config *cfg;
	struct pb_dest d = {};
	struct pb_fast *fast;
	enum pb_verdict verdict;
	int reason, slot, repeat, past;
	__u64 dig = 0, kept = 0;
	__u8 *hold;

	/* 0. Read first: whatever the decision reads below is at least as
	 * new as this epoch. A process that never held a credential, while no
	 * destination is protected: allowed on map "holding" alone. */
	fast = bpf_map_lookup_elem(&fastpath, &zero);
	hold = pb_holding_byte(tgid);
	pb_dest_fill(ctx, family, &d);
	if (fast) {
		epoch = fast->epoch;
		in.fast_flags = fast->flags;
		if (hold && !*hold &&
		    (!(fast->flags & PB_FAST_PROTECTED) || !pb_hint_may_match(&fast->hint, &d))) {
			pb_count(PB_CNT_NOCRED_CONNECT);
			return 1;
		}
		in.hint_match = (fast->flags & PB_FAST_ADOPT) && pb_hint_may_match(&fast->hint, &d);
	}
	/* A holder connecting again to where it was last allowed, nothing
	 * changed since: allowed. */
	in.rec = bpf_map_lookup_elem(&procs, &tgid);
	if (in.rec && fast && in.rec->nheld) {
		kept = pb_kept_state(in.rec, epoch, &h.cgroup);
		dig = pb_dest_digest(ctx, hook, family);
		if (kept && family == AF_INET) {
			int i = pb_dest_find(in.rec, dig);

			if (i >= 0 && kept < in.rec->dests[i & (PB_KEEP_DESTS - 1)].until) {
				pb_count(PB_COUNTER_VERDICT(PB_VERDICT_ALLOW, PB_OK));
				pb_count(PB_CNT_ALLOW_REPEAT);
				__sync_fetch_and_add(&in.rec->allow_repeats, 1); /* at exit */
				return 1;
			}
		}
		/* somewhere new: what its credentials were judged to be still
		 * holds, only the destination is to be judged */
		in.judged = kept != 0;
	}
	cfg = bpf_map_lookup_elem(&agent_cfg, &zero);
	in.gen = cfg ? cfg->gen : 0;

	reason = pb_connect_rule(&pb_kernel_lookups, &h, &in, &o);
	if (reason == PB_CONNECT_QUIET)
		return 1;
	verdict = pb_verdict_for(reason, o.mode);
	pb_count(PB_COUNTER_VERDICT(verdict, reason));
	/* An allow to one of its recent destinations is counted, not
	 * reported; a new one takes a slot. Denials and monitor verdicts are
	 * always reported. */
	if (verdict == PB_VERDICT_ALLOW && o.rec) {
		if (!dig)
			dig = pb_dest_digest(ctx, hook, family); /* not taken yet on this path */
		slot = pb_dest_find(o.rec, dig);
		repeat = slot >= 0;
		if (!repeat)
			slot = pb_dest_add(o.rec, dig);
		/* Kept for the next connect to the same place, unless
		 * something changed while this one was decided. */
		if (reason == PB_OK && o.keep && fast && fast->epoch == epoch &&
		    family == AF_INET) {
			if (fast->expiry < o.until)
				o.until = fast->expiry;
			pb_keep_allow(o.rec, slot, o.cgroup_id, epoch, o.nheld, o.now, o.until,
				      kept);
		}
		if (repeat) {
			pb_count(PB_CNT_ALLOW_REPEAT);
			__sync_fetch_and_add(&o.rec->allow_repeats, 1); /* reported at exit */
			return 1;
		}
	}
	/* A refusal repeated (same process, destination and reason) is
	 * counted in map "refusals", not reported; the first is reported whole
	 * and copied there, for the agent's refusals_folded records. So is
	 * every event of a process past its fair share of the ring buffer,
	 * whatever its destination (abi.h, PB_FAIR_BUDGET). */
#ifdef PB_MEASURE_DECISION_ONLY
	if (verdict == PB_VERDICT_ALLOW)
		return 1; /* a measurement build (CMakeLists.txt): no allow event */
#endif
	/* who asked, read once for the fold key and the event */
	about.rec = o.rec;
	about.c = o.c;
	about.cred_id = o.cred_id;
	about.ident = o.ident;
	about.start = pb_task_start(pb_current());
	about.cgroup_id = o.cgroup_id ? o.cgroup_id : bpf_get_current_cgroup_id();
	about.now = o.now;
	about.d = &d;
	about.mode = o.mode;
	about.nheld = o.nheld;
	past = 0;
	if (pb_ring_pressed()) {
		struct pb_pkey me = {.tgid = tgid, .start_time = about.start};

		past = pb_budget_spent(&me);
	}
	if (verdict == PB_VERDICT_DENY || past) {
		struct pb_fold_key fk = {};
		struct pb_fold *fv;

		fk.proc.tgid = tgid;
		fk.proc.start_time = about.start;
		fk.what = past ? PB_FOLD_ANY : dig ? dig : pb_dest_digest(ctx, hook, family);
		fk.kind = PB_FOLD_CONNECT;
		fk.reason = reason;
		fk.access = hook;
		if (pb_fold_refusal(&fk, &fv))
			return verdict == PB_VERDICT_DENY ? 0 : 1;
		if (fv) {
			pb_connect_fill(&fv->connect, &about, hook, verdict, reason);
			fv->hdr.type = PB_EV_CONNECT;
			fv->hdr.size = sizeof(fv->connect);
			fv->last = about.now ? about.now : bpf_ktime_get_boot_ns();
			fv->hdr.time = fv->last; /* written: the agent may read it */
		}
	}
	pb_report(&about, hook, verdict, reason);
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
