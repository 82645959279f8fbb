// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers: durations, ids, device numbers, mountinfo discovery of cgroup v2
 * on hybrid and unified hosts, JSON escaping, and the signed token format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <limits.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "container.h"
#include "json.h"
#include "log.h"
#include "sysfs.h"
#include "token.h"
#include "util.h"

static void test_durations(void **st)
{
	uint64_t ns;

	(void)st;
	assert_int_equal(pb_duration_parse("90s", &ns), 0);
	assert_int_equal(ns, 90000000000ULL);
	assert_int_equal(pb_duration_parse("15m", &ns), 0);
	assert_int_equal(ns, 900000000000ULL);
	assert_int_equal(pb_duration_parse("2h", &ns), 0);
	assert_int_equal(pb_duration_parse("1d", &ns), 0);
	assert_int_equal(ns, 86400000000000ULL);
	assert_int_equal(pb_duration_parse("250ms", &ns), 0);
	assert_int_equal(ns, 250000000ULL);
	assert_int_equal(pb_duration_parse("7", &ns), 0);
	assert_int_equal(ns, 7000000000ULL);
	assert_int_equal(pb_duration_parse("", &ns), -EINVAL);
	assert_int_equal(pb_duration_parse("-5s", &ns), -EINVAL);
	assert_int_equal(pb_duration_parse("5 s", &ns), -EINVAL);
	assert_int_equal(pb_duration_parse("5y", &ns), -EINVAL);
	assert_int_equal(pb_duration_parse("99999999999999999d", &ns), -ERANGE);
}

static void test_names_cover_enums(void **st)
{
	(void)st;
	for (unsigned c = PB_CNT_OPS_BASE; c < PB_CNT_MAX; c++)
		assert_string_not_equal(pb_counter_name(c), "unknown");
	for (unsigned r = 0; r < PB_REASON_MAX; r++)
		assert_string_not_equal(pb_reason_name(r), "unknown");
	assert_string_equal(pb_counter_name(PB_CNT_ALLOW_REPEAT), "allow_repeat");
	assert_string_equal(pb_counter_name(PB_CNT_MAX), "unknown");
	/* The names events and metrics have always used, from the lists. */
	assert_string_equal(pb_reason_name(PB_R_WRONG_IDENTITY), "wrong_identity");
	assert_string_equal(pb_verdict_name(PB_VERDICT_MONITOR), "monitor");
	assert_string_equal(pb_verdict_name(PB_VERDICT_MAX), "unknown");
	assert_string_equal(pb_mode_name(PB_MODE_ENFORCE), "enforce");
	assert_int_equal(pb_mode_parse("monitor"), PB_MODE_MONITOR);
	assert_int_equal(pb_mode_parse("enforce"), PB_MODE_ENFORCE);
	assert_int_equal(pb_mode_parse("audit"), -EINVAL);
	assert_string_equal(pb_hook_name(PB_HOOK_SENDMSG6), "sendmsg6");
	assert_string_equal(pb_hook_name(PB_HOOK_MAX), "?");
	assert_string_equal(pb_anomaly_name(PB_AN_STALE_RECORD), "stale_record");
	for (unsigned h = PB_HOOK_CONNECT4; h < PB_HOOK_MAX; h++)
		assert_string_not_equal(pb_hook_name(h), "?");
	for (unsigned k = PB_AN_PROCS_FULL; k < PB_AN_MAX; k++)
		assert_string_not_equal(pb_anomaly_name(k), "?");
}

static void test_ids(void **st)
{
	char hex[17];
	uint64_t id;

	(void)st;
	pb_id_format(0x9f86d081884c7d65ULL, hex);
	assert_string_equal(hex, "9f86d081884c7d65");
	assert_int_equal(pb_id_parse(hex, &id), 0);
	assert_true(id == 0x9f86d081884c7d65ULL);
	assert_int_equal(pb_id_parse("9F86D081884C7D65", &id), -EINVAL);
	assert_int_equal(pb_id_parse("9f86d081884c7d6", &id), -EINVAL);
	assert_int_equal(pb_id_parse("0000000000000000", &id), -EINVAL);
	assert_int_equal(pb_id_parse("9f86d081884c7d6g", &id), -EINVAL);
}

