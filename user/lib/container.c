// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container.h"
#include "sysfs.h"
#include "util.h"

int pb_open_in_root(uint32_t pid, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char root[64];
	int rfd, fd;

	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, rfd, path, &how, sizeof(how));
	if (fd < 0)
		fd = -errno;
	close(rfd);
	return fd;
}

int pb_adopt_suffix(const char *path, char *out, size_t len)
{
	const char *s = strrchr(path, '/'), *q;

	s = s ? s + 1 : path;
	/* the last component "..X" (not ".." itself) that has a '/' after it */
	for (q = path; (q = strstr(q, "/..")); q++) {
		const char *end = strchr(q + 1, '/');

		if (end && end - q > 3)
			s = end + 1;
	}
	if ((size_t)snprintf(out, len, "%s", s) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Does pid run a binary of its own root's filesystem? */
static int pb_runs_own_binary(uint32_t pid)
{
	char link[64], exe[PATH_MAX];
	struct stat a, b;
	ssize_t n;
	int fd, ok;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0 || exe[0] != '/')
		return 0;
	exe[n] = 0;
	if (stat(link, &a))
		return 0;
	fd = pb_open_in_root(pid, exe, O_PATH);
	if (fd < 0)
		return 0;
	ok = !fstat(fd, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close(fd);
	return ok;
}

/* The innermost PID of pid (its PID in its own namespace), or 0. */
static uint32_t pb_ns_pid(uint32_t pid)
{
	char path[64], line[256];
	unsigned int last = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (;;) {
			unsigned long v = strtoul(p, &end, 10);

			if (end == p)
				break;
			last = (unsigned int)v;
			p = end;
		}
		break;
	}
	fclose(f);
	return last;
}

static FILE *pb_procs_open(const char *dir)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return NULL;
	return fopen(path, "re");
}

int pb_container_main(const char *dir, struct pb_pkey *out)
{
	FILE *f = pb_procs_open(dir);
	uint64_t best_start = UINT64_MAX;
	int best_init = 0, found = 0;
	unsigned int pid;

	if (!f)
		return -ESRCH;
	while (fscanf(f, "%u", &pid) == 1) {
		struct pb_stat st;
		int init;

		if (pb_stat_read(pid, &st) || !pb_runs_own_binary(pid))
			continue;
		init = pb_ns_pid(pid) == 1;
		if (found &&
		    (best_init > init || (best_init == init && st.starttime >= best_start)))
			continue;
		found = 1;
		best_init = init;
		best_start = st.starttime;
		out->tgid = pid;
		out->_pad = 0;
		out->start_time = pb_ticks_to_ns(st.starttime);
	}
	fclose(f);
	return found ? 0 : -ESRCH;
}

int pb_container_any(const char *dir, uint32_t *pid)
{
	FILE *f = pb_procs_open(dir);
	int ok;

	if (!f)
		return -ESRCH;
	ok = fscanf(f, "%u", pid) == 1;
	fclose(f);
	return ok ? 0 : -ESRCH;
}

int pb_is_node_process(uint32_t pid)
{
	static ino_t node_mnt, own_mnt;
	static int known;
	char path[64];
	struct stat ns, proc;

	if (!known) {
		/* PID 1's may be unreadable (a sandbox): then our own alone */
		own_mnt = stat("/proc/self/ns/mnt", &ns) ? 0 : ns.st_ino;
		node_mnt = stat("/proc/1/ns/mnt", &ns) ? own_mnt : ns.st_ino;
		known = 1;
	}
	snprintf(path, sizeof(path), "/proc/%u/ns/mnt", pid);
	if (stat(path, &ns) || !ns.st_ino || (ns.st_ino != node_mnt && ns.st_ino != own_mnt))
		return 0;
	snprintf(path, sizeof(path), "/proc/%u", pid);
	return !stat(path, &proc) && proc.st_uid == 0;
}

int pb_mountinfo_at(const char *mountinfo, const char *mnt, char *fstype, size_t flen, char *root,
		    size_t rlen)
{
	FILE *f = fopen(mountinfo, "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char r[PATH_MAX], m[PATH_MAX], *sep = strstr(line, " - ");
		char t[64];

		/* id parent maj:min root mountpoint ... - fstype source opts */
		if (!sep || sscanf(line, "%*u %*u %*u:%*u %4095s %4095s", r, m) != 2 ||
		    sscanf(sep + 3, "%63s", t) != 1)
			continue;
		pb_unescape_octal(r);
		pb_unescape_octal(m);
		if (strcmp(m, mnt))
			continue;
		/* the last mount at mnt is the one on top */
		snprintf(fstype, flen, "%s", t);
		snprintf(root, rlen, "%s", r);
		ret = 0;
	}
	free(line);
	fclose(f);
	return ret;
}

int pb_mount_of_dev(uint64_t dev, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && getline(&line, &cap, f) > 0) {
		unsigned int maj, min;
		char r[PATH_MAX], m[PATH_MAX];

		if (sscanf(line, "%*u %*u %u:%u %4095s %4095s", &maj, &min, r, m) != 4 ||
		    ((uint64_t)maj << 20 | min) != dev || strcmp(r, "/"))
			continue;
		pb_unescape_octal(m);
		if ((size_t)snprintf(out, len, "%s", m) < len)
			ret = 0;
	}
	free(line);
	fclose(f);
	return ret;
}
