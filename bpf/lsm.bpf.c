// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Refusal in the kernel, where it runs BPF-LSM. These programs judge with
 * pb_judge_cred, the rule the connect hooks and the file guard use, and they
 * keep refusing while no agent (and no guard) runs:
 *  - file_open: a process not entitled to a credential cannot open its file;
 *  - file_receive: nor receive a descriptor of it (SCM_RIGHTS, pidfd_getfd),
 *    which the file guard cannot see before the first read;
 *  - mmap_file: nor map it (page faults are no read the guard sees);
 *  - ptrace_access_check: no other process may attach to a bound process
 *    (ptrace, /proc/PID/mem, process_vm_readv, pidfd_getfd all ask for
 *    PTRACE_MODE_ATTACH), so its memory and descriptors stay its own; nor
 *    read it in /proc (environ, maps, fd: read mode), but the node's
 *    CAP_SYS_ADMIN processes;
 *  - task_setrlimit, task_kill: nor raise its limits or send it a signal
 *    that dumps core (a core file of it holds its token);
 *  - path_notify: nor put a fanotify or inotify mark on a token file.
 * Procbind's own processes (the guard, the agent) are let through.
 * The agent loads them only where the probe found BPF-LSM active. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM		    1
#define PTRACE_MODE_READ    0x01
#define PTRACE_MODE_ATTACH  0x02
#define PTRACE_MODE_NOAUDIT 0x04
#define RLIMIT_CORE	    4
#define CAP_SYS_ADMIN	    21
/* SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGSEGV SIGXCPU SIGXFSZ SIGSYS:
 * the signals whose default action dumps core */
#define PB_CORE_SIGNALS                                                                            \
	((1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 11) |      \
	 (1u << 24) | (1u << 25) | (1u << 31))

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

/* The guard or the agent (which marks the files for the guard's group and
 * reads bound processes in /proc). */
static __always_inline int pb_is_procbind(const struct pb_pkey *self)
{
	return pb_is_guard(self) || pb_is_guard_slot(self, PB_GUARD_AGENT);
}

static __always_inline struct pb_pkey pb_self_of(struct task_struct *t)
{
	struct pb_pkey self = {.tgid = BPF_CORE_READ(t, tgid)};

	self.start_time = pb_task_start(t);
	return self;
}

/* CAP_SYS_ADMIN in the initial user namespace: the node's container runtime
 * and kubelet, which join a pod's namespaces through /proc/PID/ns (a read-mode
 * check). Such a process can load BPF programs and unload these: it is out of
 * procbind's reach by any rule. */
static __always_inline int pb_node_admin(struct task_struct *t)
{
	const struct cred *cr = BPF_CORE_READ(t, cred);
	__u32 caps = 0;

	if (BPF_CORE_READ(cr, user_ns, level) != 0)
		return 0;
	/* the low word of kernel_cap_t, whether it is u32[2] (before 6.3) or
	 * u64 */
	bpf_probe_read_kernel(&caps, sizeof(caps), &cr->cap_effective);
	return (caps >> CAP_SYS_ADMIN) & 1;
}

/* Target task p's record when p is a bound process (its own record, marked
 * PB_PROC_BOUND from its first mint until it exits); NULL otherwise. */
static __always_inline struct pb_proc *pb_bound_target(struct task_struct *p, __u32 *tgid)
{
	struct pb_proc *target;

	*tgid = BPF_CORE_READ(p, tgid);
	target = bpf_map_lookup_elem(&procs, tgid);
	if (!target || !(target->flags & PB_PROC_BOUND) ||
	    target->self.start_time != pb_task_start(p))
		return NULL;
	return target;
}

/* The event of a refusal (or a monitor verdict) by the LSM programs. */
static __always_inline void pb_lsm_fill(struct pb_file_event *e, struct task_struct *t,
					struct pb_proc *rec, const struct pb_cred *c, __u64 id,
					enum pb_verdict verdict, enum pb_reason reason, __u8 access,
					__u32 mode)
{
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
}

/* Report and decide one access by the current task. id is the credential;
 * for ptrace, the one the target is bound by (0: any). */
