// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* systemd's readiness protocol (sd_notify(3)), without libsystemd: one
 * datagram per state to $NOTIFY_SOCKET, and the watchdog's keep-alive every
 * half of $WATCHDOG_USEC. Nothing when the variables are not set. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

int pb_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	ssize_t n;
	int fd;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return pb_err(-EAFNOSUPPORT, "notify: NOTIFY_SOCKET=%s is not a unix socket path",
			      path);
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* abstract */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pb_err(-errno, "notify: socket: %m");
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
	if (n < 0)
		return pb_err(-errno, "notify: send to %s: %m", path);
	return 0;
}

uint64_t pb_watchdog_interval_ns(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	uint64_t us;

	if (!usec || pb_parse_u64(usec, 1, UINT64_MAX / 1000, &us))
		return 0;
	if (pid && (uint64_t)getpid() != strtoull(pid, NULL, 10))
		return 0; /* meant for another process */
	return us * 1000 / 2;
}
