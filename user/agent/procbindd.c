// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* procbindd: the node agent. Loads and attaches the BPF programs, seeds the
 * processes that predate it, serves the control socket and streams every
 * event as one JSON line on stdout, in one single-threaded epoll loop. */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "adopt.h"
#include "agent.h"
#include "audit.h"
#include "creds.h"
#include "events.h"
#include "guard.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "purpose.h"
#include "seed.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"

#ifndef PB_DEFAULT_POLICY
#define PB_DEFAULT_POLICY "/etc/procbind/policy.yaml"
#endif

/* Drain period: events are submitted without waking us (see
 * pb_event_submit), so this bounds their latency. */
#define PB_DRAIN_MS 100

static const char doc[] =
    "procbindd -- bind credentials to the process they were minted for, and enforce "
    "it in the kernel.\n"
    "\n"
    "Runs in the foreground, one JSON object per event on stdout, logs on stderr.\n"
    "\n"
    "EXAMPLES:\n"
    "  procbindd --policy deploy/policy.yaml\n"
    "  procbindd --mode monitor --state-dir /tmp/pb --socket /tmp/pb/control.sock\n";

#define PB_OPT_RECORD_REFS  0x101 /* long only */
#define PB_OPT_SEGMENT_SIZE 0x102

static const struct argp_option options[] = {
    {"policy", 'p', "FILE", 0, "Policy file (default " PB_DEFAULT_POLICY ")", 0},
    {"mode", 'm', "MODE", 0, "monitor or enforce (overrides the policy)", 0},
    {"state-dir", 's', "DIR", 0, "State directory (default /var/lib/procbind)", 0},
    {"socket", 'S', "PATH", 0, "Control socket (default /run/procbind/control.sock)", 0},
    {"cgroup-root", 'c', "PATH", 0, "cgroup v2 mount (default: from /proc/self/mountinfo)", 0},
    {"bpffs", 'b', "PATH", 0, "bpffs mount (default /sys/fs/bpf; mounted if missing)", 0},
    {"pin-dir", 'P', "DIR", 0, "Where maps and links are pinned (default BPFFS/procbind)", 0},
    {"metrics-file", 'M', "FILE", 0,
     "Write Prometheus metrics here every second (node_exporter textfile collector)", 0},
    {"metrics-addr", 'H', "ADDR:PORT", 0,
     "Serve Prometheus metrics over HTTP at /metrics: 127.0.0.1:9464, [::1]:9464, or :9464 for "
     "every address (off by default)",
     0},
    {"probe", 'R', NULL, 0, "Print what the kernel offers and what procbind will use, and exit", 0},
    {"cleanup", 'C', NULL, 0,
     "Remove everything pinned under the pin directory (enforcement stops) and exit", 0},
    {"audit-dir", 'A', "DIR", 0, "Audit trail directory (default STATE-DIR/audit)", 0},
    {"audit-segment-size", PB_OPT_SEGMENT_SIZE, "SIZE", 0,
     "Seal the open segment of the audit trail once it holds SIZE bytes (a number, or with K, "
     "M or G; default 32M, at least 64K); it is sealed after an hour in any case",
     0},
    {"k8s-log-dir", 'k', "DIR", 0,
     "The kubelet's container log links, for Kubernetes selectors (default /var/log/containers)",
     0},
    {"seed-from", 'F', "SOURCE", 0,
     "How processes that predate the agent are found: auto (default), iter (task iterator) "
     "or proc (/proc; start times to the 10 ms tick until a hook sees the process)",
     0},
    {"lsm", 'L', "WHEN", 0,
     "Refuse foreign opens of token files with BPF-LSM (lsm/file_open): auto (default: where "
     "the kernel runs BPF-LSM), on (refuse to start without it) or off",
     0},
    {"workload-socket", 'W', "PATH", 0,
     "The workload socket, for pods to mount: a process asks it for a credential for itself "
     "and for proofs (default /run/procbind/workload.sock; \"off\": none)",
     0},
    {"file-guard", 'G', "WHEN", 0,
     "Guard every credential file with fanotify permission events, so that no other process "
     "can open or read it: on (default) or off",
     0},
    {"acquire-tracepoints", 'T', NULL, 0,
     "Also watch open(2)/openat(2)/openat2(2) with syscall tracepoints, recording every opener "
     "of a token file as a holder. Off by default: a syscall tracepoint puts every task on the "
     "node on the slow syscall path. For kernels without fanotify permission events",
     0},
    {"dead-retention", 'D', "DURATION", 0,
     "How long a credential that ended (expired, revoked, owner exited) is kept in the kernel's "
     "map and the agent, so that a process still holding it is told why it is refused "
     "(default 1h; dead ones make room for new mints when the map is full)",
     0},
    {"events-format", 'E', "FORMAT", 0,
     "What stdout's event lines are: json (procbind's records, as in the audit trail; the "
     "default), ocsf (OCSF 1.3 events, the record under \"unmapped\"; docs/audit.md) or none "
     "(no event lines: the audit trail alone keeps them, at less cost per event)",
     0},
    {"record-refs", PB_OPT_RECORD_REFS, "WHEN", 0,
     "on (default): a process's and a credential's attribution is written in full in the first "
     "record of a trail segment that names them; later records carry their keys and "
     "\"described_in\", that record's seq (a third of the bytes of a connect event). off: every "
     "record whole. Always off with --events-format ocsf",
     0},
    {"take-over", 'O', NULL, 0,
     "Replace the agent running on the same control socket, state directory or pin directory: "
     "ask it to step down (it leaves its pins and file guard, which keep enforcing), wait for "
     "it, then adopt its state as a restart does. Without it a second agent is refused",
     0},
    {"guard-host", 'g', "SOCKET", 0,
     "Have the guard host at SOCKET (procbindd --serve-guards, in a process or container of "
     "its own) start the file guard, so that it outlives this agent's container; waits 10 s "
     "for it at a start, then forks the guard itself (with a warning)",
     0},
    {"serve-guards", 'Y', "SOCKET", 0,
     "Run as the guard host: start file guards for the agent that asks on SOCKET (root only), "
     "and keep them when the agent stops; nothing else (no policy, no BPF loading)",
     0},
    {"watch-policy", 'w', "WHEN", 0,
     "Reload the policy when its file changes, as the kubelet replaces a ConfigMap (a new "
     "directory and a ..data swap) or an editor saves it: on (default) or off (procbindctl "
     "reload and SIGHUP only)",
     0},
    {"verbose", 'v', NULL, 0, "Debug logs, including libbpf's", 0},
    {0},
};

