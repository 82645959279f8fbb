/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The connections of the agent's sockets (control and workload), served
 * without blocking from its one event loop: each reads one request (at most
 * PB_REQ_MAX bytes, within its deadline), has it handled once complete, and
 * gets its reply written as fast as the client reads it. A slow, silent or
 * greedy client holds only its own slot. */
#ifndef PB_CONN_H
#define PB_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "json.h"
#include "proto.h"

struct pb_agent;

struct pb_conn {
	int fd;	   /* -1: free */
	int pidfd; /* the peer, pinned at accept (workload); -1 */
	struct ucred peer;
	uint64_t deadline; /* boot ns: the request must be complete by then */
	size_t len;	   /* bytes of in[] read */
	char in[PB_REQ_MAX + 1];
	struct pb_buf out; /* the reply, from sent on still to write */
	size_t sent;
	int pass_fd; /* a descriptor that goes with the reply's first byte (SCM_RIGHTS); -1 */
	struct pb_conn_pool *pool;
};

/* What a socket does with a complete request (c->in, c->len bytes): 0 and
 * the reply body (JSON) in out, or -errno and a message in err. A handler
 * that sets c->pass_fd gives the descriptor away: it goes with a reply, and
 * is closed with the connection. */
typedef int (*pb_conn_handle_fn)(struct pb_agent *a, struct pb_conn *c, struct pb_buf *out,
				 char *err, size_t errlen);
/* Whether to serve a client just accepted: 0, or -errno and a message. */
typedef int (*pb_conn_admit_fn)(struct pb_agent *a, struct pb_conn *c, char *err, size_t errlen);

struct pb_conn_pool {
	const char *name; /* in log lines: "control", "workload" */
	int listen_fd;
	uint64_t timeout_ns;
	size_t nconn;
	struct pb_conn *conn; /* nconn slots */
	pb_conn_admit_fn admit;
	pb_conn_handle_fn handle;
};

/* Listen on the Unix socket path (its directory made, the socket given
 * mode) with nconn slots: the listening fd, or -errno (logged). */
int pb_conn_listen(struct pb_conn_pool *p, const char *path, mode_t mode, int backlog,
		   size_t nconn);
/* Slots made (and resident) for a pool; listen_fd as given. 0 or -ENOMEM. */
int pb_conn_pool_init(struct pb_conn_pool *p, size_t nconn);
void pb_conn_pool_free(struct pb_conn_pool *p);
/* Accept every pending client of p into a free slot, its fd in epoll ep. */
void pb_conn_accept(struct pb_agent *a, struct pb_conn_pool *p, int ep);
/* The connection fd belongs to in p, or NULL. */
struct pb_conn *pb_conn_find(struct pb_conn_pool *p, int fd);
/* Read or write what the socket allows (events: epoll's). */
void pb_conn_io(struct pb_agent *a, struct pb_conn *c, uint32_t events, int ep);
/* Close the clients of p past their deadline, with an error line. */
void pb_conn_expire(struct pb_agent *a, struct pb_conn_pool *p, int ep);

#endif
