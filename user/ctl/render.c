// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Renders the agent's JSON replies as the text procbindctl prints. A field
 * the reply lacks prints as "?" or 0: an older or newer agent's reply is
 * shown as far as it goes, never refused. */
#include <inttypes.h>
#include <string.h>

#include "json_u64.h"
#include "render.h"
#include "util.h"

static const char *str(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && s[0] ? s : dflt;
}

static uint64_t num(json_t *o, const char *k)
{
	return pb_json_u64_get(o, k);
}

void pb_render_mint(FILE *out, json_t *r)
{
	fprintf(out, "id=%s\nfile=%s\npid=%" PRIu64 "\nexpires_in=%" PRIu64 "s\n",
		str(r, "id", "?"), str(r, "file", "?"), num(r, "pid"), num(r, "expires_in"));
}

void pb_render_approve(FILE *out, json_t *r)
{
	fprintf(out, "id=%s\nuses=%" PRIu64 "\nexpires_in=%" PRIu64 "s\nsource=%s\napprover=%s\n",
		str(r, "id", "?"), num(r, "uses"), num(r, "expires_in"), str(r, "source", "?"),
		str(r, "approver", "?"));
}

void pb_render_approvals(FILE *out, json_t *r)
{
	size_t i;
	json_t *p;

	fprintf(out, "%-16s %-16s %-8s %-7s %-9s %-9s %-12s %s\n", "ID", "CREDENTIAL", "PID",
		"SOURCE", "USES LEFT", "EXPIRES", "APPROVER", "ACTION");
	json_array_foreach(r, i, p)
	{
		char left[24], exp[24], action[400];

		snprintf(left, sizeof(left), "%" PRIu64 "/%" PRIu64, num(p, "uses_left"),
			 num(p, "uses"));
		snprintf(exp, sizeof(exp), "%" PRIu64 "s", num(p, "expires_in"));
		if (!strcmp(str(p, "action", ""), "connect"))
			snprintf(action, sizeof(action), "connect %s/%s", str(p, "destination", "?"),
				 str(p, "protocol", "?"));
		else
			snprintf(action, sizeof(action), "%s %s", str(p, "method", "?"),
				 str(p, "url", "?"));
		fprintf(out, "%-16s %-16s %-8" PRIu64 " %-7s %-9s %-9s %-12s %s\n", str(p, "id", "?"),
			str(p, "credential", "?"), num(p, "pid"), str(p, "source", "?"), left, exp,
			str(p, "approver", "?"), action);
	}
}

void pb_render_ps(FILE *out, json_t *r)
{
	size_t i, j;
	json_t *p, *c;

	fprintf(out, "%-8s %-6s %-16s %-40s %s\n", "PID", "UID", "COMM", "CGROUP",
		"EXE / CREDENTIALS (host PIDs)");
	json_array_foreach(r, i, p)
	{
		const char *tag = str(p, "identity", NULL);

		fprintf(out, "%-8" PRIu64 " %-6" PRIu64 " %-16.16s %-40s %s%s%s\n", num(p, "pid"),
			num(p, "uid"), str(p, "comm", ""), str(p, "cgroup", "?"),
			str(p, "exe", "?"), tag ? " identity=" : "", tag ? tag : "");
		json_array_foreach(json_object_get(p, "held"), j, c)
		{
			int self = !strcmp(str(c, "binding", ""), "self");

			fprintf(out, "%-8s   holds %s %s", "", str(c, "id", "?"),
				self ? "self-bound" : "FOREIGN");
			if (!self)
				fprintf(out, " (%s)", str(c, "reason", "?"));
			if (json_object_get(c, "bound_pid"))
				fprintf(out, " bound to pid %" PRIu64, num(c, "bound_pid"));
			fputc('\n', out);
		}
		json_array_foreach(json_object_get(p, "owns"), j, c)
		{
			if (json_object_get(c, "adopted"))
				fprintf(out, "%-8s   owns  %s adopted=%s file=%s pod=%s\n", "",
					str(c, "id", "?"), str(c, "adopted", "?"),
					str(c, "file", "?"), str(c, "pod", "-"));
			else
				fprintf(out,
					"%-8s   owns  %s identity=%s expires_in=%" PRIu64 "s\n", "",
					str(c, "id", "?"), str(c, "identity", "?"),
					num(c, "expires_in"));
		}
	}
}