struct pb_args {
	const char *policy, *state_dir, *socket, *cgroup_root, *bpffs, *k8s_dir, *audit_dir;
	const char *pin_dir, *metrics_file, *metrics_addr, *workload_socket, *guard_host,
	    *serve_guards;
	int mode, cleanup, probe, seed, lsm, file_guard, acquire_tp, stream, take_over,
	    watch_policy;
	int record_refs;
	uint64_t segment_bytes;
	uint64_t dead_retention; /* ns */
};

/* An on|off option's value (argp_error exits on anything else). */
static int pb_arg_onoff(struct argp_state *state, const char *opt, const char *arg)
{
	if (strcmp(arg, "on") && strcmp(arg, "off"))
		argp_error(state, "%s must be on or off, not '%s'", opt, arg);
	return !strcmp(arg, "on");
}

static error_t pb_parse_opt(int key, char *arg, struct argp_state *state)
{
	struct pb_args *args = state->input;

	switch (key) {
	case 'p':
		args->policy = arg;
		break;
	case 'm':
		args->mode = pb_mode_parse(arg);
		if (args->mode < 0)
			argp_error(state, "--mode must be monitor or enforce, not '%s'", arg);
		break;
	case 's':
		args->state_dir = arg;
		break;
	case 'S':
		args->socket = arg;
		break;
	case 'c':
		args->cgroup_root = arg;
		break;
	case 'b':
		args->bpffs = arg;
		break;
	case 'k':
		args->k8s_dir = arg;
		break;
	case 'A':
		args->audit_dir = arg;
		break;
	case 'P':
		args->pin_dir = arg;
		break;
	case 'C':
		args->cleanup = 1;
		break;
	case 'O':
		args->take_over = 1;
		break;
	case 'g':
	case 'Y':
		if (strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			argp_error(state, "--%s: the socket path is longer than %zu bytes",
				   key == 'g' ? "guard-host" : "serve-guards",
				   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		if (key == 'g')
			args->guard_host = arg;
		else
			args->serve_guards = arg;
		break;
	case 'R':
		args->probe = 1;
		break;
	case 'M':
		args->metrics_file = arg;
		break;
	case 'H': {
		struct sockaddr_storage ss;
		unsigned int len;
		char err[256];

		if (strlen(arg) >= sizeof(((struct pb_agent_conf *)0)->metrics_addr))
			argp_error(state, "--metrics-addr: too long");
		if (pb_listen_addr_parse(arg, &ss, &len, err, sizeof(err)))
			argp_error(state, "--metrics-addr %s", err);
		args->metrics_addr = arg;
		break;
	}
	case 'F':
		if (!strcmp(arg, "auto"))
			args->seed = PB_SEED_AUTO;
		else if (!strcmp(arg, "iter"))
			args->seed = PB_SEED_ITER;
		else if (!strcmp(arg, "proc"))
			args->seed = PB_SEED_PROC;
		else
			argp_error(state, "--seed-from must be auto, iter or proc, not '%s'", arg);
		break;
	case 'w':
		args->watch_policy = pb_arg_onoff(state, "--watch-policy", arg);
		break;
	case 'G':
		args->file_guard = pb_arg_onoff(state, "--file-guard", arg);
		break;
	case 'T':
		args->acquire_tp = 1;
		break;
	case 'E':
		if (!strcmp(arg, "json"))
			args->stream = PB_STREAM_JSON;
		else if (!strcmp(arg, "ocsf"))
			args->stream = PB_STREAM_OCSF;
		else if (!strcmp(arg, "none"))
			args->stream = PB_STREAM_NONE;
		else
			argp_error(state, "--events-format must be json, ocsf or none, not '%s'",
				   arg);
		break;
	case PB_OPT_RECORD_REFS:
		args->record_refs = pb_arg_onoff(state, "--record-refs", arg);
		break;
	case PB_OPT_SEGMENT_SIZE: {
		char *end;
		unsigned long long v = strtoull(arg, &end, 10);
		int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;

		if (shift)
			end++;
		if (end == arg || *end || v > (1ULL << (63 - shift)) || (v << shift) < (64u << 10))
			argp_error(state,
				   "--audit-segment-size must be a size such as 64K, 8M or 1G (at "
				   "least 64K), not '%s'",
				   arg);
		args->segment_bytes = v << shift;
		break;
	}
	case 'D':
		if (pb_duration_parse(arg, &args->dead_retention) || !args->dead_retention)
			argp_error(state,
				   "--dead-retention must be a duration such as 90s, 10m or 1h, "
				   "not '%s'",
				   arg);
		break;
	case 'W':
		args->workload_socket = arg;
		break;
	case 'L':
		if (!strcmp(arg, "auto"))
			args->lsm = PB_LSM_AUTO;
		else if (!strcmp(arg, "on"))
			args->lsm = PB_LSM_ON;
		else if (!strcmp(arg, "off"))
			args->lsm = PB_LSM_OFF;
		else
			argp_error(state, "--lsm must be auto, on or off, not '%s'", arg);
		break;
	case 'v':
		pb_verbose = 1;
		break;
	case ARGP_KEY_ARG:
		argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The state directory holds the node key: made with its parents when
 * missing, and refused when it is not a directory of this user that no one
 * else may write (someone could put a key of theirs there). */
static int pb_mkdirs(struct pb_agent *a)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s", a->conf.state_dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return pb_err(-errno, "agent: state directory: mkdir %s: %m", path);
		*p = '/';
	}
	if (mkdir(a->conf.state_dir, 0700) && errno != EEXIST)
		return pb_err(-errno, "agent: state directory: mkdir %s: %m", a->conf.state_dir);
	if (lstat(a->conf.state_dir, &st))
		return pb_err(-errno, "agent: state directory %s: %m", a->conf.state_dir);
	if (!S_ISDIR(st.st_mode))
		return pb_err(-ENOTDIR, "agent: state directory %s is not a directory",
			      a->conf.state_dir);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return pb_err(-EPERM,
			      "agent: state directory %s is %s (mode %04o, owner uid %u): it holds "
			      "the node key, so only this user may write to it (chmod 700, chown)",
			      a->conf.state_dir,
			      st.st_uid != geteuid() ? "owned by another user"
						     : "writable by others",
			      st.st_mode & 07777, st.st_uid);
	if (access(a->conf.state_dir, W_OK))
		return pb_err(-errno, "agent: state directory %s is not writable: %m",
			      a->conf.state_dir);
	/* 0711: a bound process may open its own token by name, nobody may list. */
	if (mkdir(a->conf.cred_dir, 0711) && errno != EEXIST)
		return pb_err(-errno, "agent: mkdir %s: %m", a->conf.cred_dir);
	chmod(a->conf.cred_dir, 0711);
	return 0;
}

/* Token files left by an earlier agent name credentials this one does not
 * hold in its maps: they would not be enforced, so they must not be used. */
static void pb_clear_stale_tokens(struct pb_agent *a)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(a->conf.cred_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 7 || strcmp(de->d_name + len - 6, ".token"))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", a->conf.cred_dir, de->d_name) <
			(int)sizeof(path) &&
		    !unlink(path))
			n++;
	}
	closedir(d);
	if (n)
		pb_warn("agent: removed %u token files of an earlier run (not enforced any more)",
			n);
}

