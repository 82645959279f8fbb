// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The matchers of purpose binding: cgroup globs, Kubernetes attribution of
 * real cgroup paths (cgroupfs and systemd drivers; containerd, CRI-O and
 * docker), the kubelet's log-link names, and destination rules (CIDR, port
 * ranges, protocol) as the connect hook evaluates them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "match.h"
#include "procbind/decision.h"

static void test_glob(void **st)
{
	static const struct {
		const char *pat, *s;
		int want;
	} cases[] = {
	    {"/a/b", "/a/b", 1},
	    {"/a/b", "/a/bc", 0},
	    {"/a/*", "/a/b", 1},
	    {"/a/*", "/a/b/c", 0}, /* * stays in one component */
	    {"/a/**", "/a/b/c", 1},
	    {"/a/**", "/a", 0}, /* below /a, not /a itself */
	    {"/a/**/c", "/a/c", 1},
	    {"/a/**/c", "/a/x/y/c", 1},
	    {"/a/**/c", "/a/x/y/d", 0},
	    {"/kubepods.slice/**/cri-containerd-*.scope",
	     "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
	     "cri-containerd-ab12.scope",
	     1},
	    {"/system.slice/ci-runner@*.service", "/system.slice/ci-runner@3.service", 1},
	    {"/system.slice/ci-runner@*.service", "/system.slice/ci-runner@3.service/x", 0},
	    {"/p?d", "/pod", 1},
	    {"/p?d", "/p/d", 0},
	    {"/pod[0-9]", "/pod7", 1},
	    {"/pod[!0-9]", "/pod7", 0},
	    {"/pod[!0-9]", "/podx", 1},
	    {"/a\\*b", "/a*b", 1},
	    {"/a\\*b", "/axb", 0},
	    {"reconciler-*", "reconciler-7f9c-x2", 1},
	    {"reconciler-*", "reporter-1", 0},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (pb_glob_match(cases[i].pat, cases[i].s) != cases[i].want)
			fail_msg("glob '%s' on '%s' should be %d", cases[i].pat, cases[i].s,
				 cases[i].want);
	assert_int_equal(pb_glob_valid("/a/**/b*"), 0);
	assert_int_equal(pb_glob_valid("/a/***"), -EINVAL);
	assert_int_equal(pb_glob_valid("/a/[bc"), -EINVAL);
	assert_int_equal(pb_glob_valid("/a/[]"), -EINVAL);
	assert_int_equal(pb_glob_valid("/*/*/*/*/*/*/*/*/*"), -EINVAL); /* 9 stars */
}

/* Real cgroup paths, as the kubelet and the runtimes name them. */
static void test_k8s_cgroup_paths(void **st)
{
#define UID_D "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
#define UID_U "0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b"
#define CID   "4c01db0b339c7ff1b8a5e4c1e5c0fbb1c9b8e1f0a6d5c4b3a29180706f5e4d3c"
	static const struct {
		const char *path;
		int pod;
		const char *cid, *runtime, *qos;
	} cases[] = {
	    /* systemd driver */
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U
	     ".slice/cri-containerd-" CID ".scope",
	     1, CID, "containerd", "burstable"},
	    {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_U
	     ".slice/crio-" CID ".scope",
	     1, CID, "crio", "besteffort"},
	    {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_U
	     ".slice/crio-conmon-" CID ".scope",
	     1, "", "crio", "besteffort"},
	    {"/kubepods.slice/kubepods-pod" UID_U ".slice/docker-" CID ".scope", 1, CID, "docker",
	     "guaranteed"},
	    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice", 1,
	     "", "", "burstable"},
	    /* cgroupfs driver */
	    {"/kubepods/burstable/pod" UID_D "/" CID, 1, CID, "", "burstable"},
	    {"/kubepods/besteffort/pod" UID_D "/crio-" CID, 1, CID, "crio", "besteffort"},
	    {"/kubepods/pod" UID_D "/" CID, 1, CID, "", "guaranteed"},
	    /* nested: a kind node, a node inside a container */
	    {"/docker/9a8b7c/kubepods/burstable/pod" UID_D "/" CID, 1, CID, "", "burstable"},
	    {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
	     "kubelet-kubepods-burstable-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	     1, CID, "containerd", "burstable"},
	    /* cgroup v1 + systemd driver, containerd's cgroupsPath form */
	    {"/kubepods-burstable-pod" UID_U ".slice:cri-containerd:" CID, 1, CID, "containerd",
	     "burstable"},
	    /* not pods */
	    {"/system.slice/containerd.service", 0, "", "", ""},
	    {"/user.slice/user-0.slice/session-3.scope", 0, "", "", ""},
	    {"/kubepods.slice/kubepods-burstable.slice", 0, "", "", ""},
	    {"/kubepods/podnot-a-uid/" CID, 0, "", "", ""},
	    {"/mypod" UID_D, 0, "", "", ""},
	    {"/", 0, "", "", ""},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_k8s_ref r;
		int got = pb_k8s_parse_cgroup(cases[i].path, &r);

		if (got != cases[i].pod)
			fail_msg("case %zu (%s): pod %d, want %d", i, cases[i].path, got,
				 cases[i].pod);
		if (!got)
			continue;
		assert_string_equal(r.pod_uid, UID_D);
		if (strcmp(r.container_id, cases[i].cid) || strcmp(r.runtime, cases[i].runtime) ||
		    strcmp(r.qos, cases[i].qos))
			fail_msg("case %zu (%s): got id '%s' runtime '%s' qos '%s'", i,
				 cases[i].path, r.container_id, r.runtime, r.qos);
	}
}

