// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Purpose binding in the kernel: a policy is installed as a generation
 * (policies, scopes, exe_tags and cgroup_tags entries keyed by it), made
 * current by one write to agent_cfg, and the previous generation's entries
 * are deleted afterwards. A hook reads the generation once per run, so no
 * decision mixes two policies, and there is never a moment without one.
 *
 * cgroups are matched here, in the agent: at install by walking cgroupfs,
 * and as they appear (the cgroup_mkdir hook wakes us). A Kubernetes
 * selector needs the kubelet's names, which can appear a little after the
 * cgroup: such cgroups are retried on every drain tick for a while. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events.h"
#include "log.h"
#include "kernel.h"
#include "purpose.h"
#include "util.h"
#include "procbind.skel.h"
#include "procbind/decision.h"

#define PB_PENDING_NS (120ULL * 1000000000ULL) /* how long a pod's names are awaited */
#define PB_UNNAMED_NS (5ULL * 1000000000ULL)   /* how long a new cgroup may stay unnamed */

/* Mask of identities of p whose cgroup part matches the cgroup at path.
 * *pending is set when a Kubernetes selector could not be decided yet
 * because the kubelet has not named the container. */
static uint64_t pb_cgroup_mask(struct pb_agent *a, const struct pb_policy *p, const char *path,
			       int *pending)
{
	struct pb_k8s_ref ref;
	struct pb_k8s_meta meta;
	struct pb_match_subject s = {.cgroup = path, .exe = ""};
	int k8s_wanted = 0, is_pod;

	*pending = 0;
	for (unsigned int i = 0; i < p->nident; i++)
		k8s_wanted |= p->ident[i].has_k8s;
	is_pod = k8s_wanted && pb_k8s_parse_cgroup(path, &ref);
	if (is_pod) {
		s.k8s = &ref;
		if (ref.container_id[0] && !pb_k8s_lookup(a->conf.k8s_dir, ref.container_id, &meta))
			s.meta = &meta;
		else if (ref.container_id[0])
			*pending = 1;
	}
	return pb_policy_cgroup_mask(p, &s);
}

static void pb_emit_cgroup_matched(struct pb_agent *a, const struct pb_policy *p, uint64_t cgid,
				   const char *path, uint64_t mask, const char *how)
{
	struct pb_buf *b = &a->sink.line;

	pb_event_begin(a, b, "cgroup_matched", pb_now_boot_ns());
	pb_json_u64(b, "cgroup_id", cgid);
	pb_json_str(b, "cgroup", path);
	pb_json_str(b, "how", how);
	pb_json_key(b, "identities");
	pb_json_array_begin(b);
	for (unsigned int i = 0; i < p->nident; i++)
		if (mask & (1ULL << i))
			pb_json_str(b, NULL, p->ident[i].name);
	pb_json_array_end(b);
	pb_json_u64(b, "policy_generation", a->purpose.gen);
	pb_json_end(b);
	pb_emit_line(a, b);
}

static void pb_pending_add(struct pb_agent *a, uint64_t cgid, int unnamed)
{
	if (pb_pending_push(&a->purpose.pending, &a->purpose.npending, &a->purpose.cappending, cgid,
			    unnamed))
		pb_warn("purpose: out of memory; cgroup %" PRIu64 " not retried", cgid);
}

/* Match one cgroup against p and write its tag for generation gen.
 * Returns 1 when it matched something, 0 when not, -errno on map errors. */
static int pb_tag_cgroup(struct pb_agent *a, const struct pb_policy *p, uint32_t gen, uint64_t cgid,
			 const char *path, const char *how)
{
	struct pb_cgtag_key k = {.cgroup_id = cgid, .gen = gen};
	int pending;
	uint64_t mask = pb_cgroup_mask(a, p, path, &pending);

	if (pending)
		pb_pending_add(a, cgid, 0);
	if (!mask)
		return 0;
	if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.cgroup_tags), &k, &mask, BPF_ANY))
		return pb_err(-errno, "purpose: tag cgroup %s: %m (raise the cgroup_tags size)",
			      path);
	if (how)
		pb_emit_cgroup_matched(a, p, cgid, path, mask, how);
	return 1;
}

