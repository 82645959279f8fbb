// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The credentials' journal (user/creds/journal.h): a change appends one
 * line whatever the number of credentials, the last record of an id wins, a
 * forgotten id is gone, a torn last line is cut, the file of older agents
 * reads as it is, and the file is rewritten once it has grown to twice what
 * it describes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal.h"

struct dir {
	char path[64];
	struct pb_journal j;
};

static int setup(void **st)
{
	struct dir *d = calloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/pb-journal-XXXXXX");
	if (!d || !mkdtemp(d->path))
		return -1;
	pb_journal_init(&d->j, d->path);
	*st = d;
	return 0;
}

static int teardown(void **st)
{
	struct dir *d = *st;
	char p[128];

	pb_journal_close(&d->j);
	snprintf(p, sizeof(p), "%s/creds.jsonl", d->path);
	unlink(p);
	rmdir(d->path);
	free(d);
	return 0;
}

static void meta(struct pb_cred_meta *m, uint64_t id, const char *path)
{
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->bind.owner.tgid = 4242;
	m->bind.owner.start_time = 123456789;
	m->bind.cgroup_id = 77;
	m->bind.exe_dev = 8;
	m->bind.exe_ino = 0xfffffffffffffff1ULL; /* above int64: overlayfs can give these */
	m->bind.expires = 99;
	m->bind.ident = 0x8000000000000001ULL;
	m->bind.flags = 1;
	m->file.dev = 9;
	m->file.ino = 10;
	m->uid = 1000;
	m->issued = 5;
	snprintf(m->identity, sizeof(m->identity), "payments");
	snprintf(m->comm, sizeof(m->comm), "pb_actor");
	assert_int_equal(pb_cred_meta_set(&m->path, path), 0);
	assert_int_equal(pb_cred_meta_set(&m->exe, "/usr/bin/pb_actor"), 0);
}

/* add a copy of m to s (the store takes the strings) */
static struct pb_cred_meta *store_add(struct pb_cred_store *s, struct pb_cred_meta *m)
{
	assert_int_equal(pb_cred_store_reserve(s), 0);
	return pb_cred_store_add(s, m);
}

static off_t file_size(const struct dir *d)
{
	struct stat st;

	assert_int_equal(stat(d->j.path, &st), 0);
	return st.st_size;
}

static size_t replay(struct dir *d, struct pb_cred_store *out, int *torn)
{
	struct pb_journal r;
	int t = 0;

	pb_journal_init(&r, d->path);
	assert_int_equal(pb_journal_replay(&r, out, &t), 0);
	if (torn)
		*torn = t;
	return r.lines;
}

static void test_round_trip_forget_and_last_wins(void **st)
{
	struct dir *d = *st;
	struct pb_cred_store s = {0}, got = {0};
	struct pb_cred_meta m, *p;

	assert_int_equal(pb_journal_rewrite(&d->j, &s), 0); /* empty, open */
	for (uint64_t id = 1; id <= 3; id++) {
		char path[32];

		snprintf(path, sizeof(path), "/run/tok-%llu", (unsigned long long)id);
		meta(&m, id, path);
		pb_journal_put(&d->j, store_add(&s, &m));
	}
	assert_int_equal(pb_journal_flush(&d->j, &s), 0);
	/* 2 dies; 3 is forgotten */
	p = pb_cred_store_find(&s, 2);
	p->died = 1000;
	p->death = "owner_exited";
	pb_journal_put(&d->j, p);
	pb_journal_forget(&d->j, 3);
	pb_cred_store_remove_at(&s, (size_t)(pb_cred_store_find(&s, 3) - s.v));
	pb_journal_forget(&d->j, 99); /* never known: harmless */
	assert_int_equal(pb_journal_flush(&d->j, &s), 0);
	assert_int_equal(d->j.lines, 3 + 3);

	assert_int_equal(replay(d, &got, NULL), 6);
	assert_int_equal(got.n, 2);
	p = pb_cred_store_find(&got, 1);
	assert_non_null(p);
	assert_int_equal(p->bind.exe_ino, 0xfffffffffffffff1ULL);
	assert_int_equal(p->bind.ident, 0x8000000000000001ULL);
	assert_int_equal(p->bind.owner.tgid, 4242);
	assert_int_equal(p->bind.owner.start_time, 123456789);
	assert_string_equal(p->path, "/run/tok-1");
	assert_string_equal(p->exe, "/usr/bin/pb_actor");
	assert_string_equal(p->identity, "payments");
	assert_null(p->death);
	p = pb_cred_store_find(&got, 2);
	assert_non_null(p);
	assert_int_equal(p->died, 1000);
	assert_string_equal(p->death, "owner_exited");
	assert_null(pb_cred_store_find(&got, 3));
	pb_cred_store_free(&got);
	pb_cred_store_free(&s);
}

