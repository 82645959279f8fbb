// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The agent's side of the file guard: the fanotify group, the guard process
 * (forked, so it outlives the agent: a crash or an upgrade of the agent
 * leaves every file guarded), the marks, and the hand-over from the guard an
 * earlier agent left running. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "guard.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"

#define PB_GUARD_MASK (FAN_OPEN_PERM | FAN_ACCESS_PERM)
/* Events waiting this long while the guard answered none: it is stalled. */
#define PB_GUARD_STALL_NS 500000000ULL
/* How long the agent waits for the guard host's socket at a start */
#define PB_GUARD_HOST_WAIT_S 10

/* A process, named by tgid and start (to the tick): is it still that guard?
 * Returns a pidfd for it, or -1. */
static int pb_guard_find(const struct pb_pkey *g)
{
	struct pb_stat st;
	int pidfd;

	if (!g->tgid)
		return -1;
	pidfd = pb_pidfd_open((pid_t)g->tgid);
	if (pidfd < 0)
		return -1;
	/* checked after the pidfd is held: the PID cannot change hands now */
	if (pb_stat_read(g->tgid, &st) || pb_ticks_to_ns(st.starttime) != g->start_time ||
	    strcmp(st.comm, PB_GUARD_COMM)) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

/* Stop a guard and wait (bounded) until it is gone: it answers what it has
 * read before it exits. */
static void pb_guard_stop(int pidfd, uint32_t tgid)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	if (pb_pidfd_signal(pidfd, SIGTERM) && errno != ESRCH)
		pb_warn("guard: stop guard %u: %m", tgid);
	else if (poll(&p, 1, 5000) != 1)
		pb_warn("guard: guard %u did not stop within 5 s", tgid);
}

static int pb_state_write(int fd, uint32_t slot, const struct pb_pkey *who)
{
	struct pb_guard_state st = {0};

	if (who)
		st.guard = *who;
	return bpf_map_update_elem(fd, &slot, &st, BPF_ANY) ? -errno : 0;
}

static int pb_guard_fork(struct pb_agent *a)
{
	struct procbind *s = a->kern.skel;
	struct pb_guard_ctx g = {
	    .fan = a->guard.fan_fd,
	    .procs = bpf_map__fd(s->maps.procs),
	    .creds = bpf_map__fd(s->maps.creds),
	    .cred_files = bpf_map__fd(s->maps.cred_files),
	    .cfg = bpf_map__fd(s->maps.agent_cfg),
	    .policies = bpf_map__fd(s->maps.policies),
	    .queue = bpf_map__fd(s->maps.guard_events),
	    .state = bpf_map__fd(s->maps.guard_state),
	    .adopt_files = bpf_map__fd(s->maps.adopt_files),
	    .names = bpf_map__fd(s->maps.proc_names),
	    .refusals = bpf_map__fd(s->maps.refusals),
	    .holding = a->kern.holding,
	    .nholding = a->kern.nholding,
	    .fast = a->kern.fast,
	};
	struct pb_stat st;
	struct pb_pkey who;
	int go[2], err, hosted = 0;
	pid_t pid;

	snprintf(g.cgroup_root, sizeof(g.cgroup_root), "%s", a->conf.cgroup_root);
	if (a->conf.guard_host[0]) {
		/* Another container's process forks it: it outlives this
		 * agent's container. The host may be starting still. */
		for (int i = 0; i < PB_GUARD_HOST_WAIT_S * 10; i++) {
			err = pb_guard_host_ask(a->conf.guard_host, a->conf.pin_dir, g.cgroup_root,
						g.fan, &go[1], &pid);
			if (!err || (err != -ENOENT && err != -ECONNREFUSED))
				break;
			usleep(100000);
		}
		if (!err) {
			hosted = 1;
			goto name;
		}
		pb_warn("guard: the guard host at %s: %s; the guard runs in this agent's container "
			"(it stops with it)",
			a->conf.guard_host, strerror(-err));
	}
	if (pipe2(go, O_CLOEXEC))
		return pb_err(-errno, "guard: pipe: %m");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(go[0]);
		close(go[1]);
		return pb_err(err, "guard: fork: %m");
	}
	if (pid == 0) {
		pb_node_key_wipe(&a->key); /* the guard never needs it */
		pb_guard_child(&g, go[0]);
	}
	close(go[0]);
