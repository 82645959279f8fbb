// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Control protocol parsing: strict, bounded, and every malformed request is
 * an error message, never a guess. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static int pb_token_ok(const char *s, int allow_empty)
{
	if (!*s)
		return allow_empty;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int pb_req_complete(const char *data, size_t len)
{
	if (len >= 2 && data[len - 1] == '\n' && data[len - 2] == '\n')
		return 1;
	/* a blank line inside what came: the client sent more after its
	 * request; the request is what came before it */
	for (size_t i = 1; i < len; i++)
		if (data[i] == '\n' && data[i - 1] == '\n')
			return 1;
	return len >= PB_REQ_MAX ? -E2BIG : 0;
}

int pb_req_parse(struct pb_req *r, const char *data, size_t len, char *err, size_t errlen)
{
	char *line, *next, *end;
	int first = 1, terminated = 0;

	memset(r, 0, sizeof(r->verb) + sizeof(r->nkv) + sizeof(r->kv));
	if (len > PB_REQ_MAX) {
		snprintf(err, errlen, "request larger than %d bytes", PB_REQ_MAX);
		return -E2BIG;
	}
	if (memchr(data, 0, len)) {
		snprintf(err, errlen, "request contains a NUL byte");
		return -EINVAL;
	}
	memcpy(r->buf, data, len);
	r->buf[len] = 0;
	end = r->buf + len;

	for (line = r->buf; line < end; line = next) {
		char *nl = memchr(line, '\n', end - line), *eq;

		if (!nl) {
			snprintf(err, errlen, "request line not terminated by a newline");
			return -EINVAL;
		}
		*nl = 0;
		next = nl + 1;
		if (!*line) {
			terminated = 1;
			if (next != end) {
				snprintf(err, errlen, "data after the end of the request");
				return -EINVAL;
			}
			break;
		}
		if (first) {
			first = 0;
			if (strlen(line) >= sizeof(r->verb) || strchr(line, '=') ||
			    !pb_token_ok(line, 0)) {
				snprintf(err, errlen, "bad verb line");
				return -EINVAL;
			}
			strcpy(r->verb, line);
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || eq == line) {
			snprintf(err, errlen, "bad line (expected key=value)");
			return -EINVAL;
		}
		*eq = 0;
		if (!pb_token_ok(line, 0) || !pb_token_ok(eq + 1, 1)) {
			snprintf(err, errlen, "control characters in '%s'", line);
			return -EINVAL;
		}
		if (pb_req_get(r, line)) {
			snprintf(err, errlen, "duplicate key '%s'", line);
			return -EINVAL;
		}
		if (r->nkv == PB_REQ_MAX_KV) {
			snprintf(err, errlen, "more than %d keys", PB_REQ_MAX_KV);
			return -E2BIG;
		}
		r->kv[r->nkv].key = line;
		r->kv[r->nkv].val = eq + 1;
		r->nkv++;
	}
	if (first) {
		snprintf(err, errlen, "empty request");
		return -EINVAL;
	}
	if (!terminated) {
		snprintf(err, errlen, "request not terminated by an empty line");
		return -EINVAL;
	}
	return 0;
}

const char *pb_req_get(const struct pb_req *r, const char *key)
{
	for (int i = 0; i < r->nkv; i++)
		if (!strcmp(r->kv[i].key, key))
			return r->kv[i].val;
	return NULL;
}

int pb_req_check_keys(const struct pb_req *r, const char *const *allowed, char *err, size_t errlen)
{
	for (int i = 0; i < r->nkv; i++) {
		int ok = 0;

		for (int j = 0; allowed[j]; j++)
			ok |= !strcmp(allowed[j], r->kv[i].key);
		if (!ok) {
			snprintf(err, errlen, "%s: unknown key '%s'", r->verb, r->kv[i].key);
			return -EINVAL;
		}
	}
	return 0;
}
