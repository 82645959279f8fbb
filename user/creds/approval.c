// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Approvals (docs/approvals.md): an approval binds one credential to one
 * action (a destination, or a request a proof is asked for), for a number
 * of uses, until an expiry that never outlives the credential. Granted by
 * root on the node, or signed offline by an approver the policy lists.
 * The connect programs spend a destination approval's uses in the kernel
 * (map "approvals", under the element's lock) and report each use; the
 * agent spends a request approval's uses when it signs a proof. Every grant,
 * use, refusal and end is an event, and STATE-DIR/approvals.jsonl keeps the
 * grants and their uses across restarts: a restart never refunds a use. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "creds.h"
#include "creds_priv.h"
#include "events.h"
#include "json_u64.h"
#include "log.h"
#include "match.h"
#include "policy.h"
#include "token.h"
#include "util.h"
#include "procbind.skel.h"
#include "procbind/decision.h"
#include "procbind/verify.h"

#define PB_APV_MAX_USES 1000000
/* An ended approval is kept this long past its expiry: the kernel tells a
 * connect why (exhausted, expired), and a signed one cannot be submitted
 * again while it could be valid. */
#define PB_APV_KEEP_NS (600ULL * 1000000000ULL)

static int pb_apv_map_fd(struct pb_agent *a)
{
	return bpf_map__fd(a->kern.skel->maps.approvals);
}

static struct pb_approval_rec *pb_apv_find(struct pb_agent *a, uint64_t id)
{
	for (size_t i = 0; i < a->creds.apv.n; i++)
		if (a->creds.apv.v[i].id == id)
			return &a->creds.apv.v[i];
	return NULL;
}

static void pb_apv_dest(const struct pb_approval_rec *r, struct pb_dest *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->addr, r->key.addr, sizeof(d->addr));
	d->port = r->key.port;
	d->family = r->key.family;
	d->proto = r->key.proto;
}

/* The action: a destination under keys dkey and pkey, or a request. */
static void pb_apv_json_action(struct pb_buf *b, const struct pb_approval_rec *r, const char *dkey,
			       const char *pkey)
{
	char dest[64];
	struct pb_dest d;

	if (r->kind == PB_APV_DEST) {
		pb_apv_dest(r, &d);
		pb_dest_format(&d, dest, sizeof(dest));
		pb_json_str(b, dkey, dest);
		pb_json_str(b, pkey, d.proto == 17 ? "udp" : "tcp");
	} else {
		pb_json_str(b, "method", r->method);
		pb_json_str(b, "url", r->url);
	}
}

/* ---- the journal: a grant's whole record, each use, a forget ---- */

static void pb_apv_record(struct pb_buf *b, const struct pb_approval_rec *r)
{
	char id[17], cred[17];

	pb_id_format(r->id, id);
	pb_id_format(r->cred_id, cred);
	pb_json_begin(b);
	pb_json_str(b, "op", "put");
	pb_json_str(b, "id", id);
	pb_json_str(b, "cred", cred);
	pb_apv_json_action(b, r, "dest", "proto");
	pb_json_u64(b, "uses", r->uses);
	pb_json_u64(b, "used", r->used);
	pb_json_u64(b, "expires", r->expires);
	pb_json_u64(b, "granted", r->granted);
	pb_json_u64(b, "ended_at", r->ended_at);
	pb_json_str(b, "ended", r->ended);
	pb_json_str(b, "approver", r->approver);
	pb_json_str(b, "reason", r->reason);
	pb_json_str(b, "ticket", r->ticket[0] ? r->ticket : NULL);
	pb_json_str(b, "fpr", r->fpr[0] ? r->fpr : NULL);
	pb_json_str(b, "signed", r->signed_text);
	pb_json_end(b);
	pb_buf_append(b, "\n", 1);
	b->need_comma = 0;
}

/* Append lines durably (fdatasync): 0 or -errno. A grant or a use is not
 * acted on before its line is on disk. */
static int pb_apv_write(struct pb_agent *a, struct pb_buf *b)
{
	struct pb_approvals *ap = &a->creds.apv;
	int ret = b->failed ? -ENOMEM : 0;

	if (!ret && ap->fd < 0)
		ret = -EBADF;
	if (!ret)
		ret = pb_write_full(ap->fd, b->data, b->len);
	if (!ret && fdatasync(ap->fd))
		ret = -errno;
	if (!ret)
		ap->lines++;
	else
		pb_error("approval: journal %s: %s", ap->path, strerror(-ret));
	pb_buf_free(b);
	return ret;
}

static int pb_apv_put(struct pb_agent *a, const struct pb_approval_rec *r)
{
	struct pb_buf b = {0};

	pb_apv_record(&b, r);
	return pb_apv_write(a, &b);
}