name:
	err = pb_stat_read(pid, &st);
	who.tgid = pid;
	who._pad = 0;
	who.start_time = err ? 0 : pb_ticks_to_ns(st.starttime);
	if (!err)
		err = pb_state_write(g.state, PB_GUARD_NOW, &who);
	if (err || write(go[1], "g", 1) != 1) {
		close(go[1]); /* a host's guard is killed by its host */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, hosted ? WNOHANG : 0);
		return pb_err(err ? err : -EPIPE, "guard: start guard %d: %s", pid,
			      strerror(err ? -err : EPIPE));
	}
	close(go[1]);
	a->guard.pid = pid;
	a->guard.pidfd = pb_pidfd_open(pid);
	pb_info("guard: guard process %d answers for the credential files%s", pid,
		hosted ? " (started by the guard host)" : "");
	return 0;
}

int pb_guard_start(struct pb_agent *a)
{
	int state = bpf_map__fd(a->kern.skel->maps.guard_state);
	struct pb_guard_state old = {0};
	uint32_t now = PB_GUARD_NOW;
	int pidfd;

	a->guard.fan_fd = a->guard.pidfd = -1;
	/* An earlier agent's guard goes on answering until this one's group
	 * has every file marked (pb_guard_retire); with --file-guard off it
	 * is stopped all the same. */
	if (!bpf_map_lookup_elem(state, &now, &old) && (pidfd = pb_guard_find(&old.guard)) >= 0) {
		close(pidfd);
		a->guard.old = old.guard;
		pb_state_write(state, PB_GUARD_PREV, &old.guard);
	}
	pb_state_write(state, PB_GUARD_NOW, NULL);
	{
		struct pb_pkey me = {.tgid = (uint32_t)getpid()};
		struct pb_stat st;

		if (!pb_stat_read(me.tgid, &st)) {
			me.start_time = pb_ticks_to_ns(st.starttime);
			pb_state_write(state, PB_GUARD_AGENT, &me);
		}
	}
	if (!a->conf.file_guard)
		return 0;
	a->guard.fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
					    FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
					O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (a->guard.fan_fd < 0)
		return pb_err(-errno,
			      "guard: fanotify_init(FAN_CLASS_CONTENT): %m (permission events need "
			      "CONFIG_FANOTIFY_ACCESS_PERMISSIONS and CAP_SYS_ADMIN; "
			      "--file-guard off runs without them)");
	return pb_guard_fork(a);
}

void pb_guard_retire(struct pb_agent *a)
{
	int state = bpf_map__fd(a->kern.skel->maps.guard_state);
	int pidfd = pb_guard_find(&a->guard.old);

	if (pidfd >= 0) {
		pb_guard_stop(pidfd, a->guard.old.tgid);
		close(pidfd);
		pb_info("guard: the earlier agent's guard %u stopped; every file is marked in "
			"this one's group",
			a->guard.old.tgid);
	}
	memset(&a->guard.old, 0, sizeof(a->guard.old));
	pb_state_write(state, PB_GUARD_PREV, NULL);
}

int pb_guard_mark(struct pb_agent *a, int fd, const char *path)
{
	if (a->guard.fan_fd < 0)
		return 0;
	if (fanotify_mark(a->guard.fan_fd, FAN_MARK_ADD, PB_GUARD_MASK, fd >= 0 ? fd : AT_FDCWD,
			  fd >= 0 ? NULL : path))
		return -errno;
	return 0;
}

