// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Tokens and proofs as a receiving service checks them (libprocbind_verify).
 * The first byte picks what the rest is:
 *   0  a token's text, checked as is;
 *   1  a token's claims (any bytes), signed with the test key, then checked:
 *      what is behind the signature check is reached;
 *   2  proof, token, method, URL (NUL-separated texts), checked as they are;
 *   3  a proof's header, its claims, the token's claims and a signed
 *      approval's claims (NUL-separated), each signed with the test key
 *      (the approval put into the proof's "apv", when its claims are an
 *      object), then checked with a replay cache, and the proof's approval
 *      checked with the same key (pb_verify_proof_approval).
 * Nothing may crash, leak or read out of bounds; a token or proof that
 * passes must do so again, and a proof a second time is a replay.
 *
 * PB_FUZZ_TOKEN_SEED=DIR: write genuine inputs of each kind to DIR (how
 * tests/fuzz/corpus/token began). */

#include <jansson.h>

#include "fuzz.h"
#include "proof.h"
#include "token.h"
#include "procbind/verify.h"

#define NOW 1800000000 /* 2027-01-15 */

static unsigned char pk[32], sk[64];
static struct pb_replay *replay;

static const char claims[] =
    "{\"v\":1,\"id\":\"1122334455667788\",\"identity\":\"billing\",\"node\":\"n1\","
    "\"aud\":\"https://svc.example\",\"pid\":4242,\"start_time\":123456,\"cgroup_id\":77,"
    "\"exe_dev\":2049,\"exe_ino\":1234,\"iat\":1799999000,\"exp\":1800000600,"
    "\"secret\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}";

static const char approval[] =
    "{\"v\":1,\"id\":\"00000000000000a1\",\"cred\":\"1122334455667788\",\"method\":\"GET\","
    "\"url\":\"https://svc.example/*\",\"uses\":1,\"iat\":1799999000,\"exp\":1800000600,"
    "\"reason\":\"r\"}";

static void seed(const char *dir, const char *name, const char *const *parts, size_t n, int kind)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")))
		abort();
	fputc(kind, f);
	for (size_t i = 0; i < n; i++)
		fwrite(parts[i], 1, strlen(parts[i]) + (i + 1 < n), f); /* NUL between */
	fclose(f);
}

