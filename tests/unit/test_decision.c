// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The connect decision table, row by row, on the same header the BPF
 * programs compile: who holds a credential, where it runs, its life cycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "procbind/decision.h"

#define S0  1000000000ULL /* owner's start time */
#define NOW 5000000000ULL

static const struct pb_cred owner_cred = {
    .owner.start_time = S0,
    .cgroup_id = 100,
    .exe_dev = 8,
    .exe_ino = 77,
    .expires = NOW + 1000,
    .owner.tgid = 4242,
    .flags = 0,
};
static const struct pb_proc owner_rec = {.self.start_time = S0, .self.tgid = 4242};

/* The owner itself, as the connect hook would describe it. */
static struct pb_subject owner(void)
{
	struct pb_subject s = {.self.start_time = S0,
			       .cgroup_id = 100,
			       .exe_dev = 8,
			       .exe_ino = 77,
			       .parent.start_time = 10,
			       .self.tgid = 4242,
			       .parent.tgid = 1};
	return s;
}

static struct pb_subject child_of_owner(void)
{
	struct pb_subject s = owner();

	s.self.tgid = 4300;
	s.self.start_time = S0 + 500;
	s.parent.tgid = 4242;
	s.parent.start_time = S0;
	return s;
}

static void test_owner_allowed(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_OK);
	assert_int_equal(pb_verdict_for(PB_OK, PB_MODE_ENFORCE), PB_VERDICT_ALLOW);
	assert_int_equal(pb_verdict_for(PB_OK, PB_MODE_MONITOR), PB_VERDICT_ALLOW);
}

static void test_sibling_same_cgroup_is_foreign_pid(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	s.self.tgid = 4243;
	s.self.start_time = S0 + 7;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, &owner_rec, NOW), PB_R_FOREIGN_PID);
}

static void test_other_cgroup_is_foreign_cgroup(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	s.self.tgid = 5000;
	s.cgroup_id = 200;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_FOREIGN_CGROUP);
}

static void test_pid_reuse(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	s.self.start_time = S0 + 1; /* same PID, one nanosecond later: another process */
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_PID_REUSED);
	s.self.start_time = S0 - 1;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_PID_REUSED);
	/* reuse wins over every later check, even when expired too */
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, owner_cred.expires + 5),
			 PB_R_PID_REUSED);
}

static void test_thread_acts_as_process(void **st)
{
	/* A thread's subject carries the tgid and the group leader's start
	 * time, so it is indistinguishable from the process: allowed. */
	struct pb_subject s = owner();

	(void)st;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_OK);
}

static void test_owner_moved_cgroup(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	s.cgroup_id = 101;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_FOREIGN_CGROUP);
}

static void test_exe_changed(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	s.exe_ino = 78;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_EXE_CHANGED);
	s = owner();
	s.exe_dev = 9; /* same inode number on another filesystem */
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_EXE_CHANGED);
}

/* A descriptor of the file may reach the bound process whatever it runs
 * now (run receives it before it execs what the credential names); every
 * other refusal stands, and the exe check stays for opens and reads. */
static void test_receive_reason(void **st)
{
	struct pb_subject s = owner(), sib = owner();

	(void)st;
	s.exe_ino = 78; /* procbindctl, before its exec */
	assert_int_equal(pb_receive_reason(pb_cred_reason(&s, &owner_cred, NULL, NOW)), PB_OK);
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, NOW), PB_R_EXE_CHANGED);
	sib.self.tgid = 4243;
	assert_int_equal(pb_receive_reason(pb_cred_reason(&sib, &owner_cred, NULL, NOW)),
			 PB_R_FOREIGN_PID);
	s = owner();
	s.self.start_time = S0 + 1;
	assert_int_equal(pb_receive_reason(pb_cred_reason(&s, &owner_cred, NULL, NOW)),
			 PB_R_PID_REUSED);
	s = owner();
	assert_int_equal(
	    pb_receive_reason(pb_cred_reason(&s, &owner_cred, NULL, NOW + 1000000000000ULL * 1000)),
	    PB_R_EXPIRED);
}

/* A traced owner is refused (traced) unless its identity allows tracing;
 * a refusal for another reason keeps that reason. */
static void test_traced_reason(void **st)
{
	struct pb_cred c = owner_cred;

	(void)st;
	assert_int_equal(pb_traced_reason(PB_OK, &c, 0), PB_OK);
	assert_int_equal(pb_traced_reason(PB_OK, &c, 1), PB_R_TRACED);
	assert_int_equal(pb_traced_reason(PB_R_FOREIGN_PID, &c, 1), PB_R_FOREIGN_PID);
	c.flags |= PB_CRED_ALLOW_TRACED;
	assert_int_equal(pb_traced_reason(PB_OK, &c, 1), PB_OK);
}

/* An adopted file: bound to tgid, start and cgroup; main's executable is
 * bound at its first open (until then any executable of the owner passes),
 * an executable holder's at once; nobody else gets in either way. */
static void test_adopted_exe_binding(void **st)
{
	struct pb_cred c = owner_cred;
	struct pb_subject s = owner(), sib = owner();

	(void)st;
	sib.self.tgid = 4243;
	c.flags = PB_CRED_ADOPTED;
	c.exe_dev = c.exe_ino = 0;
	c.expires = ~0ULL;
	assert_true(pb_exe_unbound(&c));
	s.exe_ino = 12345; /* the entrypoint exec'd the application */
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_OK);
	assert_int_equal(pb_cred_reason(&sib, &c, NULL, NOW), PB_R_FOREIGN_PID);
	s.self.start_time = S0 + 1; /* the PID, reused */
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_PID_REUSED);
	s = owner();
	s.cgroup_id = 101;
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_FOREIGN_CGROUP);
	/* bound now: another executable is exe_changed again */
	c.exe_dev = 8;
	c.exe_ino = 77;
	assert_false(pb_exe_unbound(&c));
	s = owner();
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_OK);
	s.exe_ino = 12345;
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_EXE_CHANGED);
	/* an executable holder, and a minted credential, have no unbound state */
	c.flags = PB_CRED_ADOPTED | PB_CRED_HOLDER_EXE;
	c.exe_dev = c.exe_ino = 0;
	assert_false(pb_exe_unbound(&c));
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_EXE_CHANGED);
	c.flags = 0;
	assert_false(pb_exe_unbound(&c));
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_EXE_CHANGED);
	/* no holder yet (tgid 0): everyone is foreign */
	c = owner_cred;
	c.flags = PB_CRED_ADOPTED;
	c.owner.tgid = 0;
	c.owner.start_time = 0;
	s = owner();
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_FOREIGN_PID);
}

