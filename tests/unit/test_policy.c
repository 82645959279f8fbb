// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy parser: the shipped default parses, and every kind of bad input
 * is refused with file:line:col and a message that names the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"
#include "procbind/abi.h"
#include "procbind/decision.h"

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
	assert_int_equal(p.nident, 0); /* nothing mintable until identities are added */
	pb_policy_free(&p);
	assert_int_equal(
	    pb_policy_load(PB_SOURCE_DIR "/deploy/policy.demo.yaml", &p, err, sizeof(err)), 0);
	assert_int_equal(p.nident, 1);
	assert_int_equal(p.nprot, 1);
	pb_policy_free(&p);
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
	pb_policy_free(&p);
}

/* Pieces of identities for the bad-input table. */
#define ID_HEAD	 "identities:\n  - name: a\n"
#define ID_OPE	 "    owner: o\n    purpose: p\n    expires: 2099-01-01\n"
#define ID_MATCH "    match:\n      cgroups: ['/a/**']\n"
#define ID_SCOPE "    scope: [{cidr: 10.0.0.0/8, ports: 443, protocol: tcp}]\n"
#define ID_FULL	 "  - name: a\n" ID_OPE ID_MATCH ID_SCOPE
#define RULE	 "  - {cidr: 10.0.0.0/8, ports: 53, protocol: udp}\n"
#define RULE4	 RULE RULE RULE RULE
#define RULE17	 RULE4 RULE4 RULE4 RULE4 RULE

struct bad_case {
	const char *text;
	const char *expect; /* substring of the error, position included */
};