static void test_dev_encoding(void **st)
{
	(void)st;
	/* kernel dev_t: major << 20 | minor */
	assert_true(pb_dev_to_kernel(makedev(8, 1)) == ((8ULL << 20) | 1));
	assert_true(pb_dev_to_kernel(makedev(259, 300)) == ((259ULL << 20) | 300));
}

static void test_mountinfo(void **st)
{
	static const char hybrid[] =
	    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
	    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw\n";
	static const char unified[] =
	    "25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
	    "cgroup2 rw,nsdelegate\n";
	static const char escaped[] = "25 1 0:22 / /mnt/my\\040cg rw - cgroup2 none rw\n";
	static const char none[] = "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n";
	char out[256];
	FILE *f;

	(void)st;
	f = fmemopen((void *)hybrid, sizeof(hybrid) - 1, "r");
	assert_int_equal(pb_mountinfo_find(f, "cgroup2", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	fclose(f);
	f = fmemopen((void *)unified, sizeof(unified) - 1, "r");
	assert_int_equal(pb_mountinfo_find(f, "cgroup2", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	fclose(f);
	f = fmemopen((void *)escaped, sizeof(escaped) - 1, "r");
	assert_int_equal(pb_mountinfo_find(f, "cgroup2", out, sizeof(out)), 0);
	assert_string_equal(out, "/mnt/my cg");
	fclose(f);
	f = fmemopen((void *)none, sizeof(none) - 1, "r");
	assert_int_equal(pb_mountinfo_find(f, "cgroup2", out, sizeof(out)), -ENOENT);
	fclose(f);
}

static void test_json_escaping(void **st)
{
	struct pb_buf b = {0};
	const char comm[16] = "a\"b\\c\nd\x01";

	(void)st;
	pb_json_begin(&b);
	pb_json_strn(&b, "comm", comm, sizeof(comm));
	pb_json_u64(&b, "n", 18446744073709551615ULL);
	pb_json_str(&b, "none", NULL);
	pb_json_end(&b);
	assert_string_equal(b.data, "{\"comm\":\"a\\\"b\\\\c\\u000ad\\u0001\","
				    "\"n\":\"18446744073709551615\",\"none\":null}");
	pb_buf_free(&b);
	/* numbers at their edges, written without printf */
	pb_json_begin(&b);
	pb_json_u64(&b, "a", 0);
	pb_json_u64(&b, "b", 9);
	pb_json_u64(&b, "c", 10);
	pb_json_u64(&b, "d", 9223372036854775807ULL);
	pb_json_u64(&b, "e", 9223372036854775808ULL);
	pb_json_i64(&b, "f", 0);
	pb_json_i64(&b, "g", -1);
	pb_json_i64(&b, "h", INT64_MIN);
	pb_json_i64(&b, "i", INT64_MAX);
	pb_json_end(&b);
	assert_string_equal(b.data, "{\"a\":0,\"b\":9,\"c\":10,\"d\":9223372036854775807,"
				    "\"e\":\"9223372036854775808\",\"f\":0,\"g\":-1,"
				    "\"h\":-9223372036854775808,\"i\":9223372036854775807}");
	pb_buf_free(&b);
}

/* Bytes that are not UTF-8 (a comm set with prctl, a path) become U+FFFD;
 * well-formed UTF-8 passes as it is (the event fuzzer found raw bytes). */
static void test_json_utf8(void **st)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},		       /* é */
	    {"\xe2\x82\xac\xf0\x9f\x94\x91", "\"\xe2\x82\xac\xf0\x9f\x94\x91\""}, /* euro, key */
	    {"a\xff" "b", "\"a\\ufffdb\""},			       /* never valid */
	    {"\xc0\xaf", "\"\\ufffd\\ufffd\""},		       /* overlong '/' */
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},       /* a surrogate */
	    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
	    {"\xe2\x82", "\"\\ufffd\\ufffd\""},		       /* cut short */
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_buf b = {0};

		pb_json_escape(&b, cases[i].in, strlen(cases[i].in));
		pb_buf_append(&b, "", 1);
		assert_string_equal(b.data, cases[i].out);
		pb_buf_free(&b);
	}
}

