// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ring buffer's consumer (pb_events_handle), given arbitrary records:
 * any type, any size, any field. Every line it writes must be one JSON
 * object (what a log shipper takes) however odd the bytes in comm,
 * filename or addresses; a record too short for its type is refused.
 *
 * The agent is real but has no kernel: no BPF objects, no cgroup root, a
 * policy of executables only (so no cgroup tag is written) and one minted
 * credential, so events that name it take the agent's own path.
 *
 * PB_FUZZ_EVENT_SEED=DIR: write one genuine record of each type to DIR
 * (how tests/fuzz/corpus/event began). */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "agent.h"
#include "creds.h"
#include "fuzz.h"
#include "ocsf.h"
#include "util.h"

#define CRED_ID 0x1122334455667788ull

static struct pb_agent a;

static const char policy[] = "mode: enforce\n"
			     "identities:\n"
			     "  - name: billing\n"
			     "    owner: fuzz\n"
			     "    purpose: fuzzing\n"
			     "    expires: 2099-01-01\n"
			     "    match:\n"
			     "      executables: [/usr/bin/curl]\n"
			     "    scope:\n"
			     "      - {cidr: 127.0.0.0/8, ports: any, protocol: any}\n";

static void task(struct pb_task_ref *t, uint32_t pid)
{
	t->proc.tgid = pid;
	t->proc.start_time = 123456789;
	t->pid = pid;
	t->ppid = 1;
	t->cgroup_id = 1;
	t->exe_ino = 42;
	memcpy(t->comm, "curl", 5);
}

static void seed(const char *dir, const char *name, const void *ev, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")))
		abort();
	fwrite(ev, 1, n, f);
	fclose(f);
}

