// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ring buffer's consumer: each kernel event becomes one JSON line naming
 * the process involved and, for a decision, the process the credential was
 * minted for; allowed connects are reported once per destination and
 * counted after that; a new cgroup goes to the purpose module. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "creds.h"
#include "events.h"
#include "guard.h"
#include "log.h"
#include "adopt.h"
#include "purpose.h"
#include "sysfs.h"
#include "util.h"
#include "procbind/decision.h"
#include "procbind.skel.h"

/* Before an event that names credential id is formatted: an adopted one's
 * holder may have changed in the kernel (the guard binds it at the holder's
 * first open), and the agent's record of it, with the credential_adopted
 * line that says so, comes first. Never while a line is being built: that
 * line would be written over. */
static void pb_cred_sync(struct pb_agent *a, uint64_t id)
{
	struct pb_cred_meta *m = id ? pb_cred_find(a, id) : NULL;

	if (m)
		pb_adopt_sync(a, m);
}

/* A credential the agent knows, in full, or as a reference to the record
 * of the trail's open segment that described it unchanged (refs.c). */
static void pb_json_cred_meta_ref(struct pb_agent *a, struct pb_buf *b,
				  const struct pb_cred_meta *m)
{
	/* what its full form is made of (a string changes by being replaced);
	 * a process's key (attr.c) is of another length */
	struct {
		uint64_t id;
		struct pb_cred bind;
		const void *strs[3];
		uint32_t uid, _pad;
	} key = {.id = m->id, .bind = m->bind, .strs = {m->path, m->adopt, m->exe}, .uid = m->uid};
	uint64_t seq;
	char idhex[17];

	key.bind._pad = 0;
	key.bind.owner._pad = 0;
	pb_json_key(b, "credential");
	seq = pb_ref_begin(a, b, &key, sizeof(key));
	if (!seq) {
		pb_json_cred_meta(a, b, NULL, m); /* the object alone: its key is written */
		pb_ref_end(a, b, -1);
		return;
	}
	pb_id_format(m->id, idhex);
	pb_json_begin(b);
	pb_json_str(b, "id", idhex);
	pb_json_str(b, "identity", m->identity);
	pb_json_key(b, "bound_process");
	pb_json_begin(b);
	pb_json_u64(b, "pid", m->bind.owner.tgid);
	pb_json_u64(b, "start_time", m->bind.owner.start_time);
	pb_json_end(b);
	pb_json_u64(b, "described_in", seq);
	pb_json_end(b);
	pb_ref_end(a, b, -1);
}

/* The credential an event names: what the agent knows of it, or, for one it
 * did not mint (or forgot), the kernel's binding from the event itself. */
static void pb_json_cred_ref(struct pb_agent *a, struct pb_buf *b, uint64_t id,
			     const struct pb_owner_ref *o)
{
	struct pb_cred_meta *m = id ? pb_cred_find(a, id) : NULL;
	char idhex[17];

	if (m) {
		pb_json_cred_meta_ref(a, b, m);
		return;
	}
	if (!id && !(o && o->proc.tgid)) {
		pb_json_raw(b, "credential", "null");
		return;
	}
	pb_id_format(id, idhex);
	pb_json_key(b, "credential");
	pb_json_begin(b);
	pb_json_str(b, "id", id ? idhex : NULL);
	if (o && o->proc.tgid) {
		pb_json_key(b, "bound_process");
		pb_json_begin(b);
		pb_json_u64(b, "pid", o->proc.tgid);
		pb_json_str(b, "pid_ns", "host");
		pb_json_start(b, o->proc.start_time);
		pb_json_u64(b, "exe_dev", o->exe_dev);
		pb_json_u64(b, "exe_ino", o->exe_ino);
		pb_json_cgroup(a, b, o->cgroup_id);
		pb_json_end(b);
	}
	pb_json_end(b);
}