static int pb_apv_op(struct pb_agent *a, const char *op, uint64_t id, uint32_t used)
{
	struct pb_buf b = {0};
	char idhex[17];

	pb_id_format(id, idhex);
	pb_json_begin(&b);
	pb_json_str(&b, "op", op);
	pb_json_str(&b, "id", idhex);
	if (!strcmp(op, "use"))
		pb_json_u64(&b, "used", used);
	pb_json_end(&b);
	pb_buf_append(&b, "\n", 1);
	return pb_apv_write(a, &b);
}

/* Rewrite the file from memory (tmp, fsync, rename) and open it to append. */
static int pb_apv_rewrite(struct pb_agent *a)
{
	struct pb_approvals *ap = &a->creds.apv;
	char tmp[PATH_MAX + 8];
	struct pb_buf b = {0};
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", ap->path);
	for (size_t i = 0; i < ap->n; i++)
		pb_apv_record(&b, &ap->v[i]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		ret = -errno;
	else if (b.failed)
		ret = -ENOMEM;
	if (!ret && b.len)
		ret = pb_write_full(fd, b.data, b.len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	pb_buf_free(&b);
	if (!ret && rename(tmp, ap->path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return pb_err(ret, "approval: journal %s: rewrite: %s", ap->path, strerror(-ret));
	}
	if (ap->fd >= 0)
		close(ap->fd);
	ap->fd = open(ap->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (ap->fd < 0)
		return pb_err(-errno, "approval: journal %s: %m", ap->path);
	ap->lines = ap->n;
	return 0;
}

static void pb_apv_copy(json_t *o, const char *k, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(o, k));

	snprintf(out, len, "%s", v ? v : "");
}

static const char *pb_apv_end_name(const char *s)
{
	static const char *const names[] = {"exhausted", "expired", "revoked", "credential_ended"};

	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return names[i];
	return s ? "revoked" : NULL;
}

static int pb_apv_reserve(struct pb_approvals *ap)
{
	struct pb_approval_rec *v;
	size_t cap;

	if (ap->n < ap->cap)
		return 0;
	cap = ap->cap ? ap->cap * 2 : 64;
	v = realloc(ap->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ap->v = v;
	ap->cap = cap;
	return 0;
}

static void pb_apv_remove_at(struct pb_approvals *ap, size_t i)
{
	free(ap->v[i].signed_text);
	ap->v[i] = ap->v[--ap->n];
}

/* One journal line into memory. */
static void pb_apv_apply(struct pb_agent *a, json_t *o)
{
	struct pb_approvals *ap = &a->creds.apv;
	const char *op = json_string_value(json_object_get(o, "op")), *why;
	struct pb_approval_rec r = {0}, *old;
	struct pb_dest d;

	if (pb_id_parse(json_string_value(json_object_get(o, "id")), &r.id) || !r.id || !op)
		return;
	old = pb_apv_find(a, r.id);
	if (!strcmp(op, "forget")) {
		if (old)
			pb_apv_remove_at(ap, (size_t)(old - ap->v));
		return;
	}
	if (!strcmp(op, "use")) {
		uint64_t used = pb_json_u64_get(o, "used");

		if (old && used > old->used)
			old->used = (uint32_t)used;
		return;
	}
	if (strcmp(op, "put") || pb_id_parse(json_string_value(json_object_get(o, "cred")), &r.cred_id))
		return;
	if (json_string_value(json_object_get(o, "dest"))) {
		if (pb_dest_parse(json_string_value(json_object_get(o, "dest")),
				  json_string_value(json_object_get(o, "proto")), &d, &why))
			return;
		r.kind = PB_APV_DEST;
		r.key = (struct pb_approval_key){.cred_id = r.cred_id, .port = d.port,
						 .family = d.family, .proto = d.proto};
		memcpy(r.key.addr, d.addr, sizeof(r.key.addr));
	} else {
		r.kind = PB_APV_REQUEST;
		pb_apv_copy(o, "method", r.method, sizeof(r.method));
		pb_apv_copy(o, "url", r.url, sizeof(r.url));
	}
	r.uses = (uint32_t)pb_json_u64_get(o, "uses");
	r.used = (uint32_t)pb_json_u64_get(o, "used");
	r.expires = pb_json_u64_get(o, "expires");
	r.granted = pb_json_u64_get(o, "granted");
	r.ended_at = pb_json_u64_get(o, "ended_at");
	r.ended = pb_apv_end_name(json_string_value(json_object_get(o, "ended")));
	pb_apv_copy(o, "approver", r.approver, sizeof(r.approver));
	pb_apv_copy(o, "reason", r.reason, sizeof(r.reason));
	pb_apv_copy(o, "ticket", r.ticket, sizeof(r.ticket));
	pb_apv_copy(o, "fpr", r.fpr, sizeof(r.fpr));
	if (json_string_value(json_object_get(o, "signed")))
		r.signed_text = strdup(json_string_value(json_object_get(o, "signed")));
	if (old) {
		if (old->used > r.used)
			r.used = old->used; /* a use is never refunded */
		free(old->signed_text);
		*old = r;
		return;
	}
	if (pb_apv_reserve(ap)) {
		free(r.signed_text);
		return;
	}
	ap->v[ap->n++] = r;
}

/* After adopting pinned maps: the approvals the last agent granted, with
 * the kernel's count of a destination approval's uses where it is higher
 * (uses spent while no agent ran; their events wait in the ring buffer). */
int pb_approvals_load(struct pb_agent *a)
{
	struct pb_approvals *ap = &a->creds.apv;
	char *line = NULL;
	size_t cap = 0, adopted = 0;
	ssize_t len;
	FILE *f;

	snprintf(ap->path, sizeof(ap->path), "%s/approvals.jsonl", a->conf.state_dir);
	f = fopen(ap->path, "re");
	if (!f && errno != ENOENT)
		return pb_err(-errno, "approval: open %s: %m", ap->path);
	while (f && (len = getline(&line, &cap, f)) > 0) {
		json_t *o;

		if (line[len - 1] != '\n')
			break; /* torn by a crash: the rewrite below drops it */
		o = json_loads(line, 0, NULL);
		if (o)
			pb_apv_apply(a, o);
		else
			pb_warn("approval: %s: a line does not parse; skipped", ap->path);
		json_decref(o);
	}
	free(line);
	if (f)
		fclose(f);
	for (size_t i = 0; i < ap->n; i++) {
		struct pb_approval_rec *r = &ap->v[i];
		struct pb_approval k;

		if (r->kind != PB_APV_DEST || r->ended)
			continue;
		if (bpf_map_lookup_elem_flags(pb_apv_map_fd(a), &r->key, &k, BPF_F_LOCK) ||
		    k.id != r->id) {
			/* the kernel no longer has it: it cannot be spent */
			r->ended = "credential_ended";
			r->ended_at = pb_now_boot_ns();
			continue;
		}
		if (k.used > r->used)
			r->used = k.used;
		adopted++;
	}
	if (ap->n)
		pb_info("approval: adopted %zu live approvals (%zu known)", adopted, ap->n);
	return pb_apv_rewrite(a);
}

/* A fresh start: no kernel map holds the approvals of an earlier run. */
int pb_approvals_reset(struct pb_agent *a)
{
	struct pb_approvals *ap = &a->creds.apv;

	snprintf(ap->path, sizeof(ap->path), "%s/approvals.jsonl", a->conf.state_dir);
	return pb_apv_rewrite(a);
}

void pb_approvals_stop(struct pb_agent *a)
{
	struct pb_approvals *ap = &a->creds.apv;

	while (ap->n)
		pb_apv_remove_at(ap, ap->n - 1);
	free(ap->v);
	ap->v = NULL;
	ap->cap = 0;
	if (ap->fd >= 0)
		close(ap->fd);
	ap->fd = -1;
}

/* ---- events ---- */

/* An approval's record, written out at once (not at the next tick): a use
 * is evidence, and a crash of the agent must not take it with it. */
static void pb_apv_record_line(struct pb_agent *a, struct pb_buf *b)
{
	pb_emit_line(a, b);
	pb_events_flush(a);
}

/* The approval as events name it, under "approval". */
static void pb_json_approval(struct pb_buf *b, const struct pb_approval_rec *r)
{
	char id[17], ts[40];

	pb_id_format(r->id, id);
	pb_json_key(b, "approval");
	pb_json_begin(b);
	pb_json_str(b, "id", id);
	pb_json_str(b, "approver", r->approver);
	pb_json_str(b, "source", r->signed_text ? "signed" : "local");
	pb_json_str(b, "key_fingerprint", r->fpr[0] ? r->fpr : NULL);
	pb_json_str(b, "reason", r->reason);
	pb_json_str(b, "ticket", r->ticket[0] ? r->ticket : NULL);
	pb_apv_json_action(b, r, "destination", "protocol");
	pb_json_u64(b, "uses", r->uses);
	pb_json_u64(b, "used", r->used);
	pb_boot_to_rfc3339(r->expires, ts, sizeof(ts));
	pb_json_str(b, "expires", ts);
	pb_json_end(b);
}

/* The credential an approval names: what the agent knows, or its id. */
static void pb_apv_json_cred(struct pb_agent *a, struct pb_buf *b, uint64_t id)
{
	struct pb_cred_meta *m = id ? pb_cred_find(a, id) : NULL;

	if (m) {
		pb_json_cred_meta(a, b, "credential", m);
		return;
	}
	pb_json_key(b, "credential");
	pb_json_begin(b);
	pb_json_id(b, "id", id);
	pb_json_end(b);
}

static void pb_apv_emit(struct pb_agent *a, const char *type, const struct pb_approval_rec *r,
			const char *reason)
{
	struct pb_buf *b = &a->sink.line;

	pb_event_begin(a, b, type, pb_now_boot_ns());
	if (reason)
		pb_json_str(b, "reason", reason);
	pb_json_approval(b, r);
	pb_apv_json_cred(a, b, r->cred_id);
	pb_json_end(b);
	pb_apv_record_line(a, b);
}

/* End r (why: "exhausted", ...), with its event and journal line. A
 * revoked one, or one whose credential ended, leaves the kernel at once. */
static void pb_apv_end(struct pb_agent *a, struct pb_approval_rec *r, const char *why)
{
	if (r->ended)
		return;
	r->ended = why;
	r->ended_at = pb_now_boot_ns();
	if (r->kind == PB_APV_DEST && why[0] != 'e')
		bpf_map_delete_elem(pb_apv_map_fd(a), &r->key);
	pb_apv_put(a, r);
	pb_apv_emit(a, "approval_ended", r, why);
}

/* A use r's owner spent (the kernel's count or the agent's): recorded
 * durably, and the approval ended when it was the last. */
static void pb_apv_used(struct pb_agent *a, struct pb_approval_rec *r, uint32_t used)
{
	if (used > r->used) {
		r->used = used;
		pb_apv_op(a, "use", r->id, used);
	}
	a->creds.apv.used++;
	if (r->used >= r->uses)
		pb_apv_end(a, r, "exhausted");
}

void pb_approval_event(struct pb_agent *a, const struct pb_approval_event *e)
{
	struct pb_approval_rec *r = e->approval_id ? pb_apv_find(a, e->approval_id) : NULL;
	struct pb_buf *b = &a->sink.line;
	char addr[64];
	struct pb_dest d = {.port = e->dport, .family = (__u8)e->family, .proto = e->protocol};

	memcpy(d.addr, e->daddr, sizeof(d.addr));
	pb_dest_format(&d, addr, sizeof(addr));
	pb_event_begin(a, b, e->reason == PB_OK ? "approval_used" : "approval_refused",
		       e->hdr.time);
	pb_json_str(b, "verdict", pb_verdict_name(e->verdict));
	pb_json_str(b, "reason", pb_reason_name(e->reason));
	pb_json_str(b, "mode", pb_mode_name(e->mode));
	pb_json_str(b, "hook", pb_hook_name(e->hook));
	pb_json_str(b, "destination", addr);
	pb_json_str(b, "protocol", e->protocol == 17 ? "udp" : "tcp");
	inet_ntop(e->family == PB_AF_INET ? AF_INET : AF_INET6, e->daddr, addr, sizeof(addr));
	pb_json_str(b, "daddr", addr); /* as connect events name it */
	pb_json_u64(b, "dport", e->dport);
	if (e->reason == PB_OK) {
		pb_json_u64(b, "use", e->use);
		pb_json_u64(b, "uses", e->uses);
	}
	if (r) {
		struct pb_approval_rec shown = *r;

		if (e->reason == PB_OK && e->use > shown.used)
			shown.used = e->use; /* as of this use */
		pb_json_approval(b, &shown);
	} else if (e->approval_id) {
		pb_json_key(b, "approval");
		pb_json_begin(b);
		pb_json_id(b, "id", e->approval_id);
		pb_json_end(b);
	} else {
		pb_json_raw(b, "approval", "null");
	}
	pb_json_task(a, b, "process", &e->task);
	pb_apv_json_cred(a, b, e->cred_id);
	pb_json_end(b);
	pb_apv_record_line(a, b);
	if (e->reason != PB_OK) {
		a->creds.apv.refused++;
		return;
	}
	if (r)
		pb_apv_used(a, r, e->use);
}

/* ---- granting ---- */

/* An approval as the control socket asks for it. */
struct pb_apv_ask {
	uint64_t cred_id;
	int kind;
	struct pb_dest dest;
	char method[16], url[PB_APV_TEXT];
	uint32_t uses;
	uint64_t expires_in; /* ns; 0: the credential's */
	char approver[64], reason[PB_APV_TEXT], ticket[128];
	uint64_t id; /* signed: the id the approver gave it */
	char fpr[17];
	char *signed_text;
	int64_t not_after, not_before; /* signed: unix seconds */
};

static int pb_apv_text(const char *v, char *out, size_t len, const char *what, char *err,
		       size_t errlen)
{
	if (!v)
		return 0;
	if (strlen(v) >= len)
		return pb_errf(err, errlen, -EINVAL, "approve: %s is longer than %zu characters",
			       what, len - 1);
	for (const char *q = v; *q; q++)
		if ((unsigned char)*q < 0x20)
			return pb_errf(err, errlen, -EINVAL, "approve: %s has a control character",
				       what);
	snprintf(out, len, "%s", v);
	return 0;
}

/* The action: a destination (with its protocol) or a request. */
static int pb_apv_action(struct pb_apv_ask *q, const char *dest, const char *proto,
			 const char *method, const char *url, char *err, size_t errlen)
{
	const char *why;

	if (!!dest == !!(method || url))
		return pb_errf(err, errlen, -EINVAL,
			       "approve: give a destination (dest) or a request (method and url)");
	if (dest) {
		q->kind = PB_APV_DEST;
		if (pb_dest_parse(dest, proto, &q->dest, &why))
			return pb_errf(err, errlen, -EINVAL, "approve: destination '%s' %s", dest,
				       why);
		return 0;
	}
	q->kind = PB_APV_REQUEST;
	if (!method || !url || !method[0] || !url[0])
		return pb_errf(err, errlen, -EINVAL, "approve: a request needs a method and a url");
	if (pb_apv_text(method, q->method, sizeof(q->method), "method", err, errlen) ||
	    pb_apv_text(url, q->url, sizeof(q->url), "url", err, errlen))
		return -EINVAL;
	return 0;
}

/* A signed approval: opened with the key of the approver that signed it
 * (the policy's approvers, each tried), its claims into q. */
static int pb_apv_open_signed(struct pb_agent *a, const char *text, struct pb_apv_ask *q,
			      char *err, size_t errlen)
{
	const struct pb_policy *p = &a->purpose.policy;
	const struct pb_approver *who = NULL;
	char *claims = NULL;
	json_t *o;
	int ret = -EBADMSG;

	if (strncmp(text, PB_APPROVAL_PREFIX, strlen(PB_APPROVAL_PREFIX)))
		return pb_errf(err, errlen, -EINVAL,
			       "approve: not a signed approval (it starts with %s)",
			       PB_APPROVAL_PREFIX);
	for (unsigned int i = 0; i < p->napprovers && ret; i++) {
		ret = pb_signed_open(PB_APPROVAL_PREFIX, text, p->approvers[i].key, &claims);
		if (!ret)
			who = &p->approvers[i];
		else if (ret == -EINVAL)
			return pb_errf(err, errlen, -EINVAL, "approve: the signed approval is malformed");
	}
	if (!who)
		return pb_errf(err, errlen, -EPERM,
			       "approve: the signed approval is not signed by any approver in the "
			       "policy (altered, or signed by an unknown key)");
	o = json_loads(claims, 0, NULL);
	free(claims);
	if (!o || json_integer_value(json_object_get(o, "v")) != 1 ||
	    pb_id_parse(json_string_value(json_object_get(o, "id")), &q->id) || !q->id ||
	    pb_id_parse(json_string_value(json_object_get(o, "cred")), &q->cred_id) ||
	    !json_is_integer(json_object_get(o, "uses")) ||
	    !json_is_integer(json_object_get(o, "exp")) ||
	    !json_is_integer(json_object_get(o, "iat")) ||
	    !json_string_value(json_object_get(o, "reason"))) {
		json_decref(o);
		return pb_errf(err, errlen, -EINVAL,
			       "approve: the signed approval's claims are incomplete");
	}
	ret = pb_apv_action(q, json_string_value(json_object_get(o, "dest")),
			    json_string_value(json_object_get(o, "proto")),
			    json_string_value(json_object_get(o, "method")),
			    json_string_value(json_object_get(o, "url")), err, errlen);
	if (!ret) {
		json_int_t uses = json_integer_value(json_object_get(o, "uses"));
		const char *named = json_string_value(json_object_get(o, "approver"));

		q->uses = uses > 0 && uses <= PB_APV_MAX_USES ? (uint32_t)uses : 0;
		q->not_after = json_integer_value(json_object_get(o, "exp"));
		q->not_before = json_integer_value(json_object_get(o, "iat"));
		snprintf(q->approver, sizeof(q->approver), "%s", who->name);
		if (named && strcmp(named, who->name))
			ret = pb_errf(err, errlen, -EPERM,
				      "approve: the approval names approver '%s' but is signed by "
				      "'%s''s key",
				      named, who->name);
		if (!ret)
			ret = pb_apv_text(json_string_value(json_object_get(o, "reason")), q->reason,
					  sizeof(q->reason), "reason", err, errlen);
		if (!ret)
			ret = pb_apv_text(json_string_value(json_object_get(o, "ticket")), q->ticket,
					  sizeof(q->ticket), "ticket", err, errlen);
		if (!ret && !q->uses)
			ret = pb_errf(err, errlen, -EINVAL, "approve: uses must be in [1, %d]",
				      PB_APV_MAX_USES);
		if (!ret && !q->reason[0])
			ret = pb_errf(err, errlen, -EINVAL, "approve: the approval gives no reason");
	}
	json_decref(o);
	if (ret)
		return ret;
	pb_key_fingerprint(who->key, q->fpr);
	q->signed_text = strdup(text);
	return q->signed_text ? 0 : -ENOMEM;
}

/* Whether the credential's identity takes this approval from this approver. */
static int pb_apv_admit(struct pb_agent *a, const struct pb_apv_ask *q,
			const struct pb_cred_meta *m, char *err, size_t errlen)
{
	const struct pb_policy *p = &a->purpose.policy;
	const struct pb_identity *id = pb_policy_identity(p, m->identity);
	const struct pb_approver *ap = pb_policy_approver(p, q->approver);

	if (!q->signed_text && id && id->approvals_signed)
		return pb_errf(err, errlen, -EPERM,
			       "approve: identity '%s' takes only approvals signed by a listed "
			       "approver (approvals: signed); sign one with procbindctl approval "
			       "sign",
			       m->identity);
	if (ap && !pb_approver_may(p, ap, id))
		return pb_errf(err, errlen, -EPERM,
			       "approve: approver '%s' may not approve for identity '%s'",
			       q->approver, m->identity);
	return 0;
}

/* The live approval for the same credential and action, if any. */
static struct pb_approval_rec *pb_apv_same(struct pb_agent *a, const struct pb_apv_ask *q,
					   const struct pb_approval_key *k)
{
	for (size_t i = 0; i < a->creds.apv.n; i++) {
		struct pb_approval_rec *r = &a->creds.apv.v[i];

		if (r->ended || r->cred_id != q->cred_id || r->kind != q->kind)
			continue;
		if (q->kind == PB_APV_DEST ? !memcmp(&r->key, k, sizeof(*k))
					   : !strcmp(r->method, q->method) && !strcmp(r->url, q->url))
			return r;
	}
	return NULL;
}

/* Room for one more: an ended one, past its keeping, is forgotten first. */
static int pb_apv_room(struct pb_agent *a)
{
	if (pb_approvals_live(a) >= PB_APV_MAX)
		return -ENOSPC;
	return pb_apv_reserve(&a->creds.apv);
}

static int pb_apv_grant(struct pb_agent *a, struct pb_apv_ask *q, struct pb_buf *out, char *err,
			size_t errlen)
{
	struct pb_cred_meta *m = pb_cred_find(a, q->cred_id);
	uint64_t now = pb_now_boot_ns(), expires;
	struct pb_approval_key k = {0};
	struct pb_approval_rec r = {0}, *same;
	char idhex[17];
	int ret;

	pb_id_format(q->cred_id, idhex);
	if (!m)
		return pb_errf(err, errlen, -ENOENT, "approve: unknown credential %s", idhex);
	if (m->died || (m->bind.flags & PB_CRED_REVOKED) || now >= m->bind.expires)
		return pb_errf(err, errlen, -EPERM, "approve: credential %s has ended (%s)", idhex,
			       m->death ? m->death : "revoked");
	if ((ret = pb_apv_admit(a, q, m, err, errlen)))
		return ret;
	expires = m->bind.expires; /* an approval never outlives its credential */
	if (q->expires_in && now + q->expires_in < expires)
		expires = now + q->expires_in;
	if (q->signed_text) {
		int64_t wall = (int64_t)time(NULL);

		if (q->not_after <= wall)
			return pb_errf(err, errlen, -EKEYEXPIRED, "approve: the signed approval expired");
		if (q->not_before > wall + 300)
			return pb_errf(err, errlen, -EINVAL,
				       "approve: the signed approval is dated in the future");
		if (now + (uint64_t)(q->not_after - wall) * 1000000000ULL < expires)
			expires = now + (uint64_t)(q->not_after - wall) * 1000000000ULL;
		if (pb_apv_find(a, q->id))
			return pb_errf(err, errlen, -EALREADY,
				       "approve: signed approval %016llx was submitted before; an "
				       "approval is granted once",
				       (unsigned long long)q->id);
	} else {
		randombytes_buf(&q->id, sizeof(q->id));
		q->id |= 1;
	}
	if (q->kind == PB_APV_DEST) {
		k.cred_id = q->cred_id;
		memcpy(k.addr, q->dest.addr, sizeof(k.addr));
		k.port = q->dest.port;
		k.family = q->dest.family;
		k.proto = q->dest.proto;
	}
	same = pb_apv_same(a, q, &k);
	if (same)
		return pb_errf(err, errlen, -EEXIST,
			       "approve: approval %016llx for this credential and action is live "
			       "(%u of %u uses left); revoke it first",
			       (unsigned long long)same->id, same->uses - same->used, same->uses);
	if ((ret = pb_apv_room(a)))
		return pb_errf(err, errlen, ret, "approve: %s",
			       ret == -ENOSPC ? "the approvals map is full (4096 live)"
					      : "out of memory");
	r = (struct pb_approval_rec){.id = q->id, .cred_id = q->cred_id, .kind = q->kind, .key = k,
				     .uses = q->uses, .expires = expires, .granted = now,
				     .signed_text = q->signed_text};
	snprintf(r.method, sizeof(r.method), "%s", q->method);
	snprintf(r.url, sizeof(r.url), "%s", q->url);
	snprintf(r.approver, sizeof(r.approver), "%s", q->approver);
	snprintf(r.reason, sizeof(r.reason), "%s", q->reason);
	snprintf(r.ticket, sizeof(r.ticket), "%s", q->ticket);
	snprintf(r.fpr, sizeof(r.fpr), "%s", q->fpr);
	/* on disk first: a grant the journal lacks would be forgotten */
	if ((ret = pb_apv_put(a, &r)))
		return pb_errf(err, errlen, ret, "approve: the approvals journal: %s",
			       strerror(-ret));
	if (q->kind == PB_APV_DEST) {
		struct pb_approval kv = {.uses = r.uses, .id = r.id, .expires = r.expires};

		if (bpf_map_update_elem(pb_apv_map_fd(a), &k, &kv, BPF_ANY)) {
			ret = -errno;
			pb_apv_op(a, "forget", r.id, 0);
			return pb_errf(err, errlen, ret, "approve: approvals map: %s%s",
				       strerror(-ret),
				       ret == -E2BIG ? " (full: revoke or wait for some to end)" : "");
		}
	}
	q->signed_text = NULL; /* the record's now */
	a->creds.apv.v[a->creds.apv.n++] = r;
	a->creds.apv.granted++;
	pb_apv_emit(a, "approval_granted", &r, NULL);
	pb_json_begin(out);
	pb_json_id(out, "id", r.id);
	pb_json_u64(out, "uses", r.uses);
	pb_json_u64(out, "expires_in", (r.expires - now) / 1000000000ULL);
	pb_json_str(out, "source", r.signed_text ? "signed" : "local");
	pb_json_str(out, "approver", r.approver);
	pb_json_end(out);
	return 0;
}

int pb_approve(struct pb_agent *a, const struct pb_approve_req *in, struct pb_buf *out, char *err,
	       size_t errlen)
{
	struct pb_apv_ask q = {.uses = 1};
	uint64_t v;
	int ret;

	if (in->signed_text) {
		if (in->credential || in->dest || in->method || in->url || in->uses ||
		    in->expires || in->approver || in->reason || in->ticket)
			return pb_errf(err, errlen, -EINVAL,
				       "approve: a signed approval says everything itself; give it "
				       "alone");
		ret = pb_apv_open_signed(a, in->signed_text, &q, err, errlen);
	} else {
		if (!in->credential || pb_id_parse(in->credential, &q.cred_id))
			return pb_errf(err, errlen, -EINVAL,
				       "approve: credential must be a credential id (16 hex digits)");
		if (!in->approver || !in->approver[0] || !in->reason || !in->reason[0])
			return pb_errf(err, errlen, -EINVAL,
				       "approve: an approval names its approver and its reason");
		ret = pb_apv_action(&q, in->dest, in->proto, in->method, in->url, err, errlen);
		if (!ret && in->uses && (pb_parse_u64(in->uses, 1, PB_APV_MAX_USES, &v) ||
					 (q.uses = (uint32_t)v, 0)))
			ret = pb_errf(err, errlen, -EINVAL, "approve: uses must be in [1, %d]",
				      PB_APV_MAX_USES);
		if (!ret && in->expires && (pb_duration_parse(in->expires, &q.expires_in) ||
					    !q.expires_in))
			ret = pb_errf(err, errlen, -EINVAL,
				      "approve: expires '%s' is not a duration (90s, 15m, 2h)",
				      in->expires);
		if (!ret)
			ret = pb_apv_text(in->approver, q.approver, sizeof(q.approver), "approver",
					  err, errlen);
		if (!ret)
			ret = pb_apv_text(in->reason, q.reason, sizeof(q.reason), "reason", err,
					  errlen);
		if (!ret)
			ret = pb_apv_text(in->ticket, q.ticket, sizeof(q.ticket), "ticket", err,
					  errlen);
	}
	if (!ret)
		ret = pb_apv_grant(a, &q, out, err, errlen);
	free(q.signed_text);
	return ret;
}

int pb_approval_revoke(struct pb_agent *a, uint64_t id, char *err, size_t errlen)
{
	struct pb_approval_rec *r = pb_apv_find(a, id);

	if (!r)
		return pb_errf(err, errlen, -ENOENT, "revoke-approval: unknown approval %016llx",
			       (unsigned long long)id);
	if (r->ended)
		return pb_errf(err, errlen, -EALREADY,
			       "revoke-approval: approval %016llx has ended (%s)",
			       (unsigned long long)id, r->ended);
	pb_apv_end(a, r, "revoked");
	return 0;
}

size_t pb_approvals_live(const struct pb_agent *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->creds.apv.n; i++)
		n += !a->creds.apv.v[i].ended;
	return n;
}

void pb_approvals_list(struct pb_agent *a, struct pb_buf *out)
{
	uint64_t now = pb_now_boot_ns();

	pb_json_array_begin(out);
	for (size_t i = 0; i < a->creds.apv.n; i++) {
		struct pb_approval_rec *r = &a->creds.apv.v[i];
		struct pb_cred_meta *m = pb_cred_find(a, r->cred_id);

		if (r->ended)
			continue;
		pb_json_begin(out);
		pb_json_id(out, "id", r->id);
		pb_json_id(out, "credential", r->cred_id);
		pb_json_str(out, "identity", m ? m->identity : NULL);
		pb_json_u64(out, "pid", m ? m->bind.owner.tgid : 0);
		pb_json_str(out, "action", r->kind == PB_APV_DEST ? "connect" : "request");
		pb_apv_json_action(out, r, "destination", "protocol");
		pb_json_u64(out, "uses", r->uses);
		pb_json_u64(out, "uses_left", r->uses - r->used);
		pb_json_u64(out, "expires_in", r->expires > now ? (r->expires - now) / 1000000000ULL : 0);
		pb_json_str(out, "approver", r->approver);
		pb_json_str(out, "source", r->signed_text ? "signed" : "local");
		pb_json_str(out, "reason", r->reason);
		pb_json_str(out, "ticket", r->ticket[0] ? r->ticket : NULL);
		pb_json_end(out);
	}
	pb_json_array_end(out);
}

/* ---- a proof's request ---- */

int pb_approval_spend_request(struct pb_agent *a, const struct pb_cred_meta *m,
			      const char *method, const char *url, const struct pb_task_ref *who,
			      struct pb_apv_claim *claim, char *err, size_t errlen)
{
	const struct pb_identity *id = pb_policy_identity(&a->purpose.policy, m->identity);
	const struct pb_request_rule *rule = pb_identity_request(id, method, url);
	struct pb_approval_rec *best = NULL;
	enum pb_reason reason = PB_R_APPROVAL_MISSING;
	uint64_t now = pb_now_boot_ns();
	struct pb_buf *b = &a->sink.line;

	memset(claim, 0, sizeof(*claim));
	if (!rule || !rule->requires_approval)
		return 0;
	for (size_t i = 0; i < a->creds.apv.n; i++) {
		struct pb_approval_rec *r = &a->creds.apv.v[i];
		struct pb_approval k = {.uses = r->uses, .used = r->used, .expires = r->expires};
		enum pb_reason rr;

		if (r->kind != PB_APV_REQUEST || r->cred_id != m->id ||
		    strcmp(r->method, method) || !pb_url_match(r->url, url))
			continue;
		rr = r->ended && r->ended[0] == 'r' ? PB_R_APPROVAL_MISSING
						    : pb_approval_reason(&k, now);
		if (!best || rr == PB_OK)
			best = r, reason = rr;
		if (rr == PB_OK)
			break;
	}
	if (reason == PB_OK && pb_apv_op(a, "use", best->id, best->used + 1))
		reason = PB_R_APPROVAL_UNRECORDED; /* a use not on disk is not spent */
	pb_event_begin(a, b, reason == PB_OK ? "approval_used" : "approval_refused", now);
	pb_json_str(b, "verdict", reason == PB_OK ? "allow" : "deny");
	pb_json_str(b, "reason", pb_reason_name(reason));
	pb_json_str(b, "method", method);
	pb_json_str(b, "url", url);
	if (reason == PB_OK) {
		pb_json_u64(b, "use", best->used + 1);
		pb_json_u64(b, "uses", best->uses);
	}
	if (best) {
		struct pb_approval_rec shown = *best;

		shown.used += reason == PB_OK;
		pb_json_approval(b, &shown);
	} else {
		pb_json_raw(b, "approval", "null");
	}
	pb_json_task(a, b, "process", who);
	pb_json_cred_meta(a, b, "credential", m);
	pb_json_end(b);
	pb_apv_record_line(a, b);
	if (reason != PB_OK) {
		a->creds.apv.refused++;
		return pb_errf(err, errlen, -EPERM,
			       "proof: refused (%s): %s %s needs an approval for credential %016llx "
			       "(procbindctl approve --request)",
			       pb_reason_name(reason), method, url, (unsigned long long)m->id);
	}
	best->used++; /* its journal line is written above */
	claim->id = best->id;
	snprintf(claim->approver, sizeof(claim->approver), "%s", best->approver);
	claim->use = best->used;
	claim->signed_text = best->signed_text;
	pb_apv_used(a, best, best->used); /* counted, and ended after the last */
	return 0;
}

/* ---- once a second ---- */

void pb_approvals_tick(struct pb_agent *a)
{
	struct pb_approvals *ap = &a->creds.apv;
	uint64_t now = pb_now_boot_ns();

	for (size_t i = 0; i < ap->n;) {
		struct pb_approval_rec *r = &ap->v[i];
		struct pb_cred_meta *m = pb_cred_find(a, r->cred_id);

		if (!r->ended && (!m || m->died || (m->bind.flags & PB_CRED_REVOKED)))
			pb_apv_end(a, r, "credential_ended");
		else if (!r->ended && now >= r->expires)
			pb_apv_end(a, r, "expired");
		if (r->ended && now > r->expires + PB_APV_KEEP_NS && now > r->ended_at + PB_APV_KEEP_NS) {
			if (r->kind == PB_APV_DEST)
				bpf_map_delete_elem(pb_apv_map_fd(a), &r->key);
			pb_apv_op(a, "forget", r->id, 0);
			pb_apv_remove_at(ap, i);
			continue;
		}
		i++;
	}
	if (ap->lines > 2 * ap->n + 1024)
		pb_apv_rewrite(a);
}
