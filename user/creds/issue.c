// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the workload socket hands out, to a caller the socket has identified
 * (agent/workload.c): a credential for the caller itself, with no file, and
 * a proof for one request, signed only for the process a credential is bound
 * to while it is alive and unchanged (or its child, where the credential
 * allows children). */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "creds.h"
#include "events.h"
#include "kernel.h"
#include "log.h"
#include "proof.h"
#include "purpose.h"
#include "sysfs.h"
#include "token.h"
#include "util.h"
#include "procbind/decision.h"
#include "procbind/verify.h"
#include "procbind.skel.h"

/* The caller as events name it. */
static void pb_caller_ref(const struct pb_live *lv, struct pb_task_ref *r)
{
	memset(r, 0, sizeof(*r));
	r->proc = lv->s.self;
	r->pid = lv->s.self.tgid;
	r->ppid = lv->s.parent.tgid;
	r->cgroup_id = lv->s.cgroup_id;
	r->exe_dev = lv->s.exe_dev;
	r->exe_ino = lv->s.exe_ino;
	r->uid = lv->have_rec ? lv->rec.uid : 0;
	snprintf(r->comm, sizeof(r->comm), "%s", lv->st.comm);
}

int pb_issue_token(struct pb_agent *a, const struct pb_live *caller, const struct pb_issue *in,
		   struct pb_buf *out, char *err, size_t errlen)
{
	struct pb_mint_req req = {.pid = caller->s.self.tgid,
				  .ttl = in->ttl,
				  .inherit = in->inherit,
				  .no_file = !in->handover,
				  .exe_dev = in->exe_dev,
				  .exe_ino = in->exe_ino,
				  .exe_path = in->exe_path,
				  .via = "workload",
				  .handover = in->handover,
				  .handover_fd = in->handover_fd};
	struct pb_cred_meta *meta;
	char *token = NULL;
	int ret;

	if (!caller->have_rec)
		return pb_errf(err, errlen, -EPERM,
			       "token: process %u has no record in the kernel yet; retry",
			       req.pid);
	if (in->identity && in->identity[0]) {
		snprintf(req.identity, sizeof(req.identity), "%s", in->identity);
	} else {
		/* the identity it carries */
		uint64_t tag = pb_purpose_proc_tag(a, &caller->rec);

		if (!tag)
			return pb_errf(err, errlen, -EPERM,
				       "token: process %u carries no identity: its cgroup or "
				       "executable matches none in the policy",
				       req.pid);
		char name[PB_IDENTITY_LEN + 24];

		snprintf(req.identity, sizeof(req.identity), "%s",
			 pb_ident_name(a, tag, name, sizeof(name)));
	}
	if (in->audience)
		snprintf(req.audience, sizeof(req.audience), "%s", in->audience);
	ret = pb_mint(a, &req, &meta, &token, err, errlen);
	if (ret)
		return ret;
	pb_json_begin(out);
	pb_json_id(out, "id", meta->id);
	/* handed over: the bytes are only in the guarded file */
	pb_json_str(out, in->handover ? "handover" : "token", in->handover ? "fd" : token);
	pb_json_str(out, "identity", meta->identity);
	pb_json_u64(out, "pid", meta->bind.owner.tgid);
	pb_json_str(out, "pid_ns", "host");
	pb_json_u64(out, "expires_in", (meta->bind.expires - meta->issued) / 1000000000ULL);
	pb_json_end(out);
	sodium_memzero(token, strlen(token));
	free(token);
	return 0;
}

/* The credential a token names, if this agent holds it. */
static struct pb_cred_meta *pb_token_cred(struct pb_agent *a, const char *token, char *err,
					  size_t errlen, int *ret)
{
	char *claims = NULL;
	enum pb_verify_result v = pb_verify_token(token, a->key.pk, time(NULL), &claims);
	struct pb_cred_meta *m = NULL;
	uint64_t id = 0;
	json_t *o;

	if (v != PB_V_OK) {
		*ret = pb_errf(err, errlen, v == PB_V_EXPIRED ? -EKEYEXPIRED : -EINVAL,
			       "proof: the token is %s", pb_verify_result_name(v));
		return NULL;
	}
	o = json_loads(claims, 0, NULL);
	free(claims);
	if (o)
		pb_id_parse(json_string_value(json_object_get(o, "id")), &id);
	json_decref(o);
	m = id ? pb_cred_find(a, id) : NULL;
	if (!m)
		*ret = pb_errf(err, errlen, -ENOENT,
			       "proof: the token names a credential this agent does not hold");
	return m;
}

