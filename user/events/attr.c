// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attribution: who a PID and a cgroup are (executable, arguments, cgroup
 * path, pod and container), looked up from /proc and cgroupfs, cached, and
 * written into events. PIDs are host PIDs ("pid_ns":"host"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events.h"
#include "match.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"

void pb_cgroup_name(struct pb_agent *a, uint64_t id, char *out, size_t len)
{
	if (a->kern.cgroup_fd < 0 || pb_cgroup_path(a->kern.cgroup_fd, id, out, len))
		out[0] = 0;
}
void pb_attr_init(struct pb_agent *a)
{
	pb_refs_init(a);
	/* resident from the start (some 4 MiB): many processes later fill
	 * the caches without growing the agent */
	memset(a->sink.pcache, 0, sizeof(a->sink.pcache));
	memset(a->sink.cgcache, 0, sizeof(a->sink.cgcache));
}

/* /proc/PID/cmdline, but only if /proc/PID is still the process that
 * started at start (stat's starttime is its start_boottime in clock ticks). */
static int pb_read_args(uint32_t tgid, uint64_t start, char *out, size_t len)
{
	struct pb_stat st;
	ssize_t n;
	int err;

	if ((err = pb_stat_read(tgid, &st)))
		return err;
	if (pb_ticks_to_ns(st.starttime) != start - start % pb_ticks_to_ns(1))
		return -ESRCH; /* another process has the PID now */
	n = pb_proc_cmdline(tgid, out, len - 1);
	if (n < 0)
		return (int)n;
	if (!n)
		return -ESRCH; /* a zombie's (its memory is gone), or a kernel thread's */
	while (n > 0 && !out[n - 1])
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (!out[i])
			out[i] = ' ';
	out[n] = 0;
	return 0;
}

/* What the exec hook (or the file guard, refusing it) kept of a process that
 * /proc no longer shows: map "proc_names", if it is that process's. */
static void pb_proc_attr_kept(struct pb_agent *a, struct pb_proc_attr *c)
{
	struct pb_name n;
	uint32_t len;

	if (!a->kern.skel ||
	    bpf_map_lookup_elem(bpf_map__fd(a->kern.skel->maps.proc_names), &c->tgid, &n) ||
	    n.start_time - n.start_time % PB_TICK_NS != c->start - c->start % PB_TICK_NS)
		return;
	if (!c->exe_ok && n.exe[0]) {
		snprintf(c->exe, sizeof(c->exe), "%.*s", (int)sizeof(n.exe), n.exe);
		c->exe_ok = 1;
	}
	len = n.args_len < sizeof(n.args) ? n.args_len : sizeof(n.args);
	if (!c->args_ok && len) {
		while (len && !n.args[len - 1])
			len--;
		len = len < sizeof(c->args) - 1 ? len : sizeof(c->args) - 1;
		for (uint32_t i = 0; i < len; i++)
			c->args[i] = n.args[i] ? n.args[i] : ' ';
		c->args[len] = 0;
		c->args_ok = 1;
	}
}

static const struct pb_proc_attr *pb_proc_attr(struct pb_agent *a, uint32_t tgid, uint64_t start,
					       uint64_t dev, uint64_t ino)
{
	struct pb_proc_attr *c = &a->sink.pcache[(tgid ^ start ^ ino) % PB_CACHE_SLOTS];

	if (c->tgid == tgid && c->start == start && c->exe_ino == ino && (c->exe_ok || c->args_ok))
		return c;
	memset(c, 0, sizeof(*c));
	c->tgid = tgid;
	c->start = start;
	c->exe_ino = ino;
	c->exe_ok = !pb_exe_path(tgid, dev, ino, c->exe, sizeof(c->exe));
	c->args_ok = !pb_read_args(tgid, start, c->args, sizeof(c->args));
	if (!c->exe_ok || !c->args_ok)
		pb_proc_attr_kept(a, c); /* it has exited, or exec'd since */
	return c;
}

void pb_attr_forget(struct pb_agent *a, uint32_t tgid, uint64_t start, uint64_t ino)
{
	struct pb_proc_attr *c = &a->sink.pcache[(tgid ^ start ^ ino) % PB_CACHE_SLOTS];

	if (c->tgid == tgid && c->start == start)
		memset(c, 0, sizeof(*c));
}

static const struct pb_cg_attr *pb_cg_attr(struct pb_agent *a, uint64_t id)
{
	struct pb_cg_attr *c = &a->sink.cgcache[id % PB_CACHE_SLOTS];

	if (c->id == id && c->path[0])
		return c;
	memset(c, 0, sizeof(*c));
	c->id = id;
	pb_cgroup_name(a, id, c->path, sizeof(c->path));
	c->is_pod = c->path[0] && pb_k8s_parse_cgroup(c->path, &c->k8s);
	return c;
}

void pb_json_start(struct pb_buf *b, uint64_t boot_ns)
{
	char ts[40];

	pb_json_u64(b, "start_time", boot_ns);
	pb_boot_to_rfc3339(boot_ns, ts, sizeof(ts));
	pb_json_str(b, "started_at", boot_ns ? ts : NULL);
}

/* cgroup path and, for a pod, its UID and container id. */
void pb_json_cgroup(struct pb_agent *a, struct pb_buf *b, uint64_t id)
{
	const struct pb_cg_attr *cg = pb_cg_attr(a, id);

	pb_json_u64(b, "cgroup_id", id);
	pb_json_str(b, "cgroup", cg->path[0] ? cg->path : NULL);
	pb_json_str(b, "pod_uid", cg->is_pod ? cg->k8s.pod_uid : NULL);
	pb_json_str(b, "container_id",
		    cg->is_pod && cg->k8s.container_id[0] ? cg->k8s.container_id : NULL);
}

/* The process object, after its key. */
static void pb_json_task_obj(struct pb_agent *a, struct pb_buf *b, const struct pb_task_ref *t)
{
	const struct pb_proc_attr *pa =
	    pb_proc_attr(a, t->proc.tgid, t->proc.start_time, t->exe_dev, t->exe_ino);

	pb_json_begin(b);
	pb_json_u64(b, "pid", t->proc.tgid);
	pb_json_u64(b, "tgid", t->proc.tgid);
	pb_json_u64(b, "tid", t->pid);
	pb_json_str(b, "pid_ns", "host");
	pb_json_start(b, t->proc.start_time);
	pb_json_u64(b, "ppid", t->ppid);
	pb_json_u64(b, "uid", t->uid);
	pb_json_strn(b, "comm", t->comm, sizeof(t->comm));
	pb_json_str(b, "exe", pa->exe_ok ? pa->exe : NULL);
	pb_json_str(b, "args", pa->args_ok ? pa->args : NULL);
	pb_json_u64(b, "exe_dev", t->exe_dev);
	pb_json_u64(b, "exe_ino", t->exe_ino);
	pb_json_cgroup(a, b, t->cgroup_id);
	pb_json_end(b);
}

void pb_json_task(struct pb_agent *a, struct pb_buf *b, const char *key,
		  const struct pb_task_ref *t)
{
	pb_json_key(b, key);
	pb_json_task_obj(a, b, t);
}

void pb_json_task_ref(struct pb_agent *a, struct pb_buf *b, const char *key,
		      const struct pb_task_ref *t)
{
	struct pb_task_ref d = *t;
	uint64_t seq;

	/* what the full form is made of: all but the thread (always written) */
	d.pid = 0;
	d._pad = 0;
	d.proc._pad = 0;
	pb_json_key(b, key);
	seq = pb_ref_begin(a, b, &d, sizeof(d));
	if (!seq) {
		pb_json_task_obj(a, b, t);
		pb_ref_end(a, b, t->pid);
		return;
	}
	pb_json_begin(b);
	pb_json_u64(b, "pid", t->proc.tgid);
	pb_json_u64(b, "tgid", t->proc.tgid);
	pb_json_u64(b, "tid", t->pid);
	pb_json_str(b, "pid_ns", "host");
	pb_json_u64(b, "start_time", t->proc.start_time);
	{
		const struct pb_cg_attr *cg = pb_cg_attr(a, t->cgroup_id);

		if (cg->is_pod) /* the index finds a pod's records by it */
			pb_json_str(b, "pod_uid", cg->k8s.pod_uid);
	}
	pb_json_u64(b, "described_in", seq);
	pb_json_end(b);
	pb_ref_end(a, b, t->pid);
}
