// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floors procbind's costs are measured against (tools/bench_cost.sh):
 *   floor_connect4: a cgroup/connect4 program that only returns 1, the
 *     cost of having any program on the hook;
 *   the execsnoop pair: what libbpf-tools' execsnoop attaches (the execve
 *     syscall tracepoints), keeping the arguments at entry and sending one
 *     event per exec through a ring buffer at exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/connect4")
int floor_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

struct snoop_event {
	__u32 pid, ppid, uid;
	int ret;
	char comm[16];
	char filename[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct snoop_event);
} snoop_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} snoop_events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int snoop_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct snoop_event e = {};

	e.pid = pid;
	e.ppid = BPF_CORE_READ(t, real_parent, tgid);
	e.uid = (__u32)bpf_get_current_uid_gid();
	bpf_probe_read_user_str(e.filename, sizeof(e.filename), (const char *)ctx->args[0]);
	bpf_map_update_elem(&snoop_start, &pid, &e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int snoop_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct snoop_event *s = bpf_map_lookup_elem(&snoop_start, &pid), *e;

	if (!s)
		return 0;
	e = bpf_ringbuf_reserve(&snoop_events, sizeof(*e), 0);
	if (e) {
		__builtin_memcpy(e, s, sizeof(*e));
		e->ret = (int)ctx->ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&snoop_start, &pid);
	return 0;
}