/* procbindd --version: the tree's version, which the package carries. */
const char *argp_program_version = "procbindd " PB_VERSION;

static void pb_emit_lifecycle(struct pb_agent *a, const char *type)
{
	pb_event_begin(a, &a->sink.line, type, pb_now_boot_ns());
	pb_json_str(&a->sink.line, "version", PB_VERSION);
	pb_json_str(&a->sink.line, "mode", pb_mode_name(pb_mode_now(a)));
	pb_json_str(&a->sink.line, "policy", a->conf.policy_path);
	pb_json_str(&a->sink.line, "cgroup_root", a->conf.cgroup_root);
	pb_json_u64(&a->sink.line, "seeded", a->procs.seeded);
	pb_json_u64(&a->sink.line, "pid", getpid());
	pb_json_bool(&a->sink.line, "adopted", a->kern.adopted);
	pb_json_str(&a->sink.line, "credential_files", pb_file_path_name(a));
	pb_json_u64(&a->sink.line, "guard_pid", a->guard.pidfd >= 0 ? (uint64_t)a->guard.pid : 0);
	pb_json_str(&a->sink.line, "seed_source", a->kern.walk_proc ? "proc" : "task_iterator");
	pb_json_end(&a->sink.line);
	pb_emit_line(a, &a->sink.line);
	pb_events_stream_flush(a);
}

