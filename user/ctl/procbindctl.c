// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl: the operator's CLI. Each command turns its options into one
 * control-socket request and prints the agent's reply; exit status 0 on
 * success, 1 when the agent refused, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "args.h"
#include "ctl_approval.h"
#include "ctl_audit.h"
#include "ctl_conn.h"
#include "ctl_workload.h"
#include "help.h"
#include "render.h"
#include "json.h"
#include "policy.h"
#include "util.h"

static const char usage_text[] =
    "usage: procbindctl [--socket PATH] COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  mint --pid PID --identity NAME [--ttl DURATION] [--inherit none|children]\n"
    "       [--out PATH] [--audience AUD]   mint a credential bound to PID (host PID);\n"
    "                                       PID must carry NAME's identity tag\n"
    "  revoke ID                            revoke a credential\n"
    "  ps [--all] [-o table|json]           processes holding or owning credentials\n"
    "  status [-o text|json]                mode, policy version, counters, map fill\n"
    "  health                               exit 0 when ready (hooks, policy, audit trail)\n"
    "  reload                               re-read the agent's policy file and swap it in\n"
    "                                       atomically (the old one stays on error)\n"
    "  policy check FILE                    validate a policy file (no agent needed)\n"
    "\n"
    "approvals (docs/approvals.md):\n"
    "  approve --credential ID (--dest ADDR:PORT [--proto tcp|udp] | --request METHOD URL)\n"
    "          [--uses N] [--expires DURATION] --approver NAME --reason TEXT [--ticket REF]\n"
    "                                       grant a local approval (uses default 1; never\n"
    "                                       longer than the credential); prints id=ID\n"
    "  approve --signed FILE|-              submit an approval an approver signed offline\n"
    "  approvals [-o table|json]            live approvals and their uses left\n"
    "  revoke-approval ID                   end an approval\n"
    "  approval keygen --out FILE           an approver's key pair (FILE, FILE.pub), offline\n"
    "  approval sign --key FILE --credential ID (--dest ...|--request M URL) [--uses N]\n"
    "          [--expires D] [--approver NAME] --reason TEXT [--ticket REF]\n"
    "                                       a signed approval, offline (on stdout)\n"
    "\n"
    "workloads (the workload socket: --workload-socket PATH, $PROCBIND_WORKLOAD_SOCKET or\n"
    "/run/procbind/workload.sock; any user, for itself only):\n"
    "  run [--identity NAME] [--ttl D] [--inherit none|children] [--fd N | --env VAR]\n"
    "      [--format TEXT] -- CMD [ARGS...] exec CMD with a fresh credential bound to it, as\n"
    "                                       TEXT with %s for the token (default \"%s\"): on\n"
    "                                       descriptor N (default 3) of a file only CMD may\n"
    "                                       open or read (curl -H @/dev/fd/3); or, with\n"
    "                                       --env, in $VAR, which every process of the same\n"
    "                                       uid can read in /proc/PID/environ (refused only\n"
    "                                       on BPF-LSM kernels) and which ends up in argv if\n"
    "                                       a script writes \"$VAR\" on a command line\n"
    "  token [--identity NAME] [--ttl D]    a credential bound to this procbindctl process\n"
    "                                       (to try the socket: it ends when procbindctl does)\n"
    "  proof --method M --url U [--nonce N] [--token T]   a proof for one request, for the\n"
    "                                       process the token ($PROCBIND_TOKEN) is bound to\n"
    "                                       (or its child, where the credential allows)\n"
    "\n"
    "checking tokens and proofs (offline, with the node's public key):\n"
    "  pubkey [--file FILE]                 the node's public key (from the agent, or FILE)\n"
    "  verify-token TOKEN [--pubkey FILE]   signature and expiry; prints the claims\n"
    "  verify-proof PROOF --token T --method M --url U [--pubkey FILE] [--replay-cache FILE]\n"
    "               [--approver-key FILE]   the proof matches the token and the request, is\n"
    "                                       fresh, and (with a cache) not seen before; with\n"
    "                                       --approver-key, carries that approver's signed\n"
    "                                       approval for this credential and request\n"
    "\n"
    "audit trail (read from the files; the agent may be down; without --dir, the\n"
    "running agent's trail, else /var/lib/procbind/audit):\n"
    "  trail [--dir DIR] (--pid PID [--start-time NS] | --pod UID | --identity NAME |\n"
    "        --credential ID | --approval ID) [--since TIME] [--until TIME] [-o table|json]\n"
    "                                       one process's (or pod's, ...) records\n"
    "  events [--dir DIR] [-o json|compact|ocsf] [--follow]   every record (ocsf: as\n"
    "                                       OCSF 1.3 events); then live\n"
    "  verify [--dir DIR] [--pubkey FILE]   check every link, checkpoint and seal\n"
    "\n"
    "\n"
    "  help [COMMAND]                       a command's usage, options and an example\n"
    "                                       (also: procbindctl COMMAND --help)\n"
    "  version                              procbindctl's version (also --version)\n"
    "\n"
    "The commands that talk to the agent (mint, revoke, ps, status, health, reload,\n"
    "approve, approvals, revoke-approval) need root: the control socket is root's.\n"
    "\n"
    "EXAMPLES:\n"
    "  procbindctl mint --pid 4242 --ttl 10m --identity payments-reconciler\n"
    "  procbindctl ps\n"
    "  procbindctl revoke 9f86d081884c7d65\n";

