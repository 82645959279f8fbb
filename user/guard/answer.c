// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The guard process: answers each fanotify permission event on a credential
 * file. It never waits on the agent: everything it needs is in the pinned
 * maps and /proc, and what it reports goes to a pinned queue the agent
 * drains (and the next agent, if this one is gone). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cache_priv.h"
#include "container.h"
#include "guard.h"
#include "kernel.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"
#include "procbind/decision.h"

#define PB_GUARD_COUNT_MS 100

/* The process behind an event, as the decision needs it. The process is
 * blocked in its open or read while we look, so its PID cannot change hands
 * (a SIGKILL ends it; what we answer then goes to nobody). */
struct pb_guard_subject {
	struct pb_subject s;
	struct pb_proc rec; /* its record, when have_rec */
	int have_rec;
	struct pb_task_ref ref; /* for the event */
	struct pb_gc_proc *gp;	/* the guard remembers it (pinned by a pidfd); or NULL */
};

/* The guard's own state between events (one guard process, one loop). */
struct pb_guard_mem {
	struct pb_guard_state st;
	struct pb_gcache gc;
};

static void pb_guard_subject_ref(struct pb_guard_subject *gs, uint32_t tgid, const char *comm)
{
	gs->ref.proc = gs->s.self;
	gs->ref.pid = tgid;
	gs->ref.ppid = gs->s.parent.tgid;
	gs->ref.cgroup_id = gs->s.cgroup_id;
	gs->ref.exe_dev = gs->s.exe_dev;
	gs->ref.exe_ino = gs->s.exe_ino;
	gs->ref.uid = gs->have_rec ? gs->rec.uid : 0;
	snprintf(gs->ref.comm, sizeof(gs->ref.comm), "%s", comm);
}

/* A process the guard remembers, whose record the hooks keep (its cgroup
 * included, PB_PROC_CGLIVE): judged from the record alone. 1 when so.
 *
 * A PB_PROC_CGLIVE record was written by the fork or exec hook of the
 * process it names, with its exact start, and the exit hook deletes it
 * before the PID can be anyone else's. So once a record's exact start has
 * been seen while the pidfd was quiet, the same exact start later is the
 * same process, alive: the pidfd is polled only that first time. */
static int pb_guard_subject_kept(const struct pb_guard_ctx *g, struct pb_gc_proc *p, uint32_t tgid,
				 struct pb_guard_subject *gs)
{
	struct pb_proc *r = &gs->rec;

	if (!p || bpf_map_lookup_elem(g->procs, &tgid, r) || !(r->flags & PB_PROC_CGLIVE))
		return 0;
	if (!p->start_ns || r->self.start_time != p->start_ns) {
		if (r->self.start_time - r->self.start_time % PB_TICK_NS != p->start_tick ||
		    !pb_gc_proc_alive(p))
			return 0;
		p->start_ns = r->self.start_time;
	}
	gs->have_rec = 1;
	gs->gp = p;
	gs->s.self = r->self;
	gs->s.parent = r->parent;
	gs->s.cgroup_id = r->cgroup_id;
	gs->s.exe_dev = r->exe_dev;
	gs->s.exe_ino = r->exe_ino;
	pb_guard_subject_ref(gs, tgid, r->comm);
	return 1;
}

static int pb_guard_subject(const struct pb_guard_ctx *g, struct pb_gcache *gc, uint32_t tgid,
			    struct pb_guard_subject *gs)
{
	struct pb_gc_proc *p = pb_gc_proc_find(gc, tgid);
	struct pb_live lv;
	int err, pidfd = -1;

	memset(gs, 0, sizeof(*gs));
	if (pb_guard_subject_kept(g, p, tgid, gs))
		return 0;
	if (p && (p->pidfd < 0 || !pb_gc_proc_alive(p)))
		p = NULL; /* exited (forgotten): its PID is another's now */
	/* First seen (or moved, or without a record): from /proc, with a
	 * pidfd taken first, so the start read is this process's or the
	 * pidfd's process has exited (and is forgotten at its next event). */
	if (!p)
		pidfd = pb_pidfd_open((pid_t)tgid);
	err = pb_subject_read(g->procs, g->cgroup_root, tgid, &lv);
	if (err) {
		if (pidfd >= 0)
			close(pidfd);
		return err;
	}
	gs->s = lv.s;
	gs->rec = lv.rec;
	gs->have_rec = lv.have_rec;
	gs->gp = pidfd >= 0 ? pb_gc_proc_add(gc, tgid, pidfd, pb_ticks_to_ns(lv.st.starttime)) : p;
	pb_guard_subject_ref(gs, tgid, lv.st.comm);
	if (!gs->have_rec) {
		struct pb_task_info ti;

		if (!pb_proc_task_info(tgid, g->cgroup_root, &ti))
			gs->ref.uid = ti.uid;
	}
	return 0;
}