/* The event loop's descriptors: one epoll over the signals, the drain
 * timer, the sockets, the ring buffer and the guard process. */
struct pb_loop {
	int ep, sfd, tfd, lfd, wfd, rbfd, pfd; /* pfd: the policy file's watch */
	unsigned int ticks;
	uint64_t watchdog_ns, watchdog_last; /* systemd's watchdog: interval, last ping */
};

static void pb_loop_watch(struct pb_loop *l, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (fd >= 0)
		epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Signals into a signalfd, the timer, the control and workload sockets, the
 * metrics server: 0 or -errno (logged). */
static int pb_loop_open(struct pb_agent *a, struct pb_loop *l)
{
	struct itimerspec its = {.it_interval = {0, PB_DRAIN_MS * 1000000L},
				 .it_value = {0, PB_DRAIN_MS * 1000000L}};
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->ep < 0 || l->sfd < 0 || l->tfd < 0 || timerfd_settime(l->tfd, 0, &its, NULL))
		return pb_err(-errno, "agent: event loop setup: %m");
	l->lfd = pb_control_listen(a);
	if (l->lfd < 0)
		return l->lfd;
	if (a->conf.workload_socket[0]) {
		l->wfd = pb_workload_listen(a);
		if (l->wfd < 0)
			return l->wfd;
	}
	/* after the signals are blocked: the server's thread inherits that */
	if (a->conf.metrics_addr[0]) {
		ret = pb_metrics_http_start(a);
		if (ret)
			return ret;
		pb_metrics_write(a); /* the first scrape finds metrics */
	}
	l->rbfd = ring_buffer__epoll_fd(a->drain.rb);
	pb_loop_watch(l, l->sfd);
	pb_loop_watch(l, l->tfd);
	pb_loop_watch(l, l->lfd);
	pb_loop_watch(l, l->rbfd);
	pb_loop_watch(l, l->wfd);
	pb_loop_watch(l, a->guard.pidfd);
	l->pfd = pb_watch_open(a);
	pb_loop_watch(l, l->pfd);
	return 0;
}

