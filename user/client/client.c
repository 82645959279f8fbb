// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libprocbind_client: see include/procbind/client.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "procbind/client.h"

static const char *pb_sock(const char *p)
{
	const char *e = getenv("PROCBIND_WORKLOAD_SOCKET");

	return p && p[0] ? p : e && e[0] ? e : PB_CLIENT_DEFAULT_SOCKET;
}

/* Field 22 of /proc/self/stat: this process's start, in clock ticks. */
static int pb_self_start(unsigned long long *ticks)
{
	char buf[1024], *end;
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	end = strrchr(buf, ')');
	if (!end || sscanf(end + 1,
			     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			     "%*d %*d %*d %llu",
			     ticks) != 1)
		return -EIO;
	return 0;
}

static int pb_errf(char *err, size_t len, int code, const char *fmt, const char *a, const char *b)
{
	snprintf(err, len, fmt, a, b);
	return code;
}

/* Read what the agent sends until it closes; a descriptor that comes with
 * it (SCM_RIGHTS, close-on-exec) goes to *fd, or is closed when fd is NULL. */
static ssize_t pb_read_reply(int sock, char *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		int got;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
		if (fd && *fd < 0)
			*fd = got;
		else
			close(got);
	}
	return n;
}

static int pb_client_request_fd(const char *socket_path, const char *verb, const char *const *kv,
				char **body, int *rfd, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = pb_sock(socket_path);
	unsigned long long ticks;
	size_t cap = 8192, len = 0;
	char *req, *resp;
	int fd, ret = 0;
	ssize_t n;
	FILE *f;

	*body = NULL;
	if ((ret = pb_self_start(&ticks)))
		return pb_errf(err, errlen, ret, "%s%s", "cannot read /proc/self/stat", "");
	f = open_memstream(&req, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%s\nstart_time=%llu\n", verb, ticks);
	for (; kv && kv[0]; kv += 2)
		if (kv[1])
			fprintf(f, "%s=%s\n", kv[0], kv[1]);
	fputs("\n", f);
	fclose(f);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		free(req);
		return pb_errf(err, errlen, -ENAMETOOLONG, "socket path too long: %s%s", path, "");
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		free(req);
		return pb_errf(err, errlen, ret, "cannot reach the workload socket %s: %s", path,
			       strerror(-ret));
	}
	n = write(fd, req, len);
	free(req);
	if (n != (ssize_t)len) {
		close(fd);
		return pb_errf(err, errlen, -EIO, "%s%s", "short write to the workload socket", "");
	}
	resp = malloc(cap);
	len = 0;
	while (resp && (n = pb_read_reply(fd, resp + len, cap - 1 - len, rfd)) > 0) {
		len += n;
		if (len == cap - 1) {
			char *r = realloc(resp, cap *= 2);

			if (!r) {
				free(resp);
				resp = NULL;
			}
			resp = r;
		}
	}
	close(fd);
	if (!resp)
		return -ENOMEM;
	resp[len] = 0;
	if (!strncmp(resp, "ok\n", 3)) {
		memmove(resp, resp + 3, len - 2);
		*body = resp;
		return 0;
	}
	resp[strcspn(resp, "\n")] = 0;
	snprintf(err, errlen, "%s", !strncmp(resp, "error: ", 7) ? resp + 7 : resp[0] ? resp : "no reply");
	free(resp);
	return -EPERM;
}

int pb_client_request(const char *socket_path, const char *verb, const char *const *kv,
		      char **body, char *err, size_t errlen)
{
	return pb_client_request_fd(socket_path, verb, kv, body, NULL, err, errlen);
}

static json_t *pb_reply_json(char *body, char *err, size_t errlen)
{
	json_t *o = json_loads(body, 0, NULL);

	if (!o)
		snprintf(err, errlen, "the agent's reply is not JSON");
	return o;
}

static int pb_copy_str(json_t *o, const char *k, char **out)
{
	const char *v = json_string_value(json_object_get(o, k));

	*out = v ? strdup(v) : NULL;
	return *out ? 0 : -EPROTO;
}