/* A change writes one line, however many credentials the file describes. */
static void test_one_change_one_line(void **st)
{
	struct dir *d = *st;
	struct pb_cred_store s = {0}, got = {0};
	struct pb_cred_meta m, *p;
	off_t before, after;
	struct pb_buf line = {0};

	for (uint64_t id = 1; id <= 5000; id++) {
		meta(&m, id, "/run/tok");
		store_add(&s, &m);
	}
	assert_int_equal(pb_journal_rewrite(&d->j, &s), 0);
	before = file_size(d);
	p = pb_cred_store_find(&s, 4000);
	p->bind.flags |= 2;
	pb_journal_put(&d->j, p);
	assert_int_equal(pb_journal_flush(&d->j, &s), 0);
	after = file_size(d);
	pb_journal_record(&line, p);
	assert_int_equal(after - before, (off_t)line.len + 1);
	assert_int_equal(replay(d, &got, NULL), 5001);
	assert_int_equal(got.n, 5000);
	assert_int_equal(pb_cred_store_find(&got, 4000)->bind.flags, 3);
	pb_buf_free(&line);
	pb_cred_store_free(&got);
	pb_cred_store_free(&s);
}

/* A crash in the middle of an append: the torn line is cut, the whole lines
 * before it stand, and the journal goes on after the cut. */
static void test_torn_last_line_is_cut(void **st)
{
	struct dir *d = *st;
	struct pb_cred_store s = {0}, got = {0}, again = {0};
	struct pb_cred_meta m;
	off_t whole;
	FILE *f;
	int torn = 0;

	assert_int_equal(pb_journal_rewrite(&d->j, &s), 0);
	meta(&m, 7, "/run/a");
	pb_journal_put(&d->j, store_add(&s, &m));
	assert_int_equal(pb_journal_flush(&d->j, &s), 0);
	whole = file_size(d);
	f = fopen(d->j.path, "a");
	assert_non_null(f);
	fputs("{\"id\":\"0000000000000008\",\"start_ti", f); /* no newline */
	fclose(f);

	assert_int_equal(replay(d, &got, &torn), 1);
	assert_int_equal(torn, 1);
	assert_int_equal(got.n, 1);
	assert_non_null(pb_cred_store_find(&got, 7));
	assert_null(pb_cred_store_find(&got, 8));
	assert_int_equal(file_size(d), whole);
	/* the next append starts on a line of its own */
	meta(&m, 9, "/run/b");
	pb_journal_put(&d->j, store_add(&s, &m));
	assert_int_equal(pb_journal_flush(&d->j, &s), 0);
	assert_int_equal(replay(d, &again, &torn), 2);
	assert_int_equal(torn, 0);
	assert_int_equal(again.n, 2);
	pb_cred_store_free(&again);
	pb_cred_store_free(&got);
	pb_cred_store_free(&s);
}

/* The file older agents wrote (one record per credential, no "op", rewritten
 * whole) reads as a journal; a line that does not parse is skipped. */
