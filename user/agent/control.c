// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The control socket: a Unix stream socket, root only (checked with
 * SO_PEERCRED), one request per connection. Serves mint, revoke, ps,
 * status, health and reload; every reply body is JSON, which procbindctl
 * renders. Up to 16 clients at once, none blocking the agent (conn.c): a
 * request must be complete within 2 s, and a reply read within 2 s. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "audit.h"
#include "conn.h"
#include "creds.h"
#include "events.h"
#include "guard.h"
#include "kernel.h"
#include "log.h"
#include "proto.h"
#include "purpose.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"
#include "procbind/decision.h"

static int pb_control_admit(struct pb_agent *a, struct pb_conn *c, char *err, size_t errlen);
static int pb_control_handle(struct pb_agent *a, struct pb_conn *c, struct pb_buf *out, char *err,
			     size_t errlen);

int pb_control_listen(struct pb_agent *a)
{
	a->serve.ctl = (struct pb_conn_pool){.name = "control",
					     .timeout_ns = 2000ULL * 1000000ULL,
					     .listen_fd = -1,
					     .admit = pb_control_admit,
					     .handle = pb_control_handle};
	return pb_conn_listen(&a->serve.ctl, a->conf.socket_path, 0600, 16, 16);
}

static int pb_owns_live_cred(struct pb_agent *a, const struct pb_proc *p)
{
	for (size_t i = 0; i < a->creds.store.n; i++)
		if (!a->creds.store.v[i].died &&
		    pb_pkey_is(&a->creds.store.v[i].bind.owner, &p->self))
			return 1;
	return 0;
}

/* How credential files are kept from other processes, in a word. */
const char *pb_file_path_name(const struct pb_agent *a)
{
	if (a->guard.fan_fd >= 0)
		return a->kern.use_lsm ? "fanotify_and_lsm_refuse" : "fanotify_refuse";
	if (a->kern.use_lsm)
		return "lsm_refuse";
	return a->conf.acquire_tp ? "tracepoint_observe" : "unguarded";
}

/* The processes the kernel tracks (all, or those that hold or own a
 * credential), each with what it holds and how the decision judges it now. */
static int pb_do_ps(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
		    size_t errlen)
{
	int procs_fd = bpf_map__fd(a->kern.skel->maps.procs),
	    creds_fd = bpf_map__fd(a->kern.skel->maps.creds);
	const char *all = pb_req_get(r, "all");
	__u32 key, next, *prev = NULL;
	uint64_t now = pb_now_boot_ns();

	(void)err;
	(void)errlen;
	pb_json_array_begin(out);
	while (!bpf_map_get_next_key(procs_fd, prev, &next)) {
		struct pb_proc p;
		struct pb_subject s = {0};
		char cg[PATH_MAX] = "", exe[PATH_MAX] = "", tagbuf[40];
		uint64_t cgid;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(procs_fd, &key, &p))
			continue;
		if (!(all && !strcmp(all, "1")) && !p.nheld && !pb_owns_live_cred(a, &p))
			continue;
		cgid = p.cgroup_id;
		if (pb_proc_cgroup_id(p.self.tgid, a->conf.cgroup_root, &cgid, cg, sizeof(cg)))
			pb_cgroup_name(a, p.cgroup_id, cg, sizeof(cg));
		pb_exe_path(p.self.tgid, p.exe_dev, p.exe_ino, exe, sizeof(exe));
		p.ident = pb_purpose_proc_tag(a, &p);
		s.self = p.self;
		s.cgroup_id = cgid;
		s.exe_dev = p.exe_dev;
		s.exe_ino = p.exe_ino;
		s.parent = p.parent;

		pb_json_begin(out);
		pb_json_u64(out, "pid", p.self.tgid);
		pb_json_str(out, "pid_ns", "host");
		pb_json_u64(out, "start_time", p.self.start_time);
		pb_json_u64(out, "uid", p.uid);
		pb_json_strn(out, "comm", p.comm, sizeof(p.comm));
		pb_json_str(out, "exe", exe[0] ? exe : NULL);
		pb_json_u64(out, "cgroup_id", cgid);
		pb_json_str(out, "cgroup", cg[0] ? cg : NULL);
		/* tag set at exec; null: none */
		pb_json_str(out, "identity",
			    p.ident ? pb_ident_name(a, p.ident, tagbuf, sizeof(tagbuf)) : NULL);
		pb_json_bool(out, "overflow", pb_proc_reason(&p) != PB_OK);
		pb_json_key(out, "held");
		pb_json_array_begin(out);
		for (int i = 0; i < PB_MAX_HELD && i < (int)p.nheld; i++) {
			struct pb_owner_lookup owner = {.procs_fd = procs_fd};
			struct pb_cred c, *cp = NULL;
			enum pb_reason why;

			if (!p.held[i])
				continue;
			if (!bpf_map_lookup_elem(creds_fd, &p.held[i], &c))
				cp = &c;
			why = pb_judge_cred(&s, cp, pb_owner_lookup, &owner, now);
			pb_json_begin(out);
			pb_json_id(out, "id", p.held[i]);
			pb_json_str(out, "binding", why == PB_OK ? "self" : "foreign");
			pb_json_str(out, "reason", pb_reason_name(why));
			if (cp)
				pb_json_u64(out, "bound_pid", c.owner.tgid);
			pb_json_end(out);
		}
		pb_json_array_end(out);
		/* The live credentials minted for it. */
		pb_json_key(out, "owns");
		pb_json_array_begin(out);
		for (size_t i = 0; i < a->creds.store.n; i++) {
			const struct pb_cred_meta *m = &a->creds.store.v[i];

			if (m->died || !pb_pkey_is(&m->bind.owner, &p.self))
				continue;
			pb_json_begin(out);
			pb_json_id(out, "id", m->id);
			pb_json_str(out, "identity", m->identity[0] ? m->identity : NULL);
			if (m->adopt) {
				/* a file the pod had: as long as the pod has it */
				pb_json_str(out, "adopted", m->adopt);
				pb_json_str(out, "file", m->path);
				pb_json_str(out, "pod", m->pod);
			} else {
				pb_json_u64(out, "expires_in",
					    (m->bind.expires - now) / 1000000000ULL);
			}
			pb_json_end(out);
		}
		pb_json_array_end(out);
		pb_json_end(out);
	}
	pb_json_array_end(out);
	return 0;
}

