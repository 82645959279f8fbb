/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The control-socket protocol. A request is a verb line, then "key=value"
 * lines, then an empty line; at most PB_REQ_MAX bytes. The reply is "ok" or
 * "error: <message>" on the first line, then, after "ok", a JSON body until
 * the socket closes. Text, so that `socat` is enough to debug it. */
#ifndef PB_PROTO_H
#define PB_PROTO_H

#include <stddef.h>

#define PB_REQ_MAX    8192
#define PB_REQ_MAX_KV 16

struct pb_req {
	char verb[32];
	int nkv;
	struct {
		char *key;
		char *val;
	} kv[PB_REQ_MAX_KV];
	char buf[PB_REQ_MAX + 1]; /* keys and values point into this */
};

/* Parse len bytes of data into r. 0, or -EINVAL with a message in err. */
int pb_req_parse(struct pb_req *r, const char *data, size_t len, char *err, size_t errlen);

/* How far a request read in pieces has come: 1 when the len bytes so far end
 * with the blank line that ends a request, 0 when more must come, -E2BIG when
 * PB_REQ_MAX bytes came without one. A server calls it after every read. */
int pb_req_complete(const char *data, size_t len);

/* The value of key, or NULL. */
const char *pb_req_get(const struct pb_req *r, const char *key);

/* Reject keys not in the NULL-terminated list allowed. */
int pb_req_check_keys(const struct pb_req *r, const char *const *allowed, char *err, size_t errlen);

#endif