static void test_k8s_log_names(void **st)
{
	struct pb_k8s_meta m;
	char dir[] = "/tmp/pb-k8s-XXXXXX", path[256];
	FILE *f;

	(void)st;
	assert_int_equal(
	    pb_k8s_parse_log_name("reconciler-7f9c-x2_payments_reconciler-" CID ".log", CID, &m),
	    1);
	assert_string_equal(m.pod, "reconciler-7f9c-x2");
	assert_string_equal(m.namespace_, "payments");
	assert_string_equal(m.container, "reconciler");
	/* container names may hold dashes; the id is always the last 64 */
	assert_int_equal(pb_k8s_parse_log_name("web-0_shop_istio-proxy-" CID ".log", CID, &m), 1);
	assert_string_equal(m.container, "istio-proxy");
	/* another container's link, malformed names */
	assert_int_equal(pb_k8s_parse_log_name(
			     "web-0_shop_app-" CID ".log",
			     "ffff01db0b339c7ff1b8a5e4c1e5c0fbb1c9b8e1f0a6d5c4b3a29180706f5e4d3c",
			     &m),
			 0);
	assert_int_equal(pb_k8s_parse_log_name("web-0_app-" CID ".log", CID, &m), 0);
	assert_int_equal(pb_k8s_parse_log_name("web-0_shop_app-" CID ".txt", CID, &m), 0);
	assert_int_equal(pb_k8s_parse_log_name("__-" CID ".log", CID, &m), 0);

	/* a directory of links, as the kubelet keeps /var/log/containers */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/other_ns_c-%064d.log", dir, 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(pb_k8s_lookup(dir, CID, &m), -ENOENT);
	snprintf(path, sizeof(path), "%s/rec-1_payments_rec-" CID ".log", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(pb_k8s_lookup(dir, CID, &m), 0);
	assert_string_equal(m.namespace_, "payments");
	unlink(path);
	snprintf(path, sizeof(path), "%s/other_ns_c-%064d.log", dir, 0);
	unlink(path);
	rmdir(dir);
	assert_int_equal(pb_k8s_lookup("/nonexistent-dir", CID, &m), -ENOENT);
}

static struct pb_rule rule(const char *cidr, const char *ports, const char *proto)
{
	struct pb_rule r = {0};
	const char *why;

	assert_int_equal(pb_cidr_parse(cidr, &r, &why), 0);
	assert_int_equal(pb_ports_parse(ports, &r, &why), 0);
	assert_int_equal(pb_proto_parse(proto, &r), 0);
	return r;
}

/* A destination as the connect hook builds it: address words as loaded from
 * the socket address (network byte order), v4-mapped normalised. */
static struct pb_dest dest(const char *addr, unsigned port, unsigned proto)
{
	struct pb_dest d = {.port = port, .proto = proto};

	if (inet_pton(AF_INET, addr, d.addr) == 1) {
		d.family = PB_AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, d.addr), 1);
		d.family = PB_AF_INET6;
		pb_dest_normalize(&d);
	}
	return d;
}

