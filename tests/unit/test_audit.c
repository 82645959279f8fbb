// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The audit trail: chain, checkpoints, seals and segments verify; every kind
 * of tampering (edit, deletion, insertion, reordering, truncation, a missing
 * segment, a forged signature, another node's key) is found and named; a
 * torn last line is recovered; a write error becomes a gap; the index finds
 * a process's segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>
#include <jansson.h>

#include "audit.h"

static unsigned char pk[32], sk[64];
static char dir[64];

static void rm_dir(const char *d)
{
	char p[512];
	struct dirent *de;
	DIR *dd = opendir(d);

	if (!dd)
		return;
	while ((de = readdir(dd)))
		if (de->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
			unlink(p);
		}
	closedir(dd);
	rmdir(d);
}

static struct pb_audit_opts small_opts(int compress)
{
	struct pb_audit_opts o;

	pb_audit_opts_default(&o);
	o.segment_bytes = 8 << 10; /* several segments from a few hundred records */
	o.checkpoint_every = 25;
	o.compress = compress;
	o.fsync = 0;
	return o;
}

static void append_n(struct pb_audit *w, int from, int n)
{
	char obj[256];

	for (int i = from; i < from + n; i++) {
		snprintf(
		    obj, sizeof(obj),
		    "{\"event\":\"connect\",\"time\":\"2026-11-22T10:00:00.000Z\",\"node\":\"t\","
		    "\"n\":%d,\"process\":{\"pid\":%d,\"tid\":%d,\"pid_ns\":\"host\","
		    "\"start_time\":%d}}",
		    i, 1000 + i % 7, 1000 + i % 7, 5000 + i % 7);
		assert_int_equal(pb_audit_append(w, obj, strlen(obj)), 0);
	}
}

/* A fresh log of n records in dir. */
static void make_log(int n, int compress)
{
	struct pb_audit *w;
	struct pb_audit_opts o = small_opts(compress);
	struct pb_audit_recovery rec;
	char err[256];

	rm_dir(dir);
	assert_int_equal(pb_audit_open(&w, dir, "t", sk, &o, &rec, err, sizeof(err)), 0);
	assert_true(rec.fresh);
	append_n(w, 0, n);
	pb_audit_close(w);
}

static int verify(char *err, size_t len)
{
	uint64_t n;

	return pb_audit_verify(dir, pk, &n, err, len);
}

static void expect_bad(const char *want)
{
	char err[512] = "";

	assert_int_equal(verify(err, sizeof(err)), -EBADMSG);
	if (!strstr(err, want))
		fail_msg("'%s' does not say '%s'", err, want);
}

/* Rewrite a segment file through fn(lines). */
static char *seg_path(int k, char *out, size_t len)
{
	/* the k-th segment (0-based) in name order */
	struct dirent **nl;
	int n = scandir(dir, &nl, NULL, alphasort), seen = 0;

	out[0] = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(nl[i]->d_name);

		if (!out[0] && l > 6 && !strcmp(nl[i]->d_name + l - 6, ".jsonl") && seen++ == k)
			snprintf(out, len, "%s/%s", dir, nl[i]->d_name);
		free(nl[i]);
	}
	free(nl);
	return out;
}

