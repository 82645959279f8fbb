// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The modules' state functions, each changing only its own module's part of
 * struct pb_agent (user/state.h): the start's values, the policy taken at
 * start and at a reload, the credentials another module keeps in the store,
 * the audit trail's open and close, the node key's wipe, the attribution
 * caches. No kernel: none of these touches a BPF object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "creds.h"
#include "events.h"
#include "purpose.h"
#include "sysfs.h"
#include "util.h"

static struct pb_agent a; /* large (its caches): not on the stack */

static int fresh(void **st)
{
	(void)st;
	memset(&a, 0, sizeof(a));
	pb_kernel_state_init(&a.kern);
	pb_guard_state_init(&a.guard);
	pb_creds_state_init(&a.creds);
	pb_sink_state_init(&a.sink);
	pb_http_state_init(&a.http);
	a.conf.mode_override = -1;
	return 0;
}

static void test_start_values(void **st)
{
	(void)st;
	/* no descriptor 0 (stdin) taken for a state's "none" */
	assert_int_equal(a.kern.cgroup_fd, -1);
	assert_int_equal(a.guard.fan_fd, -1);
	assert_int_equal(a.guard.pidfd, -1);
	assert_int_equal(a.creds.journal.fd, -1);
	assert_int_equal(a.http.fd, -1);
	assert_ptr_equal(a.sink.out, stdout);
	pb_creds_stop(&a); /* closes nothing it did not open */
}

static char *write_policy(const char *text)
{
	static char path[] = "/tmp/pb-state-policy-XXXXXX";
	int fd;

	strcpy(path, "/tmp/pb-state-policy-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char policy_text[] = "version: 1\n"
				  "mode: enforce\n"
				  "identities:\n"
				  "  - name: payments\n"
				  "    owner: team@example.invalid\n"
				  "    purpose: a test\n"
				  "    expires: 2099-01-01\n"
				  "    match:\n"
				  "      cgroups: [\"/pods/payments*\"]\n"
				  "    scope:\n"
				  "      - {cidr: 127.0.0.0/8, ports: any, protocol: any}\n";

/* The process map's size: kernel.pid_max unless the policy sets one. */
static void test_purpose_open_sizes(void **st)
{
	char err[256], *path = write_policy(policy_text);
	uint32_t pid_max = pb_pid_max();

	(void)st;
	assert_int_equal(pb_purpose_open(&a, path, err, sizeof(err)), 0);
	assert_int_equal(a.purpose.policy.max_procs, pid_max >= 1024 ? pid_max : PB_DEFAULT_MAX_PROCS);
	assert_true(pb_policy_identity(&a.purpose.policy, "payments") != NULL);
	pb_purpose_stop(&a);
	unlink(path);

	path = write_policy("version: 1\nlimits:\n  max_procs: 5000\n");
	assert_int_equal(pb_purpose_open(&a, path, err, sizeof(err)), 0);
	assert_int_equal(a.purpose.policy.max_procs, 5000);
	pb_purpose_stop(&a);
	unlink(path);

	path = write_policy("version: 1\nmode: sideways\n");
	assert_true(pb_purpose_open(&a, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "mode"));
	pb_purpose_stop(&a);
	unlink(path);
}

/* A reload's policy is taken whole, but the map sizes stay the start's (the
 * maps were made with them), and its time is stamped. */
static void test_purpose_take_keeps_sizes(void **st)
{
	char err[256], *path = write_policy("version: 1\nlimits:\n  max_procs: 5000\n  max_creds: 64\n");
	struct pb_policy np;
	uint64_t before;

	(void)st;
	assert_int_equal(pb_purpose_open(&a, path, err, sizeof(err)), 0);
	unlink(path);
	pb_policy_defaults(&np);
	assert_int_equal(pb_policy_parse(policy_text, strlen(policy_text), "reload", &np, err,
					 sizeof(err)),
			 0);
	np.max_procs = 9999;
	np.max_creds = 7;
	before = pb_now_boot_ns();
	pb_purpose_take(&a, &np);
	assert_int_equal(a.purpose.policy.max_procs, 5000);
	assert_int_equal(a.purpose.policy.max_creds, 64);
	assert_true(a.purpose.policy_loaded >= before);
	assert_true(pb_policy_identity(&a.purpose.policy, "payments") != NULL);
	pb_purpose_stop(&a);
	assert_null(a.purpose.pending);
}

/* The credentials adopt/ keeps: through the creds module's functions, found
 * by id, gone when removed; the others stay findable. */
static void test_creds_store_for_others(void **st)
{
	struct pb_cred_meta m = {0}, *p;

	(void)st;
	for (uint64_t id = 1; id <= 100; id++) {
		memset(&m, 0, sizeof(m));
		m.id = id;
		assert_int_equal(pb_cred_meta_set(&m.adopt, "sa-token"), 0);
		assert_int_equal(pb_creds_reserve(&a), 0);
		p = pb_creds_add(&a, &m);
		assert_int_equal(p->id, id);
	}
	pb_creds_remove(&a, pb_cred_find(&a, 50));
	assert_null(pb_cred_find(&a, 50));
	for (uint64_t id = 1; id <= 100; id++)
		if (id != 50)
			assert_non_null(pb_cred_find(&a, id));
	assert_int_equal(a.creds.store.n, 99);
	pb_creds_stop(&a);
	assert_int_equal(a.creds.store.n, 0);
}

static void test_node_key_wipe(void **st)
{
	static const unsigned char zero[64];

	(void)st;
	memset(a.key.sk, 0xa5, sizeof(a.key.sk));
	pb_creds_stop(&a);
	assert_memory_equal(a.key.sk, zero, sizeof(zero));
}

/* The trail: opened in a fresh directory with no gap; opened again (the
 * agent was down) its first line is an agent_down gap; stopped, closed. */
static void test_events_trail(void **st)
{
	char dir[] = "/tmp/pb-state-trail-XXXXXX", cmd[128], *out = NULL;
	size_t outlen = 0;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(a.conf.audit_dir, sizeof(a.conf.audit_dir), "%s", dir);
	snprintf(a.conf.node, sizeof(a.conf.node), "test");
	a.sink.out = open_memstream(&out, &outlen);
	assert_int_equal(pb_events_trail_open(&a), 0);
	assert_non_null(a.sink.audit);
	pb_events_flush(&a);
	assert_int_equal(outlen, 0); /* nothing to say of a fresh trail */
	pb_events_stop(&a);
	assert_null(a.sink.audit);

	assert_int_equal(pb_events_trail_open(&a), 0);
	pb_events_flush(&a);
	assert_non_null(strstr(out, "\"event\":\"gap\""));
	assert_non_null(strstr(out, "\"reason\":\"agent_down\""));
	pb_events_stop(&a);
	fclose(a.sink.out);
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The attribution caches start empty (and resident). */
static void test_attr_init(void **st)
{
	(void)st;
	a.sink.pcache[7].tgid = 42;
	a.sink.cgcache[9].id = 43;
	pb_attr_init(&a);
	assert_int_equal(a.sink.pcache[7].tgid, 0);
	assert_int_equal(a.sink.cgcache[9].id, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_start_values, fresh),
	    cmocka_unit_test_setup(test_purpose_open_sizes, fresh),
	    cmocka_unit_test_setup(test_purpose_take_keeps_sizes, fresh),
	    cmocka_unit_test_setup(test_creds_store_for_others, fresh),
	    cmocka_unit_test_setup(test_node_key_wipe, fresh),
	    cmocka_unit_test_setup(test_events_trail, fresh),
	    cmocka_unit_test_setup(test_attr_init, fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
