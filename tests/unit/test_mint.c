// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Minting's policy checks, as the agent runs them before it reads the
 * process: every refusal, the TTL defaults and caps, inheritance, and the
 * expiry capped by the identity's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mint_check.h"

#define S 1000000000ULL

static const char policy_text[] =
    "credentials: {default_ttl: 15m, max_ttl: 24h, inherit: children}\n"
    "identities:\n"
    "  - name: pay\n"
    "    owner: o\n    purpose: p\n    expires: 2099-01-01\n"
    "    max_ttl: 1h\n    inherit: children\n"
    "    match: {cgroups: ['/pods/**']}\n"
    "    scope: [{cidr: 10.0.0.0/8, ports: 443, protocol: tcp}]\n"
    "  - name: short\n"
    "    owner: o\n    purpose: p\n    expires: 2099-01-01\n"
    "    max_ttl: 5m\n    inherit: none\n"
    "    match: {cgroups: ['/pods/**']}\n"
    "    scope: [{cidr: 10.0.0.0/8, ports: 443, protocol: tcp}]\n"
    "  - name: old\n"
    "    owner: someone@example.invalid\n    purpose: p\n    expires: 2020-01-01\n"
    "    match: {cgroups: ['/pods/**']}\n"
    "    scope: [{cidr: 10.0.0.0/8, ports: 443, protocol: tcp}]\n";

static struct pb_policy pol;

static int setup(void **st)
{
	char err[512] = "";

	(void)st;
	pb_policy_defaults(&pol);
	if (pb_policy_parse(policy_text, strlen(policy_text), "t.yaml", &pol, err, sizeof(err))) {
		fprintf(stderr, "policy: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	pb_policy_free(&pol);
	return 0;
}

static int check(const char *identity, uint64_t ttl, int inherit, struct pb_mint_plan *plan,
		 char *err, size_t len)
{
	struct pb_mint_req req = {.pid = 4242, .ttl = ttl, .inherit = inherit};

	snprintf(req.identity, sizeof(req.identity), "%s", identity);
	return pb_mint_check(&pol, &req, 1800000000 /* 2027 */, plan, err, len);
}

static void expect_refused(const char *identity, uint64_t ttl, int inherit, int code,
			   const char *want)
{
	struct pb_mint_plan plan;
	char err[512] = "";

	assert_int_equal(check(identity, ttl, inherit, &plan, err, sizeof(err)), code);
	if (!strstr(err, want))
		fail_msg("'%s' does not say '%s'", err, want);
}

static void test_refusals(void **st)
{
	struct pb_mint_req none = {0};
	struct pb_mint_plan plan;
	char err[256] = "";

	(void)st;
	assert_int_equal(pb_mint_check(&pol, &none, 0, &plan, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--pid is required"));
	expect_refused("", 0, -1, -EINVAL, "--identity is required");
	expect_refused("bad name", 0, -1, -EINVAL, "must be 1-63 characters");
	expect_refused("nobody", 0, -1, -ENOENT, "not in the policy in force");
	expect_refused("old", 0, -1, -EKEYEXPIRED,
		       "expired at 2020-01-01T00:00:00Z (owner someone@example.invalid)");
	expect_refused("pay", 2 * 3600 * S, -1, -EINVAL, "exceeds identity 'pay' max_ttl (3600s)");
	expect_refused("short", 0, 1, -EPERM, "does not allow inherit children");
}

static void test_ttl_and_inherit(void **st)
{
	struct pb_mint_plan plan;
	char err[256] = "";

	(void)st;
	/* No --ttl: the policy default, capped by the identity's max_ttl. */
	assert_int_equal(check("pay", 0, -1, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.ident->name, "pay");
	assert_int_equal(plan.ttl, 15 * 60 * S);
	assert_int_equal(check("short", 0, -1, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.ttl, 5 * 60 * S);
	/* A TTL at the cap is allowed. */
	assert_int_equal(check("pay", 3600 * S, -1, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.ttl, 3600 * S);
	/* Inheritance: the default needs both the policy's and the identity's
	 * yes; asking for none is always allowed. */
	assert_int_equal(check("pay", 0, -1, &plan, err, sizeof(err)), 0);
	assert_true(plan.inherit);
	assert_int_equal(check("short", 0, -1, &plan, err, sizeof(err)), 0);
	assert_false(plan.inherit);
	assert_int_equal(check("pay", 0, 0, &plan, err, sizeof(err)), 0);
	assert_false(plan.inherit);
}

static void test_expiry(void **st)
{
	uint64_t issued = 1000 * S, now = 1800000000ULL * S;

	(void)st;
	/* The TTL ends first. */
	assert_int_equal(pb_mint_expiry(issued, now, 600 * S, 1800000000 + 3600), issued + 600 * S);
	/* The identity ends first: the credential ends with it. */
	assert_int_equal(pb_mint_expiry(issued, now, 600 * S, 1800000000 + 60), issued + 60 * S);
	/* The identity ended in between: dead at issue, never alive. */
	assert_int_equal(pb_mint_expiry(issued, now, 600 * S, 1800000000 - 1), issued);
	assert_int_equal(pb_mint_expiry(issued, now, 600 * S, 1800000000), issued);
}

static void test_identity_names(void **st)
{
	char longname[80];

	(void)st;
	assert_true(pb_identity_valid("payments-reconciler_v2.1"));
	assert_false(pb_identity_valid(""));
	assert_false(pb_identity_valid("a/b"));
	assert_false(pb_identity_valid("a b"));
	memset(longname, 'a', 63);
	longname[63] = 0;
	assert_true(pb_identity_valid(longname));
	memset(longname, 'a', 64);
	longname[64] = 0;
	assert_false(pb_identity_valid(longname));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_ttl_and_inherit),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_identity_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