static void pb_loop_close(struct pb_agent *a, struct pb_loop *l)
{
	if (l->lfd >= 0) {
		close(l->lfd);
		unlink(a->conf.socket_path);
	}
	if (l->wfd >= 0) {
		close(l->wfd);
		unlink(a->conf.workload_socket);
	}
	pb_metrics_http_stop(a);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->sfd >= 0)
		close(l->sfd);
	pb_watch_close(a);
	if (l->ep >= 0)
		close(l->ep);
}

/* Reload the policy (SIGHUP, or its file changed): the old one stays when
 * the new one is refused. */
static void pb_reload_now(struct pb_agent *a, const char *why_now)
{
	char why[1024];

	pb_info("policy: reloading %s (%s)", a->conf.policy_path, why_now);
	pb_notify("RELOADING=1");
	/* Decisions before the swap are reported before the policy_loaded
	 * event. */
	pb_events_drain(a, PB_DRAIN_WHOLE);
	if (pb_reload(a, why, sizeof(why)))
		pb_error("%s", why);
	pb_events_flush(a);
	pb_notify("READY=1"); /* the old policy stays when the new one was refused */
}

/* A signal: SIGHUP reloads the policy (0); SIGINT and SIGTERM stop (1). */
static int pb_on_signal(struct pb_agent *a, struct pb_loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo != SIGHUP) {
		pb_info("agent: signal %u, stopping", si.ssi_signo);
		pb_notify("STOPPING=1");
		return 1;
	}
	pb_reload_now(a, "SIGHUP");
	return 0;
}

static int pb_on_guard_exit(struct pb_agent *a, struct pb_loop *l);

/* Every PB_DRAIN_MS: the timer, not the wake-up, guarantees the drain; once
 * a second, the credentials' tick, the trail's, the metrics. */
static int pb_on_tick(struct pb_agent *a, struct pb_loop *l)
{
	uint64_t exp;
	int ret;

	if (read(l->tfd, &exp, sizeof(exp)) < 0)
		return 0;
	if (l->watchdog_ns && pb_now_boot_ns() - l->watchdog_last >= l->watchdog_ns) {
		pb_notify("WATCHDOG=1");
		l->watchdog_last = pb_now_boot_ns();
	}
	pb_events_drain(a, PB_DRAIN_STEP);
	pb_guard_drain(a);
	/* a stalled guard, killed, is replaced as a dead one is */
	if (pb_guard_watch(a) && (ret = pb_on_guard_exit(a, l)))
		return ret;
	if (a->purpose.npending)
		pb_purpose_tick(a);
	pb_adopt_tick(a);
	if (pb_watch_due(a))
		pb_reload_now(a, "its file changed");
	pb_workload_expire(a, l->ep);
	pb_control_expire(a, l->ep);
	if (++l->ticks % (1000 / PB_DRAIN_MS) == 0) {
		pb_creds_tick(a);
		pb_approvals_tick(a);
		pb_events_second(a);
		pb_refusals_pass(a);
		pb_metrics_write(a);
		/* what a burst freed goes back to the node */
		malloc_trim(0);
	}
	pb_events_flush(a);
	return 0;
}

/* The guard died: its group lives on in this agent, and a new guard answers
 * what queued meanwhile. 0, or -EIO when none can be started. */
static int pb_on_guard_exit(struct pb_agent *a, struct pb_loop *l)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, a->guard.pidfd, NULL);
	if (pb_guard_respawn(a))
		return pb_err(-EIO, "agent: the file guard cannot be restarted");
	pb_loop_watch(l, a->guard.pidfd);
	pb_guard_drain(a);
	return 0;
}