static void write_seeds(const char *dir)
{
	struct pb_connect_event c = {.hdr = {PB_EV_CONNECT, sizeof(c), 0, 1000}};
	struct pb_cred_event r = {.hdr = {PB_EV_ACQUIRE, sizeof(r), 1, 2000}};
	struct pb_file_event f = {.hdr = {PB_EV_FILE, sizeof(f), 0, 3000}};
	struct pb_proc_event p = {.hdr = {PB_EV_EXEC, sizeof(p), 0, 4000}};
	struct pb_anomaly_event an = {.hdr = {PB_EV_ANOMALY, sizeof(an), 0, 5000}};
	struct pb_cgroup_event cg = {.hdr = {PB_EV_CGROUP, sizeof(cg), 0, 6000}, .cgroup_id = 9};

	task(&c.task, 4242);
	c.cred_id = CRED_ID;
	c.daddr[0] = 127, c.daddr[3] = 1;
	c.dport = 8443, c.family = 2, c.protocol = 6, c.hook = PB_HOOK_CONNECT4;
	c.verdict = PB_VERDICT_DENY, c.reason = PB_R_FOREIGN_PID, c.nheld = 1;
	c.owner.proc.tgid = 100, c.owner.proc.start_time = 7;
	seed(dir, "connect_deny", &c, sizeof(c));
	c.verdict = PB_VERDICT_ALLOW, c.reason = PB_OK, c.family = 10, c.hook = PB_HOOK_SENDMSG6;
	seed(dir, "connect_allow6", &c, sizeof(c));
	task(&r.task, 4243);
	r.cred_id = CRED_ID, r.nheld = 1, r.fd = 3;
	seed(dir, "acquire", &r, sizeof(r));
	r.hdr.type = PB_EV_INHERIT;
	seed(dir, "inherit", &r, sizeof(r));
	task(&f.task, 4244);
	f.cred_id = CRED_ID, f.verdict = PB_VERDICT_DENY, f.reason = PB_R_FOREIGN_PID;
	f.access = PB_ACC_OPEN, f.source = PB_SRC_FANOTIFY;
	seed(dir, "file_refused", &f, sizeof(f));
	task(&p.task, 4245);
	p.ident = pb_ident_id("billing");
	memcpy(p.filename, "/usr/bin/curl", 14);
	seed(dir, "exec", &p, sizeof(p));
	p.hdr.type = PB_EV_EXIT, p.nheld = 1, p.exit_code = 256;
	seed(dir, "exit", &p, sizeof(p));
	task(&an.task, 4246);
	an.kind = PB_AN_PROCS_FULL, an.err = -7;
	seed(dir, "anomaly", &an, sizeof(an));
	seed(dir, "cgroup", &cg, sizeof(cg));

	/* Regression inputs, one per finding (replayed in this order):
	 * a comm that is not UTF-8 was written as raw bytes, not JSON; */
	memset(c.task.comm, 0xff, 8);
	seed(dir, "regress_comm_not_utf8", &c, sizeof(c));
	/* an id above 2^63 - 1 was a number jansson (trail) cannot read; */
	task(&c.task, 4247);
	c.owner.cgroup_id = 0x9000000000000001ull;
	seed(dir, "regress_u64_above_int64", &c, sizeof(c));
	/* an exit of "tgid 0" marked every free slot of the allowed-connect
	 * table removed, and the next allowed connect probed forever. */
	memset(&p.task, 0, sizeof(p.task));
	p.hdr.type = PB_EV_EXIT, p.nheld = 1;
	seed(dir, "regress_tgid0_exit", &p, sizeof(p));
	c.verdict = PB_VERDICT_ALLOW, c.dport = 9;
	seed(dir, "regress_tgid0_exit_then_connect", &c, sizeof(c));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pb_cred_meta m = {.id = CRED_ID,
				 .identity = "billing",
				 .comm = "curl",
				 .exe = "/usr/bin/curl",
				 .cgroup = "/pod",
				 .path = "/run/t"};
	const char *dir = getenv("PB_FUZZ_EVENT_SEED");
	char err[256];

	(void)argc;
	(void)argv;
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	a.conf.mode_override = -1;
	snprintf(a.conf.node, sizeof(a.conf.node), "fuzz");
	a.guard.fan_fd = a.guard.pidfd = -1;
	a.sink.out = fopen("/dev/null", "we");
	PB_CHECK(a.sink.out);
	if (pb_policy_parse(policy, strlen(policy), "fuzz", &a.purpose.policy, err, sizeof(err))) {
		fprintf(stderr, "fuzz_event: the harness's policy: %s\n", err);
		abort();
	}
	m.bind.owner.tgid = 100;
	m.bind.owner.start_time = 7;
	PB_CHECK(!pb_cred_store_reserve(&a.creds.store) && pb_cred_store_add(&a.creds.store, &m));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t ev[512]; /* ring buffer records are 8-byte aligned */
	uint64_t before = a.sink.events_out;

	if (size > sizeof(ev))
		return 0;
	memset(ev, 0, sizeof(ev));
	memcpy(ev, data, size);
	PB_CHECK(pb_events_handle(&a, ev, size) == 0);
	if (a.sink.events_out != before) {
		const struct pb_buf *b = &a.sink.line;
		json_error_t je;
		json_t *o;

		PB_CHECK(b->len && b->data[0] == '{');
		PB_CHECK(!memchr(b->data, '\n', b->len)); /* one line */
		o = json_loadb(b->data, b->len, 0, &je);
		if (!o || !json_is_object(o)) {
			fprintf(stderr, "not a JSON object (%s): %.*s", je.text, (int)b->len,
				b->data);
			abort();
		}
		PB_CHECK(json_is_string(json_object_get(o, "event")));
		json_decref(o);
		/* and as OCSF (--events-format ocsf, events -o ocsf): every
		 * record maps, to one JSON object with its class */
		{
			char *ocsf = pb_ocsf_line(b->data, b->len, "fuzz");

			PB_CHECK(ocsf);
			o = json_loads(ocsf, 0, &je);
			PB_CHECK(o && json_is_integer(json_object_get(o, "class_uid")));
			json_decref(o);
			free(ocsf);
		}
	}
	a.purpose.npending = 0; /* the tick's work, not the decoder's */
	return 0;
}