/* A process that exited (a zombie not yet reaped included) is gone; one
 * that runs is not; nor is a PID read with another process's start time. */
static void test_proc_gone(void **st)
{
	struct pb_stat me, ch;
	uint64_t tick = pb_ticks_to_ns(1);
	pid_t child;

	(void)st;
	assert_int_equal(pb_stat_read((uint32_t)getpid(), &me), 0);
	assert_int_equal(pb_proc_gone((uint32_t)getpid(), me.starttime * tick + 1), 0);
	assert_int_equal(pb_proc_gone((uint32_t)getpid(), (me.starttime + 7) * tick), 1);
	child = fork();
	if (!child)
		_exit(0);
	assert_true(child > 0);
	assert_int_equal(pb_stat_read((uint32_t)child, &ch), 0);
	for (int i = 0; i < 200 && ch.state != 'Z'; i++) {
		usleep(10000);
		pb_stat_read((uint32_t)child, &ch);
	}
	assert_int_equal(ch.state, 'Z');
	assert_int_equal(pb_proc_gone((uint32_t)child, ch.starttime * tick), 1); /* zombie */
	waitpid(child, NULL, 0);
	assert_int_equal(pb_proc_gone((uint32_t)child, ch.starttime * tick), 1); /* reaped */
}

static void test_token_sign_verify(void **st)
{
	unsigned char pk[32], sk[64], pk2[32], sk2[64];
	char *tok, *claims = NULL;

	(void)st;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	tok = pb_token_sign("{\"id\":\"abc\",\"pid\":42}", sk);
	assert_non_null(tok);
	assert_int_equal(strncmp(tok, "pb1.", 4), 0);
	assert_int_equal(pb_token_verify(tok, pk, &claims), 0);
	assert_string_equal(claims, "{\"id\":\"abc\",\"pid\":42}");
	free(claims);
	/* another node's key */
	assert_int_equal(pb_token_verify(tok, pk2, &claims), -EBADMSG);
	/* one changed byte in the claims */
	tok[6] = tok[6] == 'A' ? 'B' : 'A';
	assert_int_equal(pb_token_verify(tok, pk, &claims), -EBADMSG);
	assert_int_equal(pb_token_verify("pb1.abc", pk, &claims), -EINVAL);
	assert_int_equal(pb_token_verify("xx1.a.b", pk, &claims), -EINVAL);
	free(tok);
}

static void test_stat_parse(void **st)
{
	struct pb_stat ps;
	/* comm with spaces and a ')' of its own: the last ')' ends it */
	const char *line = "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
			   "987654 1000 10 18446744073709551615\n";

	(void)st;
	assert_int_equal(pb_stat_parse(line, &ps), 0);
	assert_string_equal(ps.comm, "a) b (c)");
	assert_int_equal(ps.ppid, 17);
	assert_int_equal(ps.flags, 4194560);
	assert_int_equal(ps.starttime, 987654);
	assert_int_equal(pb_stat_parse("4242 (x) S 17 1 1", &ps), -EIO);
	assert_int_equal(pb_stat_parse("no parenthesis at all", &ps), -EIO);
	assert_int_equal(pb_ticks_to_ns(987654), 987654ULL * PB_TICK_NS);
}

struct test_thread {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t tid;
	int done;
};