int pb_issue_proof(struct pb_agent *a, const struct pb_live *caller, const struct pb_issue *in,
		   struct pb_buf *out, char *err, size_t errlen)
{
	struct pb_proof_req pr = {.token = in->token,
				  .method = in->method,
				  .url = in->url,
				  .nonce = in->nonce,
				  .iat = (int64_t)time(NULL)};
	struct pb_owner_lookup owner = {.procs_fd = bpf_map__fd(a->kern.skel->maps.procs)};
	struct pb_apv_claim claim;
	const struct pb_cred *c;
	struct pb_task_ref ref;
	struct pb_cred_meta *m;
	struct pb_buf *b = &a->sink.line;
	enum pb_reason reason;
	char jti[32], *proof;
	int ret = 0;

	if (!in->token || !in->method || !in->url || !in->method[0] || !in->url[0])
		return pb_errf(err, errlen, -EINVAL, "proof: token, method and url are needed");
	m = pb_token_cred(a, in->token, err, errlen, &ret);
	if (!m)
		return ret;
	/* The rule of the file guard and the connect hooks: the bound process
	 * while it is that process (same instance, cgroup, executable, the
	 * credential alive), or its forked child where the credential allows
	 * children, while the bound process lives. */
	c = m->died ? NULL : &m->bind;
	reason = pb_judge_cred(&caller->s, c, pb_owner_lookup, &owner, pb_now_boot_ns());
	if (reason == PB_OK) /* a tracer would have it sign what the tracer wants */
		reason = pb_traced_reason(reason, c, pb_proc_traced(caller->s.self.tgid) != 0);
	pb_caller_ref(caller, &ref);
	if (reason != PB_OK) {
		pb_event_begin(a, b, "proof_refused", pb_now_boot_ns());
		pb_json_str(b, "reason", pb_reason_name(reason));
		pb_json_str(b, "method", in->method);
		pb_json_str(b, "url", in->url);
		pb_json_task(a, b, "process", &ref);
		pb_json_cred_meta(a, b, "credential", m);
		pb_json_end(b);
		pb_emit_line(a, b);
		if (reason == PB_R_TRACED)
			return pb_errf(err, errlen, -EPERM,
				       "proof: refused (traced): pid %u is traced by another process, "
				       "and identity '%s' does not allow that (allow_traced)",
				       caller->s.self.tgid, m->identity);
		return pb_errf(err, errlen, -EPERM,
			       "proof: refused (%s): credential %016llx is bound to pid %u; the "
			       "process that asked is pid %u",
			       pb_reason_name(reason), (unsigned long long)m->id,
			       m->bind.owner.tgid, caller->s.self.tgid);
	}
	/* a request the identity gates behind an approval spends a use first */
	ret = pb_approval_spend_request(a, m, in->method, in->url, &ref, &claim, err, errlen);
	if (ret)
		return ret;
	pr.cred_id = m->id;
	pr.bind = &m->bind;
	pr.apv_id = claim.id;
	pr.apv_approver = claim.approver;
	pr.apv_use = claim.use;
	pr.apv_signed = claim.signed_text;
	proof = pb_proof_sign(&pr, a->key.sk, a->key.pk, jti);
	if (!proof)
		return pb_errf(err, errlen, -ENOMEM, "proof: out of memory");
	pb_event_begin(a, b, "proof_issued", pb_now_boot_ns());
	pb_json_str(b, "jti", jti);
	pb_json_str(b, "method", in->method);
	pb_json_str(b, "url", in->url);
	pb_json_str(b, "nonce", in->nonce && in->nonce[0] ? in->nonce : NULL);
	pb_json_u64(b, "ttl_s", PB_PROOF_TTL_S);
	if (claim.id) { /* the approval it spent, found by trail --approval */
		pb_json_key(b, "approval");
		pb_json_begin(b);
		pb_json_id(b, "id", claim.id);
		pb_json_u64(b, "use", claim.use);
		pb_json_end(b);
	}
	pb_json_task(a, b, "process", &ref);
	pb_json_cred_meta(a, b, "credential", m);
	pb_json_end(b);
	pb_emit_line(a, b);
	pb_json_begin(out);
	pb_json_str(out, "proof", proof);
	pb_json_str(out, "jti", jti);
	pb_json_u64(out, "expires_in", PB_PROOF_TTL_S);
	pb_json_end(out);
	free(proof);
	return 0;
}