/* Until a signal stops it (0) or the loop cannot go on (-errno). */
static int pb_loop_run(struct pb_agent *a, struct pb_loop *l)
{
	struct epoll_event evs[8];

	for (;;) {
		int n = epoll_wait(l->ep, evs, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pb_err(-errno, "agent: epoll_wait: %m");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, ret;

			if (fd == l->sfd) {
				if (pb_on_signal(a, l))
					return 0;
			} else if (fd == l->tfd) {
				if ((ret = pb_on_tick(a, l)))
					return ret;
			} else if (fd == l->lfd) {
				pb_control_accept(a, l->ep);
			} else if (pb_control_owns(a, fd)) {
				pb_control_io(a, fd, evs[i].events, l->ep);
			} else if (fd == l->rbfd) {
				/* level-triggered: what is left wakes the next round */
				pb_events_drain(a, PB_DRAIN_STEP);
				pb_events_flush(a);
			} else if (fd == l->wfd) {
				pb_workload_accept(a, l->ep);
			} else if (pb_workload_owns(a, fd)) {
				pb_workload_io(a, fd, evs[i].events, l->ep);
			} else if (fd == l->pfd && fd >= 0) {
				pb_watch_event(a);
			} else if (fd == a->guard.pidfd && (ret = pb_on_guard_exit(a, l))) {
				return ret;
			}
		}
	}
}

/* Serve until stopped: ready, the loop, and the last drain. */
static int pb_run(struct pb_agent *a)
{
	struct pb_loop l = {
	    .ep = -1, .sfd = -1, .tfd = -1, .lfd = -1, .wfd = -1, .rbfd = -1, .pfd = -1};
	int ret = pb_loop_open(a, &l);

	if (!ret) {
		pb_info("agent: ready (mode %s, control socket %s)", pb_mode_name(pb_mode_now(a)),
			a->conf.socket_path);
		pb_emit_lifecycle(a, "agent_started");
		a->serve.ready = 1; /* /readyz from the next rendering (at once) */
		pb_metrics_write(a);
		/* Everything enforces by now: the hooks attached, the policy in
		 * force, every live credential file marked in this agent's guard
		 * (and the earlier guard stopped), the sockets listening. */
		{
			char st[96];

			snprintf(st, sizeof(st), "READY=1\nMAINPID=%d\nSTATUS=enforcing (%s mode)",
				 (int)getpid(), pb_mode_name(pb_mode_now(a)));
			pb_notify(st);
		}
		l.watchdog_ns = pb_watchdog_interval_ns();
		l.watchdog_last = pb_now_boot_ns();
		ret = pb_loop_run(a, &l);
		pb_events_drain(a, PB_DRAIN_WHOLE);
		pb_guard_drain(a);
		pb_emit_lifecycle(a, "agent_stopped");
		pb_events_stop(a);
	}
	pb_loop_close(a, &l);
	return ret;
}

/* A replaced pod's agent: nothing to do until the pod is stopped (its
 * container would be restarted if it exited). */
static int pb_wait_stop(void)
{
	sigset_t mask;
	int sig = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigwait(&mask, &sig);
	pb_info("agent: signal %d, stopping (this pod was replaced)", sig);
	return 0;
}