/* revoke: the exit status says it all. */
static void pb_render_nothing(FILE *out, json_t *reply)
{
	(void)out;
	(void)reply;
}

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* How a reply is shown: the agent's JSON as it came, or rendered as text. */
typedef void (*pb_render_fn)(FILE *out, json_t *reply);

/* Send one request and show the reply: render(body) on stdout, or the body
 * itself when render is NULL; an error line on stderr. 0 ok, 1 refused or
 * unreachable. */
static int pb_call(struct pb_buf *req, pb_render_fn render)
{
	struct pb_buf reply = {0};
	char err[512], *nl;
	int ret = 1;

	pb_buf_append(req, "\n", 1);
	if (req->failed) {
		fprintf(stderr, "procbindctl: out of memory\n");
	} else if (pb_ctl_request(req->data, req->len, &reply, err, sizeof(err))) {
		fprintf(stderr, "procbindctl: %s\n", err);
		if (strstr(err, "Permission denied") && geteuid()) {
			fprintf(stderr,
				"procbindctl: the control socket is root's: run this as root "
				"(sudo procbindctl ...). Without root:");
			pb_help_commands(stderr, 0);
			fprintf(stderr,
				"\n(run, token, proof and pubkey go through the workload "
				"socket; trail, events and verify read a trail you can read)\n");
		}
	} else if (reply.len < 3 || strncmp(reply.data, "ok\n", 3)) {
		nl = memchr(reply.data, '\n', reply.len);
		fprintf(stderr, "procbindctl: %.*s\n",
			(int)(nl ? (size_t)(nl - reply.data) : reply.len), reply.data);
	} else if (!render) {
		fwrite(reply.data + 3, 1, reply.len - 3, stdout);
		ret = 0;
	} else {
		json_error_t jerr;
		json_t *body = json_loadb(reply.data + 3, reply.len - 3, 0, &jerr);

		if (!body) {
			fprintf(stderr, "procbindctl: the agent's reply is not JSON: %s\n",
				jerr.text);
		} else {
			render(stdout, body);
			json_decref(body);
			ret = 0;
		}
	}
	pb_buf_free(&reply);
	return ret;
}

static void kv(struct pb_buf *b, const char *k, const char *v)
{
	if (strchr(v, '\n')) {
		fprintf(stderr, "procbindctl: newline in --%s\n", k);
		exit(2);
	}
	pb_buf_printf(b, "%s=%s\n", k, v);
}

/* revoke ID, revoke-approval ID: the exit status says it all */
static int cmd_revoke(const char *verb, int argc, char **argv, struct pb_buf *req)
{
	if (argc != 2)
		return pb_arg_bad(verb, "usage: procbindctl %s ID", verb);
	if (pb_arg_id(verb, argv[1]))
		return 2;
	pb_buf_printf(req, "%s\n", verb);
	kv(req, "id", argv[1]);
	return pb_call(req, pb_render_nothing);
}

