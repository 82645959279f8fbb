// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl's connection to the agent (ctl_conn.h): one request, its whole
 * reply, on a fresh connection each time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>

#include "ctl_conn.h"
#include "util.h"

static const char *pb_sock_path = "/run/procbind/control.sock";

void pb_ctl_set_socket(const char *path)
{
	pb_sock_path = path;
}

const char *pb_ctl_socket(void)
{
	return pb_sock_path;
}

int pb_ctl_request(const char *req, size_t len, struct pb_buf *reply, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[65536];
	ssize_t n;
	int fd;

	if (strlen(pb_sock_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", pb_sock_path);
		return -1;
	}
	strcpy(sun.sun_path, pb_sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		snprintf(err, errlen, "cannot reach the agent at %s: %s", pb_sock_path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (pb_write_full(fd, req, len)) {
		snprintf(err, errlen, "send request: %s", strerror(errno));
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		pb_buf_append(reply, buf, (size_t)n);
	close(fd);
	if (reply->failed) {
		snprintf(err, errlen, "out of memory reading the reply");
		return -1;
	}
	if (!reply->len) {
		snprintf(err, errlen, "the agent closed the connection without a reply");
		return -1;
	}
	return 0;
}

int pb_agent_audit_dir(char *out, size_t len)
{
	struct pb_buf reply = {0};
	const char *dir = NULL;
	json_t *o = NULL;
	char err[256];
	int ret = -1;

	if (!pb_ctl_request("status\n\n", 8, &reply, err, sizeof(err)) && reply.len > 3 &&
	    !strncmp(reply.data, "ok\n", 3))
		o = json_loadb(reply.data + 3, reply.len - 3, 0, NULL);
	dir = json_string_value(json_object_get(json_object_get(o, "audit"), "dir"));
	if (dir && dir[0] && strlen(dir) < len) {
		snprintf(out, len, "%s", dir);
		ret = 0;
	}
	json_decref(o);
	pb_buf_free(&reply);
	return ret;
}
