// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Credential acquisition: when open(2), openat(2) or openat2(2) returns an fd
 * whose inode is a registered credential file, the calling process now holds
 * that credential. The fd is resolved to dev+inode in the kernel, so renames,
 * hard links and bind mounts of the token file are all the same credential. */
#include "procbind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct file *pb_fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline int pb_on_open(long ret)
{
	struct task_struct *t;
	struct pb_file_key key;
	struct pb_cred_event *e;
	struct pb_proc *rec;
	struct inode *inode;
	struct file *f;
	__u64 *idp, id;
	__u32 tgid, slot;

	if (ret < 0)
		return 0;
	t = bpf_get_current_task_btf();
	f = pb_fd_file(t, ret);
	if (!f)
		return 0;
	inode = BPF_CORE_READ(f, f_inode);
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	idp = bpf_map_lookup_elem(&cred_files, &key);
	if (!idp)
		return 0;
	id = *idp;

	tgid = bpf_get_current_pid_tgid() >> 32;
	rec = bpf_map_lookup_elem(&procs, &tgid);
	if (!rec || !pb_rec_is_task(rec, t)) {
		/* A process the hooks missed (started before the agent, or its
		 * record is stale): describe it now, it holds nothing else. */
		struct pb_proc fresh = {};

		if (rec)
			pb_count(PB_CNT_STALE_RECORD);
		pb_proc_init(&fresh, t);
		if (bpf_map_update_elem(&procs, &tgid, &fresh, BPF_ANY)) {
			pb_count(PB_CNT_PROCS_FULL);
			pb_anomaly(t, PB_AN_PROCS_FULL, id, -1);
			return 0;
		}
		rec = bpf_map_lookup_elem(&procs, &tgid);
		if (!rec)
			return 0;
	}

	if (!pb_holds(rec, id)) {
		/* Threads of one process may open tokens at once: claim a slot
		 * atomically so no acquisition is lost. A slot past the end marks
		 * the process as overflowing; it then fails closed. */
		slot = __sync_fetch_and_add(&rec->nheld, 1);
		if (slot < PB_MAX_HELD) {
			rec->held[slot & (PB_MAX_HELD - 1)] = id;
		} else {
			rec->flags |= PB_PROC_OVERFLOW;
			pb_anomaly(t, PB_AN_HELD_OVERFLOW, id, 0);
		}
	}
	pb_count(PB_CNT_CRED_ACQUIRED);

	e = pb_event_reserve(sizeof(*e), PB_EV_ACQUIRE);
	if (!e)
		return 0;
	pb_task_ref_fill(&e->task, t, rec);
	e->cred_id = id;
	e->nheld = rec->nheld;
	e->fd = ret;
	pb_event_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int pb_acquire_openat(struct trace_event_raw_sys_exit *ctx)
{
	return pb_on_open(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int pb_acquire_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return pb_on_open(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_open")
int pb_acquire_open(struct trace_event_raw_sys_exit *ctx)
{
	return pb_on_open(ctx->ret);
}
