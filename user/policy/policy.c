// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Policy parsing with libyaml's document API: the whole file is loaded, then
 * walked; unknown keys, wrong types and out-of-range values are errors with
 * the position of the offending node, so a typo never becomes a default. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>
#include <yaml.h>

#include "policy.h"
#include "util.h"
#include "procbind/verify.h"

struct pb_pctx {
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
};

static int pb_perr(struct pb_pctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pb_perr(struct pb_pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int off;

	off = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name, n ? n->start_mark.line + 1 : 1,
		       n ? n->start_mark.column + 1 : 1);
	if (off < 0 || (size_t)off >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + off, c->errlen - off, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *pb_scalar(struct pb_pctx *c, yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		pb_perr(c, n, "%s must be a scalar", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static int pb_get_duration(struct pb_pctx *c, yaml_node_t *n, const char *key, uint64_t *out)
{
	const char *s = pb_scalar(c, n, key);

	if (!s)
		return -EINVAL;
	if (pb_duration_parse(s, out) || *out == 0)
		return pb_perr(c, n, "%s: '%s' is not a duration (e.g. 90s, 15m, 24h)", key, s);
	return 0;
}

static int pb_get_u32(struct pb_pctx *c, yaml_node_t *n, const char *key, uint32_t min,
		      uint32_t max, uint32_t *out)
{
	const char *s = pb_scalar(c, n, key);
	uint64_t v;

	if (!s)
		return -EINVAL;
	if (pb_parse_u64(s, min, max, &v))
		return pb_perr(c, n, "%s: '%s' is not a whole number in [%u, %u]", key, s, min,
			       max);
	*out = (uint32_t)v;
	return 0;
}

typedef int (*pb_member_fn)(struct pb_pctx *c, const char *key, yaml_node_t *val, void *obj);

/* Walk a mapping node, rejecting duplicate and unknown keys; *seenp (may be
 * NULL) gets a bit per key index present. */
static int pb_walk_mapping_seen(struct pb_pctx *c, yaml_node_t *map, const char *what,
				const char *const *keys, pb_member_fn fn, void *p,
				unsigned int *seenp)
{
	unsigned int seen = 0;

	if (map->type != YAML_MAPPING_NODE)
		return pb_perr(c, map, "%s must be a mapping", what);
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
		const char *key = pb_scalar(c, k, "a key");
		int idx = -1, err;

		if (!key)
			return -EINVAL;
		for (int i = 0; keys[i]; i++)
			if (!strcmp(keys[i], key))
				idx = i;
		if (idx < 0)
			return pb_perr(c, k, "unknown key '%s' in %s", key, what);
		if (seen & (1u << idx))
			return pb_perr(c, k, "duplicate key '%s' in %s", key, what);
		seen |= 1u << idx;
		err = fn(c, key, v, p);
		if (err)
			return err;
	}
	if (seenp)
		*seenp = seen;
	return 0;
}

static int pb_walk_mapping(struct pb_pctx *c, yaml_node_t *map, const char *what,
			   const char *const *keys, pb_member_fn fn, void *p)
{
	return pb_walk_mapping_seen(c, map, what, keys, fn, p, NULL);
}

/* The keys of keys[] whose bit is in required but not in seen: the first is
 * reported at the mapping's position. */
static int pb_require(struct pb_pctx *c, yaml_node_t *map, const char *what,
		      const char *const *keys, unsigned int required, unsigned int seen)
{
	for (int i = 0; keys[i]; i++)
		if ((required & (1u << i)) && !(seen & (1u << i)))
			return pb_perr(c, map, "%s: '%s' is required", what, keys[i]);
	return 0;
}

/* true or false (YAML 1.2's core schema: nothing else). */
static int pb_get_bool(struct pb_pctx *c, yaml_node_t *v, const char *key, int *out)
{
	const char *s = pb_scalar(c, v, key);

	if (!s)
		return -EINVAL;
	if (strcmp(s, "true") && strcmp(s, "false"))
		return pb_perr(c, v, "%s: '%s' must be true or false", key, s);
	*out = s[0] == 't';
	return 0;
}

static int pb_get_inherit(struct pb_pctx *c, yaml_node_t *v, int *out)
{
	const char *s = pb_scalar(c, v, "inherit");

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "none"))
		*out = 0;
	else if (!strcmp(s, "children"))
		*out = 1;
	else
		return pb_perr(c, v, "inherit: '%s' must be none or children", s);
	return 0;
}

/* A scalar into a fixed buffer: non-empty, fits, printable. */
static int pb_get_text(struct pb_pctx *c, yaml_node_t *n, const char *key, char *out, size_t len)
{
	const char *s = pb_scalar(c, n, key);

	if (!s)
		return -EINVAL;
	if (!*s)
		return pb_perr(c, n, "%s must not be empty", key);
	if (strlen(s) >= len)
		return pb_perr(c, n, "%s is longer than %zu characters", key, len - 1);
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20)
			return pb_perr(c, n, "%s contains a control character", key);
	snprintf(out, len, "%s", s);
	return 0;
}

