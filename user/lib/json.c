// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON writer: every string from the kernel (comm, paths) is escaped, so an
 * attacker-chosen process name cannot forge fields in an event line. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

void pb_buf_reset(struct pb_buf *b)
{
	b->len = 0;
	b->need_comma = 0;
	b->failed = 0;
	if (b->data)
		b->data[0] = 0;
}

void pb_buf_free(struct pb_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int pb_buf_reserve(struct pb_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void pb_buf_append(struct pb_buf *b, const char *s, size_t n)
{
	if (pb_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void pb_buf_printf(struct pb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || pb_buf_reserve(b, n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t pb_utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */

	if (s[0] < 0xc2 || s[0] > 0xf4 || n < len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A byte that stands for itself in a JSON string. */
static inline int pb_json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void pb_json_escape(struct pb_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	pb_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n && s[i];) {
		unsigned char c = s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		size_t run = i;

		/* most of every line is plain ASCII: copied a run at a time */
		while (run < n && pb_json_plain((unsigned char)s[run]))
			run++;
		if (run > i) {
			pb_buf_append(b, s + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char two[2] = {'\\', (char)c};
			pb_buf_append(b, two, 2);
		} else if (c < 0x20 || c == 0x7f) {
			pb_buf_append(b, esc, 6);
		} else {
			/* A comm, path or argument is bytes, not text (prctl
			 * PR_SET_NAME takes any): a byte that is not part of
			 * well-formed UTF-8 becomes U+FFFD, so every line stays
			 * JSON that a parser or log shipper takes. */
			size_t len =
			    pb_utf8_len((const unsigned char *)s + i, strnlen(s + i, n - i));

			if (len) {
				pb_buf_append(b, s + i, len);
				i += len;
				continue;
			}
			pb_buf_append(b, "\\ufffd", 6);
		}
		i++;
	}
	pb_buf_append(b, "\"", 1);
}

void pb_json_begin(struct pb_buf *b)
{
	if (b->need_comma)
		pb_buf_append(b, ",", 1);
	pb_buf_append(b, "{", 1);
	b->need_comma = 0;
}

void pb_json_end(struct pb_buf *b)
{
	pb_buf_append(b, "}", 1);
	b->need_comma = 1;
}

void pb_json_key(struct pb_buf *b, const char *key)
{
	size_t n = 0;
	char *p;

	/* the keys are our own words: plain ASCII, written in one copy */
	while (key && key[n] && pb_json_plain((unsigned char)key[n]))
		n++;
	if (key && !key[n] && !pb_buf_reserve(b, n + 4)) {
		p = b->data + b->len;
		if (b->need_comma)
			*p++ = ',';
		*p++ = '"';
		memcpy(p, key, n);
		p += n;
		*p++ = '"';
		*p++ = ':';
		*p = 0;
		b->len = (size_t)(p - b->data);
		b->need_comma = 0;
		return;
	}
	if (b->need_comma)
		pb_buf_append(b, ",", 1);
	b->need_comma = 0;
	if (!key)
		return; /* an array element */
	pb_json_escape(b, key, strlen(key));
	pb_buf_append(b, ":", 1);
}

void pb_json_array_begin(struct pb_buf *b)
{
	pb_buf_append(b, "[", 1);
	b->need_comma = 0;
}

void pb_json_array_end(struct pb_buf *b)
{
	pb_buf_append(b, "]", 1);
	b->need_comma = 1;
}

void pb_json_strn(struct pb_buf *b, const char *key, const char *v, size_t n)
{
	pb_json_key(b, key);
	if (v)
		pb_json_escape(b, v, n);
	else
		pb_buf_append(b, "null", 4);
	b->need_comma = 1;
}

void pb_json_str(struct pb_buf *b, const char *key, const char *v)
{
	pb_json_strn(b, key, v, v ? strlen(v) : 0);
}

/* v in decimal, without printf (an event has a dozen numbers): written
 * backwards from the end of out, which it returns the start of. */
static char *pb_dec(char out[21], uint64_t v)
{
	char *p = out + 21;

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

void pb_json_u64(struct pb_buf *b, const char *key, uint64_t v)
{
	char out[23], *p;

	pb_json_key(b, key);
	/* above 2^63 - 1 most parsers (jansson too) cannot hold it as a
	 * number: a decimal string (user/verify/json_u64.h reads both) */
	p = pb_dec(out + 1, v);
	if (v > INT64_MAX) {
		*--p = '"';
		out[22] = '"';
		pb_buf_append(b, p, (size_t)(out + 23 - p));
	} else {
		pb_buf_append(b, p, (size_t)(out + 22 - p));
	}
	b->need_comma = 1;
}

void pb_json_i64(struct pb_buf *b, const char *key, int64_t v)
{
	char out[22], *p;

	pb_json_key(b, key);
	p = pb_dec(out, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	pb_buf_append(b, p, (size_t)(out + 21 - p));
	b->need_comma = 1;
}

void pb_json_bool(struct pb_buf *b, const char *key, int v)
{
	pb_json_raw(b, key, v ? "true" : "false");
}

void pb_json_raw(struct pb_buf *b, const char *key, const char *raw)
{
	pb_json_key(b, key);
	pb_buf_append(b, raw, strlen(raw));
	b->need_comma = 1;
}

void pb_json_id(struct pb_buf *b, const char *key, uint64_t id)
{
	char hex[17];

	pb_id_format(id, hex);
	pb_json_str(b, key, hex);
}
