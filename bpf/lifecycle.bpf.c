// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process life cycle: keep one record per process from fork, exec and exit.
 * Fork copies what the parent holds, exec refreshes the executable that the
 * decision compares, and the exit of the last thread removes the record. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Tag a process with its identity at exec: the first identity of the policy
 * in force whose match fits the cgroup it execs in and the path it exec'd.
 * Two hash look-ups at most, no round trip to the agent. */
static __always_inline void pb_tag_exec(struct pb_proc *rec, struct linux_binprm *bprm)
{
	const struct pb_kpolicy *pol;
	__u64 cgm = 0, exm = 0, *v;
	__u32 gen = 0;

	rec->ident = 0;
	rec->tag_gen = 0;
	rec->exe_mask = 0;
	pol = pb_policy_now(&gen);
	if (!pol)
		return;
	rec->tag_gen = gen;
	if (!pol->nident)
		return;
	if (pol->need_cgroup) {
		struct pb_cgtag_key k = {.cgroup_id = rec->cgroup_id, .gen = gen};

		v = bpf_map_lookup_elem(&cgroup_tags, &k);
		if (v)
			cgm = *v;
	}
	if (pol->need_exe) {
		struct pb_exetag_key k = {.gen = gen};

		bpf_probe_read_kernel_str(k.path, sizeof(k.path), BPF_CORE_READ(bprm, filename));
		v = bpf_map_lookup_elem(&exe_tags, &k);
		if (v)
			exm = *v;
	}
	/* Kept so the agent can derive the tag again once it has matched a
	 * cgroup that appeared just before this exec. */
	rec->exe_mask = exm;
	rec->ident = pb_tag_derive(pol, cgm, exm);
	if (rec->ident)
		pb_count(PB_CNT_TAGGED);
}

/* A record's cgroup is live (PB_PROC_CGLIVE) from the hook that wrote it
 * on, unless the process moved meanwhile: a move that raced the write (the
 * move hook found the old record, or none) shows here as a cgroup that is no
 * longer the one written, and the record is not taken as live. A move after
 * this read finds the record and clears the flag itself. */
static __always_inline void pb_cgroup_recheck(struct task_struct *t, __u32 tgid, __u64 written)
{
	struct pb_proc *rec;

	if (pb_task_cgroup(t) == written)
		return;
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (rec)
		rec->flags &= ~PB_PROC_CGLIVE;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pb_track_fork, struct task_struct *parent, struct task_struct *child)
{
	struct pb_proc *rec, *prec;
	__u32 ptgid;
	int err;

	/* A new thread is the same process: its record already exists. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;

	rec = pb_proc_scratch(PB_SCRATCH_FORK);
	if (!rec)
		return 0;
	pb_proc_init(rec, child);
	/* The parent is the forking task, not whoever reaps the child later. */
	ptgid = BPF_CORE_READ(parent, tgid);
	rec->parent.tgid = ptgid;
	rec->parent.start_time = pb_task_start(parent);

	prec = bpf_map_lookup_elem(&procs, &ptgid);
	if (prec && pb_rec_is(prec, rec->parent.start_time) && prec->nheld) {
		/* Inheritance through fork: the child holds what the parent holds
		 * (open fds, memory). Whether it may use it is the decision's job. */
		for (int i = 0; i < PB_MAX_HELD; i++)
			rec->held[i] = prec->held[i];
		rec->nheld = prec->nheld;
		rec->flags = prec->flags & PB_PROC_OVERFLOW;
	}
	if (prec && pb_rec_is(prec, rec->parent.start_time)) {
		/* Fork copies the identity tag; exec re-derives it. */
		rec->ident = prec->ident;
		rec->tag_gen = prec->tag_gen;
		rec->exe_mask = prec->exe_mask;
	}

	/* Marked before it holds anything, even if its record cannot be
	 * made: the connect hooks then find it has none (untracked). */
	if (rec->nheld)
		pb_holding_set(rec->self.tgid);
	/* BPF_ANY: a new process is the truth about its PID, whatever a
	 * record left behind says. */
	rec->flags |= PB_PROC_CGLIVE;
	err = bpf_map_update_elem(&procs, &rec->self.tgid, rec, BPF_ANY);
	if (err) {
		pb_count(PB_CNT_PROCS_FULL);
		pb_anomaly(child, PB_AN_PROCS_FULL, rec->nheld, err);
		return 0;
	}
	pb_cgroup_recheck(child, rec->self.tgid, rec->cgroup_id);
	if (rec->nheld) {
		struct pb_cred_event *e;

		pb_count(PB_CNT_CRED_INHERITED);
		e = pb_event_reserve(sizeof(*e), PB_EV_INHERIT);
		if (!e)
			return 0;
		pb_task_ref_fill(&e->task, child, rec);
		e->cred_id = rec->held[0];
		e->nheld = rec->nheld;
		e->fd = -1;
		pb_event_submit(e);
	}
	return 0;
}