/* A name (of an identity, of an adopt entry): [A-Za-z0-9._-] only. */
static int pb_get_name(struct pb_pctx *c, yaml_node_t *v, char *out, size_t len)
{
	if (pb_get_text(c, v, "name", out, len))
		return -EINVAL;
	for (const char *q = out; *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("._-", *q))
			return pb_perr(c, v, "name: '%s' may use only [A-Za-z0-9._-]", out);
	return 0;
}

/* A sequence node: calls fn for each item, at most max of them. */
static int pb_walk_seq(struct pb_pctx *c, yaml_node_t *seq, const char *what, unsigned int max,
		       int (*fn)(struct pb_pctx *c, yaml_node_t *item, unsigned int i, void *obj),
		       void *obj)
{
	unsigned int i = 0;

	if (seq->type != YAML_SEQUENCE_NODE)
		return pb_perr(c, seq, "%s must be a list", what);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++, i++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);
		int err;

		if (i >= max)
			return pb_perr(c, n, "%s: more than %u entries", what, max);
		err = fn(c, n, i, obj);
		if (err)
			return err;
	}
	return 0;
}

static int pb_credentials_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_policy *p = obj;

	if (!strcmp(key, "default_ttl"))
		return pb_get_duration(c, v, key, &p->default_ttl);
	if (!strcmp(key, "max_ttl"))
		return pb_get_duration(c, v, key, &p->max_ttl);
	return pb_get_inherit(c, v, &p->inherit_children);
}

static int pb_limits_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_policy *p = obj;

	if (!strcmp(key, "max_procs"))
		return pb_get_u32(c, v, key, 1024, 1u << 24, &p->max_procs);
	return pb_get_u32(c, v, key, 16, 1u << 20, &p->max_creds);
}

/* ---- destinations: scope, protected, exempt ---- */

/* What a list of rules takes besides cidr, ports and protocol. */
#define PB_RULES_IDENTITY 1 /* protected: identity, required */
#define PB_RULES_APPROVAL 2 /* scope, protected: requires_approval */

struct pb_rule_ctx {
	struct pb_rule *rules;
	const char *what;
	int with; /* PB_RULES_* */
	const struct pb_policy *policy;
};

static int pb_rule_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_rule_ctx *rc = obj;
	struct pb_rule *r = rc->rules;
	const char *s = pb_scalar(c, v, key), *why;

	if (!s)
		return -EINVAL;
	if (!strcmp(key, "cidr")) {
		if (pb_cidr_parse(s, r, &why))
			return pb_perr(c, v, "%s: cidr '%s': %s", rc->what, s, why);
		return 0;
	}
	if (!strcmp(key, "ports")) {
		if (pb_ports_parse(s, r, &why))
			return pb_perr(c, v, "%s: ports '%s' %s", rc->what, s, why);
		return 0;
	}
	if (!strcmp(key, "protocol")) {
		if (pb_proto_parse(s, r))
			return pb_perr(c, v, "%s: protocol '%s' must be tcp, udp or any", rc->what,
				       s);
		return 0;
	}
	if (!strcmp(key, "requires_approval")) {
		int on = 0;

		if (pb_get_bool(c, v, key, &on))
			return -EINVAL;
		r->flags = on ? PB_RULE_APPROVAL : 0;
		return 0;
	}
	/* identity (protected only) */
	{
		const struct pb_identity *id = pb_policy_identity(rc->policy, s);

		if (!id)
			return pb_perr(c, v, "%s: identity '%s' is not defined under identities",
				       rc->what, s);
		r->ident = id->id;
	}
	return 0;
}

static int pb_rule_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	static const char *const keys_prot[] = {"cidr",	    "ports",		 "protocol",
						"identity", "requires_approval", NULL};
	static const char *const keys_scope[] = {"cidr", "ports", "protocol", "requires_approval",
						 NULL};
	static const char *const keys_plain[] = {"cidr", "ports", "protocol", NULL};
	struct pb_rule_ctx *rc = obj, one = *rc;
	const char *const *keys = (rc->with & PB_RULES_IDENTITY)   ? keys_prot
				  : (rc->with & PB_RULES_APPROVAL) ? keys_scope
								   : keys_plain;
	unsigned int seen = 0;
	int err;

	one.rules = &rc->rules[i];
	memset(one.rules, 0, sizeof(*one.rules));
	err = pb_walk_mapping_seen(c, n, rc->what, keys, pb_rule_member, &one, &seen);
	if (!err)
		err = pb_require(c, n, rc->what, keys,
				 (rc->with & PB_RULES_IDENTITY) ? 0xf : 0x7, seen);
	return err;
}

