// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lint_manifests: the deployment files parse and say what the operator guide
 * says. Checks deploy/kubernetes/procbind.yaml (every document has
 * apiVersion, kind and metadata.name; the DaemonSet runs with hostPID, a
 * readiness probe, resource limits, capabilities dropped to exactly the
 * documented set, the bpffs, cgroup, state and socket mounts, and the
 * Prometheus scrape annotations naming the port of --metrics-addr) and
 * deploy/systemd/procbind.service (the same capability set). The set is the
 * line "Capabilities: ..." of docs/operator.md. No moment unguarded: the
 * rolling update surges (maxSurge 1, maxUnavailable 0) and the agent takes
 * over (--take-over) knowing its pod (PROCBIND_POD_UID); the agent's guards
 * are started by a guard container (--guard-host=S, --serve-guards=S on a
 * volume both mount), unprivileged, with a subset of the documented set.
 *   lint_manifests SOURCE_DIR [--print-caps]   exit 0 when all hold */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL: ");                                                          \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static yaml_node_t *path(yaml_document_t *d, yaml_node_t *n, const char *p)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", p);
	for (char *t = strtok_r(buf, ".", &save); t && n; t = strtok_r(NULL, ".", &save))
		n = get(d, n, t);
	return n;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Sorted, comma-joined, upper-case, without CAP_ prefixes. */
static void norm_caps(char *list, char *out, size_t len)
{
	char *items[32], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(list, ", \t[]\n", &save); t && n < 32;
	     t = strtok_r(NULL, ", \t[]\n", &save)) {
		if (!strncasecmp(t, "CAP_", 4))
			t += 4;
		for (char *c = t; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		items[n++] = t;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
			char *x = items[j];

			items[j] = items[j - 1];
			items[j - 1] = x;
		}
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		strncat(out, items[i], len - strlen(out) - 1);
		if (i + 1 < n)
			strncat(out, ",", len - strlen(out) - 1);
	}
}

static int doc_caps(const char *src, char *out, size_t len)
{
	char p[1024], line[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/docs/operator.md", src);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Capabilities: ", 14)) {
			fclose(f);
			norm_caps(line + 14, out, len);
			return 0;
		}
	fclose(f);
	return -1;
}

/* An annotation value is a string for the API server: true and 9464 must
 * be quoted, or the manifest is refused. */
static const char *quoted(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
		   ? (const char *)n->data.scalar.value
		   : NULL;
}

/* Prometheus finds the agent by the pod's scrape annotations: they name the
 * port of --metrics-addr, which the container declares. */
static void lint_scrape(yaml_document_t *d, yaml_node_t *ann, yaml_node_t *c)
{
	const char *scrape = quoted(get(d, ann, "prometheus.io/scrape"));
	const char *port = quoted(get(d, ann, "prometheus.io/port"));
	const char *mpath = quoted(get(d, ann, "prometheus.io/path"));
	yaml_node_t *args = get(d, c, "args"), *ports = get(d, c, "ports");
	const char *addr_port = NULL;
	int declared = 0;

	CHECK(scrape && !strcmp(scrape, "true"),
	      "DaemonSet: annotation prometheus.io/scrape must be \"true\" (quoted)");
	CHECK(mpath && !strcmp(mpath, "/metrics"),
	      "DaemonSet: annotation prometheus.io/path must be \"/metrics\"");
	CHECK(port, "DaemonSet: annotation prometheus.io/port must be a quoted port");
	for (yaml_node_item_t *it =
		 args && args->type == YAML_SEQUENCE_NODE ? args->data.sequence.items.start : NULL;
	     it && it < args->data.sequence.items.top; it++) {
		const char *a = scalar(yaml_document_get_node(d, *it));

		if (a && !strncmp(a, "--metrics-addr=", 15) && strrchr(a, ':'))
			addr_port = strrchr(a, ':') + 1;
	}
	CHECK(addr_port, "DaemonSet: no --metrics-addr=ADDR:PORT argument");
	for (yaml_node_item_t *it = ports && ports->type == YAML_SEQUENCE_NODE
					? ports->data.sequence.items.start
					: NULL;
	     it && it < ports->data.sequence.items.top; it++) {
		const char *cp = scalar(get(d, yaml_document_get_node(d, *it), "containerPort"));

		declared |= cp && port && !strcmp(cp, port);
	}
	CHECK(port && addr_port && !strcmp(port, addr_port),
	      "DaemonSet: prometheus.io/port %s is not the port of --metrics-addr (%s)",
	      port ? port : "-", addr_port ? addr_port : "-");
	CHECK(declared, "DaemonSet: the metrics port is not a containerPort");
}

