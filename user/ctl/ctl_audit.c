// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl trail, events and verify: read the audit trail's files
 * directly, so they work with the agent down. Records are parsed with
 * jansson: the files may have been tampered with, so nothing is assumed of
 * their shape beyond what verify proves. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "json_u64.h"
#include "audit.h"
#include "ctl_conn.h"
#include "ctl_audit.h"
#include "ocsf.h"
#include "util.h"

#define PB_AUDIT_DEFAULT_DIR "/var/lib/procbind/audit"

/* Where the trail is: --dir; else the running agent's (it knows its
 * --state-dir); else the default, when it is there. NULL, and a message
 * that names --dir, when none of them is. */
static const char *pb_trail_dir(const char *cmd, const char *given, char *buf, size_t len)
{
	struct stat st;

	if (given)
		return given;
	if (!pb_agent_audit_dir(buf, len))
		return buf;
	if (!stat(PB_AUDIT_DEFAULT_DIR, &st) && S_ISDIR(st.st_mode))
		return PB_AUDIT_DEFAULT_DIR;
	fprintf(stderr,
		"procbindctl: %s: no agent answers at %s to say where its audit trail is, and "
		"%s does not exist: pass --dir DIR (the agent's --state-dir, then /audit)\n",
		cmd, pb_ctl_socket(), PB_AUDIT_DEFAULT_DIR);
	return NULL;
}

/* "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123Z" or "2026-11-22" -> ms. */
static int pb_time_ms(const char *s, int64_t *ms)
{
	struct tm tm = {0};
	const char *e = strptime(s, "%Y-%m-%d", &tm);
	int frac = 0;

	if (!e)
		return -EINVAL;
	if (*e == 'T') {
		e = strptime(e, "T%H:%M:%S", &tm);
		if (!e)
			return -EINVAL;
		if (*e == '.') {
			int n = 0, d = 0;

			for (e++; *e >= '0' && *e <= '9'; e++, d++)
				if (d < 3)
					n = n * 10 + (*e - '0');
			for (; d < 3; d++)
				n *= 10;
			frac = n;
		}
		if (*e == 'Z')
			e++;
	}
	if (*e)
		return -EINVAL;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}

static uint64_t pb_ju64(json_t *o, const char *k)
{
	return pb_json_u64_get(o, k);
}

static const char *pb_jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- trail ---- */

struct pb_trail {
	uint32_t pid;
	uint64_t start;
	int has_start;
	const char *pod, *identity, *cred, *approval;
	int64_t since, until; /* ms; 0: open */
	char needle[96];
	/* matches, in log order: the line as written (chained over its exact
	 * bytes, so printed as it is) and as parsed, once */
	char **lines;
	json_t **recs;
	uint64_t *starts; /* pid queries: the start time each match is about */
	size_t n, cap;
	int failed;
};

/* Which life of the queried pid does this record concern? 0 when none. */
static uint64_t pb_trail_pid_match(struct pb_trail *q, json_t *r)
{
	json_t *p = json_object_get(r, "process");
	json_t *c = json_object_get(r, "credential");
	json_t *bp = c ? json_object_get(c, "bound_process") : NULL;

	if (p && pb_ju64(p, "pid") == q->pid && pb_ju64(p, "start_time"))
		if (!q->has_start || pb_ju64(p, "start_time") == q->start)
			return pb_ju64(p, "start_time");
	if (bp && pb_ju64(bp, "pid") == q->pid && pb_ju64(bp, "start_time"))
		if (!q->has_start || pb_ju64(bp, "start_time") == q->start)
			return pb_ju64(bp, "start_time");
	return 0;
}

/* Does record r match the query? For a pid query, *life is the start time
 * of the process it is about. */
