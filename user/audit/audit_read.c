// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Audit trail readers: verify the whole chain, and scan segments (skipping
 * those whose index rules them out). They work from the files alone, with
 * the agent down. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <zlib.h>

#include "audit.h"
#include "audit_priv.h"
#include "util.h"

struct pb_ckpt {
	uint64_t seq;
	char hash[PB_AUDIT_HASH_HEX + 1];
};

/* "{"seq":N,"prev":"<64 hex>"" -> N and prev. */
static int pb_prefix(const char *l, size_t len, uint64_t *seq, const char **prev)
{
	unsigned long long s;
	size_t n;
	int d;
	const char *p;

	/* By hand: sscanf would strlen the rest of the segment each time. */
	if (len < 20 || memcmp(l, "{\"seq\":", 7))
		return -1;
	d = pb_parse_dec(l + 7, l + len, &s);
	if (d < 0)
		return -1;
	n = 7 + d;
	if (n + 9 > len || memcmp(l + n, ",\"prev\":\"", 9))
		return -1;
	n += 9;
	p = l + n;
	if (n + PB_AUDIT_HASH_HEX + 1 > len || p[PB_AUDIT_HASH_HEX] != '"')
		return -1;
	*seq = s;
	*prev = p;
	return 0;
}

/* A string member's value: "key":"value" -> value (no escapes in these). */
static int pb_member(const char *l, size_t len, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = memmem(l, len, pat, strlen(pat));
	if (!p)
		return -1;
	p += strlen(pat);
	q = memchr(p, '"', l + len - p);
	if (!q || (size_t)(q - p) >= outlen)
		return -1;
	memcpy(out, p, q - p);
	out[q - p] = 0;
	return 0;
}

static int pb_load_ckpts(const char *dir, struct pb_ckpt **out, size_t *n)
{
	char path[PATH_MAX], *b = NULL;
	size_t len = 0, cnt = 0, cap = 0;
	struct pb_ckpt *v = NULL;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/checkpoints.log", dir);
	if (pb_read_all(path, &b, &len))
		return 0; /* none yet */
	for (size_t s = 0; s < len;) {
		char *nl = memchr(b + s, '\n', len - s);
		size_t ll = nl ? (size_t)(nl - (b + s)) : len - s;
		uint64_t seq;
		const char *prev;

		if (ll && !pb_prefix(b + s, ll, &seq, &prev)) {
			if (cnt == cap) {
				struct pb_ckpt *nv;

				cap = cap ? cap * 2 : 256;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					free(v);
					free(b);
					return -ENOMEM;
				}
				v = nv;
			}
			v[cnt].seq = seq;
			pb_audit_hash_hex(b + s, ll, v[cnt].hash);
			cnt++;
		}
		s += ll + 1;
	}
	free(b);
	*out = v;
	*n = cnt;
	return 0;
}

static int pb_check_sig(const char *l, size_t len, const char *event, uint64_t seq,
			const char *prev, const unsigned char pk[32])
{
	char t[48], sighex[160], msg[256];
	unsigned char sig[64];
	size_t siglen = 0;

	if (pb_member(l, len, "time", t, sizeof(t)) ||
	    pb_member(l, len, "sig", sighex, sizeof(sighex)))
		return -1;
	if (sodium_hex2bin(sig, sizeof(sig), sighex, strlen(sighex), NULL, &siglen, NULL) ||
	    siglen != sizeof(sig))
		return -1;
	snprintf(msg, sizeof(msg), "pbaudit1 %s %" PRIu64 " %.*s %s", event, seq, PB_AUDIT_HASH_HEX,
		 prev, t);
	return crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk);
}

/* Where a verification is: what comes next, and what the records so far
 * promised. */
/* Both absent, or equal. */
static int pb_json_same(json_t *x, json_t *y)
{
	return (!x && !y) || (x && y && json_equal(x, y));
}

/* Is from (an object of the record a reference names) the full description
 * of what ref (the reference) names: no reference itself, and the same
 * process (pid, start_time) or credential (id)? */
static int pb_ref_target_ok(json_t *from, json_t *ref)
{
	return json_is_object(from) && !json_object_get(from, "described_in") &&
	       pb_json_same(json_object_get(from, "pid"), json_object_get(ref, "pid")) &&
	       pb_json_same(json_object_get(from, "start_time"),
			    json_object_get(ref, "start_time")) &&
	       pb_json_same(json_object_get(from, "id"), json_object_get(ref, "id"));
}

