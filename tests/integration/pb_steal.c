// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ways a process can try to get a credential's bytes, as pb_actor
 * steps, each with real syscalls; and a listener that keeps every byte it
 * receives, so a test asserts on what arrived, not only on exit codes.
 *
 * The actor keeps one "current descriptor" that these steps set and use:
 *   hold:FILE:OUT          open FILE and keep it (also as current, for a forked
 *                          child); write the fd number to OUT
 *   passfd:SOCK:FILE       open FILE, wait on unix socket SOCK, send the fd
 *                          (SCM_RIGHTS) to the first peer
 *   recvfd:SOCK            receive a descriptor from SOCK -> current
 *   getfd:PIDFILE:FDFILE   pidfd_getfd of another process's fd -> current
 *   handle-open:FILE       name_to_handle_at + open_by_handle_at -> current
 *   uring-read:FILE        io_uring OPENAT then READ (no open(2) at all)
 *   readfd                 read(2) the current descriptor
 *   mmapfd                 mmap the current descriptor and touch the page
 *   sendfile:tcp:ADDR:PORT connect, sendfile(2) from the current descriptor
 *   leak:tcp|udp:ADDR:PORT:FILE  connect FIRST, then open and read FILE,
 *                          then write what was read over the connection
 *   memread:PIDFILE        process_vm_readv of the other process's stack
 *   timeread:FILE:N        N x (open, read, close): prints the latencies
 * (pb_around.c: the ways around the file, through the bound process)
 * and the workload socket's (libprocbind_client), as this process:
 *   wl-token:SOCK:OUT      a credential for itself; the token into OUT
 *   wl-proof:SOCK:TOKFILE:METHOD:URL:OUT  a proof for one request into OUT
 *   wl-send-exit:SOCK      send a token request and exit before the answer
 *   wl-silent:SOCK:MS      connect, send nothing for MS ms, print the reply
 * Result lines as every step's: "<pid> <step> ok|ERRNO". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pb_steal.h"
#include "procbind/client.h"

static int cur_fd = -1;

static void set_cur(int fd)
{
	if (cur_fd >= 0)
		close(cur_fd);
	cur_fd = fd;
}

int pb_read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* "a:b" -> a, b (in buf) */
static int split2(const char *arg, char *buf, size_t len, char **a, char **b)
{
	snprintf(buf, len, "%s", arg);
	*a = buf;
	*b = strchr(buf, ':');
	if (!*b)
		return -1;
	*(*b)++ = 0;
	return 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
	return 0;
}

static int do_passfd(const char *arg)
{
	char buf[512], *sock, *file, c = 'f';
	struct sockaddr_un sun;
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int l, p, f, err = 0;

	if (split2(arg, buf, sizeof(buf), &sock, &file))
		return EINVAL;
	f = open(file, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return errno;
	unix_addr(sock, &sun);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(l, (struct sockaddr *)&sun, sizeof(sun)) || listen(l, 1))
		return errno;
	p = accept(l, NULL, NULL);
	if (p < 0)
		return errno;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &f, sizeof(int));
	if (sendmsg(p, &mh, 0) != 1)
		err = errno;
	close(p);
	close(l);
	close(f);
	return err;
}

static int do_recvfd(const char *sock)
{
	struct sockaddr_un sun;
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int s, fd = -1, err = 0;

	unix_addr(sock, &sun);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	for (int i = 0; i < 500 && connect(s, (struct sockaddr *)&sun, sizeof(sun)); i++)
		usleep(10000);
	if (recvmsg(s, &mh, 0) < 0)
		err = errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (!err && cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	else if (!err)
		err = EBADMSG; /* the kernel dropped the descriptor (refused at receive) */
	close(s);
	if (fd >= 0)
		set_cur(fd);
	return err;
}

static int do_getfd(const char *arg)
{
	char buf[512], *pf, *ff;
	int pid, tfd, pidfd, fd;

	if (split2(arg, buf, sizeof(buf), &pf, &ff))
		return EINVAL;
	pid = pb_read_int_file(pf);
	tfd = pb_read_int_file(ff);
	if (pid <= 0 || tfd < 0)
		return ENOENT;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
	close(pidfd);
	if (fd < 0)
		return errno;
	set_cur(fd);
	return 0;
}

static int do_handle_open(const char *file)
{
	struct file_handle *h = calloc(1, sizeof(*h) + MAX_HANDLE_SZ);
	char dir[512], *slash;
	int mnt_id, mfd, fd;

	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, file, h, &mnt_id, 0))
		return errno;
	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	mfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open_by_handle_at(mfd, h, O_RDONLY | O_CLOEXEC);
	free(h);
	close(mfd);
	if (fd < 0)
		return errno;
	set_cur(fd);
	return 0;
}