/* A process that gets through (entitled, or let through by monitor mode)
 * now holds the credential: the connect hooks judge it from here on. */
static void pb_guard_hold(const struct pb_guard_ctx *g, struct pb_guard_subject *gs, uint64_t id)
{
	struct pb_proc *r = &gs->rec;

	if (!gs->have_rec) {
		/* Described now, to the tick, as a /proc seed is; the first hook
		 * that sees it settles the start. A record under its tgid is an
		 * earlier process's: this one is the truth about the PID. */
		memset(r, 0, sizeof(*r));
		r->self = gs->s.self;
		r->self.start_time -= r->self.start_time % PB_TICK_NS;
		r->parent = gs->s.parent;
		r->parent.start_time -= r->parent.start_time % PB_TICK_NS;
		r->cgroup_id = gs->s.cgroup_id;
		r->exe_dev = gs->s.exe_dev;
		r->exe_ino = gs->s.exe_ino;
		r->uid = gs->ref.uid;
		r->flags = PB_PROC_SEEDED | PB_PROC_COARSE;
		memcpy(r->comm, gs->ref.comm, sizeof(r->comm));
	}
	pb_holding_mark(g->holding, g->nholding, r->self.tgid); /* before it holds */
	pb_hold_add(r, id); /* past PB_MAX_HELD: fails closed at connect */
	r->ok_until = 0;
	if (bpf_map_update_elem(g->procs, &r->self.tgid, r, gs->have_rec ? BPF_EXIST : BPF_ANY))
		pb_warn("guard: cannot record pid %u as a holder of a credential: %m",
			r->self.tgid);
	else
		gs->have_rec = 1;
}

/* A refused process is named in its event, which the agent may format after
 * it has exited: what it runs and its argv are read now, while it waits in
 * its open or read, unless the exec hook has them already. Only on the
 * refusal path: an allowed open costs nothing more. */
static void pb_guard_name(const struct pb_guard_ctx *g, struct pb_guard_subject *gs)
{
	static struct pb_name n; /* large: not on the stack */
	const struct pb_pkey *p = &gs->s.self;
	char path[64];
	ssize_t len;

	if (gs->gp && gs->gp->named)
		return; /* a refusal of it named it already */
	if (gs->gp)
		gs->gp->named = 1;
	if (!bpf_map_lookup_elem(g->names, &p->tgid, &n) &&
	    n.start_time - n.start_time % PB_TICK_NS == p->start_time - p->start_time % PB_TICK_NS)
		return;
	memset(&n, 0, sizeof(n));
	n.start_time = p->start_time;
	snprintf(path, sizeof(path), "/proc/%u/exe", p->tgid);
	len = readlink(path, n.exe, sizeof(n.exe) - 1);
	n.exe[len > 0 ? len : 0] = 0;
	len = pb_proc_cmdline(p->tgid, n.args, sizeof(n.args));
	n.args_len = len > 0 ? (uint32_t)len : 0;
	bpf_map_update_elem(g->names, &p->tgid, &n, BPF_ANY);
}

/* The event of one answer, queued after the answer is written. */
static void pb_guard_event(struct pb_file_event *e, const struct pb_guard_subject *gs,
			   const struct pb_cred *c, uint64_t id, enum pb_verdict verdict,
			   enum pb_reason reason, uint8_t access, uint32_t mode)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = PB_EV_FILE;
	e->hdr.size = sizeof(*e);
	e->hdr.time = pb_now_boot_ns();
	e->task = gs->ref;
	pb_owner_ref_of(&e->owner, c);
	e->cred_id = id;
	e->verdict = verdict;
	e->reason = reason;
	e->access = access;
	e->source = PB_SRC_FANOTIFY;
	e->mode = mode;
	e->nheld = gs->have_rec ? gs->rec.nheld : 0;
}

