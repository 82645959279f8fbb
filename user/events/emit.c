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
#include "log.h"
#include "ocsf.h"
#include "util.h"

/* --events-format ocsf: the record (with its seq) as an OCSF event. A record
 * that cannot be mapped (out of memory) goes out as procbind's JSON, so the
 * stream loses nothing. */
static int pb_emit_ocsf(struct pb_agent *a, struct pb_buf *b, const char *seq)
{
	struct pb_buf rec = {0};
	char *line;

	pb_buf_append(&rec, seq, strlen(seq));
	if (b->len > 2)
		pb_buf_append(&rec, ",", 1);
	pb_buf_append(&rec, b->data + 1, b->len - 1);
	line = rec.failed ? NULL : pb_ocsf_line(rec.data, rec.len, PB_VERSION);
	if (line) {
		fputs(line, a->sink.out);
		fputc('\n', a->sink.out);
		free(line);
	} else {
		pb_warn("events: a record could not be written as OCSF; written as procbind's");
		fwrite(b->data, 1, b->len, a->sink.out);
		fputc('\n', a->sink.out);
	}
	pb_buf_free(&rec);
	a->sink.events_out++;
	return 0;
}

int pb_emit_line(struct pb_agent *a, struct pb_buf *b)
{
	char seq[40] = "{\"seq\":null";

	if (b->failed) {
		pb_error("events: out of memory formatting an event");
		return -ENOMEM;
	}
	if (a->sink.audit && !pb_audit_append(a->sink.audit, b->data, b->len)) {
		/* the stream names the trail's record: a SIEM joins the two */
		snprintf(seq, sizeof(seq), "{\"seq\":%" PRIu64,
			 pb_audit_appended_seq(a->sink.audit));
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
	if (a->conf.events_ocsf)
		return pb_emit_ocsf(a, b, seq);
	pb_buf_append(b, "\n", 1);
	/* {"seq":N, then the record's members: the trail's bytes but for its
	 * chain link (prev) */
	fputs(seq, a->sink.out);
	if (b->len > 3)
		fputc(',', a->sink.out);
	fwrite(b->data + 1, 1, b->len - 1, a->sink.out);
	a->sink.events_out++;
	return 0;
}

void pb_event_begin(struct pb_agent *a, struct pb_buf *b, const char *type, uint64_t boot_ns)
{
	char ts[40];

	pb_buf_reset(b);
	pb_boot_to_rfc3339(boot_ns, ts, sizeof(ts));
	pb_json_begin(b);
	pb_json_str(b, "event", type);
	pb_json_str(b, "time", ts);
	pb_json_str(b, "node", a->conf.node);
}