static __always_inline int pb_lsm_refuse_as(struct task_struct *t, struct pb_proc *rec,
					    const struct pb_cred *c, __u64 id,
					    enum pb_reason reason, __u8 access, int report)
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
	/* A refusal repeated (same process, credential, reason and access)
	 * is counted in map "refusals", not reported; so is every refusal of
	 * a process past its fair share of the ring buffer (connect.bpf.c). */
	if (report && verdict == PB_VERDICT_DENY) {
		struct pb_fold_key fk = {};
		struct pb_fold *fv;

		fk.proc.tgid = BPF_CORE_READ(t, tgid);
		fk.proc.start_time = pb_task_start(t);
		fk.what = pb_ring_pressed() && pb_budget_spent(&fk.proc) ? PB_FOLD_ANY : id;
		fk.kind = PB_FOLD_LSM;
		fk.reason = reason;
		fk.access = access;
		if (pb_fold_refusal(&fk, &fv))
			return -EPERM;
		if (fv) {
			pb_lsm_fill(&fv->file, t, rec, c, id, verdict, reason, access, mode);
			fv->hdr.type = PB_EV_FILE;
			fv->hdr.size = sizeof(fv->file);
			fv->last = bpf_ktime_get_boot_ns();
			fv->hdr.time = fv->last; /* written: the agent may read it */
		}
	}
	e = report ? pb_event_reserve(sizeof(*e), PB_EV_FILE) : NULL;
	if (e) {
		pb_lsm_fill(e, t, rec, c, id, verdict, reason, access, mode);
		pb_event_submit(e);
	}
	return verdict == PB_VERDICT_DENY ? -EPERM : 0;
}

static __always_inline int pb_lsm_refuse(struct task_struct *t, struct pb_proc *rec,
					 const struct pb_cred *c, __u64 id, enum pb_reason reason,
					 __u8 access)
{
	return pb_lsm_refuse_as(t, rec, c, id, reason, access, 1);
}

/* Is the current task entitled to the credential whose token file is file?
 * Returns 0 (not a credential file, or entitled) or the LSM's answer. */