struct pb_verify {
	const unsigned char *pk;
	const struct pb_ckpt *ck; /* checkpoints.log, in seq order */
	size_t nck, ci;		  /* ci: the next checkpoint to meet */
	uint64_t expect;	  /* the seq the next record must have */
	uint64_t nrecords;
	char prevhash[PB_AUDIT_HASH_HEX + 1];
	char prevname[64]; /* the segment before this one */
	/* the segment being read */
	char name[64];
	size_t index, lineno;
	int last_was_seal;
	char *err;
	size_t errlen;
};

#define BAD(...) pb_errf(v->err, v->errlen, -EBADMSG, __VA_ARGS__)

/* One record, l (ll bytes, no newline): in sequence, chained, signed where
 * it must be, in its place in the segment, and equal to its checkpoint. */
static int pb_verify_record(struct pb_verify *v, const char *l, size_t ll)
{
	const char *prev, *name = v->name;
	char ev[32] = "";
	size_t lineno = ++v->lineno;
	uint64_t seq;

	if (pb_prefix(l, ll, &seq, &prev))
		return BAD("%s line %zu (after seq %" PRIu64 "): not a record", name, lineno,
			   v->expect - 1);
	if (seq != v->expect)
		return BAD("%s line %zu: seq %" PRIu64 " where %" PRIu64
			   " was expected: a record was deleted, inserted or reordered",
			   name, lineno, seq, v->expect);
	if (memcmp(prev, v->prevhash, PB_AUDIT_HASH_HEX))
		return BAD("%s line %zu: seq %" PRIu64 " does not chain to seq %" PRIu64
			   ": that record was edited, or records were replaced",
			   name, lineno, seq, seq - 1);
	pb_member(l, ll, "event", ev, sizeof(ev));
	if ((!strcmp(ev, "checkpoint") || !strcmp(ev, "seal")) &&
	    pb_check_sig(l, ll, ev, seq, prev, v->pk))
		return BAD("%s line %zu: the %s at seq %" PRIu64
			   " has no valid signature for this node key",
			   name, lineno, ev, seq);
	if (!strcmp(ev, "seal")) {
		char sn[64] = "";

		if (pb_member(l, ll, "segment", sn, sizeof(sn)) || strcmp(sn, name))
			return BAD("%s line %zu: seal at seq %" PRIu64 " names segment '%s'", name,
				   lineno, seq, sn);
	}
	if (!strcmp(ev, "segment_start")) {
		char pn[64] = "";

		if (lineno != 1 || !v->index)
			return BAD("%s line %zu: segment_start at seq %" PRIu64
				   " is not the first record of a later segment",
				   name, lineno, seq);
		if (pb_member(l, ll, "previous_segment", pn, sizeof(pn)) || strcmp(pn, v->prevname))
			return BAD("%s: links to '%s', but the segment before it is '%s'", name, pn,
				   v->prevname);
	} else if (lineno == 1 && v->index) {
		return BAD("%s: does not start with a segment_start record", name);
	}
	if (v->last_was_seal)
		return BAD("%s line %zu: seq %" PRIu64 " follows the segment's seal", name, lineno,
			   seq);
	v->last_was_seal = !strcmp(ev, "seal");
	pb_audit_hash_hex(l, ll, v->prevhash);
	while (v->ci < v->nck && v->ck[v->ci].seq < seq)
		v->ci++;
	if (v->ci < v->nck && v->ck[v->ci].seq == seq) {
		if (memcmp(v->ck[v->ci].hash, v->prevhash, PB_AUDIT_HASH_HEX))
			return BAD("%s line %zu: seq %" PRIu64
				   " differs from the checkpoint recorded in checkpoints.log",
				   name, lineno, seq);
		v->ci++;
	}
	v->expect++;
	v->nrecords++;
	return 0;
}

/* The references of record seq (l, ll bytes) in the segment b, whose line
 * i starts at off[i] (n lines so far, this one the last): each names an
 * earlier record of the same segment that describes the same process or
 * credential in full. */
