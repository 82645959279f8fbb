// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Non-blocking connections of the agent's sockets (see conn.h). One request
 * per connection; the reply is "ok" or "error: <message>" on its first
 * line, then, after "ok", a JSON body; then the connection closes. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "conn.h"
#include "events.h"
#include "log.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int pb_conn_listen(struct pb_conn_pool *p, const char *path, mode_t mode, int backlog, size_t nconn)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[PATH_MAX];
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return pb_err(-ENAMETOOLONG, "%s: socket path too long: %s", p->name, path);
	snprintf(dir, sizeof(dir), "%s", path);
	/* 0755: the control and workload sockets may share it */
	if (mkdir(dirname(dir), 0755) && errno != EEXIST)
		return pb_err(-errno, "%s: mkdir %s: %m", p->name, dir);
	if (pb_conn_pool_init(p, nconn))
		return pb_err(-ENOMEM, "%s: out of memory", p->name);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, mode) ||
	    listen(fd, backlog)) {
		err = -errno;
		close(fd);
		goto fail;
	}
	p->listen_fd = fd;
	return fd;
fail:
	pb_conn_pool_free(p);
	return pb_err(err, "%s: listen on %s: %s", p->name, path, strerror(-err));
}

int pb_conn_pool_init(struct pb_conn_pool *p, size_t nconn)
{
	p->conn = calloc(nconn, sizeof(*p->conn));
	if (!p->conn)
		return -ENOMEM;
	/* resident now: many clients at once later do not grow the agent */
	memset(p->conn, 0, nconn * sizeof(*p->conn));
	p->nconn = nconn;
	for (size_t i = 0; i < nconn; i++) {
		p->conn[i].fd = p->conn[i].pidfd = p->conn[i].pass_fd = -1;
		p->conn[i].pool = p;
	}
	return 0;
}

static void pb_conn_close(struct pb_conn *c, int ep)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->pass_fd >= 0)
		close(c->pass_fd);
	c->fd = c->pidfd = c->pass_fd = -1;
	/* a reply may hold a token or a proof */
	if (c->out.data)
		sodium_memzero(c->out.data, c->out.len);
	pb_buf_free(&c->out);
	sodium_memzero(c->in, c->len);
	c->len = c->sent = 0;
}

void pb_conn_pool_free(struct pb_conn_pool *p)
{
	for (size_t i = 0; p->conn && i < p->nconn; i++)
		if (p->conn[i].fd >= 0)
			pb_conn_close(&p->conn[i], -1);
	free(p->conn);
	p->conn = NULL;
	p->nconn = 0;
}

struct pb_conn *pb_conn_find(struct pb_conn_pool *p, int fd)
{
	for (size_t i = 0; fd >= 0 && i < p->nconn; i++)
		if (p->conn[i].fd == fd)
			return &p->conn[i];
	return NULL;
}

/* Write what the socket takes; close once all is written or the client
 * has gone. */
static void pb_conn_flush(struct pb_conn *c, int ep)
{
	while (c->sent < c->out.len) {
		char cbuf[CMSG_SPACE(sizeof(int))] = {0};
		struct iovec iov = {.iov_base = c->out.data + c->sent,
				    .iov_len = c->out.len - c->sent};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (c->pass_fd >= 0) { /* with the first byte that goes */
			struct cmsghdr *cm;

			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &c->pass_fd, sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0 && c->pass_fd >= 0) {
			close(c->pass_fd);
			c->pass_fd = -1;
		}

		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT brings us back */
		pb_debug("%s: reply: %m", c->pool->name);
		break;
	}
	pb_conn_close(c, ep);
}

/* Queue the reply and write what fits now; the client reads the rest at
 * its pace, within the deadline. */
