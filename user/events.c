// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Events: the ring-buffer callback turns each kernel event into one JSON
 * line naming the process involved and, for a decision, the process the
 * credential was minted for. PIDs are host PIDs ("pid_ns":"host"). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fcntl.h>

#include "agent.h"
#include "audit.h"
#include "match.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"

void pb_emit_line(struct pb_agent *a, struct pb_buf *b)
{
	if (b->failed) {
		pb_error("events: out of memory formatting an event");
		return;
	}
	if (a->audit && pb_audit_append(a->audit, b->data, b->len)) {
		struct pb_audit_stats st;

		/* Counted, and a gap record follows once writes succeed again;
		 * enforcement goes on. Logged once per 1000 failures. */
		pb_audit_stats(a->audit, &st);
		if (a->audit_errors_logged++ % 1000 == 0)
			pb_error("audit: cannot write to %s (%" PRIu64 " records dropped so far); "
				 "enforcement continues",
				 a->audit_dir, st.dropped);
	}
	pb_buf_append(b, "\n", 1);
	fwrite(b->data, 1, b->len, a->out);
	a->events_out++;
}

void pb_event_begin(struct pb_agent *a, struct pb_buf *b, const char *type, uint64_t boot_ns)
{
	char ts[40];

	pb_buf_reset(b);
	pb_boot_to_rfc3339(boot_ns, ts, sizeof(ts));
	pb_json_begin(b);
	pb_json_str(b, "event", type);
	pb_json_str(b, "time", ts);
	pb_json_str(b, "node", a->node);
}

/* An executable on overlayfs (a container's root, a node image): the kernel
 * records the overlay's own device, stat(2) of a file reports the pseudo
 * device of the layer it comes from, with the same inode number. The
 * overlay's device is what stat reports for its directories: compare that
 * of the file's directory, resolved in the process's root. */
static int pb_overlay_dev_is(uint32_t tgid, const char *path, const char *link, uint64_t dev)
{
	char dir[PATH_MAX + 32];
	struct statfs sf;
	struct stat st;
	const char *slash = strrchr(path, '/');

	if (statfs(link, &sf) || sf.f_type != OVERLAYFS_SUPER_MAGIC || !slash)
		return 0;
	snprintf(dir, sizeof(dir), "/proc/%u/root%.*s", tgid, (int)(slash - path), path);
	return !stat(dir, &st) && S_ISDIR(st.st_mode) && pb_dev_to_kernel(st.st_dev) == dev;
}

int pb_exe_path(uint32_t tgid, uint64_t dev, uint64_t ino, char *out, size_t len)
{
	char link[64];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", tgid);
	n = readlink(link, out, len - 1);
	if (n < 0)
		return -errno;
	out[n] = 0;
	/* The PID may already belong to another image: trust the path only if
	 * it still names the inode the kernel reported. */
	if (stat(link, &st) || st.st_ino != ino ||
	    (pb_dev_to_kernel(st.st_dev) != dev && !pb_overlay_dev_is(tgid, out, link, dev))) {
		out[0] = 0;
		return -ESTALE;
	}
	return 0;
}

void pb_cgroup_name(struct pb_agent *a, uint64_t id, char *out, size_t len)
{
	if (a->cgroup_fd < 0 || pb_cgroup_path(a->cgroup_fd, id, out, len))
		out[0] = 0;
}

/* Attribution is looked up once per process and per cgroup, not per event:
 * /proc reads and open_by_handle_at cost more than the rest of an event. */
#define PB_CACHE_SLOTS 4096
#define PB_ARGS_LEN    256

struct pb_proc_attr {
	uint32_t tgid;
	uint64_t start, exe_ino;
	char exe[PB_PATH_LEN * 2];
	char args[PB_ARGS_LEN]; /* "" when unknown */
	int exe_ok, args_ok;
};

struct pb_cg_attr {
	uint64_t id;
	char path[PB_PATH_LEN * 2];
	struct pb_k8s_ref k8s;
	int is_pod;
};

static struct pb_proc_attr pb_pcache[PB_CACHE_SLOTS];
static struct pb_cg_attr pb_cgcache[PB_CACHE_SLOTS];

/* /proc/PID/cmdline, but only if /proc/PID is still the process that
 * started at start (stat's starttime is its start_boottime in clock ticks). */
static int pb_read_args(uint32_t tgid, uint64_t start, char *out, size_t len)
{
	struct pb_stat st;
	char path[64];
	ssize_t n;
	int fd;

	if ((fd = pb_stat_read(tgid, &st)))
		return fd;
	if (pb_ticks_to_ns(st.starttime) != start - start % pb_ticks_to_ns(1))
		return -ESRCH; /* another process has the PID now */
	snprintf(path, sizeof(path), "/proc/%u/cmdline", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && !out[n - 1])
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (!out[i])
			out[i] = ' ';
	out[n] = 0;
	return 0;
}

