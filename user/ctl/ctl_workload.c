// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl's workload commands: run, token and proof over the workload
 * socket (libprocbind_client), and pubkey, verify-token and verify-proof,
 * which check offline (libprocbind_verify). */
#include <errno.h>
#include <fcntl.h>
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
#include "proto.h"
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

/* procbindctl run: CMD exec'd with a credential bound to it (this process,
 * which exec keeps, and the executable it is about to become). By default
 * on descriptor 3 of a file the file guard refuses to every other process
 * (a reopen through /proc/PID/fd, a descriptor taken with pidfd_getfd or
 * passed on); --env VAR puts it in the environment instead, where every
 * process of the same uid can read it in /proc/PID/environ unless BPF-LSM
 * refuses that. */
/* A token argument: the token itself, "-" (read from stdin) or "@FILE" (read
 * from FILE), so that no token has to be on a command line, where every
 * user of the node can read it in /proc/PID/cmdline. *owned is what to
 * wipe and free; NULL when the file cannot be read (reported). */
static const char *pb_token_arg(const char *what, const char *v, char **owned)
{
	FILE *f = stdin;
	size_t cap = 0;
	ssize_t n;

	*owned = NULL;
	if (!v || (strcmp(v, "-") && v[0] != '@'))
		return v;
	if (v[0] == '@' && !(f = fopen(v + 1, "re"))) {
		fprintf(stderr, "procbindctl: %s: %s: %s\n", what, v + 1, strerror(errno));
		return NULL;
	}
	n = getline(owned, &cap, f);
	if (f != stdin)
		fclose(f);
	if (n <= 0) {
		fprintf(stderr, "procbindctl: %s: no token in %s\n", what, v[0] == '@' ? v + 1 : "stdin");
		free(*owned);
		*owned = NULL;
		return NULL;
	}
	(*owned)[strcspn(*owned, "\r\n")] = 0;
	return *owned;
}

static void pb_token_free(char *owned)
{
	if (owned) {
		sodium_memzero(owned, strlen(owned));
		free(owned);
	}
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
	const char *identity = NULL, *ttl = NULL, *inherit = NULL, *env = NULL;
	const char *format = "%s";
	struct pb_client_token tok;
	char exe[PATH_MAX], err[512], num[16];
	int c, fd = -1, hfd;

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
	if (!pb_handover_format_ok(format)) {
		fprintf(stderr, "procbindctl: run: --format needs exactly one %%s and no other %%\n");
		return 2;
	}
	if (env && fd >= 0) {
		fprintf(stderr, "procbindctl: run: give --fd or --env, not both\n");
		return 2;
	}
	if (env && (!env[0] || strchr(env, '='))) {
		fprintf(stderr, "procbindctl: run: --env needs a variable name\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: procbindctl run [--identity NAME] [--ttl D] [--inherit I] "
				"[--fd N (default 3) | --env VAR] [--format TEXT] -- CMD [ARGS...]\n");
		return 2;
	}
	if (!env && fd < 0)
		fd = 3;
	if (pb_which(argv[optind], exe, sizeof(exe)))
		return pb_fail("run", "no such command");
	/* The credential names this process (whose PID and start exec keeps)
	 * and the executable it is about to become. */
	if (env) {
		char *text;

		if (pb_client_token(wl_sock, identity, ttl, inherit, exe, &tok, err, sizeof(err)))
			return pb_fail("run", err);
		/* what CMD gets: the token, or a line made of it */
		if (asprintf(&text, format, tok.token) < 0)
			return pb_fail("run", "out of memory");
		sodium_memzero(tok.token, strlen(tok.token));
		free(tok.token);
		if (setenv(env, text, 1))
			return pb_fail("run", strerror(errno));
		sodium_memzero(text, strlen(text));
		free(text);
	} else {
		if (pb_client_token_fd(wl_sock, identity, ttl, inherit, exe, format, &hfd, &tok, err,
				       sizeof(err)))
			return pb_fail("run", err);
		if (hfd != fd && (dup2(hfd, fd) < 0 || close(hfd)))
			return pb_fail("run", strerror(errno));
		if (hfd == fd && fcntl(fd, F_SETFD, 0)) /* CMD keeps it */
			return pb_fail("run", strerror(errno));
		snprintf(num, sizeof(num), "%d", fd);
		setenv("PROCBIND_TOKEN_FD", num, 1);
	}
	setenv("PROCBIND_CREDENTIAL", tok.id, 1);
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
	char err[512], *proof, *owned;
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
				"[--token TOKEN|@FILE|- (default $PROCBIND_TOKEN)]\n");
		return 2;
	}
	if (!(token = pb_token_arg("proof", token, &owned)))
		return 1;
	c = pb_client_proof(wl_sock, token, method, url, nonce, &proof, err, sizeof(err));
	pb_token_free(owned);
	if (c)
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
	const char *file = NULL, *token;
	char *owned;
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
		fprintf(stderr, "usage: procbindctl verify-token TOKEN|@FILE|- [--pubkey FILE]\n");
		return 2;
	}
	if (pb_load_key(file, pk))
		return 1;
	if (!(token = pb_token_arg("verify-token", argv[optind], &owned)))
		return 1;
	v = pb_verify_token(token, pk, time(NULL), &claims);
	pb_token_free(owned);
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
					  {"approver-key", required_argument, 0, 'A'},
					  {0}};
	const char *file = NULL, *token = NULL, *method = NULL, *url = NULL, *cache = NULL;
	const char *approver_key = NULL;
	unsigned char apk[32];
	int64_t now = time(NULL);
	unsigned char pk[32];
	enum pb_verify_result v;
	struct pb_replay *r;
	char *claims = NULL, *owned;
	int c;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'k': file = optarg; break;
		case 'T': token = optarg; break;
		case 'm': method = optarg; break;
		case 'u': url = optarg; break;
		case 'r': cache = optarg; break;
		case 'A': approver_key = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !token || !method || !url) {
		fprintf(stderr, "usage: procbindctl verify-proof PROOF --token TOKEN|@FILE|- --method M "
				"--url U [--pubkey FILE] [--replay-cache FILE] [--approver-key FILE]\n");
		return 2;
	}
	if (pb_load_key(file, pk))
		return 1;
	if (approver_key && pb_load_key(approver_key, apk))
		return 1;
	if (!(token = pb_token_arg("verify-proof", token, &owned)))
		return 1;
	r = pb_replay_load(cache, now);
	if (!r) {
		pb_token_free(owned);
		return pb_fail("verify-proof", "out of memory");
	}
	v = pb_verify_proof(argv[optind], token, method, url, pk, now, r, &claims);
	pb_token_free(owned);
	pb_replay_free(r);
	if (v == PB_V_OK && approver_key) {
		/* the approval it carries: signed by that approver, for this request */
		v = pb_verify_proof_approval(argv[optind], apk, NULL);
		if (v != PB_V_OK)
			fprintf(stderr, "procbindctl: verify-proof: the proof's approval: %s\n",
				pb_verify_result_name(v));
	}
	if (v != PB_V_OK) {
		free(claims);
		return pb_fail("verify-proof", pb_verify_result_name(v));
	}
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
