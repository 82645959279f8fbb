// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl's approvals (docs/approvals.md): approve (a local grant, or a
 * signed approval submitted), and, offline, away from the node, an
 * approver's key pair (approval keygen) and a signed approval (approval
 * sign). The approver's private key never goes to the node: only the
 * signed approval does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ctl_approval.h"
#include "json.h"
#include "match.h"
#include "token.h"
#include "util.h"
#include "procbind/verify.h"

#define B64V sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* What approve and approval sign share: the credential, the action, the
 * uses, the expiry, who and why. */
struct pb_apv_args {
	const char *credential, *dest, *proto, *method, *url, *uses, *expires;
	const char *approver, *reason, *ticket, *signed_file, *key;
};

static const struct option pb_apv_opts[] = {
    {"credential", required_argument, 0, 'c'}, {"dest", required_argument, 0, 'd'},
    {"proto", required_argument, 0, 'P'},      {"request", required_argument, 0, 'R'},
    {"uses", required_argument, 0, 'n'},       {"expires", required_argument, 0, 'e'},
    {"approver", required_argument, 0, 'a'},   {"reason", required_argument, 0, 'r'},
    {"ticket", required_argument, 0, 't'},     {"signed", required_argument, 0, 's'},
    {"key", required_argument, 0, 'k'},	       {0},
};

/* Options into q: 0, or 2 (usage, said). */
static int pb_apv_parse(const char *cmd, int argc, char **argv, struct pb_apv_args *q)
{
	struct pb_dest d;
	const char *why;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "", pb_apv_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (pb_arg_id(cmd, optarg))
				return 2;
			q->credential = optarg;
			break;
		case 'd':
			q->dest = optarg;
			break;
		case 'P':
			q->proto = optarg;
			break;
		case 'R': /* METHOD URL: two words */
			if (optind >= argc || argv[optind][0] == '-')
				return pb_arg_bad(cmd, "--request takes METHOD and URL");
			q->method = optarg;
			q->url = argv[optind++];
			break;
		case 'n':
			if (pb_parse_u64(optarg, 1, 1000000, &v))
				return pb_arg_bad(cmd, "--uses must be a number in [1, 1000000]");
			q->uses = optarg;
			break;
		case 'e':
			if (pb_duration_parse(optarg, &v) || !v)
				return pb_arg_bad(cmd, "--expires must be a duration such as 90s, 10m "
						       "or 2h, not '%s'",
						  optarg);
			q->expires = optarg;
			break;
		case 'a': q->approver = optarg; break;
		case 'r': q->reason = optarg; break;
		case 't': q->ticket = optarg; break;
		case 's': q->signed_file = optarg; break;
		case 'k': q->key = optarg; break;
		default: return 2; /* getopt said which */
		}
	}
	if (optind != argc)
		return pb_arg_bad(cmd, "unexpected argument '%s'", argv[optind]);
	if (q->signed_file)
		return 0;
	if (!q->credential)
		return pb_arg_bad(cmd, "--credential ID is required");
	if (!!q->dest == !!q->method)
		return pb_arg_bad(cmd, "give --dest ADDR:PORT or --request METHOD URL");
	if (q->dest && pb_dest_parse(q->dest, q->proto, &d, &why))
		return pb_arg_bad(cmd, "--dest '%s' / --proto: %s", q->dest, why);
	if (q->proto && !q->dest)
		return pb_arg_bad(cmd, "--proto goes with --dest");
	if (!q->reason || !q->reason[0])
		return pb_arg_bad(cmd, "--reason TEXT is required: the trail says why");
	return 0;
}

/* A file's text, or stdin's for "-" (malloc'd, trailing space cut). */
static char *pb_read_text(const char *file)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	struct pb_buf b = {0};
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1 << 20))
		pb_buf_append(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	if (b.failed || !b.data) {
		pb_buf_free(&b);
		return NULL;
	}
	while (b.len && strchr(" \t\r\n", b.data[b.len - 1]))
		b.data[--b.len] = 0;
	return b.data;
}

/* One key=value line of the request: 0, or 2 for a value with a newline. */
static int pb_kv(struct pb_buf *b, const char *k, const char *v)
{
	if (v && strchr(v, '\n'))
		return pb_arg_bad("approve", "newline in the %s", k);
	if (v)
		pb_buf_printf(b, "%s=%s\n", k, v);
	return 0;
}

int pb_approve_request(int argc, char **argv, struct pb_buf *req)
{
	struct pb_apv_args q = {0};
	char *text;
	int ret = pb_apv_parse("approve", argc, argv, &q);

	if (ret)
		return ret;
	if (q.key)
		return pb_arg_bad("approve", "--key is for 'approval sign'");
	pb_buf_printf(req, "approve\n");
	if (q.signed_file) {
		if (q.credential || q.dest || q.method || q.uses || q.expires || q.approver ||
		    q.reason || q.ticket)
			return pb_arg_bad("approve", "--signed says everything itself: give it alone");
		text = pb_read_text(q.signed_file);
		if (!text) {
			fprintf(stderr, "procbindctl: approve: cannot read %s: %s\n", q.signed_file,
				strerror(errno ? errno : EINVAL));
			return 1;
		}
		ret = pb_kv(req, "signed", text);
		free(text);
		return ret;
	}
	if (!q.approver || !q.approver[0])
		return pb_arg_bad("approve", "--approver NAME is required: the trail says who");
	return pb_kv(req, "credential", q.credential) || pb_kv(req, "dest", q.dest) ||
			       pb_kv(req, "proto", q.proto) || pb_kv(req, "method", q.method) ||
			       pb_kv(req, "url", q.url) || pb_kv(req, "uses", q.uses) ||
			       pb_kv(req, "expires", q.expires) || pb_kv(req, "approver", q.approver) ||
			       pb_kv(req, "reason", q.reason) || pb_kv(req, "ticket", q.ticket)
		   ? 2
		   : 0;
}