/* A refusal repeated (same process, credential, reason and access) is
 * counted in map "refusals" and not queued: 1 when so. The first is queued
 * whole and copied there (abi.h). The guard is the only writer of its
 * entries; the agent deletes one after its process exits, and an update
 * that finds it gone reports the refusal whole. */
static int pb_guard_fold(const struct pb_guard_ctx *g, const struct pb_file_event *e)
{
	struct pb_fold_key k = {.proc = e->task.proc,
				.what = e->cred_id,
				.kind = PB_FOLD_GUARD,
				.reason = e->reason,
				.access = e->access};
	struct pb_fold v;

	if (!bpf_map_lookup_elem(g->refusals, &k, &v)) {
		v.count++;
		v.last = e->hdr.time;
		return !bpf_map_update_elem(g->refusals, &k, &v, BPF_EXIST);
	}
	memset(&v, 0, sizeof(v));
	v.file = *e;
	v.last = e->hdr.time;
	bpf_map_update_elem(g->refusals, &k, &v, BPF_NOEXIST); /* full: not folded */
	return 0;
}

/* The mode in force, from the pinned policy (enforce when it is missing);
 * read again after each policy switch (it moves the epoch). */
static uint32_t pb_guard_mode(const struct pb_guard_ctx *g, struct pb_gcache *gc,
			      struct pb_gc_epoch ep)
{
	static struct pb_kpolicy pol; /* large: not on the stack */
	struct pb_config cfg;
	uint32_t zero = 0;

	if (gc->mode_ok && gc->mode_ep.kernel == ep.kernel)
		return gc->mode;
	if (bpf_map_lookup_elem(g->cfg, &zero, &cfg) ||
	    bpf_map_lookup_elem(g->policies, &cfg.gen, &pol))
		return PB_MODE_ENFORCE;
	gc->mode = pol.mode;
	gc->mode_ep = ep;
	gc->mode_ok = 1;
	return pol.mode;
}

/* Is the process traced, at an open? Asked of /proc at most once a second
 * per process that was found untraced (cache_priv.h, PB_GC_TRACED_NS). */
static int pb_guard_traced(struct pb_guard_subject *gs, uint32_t tgid, uint64_t now)
{
	int traced;

	if (gs->gp && gs->gp->untraced_at && now - gs->gp->untraced_at < PB_GC_TRACED_NS)
		return 0;
	traced = pb_proc_traced(tgid) != 0; /* unreadable: taken as traced */
	if (!traced && gs->gp)
		gs->gp->untraced_at = now;
	return traced;
}

/* A file on an adopted volume that is not registered: is it a new inode of
 * an adopted file (the kubelet's rotation writes each in a new directory)?
 * Then it is registered now, before anyone reads it: 0 and *id. */
static int pb_guard_adopt_new(const struct pb_guard_ctx *g, struct pb_gcache *gc, int fd,
			      const struct pb_file_key *key, uint64_t *id)
{
	struct pb_adopt_file_key ak = {.dev = key->dev};
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return -ENOENT;
	path[n] = 0;
	if (pb_adopt_suffix(path, ak.suffix, sizeof(ak.suffix)) ||
	    bpf_map_lookup_elem(g->adopt_files, &ak, id))
		return -ENOENT;
	gc->gen++; /* before the write: nothing remembered about this file stands */
	if (bpf_map_update_elem(g->cred_files, key, id, BPF_NOEXIST) && errno != EEXIST)
		pb_warn("guard: cannot register %s as adopted: %m (judged all the same)", path);
	return 0;
}

/* An adopted file whose holder is not known yet, or has exited: the first
 * process that is the container's rightful holder claims it. For the main
 * process, that is the container's main (lib/container.h), and the
 * executable it runs is bound then; for an executable, a process running
 * it. The owner written is to the nanosecond, from the process's record.
 * A live main whose executable is not bound yet binds it at its first open.
 * 1 when c changed. */