/* Publishes its tid, then stays alive until told to go. */
static void *test_thread_tid(void *arg)
{
	struct test_thread *t = arg;

	pthread_mutex_lock(&t->lock);
	t->tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_broadcast(&t->cond);
	while (!t->done)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* The /proc fallback of the task walk describes this very process as the
 * kernel does: tgid, parent, uid, cgroup v2 id, executable, tick start. */
static void test_proc_task_info(void **st)
{
	char root[PATH_MAX], line[PATH_MAX + 8], path[PATH_MAX * 2];
	struct pb_task_info ti;
	struct pb_stat self;
	uint64_t cgid = 0;
	struct stat exe;
	FILE *f;

	(void)st;
	if (pb_cgroup2_find(NULL, root, sizeof(root))) {
		print_message("skipped: no cgroup v2 mount in /proc/self/mountinfo\n");
		skip();
	}
	assert_int_equal(pb_proc_task_info((uint32_t)getpid(), root, &ti), 0);
	assert_int_equal(ti.proc.tgid, getpid());
	assert_int_equal(ti.parent.tgid, getppid());
	assert_int_equal(ti.uid, geteuid());
	assert_int_equal(ti.flags, PB_TI_COARSE);
	assert_int_equal(pb_stat_read((uint32_t)getpid(), &self), 0);
	assert_int_equal(ti.proc.start_time, self.starttime * PB_TICK_NS);
	assert_int_equal(ti.proc.start_time % PB_TICK_NS, 0);
	assert_true(ti.parent.start_time <= ti.proc.start_time);
	assert_int_equal(stat("/proc/self/exe", &exe), 0);
	assert_int_equal(ti.exe_ino, exe.st_ino);
	assert_int_equal(ti.exe_dev, pb_dev_to_kernel(exe.st_dev));
	f = fopen("/proc/self/cgroup", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, sizeof(path), "%s%s", root, line + 3);
			assert_int_equal(pb_cgroup_id(path, &cgid), 0);
		}
	fclose(f);
	assert_int_equal(ti.cgroup_id, cgid);
	assert_int_not_equal(cgid, 0);
	/* a thread is not a process; no process, no kernel thread either */
	{
		struct test_thread t = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
		pthread_t th;
		int err;

		assert_int_equal(pthread_create(&th, NULL, test_thread_tid, &t), 0);
		pthread_mutex_lock(&t.lock);
		while (!t.tid)
			pthread_cond_wait(&t.cond, &t.lock);
		pthread_mutex_unlock(&t.lock);
		assert_int_not_equal(t.tid, getpid());
		/* the thread is alive: /proc/TID/stat is readable, yet no process */
		assert_int_equal(pb_stat_read((uint32_t)t.tid, &self), 0);
		err = pb_proc_task_info((uint32_t)t.tid, root, &ti);
		pthread_mutex_lock(&t.lock);
		t.done = 1;
		pthread_cond_broadcast(&t.cond);
		pthread_mutex_unlock(&t.lock);
		pthread_join(th, NULL);
		assert_int_equal(err, -ESRCH);
	}
	assert_int_equal(pb_proc_task_info(2, root, &ti), -ESRCH); /* kthreadd */
	assert_int_equal(pb_proc_task_info(0x7ffffff0, root, &ti), -ESRCH);
}

/* --metrics-addr: numeric addresses only, a port from 1 to 65535, IPv6 in
 * brackets, an empty host for every address. */
