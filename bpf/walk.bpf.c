// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The task walk: a task iterator that reports every process (or one tgid)
 * with the same start time, cgroup and executable the hooks record, so the
 * agent seeds and mints from the kernel's own view and never from /proc. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 0: every process; otherwise only this tgid. Set by the agent per walk. */
volatile __u32 pb_walk_tgid;

SEC("iter/task")
int pb_walk_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct pb_task_info info = {};
	struct task_struct *parent;

	if (!t)
		return 0;
	if (t->pid != t->tgid || (t->flags & PF_KTHREAD))
		return 0;
	if (pb_walk_tgid && t->tgid != pb_walk_tgid)
		return 0;

	parent = BPF_CORE_READ(t, real_parent);
	info.proc.tgid = t->tgid;
	info.proc.start_time = pb_task_start(t);
	info.parent.tgid = BPF_CORE_READ(parent, tgid);
	info.parent.start_time = pb_task_start(parent);
	info.cgroup_id = pb_task_cgroup(t);
	pb_task_exe(t, &info.exe_dev, &info.exe_ino);
	info.uid = BPF_CORE_READ(t, cred, euid.val);
	BPF_CORE_READ_STR_INTO(&info.comm, t, comm);
	bpf_seq_write(ctx->meta->seq, &info, sizeof(info));
	return 0;
}