static int pb_get_rules_max(struct pb_pctx *c, yaml_node_t *v, const char *what, int with,
			    const struct pb_policy *p, struct pb_rule *rules, unsigned int max,
			    unsigned int *n)
{
	struct pb_rule_ctx rc = {.rules = rules, .what = what, .with = with, .policy = p};
	int err;

	err = pb_walk_seq(c, v, what, max, pb_rule_item, &rc);
	if (!err)
		*n = v->data.sequence.items.top - v->data.sequence.items.start;
	return err;
}

static int pb_get_rules(struct pb_pctx *c, yaml_node_t *v, const char *what, int with,
			const struct pb_policy *p, struct pb_rule *rules, unsigned int *n)
{
	return pb_get_rules_max(c, v, what, with, p, rules, PB_MAX_RULES, n);
}

/* ---- requests: what a proof may be asked for ---- */

static int pb_request_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_request_rule *r = obj;
	const char *star;

	if (!strcmp(key, "requires_approval"))
		return pb_get_bool(c, v, key, &r->requires_approval);
	if (!strcmp(key, "method")) {
		if (pb_get_text(c, v, "method", r->method, sizeof(r->method)))
			return -EINVAL;
		for (const char *q = r->method; *q; q++)
			if (!isupper((unsigned char)*q))
				return pb_perr(c, v, "requests: method '%s' must be upper case "
						     "letters (GET, POST, ...)",
					       r->method);
		return 0;
	}
	if (pb_get_text(c, v, "url", r->url, sizeof(r->url)))
		return -EINVAL;
	if (strpbrk(r->url, " \t"))
		return pb_perr(c, v, "requests: url '%s' contains a space", r->url);
	star = strchr(r->url, '*');
	if (star && star[1])
		return pb_perr(c, v, "requests: url '%s': '*' may only end it (a prefix)", r->url);
	return 0;
}

static int pb_request_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	static const char *const keys[] = {"method", "url", "requires_approval", NULL};
	struct pb_identity *id = obj;
	unsigned int seen = 0;
	int err;

	memset(&id->requests[i], 0, sizeof(id->requests[i]));
	err = pb_walk_mapping_seen(c, n, "a request", keys, pb_request_member, &id->requests[i],
				   &seen);
	if (!err)
		err = pb_require(c, n, "requests", keys, 0x3, seen);
	if (!err)
		id->nrequests = i + 1;
	return err;
}

/* ---- identities ---- */

struct pb_ident_ctx {
	struct pb_policy *p;
	struct pb_identity *id;
};

static int pb_k8s_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_identity *id = obj;

	if (!strcmp(key, "namespace"))
		return pb_get_text(c, v, "kubernetes.namespace", id->k8s_namespace,
				   sizeof(id->k8s_namespace));
	if (!strcmp(key, "container"))
		return pb_get_text(c, v, "kubernetes.container", id->k8s_container,
				   sizeof(id->k8s_container));
	if (pb_get_text(c, v, "kubernetes.pod", id->k8s_pod, sizeof(id->k8s_pod)))
		return -EINVAL;
	if (pb_glob_valid(id->k8s_pod))
		return pb_perr(c, v, "kubernetes.pod: '%s' is not a valid pattern", id->k8s_pod);
	return 0;
}

static int pb_cgroup_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	struct pb_identity *id = obj;
	char *pat = id->cgroups[i];

	if (pb_get_text(c, n, "match.cgroups", pat, PB_PATH_LEN))
		return -EINVAL;
	if (pat[0] != '/')
		return pb_perr(c, n,
			       "match.cgroups: '%s' must start with '/' (below the cgroup v2 root)",
			       pat);
	if (pb_glob_valid(pat))
		return pb_perr(c, n, "match.cgroups: '%s' is not a valid pattern", pat);
	id->ncgroups = i + 1;
	return 0;
}

static int pb_exe_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	struct pb_identity *id = obj;
	char *path = id->exes[i];

	if (pb_get_text(c, n, "match.executables", path, PB_PATH_LEN))
		return -EINVAL;
	if (path[0] != '/' || strpbrk(path, "*?["))
		return pb_perr(
		    c, n, "match.executables: '%s' must be an absolute path, no patterns", path);
	id->nexes = i + 1;
	return 0;
}

