/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every procbind BPF program shares: the maps, the counters and the
 * helpers that read a task. The maps are __weak so that each .bpf.c file can
 * see them and `bpftool gen object` links them into one object. */
#ifndef PROCBIND_BPF_H
#define PROCBIND_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "procbind/abi.h"
#include "procbind/decision.h"

#define PF_KTHREAD 0x00200000

/* Sizes of procs and creds are set by the agent between open and load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PB_DEFAULT_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pb_proc);
} procs SEC(".maps") __weak;

/* Refusals folded at their source (abi.h, map "refusals"). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_FOLD_MAX);
	__type(key, struct pb_fold_key);
	__type(value, struct pb_fold);
} refusals SEC(".maps") __weak;

/* Each process's events under ring buffer pressure (abi.h, PB_FAIR_BUDGET). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PB_BUDGET_PROCS);
	__type(key, struct pb_pkey);
	__type(value, struct pb_budget);
} budget SEC(".maps") __weak;

/* The series of processes past their fair share (abi.h, PB_FOLD_ANY). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_FOLD_ANY_MAX);
	__type(key, struct pb_fold_key);
	__type(value, struct pb_fold);
} refusals_any SEC(".maps") __weak;

/* The agent's: how much of each entry's count it has written (of both). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_FOLD_MAX + PB_FOLD_ANY_MAX);
	__type(key, struct pb_fold_key);
	__type(value, __u64);
} refusals_seen SEC(".maps") __weak;

/* A record being made (fork, exec, an open of a token), too large for the
 * BPF stack: one per CPU for each hook that makes one. The hooks run with
 * preemption off and a program never nests with itself on a CPU. */
enum { PB_SCRATCH_FORK, PB_SCRATCH_EXEC, PB_SCRATCH_OPEN, PB_SCRATCH_MAX };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PB_SCRATCH_MAX);
	__type(key, __u32);
	__type(value, struct pb_proc);
} proc_scratch SEC(".maps") __weak;

/* slot's scratch record, zeroed; NULL only if the map is missing */
static __always_inline struct pb_proc *pb_proc_scratch(__u32 slot)
{
	struct pb_proc *r = bpf_map_lookup_elem(&proc_scratch, &slot);

	if (r)
		__builtin_memset(r, 0, sizeof(*r));
	return r;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_DEFAULT_MAX_CREDS);
	__type(key, __u64);
	__type(value, struct pb_cred);
} creds SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_DEFAULT_MAX_CREDS);
	__type(key, struct pb_file_key);
	__type(value, __u64);
} cred_files SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pb_config);
} agent_cfg SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pb_fast);
} fastpath SEC(".maps") __weak;

/* Sized by the agent from kernel.pid_max (abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, (PB_DEFAULT_MAX_PROCS + 7) / PB_HOLDING_PER_ELEM);
	__type(key, __u32);
	__type(value, __u64);
} holding SEC(".maps") __weak;

/* Adopted files (policy "adopt"), written by the agent as it binds each
 * container: the protect rules of a container's cgroup, and the volumes
 * whose new inodes the guard registers (user space only). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PB_MAX_ADOPTED);
	__type(key, __u64);
	__type(value, struct pb_adopt_cg);
} adopt_cg SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PB_MAX_ADOPTED);
	__type(key, struct pb_adopt_file_key);
	__type(value, __u64);
} adopt_files SEC(".maps") __weak;

/* Policy maps, all keyed by generation (see struct pb_config). NO_PREALLOC:
 * an element the agent deletes is freed after an RCU grace period, so a hook
 * still reading the previous generation never sees it reused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct pb_kpolicy);
} policies SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4 * PB_MAX_IDENTITIES);
	__type(key, struct pb_scope_key);
	__type(value, struct pb_scope);
} scopes SEC(".maps") __weak;

/* Approvals for gated destinations (abi.h, struct pb_approval). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PB_MAX_APPROVALS);
	__type(key, struct pb_approval_key);
	__type(value, struct pb_approval);
} approvals SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PB_DEFAULT_MAX_CGROUP_TAGS);
	__type(key, struct pb_cgtag_key);
	__type(value, __u64);
} cgroup_tags SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4 * PB_MAX_IDENTITIES * PB_MAX_EXES);
	__type(key, struct pb_exetag_key);
	__type(value, __u64);
} exe_tags SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PB_RINGBUF_BYTES);
} events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PB_NAMES_MAX);
	__type(key, __u32);
	__type(value, struct pb_name);
} proc_names SEC(".maps") __weak;

/* one pb_name per CPU to build in (too large for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pb_name);
} name_scratch SEC(".maps") __weak;

/* The file guard's (a user-space process's) side: no program uses these.
 * Its events wait in a pinned queue, so the ones it makes while no agent
 * runs reach the next agent; its state names it for that agent. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, PB_GUARD_QUEUE);
	__type(value, struct pb_file_event);
} guard_events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PB_GUARD_SLOTS);
	__type(key, __u32);
	__type(value, struct pb_guard_state);
} guard_state SEC(".maps") __weak;

static __always_inline void pb_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1; /* per-CPU: no other writer */
}

