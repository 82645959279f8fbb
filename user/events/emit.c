// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The event sink: every event the agent reports is one JSON line, begun
 * here with its common fields and written here to the stream and to the
 * audit trail, whichever module it comes from. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "events.h"
#include "kernel.h"
#include "log.h"
#include "ocsf.h"
#include "util.h"

/* Room for a line of len bytes in the stream's buffer: what it holds is
 * written first when the line would not fit, so stdio never writes a part
 * of a line (a line longer than the buffer goes out on its own). */
static void pb_stream_room(struct pb_agent *a, size_t len)
{
	if (a->sink.out_pending + len > PB_SINK_OUT_BUF)
		pb_events_stream_flush(a);
	a->sink.out_pending += len;
}

void pb_events_stream_flush(struct pb_agent *a)
{
	fflush(a->sink.out);
	a->sink.out_pending = 0;
}

/* --events-format ocsf: the record (head: its seq) as an OCSF event. A
 * record that cannot be mapped (out of memory) goes out as procbind's JSON,
 * so the stream loses nothing. */
static int pb_emit_ocsf(struct pb_agent *a, struct pb_buf *b, const char *head)
{
	struct pb_buf rec = {0};
	char *line;

	pb_buf_append(&rec, head, strlen(head));
	pb_buf_append(&rec, b->data + 1, b->len - 1);
	line = rec.failed ? NULL : pb_ocsf_line(rec.data, rec.len, PB_VERSION);
	if (line) {
		size_t n = strlen(line);

		pb_stream_room(a, n + 1);
		fwrite(line, 1, n, a->sink.out);
		fputc('\n', a->sink.out);
		free(line);
	} else {
		pb_warn("events: a record could not be written as OCSF; written as procbind's");
		pb_stream_room(a, b->len + 1);
		fwrite(b->data, 1, b->len, a->sink.out);
		fputc('\n', a->sink.out);
	}
	pb_buf_free(&rec);
	a->sink.events_out++;
	return 0;
}

int pb_emit_line(struct pb_agent *a, struct pb_buf *b)
{
	char seq[40] = "null", head[48];
	uint64_t appended = 0, epoch = 0;
	size_t sl;

	if (b->failed) {
		pb_error("events: out of memory formatting an event");
		a->sink.npending = a->sink.nsplice = 0;
		return -ENOMEM;
	}
	/* the epoch the line lands in: an append may rotate after it */
	if (a->sink.audit)
		epoch = pb_audit_ref_epoch(a->sink.audit);
	if (a->sink.audit && !pb_audit_append(a->sink.audit, b->data, b->len)) {
		appended = pb_audit_appended_seq(a->sink.audit);
		if (a->conf.events_stream == PB_STREAM_NONE) {
			pb_ref_commit(a, b, appended, epoch);
			a->sink.nsplice = 0;
			a->sink.events_out++; /* the trail alone has it */
			return 0;
		}
		/* the stream names the trail's record: a SIEM joins the two */
		pb_u64_dec(appended, seq);
	} else if (a->sink.audit) {
		struct pb_audit_stats st;

		/* Counted, and a gap record follows once writes succeed again;
		 * enforcement goes on. Logged once per 1000 failures. */
		pb_audit_stats(a->sink.audit, &st);
		if (a->sink.audit_errors_logged++ % 1000 == 0)
			pb_error("audit: cannot write to %s (%" PRIu64 " records dropped so far); "
				 "enforcement continues",
				 a->conf.audit_dir, st.dropped);
	}
	/* {"seq":N, then the record's members: the trail's bytes but for its
	 * chain link (prev), and whole (refs.c). With --events-format none, a
	 * line the trail could not take still goes to the stream, so that it
	 * is somewhere. */
	sl = strlen(seq);
	memcpy(head, "{\"seq\":", 7);
	memcpy(head + 7, seq, sl);
	head[7 + sl] = b->len > 2 ? ',' : 0;
	head[8 + sl] = 0;
	if (a->conf.events_stream == PB_STREAM_OCSF) {
		pb_emit_ocsf(a, b, head); /* references are off: every record is whole */
	} else {
		pb_stream_room(a, strlen(head) + pb_ref_stream_len(a, b, 1) + 1);
		fputs(head, a->sink.out);
		pb_ref_stream(a, a->sink.out, b, 1);
		fputc('\n', a->sink.out);
		a->sink.events_out++;
	}
	if (appended)
		pb_ref_commit(a, b, appended, epoch); /* its full descriptions, for later lines */
	a->sink.npending = a->sink.nsplice = 0;
	return 0;
}

void pb_event_begin(struct pb_agent *a, struct pb_buf *b, const char *type, uint64_t boot_ns)
{
	char ts[40];

	pb_buf_reset(b);
	a->sink.npending = a->sink.nsplice = 0;
	pb_boot_to_rfc3339(boot_ns, ts, sizeof(ts));
	pb_json_begin(b);
	pb_json_str(b, "event", type);
	pb_json_str(b, "time", ts);
	pb_json_str(b, "node", a->conf.node);
}

/* Once a second: the audit trail's time-driven work, and kernel-side loss
 * written as a gap record. */
void pb_events_second(struct pb_agent *a)
{
	uint64_t cnt[PB_CNT_MAX];

	if (!a->sink.audit)
		return;
	if (!pb_counters_read(a, cnt) && cnt[PB_CNT_EVENTS_LOST] > a->sink.lost_reported) {
		pb_event_begin(a, &a->sink.line, "gap", pb_now_boot_ns());
		pb_json_str(&a->sink.line, "reason", "ring_buffer_full");
		pb_json_u64(&a->sink.line, "events",
			    cnt[PB_CNT_EVENTS_LOST] - a->sink.lost_reported);
		pb_json_end(&a->sink.line);
		pb_emit_line(a, &a->sink.line);
		a->sink.lost_reported = cnt[PB_CNT_EVENTS_LOST];
	}
	pb_audit_tick(a->sink.audit);
}

/* Open the trail; a log that existed means the agent was down since its
 * last record: that is a gap. */
int pb_events_trail_open(struct pb_agent *a)
{
	struct pb_audit_recovery rec;
	struct pb_audit_opts o;
	char err[512];
	int ret;

	pb_audit_opts_default(&o);
	if (a->conf.audit_segment_bytes)
		o.segment_bytes = a->conf.audit_segment_bytes;
	ret = pb_audit_open(&a->sink.audit, a->conf.audit_dir, a->conf.node, a->key.sk, &o, &rec,
			    err, sizeof(err));
	if (ret)
		return pb_err(ret, "%s", err);
	if (rec.torn_bytes)
		pb_warn("audit: cut a torn last record (%" PRIu64 " bytes) after seq %" PRIu64,
			rec.torn_bytes, rec.last_seq);
	if (!rec.fresh) {
		pb_event_begin(a, &a->sink.line, "gap", pb_now_boot_ns());
		pb_json_str(&a->sink.line, "reason", "agent_down");
		pb_json_str(&a->sink.line, "since", rec.last_time[0] ? rec.last_time : NULL);
		pb_json_u64(&a->sink.line, "after_seq", rec.last_seq);
		pb_json_end(&a->sink.line);
		pb_emit_line(a, &a->sink.line);
	}
	return 0;
}

void pb_events_flush(struct pb_agent *a)
{
	if (a->sink.audit)
		pb_audit_flush(a->sink.audit);
	pb_events_stream_flush(a);
}

void pb_events_stop(struct pb_agent *a)
{
	pb_audit_close(a->sink.audit);
	a->sink.audit = NULL;
	pb_buf_free(&a->sink.line);
	pb_events_stream_flush(a);
}