/* io_uring: one OPENAT, then one READ of what it opened; raw syscalls. */
static int do_uring_read(const char *file)
{
	struct io_uring_params p = {0};
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned *sq_tail, *sq_array, *cq_head, *cq_tail, *sq_mask, *cq_mask;
	void *sq, *cq;
	char data[4096];
	int ring = (int)syscall(SYS_io_uring_setup, 4, &p), res = 0;

	if (ring < 0)
		return errno;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return errno;
	sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	cq_mask = (unsigned *)((char *)cq + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	for (int op = 0; op < 2; op++) {
		unsigned t = *sq_tail, idx = t & *sq_mask;
		struct io_uring_sqe *e = &sqes[idx];

		memset(e, 0, sizeof(*e));
		if (op == 0) {
			e->opcode = IORING_OP_OPENAT;
			e->fd = AT_FDCWD;
			e->addr = (uintptr_t)file;
			e->open_flags = O_RDONLY;
		} else {
			e->opcode = IORING_OP_READ;
			e->fd = res;
			e->addr = (uintptr_t)data;
			e->len = sizeof(data);
		}
		sq_array[idx] = idx;
		__atomic_store_n(sq_tail, t + 1, __ATOMIC_RELEASE);
		if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
			return errno;
		res = cqes[*cq_head & *cq_mask].res;
		__atomic_store_n(cq_head, *cq_head + 1, __ATOMIC_RELEASE);
		(void)cq_tail;
		if (res < 0)
			return -res;
	}
	close(ring);
	return 0;
}

int pb_connect_spec(const char *spec, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int type;

	if (pb_parse_addr(spec, &ss, &len, &type))
		return EINVAL;
	*fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return errno;
	if (connect(*fd, (struct sockaddr *)&ss, len))
		return errno;
	return 0;
}

/* leak:PROTO:ADDR:PORT:FILE. The connection comes first, so the connect
 * hooks judge a process that holds nothing yet. */
static int do_leak(const char *arg)
{
	char spec[512], *file, data[4096];
	ssize_t n = 0;
	int s, f, err;

	snprintf(spec, sizeof(spec), "%s", arg);
	file = strrchr(spec, ':');
	if (!file)
		return EINVAL;
	*file++ = 0;
	if ((err = pb_connect_spec(spec, &s)))
		return err;
	f = open(file, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		err = errno;
	else if ((n = read(f, data, sizeof(data))) < 0)
		err = errno;
	if (f >= 0)
		close(f);
	if (err)
		n = snprintf(data, sizeof(data), "leak-failed-%d\n", err);
	if (write(s, data, n) < 0 && !err)
		err = errno;
	close(s);
	return err;
}

static int do_sendfile(const char *spec)
{
	int s, err;

	if (cur_fd < 0)
		return EBADF;
	if ((err = pb_connect_spec(spec, &s)))
		return err;
	if (sendfile(s, cur_fd, &(off_t){0}, 4096) < 0)
		err = errno;
	close(s);
	return err;
}

static int do_memread(const char *pidfile)
{
	int pid = pb_read_int_file(pidfile);
	char path[64], buf[64];
	unsigned long start = 0;
	FILE *f;

	if (pid <= 0)
		return ENOENT;
	/* an address that is surely mapped: the start of its stack */
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return errno;
	while (fgets(buf, sizeof(buf), f))
		if (strstr(buf, "[stack]") || !start)
			sscanf(buf, "%lx", &start);
	fclose(f);
	{
		struct iovec l = {.iov_base = buf, .iov_len = 16};
		struct iovec r = {.iov_base = (void *)start, .iov_len = 16};

		if (process_vm_readv(pid, &l, 1, &r, 1, 0) < 0)
			return errno;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* timeread:FILE:N: the open+read round trip, N times. */
static int do_timeread(const char *arg)
{
	char buf[512], *file, *ns, data[4096];
	uint64_t *lat;
	int n, err = 0;

	if (split2(arg, buf, sizeof(buf), &file, &ns))
		return EINVAL;
	n = atoi(ns);
	if (n <= 0)
		return EINVAL;
	lat = calloc(n, sizeof(*lat));
	for (int i = 0; i < n && !err; i++) {
		uint64_t t0 = now_ns();
		int f = open(file, O_RDONLY | O_CLOEXEC);

		if (f < 0 || read(f, data, sizeof(data)) < 0)
			err = errno;
		if (f >= 0)
			close(f);
		lat[i] = now_ns() - t0;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("%d timeread n=%d p50_us=%.1f p99_us=%.1f max_us=%.1f\n", getpid(), n,
	       lat[n / 2] / 1e3, lat[(n * 99) / 100] / 1e3, lat[n - 1] / 1e3);
	free(lat);
	return err;
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return errno;
	fprintf(f, "%s\n", s);
	return fclose(f) ? errno : 0;
}

static char *read_line(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* Workload-socket steps print the agent's message on failure. */
static int wl_step(const char *s, const char *arg)
{
	char buf[2048], err[512], *f[6] = {0}, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	/* fields are ':'-separated, but a URL has its own ':' -- the URL is
	 * rejoined from what is left after the fixed fields */
	for (char *t = strtok_r(buf, ":", &save); t && n < 6; t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (!strncmp(s, "wl-token:", 9) && n == 2) {
		struct pb_client_token tok;

		if (pb_client_token(f[0], NULL, NULL, NULL, NULL, &tok, err, sizeof(err))) {
			printf("%d wl-error %s\n", getpid(), err);
			return EPERM;
		}
		printf("%d wl-credential %s\n", getpid(), tok.id);
		return write_file(f[1], tok.token);
	}
	if (!strncmp(s, "wl-proof:", 9) && n >= 5) {
		char url[1024], *proof, *tok = read_line(f[1]);
		const char *out = strrchr(arg, ':') + 1, *u = arg;

		/* URL: after SOCK:TOKFILE:METHOD:, up to the last ':' (before OUT) */
		for (int k = 0; k < 3; k++)
			u = strchr(u, ':') + 1;
		snprintf(url, sizeof(url), "%.*s", (int)(out - 1 - u), u);
		if (!tok)
			return ENOENT;
		if (pb_client_proof(f[0], tok, f[2], url, NULL, &proof, err, sizeof(err))) {
			printf("%d wl-error %s\n", getpid(), err);
			return EPERM;
		}
		n = write_file(out, proof);
		free(proof);
		return n;
	}
	if (!strncmp(s, "wl-send-exit:", 13)) {
		/* the request goes out; this process is gone before the answer */
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		unsigned long long ticks = 0;
		char stat[1024], *e;
		int fd = open("/proc/self/stat", O_RDONLY), len;
		ssize_t r = fd >= 0 ? read(fd, stat, sizeof(stat) - 1) : -1;

		if (r <= 0)
			return EIO;
		close(fd);
		stat[r] = 0;
		e = strrchr(stat, ')');
		sscanf(e + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		       &ticks);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", arg);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			return errno;
		len = snprintf(buf, sizeof(buf), "token\nstart_time=%llu\n\n", ticks);
		if (write(fd, buf, len) != len)
			return EIO;
		printf("%d wl-sent\n", getpid());
		fflush(stdout);
		_exit(0);
	}
	if (!strncmp(s, "wl-silent:", 10) && n == 2) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t r;

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f[0]);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			return errno;
		usleep(atoi(f[1]) * 1000);
		r = read(fd, buf, sizeof(buf) - 1);
		buf[r > 0 ? r : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("%d wl-reply %s\n", getpid(), buf);
		close(fd);
		return 0;
	}
	return EINVAL;
}

int pb_steal_step(const char *s, const char *arg, int *err)
{
	if (!strncmp(s, "wl-", 3)) {
		*err = wl_step(s, arg);
		return 1;
	}
	*err = 0;
	if (!strncmp(s, "hold:", 5)) {
		char buf[512], *file, *out;
		FILE *f;
		int fd;

		if (split2(arg, buf, sizeof(buf), &file, &out))
			return *err = EINVAL, 1;
		fd = open(file, O_RDONLY); /* kept, and across exec */
		if (fd < 0)
			return *err = errno, 1;
		set_cur(dup(fd));
		f = fopen(out, "w");
		if (!f)
			return *err = errno, 1;
		fprintf(f, "%d\n", fd);
		fclose(f);
	} else if (!strncmp(s, "passfd:", 7)) {
		*err = do_passfd(arg);
	} else if (!strncmp(s, "recvfd:", 7)) {
		*err = do_recvfd(arg);
	} else if (!strncmp(s, "getfd:", 6)) {
		*err = do_getfd(arg);
	} else if (!strncmp(s, "handle-open:", 12)) {
		*err = do_handle_open(arg);
	} else if (!strncmp(s, "uring-read:", 11)) {
		*err = do_uring_read(arg);
	} else if (!strcmp(s, "readfd")) {
		char data[4096];

		if (cur_fd < 0)
			*err = EBADF;
		else if (pread(cur_fd, data, sizeof(data), 0) < 0)
			*err = errno;
	} else if (!strcmp(s, "mmapfd")) {
		void *m = cur_fd < 0 ? MAP_FAILED
				     : mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, cur_fd, 0);

		if (m == MAP_FAILED) {
			*err = cur_fd < 0 ? EBADF : errno;
		} else {
			volatile char c = *(volatile char *)m;

			(void)c;
			munmap(m, 4096);
		}
	} else if (!strncmp(s, "sendfile:", 9)) {
		*err = do_sendfile(arg);
	} else if (!strncmp(s, "leak:", 5)) {
		*err = do_leak(arg);
	} else if (!strncmp(s, "memread:", 8)) {
		*err = do_memread(arg);
	} else if (!strncmp(s, "timeread:", 9)) {
		*err = do_timeread(arg);
	} else {
		return pb_around_step(s, arg, err);
	}
	return 1;
}

/* sink PORT FILE: TCP and UDP on 127.0.0.1 and ::1; every byte received is
 * appended to FILE, each connection or datagram on its own line. A TCP
 * connection whose bytes end an HTTP request's headers gets a 204. */
int pb_sink(int port, const char *file)
{
	int one = 1, fds[4], n = 0;
	FILE *out = fopen(file, "a");

	if (!out)
		return 1;
	for (int v = 0; v < 2; v++)
		for (int type = 0; type < 2; type++) {
			struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port),
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
						  .sin6_port = htons(port),
						  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
			int fd = socket(v ? AF_INET6 : AF_INET,
					(type ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);

			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (v)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, v ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
				 v ? sizeof(s6) : sizeof(s4))) {
				perror("pb_actor sink: bind");
				return 1;
			}
			if (!type)
				listen(fd, 64);
			fds[n++] = fd;
		}
	printf("sinking %d\n", port);
	fflush(stdout);
	for (;;) {
		char data[8192];

		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (i % 2 == 0) { /* TCP: read each connection to its end */
				int c = accept4(fds[i], NULL, NULL, 0);

				if (c < 0)
					continue;
				setsockopt(c, SOL_SOCKET, SO_RCVTIMEO,
					   &(struct timeval){.tv_sec = 2}, sizeof(struct timeval));
				while ((r = read(c, data, sizeof(data))) > 0) {
					fwrite(data, 1, r, out);
					/* an HTTP request's headers have ended (curl
					 * in one write): answered, so it does not wait */
					if (memmem(data, (size_t)r, "\r\n\r\n", 4)) {
						static const char ok[] = "HTTP/1.1 204 No Content\r\n"
									 "Connection: close\r\n\r\n";

						(void)!write(c, ok, sizeof(ok) - 1);
						break;
					}
				}
				close(c);
			} else {
				r = recv(fds[i], data, sizeof(data), 0);
				if (r <= 0)
					continue;
				fwrite(data, 1, r, out);
			}
			fputc('\n', out);
			fflush(out);
		}
		usleep(2000);
	}
}