/* A refusal of the current process, key's: 1 when it repeats one already
 * reported (counted, not to be reported again); else 0, and *fill is the
 * new entry to copy the whole event into (NULL: the map is full, or
 * another thread made the entry first; report it whole either way). */
#define PB_E2BIG  7 /* errno values (vmlinux.h has no macros) */
#define PB_ENOMEM 12
static const struct pb_fold pb_fold_zero;
static __always_inline int pb_fold_refusal(const struct pb_fold_key *key, struct pb_fold **fill)
{
	void *map = key->what == PB_FOLD_ANY ? (void *)&refusals_any : (void *)&refusals;
	struct pb_fold *v = bpf_map_lookup_elem(map, key);
	long err;

	*fill = NULL;
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		v->last = bpf_ktime_get_boot_ns();
		pb_count(key->what == PB_FOLD_ANY ? PB_CNT_BUDGET_FOLDED : PB_CNT_REFUSALS_FOLDED);
		return 1;
	}
	err = bpf_map_update_elem(map, key, &pb_fold_zero, BPF_NOEXIST);
	if (err == -PB_E2BIG || err == -PB_ENOMEM)
		pb_count(PB_CNT_FOLD_FULL);
	if (!err)
		*fill = bpf_map_lookup_elem(map, key);
	return 0;
}

/* Is the ring buffer more than half full: are the processes that send
 * most to be held to their fair share (abi.h, PB_FAIR_BUDGET)? */
static __always_inline int pb_ring_pressed(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= PB_RINGBUF_BYTES / 2;
}

/* Under that pressure, one more event of process p: is it past its share? */
static __always_inline int pb_budget_spent(const struct pb_pkey *p)
{
	__u64 window = bpf_ktime_get_boot_ns() >> PB_BUDGET_WINDOW_SHIFT;
	struct pb_budget *b, first = {.window = window, .sent = 1};

	b = bpf_map_lookup_elem(&budget, p);
	if (!b) {
		bpf_map_update_elem(&budget, p, &first, BPF_ANY);
		return 0;
	}
	if (b->window != window) {
		b->window = window;
		b->sent = 0;
	}
	/* threads of p may race here: the count is a little low, never
	 * the decision (5.10 has no fetch-and-add whose result is used) */
	b->sent++;
	return b->sent > PB_FAIR_BUDGET;
}

/* Reserve an event, counting the loss when the ring buffer is full. */
/* An event of this type and size stamped with time (boot ns; 0: now). */
static __always_inline void *pb_event_reserve_at(__u32 size, __u16 type, __u64 time)
{
	struct pb_event_hdr *h = bpf_ringbuf_reserve(&events, size, 0);

	if (!h) {
		pb_count(PB_CNT_EVENTS_LOST);
		return NULL;
	}
	pb_count(PB_CNT_EVENTS_SENT); /* every reserved event is submitted */
	h->type = type;
	h->size = size;
	h->cpu = bpf_get_smp_processor_id();
	h->time = time ? time : bpf_ktime_get_boot_ns();
	return h;
}

