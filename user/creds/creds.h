/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Credentials: the node key (key.c), minting (mint.c: validate, bind,
 * register, write, confirm), revocation, expiry and owner exit (life.c), and
 * persistence across agent restarts (journal.c: STATE-DIR/creds.jsonl). */
#ifndef PB_CREDS_H
#define PB_CREDS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "mint_check.h"
#include "state.h"

int pb_key_load_or_create(struct pb_agent *a);

/* On success fills *meta_out with the new credential. On error returns -errno
 * and a one-line message in err. */
/* Mint for req->pid; *meta_out is the stored credential. With token_out,
 * the token is also handed back (malloc'd; the caller wipes and frees it). */
int pb_mint(struct pb_agent *a, const struct pb_mint_req *req, struct pb_cred_meta **meta_out,
	    char **token_out, char *err, size_t errlen);
int pb_revoke(struct pb_agent *a, uint64_t id, char *err, size_t errlen);
/* Revoke, naming why the credential ended ("revoked", "identity_removed"). */
int pb_revoke_why(struct pb_agent *a, uint64_t id, const char *death, char *err, size_t errlen);
struct pb_cred_meta *pb_cred_find(struct pb_agent *a, uint64_t id); /* constant time */
/* A credential another module keeps (adopt/'s files) in the store: room for
 * one (0 or -ENOMEM), add it (the store takes m's strings), remove it. */
int pb_creds_reserve(struct pb_agent *a);
struct pb_cred_meta *pb_creds_add(struct pb_agent *a, const struct pb_cred_meta *m);
void pb_creds_remove(struct pb_agent *a, struct pb_cred_meta *m);
void pb_creds_tick(struct pb_agent *a); /* expiry, owner exit, clean-up */
/* Count a credential minted (reason NULL) or ended (reason) for identity. */
void pb_creds_tally(struct pb_agent *a, const char *identity, const char *reason);
/* STATE-DIR/creds.jsonl (journal.h): after adopting pinned maps, what the
 * last agent knew; on a fresh start, an empty journal. */
int pb_creds_load(struct pb_agent *a);
int pb_creds_journal_reset(struct pb_agent *a);
void pb_creds_stop(struct pb_agent *a); /* the store and the journal */
int pb_creds_guard_all(struct pb_agent *a); /* mark every live file for the file guard */
/* The credential as events name it, under key. */
void pb_json_cred_meta(struct pb_agent *a, struct pb_buf *b, const char *key,
		       const struct pb_cred_meta *m);

/* issue.c: the workload socket's requests, for a caller it identified. */
struct pb_live;
/* Set the hard core limit of bound process p to 0 (logged when it cannot). */
void pb_mint_core_off(const struct pb_pkey *p);

struct pb_issue {
	const char *identity, *audience; /* token: the identity (default: the one it carries) */
	uint64_t ttl;			 /* token: ns, 0 = policy default */
	int inherit;			 /* token: -1 default, 0 none, 1 children */
	uint64_t exe_dev, exe_ino;	 /* token: bind to this executable (run), 0: its own */
	const char *exe_path;		 /* token: that executable's path */
	const char *handover;		 /* token: hand over a descriptor of a file of this text */
	int *handover_fd;		 /* token, with handover: the descriptor */
	const char *token, *method, *url, *nonce; /* proof */
};
int pb_issue_token(struct pb_agent *a, const struct pb_live *caller, const struct pb_issue *in,
		   struct pb_buf *out, char *err, size_t errlen);
int pb_issue_proof(struct pb_agent *a, const struct pb_live *caller, const struct pb_issue *in,
		   struct pb_buf *out, char *err, size_t errlen);

/* approval.c: approvals (docs/approvals.md). */
struct pb_approve_req {
	/* local: credential, (dest [proto] | method url), uses, expires,
	 * approver, reason, ticket; signed: signed_text alone */
	const char *credential, *dest, *proto, *method, *url, *uses, *expires;
	const char *approver, *reason, *ticket, *signed_text;
};
/* Grant an approval; the reply (id, uses, expires_in) goes to out. */
int pb_approve(struct pb_agent *a, const struct pb_approve_req *r, struct pb_buf *out, char *err,
	       size_t errlen);
int pb_approval_revoke(struct pb_agent *a, uint64_t id, char *err, size_t errlen);
/* How many approvals are live (not ended). */
size_t pb_approvals_live(const struct pb_agent *a);
/* The live approvals, as a JSON array. */
void pb_approvals_list(struct pb_agent *a, struct pb_buf *out);
/* The connect programs spent a use of an approval, or refused a connect
 * for want of one: the event, and the count. */
void pb_approval_event(struct pb_agent *a, const struct pb_approval_event *e);
/* What a proof carries of the approval it spent (claim "apv"). */
struct pb_apv_claim {
	uint64_t id; /* 0: the request needs none */
	char approver[64];
	uint32_t use;
	const char *signed_text; /* the signed approval, or NULL (local) */
};
/* A proof for (method, url) by who with credential m: when the identity's
 * requests gate it behind an approval, spend a use of a live one (durably,
 * with its event) into claim, else refuse (-EPERM, the event, a message). */
int pb_approval_spend_request(struct pb_agent *a, const struct pb_cred_meta *m,
			      const char *method, const char *url, const struct pb_task_ref *who,
			      struct pb_apv_claim *claim, char *err, size_t errlen);
void pb_approvals_tick(struct pb_agent *a);
int pb_approvals_load(struct pb_agent *a);  /* after adopting pinned maps */
int pb_approvals_reset(struct pb_agent *a); /* a fresh start */
void pb_approvals_stop(struct pb_agent *a);
#endif
