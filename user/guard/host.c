// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The guard host: `procbindd --serve-guards=SOCKET`, a process of its own (in
 * the DaemonSet, a container of its own in the agent's pod) that starts the
 * file guards the agent asks for, so a guard outlives the agent's container:
 * a restart of that container (a crash, an OOM kill, a failed liveness
 * probe) kills every process in it, and a guard forked by the agent would
 * go with it, leaving files unguarded until the next agent marks them.
 *
 * The agent (--guard-host=SOCKET) connects, sends its pin directory and its
 * cgroup root with the fanotify group's descriptor (SCM_RIGHTS); the host
 * opens the pinned maps itself, forks the guard, and answers its PID. The
 * agent names the guard in map guard_state and sends "g"; the guard starts
 * answering. Anything else (a closed connection, a timeout) and the guard is
 * killed before it has answered anything. Only root may connect. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "guard.h"
#include "log.h"
#include "util.h"

#define PB_HOST_MAGIC	  "pbguard1"
#define PB_HOST_TIMEOUT_S 10

struct pb_host_req {
	char magic[8];
	char pin_dir[PATH_MAX];
	char cgroup_root[PATH_MAX];
};

struct pb_host_rep {
	int32_t err; /* 0 or -errno */
	int32_t pid; /* the guard's (host PID namespace) */
};

static int pb_host_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

static void pb_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = PB_HOST_TIMEOUT_S};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* The guard's maps, from the pin directory; holding and fastpath mapped. */
static int pb_host_ctx(struct pb_guard_ctx *g, const struct pb_host_req *req, int fan)
{
	struct {
		const char *name;
		int *fd;
	} maps[] = {{"procs", &g->procs},	    {"creds", &g->creds},
		    {"cred_files", &g->cred_files}, {"agent_cfg", &g->cfg},
		    {"policies", &g->policies},	    {"guard_events", &g->queue},
		    {"guard_state", &g->state},	    {"adopt_files", &g->adopt_files},
		    {"proc_names", &g->names},	    {"refusals", &g->refusals}};
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), hlen;
	char path[PATH_MAX + 32];
	int fd;
	void *p;

	g->fan = fan;
	snprintf(g->cgroup_root, sizeof(g->cgroup_root), "%s", req->cgroup_root);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", req->pin_dir, maps[i].name);
		*maps[i].fd = bpf_obj_get(path);
		if (*maps[i].fd < 0)
			return pb_err(-errno, "guard host: open %s: %m", path);
	}
	snprintf(path, sizeof(path), "%s/holding", req->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return pb_err(-errno, "guard host: open %s: %m", path);
	hlen = ((size_t)info.max_entries * sizeof(__u64) + page - 1) / page * page;
	p = mmap(NULL, hlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return pb_err(-errno, "guard host: map %s: %m", path);
	g->holding = p;
	g->nholding = (size_t)info.max_entries * PB_HOLDING_PER_ELEM;
	snprintf(path, sizeof(path), "%s/fastpath", req->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return pb_err(-errno, "guard host: open %s: %m", path);
	p = mmap(NULL, (sizeof(struct pb_fast) + page - 1) / page * page, PROT_READ, MAP_SHARED, fd,
		 0);
	close(fd);
	if (p == MAP_FAILED)
		return pb_err(-errno, "guard host: map %s: %m", path);
	g->fast = p;
	return 0;
}

static void pb_host_ctx_init(struct pb_guard_ctx *g)
{
	memset(g, 0, sizeof(*g));
	g->fan = g->procs = g->creds = g->cred_files = g->cfg = g->policies = g->queue = g->state =
	    g->adopt_files = g->names = g->refusals = -1;
}

/* What the host opened for a guard: the guard has its own copies. */
static void pb_host_ctx_close(struct pb_guard_ctx *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int *fds[] = {&g->procs, &g->creds, &g->cred_files,  &g->cfg,	&g->policies,
		      &g->queue, &g->state, &g->adopt_files, &g->names, &g->refusals};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (g->holding)
		munmap(g->holding, (g->nholding / PB_HOLDING_PER_ELEM * sizeof(__u64) + page - 1) /
				       page * page);
	if (g->fast)
		munmap((void *)g->fast, (sizeof(struct pb_fast) + page - 1) / page * page);
	pb_host_ctx_init(g);
}

/* One agent's request: a guard started, or refused. */
static void pb_host_serve_one(int conn)
{
	struct pb_host_req req;
	struct pb_host_rep rep = {0};
	struct pb_guard_ctx g;
	char cbuf[CMSG_SPACE(sizeof(int))], c = 0;
	struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fan = -1, go[2] = {-1, -1};
	pid_t pid = -1;
	ssize_t n;

	pb_host_ctx_init(&g);
	pb_timeouts(conn);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != 0) {
		pb_warn("guard host: a connection from uid %d refused (root only)",
			clen ? (int)cred.uid : -1);
		return;
	}
	n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fan, CMSG_DATA(cm), sizeof(int));
	if (n != (ssize_t)sizeof(req) || memcmp(req.magic, PB_HOST_MAGIC, 8) || fan < 0) {
		pb_warn("guard host: a malformed request from pid %d refused", (int)cred.pid);
		rep.err = -EPROTO;
		goto answer;
	}
	req.pin_dir[sizeof(req.pin_dir) - 1] = req.cgroup_root[sizeof(req.cgroup_root) - 1] = 0;
	if ((rep.err = pb_host_ctx(&g, &req, fan)))
		goto answer;
	if (pipe2(go, O_CLOEXEC)) {
		rep.err = pb_err(-errno, "guard host: pipe: %m");
		goto answer;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		pb_guard_child(&g, go[0]);
	}
	if (pid < 0)
		rep.err = pb_err(-errno, "guard host: fork: %m");
	rep.pid = pid;
	close(go[0]);
answer:
	if (send(conn, &rep, sizeof(rep), MSG_NOSIGNAL) != sizeof(rep) || rep.err ||
	    recv(conn, &c, 1, 0) != 1 || c != 'g' || write(go[1], "g", 1) != 1) {
		if (pid > 0) {
			kill(pid, SIGKILL); /* it has answered nothing yet */
			pb_warn("guard host: guard %d for pid %d not started", (int)pid,
				(int)cred.pid);
		}
	} else {
		pb_info("guard host: guard process %d answers for agent %d (pins %s)", (int)pid,
			(int)cred.pid, req.pin_dir);
	}
	if (go[1] >= 0)
		close(go[1]);
	if (fan >= 0)
		close(fan);
	pb_host_ctx_close(&g); /* the guard has its own copies */
}

