/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The event module's state (events/): where every event goes, and the
 * attribution caches. Written by events/ only. */
#ifndef PB_EVENTS_STATE_H
#define PB_EVENTS_STATE_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "match.h"
#include "procbind/abi.h"

struct pb_audit;

/* The attribution of processes and cgroups (attr.c), looked up once per
 * process and per cgroup, not per event: /proc reads and open_by_handle_at
 * cost more than the rest of an event. */
#define PB_CACHE_SLOTS 4096
#define PB_ARGS_LEN    256

struct pb_proc_attr {
	uint32_t tgid;
	uint64_t start, exe_ino;
	char exe[PB_PATH_LEN * 2];
	char args[PB_ARGS_LEN]; /* "" when unknown */
	int exe_ok, args_ok;
};

struct pb_cg_attr {
	uint64_t id;
	char path[PB_PATH_LEN * 2];
	struct pb_k8s_ref k8s;
	int is_pod;
};

/* Records that refer to an earlier one (refs.c): what a full description
 * is made of (its key: the bytes, compared whole), the seq of the record
 * that gave it, the trail's epoch then, and its full text for the stream
 * (with where a process's "tid" value is in it). Direct-mapped: a slot
 * taken by another key costs one more full description, never a wrong
 * reference. */
#define PB_REF_SLOTS   (1u << 11)
#define PB_REF_KEY     104  /* bytes of a key, at most */
#define PB_REF_TEXT    1024 /* bytes of a full object kept; a longer one is not referred to */
#define PB_REF_PENDING 2    /* references in one record (process, credential) */

struct pb_ref {
	uint64_t seq, epoch;
	uint32_t len, tlen, tid_off, tid_len;
	unsigned char key[PB_REF_KEY];
	char text[PB_REF_TEXT];
};

/* A full description being written (its offsets in the line), kept once
 * the line is in the trail. */
struct pb_ref_pending {
	uint32_t len;
	unsigned char key[PB_REF_KEY];
	size_t start, end;
	int64_t tid;
};

/* A reference in the line (its offsets), and the text the stream puts in
 * its place. */
struct pb_ref_splice {
	size_t start, end;
	int64_t tid; /* the process's thread; -1: none (a credential) */
	uint32_t tlen, tid_off, tid_len;
	char text[PB_REF_TEXT];
};

enum { PB_REF_NONE, PB_REF_USED, PB_REF_DESCRIBING };
struct pb_ref_cur {
	int kind;
	uint32_t slot;
	size_t start;
};

/* events/: where every event goes. */
struct pb_sink {
	struct pb_audit *audit; /* the tamper-evident trail (NULL: stdout only) */
	uint64_t lost_reported; /* events_lost already written as a gap */
	uint64_t audit_errors_logged;
	struct pb_buf line;  /* scratch for one JSON line */
	uint64_t events_out; /* lines written, the agent's own included */
	FILE *out;	     /* event stream (stdout) */
	size_t out_pending;  /* bytes of whole lines in out's buffer, not yet written */
	struct pb_proc_attr pcache[PB_CACHE_SLOTS];
	struct pb_cg_attr cgcache[PB_CACHE_SLOTS];
	struct pb_ref ref[PB_REF_SLOTS];
	struct pb_ref_pending pending[PB_REF_PENDING]; /* in the line being built */
	struct pb_ref_splice splice[PB_REF_PENDING];
	unsigned int npending, nsplice;
	struct pb_ref_cur cur;
};

/* The stream's buffer: written out only between lines (emit.c), so an agent
 * killed mid-stream leaves whole lines on stdout, never half of one. */
#define PB_SINK_OUT_BUF 65536

static inline void pb_sink_state_init(struct pb_sink *s)
{
	static char buf[PB_SINK_OUT_BUF];

	s->out = stdout;
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
}

#endif
