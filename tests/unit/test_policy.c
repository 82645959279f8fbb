// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy parser: the shipped default parses, and every kind of bad input
 * is refused with file:line:col and a message that names the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"
#include "procbind/abi.h"

#ifndef PB_SOURCE_DIR
#error PB_SOURCE_DIR must be defined
#endif

static int parse(const char *text, struct pb_policy *p, char *err, size_t len)
{
	return pb_policy_parse(text, strlen(text), "t.yaml", p, err, len);
}

static void test_shipped_default_policy(void **st)
{
	struct pb_policy p;
	char err[512] = "";

	(void)st;
	assert_int_equal(pb_policy_load(PB_SOURCE_DIR "/deploy/policy.yaml", &p, err, sizeof(err)),
			 0);
	assert_int_equal(p.mode, PB_MODE_ENFORCE);
	assert_true(p.default_ttl <= p.max_ttl);
}

static void test_full_policy(void **st)
{
	struct pb_policy p;
	char err[512] = "";

	(void)st;
	assert_int_equal(parse("version: 1\nmode: monitor\ncredentials:\n  default_ttl: 90s\n"
			       "  max_ttl: 2h\n  inherit: children\nlimits:\n  max_procs: 4096\n"
			       "  max_creds: 64\n",
			       &p, err, sizeof(err)),
			 0);
	assert_int_equal(p.mode, PB_MODE_MONITOR);
	assert_int_equal(p.default_ttl, 90ULL * 1000000000ULL);
	assert_int_equal(p.max_ttl, 7200ULL * 1000000000ULL);
	assert_int_equal(p.inherit_children, 1);
	assert_int_equal(p.max_procs, 4096);
	assert_int_equal(p.max_creds, 64);
}

struct bad_case {
	const char *text;
	const char *expect; /* substring of the error, position included */
};

static void test_bad_inputs(void **st)
{
	static const struct bad_case cases[] = {
	    {"mode: [enforce\n", "t.yaml:2:1:"}, /* syntax */
	    {"mode: block\n", "t.yaml:1:7: mode: 'block' must be enforce or monitor"},
	    {"mdoe: enforce\n", "t.yaml:1:1: unknown key 'mdoe' in the policy"},
	    {"mode: enforce\nmode: monitor\n", "t.yaml:2:1: duplicate key 'mode'"},
	    {"credentials:\n  default_ttl: soon\n",
	     "t.yaml:2:16: default_ttl: 'soon' is not a duration"},
	    {"credentials:\n  max_ttl: 0s\n", "t.yaml:2:12: max_ttl: '0s' is not a duration"},
	    {"credentials:\n  inherit: all\n",
	     "t.yaml:2:12: inherit: 'all' must be none or children"},
	    {"credentials:\n  default_ttl: 2h\n  max_ttl: 1h\n", "default_ttl exceeds max_ttl"},
	    {"credentials: 5\n", "t.yaml:1:14: credentials must be a mapping"},
	    {"limits:\n  max_procs: -1\n", "t.yaml:2:14: max_procs: '-1' is not a whole number"},
	    {"limits:\n  max_procs: 10\n", "is not a whole number in [1024,"},
	    {"limits:\n  max_creds: 99999999999\n", "max_creds"},
	    {"version: 2\n", "t.yaml:1:10: version: '2' is not supported"},
	    {"- a\n- b\n", "t.yaml:1:1: the policy must be a mapping"},
	    {"mode:\n  - enforce\n", "t.yaml:2:3: mode must be a scalar"},
	    {"", "empty policy"},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_policy p;
		char err[512] = "";

		assert_int_equal(parse(cases[i].text, &p, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].expect))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].expect);
	}
}

static void test_missing_file(void **st)
{
	struct pb_policy p;
	char err[512] = "";

	(void)st;
	assert_int_equal(pb_policy_load("/nonexistent/policy.yaml", &p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/policy.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_default_policy),
	    cmocka_unit_test(test_full_policy),
	    cmocka_unit_test(test_bad_inputs),
	    cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
