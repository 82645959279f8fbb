// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Control protocol parsing: strict, bounded, and every malformed request is
 * an error message, never a guess. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "util.h"

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
	/* the first blank line ends the request; a client may have sent
	 * more after it, which is not part of it */
	for (size_t i = 1; i < len && i < PB_REQ_MAX; i++)
		if (data[i] == '\n' && data[i - 1] == '\n')
			return (int)i + 1;
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

int pb_wl_req_parse(struct pb_req *r, const char *data, size_t len, struct pb_wl_req *w,
		    char *err, size_t errlen)
{
	static const char *const token_keys[] = {"start_time", "identity", "ttl", "inherit",
						 "audience", "exe",	 "handover", NULL};
	static const char *const proof_keys[] = {"start_time", "token", "method", "url", "nonce",
						 NULL};
	/* clients send their start_time with every request; pubkey ignores it */
	static const char *const pubkey_keys[] = {"start_time", NULL};
	const char *v;
	int ret;

	*w = (struct pb_wl_req){.inherit = -1};
	if ((ret = pb_req_parse(r, data, len, err, errlen)))
		return ret;
	if (!strcmp(r->verb, "token"))
		w->verb = PB_WL_TOKEN;
	else if (!strcmp(r->verb, "proof"))
		w->verb = PB_WL_PROOF;
	else if (!strcmp(r->verb, "pubkey"))
		w->verb = PB_WL_PUBKEY;
	else
		return pb_errf(err, errlen, -EINVAL, "unknown request '%s' (token, proof, pubkey)",
			       r->verb);
	ret = pb_req_check_keys(r, w->verb == PB_WL_TOKEN	? token_keys
				   : w->verb == PB_WL_PROOF ? proof_keys
							    : pubkey_keys,
				err, errlen);
	if (ret || w->verb == PB_WL_PUBKEY)
		return ret;
	v = pb_req_get(r, "start_time");
	if (!v || pb_parse_u64(v, 1, UINT64_MAX, &w->start_time))
		return pb_errf(err, errlen, -EINVAL,
			       "start_time (the caller's own, in ticks: field 22 of /proc/self/stat) "
			       "is needed");
	if (w->verb == PB_WL_PROOF) {
		w->token = pb_req_get(r, "token");
		w->method = pb_req_get(r, "method");
		w->url = pb_req_get(r, "url");
		w->nonce = pb_req_get(r, "nonce");
		return 0;
	}
	w->identity = pb_req_get(r, "identity");
	w->audience = pb_req_get(r, "audience");
	if ((v = pb_req_get(r, "ttl")) && (pb_duration_parse(v, &w->ttl) || !w->ttl))
		return pb_errf(err, errlen, -EINVAL, "ttl '%s' is not a duration", v);
	if ((v = pb_req_get(r, "inherit"))) {
		w->inherit = !strcmp(v, "children") ? 1 : !strcmp(v, "none") ? 0 : -2;
		if (w->inherit == -2)
			return pb_errf(err, errlen, -EINVAL, "inherit must be none or children");
	}
	if ((v = pb_req_get(r, "exe"))) {
		size_t n = strlen(v);

		/* no ".." component: it would walk out of the process's root */
		if (v[0] != '/' || strstr(v, "/../") || (n >= 3 && !strcmp(v + n - 3, "/..")))
			return pb_errf(err, errlen, -ENOENT,
				       "exe %s is not a file the process can exec", v);
		w->exe = v;
	}
	if ((v = pb_req_get(r, "handover"))) {
		if (!pb_handover_format_ok(v))
			return pb_errf(err, errlen, -EINVAL,
				       "handover '%s' needs exactly one %%s and no other %%", v);
		w->handover = v;
	}
	return 0;
}

int pb_handover_format_ok(const char *format)
{
	const char *p = strchr(format, '%');

	return p && p[1] == 's' && !strchr(p + 2, '%');
}
