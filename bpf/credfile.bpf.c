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

/* Kernels before 5.12 have no fetching atomics (BPF_ATOMIC|BPF_FETCH). There
 * the slot is claimed under a per-process lock: a NOEXIST insert into this
 * map, which the kernel makes atomic. The holder runs a few instructions
 * with preemption off, so a contender retries a bounded number of times and
 * then fails closed (the process is marked overflowing). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} acquire_locks SEC(".maps") __weak;

#define PB_LOCK_TRIES 4096

/* Claim a held[] slot: the next index, or >= PB_MAX_HELD when none is left
 * or the lock could not be taken. */
static __always_inline __u32 pb_claim_slot(struct pb_proc *rec, __u32 tgid, const bool atomics)
{
	__u32 one = 1, slot = PB_MAX_HELD;

	if (atomics)
		return __sync_fetch_and_add(&rec->nheld, 1);
	for (int i = 0; i < PB_LOCK_TRIES; i++) {
		if (bpf_map_update_elem(&acquire_locks, &tgid, &one, BPF_NOEXIST))
			continue;
		slot = rec->nheld;
		rec->nheld = slot + 1;
		bpf_map_delete_elem(&acquire_locks, &tgid);
		return slot;
	}
	rec->nheld = PB_MAX_HELD + 1; /* could not claim: fail closed */
	return slot;
}

static __always_inline int pb_on_open(long ret, const bool atomics)
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
	t = pb_current();
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
		struct pb_proc *fresh = pb_proc_scratch(PB_SCRATCH_OPEN);

		if (!fresh)
			return 0;
		if (rec)
			pb_count(PB_CNT_STALE_RECORD);
		pb_proc_init(fresh, t);
		if (bpf_map_update_elem(&procs, &tgid, fresh, BPF_ANY)) {
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
		 * the process as overflowing; it then fails closed. Marked as a
		 * holder first, so that no connect skips its record once the
		 * slot is taken; an allow kept from before is void after. */
		pb_holding_set(tgid);
		slot = pb_claim_slot(rec, tgid, atomics);
		if (slot < PB_MAX_HELD) {
			rec->held[slot & (PB_MAX_HELD - 1)] = id;
		} else {
			rec->flags |= PB_PROC_OVERFLOW;
			pb_anomaly(t, PB_AN_HELD_OVERFLOW, id, 0);
		}
		rec->ok_until = 0;
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

/* Each syscall twice: with fetching atomics (5.12+) and with the lock; the
 * agent loads one set (probe: "BPF atomics"). */
#define PB_ACQUIRE(name, sc)                                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                                                   \
	int name(struct trace_event_raw_sys_exit *ctx)                                             \
	{                                                                                          \
		return pb_on_open(ctx->ret, true);                                                 \
	}                                                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                                                   \
	int name##_locked(struct trace_event_raw_sys_exit *ctx)                                    \
	{                                                                                          \
		return pb_on_open(ctx->ret, false);                                                \
	}

PB_ACQUIRE(pb_acquire_openat, openat)
PB_ACQUIRE(pb_acquire_openat2, openat2)
PB_ACQUIRE(pb_acquire_open, open)