static void test_expiry_boundary(void **st)
{
	struct pb_subject s = owner();

	(void)st;
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, owner_cred.expires - 1), PB_OK);
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, owner_cred.expires), PB_R_EXPIRED);
	assert_int_equal(pb_cred_reason(&s, &owner_cred, NULL, owner_cred.expires + 1),
			 PB_R_EXPIRED);
}

static void test_revoked_and_unknown(void **st)
{
	struct pb_subject s = owner();
	struct pb_cred c = owner_cred;

	(void)st;
	c.flags |= PB_CRED_REVOKED;
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_REVOKED);
	/* an id the kernel does not know fails closed */
	assert_int_equal(pb_cred_reason(&s, NULL, NULL, NOW), PB_R_REVOKED);
}

static void test_child_denied_without_inherit(void **st)
{
	struct pb_subject s = child_of_owner();

	(void)st;
	assert_int_equal(pb_is_inheriting_child(&s, &owner_cred), 0);
	assert_int_equal(pb_cred_reason(&s, &owner_cred, &owner_rec, NOW), PB_R_FOREIGN_PID);
}

static void test_child_allowed_with_inherit(void **st)
{
	struct pb_subject s = child_of_owner();
	struct pb_cred c = owner_cred;

	(void)st;
	c.flags |= PB_CRED_INHERIT_CHILDREN;
	assert_int_equal(pb_is_inheriting_child(&s, &c), 1);
	assert_int_equal(pb_cred_reason(&s, &c, &owner_rec, NOW), PB_OK);
	/* ... but only while the owner lives */
	assert_int_equal(pb_cred_reason(&s, &c, NULL, NOW), PB_R_OWNER_EXITED);
	{
		struct pb_proc reused = owner_rec;

		reused.self.start_time = S0 + 99; /* owner's PID now belongs to another process */
		assert_int_equal(pb_cred_reason(&s, &c, &reused, NOW), PB_R_OWNER_EXITED);
	}
	/* ... and still bound to the cgroup and the executable */
	s.exe_ino = 1;
	assert_int_equal(pb_cred_reason(&s, &c, &owner_rec, NOW), PB_R_EXE_CHANGED);
	s = child_of_owner();
	s.cgroup_id = 555;
	assert_int_equal(pb_cred_reason(&s, &c, &owner_rec, NOW), PB_R_FOREIGN_CGROUP);
}

static void test_grandchild_not_inheriting(void **st)
{
	struct pb_subject s = child_of_owner();
	struct pb_cred c = owner_cred;

	(void)st;
	c.flags |= PB_CRED_INHERIT_CHILDREN;
	s.self.tgid = 4400;
	s.parent.tgid = 4300; /* child of the child */
	s.parent.start_time = S0 + 500;
	assert_int_equal(pb_cred_reason(&s, &c, &owner_rec, NOW), PB_R_FOREIGN_PID);
}

static void test_child_of_pid_reused_owner(void **st)
{
	/* The parent had the owner's PID, but not its start time. */
	struct pb_subject s = child_of_owner();
	struct pb_cred c = owner_cred;

	(void)st;
	c.flags |= PB_CRED_INHERIT_CHILDREN;
	s.parent.start_time = S0 + 1;
	assert_int_equal(pb_cred_reason(&s, &c, &owner_rec, NOW), PB_R_FOREIGN_PID);
}

static void test_monitor_and_enforce(void **st)
{
	(void)st;
	for (int r = 1; r < PB_REASON_MAX; r++) {
		assert_int_equal(pb_verdict_for(r, PB_MODE_ENFORCE), PB_VERDICT_DENY);
		assert_int_equal(pb_verdict_for(r, PB_MODE_MONITOR), PB_VERDICT_MONITOR);
	}
}

static void test_held_overflow_and_dedupe(void **st)
{
	struct pb_proc p = {.self.tgid = 1};

	(void)st;
	for (int i = 0; i < PB_MAX_HELD; i++)
		p.held[i] = 100 + i;
	p.nheld = PB_MAX_HELD;
	assert_int_equal(pb_proc_reason(&p), PB_OK);
	/* opening the same credential file twice is one credential */
	assert_true(pb_holds(&p, 100));
	assert_true(pb_holds(&p, 100 + PB_MAX_HELD - 1));
	assert_false(pb_holds(&p, 99));
	p.nheld = PB_MAX_HELD + 1; /* a ninth was claimed */
	assert_int_equal(pb_proc_reason(&p), PB_R_HELD_OVERFLOW);
	p.nheld = PB_MAX_HELD;
	p.flags = PB_PROC_OVERFLOW;
	assert_int_equal(pb_proc_reason(&p), PB_R_HELD_OVERFLOW);
}

/* Several credentials at once: the hook takes the first that fails. */
static enum pb_reason decide_all(const struct pb_subject *s, const struct pb_cred *cs, int n)
{
	for (int i = 0; i < n; i++) {
		enum pb_reason r = pb_cred_reason(s, &cs[i], &owner_rec, NOW);

		if (r != PB_OK)
			return r;
	}
	return PB_OK;
}

static void test_several_credentials(void **st)
{
	struct pb_subject s = owner();
	struct pb_cred cs[3] = {owner_cred, owner_cred, owner_cred};

	(void)st;
	assert_int_equal(decide_all(&s, cs, 3), PB_OK);
	cs[1].owner.tgid = 9999; /* also holds one minted for another process */
	cs[1].owner.start_time = 3;
	assert_int_equal(decide_all(&s, cs, 3), PB_R_FOREIGN_PID);
	cs[1] = owner_cred;
	cs[2].expires = NOW;
	assert_int_equal(decide_all(&s, cs, 3), PB_R_EXPIRED);
}

/* ---- purpose binding: protected destinations, scopes, identity tags ---- */

#define ID_PAY 0x1111u
#define ID_CI  0x2222u

/* 10.0.0.0/8 tcp 5432 (net and mask as loaded: first byte in memory first). */
static struct pb_rule rule_10_8(__u64 ident)
{
	struct pb_rule r = {
	    .port_lo = 5432, .port_hi = 5432, .family = PB_AF_INET, .proto = 6, .ident = ident};
	unsigned char net[4] = {10, 0, 0, 0}, mask[4] = {255, 0, 0, 0};

	__builtin_memcpy(&r.net[0], net, 4);
	__builtin_memcpy(&r.mask[0], mask, 4);
	return r;
}