/* What process p (now the new image) exec'd, and its argv, for events that
 * name it after it has exited. */
static __always_inline void pb_name_exec(struct task_struct *p, __u32 tgid, __u64 start,
					 struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct pb_name *n = bpf_map_lookup_elem(&name_scratch, &zero);
	unsigned long as, ae;
	__u32 len;

	if (!n)
		return;
	n->start_time = start;
	n->_pad = 0;
	if (bpf_probe_read_kernel_str(n->exe, sizeof(n->exe), BPF_CORE_READ(bprm, filename)) < 0)
		n->exe[0] = 0;
	as = BPF_CORE_READ(p, mm, arg_start);
	ae = BPF_CORE_READ(p, mm, arg_end);
	len = ae > as ? ae - as : 0;
	if (len >= sizeof(n->args))
		len = sizeof(n->args) - 1;
	len &= sizeof(n->args) - 1; /* a bound the verifier sees (a power of two) */
	n->args_len = 0;
	if (len && !bpf_probe_read_user(n->args, len, (const void *)as))
		n->args_len = len;
	bpf_map_update_elem(&proc_names, &tgid, n, BPF_ANY);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pb_track_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct pb_proc_event *e;
	struct pb_proc *rec;
	__u64 old_dev, old_ino;

	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (!rec || !pb_rec_is_task(rec, p)) {
		struct pb_proc *fresh = pb_proc_scratch(PB_SCRATCH_EXEC);

		if (!fresh)
			return 0;
		if (rec)
			pb_count(PB_CNT_STALE_RECORD);
		pb_proc_init(fresh, p);
		pb_tag_exec(fresh, bprm);
		fresh->flags |= PB_PROC_CGLIVE;
		if (bpf_map_update_elem(&procs, &tgid, fresh, BPF_ANY)) {
			pb_count(PB_CNT_PROCS_FULL);
			pb_anomaly(p, PB_AN_PROCS_FULL, 0, -1);
			return 0;
		}
		pb_cgroup_recheck(p, tgid, fresh->cgroup_id);
		rec = bpf_map_lookup_elem(&procs, &tgid);
		if (!rec)
			return 0;
		old_dev = old_ino = 0;
		goto report;
	}

	/* Exec runs in the one thread left after de_thread(): no other writer
	 * of exe_* races this update. Held credentials stay held: the new image
	 * may have them in its environment or an inherited fd. */
	old_dev = rec->exe_dev;
	old_ino = rec->exe_ino;
	pb_task_exe(p, &rec->exe_dev, &rec->exe_ino);
	rec->ok_until = 0; /* an allow kept for the old image is not the new one's */
	rec->cgroup_id = pb_task_cgroup(p);
	rec->flags |= PB_PROC_CGLIVE;
	pb_cgroup_recheck(p, tgid, rec->cgroup_id);
	BPF_CORE_READ_STR_INTO(&rec->comm, p, comm);
	pb_tag_exec(rec, bprm);

report:
	pb_name_exec(p, tgid, rec->self.start_time, bprm);
	/* The audit trail follows processes that hold credentials or carry an
	 * identity: the ones a credential can be minted for. */
	if (!rec->nheld && !rec->ident)
		return 0;
	e = pb_event_reserve(sizeof(*e), PB_EV_EXEC);
	if (!e)
		return 0;
	pb_task_ref_fill(&e->task, p, rec);
	e->old_exe_dev = old_dev;
	e->old_exe_ino = old_ino;
	e->nheld = rec->nheld;
	e->exit_code = 0;
	e->ident = rec->ident;
	e->allow_repeats = 0;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	pb_event_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pb_track_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct pb_proc_event *e;
	struct pb_proc *rec;

	__u8 *hold;
	__u32 zero = 0, bound;

	/* do_exit() drops signal->live before this tracepoint: zero means this
	 * is the last thread of the process. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;

	/* The PID is free once the process is reaped: whoever gets it next
	 * starts holding nothing. */
	hold = pb_holding_byte(tgid);
	if (hold && *hold)
		*hold = 0;
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (!rec || !pb_rec_is_task(rec, p))
		return 0;
	bound = rec->flags & PB_PROC_BOUND;
	if (rec->nheld || rec->ident) {
		e = pb_event_reserve(sizeof(*e), PB_EV_EXIT);
		if (e) {
			pb_task_ref_fill(&e->task, p, rec);
			e->old_exe_dev = 0;
			e->old_exe_ino = 0;
			e->nheld = rec->nheld;
			e->exit_code = BPF_CORE_READ(p, exit_code);
			e->ident = rec->ident;
			e->allow_repeats = rec->allow_repeats;
			e->filename[0] = 0;
			pb_event_submit(e);
		}
	}
	bpf_map_delete_elem(&procs, &tgid);
	if (bound) {
		/* Its children's inherited credentials die with it: no allow
		 * kept for them may outlive it. Bumped after the record is
		 * gone: a child's connect that read the epoch before the bump
		 * and still found this record keeps its allow under the old
		 * epoch, which this bump ends; bumped before the delete, such
		 * an allow would be kept under the new one (up to a second). */
		struct pb_fast *fast = bpf_map_lookup_elem(&fastpath, &zero);

		if (fast)
			__sync_fetch_and_add(&fast->epoch, 1);
	}
	return 0;
}

