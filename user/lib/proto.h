/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The control-socket protocol. A request is a verb line, then "key=value"
 * lines, then an empty line; at most PB_REQ_MAX bytes. The reply is "ok" or
 * "error: <message>" on the first line, then, after "ok", a JSON body until
 * the socket closes. Text, so that `socat` is enough to debug it. */
#ifndef PB_PROTO_H
#define PB_PROTO_H

#include <stddef.h>
#include <stdint.h>

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

/* How far a request read in pieces has come: the request's length (up to and
 * including the blank line that ends it) once the len bytes so far hold that
 * line, 0 when more must come, -E2BIG when PB_REQ_MAX bytes came without one.
 * What follows the blank line is not part of the request. A server calls it
 * after every read. Bytes are bytes: a NUL is not an end (pb_req_parse
 * refuses it). */
int pb_req_complete(const char *data, size_t len);

/* The value of key, or NULL. */
const char *pb_req_get(const struct pb_req *r, const char *key);

/* Reject keys not in the NULL-terminated list allowed. */
int pb_req_check_keys(const struct pb_req *r, const char *const *allowed, char *err, size_t errlen);

/* The workload socket's requests (docs/workload.md), checked for form before
 * the agent looks at the process that sent them: the verb, the keys each verb
 * takes, and the values' syntax. Strings point into r. */
enum pb_wl_verb { PB_WL_TOKEN, PB_WL_PROOF, PB_WL_PUBKEY };

struct pb_wl_req {
	enum pb_wl_verb verb;
	uint64_t start_time; /* the caller's, in clock ticks (token, proof) */
	const char *identity, *audience, *exe; /* token; exe is absolute, no ".." */
	uint64_t ttl;			       /* token: ns, 0 = the policy's */
	int inherit;			       /* token: -1 default, 0 none, 1 children */
	/* token: hand the token over as a descriptor of its guarded file, whose
	 * text is this with its one %s replaced by the token (NULL: in the
	 * reply, as JSON) */
	const char *handover;
	const char *token, *method, *url, *nonce; /* proof */
};

/* Is format fit for a handover: exactly one %s and no other %? */
int pb_handover_format_ok(const char *format);

/* Parse len bytes into r (the request) and w. 0, or -errno with a message. */
int pb_wl_req_parse(struct pb_req *r, const char *data, size_t len, struct pb_wl_req *w,
		    char *err, size_t errlen);

#endif