static int pb_do_status(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
			size_t errlen)
{
	struct pb_stats st;
	const uint64_t *cnt = st.cnt;
	char loaded[40];

	(void)r;
	(void)err;
	(void)errlen;

	pb_stats_read(a, &st);
	pb_boot_to_rfc3339(a->purpose.policy_loaded, loaded, sizeof(loaded));

	pb_json_begin(out);
	pb_json_str(out, "version", PB_VERSION);
	pb_json_u64(out, "pid", (uint64_t)getpid()); /* the agent's, host PID namespace */
	pb_json_str(out, "mode", pb_mode_name(pb_mode_now(a)));
	pb_json_str(out, "policy", a->conf.policy_path);
	pb_json_str(out, "policy_version", a->purpose.policy.version);
	pb_json_u64(out, "policy_generation", a->purpose.gen);
	pb_json_str(out, "policy_loaded", loaded);
	pb_json_key(out, "identities");
	pb_json_array_begin(out);
	for (unsigned int i = 0; i < a->purpose.policy.nident; i++)
		pb_json_str(out, NULL, a->purpose.policy.ident[i].name);
	pb_json_array_end(out);
	pb_json_str(out, "node", a->conf.node);
	pb_json_bool(out, "adopted", a->kern.adopted);
	pb_json_str(out, "credential_files", pb_file_path_name(a));
	if (a->guard.fan_fd >= 0) {
		struct pb_guard_state gs = {0};

		pb_guard_counts(a, &gs);
		pb_json_key(out, "guard");
		pb_json_begin(out);
		pb_json_u64(out, "pid", a->guard.pidfd >= 0 ? (uint64_t)a->guard.pid : 0);
		pb_json_u64(out, "answered", gs.answered);
		pb_json_u64(out, "refused", gs.refused);
		pb_json_u64(out, "lost", gs.lost);
		pb_json_u64(out, "restarts", a->guard.respawns);
		pb_json_u64(out, "stalls", a->guard.stalls);
		pb_json_u64(out, "orphans_refused", a->guard.orphans);
		pb_json_end(out);
	}
	{
		char pattern[128], why[256];
		int file = pb_core_pattern(pattern, sizeof(pattern), why, sizeof(why));

		/* a core of a bound process holds its token */
		pb_json_key(out, "core_dumps");
		pb_json_begin(out);
		pb_json_str(out, "core_pattern", pattern);
		pb_json_str(out, "bound_process_core",
			    file == 1 ? "not_written" : "reaches_handler");
		pb_json_str(out, "detail", why);
		pb_json_end(out);
	}
	pb_json_str(out, "seed_source", a->kern.walk_proc ? "proc" : "task_iterator");
	pb_json_u64(out, "credentials_live", st.live);
	pb_json_key(out, "approvals"); /* since the agent started, but live */
	pb_json_begin(out);
	pb_json_u64(out, "live", pb_approvals_live(a));
	pb_json_u64(out, "granted", a->creds.apv.granted);
	pb_json_u64(out, "used", a->creds.apv.used);
	pb_json_u64(out, "refused", a->creds.apv.refused);
	pb_json_end(out);
	pb_json_key(out, "adopt");
	pb_json_begin(out);
	pb_json_u64(out, "bound", a->adopt.n);
	pb_json_u64(out, "awaited", a->adopt.ncand);
	pb_json_u64(out, "refused", a->adopt.refused);
	pb_json_end(out);
	if (a->sink.audit) {
		struct pb_audit_stats as;

		pb_audit_stats(a->sink.audit, &as);
		pb_json_key(out, "audit");
		pb_json_begin(out);
		pb_json_str(out, "dir", a->conf.audit_dir);
		pb_json_u64(out, "seq", as.seq);
		pb_json_u64(out, "records", as.records);
		pb_json_u64(out, "dropped", as.dropped);
		pb_json_u64(out, "write_errors", as.write_errors);
		pb_json_u64(out, "checkpoints", as.checkpoints);
		pb_json_u64(out, "segments_closed", as.segments);
		pb_json_end(out);
	}
	pb_json_key(out, "maps");
	pb_json_begin(out);
	pb_json_key(out, "procs");
	pb_json_begin(out);
	pb_json_u64(out, "entries", st.nprocs);
	pb_json_u64(out, "max", a->purpose.policy.max_procs);
	pb_json_end(out);
	pb_json_key(out, "creds");
	pb_json_begin(out);
	pb_json_u64(out, "entries", st.ncreds);
	pb_json_u64(out, "max", a->purpose.policy.max_creds);
	pb_json_end(out);
	pb_json_end(out);
	pb_json_key(out, "verdicts");
	pb_json_begin(out);
	for (unsigned v = 0; v < PB_VERDICT_MAX; v++) {
		pb_json_key(out, pb_verdict_name(v));
		pb_json_begin(out);
		for (unsigned rr = 0; rr < PB_REASON_MAX; rr++)
			pb_json_u64(out, pb_reason_name(rr), cnt[PB_COUNTER_VERDICT(v, rr)]);
		pb_json_end(out);
	}
	pb_json_end(out);
	pb_json_key(out, "counters");
	pb_json_begin(out);
	for (unsigned i = PB_CNT_OPS_BASE; i < PB_CNT_MAX; i++)
		pb_json_u64(out, pb_counter_name(i), cnt[i]);
	pb_json_u64(out, "events_written", a->sink.events_out);
	pb_json_u64(out, "events_received", a->drain.received);
	pb_json_u64(out, "events_recorded", a->drain.recorded);
	pb_json_u64(out, "events_folded", a->drain.folded);
	pb_json_u64(out, "refusals_folded_recorded", a->drain.refusals_folded);
	pb_json_u64(out, "budget_folded_recorded", a->drain.budget_folded);
	pb_json_u64(out, "events_dropped", a->drain.dropped);
	pb_json_u64(out, "mint_refused_map_full", a->creds.full);
	pb_json_u64(out, "dead_credentials_forgotten_early", a->creds.forgotten_early);
	pb_json_end(out);
	pb_json_end(out);
	return 0;
}

