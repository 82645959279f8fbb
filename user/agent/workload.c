// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The workload socket: meant to be mounted into pods, open to every process,
 * it hands a process a credential for itself and proofs for its requests.
 * The protocol is the control socket's (user/lib/proto.h), and every request
 * carries start_time, the caller's own start in clock ticks (field 22 of
 * /proc/self/stat).
 *
 * Who asks: the peer of the connection, pinned with a pidfd (SO_PEERPIDFD
 * where the kernel has it, 6.5+; else pidfd_open of SO_PEERCRED's pid) and
 * checked against the start it declares, before and after the work: a
 * request whose sender exited, or whose PID another process took meanwhile,
 * gets nothing. Clients are served without blocking: each has a deadline and
 * a size limit, and a slow or silent one cannot stall the agent or another. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "conn.h"
#include "creds.h"
#include "kernel.h"
#include "log.h"
#include "proto.h"
#include "purpose.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"

#define PB_WL_CLIENTS	 64
#define PB_WL_TIMEOUT_NS (2000ULL * 1000000ULL)

static int pb_wl_handle(struct pb_agent *a, struct pb_conn *c, struct pb_buf *out, char *err,
			size_t errlen);

int pb_workload_listen(struct pb_agent *a)
{
	if (!a->conf.workload_socket[0])
		return -1;
	/* Every process may ask: what it gets is decided by who it is. */
	a->serve.wl = (struct pb_conn_pool){.name = "workload",
					    .timeout_ns = PB_WL_TIMEOUT_NS,
					    .handle = pb_wl_handle,
					    .listen_fd = -1};
	return pb_conn_listen(&a->serve.wl, a->conf.workload_socket, 0666, 64, PB_WL_CLIENTS);
}

int pb_workload_owns(struct pb_agent *a, int fd)
{
	return pb_conn_find(&a->serve.wl, fd) != NULL;
}

void pb_workload_accept(struct pb_agent *a, int ep)
{
	pb_conn_accept(a, &a->serve.wl, ep);
}

/* The pid a pidfd refers to, or -1 when that process has exited. */
static int pb_pidfd_pid(int pidfd)
{
	char path[64], line[128];
	int pid = -1;
	FILE *f;

	if (pidfd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/* Is the process that sent the request, which says it started at ticks,
 * still there and still that process? Fills lv. */
static int pb_wl_caller(struct pb_agent *a, struct pb_conn *c, uint64_t ticks, struct pb_live *lv,
			char *err, size_t errlen)
{
	int pid = pb_pidfd_pid(c->pidfd);

	if (pid <= 0 || pb_pidfd_signal(c->pidfd, 0))
		return pb_errf(err, errlen, -ESRCH, "the process that asked has exited");
	if (pb_subject_read(bpf_map__fd(a->kern.skel->maps.procs), a->conf.cgroup_root,
			    (uint32_t)pid, lv))
		return pb_errf(err, errlen, -ESRCH, "the process that asked has exited");
	if (lv->st.starttime != ticks)
		return pb_errf(err, errlen, -ESRCH,
			       "pid %d is not the process that asked (it started at tick %llu, "
			       "the request says %llu): its PID was reused",
			       pid, (unsigned long long)lv->st.starttime,
			       (unsigned long long)ticks);
	return 0;
}

static int pb_wl_answer(struct pb_agent *a, struct pb_conn *c, struct pb_buf *out, char *err,
			size_t errlen, int *verb)
{
	static struct pb_req req;
	struct pb_wl_req w;
	struct pb_issue in;
	struct pb_live lv, again;
	uint64_t ticks;
	int ret, is_token, hfd = -1;

	pb_agent_catch_up(a); /* the caller's events first: its exec, its record */
	ret = pb_wl_req_parse(&req, c->in, c->len, &w, err, errlen);
	if (ret)
		return ret;
	*verb = (int)w.verb;
	if (w.verb == PB_WL_PUBKEY) {
		char hex[65];

		sodium_bin2hex(hex, sizeof(hex), a->key.pk, sizeof(a->key.pk));
		pb_json_begin(out);
		pb_json_str(out, "ed25519", hex);
		pb_json_end(out);
		return 0;
	}
	is_token = w.verb == PB_WL_TOKEN;
	ticks = w.start_time;
	in = (struct pb_issue){.identity = w.identity,
			       .audience = w.audience,
			       .ttl = w.ttl,
			       .inherit = w.inherit,
			       .token = w.token,
			       .method = w.method,
			       .url = w.url,
			       .nonce = w.nonce,
			       .handover = w.handover,
			       .handover_fd = w.handover ? &hfd : NULL};
	if ((ret = pb_wl_caller(a, c, ticks, &lv, err, errlen)))
		return ret;
	if (is_token) {
		if (w.exe) {
			/* procbindctl run: bind to what it is about to exec, as
			 * that process sees the path */
			char path[PATH_MAX + 32];
			struct stat st;
			const char *v = w.exe;

			snprintf(path, sizeof(path), "/proc/%u/root%s", lv.s.self.tgid, v);
			if (stat(path, &st) || !S_ISREG(st.st_mode))
				return pb_errf(err, errlen, -ENOENT,
					       "exe %s is not a file the process can exec", v);
			in.exe_dev = pb_dev_to_kernel(st.st_dev);
			in.exe_ino = st.st_ino;
			in.exe_path = v;
			/* On overlayfs (a container's root) stat(2) of a file reports
			 * the layer's device; the kernel knows the overlay's, which
			 * stat reports for the file's directory. */
			{
				struct statfs sf;
				struct stat dst;
				char *slash = strrchr(path, '/');

				if (!statfs(path, &sf) && sf.f_type == OVERLAYFS_SUPER_MAGIC &&
				    slash) {
					*slash = 0;
					if (!stat(path, &dst))
						in.exe_dev = pb_dev_to_kernel(dst.st_dev);
				}
			}
		}
		ret = pb_issue_token(a, &lv, &in, out, err, errlen);
	} else {
		ret = pb_issue_proof(a, &lv, &in, out, err, errlen);
	}
	if (ret)
		return ret;
	/* The work is done: is the one that asked still there, unchanged? */
	if (pb_wl_caller(a, c, ticks, &again, err, errlen) ||
	    !pb_pkey_is(&again.s.self, &lv.s.self)) {
		if (is_token) {
			char why[128];
			json_t *o = json_loadb(out->data, out->len, 0, NULL);
			uint64_t id = 0;

			if (o)
				pb_id_parse(json_string_value(json_object_get(o, "id")), &id);
			json_decref(o);
			if (id)
				pb_revoke_why(a, id, "owner_exited", why, sizeof(why));
		}
		sodium_memzero(out->data, out->len);
		pb_buf_reset(out);
		if (hfd >= 0)
			close(hfd);
		return pb_errf(err, errlen, -ESRCH,
			       "the process that asked exited before the answer; nothing issued");
	}
	c->pass_fd = hfd; /* sent with the reply */
	return 0;
}

/* Answer one request, counted by verb and outcome (the metrics). */
static int pb_wl_handle(struct pb_agent *a, struct pb_conn *c, struct pb_buf *out, char *err,
			size_t errlen)
{
	int verb = PB_WL_VERBS, ret = pb_wl_answer(a, c, out, err, errlen, &verb);

	if (verb < 0 || verb > PB_WL_VERBS)
		verb = PB_WL_VERBS;
	a->serve.wl_requests[verb][ret ? 1 : 0]++;
	return ret;
}

void pb_workload_io(struct pb_agent *a, int fd, uint32_t events, int ep)
{
	struct pb_conn *c = pb_conn_find(&a->serve.wl, fd);

	if (c)
		pb_conn_io(a, c, events, ep);
}

void pb_workload_expire(struct pb_agent *a, int ep)
{
	pb_conn_expire(a, &a->serve.wl, ep);
}