static int pb_trail_hit(struct pb_trail *q, json_t *r, uint64_t *life)
{
	json_t *p = json_object_get(r, "process"), *c = json_object_get(r, "credential");
	json_t *bp = c ? json_object_get(c, "bound_process") : NULL;

	if (q->since || q->until) {
		int64_t t;
		const char *ts = pb_jstr(r, "time");

		if (!ts || pb_time_ms(ts, &t) || (q->since && t < q->since) ||
		    (q->until && t > q->until))
			return 0;
	}
	if (q->pid) {
		*life = pb_trail_pid_match(q, r);
		return *life != 0;
	}
	if (q->pod) {
		const char *u1 = p ? pb_jstr(p, "pod_uid") : NULL;
		const char *u2 = bp ? pb_jstr(bp, "pod_uid") : NULL;

		return (u1 && !strcmp(u1, q->pod)) || (u2 && !strcmp(u2, q->pod));
	}
	if (q->identity) {
		const char *i1 = pb_jstr(r, "identity"), *i2 = c ? pb_jstr(c, "identity") : NULL;

		return (i1 && !strcmp(i1, q->identity)) || (i2 && !strcmp(i2, q->identity));
	}
	if (q->approval) {
		json_t *ap = json_object_get(r, "approval");

		return ap && pb_jstr(ap, "id") && !strcmp(pb_jstr(ap, "id"), q->approval);
	}
	return c && pb_jstr(c, "id") && !strcmp(pb_jstr(c, "id"), q->cred);
}

static int pb_trail_cb(const char *line, size_t len, void *ctx)
{
	struct pb_trail *q = ctx;
	json_error_t je;
	uint64_t life = 0;
	json_t *r;

	if (!memmem(line, len, q->needle, strlen(q->needle)))
		return 0;
	r = json_loadb(line, len, 0, &je);
	if (!r)
		return 0;
	if (!pb_trail_hit(q, r, &life)) {
		json_decref(r);
		return 0;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		char **nl = realloc(q->lines, cap * sizeof(*nl));
		json_t **nr = realloc(q->recs, cap * sizeof(*nr));
		uint64_t *ns = realloc(q->starts, cap * sizeof(*ns));

		if (nl)
			q->lines = nl;
		if (nr)
			q->recs = nr;
		if (ns)
			q->starts = ns;
		if (!nl || !nr || !ns) {
			json_decref(r);
			q->failed = 1;
			return 1;
		}
		q->cap = cap;
	}
	q->lines[q->n] = strndup(line, len);
	q->recs[q->n] = r;
	q->starts[q->n] = life;
	q->n++;
	return 0;
}

/* One record on one line, for people. */
static void pb_print_compact(json_t *r, FILE *out)
{
	json_t *p, *c;
	const char *ev, *v;
	char dest[96] = "";

	ev = pb_jstr(r, "event");
	p = json_object_get(r, "process");
	c = json_object_get(r, "credential");
	fprintf(out, "%-24s %8" PRIu64 " %-20s", pb_jstr(r, "time") ? pb_jstr(r, "time") : "-",
		pb_ju64(r, "seq"), ev ? ev : "?");
	if (p)
		fprintf(out, " pid=%" PRIu64 "/%" PRIu64 " %s", pb_ju64(p, "pid"),
			pb_ju64(p, "start_time"), pb_jstr(p, "comm") ? pb_jstr(p, "comm") : "?");
	if ((v = pb_jstr(r, "verdict")))
		fprintf(out, " %s/%s", v, pb_jstr(r, "reason") ? pb_jstr(r, "reason") : "?");
	if ((v = pb_jstr(r, "url"))) /* a proof issued or refused */
		fprintf(out, " %s %s", pb_jstr(r, "method") ? pb_jstr(r, "method") : "?", v);
	else if ((v = pb_jstr(r, "reason")))
		fprintf(out, " reason=%s", v);
	if (pb_jstr(r, "daddr")) {
		snprintf(dest, sizeof(dest), "%s:%" PRIu64 "/%s", pb_jstr(r, "daddr"),
			 pb_ju64(r, "dport"),
			 pb_jstr(r, "protocol") ? pb_jstr(r, "protocol") : "?");
		fprintf(out, " -> %s", dest);
	}
	if ((v = pb_jstr(r, "destination")))
		fprintf(out, " -> %s/%s", v, pb_jstr(r, "protocol") ? pb_jstr(r, "protocol") : "?");
	if ((v = pb_jstr(r, "identity")))
		fprintf(out, " identity=%s", v);
	if ((c = json_object_get(r, "approval")) && pb_jstr(c, "id")) {
		fprintf(out, " approval=%s", pb_jstr(c, "id"));
		if (json_object_get(r, "use"))
			fprintf(out, " use=%" PRIu64 "/%" PRIu64, pb_ju64(r, "use"),
				pb_ju64(r, "uses"));
		if ((v = pb_jstr(c, "approver")))
			fprintf(out, " approver=%s", v);
		if ((v = pb_jstr(c, "source")))
			fprintf(out, " (%s)", v);
		if (!strcmp(ev ? ev : "", "approval_granted")) {
			fprintf(out, " uses=%" PRIu64, pb_ju64(c, "uses"));
			if ((v = pb_jstr(c, "destination")) || (v = pb_jstr(c, "url")))
				fprintf(out, " action=%s%s%s",
					pb_jstr(c, "method") ? pb_jstr(c, "method") : "",
					pb_jstr(c, "method") ? " " : "", v);
			if ((v = pb_jstr(c, "reason")))
				fprintf(out, " why=\"%s\"", v);
			if ((v = pb_jstr(c, "ticket")))
				fprintf(out, " ticket=%s", v);
		}
		c = json_object_get(r, "credential");
	}
	if (c && pb_jstr(c, "id")) {
		json_t *bp = json_object_get(c, "bound_process");

		fprintf(out, " cred=%s", pb_jstr(c, "id"));
		if (bp)
			fprintf(out, " bound=%" PRIu64 "/%" PRIu64, pb_ju64(bp, "pid"),
				pb_ju64(bp, "start_time"));
	}
	if (json_object_get(r, "records"))
		fprintf(out, " records=%" PRIu64, pb_ju64(r, "records"));
	if (json_object_get(r, "events"))
		fprintf(out, " events=%" PRIu64, pb_ju64(r, "events"));
	if ((v = pb_jstr(r, "since")))
		fprintf(out, " since=%s", v);
	fputc('\n', out);
}

