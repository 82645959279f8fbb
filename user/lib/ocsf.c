// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbind's records as OCSF 1.3 events (docs/audit.md has the mapping).
 * One function maps one record: the agent uses it for its stream with
 * --events-format ocsf, procbindctl events -o ocsf for the trail, so the two
 * never differ. The trail itself keeps procbind's JSON: its hash chain is
 * over those bytes. What OCSF has no place for (the credential, the bound
 * process, the reason) is under "unmapped", as the whole original record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocsf.h"

#define PB_OCSF_VERSION "1.3.0"

/* OCSF's identifiers for what procbind reports */
enum {
	CAT_SYSTEM = 1,
	CAT_IAM = 3,
	CAT_NETWORK = 4,
	CAT_APPLICATION = 6,
	CLASS_FILE = 1001,
	CLASS_PROCESS = 1007,
	CLASS_AUTHENTICATION = 3002,
	CLASS_ENTITY = 3004,
	CLASS_NETWORK = 4001,
	CLASS_APP_LIFECYCLE = 6002,
	OTHER = 99,
};

static const char *pb_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int pb_is(const json_t *o, const char *k, const char *v)
{
	const char *s = pb_str(o, k);

	return s && !strcmp(s, v);
}

/* RFC 3339 with milliseconds, UTC ("2026-12-05T00:01:19.753Z"), to ms since
 * the epoch; 0 when it is not one. */
static json_int_t pb_ms(const char *s)
{
	struct tm tm = {0};
	int ms = 0;
	char *end;

	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*end == '.' && sscanf(end + 1, "%3d", &ms) != 1)
		ms = 0;
	return (json_int_t)timegm(&tm) * 1000 + ms;
}

static void pb_set(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set_new(o, k, v);
}

static void pb_set_str(json_t *o, const char *k, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, k, json_string(v));
}

/* A procbind process (the "process" of a record, or a bound_process) as an
 * OCSF process object. */
