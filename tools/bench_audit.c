// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bench_audit: how fast the audit trail takes records, and how fast a
 * process's trail comes back from a large log.
 *
 *   bench_audit DIR [N] [PROCTL]
 *
 * Writes N records (default 10,000,000) shaped like the agent's connect
 * records (~1 KiB: process and credential attribution) into a fresh log in
 * DIR with the agent's settings (32 MiB segments compressed in a worker
 * thread, a signed checkpoint every 1000 records, fdatasync at checkpoints
 * and seals). 64 processes are alive at a time; each lives for 100,000
 * records. It prints the writer's records/s (one thread; the compressor runs
 * beside it), then runs PROCTL (procbindctl) trail for one process five times
 * and prints each latency and the median. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"

/* CPU time of the calling thread (the writer), user + system. */
static double thread_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define GEN_RECORDS 100000ULL
#define CONCURRENT  64ULL

static void proc_of(uint64_t i, uint32_t *pid, uint64_t *start)
{
	uint64_t gen = i / GEN_RECORDS, slot = i % CONCURRENT;

	*pid = 10000 + (uint32_t)((gen * CONCURRENT + slot) % 4000000);
	*start = 1000000000ULL * (gen + 1) + slot * 1000;
}

/* One record shaped like the agent's connect records. */
static int format_record(char *obj, size_t cap, uint64_t i)
{
	uint32_t pid;
	uint64_t start;

	proc_of(i, &pid, &start);
	return snprintf(

	    obj, cap,
	    "{\"event\":\"connect\",\"time\":\"2026-11-22T10:%02u:%02u.%03uZ\",\"node\":\"bench\","
	    "\"verdict\":\"%s\",\"reason\":\"%s\",\"mode\":\"enforce\",\"hook\":\"connect4\","
	    "\"protocol\":\"tcp\",\"daddr\":\"10.20.30.%u\",\"dport\":5432,\"held\":1,"
	    "\"identity\":\"payments-reconciler\",\"process\":{\"pid\":%u,\"tgid\":%u,\"tid\":%u,"
	    "\"pid_ns\":\"host\",\"start_time\":%" PRIu64 ",\"ppid\":1,\"uid\":1000,"
	    "\"comm\":\"reconciler\",\"exe\":\"/usr/local/bin/reconciler\",\"args\":"
	    "\"/usr/local/bin/reconciler --config /etc/rec/config.yaml --once\","
	    "\"exe_dev\":266338304,\"exe_ino\":5308706,\"cgroup_id\":%u,\"cgroup\":"
	    "\"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_"
	    "6978_8a9b_0c1d2e3f4a5b.slice/cri-containerd-4c01db0b339c7ff1b8a5e4c1e5c0fbb1c9b8e1f0"
	    "a6d5c4b3a29180706f5e4d3c.scope\",\"pod_uid\":\"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b\","
	    "\"container_id\":\"4c01db0b339c7ff1b8a5e4c1e5c0fbb1c9b8e1f0a6d5c4b3a29180706f5e4d3c\"}"
	    ","
	    "\"credential\":{\"id\":\"%016" PRIx64 "\",\"identity\":\"payments-reconciler\","
	    "\"expires\":\"2026-11-22T11:00:00.000Z\",\"inherit\":\"none\",\"revoked\":false,"
	    "\"file\":\"/var/lib/procbind/creds/x.token\",\"bound_process\":{\"pid\":%u,"
	    "\"pid_ns\":\"host\",\"start_time\":%" PRIu64
	    ",\"uid\":1000,\"comm\":\"reconciler\"}}}",
	    (unsigned)(i / 60000 % 60), (unsigned)(i / 1000 % 60), (unsigned)(i % 1000),
	    i % 3 ? "allow" : "deny", i % 3 ? "ok" : "out_of_scope", (unsigned)(i % 250), pid, pid,
	    pid, start, 9000 + pid % 100, (uint64_t)pid * (uint64_t)2654435761U, pid, start);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000ULL;
	const char *ctl = argc > 3 ? argv[3] : "procbindctl";
	unsigned char pk[32], sk[64];
	struct pb_audit_recovery rec;
	struct pb_audit_stats st;
	struct pb_audit *w;
	char err[512], obj[2048], cmd[1024], pubpath[1024], sdir[1024];
	double t0, t1, c0, c1, lat[5], tfmt, wall_rate, cpu_rate;
	uint64_t bytes = 0;
	uint32_t qpid;
	uint64_t qstart;
	FILE *f;

	if (!dir) {
		fprintf(stderr, "usage: bench_audit DIR [N] [PROCTL]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	snprintf(sdir, sizeof(sdir), "%s/audit", dir);
	mkdir(dir, 0700);
	if (pb_audit_open(&w, sdir, "bench", sk, NULL, &rec, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (!rec.fresh) {
		fprintf(stderr, "bench_audit: %s already holds a log; give an empty directory\n",
			sdir);
		return 1;
	}
	/* The cost of making the records, measured alone, so the log's own
	 * rate can be told apart from the benchmark's snprintf. */
	t0 = now_s();
	for (uint64_t i = 0; i < n && i < 1000000; i++)
		bytes += format_record(obj, sizeof(obj), i) & 1;
	tfmt = (now_s() - t0) / (n < 1000000 ? n : 1000000);
	bytes = 0;
	c0 = thread_cpu_s();
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		int len = format_record(obj, sizeof(obj), i);

		bytes += len;
		if (pb_audit_append(w, obj, len)) {
			fprintf(stderr, "bench_audit: append failed at record %" PRIu64 "\n", i);
			return 1;
		}
	}
	pb_audit_flush(w);
	t1 = now_s();
	c1 = thread_cpu_s();
	pb_audit_stats(w, &st);
	pb_audit_close(w); /* waits for the compressor to finish */
	printf("wrote %" PRIu64 " records (%.0f MiB of JSON) in %.2f s on the writer thread\n", n,
	       bytes / 1048576.0, t1 - t0);
	printf("  records/s:   %.0f including the benchmark's formatting of each record\n",
	       n / (t1 - t0));
	wall_rate = n / (t1 - t0 - tfmt * n);
	cpu_rate = n / (c1 - c0 - tfmt * n);
	printf(
	    "  records/s:   %.0f into the log alone (formatting measured apart: %.2f us/record)\n",
	    wall_rate, tfmt * 1e6);
	printf("  records per second of the writer thread's CPU: %.0f into the log alone "
	       "(%.1f s CPU of %.1f s wall; the rest is waiting on the disk)\n",
	       cpu_rate, c1 - c0, t1 - t0);
	printf("  checkpoints: %" PRIu64 ", segments closed: %" PRIu64 "\n", st.checkpoints,
	       st.segments);
	printf("  all segments compressed after %.2f s\n", now_s() - t0);
	snprintf(cmd, sizeof(cmd), "du -sh %s | cut -f1", sdir);
	fflush(stdout);
	printf("  on disk: ");
	fflush(stdout);
	if (system(cmd))
		printf("?\n");

	snprintf(pubpath, sizeof(pubpath), "%s/node.pub", dir);
	f = fopen(pubpath, "w");
	if (f) {
		fwrite(pk, 1, sizeof(pk), f);
		fclose(f);
	}
	/* a process from the middle of the log */
	proc_of(n / 2, &qpid, &qstart);
	snprintf(cmd, sizeof(cmd),
		 "%s trail --dir %s --pid %u --start-time %" PRIu64 " -o json | wc -l", ctl, sdir,
		 qpid, qstart);
	printf("trail for pid %u (start %" PRIu64 ") over %" PRIu64 " records:\n", qpid, qstart, n);
	for (int r = 0; r < 5; r++) {
		char out[64] = "";
		FILE *p;

		t0 = now_s();
		p = popen(cmd, "r");
		if (!p || !fgets(out, sizeof(out), p)) {
			fprintf(stderr, "bench_audit: %s failed\n", cmd);
			return 1;
		}
		pclose(p);
		lat[r] = now_s() - t0;
		printf("  run %d: %.3f s, %ld records\n", r + 1, lat[r], strtol(out, NULL, 10));
	}
	qsort(lat, 5, sizeof(lat[0]), cmp_d);
	printf("  median trail latency: %.3f s\n", lat[2]);
	printf("targets: >= 200000 records/s on one core (wall %s, CPU %s), trail < 1 s (%s)\n",
	       wall_rate >= 200000 ? "met" : "NOT met", cpu_rate >= 200000 ? "met" : "NOT met",
	       lat[2] < 1.0 ? "met" : "NOT met");
	return 0;
}
