// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Tokens and proofs: what a receiving service checks (libprocbind_verify)
 * against what the agent signs (proof.c, token.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proof.h"
#include "token.h"
#include "procbind/verify.h"

#define NOW 1800000000LL

static unsigned char pk[32], sk[64], pk2[32], sk2[64];
static struct pb_cred bind = {.owner = {.start_time = 123456789, .tgid = 4242},
			      .cgroup_id = 77,
			      .exe_dev = 8,
			      .exe_ino = 99};

static char *token_for(uint64_t id, long long exp, const unsigned char *key)
{
	char claims[512];

	snprintf(claims, sizeof(claims),
		 "{\"v\":1,\"id\":\"%016llx\",\"identity\":\"payments\",\"pid\":4242,"
		 "\"start_time\":123456789,\"cgroup_id\":77,\"exe_dev\":8,\"exe_ino\":99,"
		 "\"iat\":%lld,\"exp\":%lld,\"secret\":\"s\"}",
		 (unsigned long long)id, exp - 600, exp);
	return pb_token_sign(claims, key);
}

static char *proof_for(const char *token, uint64_t id, const char *m, const char *u, int64_t iat,
		       const unsigned char *k, const unsigned char *p)
{
	char jti[32];
	struct pb_proof_req r = {.token = token, .cred_id = id, .bind = &bind, .method = m,
				 .url = u, .nonce = "n-1", .iat = iat};

	return pb_proof_sign(&r, k, p, jti);
}

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	return 0;
}

static void test_token_roundtrip_and_expiry(void **st)
{
	char *tok = token_for(0xabc, NOW + 60, sk), *claims = NULL;

	(void)st;
	assert_int_equal(pb_verify_token(tok, pk, NOW, &claims), PB_V_OK);
	assert_non_null(strstr(claims, "\"pid\":4242"));
	free(claims);
	assert_int_equal(pb_verify_token(tok, pk, NOW + 59, NULL), PB_V_OK);
	assert_int_equal(pb_verify_token(tok, pk, NOW + 60, NULL), PB_V_EXPIRED);
	assert_int_equal(pb_verify_token(tok, pk2, NOW, NULL), PB_V_BAD_SIGNATURE);
	assert_int_equal(pb_verify_token("pb1.xx", pk, NOW, NULL), PB_V_MALFORMED);
	free(tok);
}

/* Any altered byte of a token or a proof fails (to every other base64url
 * character, and to a byte outside the alphabet). */
static void test_every_byte(void **st)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
	char *tok = token_for(0xabc, NOW + 60, sk);
	char *proof = proof_for(tok, 0xabc, "GET", "https://api/x", NOW, sk, pk);
	struct pb_replay *r = pb_replay_new(1024);
	size_t tn = strlen(tok), pn = strlen(proof);

	(void)st;
	for (size_t i = 0; i < tn; i++) {
		char c = tok[i];

		for (const char *a = alpha; *a; a++) {
			if (*a == c)
				continue;
			tok[i] = *a;
			assert_int_not_equal(pb_verify_token(tok, pk, NOW, NULL), PB_V_OK);
		}
		tok[i] = c;
	}
	for (size_t i = 0; i < pn; i++) {
		char c = proof[i];

		/* a spread of replacements */
		for (const char *a = alpha; a < alpha + sizeof(alpha) - 1; a += 7) {
			if (*a == c)
				continue;
			proof[i] = *a;
			assert_int_not_equal(
			    pb_verify_proof(proof, tok, "GET", "https://api/x", pk, NOW, r, NULL), PB_V_OK);
		}
		proof[i] = c;
	}
	/* untouched, it verifies (once) */
	assert_int_equal(pb_verify_proof(proof, tok, "GET", "https://api/x", pk, NOW, r, NULL), PB_V_OK);
	pb_replay_free(r);
	free(tok);
	free(proof);
}

/* A signed approval (docs/approvals.md) as approval sign makes it. */
static char *approval_for(const char *cred, const char *url, long long exp, const char *id,
			  const unsigned char *key)
{
	char claims[512];

	snprintf(claims, sizeof(claims),
		 "{\"v\":1,\"id\":\"%s\",\"cred\":\"%s\",\"method\":\"GET\",\"url\":\"%s\","
		 "\"uses\":1,\"iat\":%lld,\"exp\":%lld,\"reason\":\"r\"}",
		 id, cred, url, exp - 600, exp);
	return pb_signed_make(PB_APPROVAL_PREFIX, claims, key);
}

static char *proof_with(const char *tok, const char *apv, const char *apv_id_hex)
{
	char jti[32];
	struct pb_proof_req r = {.token = tok, .cred_id = 0xabc, .bind = &bind, .method = "GET",
				 .url = "https://api/x", .iat = NOW, .apv_approver = "alice",
				 .apv_use = 1, .apv_signed = apv};

	r.apv_id = strtoull(apv_id_hex, NULL, 16);
	return pb_proof_sign(&r, sk, pk, jti);
}