static struct pb_dest dest_10(unsigned char b, __u16 port)
{
	struct pb_dest d = {.port = port, .family = PB_AF_INET, .proto = 6};
	unsigned char a[4] = {b, 1, 2, 3};

	__builtin_memcpy(&d.addr[0], a, 4);
	return d;
}

/* The protected prefilter never hides a match: for random rules (any
 * prefix length, port range, family) and random destinations, a
 * destination some rule matches always passes the hint; and one far from
 * every rule's port and leading byte does not. */
static void test_prot_hint(void **st)
{
	static struct pb_prot_hint h;
	struct pb_rule rules[PB_MAX_RULES];
	unsigned int seed = 12345, skipped = 0, matched = 0;

	(void)st;
	for (int round = 0; round < 200; round++) {
		int n = 1 + (int)(rand_r(&seed) % PB_MAX_RULES);

		__builtin_memset(&h, 0, sizeof(h));
		for (int i = 0; i < n; i++) {
			struct pb_rule *r = &rules[i];
			int fam6 = rand_r(&seed) & 1, plen = (int)(rand_r(&seed) % 33);
			__u16 lo = (__u16)(rand_r(&seed) % 65536);

			__builtin_memset(r, 0, sizeof(*r));
			r->family = fam6 ? PB_AF_INET6 : PB_AF_INET;
			r->port_lo = lo;
			r->port_hi =
			    (__u16)(lo + rand_r(&seed) % 4 > 65535 ? 65535
								   : lo + rand_r(&seed) % 4);
			for (int w = 0; w < 4; w++) {
				unsigned char m[4], a[4];

				for (int b = 0; b < 4; b++) {
					int bit = (w * 4 + b) * 8;

					m[b] = plen >= bit + 8 ? 0xff
					       : plen > bit
						   ? (unsigned char)(0xff << (8 - (plen - bit)))
						   : 0;
					a[b] = (unsigned char)rand_r(&seed) & m[b];
				}
				__builtin_memcpy(&r->mask[w], m, 4);
				__builtin_memcpy(&r->net[w], a, 4);
			}
			pb_hint_add_rule(&h, r);
		}
		for (int k = 0; k < 2000; k++) {
			const struct pb_rule *r = &rules[rand_r(&seed) % (unsigned)n];
			struct pb_dest d = {.family = r->family, .proto = 6};
			int any = 0;

			/* half near a rule (inside its net and ports), half anywhere */
			d.port = k & 1 ? (__u16)(r->port_lo + (r->port_hi - r->port_lo) / 2)
				       : (__u16)(rand_r(&seed) % 65536);
			for (int w = 0; w < 4; w++)
				d.addr[w] = (k & 1 ? r->net[w] : 0) |
					    ((__u32)rand_r(&seed) & ~(k & 1 ? r->mask[w] : 0));
			for (int i = 0; i < n; i++)
				any |= pb_rule_match(&rules[i], &d);
			matched += any;
			if (any)
				assert_true(pb_hint_may_match(&h, &d));
			else
				skipped += !pb_hint_may_match(&h, &d);
		}
	}
	assert_true(matched > 1000);
	assert_true(skipped > 1000); /* the hint does skip */
	/* exactly: 10.0.0.0/8 port 5432 */
	__builtin_memset(&h, 0, sizeof(h));
	rules[0] = rule_10_8(ID_PAY);
	pb_hint_add_rule(&h, &rules[0]);
	{
		struct pb_dest in = dest_10(10, 5432), other_port = dest_10(10, 5433),
			       other_net = dest_10(11, 5432), v6 = dest_10(10, 5432);

		v6.family = PB_AF_INET6;
		assert_true(pb_hint_may_match(&h, &in));
		assert_false(pb_hint_may_match(&h, &other_port));
		assert_false(pb_hint_may_match(&h, &other_net));
		assert_false(pb_hint_may_match(&h, &v6));
	}
}

static void test_protected(void **st)
{
	static struct pb_kpolicy pol;
	struct pb_dest db = dest_10(10, 5432), other = dest_10(11, 5432);
	__u64 none[PB_MAX_HELD] = {0}, pay[PB_MAX_HELD] = {ID_PAY}, ci[PB_MAX_HELD] = {ID_CI};
	__u64 both[PB_MAX_HELD] = {ID_CI, ID_PAY}, need;

	(void)st;
	pol.nprotected = 1;
	pol.prot[0] = rule_10_8(ID_PAY);
	assert_int_equal(pb_protected_reason(&pol, &db, none, 0, &need), PB_R_NO_CREDENTIAL);
	assert_int_equal(need, ID_PAY);
	assert_int_equal(pb_protected_reason(&pol, &db, pay, 1, &need), PB_OK);
	assert_int_equal(pb_protected_reason(&pol, &db, ci, 1, &need), PB_R_WRONG_IDENTITY);
	assert_int_equal(pb_protected_reason(&pol, &db, both, 2, &need), PB_OK);
	/* the hook passes all PB_MAX_HELD slots, empty ones zero */
	assert_int_equal(pb_protected_reason(&pol, &db, pay, PB_MAX_HELD, &need), PB_OK);
	assert_int_equal(pb_protected_reason(&pol, &db, ci, PB_MAX_HELD, &need),
			 PB_R_WRONG_IDENTITY);
	/* not protected: anyone */
	assert_int_equal(pb_protected_reason(&pol, &other, none, 0, &need), PB_OK);
	assert_int_equal(need, 0);
	/* two rules on one destination: either identity may reach it */
	pol.nprotected = 2;
	pol.prot[1] = rule_10_8(ID_CI);
	assert_int_equal(pb_protected_reason(&pol, &db, ci, 1, &need), PB_OK);
	assert_int_equal(need, ID_PAY); /* the first rule names who is required */
	/* rules past nprotected are not read */
	pol.nprotected = 0;
	assert_int_equal(pb_protected_reason(&pol, &db, none, 0, &need), PB_OK);
}

/* The mask form the connect hook uses (one global call per step): which of
 * 16 rules match, the first one's identity, whether any names an identity. */
