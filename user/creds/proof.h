/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Proofs of possession: a JWT shaped like an OAuth DPoP proof (RFC 9449),
 * signed by the node key for one request by the process a credential is
 * bound to (include/procbind/verify.h checks them). Pure: no agent state. */
#ifndef PB_PROOF_H
#define PB_PROOF_H

#include <stdint.h>

#include "procbind/abi.h"

#define PB_PROOF_TTL_S 30 /* a proof is good for this long */

struct pb_proof_req {
	const char *token; /* the credential's token: its SHA-256 is the proof's ath */
	uint64_t cred_id;
	const struct pb_cred *bind; /* the process binding the token names */
	const char *method;	    /* htm: "GET", ..., or "CONNECT" for a destination */
	const char *url;	    /* htu: the URL, or "tcp://ADDR:PORT" */
	const char *nonce;	    /* the server's nonce, or NULL */
	int64_t iat;		    /* unix seconds */
	/* the approval the request spent a use of (claim "apv"; id 0: none) */
	uint64_t apv_id;
	const char *apv_approver;
	uint32_t apv_use;
	const char *apv_signed; /* a signed approval as submitted, or NULL */
};

/* The signed proof (malloc'd) and its id (jti, 22 base64url characters +
 * NUL), or NULL when out of memory. */
char *pb_proof_sign(const struct pb_proof_req *r, const unsigned char sk[64],
		    const unsigned char pk[32], char jti[32]);

#endif
