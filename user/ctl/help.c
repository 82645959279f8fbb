// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindctl's help (help.h): each command's usage, options and an
 * example, one table for `help CMD`, `CMD --help`, and the suggestions for
 * a mistyped command or option. */
#include <stdio.h>
#include <string.h>

#include "help.h"
#include "util.h"

/* needs: ROOT talks to the agent's control socket (root's); ANY does not */
enum { ANY, ROOT };

struct pb_cmd_help {
	const char *name;
	int needs;
	const char *usage;   /* after "procbindctl " */
	const char *what;    /* one paragraph */
	const char *options; /* "  --opt ARG   text\n" lines; "" when none */
	const char *example; /* one or more command lines */
};

static const struct pb_cmd_help cmds[] = {
    {"mint", ROOT,
     "mint --pid PID --identity NAME [--ttl DURATION] [--inherit none|children] [--out PATH] "
     "[--audience AUD]",
     "Mint a credential bound to the process PID (a host PID). The process must carry NAME's "
     "identity tag (procbindctl ps shows it). Prints id=... and the token, or writes the token "
     "to PATH (mode 0400, readable only by that process).",
     "  --pid PID             the process to bind (host PID namespace)\n"
     "  --identity NAME       an identity of the policy in force\n"
     "  --ttl DURATION        lifetime, e.g. 90s, 10m, 2h (at most the identity's max_ttl)\n"
     "  --inherit none|children  whether forked children may use it\n"
     "  --out PATH            write the token to PATH instead of stdout\n"
     "  --audience AUD        the token's aud claim\n",
     "procbindctl mint --pid 4242 --identity payments --ttl 10m --out /run/app/token"},
    {"revoke", ROOT, "revoke ID", "Revoke a credential: every hook refuses it from now on.", "",
     "procbindctl revoke 9f86d081884c7d65"},
    {"ps", ROOT, "ps [--all] [-o table|json]",
     "Processes that hold or own credentials, with each one's binding and identity tag.",
     "  --all                 every tracked process, not only holders\n"
     "  -o, --output table|json  the format\n",
     "procbindctl ps -o json | jq '.[] | select(.held[].binding == \"foreign\")'"},
    {"status", ROOT, "status [-o text|json]",
     "The agent: mode, policy version, counters by verdict and reason, events, maps, guard.",
     "  -o, --output text|json  the format\n", "procbindctl status -o json | jq .counters"},
    {"health", ROOT, "health",
     "Exit 0 when the agent is ready: hooks attached, policy loaded, audit trail writable.", "",
     "procbindctl health && echo ready"},
    {"reload", ROOT, "reload",
     "Re-read the agent's policy file and switch to it atomically; a file that does not parse "
     "is refused and the old policy stays.",
     "", "procbindctl reload"},
    {"policy", ANY, "policy check FILE",
     "Validate a policy file without an agent: parse errors with line and column, then a "
     "summary of its identities.",
     "", "procbindctl policy check /etc/procbind/policy.yaml"},
    {"approve", ROOT,
     "approve --credential ID (--dest ADDR:PORT [--proto tcp|udp] | --request METHOD URL) "
     "[--uses N] [--expires DURATION] --approver NAME --reason TEXT [--ticket REF]\n"
     "       procbindctl approve --signed FILE|-",
     "Grant an approval for one credential and one destination or request, for a number of "
     "uses (docs/approvals.md); or submit one an approver signed offline.",
     "  --credential ID       the credential (so the one process) it is for\n"
     "  --dest ADDR:PORT      a destination the connect hooks gate\n"
     "  --proto tcp|udp       the destination's protocol (default tcp)\n"
     "  --request METHOD URL  a request the proofs gate\n"
     "  --uses N              how many times (default 1)\n"
     "  --expires DURATION    when it ends (never after the credential)\n"
     "  --approver NAME       who approves\n"
     "  --reason TEXT         why\n"
     "  --ticket REF          a change or incident reference\n"
     "  --signed FILE|-       an approval signed with procbindctl approval sign\n",
     "procbindctl approve --credential 9f86d081884c7d65 --dest 10.0.0.7:5432 --uses 1 "
     "--approver alice --reason 'schema migration' --ticket CHG-1234"},
    {"approvals", ROOT, "approvals [-o table|json]", "Live approvals and the uses they have left.",
     "  -o, --output table|json  the format\n", "procbindctl approvals"},
    {"revoke-approval", ROOT, "revoke-approval ID",
     "End an approval before its uses or time run out.", "",
     "procbindctl revoke-approval 3c2b1a0918273645"},
    {"approval", ANY,
     "approval keygen --out FILE\n"
     "       procbindctl approval sign --key FILE --credential ID (--dest ADDR:PORT [--proto "
     "tcp|udp] | --request METHOD URL) [--uses N] [--expires D] [--approver NAME] --reason TEXT "
     "[--ticket REF]",
     "An approver's offline tools: a key pair (FILE, FILE.pub), and a signed approval on stdout "
     "for procbindctl approve --signed.",
     "  --out FILE            keygen: where the key pair goes\n"
     "  --key FILE            sign: the approver's private key\n"
     "  --credential ID       sign: as approve\n"
     "  --dest ADDR:PORT      sign: as approve\n"
     "  --proto tcp|udp       sign: as approve\n"
     "  --request METHOD URL  sign: as approve\n"
     "  --uses N              sign: as approve\n"
     "  --expires DURATION    sign: as approve\n"
     "  --approver NAME       sign: as approve\n"
     "  --reason TEXT         sign: as approve\n"
     "  --ticket REF          sign: as approve\n",
     "procbindctl approval keygen --out alice.key"},
    {"run", ANY,
     "run [--identity NAME] [--ttl D] [--inherit none|children] [--fd N | --env VAR] [--format "
     "TEXT] -- CMD [ARGS...]",
     "Exec CMD with a fresh credential bound to it, through the workload socket (any user, for "
     "itself only): on descriptor N (default 3) of a file only CMD may open or read, or in $VAR "
     "(readable by every process of the same uid in /proc/PID/environ).",
     "  --identity NAME       the identity (default: the one the process is tagged with)\n"
     "  --ttl DURATION        lifetime\n"
     "  --inherit none|children  whether CMD's children may use it\n"
     "  --fd N                the descriptor CMD finds the token on (default 3)\n"
     "  --env VAR             put the token in $VAR instead\n"
     "  --format TEXT         the token as TEXT, %s for the token (default \"%s\")\n"
     "  --workload-socket PATH  the workload socket (default /run/procbind/workload.sock)\n",
     "procbindctl run --format 'Authorization: Bearer %s' -- curl -H @/dev/fd/3 "
     "https://api.internal/"},
    {"token", ANY, "token [--identity NAME] [--ttl D]",
     "A credential bound to this procbindctl process, through the workload socket: to try the "
     "socket (it ends when procbindctl does).",
     "  --identity NAME       the identity\n"
     "  --ttl DURATION        lifetime\n"
     "  --workload-socket PATH  the workload socket\n",
     "procbindctl token --ttl 1m"},
    {"proof", ANY, "proof --method M --url U [--nonce N] [--token T]",
     "A proof of possession for one request (a DPoP-shaped JWT), for the process the token "
     "($PROCBIND_TOKEN) is bound to, or its child where the credential allows.",
     "  --method M            the request's method\n"
     "  --url U               the request's URL\n"
     "  --nonce N             the server's nonce\n"
     "  --token T             the token (default $PROCBIND_TOKEN)\n"
     "  --workload-socket PATH  the workload socket\n",
     "curl -H \"DPoP: $(procbindctl proof --method GET --url https://api.internal/x)\" "
     "https://api.internal/x"},
    {"pubkey", ANY, "pubkey [--file FILE]",
     "The node's public key, from the agent (root) or from FILE (the agent's state directory's "
     "node.pub).",
     "  --file FILE           read it from FILE, no agent needed\n"
     "  --workload-socket PATH  ask through the workload socket (any user)\n",
     "procbindctl pubkey > node.pub"},
    {"verify-token", ANY, "verify-token TOKEN [--pubkey FILE]",
     "Check a token's signature and expiry offline; prints its claims.",
     "  --pubkey FILE         the node's public key (default: ask the agent)\n",
     "procbindctl verify-token \"$(cat token)\" --pubkey node.pub"},
    {"verify-proof", ANY,
     "verify-proof PROOF --token T --method M --url U [--pubkey FILE] [--replay-cache FILE] "
     "[--approver-key FILE]",
     "Check that a proof matches the token and the request, is fresh, and (with a cache) was "
     "not seen before; with --approver-key, that it carries that approver's signed approval.",
     "  --token T             the token the proof is for\n"
     "  --method M            the request's method\n"
     "  --url U               the request's URL\n"
     "  --pubkey FILE         the node's public key\n"
     "  --replay-cache FILE   refuse a proof seen before\n"
     "  --approver-key FILE   require an approval signed with this key\n",
     "procbindctl verify-proof \"$PROOF\" --token \"$TOKEN\" --method GET --url "
     "https://api.internal/x --pubkey node.pub"},
    {"trail", ANY,
     "trail [--dir DIR] (--pid PID [--start-time NS] | --pod UID | --identity NAME | "
     "--credential ID | --approval ID) [--since TIME] [--until TIME] [-o table|json] [--raw]",
     "One process's (or pod's, identity's, credential's, approval's) records from the audit "
     "trail's files; the agent may be down. Never mixes two processes that had one PID.",
     "  --dir DIR             the trail (default: the running agent's, else "
     "/var/lib/procbind/audit)\n"
     "  --pid PID             a host PID\n"
     "  --start-time NS       which process of that PID (its start_time)\n"
     "  --pod UID             a pod's processes\n"
     "  --identity NAME       an identity's credentials and processes\n"
     "  --credential ID       a credential's life\n"
     "  --approval ID         an approval's life\n"
     "  --since TIME          from (RFC 3339)\n"
     "  --until TIME          until (RFC 3339)\n"
     "  -o, --output table|json  the format\n"
     "  --raw                 json: records as chained, a reference (\"described_in\") to "
     "the record that describes a process or credential in full left as it is\n",
     "procbindctl trail --pid 4242 --since 2026-12-05T10:00:00Z"},
    {"events", ANY, "events [--dir DIR] [-o json|compact|ocsf] [--follow] [--raw]",
     "Every record of the audit trail (ocsf: as OCSF 1.3 events); with --follow, then the new "
     "ones as they come.",
     "  --dir DIR             the trail\n"
     "  -o, --output json|compact|ocsf  the format\n"
     "  -f, --follow          keep reading new records\n"
     "  --raw                 records as chained, references left as they are\n",
     "procbindctl events -o ocsf --follow | vector --config ship.toml"},
    {"verify", ANY, "verify [--dir DIR] [--pubkey FILE]",
     "Check every link, checkpoint and seal of the audit trail.",
     "  --dir DIR             the trail\n"
     "  --pubkey FILE         the node's public key (default: the trail's own node.pub)\n",
     "procbindctl verify --dir /var/lib/procbind/audit"},
    {"help", ANY, "help [COMMAND]", "This list, or one command's usage, options and example.", "",
     "procbindctl help mint"},
    {"version", ANY, "version", "procbindctl's version (also --version).", "",
     "procbindctl version"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct pb_cmd_help *pb_help_find(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int pb_help_known(const char *name)
{
	return pb_help_find(name) != NULL;
}

int pb_help_needs_root(const char *name)
{
	const struct pb_cmd_help *c = pb_help_find(name);

	return c && c->needs == ROOT;
}

void pb_help_commands(FILE *f, int root)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (cmds[i].needs == (root ? ROOT : ANY))
			fprintf(f, " %s", cmds[i].name);
}

/* text from column col, its words wrapped at 78 columns: a line it breaks
 * goes on after wrap spaces, a line break of its own after nl spaces */
static void pb_wrap(FILE *f, const char *text, int col, int wrap, int nl)
{
	int start = 1; /* no space before a line's first word */

	while (*text) {
		size_t w = strcspn(text, " \n");

		if (!start && col + 1 + (int)w > 78) {
			fprintf(f, "\n%*s", wrap, "");
			col = wrap;
			start = 1;
		}
		if (!start) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, w, f);
		col += (int)w;
		start = 0;
		text += w;
		if (*text == '\n') {
			fprintf(f, "\n%*s", nl, "");
			col = nl;
			start = 1;
		}
		text += strspn(text, " \n");
	}
	fputc('\n', f);
}

int pb_help_print(FILE *f, const char *name)
{
	const struct pb_cmd_help *c = pb_help_find(name);

	if (!c)
		return -1;
	fputs("usage: procbindctl ", f);
	pb_wrap(f, c->usage, 19, 9, 7);
	fputc('\n', f);
	pb_wrap(f, c->what, 0, 0, 0);
	if (c->needs == ROOT)
		fprintf(f, "Needs the agent's control socket (root).\n");
	if (c->options[0])
		fprintf(f, "\noptions:\n%s", c->options);
	fprintf(f, "  -h, --help            this help\n\nEXAMPLE:\n  %s\n", c->example);
	return 0;
}

const char *pb_help_suggest_command(const char *word)
{
	const char *names[NCMDS];

	for (size_t i = 0; i < NCMDS; i++)
		names[i] = cmds[i].name;
	return pb_closest(word, names, NCMDS);
}

/* The long options a command's help lists ("--name"), into names (up to max). */
static size_t pb_help_options(const struct pb_cmd_help *c, char names[][32], size_t max)
{
	const char *p = c->options;
	size_t n = 0;

	while (n < max && (p = strstr(p, "--"))) {
		size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

		/* an option is where a line begins, or after "-o, " */
		if (len && len < 30 && (p == c->options || p[-1] == ' ' || p[-1] == '\n')) {
			int dup = 0;

			for (size_t i = 0; i < n; i++)
				dup |= !strncmp(names[i], p + 2, len) && !names[i][len];
			if (!dup) {
				memcpy(names[n], p + 2, len);
				names[n][len] = 0;
				n++;
			}
		}
		p += 2 + len;
	}
	return n;
}

/* Where cmd's own arguments end: at "--", and for run (whose options all
 * take a value) at the first word that is neither an option nor its
 * value: the program to run, whose options are its own. */
static int pb_help_end(const char *cmd, int argc, char **argv)
{
	int run = !strcmp(cmd, "run");

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return i;
		if (run && argv[i][0] != '-')
			return i;
		if (run && !strncmp(argv[i], "--", 2) && !strchr(argv[i], '=') &&
		    strcmp(argv[i], "--help"))
			i++; /* its value */
	}
	return argc;
}