int pb_guard_host_serve(const char *path)
{
	struct sockaddr_un sa;
	struct pollfd pfd[2];
	sigset_t mask;
	int lfd, err;

	if ((err = pb_host_addr(path, &sa)))
		return pb_err(err, "guard host: socket path %s is too long", path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return pb_err(-errno, "guard host: socket: %m");
	/* a socket left by an earlier host that nobody serves */
	if (!connect(lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(lfd);
		return pb_err(-EADDRINUSE, "guard host: %s is served by another guard host", path);
	}
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(lfd, 4)) {
		err = -errno;
		close(lfd);
		return pb_err(err, "guard host: listen on %s: %s", path, strerror(-err));
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = signalfd(-1, &mask, SFD_CLOEXEC);
	pfd[1].events = POLLIN;
	if (pfd[1].fd < 0)
		return pb_err(-errno, "guard host: signalfd: %m");
	pb_info("guard host: serving %s", path);
	for (;;) {
		struct signalfd_siginfo si;
		int status;
		pid_t pid;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return pb_err(-errno, "guard host: poll: %m");
		}
		if (pfd[1].revents & POLLIN && read(pfd[1].fd, &si, sizeof(si)) == sizeof(si)) {
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				pb_info("guard host: guard process %d ended (%s %d)", (int)pid,
					WIFSIGNALED(status) ? "signal" : "status",
					WIFSIGNALED(status) ? WTERMSIG(status)
							    : WEXITSTATUS(status));
			if (si.ssi_signo != SIGCHLD) {
				/* Its guards stay: a stopping pod's go with the
				 * pod, a guard an agent still uses answers on. */
				pb_info("guard host: signal %u, stopping", si.ssi_signo);
				unlink(path);
				return 0;
			}
		}
		if (pfd[0].revents & POLLIN) {
			int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (conn >= 0) {
				pb_host_serve_one(conn);
				close(conn);
			}
		}
	}
}

int pb_guard_host_ask(const char *path, const char *pin_dir, const char *cgroup_root, int fan,
		      int *conn_out, pid_t *pid)
{
	struct pb_host_req req;
	struct pb_host_rep rep;
	struct sockaddr_un sa;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int fd, err;

	if ((err = pb_host_addr(path, &sa)))
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	pb_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	memset(&req, 0, sizeof(req));
	memcpy(req.magic, PB_HOST_MAGIC, 8);
	snprintf(req.pin_dir, sizeof(req.pin_dir), "%s", pin_dir);
	snprintf(req.cgroup_root, sizeof(req.cgroup_root), "%s", cgroup_root);
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fan, sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(req) ||
	    recv(fd, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep)) {
		err = errno ? -errno : -EPROTO;
		close(fd);
		return err;
	}
	if (rep.err || rep.pid <= 0) {
		close(fd);
		return rep.err ? rep.err : -EPROTO;
	}
	*conn_out = fd; /* "g" goes here once the guard is named */
	*pid = rep.pid;
	return 0;
}