static int pb_match_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	static const char *const k8s_keys[] = {"namespace", "pod", "container", NULL};
	struct pb_identity *id = obj;

	if (!strcmp(key, "cgroups"))
		return pb_walk_seq(c, v, "match.cgroups", PB_MAX_CG_PATTERNS, pb_cgroup_item, id);
	if (!strcmp(key, "executables"))
		return pb_walk_seq(c, v, "match.executables", PB_MAX_EXES, pb_exe_item, id);
	id->has_k8s = 1;
	return pb_walk_mapping(c, v, "match.kubernetes", k8s_keys, pb_k8s_member, id);
}

/* "2027-06-30" (midnight UTC) or "2027-06-30T12:00:00Z". */
static int pb_parse_date(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *end;

	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end)
		return -EINVAL;
	if (*end) {
		end = strptime(end, "T%H:%M:%SZ", &tm);
		if (!end || *end)
			return -EINVAL;
	}
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -EINVAL : 0;
}

static int pb_ident_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	static const char *const match_keys[] = {"cgroups", "kubernetes", "executables", NULL};
	struct pb_ident_ctx *ic = obj;
	struct pb_identity *id = ic->id;
	const char *s;

	if (!strcmp(key, "name")) {
		if (pb_get_name(c, v, id->name, sizeof(id->name)))
			return -EINVAL;
		for (struct pb_identity *o = ic->p->ident; o < id; o++) {
			if (!strcmp(o->name, id->name))
				return pb_perr(c, v, "duplicate identity name '%s'", id->name);
			if (o->id == pb_ident_id(id->name))
				return pb_perr(c, v, "identity '%s' hashes like '%s'; rename one",
					       id->name, o->name);
		}
		id->id = pb_ident_id(id->name);
		return 0;
	}
	if (!strcmp(key, "owner"))
		return pb_get_text(c, v, "owner", id->owner, sizeof(id->owner));
	if (!strcmp(key, "purpose"))
		return pb_get_text(c, v, "purpose", id->purpose, sizeof(id->purpose));
	if (!strcmp(key, "expires")) {
		s = pb_scalar(c, v, key);
		if (!s)
			return -EINVAL;
		if (pb_parse_date(s, &id->expires))
			return pb_perr(c, v,
				       "expires: '%s' is not a date (YYYY-MM-DD or "
				       "YYYY-MM-DDTHH:MM:SSZ)",
				       s);
		return 0;
	}
	if (!strcmp(key, "max_ttl"))
		return pb_get_duration(c, v, key, &id->max_ttl);
	if (!strcmp(key, "inherit"))
		return pb_get_inherit(c, v, &id->inherit_children);
	if (!strcmp(key, "allow_traced"))
		return pb_get_bool(c, v, key, &id->allow_traced);
	if (!strcmp(key, "requests"))
		return pb_walk_seq(c, v, "requests", PB_MAX_REQUESTS, pb_request_item, id);
	if (!strcmp(key, "approvals")) {
		s = pb_scalar(c, v, key);
		if (!s)
			return -EINVAL;
		if (strcmp(s, "local") && strcmp(s, "signed"))
			return pb_perr(c, v, "approvals: '%s' must be local or signed", s);
		id->approvals_signed = !strcmp(s, "signed");
		return 0;
	}
	if (!strcmp(key, "match")) {
		int err = pb_walk_mapping(c, v, "match", match_keys, pb_match_member, id);

		if (!err && !id->ncgroups && !id->has_k8s && !id->nexes)
			err = pb_perr(c, v, "match: give cgroups, kubernetes or executables");
		return err;
	}
	/* scope */
	{
		int err = pb_get_rules(c, v, "scope", PB_RULES_APPROVAL, ic->p, id->scope,
				       &id->nscope);

		if (!err && !id->nscope)
			err = pb_perr(c, v, "scope: an identity needs at least one destination");
		return err;
	}
}

static int pb_ident_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	static const char *const keys[] = {"name",	   "owner",    "purpose",   "expires",
					   "max_ttl",	   "inherit",  "match",	    "scope",
					   "allow_traced", "requests", "approvals", NULL};
	struct pb_policy *p = obj;
	struct pb_ident_ctx ic = {.p = p, .id = &p->ident[i]};
	unsigned int seen = 0;
	int err;

	memset(ic.id, 0, sizeof(*ic.id));
	ic.id->max_ttl = p->max_ttl;
	ic.id->inherit_children = p->inherit_children;
	err = pb_walk_mapping_seen(c, n, "an identity", keys, pb_ident_member, &ic, &seen);
	if (err)
		return err;
	p->nident = i + 1;
	/* name, owner, purpose, expires, match, scope: an identity without an
	 * owner, a purpose, an expiry or a scope is floating, and refused. */
	err = pb_require(c, n, "identity", keys, 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80, seen);
	if (!err && ic.id->max_ttl > p->max_ttl)
		err = pb_perr(c, n, "identity '%s': max_ttl exceeds credentials.max_ttl",
			      ic.id->name);
	return err;
}

