// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl's workload commands: run, token and proof over the workload
 * socket (libprocbind_client), and pubkey, verify-token and verify-proof,
 * which check offline (libprocbind_verify). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ctl_workload.h"
#include "procbind/client.h"
#include "procbind/verify.h"

#define PB_DEFAULT_PUBKEY "/var/lib/procbind/node.pub"
#define B64V		  sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char *wl_sock; /* NULL: $PROCBIND_WORKLOAD_SOCKET or the default */

/* The agent's messages name their command already ("proof: refused ..."). */
static int pb_fail(const char *what, const char *err)
{
	size_t n = strlen(what);

	if (!strncmp(err, what, n) && err[n] == ':')
		fprintf(stderr, "procbindctl: %s\n", err);
	else
		fprintf(stderr, "procbindctl: %s: %s\n", what, err);
	return 1;
}

/* Options every workload command takes: --workload-socket PATH. */
#define PB_WL_OPTS {"workload-socket", required_argument, 0, 'W'}

/* CMD as execvp would find it, absolute. */
static int pb_which(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];

	if (strchr(cmd, '/'))
		return realpath(cmd, out) && !access(out, X_OK) ? 0 : -ENOENT;
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		char cand[PATH_MAX + NAME_MAX + 2];

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		snprintf(cand, sizeof(cand), "%s/%s", n ? dir : ".", cmd);
		if (!access(cand, X_OK) && realpath(cand, out) && strlen(out) < len)
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

int pb_cmd_run(int argc, char **argv)
{
	static const struct option o[] = {{"identity", required_argument, 0, 'i'},
					  {"ttl", required_argument, 0, 't'},
					  {"inherit", required_argument, 0, 'I'},
					  {"env", required_argument, 0, 'e'},
					  {"fd", required_argument, 0, 'f'},
					  {"format", required_argument, 0, 'F'},
					  PB_WL_OPTS,
					  {0}};
	const char *identity = NULL, *ttl = NULL, *inherit = NULL, *env = "PROCBIND_TOKEN";
	const char *format = "%s";
	struct pb_client_token tok;
	char exe[PATH_MAX], err[512], *text;
	int c, fd = -1;

	while ((c = getopt_long(argc, argv, "+", o, NULL)) != -1) {
		switch (c) {
		case 'i': identity = optarg; break;
		case 't': if (pb_arg_ttl("run", optarg)) return 2; ttl = optarg; break;
		case 'I': if (pb_arg_inherit("run", optarg)) return 2; inherit = optarg; break;
		case 'e': env = optarg; break;
		case 'f': if (pb_arg_fd("run", optarg, &fd)) return 2; break;
		case 'F': format = optarg; break;
		case 'W': wl_sock = optarg; break;
		default: return 2;
		}
	}
	if (strstr(format, "%s") != strrchr(format, '%') || !strstr(format, "%s")) {
		fprintf(stderr, "procbindctl: run: --format needs exactly one %%s and no other %%\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: procbindctl run [--identity NAME] [--ttl D] [--inherit I] "
				"[--env VAR | --fd N] [--format TEXT] -- CMD [ARGS...]\n");
		return 2;
	}
	if (pb_which(argv[optind], exe, sizeof(exe)))
		return pb_fail("run", "no such command");
	/* The credential names this process (whose PID and start exec keeps)
	 * and the executable it is about to become. */
	if (pb_client_token(wl_sock, identity, ttl, inherit, exe, &tok, err, sizeof(err)))
		return pb_fail("run", err);
	/* what CMD gets: the token, or a line made of it (a header for curl -H @FILE) */
	if (asprintf(&text, format, tok.token) < 0)
		return pb_fail("run", "out of memory");
	sodium_memzero(tok.token, strlen(tok.token));
	if (fd >= 0) {
		int p[2];
		char num[16];

		if (pipe(p) || write(p[1], text, strlen(text)) < 0)
			return pb_fail("run", strerror(errno));
		close(p[1]);
		if (p[0] != fd && (dup2(p[0], fd) < 0 || close(p[0])))
			return pb_fail("run", strerror(errno));
		snprintf(num, sizeof(num), "%d", fd);
		setenv("PROCBIND_TOKEN_FD", num, 1);
	} else if (setenv(env, text, 1)) {
		return pb_fail("run", strerror(errno));
	}
	setenv("PROCBIND_CREDENTIAL", tok.id, 1);
	sodium_memzero(text, strlen(text));
	free(text);
	free(tok.token);
	execv(exe, argv + optind);
	return pb_fail("run", strerror(errno));
}

int pb_cmd_token(int argc, char **argv)
{
	static const struct option o[] = {{"identity", required_argument, 0, 'i'},
					  {"ttl", required_argument, 0, 't'},
					  {"inherit", required_argument, 0, 'I'},
					  PB_WL_OPTS,
					  {0}};
	const char *identity = NULL, *ttl = NULL, *inherit = NULL;
	struct pb_client_token tok;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'i': identity = optarg; break;
		case 't': if (pb_arg_ttl("token", optarg)) return 2; ttl = optarg; break;
		case 'I': if (pb_arg_inherit("token", optarg)) return 2; inherit = optarg; break;
		case 'W': wl_sock = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc)
		return pb_arg_bad("token", "unexpected argument '%s'", argv[optind]);
	if (pb_client_token(wl_sock, identity, ttl, inherit, NULL, &tok, err, sizeof(err)))
		return pb_fail("token", err);
	printf("%s\n", tok.token);
	sodium_memzero(tok.token, strlen(tok.token));
	free(tok.token);
	return 0;
}