struct pb_scan_ctx {
	struct pb_agent *a;
	const struct pb_policy *p;
	uint32_t gen;
	unsigned int matched;
	int err; /* pb_tag_cgroup's (logged there) */
};

static int pb_scan_dir(void *ctx, const char *rel, uint64_t ino)
{
	struct pb_scan_ctx *c = ctx;
	int r = pb_tag_cgroup(c->a, c->p, c->gen, ino, *rel ? rel : "/", NULL);

	if (r < 0)
		return c->err = r;
	c->matched += r;
	return 0;
}

/* Tag every existing cgroup for generation gen. */
static int pb_scan_cgroups(struct pb_agent *a, const struct pb_policy *p, uint32_t gen,
			   unsigned int *matched)
{
	struct pb_scan_ctx c = {.a = a, .p = p, .gen = gen};
	int needed = 0, err;

	for (unsigned int i = 0; i < p->nident; i++)
		needed |= p->ident[i].ncgroups || p->ident[i].has_k8s;
	*matched = 0;
	if (!needed)
		return 0;
	err = pb_walk_dirs(a->conf.cgroup_root, pb_scan_dir, &c);
	if (err && !c.err)
		pb_error("purpose: walk %s: %s", a->conf.cgroup_root, strerror(-err));
	*matched = c.matched;
	return err;
}

static uint64_t pb_wall_to_boot(time_t t)
{
	uint64_t real = pb_now_real_ns(), boot = pb_now_boot_ns();
	uint64_t when = t > 0 ? (uint64_t)t * 1000000000ULL : 0;

	return when <= real ? boot : boot + (when - real);
}

/* Delete every entry of generation gen: in the tag maps and scopes by key,
 * the policy itself last. Deleting while iterating restarts the walk. */
static void pb_delete_gen(int fd, size_t key_size, size_t gen_off, uint32_t gen)
{
	unsigned char key[sizeof(struct pb_exetag_key)], next[sizeof(struct pb_exetag_key)];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		uint32_t g;

		memcpy(&g, next + gen_off, sizeof(g));
		if (g == gen) {
			bpf_map_delete_elem(fd, next);
			continue; /* next is gone: start from prev again */
		}
		memcpy(key, next, key_size);
		prev = key;
	}
}

void pb_purpose_remove(struct pb_agent *a, uint32_t gen)
{
	pb_delete_gen(bpf_map__fd(a->kern.skel->maps.cgroup_tags), sizeof(struct pb_cgtag_key),
		      offsetof(struct pb_cgtag_key, gen), gen);
	pb_delete_gen(bpf_map__fd(a->kern.skel->maps.exe_tags), sizeof(struct pb_exetag_key),
		      offsetof(struct pb_exetag_key, gen), gen);
	pb_delete_gen(bpf_map__fd(a->kern.skel->maps.scopes), sizeof(struct pb_scope_key),
		      offsetof(struct pb_scope_key, gen), gen);
	bpf_map_delete_elem(bpf_map__fd(a->kern.skel->maps.policies), &gen);
}

