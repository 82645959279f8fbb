/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The audit trail: an append-only, hash-chained log of JSON records in
 * segments, with signed checkpoints and seals, gzip-compressed closed
 * segments, a key index per segment, and the readers that verify it and
 * answer queries from the files alone.
 *
 * A record is one line: {"seq":N,"prev":"<hex>",...the event's fields...}.
 * "prev" is the BLAKE2b-256 of the previous line's exact bytes (without its
 * newline); the first record's prev is 64 zeros. Checkpoints and seals carry
 * an Ed25519 signature (the node key) over "pbaudit1 <event> <seq> <prev>
 * <time>", and every checkpoint is also appended to checkpoints.log, so a log
 * cut short before a checkpoint is detected. */
#ifndef PB_AUDIT_H
#define PB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define PB_AUDIT_HASH_HEX 64

struct pb_audit_opts {
	uint64_t segment_bytes;	   /* rotate when a segment reaches this (default 32 MiB) */
	uint64_t segment_age_ns;   /* or this age (default 1 h) */
	uint32_t checkpoint_every; /* records between checkpoints (default 1000) */
	uint64_t checkpoint_ns;	   /* or this long (default 5 s) */
	int compress;		   /* gzip closed segments in a worker thread (default 1) */
	int fsync;		   /* fdatasync at seals, and at checkpoints at most... */
	uint64_t sync_ns;	   /* ...once per this long (default 1 s) */
};
void pb_audit_opts_default(struct pb_audit_opts *o);

struct pb_audit_stats {
	uint64_t records;      /* appended since open */
	uint64_t seq;	       /* last sequence number written */
	uint64_t dropped;      /* records lost to write errors (each becomes a gap) */
	uint64_t write_errors; /* failed writes (full disk, I/O) */
	uint64_t checkpoints;
	uint64_t segments; /* rotations since open */
	int failing;	   /* the last write failed (the next success writes a gap) */
};

/* What pb_audit_open found in an existing log. */
struct pb_audit_recovery {
	uint64_t last_seq;
	char last_time[40];  /* "time" of the last record, "" if none */
	uint64_t torn_bytes; /* bytes of a torn last line cut off (0: clean) */
	int fresh;	     /* no log existed */
};

struct pb_audit;

/* Open (or create) the log in dir, recover a torn tail (the fact is written
 * as a "torn_tail" record) and continue the chain. sk: Ed25519 secret key. */
int pb_audit_open(struct pb_audit **out, const char *dir, const char *node,
		  const unsigned char sk[64], const struct pb_audit_opts *o,
		  struct pb_audit_recovery *rec, char *err, size_t errlen);

/* Append one record. obj is a JSON object "{...}" (no newline) whose first
 * member follows the writer's seq and prev. Records are buffered; a failed
 * write drops them (counted) and the next successful one is preceded by a
 * "gap" record saying how many. 0 or -errno. */
int pb_audit_append(struct pb_audit *w, const char *obj, size_t len);
/* The seq the last successful pb_audit_append gave its record (a checkpoint
 * it wrote after does not count). */
uint64_t pb_audit_appended_seq(const struct pb_audit *w);
/* What a record may refer to by seq ("described_in"): a record appended
 * under the same epoch, which is the same segment, still on its way to disk
 * or there. The epoch changes when a segment is opened (retention deletes
 * whole segments, so a reference never crosses one) and when a failed write
 * takes records back (their seqs are given again). Never 0. */
uint64_t pb_audit_ref_epoch(const struct pb_audit *w);
int pb_audit_flush(struct pb_audit *w);
/* Time-driven work: checkpoint after checkpoint_ns, rotate by age. */
void pb_audit_tick(struct pb_audit *w);
/* Write a checkpoint now (also at close). */
int pb_audit_checkpoint(struct pb_audit *w);
void pb_audit_stats(const struct pb_audit *w, struct pb_audit_stats *s);
/* Checkpoint, flush, sync, wait for compression; the segment stays open for
 * the next agent to continue. */
void pb_audit_close(struct pb_audit *w);

/* The chain hash of a line (without newline), as hex. */
void pb_audit_hash_hex(const char *line, size_t len, char out[PB_AUDIT_HASH_HEX + 1]);

/* ---- readers: work from the files alone ---- */

/* Check every link, checkpoint and seal across all segments. pk: Ed25519
 * public key. On failure returns -EBADMSG and names the first bad record in
 * err; *nrecords gets how many records were checked. */
int pb_audit_verify(const char *dir, const unsigned char pk[32], uint64_t *nrecords, char *err,
		    size_t errlen);

/* Call fn for every record line (without newline) of every segment in
 * order; segments whose index lacks all of keys[] (nkeys > 0) are skipped.
 * fn returns non-zero to stop. A record that refers to an earlier one for
 * a process or credential ("described_in", events/refs.c) is given whole:
 * the object it refers to put in, with its own "tid" and "described_in"
 * kept (then not the chained bytes; PB_SCAN_RAW gives those). */
#define PB_SCAN_RAW 1u
int pb_audit_scan(const char *dir, const char *const *keys, int nkeys,
		  int (*fn)(const char *line, size_t len, void *ctx), void *ctx, char *err,
		  size_t errlen);

/* The same, skipping segments that end before from_seq (for --follow);
 * flags: PB_SCAN_RAW or 0. */
int pb_audit_scan_from(const char *dir, uint64_t from_seq, unsigned int flags,
		       const char *const *keys, int nkeys,
		       int (*fn)(const char *line, size_t len, void *ctx), void *ctx, char *err,
		       size_t errlen);

/* Index keys a record line carries: "p:<pid>:<start>", "pid:<pid>",
 * "pod:<uid>", "id:<identity>", "cred:<id>". Calls fn for each. */
void pb_audit_keys(const char *line, size_t len, void (*fn)(const char *key, void *ctx), void *ctx);
uint64_t pb_audit_key_hash(const char *key);

/* The index's keys: what a record is found by. The writer indexes every
 * record under each key it carries; trail asks for one. One list, so the
 * writer and the readers agree on the text of a key:
 *   pid:PID          any record with a process or bound process of that pid
 *   p:PID:START      the same, for the process with that start time only
 *   pod:UID          a process in that pod
 *   id:NAME          an identity
 *   cred:ID          a credential (16 hex digits) */
#define PB_AUDIT_KEYS(X)                                                                           \
	X(PB_KEY_PID, "pid:")                                                                      \
	X(PB_KEY_PROCESS, "p:")                                                                    \
	X(PB_KEY_POD, "pod:")                                                                      \
	X(PB_KEY_IDENTITY, "id:")                                                                  \
	X(PB_KEY_CREDENTIAL, "cred:")
#define PB_KEY_ENUM(k, prefix) k,
enum pb_audit_key_kind { PB_AUDIT_KEYS(PB_KEY_ENUM) PB_KEY_KINDS };
extern const char *const pb_audit_key_prefix[PB_KEY_KINDS];
/* The key of a kind for one value (v2: the start time of PB_KEY_PROCESS). */
void pb_audit_key(char *out, size_t len, enum pb_audit_key_kind kind, const char *v1,
		  const char *v2);

#endif