static void test_listen_addr(void **st)
{
	static const struct {
		const char *in;
		int family; /* 0: refused */
		const char *host;
		unsigned port;
	} cases[] = {
	    {"127.0.0.1:9464", AF_INET, "127.0.0.1", 9464},
	    {"0.0.0.0:1", AF_INET, "0.0.0.0", 1},
	    {"[::1]:65535", AF_INET6, "::1", 65535},
	    {":9464", AF_INET6, "::", 9464},
	    {"[::]:9464", AF_INET6, "::", 9464},
	    {"[fe80::1]:80", AF_INET6, "fe80::1", 80},
	    {"127.0.0.1:0", 0, NULL, 0},
	    {"127.0.0.1:65536", 0, NULL, 0},
	    {"127.0.0.1:-1", 0, NULL, 0},
	    {"127.0.0.1:", 0, NULL, 0},
	    {"127.0.0.1:80x", 0, NULL, 0},
	    {"127.0.0.1", 0, NULL, 0},
	    {"9464", 0, NULL, 0},
	    {"", 0, NULL, 0},
	    {"localhost:9464", 0, NULL, 0},
	    {"::1:9464", 0, NULL, 0},
	    {"[::1:9464", 0, NULL, 0},
	    {"256.0.0.1:80", 0, NULL, 0},
	    {"[127.0.0.1:80", 0, NULL, 0},
	    {"[aaaa:bbbb:cccc:dddd:eeee:ffff:1111:2222:3333:4444]:80", 0, NULL, 0},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		unsigned int len = 0;
		char err[256] = "", host[INET6_ADDRSTRLEN];
		int ret = pb_listen_addr_parse(cases[i].in, &ss, &len, err, sizeof(err));

		if (!cases[i].family) {
			if (ret != -EINVAL || !err[0])
				fail_msg("'%s' was not refused with a message", cases[i].in);
			continue;
		}
		if (ret)
			fail_msg("'%s' refused: %s", cases[i].in, err);
		assert_int_equal(ss.ss_family, cases[i].family);
		if (cases[i].family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			assert_int_equal(len, sizeof(*a));
			assert_int_equal(ntohs(a->sin_port), cases[i].port);
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			assert_int_equal(len, sizeof(*a));
			assert_int_equal(ntohs(a->sin6_port), cases[i].port);
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		}
		assert_string_equal(host, cases[i].host);
	}
	assert_int_equal(pb_listen_addr_parse(NULL, &(struct sockaddr_storage){0},
					      &(unsigned int){0}, NULL, 0),
			 -EINVAL);
}

/* pb_err returns the error it was given, and %m names the caller's errno,
 * even when writing the message fails (stderr closed: EBADF). */
static void test_err_keeps_errno(void **st)
{
	int saved = dup(STDERR_FILENO), ret, pipefd[2];
	char msg[256] = "";
	ssize_t n;

	(void)st;
	assert_true(saved >= 0);
	assert_int_equal(pipe(pipefd), 0);
	close(STDERR_FILENO);
	errno = ENOENT;
	ret = pb_err(-errno, "test: open %s: %m", "/nonexistent");
	assert_int_equal(ret, -ENOENT);
	assert_int_equal(errno, ENOENT);
	/* And the message itself carries the caller's errno. */
	assert_int_equal(dup2(pipefd[1], STDERR_FILENO), STDERR_FILENO);
	setvbuf(stderr, NULL, _IONBF, 0);
	errno = EACCES;
	ret = pb_err(-errno, "test: %m");
	assert_int_equal(ret, -EACCES);
	close(pipefd[1]);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	assert_true(n > 0);
	assert_non_null(strstr(msg, strerror(EACCES)));
}

/* Adopted files: the name of a file inside the kubelet's atomic-writer
 * directory, whatever the path above it; the mount at a mount point. */
static void test_adopt_helpers(void **st)
{
	static const struct {
		const char *path, *suffix;
	} cases[] = {
	    {"/var/lib/kubelet/pods/u/volumes/kubernetes.io~projected/kube-api-access-x/"
	     "..2026_11_30_01_02_03.123456789/token",
	     "token"},
	    {"/var/run/secrets/kubernetes.io/serviceaccount/..2026_11_30_01/sub/dir/ca.crt",
	     "sub/dir/ca.crt"},
	    {"/vol/..a/..b/token", "token"},
	    {"/vault/secrets/token", "token"},
	    {"/a/../b/token", "token"}, /* ".." itself is no directory of the writer */
	    {"token", "token"},
	    {"/x/..data/token (deleted)", "token (deleted)"},
	};
	char out[PB_ADOPT_SUFFIX_LEN], mi[] = "/tmp/pb_mountinfo.XXXXXX", fstype[64], root[256];
	char longp[300];
	FILE *f;
	int fd;

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pb_adopt_suffix(cases[i].path, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].suffix);
	}
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(pb_adopt_suffix(longp, out, sizeof(out)), -ENAMETOOLONG);

	fd = mkstemp(mi);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
	      "812 790 0:55 / /var/run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs "
	      "tmpfs rw,size=1024k\n"
	      "813 790 0:31 /shm/sub /var/run/secrets/other ro - tmpfs tmpfs rw\n"
	      "814 790 8:1 /data/with\\040space /mnt/a\\040b rw - ext4 /dev/sda1 rw\n",
	      f);
	fclose(f);
	assert_int_equal(pb_mountinfo_at(mi, "/var/run/secrets/kubernetes.io/serviceaccount",
					 fstype, sizeof(fstype), root, sizeof(root)),
			 0);
	assert_string_equal(fstype, "tmpfs");
	assert_string_equal(root, "/");
	assert_int_equal(pb_mountinfo_at(mi, "/var/run/secrets/other", fstype, sizeof(fstype),
					 root, sizeof(root)),
			 0);
	assert_string_equal(root, "/shm/sub"); /* a part of a tmpfs: no volume of its own */
	assert_int_equal(pb_mountinfo_at(mi, "/mnt/a b", fstype, sizeof(fstype), root,
					 sizeof(root)),
			 0);
	assert_string_equal(fstype, "ext4");
	assert_string_equal(root, "/data/with space");
	assert_int_equal(pb_mountinfo_at(mi, "/var/run", fstype, sizeof(fstype), root,
					 sizeof(root)),
			 -ENOENT);
	unlink(mi);
}


