/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The credential module's state (creds/): the node key, the credentials
 * this agent minted, their journal. Written by creds/ only. */
#ifndef PB_CREDS_STATE_H
#define PB_CREDS_STATE_H

#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sodium.h>

#include "cred_store.h"
#include "journal.h"

/* An approval (docs/approvals.md): one credential, one action (a
 * destination, or a request a proof is asked for), a number of uses, an
 * expiry. The kernel spends a destination approval's uses (map
 * "approvals"); the agent spends a request approval's. */
enum { PB_APV_DEST, PB_APV_REQUEST };
#define PB_APV_TEXT 256
struct pb_approval_rec {
	uint64_t id;
	uint64_t cred_id;
	int kind;		    /* PB_APV_* */
	struct pb_approval_key key; /* dest: the kernel's key */
	char method[16];
	char url[PB_APV_TEXT];
	uint32_t uses, used;
	uint64_t expires;  /* boot ns */
	uint64_t granted;  /* boot ns */
	uint64_t ended_at; /* boot ns; 0: live */
	const char *ended; /* "exhausted", "expired", "revoked", "credential_ended" */
	char approver[64];
	char reason[PB_APV_TEXT];
	char ticket[128];
	char fpr[17];	   /* signed: the approver key's fingerprint; "": local */
	char *signed_text; /* signed: the approval as submitted (heap) */
};

/* The approvals this agent granted, live and recently ended, and their
 * journal (STATE-DIR/approvals.jsonl: a grant, each use, the end). */
#define PB_APV_MAX PB_MAX_APPROVALS
struct pb_approvals {
	struct pb_approval_rec *v; /* v[0..n), no order */
	size_t n, cap;
	int fd;		     /* the journal, open for appending; -1: none */
	char path[PATH_MAX]; /* DIR/approvals.jsonl */
	size_t lines;
	uint64_t granted, used, refused; /* since start */
};

/* creds/: the node key (Ed25519) and the credentials this agent minted. */
struct pb_node_key {
	unsigned char pk[32];
	unsigned char sk[64];
};

/* Credentials minted and ended since the agent started, by identity and
 * (ended) reason, for the metrics: a few identities and reasons, so a
 * short table; past it, counted under identity "other". */
#define PB_TALLY_MAX 128
struct pb_cred_tally {
	char identity[64];
	char reason[24]; /* "" for minted */
	uint64_t n;
};

struct pb_creds {
	struct pb_cred_store store;
	struct pb_cred_tally tally[PB_TALLY_MAX];
	size_t ntally;
	struct pb_journal journal; /* STATE-DIR/creds.jsonl */
	uint64_t full;		   /* mints refused: credential map full */
	size_t sweep;		   /* where the next tick's owner and file checks start */
	uint64_t due;		   /* boot ns of the next expiry or end of retention (0: now) */
	uint64_t forgotten_early;  /* dead credentials dropped before their
				    * retention ended, to make room for a mint */
	struct pb_approvals apv;
};

/* The secret key gone from this process's memory (at stop, and in a child
 * that never signs: the guard). */
static inline void pb_node_key_wipe(struct pb_node_key *k)
{
	sodium_memzero(k->sk, sizeof(k->sk));
}

static inline void pb_creds_state_init(struct pb_creds *c)
{
	c->journal.fd = -1;
	c->apv.fd = -1;
}

#endif