/* The slot a (process, destination) starts from: a word at a time. */
static uint32_t pb_dedup_slot(const struct pb_connect_event *e)
{
	uint64_t w[2], h = e->task.proc.start_time ^ ((uint64_t)e->task.proc.tgid << 32);

	memcpy(w, e->daddr, sizeof(w));
	h = (h ^ w[0]) * 0xff51afd7ed558ccdULL;
	h = (h ^ w[1] ^ ((uint64_t)e->dport << 24) ^ ((uint64_t)e->protocol << 8) ^ e->family) *
	    0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(h ^ (h >> 32)) & (PB_DEDUP_SLOTS - 1);
}

static int pb_dedup_is(const struct pb_dedup *d, const struct pb_connect_event *e)
{
	return pb_pkey_is(&d->proc, &e->task.proc) && d->dport == e->dport &&
	       d->protocol == e->protocol && d->family == e->family &&
	       !memcmp(d->daddr, e->daddr, sizeof(d->daddr));
}

static int pb_dedup_seen(struct pb_agent *a, const struct pb_connect_event *e)
{
	uint32_t i = pb_dedup_slot(e);

	/* tgid 0 and UINT32_MAX mark free and removed slots: such an event
	 * (the kernel sends none) is recorded every time, never remembered */
	if (!e->task.proc.tgid || e->task.proc.tgid == UINT32_MAX)
		return 0;
	for (uint32_t n = 0; n < PB_DEDUP_SLOTS; n++, i = (i + 1) & (PB_DEDUP_SLOTS - 1)) {
		struct pb_dedup *d = &a->drain.dedup[i];

		if (!d->proc.tgid)
			break;
		if (pb_dedup_is(d, e)) {
			d->repeats++;
			return 1;
		}
	}
	if (a->drain.dedup_used >= PB_DEDUP_SLOTS / 2 || a->drain.dedup[i].proc.tgid) {
		memset(a->drain.dedup, 0, sizeof(a->drain.dedup));
		a->drain.dedup_used = 0;
		i = pb_dedup_slot(e);
	}
	a->drain.dedup[i] = (struct pb_dedup){.proc = e->task.proc,
					      .dport = e->dport,
					      .protocol = e->protocol,
					      .family = (uint8_t)e->family};
	memcpy(a->drain.dedup[i].daddr, e->daddr, sizeof(e->daddr));
	a->drain.dedup_used++;
	return 0;
}

void pb_events_init(struct pb_agent *a)
{
	/* Resident from the start (2 MiB), so a connect storm that fills it
	 * does not grow the agent: its memory is what it was before. */
	memset(a->drain.dedup, 0, sizeof(a->drain.dedup));
	a->drain.dedup_used = 0;
	pb_attr_init(a);
}

static uint64_t pb_dedup_forget(struct pb_agent *a, const struct pb_pkey *proc)
{
	uint64_t n = 0;

	(void)a;
	/* a free slot (tgid 0) is not a process's entry: marking it removed
	 * would leave no free slot to end a probe (the fuzzer found the hang) */
	if (!proc->tgid || proc->tgid == UINT32_MAX)
		return 0;
	for (uint32_t i = 0; i < PB_DEDUP_SLOTS; i++)
		if (pb_pkey_is(&a->drain.dedup[i].proc, proc)) {
			n += a->drain.dedup[i].repeats;
			a->drain.dedup[i].proc.tgid = UINT32_MAX; /* keeps probe chains whole */
		}
	return n;
}

/* What a refusals_folded record adds to the refusal it folds (f), or NULL
 * for the event itself. */
struct pb_fold_out {
	uint64_t count; /* refusals this record counts */
	uint64_t total; /* counted since the first, which was reported whole */
	uint64_t last;	/* boot ns of the latest counted */
	int final;	/* the process has exited: no record follows */
	int budget;	/* the process's events past its fair share (PB_FOLD_ANY) */
};

/* A folded record's type: refusals, or (past a fair share) any events. */
static const char *pb_fold_type(int verdict)
{
	return verdict == PB_VERDICT_DENY ? "refusals_folded" : "events_folded";
}