static void test_rules(void **st)
{
	struct pb_rule db = rule("10.20.30.0/24", "5432", "tcp");
	struct pb_rule dns = rule("10.96.0.10", "53", "any");
	struct pb_rule v6 = rule("fd00:50::/64", "8000-8999", "udp");
	struct pb_rule lo6 = rule("::1/128", "any", "any");
	struct pb_rule all4 = rule("0.0.0.0/0", "1-65535", "tcp");
	struct pb_dest d;

	(void)st;
	d = dest("10.20.30.7", 5432, 6);
	assert_true(pb_rule_match(&db, &d));
	d = dest("10.20.31.7", 5432, 6); /* outside the /24 */
	assert_false(pb_rule_match(&db, &d));
	d = dest("10.20.30.7", 5433, 6); /* other port */
	assert_false(pb_rule_match(&db, &d));
	d = dest("10.20.30.7", 5432, 17); /* other protocol */
	assert_false(pb_rule_match(&db, &d));
	d = dest("::ffff:10.20.30.7", 5432, 6); /* dual-stack socket */
	assert_int_equal(d.family, PB_AF_INET);
	assert_true(pb_rule_match(&db, &d));
	d = dest("10.96.0.10", 53, 17);
	assert_true(pb_rule_match(&dns, &d));
	d = dest("10.96.0.10", 53, 6);
	assert_true(pb_rule_match(&dns, &d));
	d = dest("10.96.0.11", 53, 17); /* a bare address is a /32 */
	assert_false(pb_rule_match(&dns, &d));
	d = dest("fd00:50::1:2", 8000, 17);
	assert_true(pb_rule_match(&v6, &d));
	d = dest("fd00:50::1:2", 8999, 17);
	assert_true(pb_rule_match(&v6, &d));
	d = dest("fd00:50::1:2", 9000, 17);
	assert_false(pb_rule_match(&v6, &d));
	d = dest("fd00:51::1", 8000, 17); /* other /64 */
	assert_false(pb_rule_match(&v6, &d));
	d = dest("10.20.30.7", 8000, 17); /* families never mix */
	assert_false(pb_rule_match(&v6, &d));
	d = dest("::1", 1, 6);
	assert_true(pb_rule_match(&lo6, &d));
	d = dest("::2", 1, 6);
	assert_false(pb_rule_match(&lo6, &d));
	d = dest("192.0.2.1", 65535, 6);
	assert_true(pb_rule_match(&all4, &d));
	d = dest("2001:db8::1", 443, 6);
	assert_false(pb_rule_match(&all4, &d));
	/* every prefix length of a /n matches the network and not the next one */
	for (int n = 1; n <= 32; n++) {
		char cidr[32];
		struct pb_rule r;
		uint32_t net = 0x0a000000u & (n == 32 ? ~0u : ~(~0u >> n));
		struct in_addr in = {.s_addr = htonl(net)};
		const char *why;

		snprintf(cidr, sizeof(cidr), "%s/%d", inet_ntoa(in), n);
		memset(&r, 0, sizeof(r));
		assert_int_equal(pb_cidr_parse(cidr, &r, &why), 0);
		r.port_lo = 1;
		r.port_hi = 65535;
		d.family = PB_AF_INET;
		d.proto = 6;
		d.port = 80;
		d.addr[0] = htonl(net);
		assert_true(pb_rule_match(&r, &d));
		d.addr[0] = htonl(net ^ (1u << (32 - n)));
		assert_false(pb_rule_match(&r, &d));
	}
}

