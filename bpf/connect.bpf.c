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

static __always_inline int pb_decide(struct bpf_sock_addr *ctx, __u8 hook, __u16 family)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, zero = 0, mode = PB_MODE_ENFORCE, n;
	enum pb_reason reason = PB_OK;
	struct pb_connect_event *e;
	const struct pb_cred *c = NULL;
	struct pb_subject s = {};
	struct task_struct *t;
	struct pb_config *cfg;
	struct pb_proc *rec;
	enum pb_verdict verdict;
	__u64 cred_id = 0, now;

	/* Fast path: a process that holds no credential costs one look-up. */
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (!rec) {
		pb_count(PB_CNT_NO_RECORD);
		return 1;
	}
	if (!rec->nheld) {
		pb_count(PB_CNT_NOCRED_CONNECT);
		return 1;
	}

	t = bpf_get_current_task_btf();
	s.tgid = tgid;
	s.start_time = pb_task_start(t);
	if (rec->start_time != s.start_time) {
		/* The record outlived its process and the hooks never saw this
		 * one: what it holds is not this process's. Counted, reported. */
		pb_count(PB_CNT_STALE_RECORD);
		pb_anomaly(t, PB_AN_STALE_RECORD, rec->start_time, 0);
		return 1;
	}
	s.cgroup_id = bpf_get_current_cgroup_id();
	s.exe_dev = rec->exe_dev;
	s.exe_ino = rec->exe_ino;
	s.parent_tgid = rec->parent_tgid;
	s.parent_start = rec->parent_start;

	cfg = bpf_map_lookup_elem(&agent_cfg, &zero);
	if (cfg)
		mode = cfg->mode;
	now = bpf_ktime_get_boot_ns();

	reason = pb_proc_reason(rec);
	n = rec->nheld;
	for (int i = 0; i < PB_MAX_HELD && reason == PB_OK; i++) {
		const struct pb_proc *owner = NULL;
		__u64 id;

		if (i >= n)
			break;
		id = rec->held[i];
		if (!id)
			continue; /* slot claimed, id not yet written */
		c = bpf_map_lookup_elem(&creds, &id);
		if (c && pb_is_inheriting_child(&s, c)) {
			__u32 otgid = c->tgid;

			owner = bpf_map_lookup_elem(&procs, &otgid);
		}
		reason = pb_cred_reason(&s, c, owner, now);
		cred_id = id;
	}

	verdict = pb_verdict_for(reason, mode);
	pb_count(PB_COUNTER_VERDICT(verdict, reason));

	/* Allowed connects are many: a process that connects again to the
	 * destination of its last allow event is counted, not reported.
	 * Denials and monitor verdicts are always reported. */
	if (verdict == PB_VERDICT_ALLOW) {
		__u64 dig = pb_dest_digest(ctx, hook, family);

		if (rec->last_allow == dig) {
			pb_count(PB_CNT_ALLOW_REPEAT);
			return 1;
		}
		rec->last_allow = dig;
	}

	e = pb_event_reserve(sizeof(*e), PB_EV_CONNECT);
	if (e) {
		pb_task_ref_fill(&e->task, t, rec);
		e->task.cgroup_id = s.cgroup_id;
		if (c && reason != PB_OK) {
			e->owner.tgid = c->tgid;
			e->owner.start_time = c->start_time;
			e->owner.cgroup_id = c->cgroup_id;
			e->owner.exe_dev = c->exe_dev;
			e->owner.exe_ino = c->exe_ino;
		} else {
			__builtin_memset(&e->owner, 0, sizeof(e->owner));
		}
		e->cred_id = cred_id;
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		if (family == AF_INET) {
			__u32 a = ctx->user_ip4;

			__builtin_memcpy(e->daddr, &a, 4);
		} else {
			/* ctx fields must be read at constant offsets. */
			__u32 w[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
				      ctx->user_ip6[3]};

			__builtin_memcpy(e->daddr, w, sizeof(w));
		}
		e->dport = bpf_ntohs((__u16)ctx->user_port);
		e->family = family;
		e->protocol = ctx->protocol;
		e->hook = hook;
		e->verdict = verdict;
		e->reason = reason;
		e->mode = mode;
		e->nheld = n;
		pb_event_submit(e);
	}
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
