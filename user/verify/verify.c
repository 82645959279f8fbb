// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libprocbind_verify: tokens and DPoP-shaped proofs, checked offline with the
 * node's public key (include/procbind/verify.h). libsodium and jansson. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_u64.h"
#include "procbind/verify.h"
#include "token.h"

#define B64V sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char *const result_names[] = {
    "ok",	 "malformed", "bad_signature", "wrong_key",    "expired",	 "not_yet_valid",
    "too_long",	 "wrong_token", "wrong_method", "wrong_url",	"replayed", "replay_cache_full",
    "no_approval", "wrong_approval",
};

const char *pb_verify_result_name(enum pb_verify_result r)
{
	return (size_t)r < sizeof(result_names) / sizeof(result_names[0]) ? result_names[r] : "?";
}

/* ---- the replay cache ---- */

struct pb_replay_slot {
	unsigned char id[16]; /* BLAKE2b-128 of the jti */
	int64_t until;	      /* 0: free */
};

struct pb_replay {
	size_t n;
	struct pb_replay_slot *slot;
};

struct pb_replay *pb_replay_new(size_t slots)
{
	struct pb_replay *r = calloc(1, sizeof(*r));

	if (!r || !slots)
		return free(r), NULL;
	r->slot = calloc(slots, sizeof(*r->slot));
	if (!r->slot)
		return free(r), NULL;
	r->n = slots;
	return r;
}

void pb_replay_free(struct pb_replay *r)
{
	if (r)
		free(r->slot);
	free(r);
}

/* Linear probing from the id's hash; an expired slot is free again. */
static enum pb_verify_result pb_replay_check(struct pb_replay *r, const char *jti, int64_t until,
					     int64_t now)
{
	unsigned char id[16];
	size_t h, free_at = (size_t)-1;

	crypto_generichash(id, sizeof(id), (const unsigned char *)jti, strlen(jti), NULL, 0);
	memcpy(&h, id, sizeof(h));
	for (size_t i = 0; i < r->n; i++) {
		struct pb_replay_slot *s = &r->slot[(h + i) % r->n];

		if (s->until && s->until + PB_PROOF_CLOCK_SKEW >= now) {
			if (!memcmp(s->id, id, sizeof(id)))
				return PB_V_REPLAY;
			continue;
		}
		if (free_at == (size_t)-1)
			free_at = (h + i) % r->n;
		if (!s->until)
			break; /* never used: the id was never stored past here */
	}
	if (free_at == (size_t)-1)
		return PB_V_REPLAY_FULL;
	memcpy(r->slot[free_at].id, id, sizeof(id));
	r->slot[free_at].until = until;
	return PB_V_OK;
}

enum pb_verify_result pb_replay_note(struct pb_replay *r, const char *jti, int64_t until,
				     int64_t now)
{
	return pb_replay_check(r, jti, until, now);
}

/* ---- tokens ---- */

static json_t *pb_json_of(const char *s)
{
	return s ? json_loads(s, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

enum pb_verify_result pb_verify_token(const char *token, const unsigned char pk[32], int64_t now,
				      char **claims)
{
	char *c = NULL;
	json_t *o;
	json_int_t exp;
	int ret = pb_token_verify(token, pk, &c);

	if (ret)
		return ret == -EBADMSG ? PB_V_BAD_SIGNATURE : PB_V_MALFORMED;
	o = pb_json_of(c);
	if (!o || !json_is_integer(json_object_get(o, "exp")) ||
	    !json_is_string(json_object_get(o, "id"))) {
		json_decref(o);
		free(c);
		return PB_V_MALFORMED;
	}
	exp = json_integer_value(json_object_get(o, "exp"));
	json_decref(o);
	if (now >= exp) {
		free(c);
		return PB_V_EXPIRED;
	}
	if (claims)
		*claims = c;
	else
		free(c);
	return PB_V_OK;
}

/* ---- proofs ---- */

/* base64url part [s, e) decoded into a NUL-terminated malloc'd string */
static char *pb_b64_part(const char *s, const char *e)
{
	size_t len = (size_t)(e - s), out;
	char *buf = malloc(len + 1);

	if (!buf || sodium_base642bin((unsigned char *)buf, len, s, len, NULL, &out, NULL, B64V)) {
		free(buf);
		return NULL;
	}
	buf[out] = 0;
	return buf;
}

static int pb_str_is(json_t *o, const char *k, const char *want)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v && !strcmp(v, want);
}

/* Does the proof's pb object repeat the token's binding? */
static int pb_binding_matches(json_t *pb, json_t *tok)
{
	static const char *const keys[] = {"pid", "start_time", "cgroup_id", "exe_dev", "exe_ino"};

	if (!json_is_object(pb) || !pb_str_is(pb, "cred", json_string_value(json_object_get(tok, "id"))))
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t a, b;

		if (pb_json_u64_of(json_object_get(pb, keys[i]), &a) ||
		    pb_json_u64_of(json_object_get(tok, keys[i]), &b) || a != b)
			return 0;
	}
	return 1;
}

