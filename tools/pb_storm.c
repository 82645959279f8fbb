// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_storm: a connect storm for tools/bench_cost.sh, from NPROC processes,
 * where every connect goes somewhere the process has not been before (a new
 * loopback address and port each time), so that every allowed connect of a
 * credential holder is an event.
 *
 *   pb_storm NPROC RATE SECONDS PIDDIR GOFILE
 *
 * Forks NPROC children; each writes PIDDIR/<i>.pid and waits for GOFILE (the
 * benchmark mints a credential for each meanwhile), then makes RATE/NPROC UDP
 * connects a second (RATE 0: as fast as it can) for SECONDS. Prints
 * "connects=N refused=N other=N seconds=S rate=R" for all of them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tally {
	uint64_t ok, refused, other, ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void child(int idx, int nproc, double rate, double seconds, const char *go,
		  struct tally *t)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	uint64_t start, end, k = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	while (access(go, F_OK))
		usleep(2000);
	start = now_ns();
	end = start + (uint64_t)(seconds * 1e9);
	for (uint64_t now = start; now < end; now = now_ns()) {
		/* paced: the connects due by now, in a burst, then a nap */
		uint64_t due = rate > 0 ? (uint64_t)((double)(now - start) * rate / 1e9) + 1 : k + 64;

		for (; k < due; k++) {
			/* 127.a.b.c:port, never the same twice in a run */
			uint64_t x = k * (uint64_t)nproc + (uint64_t)idx;

			sa.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(x & 0xffffff));
			sa.sin_port = htons((uint16_t)(1024 + (x >> 24) % 60000));
			if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				t->ok++;
			else if (errno == EPERM)
				t->refused++;
			else
				t->other++;
		}
		if (rate > 0)
			usleep(10000); /* 100 naps a second: the load's own wake-ups stay few */
	}
	t->ns = now_ns() - start;
}

int main(int argc, char **argv)
{
	struct tally *t, sum = {0};
	int nproc;
	double rate, seconds;

	if (argc != 6) {
		fprintf(stderr, "usage: pb_storm NPROC RATE SECONDS PIDDIR GOFILE\n");
		return 2;
	}
	nproc = atoi(argv[1]);
	rate = atof(argv[2]);
	seconds = atof(argv[3]);
	t = mmap(NULL, sizeof(*t) * (size_t)nproc, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	if (nproc <= 0 || t == MAP_FAILED)
		return 2;
	memset(t, 0, sizeof(*t) * (size_t)nproc);
	for (int i = 0; i < nproc; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			child(i, nproc, rate / nproc, seconds, argv[5], &t[i]);
			_exit(0);
		}
		if (pid > 0) {
			char path[4096];
			FILE *f;

			snprintf(path, sizeof(path), "%s/%d.pid", argv[4], i);
			f = fopen(path, "w");
			if (f) {
				fprintf(f, "%d\n", pid);
				fclose(f);
			}
		}
	}
	while (wait(NULL) > 0)
		;
	for (int i = 0; i < nproc; i++) {
		sum.ok += t[i].ok;
		sum.refused += t[i].refused;
		sum.other += t[i].other;
		if (t[i].ns > sum.ns)
			sum.ns = t[i].ns;
	}
	printf("connects=%llu refused=%llu other=%llu seconds=%.3f rate=%.0f\n",
	       (unsigned long long)sum.ok, (unsigned long long)sum.refused,
	       (unsigned long long)sum.other, (double)sum.ns / 1e9,
	       (double)(sum.ok + sum.refused + sum.other) / ((double)sum.ns / 1e9));
	return 0;
}