static int pb_guard_adopt_claim(const struct pb_guard_ctx *g, struct pb_gcache *gc,
				const struct pb_guard_subject *gs, uint64_t id, struct pb_cred *c)
{
	struct pb_proc owner;
	char dir[PATH_MAX + 64], rel[PATH_MAX];
	struct pb_pkey main;
	uint64_t cgid;
	__u32 otgid = c->owner.tgid;

	if (c->owner.tgid && !bpf_map_lookup_elem(g->procs, &otgid, &owner) &&
	    pb_pkey_is(&owner.self, &c->owner)) {
		/* The holder lives: its first open binds what it runs now. */
		if (!pb_exe_unbound(c) || !pb_pkey_is(&gs->s.self, &c->owner) || !gs->have_rec)
			return 0;
		c->exe_dev = gs->s.exe_dev;
		c->exe_ino = gs->s.exe_ino;
		gc->gen++;
		if (bpf_map_update_elem(g->creds, &id, c, BPF_EXIST))
			pb_warn("guard: cannot bind the executable of pid %u: %m", otgid);
		return 1;
	}
	if (!gs->have_rec || gs->s.cgroup_id != c->cgroup_id)
		return 0;
	if (c->flags & PB_CRED_HOLDER_EXE) {
		if (gs->s.exe_dev != c->exe_dev || gs->s.exe_ino != c->exe_ino)
			return 0;
	} else {
		if (pb_proc_cgroup_id(gs->s.self.tgid, g->cgroup_root, &cgid, rel, sizeof(rel)))
			return 0;
		snprintf(dir, sizeof(dir), "%s%s", g->cgroup_root, rel);
		if (pb_container_main(dir, &main) || main.tgid != gs->s.self.tgid ||
		    main.start_time != gs->s.self.start_time - gs->s.self.start_time % PB_TICK_NS)
			return 0;
		c->exe_dev = gs->s.exe_dev;
		c->exe_ino = gs->s.exe_ino;
	}
	c->owner = gs->s.self;
	gc->gen++;
	if (bpf_map_update_elem(g->creds, &id, c, BPF_EXIST)) {
		pb_warn("guard: cannot bind adopted credential to pid %u: %m", gs->s.self.tgid);
		return 0;
	}
	return 1;
}

/* A file on a marked volume that is no credential's (an adopted pod's
 * ca.crt): an ignore mark on its inode, so the kernel stops asking about it
 * (the round trip, 13-15 us here even answered from memory, is gone). A
 * write to it clears the mark (no FAN_MARK_IGNORED_SURV_MODIFY); the inode's
 * end ends it. The agent removes it when it registers the inode as a
 * credential's (pb_guard_unignore, after the registration); if that raced
 * this, the look-up after the mark finds the registration and the mark goes
 * again. The kubelet never renames a file of a volume it writes; a file
 * renamed into a credential's path after it was read would stay ignored. */
static void pb_guard_ignore(const struct pb_guard_ctx *g, int fd, const struct pb_file_key *key)
{
	uint64_t id;

	if (fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK,
			  FAN_OPEN_PERM | FAN_ACCESS_PERM, fd, NULL))
		return; /* asked about again: answered from memory */
	if (!bpf_map_lookup_elem(g->cred_files, key, &id) &&
	    fanotify_mark(g->fan, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK,
			  FAN_OPEN_PERM | FAN_ACCESS_PERM, fd, NULL) &&
	    errno != ENOENT)
		pb_warn("guard: a credential's file registered meanwhile stays ignored: %m");
}

/* What an event's answer starts from, read in the batch's first pass. */
struct pb_guard_pre {
	struct pb_gc_epoch ep; /* read before anything else */
	struct pb_file_key key;
	uint64_t ctime_ns, now;
	uint8_t access;
	struct pb_guard_subject gs;
};

/* The first pass over a batch: FAN_ALLOW or FAN_DENY when the answer needs
 * no decision (another file of a marked volume, an allow remembered; a file
 * that cannot be told, a process gone), else 0 with *p filled for
 * pb_guard_judge. A holder's repeated read is answered here, before the
 * batch's other events are judged (a sibling's flood among them). */