static void pb_conn_reply(struct pb_conn *c, const char *head, const struct pb_buf *body, int ep)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.fd = c->fd};

	pb_buf_reset(&c->out);
	pb_buf_append(&c->out, head, strlen(head));
	if (body && body->len) {
		pb_buf_append(&c->out, body->data, body->len);
		if (body->data[body->len - 1] != '\n')
			pb_buf_append(&c->out, "\n", 1);
	}
	if (c->out.failed) {
		pb_error("%s: out of memory for a reply", c->pool->name);
		pb_conn_close(c, ep);
		return;
	}
	c->sent = 0;
	c->deadline = pb_now_boot_ns() + c->pool->timeout_ns;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	pb_conn_flush(c, ep);
}

static void pb_conn_error(struct pb_conn *c, const char *msg, int ep)
{
	char head[PB_ERRLEN + 16];

	snprintf(head, sizeof(head), "error: %s\n", msg);
	pb_conn_reply(c, head, NULL, ep);
}

void pb_conn_accept(struct pb_agent *a, struct pb_conn_pool *p, int ep)
{
	int fd;

	while ((fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		struct pb_conn *c = NULL;
		socklen_t len = sizeof(struct ucred);
		char err[PB_ERRLEN] = "";

		for (size_t i = 0; i < p->nconn && !c; i++)
			if (p->conn[i].fd < 0)
				c = &p->conn[i];
		if (!c) {
			static const char busy[] = "error: busy: too many clients at once; retry\n";

			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = c->sent = 0;
		c->deadline = pb_now_boot_ns() + p->timeout_ns;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len))
			c->peer = (struct ucred){.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
		/* the peer as it was at connect(), even if it has exited since */
		len = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len))
			c->pidfd = c->peer.pid > 0 ? pb_pidfd_open(c->peer.pid) : -1;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		if (p->admit && p->admit(a, c, err, sizeof(err)))
			pb_conn_error(c, err, ep);
	}
}

void pb_conn_io(struct pb_agent *a, struct pb_conn *c, uint32_t events, int ep)
{
	struct pb_buf body = {0};
	char err[PB_ERRLEN] = "";
	ssize_t n;
	int done, ret;

	if (c->out.len) { /* writing the reply */
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			pb_conn_flush(c, ep);
		return;
	}
	n = read(c->fd, c->in + c->len, sizeof(c->in) - 1 - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->len += (size_t)n;
	c->in[c->len] = 0;
	done = pb_req_complete(c->in, c->len);
	if (done < 0) {
		pb_info("%s: a request over %d bytes, refused", c->pool->name, PB_REQ_MAX);
		pb_conn_error(c, "request too large", ep);
		return;
	}
	if (!done && n > 0)
		return; /* more to come */
	if (!c->len) {
		pb_conn_close(c, ep); /* hung up without asking */
		return;
	}
	if (done > 0)
		c->len = (size_t)done; /* what follows the request is not read */
	/* else: the client stopped sending; what came is parsed (and refused) */
	ret = c->pool->handle(a, c, &body, err, sizeof(err));
	if (ret && c->pass_fd >= 0) {
		close(c->pass_fd); /* an error goes without it */
		c->pass_fd = -1;
	}
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(ret < 0 ? -ret : EIO));
		pb_info("%s: %s (pid %d)", c->pool->name, err, (int)c->peer.pid);
		pb_conn_error(c, err, ep);
	} else {
		pb_conn_reply(c, "ok\n", &body, ep);
	}
	if (body.data)
		sodium_memzero(body.data, body.len);
	pb_buf_free(&body);
	pb_events_stream_flush(a);
}

void pb_conn_expire(struct pb_agent *a, struct pb_conn_pool *p, int ep)
{
	uint64_t now = pb_now_boot_ns();

	(void)a;
	for (size_t i = 0; i < p->nconn; i++) {
		struct pb_conn *c = &p->conn[i];

		if (c->fd < 0 || now <= c->deadline)
			continue;
		if (c->out.len) {
			pb_info("%s: a client did not read its reply in time; closed", p->name);
			pb_conn_close(c, ep);
		} else {
			pb_info("%s: a client sent no complete request in time; closed", p->name);
			pb_conn_error(c, "timed out: no complete request in time", ep);
		}
	}
}