static int cmd_mint(int argc, char **argv, struct pb_buf *req)
{
	static const struct option opts[] = {
	    {"pid", required_argument, 0, 'p'},
	    {"ttl", required_argument, 0, 't'},
	    {"identity", required_argument, 0, 'i'},
	    {"inherit", required_argument, 0, 'I'},
	    {"out", required_argument, 0, 'o'},
	    {"audience", required_argument, 0, 'a'},
	    {0},
	};
	char abs[4096];
	int c, have_pid = 0;

	pb_buf_printf(req, "mint\n");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (pb_arg_pid("mint", optarg))
				return 2;
			kv(req, "pid", optarg);
			have_pid = 1;
			break;
		case 't':
			if (pb_arg_ttl("mint", optarg))
				return 2;
			kv(req, "ttl", optarg);
			break;
		case 'i':
			if (!optarg[0])
				return pb_arg_bad("mint", "--identity needs a name");
			kv(req, "identity", optarg);
			break;
		case 'I':
			if (pb_arg_inherit("mint", optarg))
				return 2;
			kv(req, "inherit", optarg);
			break;
		case 'a':
			kv(req, "audience", optarg);
			break;
		case 'o':
			/* The agent runs elsewhere: send an absolute path. */
			if (optarg[0] != '/' && getcwd(abs, sizeof(abs) - 1 - strlen(optarg) - 1)) {
				strcat(abs, "/");
				strcat(abs, optarg);
				kv(req, "out", abs);
			} else {
				kv(req, "out", optarg);
			}
			break;
		default:
			return 2; /* getopt said which */
		}
	}
	if (optind != argc)
		return pb_arg_bad("mint", "unexpected argument '%s'", argv[optind]);
	if (!have_pid)
		return pb_arg_bad("mint", "--pid PID is required");
	return pb_call(req, pb_render_mint);
}

/* ps and status: a table, or the agent's JSON with -o json. */
static int cmd_table(const char *verb, int argc, char **argv, struct pb_buf *req)
{
	static const struct option opts[] = {
	    {"all", no_argument, 0, 'a'},
	    {"output", required_argument, 0, 'o'},
	    {0},
	};
	pb_render_fn render = !strcmp(verb, "ps")	   ? pb_render_ps
			      : !strcmp(verb, "approvals") ? pb_render_approvals
							   : pb_render_status;
	int c;

	pb_buf_printf(req, "%s\n", verb);
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'a' && render == pb_render_ps) {
			kv(req, "all", "1");
		} else if (c == 'o') {
			if (!strcmp(optarg, "json"))
				render = NULL;
			else if (strcmp(optarg, "table") && strcmp(optarg, "text"))
				return pb_arg_bad(verb, "-o must be table or json, not '%s'",
						  optarg);
		} else if (c == 'a') {
			return pb_arg_bad(verb, "--all is for ps");
		} else {
			return 2; /* getopt said which */
		}
	}
	if (optind != argc)
		return pb_arg_bad(verb, "unexpected argument '%s'", argv[optind]);
	return pb_call(req, render);
}

static int cmd_policy(int argc, char **argv)
{
	struct pb_policy p;
	char err[1024], date[32];
	time_t now = time(NULL);

	if (argc != 3 || strcmp(argv[1], "check"))
		return pb_arg_bad("policy", "usage: procbindctl policy check FILE");
	pb_policy_defaults(&p);
	if (pb_policy_load(argv[2], &p, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf(
	    "%s: ok, version %s, mode %s, %u identities, %u protected, %u exempt, %u approvers\n",
	    argv[2], p.version, pb_mode_name(p.mode), p.nident, p.nprot, p.nexempt, p.napprovers);
	for (unsigned int i = 0; i < p.nident; i++) {
		const struct pb_identity *id = &p.ident[i];

		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&id->expires));
		unsigned int gated = 0, greq = 0;

		for (unsigned int j = 0; j < id->nscope; j++)
			gated += !!(id->scope[j].flags & PB_RULE_APPROVAL);
		for (unsigned int j = 0; j < id->nrequests; j++)
			greq += !!id->requests[j].requires_approval;
		printf(
		    "  identity %s: owner %s, expires %s%s, %u scope rules (%u need an approval), "
		    "%u requests (%u need an approval), approvals %s\n",
		    id->name, id->owner, date,
		    id->expires <= now ? " (EXPIRED: minting is refused)" : "", id->nscope, gated,
		    id->nrequests, greq, id->approvals_signed ? "signed only" : "local or signed");
	}
	pb_policy_free(&p);
	return 0;
}