/* ---- adopt: files the pods already have ---- */

struct pb_adopt_ctx {
	struct pb_policy *p;
	struct pb_adopt *ad;
};

static int pb_holder_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_adopt *ad = obj;

	(void)key; /* executable */
	if (pb_get_text(c, v, "holder.executable", ad->holder_exe, sizeof(ad->holder_exe)))
		return -EINVAL;
	if (ad->holder_exe[0] != '/' || strpbrk(ad->holder_exe, "*?["))
		return pb_perr(c, v,
			       "holder.executable: '%s' must be an absolute path (as the "
			       "container sees it), no patterns",
			       ad->holder_exe);
	ad->holder = PB_HOLDER_EXE;
	return 0;
}

static int pb_adopt_path(struct pb_pctx *c, yaml_node_t *v, struct pb_adopt *ad)
{
	const char *q;

	if (pb_get_text(c, v, "path", ad->path, sizeof(ad->path)))
		return -EINVAL;
	if (ad->path[0] != '/' || ad->path[strlen(ad->path) - 1] == '/' || strpbrk(ad->path, "*?["))
		return pb_perr(c, v,
			       "path: '%s' must be the absolute path of a file as the container "
			       "sees it, no patterns",
			       ad->path);
	for (q = ad->path; (q = strstr(q, "/..")); q += 3)
		if (q[3] == '/' || !q[3])
			return pb_perr(c, v, "path: '%s' may not contain '..'", ad->path);
	return 0;
}

static int pb_adopt_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	static const char *const match_keys[] = {"cgroups", "kubernetes", NULL};
	static const char *const holder_keys[] = {"executable", NULL};
	struct pb_adopt_ctx *ac = obj;
	struct pb_adopt *ad = ac->ad;

	if (!strcmp(key, "name")) {
		if (pb_get_name(c, v, ad->name, sizeof(ad->name)))
			return -EINVAL;
		for (struct pb_adopt *o = ac->p->adopt; o < ad; o++)
			if (!strcmp(o->name, ad->name))
				return pb_perr(c, v, "duplicate adopt name '%s'", ad->name);
		return 0;
	}
	if (!strcmp(key, "path"))
		return pb_adopt_path(c, v, ad);
	if (!strcmp(key, "match")) {
		int err = pb_walk_mapping(c, v, "match", match_keys, pb_match_member, &ad->match);

		if (!err && !ad->match.ncgroups && !ad->match.has_k8s)
			err = pb_perr(c, v,
				      "match: give cgroups or kubernetes (the containers "
				      "whose file this is)");
		return err;
	}
	if (!strcmp(key, "holder")) {
		if (v->type == YAML_MAPPING_NODE)
			return pb_walk_mapping(c, v, "holder", holder_keys, pb_holder_member, ad);
		if (v->type != YAML_SCALAR_NODE || strcmp((char *)v->data.scalar.value, "main"))
			return pb_perr(c, v, "holder: must be main or {executable: PATH}");
		ad->holder = PB_HOLDER_MAIN;
		return 0;
	}
	if (!strcmp(key, "inherit"))
		return pb_get_inherit(c, v, &ad->inherit_children);
	if (!strcmp(key, "identity")) {
		const struct pb_identity *id;

		if (pb_get_text(c, v, "identity", ad->identity, sizeof(ad->identity)))
			return -EINVAL;
		id = pb_policy_identity(ac->p, ad->identity);
		if (!id)
			return pb_perr(c, v, "identity: '%s' is not defined under identities",
				       ad->identity);
		ad->ident = id->id;
		return 0;
	}
	/* protect */
	{
		int err = pb_get_rules_max(c, v, "protect", 0, ac->p, ad->protect,
					   PB_MAX_ADOPT_RULES, &ad->nprotect);

		if (!err && !ad->nprotect)
			err = pb_perr(c, v,
				      "protect: give at least one destination, or leave "
				      "protect out");
		return err;
	}
}

static int pb_adopt_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	static const char *const keys[] = {"name",    "path",	  "match",   "holder",
					   "inherit", "identity", "protect", NULL};
	struct pb_policy *p = obj;
	struct pb_adopt_ctx ac = {.p = p, .ad = &p->adopt[i]};
	unsigned int seen = 0;
	int err;

	memset(ac.ad, 0, sizeof(*ac.ad));
	err = pb_walk_mapping_seen(c, n, "an adopt entry", keys, pb_adopt_member, &ac, &seen);
	if (err)
		return err;
	p->nadopt = i + 1;
	/* name, path, match */
	return pb_require(c, n, "adopt entry", keys, 0x1 | 0x2 | 0x4, seen);
}