static uint32_t pb_guard_first(const struct pb_guard_ctx *g, struct pb_guard_mem *m,
			       const struct fanotify_event_metadata *md, struct pb_guard_pre *p)
{
	struct pb_gcache *gc = &m->gc;
	uint32_t tgid = (uint32_t)md->pid;
	struct stat sb;

	p->ep = pb_gc_now(gc);
	p->access = md->mask & FAN_OPEN_PERM ? PB_ACC_OPEN : PB_ACC_READ;
	if (fstat(md->fd, &sb))
		return FAN_DENY; /* cannot tell which file: closed */
	p->key.dev = pb_dev_to_kernel(sb.st_dev);
	p->key.ino = sb.st_ino;
	p->ctime_ns = (uint64_t)sb.st_ctim.tv_sec * 1000000000ULL + (uint64_t)sb.st_ctim.tv_nsec;
	/* Another file on a marked volume (an adopted pod's ca.crt): known by
	 * its inode and change time, which a new or renamed file does not
	 * share. */
	if (pb_gc_other_known(gc, p->ep, p->key.dev, p->key.ino, p->ctime_ns))
		return FAN_ALLOW;
	if (pb_guard_subject(g, gc, tgid, &p->gs))
		return FAN_DENY; /* the process is gone */
	p->now = pb_now_boot_ns();
	/* Allowed before, and nothing it depended on has changed. */
	if (p->gs.gp &&
	    pb_gc_allowed(p->gs.gp, p->ep, &p->gs.s, p->key.dev, p->key.ino, p->access, p->now) &&
	    (p->access != PB_ACC_OPEN || !pb_guard_traced(&p->gs, tgid, p->now)))
		return FAN_ALLOW;
	return 0;
}

/* One permission event's decision, from what pb_guard_first read: FAN_ALLOW
 * or FAN_DENY, and *ev filled (1 in *report) when the answer is to be
 * recorded. */
static uint32_t pb_guard_judge(const struct pb_guard_ctx *g, struct pb_guard_mem *m,
			       const struct fanotify_event_metadata *md, struct pb_guard_pre *p,
			       struct pb_file_event *ev, int *report)
{
	struct pb_gcache *gc = &m->gc;
	struct pb_gc_epoch ep = p->ep;
	struct pb_guard_subject gs = p->gs;
	struct pb_file_key key = p->key;
	struct pb_cred c, *cp = &c;
	struct pb_owner_lookup owner = {.procs_fd = g->procs};
	struct pb_file_action act;
	enum pb_reason reason;
	uint8_t access = p->access;
	uint32_t tgid = (uint32_t)md->pid;
	uint64_t id, now = p->now, ctime_ns = p->ctime_ns, until;
	uint32_t mode;

	*report = 0;
	/* the batch's first pass may have given its memory slot to another
	 * process since */
	if (gs.gp && (gs.gp->pidfd < 0 || gs.gp->tgid != tgid))
		gs.gp = NULL;
	if (bpf_map_lookup_elem(g->cred_files, &key, &id) &&
	    pb_guard_adopt_new(g, gc, md->fd, &key, &id)) {
		pb_gc_other_add(gc, ep, key.dev, key.ino, ctime_ns);
		pb_guard_ignore(g, md->fd, &key);
		return FAN_ALLOW; /* not (or no longer) a credential's file */
	}
	if (bpf_map_lookup_elem(g->creds, &id, &c))
		cp = NULL; /* removed: fails closed as revoked */
	if (cp && (cp->flags & PB_CRED_ADOPTED)) {
		/* The node's own processes outside the container (the kubelet
		 * writing a rotation, the agent) are not judged on a file the
		 * pod had before procbind: root on the node is out of scope,
		 * and the kubelet's pod directories are root's. A process in
		 * the container is judged, wherever it came from. */
		if (gs.s.cgroup_id != cp->cgroup_id && pb_is_node_process(tgid))
			return FAN_ALLOW;
		pb_guard_adopt_claim(g, gc, &gs, id, cp);
	}
	reason = pb_judge_cred(&gs.s, cp, pb_owner_lookup, &owner, now);
	/* a traced owner does not open its file: checked at open, not at each
	 * read (a descriptor opened before the tracer came is read as before;
	 * the tracer could read the process's memory anyway) */
	if (reason == PB_OK && access == PB_ACC_OPEN)
		reason = pb_traced_reason(reason, cp, pb_guard_traced(&gs, tgid, now));
	mode = reason == PB_OK ? PB_MODE_ENFORCE : pb_guard_mode(g, gc, ep);
	act = pb_file_decide(reason, mode, access == PB_ACC_READ,
			     gs.have_rec && pb_holds(&gs.rec, id));
	if (act.hold)
		pb_guard_hold(g, &gs, id);
	if (act.report && act.verdict != PB_VERDICT_ALLOW)
		pb_guard_name(g, &gs); /* while it waits: it may exit once answered */
	if (act.report) {
		pb_guard_event(ev, &gs, cp, id, act.verdict, reason, access, mode);
		*report = 1;
	}
	if (act.verdict != PB_VERDICT_DENY) {
		/* A plain allow of a holder is remembered until the
		 * credential's end (or the node's earliest expiry). Its open
		 * is recorded (credential_acquired) this once: its repeated
		 * opens under the same epoch are answered from memory and not
		 * recorded again, as its reads never are and as the connect
		 * hooks keep a repeated destination's allow. */
		until = gc->fast ? __atomic_load_n(&gc->fast->expiry, __ATOMIC_RELAXED) : 0;
		if (cp && (!until || cp->expires < until))
			until = cp->expires;
		if (reason == PB_OK && !act.hold && gs.gp && gs.have_rec)
			pb_gc_allow(gs.gp, ep, &gs.s, key.dev, key.ino, access, until);
		return FAN_ALLOW;
	}
	m->st.refused++;
	return FAN_DENY;
}

