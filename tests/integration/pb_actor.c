// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_actor: a process the integration tests script step by step, so that
 * every verdict they check comes from real syscalls of a real process.
 *
 *   pb_actor STEP...          run the steps in order, one result line each
 *   pb_actor serve PORT [IPV4...]  TCP and UDP listeners on 127.0.0.1, ::1
 *                             and any further (loopback) IPv4 addresses
 *   pb_actor ctlraw SOCK TEXT [UNTIL]  send TEXT (\n escapes) to a control
 *                             socket; with UNTIL, print "sent" and keep the
 *                             connection open until the file UNTIL exists
 *   pb_actor sink PORT FILE   keep every byte received on PORT in FILE
 *   (pb_steal.c: the steps that try to get a credential's bytes)
 *
 * Steps: cgroup:DIR  pidfile:FILE  wait:FILE  read:FILE  sleep:MS
 *        connect:tcp|udp:ADDR:PORT  sendto:udp:ADDR:PORT
 *        thread-connect:tcp:ADDR:PORT  (the connect runs in a second thread)
 *        fork   (the child runs the remaining steps; the parent waits)
 *        forkexit  (the child runs the remaining steps; the parent exits)
 *        exec:PATH  (re-exec PATH with the remaining steps)
 *        spawnpid:PID  (clone3 with set_tid: the child gets exactly PID)
 *        forkstorm:MS  fork children that live 100 ms, as fast as it can, for
 *               MS ms; then "<pid> forkstorm forks=N eagain=N" (forks the
 *               cgroup's pids.max refused)
 *        loopuntil:FILE:SPEC,SPEC...  connect to each tcp|udp:ADDR:PORT[+K] in
 *               (PORT+K: the K ports from PORT on; from 127.0.0.1, each
 *               round of them on the next address, none twice)
 *               turn, every millisecond ($PB_ACTOR_LOOP_US microseconds),
 *               until FILE exists; then one line per SPEC:
 *               "<pid> tally:SPEC ok=N EPERM=N other=N"
 *        race:ROUNDS:SPEC  ROUNDS times: run $PB_ACTOR_RACE_CMD (a shell
 *               command, e.g. one that grants a single-use approval), then
 *               connect to SPEC from two threads at once; then "<pid> race
 *               rounds=N one=N none=N both=N": rounds where exactly one,
 *               neither or both connects were let through (not EPERM)
 *        untilrefused:SPEC  connect to SPEC every millisecond until it is
 *               refused (EPERM; at most 60 s); then "<pid> untilrefused:SPEC
 *               ok=N last_ok=NS refused=NS" (CLOCK_REALTIME ns of the last
 *               connect let through and of the refusal's return). SPEC's
 *               port may be PORT+K: the K ports from PORT on, in turn
 * Result lines: "<pid> <step> ok" or "<pid> <step> <ERRNO-NAME>". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pb_steal.h"

static void result(const char *step, int err)
{
	printf("%d %s %s\n", getpid(), step, err ? strerrorname_np(err) : "ok");
	fflush(stdout);
}

int pb_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, int *type)
{
	char buf[256], *proto, *addr, *port;

	snprintf(buf, sizeof(buf), "%s", spec);
	proto = buf;
	addr = strchr(proto, ':');
	port = strrchr(buf, ':');
	if (!addr || port == addr)
		return -1;
	*addr++ = 0;
	*port++ = 0;
	*type = !strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM;
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(atoi(port));
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(atoi(port));
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -1;
		*len = sizeof(*s4);
	}
	return 0;
}

/* connect (or sendto when unconnected) and return 0 or errno. */
static int do_net(const char *spec, int unconnected)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int type, fd, err = 0;

	if (pb_parse_addr(spec, &ss, &len, &type))
		return EINVAL;
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (unconnected) {
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0)
			err = errno;
	} else if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = errno;
	}
	close(fd);
	return err;
}

static void *thread_connect(void *arg)
{
	return (void *)(intptr_t)do_net(arg, 0);
}

static int run_steps(char *argv0, int n, char **steps);

#define LOOP_MAX_SPECS 8