enum pb_verify_result pb_verify_proof(const char *proof, const char *token, const char *method,
				      const char *url, const unsigned char pk[32], int64_t now,
				      struct pb_replay *replay, char **claims)
{
	enum pb_verify_result res = PB_V_MALFORMED;
	const char *d1, *d2;
	char *hs = NULL, *ps = NULL, *tc = NULL, x[64], ath[64];
	unsigned char sig[crypto_sign_BYTES], hash[crypto_hash_sha256_BYTES];
	json_t *h = NULL, *p = NULL, *t = NULL, *jwk;
	json_int_t iat, exp;
	size_t slen;

	if (!proof || !token || !method || !url)
		return PB_V_MALFORMED;
	d1 = strchr(proof, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return PB_V_MALFORMED;
	if (sodium_base642bin(sig, sizeof(sig), d2 + 1, strlen(d2 + 1), NULL, &slen, NULL, B64V) ||
	    slen != sizeof(sig))
		return PB_V_MALFORMED;
	hs = pb_b64_part(proof, d1);
	ps = pb_b64_part(d1 + 1, d2);
	h = pb_json_of(hs);
	p = pb_json_of(ps);
	if (!h || !p || !pb_str_is(h, "typ", "dpop+jwt") || !pb_str_is(h, "alg", "EdDSA"))
		goto out;
	jwk = json_object_get(h, "jwk");
	sodium_bin2base64(x, sizeof(x), pk, 32, B64V);
	if (!json_is_object(jwk) || !pb_str_is(jwk, "kty", "OKP") || !pb_str_is(jwk, "crv", "Ed25519")) {
		res = PB_V_MALFORMED;
		goto out;
	}
	if (!pb_str_is(jwk, "x", x)) {
		res = PB_V_WRONG_KEY;
		goto out;
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)proof, (size_t)(d2 - proof), pk)) {
		res = PB_V_BAD_SIGNATURE;
		goto out;
	}
	if (!json_is_integer(json_object_get(p, "iat")) || !json_is_integer(json_object_get(p, "exp")) ||
	    !json_is_string(json_object_get(p, "jti")) || !json_is_string(json_object_get(p, "ath")))
		goto out;
	/* the token: valid itself, and the one the proof names */
	res = pb_verify_token(token, pk, now, &tc);
	if (res != PB_V_OK)
		goto out;
	t = pb_json_of(tc);
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
	sodium_bin2base64(ath, sizeof(ath), hash, sizeof(hash), B64V);
	if (!t || !pb_str_is(p, "ath", ath) || !pb_binding_matches(json_object_get(p, "pb"), t)) {
		res = PB_V_WRONG_TOKEN;
		goto out;
	}
	if (!pb_str_is(p, "htm", method)) {
		res = PB_V_WRONG_METHOD;
		goto out;
	}
	if (!pb_str_is(p, "htu", url)) {
		res = PB_V_WRONG_URL;
		goto out;
	}
	iat = json_integer_value(json_object_get(p, "iat"));
	exp = json_integer_value(json_object_get(p, "exp"));
	if (exp - iat > PB_PROOF_MAX_AGE_S || exp < iat) {
		res = PB_V_TOO_LONG;
		goto out;
	}
	if (iat > now + PB_PROOF_CLOCK_SKEW) {
		res = PB_V_NOT_YET;
		goto out;
	}
	if (now >= exp + PB_PROOF_CLOCK_SKEW) {
		res = PB_V_EXPIRED;
		goto out;
	}
	res = replay ? pb_replay_check(replay, json_string_value(json_object_get(p, "jti")), exp, now)
		     : PB_V_OK;
	if (res == PB_V_OK && claims) {
		*claims = ps;
		ps = NULL;
	}