static size_t read_file(const char *p, char *buf, size_t cap)
{
	FILE *f = fopen(p, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	return n;
}

static void write_file(const char *p, const char *buf, size_t n)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

/* Start of line i (0-based) in buf. */
static char *line_at(char *buf, int i)
{
	char *p = buf;

	while (i-- > 0 && p)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	assert_non_null(p);
	return p;
}

static void test_chain_verifies(void **st)
{
	char err[512] = "", path[300];
	uint64_t n = 0;

	(void)st;
	make_log(400, 0);
	assert_int_equal(pb_audit_verify(dir, pk, &n, err, sizeof(err)), 0);
	assert_true(n > 400); /* records, checkpoints, seals, segment starts */
	assert_true(seg_path(3, path, sizeof(path))[0]); /* several segments */
	/* another agent continues the same chain */
	{
		struct pb_audit *w;
		struct pb_audit_opts o = small_opts(0);
		struct pb_audit_recovery rec;

		assert_int_equal(pb_audit_open(&w, dir, "t", sk, &o, &rec, err, sizeof(err)), 0);
		assert_false(rec.fresh);
		assert_int_equal(rec.torn_bytes, 0);
		append_n(w, 400, 50);
		pb_audit_close(w);
	}
	assert_int_equal(verify(err, sizeof(err)), 0);
	/* a node key that did not sign it */
	{
		unsigned char pk2[32], sk2[64];

		crypto_sign_keypair(pk2, sk2);
		assert_int_equal(pb_audit_verify(dir, pk2, &n, err, sizeof(err)), -EBADMSG);
		assert_non_null(strstr(err, "no valid signature"));
	}
}

static void test_compressed_segments(void **st)
{
	char err[512] = "", cmd[600], buf[1 << 16];
	int gz = 0;
	struct dirent *de;
	DIR *d;

	(void)st;
	make_log(400, 1); /* close waits for the compressor */
	d = opendir(dir);
	while ((de = readdir(d)))
		gz += strstr(de->d_name, ".jsonl.gz") != NULL;
	closedir(d);
	assert_true(gz >= 3);
	assert_int_equal(verify(err, sizeof(err)), 0);
	/* zcat reads them: they are gzip */
	snprintf(cmd, sizeof(cmd), "zcat %s/seg-0000000000000001.jsonl.gz | head -c 200", dir);
	{
		FILE *p = popen(cmd, "r");
		size_t n = fread(buf, 1, sizeof(buf) - 1, p);

		pclose(p);
		buf[n] = 0;
		assert_non_null(strstr(buf, "{\"seq\":1,\"prev\":\"0000"));
	}
}

static void test_edit(void **st)
{
	char path[300], buf[1 << 16], *l;
	size_t n;

	(void)st;
	make_log(300, 0);
	n = read_file(seg_path(1, path, sizeof(path)), buf, sizeof(buf));
	l = strstr(line_at(buf, 5), "\"n\":");
	assert_non_null(l);
	l[4] = l[4] == '9' ? '8' : l[4] + 1; /* one digit of one record */
	write_file(path, buf, n);
	expect_bad("that record was edited");
}

static void test_delete_insert_reorder(void **st)
{
	char path[300], buf[1 << 16], out[1 << 16];
	size_t n;
	char *a, *b, *c;

	(void)st;
	/* deletion */
	make_log(300, 0);
	n = read_file(seg_path(1, path, sizeof(path)), buf, sizeof(buf));
	a = line_at(buf, 4);
	b = line_at(buf, 5);
	memmove(a, b, buf + n - b);
	write_file(path, buf, n - (b - a));
	expect_bad("a record was deleted, inserted or reordered");
	/* insertion: a copy of a record */
	make_log(300, 0);
	n = read_file(seg_path(1, path, sizeof(path)), buf, sizeof(buf));
	a = line_at(buf, 4);
	b = line_at(buf, 5);
	memcpy(out, buf, b - buf);
	memcpy(out + (b - buf), a, b - a);
	memcpy(out + (b - buf) + (b - a), b, buf + n - b);
	write_file(path, out, n + (b - a));
	expect_bad("a record was deleted, inserted or reordered");
	/* reordering two neighbours */
	make_log(300, 0);
	n = read_file(seg_path(1, path, sizeof(path)), buf, sizeof(buf));
	a = line_at(buf, 4);
	b = line_at(buf, 5);
	c = line_at(buf, 6);
	memcpy(out, buf, a - buf);
	memcpy(out + (a - buf), b, c - b);
	memcpy(out + (a - buf) + (c - b), a, b - a);
	memcpy(out + (c - buf), c, buf + n - c);
	write_file(path, out, n);
	expect_bad("where");
}

static void test_truncation_and_missing_segment(void **st)
{
	char path[300], buf[1 << 16];
	size_t n;
	char *cut;

	(void)st;
	/* records cut from the end, back past the last checkpoint */
	make_log(300, 0);
	{
		char last[300] = "";

		for (int k = 0; seg_path(k, path, sizeof(path))[0]; k++)
			snprintf(last, sizeof(last), "%s", path);
		n = read_file(last, buf, sizeof(buf));
		cut = line_at(buf, 1); /* keep only the segment_start */
		write_file(last, buf, cut - buf);
	}
	expect_bad("checkpoints.log has a checkpoint at seq");
	/* cut in the middle of a record */
	make_log(300, 0);
	n = read_file(seg_path(1, path, sizeof(path)), buf, sizeof(buf));
	write_file(path, buf, n - 10);
	expect_bad("torn");
	/* a whole segment gone (and its index) */
	make_log(300, 0);
	seg_path(1, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	strcpy(strstr(path, ".jsonl"), ".idx");
	unlink(path);
	expect_bad("a segment (or its end) is missing");
}

static void test_forged_signature_and_seal(void **st)
{
	char path[300], buf[1 << 16], *s;
	size_t n;

	(void)st;
	make_log(300, 0);
	n = read_file(seg_path(0, path, sizeof(path)), buf, sizeof(buf));
	s = strstr(buf, "\"sig\":\"");
	assert_non_null(s);
	s[10] = s[10] == 'a' ? 'b' : 'a';
	write_file(path, buf, n);
	expect_bad("has no valid signature");
	/* rewriting a record and re-chaining the rest of its segment still
	 * breaks at the next signed record */
	make_log(300, 0);
	n = read_file(seg_path(0, path, sizeof(path)), buf, sizeof(buf));
	{
		/* edit record 3 and fix every following prev in this segment */
		char out[1 << 16], hash[PB_AUDIT_HASH_HEX + 1];
		size_t o = 0;
		char *l = buf;
		int i = 0;

		while (l < buf + n) {
			char *nl = strchr(l, '\n');
			size_t ll = nl - l;
			char line[4096];

			memcpy(line, l, ll);
			line[ll] = 0;
			if (i == 2) {
				char *d = strstr(line, "\"n\":");
				d[4] = d[4] == '9' ? '8' : d[4] + 1;
			}
			if (i > 2)
				memcpy(strstr(line, "\"prev\":\"") + 8, hash, PB_AUDIT_HASH_HEX);
			pb_audit_hash_hex(line, ll, hash);
			memcpy(out + o, line, ll);
			out[o + ll] = '\n';
			o += ll + 1;
			l = nl + 1;
			i++;
		}
		write_file(path, out, o);
	}
	expect_bad("signature");
}

static void test_torn_line_recovery(void **st)
{
	char err[512] = "", path[300], last[300] = "", buf[1 << 16];
	struct pb_audit *w;
	struct pb_audit_opts o = small_opts(0);
	struct pb_audit_recovery rec;
	size_t n;
	int fd;

	(void)st;
	make_log(120, 0);
	for (int k = 0; seg_path(k, path, sizeof(path))[0]; k++)
		snprintf(last, sizeof(last), "%s", path);
	/* a kill -9 in the middle of a write */
	fd = open(last, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"seq\":999,\"prev\":\"ab", 21), 21);
	close(fd);
	expect_bad("torn");
	assert_int_equal(pb_audit_open(&w, dir, "t", sk, &o, &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.torn_bytes, 21);
	append_n(w, 120, 5);
	pb_audit_close(w);
	assert_int_equal(verify(err, sizeof(err)), 0);
	n = read_file(last, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"event\":\"torn_tail\""));
	assert_non_null(strstr(buf, "\"bytes\":21"));
}

static void test_write_error_is_a_gap(void **st)
{
	char err[512] = "", path[300], last[300] = "", buf[1 << 16];
	struct pb_audit *w;
	struct pb_audit_opts o = small_opts(0);
	struct pb_audit_recovery rec;
	struct pb_audit_stats s;
	struct rlimit old, lim;
	char obj[256];
	int failed = 0;

	(void)st;
	o.segment_bytes = 1 << 20;
	rm_dir(dir);
	assert_int_equal(pb_audit_open(&w, dir, "t", sk, &o, &rec, err, sizeof(err)), 0);
	append_n(w, 0, 10);
	assert_int_equal(pb_audit_flush(w), 0);
	/* a full disk, as a file size limit: writes fail with EFBIG */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 4096;
	setrlimit(RLIMIT_FSIZE, &lim);
	for (int i = 0; i < 40; i++) {
		snprintf(obj, sizeof(obj), "{\"event\":\"x\",\"time\":\"t\",\"pad\":\"%0100d\"}",
			 i);
		failed |= pb_audit_append(w, obj, strlen(obj)) != 0; /* may flush, and fail */
		failed |= pb_audit_flush(w) != 0;
	}
	setrlimit(RLIMIT_FSIZE, &old);
	assert_true(failed);
	pb_audit_stats(w, &s);
	assert_true(s.write_errors > 0);
	assert_true(s.dropped > 0);
	append_n(w, 10, 3); /* the disk has room again */
	assert_int_equal(pb_audit_flush(w), 0);
	pb_audit_close(w);
	assert_int_equal(verify(err, sizeof(err)), 0);
	for (int k = 0; seg_path(k, path, sizeof(path))[0]; k++)
		snprintf(last, sizeof(last), "%s", path);
	read_file(last, buf, sizeof(buf));
	{
		char want[64];

		snprintf(want, sizeof(want), "\"reason\":\"write_error\",\"records\":%llu",
			 (unsigned long long)s.dropped);
		if (!strstr(buf, want))
			fail_msg("no gap record saying %s", want);
	}
}

static void key_cb(const char *k, void *ctx)
{
	char *acc = ctx;

	strcat(acc, k);
	strcat(acc, " ");
}

static int count_cb(const char *l, size_t len, void *ctx)
{
	(void)l;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

static void test_keys_and_index(void **st)
{
	const char line[] =
	    "{\"seq\":1,\"prev\":\"00\",\"event\":\"connect\",\"process\":{\"pid\":42,"
	    "\"tid\":43,\"pid_ns\":\"host\",\"start_time\":777,\"pod_uid\":\"u-1\"},"
	    "\"credential\":{\"id\":\"0123456789abcdef\",\"identity\":\"pay\","
	    "\"bound_process\":{\"pid\":41,\"pid_ns\":\"host\",\"start_time\":666}}}";
	char acc[512] = "", err[256];
	const char *k1[] = {"p:1003:5003"}, *k2[] = {"p:99:99"}, *k0[] = {NULL};
	int all = 0, one = 0, none = 0;

	(void)st;
	pb_audit_keys(line, strlen(line), key_cb, acc);
	assert_non_null(strstr(acc, "pid:42 p:42:777 "));
	assert_non_null(strstr(acc, "pid:41 p:41:666 "));
	assert_non_null(strstr(acc, "pod:u-1 "));
	assert_non_null(strstr(acc, "id:pay "));
	assert_non_null(strstr(acc, "cred:0123456789abcdef "));
	make_log(400, 1);
	assert_int_equal(pb_audit_scan(dir, k0, 0, count_cb, &all, err, sizeof(err)), 0);
	assert_int_equal(pb_audit_scan(dir, k1, 1, count_cb, &one, err, sizeof(err)), 0);
	assert_int_equal(pb_audit_scan(dir, k2, 1, count_cb, &none, err, sizeof(err)), 0);
	assert_true(all > 400);
	assert_true(one > 0 && one <= all); /* every segment holds pid 1003 */
	assert_true(none < all);	    /* only the open segment (no index) is read */

	/* the worker indexes a closed segment whether or not it compresses
	 * it; one whose index is missing (a crash before the worker got to
	 * it) is indexed when the trail is opened again */
	make_log(400, 0);
	all = none = 0;
	assert_int_equal(pb_audit_scan(dir, k0, 0, count_cb, &all, err, sizeof(err)), 0);
	assert_int_equal(pb_audit_scan(dir, k2, 1, count_cb, &none, err, sizeof(err)), 0);
	assert_true(none < all);
	{
		struct pb_audit *w;
		struct pb_audit_opts o = small_opts(0);
		struct pb_audit_recovery rec;
		char path[300];
		int again = 0;

		for (int k = 0; seg_path(k, path, sizeof(path))[0]; k++) {
			strcpy(strstr(path, ".jsonl"), ".idx");
			unlink(path);
		}
		assert_int_equal(pb_audit_scan(dir, k2, 1, count_cb, &again, err, sizeof(err)), 0);
		assert_int_equal(again, all); /* no index: every segment is read */
		assert_int_equal(pb_audit_open(&w, dir, "t", sk, &o, &rec, err, sizeof(err)), 0);
		pb_audit_close(w);
		again = 0;
		assert_int_equal(pb_audit_scan(dir, k2, 1, count_cb, &again, err, sizeof(err)), 0);
		assert_true(again < all);
	}
}

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk, sk);
	snprintf(dir, sizeof(dir), "/tmp/pb-audit-test-%d", getpid());
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	rm_dir(dir);
	return 0;
}