static void pb_fold_fields(struct pb_buf *b, const struct pb_event_hdr *h,
			   const struct pb_fold_out *f)
{
	char ts[40];

	pb_json_u64(b, "count", f->count);
	pb_json_u64(b, "total", f->total);
	pb_boot_to_rfc3339(h->time, ts, sizeof(ts));
	pb_json_str(b, "first", ts);
	pb_boot_to_rfc3339(f->last, ts, sizeof(ts));
	pb_json_str(b, "last", ts);
	pb_json_bool(b, "final", f->final);
	/* repeats: of this one refusal; past_budget: the process's events of
	 * this kind and reason, wherever they went, past its fair share of
	 * the ring buffer (this one is the first of them) */
	pb_json_str(b, "folded", f->budget ? "past_budget" : "repeats");
}

static void pb_format_connect(struct pb_agent *a, struct pb_buf *b,
			      const struct pb_connect_event *e, const struct pb_fold_out *f)
{
	char addr[INET6_ADDRSTRLEN];

	if (f)
		pb_event_begin(a, b, pb_fold_type(e->verdict), pb_now_boot_ns());
	else
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
	pb_json_task_ref(a, b, "process", &e->task);
	pb_json_cred_ref(a, b, e->cred_id, &e->owner);
	if (f)
		pb_fold_fields(b, &e->hdr, f);
	pb_json_end(b);
}

/* A process reached a credential file (or a bound process's memory): who,
 * how, what it was told, and the process the credential was minted for. */
static void pb_format_file(struct pb_agent *a, struct pb_buf *b, const struct pb_file_event *e,
			   const struct pb_fold_out *f)
{
	char type[64];

	if (f)
		snprintf(type, sizeof(type), "%s", pb_fold_type(e->verdict));
	else if (e->verdict == PB_VERDICT_DENY && PB_ACC_IS_PROCESS(e->access))
		snprintf(type, sizeof(type), "process_access_refused");
	else if (e->verdict == PB_VERDICT_DENY)
		snprintf(type, sizeof(type), "credential_%s_refused", pb_access_name(e->access));
	else if (PB_ACC_IS_PROCESS(e->access))
		snprintf(type, sizeof(type), "process_access");
	else
		snprintf(type, sizeof(type), "credential_acquired");
	pb_event_begin(a, b, type, f ? pb_now_boot_ns() : e->hdr.time);
	pb_json_str(b, "verdict", pb_verdict_name(e->verdict));
	pb_json_str(b, "reason", pb_reason_name(e->reason));
	pb_json_str(b, "mode", pb_mode_name(e->mode));
	pb_json_str(b, "access", pb_access_name(e->access));
	pb_json_str(b, "hook", e->source == PB_SRC_LSM ? "lsm" : "fanotify");
	pb_json_u64(b, "held", e->nheld);
	pb_json_task_ref(a, b, "process", &e->task);
	pb_json_cred_ref(a, b, e->cred_id, &e->owner);
	if (f)
		pb_fold_fields(b, &e->hdr, f);
	pb_json_end(b);
}

/* Is the process of a refusals entry still there (its record, else /proc)? */
static int pb_fold_alive(struct pb_agent *a, const struct pb_pkey *p)
{
	uint64_t tick = p->start_time - p->start_time % PB_TICK_NS;
	struct pb_proc rec;

	if (!bpf_map_lookup_elem(bpf_map__fd(a->kern.skel->maps.procs), &p->tgid, &rec) &&
	    rec.self.start_time - rec.self.start_time % PB_TICK_NS == tick)
		return 1;
	return !pb_proc_gone(p->tgid, p->start_time);
}

#define PB_FOLD_ENDED_MAX 1024 /* entries of exited processes deleted a pass */