/* Write the answer (the opener waits for it, not for the record) and let
 * the event's descriptor go. */
static void pb_guard_answer(const struct pb_guard_ctx *g, struct pb_guard_state *st, int fd,
			    uint32_t response)
{
	struct fanotify_response r = {.fd = fd, .response = response};

	st->answered++;
	if (write(g->fan, &r, sizeof(r)) != sizeof(r))
		pb_warn("guard: answer for event descriptor %d: %m", fd);
	close(fd);
}

/* A process refused more than PB_GUARD_DENY_BUDGET times in a second (a
 * sibling's flood) has each further refusal answered PB_GUARD_TARPIT_MS
 * later. A refusal stays a refusal, recorded at once; only its answer waits.
 * Every answer the guard writes wakes every process waiting on the group
 * (the kernel's one wait queue per group), so a flood's refusals would
 * otherwise cost the bound process's own round trips (tools/bench_guard.sh,
 * the flood). At most PB_GUARD_TARPIT_MAX wait at once; past that, answered
 * at once. */
#define PB_GUARD_DENY_BUDGET 64
#define PB_GUARD_TARPIT_MS   10
#define PB_GUARD_TARPIT_MAX  1024

struct pb_guard_later {
	int fd;
	uint64_t due; /* boot ns */
};

struct pb_guard_tarpit {
	struct pb_guard_later q[PB_GUARD_TARPIT_MAX]; /* a ring, due times in order */
	unsigned int head, n;
};

/* Is this refusal of the process past its budget? Counted per second. */
static int pb_guard_over_budget(struct pb_gc_proc *gp, uint64_t now)
{
	if (!gp)
		return 0;
	if (now - gp->deny_window >= 1000000000ULL) {
		gp->deny_window = now;
		gp->denies = 0;
	}
	return ++gp->denies > PB_GUARD_DENY_BUDGET;
}

/* Answer the delayed refusals that are due (all with force); the ms until
 * the next one is due, or -1 when none waits. */
static int pb_guard_tarpit_run(const struct pb_guard_ctx *g, struct pb_guard_state *st,
			       struct pb_guard_tarpit *t, int force)
{
	uint64_t now = pb_now_boot_ns();

	while (t->n) {
		struct pb_guard_later *l = &t->q[t->head];

		if (!force && l->due > now)
			return (int)((l->due - now + 999999) / 1000000);
		pb_guard_answer(g, st, l->fd, FAN_DENY);
		t->head = (t->head + 1) % PB_GUARD_TARPIT_MAX;
		t->n--;
	}
	return -1;
}

#define PB_GUARD_BUF   8192
#define PB_GUARD_BATCH (PB_GUARD_BUF / FAN_EVENT_METADATA_LEN + 1)

