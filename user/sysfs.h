/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding (and mounting where needed) the filesystems the agent works on:
 * cgroup v2, bpffs and tracefs; and naming cgroups by id. */
#ifndef PB_SYSFS_H
#define PB_SYSFS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Find the mount point of the first filesystem of type fstype in a
 * /proc/self/mountinfo stream. 0, or -ENOENT when none is mounted. */
int pb_mountinfo_find(FILE *mountinfo, const char *fstype, char *out, size_t len);

/* cgroup v2 root: the override if given, else from /proc/self/mountinfo. */
int pb_cgroup2_find(const char *override, char *out, size_t len);

/* Make sure a filesystem of fstype is mounted at path (mount it if not). */
int pb_fs_ensure(const char *path, const char *fstype, uint64_t magic);

/* cgroup id -> path relative to the cgroup v2 root ("/" for the root).
 * Uses open_by_handle_at on the root, so it works for any live cgroup. */
int pb_cgroup_path(int root_fd, uint64_t id, char *out, size_t len);

/* cgroup id of a path (the directory's inode on cgroup v2). */
int pb_cgroup_id(const char *path, uint64_t *id);

#endif