/* The argument of container c that starts with prefix, or NULL. */
static const char *arg_with(yaml_document_t *d, yaml_node_t *c, const char *prefix)
{
	yaml_node_t *args = get(d, c, "args");

	for (yaml_node_item_t *it =
		 args && args->type == YAML_SEQUENCE_NODE ? args->data.sequence.items.start : NULL;
	     it && it < args->data.sequence.items.top; it++) {
		const char *a = scalar(yaml_document_get_node(d, *it));

		if (a && !strncmp(a, prefix, strlen(prefix)))
			return a;
	}
	return NULL;
}

/* The volume container c mounts at the directory of file, or NULL. */
static const char *volume_of(yaml_document_t *d, yaml_node_t *c, const char *file)
{
	yaml_node_t *vm = get(d, c, "volumeMounts");
	size_t dlen = strrchr(file, '/') ? (size_t)(strrchr(file, '/') - file) : 0;

	for (yaml_node_item_t *it =
		 vm && vm->type == YAML_SEQUENCE_NODE ? vm->data.sequence.items.start : NULL;
	     it && it < vm->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(d, *it);
		const char *mp = scalar(get(d, m, "mountPath"));

		if (mp && strlen(mp) == dlen && !strncmp(mp, file, dlen))
			return scalar(get(d, m, "name"));
	}
	return NULL;
}

/* The guard container and the update strategy (see the top). */
static void lint_guard(yaml_document_t *d, yaml_node_t *ds, yaml_node_t *agent, const char *want)
{
	yaml_node_t *cs = path(d, ds, "spec.template.spec.containers"), *guard = NULL, *env;
	const char *host = arg_with(d, agent, "--guard-host="), *serve = NULL;
	const char *surge = scalar(path(d, ds, "spec.updateStrategy.rollingUpdate.maxSurge"));
	const char *unavail =
	    scalar(path(d, ds, "spec.updateStrategy.rollingUpdate.maxUnavailable"));
	int pod_uid = 0;

	CHECK(surge && !strcmp(surge, "1") && unavail && !strcmp(unavail, "0"),
	      "DaemonSet: rolling updates must surge (maxSurge: 1, maxUnavailable: 0), not %s/%s",
	      surge ? surge : "-", unavail ? unavail : "-");
	CHECK(arg_with(d, agent, "--take-over"),
	      "DaemonSet: the agent is not started with --take-over");
	env = get(d, agent, "env");
	for (yaml_node_item_t *it =
		 env && env->type == YAML_SEQUENCE_NODE ? env->data.sequence.items.start : NULL;
	     it && it < env->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(d, *it);
		const char *n = scalar(get(d, e, "name"));
		const char *f = scalar(path(d, e, "valueFrom.fieldRef.fieldPath"));

		pod_uid |= n && f && !strcmp(n, "PROCBIND_POD_UID") && !strcmp(f, "metadata.uid");
	}
	CHECK(pod_uid, "DaemonSet: the agent has no PROCBIND_POD_UID from metadata.uid");
	CHECK(host, "DaemonSet: the agent is not started with --guard-host=SOCKET");
	for (yaml_node_item_t *it =
		 cs && cs->type == YAML_SEQUENCE_NODE ? cs->data.sequence.items.start : NULL;
	     it && it < cs->data.sequence.items.top; it++) {
		yaml_node_t *c = yaml_document_get_node(d, *it);

		if (c != agent && arg_with(d, c, "--serve-guards=")) {
			guard = c;
			serve = arg_with(d, c, "--serve-guards=");
		}
	}
	CHECK(guard, "DaemonSet: no guard container (--serve-guards=SOCKET)");
	if (!guard || !host)
		return;
	CHECK(!strcmp(host + strlen("--guard-host="), serve + strlen("--serve-guards=")),
	      "DaemonSet: --guard-host=%s and --serve-guards=%s differ", host, serve);
	CHECK(volume_of(d, agent, host + strlen("--guard-host=")) &&
		  volume_of(d, guard, serve + strlen("--serve-guards=")) &&
		  !strcmp(volume_of(d, agent, host + strlen("--guard-host=")),
			  volume_of(d, guard, serve + strlen("--serve-guards="))),
	      "DaemonSet: the agent and the guard container do not mount one volume at the "
	      "guard host's socket directory");
	CHECK(scalar(path(d, guard, "securityContext.privileged")) &&
		  !strcmp(scalar(path(d, guard, "securityContext.privileged")), "false"),
	      "DaemonSet: the guard container must not be privileged");
	CHECK(path(d, guard, "resources.limits.memory"),
	      "DaemonSet: the guard container has no memory limit");
	{
		yaml_node_t *caps = path(d, guard, "securityContext.capabilities.add");
		char w[512];

		snprintf(w, sizeof(w), ",%s,", want);
		for (yaml_node_item_t *it = caps && caps->type == YAML_SEQUENCE_NODE
						? caps->data.sequence.items.start
						: NULL;
		     it && it < caps->data.sequence.items.top; it++) {
			const char *cap = scalar(yaml_document_get_node(d, *it));
			char in[64], one[64], n[66];

			snprintf(in, sizeof(in), "%s", cap ? cap : "");
			norm_caps(in, one, sizeof(one));
			snprintf(n, sizeof(n), ",%s,", one);
			CHECK(strstr(w, n),
			      "DaemonSet: the guard container's capability %s is not "
			      "in the documented set [%s]",
			      one, want);
		}
	}
}

