// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The control protocol parser: well-formed requests parse; every malformed
 * one is refused with a message, never half-read. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static struct pb_req req;

static int parse(const char *s, char *err)
{
	return pb_req_parse(&req, s, strlen(s), err, 256);
}

static void test_good_request(void **st)
{
	char err[256] = "";

	(void)st;
	assert_int_equal(parse("mint\npid=42\nttl=10m\nout=/tmp/a b\n\n", err), 0);
	assert_string_equal(req.verb, "mint");
	assert_int_equal(req.nkv, 3);
	assert_string_equal(pb_req_get(&req, "pid"), "42");
	assert_string_equal(pb_req_get(&req, "out"), "/tmp/a b");
	assert_null(pb_req_get(&req, "identity"));
	{
		static const char *const ok[] = {"pid", "ttl", "out", NULL};
		static const char *const narrow[] = {"pid", NULL};

		assert_int_equal(pb_req_check_keys(&req, ok, err, 256), 0);
		assert_int_equal(pb_req_check_keys(&req, narrow, err, 256), -EINVAL);
		assert_non_null(strstr(err, "unknown key 'ttl'"));
	}
}

static void test_empty_value_and_verb_only(void **st)
{
	char err[256] = "";

	(void)st;
	assert_int_equal(parse("status\n\n", err), 0);
	assert_int_equal(req.nkv, 0);
	assert_int_equal(parse("ps\nall=\n\n", err), 0);
	assert_string_equal(pb_req_get(&req, "all"), "");
}

static void test_malformed(void **st)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
	    {"", "empty request"},
	    {"\n", "empty request"},
	    {"mint\npid=1\n", "not terminated by an empty line"},
	    {"mint\npid=1", "not terminated by a newline"},
	    {"mint\npid\n\n", "expected key=value"},
	    {"mint\n=1\n\n", "expected key=value"},
	    {"mint\npid=1\npid=2\n\n", "duplicate key 'pid'"},
	    {"mint\npid=1\n\nextra\n", "data after the end"},
	    {"a=b\n\n", "bad verb line"},
	    {"averyveryveryveryverylongverbthatdoesnotfit\n\n", "bad verb line"},
	    {"mint\npid=\x01\n\n", "control characters"},
	    {"mint\ta\n\n", "bad verb line"},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";

		assert_true(parse(cases[i].in, err) < 0);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
}