int pb_purpose_install(struct pb_agent *a, const struct pb_policy *p, uint32_t gen, char *err,
		       size_t errlen)
{
	struct pb_kpolicy *k = calloc(1, sizeof(*k));
	unsigned int matched = 0;
	int ret = 0;

	if (!k)
		return -ENOMEM;
	for (unsigned int i = 0; i < p->nident && !ret; i++) {
		const struct pb_identity *id = &p->ident[i];
		struct pb_scope_key sk = {.ident = id->id, .gen = gen};
		struct pb_scope sc = {.expires = pb_wall_to_boot(id->expires),
				      .nrules = id->nscope};

		memcpy(sc.rules, id->scope, sizeof(sc.rules));
		if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.scopes), &sk, &sc,
					BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "install scope of '%s': %s", id->name,
				 strerror(errno));
			break;
		}
		for (unsigned int j = 0; j < id->nexes; j++) {
			struct pb_exetag_key ek = {.gen = gen};
			uint64_t mask = pb_policy_exe_mask(p, id->exes[j]);

			snprintf(ek.path, sizeof(ek.path), "%s", id->exes[j]);
			if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.exe_tags), &ek,
						&mask, BPF_ANY)) {
				ret = -errno;
				snprintf(err, errlen, "install executable %s: %s", id->exes[j],
					 strerror(errno));
				break;
			}
		}
	}
	if (!ret) {
		ret = pb_scan_cgroups(a, p, gen, &matched);
		if (ret)
			snprintf(err, errlen, "match cgroups: %s", strerror(-ret));
	}
	if (!ret) {
		/* The mode of the policy being installed, not of the one in force. */
		pb_policy_kernel(p, pb_mode_of(a, p), k);
		if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.policies), &gen, k,
					BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "install policy: %s", strerror(errno));
		}
	}
	free(k);
	if (ret) {
		pb_purpose_remove(a, gen);
		return ret;
	}
	pb_info("purpose: generation %u ready: %u identities, %u cgroups matched, %u protected, "
		"%u exempt",
		gen, p->nident, matched, p->nprot, p->nexempt);
	return 0;
}

int pb_purpose_activate(struct pb_agent *a, uint32_t gen, const struct pb_policy *p)
{
	struct pb_config cfg = {.gen = gen, .layout = PB_LAYOUT};
	uint32_t flags = p->nprot ? PB_FAST_PROTECTED : 0;
	struct pb_prot_hint *hint = calloc(1, sizeof(*hint));
	uint64_t expiry = UINT64_MAX;
	__u32 zero = 0;

	if (!hint)
		return pb_err(-ENOMEM, "purpose: activate generation %u: out of memory", gen);
	for (unsigned int i = 0; i < p->nprot; i++)
		pb_hint_add_rule(hint, &p->prot[i]);
	/* The adopt entries' protect rules: per container (map adopt_cg), so
	 * the prefilter covers them and a hit looks the caller's cgroup up. */
	for (unsigned int i = 0; i < p->nadopt; i++)
		for (unsigned int j = 0; j < p->adopt[i].nprotect; j++) {
			pb_hint_add_rule(hint, &p->adopt[i].protect[j]);
			flags |= PB_FAST_PROTECTED | PB_FAST_ADOPT;
		}
	for (unsigned int i = 0; i < p->nident; i++) {
		uint64_t e = pb_wall_to_boot(p->ident[i].expires);

		if (e < expiry)
			expiry = e;
	}
	pb_fast_widen(a, hint, flags);
	if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.agent_cfg), &zero, &cfg, BPF_ANY)) {
		free(hint);
		return pb_err(-errno, "purpose: activate generation %u: %m", gen);
	}
	a->purpose.gen = gen;
	/* A hook that read the generation before stays on it to its end: once
	 * every such hook has returned, none reads the one before again. Only
	 * then may the prefilter narrow to this one and the one before go
	 * (pb_purpose_switch). */
	pb_kernel_quiesce();
	/* After the generation: the prefilter narrows to it, and an allow
	 * kept under the one before is void. */
	pb_fast_policy(a, hint, flags, expiry);
	free(hint);
	return 0;
}

void pb_purpose_cgroup_added(struct pb_agent *a, uint64_t cgid)
{
	char path[PATH_MAX];

	pb_cgroup_name(a, cgid, path, sizeof(path));
	if (!path[0]) {
		/* Not visible yet (or already gone): the next ticks retry. */
		pb_pending_add(a, cgid, 1);
		return;
	}
	pb_tag_cgroup(a, &a->purpose.policy, a->purpose.gen, cgid, path, "created");
}