static int pb_do_mint(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
		      size_t errlen)
{
	struct pb_mint_req m = {.inherit = -1};
	struct pb_cred_meta *meta;
	const char *v;
	uint64_t n;
	int ret;

	v = pb_req_get(r, "pid");
	if (!v || pb_parse_u64(v, 1, 0x7fffffff, &n)) {
		snprintf(err, errlen, "mint: pid must be a positive number");
		return -EINVAL;
	}
	m.pid = (uint32_t)n;
	if ((v = pb_req_get(r, "ttl")) && (pb_duration_parse(v, &m.ttl) || !m.ttl)) {
		snprintf(err, errlen, "mint: ttl '%s' is not a duration (e.g. 90s, 15m, 1h)", v);
		return -EINVAL;
	}
	v = pb_req_get(r, "identity");
	snprintf(m.identity, sizeof(m.identity), "%s", v ? v : "");
	if ((v = pb_req_get(r, "inherit"))) {
		if (!strcmp(v, "none"))
			m.inherit = 0;
		else if (!strcmp(v, "children"))
			m.inherit = 1;
		else {
			snprintf(err, errlen, "mint: inherit must be none or children");
			return -EINVAL;
		}
	}
	if ((v = pb_req_get(r, "out"))) {
		if (v[0] != '/' || strlen(v) >= sizeof(m.out)) {
			snprintf(err, errlen, "mint: out must be an absolute path");
			return -EINVAL;
		}
		strcpy(m.out, v);
	}
	if ((v = pb_req_get(r, "audience")))
		snprintf(m.audience, sizeof(m.audience), "%s", v);

	m.via = "control";
	ret = pb_mint(a, &m, &meta, NULL, err, errlen);
	if (ret)
		return ret;
	pb_json_begin(out);
	pb_json_id(out, "id", meta->id);
	pb_json_str(out, "file", meta->path);
	pb_json_u64(out, "pid", meta->bind.owner.tgid);
	pb_json_str(out, "pid_ns", "host");
	pb_json_str(out, "identity", meta->identity);
	pb_json_u64(out, "expires_in", (meta->bind.expires - meta->issued) / 1000000000ULL);
	pb_json_end(out);
	return 0;
}