/* pb_verify_proof_approval, with alice's key, of a proof whose apv is an
 * approval (id a1) for credential cred and url, valid until exp. */
static enum pb_verify_result apv_check(const char *tok, const char *cred, const char *url,
				       long long exp)
{
	char *apv = approval_for(cred, url, exp, "00000000000000a1", sk2);
	char *proof = proof_with(tok, apv, "00000000000000a1");
	enum pb_verify_result r = pb_verify_proof_approval(proof, pk2, NULL);

	free(proof);
	free(apv);
	return r;
}

/* A signed approval with any byte altered fails; a proof's apv is checked
 * against the approver's key, the proof's credential and request, and the
 * time the proof was made. */
static void test_signed_approval(void **st)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
	char *apv = approval_for("0000000000000abc", "https://api/x", NOW + 60, "00000000000000a1",
				 sk2);
	char *tok = token_for(0xabc, NOW + 60, sk), *claims = NULL, *proof;
	size_t n = strlen(apv);

	(void)st;
	assert_int_equal(pb_signed_open(PB_APPROVAL_PREFIX, apv, pk2, &claims), 0);
	assert_non_null(strstr(claims, "\"cred\":\"0000000000000abc\""));
	free(claims);
	for (size_t i = 0; i < n; i++) {
		char c = apv[i];

		for (const char *a = alpha; *a; a++) {
			if (*a == c)
				continue;
			apv[i] = *a;
			claims = NULL;
			assert_int_not_equal(pb_signed_open(PB_APPROVAL_PREFIX, apv, pk2, &claims), 0);
			free(claims);
		}
		apv[i] = c;
	}
	/* an approval is not a token, and a token not an approval */
	assert_int_not_equal(pb_signed_open("pb1.", apv, pk2, &claims), 0);
	assert_int_not_equal(pb_signed_open(PB_APPROVAL_PREFIX, tok, pk, &claims), 0);

	proof = proof_with(tok, apv, "00000000000000a1");
	assert_int_equal(pb_verify_proof(proof, tok, "GET", "https://api/x", pk, NOW, NULL, NULL),
			 PB_V_OK);
	assert_int_equal(pb_verify_proof_approval(proof, pk2, &claims), PB_V_OK);
	assert_non_null(strstr(claims, "\"id\":\"00000000000000a1\""));
	free(claims);
	assert_int_equal(pb_verify_proof_approval(proof, pk, NULL), PB_V_BAD_SIGNATURE);
	free(proof);
	/* the apv names another approval id than the one signed */
	proof = proof_with(tok, apv, "00000000000000a2");
	assert_int_equal(pb_verify_proof_approval(proof, pk2, NULL), PB_V_WRONG_APPROVAL);
	free(proof);
	free(apv);
	/* for another request, another credential, expired when the proof was made */
	assert_int_equal(apv_check(tok, "0000000000000abc", "https://api/y", NOW + 60),
			 PB_V_WRONG_APPROVAL);
	assert_int_equal(apv_check(tok, "0000000000000abd", "https://api/x", NOW + 60),
			 PB_V_WRONG_APPROVAL);
	assert_int_equal(apv_check(tok, "0000000000000abc", "https://api/x", NOW),
			 PB_V_WRONG_APPROVAL);
	/* a prefix approval covers the request */
	assert_int_equal(apv_check(tok, "0000000000000abc", "https://api/*", NOW + 60), PB_V_OK);
	/* no apv at all */
	proof = proof_for(tok, 0xabc, "GET", "https://api/x", NOW, sk, pk);
	assert_int_equal(pb_verify_proof_approval(proof, pk2, NULL), PB_V_NO_APPROVAL);
	free(proof);
	free(tok);
	assert_true(pb_url_match("https://api/*", "https://api/"));
	assert_false(pb_url_match("https://api/*", "https://apx/"));
	assert_false(pb_url_match("https://api/x", "https://api/xy"));
	assert_false(pb_url_match("https://api/xy", "https://api/x"));
	assert_true(pb_url_match("*", "anything"));
}

