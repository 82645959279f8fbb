// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The event sink: every event the agent reports is one JSON line, begun
 * here with its common fields and written here to the stream and to the
 * audit trail, whichever module it comes from. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "audit.h"
#include "events.h"
#include "log.h"
#include "util.h"

int pb_emit_line(struct pb_agent *a, struct pb_buf *b)
{
	if (b->failed) {
		pb_error("events: out of memory formatting an event");
		return -ENOMEM;
	}
	if (a->sink.audit && pb_audit_append(a->sink.audit, b->data, b->len)) {
		struct pb_audit_stats st;

		/* Counted, and a gap record follows once writes succeed again;
		 * enforcement goes on. Logged once per 1000 failures. */
		pb_audit_stats(a->sink.audit, &st);
		if (a->sink.audit_errors_logged++ % 1000 == 0)
			pb_error("audit: cannot write to %s (%" PRIu64 " records dropped so far); "
				 "enforcement continues",
				 a->conf.audit_dir, st.dropped);
	}
	pb_buf_append(b, "\n", 1);
	fwrite(b->data, 1, b->len, a->sink.out);
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
