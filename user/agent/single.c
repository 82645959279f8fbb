// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One agent per node (docs/operator.md): a second procbindd on the same
 * control socket, state directory or pin directory is refused at start,
 * before it writes, loads or pins anything, naming the running agent's PID.
 * `procbindd --take-over` asks that agent to step down (SIGTERM: it stops
 * serving and exits, leaving its pins and its file guard, as on any stop),
 * waits for it to be gone, and then starts as a restart does: the kernel
 * and the guard enforce throughout, and two agents never serve at once.
 * The state directory's lock is here; the pin directory's is the loader's
 * (kernel/loader.c), taken before it adopts or loads. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "kernel.h"
#include "lock.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"

#define PB_STEP_DOWN_S 30 /* how long a running agent is given to step down */

/* The PID serving the control socket at path, or 0 when none answers. */
static pid_t pb_socket_server(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;
	pid_t pid = 0;
	int fd;

	if (lstat(path, &st) || !S_ISSOCK(st.st_mode) || strlen(path) >= sizeof(sa.sun_path))
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		pid = cred.pid;
	close(fd);
	return pid;
}

/* Ask agent pid to step down and wait until it has exited: 0, or -errno. */
static int pb_step_down(pid_t pid, const char *why)
{
	struct pb_stat st = {0};
	const char *comm = st.comm;
	int pfd = pb_pidfd_open(pid), ret = 0;

	if (pfd < 0)
		return errno == ESRCH ? 0 : -errno; /* gone already */
	pb_stat_read((uint32_t)pid, &st);
	if (strcmp(comm, "procbindd")) {
		close(pfd);
		return pb_err(-EPERM,
			      "agent: %s is held by pid %d, which is %s, not procbindd: not "
			      "stopping it",
			      why, (int)pid, comm[0] ? comm : "unknown");
	}
	pb_info("agent: --take-over: asking procbindd pid %d (%s) to step down", (int)pid, why);
	if (pb_pidfd_signal(pfd, SIGTERM) && errno != ESRCH)
		ret = -errno;
	if (!ret) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int n = poll(&p, 1, PB_STEP_DOWN_S * 1000);

		if (n == 0)
			ret =
			    pb_err(-ETIMEDOUT,
				   "agent: --take-over: procbindd pid %d did not step down in %d s",
				   (int)pid, PB_STEP_DOWN_S);
		else if (n < 0)
			ret = -errno;
	}
	close(pfd);
	if (!ret)
		pb_info("agent: --take-over: procbindd pid %d stepped down", (int)pid);
	return ret;
}

/* The state directory's lock, or the pin directory's (kernel/). */
static int pb_take(struct pb_agent *a, const char *path, int *fd, pid_t *holder)
{
	return fd ? pb_lock_take(path, 0, fd, holder) : pb_kernel_lock_pins(a, holder);
}

/* Lock path (the state directory's lock file into *fd, or with fd NULL the
 * pin directory); the agent holding it is asked to step down first with
 * --take-over (unless it is the one already asked). what names the
 * resource in messages. 0 or -errno (logged). */
static int pb_claim_lock(struct pb_agent *a, const char *path, const char *what, pid_t asked,
			 int *fd)
{
	pid_t holder = 0;
	int err = pb_take(a, path, fd, &holder);

	if (err == -EBUSY && a->conf.take_over && holder && holder != asked) {
		if ((err = pb_step_down(holder, path)))
			return err;
		err = pb_take(a, path, fd, &holder);
	}
	if (err == -EBUSY)
		a->serve.other_agent = 1;
	if (err == -EBUSY)
		return pb_err(err,
			      "agent: %s is in use by procbindd pid %d; one agent per node: stop "
			      "it, or start this one with --take-over to replace it",
			      what, (int)holder);
	if (err)
		return pb_err(err, "agent: lock %s: %s", path, strerror(-err));
	return 0;
}

/* The pod an agent runs in (the DaemonSet sets PROCBIND_POD_UID from the
 * downward API), or "" outside Kubernetes. */
static const char *pb_pod_uid(void)
{
	const char *u = getenv("PROCBIND_POD_UID");

	return u && u[0] && strlen(u) < 64 && !strpbrk(u, " \n") ? u : "";
}

/* STATE-DIR/replaced-pods: the pods whose agent another pod's took over
 * (--take-over), newest last, at most PB_REPLACED_MAX. */
#define PB_REPLACED_MAX 16
static int pb_pod_replaced(const struct pb_agent *a, const char *pod)
{
	char path[PATH_MAX + 32], line[80];
	int found = 0;
	FILE *f;

	if (!pod[0])
		return 0;
	snprintf(path, sizeof(path), "%s/replaced-pods", a->conf.state_dir);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		found = !strcmp(line, pod);
	}
	if (f)
		fclose(f);
	return found;
}