static int pb_usage_audit(const char *what)
{
	fprintf(stderr, "usage: procbindctl %s\n", what);
	return 2;
}

static const char pb_trail_use[] =
    "trail [--dir DIR] (--pid PID [--start-time T] | --pod UID | --identity NAME |\n"
    "       --credential ID | --approval ID) [--since TIME] [--until TIME] [-o json|table]\n"
    "       [--raw]";

/* Options into q: 0, or the exit status of a usage error. */
static int pb_trail_args(int argc, char **argv, struct pb_trail *q, const char **dir, int *json,
			 unsigned int *flags)
{
	static const struct option opts[] = {
	    {"dir", required_argument, 0, 'd'},
	    {"pid", required_argument, 0, 'p'},
	    {"start-time", required_argument, 0, 's'},
	    {"since", required_argument, 0, 'S'},
	    {"until", required_argument, 0, 'U'},
	    {"pod", required_argument, 0, 'P'},
	    {"identity", required_argument, 0, 'i'},
	    {"credential", required_argument, 0, 'c'},
	    {"output", required_argument, 0, 'o'},
	    {"approval", required_argument, 0, 'A'},
	    {"raw", no_argument, 0, 'r'},
	    {0},
	};
	int c, selectors = 0;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'd':
			*dir = optarg;
			break;
		case 'p':
			q->pid = strtoul(optarg, &end, 10);
			if (*end || !q->pid) {
				fprintf(stderr, "procbindctl: --pid must be a positive number\n");
				return 2;
			}
			selectors++;
			break;
		case 's':
			q->start = strtoull(optarg, &end, 10);
			if (*end) {
				fprintf(stderr, "procbindctl: --start-time is the start_time in ns "
						"(as the records show it)\n");
				return 2;
			}
			q->has_start = 1;
			break;
		case 'S':
		case 'U':
			if (pb_time_ms(optarg, c == 'S' ? &q->since : &q->until)) {
				fprintf(stderr,
					"procbindctl: %s: '%s' is not a time "
					"(2026-11-22T10:00:00Z)\n",
					c == 'S' ? "--since" : "--until", optarg);
				return 2;
			}
			break;
		case 'P':
			q->pod = optarg;
			selectors++;
			break;
		case 'i':
			q->identity = optarg;
			selectors++;
			break;
		case 'c':
			q->cred = optarg;
			selectors++;
			break;
		case 'A':
			q->approval = optarg;
			selectors++;
			break;
		case 'r':
			*flags |= PB_SCAN_RAW;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				*json = 1;
			else if (strcmp(optarg, "table"))
				return pb_usage_audit(pb_trail_use);
			break;
		default:
			return pb_usage_audit(pb_trail_use);
		}
	}
	if (optind != argc || selectors != 1 || (q->has_start && !q->pid))
		return pb_usage_audit(pb_trail_use);
	return 0;
}