void pb_render_status(FILE *out, json_t *r)
{
	json_t *audit = json_object_get(r, "audit"), *maps = json_object_get(r, "maps");
	json_t *procs = json_object_get(maps, "procs"), *creds = json_object_get(maps, "creds");
	json_t *verdicts = json_object_get(r, "verdicts"),
	       *counters = json_object_get(r, "counters");

	fprintf(out, "mode:        %s\npolicy:      %s\nnode:        %s\n", str(r, "mode", "?"),
		str(r, "policy", "?"), str(r, "node", "?"));
	fprintf(out, "version:     %s (generation %" PRIu64 ", loaded %s, %zu identities)\n",
		str(r, "policy_version", "?"), num(r, "policy_generation"),
		str(r, "policy_loaded", "?"), json_array_size(json_object_get(r, "identities")));
	fprintf(out, "credentials: %" PRIu64 " live\n", num(r, "credentials_live"));
	if (json_object_get(r, "approvals")) {
		json_t *ap = json_object_get(r, "approvals");

		fprintf(out,
			"approvals: %" PRIu64 " live (since start: %" PRIu64 " granted, %" PRIu64
			" uses, %" PRIu64 " refused)\n",
			num(ap, "live"), num(ap, "granted"), num(ap, "used"), num(ap, "refused"));
	}
	if (json_object_get(r, "core_dumps"))
		fprintf(out, "core dumps:  %s (kernel.core_pattern %s)\n",
			str(json_object_get(r, "core_dumps"), "detail", "?"),
			str(json_object_get(r, "core_dumps"), "core_pattern", "?"));
	if (audit)
		fprintf(out,
			"audit:       %s, seq %" PRIu64 ", %" PRIu64 " dropped, %" PRIu64
			" write errors\n",
			str(audit, "dir", "?"), num(audit, "seq"), num(audit, "dropped"),
			num(audit, "write_errors"));
	fprintf(out,
		"map procs:   %" PRIu64 " / %" PRIu64 "\nmap creds:   %" PRIu64 " / %" PRIu64 "\n",
		num(procs, "entries"), num(procs, "max"), num(creds, "entries"), num(creds, "max"));
	fprintf(out, "events lost: %" PRIu64 "\nverdicts:\n", num(counters, "events_lost"));
	for (unsigned int v = 0; v < PB_VERDICT_MAX; v++) {
		json_t *byr = json_object_get(verdicts, pb_verdict_name(v));

		for (unsigned int rr = 0; rr < PB_REASON_MAX; rr++) {
			uint64_t n = num(byr, pb_reason_name(rr));

			if (n)
				fprintf(out, "  %-8s %-16s %" PRIu64 "\n", pb_verdict_name(v),
					pb_reason_name(rr), n);
		}
	}
	fprintf(out, "counters:\n");
	for (unsigned int i = PB_CNT_OPS_BASE; i < PB_CNT_MAX; i++)
		fprintf(out, "  %-18s %" PRIu64 "\n", pb_counter_name(i),
			num(counters, pb_counter_name(i)));
}

void pb_render_health(FILE *out, json_t *r)
{
	fprintf(out,
		"ok: %" PRIu64 " hooks, policy %s (generation %" PRIu64 "), audit seq %" PRIu64
		"\n",
		num(r, "hooks"), str(r, "policy_version", "?"), num(r, "policy_generation"),
		num(r, "audit_seq"));
}

void pb_render_reload(FILE *out, json_t *r)
{
	fprintf(out, "version=%s\ngeneration=%" PRIu64 "\nidentities=%" PRIu64 "\n",
		str(r, "policy_version", "?"), num(r, "policy_generation"), num(r, "identities"));
}