static void test_rule_masks(void **st)
{
	static struct pb_kpolicy pol;
	struct pb_dest db = dest_10(10, 5432);
	__u64 ids[PB_MAX_HELD] = {0, ID_CI};

	(void)st;
	for (int i = 0; i < PB_MAX_RULES; i++) {
		pol.prot[i] = rule_10_8(1000 + i);
		if (i % 3) /* every third rule matches 10/8, the others 11/8 */
			pol.prot[i].net[0] = pol.prot[i].net[0] + 1;
	}
	pol.prot[7].ident = ID_CI;
	pol.nprotected = PB_MAX_RULES;
	/* rules 0, 3, 6, 9, 12, 15 */
	assert_int_equal(pb_rules_mask(pol.prot, PB_MAX_RULES, &db), 0x9249);
	assert_int_equal(pb_rules_mask(pol.prot, 10, &db), 0x0249); /* past n: not read */
	assert_int_equal(pb_rules_mask(pol.prot, 0, &db), 0);
	assert_int_equal(pb_protected_need(&pol, 0x9249), 1000);
	assert_int_equal(pb_protected_need(&pol, 0x9248), 1003);
	assert_int_equal(pb_protected_need(&pol, 0x8000), 1015);
	assert_int_equal(pb_protected_need(&pol, 0), 0);
	assert_true(pb_protected_names(&pol, 0x9249, 1015));
	assert_false(pb_protected_names(&pol, 0x9249, 1001));  /* rule 1 is not in the mask */
	assert_false(pb_protected_names(&pol, 0x9249, ID_CI)); /* rule 7 neither */
	assert_true(pb_protected_names(&pol, 0x0080, ID_CI));
	/* the reason: slots of invalid credentials are 0 and never match */
	assert_int_equal(pb_protected_mask_reason(&pol, 0x9249, ids, PB_MAX_HELD),
			 PB_R_WRONG_IDENTITY);
	ids[3] = 1012;
	assert_int_equal(pb_protected_mask_reason(&pol, 0x9249, ids, PB_MAX_HELD), PB_OK);
	assert_int_equal(pb_protected_mask_reason(&pol, 0x9249, ids, 3), PB_R_WRONG_IDENTITY);
	assert_int_equal(pb_protected_mask_reason(&pol, 0x9249, ids, 0), PB_R_NO_CREDENTIAL);
	assert_int_equal(pb_protected_mask_reason(&pol, 0, ids, 0), PB_OK);
}

static void test_scope(void **st)
{
	static struct pb_scope sc;
	struct pb_dest db = dest_10(10, 5432);

	(void)st;
	sc.expires = 1000;
	sc.nrules = 1;
	sc.rules[0] = rule_10_8(0);
	assert_int_equal(pb_scope_reason(&sc, &db, 999), PB_OK);
	assert_int_equal(pb_scope_reason(&sc, &db, 1000), PB_R_EXPIRED); /* identity expired */
	db.port = 5433;
	assert_int_equal(pb_scope_reason(&sc, &db, 1), PB_R_OUT_OF_SCOPE);
	db = dest_10(11, 5432);
	assert_int_equal(pb_scope_reason(&sc, &db, 1), PB_R_OUT_OF_SCOPE);
	db = dest_10(10, 5432);
	db.proto = 17;
	assert_int_equal(pb_scope_reason(&sc, &db, 1), PB_R_OUT_OF_SCOPE);
	/* an identity the policy in force does not have: no scope at all */
	assert_int_equal(pb_scope_reason(NULL, &db, 1), PB_R_OUT_OF_SCOPE);
	sc.nrules = 0;
	db.proto = 6;
	assert_int_equal(pb_scope_reason(&sc, &db, 1), PB_R_OUT_OF_SCOPE);
}

static void test_tag_pick(void **st)
{
	static struct pb_kpolicy pol;

	(void)st;
	/* 0: cgroup only, 1: exe only, 2: cgroup and exe */
	pol.nident = 3;
	pol.ident[0] = 100;
	pol.ident[1] = 101;
	pol.ident[2] = 102;
	pol.need_cgroup = 0x1 | 0x4;
	pol.need_exe = 0x2 | 0x4;
	assert_int_equal(pb_tag_pick(&pol, 0, 0), -1);
	assert_int_equal(pb_tag_pick(&pol, 0x1, 0), 0);
	assert_int_equal(pb_tag_pick(&pol, 0, 0x2), 1);
	assert_int_equal(pb_tag_pick(&pol, 0x4, 0), -1); /* cgroup part alone */
	assert_int_equal(pb_tag_pick(&pol, 0, 0x4), -1); /* exe part alone */
	assert_int_equal(pb_tag_pick(&pol, 0x4, 0x4), 2);
	assert_int_equal(pb_tag_pick(&pol, 0x5, 0x6), 0); /* first in policy order */
	/* bits beyond nident never match, even if a stale map says so */
	assert_int_equal(pb_tag_pick(&pol, 0x8, 0x8), -1);
	pol.nident = 0;
	assert_int_equal(pb_tag_pick(&pol, 0x1, 0x1), -1);
	/* all 64 */
	pol.nident = 64;
	pol.need_cgroup = ~0ULL;
	pol.need_exe = 0;
	assert_int_equal(pb_tag_pick(&pol, 1ULL << 63, 0), 63);
}

/* The file guard's table: who gets through, who is recorded, what is said. */
static void test_file_decide(void **st)
{
	struct pb_file_action a;

	(void)st;
	/* the bound process opens its token: allowed, reported; it holds it
	 * from the mint, so nothing to record */
	a = pb_file_decide(PB_OK, PB_MODE_ENFORCE, 0, 1);
	assert_int_equal(a.verdict, PB_VERDICT_ALLOW);
	assert_false(a.hold);
	assert_true(a.report);
	/* ... and reads it: allowed, silent (a read per read(2) would flood) */
	a = pb_file_decide(PB_OK, PB_MODE_ENFORCE, 1, 1);
	assert_int_equal(a.verdict, PB_VERDICT_ALLOW);
	assert_false(a.hold);
	assert_false(a.report);
	/* an inheriting child forked before the mint: allowed and recorded */
	a = pb_file_decide(PB_OK, PB_MODE_ENFORCE, 0, 0);
	assert_true(a.hold);
	assert_true(a.report);
	/* a sibling, enforce: refused and reported, never recorded; a read
	 * through a passed descriptor is refused the same way */
	for (int rd = 0; rd < 2; rd++) {
		a = pb_file_decide(PB_R_FOREIGN_PID, PB_MODE_ENFORCE, rd, 0);
		assert_int_equal(a.verdict, PB_VERDICT_DENY);
		assert_false(a.hold);
		assert_true(a.report);
	}
	/* the bound process with its expired token: refused too */
	a = pb_file_decide(PB_R_EXPIRED, PB_MODE_ENFORCE, 1, 1);
	assert_int_equal(a.verdict, PB_VERDICT_DENY);
	assert_true(a.report);
	/* monitor: through, recorded and reported once, then silent */
	a = pb_file_decide(PB_R_FOREIGN_CGROUP, PB_MODE_MONITOR, 0, 0);
	assert_int_equal(a.verdict, PB_VERDICT_MONITOR);
	assert_true(a.hold);
	assert_true(a.report);
	a = pb_file_decide(PB_R_FOREIGN_CGROUP, PB_MODE_MONITOR, 0, 1);
	assert_int_equal(a.verdict, PB_VERDICT_MONITOR);
	assert_false(a.hold);
	assert_false(a.report);
	a = pb_file_decide(PB_R_FOREIGN_CGROUP, PB_MODE_MONITOR, 1, 1);
	assert_false(a.report);
}