/* forkstorm:MS: fork as fast as it goes for MS ms; children live 100 ms. */
static void fork_storm(const char *arg)
{
	struct timespec t0, t;
	unsigned long forks = 0, eagain = 0;
	long ms = atol(arg);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		pid_t pid = fork();

		if (pid == 0) {
			usleep(100000);
			_exit(0);
		}
		if (pid > 0)
			forks++;
		else if (errno == EAGAIN)
			eagain++;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	while (waitpid(-1, NULL, 0) > 0)
		;
	printf("%d forkstorm forks=%lu eagain=%lu\n", getpid(), forks, eagain);
	fflush(stdout);
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* untilrefused:SPEC: when exactly a destination stopped being let through. */
static int until_refused(const char *spec)
{
	const char *us = getenv("PB_ACTOR_LOOP_US");
	useconds_t pause = us ? (useconds_t)atoi(us) : 1000;
	uint64_t last_ok = 0, end = real_ns() + 60000000000ULL, t;
	unsigned long ok = 0, i = 0;
	char base[256], one[300], *colon, *plus;
	int err, port = 0, k = 1;

	snprintf(base, sizeof(base), "%s", spec);
	colon = strrchr(base, ':');
	plus = colon ? strchr(colon, '+') : NULL;
	if (plus) {
		*plus = 0;
		k = atoi(plus + 1);
		port = atoi(colon + 1);
		colon[1] = 0; /* base: "PROTO:ADDR:" */
		if (k < 1)
			k = 1;
	}
	for (;; i++) {
		if (plus)
			snprintf(one, sizeof(one), "%s%lu", base, port + i % (unsigned long)k);
		err = do_net(plus ? one : spec, 0);
		t = real_ns();
		if (err == EPERM || t > end)
			break;
		if (!err || err == ECONNREFUSED) {
			ok++;
			last_ok = t;
		}
		usleep(pause);
	}
	printf("%d untilrefused:%s ok=%lu last_ok=%llu refused=%llu\n", getpid(), spec, ok,
	       (unsigned long long)last_ok, err == EPERM ? (unsigned long long)t : 0ULL);
	fflush(stdout);
	return 0;
}

/* race:ROUNDS:SPEC: two threads connect at the same moment, each round. */
struct race {
	pthread_barrier_t go, done;
	const char *spec;
	int rounds, err[2];
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	int me = r->err[0] == -1 ? 0 : 1; /* set before the thread starts */

	r->err[me] = 0;
	for (int i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(&r->go);
		r->err[me] = do_net(r->spec, 0);
		pthread_barrier_wait(&r->done);
	}
	return NULL;
}

static int race(const char *arg)
{
	struct race r = {.rounds = atoi(arg)};
	const char *cmd = getenv("PB_ACTOR_RACE_CMD");
	unsigned long one = 0, none = 0, both = 0;
	pthread_t th[2];

	r.spec = strchr(arg, ':');
	if (!r.spec || !cmd || r.rounds <= 0)
		return -1;
	r.spec++;
	pthread_barrier_init(&r.go, NULL, 3);
	pthread_barrier_init(&r.done, NULL, 3);
	for (int t = 0; t < 2; t++) {
		r.err[t] = -1;
		pthread_create(&th[t], NULL, race_thread, &r);
		while (r.err[t] == -1)
			usleep(100);
	}
	for (int i = 0; i < r.rounds; i++) {
		int pass;

		if (system(cmd)) {
			fprintf(stderr, "race: round %d: '%s' failed\n", i, cmd);
			exit(2);
		}
		pthread_barrier_wait(&r.go);
		pthread_barrier_wait(&r.done);
		pass = (r.err[0] != EPERM) + (r.err[1] != EPERM);
		one += pass == 1;
		none += pass == 0;
		both += pass == 2;
	}
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	printf("%d race rounds=%d one=%lu none=%lu both=%lu\n", getpid(), r.rounds, one, none,
	       both);
	fflush(stdout);
	return 0;
}

/* loopuntil:FILE:SPEC,SPEC...: tally what each destination gave. */
static int loop_until(const char *arg)
{
	char buf[1024], *file = buf, *specs, *save = NULL;
	char *spec[LOOP_MAX_SPECS];
	unsigned long ok[LOOP_MAX_SPECS] = {0}, eperm[LOOP_MAX_SPECS] = {0},
		      other[LOOP_MAX_SPECS] = {0};
	const char *us = getenv("PB_ACTOR_LOOP_US");
	useconds_t pause = us ? (useconds_t)atoi(us) : 1000;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	specs = strchr(buf, ':');
	if (!specs)
		return -1;
	*specs++ = 0;
	for (char *t = strtok_r(specs, ",", &save); t && n < LOOP_MAX_SPECS;
	     t = strtok_r(NULL, ",", &save))
		spec[n++] = t;
	for (unsigned long iter = 0; access(file, F_OK); iter++) {
		for (int i = 0; i < n; i++) {
			char one[300];
			const char *colon = strrchr(spec[i], ':'),
				   *plus = colon ? strchr(colon, '+') : NULL;
			int err;

			/* PORT+K: the K ports from PORT on, in turn; on 127.0.0.1
			 * each round of them on the next address of 127.0.0.0/8,
			 * so no destination comes twice (a scan) */
			if (plus && atoi(plus + 1) > 0) {
				unsigned long k = strtoul(plus + 1, NULL, 10), round = iter / k;
				const char *lo = strstr(spec[i], ":127.0.0.1:");

				if (lo && round)
					snprintf(one, sizeof(one), "%.*s:127.%lu.%lu.%lu:%lu",
						 (int)(lo - spec[i]), spec[i], (round >> 16) & 255,
						 (round >> 8) & 255, (round & 255) + 1,
						 strtoul(colon + 1, NULL, 10) + iter % k);
				else
					snprintf(one, sizeof(one), "%.*s%lu",
						 (int)(colon + 1 - spec[i]), spec[i],
						 strtoul(colon + 1, NULL, 10) + iter % k);
			}
			err = do_net(plus ? one : spec[i], 0);

			if (!err || err == ECONNREFUSED)
				ok[i]++; /* past the hook: the stack answered */
			else if (err == EPERM)
				eperm[i]++;
			else
				other[i]++;
		}
		usleep(pause);
	}
	for (int i = 0; i < n; i++)
		printf("%d tally:%s ok=%lu EPERM=%lu other=%lu\n", getpid(), spec[i], ok[i],
		       eperm[i], other[i]);
	fflush(stdout);
	return 0;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run_steps(char *argv0, int n, char **steps)
{
	for (int i = 0; i < n; i++) {
		char *s = steps[i], *arg = strchr(s, ':');
		int err = 0;

		arg = arg ? arg + 1 : "";
		if (!strncmp(s, "cgroup:", 7)) {
			char path[512];
			FILE *f;

			snprintf(path, sizeof(path), "%s/cgroup.procs", arg);
			f = fopen(path, "w");
			if (!f || fprintf(f, "0\n") < 0 || fclose(f))
				err = errno ? errno : EIO;
			result(s, err);
		} else if (!strncmp(s, "pidfile:", 8)) {
			char tmp[512];
			FILE *f;

			snprintf(tmp, sizeof(tmp), "%s.tmp", arg);
			f = fopen(tmp, "w");
			if (!f)
				return 1;
			fprintf(f, "%d\n", getpid());
			fclose(f);
			rename(tmp, arg);
		} else if (!strncmp(s, "wait:", 5)) {
			/* A net for a test that died without touching FILE (the
			 * tests kill their actors; this one exits by itself):
			 * 10 min of wall-clock time, stretched like the tests'
			 * own waits on slow guests. An actor may wait through a
			 * whole test section (test_purpose's api waits through
			 * twelve reloads and 200 cgroups): a short net there
			 * ends its credential before the test gets to it. */
			const char *scale = getenv("PB_TIME_SCALE");
			struct timespec now;
			time_t deadline;

			clock_gettime(CLOCK_MONOTONIC, &now);
			deadline = now.tv_sec + 600 * (scale && atoi(scale) > 0 ? atoi(scale) : 1);
			while (access(arg, F_OK)) {
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (now.tv_sec > deadline) {
					result(s, ETIMEDOUT);
					return 1;
				}
				usleep(10000);
			}
		} else if (!strncmp(s, "read:", 5)) {
			char buf[4096];
			int fd = open(arg, O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				err = errno;
			else if (read(fd, buf, sizeof(buf)) < 0)
				err = errno;
			if (fd >= 0)
				close(fd);
			result(s, err);
		} else if (!strncmp(s, "sleep:", 6)) {
			usleep(atoi(arg) * 1000);
		} else if (!strncmp(s, "connect:", 8)) {
			result(s, do_net(arg, 0));
		} else if (!strncmp(s, "sendto:", 7)) {
			result(s, do_net(arg, 1));
		} else if (!strncmp(s, "thread-connect:", 15)) {
			pthread_t th;
			void *ret;

			pthread_create(&th, NULL, thread_connect, arg);
			pthread_join(th, &ret);
			result(s, (int)(intptr_t)ret);
		} else if (!strcmp(s, "fork") || !strcmp(s, "forkexit")) {
			/* The child runs the remaining steps; the parent waits for
			 * it (fork) or leaves at once (forkexit). */
			pid_t pid = fork();

			if (pid < 0) {
				result(s, errno);
				return 1;
			}
			if (pid == 0)
				continue;
			return strcmp(s, "fork") ? 0 : wait_child(pid);
		} else if (!strncmp(s, "exec:", 5)) {
			char **av = calloc(n - i + 1, sizeof(char *));

			av[0] = arg;
			for (int j = i + 1; j < n; j++)
				av[j - i] = steps[j];
			execv(arg, av);
			result(s, errno);
			return 1;
		} else if (!strncmp(s, "race:", 5)) {
			if (race(arg))
				return 2;
		} else if (!strncmp(s, "untilrefused:", 13)) {
			until_refused(s + 13);
		} else if (!strncmp(s, "loopuntil:", 10)) {
			if (loop_until(arg))
				return 2;
		} else if (!strncmp(s, "forkstorm:", 10)) {
			fork_storm(arg);
		} else if (!strncmp(s, "spawnpid:", 9)) {
			pid_t want = atoi(arg), pid;
			struct clone_args ca = {
			    .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want, .set_tid_size = 1};

			pid = syscall(SYS_clone3, &ca, sizeof(ca));
			if (pid < 0) {
				result(s, errno);
				return 1;
			}
			if (pid == 0) {
				result(s, 0);
				continue;
			}
			return wait_child(pid);
		} else if (pb_steal_step(s, arg, &err)) {
			result(s, err);
		} else {
			fprintf(stderr, "pb_actor: unknown step '%s'\n", s);
			return 2;
		}
	}
	(void)argv0;
	return 0;
}

#define SERVE_MAX 16

/* TCP and UDP on 127.0.0.1 and ::1 plus extra IPv4 addresses (loopback). */
static int serve(int port, int nextra, char **extra)
{
	int one = 1, fds[2 * SERVE_MAX], nfd = 0;

	for (int a = -1; a < nextra && a + 2 < SERVE_MAX; a++) {
		struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
					  .sin6_port = htons(port),
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		int six = a == -1 ? 2 : 1; /* ::1 once, with 127.0.0.1 */

		if (inet_pton(AF_INET, a < 0 ? "127.0.0.1" : extra[a], &s4.sin_addr) != 1) {
			fprintf(stderr, "pb_actor serve: bad address %s\n", extra[a]);
			return 1;
		}
		for (int v = 0; v < six; v++) {
			for (int type = 0; type < 2; type++) {
				int fd = socket(v ? AF_INET6 : AF_INET,
						type ? SOCK_DGRAM : SOCK_STREAM, 0);

				setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
				if (v)
					setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
						   sizeof(one));
				if (bind(fd, v ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
					 v ? sizeof(s6) : sizeof(s4))) {
					perror("pb_actor serve: bind");
					return 1;
				}
				if (!type)
					listen(fd, 128);
				fcntl(fd, F_SETFL, O_NONBLOCK);
				if (!type)
					fds[nfd++] = fd;
			}
		}
	}
	printf("serving %d\n", port);
	fflush(stdout);
	for (;;) {
		/* Accept and drop: the tests only need the handshake. */
		for (int i = 0; i < nfd; i++) {
			int c = accept4(fds[i], NULL, NULL, SOCK_NONBLOCK);

			if (c >= 0)
				close(c);
		}
		usleep(1000);
	}
}

static int ctlraw(const char *path, const char *text, const char *until)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[8192], out[65536];
	size_t o = 0;
	ssize_t n;
	int fd;

	for (const char *p = text; *p && o < sizeof(out) - 1; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			out[o++] = '\n';
			p++;
		} else {
			out[o++] = *p;
		}
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		return 1;
	if (write(fd, out, o) != (ssize_t)o)
		return 1;
	if (until) {
		printf("sent\n");
		fflush(stdout);
		while (access(until, F_OK))
			usleep(10000);
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), argc - 3, argv + 3);
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return pb_sink(atoi(argv[2]), argv[3]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "ctlraw"))
		return ctlraw(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	return run_steps(argv[0], argc - 1, argv + 1);
}