/* Each case refused, with its expected message: the count of those not. */
static int bad_cases(const struct bad_case *cases, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		struct pb_policy p;
		char err[512] = "";

		if (parse(cases[i].text, &p, err, sizeof(err)) != -EINVAL) {
			print_error("case %zu: accepted\n", i);
			pb_policy_free(&p);
			bad++;
		} else if (!strstr(err, cases[i].expect)) {
			print_error("case %zu: '%s' does not contain '%s'\n", i, err,
				    cases[i].expect);
			bad++;
		}
	}
	return bad;
}

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
	    /* identities: a floating identity (no owner, purpose, expiry or
	     * scope) is refused, as is every malformed part */
	    {ID_HEAD "    purpose: p\n    expires: 2099-01-01\n" ID_MATCH ID_SCOPE,
	     "t.yaml:2:5: identity: 'owner' is required"},
	    {ID_HEAD "    owner: o\n    expires: 2099-01-01\n" ID_MATCH ID_SCOPE,
	     "t.yaml:2:5: identity: 'purpose' is required"},
	    {ID_HEAD "    owner: o\n    purpose: p\n" ID_MATCH ID_SCOPE,
	     "t.yaml:2:5: identity: 'expires' is required"},
	    {ID_HEAD ID_OPE ID_MATCH, "t.yaml:2:5: identity: 'scope' is required"},
	    {ID_HEAD ID_OPE ID_SCOPE, "t.yaml:2:5: identity: 'match' is required"},
	    {"identities:\n  - owner: o\n    purpose: p\n    expires: 2099-01-01\n" ID_MATCH
		 ID_SCOPE,
	     "t.yaml:2:5: identity: 'name' is required"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: []\n", "t.yaml:8:12: scope: an identity needs"},
	    {ID_HEAD "    owner: [a, b]\n", "t.yaml:3:12: owner must be a scalar"},
	    {ID_HEAD "    owner: \"\"\n", "t.yaml:3:12: owner must not be empty"},
	    {ID_HEAD "    colour: blue\n", "t.yaml:3:5: unknown key 'colour' in an identity"},
	    {ID_HEAD "    expires: next-year\n", "t.yaml:3:14: expires: 'next-year' is not a date"},
	    {ID_HEAD "    expires: 2099-13-01\n", "is not a date"},
	    {ID_HEAD
	     "    max_ttl: 48h\n    owner: o\n    purpose: p\n    expires: 2099-01-01\n" ID_MATCH
		 ID_SCOPE,
	     "t.yaml:2:5: identity 'a': max_ttl exceeds credentials.max_ttl"},
	    {ID_HEAD "    inherit: always\n", "t.yaml:3:14: inherit: 'always' must be none"},
	    {ID_HEAD "    allow_traced: yes\n", "t.yaml:3:19: allow_traced: 'yes' must be true or false"},
	    {"identities:\n  - name: 'a b'\n", "t.yaml:2:11: name: 'a b' may use only"},
	    {"identities: {name: a}\n", "t.yaml:1:13: identities must be a list"},
	    {"identities:\n" ID_FULL ID_FULL, "t.yaml:9:11: duplicate identity name 'a'"},
	    {ID_HEAD ID_OPE "    match: {}\n" ID_SCOPE,
	     "t.yaml:6:12: match: give cgroups, kubernetes or executables"},
	    {ID_HEAD ID_OPE "    match: {pods: x}\n" ID_SCOPE,
	     "t.yaml:6:13: unknown key 'pods' in match"},
	    {ID_HEAD ID_OPE "    match: {cgroups: [kubepods/*]}\n" ID_SCOPE,
	     "t.yaml:6:23: match.cgroups: 'kubepods/*' must start with '/'"},
	    {ID_HEAD ID_OPE "    match: {cgroups: ['/a/[b']}\n" ID_SCOPE, "is not a valid pattern"},
	    {ID_HEAD ID_OPE "    match: {cgroups: /a}\n" ID_SCOPE, "match.cgroups must be a list"},
	    {ID_HEAD ID_OPE "    match: {executables: [bin/app]}\n" ID_SCOPE,
	     "match.executables: 'bin/app' must be an absolute path"},
	    {ID_HEAD ID_OPE "    match: {kubernetes: {ns: x}}\n" ID_SCOPE,
	     "unknown key 'ns' in match.kubernetes"},
	    /* destinations */
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: 10.0.0.1/8, ports: 1, protocol: tcp}]\n",
	     "t.yaml:8:20: scope: cidr '10.0.0.1/8': host bits are set"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: 10.0.0.0/33, ports: 1, protocol: tcp}]\n",
	     "cidr '10.0.0.0/33': prefix length"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: db.local, ports: 1, protocol: tcp}]\n",
	     "cidr 'db.local': not an IPv4 or IPv6 address"},
	    {ID_HEAD ID_OPE ID_MATCH
	     "    scope: [{cidr: '::ffff:10.0.0.0/104', ports: 1, protocol: tcp}]\n",
	     "IPv4-mapped"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: 10.0.0.0/8, ports: 0, protocol: tcp}]\n",
	     "t.yaml:8:39: scope: ports '0' must be a port"},
	    {ID_HEAD ID_OPE ID_MATCH
	     "    scope: [{cidr: 10.0.0.0/8, ports: 70000, protocol: tcp}]\n",
	     "ports '70000' must be a port"},
	    {ID_HEAD ID_OPE ID_MATCH
	     "    scope: [{cidr: 10.0.0.0/8, ports: 90-80, protocol: tcp}]\n",
	     "ports '90-80' range is backwards"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: 10.0.0.0/8, ports: 80-, protocol: tcp}]\n",
	     "ports '80-' must be a port"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: 10.0.0.0/8, ports: 80, protocol: sctp}]\n",
	     "protocol 'sctp' must be tcp, udp or any"},
	    {ID_HEAD ID_OPE ID_MATCH "    scope: [{cidr: 10.0.0.0/8, protocol: tcp}]\n",
	     "t.yaml:8:13: scope: 'ports' is required"},
	    {ID_HEAD ID_OPE ID_MATCH
	     "    scope: [{cidr: 10.0.0.0/8, ports: 1, protocol: tcp, identity: a}]\n",
	     "unknown key 'identity' in scope"},
	    {"protected: [{cidr: 10.0.0.0/8, ports: 1, protocol: tcp}]\n",
	     "t.yaml:1:13: protected: 'identity' is required"},
	    {"protected: [{cidr: 10.0.0.0/8, ports: 1, protocol: tcp, identity: ghost}]\n",
	     "t.yaml:1:67: protected: identity 'ghost' is not defined under identities"},
	    {"exempt: [{cidr: 10.0.0.0/8, ports: 53, protocol: udp, via: x}]\n",
	     "unknown key 'via' in exempt"},
	    {"exempt: {cidr: 10.0.0.0/8}\n", "t.yaml:1:9: exempt must be a list"},
	    {"exempt:\n" RULE17, "exempt: more than 16 entries"},
	};

	(void)st;
	assert_int_equal(bad_cases(cases, sizeof(cases) / sizeof(cases[0])), 0);
}