static void write_seeds(const char *dir)
{
	struct pb_cred bind = {.owner = {.tgid = 4242, .start_time = 123456},
			       .cgroup_id = 77, .exe_dev = 2049, .exe_ino = 1234};
	struct pb_proof_req r = {.cred_id = 0x1122334455667788ull, .bind = &bind, .method = "GET",
				 .url = "https://svc.example/v1", .iat = NOW - 3};
	char *token = pb_token_sign(claims, sk), *proof, jti[32], *ps, *pc, *d1, *d2;
	size_t n;

	if (!token)
		abort();
	r.token = token;
	if (!(proof = pb_proof_sign(&r, sk, pk, jti)))
		abort();
	seed(dir, "token", (const char *const[]){token}, 1, 0);
	seed(dir, "claims", (const char *const[]){claims}, 1, 1);
	seed(dir, "proof", (const char *const[]){proof, token, "GET", "https://svc.example/v1"}, 4, 2);
	/* the proof's header and claims as JSON, to be signed again */
	d1 = strchr(proof, '.');
	d2 = strchr(d1 + 1, '.');
	ps = calloc(1, strlen(proof));
	pc = calloc(1, strlen(proof));
	if (!ps || !pc ||
	    sodium_base642bin((unsigned char *)ps, strlen(proof), proof, (size_t)(d1 - proof), NULL,
			      &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    sodium_base642bin((unsigned char *)pc, strlen(proof), d1 + 1, (size_t)(d2 - d1 - 1),
			      NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		abort();
	seed(dir, "proof_parts", (const char *const[]){ps, pc, claims, approval}, 4, 3);
	free(ps);
	free(pc);
	free(proof);
	free(token);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("PB_FUZZ_TOKEN_SEED");

	(void)argc;
	(void)argv;
	pb_fuzz_key(pk, sk);
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	replay = pb_replay_new(64);
	return 0;
}

/* "<b64url(header)>.<b64url(claims)>.<b64url(signature)>" with the test key */
static char *jwt_sign(const char *header, const char *claims)
{
	size_t hl = strlen(header), cl = strlen(claims);
	size_t hb = sodium_base64_ENCODED_LEN(hl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t cb = sodium_base64_ENCODED_LEN(cl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t sb = sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(hb + cb + sb + 2);
	unsigned char sig[64];
	size_t n;

	if (!out)
		abort();
	sodium_bin2base64(out, hb, (const unsigned char *)header, hl,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(out);
	out[n++] = '.';
	sodium_bin2base64(out + n, cb, (const unsigned char *)claims, cl,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n += strlen(out + n);
	crypto_sign_detached(sig, NULL, (const unsigned char *)out, n, sk);
	out[n++] = '.';
	sodium_bin2base64(out + n, sb, sig, sizeof(sig), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

static void check_token(const char *token)
{
	char *claims = NULL;
	enum pb_verify_result r = pb_verify_token(token, pk, NOW, &claims);

	PB_CHECK(pb_verify_result_name(r) != NULL);
	PB_CHECK((r == PB_V_OK) == (claims != NULL));
	if (r == PB_V_OK)
		PB_CHECK(pb_verify_token(token, pk, NOW, NULL) == PB_V_OK);
	free(claims);
}

static void check_proof(const char *proof, const char *token, const char *method, const char *url,
			struct pb_replay *cache)
{
	char *claims = NULL, *apv = NULL;
	enum pb_verify_result r = pb_verify_proof(proof, token, method, url, pk, NOW, cache, &claims);
	enum pb_verify_result a = pb_verify_proof_approval(proof, pk, &apv);

	PB_CHECK(pb_verify_result_name(r) != NULL);
	PB_CHECK((r == PB_V_OK) == (claims != NULL));
	PB_CHECK(pb_verify_result_name(a) != NULL);
	PB_CHECK((a == PB_V_OK) == (apv != NULL));
	free(apv);
	free(claims);
	if (r == PB_V_OK && cache)
		PB_CHECK(pb_verify_proof(proof, token, method, url, pk, NOW, cache, NULL) ==
		       PB_V_REPLAY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: {
		char *t = pb_fuzz_part(&p, end, 0);

		check_token(t);
		free(t);
		break;
	}
	case 1: {
		char *c = pb_fuzz_part(&p, end, 0), *t = pb_token_sign(c, sk);

		if (t)
			check_token(t);
		free(t);
		free(c);
		break;
	}
	case 2: {
		char *proof = pb_fuzz_part(&p, end, 0), *token = pb_fuzz_part(&p, end, 0);
		char *method = pb_fuzz_part(&p, end, 0), *url = pb_fuzz_part(&p, end, 0);

		check_proof(proof, token, method, url, NULL);
		free(proof);
		free(token);
		free(method);
		free(url);
		break;
	}
	default: {
		char *h = pb_fuzz_part(&p, end, 0), *c = pb_fuzz_part(&p, end, 0);
		char *tc = pb_fuzz_part(&p, end, 0), *ac = pb_fuzz_part(&p, end, 0);
		char *signed_apv = pb_signed_make(PB_APPROVAL_PREFIX, ac, sk), *opened = NULL;
		json_t *cj = json_loads(c, 0, NULL);
		char *proof, *token = pb_token_sign(tc, sk);

		/* the approval opens with its key, and gives its claims back */
		PB_CHECK(signed_apv != NULL);
		PB_CHECK(pb_signed_open(PB_APPROVAL_PREFIX, signed_apv, pk, &opened) == 0);
		PB_CHECK(!strcmp(opened, ac));
		free(opened);
		if (json_is_object(cj)) {
			json_t *apv = json_object_get(cj, "apv");
			char *dumped;

			if (!json_is_object(apv)) {
				apv = json_object();
				json_object_set_new(cj, "apv", apv);
			}
			json_object_set_new(apv, "signed", json_string(signed_apv));
			dumped = json_dumps(cj, JSON_COMPACT);
			if (dumped) {
				free(c);
				c = dumped;
			}
		}
		json_decref(cj);
		free(signed_apv);
		free(ac);
		proof = jwt_sign(h, c);

		if (token)
			check_proof(proof, token, "GET", "https://svc.example/v1", replay);
		free(proof);
		free(token);
		free(h);
		free(c);
		free(tc);
		break;
	}
	}
	return 0;
}
