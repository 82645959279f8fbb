/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A small JSON writer over a growable buffer: objects, strings (escaped),
 * numbers. Enough for event lines and control-socket replies. */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <stddef.h>
#include <stdint.h>

struct pb_buf {
	char *data;
	size_t len, cap;
	int need_comma; /* inside an object or array, after a member */
	int failed;	/* an allocation failed; the content is incomplete */
};

void pb_buf_reset(struct pb_buf *b);
void pb_buf_free(struct pb_buf *b);
void pb_buf_append(struct pb_buf *b, const char *s, size_t n);
void pb_buf_printf(struct pb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void pb_json_begin(struct pb_buf *b); /* { */
void pb_json_end(struct pb_buf *b);   /* } */
/* "key": -- then any value. Every writer taking a key writes an array
 * element when key is NULL. */
void pb_json_key(struct pb_buf *b, const char *key);
void pb_json_array_begin(struct pb_buf *b);			    /* [ -- after pb_json_key */
void pb_json_array_end(struct pb_buf *b);			    /* ] */
void pb_json_str(struct pb_buf *b, const char *key, const char *v); /* NULL -> null */
void pb_json_strn(struct pb_buf *b, const char *key, const char *v, size_t n);
void pb_json_u64(struct pb_buf *b, const char *key, uint64_t v);
void pb_json_i64(struct pb_buf *b, const char *key, int64_t v);
/* A credential id, as it is written everywhere: 16 lowercase hex digits. */
void pb_json_id(struct pb_buf *b, const char *key, uint64_t id);
void pb_json_bool(struct pb_buf *b, const char *key, int v);
void pb_json_raw(struct pb_buf *b, const char *key, const char *raw);
/* Escape n bytes of s as a JSON string (with quotes) into b. */
void pb_json_escape(struct pb_buf *b, const char *s, size_t n);

#endif
