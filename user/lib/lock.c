// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* flock on a path, and its holder from /proc/locks (lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lock.h"

pid_t pb_lock_holder(int fd)
{
	unsigned int maj, min;
	unsigned long long ino;
	char line[256], kind[16];
	struct stat st;
	pid_t who = 0;
	int pid;
	FILE *f;

	if (fstat(fd, &st) || !(f = fopen("/proc/locks", "re")))
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 2093 00:1f:3456 0 EOF" (maj:min in hex) */
	while (!who && fgets(line, sizeof(line), f)) {
		const char *p = strchr(line, ':');

		if (!p || strstr(line, "->")) /* "->": a waiter, not the holder */
			continue;
		if (sscanf(p + 1, " %15s %*s %*s %d %x:%x:%llu", kind, &pid, &maj, &min, &ino) == 5 &&
		    !strcmp(kind, "FLOCK") && ino == (unsigned long long)st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev))
			who = pid;
	}
	fclose(f);
	return who;
}

int pb_lock_take(const char *path, int dir, int *fd, pid_t *holder)
{
	int f = open(path, dir ? O_RDONLY | O_DIRECTORY | O_CLOEXEC
			       : O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		     0600);

	*holder = 0;
	if (f < 0)
		return -errno;
	if (flock(f, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (err == -EBUSY)
			*holder = pb_lock_holder(f);
		close(f);
		return err;
	}
	*fd = f;
	return 0;
}