int pb_cmd_proof(int argc, char **argv)
{
	static const struct option o[] = {{"method", required_argument, 0, 'm'},
					  {"url", required_argument, 0, 'u'},
					  {"nonce", required_argument, 0, 'n'},
					  {"token", required_argument, 0, 'T'},
					  PB_WL_OPTS,
					  {0}};
	const char *method = NULL, *url = NULL, *nonce = NULL, *token = getenv("PROCBIND_TOKEN");
	char err[512], *proof;
	int c;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'm': method = optarg; break;
		case 'u': url = optarg; break;
		case 'n': nonce = optarg; break;
		case 'T': token = optarg; break;
		case 'W': wl_sock = optarg; break;
		default: return 2;
		}
	}
	if (!method || !url || !token) {
		fprintf(stderr, "usage: procbindctl proof --method M --url U [--nonce N] "
				"[--token TOKEN (default $PROCBIND_TOKEN)]\n");
		return 2;
	}
	if (pb_client_proof(wl_sock, token, method, url, nonce, &proof, err, sizeof(err)))
		return pb_fail("proof", err);
	printf("%s\n", proof);
	free(proof);
	return 0;
}

/* The node's key: --pubkey FILE, else the agent's node.pub. */
static int pb_load_key(const char *file, unsigned char pk[32])
{
	int ret = pb_pubkey_read(file ? file : PB_DEFAULT_PUBKEY, pk);

	if (ret)
		fprintf(stderr, "procbindctl: cannot read the public key %s: %s\n",
			file ? file : PB_DEFAULT_PUBKEY, strerror(-ret));
	return ret;
}

int pb_cmd_pubkey(int argc, char **argv)
{
	static const struct option o[] = {{"file", required_argument, 0, 'f'}, PB_WL_OPTS, {0}};
	const char *file = NULL;
	unsigned char pk[32];
	char hex[65], b64[64], err[512];
	int c;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'W': wl_sock = optarg; break;
		default: return 2;
		}
	}
	if (file) {
		if (pb_load_key(file, pk))
			return 1;
	} else {
		if (pb_client_pubkey(wl_sock, hex, err, sizeof(err)))
			return pb_fail("pubkey", err);
		if (sodium_hex2bin(pk, sizeof(pk), hex, 64, NULL, NULL, NULL))
			return pb_fail("pubkey", "the agent sent a malformed key");
	}
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), B64V);
	printf("%s\n", b64);
	return 0;
}

int pb_cmd_verify_token(int argc, char **argv)
{
	static const struct option o[] = {{"pubkey", required_argument, 0, 'k'}, {0}};
	const char *file = NULL;
	unsigned char pk[32];
	enum pb_verify_result v;
	char *claims = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c != 'k')
			return 2;
		file = optarg;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: procbindctl verify-token TOKEN [--pubkey FILE]\n");
		return 2;
	}
	if (pb_load_key(file, pk))
		return 1;
	v = pb_verify_token(argv[optind], pk, time(NULL), &claims);
	if (v != PB_V_OK)
		return pb_fail("verify-token", pb_verify_result_name(v));
	printf("%s\n", claims);
	free(claims);
	return 0;
}

/* A replay cache kept in a file across invocations: "jti exp" lines. */
static struct pb_replay *pb_replay_load(const char *file, int64_t now)
{
	struct pb_replay *r = pb_replay_new(65536);
	char jti[64];
	long long exp;
	FILE *f = file ? fopen(file, "re") : NULL;

	if (f) {
		while (r && fscanf(f, "%63s %lld", jti, &exp) == 2)
			pb_replay_note(r, jti, exp, now);
		fclose(f);
	}
	return r;
}

int pb_cmd_verify_proof(int argc, char **argv)
{
	static const struct option o[] = {{"pubkey", required_argument, 0, 'k'},
					  {"token", required_argument, 0, 'T'},
					  {"method", required_argument, 0, 'm'},
					  {"url", required_argument, 0, 'u'},
					  {"replay-cache", required_argument, 0, 'r'},
					  {0}};
	const char *file = NULL, *token = NULL, *method = NULL, *url = NULL, *cache = NULL;
	int64_t now = time(NULL);
	unsigned char pk[32];
	enum pb_verify_result v;
	struct pb_replay *r;
	char *claims = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'k': file = optarg; break;
		case 'T': token = optarg; break;
		case 'm': method = optarg; break;
		case 'u': url = optarg; break;
		case 'r': cache = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !token || !method || !url) {
		fprintf(stderr, "usage: procbindctl verify-proof PROOF --token TOKEN --method M "
				"--url U [--pubkey FILE] [--replay-cache FILE]\n");
		return 2;
	}
	if (pb_load_key(file, pk))
		return 1;
	r = pb_replay_load(cache, now);
	if (!r)
		return pb_fail("verify-proof", "out of memory");
	v = pb_verify_proof(argv[optind], token, method, url, pk, now, r, &claims);
	pb_replay_free(r);
	if (v != PB_V_OK)
		return pb_fail("verify-proof", pb_verify_result_name(v));
	if (cache) {
		/* the id is spent: kept until its proof has expired */
		FILE *f = fopen(cache, "ae");
		const char *j = strstr(claims, "\"jti\":\""), *e = strstr(claims, "\"exp\":");

		if (!f || !j || !e)
			return pb_fail("verify-proof", "cannot record the proof id in the replay cache");
		fprintf(f, "%.*s %lld\n", (int)strcspn(j + 7, "\""), j + 7, atoll(e + 6));
		fclose(f);
	}
	printf("%s\n", claims);
	free(claims);
	return 0;
}
