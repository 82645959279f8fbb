// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What writing one event costs: the agent's streaming JSON writer (lib/json.c)
 * against building the same record as a jansson tree and dumping it. Both
 * write a typical connect event (443 bytes); interleaved rounds, medians.
 * Usage: bench_json [N] [ROUNDS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "json.h"

static double pb_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static size_t pb_stream(int i, struct pb_buf *b)
{
	pb_buf_reset(b);
	pb_json_begin(b);
	pb_json_str(b, "event", "connect");
	pb_json_str(b, "time", "2026-11-29T12:00:00.000Z");
	pb_json_str(b, "node", "node-1");
	pb_json_key(b, "process");
	pb_json_begin(b);
	pb_json_u64(b, "pid", 4242 + i);
	pb_json_str(b, "pid_ns", "host");
	pb_json_u64(b, "start_time", 123456789012ULL + i);
	pb_json_u64(b, "uid", 1000);
	pb_json_str(b, "comm", "curl");
	pb_json_str(b, "exe", "/usr/bin/curl");
	pb_json_str(b, "args", "curl -H Authorization https://api.example.invalid/v1");
	pb_json_str(b, "cgroup", "/kubepods/burstable/podx/cri-containerd-abc.scope");
	pb_json_str(b, "pod_uid", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b");
	pb_json_end(b);
	pb_json_str(b, "verdict", "deny");
	pb_json_str(b, "reason", "foreign_pid");
	pb_json_str(b, "daddr", "10.96.0.1");
	pb_json_u64(b, "dport", 443);
	pb_json_str(b, "protocol", "tcp");
	pb_json_end(b);
	return b->len;
}

static size_t pb_tree(int i)
{
	json_t *o = json_object(), *p = json_object();
	size_t n;
	char *s;

	json_object_set_new(o, "event", json_string("connect"));
	json_object_set_new(o, "time", json_string("2026-11-29T12:00:00.000Z"));
	json_object_set_new(o, "node", json_string("node-1"));
	json_object_set_new(p, "pid", json_integer(4242 + i));
	json_object_set_new(p, "pid_ns", json_string("host"));
	json_object_set_new(p, "start_time", json_integer(123456789012LL + i));
	json_object_set_new(p, "uid", json_integer(1000));
	json_object_set_new(p, "comm", json_string("curl"));
	json_object_set_new(p, "exe", json_string("/usr/bin/curl"));
	json_object_set_new(p, "args",
			    json_string("curl -H Authorization https://api.example.invalid/v1"));
	json_object_set_new(p, "cgroup",
			    json_string("/kubepods/burstable/podx/cri-containerd-abc.scope"));
	json_object_set_new(p, "pod_uid", json_string("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"));
	json_object_set_new(o, "process", p);
	json_object_set_new(o, "verdict", json_string("deny"));
	json_object_set_new(o, "reason", json_string("foreign_pid"));
	json_object_set_new(o, "daddr", json_string("10.96.0.1"));
	json_object_set_new(o, "dport", json_integer(443));
	json_object_set_new(o, "protocol", json_string("tcp"));
	s = json_dumps(o, JSON_COMPACT);
	n = s ? strlen(s) : 0;
	free(s);
	json_decref(o);
	return n;
}

static int pb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200000, rounds = argc > 2 ? atoi(argv[2]) : 5;
	double ws[64], ts[64], rs[64], t0;
	struct pb_buf b = {0};
	size_t lw = 0, lt = 0;

	if (n < 1 || rounds < 1 || rounds > 64) {
		fprintf(stderr, "usage: bench_json [N >= 1] [ROUNDS 1-64]\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		t0 = pb_now();
		for (int i = 0; i < n; i++)
			lw = pb_stream(i, &b);
		ws[r] = (pb_now() - t0) / n * 1e9;
		t0 = pb_now();
		for (int i = 0; i < n; i++)
			lt = pb_tree(i);
		ts[r] = (pb_now() - t0) / n * 1e9;
		rs[r] = ts[r] / ws[r];
		printf("round %d: writer %.0f ns/event, jansson %.0f ns/event\n", r + 1, ws[r],
		       ts[r]);
	}
	qsort(ws, rounds, sizeof(double), pb_cmp);
	qsort(ts, rounds, sizeof(double), pb_cmp);
	qsort(rs, rounds, sizeof(double), pb_cmp);
	printf("medians over %d interleaved rounds of %d events (%zu and %zu bytes):\n", rounds, n,
	       lw, lt);
	printf("  writer %.0f ns/event, jansson %.0f ns/event, jansson/writer %.2f\n",
	       ws[rounds / 2], ts[rounds / 2], rs[rounds / 2]);
	pb_buf_free(&b);
	return 0;
}