int main(int argc, char **argv)
{
	struct pb_buf req = {0};
	const char *cmd;
	int i = 1, ret;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			pb_ctl_set_socket(argv[i + 1]);
			i += 2;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			pb_ctl_set_socket(argv[i] + 9);
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("procbindctl %s\n", PB_VERSION);
			return 0;
		} else {
			fprintf(stderr, "procbindctl: unknown option '%s' (procbindctl --help)\n",
				argv[i]);
			return 2;
		}
	}
	if (i >= argc)
		return usage();
	cmd = argv[i];
	argc -= i;
	argv += i;
	optind = 1;

	if (pb_help_known(cmd) && pb_help_wanted(cmd, argc, argv))
		return pb_help_print(stdout, cmd) ? 2 : 0;
	if (!strcmp(cmd, "version")) {
		printf("procbindctl %s\n", PB_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		if (argc == 1) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!pb_help_print(stdout, argv[1]))
			return 0;
		cmd = argv[1]; /* an unknown command: said below */
	} else if (pb_help_check_options(cmd, argc, argv)) {
		return 2;
	}
	if (!pb_help_known(cmd)) {
		const char *near = pb_help_suggest_command(cmd);

		if (near)
			fprintf(stderr, "procbindctl: unknown command '%s'; did you mean '%s'?\n",
				cmd, near);
		else
			fprintf(stderr, "procbindctl: unknown command '%s' (procbindctl help)\n",
				cmd);
		return 2;
	}

	if (!strcmp(cmd, "mint"))
		ret = cmd_mint(argc, argv, &req);
	else if (!strcmp(cmd, "revoke") || !strcmp(cmd, "revoke-approval"))
		ret = cmd_revoke(cmd, argc, argv, &req);
	else if (!strcmp(cmd, "ps") || !strcmp(cmd, "status"))
		ret = cmd_table(cmd, argc, argv, &req);
	else if (!strcmp(cmd, "approve")) {
		ret = pb_approve_request(argc, argv, &req);
		if (!ret)
			ret = pb_call(&req, pb_render_approve);
	} else if (!strcmp(cmd, "approvals"))
		ret = cmd_table(cmd, argc, argv, &req);
	else if (!strcmp(cmd, "approval"))
		ret = pb_cmd_approval(argc, argv);
	else if (!strcmp(cmd, "trail"))
		ret = pb_cmd_trail(argc, argv);
	else if (!strcmp(cmd, "events"))
		ret = pb_cmd_events(argc, argv);
	else if (!strcmp(cmd, "verify"))
		ret = pb_cmd_verify(argc, argv);
	else if (!strcmp(cmd, "health")) {
		if (argc != 1)
			return pb_arg_bad("health", "takes no arguments");
		pb_buf_printf(&req, "health\n");
		ret = pb_call(&req, pb_render_health);
	} else if (!strcmp(cmd, "reload")) {
		if (argc != 1)
			return pb_arg_bad("reload", "takes no arguments");
		pb_buf_printf(&req, "reload\n");
		ret = pb_call(&req, pb_render_reload);
	} else if (!strcmp(cmd, "policy"))
		ret = cmd_policy(argc, argv);
	else if (!strcmp(cmd, "run"))
		ret = pb_cmd_run(argc, argv);
	else if (!strcmp(cmd, "token"))
		ret = pb_cmd_token(argc, argv);
	else if (!strcmp(cmd, "proof"))
		ret = pb_cmd_proof(argc, argv);
	else if (!strcmp(cmd, "pubkey"))
		ret = pb_cmd_pubkey(argc, argv);
	else if (!strcmp(cmd, "verify-token"))
		ret = pb_cmd_verify_token(argc, argv);
	else if (!strcmp(cmd, "verify-proof"))
		ret = pb_cmd_verify_proof(argc, argv);
	else
		ret = usage(); /* known to help, not here: cannot happen */
	pb_buf_free(&req);
	return ret;
}