/* ---- approvers ---- */

/* An Ed25519 public key: base64 or base64url text, or a file (a path
 * starting with "/", "./" or "../"; relative to the policy's directory)
 * holding the 32 bytes or that text. */
static int pb_key_text(const char *t, unsigned char key[32])
{
	static const int variants[] = {
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING, sodium_base64_VARIANT_URLSAFE,
	    sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING};
	size_t n = strcspn(t, " \t\r\n"), len;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (!sodium_base642bin(key, 32, t, n, NULL, &len, NULL, variants[i]) && len == 32)
			return 0;
	return -EINVAL;
}

static int pb_get_key(struct pb_pctx *c, yaml_node_t *v, unsigned char key[32])
{
	const char *s = pb_scalar(c, v, "key"), *slash;
	char path[PATH_MAX], buf[256];
	ssize_t n;
	int fd;

	if (!s)
		return -EINVAL;
	if (s[0] != '/' && strncmp(s, "./", 2) && strncmp(s, "../", 3)) {
		if (pb_key_text(s, key))
			return pb_perr(c, v, "approvers: key '%.40s' is not an Ed25519 public key "
					     "(32 bytes as base64, or a file path)",
				       s);
		return 0;
	}
	slash = strrchr(c->name, '/');
	if (s[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", s);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->name), c->name, s);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pb_perr(c, v, "approvers: key file %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == 32) {
		memcpy(key, buf, 32);
		return 0;
	}
	buf[n > 0 ? n : 0] = 0;
	if (n <= 0 || pb_key_text(buf, key))
		return pb_perr(c, v, "approvers: key file %s holds no Ed25519 public key", path);
	return 0;
}

struct pb_approver_ctx {
	struct pb_policy *p;
	struct pb_approver *ap;
};

static int pb_approver_ident(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	struct pb_approver_ctx *ac = obj;
	const char *s = pb_scalar(c, n, "identities");
	const struct pb_identity *id;

	(void)i;
	if (!s)
		return -EINVAL;
	id = pb_policy_identity(ac->p, s);
	if (!id)
		return pb_perr(c, n, "approvers: identity '%s' is not defined under identities", s);
	ac->ap->idents |= 1ULL << (id - ac->p->ident);
	return 0;
}

static int pb_approver_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct pb_approver_ctx *ac = obj;
	struct pb_approver *ap = ac->ap;

	if (!strcmp(key, "name")) {
		if (pb_get_name(c, v, ap->name, sizeof(ap->name)))
			return -EINVAL;
		for (struct pb_approver *o = ac->p->approvers; o < ap; o++)
			if (!strcmp(o->name, ap->name))
				return pb_perr(c, v, "duplicate approver name '%s'", ap->name);
		return 0;
	}
	if (!strcmp(key, "key"))
		return pb_get_key(c, v, ap->key);
	return pb_walk_seq(c, v, "identities", PB_MAX_IDENTITIES, pb_approver_ident, ac);
}

static int pb_approver_item(struct pb_pctx *c, yaml_node_t *n, unsigned int i, void *obj)
{
	static const char *const keys[] = {"name", "key", "identities", NULL};
	struct pb_policy *p = obj;
	struct pb_approver_ctx ac = {.p = p, .ap = &p->approvers[i]};
	unsigned int seen = 0;
	int err;

	memset(ac.ap, 0, sizeof(*ac.ap));
	err = pb_walk_mapping_seen(c, n, "an approver", keys, pb_approver_member, &ac, &seen);
	if (!err)
		err = pb_require(c, n, "approver", keys, 0x3, seen);
	if (!err)
		p->napprovers = i + 1;
	return err;
}

static int pb_top_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	static const char *const cred_keys[] = {"default_ttl", "max_ttl", "inherit", NULL};
	static const char *const limit_keys[] = {"max_procs", "max_creds", NULL};
	struct pb_policy *p = obj;
	const char *s;
	int m;

	if (!strcmp(key, "version")) {
		s = pb_scalar(c, v, key);
		if (!s)
			return -EINVAL;
		if (strcmp(s, "1"))
			return pb_perr(c, v, "version: '%s' is not supported (expected 1)", s);
		return 0;
	}
	if (!strcmp(key, "mode")) {
		s = pb_scalar(c, v, key);
		if (!s)
			return -EINVAL;
		m = pb_mode_parse(s);
		if (m < 0)
			return pb_perr(c, v, "mode: '%s' must be enforce or monitor", s);
		p->mode = m;
		return 0;
	}
	if (!strcmp(key, "credentials"))
		return pb_walk_mapping(c, v, "credentials", cred_keys, pb_credentials_member, p);
	if (!strcmp(key, "limits"))
		return pb_walk_mapping(c, v, "limits", limit_keys, pb_limits_member, p);
	if (!strcmp(key, "identities"))
		return pb_walk_seq(c, v, "identities", PB_MAX_IDENTITIES, pb_ident_item, p);
	if (!strcmp(key, "protected"))
		return pb_get_rules(c, v, "protected", PB_RULES_IDENTITY | PB_RULES_APPROVAL, p,
				    p->prot, &p->nprot);
	if (!strcmp(key, "adopt"))
		return pb_walk_seq(c, v, "adopt", PB_MAX_ADOPT, pb_adopt_item, p);
	if (!strcmp(key, "approvers"))
		return pb_walk_seq(c, v, "approvers", PB_MAX_APPROVERS, pb_approver_item, p);
	return pb_get_rules(c, v, "exempt", 0, p, p->exempt, &p->nexempt);
}