struct walk_seen {
	char rel[16][64];
	int n, stop_at;
};

static int walk_note(void *ctx, const char *rel, uint64_t ino)
{
	struct walk_seen *w = ctx;

	assert_true(ino != 0);
	if (w->n < 16)
		snprintf(w->rel[w->n], sizeof(w->rel[0]), "%s", rel);
	w->n++;
	return w->n == w->stop_at ? 42 : 0;
}

static int walk_index(const struct walk_seen *w, const char *rel)
{
	for (int i = 0; i < w->n && i < 16; i++)
		if (!strcmp(w->rel[i], rel))
			return i;
	return -1;
}

/* The cgroup walk: every directory once, each before what it holds, paths
 * below the root, files and symbolic links not followed; fn's stop; a root
 * that is not there. */
static void test_walk_dirs(void **st)
{
	char root[] = "/tmp/pb-walk-XXXXXX", p[128], out[] = "/tmp/pb-walk-out-XXXXXX";
	struct walk_seen w = {0};

	(void)st;
	assert_non_null(mkdtemp(root));
	assert_non_null(mkdtemp(out));
	snprintf(p, sizeof(p), "%s/a", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/b", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/c", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/a/file", root);
	fclose(fopen(p, "w"));
	snprintf(p, sizeof(p), "%s/a/link", root);
	assert_int_equal(symlink(out, p), 0);
	assert_int_equal(pb_walk_dirs(root, walk_note, &w), 0);
	assert_int_equal(w.n, 4); /* "", /a, /a/b, /c: not the file, not the link's target */
	assert_int_equal(walk_index(&w, ""), 0);
	assert_true(walk_index(&w, "/a") >= 0 && walk_index(&w, "/a") < walk_index(&w, "/a/b"));
	assert_true(walk_index(&w, "/c") > 0);
	/* the callback's non-zero ends the walk and is returned */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	assert_int_equal(pb_walk_dirs(root, walk_note, &w), 42);
	assert_int_equal(w.n, 2);
	/* no root */
	memset(&w, 0, sizeof(w));
	snprintf(p, sizeof(p), "%s/none", root);
	assert_int_equal(pb_walk_dirs(p, walk_note, &w), -ENOENT);
	assert_int_equal(w.n, 0);
	snprintf(p, sizeof(p), "rm -rf %s %s", root, out);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_names_cover_enums),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_dev_encoding),
	    cmocka_unit_test(test_mountinfo),
	    cmocka_unit_test(test_stat_parse),
	    cmocka_unit_test(test_proc_task_info),
	    cmocka_unit_test(test_json_escaping),
	    cmocka_unit_test(test_json_utf8),
	    cmocka_unit_test(test_proc_gone),
	    cmocka_unit_test(test_token_sign_verify),
	    cmocka_unit_test(test_err_keeps_errno),
	    cmocka_unit_test(test_listen_addr),
	    cmocka_unit_test(test_adopt_helpers),
	    cmocka_unit_test(test_walk_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
