// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_connect_loop: the load for bench_cost.sh (connect). Optionally reads a token
 * file (so that it holds a credential), waits for a go file, then calls
 * connect(2) N times on one UDP socket and prints the mean ns per call.
 * PORT,PORT2 connects to the two ports in turn: a holder's connect is then
 * never the one before it again, so each is decided in full.
 *
 *   pb_connect_loop TOKEN|- GOFILE|- N ADDR PORT[,PORT2] */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET}, sb;
	const char *comma;
	struct timespec a, b;
	long n, fails = 0;
	char buf[512];
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: pb_connect_loop TOKEN|- GOFILE|- N ADDR PORT\n");
		return 2;
	}
	if (strcmp(argv[2], "-"))
		while (access(argv[2], F_OK))
			usleep(5000);
	if (strcmp(argv[1], "-")) {
		fd = open(argv[1], O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
			perror("pb_connect_loop: token");
			return 1;
		}
		close(fd);
	}
	n = atol(argv[3]);
	sa.sin_port = htons(atoi(argv[5]));
	inet_pton(AF_INET, argv[4], &sa.sin_addr);
	sb = sa;
	comma = strchr(argv[5], ',');
	if (comma)
		sb.sin_port = htons(atoi(comma + 1));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fails += connect(fd, (struct sockaddr *)(i & 1 ? &sb : &sa), sizeof(sa)) != 0;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, fails);
	return 0;
}