/* ---- offline: keys and signatures ---- */

static int pb_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int ret;

	if (fd < 0)
		return -errno;
	ret = pb_write_full(fd, text, strlen(text));
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

static int pb_cmd_keygen(int argc, char **argv)
{
	static const struct option o[] = {{"out", required_argument, 0, 'o'}, {0}};
	unsigned char pk[32], sk[64];
	char pub[64], sec[128], path[4096], fpr[17];
	const char *out = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c != 'o')
			return 2;
		out = optarg;
	}
	if (!out || optind != argc)
		return pb_arg_bad("approval keygen", "usage: procbindctl approval keygen --out FILE");
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(pub, sizeof(pub), pk, sizeof(pk), B64V);
	sodium_bin2base64(sec, sizeof(sec), sk, sizeof(sk), B64V);
	sodium_memzero(sk, sizeof(sk));
	strcat(sec, "\n");
	ret = pb_write_file(out, sec, 0600);
	sodium_memzero(sec, sizeof(sec));
	if (ret) {
		fprintf(stderr, "procbindctl: approval keygen: %s: %s\n", out, strerror(-ret));
		return 1;
	}
	snprintf(path, sizeof(path), "%s.pub", out);
	strcat(pub, "\n");
	if ((ret = pb_write_file(path, pub, 0644))) {
		fprintf(stderr, "procbindctl: approval keygen: %s: %s\n", path, strerror(-ret));
		return 1;
	}
	pb_key_fingerprint(pk, fpr);
	printf("private=%s\npublic=%s\nkey=%sfingerprint=%s\n", out, path, pub, fpr);
	return 0;
}

static int pb_read_secret(const char *file, unsigned char sk[64])
{
	char *text = pb_read_text(file);
	size_t len = 0;
	int ok;

	if (!text)
		return -errno ? -errno : -EINVAL;
	ok = !sodium_base642bin(sk, 64, text, strlen(text), NULL, &len, NULL, B64V) && len == 64;
	sodium_memzero(text, strlen(text));
	free(text);
	return ok ? 0 : -EINVAL;
}

static int pb_cmd_sign(int argc, char **argv)
{
	struct pb_apv_args q = {0};
	struct pb_buf c = {0};
	unsigned char sk[64], idb[8];
	char id[17];
	uint64_t ttl = 3600ULL * 1000000000ULL, uses = 1;
	int64_t now = (int64_t)time(NULL);
	char *text;
	int ret = pb_apv_parse("approval sign", argc, argv, &q);

	if (ret)
		return ret;
	if (!q.key)
		return pb_arg_bad("approval sign", "--key FILE (from approval keygen) is required");
	if (q.signed_file)
		return pb_arg_bad("approval sign", "--signed is for 'approve'");
	if (q.expires)
		pb_duration_parse(q.expires, &ttl);
	if (q.uses)
		pb_parse_u64(q.uses, 1, 1000000, &uses);
	if ((ret = pb_read_secret(q.key, sk))) {
		fprintf(stderr, "procbindctl: approval sign: %s holds no private key (%s)\n", q.key,
			strerror(-ret));
		return 1;
	}
	randombytes_buf(idb, sizeof(idb));
	idb[7] |= 1;
	sodium_bin2hex(id, sizeof(id), idb, sizeof(idb));
	pb_json_begin(&c);
	pb_json_i64(&c, "v", 1);
	pb_json_str(&c, "id", id);
	pb_json_str(&c, "cred", q.credential);
	if (q.dest) {
		pb_json_str(&c, "dest", q.dest);
		pb_json_str(&c, "proto", q.proto ? q.proto : "tcp");
	} else {
		pb_json_str(&c, "method", q.method);
		pb_json_str(&c, "url", q.url);
	}
	pb_json_i64(&c, "uses", (int64_t)uses);
	pb_json_i64(&c, "iat", now);
	pb_json_i64(&c, "exp", now + (int64_t)(ttl / 1000000000ULL));
	pb_json_str(&c, "reason", q.reason);
	if (q.ticket)
		pb_json_str(&c, "ticket", q.ticket);
	if (q.approver)
		pb_json_str(&c, "approver", q.approver);
	pb_json_end(&c);
	text = c.failed ? NULL : pb_signed_make(PB_APPROVAL_PREFIX, c.data, sk);
	sodium_memzero(sk, sizeof(sk));
	pb_buf_free(&c);
	if (!text) {
		fprintf(stderr, "procbindctl: approval sign: out of memory\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

int pb_cmd_approval(int argc, char **argv)
{
	if (argc < 2)
		return pb_arg_bad("approval", "usage: procbindctl approval keygen|sign ...");
	optind = 1;
	if (!strcmp(argv[1], "keygen"))
		return pb_cmd_keygen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sign"))
		return pb_cmd_sign(argc - 1, argv + 1);
	return pb_arg_bad("approval", "unknown subcommand '%s' (keygen or sign)", argv[1]);
}