/* Approvals: requires_approval on scope and protected rules, an identity's
 * requests and approvals, the approvers; each field's errors at its place. */
#define APV_KEY "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" /* RFC 8032 test 1's key */
static void test_approvals(void **st)
{
	static const struct bad_case cases[] = {
	    {ID_HEAD ID_OPE ID_MATCH
	     "    scope: [{cidr: 10.0.0.0/8, ports: 1, protocol: tcp, requires_approval: 1}]\n",
	     "t.yaml:8:76: requires_approval: '1' must be true or false"},
	    {"exempt: [{cidr: 10.0.0.0/8, ports: 53, protocol: udp, requires_approval: true}]\n",
	     "t.yaml:1:55: unknown key 'requires_approval' in exempt"},
	    {ID_HEAD ID_OPE ID_MATCH ID_SCOPE "    approvals: maybe\n",
	     "t.yaml:9:16: approvals: 'maybe' must be local or signed"},
	    {ID_HEAD ID_OPE ID_MATCH ID_SCOPE "    requests: [{method: get, url: 'https://x/'}]\n",
	     "t.yaml:9:25: requests: method 'get' must be upper case letters"},
	    {ID_HEAD ID_OPE ID_MATCH ID_SCOPE "    requests: [{method: GET, url: 'https://x/*/y'}]\n",
	     "t.yaml:9:35: requests: url 'https://x/*/y': '*' may only end it"},
	    {ID_HEAD ID_OPE ID_MATCH ID_SCOPE "    requests: [{url: 'https://x/'}]\n",
	     "t.yaml:9:16: requests: 'method' is required"},
	    {ID_HEAD ID_OPE ID_MATCH ID_SCOPE "    requests: [{method: GET, url: x, via: y}]\n",
	     "unknown key 'via' in a request"},
	    {"approvers: [{name: alice}]\n", "t.yaml:1:13: approver: 'key' is required"},
	    {"approvers: [{name: alice, key: notakey}]\n",
	     "t.yaml:1:32: approvers: key 'notakey' is not an Ed25519 public key"},
	    {"approvers: [{name: alice, key: ./missing.pub}]\n",
	     "t.yaml:1:32: approvers: key file ./missing.pub: No such file or directory"},
	    {"approvers: [{name: a, key: '" APV_KEY "'}, {name: a, key: '" APV_KEY "'}]\n",
	     "duplicate approver name 'a'"},
	    {"approvers: [{name: a, key: '" APV_KEY "', identities: [ghost]}]\n",
	     "approvers: identity 'ghost' is not defined under identities"},
	};
	struct pb_policy p;
	char err[512] = "";

	(void)st;
	assert_int_equal(bad_cases(cases, sizeof(cases) / sizeof(cases[0])), 0);
	assert_int_equal(
	    parse("identities:\n" ID_FULL "  - name: b\n" ID_OPE ID_MATCH
		  "    approvals: signed\n"
		  "    scope: [{cidr: 10.0.0.0/8, ports: 443, protocol: tcp, requires_approval: true},\n"
		  "            {cidr: 10.0.0.0/8, ports: 80, protocol: tcp}]\n"
		  "    requests:\n"
		  "      - {method: POST, url: 'https://deploy/api/*', requires_approval: true}\n"
		  "      - {method: GET, url: 'https://deploy/status'}\n"
		  "protected: [{cidr: 10.9.0.0/16, ports: 5432, protocol: tcp, identity: b,\n"
		  "             requires_approval: true}, {cidr: 10.8.0.0/16, ports: 1, protocol: tcp,\n"
		  "             identity: a}]\n"
		  "approvers:\n"
		  "  - {name: alice, key: '" APV_KEY "', identities: [b]}\n"
		  "  - {name: bob, key: '" APV_KEY "'}\n",
		  &p, err, sizeof(err)),
	    0);
	assert_false(p.ident[0].approvals_signed);
	assert_true(p.ident[1].approvals_signed);
	assert_int_equal(p.ident[1].scope[0].flags, PB_RULE_APPROVAL);
	assert_int_equal(p.ident[1].scope[1].flags, 0);
	assert_int_equal(p.ident[1].nrequests, 2);
	assert_true(pb_identity_request(&p.ident[1], "POST", "https://deploy/api/release")
			->requires_approval);
	assert_false(pb_identity_request(&p.ident[1], "GET", "https://deploy/status")
			 ->requires_approval);
	assert_null(pb_identity_request(&p.ident[1], "GET", "https://deploy/status/x"));
	assert_null(pb_identity_request(&p.ident[1], "PUT", "https://deploy/api/release"));
	assert_null(pb_identity_request(&p.ident[0], "POST", "https://deploy/api/release"));
	{
		struct pb_kpolicy k;

		pb_policy_kernel(&p, PB_MODE_ENFORCE, &k);
		assert_int_equal(k.prot_approval, 1); /* the first protected rule only */
	}
	assert_int_equal(p.napprovers, 2);
	assert_int_equal(p.approvers[0].key[0], 0xd7);
	assert_false(pb_approver_may(&p, &p.approvers[0], &p.ident[0]));
	assert_true(pb_approver_may(&p, &p.approvers[0], &p.ident[1]));
	assert_true(pb_approver_may(&p, &p.approvers[1], &p.ident[0])); /* none listed: any */
	assert_ptr_equal(pb_policy_approver(&p, "bob"), &p.approvers[1]);
	assert_null(pb_policy_approver(&p, "carol"));
	pb_policy_free(&p);
}

