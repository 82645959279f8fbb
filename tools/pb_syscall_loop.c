// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_syscall_loop: what a syscall costs, for tools/bench_guard.sh.
 *
 *   pb_syscall_loop getppid N           N getppid(2)
 *   pb_syscall_loop openclose N FILE    N open(2)+close(2) of FILE
 *   pb_syscall_loop forkexec N          N fork + exec /bin/true + wait
 *   pb_syscall_loop openread N FILE [GO]  N open+read+close of FILE (after GO
 *                                       exists, when given: the benchmark mints
 *                                       a credential for this process first)
 * Prints "MODE ns_per_op=X" (the median of 5 batches of N/5). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int one(const char *mode, const char *file)
{
	char buf[4096];
	int fd;

	if (!strcmp(mode, "getppid"))
		return getppid() > 0 ? 0 : 1;
	if (!strcmp(mode, "openclose")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 1;
		close(fd);
		return 0;
	}
	if (!strcmp(mode, "openread")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
			return 1;
		close(fd);
		return 0;
	}
	if (!strcmp(mode, "forkexec")) {
		pid_t p = fork();
		int st;

		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		return p < 0 || waitpid(p, &st, 0) < 0 || st;
	}
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 0;
	const char *file = argc > 3 ? argv[3] : "/etc/hostname";
	double batch[5];

	if (n < 5) {
		fprintf(stderr, "usage: pb_syscall_loop getppid|openclose|forkexec|openread N [FILE [GO]]\n");
		return 2;
	}
	if (argc > 4)
		while (access(argv[4], F_OK))
			usleep(10000);
	for (int b = 0; b < 5; b++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n / 5; i++)
			if (one(mode, file)) {
				perror(mode);
				return 1;
			}
		batch[b] = (double)(now_ns() - t0) / (double)(n / 5);
	}
	qsort(batch, 5, sizeof(batch[0]), cmp);
	printf("%s ns_per_op=%.1f\n", mode, batch[2]);
	return 0;
}