/* One map of series ("refusals" or "refusals_any"): see pb_refusals_pass. */
static void pb_refusals_map_pass(struct pb_agent *a, int fd, int sfd)
{
	static struct pb_fold_key ended[PB_FOLD_ENDED_MAX];
	struct pb_fold_key k, next;
	struct pb_buf *b = &a->sink.line;
	unsigned int nended = 0;
	int have = 0;

	while (!bpf_map_get_next_key(fd, have ? &k : NULL, &next)) {
		struct pb_fold_out f = {0};
		struct pb_fold v;
		uint64_t seen = 0;

		k = next;
		have = 1;
		f.final = !pb_fold_alive(a, &k.proc);
		if (bpf_map_lookup_elem(fd, &k, &v) || !v.hdr.time)
			continue; /* gone, or its first event still being copied */
		bpf_map_lookup_elem(sfd, &k, &seen);
		if (f.final && nended < PB_FOLD_ENDED_MAX)
			ended[nended++] = k;
		else if (f.final)
			f.final = 0; /* its entry stays until a later pass */
		/* a record a second while the count grows; and one at the
		 * exit of a process that had repeats, with its total, even when
		 * nothing is left to count (a single refusal has none) */
		if (f.final ? !v.count : v.count <= seen)
			continue;
		f.count = v.count > seen ? v.count - seen : 0;
		f.total = v.count;
		f.last = v.last;
		f.budget = k.what == PB_FOLD_ANY;
		if (k.kind == PB_FOLD_CONNECT)
			pb_format_connect(a, b, &v.connect, &f);
		else
			pb_format_file(a, b, &v.file, &f);
		if (pb_emit_line(a, b)) {
			if (f.final)
				nended--; /* not written: kept, counted again next pass */
			continue;
		}
		if (f.budget)
			a->drain.budget_folded += f.count;
		else
			a->drain.refusals_folded += f.count;
		bpf_map_update_elem(sfd, &k, &v.count, BPF_ANY);
	}
	for (unsigned int i = 0; i < nended; i++) {
		bpf_map_delete_elem(fd, &ended[i]);
		bpf_map_delete_elem(sfd, &ended[i]);
	}
}

/* Once a second: a refusals_folded (or events_folded) record for each
 * folded series whose count grew since the last, and a final one for a
 * process that has exited, whose entries then go (abi.h, maps "refusals"
 * and "refusals_any"). The process is looked at before its entry is read:
 * an entry read after the process was found gone cannot grow any more. */
void pb_refusals_pass(struct pb_agent *a)
{
	int sfd = bpf_map__fd(a->kern.skel->maps.refusals_seen);

	/* the first refusal of each, reported whole, goes into the trail
	 * before any record that counts its repeats */
	pb_events_drain(a, PB_DRAIN_WHOLE);
	pb_guard_drain(a);
	pb_refusals_map_pass(a, bpf_map__fd(a->kern.skel->maps.refusals), sfd);
	pb_refusals_map_pass(a, bpf_map__fd(a->kern.skel->maps.refusals_any), sfd);
}

static int pb_event_decode(struct pb_agent *a, void *data, size_t size);

/* The file guard's events, from its pinned queue: the ones it made while
 * no agent ran come first. What it could not queue is a gap in the trail. */
void pb_guard_drain(struct pb_agent *a)
{
	int fd = bpf_map__fd(a->kern.skel->maps.guard_events);
	struct pb_guard_state st;
	struct pb_file_event e;
	int n = 0;

	while (n++ < PB_GUARD_QUEUE && !bpf_map_lookup_and_delete_elem(fd, NULL, &e))
		pb_event_decode(a, &e, sizeof(e)); /* not the ring buffer's: not counted there */
	if (!pb_guard_counts(a, &st) && st.lost > a->drain.guard_lost) {
		pb_event_begin(a, &a->sink.line, "gap", pb_now_boot_ns());
		pb_json_str(&a->sink.line, "reason", "guard_queue_full");
		pb_json_u64(&a->sink.line, "events", st.lost - a->drain.guard_lost);
		pb_json_end(&a->sink.line);
		pb_emit_line(a, &a->sink.line);
		a->drain.guard_lost = st.lost;
	}
}

/* One kernel event: 1 when it became a line, 0 when it was folded into
 * another (or is not a line), -1 when it was dropped (logged). */