#define AD_HEAD "adopt:\n  - name: sa\n    path: /var/run/secrets/kubernetes.io/serviceaccount/token\n"
#define AD_MATCH "    match: {kubernetes: {namespace: payments}}\n"
#define AD_RULE	 "      - {cidr: 10.0.0.0/8, ports: 53, protocol: udp}\n"
#define AD_RULE9 AD_RULE AD_RULE AD_RULE AD_RULE AD_RULE AD_RULE AD_RULE AD_RULE AD_RULE

/* adopt: a whole entry, and every field's errors with their position. */
static void test_adopt(void **st)
{
	static const char good[] =
	    "identities:\n"
	    "  - name: rec\n    owner: o@example.invalid\n    purpose: p\n"
	    "    expires: 2099-01-01\n    match: {cgroups: [/kubepods/**]}\n"
	    "    scope: [{cidr: 10.0.0.0/8, ports: 443, protocol: tcp}]\n" AD_HEAD AD_MATCH
	    "    holder: main\n    inherit: children\n    identity: rec\n"
	    "    protect: [{cidr: 10.96.0.1/32, ports: 443, protocol: tcp}]\n"
	    "  - name: vault\n    path: /vault/secrets/token\n"
	    "    match: {cgroups: [/system.slice/app.service]}\n"
	    "    holder: {executable: /usr/bin/app}\n";
	static const struct bad_case cases[] = {
	    {"adopt:\n  - path: /a/token\n" AD_MATCH, "t.yaml:2:5: adopt entry: 'name' is required"},
	    {"adopt:\n  - name: sa\n" AD_MATCH, "adopt entry: 'path' is required"},
	    {AD_HEAD, "t.yaml:2:5: adopt entry: 'match' is required"},
	    {"adopt:\n  - name: s a\n    path: /t\n" AD_MATCH, "name: 's a' may use only"},
	    {"adopt:\n  - name: sa\n    path: token\n" AD_MATCH,
	     "t.yaml:3:11: path: 'token' must be the absolute path of a file"},
	    {"adopt:\n  - name: sa\n    path: /a/\n" AD_MATCH, "path: '/a/' must be the absolute"},
	    {"adopt:\n  - name: sa\n    path: /a/*/token\n" AD_MATCH, "no patterns"},
	    {"adopt:\n  - name: sa\n    path: /a/../etc/shadow\n" AD_MATCH,
	     "path: '/a/../etc/shadow' may not contain '..'"},
	    {AD_HEAD "    match: {executables: [/bin/sh]}\n", "unknown key 'executables' in match"},
	    {AD_HEAD "    match: {}\n", "match: give cgroups or kubernetes"},
	    {AD_HEAD AD_MATCH "    holder: first\n",
	     "t.yaml:5:13: holder: must be main or {executable: PATH}"},
	    {AD_HEAD AD_MATCH "    holder: {executable: app}\n",
	     "holder.executable: 'app' must be an absolute path"},
	    {AD_HEAD AD_MATCH "    holder: {path: /bin/app}\n", "unknown key 'path' in holder"},
	    {AD_HEAD AD_MATCH "    inherit: all\n", "inherit: 'all' must be none or children"},
	    {AD_HEAD AD_MATCH "    identity: ghost\n",
	     "t.yaml:5:15: identity: 'ghost' is not defined under identities"},
	    {AD_HEAD AD_MATCH "    protect: []\n", "protect: give at least one destination"},
	    {AD_HEAD AD_MATCH "    protect: [{cidr: 10.0.0.0/8, ports: 1, protocol: tcp, identity: x}]\n",
	     "unknown key 'identity' in protect"},
	    {AD_HEAD AD_MATCH "    protect:\n" AD_RULE9, "protect: more than 8 entries"},
	    {AD_HEAD AD_MATCH "    owner: me\n", "unknown key 'owner' in an adopt entry"},
	    {AD_HEAD AD_MATCH "  - name: sa\n    path: /b\n" AD_MATCH, "duplicate adopt name 'sa'"},
	    {"adopt: {name: sa}\n", "t.yaml:1:8: adopt must be a list"},
	};
	struct pb_policy p;
	char err[512] = "";

	(void)st;
	assert_int_equal(parse(good, &p, err, sizeof(err)), 0);
	assert_int_equal(p.nadopt, 2);
	assert_string_equal(p.adopt[0].name, "sa");
	assert_string_equal(p.adopt[0].path, "/var/run/secrets/kubernetes.io/serviceaccount/token");
	assert_true(p.adopt[0].match.has_k8s);
	assert_string_equal(p.adopt[0].match.k8s_namespace, "payments");
	assert_int_equal(p.adopt[0].holder, PB_HOLDER_MAIN);
	assert_true(p.adopt[0].inherit_children);
	assert_true(p.adopt[0].ident == pb_ident_id("rec"));
	assert_int_equal(p.adopt[0].nprotect, 1);
	assert_int_equal(p.adopt[0].protect[0].port_lo, 443);
	assert_int_equal(p.adopt[1].holder, PB_HOLDER_EXE);
	assert_string_equal(p.adopt[1].holder_exe, "/usr/bin/app");
	assert_false(p.adopt[1].inherit_children);
	assert_true(p.adopt[1].ident == 0);
	assert_int_equal(p.adopt[1].match.ncgroups, 1);
	assert_ptr_equal(pb_policy_adopt(&p, "vault"), &p.adopt[1]);
	assert_null(pb_policy_adopt(&p, "nope"));
	pb_policy_free(&p);
	assert_int_equal(bad_cases(cases, sizeof(cases) / sizeof(cases[0])), 0);
}