/* A process moved to another cgroup (v2): its record's cgroup is no longer
 * live. The record keeps the cgroup it exec'd in (its identity tag is from
 * there); the file guard reads where it is now from /proc until its next
 * exec. Fired after the move, once for a whole process (its leader). */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(pb_track_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct pb_proc *rec;

	if (BPF_CORE_READ(dst, root, hierarchy_id) != 0)
		return 0;
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (rec && (rec->flags & PB_PROC_CGLIVE))
		rec->flags &= ~PB_PROC_CGLIVE;
	return 0;
}

/* New cgroups (new pods, new containers) are matched by the agent as they
 * appear; cgroup v1 hierarchies of a hybrid layout are not ours. */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(pb_track_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct pb_cgroup_event *e;

	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;
	e = pb_event_reserve(sizeof(*e), PB_EV_CGROUP);
	if (!e)
		return 0;
	e->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	e->level = BPF_CORE_READ(cgrp, level);
	e->_pad = 0;
	bpf_ringbuf_submit(e, 0); /* wake the agent: a pod is starting */
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(pb_track_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	struct pb_cgtag_key k = {};
	__u32 zero = 0;
	struct pb_config *cfg;

	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;
	cfg = bpf_map_lookup_elem(&agent_cfg, &zero);
	if (!cfg)
		return 0;
	k.cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	k.gen = cfg->gen;
	bpf_map_delete_elem(&cgroup_tags, &k);
	return 0;
}
