/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The token format: "pb1.<claims>.<signature>", both base64url without
 * padding; claims are JSON; the signature is Ed25519 by the node key over
 * "pb1.<claims>". A downstream service verifies it offline with node.pub. */
#ifndef PB_TOKEN_H
#define PB_TOKEN_H

#include <stddef.h>

#define PB_TOKEN_SECRET_BYTES 32 /* 256 bits from randombytes_buf() */

/* Build a signed token from claims JSON. Returns a malloc'd string or NULL. */
char *pb_token_sign(const char *claims_json, const unsigned char sk[64]);

/* Verify a token with a public key; on success, *claims gets the decoded
 * claims JSON (malloc'd). 0, or -EINVAL (malformed) / -EBADMSG (bad signature). */
int pb_token_verify(const char *token, const unsigned char pk[32], char **claims);

/* The same shape under another prefix: "<prefix><claims>.<signature>",
 * signed over "<prefix><claims>" (signed approvals: PB_APPROVAL_PREFIX). */
char *pb_signed_make(const char *prefix, const char *claims_json, const unsigned char sk[64]);
int pb_signed_open(const char *prefix, const char *text, const unsigned char pk[32],
		   char **claims);

/* A signed approval (docs/approvals.md): "pba1.<claims>.<signature>", by an
 * approver's Ed25519 key, offline. Claims: {"v":1,"id","cred", "dest" and
 * "proto", or "method" and "url", "uses","iat","exp","reason","ticket"?,
 * "approver"?}. */
#define PB_APPROVAL_PREFIX "pba1."

#endif