static int pb_verify_refs(struct pb_verify *v, const char *b, const size_t *off, size_t n,
			  const char *l, size_t ll, uint64_t seq)
{
	static const char *const keys[] = {"process", "credential"};
	uint64_t first = seq - (n - 1);
	json_error_t je;
	json_t *r = json_loadb(l, ll, 0, &je);
	int ret = 0;

	if (!r)
		return BAD("%s: seq %" PRIu64 " refers to another record but is not JSON (%s)",
			   v->name, seq, je.text);
	for (size_t k = 0; !ret && k < 2; k++) {
		json_t *ref = json_object_get(r, keys[k]), *in = NULL;
		json_int_t to;
		const char *tl;

		if (!json_is_object(ref) || !json_object_get(ref, "described_in"))
			continue;
		to = json_integer_value(json_object_get(ref, "described_in"));
		if (to < (json_int_t)first || (uint64_t)to >= seq) {
			ret = BAD("%s: seq %" PRIu64 "'s %s refers to seq %lld, not an earlier "
				  "record of its segment (seq %" PRIu64 " on)",
				  v->name, seq, keys[k], (long long)to, first);
			break;
		}
		tl = b + off[to - first];
		in = json_loadb(tl, (size_t)((const char *)memchr(tl, '\n', ll + (l - tl)) - tl), 0,
				&je);
		if (!in || !pb_ref_target_ok(json_object_get(in, keys[k]), ref))
			ret = BAD("%s: seq %" PRIu64 "'s %s refers to seq %lld, which does not "
				  "describe it",
				  v->name, seq, keys[k], (long long)to);
		json_decref(in);
	}
	json_decref(r);
	return ret;
}

/* One segment: where it starts, each whole record, a tear, its seal, and
 * each reference to an earlier record. */
static int pb_verify_segment(struct pb_verify *v, const char *dir, const struct pb_seg *seg,
			     int last)
{
	char path[PATH_MAX], *b = NULL;
	size_t len = 0, s = 0, *off = NULL, noff = 0, cap = 0;
	int ret, torn;

	snprintf(v->name, sizeof(v->name), "seg-%016" PRIu64 ".jsonl", seg->first);
	v->lineno = 0;
	v->last_was_seal = 0;
	if (!seg->plain && !seg->gz)
		return BAD("%s: index without its segment: the segment is missing", v->name);
	if (seg->first != v->expect)
		return BAD("%s starts at seq %" PRIu64 " but seq %" PRIu64 " comes next: %s",
			   v->name, seg->first, v->expect,
			   seg->first > v->expect ? "a segment (or its end) is missing"
						  : "segments overlap");
	pb_seg_file(dir, seg, path, sizeof(path));
	ret = pb_read_all(path, &b, &len);
	if (ret)
		return pb_errf(v->err, v->errlen, ret, "%s: cannot read: %s", path, strerror(-ret));
	torn = len && b[len - 1] != '\n';
	while (torn && len && b[len - 1] != '\n')
		len--; /* check the whole records first */
	while (!ret && s < len) {
		size_t ll = (size_t)((char *)memchr(b + s, '\n', len - s) - (b + s));
		uint64_t seq = v->expect;

		if (noff == cap) {
			size_t *n2 = realloc(off, (cap = cap ? cap * 2 : 4096) * sizeof(*off));

			if (!n2) {
				ret = pb_errf(v->err, v->errlen, -ENOMEM, "%s: out of memory",
					      v->name);
				break;
			}
			off = n2;
		}
		off[noff++] = s;
		ret = pb_verify_record(v, b + s, ll);
		if (!ret && memmem(b + s, ll, "\"described_in\":", 15))
			ret = pb_verify_refs(v, b, off, noff, b + s, ll, seq);
		s += ll + 1;
	}
	free(off);
	free(b);
	if (ret)
		return ret;
	if (torn)
		return BAD("%s: the record after seq %" PRIu64
			   " is torn: the file was cut in the middle of a record",
			   v->name, v->expect - 1);
	if (!last && !v->last_was_seal)
		return BAD("%s: ends at seq %" PRIu64
			   " without a seal, and another segment follows",
			   v->name, v->expect - 1);
	snprintf(v->prevname, sizeof(v->prevname), "%s", v->name);
	return 0;
}