void pb_policy_defaults(struct pb_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = PB_MODE_ENFORCE;
	p->default_ttl = 15ULL * 60 * 1000000000ULL;
	p->max_ttl = 24ULL * 3600 * 1000000000ULL;
	p->max_procs = 0; /* kernel.pid_max, read by the agent */
	p->max_creds = PB_DEFAULT_MAX_CREDS;
}

void pb_policy_free(struct pb_policy *p)
{
	free(p->ident);
	p->ident = NULL;
	p->nident = 0;
	free(p->adopt);
	p->adopt = NULL;
	p->nadopt = 0;
}

/* Keys are walked in file order, but credentials (the defaults an identity
 * inherits) and identities (which protected names) must be read first. */
static yaml_node_t *pb_top_get(struct pb_pctx *c, yaml_node_t *root, const char *key)
{
	if (root->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(c->doc, pr->value);
	}
	return NULL;
}

static int pb_first_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	if (strcmp(key, "credentials") && strcmp(key, "identities"))
		return 0;
	return pb_top_member(c, key, v, obj);
}

static int pb_rest_member(struct pb_pctx *c, const char *key, yaml_node_t *v, void *obj)
{
	if (!strcmp(key, "credentials") || !strcmp(key, "identities"))
		return 0;
	return pb_top_member(c, key, v, obj);
}

int pb_policy_parse(const char *text, size_t len, const char *name, struct pb_policy *out,
		    char *err, size_t errlen)
{
	static const char *const top_keys[] = {"version",   "mode",	  "credentials",
					       "limits",    "identities", "protected",
					       "exempt",    "adopt",	  "approvers",
					       NULL};
	struct pb_pctx c = {.name = name, .err = err, .errlen = errlen};
	unsigned char hash[16];
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct pb_policy p;
	int ret;

	pb_policy_defaults(&p);
	if (sodium_init() < 0)
		return -ENOMEM;
	p.ident = calloc(PB_MAX_IDENTITIES, sizeof(*p.ident));
	p.adopt = calloc(PB_MAX_ADOPT, sizeof(*p.adopt));
	if (!p.ident || !p.adopt) {
		pb_policy_free(&p);
		return -ENOMEM;
	}
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)text, len, NULL, 0);
	for (size_t i = 0; i < sizeof(hash); i++)
		snprintf(p.version + 2 * i, 3, "%02x", hash[i]);
	if (!yaml_parser_initialize(&parser)) {
		pb_policy_free(&p);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		pb_policy_free(&p);
		return -EINVAL;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = pb_perr(&c, NULL, "empty policy");
	} else {
		/* Check every key first (unknown, duplicate), then read the
		 * sections others depend on, then the rest. */
		ret = pb_walk_mapping(&c, root, "the policy", top_keys, pb_first_member, &p);
		if (!ret)
			ret = pb_walk_mapping(&c, root, "the policy", top_keys, pb_rest_member, &p);
		if (!ret && p.default_ttl > p.max_ttl)
			ret = pb_perr(&c, pb_top_get(&c, root, "credentials"),
				      "credentials: default_ttl exceeds max_ttl");
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret) {
		pb_policy_free(&p);
		return ret;
	}
	*out = p; /* the caller owns what *out held before */
	return 0;
}

uint64_t pb_ident_id(const char *name)
{
	/* FNV-1a: stable across agents and restarts; collisions inside one
	 * policy are refused by the parser. */
	uint64_t h = pb_fnv1a(PB_FNV_INIT, name, strlen(name));

	return h ? h : 1;
}

const struct pb_identity *pb_policy_identity(const struct pb_policy *p, const char *name)
{
	for (unsigned int i = 0; i < p->nident; i++)
		if (!strcmp(p->ident[i].name, name))
			return &p->ident[i];
	return NULL;
}