/* ---- The connect rule's order (pb_connect_rule), with the host's look-ups ---- */

/* A node as the rule sees it: one policy, one destination, the caller, the
 * credentials and the owners' records; and what the rule told (counted,
 * stale). */
struct world {
	struct pb_kpolicy pol;
	int have_pol;
	struct pb_dest d;
	struct pb_scope scope_pay, scope_ci; /* of ID_PAY and ID_CI */
	struct pb_subject self;		     /* the caller */
	struct pb_proc rec;		     /* its record */
	int rec_self;			     /* the record is the caller's */
	int untracked;			     /* no record, a parent that held */
	__u64 ids[4];
	struct pb_cred creds[4];
	int ncreds;
	struct pb_proc owner_recs[2];
	int adopt; /* -1: no adopted file's rule; else the reason */
	__u64 adopt_id;
	__u32 counted;		/* the last quiet allow's counter */
	int stale;		/* the rule reported a stale record */
	int held_calls;		/* credentials judged in full */
	int judged;		/* the caller vouches for the held credentials (in.judged) */
	struct pb_approval apv; /* the approval for (a held credential, d) */
	int have_apv;
	int apv_calls; /* step 6 asked */
};

static const struct pb_kpolicy *w_policy(void *ctx, __u32 gen)
{
	struct world *w = ctx;

	(void)gen;
	return w->have_pol ? &w->pol : NULL;
}
static int w_adopt(void *ctx, __u64 *cred_id)
{
	struct world *w = ctx;

	if (w->adopt >= 0)
		*cred_id = w->adopt_id;
	return w->adopt;
}
static int w_dest_class(void *ctx, __u32 gen)
{
	struct world *w = ctx;

	(void)gen;
	if (pb_rules_first(w->pol.exempt, w->pol.nexempt, &w->d) >= 0)
		return 1;
	return pb_rules_first(w->pol.prot, w->pol.nprotected, &w->d) >= 0 ? 2 : 0;
}
static __u32 w_protected_rules(void *ctx, __u32 gen)
{
	struct world *w = ctx;

	(void)gen;
	return w->have_pol ? pb_rules_mask(w->pol.prot, w->pol.nprotected, &w->d) : 0;
}
static __u64 w_protected_need(void *ctx, __u32 gen, __u32 mask)
{
	struct world *w = ctx;

	(void)gen;
	return pb_protected_need(&w->pol, mask);
}
static int w_scope(void *ctx, __u32 gen, __u64 ident, __u64 now)
{
	struct world *w = ctx;

	(void)gen;
	return pb_scope_gate(ident == ID_PAY  ? &w->scope_pay
			     : ident == ID_CI ? &w->scope_ci
					      : NULL,
			     &w->d, now);
}
/* step 6 as the kernel spends: one use when one is left */
static int w_approval(void *ctx, __u32 mode)
{
	struct world *w = ctx;
	enum pb_reason r = pb_approval_reason(w->have_apv ? &w->apv : NULL, NOW);

	(void)mode;
	w->apv_calls++;
	if (r == PB_OK)
		w->apv.used++;
	return r;
}
static const struct pb_cred *w_cred(void *ctx, __u64 id)
{
	struct world *w = ctx;

	for (int i = 0; i < w->ncreds; i++)
		if (w->ids[i] == id)
			return &w->creds[i];
	return NULL;
}
static const struct pb_proc *w_owner(void *ctx, __u32 tgid)
{
	struct world *w = ctx;

	for (int i = 0; i < 2; i++)
		if (w->owner_recs[i].self.tgid == tgid)
			return &w->owner_recs[i];
	return NULL;
}
static int w_held(void *ctx, __u64 id, __u64 cg, __u64 now)
{
	struct world *w = ctx;
	struct pb_subject s = w->self;

	w->held_calls++;
	s.cgroup_id = cg;
	return pb_judge_cred(&s, w_cred(ctx, id), w_owner, ctx, now);
}
static int w_untracked(void *ctx)
{
	return ((struct world *)ctx)->untracked;
}
static int w_rec_is_self(void *ctx, struct pb_proc *rec)
{
	(void)rec;
	return ((struct world *)ctx)->rec_self;
}
static __u64 w_now(void *ctx)
{
	(void)ctx;
	return NOW;
}
static __u64 w_cgroup(void *ctx)
{
	return ((struct world *)ctx)->self.cgroup_id;
}
static void w_count(void *ctx, __u32 counter)
{
	((struct world *)ctx)->counted = counter;
}
static void w_stale(void *ctx, const struct pb_proc *rec)
{
	(void)rec;
	((struct world *)ctx)->stale++;
}

static const struct pb_connect_lookups host_lookups = {
    .policy = w_policy,
    .adopt = w_adopt,
    .dest_class = w_dest_class,
    .protected_rules = w_protected_rules,
    .protected_need = w_protected_need,
    .names = pb_protected_names_in,
    .scope = w_scope,
    .approval = w_approval,
    .held = w_held,
    .cred = w_cred,
    .untracked_child = w_untracked,
    .rec_is_self = w_rec_is_self,
    .now = w_now,
    .cgroup = w_cgroup,
    .count = w_count,
    .stale = w_stale,
};

/* A policy in force, 10.1.2.3:5432 as the destination, scopes of both
 * identities covering 10/8; the caller is the owner (4242), its record its
 * own, holding nothing yet. */