int pb_help_check_options(const char *cmd, int argc, char **argv)
{
	const struct pb_cmd_help *c = pb_help_find(cmd);
	char names[32][32];
	const char *ptrs[33];
	size_t n;

	if (!c)
		return 0;
	n = pb_help_options(c, names, 32);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = names[i];
	ptrs[n] = "help";
	argc = pb_help_end(cmd, argc, argv);
	for (int i = 1; i < argc; i++) {
		char word[64];
		const char *near;
		int known = 0;

		if (strncmp(argv[i], "--", 2) || !argv[i][2])
			continue;
		snprintf(word, sizeof(word), "%s", argv[i] + 2);
		word[strcspn(word, "=")] = 0;
		for (size_t j = 0; j <= n; j++)
			known |= !strcmp(word, ptrs[j]);
		if (known)
			continue;
		near = pb_closest(word, ptrs, n + 1);
		if (near)
			fprintf(stderr,
				"procbindctl %s: unknown option '--%s'; did you mean '--%s'?\n",
				cmd, word, near);
		else
			fprintf(stderr,
				"procbindctl %s: unknown option '--%s' (procbindctl %s --help)\n",
				cmd, word, cmd);
		return 2;
	}
	return 0;
}

int pb_help_wanted(const char *cmd, int argc, char **argv)
{
	argc = pb_help_end(cmd, argc, argv);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}