static int pb_do_revoke(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
			size_t errlen)
{
	uint64_t id;
	int ret;

	if (pb_id_parse(pb_req_get(r, "id"), &id))
		return pb_errf(err, errlen, -EINVAL, "revoke: id must be 16 hex digits");
	if ((ret = pb_revoke(a, id, err, errlen)))
		return ret;
	pb_json_begin(out);
	pb_json_id(out, "revoked", id);
	pb_json_end(out);
	return 0;
}

static int pb_do_approve(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
			 size_t errlen)
{
	struct pb_approve_req q = {.credential = pb_req_get(r, "credential"),
				   .dest = pb_req_get(r, "dest"),
				   .proto = pb_req_get(r, "proto"),
				   .method = pb_req_get(r, "method"),
				   .url = pb_req_get(r, "url"),
				   .uses = pb_req_get(r, "uses"),
				   .expires = pb_req_get(r, "expires"),
				   .approver = pb_req_get(r, "approver"),
				   .reason = pb_req_get(r, "reason"),
				   .ticket = pb_req_get(r, "ticket"),
				   .signed_text = pb_req_get(r, "signed")};

	pb_events_drain(a, PB_DRAIN_WHOLE); /* the uses spent so far are counted first */
	return pb_approve(a, &q, out, err, errlen);
}

static int pb_do_approvals(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out,
			   char *err, size_t errlen)
{
	(void)r;
	(void)err;
	(void)errlen;
	pb_events_drain(a, PB_DRAIN_WHOLE); /* uses left as of now */
	pb_approvals_list(a, out);
	return 0;
}

static int pb_do_revoke_approval(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out,
				 char *err, size_t errlen)
{
	uint64_t id;
	int ret;

	if (pb_id_parse(pb_req_get(r, "id"), &id))
		return pb_errf(err, errlen, -EINVAL, "revoke-approval: id must be 16 hex digits");
	pb_events_drain(a, PB_DRAIN_WHOLE);
	if ((ret = pb_approval_revoke(a, id, err, errlen)))
		return ret;
	pb_json_begin(out);
	pb_json_id(out, "revoked", id);
	pb_json_end(out);
	return 0;
}

/* Ready: hooks attached, the policy in force in the kernel, the trail
 * writable (the last write did not fail). */
static int pb_do_health(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
			size_t errlen)
{
	struct pb_audit_stats as = {0};
	struct pb_config cfg = {0};
	__u32 zero = 0;

	(void)r;
	bpf_map_lookup_elem(bpf_map__fd(a->kern.skel->maps.agent_cfg), &zero, &cfg);
	if (a->sink.audit)
		pb_audit_stats(a->sink.audit, &as);
	if (a->kern.nlinks < 9 || cfg.gen != a->purpose.gen || !a->purpose.gen)
		return pb_errf(err, errlen, -EAGAIN,
			       "not ready: %d hooks attached, policy generation %u in the kernel, "
			       "%u expected",
			       a->kern.nlinks, cfg.gen, a->purpose.gen);
	if (as.failing)
		return pb_errf(err, errlen, -EIO,
			       "degraded: the audit trail cannot be written (%" PRIu64
			       " records dropped); enforcement continues",
			       as.dropped);
	pb_json_begin(out);
	pb_json_u64(out, "hooks", (uint64_t)a->kern.nlinks);
	pb_json_str(out, "policy_version", a->purpose.policy.version);
	pb_json_u64(out, "policy_generation", a->purpose.gen);
	pb_json_u64(out, "audit_seq", as.seq);
	pb_json_end(out);
	return 0;
}