static void test_proof_checks(void **st)
{
	char *tok = token_for(0xabc, NOW + 600, sk), *other = token_for(0xdef, NOW + 600, sk);
	char *proof = proof_for(tok, 0xabc, "POST", "https://api/pay", NOW, sk, pk), *claims = NULL;
	struct pb_replay *r = pb_replay_new(64);

	(void)st;
	assert_int_equal(pb_verify_proof(proof, tok, "GET", "https://api/pay", pk, NOW, r, NULL),
			 PB_V_WRONG_METHOD);
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/other", pk, NOW, r, NULL),
			 PB_V_WRONG_URL);
	assert_int_equal(pb_verify_proof(proof, other, "POST", "https://api/pay", pk, NOW, r, NULL),
			 PB_V_WRONG_TOKEN);
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/pay", pk2, NOW, r, NULL),
			 PB_V_WRONG_KEY);
	/* fresh: iat .. exp (+ skew) */
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/pay", pk,
					 NOW + PB_PROOF_TTL_S + PB_PROOF_CLOCK_SKEW, r, NULL),
			 PB_V_EXPIRED);
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/pay", pk,
					 NOW - PB_PROOF_CLOCK_SKEW - 1, r, NULL),
			 PB_V_NOT_YET);
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/pay", pk,
					 NOW + PB_PROOF_TTL_S + PB_PROOF_CLOCK_SKEW - 1, r, &claims),
			 PB_V_OK);
	assert_non_null(strstr(claims, "\"nonce\":\"n-1\""));
	free(claims);
	/* replayed */
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/pay", pk, NOW + 1, r, NULL),
			 PB_V_REPLAY);
	/* a proof signed by another key than the token's */
	free(proof);
	proof = proof_for(tok, 0xabc, "POST", "https://api/pay", NOW, sk2, pk2);
	assert_int_equal(pb_verify_proof(proof, tok, "POST", "https://api/pay", pk2, NOW, r, NULL),
			 PB_V_BAD_SIGNATURE); /* the token does not verify under pk2 */
	pb_replay_free(r);
	free(tok);
	free(other);
	free(proof);
}

/* The replay cache forgets an id once its proof has expired, and fails
 * closed when it is full of live ones. */
static void test_replay_cache(void **st)
{
	char *tok = token_for(0xabc, NOW + 6000, sk);
	struct pb_replay *r = pb_replay_new(4);
	char *p[5];

	(void)st;
	for (int i = 0; i < 5; i++)
		p[i] = proof_for(tok, 0xabc, "GET", "https://a/", NOW, sk, pk);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pb_verify_proof(p[i], tok, "GET", "https://a/", pk, NOW, r, NULL), PB_V_OK);
	assert_int_equal(pb_verify_proof(p[4], tok, "GET", "https://a/", pk, NOW, r, NULL),
			 PB_V_REPLAY_FULL);
	free(p[4]);
	/* later, with the first four expired (exp + skew passed), room again;
	 * the new proof is issued then */
	p[4] = proof_for(tok, 0xabc, "GET", "https://a/", NOW + 100, sk, pk);
	assert_int_equal(pb_verify_proof(p[4], tok, "GET", "https://a/", pk, NOW + 100, r, NULL), PB_V_OK);
	for (int i = 0; i < 5; i++)
		free(p[i]);
	pb_replay_free(r);
	free(tok);
}

/* An executable on overlayfs can have an inode number above 2^63 - 1 (the
 * layer index in its high bits): written as a decimal string, it must bind
 * token and proof as any other (the fuzzer found jansson refusing the number). */
static void test_large_inode(void **st)
{
	static const char *const inos[] = {"\"9223372036854775813\"", "\"9223372036854775814\""};
	char claims[512], *tok, *proof;
	struct pb_cred saved = bind;

	(void)st;
	bind.exe_ino = (1ull << 63) | 5;
	for (int i = 0; i < 2; i++) {
		snprintf(claims, sizeof(claims),
			 "{\"v\":1,\"id\":\"0000000000000abc\",\"pid\":4242,\"start_time\":123456789,"
			 "\"cgroup_id\":77,\"exe_dev\":8,\"exe_ino\":%s,\"exp\":%lld}",
			 inos[i], NOW + 60);
		tok = pb_token_sign(claims, sk);
		proof = proof_for(tok, 0xabc, "GET", "https://a/", NOW, sk, pk);
		assert_non_null(strstr(proof, ".")); /* signed */
		assert_int_equal(pb_verify_proof(proof, tok, "GET", "https://a/", pk, NOW, NULL, NULL),
				 PB_V_OK);
		free(proof);
		/* a proof for another inode does not fit this token */
		bind.exe_ino++;
		proof = proof_for(tok, 0xabc, "GET", "https://a/", NOW, sk, pk);
		assert_int_equal(pb_verify_proof(proof, tok, "GET", "https://a/", pk, NOW, NULL, NULL),
				 PB_V_WRONG_TOKEN);
		free(proof);
		free(tok);
	}
	bind = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_large_inode),
	    cmocka_unit_test(test_token_roundtrip_and_expiry),
	    cmocka_unit_test(test_every_byte),
	    cmocka_unit_test(test_proof_checks),
	    cmocka_unit_test(test_replay_cache),
	    cmocka_unit_test(test_signed_approval),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
