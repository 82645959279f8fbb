// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Acquisition refused where the kernel runs BPF-LSM: at lsm/file_open, a
 * process that is not entitled to a credential (pb_cred_reason, the same
 * decision connect makes) cannot open its token file at all: the open fails
 * with EACCES, the bytes never reach it, and nothing has to be killed. The
 * agent loads this program only where BPF-LSM is active (probe), and the
 * acquisition tracepoints and connect hooks stay: a credential that still
 * spreads (an fd inherited through fork, passed over a socket) is judged at
 * connect as before. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EACCES 13

SEC("lsm/file_open")
int BPF_PROG(pb_guard_file_open, struct file *file, int ret)
{
	const struct pb_proc *owner = NULL;
	const struct pb_kpolicy *pol;
	struct task_struct *t, *parent;
	struct pb_open_event *e;
	struct pb_file_key key;
	const struct pb_cred *c;
	struct pb_subject s = {};
	enum pb_verdict verdict;
	enum pb_reason reason;
	struct pb_proc *rec;
	__u32 mode = PB_MODE_ENFORCE, gen = 0;
	__u64 *idp, id;

	if (ret)
		return ret; /* an earlier LSM refused already */
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
	s.cgroup_id = bpf_get_current_cgroup_id();
	pb_task_exe(t, &s.exe_dev, &s.exe_ino);
	/* The parent that forked it (its record), else the live one. */
	rec = bpf_map_lookup_elem(&procs, &s.self.tgid);
	if (rec && pb_rec_is_task(rec, t)) {
		s.parent = rec->parent;
	} else {
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
	pol = pb_policy_now(&gen);
	if (pol)
		mode = pol->mode;
	verdict = pb_verdict_for(reason, mode);
	pb_count(PB_CNT_OPEN_REFUSED);
	e = pb_event_reserve(sizeof(*e), PB_EV_OPEN_REFUSED);
	if (e) {
		pb_task_ref_fill(&e->task, t,
				 rec && rec->self.start_time == s.self.start_time ? rec : NULL);
		e->cred_id = id;
		e->verdict = verdict;
		e->reason = reason;
		e->mode = mode;
		pb_event_submit(e);
	}
	return verdict == PB_VERDICT_DENY ? -EACCES : 0;
}