static json_t *pb_ocsf_process(const json_t *p)
{
	json_t *o = json_object(), *v;
	const char *exe = pb_str(p, "exe"), *comm = pb_str(p, "comm");
	char uid[64];

	if (!json_is_object(p))
		return o;
	json_object_set_new(o, "pid", json_integer(json_integer_value(json_object_get(p, "pid"))));
	if ((v = json_object_get(p, "tid")) && json_is_integer(v))
		json_object_set_new(o, "tid", json_integer(json_integer_value(v)));
	/* the process instance: a PID is reused, its start is not */
	snprintf(uid, sizeof(uid), "%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(p, "pid")),
		 json_integer_value(json_object_get(p, "start_time")));
	json_object_set_new(o, "uid", json_string(uid));
	pb_set_str(o, "name", comm ? comm : exe && strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);
	pb_set_str(o, "cmd_line", pb_str(p, "args"));
	if (exe && exe[0]) {
		json_t *f = json_object();
		const char *slash = strrchr(exe, '/');

		json_object_set_new(f, "path", json_string(exe));
		json_object_set_new(f, "name", json_string(slash ? slash + 1 : exe));
		json_object_set_new(f, "type_id", json_integer(1)); /* regular file */
		json_object_set_new(o, "file", f);
	}
	if (pb_str(p, "started_at"))
		json_object_set_new(o, "created_time",
				    json_integer(pb_ms(pb_str(p, "started_at"))));
	if ((v = json_object_get(p, "uid")) && json_is_integer(v)) {
		char u[24];

		snprintf(u, sizeof(u), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		json_object_set_new(o, "user", json_pack("{ss}", "uid", u));
	}
	if ((v = json_object_get(p, "ppid")) && json_is_integer(v))
		json_object_set_new(o, "parent_process",
				    json_pack("{sI}", "pid", json_integer_value(v)));
	return o;
}

static json_t *pb_ocsf_actor(const json_t *p)
{
	return json_pack("{so}", "process", pb_ocsf_process(p));
}

static json_t *pb_ocsf_product(const char *version)
{
	return json_pack("{ssssss}", "name", "procbind", "vendor_name", "procbind", "version",
			 version && version[0] ? version : "unknown");
}

/* The credential's file, as OCSF names a file. */
static json_t *pb_ocsf_cred_file(const json_t *cred)
{
	const char *path = pb_str(cred, "file"), *id = pb_str(cred, "id");
	json_t *f = json_object();
	char name[64];

	snprintf(name, sizeof(name), "credential-%s", id ? id : "unknown");
	if (path && path[0]) {
		const char *slash = strrchr(path, '/');

		json_object_set_new(f, "path", json_string(path));
		json_object_set_new(f, "name", json_string(slash ? slash + 1 : path));
	} else {
		json_object_set_new(f, "name", json_string(name));
	}
	json_object_set_new(f, "type_id", json_integer(1));
	pb_set_str(f, "uid", id);
	return f;
}

/* What procbind decided: severity, status, and (security_control) action
 * and disposition. verdict NULL: not a decision. */
/* controls: the class takes the security_control profile (network, file,
 * process); the others get severity and status only. */
static void pb_ocsf_verdict(json_t *o, const json_t *rec, int may_control, int *controls)
{
	const char *verdict = pb_str(rec, "verdict");
	int deny = verdict && !strcmp(verdict, "deny");
	int monitor = verdict && !strcmp(verdict, "monitor");

	json_object_set_new(o, "severity_id", json_integer(deny ? 3 : monitor ? 2 : 1));
	json_object_set_new(o, "status_id", json_integer(deny ? 2 : 1));
	pb_set_str(o, "status_detail", pb_str(rec, "reason"));
	if (!verdict || !may_control)
		return;
	*controls = 1;
	json_object_set_new(o, "action_id", json_integer(deny ? 2 : 1));
	/* monitor: it would have been refused, was let through and logged */
	json_object_set_new(o, "disposition_id", json_integer(deny ? 2 : monitor ? 17 : 1));
}

static int pb_file_activity(const json_t *rec)
{
	const char *acc = pb_str(rec, "access");

	if (!acc || !strcmp(acc, "open"))
		return 14; /* Open */
	if (!strcmp(acc, "notify"))
		return OTHER;
	return 2; /* Read: a read, a mapping, a received descriptor */
}

json_t *pb_ocsf_record(const json_t *rec, const char *version)
{
	const char *ev = pb_str(rec, "event");
	const json_t *proc = json_object_get(rec, "process");
	const json_t *cred = json_object_get(rec, "credential");
	int cls, cat, act, controls = 0, may_control = 0;
	/* an approval's use or refusal at a connect is a network decision; at
	 * a proof's request, an authentication's; its grant and end are an
	 * entity's life, as a credential's */
	int apv = !strncmp(ev ? ev : "", "approval_", 9);
	int apv_net = apv && json_object_get(rec, "daddr");
	int apv_life = apv && (!strcmp(ev, "approval_granted") || !strcmp(ev, "approval_ended"));
	/* refusals (and a process's events past its fair share) counted at
	 * their source: the class of what was counted */
	int folded = !strcmp(ev ? ev : "", "refusals_folded") || !strcmp(ev ? ev : "", "events_folded");
	int folded_net = folded && json_object_get(rec, "daddr");
	json_t *o, *meta, *profiles;

	if (!json_is_object(rec) || !ev)
		return NULL;
	o = json_object();
	if (!strcmp(ev, "connect") || apv_net || folded_net) {
		const char *proto = pb_str(rec, "protocol");
		json_int_t port = json_integer_value(json_object_get(rec, "dport"));

		cat = CAT_NETWORK, cls = CLASS_NETWORK;
		act = pb_is(rec, "verdict", "deny") ? 5 /* Refuse */ : 1 /* Open */;
		json_object_set_new(
		    o, "dst_endpoint",
		    json_pack("{sssI}", "ip", pb_str(rec, "daddr") ?: "", "port", port));
		json_object_set_new(o, "connection_info",
				    json_pack("{sssisi}", "protocol_name", proto ? proto : "other",
					      "protocol_num",
					      proto && !strcmp(proto, "tcp")   ? 6
					      : proto && !strcmp(proto, "udp") ? 17
									       : -1,
					      "direction_id", 2 /* Outbound */));
		pb_set(o, "actor", pb_ocsf_actor(proc));
		may_control = 1;
	} else if (folded || (!strncmp(ev, "credential_", 11) &&
			      (strstr(ev, "_refused") || !strcmp(ev, "credential_acquired")))) {
		cat = CAT_SYSTEM, cls = CLASS_FILE, act = pb_file_activity(rec);
		pb_set(o, "file", pb_ocsf_cred_file(cred));
		pb_set(o, "actor", pb_ocsf_actor(proc));
		may_control = 1;
	} else if (!strncmp(ev, "process_access", 14) || !strcmp(ev, "exec") ||
		   !strcmp(ev, "exit")) {
		cat = CAT_SYSTEM, cls = CLASS_PROCESS;
		may_control = 1;
		if (ev[0] == 'p') { /* another process reached a bound one */
			act = 3;    /* Open */
			pb_set(o, "process",
			       pb_ocsf_process(json_object_get(cred, "bound_process")));
			pb_set(o, "actor", pb_ocsf_actor(proc));
		} else {
			act = ev[1] == 'x' && ev[2] == 'e' ? 1 /* Launch */ : 2 /* Terminate */;
			pb_set(o, "process", pb_ocsf_process(proc));
			pb_set(o, "actor",
			       json_pack("{s{sI}}", "process", "pid",
					 json_integer_value(json_object_get(proc, "ppid"))));
			if (act == 2 && json_is_integer(json_object_get(rec, "exit_code")))
				json_object_set_new(o, "exit_code",
						    json_integer(json_integer_value(
							json_object_get(rec, "exit_code"))));
		}
	} else if (!strncmp(ev, "credential_", 11) || apv_life) {
		const json_t *who = proc ? proc : json_object_get(cred, "bound_process");
		const json_t *ap = json_object_get(rec, "approval");

		cat = CAT_IAM, cls = CLASS_ENTITY;
		act = !strcmp(ev, "credential_minted") || !strcmp(ev, "credential_adopted") ||
			      !strcmp(ev, "approval_granted")
			  ? 1
		      : !strcmp(ev, "credential_inherited") ? 3
							    : 4;
		if (apv_life)
			json_object_set_new(o, "entity",
					    json_pack("{ssssss}", "uid",
						      pb_str(ap, "id") ?: "unknown", "name",
						      pb_str(cred, "id") ?: "unknown", "type",
						      "procbind approval"));
		else
			json_object_set_new(o, "entity",
					    json_pack("{ssssss}", "uid",
						      pb_str(cred, "id") ?: "unknown", "name",
						      pb_str(cred, "identity") ?: "unknown", "type",
						      "procbind credential"));
		pb_set(o, "actor", pb_ocsf_actor(who));
	} else if (!strncmp(ev, "proof_", 6) || apv) {
		json_int_t uid = json_integer_value(json_object_get(proc, "uid"));
		char u[24];

		cat = CAT_IAM, cls = CLASS_AUTHENTICATION, act = 3; /* Authentication Ticket */
		snprintf(u, sizeof(u), "%" JSON_INTEGER_FORMAT, uid);
		json_object_set_new(o, "user", json_pack("{ss}", "uid", u));
		/* what the proof was for: the request's URL */
		json_object_set_new(o, "service",
				    json_pack("{ss}", "name", pb_str(rec, "url") ?: "unknown"));
		pb_set(o, "actor", pb_ocsf_actor(proc));
	} else {
		cat = CAT_APPLICATION, cls = CLASS_APP_LIFECYCLE;
		act = !strcmp(ev, "agent_started")   ? 3 /* Start */
		      : !strcmp(ev, "agent_stopped") ? 4 /* Stop */
		      : !strncmp(ev, "policy_", 7)   ? 8 /* Update */
						     : OTHER;
		json_object_set_new(o, "app", pb_ocsf_product(version));
	}
	json_object_set_new(o, "category_uid", json_integer(cat));
	json_object_set_new(o, "class_uid", json_integer(cls));
	json_object_set_new(o, "activity_id", json_integer(act));
	json_object_set_new(o, "type_uid", json_integer((json_int_t)cls * 100 + act));
	json_object_set_new(o, "time", json_integer(pb_ms(pb_str(rec, "time"))));
	if (folded) { /* OCSF's own aggregation: count events from start to end */
		json_object_set_new(
		    o, "count", json_integer(json_integer_value(json_object_get(rec, "count"))));
		json_object_set_new(o, "start_time", json_integer(pb_ms(pb_str(rec, "first"))));
		json_object_set_new(o, "end_time", json_integer(pb_ms(pb_str(rec, "last"))));
	}
	pb_ocsf_verdict(o, rec, may_control, &controls);
	if (!strcmp(ev, "proof_refused") || !strcmp(ev, "policy_rejected") ||
	    !strcmp(ev, "approval_refused"))
		json_object_set_new(o, "status_id", json_integer(2));
	if (!strcmp(ev, "gap") || !strcmp(ev, "anomaly") || !strcmp(ev, "torn_tail"))
		json_object_set_new(o, "severity_id", json_integer(2));
	json_object_set_new(o, "message", json_string(ev));
	json_object_set_new(
	    o, "device",
	    json_pack("{sssi}", "hostname", pb_str(rec, "node") ?: "", "type_id", 1 /* Server */));
	meta = json_pack("{ssso}", "version", PB_OCSF_VERSION, "product", pb_ocsf_product(version));
	profiles = json_array();
	json_array_append_new(profiles, json_string("host"));
	if (controls)
		json_array_append_new(profiles, json_string("security_control"));
	json_object_set_new(meta, "profiles", profiles);
	if (json_is_integer(json_object_get(rec, "seq"))) {
		char seq[32];

		snprintf(seq, sizeof(seq), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(rec, "seq")));
		json_object_set_new(meta, "uid", json_string(seq)); /* the trail's record */
	}
	json_object_set_new(meta, "log_name", json_string("procbind"));
	json_object_set_new(o, "metadata", meta);
	json_object_set_new(o, "unmapped", json_deep_copy(rec));
	return o;
}

char *pb_ocsf_line(const char *data, size_t len, const char *version)
{
	json_t *rec = json_loadb(data, len, 0, NULL);
	json_t *o = rec ? pb_ocsf_record(rec, version) : NULL;
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	json_decref(rec);
	return s;
}