static void test_old_file_and_bad_line(void **st)
{
	struct dir *d = *st;
	struct pb_cred_store got = {0};
	FILE *f = fopen(d->j.path, "w");
	struct pb_cred_meta *p;

	assert_non_null(f);
	fputs("{\"id\":\"00000000000000aa\",\"start_time\":11,\"cgroup_id\":12,\"exe_dev\":1,"
	      "\"exe_ino\":2,\"expires\":3,\"ident\":\"00000000000000ff\",\"tgid\":77,"
	      "\"flags\":0,\"file_dev\":4,\"file_ino\":5,\"identity\":\"payments\","
	      "\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\",\"cgroup\":\"/pod\","
	      "\"path\":\"/run/t\",\"uid\":0,\"issued\":6,\"died\":0,\"death\":null}\n",
	      f);
	fputs("not json\n", f);
	fputs("{\"op\":\"frobnicate\",\"id\":\"00000000000000ab\"}\n", f);
	fputs("{\"id\":\"00000000000000bb\",\"died\":9,\"death\":\"expired\"}\n", f);
	fclose(f);
	assert_int_equal(replay(d, &got, NULL), 4);
	assert_int_equal(got.n, 2);
	/* taken as it is (a restart that needs no rewrite): appended to */
	{
		struct pb_journal j2;
		struct pb_cred_meta m;
		struct pb_cred_store again = {0};
		int torn;

		pb_journal_init(&j2, d->path);
		assert_int_equal(pb_journal_replay(&j2, &again, &torn), 0);
		assert_int_equal(pb_journal_reopen(&j2), 0);
		meta(&m, 0xcc, "/run/c");
		pb_journal_put(&j2, store_add(&again, &m));
		assert_int_equal(pb_journal_flush(&j2, &again), 0);
		assert_int_equal(j2.lines, 5);
		assert_int_equal(j2.rewrites, 0);
		pb_journal_close(&j2);
		pb_cred_store_free(&again);
		assert_int_equal(replay(d, &again, NULL), 5);
		assert_int_equal(again.n, 3);
		pb_cred_store_free(&again);
	}
	p = pb_cred_store_find(&got, 0xaa);
	assert_non_null(p);
	assert_int_equal(p->bind.owner.tgid, 77);
	assert_int_equal(p->bind.ident, 0xff);
	assert_string_equal(p->comm, "curl");
	assert_string_equal(p->cgroup, "/pod");
	assert_null(pb_cred_store_find(&got, 0xab));
	assert_string_equal(pb_cred_store_find(&got, 0xbb)->death, "expired");
	pb_cred_store_free(&got);
}

/* Changes to few credentials: the file is rewritten when it passes twice
 * what it describes (plus the slack), never grows past that, and a rewrite
 * keeps the last record of each. Adopted files are not written. */
static void test_rewrite_bounds_the_file(void **st)
{
	struct dir *d = *st;
	struct pb_cred_store s = {0}, got = {0};
	struct pb_cred_meta m, *p;
	size_t most = 0;

	meta(&m, 1, "/run/one");
	store_add(&s, &m);
	meta(&m, 2, "/run/adopted");
	assert_int_equal(pb_cred_meta_set(&m.adopt, "sa-token"), 0);
	store_add(&s, &m);
	assert_int_equal(pb_journal_rewrite(&d->j, &s), 0);
	assert_int_equal(d->j.lines, 1);
	for (unsigned int i = 0; i < 3 * PB_JOURNAL_SLACK; i++) {
		p = pb_cred_store_find(&s, 1);
		p->uid = i;
		pb_journal_put(&d->j, p);
		pb_journal_put(&d->j, pb_cred_store_find(&s, 2)); /* not written */
		assert_int_equal(pb_journal_flush(&d->j, &s), 0);
		if (d->j.lines > most)
			most = d->j.lines;
	}
	assert_true(d->j.rewrites >= 3);
	assert_true(most <= 2 * s.n + PB_JOURNAL_SLACK);
	assert_int_equal(replay(d, &got, NULL), d->j.lines);
	assert_int_equal(got.n, 1);
	assert_int_equal(pb_cred_store_find(&got, 1)->uid, 3 * PB_JOURNAL_SLACK - 1);
	assert_null(pb_cred_store_find(&got, 2));
	pb_cred_store_free(&got);
	pb_cred_store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_forget_and_last_wins, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_one_change_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_line_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_file_and_bad_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_bounds_the_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