/* What procbindd was told, into its configuration. */
static void pb_agent_configure(struct pb_agent *a, const struct pb_args *args)
{
	struct pb_agent_conf *c = &a->conf;
	char cwd[PATH_MAX];

	if (args->pin_dir)
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", args->pin_dir);
	else
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s/procbind", args->bpffs);
	c->seed_source = args->seed;
	c->lsm_mode = args->lsm;
	c->file_guard = args->file_guard;
	c->watch_policy = args->watch_policy;
	c->events_stream = args->stream;
	c->record_refs = args->record_refs;
	c->audit_segment_bytes = args->segment_bytes;
	c->acquire_tp = args->acquire_tp;
	c->dead_retention = args->dead_retention;
	c->take_over = args->take_over;
	if (args->guard_host)
		snprintf(c->guard_host, sizeof(c->guard_host), "%s", args->guard_host);
	c->mode_override = args->mode; /* kept across reloads */
	snprintf(c->k8s_dir, sizeof(c->k8s_dir), "%s", args->k8s_dir);
	if (args->metrics_file)
		snprintf(c->metrics_file, sizeof(c->metrics_file), "%s", args->metrics_file);
	if (args->metrics_addr)
		snprintf(c->metrics_addr, sizeof(c->metrics_addr), "%s", args->metrics_addr);
	if (args->audit_dir)
		snprintf(c->audit_dir, sizeof(c->audit_dir), "%s", args->audit_dir);
	else
		snprintf(c->audit_dir, sizeof(c->audit_dir), "%s/audit", args->state_dir);
	/* Absolute, but its symlinks kept: a ConfigMap's file is a symlink
	 * through ..data, which the kubelet swaps at each update; a reload
	 * reads what the path leads to then, not the directory it led to at
	 * start (which the kubelet deletes). */
	if (args->policy[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(c->policy_path, sizeof(c->policy_path), "%s/%s", cwd, args->policy);
	else
		snprintf(c->policy_path, sizeof(c->policy_path), "%s", args->policy);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", args->state_dir);
	snprintf(c->cred_dir, sizeof(c->cred_dir), "%s/creds", args->state_dir);
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", args->socket);
	snprintf(c->workload_socket, sizeof(c->workload_socket), "%s",
		 strcmp(args->workload_socket, "off") ? args->workload_socket : "");
	snprintf(c->bpffs, sizeof(c->bpffs), "%s", args->bpffs);
	if (gethostname(c->node, sizeof(c->node)))
		snprintf(c->node, sizeof(c->node), "unknown");
}

/* The kernel side, in order: the probe, the state directory, the key and
 * the trail; the programs loaded (or adopted), the policy in, the hooks
 * attached; what an earlier agent minted; the guard; adopted files; the
 * ring buffer; the processes that predate the agent. 0 or -errno (logged). */
static int pb_agent_start(struct pb_agent *a, const char *cgroup_root)
{
	char why[512];
	int err;

	/* The probe reports a missing cgroup v2 mount with the rest. */
	err = pb_cgroup2_find(cgroup_root, a->conf.cgroup_root, sizeof(a->conf.cgroup_root));
	if (!pb_privileged(why, sizeof(why))) {
		pb_error(
		    "agent: procbindd needs root, or the capabilities BPF, PERFMON, NET_ADMIN, "
		    "SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH, CHOWN, SYS_RESOURCE and SYS_NICE; "
		    "this process (uid %u) lacks %s",
		    (unsigned int)geteuid(), why);
		return -EPERM;
	}
	if (pb_probe(a, stderr)) {
		pb_error("agent: this kernel lacks what procbind needs (procbindd --probe)");
		return err ? err : -ENOTSUP;
	}
	/* One agent per node, before anything is written; a port in use is
	 * refused before anything is loaded. */
	if (err || (err = pb_mkdirs(a)) || (err = pb_single_claim(a)))
		return err;
	if (a->conf.metrics_addr[0] && (err = pb_metrics_http_listen(a, a->conf.metrics_addr)))
		return err;
	if ((err = pb_key_load_or_create(a)) || (err = pb_events_trail_open(a)))
		return err;
	pb_info("agent: cgroup v2 at %s, bpffs at %s", a->conf.cgroup_root, a->conf.bpffs);

	if ((err = pb_loader_start(a)))
		return err;
	if ((err = pb_purpose_switch(a, &a->purpose.policy, why, sizeof(why)))) {
		pb_error("purpose: policy: %s", why);
		return err;
	}
	if ((err = pb_loader_attach(a)))
		return err;
	/* The kernel kept enforcing; take over what it enforces. */
	if (a->kern.adopted && ((err = pb_creds_load(a)) || (err = pb_approvals_load(a))))
		return err;
	/* Every live credential file is marked in this agent's guard group
	 * before the guard an earlier agent left stops, and before ready. */
	if ((err = pb_guard_start(a)) || (err = pb_creds_guard_all(a)))
		return err;
	pb_adopt_policy(a); /* the files pods already have, marked too */
	pb_guard_retire(a);
	if (!a->kern.adopted) {
		/* Token files of an earlier run name credentials no kernel map
		 * holds: they would not be enforced, so they must not be used. */
		pb_clear_stale_tokens(a);
		if ((err = pb_creds_journal_reset(a)) || (err = pb_approvals_reset(a)))
			return err;
	}
	pb_events_init(a);
	a->drain.rb =
	    ring_buffer__new(bpf_map__fd(a->kern.skel->maps.events), pb_events_handle, a, NULL);
	if (!a->drain.rb)
		return pb_err(-errno, "agent: ring buffer: %m");
	if ((err = pb_seed(a)))
		return err;
	pb_info("agent: %u hooks attached, %lu existing processes seeded from %s", a->kern.nlinks,
		(unsigned long)a->procs.seeded,
		a->kern.walk_proc ? "/proc (start times to the tick until a hook sees each)"
				  : "the task iterator");
	pb_purpose_loaded(a);
	return 0;
}

/* In the reverse order of the start; what is pinned stays pinned. */
static void pb_agent_stop(struct pb_agent *a)
{
	pb_metrics_http_stop(a);
	ring_buffer__free(a->drain.rb);
	a->drain.rb = NULL;
	pb_loader_stop(a);
	pb_events_stop(a);
	pb_approvals_stop(a);
	pb_creds_stop(a);
	pb_purpose_stop(a);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct pb_agent agent;
	struct pb_agent *a = &agent;
	struct pb_args args = {.policy = PB_DEFAULT_POLICY,
			       .state_dir = "/var/lib/procbind",
			       .socket = "/run/procbind/control.sock",
			       .workload_socket = "/run/procbind/workload.sock",
			       .bpffs = "/sys/fs/bpf",
			       .k8s_dir = "/var/log/containers",
			       .mode = -1,
			       .file_guard = 1,
			       .watch_policy = 1,
			       .record_refs = 1,
			       .dead_retention = 3600ULL * 1000000000ULL};
	struct argp argp = {options, pb_parse_opt, NULL, doc, NULL, NULL, NULL};
	char perr[1024];
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &args))
		return 2;
#ifdef PB_MEASURE_DECISION_ONLY
	pb_warn("agent: a MEASUREMENT BUILD (PB_MEASURE_DECISION_ONLY): allowed connects are "
		"not recorded; never run it on a node");
#endif
	/* one malloc arena for every thread (the audit trail's compressor is
	 * the other): what a burst freed can then all go back (malloc_trim) */
	mallopt(M_ARENA_MAX, 1);
	pb_kernel_state_init(&a->kern);
	a->serve.state_lock = -1;
	pb_guard_state_init(&a->guard);
	pb_creds_state_init(&a->creds);
	pb_sink_state_init(&a->sink);
	a->watch.fd = -1;
	pb_http_state_init(&a->http);
	if (sodium_init() < 0) {
		pb_error("agent: libsodium failed to initialise");
		return 1;
	}
	pb_agent_configure(a, &args);
	/* --cleanup and --probe need no policy (an image may not ship the
	 * build tree's default one). */
	if (args.serve_guards)
		return pb_guard_host_serve(args.serve_guards) ? 1 : 0;
	if (args.cleanup) {
		if (pb_single_idle(a))
			return a->serve.other_agent ? PB_EXIT_OTHER_AGENT : 1;
		pb_guard_stop_pinned(a->conf.pin_dir);
		return pb_loader_cleanup(a->conf.pin_dir) ? 1 : 0;
	}
	if (args.probe) {
		pb_cgroup2_find(args.cgroup_root, a->conf.cgroup_root, sizeof(a->conf.cgroup_root));
		return pb_probe(a, stdout) ? 1 : 0;
	}
	if ((err = pb_purpose_open(a, args.policy, perr, sizeof(perr)))) {
		pb_error("policy: %s", perr);
		return 1;
	}
	err = pb_agent_start(a, args.cgroup_root);
	if (!err)
		err = pb_run(a);
	pb_agent_stop(a);
	if (err && a->serve.replaced)
		return pb_wait_stop();
	if (err && a->serve.other_agent)
		return PB_EXIT_OTHER_AGENT;
	return err ? 1 : 0;
}