int pb_audit_verify(const char *dir, const unsigned char pk[32], uint64_t *nrecords, char *err,
		    size_t errlen)
{
	struct pb_verify v = {.pk = pk, .expect = 1, .err = err, .errlen = errlen};
	struct pb_seg *segs = NULL;
	struct pb_ckpt *ck = NULL;
	size_t nseg = 0;
	int ret;

	*nrecords = 0;
	if (sodium_init() < 0)
		return -ENOMEM;
	memset(v.prevhash, '0', PB_AUDIT_HASH_HEX);
	ret = pb_segments_list(dir, &segs, &nseg);
	if (ret)
		return pb_errf(err, errlen, ret, "%s: %s", dir, strerror(-ret));
	if (!nseg) {
		free(segs);
		return pb_errf(err, errlen, -ENOENT, "%s: no audit segments", dir);
	}
	ret = pb_load_ckpts(dir, &ck, &v.nck);
	v.ck = ck;
	for (size_t i = 0; !ret && i < nseg; i++) {
		v.index = i;
		ret = pb_verify_segment(&v, dir, &segs[i], i + 1 == nseg);
	}
	if (!ret && v.ci < v.nck)
		ret = pb_errf(err, errlen, -EBADMSG,
			      "the log ends at seq %" PRIu64
			      " but checkpoints.log has a checkpoint at seq %" PRIu64
			      ": records were removed from the end",
			      v.expect - 1, ck[v.ci].seq);
	*nrecords = v.nrecords;
	free(segs);
	free(ck);
	return ret;
}
#undef BAD

/* Does the segment's index hold any of the key hashes? 1 also when there
 * is no index to ask. */
static int pb_idx_has(const char *dir, const struct pb_seg *s, const uint64_t *h, int nh)
{
	char path[PATH_MAX], magic[8];
	uint64_t n, *v;
	FILE *f;
	int hit = 0;

	if (!s->idx || !nh)
		return 1;
	snprintf(path, sizeof(path), "%s/seg-%016" PRIu64 ".idx", dir, s->first);
	f = fopen(path, "re");
	if (!f)
		return 1;
	if (fread(magic, 1, 8, f) != 8 || memcmp(magic, PB_IDX_MAGIC, 8) ||
	    fread(&n, sizeof(n), 1, f) != 1 || n > (1ULL << 32)) {
		fclose(f);
		return 1;
	}
	v = malloc((n + 1) * sizeof(*v));
	if (!v || fread(v, sizeof(*v), n, f) != n) {
		free(v);
		fclose(f);
		return 1;
	}
	fclose(f);
	for (int k = 0; k < nh && !hit; k++) {
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (v[mid] < h[k])
				lo = mid + 1;
			else
				hi = mid;
		}
		hit = lo < n && v[lo] == h[k];
	}
	free(v);
	return hit;
}

/* The records of one segment that describe a process or a credential in
 * full, by seq, for the records after them that refer to them. */
struct pb_descs {
	uint64_t *seq;
	char **line;
	size_t n, cap;
};

static void pb_descs_clear(struct pb_descs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->line[i]);
	d->n = 0;
}

static void pb_descs_add(struct pb_descs *d, const char *line, size_t len)
{
	unsigned long long seq;
	char *copy;

	if (len < 8 || memcmp(line, "{\"seq\":", 7) ||
	    pb_parse_dec(line + 7, line + len, &seq) <= 0)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		uint64_t *ns = realloc(d->seq, cap * sizeof(*ns));
		char **nl;

		if (!ns)
			return;
		d->seq = ns;
		if (!(nl = realloc(d->line, cap * sizeof(*nl))))
			return;
		d->line = nl;
		d->cap = cap;
	}
	if (!(copy = strndup(line, len)))
		return;
	d->seq[d->n] = seq;
	d->line[d->n++] = copy;
}