/* The index key the query asks for, and the bytes every matching record
 * holds (a cheap test before a record is parsed). */
static void pb_trail_key(struct pb_trail *q, char *key, size_t len)
{
	char pid[16], start[24];

	if (q->pid) {
		snprintf(pid, sizeof(pid), "%u", q->pid);
		snprintf(start, sizeof(start), "%" PRIu64, q->start);
		pb_audit_key(key, len, q->has_start ? PB_KEY_PROCESS : PB_KEY_PID, pid,
			     q->has_start ? start : NULL);
		snprintf(q->needle, sizeof(q->needle), "\"pid\":%u,", q->pid);
	} else if (q->pod) {
		pb_audit_key(key, len, PB_KEY_POD, q->pod, NULL);
		snprintf(q->needle, sizeof(q->needle), "\"pod_uid\":\"%s\"", q->pod);
	} else if (q->identity) {
		pb_audit_key(key, len, PB_KEY_IDENTITY, q->identity, NULL);
		snprintf(q->needle, sizeof(q->needle), "\"%s\"", q->identity);
	} else {
		/* an approval's id is indexed as a credential's (any "id" of 16
		 * hex digits): both are random 64-bit numbers */
		const char *id = q->cred ? q->cred : q->approval;

		pb_audit_key(key, len, PB_KEY_CREDENTIAL, id, NULL);
		snprintf(q->needle, sizeof(q->needle), "\"id\":\"%s\"", id);
	}
}

/* One PID, several processes over time: never mix them. With more than one
 * life among the matches, list them (to stderr) and return 1. */
static int pb_trail_one_life(const struct pb_trail *q)
{
	uint64_t lives[16];
	size_t nl = 0;

	for (size_t i = 0; i < q->n && nl < 16; i++) {
		size_t j;

		for (j = 0; j < nl && lives[j] != q->starts[i]; j++)
			;
		if (j == nl)
			lives[nl++] = q->starts[i];
	}
	if (nl <= 1)
		return 0;
	fprintf(stderr,
		"procbindctl: trail: pid %u was %zu%s different processes in this log; "
		"pick one with --start-time:\n",
		q->pid, nl, nl == 16 ? " or more" : "");
	for (size_t j = 0; j < nl; j++) {
		size_t cnt = 0, first = 0;

		for (size_t i = 0; i < q->n; i++)
			if (q->starts[i] == lives[j] && !cnt++)
				first = i;
		fprintf(stderr, "  --start-time %" PRIu64 "  (%zu records, first: %s %s)\n",
			lives[j], cnt,
			pb_jstr(q->recs[first], "time") ? pb_jstr(q->recs[first], "time") : "?",
			pb_jstr(q->recs[first], "event") ? pb_jstr(q->recs[first], "event") : "?");
	}
	return 1;
}

static void pb_trail_free(struct pb_trail *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->lines[i]);
		json_decref(q->recs[i]);
	}
	free(q->lines);
	free(q->recs);
	free(q->starts);
}

int pb_cmd_trail(int argc, char **argv)
{
	struct pb_trail q = {0};
	const char *dir = NULL, *keys[1] = {NULL};
	char dirbuf[PATH_MAX];
	char key[192], err[512];
	unsigned int flags = 0;
	int json = 0, ret;

	if ((ret = pb_trail_args(argc, argv, &q, &dir, &json, &flags)))
		return ret;
	if (!(dir = pb_trail_dir("trail", dir, dirbuf, sizeof(dirbuf))))
		return 1;
	pb_trail_key(&q, key, sizeof(key));
	keys[0] = key;
	ret = 1;
	if (pb_audit_scan_from(dir, 0, flags, keys, 1, pb_trail_cb, &q, err, sizeof(err)))
		fprintf(stderr, "procbindctl: trail: %s\n", err);
	else if (q.failed)
		fprintf(stderr, "procbindctl: trail: out of memory\n");
	else if (q.pid && !q.has_start && pb_trail_one_life(&q))
		;
	else if (!q.n)
		fprintf(stderr, "procbindctl: trail: no records match\n");
	else
		ret = 0;
	for (size_t i = 0; !ret && i < q.n; i++) {
		if (json)
			printf("%s\n", q.lines[i]);
		else
			pb_print_compact(q.recs[i], stdout);
	}
	pb_trail_free(&q);
	return ret;
}

