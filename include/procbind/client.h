/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The workload socket's client (libprocbind_client): a process asks the
 * node's procbind agent for a credential for itself, and for a proof of
 * possession for one request. The agent identifies the caller by the
 * connection (a pidfd of the peer) and the start time this library sends.
 *
 * The socket: the path given, else $PROCBIND_WORKLOAD_SOCKET, else
 * /run/procbind/workload.sock. Every function returns 0, or -errno with one
 * line of explanation in err (the agent's own message when it refused). */
#ifndef PROCBIND_CLIENT_H
#define PROCBIND_CLIENT_H

#include <stddef.h>

#define PB_CLIENT_DEFAULT_SOCKET "/run/procbind/workload.sock"

struct pb_client_token {
	char *token;	 /* malloc'd; wipe it when done (sodium_memzero or explicit_bzero) */
	char id[17];	 /* the credential id, hex */
	char identity[64];
	long expires_in; /* seconds */
};

/* A credential bound to the calling process. identity NULL: the one it
 * carries; ttl like "15m" or NULL; inherit "none", "children" or NULL;
 * exe NULL, or the absolute path the caller is about to exec (the binding
 * names that executable: procbindctl run). */
int pb_client_token(const char *socket_path, const char *identity, const char *ttl,
		    const char *inherit, const char *exe, struct pb_client_token *out, char *err,
		    size_t errlen);

/* A credential bound to the calling process, handed over as a descriptor
 * (procbindctl run): its bytes leave the agent only in a file the file
 * guard refuses to every other process, written after the guard's mark, of
 * which *fd is a read-only descriptor (close-on-exec: dup2 it where the
 * command expects it). The file holds format with its one %s replaced by
 * the token ("%s" when NULL). out->token is NULL; the rest is filled. */
int pb_client_token_fd(const char *socket_path, const char *identity, const char *ttl,
		       const char *inherit, const char *exe, const char *format, int *fd,
		       struct pb_client_token *out, char *err, size_t errlen);

/* Keep the calling process's credential out of core dumps and out of other
 * processes' reach through /proc: not dumpable (PR_SET_DUMPABLE 0, so its
 * environ, memory and descriptors in /proc are root's and no core is
 * written) and a zero core limit, hard (raised again only with
 * CAP_SYS_RESOURCE). An exec makes the process dumpable again; the limit
 * stays. 0 or -errno. */
int pb_client_harden(void);

/* A proof for one request (method and URL as the server will see them;
 * nonce: the server's, or NULL) made with token. *proof is malloc'd. */
int pb_client_proof(const char *socket_path, const char *token, const char *method,
		    const char *url, const char *nonce, char **proof, char *err, size_t errlen);

/* The node's Ed25519 public key, as 64 hex digits + NUL. */
int pb_client_pubkey(const char *socket_path, char hex[65], char *err, size_t errlen);

/* One raw request (proto.h format, start_time added) and its reply's JSON
 * body (malloc'd). For tests and tools. */
int pb_client_request(const char *socket_path, const char *verb, const char *const *kv,
		      char **body, char *err, size_t errlen);

#endif
