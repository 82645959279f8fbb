// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The audit trail writer: chain, buffer, checkpoints, seals, rotation,
 * compression and recovery. See audit.h for the format. One writer per log,
 * single-threaded except for the compression worker, which only ever touches
 * closed segments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libdeflate.h>
#include <sodium.h>
#include <zlib.h>

#include "audit.h"
#include "json.h"
#include "audit_priv.h"
#include "util.h"

#define PB_BUF_FLUSH (1u << 20) /* write() when this much is buffered */

void pb_audit_opts_default(struct pb_audit_opts *o)
{
	o->segment_bytes = 32ULL << 20;
	o->segment_age_ns = 3600ULL * 1000000000ULL;
	o->checkpoint_every = 1000;
	o->checkpoint_ns = 5ULL * 1000000000ULL;
	o->compress = 1;
	o->fsync = 1;
	o->sync_ns = 1000000000ULL;
}

/* ---- keys and the key set of a segment ---- */

/* Copy a JSON string value (no escapes expected in these fields) at p. */
static int pb_str_at(const char *p, const char *end, char *out, size_t len)
{
	const char *q = memchr(p, '"', end - p);

	if (!q || (size_t)(q - p) >= len)
		return -1;
	memcpy(out, p, q - p);
	out[q - p] = 0;
	return 0;
}

static const char *pb_find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	if (s >= end)
		return NULL;
	return memmem(s, end - s, needle, n);
}

/* A string value at p: its length up to the closing quote, or -1. */
static int pb_str_len(const char *p, const char *end, size_t max)
{
	const char *q = memchr(p, '"', end - p);

	return q && (size_t)(q - p) < max ? (int)(q - p) : -1;
}

/* Keys are hashed in pieces: pb_audit_key_hash("pid:42") equals hashing
 * "pid:" then "42", so keys are hashed without being formatted. */
uint64_t pb_audit_key_hash(const char *key)
{
	uint64_t h = pb_fnv1a(PB_FNV_INIT, key, strlen(key));

	return h ? h : 1;
}

#define PB_KEY_PREFIX(k, prefix) [k] = prefix,
const char *const pb_audit_key_prefix[PB_KEY_KINDS] = {PB_AUDIT_KEYS(PB_KEY_PREFIX)};

void pb_audit_key(char *out, size_t len, enum pb_audit_key_kind kind, const char *v1,
		  const char *v2)
{
	snprintf(out, len, "%s%s%s%s", pb_audit_key_prefix[kind], v1, v2 ? ":" : "", v2 ? v2 : "");
}

/* One pass over a record, at each quote: the keys it carries, as up to
 * three pieces (a prefix and one or two values). */
typedef void (*pb_key_parts_fn)(const char *pre, const char *v1, size_t l1, const char *v2,
				size_t l2, void *ctx);

static void pb_key_scan(const char *line, size_t len, pb_key_parts_fn fn, void *ctx)
{
	const char *end = line + len, *p = line;

	/* A byte at a time: a record has some 70 quotes in 500 bytes, and a
	 * call per quote costs more than the loop. */
	for (; p + 7 <= end; p++) {
		size_t left = end - p;
		int n;

		/* Most quotes open other keys or values: look at one byte first. */
		if (p[0] != '"' || (p[1] != 'p' && p[1] != 'i'))
			continue;
		if (!memcmp(p, "\"pid\":", 6)) {
			const char *d = p + 6, *close, *s;
			unsigned long long v;
			int dl = pb_parse_dec(d, end, &v);

			p += 6;
			if (dl <= 0)
				continue;
			fn(pb_audit_key_prefix[PB_KEY_PID], d, dl, NULL, 0, ctx);
			close = memchr(d, '}', end - d);
			s = pb_find(d, close ? close : end, "\"start_time\":");
			if (s) {
				int sl = pb_parse_dec(s + 13, end, &v);

				if (sl > 0)
					fn(pb_audit_key_prefix[PB_KEY_PROCESS], d, dl, s + 13, sl,
					   ctx);
			}
		} else if (left > 11 && !memcmp(p, "\"pod_uid\":\"", 11)) {
			p += 11;
			if ((n = pb_str_len(p, end, 80)) >= 0)
				fn(pb_audit_key_prefix[PB_KEY_POD], p, n, NULL, 0, ctx);
		} else if (left > 12 && !memcmp(p, "\"identity\":\"", 12)) {
			p += 12;
			if ((n = pb_str_len(p, end, 80)) >= 0)
				fn(pb_audit_key_prefix[PB_KEY_IDENTITY], p, n, NULL, 0, ctx);
		} else if (left > 6 && !memcmp(p, "\"id\":\"", 6)) {
			p += 6;
			if ((n = pb_str_len(p, end, 80)) == 16)
				fn(pb_audit_key_prefix[PB_KEY_CREDENTIAL], p, n, NULL, 0, ctx);
		} else {
			p++;
		}
	}
}

struct pb_key_str_ctx {
	void (*fn)(const char *key, void *ctx);
	void *ctx;
};

