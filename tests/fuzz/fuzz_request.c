// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The control socket's requests, read as a server reads them: in fragments
 * whose sizes the first two bytes choose, asking after each whether the
 * request is complete, then parsing what it holds. The request's end never
 * moves once found, never comes early, and a parsed request is well formed. */

#include "fuzz.h"
#include "proto.h"

/* the control socket's keys (user/agent/control.c), all verbs together */
static const char *const keys[] = {"pid", "ttl", "identity", "inherit", "out", "audience", "id",
				   "all", NULL};

/* After each fragment: the request's end never moves once found, never
 * comes early, and is the first blank line. */
static int fragment(const char *buf, size_t len, void *ctx)
{
	int *done = ctx, c = pb_req_complete(buf, len);

	if (*done > 0) {
		PB_CHECK(c == *done);
		return 0;
	}
	PB_CHECK(c == 0 || c == -E2BIG || (c > 1 && (size_t)c <= len));
	if (c > 0) {
		PB_CHECK(buf[c - 1] == '\n' && buf[c - 2] == '\n');
		PB_CHECK(!memmem(buf, (size_t)c - 1, "\n\n", 2));
		*done = c;
	}
	return c < 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_req r;
	static char buf[PB_REQ_MAX + 1];
	char err[256];
	size_t len;
	int done = 0;

	if (size < 2)
		return 0;
	len = pb_fuzz_feed(data, size, 64, buf, PB_REQ_MAX, fragment, &done);
	if (done <= 0)
		done = (int)len; /* EOF: a server parses what came */
	err[0] = 0;
	if (pb_req_parse(&r, buf, (size_t)done, err, sizeof(err))) {
		PB_CHECK(err[0]);
		return 0;
	}
	PB_CHECK(r.verb[0] && !strchr(r.verb, '=') && r.nkv <= PB_REQ_MAX_KV);
	for (int i = 0; i < r.nkv; i++) {
		PB_CHECK(r.kv[i].key[0] && !strchr(r.kv[i].key, '\n'));
		PB_CHECK(pb_req_get(&r, r.kv[i].key) == r.kv[i].val); /* keys are unique */
	}
	if (pb_req_check_keys(&r, keys, err, sizeof(err)))
		PB_CHECK(err[0]);
	return 0;
}