void pb_purpose_tick(struct pb_agent *a)
{
	uint64_t now = pb_now_boot_ns();
	size_t i = 0;

	while (i < a->purpose.npending) {
		struct pb_pending pe = a->purpose.pending[i];
		char path[PATH_MAX];
		int pending = 0;

		pb_cgroup_name(a, pe.cgroup_id, path, sizeof(path));
		if (pe.unnamed) {
			if (path[0]) {
				/* Named at last: matched as a new cgroup, which
				 * may leave it pending for its Kubernetes names. */
				a->purpose.pending[i] = a->purpose.pending[--a->purpose.npending];
				pb_tag_cgroup(a, &a->purpose.policy, a->purpose.gen, pe.cgroup_id,
					      path, "created");
				continue;
			}
			/* else it is gone. since may be later than now (an
			 * entry added during this tick): compare, never
			 * subtract. */
			pending = now <= pe.since + PB_UNNAMED_NS;
		} else if (path[0]) {
			struct pb_cgtag_key k = {.cgroup_id = pe.cgroup_id, .gen = a->purpose.gen};
			uint64_t mask = pb_cgroup_mask(a, &a->purpose.policy, path, &pending);

			if (!pending) {
				if (mask && !bpf_map_update_elem(
						bpf_map__fd(a->kern.skel->maps.cgroup_tags), &k,
						&mask, BPF_ANY))
					pb_emit_cgroup_matched(a, &a->purpose.policy, pe.cgroup_id,
							       path, mask, "kubelet");
			} else if (now > pe.since + PB_PENDING_NS) {
				pb_warn("purpose: no kubelet names for %s after %llus; "
					"its Kubernetes selectors do not match",
					path, PB_PENDING_NS / 1000000000ULL);
				pending = 0;
			}
		}
		if (pending) {
			i++;
			continue;
		}
		a->purpose.pending[i] = a->purpose.pending[--a->purpose.npending];
	}
}

/* The tag under the generation in force, from the cgroup's match now and
 * the executable part of the match at exec: pb_tag_derive, as the exec
 * hook runs it, over the policy that generation was installed from. */
static uint64_t pb_pick(struct pb_agent *a, uint64_t cgid, uint64_t exm)
{
	struct pb_cgtag_key k = {.cgroup_id = cgid, .gen = a->purpose.gen};
	struct pb_kpolicy *pol = malloc(sizeof(*pol));
	uint64_t cgm = 0, ident;

	if (!pol)
		return 0;
	pb_policy_kernel(&a->purpose.policy, pb_mode_now(a), pol);
	bpf_map_lookup_elem(bpf_map__fd(a->kern.skel->maps.cgroup_tags), &k, &cgm);
	ident = pb_tag_derive(pol, cgm, exm);
	free(pol);
	return ident;
}

uint64_t pb_purpose_tag(struct pb_agent *a, uint64_t cgid, const char *exe, __u64 *exe_mask)
{
	*exe_mask = pb_policy_exe_mask(&a->purpose.policy, exe);
	return pb_pick(a, cgid, *exe_mask);
}

uint64_t pb_purpose_proc_tag(struct pb_agent *a, const struct pb_proc *rec)
{
	/* The exec hook matched the cgroup as the agent had matched it by
	 * then. A cgroup created just before the exec may have been matched
	 * only since: derive the tag again from the same exec-time inputs.
	 * From an earlier generation only the tag itself is comparable. */
	if (rec->tag_gen != a->purpose.gen)
		return rec->ident;
	return pb_pick(a, rec->cgroup_id, rec->exe_mask);
}

const char *pb_ident_name(struct pb_agent *a, uint64_t id, char *buf, size_t len)
{
	const struct pb_identity *i = id ? pb_policy_identity_by_id(&a->purpose.policy, id) : NULL;

	if (!id)
		return "";
	if (i)
		return i->name;
	snprintf(buf, len, "unknown:%016" PRIx64, id);
	return buf;
}