int main(int argc, char **argv)
{
	const char *src = argc > 1 ? argv[1] : ".";
	char p[1024], want[512], got[512], line[1024];
	yaml_parser_t parser;
	FILE *f;
	int ndocs = 0, daemonset = 0;

	if (doc_caps(src, want, sizeof(want))) {
		printf("FAIL: docs/operator.md has no 'Capabilities: ...' line\n");
		return 1;
	}
	if (argc > 2 && !strcmp(argv[2], "--print-caps")) {
		printf("%s\n", want);
		return 0;
	}
	snprintf(p, sizeof(p), "%s/deploy/kubernetes/procbind.yaml", src);
	f = fopen(p, "r");
	if (!f) {
		printf("FAIL: cannot open %s\n", p);
		return 1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_document_t d;
		yaml_node_t *root, *c, *spec;
		const char *kind, *name;

		if (!yaml_parser_load(&parser, &d)) {
			printf("FAIL: %s: line %zu: %s\n", p, parser.problem_mark.line + 1,
			       parser.problem ? parser.problem : "does not parse");
			failures++;
			break;
		}
		root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		ndocs++;
		kind = scalar(get(&d, root, "kind"));
		name = scalar(path(&d, root, "metadata.name"));
		CHECK(scalar(get(&d, root, "apiVersion")), "document %d: no apiVersion", ndocs);
		CHECK(kind, "document %d: no kind", ndocs);
		CHECK(name, "document %d: no metadata.name", ndocs);
		if (kind && !strcmp(kind, "DaemonSet")) {
			yaml_node_t *vm, *caps;
			const char *need[] = {"/sys/fs/bpf", "/sys/fs/cgroup", "/var/lib/procbind",
					      "/run/procbind"};

			daemonset++;
			spec = path(&d, root, "spec.template.spec");
			CHECK(scalar(get(&d, spec, "hostPID")) &&
				  !strcmp(scalar(get(&d, spec, "hostPID")), "true"),
			      "DaemonSet: hostPID must be true (procbind works with host PIDs)");
			c = get(&d, spec, "containers");
			c = c && c->type == YAML_SEQUENCE_NODE &&
				    c->data.sequence.items.top > c->data.sequence.items.start
				? yaml_document_get_node(&d, *c->data.sequence.items.start)
				: NULL;
			CHECK(c, "DaemonSet: no container");
			CHECK(
			    scalar(path(&d, c, "readinessProbe.httpGet.path")) &&
				!strcmp(scalar(path(&d, c, "readinessProbe.httpGet.path")),
					"/readyz"),
			    "DaemonSet: the readinessProbe is not GET /readyz on the metrics port");
			CHECK(
			    scalar(path(&d, c, "livenessProbe.httpGet.path")) &&
				!strcmp(scalar(path(&d, c, "livenessProbe.httpGet.path")),
					"/healthz"),
			    "DaemonSet: the livenessProbe is not GET /healthz on the metrics port");
			lint_scrape(&d, path(&d, root, "spec.template.metadata.annotations"), c);
			CHECK(path(&d, c, "resources.limits.memory"), "DaemonSet: no memory limit");
			CHECK(path(&d, c, "resources.limits.cpu"), "DaemonSet: no cpu limit");
			CHECK(
			    scalar(path(&d, c, "securityContext.privileged")) &&
				!strcmp(scalar(path(&d, c, "securityContext.privileged")), "false"),
			    "DaemonSet: must not be privileged");
			caps = path(&d, c, "securityContext.capabilities.add");
			got[0] = 0;
			if (caps && caps->type == YAML_SEQUENCE_NODE) {
				char list[512] = "";

				for (yaml_node_item_t *it = caps->data.sequence.items.start;
				     it < caps->data.sequence.items.top; it++) {
					strncat(list, scalar(yaml_document_get_node(&d, *it)),
						sizeof(list) - strlen(list) - 2);
					strcat(list, ",");
				}
				norm_caps(list, got, sizeof(got));
			}
			CHECK(!strcmp(got, want), "DaemonSet: capabilities [%s], documented [%s]",
			      got, want);
			{
				yaml_node_t *drop =
				    path(&d, c, "securityContext.capabilities.drop");
				yaml_node_t *d0 = drop && drop->type == YAML_SEQUENCE_NODE &&
							  drop->data.sequence.items.top >
							      drop->data.sequence.items.start
						      ? yaml_document_get_node(
							    &d, *drop->data.sequence.items.start)
						      : NULL;

				CHECK(scalar(d0) && !strcmp(scalar(d0), "ALL"),
				      "DaemonSet: capabilities.drop must be [ALL]");
			}
			lint_guard(&d, root, c, want);
			vm = get(&d, c, "volumeMounts");
			for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
				int found = 0;

				for (yaml_node_item_t *it = vm ? vm->data.sequence.items.start
							       : NULL;
				     vm && it < vm->data.sequence.items.top; it++) {
					const char *mp = scalar(
					    get(&d, yaml_document_get_node(&d, *it), "mountPath"));

					found |= mp && !strcmp(mp, need[k]);
				}
				CHECK(found, "DaemonSet: no volume mounted at %s", need[k]);
			}
		}
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	CHECK(ndocs >= 4,
	      "%s: %d documents, expected Namespace, ServiceAccount, ConfigMap, "
	      "DaemonSet",
	      p, ndocs);
	CHECK(daemonset == 1, "%s: %d DaemonSets", p, daemonset);

	snprintf(p, sizeof(p), "%s/deploy/systemd/procbind.service", src);
	f = fopen(p, "r");
	CHECK(f, "cannot open %s", p);
	got[0] = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapabilityBoundingSet=", 22))
			norm_caps(line + 22, got, sizeof(got));
	if (f)
		fclose(f);
	CHECK(!strcmp(got, want), "systemd unit: CapabilityBoundingSet [%s], documented [%s]", got,
	      want);
	if (!failures)
		printf("PASS: %d manifests parse; DaemonSet and systemd unit hold the documented "
		       "capabilities [%s]\n",
		       ndocs, want);
	return failures ? 1 : 0;
}