static void test_rule_parse_errors(void **st)
{
	struct pb_rule r;
	const char *why;
	char buf[96];

	(void)st;
	assert_int_equal(pb_cidr_parse("10.0.0.0/", &r, &why), -EINVAL);
	assert_int_equal(pb_cidr_parse("10.0.0.0/-1", &r, &why), -EINVAL);
	assert_int_equal(pb_cidr_parse("10.0.0.0/8x", &r, &why), -EINVAL);
	assert_int_equal(pb_cidr_parse("::1/129", &r, &why), -EINVAL);
	assert_int_equal(pb_cidr_parse("10.0.0.256", &r, &why), -EINVAL);
	assert_int_equal(pb_cidr_parse("fd00::1/64", &r, &why), -EINVAL);
	assert_non_null(strstr(why, "host bits"));
	assert_int_equal(pb_ports_parse("", &r, &why), -EINVAL);
	assert_int_equal(pb_ports_parse("-5", &r, &why), -EINVAL);
	assert_int_equal(pb_ports_parse("5-", &r, &why), -EINVAL);
	assert_int_equal(pb_ports_parse("1-65536", &r, &why), -EINVAL);
	assert_int_equal(pb_ports_parse("99999999999999999999", &r, &why), -EINVAL);
	assert_int_equal(pb_proto_parse("TCP", &r), -EINVAL);
	r = rule("fd00:50::/64", "8000-8999", "udp");
	pb_rule_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:50::/64 udp 8000-8999");
}

/* One destination of an approval, as the connect hooks see it. */
static void test_dest_parse(void **st)
{
	static const char *const bad[] = {"127.0.0.1",	    "127.0.0.1:",     "127.0.0.1:0",
					  "127.0.0.1:65536", "127.0.0.1:x",   "::1:443",
					  "[::1]443",	     "[::1]:",	      "host:443",
					  ":443",	     "1.2.3.4:44 3", NULL};
	struct pb_dest d;
	const char *why;
	char buf[64];

	(void)st;
	assert_int_equal(pb_dest_parse("127.0.0.2:8443", NULL, &d, &why), 0);
	assert_int_equal(d.family, PB_AF_INET);
	assert_int_equal(d.port, 8443);
	assert_int_equal(d.proto, 6);
	assert_int_equal(d.addr[0], htonl(0x7f000002));
	pb_dest_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.2:8443");
	/* an IPv4-mapped IPv6 address is the IPv4 one, as the hooks normalise it */
	assert_int_equal(pb_dest_parse("[::ffff:127.0.0.2]:8443", "udp", &d, &why), 0);
	assert_int_equal(d.family, PB_AF_INET);
	assert_int_equal(d.proto, 17);
	pb_dest_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.2:8443");
	assert_int_equal(pb_dest_parse("[2001:db8::1]:443", "tcp", &d, &why), 0);
	assert_int_equal(d.family, PB_AF_INET6);
	pb_dest_format(&d, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:443");
	assert_int_equal(pb_dest_parse("127.0.0.2:1", "sctp", &d, &why), -EINVAL);
	for (int i = 0; bad[i]; i++)
		assert_int_equal(pb_dest_parse(bad[i], NULL, &d, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_k8s_cgroup_paths),
	    cmocka_unit_test(test_k8s_log_names),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_rule_parse_errors),
	    cmocka_unit_test(test_dest_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