static __always_inline void *pb_event_reserve(__u32 size, __u16 type)
{
	return pb_event_reserve_at(size, type, 0);
}

/* The agent drains on a timer, so most events need not wake it: a wake-up
 * per connect would cost more than the decision (measured: 2.5 us against
 * 0.4 us per holder connect, tools/bench_cost.sh). In a burst, wake it
 * each time the fill crosses an eighth of the buffer: a few wake-ups per
 * buffer, and the agent is always told long before the buffer is full. */
#define PB_RB_WAKE_STEP (PB_RINGBUF_BYTES / 8)

static __always_inline void pb_event_submit(void *ev)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = ((struct pb_event_hdr *)ev)->size;
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (avail >= size && avail / PB_RB_WAKE_STEP != (avail - size) / PB_RB_WAKE_STEP)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
}

/* The running task. bpf_get_current_task_btf() needs 5.11 (and is refused in
 * some program types before 6.x); every read of a task goes through
 * BPF_CORE_READ anyway, so the untyped helper serves every kernel alike. */
static __always_inline struct task_struct *pb_current(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* A process's start time: its group leader's start_boottime, so every thread
 * of a process gives the same value, on every path. */
static __always_inline __u64 pb_task_start(struct task_struct *t)
{
	return BPF_CORE_READ(t, group_leader, start_boottime);
}

/* Is rec the record of the process that started at start? A record seeded
 * from /proc (PB_PROC_COARSE) knows its start only to the USER_HZ tick: the
 * first hook that sees the process with a start in that tick settles it to
 * the nanosecond, so every later comparison is exact again. */
static __always_inline bool pb_rec_is(struct pb_proc *rec, __u64 start)
{
	if (rec->self.start_time == start)
		return true;
	if (!(rec->flags & PB_PROC_COARSE) || rec->self.start_time != start - start % PB_TICK_NS)
		return false;
	rec->self.start_time = start;
	rec->flags &= ~PB_PROC_COARSE;
	return true;
}

/* pb_rec_is for the record of task t (any of its threads), which also
 * settles the start time of the parent the record names, when that parent
 * is still t's parent. */
static __always_inline bool pb_rec_is_task(struct pb_proc *rec, struct task_struct *t)
{
	struct task_struct *parent;
	__u64 pstart;

	if (!(rec->flags & PB_PROC_COARSE))
		return rec->self.start_time == pb_task_start(t);
	if (!pb_rec_is(rec, pb_task_start(t)))
		return false;
	parent = BPF_CORE_READ(t, group_leader, real_parent);
	pstart = pb_task_start(parent);
	if (BPF_CORE_READ(parent, tgid) == rec->parent.tgid &&
	    rec->parent.start_time == pstart - pstart % PB_TICK_NS)
		rec->parent.start_time = pstart;
	return true;
}

static __always_inline __u64 pb_task_cgroup(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

static __always_inline void pb_task_exe(struct task_struct *t, __u64 *dev, __u64 *ino)
{
	struct inode *inode = BPF_CORE_READ(t, mm, exe_file, f_inode);

	*dev = inode ? BPF_CORE_READ(inode, i_sb, s_dev) : 0;
	*ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
}

/* The policy generation in force, or NULL (counted) when it is missing. */
/* pb_judge_cred's look-up of an owner's record (decision.h, pb_owner_fn). */
static __always_inline const struct pb_proc *pb_owner_record(void *ctx, __u32 tgid)
{
	(void)ctx;
	return bpf_map_lookup_elem(&procs, &tgid);
}

static __always_inline const struct pb_kpolicy *pb_policy_now(__u32 *gen)
{
	struct pb_config *cfg;
	const struct pb_kpolicy *pol;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&agent_cfg, &zero);
	if (!cfg)
		return NULL;
	*gen = cfg->gen;
	pol = bpf_map_lookup_elem(&policies, gen);
	if (!pol)
		pb_count(PB_CNT_NO_POLICY);
	return pol;
}

/* The byte of map "holding" for tgid, or NULL past the end. */
static __always_inline __u8 *pb_holding_byte(__u32 tgid)
{
	__u32 k = tgid / PB_HOLDING_PER_ELEM;
	__u8 *v = bpf_map_lookup_elem(&holding, &k);

	return v ? v + (tgid & (PB_HOLDING_PER_ELEM - 1)) : NULL;
}

/* Mark tgid as a process that may hold a credential, before it holds one:
 * the connect hooks then look its record up. */
static __always_inline void pb_holding_set(__u32 tgid)
{
	__u8 *b = pb_holding_byte(tgid);

	if (b && !*b)
		*b = 1;
}

/* Fill a fresh record describing task t (no credentials held). */
static __always_inline void pb_proc_init(struct pb_proc *p, struct task_struct *t)
{
	struct task_struct *parent = BPF_CORE_READ(t, real_parent);

	p->self.tgid = BPF_CORE_READ(t, tgid);
	p->self.start_time = pb_task_start(t);
	p->cgroup_id = pb_task_cgroup(t);
	pb_task_exe(t, &p->exe_dev, &p->exe_ino);
	p->uid = BPF_CORE_READ(t, cred, euid.val);
	p->parent.tgid = BPF_CORE_READ(parent, tgid);
	p->parent.start_time = pb_task_start(parent);
	BPF_CORE_READ_STR_INTO(&p->comm, t, comm);
}

/* A task reference's executable and parent: from its record p when there
 * is one, else read from t. */
static __always_inline void pb_task_ref_exe(struct pb_task_ref *r, struct task_struct *t,
					    const struct pb_proc *p)
{
	if (p) {
		r->exe_dev = p->exe_dev;
		r->exe_ino = p->exe_ino;
		r->ppid = p->parent.tgid;
	} else {
		pb_task_exe(t, &r->exe_dev, &r->exe_ino);
		r->ppid = BPF_CORE_READ(t, real_parent, tgid);
	}
}

/* The event's view of a process: live identity of t plus its record. */
static __always_inline void pb_task_ref_fill(struct pb_task_ref *r, struct task_struct *t,
					     const struct pb_proc *p)
{
	r->proc.tgid = BPF_CORE_READ(t, tgid);
	r->proc._pad = r->_pad = 0; /* ring buffer memory is not zeroed */
	r->pid = BPF_CORE_READ(t, pid);
	r->proc.start_time = pb_task_start(t);
	r->cgroup_id = pb_task_cgroup(t);
	r->uid = BPF_CORE_READ(t, cred, euid.val);
	BPF_CORE_READ_STR_INTO(&r->comm, t, comm);
	pb_task_ref_exe(r, t, p);
}

/* pb_task_ref_fill for the current task, whose start time (pb_task_start)
 * and cgroup the caller has already read: the helpers give its tgid and
 * PID, so only its uid and name are read from the task. */
static __always_inline void pb_task_ref_current(struct pb_task_ref *r, const struct pb_proc *p,
						__u64 start, __u64 cgroup_id)
{
	struct task_struct *t = pb_current();
	__u64 id = bpf_get_current_pid_tgid();

	r->proc.tgid = id >> 32;
	r->proc._pad = r->_pad = 0; /* ring buffer memory is not zeroed */
	r->pid = (__u32)id;
	r->proc.start_time = start;
	r->cgroup_id = cgroup_id;
	r->uid = BPF_CORE_READ(t, cred, euid.val);
	BPF_CORE_READ_STR_INTO(&r->comm, t, comm);
	pb_task_ref_exe(r, t, p);
}

static __always_inline void pb_anomaly(struct task_struct *t, __u32 kind, __u64 arg, int err)
{
	struct pb_anomaly_event *e = pb_event_reserve(sizeof(*e), PB_EV_ANOMALY);

	if (!e)
		return;
	pb_task_ref_fill(&e->task, t, NULL);
	e->kind = kind;
	e->arg = arg;
	e->err = err;
	bpf_ringbuf_submit(e, 0); /* anomalies are rare and worth a wake-up */
}

#endif /* PROCBIND_BPF_H */
