// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The workload socket's requests (any local process can send them): read
 * in fragments whose sizes the first two bytes choose, as the agent reads a
 * slow client, then checked for form (pb_wl_req_parse). What passes is what
 * the agent may act on, so it must hold what the agent assumes. */

#include "fuzz.h"
#include "proto.h"

/* the agent stops reading at the request's end, or refuses a request
 * that has none within PB_REQ_MAX bytes */
static int fragment(const char *buf, size_t len, void *ctx)
{
	return (*(int *)ctx = pb_req_complete(buf, len)) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_req r;
	static char buf[PB_REQ_MAX + 1];
	struct pb_wl_req w;
	char err[256];
	size_t len;
	int done = 0;

	if (size < 2)
		return 0;
	len = pb_fuzz_feed(data, size, 256, buf, PB_REQ_MAX, fragment, &done);
	if (done < 0)
		return 0; /* too large: refused before parsing */
	if (done == 0)
		done = (int)len;
	err[0] = 0;
	if (pb_wl_req_parse(&r, buf, (size_t)done, &w, err, sizeof(err))) {
		PB_CHECK(err[0]);
		return 0;
	}
	switch (w.verb) {
	case PB_WL_PUBKEY:
		PB_CHECK(r.nkv == 0 || (r.nkv == 1 && pb_req_get(&r, "start_time")));
		break;
	case PB_WL_TOKEN:
		PB_CHECK(w.start_time >= 1 && w.inherit >= -1 && w.inherit <= 1);
		PB_CHECK(!w.token && !w.method && !w.url && !w.nonce);
		if (w.exe)
			PB_CHECK(w.exe[0] == '/' && !strstr(w.exe, "/../"));
		break;
	case PB_WL_PROOF:
		PB_CHECK(w.start_time >= 1 && !w.exe && !w.identity && !w.ttl);
		break;
	default:
		PB_CHECK(!"unknown verb accepted");
	}
	return 0;
}
