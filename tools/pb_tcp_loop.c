// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_tcp_loop: loopback TCP connect + accept + close, N times, for
 * tools/bench_cost.sh. The client closes with SO_LINGER 0 (a reset, no
 * TIME_WAIT), so a long run does not run out of ephemeral ports.
 *
 *   pb_tcp_loop N PORT [TOKEN|- [GOFILE]]
 * Waits for GOFILE when given, reads TOKEN when given (the benchmark mints a
 * credential for this process meanwhile), then prints "ns_per_op=X fails=N" (the median of 5 batches). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	long n, fails = 0;
	double batch[5];
	int l, one = 1;
	char buf[512];

	if (argc < 3) {
		fprintf(stderr, "usage: pb_tcp_loop N PORT [TOKEN|- [GOFILE]]\n");
		return 2;
	}
	n = atol(argv[1]) / 5;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (argc > 4)
		while (access(argv[4], F_OK))
			usleep(5000);
	if (argc > 3 && strcmp(argv[3], "-")) {
		int fd = open(argv[3], O_RDONLY);

		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
			perror("pb_tcp_loop: token");
			return 1;
		}
		close(fd);
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 128)) {
		perror("pb_tcp_loop: listen");
		return 1;
	}
	for (int b = 0; b < 5; b++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < n; i++) {
			int c = socket(AF_INET, SOCK_STREAM, 0), a = -1;

			if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
				fails++;
			else
				a = accept(l, NULL, NULL);
			if (c >= 0) {
				setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				close(c);
			}
			if (a >= 0)
				close(a);
		}
		batch[b] = (double)(now_ns() - t0) / (double)n;
	}
	qsort(batch, 5, sizeof(batch[0]), cmp);
	printf("ns_per_op=%.1f fails=%ld\n", batch[2], fails);
	close(l);
	return 0;
}