static const char *pb_descs_find(const struct pb_descs *d, uint64_t seq)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) { /* in log order: ascending */
		size_t mid = lo + (hi - lo) / 2;

		if (d->seq[mid] == seq)
			return d->line[mid];
		if (d->seq[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Put the object key of the record seq refers to into r's key object. */
static void pb_resolve_one(const struct pb_descs *d, json_t *r, const char *key)
{
	json_t *ref = json_object_get(r, key), *in, *from, *whole;
	json_error_t je;
	const char *line;
	json_int_t seq;

	if (!json_is_object(ref) || !json_is_integer(json_object_get(ref, "described_in")))
		return;
	seq = json_integer_value(json_object_get(ref, "described_in"));
	if (seq <= 0 || !(line = pb_descs_find(d, (uint64_t)seq)))
		return; /* not in this segment: left as it is */
	if (!(in = json_loads(line, 0, &je)))
		return;
	from = json_object_get(in, key);
	/* only the same process or credential: the keys must agree */
	if (pb_ref_target_ok(from, ref) && (whole = json_deep_copy(from))) {
		if (json_object_get(ref, "tid"))
			json_object_set(whole, "tid", json_object_get(ref, "tid"));
		json_object_set(whole, "described_in", json_object_get(ref, "described_in"));
		json_object_set_new(r, key, whole);
	}
	json_decref(in);
}

/* fn on the line, whole: its references resolved (see pb_audit_scan). */
static int pb_scan_line(struct pb_descs *d, unsigned int flags, const char *line, size_t len,
			int (*fn)(const char *line, size_t len, void *ctx), void *ctx)
{
	json_error_t je;
	json_t *r;
	char *whole;
	int stop;

	if (flags & PB_SCAN_RAW)
		return fn(line, len, ctx);
	/* a full process has "started_at", a full credential "expires" */
	if (memmem(line, len, "\"started_at\":", 13) || memmem(line, len, "\"expires\":", 10))
		pb_descs_add(d, line, len);
	if (!memmem(line, len, "\"described_in\":", 15) || !(r = json_loadb(line, len, 0, &je)))
		return fn(line, len, ctx);
	pb_resolve_one(d, r, "process");
	pb_resolve_one(d, r, "credential");
	whole = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	if (!whole)
		return fn(line, len, ctx); /* as it is, not dropped */
	stop = fn(whole, strlen(whole), ctx);
	free(whole);
	return stop;
}

/* Stream a plain or gzip segment in chunks, one whole line at a time: a
 * query reads many segments and should not hold or fault in each whole. A
 * last line without its newline (being written) is left out. */
#define PB_SCAN_CHUNK (4u << 20)

static int pb_scan_file(const char *path, unsigned int flags,
			int (*fn)(const char *line, size_t len, void *ctx), void *ctx)
{
	gzFile gz = gzopen(path, "rb");
	size_t cap = PB_SCAN_CHUNK, have = 0;
	struct pb_descs d = {0};
	char *b;
	int stop = 0, r;

	if (!gz)
		return 0; /* rotated or compressed under us: the .gz is next */
	gzbuffer(gz, 1 << 18);
	b = malloc(cap);
	if (!b) {
		gzclose(gz);
		return 0;
	}
	while (!stop && (r = gzread(gz, b + have, cap - have)) > 0) {
		size_t len = have + r, s = 0;

		for (;;) {
			char *nl = memchr(b + s, '\n', len - s);

			if (!nl)
				break;
			stop = pb_scan_line(&d, flags, b + s, nl - (b + s), fn, ctx);
			s = nl - b + 1;
			if (stop)
				break;
		}
		have = len - s;
		memmove(b, b + s, have);
		if (have == cap) { /* a line longer than the chunk */
			char *nb = realloc(b, cap * 2);

			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
	}
	pb_descs_clear(&d);
	free(d.seq);
	free(d.line);
	free(b);
	gzclose(gz);
	return stop;
}

int pb_audit_scan(const char *dir, const char *const *keys, int nkeys,
		  int (*fn)(const char *line, size_t len, void *ctx), void *ctx, char *err,
		  size_t errlen)
{
	return pb_audit_scan_from(dir, 0, 0, keys, nkeys, fn, ctx, err, errlen);
}

int pb_audit_scan_from(const char *dir, uint64_t from_seq, unsigned int flags,
		       const char *const *keys, int nkeys,
		       int (*fn)(const char *line, size_t len, void *ctx), void *ctx, char *err,
		       size_t errlen)
{
	struct pb_seg *segs = NULL;
	size_t nseg = 0;
	uint64_t h[8];
	int ret, stop = 0;

	if (nkeys > 8)
		nkeys = 8;
	for (int k = 0; k < nkeys; k++)
		h[k] = pb_audit_key_hash(keys[k]);
	ret = pb_segments_list(dir, &segs, &nseg);
	if (ret) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < nseg && !stop; i++) {
		char path[PATH_MAX];

		if ((!segs[i].plain && !segs[i].gz) || !pb_idx_has(dir, &segs[i], h, nkeys))
			continue;
		if (i + 1 < nseg && segs[i + 1].first <= from_seq)
			continue; /* wholly before from_seq */
		pb_seg_file(dir, &segs[i], path, sizeof(path));
		stop = pb_scan_file(path, flags, fn, ctx);
	}
	free(segs);
	return 0;
}