static const struct pb_proc_attr *pb_proc_attr(uint32_t tgid, uint64_t start, uint64_t dev,
					       uint64_t ino)
{
	struct pb_proc_attr *c = &pb_pcache[(tgid ^ start ^ ino) % PB_CACHE_SLOTS];

	if (c->tgid == tgid && c->start == start && c->exe_ino == ino && (c->exe_ok || c->args_ok))
		return c;
	memset(c, 0, sizeof(*c));
	c->tgid = tgid;
	c->start = start;
	c->exe_ino = ino;
	c->exe_ok = !pb_exe_path(tgid, dev, ino, c->exe, sizeof(c->exe));
	c->args_ok = !pb_read_args(tgid, start, c->args, sizeof(c->args));
	return c;
}

static void pb_attr_forget(uint32_t tgid, uint64_t start, uint64_t ino)
{
	struct pb_proc_attr *c = &pb_pcache[(tgid ^ start ^ ino) % PB_CACHE_SLOTS];

	if (c->tgid == tgid && c->start == start)
		memset(c, 0, sizeof(*c));
}

static const struct pb_cg_attr *pb_cg_attr(struct pb_agent *a, uint64_t id)
{
	struct pb_cg_attr *c = &pb_cgcache[id % PB_CACHE_SLOTS];

	if (c->id == id && c->path[0])
		return c;
	memset(c, 0, sizeof(*c));
	c->id = id;
	pb_cgroup_name(a, id, c->path, sizeof(c->path));
	c->is_pod = c->path[0] && pb_k8s_parse_cgroup(c->path, &c->k8s);
	return c;
}

/* cgroup path and, for a pod, its UID and container id. */
static void pb_json_cgroup(struct pb_agent *a, struct pb_buf *b, uint64_t id)
{
	const struct pb_cg_attr *cg = pb_cg_attr(a, id);

	pb_json_u64(b, "cgroup_id", id);
	pb_json_str(b, "cgroup", cg->path[0] ? cg->path : NULL);
	pb_json_str(b, "pod_uid", cg->is_pod ? cg->k8s.pod_uid : NULL);
	pb_json_str(b, "container_id",
		    cg->is_pod && cg->k8s.container_id[0] ? cg->k8s.container_id : NULL);
}