/* A node name that needs escaping: every record the trail writes itself
 * (checkpoints, seals, segment starts) is still one valid JSON object that
 * names the node as given, and the chain verifies. */
static void test_node_name_escaped(void **st)
{
	static const char node[] = "node \"7\"\\a";
	struct pb_audit *w;
	struct pb_audit_opts o = small_opts(0);
	struct pb_audit_recovery rec;
	char err[256], path[PATH_MAX], line[4096];
	int own = 0;

	(void)st;
	rm_dir(dir);
	assert_int_equal(pb_audit_open(&w, dir, node, sk, &o, &rec, err, sizeof(err)), 0);
	append_n(w, 0, 200);
	pb_audit_close(w);
	assert_int_equal(verify(err, sizeof(err)), 0);
	for (int k = 0; seg_path(k, path, sizeof(path))[0]; k++) {
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			json_t *j = json_loads(line, 0, NULL);
			const char *n;

			if (!j)
				fail_msg("%s: not JSON: %s", path, line);
			n = json_string_value(json_object_get(j, "node"));
			if (n && !strcmp(n, node))
				own++;
			json_decref(j);
		}
		fclose(f);
	}
	assert_true(own >= 8); /* checkpoints every 25 records, seals, segment starts */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_verifies),
	    cmocka_unit_test(test_compressed_segments),
	    cmocka_unit_test(test_edit),
	    cmocka_unit_test(test_delete_insert_reorder),
	    cmocka_unit_test(test_truncation_and_missing_segment),
	    cmocka_unit_test(test_forged_signature_and_seal),
	    cmocka_unit_test(test_torn_line_recovery),
	    cmocka_unit_test(test_write_error_is_a_gap),
	    cmocka_unit_test(test_keys_and_index),
	    cmocka_unit_test(test_node_name_escaped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
