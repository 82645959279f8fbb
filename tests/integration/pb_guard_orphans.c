// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The events a guard had read when it ended (killed, or stalled and
 * killed), on this kernel's fanotify, with a real group: a child reads an
 * open's permission event and never answers; it is killed; the opener still
 * waits. Then:
 *   1. pb_guard_refuse_below answers it, by number, from another descriptor
 *      of the group: the opener gets EPERM;
 *   2. without it, the group's last descriptor closing lets the opener
 *      through: the kernel behaviour the agent's refusal stands against.
 * Root (fanotify permission events); exit 77 (skipped) without. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

static int failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL: ");                                                          \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failed = 1;                                                                \
		}                                                                                  \
	} while (0)

/* An opener blocked on an event a dead reader had read: its open's errno
 * (0: it got through) comes on *result. Returns the group. */
static int orphan(const char *file, int *result, pid_t *opener)
{
	int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	int readp[2], resp[2];
	pid_t reader;
	char c;

	if (fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, file) ||
	    pipe(readp) || pipe(resp))
		return -1;
	fflush(stdout);
	reader = fork();
	if (reader == 0) {
		char buf[4096];

		if (read(fan, buf, sizeof(buf)) > 0 && write(readp[1], "r", 1) == 1)
			pause(); /* read, never answered */
		_exit(1);
	}
	*opener = fork();
	if (*opener == 0) {
		int fd, e;

		close(fan); /* only the parent holds the group: its close must be the last */
		fd = open(file, O_RDONLY);
		e = fd < 0 ? errno : 0;

		_exit(write(resp[1], &e, sizeof(e)) == sizeof(e) ? 0 : 1);
	}
	if (read(readp[0], &c, 1) != 1)
		return -1;
	kill(reader, SIGKILL);
	waitpid(reader, NULL, 0);
	close(readp[0]);
	close(readp[1]);
	close(resp[1]);
	*result = resp[0];
	return fan;
}

/* The opener's errno, or -1 while it still waits (ms). */
static int outcome(int result, int ms)
{
	struct pollfd p = {.fd = result, .events = POLLIN};
	int e;

	if (poll(&p, 1, ms) != 1 || read(result, &e, sizeof(e)) != sizeof(e))
		return -1;
	return e;
}

int main(void)
{
	char file[] = "/tmp/pb_orphans.XXXXXX";
	int fd = mkstemp(file), fan, result;
	unsigned int n;
	pid_t opener;

	if (geteuid() != 0) {
		printf("SKIP: fanotify permission events need root\n");
		return 77;
	}
	if (fd < 0)
		return 1;
	close(fd);
	/* 1. refused by number */
	fan = orphan(file, &result, &opener);
	if (fan < 0) {
		printf("SKIP: fanotify permission events: %s\n", strerror(errno));
		unlink(file);
		return 77;
	}
	CHECK(outcome(result, 300) == -1, "the opener did not wait on the dead reader's event");
	n = pb_guard_refuse_below(fan, 4096);
	CHECK(n == 1, "%u events refused, expected the 1 the dead reader had read", n);
	CHECK(outcome(result, 5000) == EPERM, "the opener was not refused (EPERM)");
	waitpid(opener, NULL, 0);
	close(result);
	close(fan);
	if (!failed)
		printf(
		    "PASS: an event a killed guard had read is refused by number from the group\n");
	/* 2. what happens without: the group closes and lets it through */
	fan = orphan(file, &result, &opener);
	CHECK(fan >= 0, "second group: %s", strerror(errno));
	if (fan >= 0) {
		CHECK(outcome(result, 300) == -1, "the second opener did not wait");
		close(fan);
		CHECK(outcome(result, 5000) == 0,
		      "the group closed with an unanswered event: the opener was not let through "
		      "(then the refusal guards against nothing on this kernel)");
		waitpid(opener, NULL, 0);
		close(result);
		if (!failed)
			printf(
			    "PASS: unanswered, the group's close lets the opener through: what the "
			    "refusal prevents\n");
	}
	unlink(file);
	return failed;
}
