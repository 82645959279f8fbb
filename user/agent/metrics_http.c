// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Metrics over HTTP for Prometheus (procbindd --metrics-addr), served by
 * libmicrohttpd from a thread of its own. The event loop renders the text
 * once a second (metrics.c) and hands it over here; a scrape copies the
 * latest text under a lock held only for that copy. So a scrape never waits
 * for the event loop (a storm of events keeps that busy), and the event loop
 * never waits for a scrape (a slow or stalled scraper holds only its own
 * connection, and libmicrohttpd closes it after its timeout). */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

/* Connections at once: a silent one costs a slot and a few hundred bytes, so
 * there are many more slots than scrapers; past them, a connection waits in
 * the backlog until a slot is freed. */
#define PB_HTTP_CONNECTIONS 128
#define PB_HTTP_TIMEOUT_S   5  /* an idle or stalled connection is closed */
#define PB_HTTP_ALIVE_S	    10 /* /healthz: the loop rendered metrics this recently */

static enum MHD_Result pb_http_reply(struct MHD_Connection *conn, unsigned int status,
				     const char *type, const char *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result pb_http_request(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_size, void **state)
{
	static const char plain[] = "text/plain; charset=utf-8";
	struct pb_http *h = cls;
	enum MHD_Result ret;

	(void)version, (void)upload_data;
	/* The first call is for the headers only; answer on the second, once
	 * any body has been read (and ignored). */
	if (!*state) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return pb_http_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, plain,
				     "only GET and HEAD\n", 18);
	if (!strcmp(url, "/"))
		return pb_http_reply(conn, MHD_HTTP_OK, plain,
				     "procbind: /metrics, /healthz (alive), /readyz (enforcing)\n",
				     59);
	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz")) {
		/* alive: the agent's loop rendered the metrics in the last
		 * PB_HTTP_ALIVE_S (it does every second); ready: and it enforces */
		int alive, ready;

		pthread_mutex_lock(&h->lock);
		alive = h->published &&
			pb_now_boot_ns() - h->published < PB_HTTP_ALIVE_S * 1000000000ULL;
		ready = alive && h->ready;
		pthread_mutex_unlock(&h->lock);
		if (url[1] == 'h')
			return alive ? pb_http_reply(conn, MHD_HTTP_OK, plain, "ok\n", 3)
				     : pb_http_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, plain,
						     "the agent's loop is stuck\n", 26);
		return ready ? pb_http_reply(conn, MHD_HTTP_OK, plain, "enforcing\n", 10)
			     : pb_http_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, plain,
					     "not enforcing yet\n", 18);
	}
	if (strcmp(url, "/metrics"))
		return pb_http_reply(conn, MHD_HTTP_NOT_FOUND, plain, "not found; try /metrics\n",
				     24);
	pthread_mutex_lock(&h->lock);
	if (h->text)
		ret = pb_http_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
				    h->text, h->len);
	else
		ret = pb_http_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, plain, "no metrics yet\n",
				    15);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void pb_http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	pb_warn("metrics: http: %s", line);
}

/* The listening socket, made here so that a port in use or an address not
 * on this node is a clear error at start. */
static int pb_http_socket(const char *addr)
{
	struct sockaddr_storage ss;
	unsigned int len;
	char err[256];
	int fd, one = 1, zero = 0, ret;

	if (pb_listen_addr_parse(addr, &ss, &len, err, sizeof(err)))
		return pb_err(-EINVAL, "metrics: --metrics-addr %s", err);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
		/* IPv6 is off on this node: every address is every IPv4 one */
		struct sockaddr_in a4 = {.sin_family = AF_INET,
					 .sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port};

		memcpy(&ss, &a4, sizeof(a4));
		len = sizeof(a4);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0)
		return pb_err(-errno, "metrics: socket: %m");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) /* "[::]" serves IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return pb_err(ret, "metrics: listen on %s: %s", addr, strerror(-ret));
	}
	return fd;
}

int pb_metrics_http_listen(struct pb_agent *a, const char *addr)
{
	int fd = pb_http_socket(addr);

	if (fd < 0)
		return fd;
	a->http.fd = fd;
	snprintf(a->http.addr, sizeof(a->http.addr), "%s", addr);
	return 0;
}

int pb_metrics_http_start(struct pb_agent *a)
{
	int fd = a->http.fd;

	if (fd < 0)
		return 0;
	a->http.d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    pb_http_request, &a->http, MHD_OPTION_EXTERNAL_LOGGER, pb_http_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)PB_HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)PB_HTTP_TIMEOUT_S, MHD_OPTION_END);
	if (!a->http.d)
		return pb_err(-EIO, "metrics: the HTTP server did not start on %s", a->http.addr);
	a->http.fd = -1; /* the daemon's now: it closes it when stopped */
	pb_info("metrics: serving http://%s/metrics", a->http.addr);
	return 0;
}

int pb_metrics_http_on(struct pb_agent *a)
{
	return a->http.d != NULL;
}

void pb_metrics_http_publish(struct pb_agent *a, char *text, size_t len)
{
	char *old;

	if (!a->http.d) {
		free(text);
		return;
	}
	pthread_mutex_lock(&a->http.lock);
	old = a->http.text;
	a->http.text = text;
	a->http.len = len;
	a->http.published = pb_now_boot_ns();
	a->http.ready = a->serve.ready;
	pthread_mutex_unlock(&a->http.lock);
	free(old);
}

void pb_metrics_http_stop(struct pb_agent *a)
{
	if (a->http.d) {
		MHD_stop_daemon(a->http.d);
		a->http.d = NULL;
	}
	if (a->http.fd >= 0) {
		close(a->http.fd);
		a->http.fd = -1;
	}
	free(a->http.text);
	a->http.text = NULL;
}