void pb_purpose_emit(struct pb_agent *a, const char *type, const char *path, const char *error,
		     const struct pb_policy *p, unsigned int revoked)
{
	struct pb_buf *b = &a->sink.line;

	pb_event_begin(a, b, type, pb_now_boot_ns());
	pb_json_str(b, "path", path);
	if (error) {
		pb_json_str(b, "error", error);
		pb_json_str(b, "version_in_force", a->purpose.policy.version);
	} else {
		pb_json_str(b, "version", p->version);
		pb_json_u64(b, "generation", a->purpose.gen);
		pb_json_str(b, "mode", pb_mode_name(pb_mode_of(a, p)));
		pb_json_key(b, "identities");
		pb_json_array_begin(b);
		for (unsigned int i = 0; i < p->nident; i++)
			pb_json_str(b, NULL, p->ident[i].name);
		pb_json_array_end(b);
		pb_json_u64(b, "protected", p->nprot);
		pb_json_u64(b, "exempt", p->nexempt);
		pb_json_u64(b, "credentials_revoked", revoked);
	}
	pb_json_end(b);
	pb_emit_line(a, b);
}

int pb_purpose_switch(struct pb_agent *a, const struct pb_policy *p, char *err, size_t errlen)
{
	/* The next generation; after 2^32 of them, 1 again (0 means "none").
	 * An adopted state's generation stays in force until this one is
	 * installed beside it. */
	uint32_t gen = a->purpose.gen	 ? a->purpose.gen + 1
		       : a->kern.adopted ? a->kern.adopted_gen + 1
					 : 1,
		 g, next;
	int fd = bpf_map__fd(a->kern.skel->maps.policies), ret;

	if (!gen)
		gen = 1;
	ret = pb_purpose_install(a, p, gen, err, errlen);
	if (!ret) {
		ret = pb_purpose_activate(a, gen, p);
		if (ret) {
			snprintf(err, errlen, "activate generation %u: %s", gen, strerror(-ret));
			pb_purpose_remove(a, gen);
		}
	}
	if (ret)
		return ret;
	/* Every other generation (the one before, an adopted one, strays of a
	 * crash in the middle of a switch) goes: no hook reads it any more
	 * (pb_purpose_activate waited for the last that could). */
	for (int more = !bpf_map_get_next_key(fd, NULL, &g); more;) {
		more = !bpf_map_get_next_key(fd, &g, &next);
		if (g != gen)
			pb_purpose_remove(a, g);
		g = next;
	}
	return 0;
}

int pb_purpose_open(struct pb_agent *a, const char *path, char *err, size_t errlen)
{
	struct pb_policy *p = &a->purpose.policy;
	int ret = pb_policy_load(path, p, err, errlen);

	if (ret || p->max_procs)
		return ret;
	/* One record per process: with pid_max slots the map cannot fill (the
	 * map is not preallocated; the kernel keeps ~16 bytes per slot of hash
	 * buckets and a record per live process). */
	p->max_procs = pb_pid_max();
	if (p->max_procs < 1024)
		p->max_procs = PB_DEFAULT_MAX_PROCS;
	return 0;
}

void pb_purpose_take(struct pb_agent *a, struct pb_policy *np)
{
	np->max_procs = a->purpose.policy.max_procs;
	np->max_creds = a->purpose.policy.max_creds;
	pb_policy_free(&a->purpose.policy);
	a->purpose.policy = *np;
	a->purpose.policy_loaded = pb_now_boot_ns();
}

void pb_purpose_stop(struct pb_agent *a)
{
	free(a->purpose.pending);
	a->purpose.pending = NULL;
	a->purpose.npending = a->purpose.cappending = 0;
	pb_policy_free(&a->purpose.policy);
}

void pb_purpose_loaded(struct pb_agent *a)
{
	a->purpose.policy_loaded = pb_now_boot_ns();
	pb_purpose_emit(a, "policy_loaded", a->conf.policy_path, NULL, &a->purpose.policy, 0);
}
