// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A live process as the decision sees it, from user space: the file guard
 * asks it of the process blocked in an open or read, the workload socket of
 * its caller. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#include "kernel.h"
#include "sysfs.h"
#include "util.h"

int pb_subject_read(int procs_fd, const char *cgroup_root, uint32_t tgid, struct pb_live *lv)
{
	char rel[PATH_MAX];
	uint64_t start, cgid = 0;
	int err;

	memset(lv, 0, sizeof(*lv));
	if ((err = pb_stat_read(tgid, &lv->st)))
		return err == -ENOENT ? -ESRCH : err;
	start = pb_ticks_to_ns(lv->st.starttime);
	if ((err = pb_proc_cgroup_id(tgid, cgroup_root, &cgid, rel, sizeof(rel))))
		return err == -ENOENT ? -ESRCH : err;
	lv->s.cgroup_id = cgid;
	lv->have_rec = !bpf_map_lookup_elem(procs_fd, &tgid, &lv->rec) &&
		       lv->rec.self.start_time - lv->rec.self.start_time % PB_TICK_NS == start;
	if (lv->have_rec) {
		/* The hooks keep it: the start to the nanosecond, the parent
		 * that forked it, what it exec'd. */
		lv->s.self = lv->rec.self;
		lv->s.parent = lv->rec.parent;
		lv->s.exe_dev = lv->rec.exe_dev;
		lv->s.exe_ino = lv->rec.exe_ino;
		return 0;
	}
	/* No record (or an older process's): known to the tick only, which
	 * never names a credential's owner: it is judged foreign. */
	{
		char path[64];
		struct pb_stat pst;
		struct stat exe;

		lv->s.self.tgid = tgid;
		lv->s.self.start_time = start;
		lv->s.parent.tgid = lv->st.ppid;
		if (lv->st.ppid && !pb_stat_read(lv->st.ppid, &pst))
			lv->s.parent.start_time = pb_ticks_to_ns(pst.starttime);
		snprintf(path, sizeof(path), "/proc/%u/exe", tgid);
		if (!stat(path, &exe)) {
			lv->s.exe_dev = pb_dev_to_kernel(exe.st_dev);
			lv->s.exe_ino = exe.st_ino;
		}
	}
	return 0;
}

const struct pb_proc *pb_owner_lookup(void *ctx, __u32 tgid)
{
	struct pb_owner_lookup *l = ctx;

	return bpf_map_lookup_elem(l->procs_fd, &tgid, &l->rec) ? NULL : &l->rec;
}
