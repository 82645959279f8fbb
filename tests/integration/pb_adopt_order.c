// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The agent's event decoder, given the file guard's event for an adopted
 * credential whose holder the guard has just claimed (the kernel's binding
 * names a process, the agent's does not yet): it must write two whole JSON
 * lines, the credential_adopted "claimed" first, then the credential_acquired
 * of the open that made it. Before, the first was built inside the second's
 * buffer and the second was lost.
 *
 * A real agent's decoder with the real maps (the BPF object loaded with no
 * program: root, no hooks attached, nothing on the node judged) and this
 * process as the holder. Exit 0, 1 (failed, with why), 77 (cannot load). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "agent.h"
#include "creds.h"
#include "events.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"
#include "procbind/decision.h"

#define CRED_ID 0x0123456789abcdefull

static struct pb_agent a;

static const char policy[] = "mode: enforce\n"
			     "identities:\n"
			     "  - name: billing\n"
			     "    owner: test\n"
			     "    purpose: the adopt order test\n"
			     "    expires: 2099-01-01\n"
			     "    match:\n"
			     "      executables: [/usr/bin/curl]\n"
			     "    scope:\n"
			     "      - {cidr: 127.0.0.0/8, ports: any, protocol: any}\n";

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		printf("FAIL: " __VA_ARGS__);                                                      \
		printf("\n");                                                                      \
		return 1;                                                                          \
	} while (0)

int main(void)
{
	struct pb_cred_meta m = {.id = CRED_ID, .identity = "billing", .comm = "holder",
				 .cgroup = "/pod", .path = "/run/t",
				 .adopt = "reconciler-sa-token"};
	struct pb_file_event e = {.hdr = {PB_EV_FILE, sizeof(e), 0, 0}};
	struct bpf_program *prog;
	struct procbind *skel;
	struct pb_proc rec = {0};
	struct pb_stat st;
	struct stat exe;
	struct pb_cred kc;
	char err[256], *out = NULL, *line, *save = NULL;
	size_t outlen = 0;
	json_t *l[3] = {0};
	uint32_t me = (uint32_t)getpid();
	int n = 0;

	libbpf_set_print(NULL);
	skel = procbind__open();
	if (!skel) {
		printf("SKIP: cannot open the BPF object: %s\n", strerror(errno));
		return 77;
	}
	bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, false);
	if (procbind__load(skel)) {
		printf("SKIP: cannot create the BPF maps (root and BPF needed): %s\n", strerror(errno));
		return 77;
	}
	a.kern.skel = skel;
	a.kern.walk_proc = 1;
	a.kern.cgroup_fd = -1;
	a.conf.mode_override = -1;
	a.guard.fan_fd = a.guard.pidfd = -1;
	snprintf(a.conf.node, sizeof(a.conf.node), "test");
	pb_cgroup2_find(NULL, a.conf.cgroup_root, sizeof(a.conf.cgroup_root));
	a.sink.out = open_memstream(&out, &outlen);
	pb_attr_init(&a);
	if (!a.sink.out ||
	    pb_policy_parse(policy, strlen(policy), "test", &a.purpose.policy, err, sizeof(err)))
		FAIL("setup: %s", err);

	/* the agent's view: adopted, no holder known yet */
	m.bind.flags = PB_CRED_ADOPTED;
	m.bind.expires = ~0ULL;
	m.bind.cgroup_id = 1;
	if (pb_cred_store_reserve(&a.creds.store) || !pb_cred_store_add(&a.creds.store, &m))
		FAIL("setup: the credential store");
	/* the kernel's: the guard has bound this process at its first open */
	if (pb_stat_read(me, &st) || stat("/proc/self/exe", &exe))
		FAIL("setup: /proc/self");
	kc = m.bind;
	kc.owner.tgid = me;
	kc.owner.start_time = pb_ticks_to_ns(st.starttime);
	kc.exe_dev = pb_dev_to_kernel(exe.st_dev);
	kc.exe_ino = exe.st_ino;
	rec.self = kc.owner;
	rec.exe_dev = kc.exe_dev;
	rec.exe_ino = kc.exe_ino;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.creds), &m.id, &kc, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.procs), &me, &rec, BPF_ANY))
		FAIL("setup: the maps: %s", strerror(errno));

	/* the guard's event for that open, as the agent drains it */
	e.hdr.time = pb_now_boot_ns();
	e.task.proc = kc.owner;
	e.task.pid = me;
	e.task.cgroup_id = 1;
	e.task.exe_dev = kc.exe_dev;
	e.task.exe_ino = kc.exe_ino;
	memcpy(e.task.comm, "holder", 7);
	pb_owner_ref_of(&e.owner, &kc);
	e.cred_id = CRED_ID;
	e.verdict = PB_VERDICT_ALLOW;
	e.reason = PB_OK;
	e.access = PB_ACC_OPEN;
	e.source = PB_SRC_FANOTIFY;
	e.mode = PB_MODE_ENFORCE;
	e.nheld = 1;
	pb_events_handle(&a, &e, sizeof(e));
	fclose(a.sink.out);

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		if (!o || !json_is_object(o))
			FAIL("line %d is not one JSON object: %s", n + 1, line);
		if (n < 3)
			l[n] = o;
		n++;
	}
	if (n != 2)
		FAIL("%d lines, not 2:\n%s", n, out ? out : "");
	if (strcmp(json_string_value(json_object_get(l[0], "event")) ?: "", "credential_adopted") ||
	    strcmp(json_string_value(json_object_get(l[0], "how")) ?: "", "claimed"))
		FAIL("the first line is not the claim: %s", out);
	if (strcmp(json_string_value(json_object_get(l[1], "event")) ?: "", "credential_acquired") ||
	    (uint32_t)json_integer_value(json_object_get(json_object_get(l[1], "process"), "pid")) !=
		me)
		FAIL("the second line is not the holder's open: %s", out);
	printf("PASS: the guard's claim and the open that made it: two whole lines, the claim "
	       "first\n");
	free(out);
	return 0;
}
