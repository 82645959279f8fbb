// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Events: the ring-buffer callback turns each kernel event into one JSON
 * line naming the process involved and, for a decision, the process the
 * credential was minted for. PIDs are host PIDs ("pid_ns":"host"). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"

void pb_emit_line(struct pb_agent *a, struct pb_buf *b)
{
	if (b->failed) {
		pb_error("events: out of memory formatting an event");
		return;
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
	if (stat(link, &st) || pb_dev_to_kernel(st.st_dev) != dev || st.st_ino != ino) {
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

static void pb_json_task(struct pb_agent *a, struct pb_buf *b, const char *key,
			 const struct pb_task_ref *t)
{
	char path[PATH_MAX];

	pb_json_key(b, key);
	pb_json_begin(b);
	pb_json_u64(b, "pid", t->tgid);
	pb_json_u64(b, "tid", t->pid);
	pb_json_str(b, "pid_ns", "host");
	pb_json_u64(b, "start_time", t->start_time);
	pb_json_u64(b, "ppid", t->ppid);
	pb_json_u64(b, "uid", t->uid);
	pb_json_strn(b, "comm", t->comm, sizeof(t->comm));
	pb_json_str(b, "exe",
		    pb_exe_path(t->tgid, t->exe_dev, t->exe_ino, path, sizeof(path)) ? NULL : path);
	pb_json_u64(b, "exe_dev", t->exe_dev);
	pb_json_u64(b, "exe_ino", t->exe_ino);
	pb_json_u64(b, "cgroup_id", t->cgroup_id);
	pb_cgroup_name(a, t->cgroup_id, path, sizeof(path));
	pb_json_str(b, "cgroup", path[0] ? path : NULL);
	pb_json_end(b);
}

void pb_json_cred_meta(struct pb_agent *a, struct pb_buf *b, const char *key,
		       const struct pb_cred_meta *m)
{
	char idhex[17], ts[40];

	(void)a;
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
	pb_json_u64(b, "cgroup_id", m->bind.cgroup_id);
	pb_json_str(b, "cgroup", m->cgroup[0] ? m->cgroup : NULL);
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
		pb_json_u64(b, "cgroup_id", o->cgroup_id);
		pb_json_end(b);
	}
	pb_json_end(b);
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
		if (size < sizeof(struct pb_connect_event))
			goto short_event;
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
	case PB_EV_EXEC:
	case PB_EV_EXIT: {
		const struct pb_proc_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		pb_event_begin(a, b, h->type == PB_EV_EXEC ? "exec" : "exit", h->time);
		pb_json_u64(b, "held", e->nheld);
		if (h->type == PB_EV_EXEC) {
			pb_json_strn(b, "filename", e->filename, sizeof(e->filename));
			pb_json_u64(b, "old_exe_dev", e->old_exe_dev);
			pb_json_u64(b, "old_exe_ino", e->old_exe_ino);
		} else {
			pb_json_i64(b, "exit_code", e->exit_code);
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
