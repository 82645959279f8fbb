// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_connect_loop: the load for bench_cost.sh (connect). Optionally reads a token
 * file (so that it holds a credential), waits for a go file, then calls
 * connect(2) N times on one UDP socket and prints the mean ns per call.
 * PORT,PORT2 connects to the two ports in turn. PORT+K connects to K
 * destinations in turn: destination i is port PORT + i % 16384 on ADDR
 * plus i / 16384 (in its last octets), so K >= N makes every connect a
 * destination never seen before.
 *
 *   pb_connect_loop TOKEN|- GOFILE|- N ADDR PORT[,PORT2|+K] */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET}, sb;
	struct sockaddr_in *dests = NULL;
	const char *comma, *plus;
	long nd = 0;
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
	plus = strchr(argv[5], '+');
	if (plus) {
		long k = atol(plus + 1);

		if (k < 1 || k > n) {
			fprintf(stderr, "pb_connect_loop: K must be 1..N\n");
			return 2;
		}
		/* the destinations first: the timed loop only connects */
		dests = calloc((size_t)k, sizeof(*dests));
		if (!dests)
			return 1;
		for (long i = 0; i < k; i++) {
			dests[i] = sa;
			dests[i].sin_port = htons((uint16_t)(atoi(argv[5]) + i % 16384));
			dests[i].sin_addr.s_addr =
			    htonl(ntohl(sa.sin_addr.s_addr) + (uint32_t)(i / 16384));
		}
		nd = k;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (dests)
		for (long i = 0, j = 0; i < n; i++, j = j + 1 == nd ? 0 : j + 1)
			fails += connect(fd, (struct sockaddr *)&dests[j], sizeof(sa)) != 0;
	else
		for (long i = 0; i < n; i++)
			fails +=
			    connect(fd, (struct sockaddr *)(i & 1 ? &sb : &sa), sizeof(sa)) != 0;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, fails);
	free(dests);
	return 0;
}