static int pb_client_token_any(const char *socket_path, const char *identity, const char *ttl,
			       const char *inherit, const char *exe, const char *format, int *fd,
			       struct pb_client_token *out, char *err, size_t errlen)
{
	const char *kv[] = {"identity", identity, "ttl", ttl,	  "inherit", inherit,
			    "exe",	exe,	  "handover", format, NULL};
	char *body;
	json_t *o;
	int ret = pb_client_request_fd(socket_path, "token", kv, &body, fd, err, errlen);

	memset(out, 0, sizeof(*out));
	if (!ret && fd) {
		o = pb_reply_json(body, err, errlen);
		free(body);
		if (o && *fd >= 0)
			goto fill;
		if (o)
			snprintf(err, errlen, "the agent's reply came without a descriptor");
		json_decref(o);
		ret = -EPROTO;
	}
	if (ret) {
		if (fd && *fd >= 0)
			close(*fd);
		if (fd)
			*fd = -1;
		return ret;
	}
	o = pb_reply_json(body, err, errlen);
	explicit_bzero(body, strlen(body));
	free(body);
	if (!o)
		return -EPROTO;
	ret = pb_copy_str(o, "token", &out->token);
fill:
	snprintf(out->id, sizeof(out->id), "%s", json_string_value(json_object_get(o, "id")) ?: "");
	snprintf(out->identity, sizeof(out->identity), "%s",
		 json_string_value(json_object_get(o, "identity")) ?: "");
	out->expires_in = (long)json_integer_value(json_object_get(o, "expires_in"));
	json_decref(o);
	if (ret)
		snprintf(err, errlen, "the agent's reply has no token");
	return ret;
}

int pb_client_token(const char *socket_path, const char *identity, const char *ttl,
		    const char *inherit, const char *exe, struct pb_client_token *out, char *err,
		    size_t errlen)
{
	return pb_client_token_any(socket_path, identity, ttl, inherit, exe, NULL, NULL, out, err,
				   errlen);
}

int pb_client_token_fd(const char *socket_path, const char *identity, const char *ttl,
		       const char *inherit, const char *exe, const char *format, int *fd,
		       struct pb_client_token *out, char *err, size_t errlen)
{
	*fd = -1;
	return pb_client_token_any(socket_path, identity, ttl, inherit, exe, format ? format : "%s",
				   fd, out, err, errlen);
}

int pb_client_harden(void)
{
	const struct rlimit zero = {0, 0};

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || setrlimit(RLIMIT_CORE, &zero))
		return -errno;
	return 0;
}

int pb_client_proof(const char *socket_path, const char *token, const char *method,
		    const char *url, const char *nonce, char **proof, char *err, size_t errlen)
{
	const char *kv[] = {"token", token, "method", method, "url", url, "nonce", nonce, NULL};
	char *body;
	json_t *o;
	int ret = pb_client_request(socket_path, "proof", kv, &body, err, errlen);

	*proof = NULL;
	if (ret)
		return ret;
	o = pb_reply_json(body, err, errlen);
	free(body);
	if (!o)
		return -EPROTO;
	ret = pb_copy_str(o, "proof", proof);
	json_decref(o);
	if (ret)
		snprintf(err, errlen, "the agent's reply has no proof");
	return ret;
}

int pb_client_pubkey(const char *socket_path, char hex[65], char *err, size_t errlen)
{
	char *body;
	json_t *o;
	const char *v;
	int ret = pb_client_request(socket_path, "pubkey", NULL, &body, err, errlen);

	if (ret)
		return ret;
	o = pb_reply_json(body, err, errlen);
	free(body);
	v = o ? json_string_value(json_object_get(o, "ed25519")) : NULL;
	if (!v || strlen(v) != 64) {
		json_decref(o);
		snprintf(err, errlen, "the agent's reply has no key");
		return -EPROTO;
	}
	memcpy(hex, v, 65);
	json_decref(o);
	return 0;
}