static void world_init(struct world *w)
{
	__builtin_memset(w, 0, sizeof(*w));
	w->have_pol = 1;
	w->pol.mode = PB_MODE_ENFORCE;
	w->d = dest_10(10, 5432);
	w->scope_pay.expires = w->scope_ci.expires = NOW + 1000000;
	w->scope_pay.nrules = w->scope_ci.nrules = 1;
	w->scope_pay.rules[0] = rule_10_8(0);
	w->scope_ci.rules[0] = rule_10_8(0);
	w->self = owner();
	w->rec.self = w->self.self;
	w->rec.parent = w->self.parent;
	w->rec.exe_dev = 8;
	w->rec.exe_ino = 77;
	w->rec_self = 1;
	w->adopt = -1;
	w->owner_recs[0] = owner_rec;
}

/* id bound to the caller (owner 4242) of identity ident, held by it */
static void world_hold(struct world *w, __u64 id, __u64 ident, const struct pb_cred *c)
{
	w->ids[w->ncreds] = id;
	w->creds[w->ncreds] = *c;
	w->creds[w->ncreds].ident = ident;
	w->ncreds++;
	pb_hold_add(&w->rec, id);
}

static int world_decide(struct world *w, struct pb_connect_out *o)
{
	struct pb_connect_in in = {.rec = &w->rec, .gen = 1};

	in.fast_flags = w->pol.nprotected ? PB_FAST_PROTECTED : 0;
	if (w->adopt >= 0) {
		in.fast_flags |= PB_FAST_ADOPT;
		in.hint_match = 1;
	}
	if (w->untracked)
		in.rec = NULL;
	in.judged = w->judged;
	return pb_connect_rule(&host_lookups, w, &in, o);
}

/* Use counting and expiry at the boundary: the last use, and the moment
 * of expiry itself, which is already past. */
static void test_approval_reason_boundaries(void **st)
{
	struct pb_approval a = {.uses = 2, .used = 0, .expires = NOW + 1};

	(void)st;
	assert_int_equal(pb_approval_reason(NULL, NOW), PB_R_APPROVAL_MISSING);
	assert_int_equal(pb_approval_reason(&a, NOW), PB_OK);
	a.used = 1; /* one left */
	assert_int_equal(pb_approval_reason(&a, NOW), PB_OK);
	a.used = 2;
	assert_int_equal(pb_approval_reason(&a, NOW), PB_R_APPROVAL_EXHAUSTED);
	a.used = 1;
	assert_int_equal(pb_approval_reason(&a, NOW + 1), PB_R_APPROVAL_EXPIRED); /* at expiry */
	assert_int_equal(pb_approval_reason(&a, NOW + 2), PB_R_APPROVAL_EXPIRED);
	/* spent and expired: exhausted is what it says (nothing left either way) */
	a.used = 2;
	assert_int_equal(pb_approval_reason(&a, NOW + 2), PB_R_APPROVAL_EXHAUSTED);
	a.uses = 0; /* no uses granted at all */
	a.used = 0;
	assert_int_equal(pb_approval_reason(&a, NOW), PB_R_APPROVAL_EXHAUSTED);
}

/* A scope rule with requires_approval: the entitled holder spends one use
 * per connect and the allow is never kept; without a use left, refused.
 * A rule without it never asks. */
static void test_rule_approval_scope(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred c = owner_cred;

	(void)st;
	world_init(&w);
	world_hold(&w, 7, ID_PAY, &c);
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.apv_calls, 0); /* not gated: step 6 not asked */
	assert_true(o.keep);

	w.scope_pay.rules[0].flags = PB_RULE_APPROVAL;
	assert_int_equal(world_decide(&w, &o), PB_R_APPROVAL_MISSING);
	assert_int_equal(w.apv_calls, 1);
	assert_false(o.keep);
	w.have_apv = 1;
	w.apv = (struct pb_approval){.uses = 2, .expires = NOW + 10};
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_false(o.keep); /* every gated connect spends its own use */
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.apv.used, 2);
	assert_int_equal(world_decide(&w, &o), PB_R_APPROVAL_EXHAUSTED);
	assert_int_equal(w.apv.used, 2); /* a refusal spends nothing */

	/* the first matching scope rule decides: an earlier ungated rule for
	 * the same destination lets it through without an approval */
	w.scope_pay.nrules = 2;
	w.scope_pay.rules[1] = w.scope_pay.rules[0];
	w.scope_pay.rules[0].flags = 0;
	w.apv_calls = 0;
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.apv_calls, 0);
}

/* The approval is asked for only once the holder is entitled: a foreign
 * holder, an out-of-scope one, an expired identity never reach step 6, so
 * they never spend a use. A gated protected rule gates as a scope rule. */
static void test_rule_approval_after_entitlement(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred foreign = owner_cred;

	(void)st;
	world_init(&w);
	w.scope_pay.rules[0].flags = PB_RULE_APPROVAL;
	w.have_apv = 1;
	w.apv = (struct pb_approval){.uses = 1, .expires = NOW + 10};
	foreign.owner.tgid = 5000;
	world_hold(&w, 9, ID_PAY, &foreign);
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
	assert_int_equal(w.apv_calls, 0);
	assert_int_equal(w.apv.used, 0);

	world_init(&w);
	w.have_apv = 1;
	w.apv = (struct pb_approval){.uses = 1, .expires = NOW + 10};
	{
		struct pb_cred c = owner_cred;

		world_hold(&w, 7, ID_PAY, &c);
	}
	w.scope_pay.rules[0].flags = PB_RULE_APPROVAL;
	w.scope_pay.expires = NOW; /* the identity itself expired */
	assert_int_equal(world_decide(&w, &o), PB_R_EXPIRED);
	assert_int_equal(w.apv_calls, 0);
	w.scope_pay.expires = NOW + 1000000;
	w.d = dest_10(11, 5432); /* out of scope */
	assert_int_equal(world_decide(&w, &o), PB_R_OUT_OF_SCOPE);
	assert_int_equal(w.apv_calls, 0);

	/* protected for ID_PAY with requires_approval; the scope rule not */
	w.d = dest_10(10, 5432);
	w.scope_pay.rules[0].flags = 0;
	w.pol.nprotected = 1;
	w.pol.prot[0] = rule_10_8(ID_PAY);
	w.pol.prot_approval = 1;
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.apv_calls, 1);
	assert_int_equal(world_decide(&w, &o), PB_R_APPROVAL_EXHAUSTED);
	w.pol.prot_approval = 0;
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.apv_calls, 2);
}

