// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Seeding: a record for every process that predates the agent, written as
 * the exec hook would have written it (tag included), unless the hooks,
 * attached before the walk, wrote one first. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <bpf/bpf.h>

#include "kernel.h"
#include "log.h"
#include "purpose.h"
#include "seed.h"
#include "sysfs.h"
#include "procbind.skel.h"

int pb_seed_one(struct pb_agent *a, const struct pb_task_info *ti, char *exe, size_t len)
{
	struct pb_proc rec = {
	    .self.start_time = ti->proc.start_time,
	    .exe_dev = ti->exe_dev,
	    .exe_ino = ti->exe_ino,
	    .cgroup_id = ti->cgroup_id,
	    .parent.start_time = ti->parent.start_time,
	    .self.tgid = ti->proc.tgid,
	    .parent.tgid = ti->parent.tgid,
	    .uid = ti->uid,
	    .flags = PB_PROC_SEEDED | (ti->flags & PB_TI_COARSE ? PB_PROC_COARSE : 0),
	};

	memcpy(rec.comm, ti->comm, sizeof(rec.comm));
	exe[0] = 0;
	/* It exec'd before we watched: tag it as the exec hook would have,
	 * with the path the kernel resolves (best effort, see README). */
	if (!pb_exe_path(ti->proc.tgid, ti->exe_dev, ti->exe_ino, exe, len)) {
		rec.ident = pb_purpose_tag(a, ti->cgroup_id, exe, &rec.exe_mask);
		rec.tag_gen = a->purpose.gen;
	}
	/* A start known only to the tick is settled by the first connect that
	 * looks the record up: this process's connects must look it up. */
	if (rec.flags & PB_PROC_COARSE)
		pb_holding_mark(a->kern.holding, a->kern.nholding, rec.self.tgid);
	/* NOEXIST: a record the hooks wrote since they were attached is newer. */
	if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.procs), &rec.self.tgid, &rec,
				BPF_NOEXIST))
		return -errno;
	/* It may have exited between the walk and the write, its exit hook
	 * finding no record to remove: this one would then outlive it. */
	if (pb_proc_gone(rec.self.tgid, rec.self.start_time)) {
		struct pb_proc now;
		int fd = bpf_map__fd(a->kern.skel->maps.procs);

		if (!bpf_map_lookup_elem(fd, &rec.self.tgid, &now) &&
		    now.self.start_time == rec.self.start_time && (now.flags & PB_PROC_SEEDED))
			bpf_map_delete_elem(fd, &rec.self.tgid);
		return -ESRCH;
	}
	return 0;
}

static int pb_seed_cb(const struct pb_task_info *ti, void *ctx)
{
	struct pb_agent *a = ctx;
	char exe[PATH_MAX];
	int err = pb_seed_one(a, ti, exe, sizeof(exe));

	if (!err)
		a->procs.seeded++;
	else if (err != -EEXIST && err != -ESRCH)
		pb_warn("seed: seed pid %u: %s", ti->proc.tgid, strerror(-err));
	return 0;
}

int pb_seed(struct pb_agent *a)
{
	a->procs.seeded = 0;
	return pb_walk(a, 0, pb_seed_cb, a);
}
