/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A container as /proc shows it: files as a process in it sees them (opened
 * inside its root, never following a link out of it), its main process,
 * and whether a process is the node's own. Shared by the agent, which binds
 * adopted files, and the guard, which judges them. */
#ifndef PB_CONTAINER_H
#define PB_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "procbind/abi.h"

/* Open path as process pid sees it: resolved inside /proc/PID/root, where
 * an absolute link or ".." cannot lead out (openat2 RESOLVE_IN_ROOT, 5.6+).
 * A descriptor, or -errno. */
int pb_open_in_root(uint32_t pid, const char *path, int flags);

/* The path of an adopted file inside its volume that stays the same across
 * the kubelet's rotations: what follows the last atomic-writer directory
 * ("..2026_11_30_01_02_03.123456789/token" -> "token"), or the last
 * component when there is none. 0, or -ENAMETOOLONG. */
int pb_adopt_suffix(const char *path, char *out, size_t len);

/* The main process of the container whose cgroup is dir (an absolute
 * cgroupfs path): of the processes in it that run a binary from the
 * container's own filesystem (so not the runtime's init before it exec'd),
 * the one that is its PID namespace's init, else the oldest. *out names it
 * (start to the tick). 0, or -ESRCH when there is none yet. */
int pb_container_main(const char *dir, struct pb_pkey *out);

/* Any process in the cgroup dir, for looking through its root: 0 or -ESRCH. */
int pb_container_any(const char *dir, uint32_t *pid);

/* Is pid one of the node's own processes: in the node's mount namespace
 * (PID 1's) or the caller's own (procbind's, in a DaemonSet), and run as
 * root? (The kubelet writing a volume is one; the agent is one.) */
int pb_is_node_process(uint32_t pid);

/* Read the mount of mount point mnt from a mountinfo file: its filesystem
 * type and its root within the filesystem. 0 or -ENOENT. */
int pb_mountinfo_at(const char *mountinfo, const char *mnt, char *fstype, size_t flen, char *root,
		    size_t rlen);

/* A mount point, in our own mount namespace, of the whole filesystem dev
 * (the kernel's dev_t): 0, or -ENOENT when none is visible here. */
int pb_mount_of_dev(uint64_t dev, char *out, size_t len);

#endif