static int pb_event_decode(struct pb_agent *a, void *data, size_t size)
{
	const struct pb_event_hdr *h = data;
	struct pb_buf *b = &a->sink.line;

	if (size < sizeof(*h) || h->size > size) {
		pb_warn("events: short event (%zu bytes)", size);
		return -1;
	}
	switch (h->type) {
	case PB_EV_CONNECT: {
		const struct pb_connect_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		/* Allowed connects are many: each process's first connect to a
		 * destination is recorded, repeats are counted (exit record). */
		if (e->verdict == PB_VERDICT_ALLOW && pb_dedup_seen(a, e))
			return 0; /* in its exit record's allow_repeats */
		pb_cred_sync(a, e->cred_id);
		pb_format_connect(a, b, data, NULL);
		break;
	}
	case PB_EV_ACQUIRE:
	case PB_EV_INHERIT: {
		const struct pb_cred_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		pb_cred_sync(a, e->cred_id);
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
	case PB_EV_FILE:
		if (size < sizeof(struct pb_file_event))
			goto short_event;
		pb_cred_sync(a, ((const struct pb_file_event *)data)->cred_id);
		pb_format_file(a, b, data, NULL);
		break;
	case PB_EV_EXEC:
	case PB_EV_EXIT: {
		const struct pb_proc_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		if (h->type == PB_EV_EXEC)
			pb_attr_forget(a, e->task.proc.tgid, e->task.proc.start_time,
				       e->old_exe_ino);
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
					(e->nheld ? pb_dedup_forget(a, &e->task.proc) : 0));
		}
		pb_json_task(a, b, "process", &e->task);
		pb_json_end(b);
		break;
	}
	case PB_EV_ANOMALY: {
		const struct pb_anomaly_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		pb_event_begin(a, b, "anomaly", h->time);
		pb_json_str(b, "kind", pb_anomaly_name(e->kind));
		pb_json_i64(b, "err", e->err);
		pb_json_u64(b, "arg", e->arg);
		pb_json_task(a, b, "process", &e->task);
		pb_json_end(b);
		pb_warn("events: kernel anomaly %s pid %u", pb_anomaly_name(e->kind),
			e->task.proc.tgid);
		break;
	}
	case PB_EV_APPROVAL:
		if (size < sizeof(struct pb_approval_event))
			goto short_event;
		/* approval_used or approval_refused, and approval_ended after
		 * the last use: lines of the approval module's */
		pb_approval_event(a, data);
		return 1;
	case PB_EV_CGROUP: {
		const struct pb_cgroup_event *e = data;

		if (size < sizeof(*e))
			goto short_event;
		/* Not a line of its own: the agent matches the new cgroup and
		 * reports it (cgroup_matched) only when an identity fits. */
		pb_purpose_cgroup_added(a, e->cgroup_id);
		pb_adopt_cgroup_added(a, e->cgroup_id);
		return 0;
	}
	default:
		pb_warn("events: unknown event type %u", h->type);
		return -1;
	}
	return pb_emit_line(a, b) ? -1 : 1;
short_event:
	pb_warn("events: event type %u too short (%zu bytes)", h->type, size);
	return -1;
}

int pb_events_handle(void *ctx, void *data, size_t size)
{
	struct pb_agent *a = ctx;
	int r = pb_event_decode(a, data, size);

	a->drain.received++;
	if (r > 0)
		a->drain.recorded++;
	else if (!r)
		a->drain.folded++;
	else
		a->drain.dropped++;
	/* this record is consumed either way; a negative return ends the
	 * drain (libbpf stores the consumer position first) */
	return --a->drain.rb_budget ? 0 : -EAGAIN;
}

int pb_events_drain(struct pb_agent *a, uint32_t budget)
{
	int n;

	a->drain.rb_budget = budget;
	n = ring_buffer__consume(a->drain.rb);
	if (n == -EAGAIN)
		return 1; /* more is there: the ring buffer's fd stays readable */
	if (n < 0)
		pb_warn("events: reading the ring buffer: %s", strerror(-n));
	return 0;
}

void pb_agent_catch_up(struct pb_agent *a)
{
	pb_events_drain(a, PB_DRAIN_WHOLE);
	pb_guard_drain(a);
	if (a->purpose.npending)
		pb_purpose_tick(a);
	pb_adopt_tick(a);
}
