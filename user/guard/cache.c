// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The guard's memory between events (cache_priv.h). */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cache_priv.h"

void pb_gc_init(struct pb_gcache *c, const volatile struct pb_fast *fast)
{
	memset(c, 0, sizeof(*c));
	c->fast = fast;
	for (size_t i = 0; i < PB_GC_PROCS; i++)
		c->proc[i].pidfd = -1;
}

struct pb_gc_epoch pb_gc_now(const struct pb_gcache *c)
{
	struct pb_gc_epoch e = {.guard = c->gen};

	if (!c->fast)
		return e;
	/* read before whatever the answer reads (the agent bumps it after
	 * each change), as the connect hooks do */
	e.kernel = __atomic_load_n(&c->fast->epoch, __ATOMIC_ACQUIRE);
	return e;
}

static int pb_gc_epoch_is(struct pb_gc_epoch a, struct pb_gc_epoch b)
{
	return a.kernel == b.kernel && a.guard == b.guard;
}

static void pb_gc_forget(struct pb_gc_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	memset(p, 0, sizeof(*p));
	p->pidfd = -1;
}

struct pb_gc_proc *pb_gc_proc_find(struct pb_gcache *c, uint32_t tgid)
{
	struct pb_gc_proc *p = &c->proc[tgid % PB_GC_PROCS];

	if (!c->fast || p->pidfd < 0 || p->tgid != tgid)
		return NULL;
	return p;
}

int pb_gc_proc_alive(struct pb_gc_proc *p)
{
	struct pollfd pfd;

	/* A pidfd is readable once its process has exited: until then no
	 * other process can have its PID, so the process asking now is the
	 * one remembered. */
	pfd.fd = p->pidfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0) {
		pb_gc_forget(p);
		return 0;
	}
	return 1;
}

struct pb_gc_proc *pb_gc_proc_add(struct pb_gcache *c, uint32_t tgid, int pidfd,
				  uint64_t start_tick)
{
	struct pb_gc_proc *p = &c->proc[tgid % PB_GC_PROCS];

	if (!c->fast) {
		close(pidfd);
		return NULL;
	}
	pb_gc_forget(p);
	p->pidfd = pidfd;
	p->tgid = tgid;
	p->start_tick = start_tick;
	return p;
}

int pb_gc_allowed(const struct pb_gc_proc *p, struct pb_gc_epoch ep, const struct pb_subject *s,
		  uint64_t dev, uint64_t ino, uint8_t access, uint64_t now)
{
	for (size_t i = 0; i < PB_GC_ALLOWS; i++) {
		const struct pb_gc_allow *a = &p->allow[i];

		if (a->dev == dev && a->ino == ino && a->access == access && now < a->until &&
		    pb_gc_epoch_is(a->ep, ep) && !memcmp(&a->s, s, sizeof(*s)))
			return 1;
	}
	return 0;
}

void pb_gc_allow(struct pb_gc_proc *p, struct pb_gc_epoch ep, const struct pb_subject *s,
		 uint64_t dev, uint64_t ino, uint8_t access, uint64_t until)
{
	struct pb_gc_allow *a = &p->allow[p->next++ % PB_GC_ALLOWS];

	a->dev = dev;
	a->ino = ino;
	a->access = access;
	a->s = *s;
	a->until = until;
	a->ep = ep;
}

static struct pb_gc_other *pb_gc_other_slot(const struct pb_gcache *c, uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ dev;

	return (struct pb_gc_other *)&c->other[(h >> 32) % PB_GC_OTHERS];
}

int pb_gc_other_known(const struct pb_gcache *c, struct pb_gc_epoch ep, uint64_t dev, uint64_t ino,
		      uint64_t ctime_ns)
{
	const struct pb_gc_other *o = pb_gc_other_slot(c, dev, ino);

	return c->fast && o->used && o->dev == dev && o->ino == ino && o->ctime_ns == ctime_ns &&
	       pb_gc_epoch_is(o->ep, ep);
}

void pb_gc_other_add(struct pb_gcache *c, struct pb_gc_epoch ep, uint64_t dev, uint64_t ino,
		     uint64_t ctime_ns)
{
	struct pb_gc_other *o = pb_gc_other_slot(c, dev, ino);

	if (!c->fast)
		return;
	o->dev = dev;
	o->ino = ino;
	o->ctime_ns = ctime_ns;
	o->ep = ep;
	o->used = 1;
}
