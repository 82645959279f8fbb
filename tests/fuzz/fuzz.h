/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the libFuzzer harnesses share: a fixed node key (so inputs signed
 * with it reach the code behind the signature checks, and the seed corpora
 * stay valid), and splitting one input into parts. */
#ifndef PB_FUZZ_H
#define PB_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What must hold; assert(3) would vanish in a release build (NDEBUG). */
#define PB_CHECK(c)                                                                                \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The fixed test key: Ed25519 from the seed 0x42 * 32. Never a node's. */
static inline void pb_fuzz_key(unsigned char pk[32], unsigned char sk[64])
{
	unsigned char seed[32];

	memset(seed, 0x42, sizeof(seed));
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* The next part of [*p, end) up to the separator byte sep (consumed), as a
 * NUL-terminated malloc'd copy; the rest when there is no separator. */
static inline char *pb_fuzz_part(const uint8_t **p, const uint8_t *end, uint8_t sep)
{
	const uint8_t *s = *p, *e = memchr(s, sep, (size_t)(end - s));
	size_t n = (size_t)((e ? e : end) - s);
	char *out = malloc(n + 1);

	if (!out)
		abort();
	memcpy(out, s, n);
	out[n] = 0;
	*p = e ? e + 1 : end;
	return out;
}

/* Feed data[2..size) into buf (PB_REQ_MAX + 1 bytes) as a server reads a
 * socket: in fragments of 1 to maxfrag bytes whose sizes data[0] and data[1]
 * seed, calling step(buf, len, ctx) after each; it returns non-zero to stop.
 * Returns the bytes fed. */
static inline size_t pb_fuzz_feed(const uint8_t *data, size_t size, size_t maxfrag, char *buf,
				  size_t cap, int (*step)(const char *buf, size_t len, void *ctx),
				  void *ctx)
{
	uint32_t rng = data[0] | (uint32_t)data[1] << 8 | 1u << 16;
	size_t len = 0, off = 2;

	while (off < size && len < cap) {
		size_t n;

		rng = rng * 1103515245u + 12345u;
		n = 1 + (rng >> 16) % maxfrag;
		if (n > size - off)
			n = size - off;
		if (n > cap - len)
			n = cap - len;
		memcpy(buf + len, data + off, n);
		len += n;
		off += n;
		if (step(buf, len, ctx))
			break;
	}
	return len;
}

#endif