/* ---- events ---- */

struct pb_events_ctx {
	int compact, ocsf;
	uint64_t last_seq;
};

static int pb_events_cb(const char *line, size_t len, void *ctx)
{
	struct pb_events_ctx *e = ctx;
	unsigned long long seq = 0;

	if (len > 7 && !memcmp(line, "{\"seq\":", 7) &&
	    pb_parse_dec(line + 7, line + len, &seq) > 0) {
		if (seq <= e->last_seq)
			return 0;
		e->last_seq = seq;
	}
	if (e->ocsf) {
		/* the mapping the agent's --events-format ocsf uses */
		char *o = pb_ocsf_line(line, len, PB_VERSION);

		if (o)
			printf("%s\n", o);
		else
			printf("%.*s\n", (int)len, line); /* shown as it is, not dropped */
		free(o);
	} else if (e->compact) {
		json_error_t je;
		json_t *r = json_loadb(line, len, 0, &je);

		if (r)
			pb_print_compact(r, stdout);
		else
			printf("%.*s\n", (int)len, line); /* shown as it is, not dropped */
		json_decref(r);
	} else {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	}
	return 0;
}

int pb_cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, 0, 'd'},
	    {"output", required_argument, 0, 'o'},
	    {"follow", no_argument, 0, 'f'},
	    {"raw", no_argument, 0, 'r'},
	    {0},
	};
	struct pb_events_ctx e = {0};
	const char *dir = NULL;
	char err[512], dirbuf[PATH_MAX];
	unsigned int flags = 0;
	int c, follow = 0;

	while ((c = getopt_long(argc, argv, "o:f", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'r')
			flags |= PB_SCAN_RAW;
		else if (c == 'f')
			follow = 1;
		else if (c == 'o' && !strcmp(optarg, "compact"))
			e.compact = 1;
		else if (c == 'o' && !strcmp(optarg, "ocsf"))
			e.ocsf = 1;
		else if (c != 'o' || strcmp(optarg, "json"))
			return pb_usage_audit(
			    "events [--dir DIR] [-o json|compact|ocsf] [--follow] [--raw]");
	}
	if (optind != argc)
		return pb_usage_audit(
		    "events [--dir DIR] [-o json|compact|ocsf] [--follow] [--raw]");
	if (!(dir = pb_trail_dir("events", dir, dirbuf, sizeof(dirbuf))))
		return 1;
	do {
		/* Every record once, in order; --follow re-reads what is new. */
		if (pb_audit_scan_from(dir, e.last_seq, flags, NULL, 0, pb_events_cb, &e, err,
				       sizeof(err))) {
			fprintf(stderr, "procbindctl: events: %s\n", err);
			return 1;
		}
		fflush(stdout);
		if (follow)
			usleep(200000);
	} while (follow);
	return 0;
}

/* ---- verify ---- */

int pb_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, 0, 'd'},
	    {"pubkey", required_argument, 0, 'k'},
	    {0},
	};
	const char *dir = NULL, *pubkey = NULL;
	char dirbuf[PATH_MAX];
	unsigned char pk[32];
	char path[PATH_MAX], err[1024];
	uint64_t n = 0;
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'k')
			pubkey = optarg;
		else
			return pb_usage_audit("verify [--dir DIR] [--pubkey FILE]");
	}
	if (optind != argc)
		return pb_usage_audit("verify [--dir DIR] [--pubkey FILE]");
	if (!(dir = pb_trail_dir("verify", dir, dirbuf, sizeof(dirbuf))))
		return 1;
	if (!pubkey) {
		snprintf(path, sizeof(path), "%s/../node.pub", dir);
		pubkey = path;
	}
	f = fopen(pubkey, "re");
	if (!f || fread(pk, 1, sizeof(pk), f) != sizeof(pk)) {
		fprintf(stderr, "procbindctl: verify: cannot read the node's public key %s%s\n",
			pubkey, f ? " (32 bytes expected)" : "");
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	if (pb_audit_verify(dir, pk, &n, err, sizeof(err))) {
		fprintf(stderr, "procbindctl: verify: FAILED: %s\n", err);
		return 1;
	}
	printf("%s: ok, %" PRIu64 " records: every link, checkpoint and seal verifies\n", dir, n);
	return 0;
}