/* allow_traced: false unless the identity says true */
static void test_allow_traced(void **st)
{
	struct pb_policy p;
	char err[512] = "";

	(void)st;
	assert_int_equal(parse("identities:\n" ID_FULL "  - name: b\n    allow_traced: true\n" ID_OPE
			       ID_MATCH ID_SCOPE,
			       &p, err, sizeof(err)),
			 0);
	assert_int_equal(p.nident, 2);
	assert_int_equal(p.ident[0].allow_traced, 0);
	assert_int_equal(p.ident[1].allow_traced, 1);
	pb_policy_free(&p);
}

static void test_example_policy(void **st)
{
	struct pb_policy p;
	const struct pb_identity *rec, *ci;
	char err[512] = "";

	(void)st;
	pb_policy_defaults(&p);
	assert_int_equal(
	    pb_policy_load(PB_SOURCE_DIR "/deploy/policy.example.yaml", &p, err, sizeof(err)), 0);
	assert_int_equal(p.nident, 2);
	rec = pb_policy_identity(&p, "payments-reconciler");
	ci = pb_policy_identity(&p, "ci-deployer");
	assert_non_null(rec);
	assert_non_null(ci);
	assert_ptr_equal(pb_policy_identity_by_id(&p, pb_ident_id("ci-deployer")), ci);
	assert_string_equal(rec->owner, "payments-platform@example.com");
	assert_int_equal(rec->expires, 1814313600); /* 2027-06-30T00:00:00Z */
	assert_int_equal(rec->max_ttl, 3600ULL * 1000000000ULL);
	assert_int_equal(rec->has_k8s, 1);
	assert_string_equal(rec->k8s_namespace, "payments");
	assert_string_equal(rec->k8s_pod, "reconciler-*");
	assert_int_equal(rec->nexes, 1);
	assert_int_equal(rec->nscope, 2);
	assert_int_equal(rec->scope[0].port_lo, 5432);
	assert_int_equal(rec->scope[0].proto, 6);
	assert_int_equal(ci->inherit_children, 1);
	assert_int_equal(ci->ncgroups, 2);
	assert_int_equal(ci->scope[1].family, PB_AF_INET6);
	assert_int_equal(p.nprot, 2);
	assert_int_equal(p.prot[0].ident, rec->id);
	assert_int_equal(p.prot[1].ident, ci->id);
	assert_int_equal(p.nexempt, 2);
	assert_int_equal(p.exempt[0].proto, 0);
	assert_int_equal(strlen(p.version), 32);
	pb_policy_free(&p);
}