static int pb_do_reload(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
			size_t errlen)
{
	int ret;

	(void)r;
	pb_events_drain(a, PB_DRAIN_WHOLE); /* decisions before the swap come first */
	if ((ret = pb_reload(a, err, errlen)))
		return ret;
	pb_json_begin(out);
	pb_json_str(out, "policy_version", a->purpose.policy.version);
	pb_json_u64(out, "policy_generation", a->purpose.gen);
	pb_json_u64(out, "identities", a->purpose.policy.nident);
	pb_json_end(out);
	return 0;
}

/* The commands: each verb, the keys it takes, and its handler. */
static const struct pb_command {
	const char *verb;
	const char *const *keys;
	int (*run)(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
		   size_t errlen);
} pb_commands[] = {
    {"mint", (const char *const[]){"pid", "ttl", "identity", "inherit", "out", "audience", NULL},
     pb_do_mint},
    {"revoke", (const char *const[]){"id", NULL}, pb_do_revoke},
    {"approve",
     (const char *const[]){"credential", "dest", "proto", "method", "url", "uses", "expires",
			   "approver", "reason", "ticket", "signed", NULL},
     pb_do_approve},
    {"approvals", (const char *const[]){NULL}, pb_do_approvals},
    {"revoke-approval", (const char *const[]){"id", NULL}, pb_do_revoke_approval},
    /* format: sent by older procbindctl; every reply is JSON now */
    {"ps", (const char *const[]){"all", "format", NULL}, pb_do_ps},
    {"status", (const char *const[]){"format", NULL}, pb_do_status},
    {"health", (const char *const[]){NULL}, pb_do_health},
    {"reload", (const char *const[]){NULL}, pb_do_reload},
};

static int pb_dispatch(struct pb_agent *a, const struct pb_req *r, struct pb_buf *out, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < sizeof(pb_commands) / sizeof(pb_commands[0]); i++) {
		const struct pb_command *c = &pb_commands[i];
		int ret;

		if (strcmp(r->verb, c->verb))
			continue;
		if ((ret = pb_req_check_keys(r, c->keys, err, errlen)))
			return ret;
		ret = c->run(a, r, out, err, errlen);
		if (!ret)
			pb_buf_append(out, "\n", 1); /* every reply body is one JSON line */
		return ret;
	}
	return pb_errf(err, errlen, -EINVAL, "unknown command '%s'", r->verb);
}

/* root only: what it can do is everything */
static int pb_control_admit(struct pb_agent *a, struct pb_conn *c, char *err, size_t errlen)
{
	(void)a;
	if (c->peer.uid == 0)
		return 0;
	pb_warn("control: refused a client (uid %d, pid %d): root only", (int)c->peer.uid,
		(int)c->peer.pid);
	return pb_errf(err, errlen, -EPERM, "permission denied: the control socket is root only");
}

static int pb_control_handle(struct pb_agent *a, struct pb_conn *c, struct pb_buf *out, char *err,
			     size_t errlen)
{
	static struct pb_req req;
	int ret;

	pb_agent_catch_up(a);
	ret = pb_req_parse(&req, c->in, c->len, err, errlen);
	if (!ret)
		ret = pb_dispatch(a, &req, out, err, errlen);
	return ret;
}

void pb_control_accept(struct pb_agent *a, int ep)
{
	pb_conn_accept(a, &a->serve.ctl, ep);
}

int pb_control_owns(struct pb_agent *a, int fd)
{
	return pb_conn_find(&a->serve.ctl, fd) != NULL;
}

void pb_control_io(struct pb_agent *a, int fd, uint32_t events, int ep)
{
	struct pb_conn *c = pb_conn_find(&a->serve.ctl, fd);

	if (c)
		pb_conn_io(a, c, events, ep);
}

void pb_control_expire(struct pb_agent *a, int ep)
{
	pb_conn_expire(a, &a->serve.ctl, ep);
}