static void test_rule_owner_in_scope(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred c = owner_cred;

	(void)st;
	world_init(&w);
	world_hold(&w, 7, ID_PAY, &c);
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_ptr_equal(o.rec, &w.rec);
	assert_int_equal(o.nheld, 1);
	assert_int_equal(o.cred_id, 7);
	assert_true(o.keep);
	assert_int_equal(o.until, owner_cred.expires); /* an allow kept no later */
	assert_int_equal(o.now, NOW);
	/* another destination, outside the identity's scope */
	w.d = dest_10(11, 5432);
	assert_int_equal(world_decide(&w, &o), PB_R_OUT_OF_SCOPE);
	assert_int_equal(o.ident, ID_PAY);
	assert_false(o.keep);
}

/* A holder whose credentials were judged under conditions that still hold
 * (in.judged: the kept allow's) going somewhere new: its credentials are
 * read for their identities and expiries, not judged again, and the
 * destination is judged against every identity held. When the reading
 * cannot vouch for one (gone, revoked or expired since, a slot being
 * written), all are judged in full. */
static void test_rule_judged_reads_not_judges(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred pay = owner_cred, ci = owner_cred;

	(void)st;
	world_init(&w);
	ci.expires = NOW + 500; /* the first expiry */
	world_hold(&w, 7, ID_PAY, &pay);
	world_hold(&w, 8, ID_CI, &ci);
	w.judged = 1;
	w.rec_self = 0; /* not asked: the thread the allow was kept for is the caller */
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.held_calls, 0);
	assert_int_equal(w.stale, 0);
	assert_int_equal(o.until, NOW + 500);
	assert_int_equal(o.cred_id, 8);
	assert_true(o.keep);
	/* the destination is still judged for each identity */
	w.scope_ci.nrules = 0;
	assert_int_equal(world_decide(&w, &o), PB_R_OUT_OF_SCOPE);
	assert_int_equal(o.ident, ID_CI);
	assert_int_equal(w.held_calls, 0);
	w.scope_ci.nrules = 1;
	w.rec_self = 1;

	/* revoked since (flag, then entry gone), expired since, a slot being
	 * written: judged in full, each with its own reason */
	w.creds[1].flags |= PB_CRED_REVOKED;
	assert_int_equal(world_decide(&w, &o), PB_R_REVOKED);
	assert_int_equal(o.cred_id, 8);
	assert_true(w.held_calls > 0);
	w.creds[1].flags = 0;
	w.ids[1] = 99; /* id 8 no longer in the map */
	w.held_calls = 0;
	assert_int_equal(world_decide(&w, &o), PB_R_REVOKED);
	assert_true(w.held_calls > 0);
	w.ids[1] = 8;
	w.creds[1].expires = NOW;
	w.held_calls = 0;
	assert_int_equal(world_decide(&w, &o), PB_R_EXPIRED);
	assert_true(w.held_calls > 0);
	w.creds[1].expires = NOW + 500;
	w.rec.held[1] = 0;
	w.held_calls = 0;
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.held_calls, 1); /* in full: the written slot; the other skipped */
	assert_int_equal(o.until, 0);	   /* and nothing is kept */
	w.rec.held[1] = 8;
}

/* An exempt destination is not judged, even when a protected rule names
 * it too and the caller holds a credential that would be misused there. */
static void test_rule_exempt_beats_protected(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred foreign = owner_cred;

	(void)st;
	world_init(&w);
	w.pol.nexempt = 1;
	w.pol.exempt[0] = rule_10_8(0);
	w.pol.nprotected = 1;
	w.pol.prot[0] = rule_10_8(ID_PAY);
	foreign.owner.tgid = 5000; /* minted for another process: foreign here */
	world_hold(&w, 9, ID_CI, &foreign);
	assert_int_equal(world_decide(&w, &o), PB_CONNECT_QUIET);
	assert_int_equal(w.counted, PB_CNT_EXEMPT);
	assert_int_equal(w.held_calls, 0); /* nothing held was read */
	/* without the exempt rule the same connect is judged: the misuse */
	w.pol.nexempt = 0;
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
}

/* In a container that adopted a file with protect rules, the adopt rule
 * judges only the file's holder: a caller that is not its rightful holder
 * is refused with the file's reason whatever valid credential it holds; the
 * rightful holder goes on to the rest of the rule. */
static void test_rule_adopt_judges_the_holder_only(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred c = owner_cred;

	(void)st;
	world_init(&w);
	world_hold(&w, 7, ID_PAY, &c); /* valid, in scope here */
	w.adopt = PB_R_FOREIGN_PID;
	w.adopt_id = 0xad0;
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
	assert_int_equal(o.cred_id, 0xad0); /* the file's credential is named */
	assert_int_equal(w.held_calls, 0);  /* what the caller holds is not judged */
	assert_ptr_equal(o.rec, &w.rec);
	/* an earlier process's record is not reported as the caller's */
	w.rec_self = 0;
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
	assert_null(o.rec);
	/* the rightful holder: the rest of the rule decides */
	w.rec_self = 1;
	w.adopt = PB_OK;
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(w.held_calls, 1);
}

/* Holding nothing at a protected destination: no_credential, naming the
 * identity required; elsewhere not judged. */
static void test_rule_nothing_held_at_protected(void **st)
{
	static struct world w;
	struct pb_connect_out o;

	(void)st;
	world_init(&w);
	w.pol.nprotected = 1;
	w.pol.prot[0] = rule_10_8(ID_PAY);
	assert_int_equal(world_decide(&w, &o), PB_R_NO_CREDENTIAL);
	assert_int_equal(o.ident, ID_PAY);
	assert_ptr_equal(o.rec, &w.rec);
	w.d = dest_10(11, 5432);
	assert_int_equal(world_decide(&w, &o), PB_CONNECT_QUIET);
	assert_int_equal(w.counted, PB_CNT_NOCRED_CONNECT);
	/* no record and a parent that held nothing: the same, counted apart */
	w.d = dest_10(10, 5432);
	w.rec_self = 0;
	{
		struct pb_connect_in in = {.rec = NULL, .gen = 1, .fast_flags = PB_FAST_PROTECTED};

		assert_int_equal(pb_connect_rule(&host_lookups, &w, &in, &o), PB_R_NO_CREDENTIAL);
		w.d = dest_10(11, 5432);
		assert_int_equal(pb_connect_rule(&host_lookups, &w, &in, &o), PB_CONNECT_QUIET);
		assert_int_equal(w.counted, PB_CNT_NO_RECORD);
	}
	/* no record, a parent that held: untracked, wherever it goes */
	w.untracked = 1;
	assert_int_equal(world_decide(&w, &o), PB_R_UNTRACKED);
}

/* A record that outlived its process (the PID's new process was never seen
 * by the hooks) is reported, and the process judged as holding nothing:
 * the record's credential, which would have passed, is not read. */
