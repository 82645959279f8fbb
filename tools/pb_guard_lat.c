// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_guard_lat: what one open and one read of a file cost, op by op, for
 * tools/bench_guard.sh.
 *
 *   pb_guard_lat lat N FILE [GO]
 *       N rounds of open + read + close of FILE (after GO exists, when given:
 *       the benchmark mints a credential for this process first). Prints
 *       "open p50=.. p99=.. max=.. read p50=.. p99=.. max=.. all p50=..
 *       p99=.. max=.." in ns, each the distribution of one step.
 *   pb_guard_lat flood THREADS SECONDS FILE [GO]
 *       THREADS threads open FILE back to back for SECONDS (a sibling's
 *       flood: each open is expected to fail). Prints "opens=.. eperm=..".
 *   pb_guard_lat respond FILE
 *       The floor: a fanotify group with FILE marked for open and read
 *       permission, every event allowed at once, until killed. What any
 *       permission daemon costs on this machine before it decides anything.
 *
 * 0 on success; 1 when an open or read the caller expects to work fails. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/fanotify.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%s p50=%llu p99=%llu max=%llu ", name, (unsigned long long)v[n / 2],
	       (unsigned long long)v[n * 99 / 100], (unsigned long long)v[n - 1]);
}

static void wait_go(const char *go)
{
	if (go)
		while (access(go, F_OK))
			usleep(10000);
}

static int lat(long n, const char *file, const char *go)
{
	uint64_t *op = calloc((size_t)n, sizeof(*op)), *rd = calloc((size_t)n, sizeof(*rd)),
		 *all = calloc((size_t)n, sizeof(*all));
	char buf[4096];

	if (!op || !rd || !all)
		return 1;
	wait_go(go);
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_ns(), t1, t2;
		int fd = open(file, O_RDONLY | O_CLOEXEC);

		t1 = now_ns();
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
			fprintf(stderr, "pb_guard_lat: %s: %s\n", file, strerror(errno));
			return 1;
		}
		t2 = now_ns();
		close(fd);
		op[i] = t1 - t0;
		rd[i] = t2 - t1;
		all[i] = now_ns() - t0;
	}
	report("open", op, n);
	report("read", rd, n);
	report("all", all, n);
	printf("\n");
	return 0;
}

struct flooder {
	pthread_t th;
	const char *file;
	uint64_t until, opens, eperm;
};

static void *flood_one(void *arg)
{
	struct flooder *f = arg;

	while (now_ns() < f->until) {
		for (int i = 0; i < 64; i++) {
			int fd = open(f->file, O_RDONLY | O_CLOEXEC);

			f->opens++;
			if (fd >= 0)
				close(fd);
			else if (errno == EPERM || errno == EACCES)
				f->eperm++;
		}
	}
	return NULL;
}

static int flood(int threads, int seconds, const char *file, const char *go)
{
	struct flooder *f = calloc((size_t)threads, sizeof(*f));
	uint64_t opens = 0, eperm = 0;

	if (!f || threads < 1 || seconds < 1)
		return 2;
	wait_go(go);
	for (int i = 0; i < threads; i++) {
		f[i].file = file;
		f[i].until = now_ns() + (uint64_t)seconds * 1000000000ULL;
		if (pthread_create(&f[i].th, NULL, flood_one, &f[i]))
			return 1;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(f[i].th, NULL);
		opens += f[i].opens;
		eperm += f[i].eperm;
	}
	printf("opens=%llu eperm=%llu\n", (unsigned long long)opens, (unsigned long long)eperm);
	return 0;
}

static int respond(const char *file)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	int fan =
	    fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE | O_CLOEXEC);

	if (fan < 0 ||
	    fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM | FAN_ACCESS_PERM, AT_FDCWD, file)) {
		fprintf(stderr, "pb_guard_lat: fanotify on %s: %s\n", file, strerror(errno));
		return 1;
	}
	printf("responding\n");
	fflush(stdout);
	for (;;) {
		ssize_t len = read(fan, buf, sizeof(buf));
		const struct fanotify_event_metadata *md = (const void *)buf;

		if (len < 0 && errno != EINTR)
			return 1;
		for (; len > 0 && FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
			struct fanotify_response r = {.fd = md->fd, .response = FAN_ALLOW};

			if (md->fd < 0)
				continue;
			if (write(fan, &r, sizeof(r)) != sizeof(r))
				return 1;
			close(md->fd);
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "lat") && argc >= 4 && atol(argv[2]) >= 100)
		return lat(atol(argv[2]), argv[3], argc > 4 ? argv[4] : NULL);
	if (!strcmp(mode, "flood") && argc >= 5)
		return flood(atoi(argv[2]), atoi(argv[3]), argv[4], argc > 5 ? argv[5] : NULL);
	if (!strcmp(mode, "respond") && argc >= 3)
		return respond(argv[2]);
	fprintf(stderr, "usage: pb_guard_lat lat N FILE [GO] | flood THREADS SECONDS FILE [GO] | "
			"respond FILE\n");
	return 2;
}