out:
	json_decref(h);
	json_decref(p);
	json_decref(t);
	free(hs);
	free(ps);
	free(tc);
	return res;
}

void pb_key_fingerprint(const unsigned char pk[32], char out[17])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, 32);
	sodium_bin2hex(out, 17, h, 8);
}

enum pb_verify_result pb_verify_proof_approval(const char *proof, const unsigned char approver_pk[32],
					       char **approval)
{
	enum pb_verify_result res = PB_V_MALFORMED;
	const char *d1 = proof ? strchr(proof, '.') : NULL, *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	const char *signed_apv, *method, *url, *cred;
	char *ps = NULL, *as = NULL;
	json_t *p = NULL, *apv, *ac = NULL, *pb;
	json_int_t iat;
	int err;

	if (!d2)
		return PB_V_MALFORMED;
	ps = pb_b64_part(d1 + 1, d2);
	p = pb_json_of(ps);
	if (!p)
		goto out;
	apv = json_object_get(p, "apv");
	signed_apv = json_string_value(json_object_get(apv, "signed"));
	if (!signed_apv) {
		res = PB_V_NO_APPROVAL;
		goto out;
	}
	err = pb_signed_open(PB_APPROVAL_PREFIX, signed_apv, approver_pk, &as);
	if (err) {
		res = err == -EBADMSG ? PB_V_BAD_SIGNATURE : PB_V_MALFORMED;
		goto out;
	}
	ac = pb_json_of(as);
	pb = json_object_get(p, "pb");
	method = json_string_value(json_object_get(ac, "method"));
	url = json_string_value(json_object_get(ac, "url"));
	cred = json_string_value(json_object_get(pb, "cred"));
	iat = json_integer_value(json_object_get(p, "iat"));
	res = PB_V_WRONG_APPROVAL;
	if (!ac || !method || !url || !cred || !json_is_integer(json_object_get(ac, "exp")) ||
	    !json_is_integer(json_object_get(ac, "iat")))
		goto out;
	if (!pb_str_is(ac, "cred", cred) || !pb_str_is(p, "htm", method) ||
	    !json_string_value(json_object_get(p, "htu")) ||
	    !pb_url_match(url, json_string_value(json_object_get(p, "htu"))) ||
	    !pb_str_is(ac, "id", json_string_value(json_object_get(apv, "id")) ?: ""))
		goto out;
	if (iat >= json_integer_value(json_object_get(ac, "exp")) ||
	    iat + PB_PROOF_CLOCK_SKEW < json_integer_value(json_object_get(ac, "iat")))
		goto out;
	res = PB_V_OK;
	if (approval) {
		*approval = as;
		as = NULL;
	}
out:
	json_decref(p);
	json_decref(ac);
	free(ps);
	free(as);
	return res;
}

int pb_pubkey_read(const char *path, unsigned char pk[32])
{
	char buf[128];
	size_t len;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == 32) {
		memcpy(pk, buf, 32);
		return 0;
	}
	if (n <= 0)
		return -EINVAL;
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (sodium_base642bin(pk, 32, buf, strlen(buf), NULL, &len, NULL, B64V) || len != 32)
		return -EINVAL;
	return 0;
}
