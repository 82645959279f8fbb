// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Refusal in the kernel, where it runs BPF-LSM. These programs judge with
 * pb_cred_reason, the rule the connect hooks and the file guard use, and they
 * keep refusing while no agent (and no guard) runs:
 *  - file_open: a process not entitled to a credential cannot open its file;
 *  - file_receive: nor receive a descriptor of it (SCM_RIGHTS, pidfd_getfd),
 *    which the file guard cannot see before the first read;
 *  - mmap_file: nor map it (page faults are no read the guard sees);
 *  - ptrace_access_check: no other process may attach to a bound process
 *    (ptrace, /proc/PID/mem, process_vm_readv, pidfd_getfd all ask for
 *    PTRACE_MODE_ATTACH), so its memory and descriptors stay its own.
 * The agent loads them only where the probe found BPF-LSM active. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM		   1
#define PTRACE_MODE_ATTACH 0x02

/* The file guard opens each file it is asked about (the descriptor that
 * comes with a fanotify event); that open must not be refused. */
static __always_inline int pb_is_guard_slot(const struct pb_pkey *self, __u32 slot)
{
	struct pb_guard_state *g = bpf_map_lookup_elem(&guard_state, &slot);

	return g && g->guard.tgid == self->tgid &&
	       g->guard.start_time == self->start_time - self->start_time % PB_TICK_NS;
}

static __always_inline int pb_is_guard(const struct pb_pkey *self)
{
	return pb_is_guard_slot(self, PB_GUARD_NOW) || pb_is_guard_slot(self, PB_GUARD_PREV);
}

/* Report and decide one access by the current task. id is the credential;
 * for ptrace, the one the target is bound by (0: any). */
static __always_inline int pb_lsm_refuse(struct task_struct *t, struct pb_proc *rec,
					 const struct pb_cred *c, __u64 id, enum pb_reason reason,
					 __u8 access)
{
	const struct pb_kpolicy *pol;
	struct pb_file_event *e;
	enum pb_verdict verdict;
	__u32 mode = PB_MODE_ENFORCE, gen = 0;

	pol = pb_policy_now(&gen);
	if (pol)
		mode = pol->mode;
	verdict = pb_verdict_for(reason, mode);
	pb_count(PB_CNT_OPEN_REFUSED);
	e = pb_event_reserve(sizeof(*e), PB_EV_FILE);
	if (e) {
		pb_task_ref_fill(&e->task, t, rec);
		pb_owner_ref_of(&e->owner, c);
		e->cred_id = id;
		e->verdict = verdict;
		e->reason = reason;
		e->access = access;
		e->source = PB_SRC_LSM;
		e->mode = mode;
		e->nheld = rec ? rec->nheld : 0;
		e->_pad = 0;
		pb_event_submit(e);
	}
	return verdict == PB_VERDICT_DENY ? -EPERM : 0;
}

/* Is the current task entitled to the credential whose token file is file?
 * Returns 0 (not a credential file, or entitled) or the LSM's answer. */
static __always_inline int pb_lsm_file(struct file *file, __u8 access)
{
	const struct pb_proc *owner = NULL;
	struct task_struct *t, *parent;
	struct pb_file_key key;
	const struct pb_cred *c;
	struct pb_subject s = {};
	enum pb_reason reason;
	struct pb_proc *rec;
	__u64 *idp, id;

	if (!file)
		return 0;
	/* Every open on the node passes here: one hash look-up for all but
	 * credential files. */
	key.ino = BPF_CORE_READ(file, f_inode, i_ino);
	key.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	idp = bpf_map_lookup_elem(&cred_files, &key);
	if (!idp)
		return 0;
	id = *idp;

	t = pb_current();
	s.self.tgid = BPF_CORE_READ(t, tgid);
	s.self.start_time = pb_task_start(t);
	if (pb_is_guard(&s.self))
		return 0; /* the file guard's own descriptor of the event */
	s.cgroup_id = bpf_get_current_cgroup_id();
	pb_task_exe(t, &s.exe_dev, &s.exe_ino);
	/* The parent that forked it (its record), else the live one. */
	rec = bpf_map_lookup_elem(&procs, &s.self.tgid);
	if (rec && pb_rec_is_task(rec, t)) {
		s.parent = rec->parent;
	} else {
		rec = NULL;
		parent = BPF_CORE_READ(t, group_leader, real_parent);
		s.parent.tgid = BPF_CORE_READ(parent, tgid);
		s.parent.start_time = pb_task_start(parent);
	}
	c = bpf_map_lookup_elem(&creds, &id);
	if (c && pb_is_inheriting_child(&s, c)) {
		__u32 otgid = c->owner.tgid;

		owner = bpf_map_lookup_elem(&procs, &otgid);
	}
	reason = pb_cred_reason(&s, c, owner, bpf_ktime_get_boot_ns());
	if (reason == PB_OK) {
		pb_count(PB_CNT_OPEN_ALLOWED);
		return 0;
	}
	return pb_lsm_refuse(t, rec, c, id, reason, access);
}

SEC("lsm/file_open")
int BPF_PROG(pb_guard_file_open, struct file *file, int ret)
{
	if (ret)
		return ret; /* an earlier LSM refused already */
	return pb_lsm_file(file, PB_ACC_OPEN);
}

SEC("lsm/file_receive")
int BPF_PROG(pb_guard_file_receive, struct file *file, int ret)
{
	if (ret)
		return ret;
	return pb_lsm_file(file, PB_ACC_RECEIVE);
}

SEC("lsm/mmap_file")
int BPF_PROG(pb_guard_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return ret;
	return pb_lsm_file(file, PB_ACC_MMAP);
}

/* Attach-mode access to a bound process by any other process. A bound
 * process's record carries PB_PROC_BOUND from its first mint until it exits
 * (a PID reuse is a new record without it). */
SEC("lsm/ptrace_access_check")
int BPF_PROG(pb_guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	struct task_struct *t;
	struct pb_proc *target;
	__u32 ctgid;

	if (ret)
		return ret;
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	ctgid = BPF_CORE_READ(child, tgid);
	target = bpf_map_lookup_elem(&procs, &ctgid);
	if (!target || !(target->flags & PB_PROC_BOUND) ||
	    target->self.start_time != pb_task_start(child))
		return 0;
	t = pb_current();
	if (BPF_CORE_READ(t, tgid) == ctgid)
		return 0;
	{
		struct pb_cred bound = {.owner = target->self,
					.cgroup_id = target->cgroup_id,
					.exe_dev = target->exe_dev,
					.exe_ino = target->exe_ino};
		__u32 tgid = BPF_CORE_READ(t, tgid);
		struct pb_proc *rec = bpf_map_lookup_elem(&procs, &tgid);

		if (rec && !pb_rec_is_task(rec, t))
			rec = NULL;
		/* Named by a credential it holds (a bound process holds what it
		 * was minted from the mint on). */
		return pb_lsm_refuse(t, rec, &bound, target->nheld ? target->held[0] : 0,
				     pb_task_cgroup(t) == target->cgroup_id ? PB_R_FOREIGN_PID
									    : PB_R_FOREIGN_CGROUP,
				     PB_ACC_PTRACE);
	}
}