static void test_rule_stale_record_holds_nothing(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred c = owner_cred;

	(void)st;
	world_init(&w);
	world_hold(&w, 7, ID_PAY, &c);
	w.rec_self = 0;
	w.pol.nprotected = 1;
	w.pol.prot[0] = rule_10_8(ID_PAY);
	assert_int_equal(world_decide(&w, &o), PB_R_NO_CREDENTIAL);
	assert_int_equal(w.stale, 1);
	assert_int_equal(w.held_calls, 0);
	assert_null(o.rec); /* not this process's to report */
	assert_int_equal(o.nheld, 0);
	/* not protected: allowed, reported as stale only */
	w.d = dest_10(11, 5432);
	w.counted = 0;
	assert_int_equal(world_decide(&w, &o), PB_CONNECT_QUIET);
	assert_int_equal(w.stale, 2);
	assert_int_equal(w.counted, 0);
}

/* No policy in force: a holder fails closed (out_of_scope), having been
 * judged first (a foreign holder is still named as such). */
static void test_rule_no_policy(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred c = owner_cred;

	(void)st;
	world_init(&w);
	w.have_pol = 0;
	world_hold(&w, 7, ID_PAY, &c);
	assert_int_equal(world_decide(&w, &o), PB_R_OUT_OF_SCOPE);
	assert_int_equal(o.mode, PB_MODE_ENFORCE);
	assert_false(o.keep);
	w.creds[0].owner.tgid = 5000;
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
	/* a process that holds nothing is not judged at all */
	world_init(&w);
	w.have_pol = 0;
	assert_int_equal(world_decide(&w, &o), PB_CONNECT_QUIET);
}

/* Two credentials, one the caller's own and valid, one misused: the misused
 * one is named (its id and identity), in either order of holding. */
static void test_rule_names_the_misused(void **st)
{
	static struct world w;
	struct pb_connect_out o;
	struct pb_cred own = owner_cred, foreign = owner_cred;

	(void)st;
	foreign.owner.tgid = 5000;
	foreign.owner.start_time = 77;
	world_init(&w);
	world_hold(&w, 7, ID_PAY, &own);
	world_hold(&w, 8, ID_CI, &foreign);
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
	assert_int_equal(o.cred_id, 8);
	assert_int_equal(o.ident, ID_CI);
	assert_ptr_equal(o.c, &w.creds[1]);
	assert_int_equal(o.nheld, 2);
	world_init(&w);
	world_hold(&w, 8, ID_CI, &foreign);
	world_hold(&w, 7, ID_PAY, &own);
	assert_int_equal(world_decide(&w, &o), PB_R_FOREIGN_PID);
	assert_int_equal(o.cred_id, 8);
	assert_int_equal(o.ident, ID_CI);
	/* both valid: allowed, kept until the first of their expiries */
	world_init(&w);
	own.expires = NOW + 50;
	world_hold(&w, 7, ID_PAY, &own);
	own.expires = NOW + 10;
	world_hold(&w, 9, ID_CI, &own);
	assert_int_equal(world_decide(&w, &o), PB_OK);
	assert_int_equal(o.until, NOW + 10);
	/* a protected destination that names neither: wrong_identity, the
	 * identity required named */
	w.pol.nprotected = 1;
	w.pol.prot[0] = rule_10_8(0x3333);
	assert_int_equal(world_decide(&w, &o), PB_R_WRONG_IDENTITY);
	assert_int_equal(o.ident, 0x3333);
}

/* An inheriting child: its owner's record is looked up, and only then. */
static void test_judge_cred_looks_up_the_owner(void **st)
{
	static struct world w;
	struct pb_cred c = owner_cred;
	struct pb_subject child = child_of_owner();

	(void)st;
	world_init(&w);
	c.flags = PB_CRED_INHERIT_CHILDREN;
	assert_int_equal(pb_judge_cred(&child, &c, w_owner, &w, NOW), PB_OK);
	w.owner_recs[0].self.start_time = S0 + 1; /* the owner's PID is another's now */
	assert_int_equal(pb_judge_cred(&child, &c, w_owner, &w, NOW), PB_R_OWNER_EXITED);
	assert_int_equal(pb_judge_cred(&child, NULL, w_owner, &w, NOW), PB_R_REVOKED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_owner_allowed),
	    cmocka_unit_test(test_protected),
	    cmocka_unit_test(test_rule_masks),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_tag_pick),
	    cmocka_unit_test(test_sibling_same_cgroup_is_foreign_pid),
	    cmocka_unit_test(test_other_cgroup_is_foreign_cgroup),
	    cmocka_unit_test(test_pid_reuse),
	    cmocka_unit_test(test_thread_acts_as_process),
	    cmocka_unit_test(test_owner_moved_cgroup),
	    cmocka_unit_test(test_exe_changed),
	    cmocka_unit_test(test_receive_reason),
	    cmocka_unit_test(test_traced_reason),
	    cmocka_unit_test(test_adopted_exe_binding),
	    cmocka_unit_test(test_expiry_boundary),
	    cmocka_unit_test(test_revoked_and_unknown),
	    cmocka_unit_test(test_child_denied_without_inherit),
	    cmocka_unit_test(test_child_allowed_with_inherit),
	    cmocka_unit_test(test_grandchild_not_inheriting),
	    cmocka_unit_test(test_child_of_pid_reused_owner),
	    cmocka_unit_test(test_monitor_and_enforce),
	    cmocka_unit_test(test_held_overflow_and_dedupe),
	    cmocka_unit_test(test_several_credentials),
	    cmocka_unit_test(test_file_decide),
	    cmocka_unit_test(test_prot_hint),
	    cmocka_unit_test(test_rule_owner_in_scope),
	    cmocka_unit_test(test_rule_judged_reads_not_judges),
	    cmocka_unit_test(test_rule_exempt_beats_protected),
	    cmocka_unit_test(test_rule_adopt_judges_the_holder_only),
	    cmocka_unit_test(test_rule_nothing_held_at_protected),
	    cmocka_unit_test(test_rule_stale_record_holds_nothing),
	    cmocka_unit_test(test_rule_no_policy),
	    cmocka_unit_test(test_rule_names_the_misused),
	    cmocka_unit_test(test_judge_cred_looks_up_the_owner),
	    cmocka_unit_test(test_approval_reason_boundaries),
	    cmocka_unit_test(test_rule_approval_scope),
	    cmocka_unit_test(test_rule_approval_after_entitlement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