static void pb_key_str(const char *pre, const char *v1, size_t l1, const char *v2, size_t l2,
		       void *c)
{
	struct pb_key_str_ctx *k = c;
	char key[192];

	if (v2)
		snprintf(key, sizeof(key), "%s%.*s:%.*s", pre, (int)l1, v1, (int)l2, v2);
	else
		snprintf(key, sizeof(key), "%s%.*s", pre, (int)l1, v1);
	k->fn(key, k->ctx);
}

void pb_audit_keys(const char *line, size_t len, void (*fn)(const char *key, void *ctx), void *ctx)
{
	struct pb_key_str_ctx k = {fn, ctx};

	pb_key_scan(line, len, pb_key_str, &k);
}

static void pb_keyset_add(struct pb_keyset *k, uint64_t h)
{
	size_t i;

	if ((k->n + 1) * 2 > k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 1024;
		uint64_t *t = calloc(cap, sizeof(*t));

		if (!t) {
			k->failed = 1; /* no index then: a segment without one is scanned */
			return;
		}
		for (size_t j = 0; j < k->cap; j++) {
			if (!k->slot[j])
				continue;
			for (i = k->slot[j] & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = k->slot[j];
		}
		free(k->slot);
		k->slot = t;
		k->cap = cap;
	}
	for (i = h & (k->cap - 1); k->slot[i]; i = (i + 1) & (k->cap - 1))
		if (k->slot[i] == h)
			return;
	k->slot[i] = h;
	k->n++;
}

static void pb_keyset_parts(const char *pre, const char *v1, size_t l1, const char *v2, size_t l2,
			    void *ctx)
{
	uint64_t h = pb_fnv1a(PB_FNV_INIT, pre, strlen(pre));

	h = pb_fnv1a(h, v1, l1);
	if (v2) {
		h = pb_fnv1a(h, ":", 1);
		h = pb_fnv1a(h, v2, l2);
	}
	pb_keyset_add(ctx, h ? h : 1);
}

static int pb_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* seg-N.idx: "PBIDX1\n\0", count, sorted key hashes. */
static int pb_keyset_write(struct pb_keyset *k, const char *path)
{
	char tmp[PATH_MAX];
	uint64_t *v = malloc((k->n + 1) * sizeof(*v)), n = 0;
	FILE *f;
	int ret = 0;

	if (!v || k->failed) {
		free(v);
		return -ENOMEM; /* an index that missed a key would hide its records */
	}
	for (size_t i = 0; i < k->cap; i++)
		if (k->slot[i])
			v[n++] = k->slot[i];
	qsort(v, n, sizeof(*v), pb_u64_cmp);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		free(v);
		return -errno;
	}
	if (fwrite(PB_IDX_MAGIC, 1, 8, f) != 8 || fwrite(&n, sizeof(n), 1, f) != 1 ||
	    fwrite(v, sizeof(*v), n, f) != n)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	free(v);
	return ret;
}

static void pb_keyset_clear(struct pb_keyset *k)
{
	free(k->slot);
	memset(k, 0, sizeof(*k));
}

/* A closed segment's index (SEG.idx beside SEG.jsonl): the keys of every
 * record in it, read back from the file by the worker, off the thread
 * that reads the ring buffer (scanning each record as it was written cost
 * that thread a tenth of its time in a storm). Until it is there, the
 * readers scan the segment. A record longer than PB_IDX_LINE_MAX, or no
 * memory, and no index is written: one that missed a key would hide the
 * records that carry it. */
