/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The credential module's state (creds/): the node key, the credentials
 * this agent minted, their journal. Written by creds/ only. */
#ifndef PB_CREDS_STATE_H
#define PB_CREDS_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "cred_store.h"
#include "journal.h"

/* creds/: the node key (Ed25519) and the credentials this agent minted. */
struct pb_node_key {
	unsigned char pk[32];
	unsigned char sk[64];
};

struct pb_creds {
	struct pb_cred_store store;
	struct pb_journal journal; /* STATE-DIR/creds.jsonl */
	uint64_t full; /* mints refused: credential map full */
	size_t sweep;	/* where the next tick's owner and file checks start */
	uint64_t due;	/* boot ns of the next expiry or end of retention (0: now) */
	uint64_t forgotten_early; /* dead credentials dropped before their
				   * retention ended, to make room for a mint */
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
}

#endif
