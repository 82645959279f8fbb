/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Checking procbind tokens and proofs in a receiving service (libprocbind_verify).
 *
 * A token ("pb1.<claims>.<sig>") names a credential and the process it is
 * bound to, signed by the node's Ed25519 key. A proof is a JWT shaped like an
 * OAuth DPoP proof (RFC 9449): header {"typ":"dpop+jwt","alg":"EdDSA","jwk":
 * <the node's public key>}, claims {jti, htm, htu, iat, exp, ath, nonce?, pb}
 * where ath is base64url(SHA-256(token)) and pb repeats the token's credential
 * id and process binding. The node's agent signs a proof only for the process
 * the token is bound to, while that process is alive and unchanged, so a
 * copied token without a fresh proof proves nothing.
 *
 * A service keeps the public keys of the nodes it trusts and one replay cache;
 * every function here is pure apart from the cache it is given. */
#ifndef PROCBIND_VERIFY_H
#define PROCBIND_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define PB_PROOF_MAX_AGE_S  60 /* a proof's exp - iat is at most this */
#define PB_PROOF_CLOCK_SKEW 5  /* seconds of clock difference accepted */

/* Seen proof ids, each until its proof expires. Fixed size; when full, the
 * oldest-expiring entries are dropped only once expired, otherwise the check
 * fails closed (PB_V_REPLAY_FULL). */
struct pb_replay;
struct pb_replay *pb_replay_new(size_t slots);
void pb_replay_free(struct pb_replay *r);


enum pb_verify_result {
	PB_V_OK = 0,
	PB_V_MALFORMED,	 /* not a token or proof at all */
	PB_V_BAD_SIGNATURE,
	PB_V_WRONG_KEY,	   /* the proof's jwk is not the key given */
	PB_V_EXPIRED,	   /* token or proof past exp */
	PB_V_NOT_YET,	   /* proof iat in the future (beyond the skew) */
	PB_V_TOO_LONG,	   /* proof lifetime above PB_PROOF_MAX_AGE_S */
	PB_V_WRONG_TOKEN,  /* ath or pb binding does not match the token */
	PB_V_WRONG_METHOD, /* htm is not the request's method */
	PB_V_WRONG_URL,	   /* htu is not the request's URL */
	PB_V_REPLAY,	   /* this proof id was seen before */
	PB_V_REPLAY_FULL,  /* the replay cache is full of live ids */
	PB_V_NO_APPROVAL,  /* the proof carries no signed approval (apv) */
	PB_V_WRONG_APPROVAL, /* its approval is for another credential or request, or was
			      * not valid when the proof was made */
};
const char *pb_verify_result_name(enum pb_verify_result r);

/* Note proof id jti, good until unix time until: PB_V_OK when it is new
 * (now noted), PB_V_REPLAY when seen, PB_V_REPLAY_FULL. pb_verify_proof
 * calls it; a service that keeps its cache across restarts feeds it back. */
enum pb_verify_result pb_replay_note(struct pb_replay *r, const char *jti, int64_t until,
				     int64_t now);

/* Check a token with the node's public key at unix time now. On PB_V_OK and
 * claims != NULL, *claims is the claims JSON (malloc'd). */
enum pb_verify_result pb_verify_token(const char *token, const unsigned char pk[32], int64_t now,
				      char **claims);

/* Check a proof for a request (method and URL exactly as the client named
 * them) made with token, against the node's public key, at unix time now;
 * a fresh proof's id goes into replay. On PB_V_OK and claims != NULL,
 * *claims is the proof's claims JSON (malloc'd). */
enum pb_verify_result pb_verify_proof(const char *proof, const char *token, const char *method,
				      const char *url, const unsigned char pk[32], int64_t now,
				      struct pb_replay *replay, char **claims);

/* ---- approvals (docs/approvals.md) ----
 * A proof for a request the policy gates behind an approval carries claim
 * "apv": {"id", "approver", "use", and for an approval an approver signed
 * offline, "signed": "pba1.<claims>.<sig>"}. The signed approval's claims
 * name the credential ("cred"), the request ("method", "url": exact, or a
 * prefix when it ends in '*'), the uses and the time it is valid
 * ("iat" .. "exp", unix seconds). */

/* Check the signed approval a proof carries against an approver's public
 * key: signed by it, for the proof's credential, method and URL, and valid
 * at the proof's iat. Call it after pb_verify_proof accepted the proof (it
 * does not check the node's signature again). On PB_V_OK and approval !=
 * NULL, *approval is the approval's claims JSON (malloc'd). */
enum pb_verify_result pb_verify_proof_approval(const char *proof, const unsigned char approver_pk[32],
					       char **approval);

/* An approver key's fingerprint: the first 8 bytes of SHA-256(key), hex. */
void pb_key_fingerprint(const unsigned char pk[32], char out[17]);

/* Does an approval's or a policy's URL pattern admit url: equal, or a
 * prefix of it when the pattern ends in '*'? */
static inline int pb_url_match(const char *pattern, const char *url)
{
	size_t n = 0;

	while (pattern[n])
		n++;
	if (n && pattern[n - 1] == '*') {
		for (size_t i = 0; i + 1 < n; i++)
			if (url[i] != pattern[i])
				return 0;
		return 1;
	}
	for (size_t i = 0;; i++) {
		if (pattern[i] != url[i])
			return 0;
		if (!pattern[i])
			return 1;
	}
}

/* Read an Ed25519 public key: 32 raw bytes (the agent's node.pub) or its
 * base64url text (procbindctl pubkey). 0 or -errno. */
int pb_pubkey_read(const char *path, unsigned char pk[32]);

#endif