#define PB_IDX_CHUNK	(1u << 20)
#define PB_IDX_LINE_MAX (1u << 20)
static int pb_index_file(const char *src)
{
	char idx[PATH_MAX];
	struct pb_keyset k = {0};
	char *buf = malloc(PB_IDX_CHUNK + PB_IDX_LINE_MAX);
	size_t carry = 0, dot = strlen(src);
	int fd = -1, ret = 0;

	if (dot < 6 || strcmp(src + dot - 6, ".jsonl") ||
	    snprintf(idx, sizeof(idx), "%.*s.idx", (int)(dot - 6), src) >= (int)sizeof(idx))
		ret = -EINVAL;
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret && (fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		ret = -errno;
	while (!ret) {
		ssize_t n = read(fd, buf + carry, PB_IDX_CHUNK);
		size_t have, whole;
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		have = carry + (size_t)n;
		nl = memrchr(buf, '\n', have);
		whole = nl ? (size_t)(nl - buf) + 1 : 0;
		pb_key_scan(buf, whole, pb_keyset_parts, &k);
		carry = have - whole;
		if (carry > PB_IDX_LINE_MAX)
			ret = -E2BIG;
		else
			memmove(buf, buf + whole, carry);
	}
	if (!ret && carry)
		pb_key_scan(buf, carry, pb_keyset_parts, &k); /* a last line without its newline */
	if (!ret)
		ret = pb_keyset_write(&k, idx);
	if (fd >= 0)
		close(fd);
	free(buf);
	pb_keyset_clear(&k);
	return ret;
}

/* ---- compression worker ---- */

/* A closed segment becomes SEG.jsonl.gz: gzip members of PB_GZ_CHUNK bytes
 * of it each, one after another (RFC 1952 2.2; gzip, zcat and zlib's gzread
 * read them as one file), compressed with libdeflate at level 1: about
 * three times zlib's speed at that level, and a smaller file. The log must
 * keep up with the node: this runs beside the agent on the node's cores. */
#define PB_GZ_CHUNK (1u << 20)

static int pb_gzip_file(const char *src)
{
	char dst[PATH_MAX], tmp[PATH_MAX];
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
	size_t bound = c ? libdeflate_gzip_compress_bound(c, PB_GZ_CHUNK) : 0;
	char *in_buf = malloc(PB_GZ_CHUNK), *out_buf = bound ? malloc(bound) : NULL;
	int in = -1, out = -1, ret = 0;

	snprintf(dst, sizeof(dst), "%s.gz", src);
	snprintf(tmp, sizeof(tmp), "%s.gz.tmp", src);
	if (!c || !in_buf || !out_buf)
		ret = -ENOMEM;
	if (!ret && (in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		ret = -errno;
	if (!ret && (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		ret = -errno;
	while (!ret) {
		size_t have = 0, z;
		ssize_t n = 0;

		while (have < PB_GZ_CHUNK &&
		       ((n = read(in, in_buf + have, PB_GZ_CHUNK - have)) > 0 ||
			(n < 0 && errno == EINTR)))
			if (n > 0)
				have += (size_t)n;
		if (n < 0)
			ret = -errno;
		if (ret || !have)
			break;
		z = libdeflate_gzip_compress(c, in_buf, have, out_buf, bound);
		if (!z)
			ret = -EIO;
		else
			ret = pb_write_full(out, out_buf, z);
	}
	if (!ret && fsync(out))
		ret = -errno;
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(in_buf);
	free(out_buf);
	if (c)
		libdeflate_free_compressor(c);
	/* The .gz appears whole (rename) before the plain file goes. */
	if (!ret && rename(tmp, dst))
		ret = -errno;
	if (!ret)
		unlink(src);
	else if (out >= 0)
		unlink(tmp);
	return ret;
}

/* The worker: fdatasync and compression, off the thread that reads the
 * ring buffer (a sync of a busy segment takes tens of ms on a slow disk,
 * and the buffer fills meanwhile). Jobs, in order: a sync of the open
 * segment and checkpoints.log (their descriptors dup'd), then each closed
 * segment: its descriptor synced and closed, then the file compressed. */
static void pb_worker_sync(int fd, int ckfd)
{
	if (fd >= 0) {
		fdatasync(fd);
		close(fd);
	}
	if (ckfd >= 0) {
		fdatasync(ckfd);
		close(ckfd);
	}
}

/* A closed segment's job after its sync: index it (before compression
 * removes the plain file), then compress it. */
static void pb_worker_finish(struct pb_job *job)
{
	if (job->path && pb_index_file(job->path))
		fprintf(stderr,
			"procbind warning: audit: index of %s not written; readers scan it\n",
			job->path);
	if (job->path && job->compress && pb_gzip_file(job->path))
		fprintf(stderr, "procbind warning: audit: compress %s failed; it stays plain\n",
			job->path);
	free(job->path);
	job->path = NULL;
}

static void *pb_compressor(void *arg)
{
	struct pb_audit *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct pb_job job;
		int sfd, sck;

		while (!w->nq && !w->sync_pending && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->sync_pending) {
			sfd = w->sync_fd;
			sck = w->sync_ckfd;
			pthread_mutex_unlock(&w->mu);
			pb_worker_sync(sfd, sck);
			pthread_mutex_lock(&w->mu);
			w->sync_pending = 0;
			continue;
		}
		if (!w->nq)
			break;
		job = w->queue[0];
		memmove(w->queue, w->queue + 1, (w->nq - 1) * sizeof(*w->queue));
		w->nq--;
		pthread_mutex_unlock(&w->mu);
		pb_worker_sync(job.fd, -1);
		pb_worker_finish(&job);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* A closed segment for the worker: fd (or -1) to sync and close, path (or
 * NULL) to index and compress (as configured). Without a worker job (out of
 * memory) all is done here: nothing is left unsynced or open. */
static void pb_worker_enqueue(struct pb_audit *w, const char *path, int fd)
{
	struct pb_job job = {
	    .path = path ? strdup(path) : NULL, .fd = fd, .compress = w->o.compress};

	if (!job.path && fd < 0)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->nq == w->capq) {
		size_t cap = w->capq ? w->capq * 2 : 8;
		struct pb_job *q = realloc(w->queue, cap * sizeof(*q));

		if (!q) {
			pthread_mutex_unlock(&w->mu);
			pb_worker_sync(fd, -1);
			pb_worker_finish(&job);
			return;
		}
		w->queue = q;
		w->capq = cap;
	}
	w->queue[w->nq++] = job;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void pb_compress_enqueue(struct pb_audit *w, const char *path)
{
	pb_worker_enqueue(w, path, -1);
}

/* Ask the worker to sync the open segment and checkpoints.log; 0 when it
 * will, -EBUSY while it still syncs the last ones. */
static int pb_worker_sync_open(struct pb_audit *w)
{
	int ret = 0;

	pthread_mutex_lock(&w->mu);
	if (w->sync_pending) {
		ret = -EBUSY;
	} else {
		w->sync_fd = w->fd >= 0 ? dup(w->fd) : -1;
		w->sync_ckfd = w->ckfd >= 0 ? dup(w->ckfd) : -1;
		w->sync_pending = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}

/* ---- writing ---- */

static uint64_t pb_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void pb_audit_hash_hex(const char *line, size_t len, char out[PB_AUDIT_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)line, len, NULL, 0);
	for (int i = 0; i < 32; i++) { /* not constant-time: a hash is no secret */
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[PB_AUDIT_HASH_HEX] = 0;
}

void pb_audit_now(char out[40])
{
	pb_boot_to_rfc3339(pb_now_boot_ns(), out, 40);
}

/* The write buffer starts small and grows to hold what a burst appends
 * between two flushes; once written, a buffer grown past PB_AUDIT_BUF_KEEP
 * goes, so that a burst leaves no high-water mark in the agent's memory. */
#define PB_AUDIT_BUF_MIN  (64u << 10)
#define PB_AUDIT_BUF_KEEP (256u << 10)

static int pb_buf_reserve(struct pb_audit *w, size_t more)
{
	if (w->blen + more <= w->bcap)
		return 0;
	size_t cap = w->bcap ? w->bcap : PB_AUDIT_BUF_MIN;

	while (cap < w->blen + more)
		cap *= 2;
	char *b = realloc(w->buf, cap);

	if (!b)
		return -ENOMEM;
	w->buf = b;
	w->bcap = cap;
	return 0;
}

static int pb_append_raw(struct pb_audit *w, const char *obj, size_t len);

/* The trail's own records (checkpoint, seal, segment_start, gap, torn_tail)
 * are written with the same JSON writer as every event: begun here with
 * their event, time and node, ended and chained by pb_own_append. */
static void pb_own_begin(const struct pb_audit *w, struct pb_buf *b, const char *event,
			 const char *t)
{
	pb_json_begin(b);
	pb_json_str(b, "event", event);
	pb_json_str(b, "time", t);
	pb_json_str(b, "node", w->node);
}

static int pb_own_append(struct pb_audit *w, struct pb_buf *b)
{
	int ret;

	pb_json_end(b);
	ret = b->failed ? -ENOMEM : pb_append_raw(w, b->data, b->len);
	pb_buf_free(b);
	return ret;
}

int pb_audit_flush(struct pb_audit *w)
{
	size_t off = 0;
	uint64_t lost;

	if (!w->blen || w->fd < 0)
		return w->fd < 0 ? -EBADF : 0;
	while (off < w->blen) {
		ssize_t n = write(w->fd, w->buf + off, w->blen - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			/* Nothing half-written stays: the file ends with the last
			 * whole record, and the chain goes back to it. */
			if (ftruncate(w->fd, w->committed))
				err = -errno;
			if (!w->pending_gap)
				w->gap_after = w->c_seq;
			w->pending_gap += w->buf_records;
			w->st.dropped += w->buf_records;
			w->st.write_errors++;
			w->st.failing = 1;
			w->seq = w->c_seq;
			w->ref_epoch++; /* the records taken back may be referred to */
			memcpy(w->prev, w->c_prev, sizeof(w->prev));
			w->seg_bytes = w->committed;
			w->blen = 0;
			w->buf_records = 0;
			return err;
		}
		off += n;
	}
	w->committed += w->blen;
	w->st.failing = 0;
	w->c_seq = w->seq;
	memcpy(w->c_prev, w->prev, sizeof(w->prev));
	w->blen = 0;
	w->buf_records = 0;
	if (w->bcap > PB_AUDIT_BUF_KEEP) {
		free(w->buf);
		w->buf = NULL;
		w->bcap = 0;
	}
	if (w->pending_gap && !w->in_gap) {
		struct pb_buf b = {0};
		char t[40];

		/* The trail says where it is incomplete. */
		lost = w->pending_gap;
		w->pending_gap = 0;
		pb_audit_now(t);
		pb_own_begin(w, &b, "gap", t);
		pb_json_str(&b, "reason", "write_error");
		pb_json_u64(&b, "records", lost);
		pb_json_u64(&b, "after_seq", w->gap_after);
		w->in_gap = 1;
		pb_own_append(w, &b);
		pb_audit_flush(w);
		w->in_gap = 0;
	}
	return 0;
}

/* Chain one record into the buffer. */
static int pb_append_raw(struct pb_audit *w, const char *obj, size_t len)
{
	char hdr[128];
	size_t hl, total;
	char *line;

	if (len < 2 || obj[0] != '{' || obj[len - 1] != '}')
		return -EINVAL;
	{
		/* by hand: this runs for every record */
		char dig[24];
		int nd = 0;
		uint64_t v = w->seq + 1;

		do
			dig[nd++] = (char)('0' + v % 10);
		while ((v /= 10));
		memcpy(hdr, "{\"seq\":", 7);
		hl = 7;
		while (nd)
			hdr[hl++] = dig[--nd];
		memcpy(hdr + hl, ",\"prev\":\"", 9);
		hl += 9;
		memcpy(hdr + hl, w->prev, PB_AUDIT_HASH_HEX);
		hl += PB_AUDIT_HASH_HEX;
		hdr[hl++] = '"';
	}
	total = hl + (len > 2 ? 1 + len - 1 : 1); /* ",members}" or "}" */
	if (pb_buf_reserve(w, total + 1))
		return -ENOMEM;
	line = w->buf + w->blen;
	memcpy(line, hdr, hl);
	if (len > 2) {
		line[hl] = ',';
		memcpy(line + hl + 1, obj + 1, len - 1);
	} else {
		line[hl] = '}';
	}
	pb_audit_hash_hex(line, total, w->prev);
	line[total] = '\n';
	w->blen += total + 1;
	w->seq++;
	w->buf_records++;
	w->seg_bytes += total + 1;
	w->since_ckpt++;
	w->st.records++;
	return 0;
}

/* A signed control record (checkpoint, seal): the signature covers its own
 * seq and prev, which are known before it is chained. */
/* A record begun with pb_own_begin(w, b, event, t), signed with the node
 * key over (event, seq, prev, time) and chained. */
static int pb_append_signed(struct pb_audit *w, struct pb_buf *b, const char *event, const char *t)
{
	char msg[256], sighex[129];
	unsigned char sig[64];

	snprintf(msg, sizeof(msg), "pbaudit1 %s %" PRIu64 " %s %s", event, w->seq + 1, w->prev, t);
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), w->sk);
	sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
	pb_json_str(b, "sig", sighex);
	return pb_own_append(w, b);
}

int pb_audit_checkpoint(struct pb_audit *w)
{
	struct pb_buf b = {0};
	char t[40], *line;
	size_t start;
	int ret;

	pb_audit_now(t);
	pb_own_begin(w, &b, "checkpoint", t);
	pb_json_u64(&b, "records", w->since_ckpt);
	start = w->blen;
	ret = pb_append_signed(w, &b, "checkpoint", t);
	if (ret)
		return ret;
	line = strndup(w->buf + start, w->blen - start);
	w->since_ckpt = 0;
	w->last_ckpt = pb_mono_ns();
	ret = pb_audit_flush(w);
	/* The same line outside the log: a log cut short before it shows. */
	if (!ret && line && w->ckfd >= 0) {
		size_t n = strlen(line);

		if (write(w->ckfd, line, n) != (ssize_t)n)
			w->st.write_errors++;
	}
	/* Durable against power loss at most sync_ns (and the sync's own
	 * time, in the worker) behind; a process crash loses nothing written
	 * (the page cache keeps it). */
	if (!ret && w->o.fsync && w->last_ckpt - w->last_sync >= w->o.sync_ns) {
		if (!w->th_started) {
			fdatasync(w->fd);
			fdatasync(w->ckfd);
			w->last_sync = w->last_ckpt;
		} else if (!pb_worker_sync_open(w)) {
			w->last_sync = w->last_ckpt;
		}
	}
	free(line);
	if (!ret)
		w->st.checkpoints++;
	return ret;
}

static void pb_seg_path(const struct pb_audit *w, uint64_t first, const char *ext, char *out,
			size_t len)
{
	snprintf(out, len, "%s/seg-%016" PRIu64 ".%s", w->dir, first, ext);
}

static int pb_seg_open_new(struct pb_audit *w, const char *previous)
{
	char path[PATH_MAX];
	int ret = 0;

	w->seg_first = w->seq + 1;
	w->ref_epoch++;
	pb_seg_path(w, w->seg_first, "jsonl", path, sizeof(path));
	w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return -errno;
	w->committed = 0;
	w->seg_bytes = 0;
	w->seg_opened = pb_mono_ns();
	if (previous) {
		struct pb_buf b = {0};
		char t[40];

		pb_audit_now(t);
		pb_own_begin(w, &b, "segment_start", t);
		pb_json_str(&b, "previous_segment", previous);
		pb_json_u64(&b, "sealed_seq", w->seq);
		ret = pb_own_append(w, &b);
	}
	return ret;
}

/* Seal the open segment, write its index, hand it to the compressor and
 * open the next. On a write error nothing rotates. */
static int pb_rotate(struct pb_audit *w)
{
	char path[PATH_MAX], name[64], t[40];
	struct pb_buf b = {0};
	int ret;

	pb_seg_path(w, w->seg_first, "jsonl", path, sizeof(path));
	snprintf(name, sizeof(name), "seg-%016" PRIu64 ".jsonl", w->seg_first);
	pb_audit_now(t);
	pb_own_begin(w, &b, "seal", t);
	pb_json_str(&b, "segment", name);
	w->in_ctl = 1;
	ret = pb_append_signed(w, &b, "seal", t);
	if (!ret)
		ret = pb_audit_flush(w);
	w->in_ctl = 0;
	if (ret)
		return ret;
	/* synced (then closed) before the worker indexes and compresses it */
	if (w->th_started) {
		pb_worker_enqueue(w, path, w->o.fsync ? w->fd : -1);
		if (!w->o.fsync)
			close(w->fd);
	} else {
		struct pb_job job = {.path = strdup(path)}; /* indexed here, not compressed */

		if (w->o.fsync)
			fdatasync(w->fd);
		close(w->fd);
		pb_worker_finish(&job);
	}
	w->fd = -1;
	w->st.segments++;
	w->in_ctl = 1;
	ret = pb_seg_open_new(w, name);
	w->in_ctl = 0;
	return ret;
}

int pb_audit_append(struct pb_audit *w, const char *obj, size_t len)
{
	int ret = pb_append_raw(w, obj, len);

	if (ret)
		return ret;
	w->appended = w->seq;
	if (w->in_ctl)
		return 0;
	if (w->blen >= PB_BUF_FLUSH)
		ret = pb_audit_flush(w);
	if (!ret && w->since_ckpt >= w->o.checkpoint_every) {
		w->in_ctl = 1;
		ret = pb_audit_checkpoint(w);
		w->in_ctl = 0;
	}
	if (!ret && w->seg_bytes >= w->o.segment_bytes)
		ret = pb_rotate(w);
	return ret;
}

void pb_audit_tick(struct pb_audit *w)
{
	uint64_t now = pb_mono_ns();

	pb_audit_flush(w);
	if (w->since_ckpt && now - w->last_ckpt >= w->o.checkpoint_ns) {
		w->in_ctl = 1;
		pb_audit_checkpoint(w);
		w->in_ctl = 0;
	}
	/* by age, once it holds more than its segment_start record */
	if (now - w->seg_opened >= w->o.segment_age_ns && w->seq > w->seg_first)
		pb_rotate(w);
}

uint64_t pb_audit_appended_seq(const struct pb_audit *w)
{
	return w->appended;
}

uint64_t pb_audit_ref_epoch(const struct pb_audit *w)
{
	return w->ref_epoch;
}

void pb_audit_stats(const struct pb_audit *w, struct pb_audit_stats *s)
{
	*s = w->st;
	s->seq = w->seq;
}

/* ---- opening and recovery ---- */

/* Read a whole plain or gzip file. */
int pb_read_all(const char *path, char **out, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	size_t cap = 1 << 20, n = 0;
	char *b;
	int r;

	if (!gz)
		return -errno ? -errno : -ENOENT;
	gzbuffer(gz, 1 << 17);
	b = malloc(cap);
	if (!b) {
		gzclose(gz);
		return -ENOMEM;
	}
	while ((r = gzread(gz, b + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				gzclose(gz);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
	}
	gzclose(gz);
	if (r < 0) {
		free(b);
		return -EIO;
	}
	*out = b;
	*len = n;
	return 0;
}

/* The list of segments in dir, ordered by first sequence number. */
int pb_segments_list(const char *dir, struct pb_seg **out, size_t *n)
{
	struct pb_seg *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long long first;
		char rest[32] = "";
		size_t i;

		if (sscanf(de->d_name, "seg-%16llu.%31s", &first, rest) != 2)
			continue;
		if (strcmp(rest, "jsonl") && strcmp(rest, "jsonl.gz") && strcmp(rest, "idx"))
			continue;
		for (i = 0; i < cnt && v[i].first != first; i++)
			;
		if (i == cnt) {
			if (cnt == cap) {
				struct pb_seg *nv;

				cap = cap ? cap * 2 : 64;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					free(v);
					closedir(d);
					return -ENOMEM;
				}
				v = nv;
			}
			memset(&v[cnt], 0, sizeof(v[cnt]));
			v[cnt++].first = first;
		}
		if (!strcmp(rest, "jsonl"))
			v[i].plain = 1;
		else if (!strcmp(rest, "jsonl.gz"))
			v[i].gz = 1;
		else
			v[i].idx = 1;
	}
	closedir(d);
	for (size_t i = 1; i < cnt; i++) /* insertion sort: the list is short */
		for (size_t j = i; j > 0 && v[j - 1].first > v[j].first; j--) {
			struct pb_seg t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	*n = cnt;
	return 0;
}

void pb_seg_file(const char *dir, const struct pb_seg *s, char *out, size_t len)
{
	/* A whole .gz (renamed only once complete) wins over its plain original. */
	snprintf(out, len, "%s/seg-%016llu.%s", dir, (unsigned long long)s->first,
		 s->gz ? "jsonl.gz" : "jsonl");
}

static void pb_remove_tmp(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".tmp") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
}

/* Last whole line of b[0..len): its start and length; -1 when none. */
static int pb_last_line(const char *b, size_t len, size_t *start, size_t *llen)
{
	size_t e = len, s;

	if (!len || b[len - 1] != '\n')
		return -1;
	e = len - 1;
	s = e;
	while (s > 0 && b[s - 1] != '\n')
		s--;
	*start = s;
	*llen = e - s;
	return 0;
}

static void pb_time_of(const char *line, size_t len, char out[40])
{
	const char *p = memmem(line, len, "\"time\":\"", 8);

	out[0] = 0;
	if (p)
		pb_str_at(p + 8, line + len, out, 40);
}

/* A writer with nothing open yet. */
static struct pb_audit *pb_audit_new(const char *dir, const char *node, const unsigned char sk[64],
				     const struct pb_audit_opts *o)
{
	struct pb_audit *w = calloc(1, sizeof(*w));

	if (!w || sodium_init() < 0) {
		free(w);
		return NULL;
	}
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	snprintf(w->node, sizeof(w->node), "%s", node);
	memcpy(w->sk, sk, 64);
	if (o)
		w->o = *o;
	else
		pb_audit_opts_default(&w->o);
	w->fd = w->ckfd = -1;
	memset(w->prev, '0', PB_AUDIT_HASH_HEX);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return w;
}

static int pb_audit_start_compressor(struct pb_audit *w, char *err, size_t errlen)
{
	sigset_t all, old;
	int cerr;

	/* The worker takes no signals: it inherits an all-blocked mask, so
	 * SIGHUP/SIGTERM stay with the thread that handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	cerr = pthread_create(&w->th, NULL, pb_compressor, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (cerr)
		return pb_errf(err, errlen, -EAGAIN,
			       "audit: cannot start the trail's worker thread");
	w->th_started = 1;
	return 0;
}

/* Take the chain from the last record of the newest segment, last: its
 * sequence number and hash. A kill -9 in the middle of a write leaves a torn
 * line: it is cut off and counted in rec. *reopen is set when the segment is
 * still open (plain, not sealed) and is to be continued; otherwise prevname
 * names it for the next segment's start record. */
static int pb_audit_recover(struct pb_audit *w, const struct pb_seg *segs, size_t nseg,
			    struct pb_audit_recovery *rec, int *reopen, char *prevname,
			    size_t prevlen, char *err, size_t errlen)
{
	const struct pb_seg *last = &segs[nseg - 1];
	char path[PATH_MAX], *b = NULL;
	size_t len = 0, ls, ll;
	int ret;

	pb_seg_file(w->dir, last, path, sizeof(path));
	ret = pb_read_all(path, &b, &len);
	if (ret)
		return pb_errf(err, errlen, ret, "audit: read %s: %s", path, strerror(-ret));
	if (last->plain && !last->gz) {
		size_t good = len;

		while (good > 0 && b[good - 1] != '\n')
			good--;
		rec->torn_bytes = len - good;
		if (rec->torn_bytes && truncate(path, good)) {
			ret = pb_errf(err, errlen, -errno, "audit: truncate torn tail of %s: %s",
				      path, strerror(errno));
			free(b);
			return ret;
		}
		len = good;
	}
	*reopen = 0;
	if (!pb_last_line(b, len, &ls, &ll)) {
		unsigned long long seq;

		if (ll < 8 || memcmp(b + ls, "{\"seq\":", 7) ||
		    pb_parse_dec(b + ls + 7, b + ls + ll, &seq) < 0) {
			free(b);
			return pb_errf(err, errlen, -EBADMSG,
				       "audit: last record of %s is not a record; run procbindctl "
				       "verify --dir %s",
				       path, w->dir);
		}
		w->seq = seq;
		pb_audit_hash_hex(b + ls, ll, w->prev);
		pb_time_of(b + ls, ll, rec->last_time);
		*reopen = last->plain && !last->gz && !memmem(b + ls, ll, "\"event\":\"seal\"", 14);
		if (!*reopen)
			snprintf(prevname, prevlen, "seg-%016llu.jsonl",
				 (unsigned long long)last->first);
	} else if (last->plain && !last->gz) {
		*reopen = 1; /* an empty segment: continue it */
		w->seq = last->first - 1;
	}
	free(b);
	if (*reopen && !len && nseg > 1) {
		/* Empty newest segment after a sealed one: take the chain from
		 * the seal. */
		pb_seg_file(w->dir, &segs[nseg - 2], path, sizeof(path));
		if (!pb_read_all(path, &b, &len)) {
			if (!pb_last_line(b, len, &ls, &ll)) {
				unsigned long long seq;

				if (ll > 7 && pb_parse_dec(b + ls + 7, b + ls + ll, &seq) > 0)
					w->seq = seq;
				pb_audit_hash_hex(b + ls, ll, w->prev);
			}
			free(b);
		}
	}
	return 0;
}

/* Closed segments still plain (a crash before compression, or compression
 * off), or plain beside their whole .gz (a crash between rename and
 * unlink): the first are indexed where they have no index yet and
 * compressed where compression is on; the copy of the second goes. */
static void pb_audit_finish_closed(struct pb_audit *w, const struct pb_seg *segs, size_t nclosed)
{
	for (size_t i = 0; i < nclosed; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/seg-%016llu.jsonl", w->dir,
			 (unsigned long long)segs[i].first);
		if (segs[i].plain && !segs[i].gz && (w->o.compress || !segs[i].idx))
			pb_compress_enqueue(w, p);
		else if (segs[i].plain && segs[i].gz)
			unlink(p);
	}
}

/* Open the segment to write to (reopen, the one recovered, or a new one
 * after prevname) and checkpoints.log. */
static int pb_audit_resume(struct pb_audit *w, const struct pb_seg *reopen, const char *prevname,
			   char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	if (reopen) {
		w->seg_first = reopen->first;
		w->ref_epoch++;
		pb_seg_path(w, w->seg_first, "jsonl", path, sizeof(path));
		w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (w->fd < 0)
			return pb_errf(err, errlen, -errno, "audit: open %s: %s", path,
				       strerror(errno));
		w->committed = w->seg_bytes = lseek(w->fd, 0, SEEK_END);
		w->seg_opened = pb_mono_ns();
	}
	w->c_seq = w->seq;
	memcpy(w->c_prev, w->prev, sizeof(w->prev));
	if (w->fd < 0) {
		w->in_ctl = 1;
		ret = pb_seg_open_new(w, prevname[0] ? prevname : NULL);
		w->in_ctl = 0;
		if (ret)
			return pb_errf(err, errlen, ret, "audit: open a segment in %s: %s", w->dir,
				       strerror(-ret));
	}
	snprintf(path, sizeof(path), "%s/checkpoints.log", w->dir);
	w->ckfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (w->ckfd < 0)
		return pb_errf(err, errlen, -errno, "audit: open %s: %s", path, strerror(errno));
	w->last_ckpt = pb_mono_ns();
	return 0;
}

int pb_audit_open(struct pb_audit **out, const char *dir, const char *node,
		  const unsigned char sk[64], const struct pb_audit_opts *o,
		  struct pb_audit_recovery *rec, char *err, size_t errlen)
{
	struct pb_audit *w;
	struct pb_seg *segs = NULL;
	char prevname[64] = "";
	size_t nseg = 0;
	int ret = 0, reopen = 0;

	memset(rec, 0, sizeof(*rec));
	w = pb_audit_new(dir, node, sk, o);
	if (!w)
		return -ENOMEM;
	if (mkdir(dir, 0700) && errno != EEXIST)
		ret = pb_errf(err, errlen, -errno, "audit: mkdir %s: %s", dir, strerror(errno));
	if (!ret) {
		pb_remove_tmp(dir);
		ret = pb_segments_list(dir, &segs, &nseg);
		if (ret)
			snprintf(err, errlen, "audit: list %s: %s", dir, strerror(-ret));
	}
	if (!ret) /* the worker syncs, indexes and (if asked) compresses */
		ret = pb_audit_start_compressor(w, err, errlen);
	rec->fresh = nseg == 0;
	if (!ret && nseg) {
		ret = pb_audit_recover(w, segs, nseg, rec, &reopen, prevname, sizeof(prevname), err,
				       errlen);
		if (!ret)
			pb_audit_finish_closed(w, segs, reopen ? nseg - 1 : nseg);
	}
	rec->last_seq = w->seq;
	if (!ret)
		ret = pb_audit_resume(w, reopen ? &segs[nseg - 1] : NULL, prevname, err, errlen);
	free(segs);
	if (ret) {
		pb_audit_close(w);
		return ret;
	}
	if (rec->torn_bytes) {
		struct pb_buf b = {0};
		char t[40];

		pb_audit_now(t);
		pb_own_begin(w, &b, "torn_tail", t);
		pb_json_u64(&b, "bytes", rec->torn_bytes);
		pb_json_u64(&b, "after_seq", w->seq);
		pb_json_end(&b);
		if (!b.failed)
			pb_audit_append(w, b.data, b.len);
		pb_buf_free(&b);
	}
	pb_audit_flush(w);
	*out = w;
	return 0;
}

void pb_audit_close(struct pb_audit *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		if (w->since_ckpt)
			pb_audit_checkpoint(w);
		pb_audit_flush(w);
		if (w->o.fsync)
			fdatasync(w->fd);
		close(w->fd);
	}
	if (w->ckfd >= 0)
		close(w->ckfd);
	if (w->th_started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	for (size_t i = 0; i < w->nq; i++) { /* a worker that never started */
		pb_worker_sync(w->queue[i].fd, -1);
		pb_worker_finish(&w->queue[i]);
	}
	free(w->queue);
	free(w->buf);
	sodium_memzero(w->sk, sizeof(w->sk));
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
