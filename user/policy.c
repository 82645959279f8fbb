// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Policy parsing with libyaml's document API: the whole file is loaded, then
 * walked; unknown keys, wrong types and out-of-range values are errors with
 * the position of the offending node, so a typo never becomes a default. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy.h"
#include "util.h"

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

typedef int (*pb_member_fn)(struct pb_pctx *c, const char *key, yaml_node_t *val,
			    struct pb_policy *p);

/* Walk a mapping node, rejecting duplicate and unknown keys. */
static int pb_walk_mapping(struct pb_pctx *c, yaml_node_t *map, const char *what,
			   const char *const *keys, pb_member_fn fn, struct pb_policy *p)
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
	return 0;
}

static int pb_credentials_member(struct pb_pctx *c, const char *key, yaml_node_t *v,
				 struct pb_policy *p)
{
	const char *s;

	if (!strcmp(key, "default_ttl"))
		return pb_get_duration(c, v, key, &p->default_ttl);
	if (!strcmp(key, "max_ttl"))
		return pb_get_duration(c, v, key, &p->max_ttl);
	/* inherit */
	s = pb_scalar(c, v, key);
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "none"))
		p->inherit_children = 0;
	else if (!strcmp(s, "children"))
		p->inherit_children = 1;
	else
		return pb_perr(c, v, "inherit: '%s' must be none or children", s);
	return 0;
}

static int pb_limits_member(struct pb_pctx *c, const char *key, yaml_node_t *v, struct pb_policy *p)
{
	if (!strcmp(key, "max_procs"))
		return pb_get_u32(c, v, key, 1024, 1u << 24, &p->max_procs);
	return pb_get_u32(c, v, key, 16, 1u << 20, &p->max_creds);
}

static int pb_top_member(struct pb_pctx *c, const char *key, yaml_node_t *v, struct pb_policy *p)
{
	static const char *const cred_keys[] = {"default_ttl", "max_ttl", "inherit", NULL};
	static const char *const limit_keys[] = {"max_procs", "max_creds", NULL};
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
	return pb_walk_mapping(c, v, "limits", limit_keys, pb_limits_member, p);
}

void pb_policy_defaults(struct pb_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = PB_MODE_ENFORCE;
	p->default_ttl = 15ULL * 60 * 1000000000ULL;
	p->max_ttl = 24ULL * 3600 * 1000000000ULL;
	p->max_procs = PB_DEFAULT_MAX_PROCS;
	p->max_creds = PB_DEFAULT_MAX_CREDS;
}

int pb_policy_parse(const char *text, size_t len, const char *name, struct pb_policy *out,
		    char *err, size_t errlen)
{
	static const char *const top_keys[] = {"version", "mode", "credentials", "limits", NULL};
	struct pb_pctx c = {.name = name, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct pb_policy p;
	int ret;

	pb_policy_defaults(&p);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = pb_perr(&c, NULL, "empty policy");
	} else {
		ret = pb_walk_mapping(&c, root, "the policy", top_keys, pb_top_member, &p);
		if (!ret && p.default_ttl > p.max_ttl)
			ret = pb_perr(&c, root, "credentials: default_ttl exceeds max_ttl");
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (!ret)
		*out = p;
	return ret;
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
