// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Token signing and verification with libsodium (Ed25519, base64url). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

#define PB_TOKEN_PREFIX "pb1."
#define B64V		sodium_base64_VARIANT_URLSAFE_NO_PADDING

char *pb_token_sign(const char *claims, const unsigned char sk[64])
{
	return pb_signed_make(PB_TOKEN_PREFIX, claims, sk);
}

int pb_token_verify(const char *token, const unsigned char pk[32], char **claims)
{
	return pb_signed_open(PB_TOKEN_PREFIX, token, pk, claims);
}

char *pb_signed_make(const char *prefix, const char *claims, const unsigned char sk[64])
{
	size_t clen = strlen(claims), b64c = sodium_base64_ENCODED_LEN(clen, B64V);
	size_t b64s = sodium_base64_ENCODED_LEN(crypto_sign_BYTES, B64V);
	size_t plen = strlen(prefix);
	unsigned char sig[crypto_sign_BYTES];
	char *tok;

	tok = malloc(plen + b64c + 1 + b64s);
	if (!tok)
		return NULL;
	memcpy(tok, prefix, plen);
	sodium_bin2base64(tok + plen, b64c, (const unsigned char *)claims, clen, B64V);
	crypto_sign_detached(sig, NULL, (unsigned char *)tok, strlen(tok), sk);
	strcat(tok, ".");
	sodium_bin2base64(tok + strlen(tok), b64s, sig, sizeof(sig), B64V);
	return tok;
}

int pb_signed_open(const char *prefix, const char *token, const unsigned char pk[32],
		   char **claims)
{
	size_t plen = strlen(prefix), signed_len, clen, slen;
	unsigned char sig[crypto_sign_BYTES];
	const char *dot;
	char *out;

	if (strncmp(token, prefix, plen))
		return -EINVAL;
	dot = strchr(token + plen, '.');
	if (!dot || strchr(dot + 1, '.'))
		return -EINVAL;
	signed_len = dot - token;
	if (sodium_base642bin(sig, sizeof(sig), dot + 1, strlen(dot + 1), NULL, &slen, NULL,
			      B64V) ||
	    slen != sizeof(sig))
		return -EINVAL;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)token, signed_len, pk))
		return -EBADMSG;
	out = malloc(signed_len + 1);
	if (!out)
		return -ENOMEM;
	if (sodium_base642bin((unsigned char *)out, signed_len, token + plen, signed_len - plen,
			      NULL, &clen, NULL, B64V)) {
		free(out);
		return -EINVAL;
	}
	out[clen] = 0;
	*claims = out;
	return 0;
}