static void pb_json_task(struct pb_agent *a, struct pb_buf *b, const char *key,
			 const struct pb_task_ref *t)
{
	const struct pb_proc_attr *pa =
	    pb_proc_attr(t->tgid, t->start_time, t->exe_dev, t->exe_ino);

	pb_json_key(b, key);
	pb_json_begin(b);
	pb_json_u64(b, "pid", t->tgid);
	pb_json_u64(b, "tgid", t->tgid);
	pb_json_u64(b, "tid", t->pid);
	pb_json_str(b, "pid_ns", "host");
	pb_json_u64(b, "start_time", t->start_time);
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

void pb_json_cred_meta(struct pb_agent *a, struct pb_buf *b, const char *key,
		       const struct pb_cred_meta *m)
{
	char idhex[17], ts[40];

	pb_id_format(m->id, idhex);
	pb_json_key(b, key);
	pb_json_begin(b);
	pb_json_str(b, "id", idhex);
	pb_json_str(b, "identity", m->identity);
	pb_boot_to_rfc3339(m->bind.expires, ts, sizeof(ts));
	pb_json_str(b, "expires", ts);
	pb_json_str(b, "inherit", m->bind.flags & PB_CRED_INHERIT_CHILDREN ? "children" : "none");
	pb_json_bool(b, "revoked", m->bind.flags & PB_CRED_REVOKED);
	pb_json_str(b, "file", m->path[0] ? m->path : NULL);
	pb_json_key(b, "bound_process");
	pb_json_begin(b);
	pb_json_u64(b, "pid", m->bind.tgid);
	pb_json_str(b, "pid_ns", "host");
	pb_json_u64(b, "start_time", m->bind.start_time);
	pb_json_u64(b, "uid", m->uid);
	pb_json_strn(b, "comm", m->comm, sizeof(m->comm));
	pb_json_str(b, "exe", m->exe[0] ? m->exe : NULL);
	pb_json_u64(b, "exe_dev", m->bind.exe_dev);
	pb_json_u64(b, "exe_ino", m->bind.exe_ino);
	pb_json_cgroup(a, b, m->bind.cgroup_id);
	pb_json_end(b);
	pb_json_end(b);
}

/* The credential an event names: what the agent knows of it, or, for one it
 * did not mint (or forgot), the kernel's binding from the event itself. */
static void pb_json_cred_ref(struct pb_agent *a, struct pb_buf *b, uint64_t id,
			     const struct pb_owner_ref *o)
{
	struct pb_cred_meta *m = id ? pb_cred_find(a, id) : NULL;
	char idhex[17];

	if (m) {
		pb_json_cred_meta(a, b, "credential", m);
		return;
	}
	if (!id) {
		pb_json_raw(b, "credential", "null");
		return;
	}
	pb_id_format(id, idhex);
	pb_json_key(b, "credential");
	pb_json_begin(b);
	pb_json_str(b, "id", idhex);
	if (o && o->tgid) {
		pb_json_key(b, "bound_process");
		pb_json_begin(b);
		pb_json_u64(b, "pid", o->tgid);
		pb_json_str(b, "pid_ns", "host");
		pb_json_u64(b, "start_time", o->start_time);
		pb_json_u64(b, "exe_dev", o->exe_dev);
		pb_json_u64(b, "exe_ino", o->exe_ino);
		pb_json_cgroup(a, b, o->cgroup_id);
		pb_json_end(b);
	}
	pb_json_end(b);
}

/* Allowed (process, destination) pairs already recorded. Open addressing;
 * a process's entries go at its exit, and the table is emptied when half
 * full (a later repeat is then recorded once more, never lost). */
#define PB_DEDUP_SLOTS (1u << 16)

struct pb_dedup {
	uint64_t start, dest;
	uint32_t tgid; /* 0: free; UINT32_MAX: removed */
	uint32_t repeats;
};

static struct pb_dedup pb_dd[PB_DEDUP_SLOTS];
static uint32_t pb_dd_used;

static uint64_t pb_dest_key(const struct pb_connect_event *e)
{
	uint64_t h = pb_fnv1a(PB_FNV_INIT, e->daddr, sizeof(e->daddr));

	h = pb_fnv1a(h, &e->dport, sizeof(e->dport));
	h = pb_fnv1a(h, &e->protocol, sizeof(e->protocol));
	return pb_fnv1a(h, &e->family, sizeof(e->family));
}

int pb_dedup_seen(struct pb_agent *a, const struct pb_connect_event *e)
{
	uint64_t dest = pb_dest_key(e), h = dest ^ e->task.start_time ^ e->task.tgid;
	uint32_t i = (uint32_t)(h ^ (h >> 32)) & (PB_DEDUP_SLOTS - 1);

	(void)a;
	for (;; i = (i + 1) & (PB_DEDUP_SLOTS - 1)) {
		struct pb_dedup *d = &pb_dd[i];

		if (!d->tgid)
			break;
		if (d->tgid == e->task.tgid && d->start == e->task.start_time && d->dest == dest) {
			d->repeats++;
			return 1;
		}
	}
	if (pb_dd_used >= PB_DEDUP_SLOTS / 2) {
		memset(pb_dd, 0, sizeof(pb_dd));
		pb_dd_used = 0;
		i = (uint32_t)(h ^ (h >> 32)) & (PB_DEDUP_SLOTS - 1);
	}
	pb_dd[i] =
	    (struct pb_dedup){.start = e->task.start_time, .dest = dest, .tgid = e->task.tgid};
	pb_dd_used++;
	return 0;
}

uint64_t pb_dedup_forget(struct pb_agent *a, uint32_t tgid, uint64_t start)
{
	uint64_t n = 0;

	(void)a;
	for (uint32_t i = 0; i < PB_DEDUP_SLOTS; i++)
		if (pb_dd[i].tgid == tgid && pb_dd[i].start == start) {
			n += pb_dd[i].repeats;
			pb_dd[i].tgid = UINT32_MAX; /* keeps probe chains whole */
		}
	return n;
}

static const char *pb_hook_name(unsigned int h)
{
	static const char *const n[] = {"?", "connect4", "connect6", "sendmsg4", "sendmsg6"};

	return h < 5 ? n[h] : "?";
}

static void pb_format_connect(struct pb_agent *a, struct pb_buf *b,
			      const struct pb_connect_event *e)
{
	char addr[INET6_ADDRSTRLEN];

	pb_event_begin(a, b, "connect", e->hdr.time);
	pb_json_str(b, "verdict", pb_verdict_name(e->verdict));
	pb_json_str(b, "reason", pb_reason_name(e->reason));
	pb_json_str(b, "mode", pb_mode_name(e->mode));
	pb_json_str(b, "hook", pb_hook_name(e->hook));
	pb_json_str(b, "protocol", e->protocol == 6 ? "tcp" : e->protocol == 17 ? "udp" : "other");
	inet_ntop(e->family == 2 ? AF_INET : AF_INET6, e->daddr, addr, sizeof(addr));
	pb_json_str(b, "daddr", addr);
	pb_json_u64(b, "dport", e->dport);
	pb_json_u64(b, "held", e->nheld);
	if (e->ident) {
		char buf[40];

		pb_json_str(b, "identity", pb_ident_name(a, e->ident, buf, sizeof(buf)));
	}
	pb_json_task(a, b, "process", &e->task);
	pb_json_cred_ref(a, b, e->cred_id, &e->owner);
	pb_json_end(b);
}

int pb_events_handle(void *ctx, void *data, size_t size)
{
	struct pb_agent *a = ctx;
	const struct pb_event_hdr *h = data;
	struct pb_buf *b = &a->line;

	if (size < sizeof(*h) || h->size > size) {
		pb_warn("events: short event (%zu bytes)", size);
		return 0;
	}
	switch (h->type) {
	case PB_EV_CONNECT: {
		const struct pb_connect_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		/* Allowed connects are many: each process's first connect to a
		 * destination is recorded, repeats are counted (exit record). */
		if (e->verdict == PB_VERDICT_ALLOW && pb_dedup_seen(a, e))
			return 0;
		pb_format_connect(a, b, data);
		break;
	}
	case PB_EV_ACQUIRE:
	case PB_EV_INHERIT: {
		const struct pb_cred_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		pb_event_begin(
		    a, b, h->type == PB_EV_ACQUIRE ? "credential_acquired" : "credential_inherited",
		    h->time);
		pb_json_u64(b, "held", e->nheld);
		if (h->type == PB_EV_ACQUIRE)
			pb_json_i64(b, "fd", e->fd);
		pb_json_task(a, b, "process", &e->task);
		pb_json_cred_ref(a, b, e->cred_id, NULL);
		pb_json_end(b);
		break;
	}
	case PB_EV_OPEN_REFUSED: {
		const struct pb_open_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		pb_event_begin(a, b, "credential_open_refused", h->time);
		pb_json_str(b, "verdict", pb_verdict_name(e->verdict));
		pb_json_str(b, "reason", pb_reason_name(e->reason));
		pb_json_str(b, "mode", pb_mode_name(e->mode));
		pb_json_str(b, "hook", "lsm/file_open");
		pb_json_task(a, b, "process", &e->task);
		pb_json_cred_ref(a, b, e->cred_id, NULL);
		pb_json_end(b);
		break;
	}
	case PB_EV_EXEC:
	case PB_EV_EXIT: {
		const struct pb_proc_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		if (h->type == PB_EV_EXEC)
			pb_attr_forget(e->task.tgid, e->task.start_time, e->old_exe_ino);
		pb_event_begin(a, b, h->type == PB_EV_EXEC ? "exec" : "exit", h->time);
		pb_json_u64(b, "held", e->nheld);
		if (e->ident) {
			char ib[40];

			pb_json_str(b, "identity", pb_ident_name(a, e->ident, ib, sizeof(ib)));
		}
		if (h->type == PB_EV_EXEC) {
			pb_json_strn(b, "filename", e->filename, sizeof(e->filename));
			pb_json_u64(b, "old_exe_dev", e->old_exe_dev);
			pb_json_u64(b, "old_exe_ino", e->old_exe_ino);
		} else {
			pb_json_i64(b, "exit_code", e->exit_code);
			/* allowed connects not written one by one (audit trail) */
			/* Only holders' allows are reported, so only their exits
			 * have entries to collect (the scan is 64k slots). */
			pb_json_u64(b, "allow_repeats",
				    e->allow_repeats +
					(e->nheld
					     ? pb_dedup_forget(a, e->task.tgid, e->task.start_time)
					     : 0));
		}
		pb_json_task(a, b, "process", &e->task);
		pb_json_end(b);
		break;
	}
	case PB_EV_ANOMALY: {
		const struct pb_anomaly_event *e = data;
		static const char *const kinds[] = {"?", "procs_full", "stale_record",
						    "held_overflow"};

		if (size < sizeof(*e))
			goto short_event;
		pb_event_begin(a, b, "anomaly", h->time);
		pb_json_str(b, "kind", e->kind < 4 ? kinds[e->kind] : "?");
		pb_json_i64(b, "err", e->err);
		pb_json_u64(b, "arg", e->arg);
		pb_json_task(a, b, "process", &e->task);
		pb_json_end(b);
		pb_warn("events: kernel anomaly %s pid %u", e->kind < 4 ? kinds[e->kind] : "?",
			e->task.tgid);
		break;
	}
	case PB_EV_CGROUP: {
		const struct pb_cgroup_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		/* Not a line of its own: the agent matches the new cgroup and
		 * reports it (cgroup_matched) only when an identity fits. */
		pb_purpose_cgroup_added(a, e->cgroup_id);
		return 0;
	}
	default:
		pb_warn("events: unknown event type %u", h->type);
		return 0;
	}
	pb_emit_line(a, b);
	return 0;
short_event:
	pb_warn("events: event type %u too short (%zu bytes)", h->type, size);
	return 0;
}
