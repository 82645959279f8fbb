// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Signing a proof: base64url(header) "." base64url(claims) "." base64url(Ed25519). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proof.h"

#define B64V sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void pb_b64_append(struct pb_buf *b, const void *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, B64V);
	char *tmp = malloc(cap);

	if (!tmp) {
		b->failed = 1;
		return;
	}
	sodium_bin2base64(tmp, cap, data, len, B64V);
	pb_buf_append(b, tmp, strlen(tmp));
	free(tmp);
}

char *pb_proof_sign(const struct pb_proof_req *r, const unsigned char sk[64],
		    const unsigned char pk[32], char jti[32])
{
	unsigned char rnd[16], hash[crypto_hash_sha256_BYTES], sig[crypto_sign_BYTES];
	char x[64], ath[64], idhex[17];
	struct pb_buf h = {0}, c = {0}, out = {0};

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(jti, 32, rnd, sizeof(rnd), B64V);
	sodium_bin2base64(x, sizeof(x), pk, 32, B64V);
	crypto_hash_sha256(hash, (const unsigned char *)r->token, strlen(r->token));
	sodium_bin2base64(ath, sizeof(ath), hash, sizeof(hash), B64V);
	snprintf(idhex, sizeof(idhex), "%016llx", (unsigned long long)r->cred_id);

	pb_json_begin(&h);
	pb_json_str(&h, "typ", "dpop+jwt");
	pb_json_str(&h, "alg", "EdDSA");
	pb_json_key(&h, "jwk");
	pb_json_begin(&h);
	pb_json_str(&h, "kty", "OKP");
	pb_json_str(&h, "crv", "Ed25519");
	pb_json_str(&h, "x", x);
	pb_json_end(&h);
	pb_json_end(&h);

	pb_json_begin(&c);
	pb_json_str(&c, "jti", jti);
	pb_json_str(&c, "htm", r->method);
	pb_json_str(&c, "htu", r->url);
	pb_json_i64(&c, "iat", r->iat);
	pb_json_i64(&c, "exp", r->iat + PB_PROOF_TTL_S);
	pb_json_str(&c, "ath", ath);
	if (r->nonce && r->nonce[0])
		pb_json_str(&c, "nonce", r->nonce);
	pb_json_key(&c, "pb");
	pb_json_begin(&c);
	pb_json_str(&c, "cred", idhex);
	pb_json_u64(&c, "pid", r->bind->owner.tgid);
	pb_json_u64(&c, "start_time", r->bind->owner.start_time);
	pb_json_u64(&c, "cgroup_id", r->bind->cgroup_id);
	pb_json_u64(&c, "exe_dev", r->bind->exe_dev);
	pb_json_u64(&c, "exe_ino", r->bind->exe_ino);
	pb_json_end(&c);
	if (r->apv_id) {
		char apv[17];

		snprintf(apv, sizeof(apv), "%016llx", (unsigned long long)r->apv_id);
		pb_json_key(&c, "apv");
		pb_json_begin(&c);
		pb_json_str(&c, "id", apv);
		pb_json_str(&c, "approver", r->apv_approver);
		pb_json_u64(&c, "use", r->apv_use);
		if (r->apv_signed)
			pb_json_str(&c, "signed", r->apv_signed);
		pb_json_end(&c);
	}
	pb_json_end(&c);

	pb_b64_append(&out, h.data, h.len);
	pb_buf_append(&out, ".", 1);
	pb_b64_append(&out, c.data, c.len);
	if (!out.failed && !h.failed && !c.failed) {
		crypto_sign_detached(sig, NULL, (const unsigned char *)out.data, out.len, sk);
		pb_buf_append(&out, ".", 1);
		pb_b64_append(&out, sig, sizeof(sig));
	}
	pb_buf_free(&h);
	pb_buf_free(&c);
	if (out.failed) {
		pb_buf_free(&out);
		return NULL;
	}
	return out.data; /* pb_buf keeps it NUL-terminated */
}