const struct pb_adopt *pb_policy_adopt(const struct pb_policy *p, const char *name)
{
	for (unsigned int i = 0; i < p->nadopt; i++)
		if (!strcmp(p->adopt[i].name, name))
			return &p->adopt[i];
	return NULL;
}

const struct pb_identity *pb_policy_identity_by_id(const struct pb_policy *p, uint64_t id)
{
	for (unsigned int i = 0; i < p->nident; i++)
		if (p->ident[i].id == id)
			return &p->ident[i];
	return NULL;
}

int pb_identity_cgroups_match(const struct pb_identity *id, const char *cgroup)
{
	for (unsigned int i = 0; i < id->ncgroups; i++)
		if (pb_glob_match(id->cgroups[i], cgroup))
			return 1;
	return !id->ncgroups;
}

int pb_identity_cgroup_match(const struct pb_identity *id, const struct pb_match_subject *s)
{
	if (!pb_identity_cgroups_match(id, s->cgroup))
		return 0;
	if (id->has_k8s) {
		if (!s->k8s || !s->k8s->pod_uid[0] || !s->meta)
			return 0;
		if (id->k8s_namespace[0] && strcmp(id->k8s_namespace, s->meta->namespace_))
			return 0;
		if (id->k8s_pod[0] && !pb_glob_match(id->k8s_pod, s->meta->pod))
			return 0;
		if (id->k8s_container[0] && strcmp(id->k8s_container, s->meta->container))
			return 0;
	}
	return 1;
}

uint64_t pb_policy_cgroup_mask(const struct pb_policy *p, const struct pb_match_subject *s)
{
	uint64_t mask = 0;

	for (unsigned int i = 0; i < p->nident; i++) {
		const struct pb_identity *id = &p->ident[i];

		if ((id->ncgroups || id->has_k8s) && pb_identity_cgroup_match(id, s))
			mask |= 1ULL << i;
	}
	return mask;
}

uint64_t pb_policy_exe_mask(const struct pb_policy *p, const char *exe)
{
	uint64_t mask = 0;

	for (unsigned int i = 0; i < p->nident && exe; i++)
		for (unsigned int j = 0; j < p->ident[i].nexes; j++)
			if (!strcmp(p->ident[i].exes[j], exe))
				mask |= 1ULL << i;
	return mask;
}

const struct pb_approver *pb_policy_approver(const struct pb_policy *p, const char *name)
{
	for (unsigned int i = 0; i < p->napprovers; i++)
		if (!strcmp(p->approvers[i].name, name))
			return &p->approvers[i];
	return NULL;
}

int pb_approver_may(const struct pb_policy *p, const struct pb_approver *ap,
		    const struct pb_identity *id)
{
	if (!ap->idents)
		return 1;
	return id && id >= p->ident && id < p->ident + p->nident &&
	       ((ap->idents >> (id - p->ident)) & 1);
}

const struct pb_request_rule *pb_identity_request(const struct pb_identity *id,
						  const char *method, const char *url)
{
	for (unsigned int i = 0; id && i < id->nrequests; i++)
		if (!strcmp(id->requests[i].method, method) &&
		    pb_url_match(id->requests[i].url, url))
			return &id->requests[i];
	return NULL;
}

void pb_policy_kernel(const struct pb_policy *p, uint32_t mode, struct pb_kpolicy *k)
{
	memset(k, 0, sizeof(*k));
	k->mode = mode;
	k->nident = p->nident;
	for (unsigned int i = 0; i < p->nident; i++) {
		const struct pb_identity *id = &p->ident[i];

		k->ident[i] = id->id;
		if (id->ncgroups || id->has_k8s)
			k->need_cgroup |= 1ULL << i;
		if (id->nexes)
			k->need_exe |= 1ULL << i;
	}
	k->nexempt = p->nexempt;
	memcpy(k->exempt, p->exempt, sizeof(k->exempt));
	k->nprotected = p->nprot;
	memcpy(k->prot, p->prot, sizeof(k->prot));
	for (unsigned int i = 0; i < p->nprot; i++)
		if (p->prot[i].flags & PB_RULE_APPROVAL)
			k->prot_approval |= 1u << i;
}

int pb_policy_load(const char *path, struct pb_policy *p, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f, *mem;
	char chunk[4096];
	size_t n;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	mem = open_memstream(&text, &len);
	if (!mem) {
		fclose(f);
		return -ENOMEM;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	ret = ferror(f) ? -EIO : 0;
	fclose(f);
	fclose(mem);
	if (ret)
		snprintf(err, errlen, "%s: read error", path);
	else
		ret = pb_policy_parse(text, len, path, p, err, errlen);
	free(text);
	return ret;
}