static void pb_pod_mark_replaced(const struct pb_agent *a, const char *pod)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40], lines[PB_REPLACED_MAX][80];
	unsigned int n = 0;
	FILE *f;

	if (!pod[0] || !strcmp(pod, pb_pod_uid()) || pb_pod_replaced(a, pod))
		return;
	snprintf(path, sizeof(path), "%s/replaced-pods", a->conf.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(path, "re");
	while (f && fgets(lines[n % PB_REPLACED_MAX], sizeof(lines[0]), f))
		n++;
	if (f)
		fclose(f);
	f = fopen(tmp, "we");
	if (!f) {
		pb_warn("agent: %s: %m (a restart of the replaced pod's agent may take over again)",
			tmp);
		return;
	}
	for (unsigned int i = n > PB_REPLACED_MAX - 1 ? n - (PB_REPLACED_MAX - 1) : 0; i < n; i++)
		fputs(lines[i % PB_REPLACED_MAX], f);
	fprintf(f, "%s\n", pod);
	if (fclose(f) || rename(tmp, path))
		pb_warn("agent: %s: %m", path);
}

/* The pod named in the state directory's lock file (after the PID), or "". */
static void pb_lock_pod(const char *path, char *pod, size_t len)
{
	char buf[128] = "";
	FILE *f = fopen(path, "re");

	pod[0] = 0;
	if (f && fgets(buf, sizeof(buf), f) && sscanf(buf, "%*d %63s", pod) != 1)
		pod[0] = 0;
	if (f)
		fclose(f);
	(void)len;
}

int pb_single_claim(struct pb_agent *a)
{
	char path[PATH_MAX + 32], what[PATH_MAX + 32], pidtext[96], holder_pod[64];
	pid_t server = pb_socket_server(a->conf.socket_path), holder;
	int err;

	/* A pod whose agent a newer pod's took over: the kubelet restarts
	 * its container, which must not take over again. */
	if (pb_pod_replaced(a, pb_pod_uid())) {
		a->serve.replaced = 1;
		return pb_err(-ECANCELED,
			      "agent: this pod (%s) was replaced by another pod's agent "
			      "(--take-over); waiting to be stopped",
			      pb_pod_uid());
	}
	snprintf(path, sizeof(path), "%s/procbindd.lock", a->conf.state_dir);
	pb_lock_pod(path, holder_pod, sizeof(holder_pod));

	if (server && server != getpid()) {
		a->serve.other_agent = !a->conf.take_over;
		if (!a->conf.take_over)
			return pb_err(
			    -EBUSY,
			    "agent: procbindd pid %d serves the control socket %s; one agent "
			    "per node: stop it, or start this one with --take-over to "
			    "replace it",
			    (int)server, a->conf.socket_path);
		if ((err = pb_step_down(server, a->conf.socket_path)))
			return err;
	}
	snprintf(what, sizeof(what), "state directory %s", a->conf.state_dir);
	if ((err = pb_claim_lock(a, path, what, server, &a->serve.state_lock)))
		return err;
	if (a->conf.take_over)
		pb_pod_mark_replaced(a, holder_pod);
	/* for people: the lock itself is the flock (/proc/locks); then the
	 * pod, for the next --take-over */
	snprintf(pidtext, sizeof(pidtext), "%d%s%s\n", (int)getpid(), pb_pod_uid()[0] ? " " : "",
		 pb_pod_uid());
	if (ftruncate(a->serve.state_lock, 0) ||
	    pb_write_full(a->serve.state_lock, pidtext, strlen(pidtext)))
		pb_warn("agent: %s: cannot write the PID: %m", path);
	/* The pin directory, when there is one: an agent that uses it holds
	 * it. A refused start must leave nothing, so none is made here; the
	 * loader makes it and takes its lock before it adopts or loads. */
	if (access(a->conf.pin_dir, F_OK))
		return 0; /* none yet: the loader makes it and takes its lock first */
	err = pb_kernel_lock_pins(a, &holder);
	if (err != -EBUSY)
		return 0; /* held now, or the loader's to take */
	snprintf(what, sizeof(what), "pin directory %s", a->conf.pin_dir);
	return pb_claim_lock(a, a->conf.pin_dir, what, server, NULL);
}

int pb_single_idle(struct pb_agent *a)
{
	pid_t holder = 0;
	int err;

	/* What --cleanup removes is the pin directory's: only its holder
	 * matters (an agent on other pins, a node's own, is left alone). */
	if (access(a->conf.pin_dir, F_OK))
		return 0;
	err = pb_kernel_lock_pins(a, &holder);
	if (err == -EBUSY && a->conf.take_over && holder) {
		if ((err = pb_step_down(holder, a->conf.pin_dir)))
			return err;
		err = pb_kernel_lock_pins(a, &holder);
	}
	if (err == -EBUSY) {
		a->serve.other_agent = 1;
		return pb_err(err,
			      "cleanup: procbindd pid %d enforces with the pin directory %s, which "
			      "--cleanup would remove: stop it first (systemctl stop procbind), or "
			      "add --take-over to stop it",
			      (int)holder, a->conf.pin_dir);
	}
	if (err)
		return pb_err(err, "cleanup: lock %s: %s", a->conf.pin_dir, strerror(-err));
	return 0;
}