static void test_nul_and_limits(void **st)
{
	static char big[PB_REQ_MAX + 2];
	char err[256] = "";
	char kvs[2048] = "x\n";

	(void)st;
	assert_int_equal(pb_req_parse(&req, "mint\n\0\n\n", 8, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(pb_req_parse(&req, big, sizeof(big) - 1, err, sizeof(err)), -E2BIG);
	for (int i = 0; i <= PB_REQ_MAX_KV; i++) {
		char one[16];

		snprintf(one, sizeof(one), "k%d=v\n", i);
		strcat(kvs, one);
	}
	strcat(kvs, "\n");
	assert_int_equal(parse(kvs, err), -E2BIG);
}

/* A request read in pieces, as the workload socket reads a slow client. */
static void test_fragments(void **st)
{
	static const char req[] = "proof\nstart_time=123\nmethod=GET\nurl=https://a/b\n\n";
	static struct pb_req r;
	char err[128];
	size_t n = strlen(req);

	(void)st;
	for (size_t i = 1; i < n; i++)
		assert_int_equal(pb_req_complete(req, i), 0); /* never early */
	assert_int_equal(pb_req_complete(req, n), (int)n);
	assert_int_equal(pb_req_parse(&r, req, n, err, sizeof(err)), 0);
	assert_string_equal(r.verb, "proof");
	assert_string_equal(pb_req_get(&r, "url"), "https://a/b");
	/* what a client sends after its blank line is not part of it */
	assert_int_equal(pb_req_complete("token\n\ngarbage", 14), 7);
	/* a NUL is a byte like any other: the request ends at its blank line
	 * and is then refused whole (the workload socket once searched for
	 * the end as a C string and got a null pointer) */
	assert_int_equal(pb_req_complete("token\0x\n\n", 9), 9);
	assert_int_equal(pb_req_parse(&r, "token\0x\n\n", 9, err, sizeof(err)), -EINVAL);
	/* too much without an end */
	{
		static char big[PB_REQ_MAX + 10];

		memset(big, 'a', sizeof(big));
		assert_int_equal(pb_req_complete(big, PB_REQ_MAX - 1), 0);
		assert_int_equal(pb_req_complete(big, PB_REQ_MAX), -E2BIG);
	}
	/* malformed once complete: no verb, a line without '=' */
	assert_int_not_equal(pb_req_parse(&r, "\nkey=v\n\n", 9, err, sizeof(err)), 0);
	assert_int_not_equal(pb_req_parse(&r, "token\nnoequals\n\n", 17, err, sizeof(err)), 0);
}

/* The workload socket's requests: form first, before any process is looked at. */
static void test_workload_requests(void **st)
{
	static struct pb_req r;
	struct pb_wl_req w;
	char err[256];
	static const struct {
		const char *req;
		int ret;
	} cases[] = {
	    {"pubkey\n\n", 0},
	    {"pubkey\nstart_time=1\n\n", 0}, /* clients send it with everything */
	    {"pubkey\nidentity=a\n\n", -EINVAL},
	    {"token\nstart_time=42\nttl=10m\ninherit=children\nexe=/usr/bin/curl\n\n", 0},
	    {"token\n\n", -EINVAL},			      /* no start_time */
	    {"token\nstart_time=0\n\n", -EINVAL},	      /* ticks start at 1 */
	    {"token\nstart_time=12x\n\n", -EINVAL},
	    {"token\nstart_time=99999999999999999999999\n\n", -EINVAL},
	    {"token\nstart_time=1\nttl=0s\n\n", -EINVAL},
	    {"token\nstart_time=1\nttl=forever\n\n", -EINVAL},
	    {"token\nstart_time=1\ninherit=all\n\n", -EINVAL},
	    {"token\nstart_time=1\nexe=bin/sh\n\n", -ENOENT},
	    {"token\nstart_time=1\nexe=/usr/../../etc/shadow\n\n", -ENOENT},
	    {"token\nstart_time=1\nexe=/usr/..\n\n", -ENOENT},
	    {"token\nstart_time=1\nmethod=GET\n\n", -EINVAL}, /* a proof's key */
	    {"token\nstart_time=1\nhandover=Bearer %s\n\n", 0},
	    {"token\nstart_time=1\nhandover=%s%s\n\n", -EINVAL}, /* one %s only */
	    {"token\nstart_time=1\nhandover=%d\n\n", -EINVAL},
	    {"token\nstart_time=1\nhandover=%s %n\n\n", -EINVAL},
	    {"token\nstart_time=1\nhandover=no token\n\n", -EINVAL},
	    {"proof\nstart_time=7\ntoken=pb1.a.b\nmethod=GET\nurl=https://x/\n\n", 0},
	    {"proof\nstart_time=7\nexe=/bin/sh\n\n", -EINVAL},
	    {"mint\nstart_time=7\n\n", -EINVAL},
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		int ret = pb_wl_req_parse(&r, cases[i].req, strlen(cases[i].req), &w, err,
					  sizeof(err));

		if (ret != cases[i].ret)
			fail_msg("%s: %d, expected %d (%s)", cases[i].req, ret, cases[i].ret, err);
		if (ret)
			assert_true(err[0]); /* every refusal says why */
	}
	static const char tok[] =
	    "token\nstart_time=42\nttl=10m\ninherit=children\nexe=/usr/bin/curl\n\n";
	assert_int_equal(pb_wl_req_parse(&r, tok, strlen(tok), &w, err, sizeof(err)), 0);
	assert_int_equal(w.verb, PB_WL_TOKEN);
	assert_int_equal(w.start_time, 42);
	assert_int_equal(w.ttl, 600ull * 1000000000ull);
	assert_int_equal(w.inherit, 1);
	assert_string_equal(w.exe, "/usr/bin/curl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_request),
	    cmocka_unit_test(test_empty_value_and_verb_only),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_nul_and_limits),
	    cmocka_unit_test(test_fragments),
	    cmocka_unit_test(test_workload_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
