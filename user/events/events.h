/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Events as the agent reports them: the sink every module writes its JSON
 * lines to (stream and audit trail), and the attribution of processes and
 * cgroups that events carry. */
#ifndef PB_EVENTS_H
#define PB_EVENTS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "json.h"
#include "state.h"

/* emit.c */
/* One JSON line to the stream and the audit trail: 0, or -ENOMEM when the
 * line could not be formatted (logged). A failed audit write is counted
 * and becomes a gap record; the line still goes to the stream. */
int pb_emit_line(struct pb_agent *a, struct pb_buf *b);
/* Start an event: its type, time and node. */
void pb_event_begin(struct pb_agent *a, struct pb_buf *b, const char *type, uint64_t boot_ns);

/* refs.c: records that refer to an earlier one. Around an object's value
 * (after its key): pb_ref_begin gives the seq of the record, in the trail's
 * open segment, that described key (len bytes, at most PB_REF_KEY:
 * everything its full form is made of) in full, or 0; then the caller
 * writes the reference ("described_in": that seq) or the full object, and
 * calls pb_ref_end (tid: a process's thread, -1 for none). */
uint64_t pb_ref_begin(struct pb_agent *a, struct pb_buf *b, const void *key, size_t len);
void pb_ref_end(struct pb_agent *a, struct pb_buf *b, int64_t tid);
void pb_refs_init(struct pb_agent *a);
/* emit.c's: the line b, appended as seq under the trail's epoch (read
 * before the append, which may rotate after it), holds those full
 * descriptions. */
void pb_ref_commit(struct pb_agent *a, const struct pb_buf *b, uint64_t seq, uint64_t epoch);
/* emit.c's: write b from offset from to out with every reference replaced
 * by its full text; at most pb_ref_stream_len bytes. */
void pb_ref_stream(struct pb_agent *a, FILE *out, const struct pb_buf *b, size_t from);
size_t pb_ref_stream_len(const struct pb_agent *a, const struct pb_buf *b, size_t from);

/* attr.c */
/* The cgroup's path below the cgroup v2 root, or "" when it is gone. */
void pb_cgroup_name(struct pb_agent *a, uint64_t id, char *out, size_t len);
/* "cgroup": path, and for a pod its UID and container id. */
void pb_json_cgroup(struct pb_agent *a, struct pb_buf *b, uint64_t id);
/* A process's start: "start_time" (CLOCK_BOOTTIME ns, what the kernel
 * compares) and "started_at" (RFC 3339, wall clock, to join with logs). */
void pb_json_start(struct pb_buf *b, uint64_t boot_ns);
/* A process as an event names it: pid (host), start time, exe, args, cgroup. */
void pb_json_task(struct pb_agent *a, struct pb_buf *b, const char *key,
		  const struct pb_task_ref *t);
/* The same, as a reference (pid, tid, start and pod, "described_in") when
 * the trail's open segment already describes the process unchanged. */
void pb_json_task_ref(struct pb_agent *a, struct pb_buf *b, const char *key,
		      const struct pb_task_ref *t);
/* The attribution caches, made resident before the first event. */
/* The audit trail: opened at start (a trail that existed means the agent
 * was down: a gap record says so); its once-a-second work, with the ring
 * buffer's losses written as a gap; written out; closed. */
int pb_events_trail_open(struct pb_agent *a);
void pb_events_second(struct pb_agent *a);
void pb_events_flush(struct pb_agent *a);	 /* the trail's buffer and the stream */
void pb_events_stream_flush(struct pb_agent *a); /* the stream's (whole lines) */
void pb_events_stop(struct pb_agent *a);
void pb_attr_init(struct pb_agent *a);
/* Drop the cached attribution of a process that exited. */
void pb_attr_forget(struct pb_agent *a, uint32_t tgid, uint64_t start, uint64_t ino);

#endif