int pb_guard_unignore(struct pb_agent *a, int fd)
{
	if (a->guard.fan_fd < 0)
		return 0;
	if (fanotify_mark(a->guard.fan_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, PB_GUARD_MASK,
			  fd, NULL) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int pb_guard_mark_fs(struct pb_agent *a, int fd, int add)
{
	if (a->guard.fan_fd < 0)
		return 0;
	if (fanotify_mark(a->guard.fan_fd,
			  (add ? FAN_MARK_ADD : FAN_MARK_REMOVE) | FAN_MARK_FILESYSTEM,
			  PB_GUARD_MASK, fd, NULL))
		return -errno;
	return 0;
}

void pb_guard_unmark(struct pb_agent *a, const char *path)
{
	if (a->guard.fan_fd < 0 || !path[0])
		return;
	if (fanotify_mark(a->guard.fan_fd, FAN_MARK_REMOVE, PB_GUARD_MASK, AT_FDCWD, path) &&
	    errno != ENOENT)
		pb_warn("guard: unmark %s: %m", path);
}

unsigned int pb_guard_refuse_below(int fan, int maxfd)
{
	unsigned int n = 0;

	for (int fd = 0; fd < maxfd; fd++) {
		struct fanotify_response r = {.fd = fd, .response = FAN_DENY};

		if (write(fan, &r, sizeof(r)) == sizeof(r))
			n++;
	}
	return n;
}

/* The events the ended guard had read (guard.h, pb_guard_refuse_below). */
static void pb_guard_refuse_orphans(struct pb_agent *a)
{
	unsigned int n = pb_guard_refuse_below(a->guard.fan_fd, PB_GUARD_MAXFD);

	a->guard.orphans += n;
	if (n)
		pb_warn("guard: %u events the ended guard had read and not answered refused (their "
			"openers get EPERM)",
			n);
}

int pb_guard_respawn(struct pb_agent *a)
{
	int status = 0;

	if (a->guard.pidfd >= 0)
		close(a->guard.pidfd);
	a->guard.pidfd = -1;
	if (waitpid(a->guard.pid, &status, WNOHANG) == a->guard.pid)
		pb_warn("guard: guard process %d ended (%s %d); starting another", a->guard.pid,
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	pb_guard_refuse_orphans(a);
	a->guard.respawns++;
	a->guard.waiting_since = 0;
	return pb_guard_fork(a);
}

int pb_guard_watch(struct pb_agent *a)
{
	struct pollfd p = {.fd = a->guard.fan_fd, .events = POLLIN};
	struct pb_guard_state st;
	uint64_t now = pb_now_boot_ns();

	if (a->guard.fan_fd < 0 || a->guard.pidfd < 0)
		return 0;
	/* Nothing waits to be read, or the counters cannot be read: no stall
	 * to see. The guard writes its counters every 100 ms while it answers. */
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN) || pb_guard_counts(a, &st)) {
		a->guard.waiting_since = 0;
		return 0;
	}
	if (!a->guard.waiting_since || st.answered != a->guard.answered_seen) {
		a->guard.waiting_since = now;
		a->guard.answered_seen = st.answered;
		return 0;
	}
	if (now - a->guard.waiting_since < PB_GUARD_STALL_NS)
		return 0;
	pb_warn("guard: guard process %d answered nothing for %llu ms while events waited; "
		"replacing it on the same group (its openers wait meanwhile)",
		a->guard.pid, (unsigned long long)((now - a->guard.waiting_since) / 1000000));
	a->guard.stalls++;
	a->guard.waiting_since = 0;
	/* SIGKILL takes a stopped process too; it answers nothing more once
	 * it is sent (a signal is taken before it runs its own code again). */
	if (pb_pidfd_signal(a->guard.pidfd, SIGKILL) && errno != ESRCH)
		pb_warn("guard: kill guard %d: %m", a->guard.pid);
	{
		struct pollfd gp = {.fd = a->guard.pidfd, .events = POLLIN};

		if (poll(&gp, 1, 1000) != 1)
			pb_warn("guard: stalled guard %d has not exited within 1 s (stuck in the "
				"kernel); a new guard answers all the same",
				a->guard.pid);
	}
	return 1;
}

void pb_guard_stop_pinned(const char *pin_dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/guard_state", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	for (uint32_t slot = PB_GUARD_NOW; slot <= PB_GUARD_PREV; slot++) {
		struct pb_guard_state st;
		int pidfd;

		if (bpf_map_lookup_elem(fd, &slot, &st))
			continue;
		pidfd = pb_guard_find(&st.guard);
		if (pidfd < 0)
			continue;
		pb_guard_stop(pidfd, st.guard.tgid);
		close(pidfd);
		pb_info("cleanup: stopped guard process %u", st.guard.tgid);
	}
	close(fd);
}

int pb_guard_counts(struct pb_agent *a, struct pb_guard_state *out)
{
	uint32_t slot = PB_GUARD_COUNTS;

	if (bpf_map_lookup_elem(bpf_map__fd(a->kern.skel->maps.guard_state), &slot, out))
		return -errno;
	return 0;
}