static __always_inline int pb_lsm_file(struct file *file, __u8 access)
{
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
	reason = pb_judge_cred(&s, c, pb_owner_record, 0, bpf_ktime_get_boot_ns());
	if (access == PB_ACC_RECEIVE)
		reason = pb_receive_reason(reason);
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

/* Another process's access to bound process target: refused (in enforce
 * mode) and reported once, named by a credential the target holds (a bound
 * process holds what it was minted from the mint on). report 0: counted
 * only (checks the kernel makes just to decide what to show, such as ps's
 * view of /proc/PID/stat). */
static __always_inline int pb_process_refuse(struct task_struct *t, const struct pb_proc *target,
					     __u8 access, int report)
{
	struct pb_cred bound = {.owner = target->self,
				.cgroup_id = target->cgroup_id,
				.exe_dev = target->exe_dev,
				.exe_ino = target->exe_ino};
	__u32 tgid = BPF_CORE_READ(t, tgid);
	struct pb_proc *rec = bpf_map_lookup_elem(&procs, &tgid);

	if (rec && !pb_rec_is_task(rec, t))
		rec = NULL;
	return pb_lsm_refuse_as(t, rec, &bound, target->nheld ? target->held[0] : 0,
				pb_task_cgroup(t) == target->cgroup_id ? PB_R_FOREIGN_PID
								       : PB_R_FOREIGN_CGROUP,
				access, report);
}

/* Another process's access to a bound process (PB_PROC_BOUND from its first
 * mint until it exits; a PID reuse is a new record without it): NULL when
 * p is not bound, or the current task is p's own process or procbind's. */
static __always_inline struct pb_proc *pb_foreign_access(struct task_struct *p,
							 struct task_struct **t)
{
	struct pb_proc *target;
	struct pb_pkey self;
	__u32 ptgid;

	target = pb_bound_target(p, &ptgid);
	if (!target)
		return NULL;
	*t = pb_current();
	self = pb_self_of(*t);
	if (self.tgid == ptgid || pb_is_procbind(&self))
		return NULL;
	return target;
}

/* ptrace_may_access on a bound process by any other process. Attach mode
 * (ptrace, /proc/PID/mem, process_vm_readv, pidfd_getfd) is refused to all;
 * read mode (/proc/PID/environ, maps, fd, stack, ...) to all but the node's
 * CAP_SYS_ADMIN processes (pb_node_admin). */
SEC("lsm/ptrace_access_check")
int BPF_PROG(pb_guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	struct task_struct *t = NULL;
	struct pb_proc *target;
	int attach = mode & PTRACE_MODE_ATTACH;

	if (ret)
		return ret;
	if (!(mode & (PTRACE_MODE_ATTACH | PTRACE_MODE_READ)))
		return 0;
	target = pb_foreign_access(child, &t);
	if (!target || !t)
		return 0;
	if (!attach && pb_node_admin(t))
		return 0;
	return pb_process_refuse(t, target, attach ? PB_ACC_PTRACE : PB_ACC_PROC_READ,
				 attach || !(mode & PTRACE_MODE_NOAUDIT));
}

/* prlimit on a bound process by another process: refused, but for lowering
 * its core limit (what the agent does at the mint). Raising it would let a
 * core dump write the token where the sibling can read it; lowering another
 * limit (RLIMIT_CPU, RLIMIT_FSIZE) would make the kernel send it a
 * core-dumping signal. */
SEC("lsm/task_setrlimit")
int BPF_PROG(pb_guard_setrlimit, struct task_struct *p, unsigned int resource,
	     struct rlimit *new_rlim, int ret)
{
	struct task_struct *t = NULL;
	struct pb_proc *target;

	if (ret)
		return ret;
	target = pb_foreign_access(p, &t);
	if (!target || !t)
		return 0;
	if (resource == RLIMIT_CORE) {
		struct rlimit old = {}, nw = {};
		struct signal_struct *sig = BPF_CORE_READ(p, signal);

		bpf_probe_read_kernel(&old, sizeof(old), &sig->rlim[RLIMIT_CORE]);
		bpf_probe_read_kernel(&nw, sizeof(nw), new_rlim);
		if (nw.rlim_cur <= old.rlim_cur && nw.rlim_max <= old.rlim_max)
			return 0;
	}
	return pb_process_refuse(t, target, PB_ACC_RLIMIT, 1);
}

/* A core-dumping signal sent to a bound process by another process (kill,
 * tgkill, pidfd_send_signal, sigqueue): refused. SIGTERM, SIGKILL and the
 * rest go through, and so does what the kernel itself raises (a fault). */
SEC("lsm/task_kill")
int BPF_PROG(pb_guard_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct task_struct *t = NULL;
	struct pb_proc *target;

	if (ret)
		return ret;
	if (sig <= 0 || sig > 31 || !((PB_CORE_SIGNALS >> sig) & 1))
		return 0;
	target = pb_foreign_access(p, &t);
	if (!target || !t)
		return 0;
	return pb_process_refuse(t, target, PB_ACC_SIGNAL, 1);
}

/* A fanotify, inotify or dnotify mark on a credential's file by any process
 * but procbind's: refused, so no other group gets a descriptor of it with
 * an event. (A mark on a directory or a whole mount or filesystem still
 * goes on; the descriptor its events would carry is an open lsm/file_open
 * judges.) */
SEC("lsm/path_notify")
int BPF_PROG(pb_guard_notify, const struct path *path, __u64 mask, unsigned int obj_type, int ret)
{
	struct task_struct *t;
	struct pb_file_key key;
	struct pb_pkey self;
	const struct pb_cred *c;
	struct pb_proc *rec;
	__u64 *idp, id;
	__u32 tgid;

	if (ret)
		return ret;
	key.ino = BPF_CORE_READ(path, dentry, d_inode, i_ino);
	key.dev = BPF_CORE_READ(path, dentry, d_inode, i_sb, s_dev);
	idp = bpf_map_lookup_elem(&cred_files, &key);
	if (!idp)
		return 0;
	id = *idp;
	t = pb_current();
	self = pb_self_of(t);
	if (pb_is_procbind(&self))
		return 0;
	tgid = self.tgid;
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (rec && !pb_rec_is_task(rec, t))
		rec = NULL;
	c = bpf_map_lookup_elem(&creds, &id);
	return pb_lsm_refuse(t, rec, c, id,
			     !c					 ? PB_R_REVOKED
			     : pb_task_cgroup(t) == c->cgroup_id ? PB_R_FOREIGN_PID
								 : PB_R_FOREIGN_CGROUP,
			     PB_ACC_NOTIFY);
}