/* The version is a hash of the bytes: a comment changes it, nothing else. */
static void test_version_is_content_hash(void **st)
{
	struct pb_policy a, b, c;
	char err[512] = "";

	(void)st;
	assert_int_equal(parse("mode: enforce\n", &a, err, sizeof(err)), 0);
	assert_int_equal(parse("mode: enforce\n", &b, err, sizeof(err)), 0);
	assert_int_equal(parse("mode: enforce # same\n", &c, err, sizeof(err)), 0);
	assert_string_equal(a.version, b.version);
	assert_string_not_equal(a.version, c.version);
	pb_policy_free(&a);
	pb_policy_free(&b);
	pb_policy_free(&c);
}

/* The index of the identity a subject is tagged with, derived as the agent
 * and the exec hook derive it: the tag maps' masks, then pb_tag_derive. */
static int tag_index(const struct pb_policy *p, const struct pb_match_subject *s)
{
	static struct pb_kpolicy k;
	uint64_t ident;

	pb_policy_kernel(p, PB_MODE_ENFORCE, &k);
	ident = pb_tag_derive(&k, pb_policy_cgroup_mask(p, s), pb_policy_exe_mask(p, s->exe));
	for (unsigned int i = 0; i < p->nident; i++)
		if (ident && p->ident[i].id == ident)
			return (int)i;
	return -1;
}

/* Identity matching in user space: every given part must match, first in
 * file order wins. */
static void test_policy_match(void **st)
{
	static const char text[] =
	    "identities:\n"
	    "  - name: web\n" ID_OPE "    match: {cgroups: ['/pods/web-*/**']}\n" ID_SCOPE
	    "  - name: db-tool\n" ID_OPE
	    "    match: {cgroups: ['/pods/**'], executables: [/usr/bin/psql]}\n" ID_SCOPE
	    "  - name: k8s\n" ID_OPE
	    "    match: {kubernetes: {namespace: pay, pod: 'rec-*', container: rec}}\n" ID_SCOPE;
	struct pb_policy p;
	struct pb_k8s_ref ref = {.pod_uid = "u"};
	struct pb_k8s_meta meta = {.namespace_ = "pay", .pod = "rec-7f9c", .container = "rec"};
	struct pb_match_subject s = {.cgroup = "/pods/web-1/c", .exe = "/usr/bin/psql"};
	char err[512] = "";

	(void)st;
	assert_int_equal(parse(text, &p, err, sizeof(err)), 0);
	assert_int_equal(tag_index(&p, &s), 0); /* web comes first */
	s.cgroup = "/pods/api-1/c";
	assert_int_equal(tag_index(&p, &s), 1);
	s.exe = "/usr/bin/bash";
	assert_int_equal(tag_index(&p, &s), -1); /* cgroup alone is not enough */
	s.cgroup = "/kubepods/x";
	s.k8s = &ref;
	s.meta = &meta;
	assert_int_equal(tag_index(&p, &s), 2);
	snprintf(meta.container, sizeof(meta.container), "sidecar");
	assert_int_equal(tag_index(&p, &s), -1);
	snprintf(meta.container, sizeof(meta.container), "rec");
	snprintf(meta.namespace_, sizeof(meta.namespace_), "other");
	assert_int_equal(tag_index(&p, &s), -1);
	s.meta = NULL; /* names not known: a selector never matches */
	snprintf(meta.namespace_, sizeof(meta.namespace_), "pay");
	assert_int_equal(tag_index(&p, &s), -1);
	pb_policy_free(&p);
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
	    cmocka_unit_test(test_adopt),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_example_policy),
	    cmocka_unit_test(test_allow_traced),
	    cmocka_unit_test(test_approvals),
	    cmocka_unit_test(test_version_is_content_hash),
	    cmocka_unit_test(test_policy_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