int pb_guard_run(const struct pb_guard_ctx *g)
{
	static struct pb_guard_mem m; /* large: not on the stack */
	static struct pb_guard_pre pre[PB_GUARD_BATCH];
	static const struct fanotify_event_metadata *waiting[PB_GUARD_BATCH];
	static struct pb_guard_tarpit tarpit;
	unsigned int nwait;
	int later;
	struct pb_guard_state *st = &m.st;
	uint32_t counts = PB_GUARD_COUNTS;
	uint64_t written = 0;
	int dirty = 0;
	char buf[PB_GUARD_BUF]
	    __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd pfd[2];
	sigset_t mask;
	int stop = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	pfd[0].fd = g->fan;
	pfd[0].events = POLLIN;
	pfd[1].fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	pfd[1].events = POLLIN;
	if (pfd[1].fd < 0)
		return pb_err(-errno, "guard: setup: %m");
	/* Counting goes on from the guard before this one. */
	bpf_map_lookup_elem(g->state, &counts, st);
	pb_gc_init(&m.gc, g->fast);

	while (!stop) {
		const struct fanotify_event_metadata *md = (const void *)buf;
		ssize_t len;
		int n;

		/* The counters are written at most every 100 ms (a map write per
		 * answer would be a tenth of the owner's round trip). */
		later = pb_guard_tarpit_run(g, st, &tarpit, 0);
		if (dirty && (later < 0 || later > PB_GUARD_COUNT_MS))
			later = PB_GUARD_COUNT_MS;
		n = poll(pfd, 2, later);
		if (n < 0 && errno != EINTR)
			return pb_err(-errno, "guard: poll: %m");
		if (n <= 0 || pb_now_boot_ns() - written >= PB_GUARD_COUNT_MS * 1000000ULL) {
			if (dirty)
				bpf_map_update_elem(g->state, &counts, st, BPF_ANY);
			dirty = 0;
			written = pb_now_boot_ns();
		}
		if (pfd[1].revents & POLLIN)
			stop = 1; /* after answering what is readable now */
		len = pfd[0].revents & POLLIN ? read(g->fan, buf, sizeof(buf)) : 0;
		/* First pass: what needs no decision is answered at once, so a
		 * holder's read does not wait behind the batch's refusals. */
		nwait = 0;
		for (; len > 0 && FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
			uint32_t r = FAN_ALLOW;

			if (md->vers != FANOTIFY_METADATA_VERSION)
				return pb_err(-EPROTO, "guard: fanotify metadata version %u",
					      md->vers);
			if (md->fd < 0)
				continue; /* queue overflow: nothing to answer */
			if (md->mask & (FAN_OPEN_PERM | FAN_ACCESS_PERM))
				r = pb_guard_first(g, &m, md, &pre[nwait]);
			if (r) {
				pb_guard_answer(g, st, md->fd, r);
				dirty = 1;
				continue;
			}
			waiting[nwait++] = md;
		}
		/* Then each decision, in the order the events came. */
		for (unsigned int i = 0; i < nwait; i++) {
			static struct pb_file_event ev;
			int report = 0;
			uint32_t r = pb_guard_judge(g, &m, waiting[i], &pre[i], &ev, &report);
			struct pb_gc_proc *gp = pre[i].gs.gp;

			dirty = 1;
			if (r == FAN_DENY && gp && gp->tgid == (uint32_t)waiting[i]->pid &&
			    pb_guard_over_budget(gp, pre[i].now) &&
			    tarpit.n < PB_GUARD_TARPIT_MAX) {
				struct pb_guard_later *l =
				    &tarpit.q[(tarpit.head + tarpit.n++) % PB_GUARD_TARPIT_MAX];

				l->fd = waiting[i]->fd;
				l->due = pb_now_boot_ns() + PB_GUARD_TARPIT_MS * 1000000ULL;
			} else {
				pb_guard_answer(g, st, waiting[i]->fd, r);
			}
			if (report && r == FAN_DENY && pb_guard_fold(g, &ev))
				report = 0; /* counted in its refusals_folded record */
			if (report && bpf_map_update_elem(g->queue, NULL, &ev, BPF_ANY))
				st->lost++; /* the agent writes it as a gap in the trail */
		}
	}
	pb_guard_tarpit_run(g, st, &tarpit, 1); /* refused now: nothing left waiting */
	/* A stopping guard's counters were taken over by the next one. */
	return 0;
}
