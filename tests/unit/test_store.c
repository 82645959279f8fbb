// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The credential store: every credential is found by id, through growth
 * and any order of removals (the index is probed, never scanned). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cred_store.h"

#define N 5000

/* Ids chosen so many share a home slot: the probe chains are long. */
static uint64_t id_of(unsigned int i)
{
	return (uint64_t)i * 0x10000 + 1;
}

static void check_all(const struct pb_cred_store *s, const unsigned char *present)
{
	for (unsigned int i = 0; i < N; i++) {
		const struct pb_cred_meta *m = pb_cred_store_find(s, id_of(i));

		if (present[i]) {
			assert_non_null(m);
			assert_int_equal(m->id, id_of(i));
			assert_int_equal(m->uid, i);
		} else {
			assert_null(m);
		}
	}
}

static void test_store_find_add_remove(void **st)
{
	struct pb_cred_store s = {0};
	static unsigned char present[N];
	static struct pb_cred_meta m;

	(void)st;
	assert_null(pb_cred_store_find(&s, 1));
	for (unsigned int i = 0; i < N; i++) {
		char path[32];

		m.id = id_of(i);
		m.uid = i;
		/* each entry owns its strings (the sanitizers' run checks that
		 * removal and free release them) */
		snprintf(path, sizeof(path), "/run/tok-%u", i);
		m.exe = m.cgroup = m.path = NULL;
		assert_int_equal(pb_cred_meta_set(&m.path, path), 0);
		assert_int_equal(pb_cred_meta_set(&m.exe, i % 2 ? "/bin/x" : ""), 0);
		assert_int_equal(pb_cred_store_reserve(&s), 0);
		const struct pb_cred_meta *added = pb_cred_store_add(&s, &m);

		assert_ptr_equal(added, &s.v[s.n - 1]);
		assert_string_equal(added->path, path);
		if (i % 2)
			assert_string_equal(added->exe, "/bin/x");
		else
			assert_null(added->exe); /* "" is none */
		present[i] = 1;
	}
	m.exe = m.cgroup = m.path = NULL; /* the store owns them */
	assert_int_equal(s.n, N);
	check_all(&s, present);
	/* Remove every third, then the first ten positions, checking all. */
	srand(7);
	for (unsigned int k = 0; k < N / 3; k++) {
		size_t pos = (size_t)rand() % s.n;

		present[s.v[pos].uid] = 0;
		pb_cred_store_remove_at(&s, pos);
	}
	check_all(&s, present);
	for (unsigned int k = 0; k < 10; k++) {
		present[s.v[0].uid] = 0;
		pb_cred_store_remove_at(&s, 0);
	}
	check_all(&s, present);
	/* Removed ids come back. */
	for (unsigned int i = 0; i < N; i++) {
		if (present[i])
			continue;
		m.id = id_of(i);
		m.uid = i;
		assert_int_equal(pb_cred_store_reserve(&s), 0);
		pb_cred_store_add(&s, &m);
		present[i] = 1;
	}
	assert_int_equal(s.n, N);
	check_all(&s, present);
	while (s.n)
		pb_cred_store_remove_at(&s, s.n - 1);
	memset(present, 0, sizeof(present));
	check_all(&s, present);
	pb_cred_store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_find_add_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
