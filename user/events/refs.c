// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Records that refer to an earlier one. A process's or a credential's
 * attribution is written in the trail in full once per segment; a later
 * record that names the same process or credential, unchanged, carries its
 * keys and "described_in", the seq of that record. The attribution is most
 * of a record's bytes (some 900 of 1,100 for a connect), and every byte of
 * the trail is formatted, hashed, scanned for keys, written and compressed.
 *
 * The stream stays whole: a log shipper and a SIEM take each line as it
 * is. The full object's text is kept with the reference, and the stream's
 * line is the trail's with that text put back in place of the reference
 * (the thread's "tid" put into a process's): a copy, not a second
 * formatting.
 *
 * A description is known by its key, everything its full form is made of
 * (the callers': attr.c, the agent's ringbuf.c), compared whole: no hash
 * decides. A reference is only to a record under the trail's present epoch
 * (audit.h: the same segment, never taken back by a failed write), so
 * retention, which deletes whole segments, never leaves one dangling. Off
 * with --record-refs off, without a trail, and with --events-format ocsf
 * (every record whole). */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "events.h"

static int pb_refs_on(const struct pb_agent *a)
{
	return a->conf.record_refs && a->sink.audit && a->conf.events_stream != PB_STREAM_OCSF;
}

/* Does the stream need each reference's full text? */
static int pb_refs_text(const struct pb_agent *a)
{
	return a->conf.events_stream == PB_STREAM_JSON;
}

void pb_refs_init(struct pb_agent *a)
{
	/* resident from the start, as the attribution caches */
	memset(a->sink.ref, 0, sizeof(a->sink.ref));
	a->sink.npending = a->sink.nsplice = 0;
	a->sink.cur.kind = PB_REF_NONE;
}

/* The slot of a key: a word at a time (a key is some 100 bytes, and every
 * event has one or two). */
static uint32_t pb_ref_slot(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 32;
	return (uint32_t)h & (PB_REF_SLOTS - 1);
}

uint64_t pb_ref_begin(struct pb_agent *a, struct pb_buf *b, const void *key, size_t len)
{
	struct pb_ref_cur *c = &a->sink.cur;
	const struct pb_ref *r;

	c->kind = PB_REF_NONE;
	if (!pb_refs_on(a) || len > PB_REF_KEY || b->failed)
		return 0;
	c->slot = pb_ref_slot(key, len);
	c->start = b->len;
	r = &a->sink.ref[c->slot];
	if (r->seq && r->len == len && r->epoch == pb_audit_ref_epoch(a->sink.audit) &&
	    (r->tlen || !pb_refs_text(a)) && !memcmp(r->key, key, len) &&
	    a->sink.nsplice < PB_REF_PENDING) {
		c->kind = PB_REF_USED;
		return r->seq;
	}
	if (a->sink.npending < PB_REF_PENDING) {
		struct pb_ref_pending *p = &a->sink.pending[a->sink.npending];

		p->len = (uint32_t)len;
		memcpy(p->key, key, len);
		c->kind = PB_REF_DESCRIBING;
	}
	return 0;
}

/* "tid":N in a process's full text: where N is, to put another in. */
static void pb_ref_find_tid(const char *t, size_t n, uint32_t *off, uint32_t *len)
{
	const char *p = memmem(t, n, "\"tid\":", 6);

	*off = *len = 0;
	if (!p)
		return;
	*off = (uint32_t)(p + 6 - t);
	while (*off + *len < n && t[*off + *len] >= '0' && t[*off + *len] <= '9')
		(*len)++;
}

void pb_ref_end(struct pb_agent *a, struct pb_buf *b, int64_t tid)
{
	struct pb_ref_cur *c = &a->sink.cur;

	if (b->failed) {
		c->kind = PB_REF_NONE;
		return;
	}
	if (c->kind == PB_REF_USED) {
		struct pb_ref_splice *s = &a->sink.splice[a->sink.nsplice++];
		const struct pb_ref *r = &a->sink.ref[c->slot];

		s->start = c->start;
		s->end = b->len;
		/* the text now: a commit may take the slot before the line is out */
		memcpy(s->text, r->text, r->tlen);
		s->tlen = r->tlen;
		s->tid_off = r->tid_off;
		s->tid_len = r->tid_len;
		s->tid = tid;
	} else if (c->kind == PB_REF_DESCRIBING) {
		struct pb_ref_pending *p = &a->sink.pending[a->sink.npending++];

		p->start = c->start;
		p->end = b->len;
		p->tid = tid;
	}
	c->kind = PB_REF_NONE;
}

void pb_ref_commit(struct pb_agent *a, const struct pb_buf *b, uint64_t seq, uint64_t epoch)
{
	for (unsigned int i = 0; i < a->sink.npending; i++) {
		const struct pb_ref_pending *p = &a->sink.pending[i];
		struct pb_ref *r = &a->sink.ref[pb_ref_slot(p->key, p->len)];
		size_t n = p->end - p->start;

		r->seq = seq;
		r->epoch = epoch;
		r->len = p->len;
		memcpy(r->key, p->key, p->len);
		r->tlen = r->tid_off = r->tid_len = 0;
		if (pb_refs_text(a) && n <= sizeof(r->text) && p->end <= b->len) {
			memcpy(r->text, b->data + p->start, n);
			r->tlen = (uint32_t)n;
			if (p->tid >= 0)
				pb_ref_find_tid(r->text, n, &r->tid_off, &r->tid_len);
		}
	}
	a->sink.npending = 0;
}

/* The stream's line: the trail's (b, after head), each reference replaced
 * by the full text it stands for. */
void pb_ref_stream(struct pb_agent *a, FILE *out, const struct pb_buf *b, size_t from)
{
	size_t pos = from;

	for (unsigned int i = 0; i < a->sink.nsplice; i++) {
		const struct pb_ref_splice *s = &a->sink.splice[i];

		/* no text kept (--events-format none, whose line comes here
		 * only when the trail could not take it), or cannot be: the
		 * reference is left as it is */
		if (!s->tlen || s->start < pos || s->end > b->len)
			continue;
		fwrite(b->data + pos, 1, s->start - pos, out);
		if (s->tid >= 0 && s->tid_len) {
			char dec[24];

			pb_u64_dec((uint64_t)s->tid, dec);
			fwrite(s->text, 1, s->tid_off, out);
			fputs(dec, out);
			fwrite(s->text + s->tid_off + s->tid_len, 1,
			       s->tlen - s->tid_off - s->tid_len, out);
		} else {
			fwrite(s->text, 1, s->tlen, out);
		}
		pos = s->end;
	}
	fwrite(b->data + pos, 1, b->len - pos, out);
}

size_t pb_ref_stream_len(const struct pb_agent *a, const struct pb_buf *b, size_t from)
{
	size_t n = b->len - from;

	for (unsigned int i = 0; i < a->sink.nsplice; i++) {
		const struct pb_ref_splice *s = &a->sink.splice[i];

		if (s->tlen)
			n = n - (s->end - s->start) + s->tlen + 22;
	}
	return n;
}
