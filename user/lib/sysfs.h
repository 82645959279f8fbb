/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding (and mounting where needed) the filesystems the agent works on:
 * cgroup v2, bpffs and tracefs; and naming cgroups by id. */
#ifndef PB_SYSFS_H
#define PB_SYSFS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "procbind/abi.h"

/* Undo mountinfo's \ooo escapes (space, tab, newline, backslash) in place. */
void pb_unescape_octal(char *s);

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

/* /proc/PID/stat, the fields procbind reads. starttime is the process's
 * start_boottime in USER_HZ ticks. */
struct pb_stat {
	char state; /* R, S, D, Z, X, ... */
	uint32_t ppid;
	uint32_t flags; /* PF_* */
	uint64_t starttime;
	char comm[PB_COMM_LEN];
};
int pb_stat_parse(const char *buf, struct pb_stat *out); /* 0 or -EIO */
int pb_stat_read(uint32_t pid, struct pb_stat *out);	 /* 0, -ENOENT or -EIO */
uint64_t pb_ticks_to_ns(uint64_t ticks);		 /* USER_HZ ticks -> ns */
/* Has the process tgid that started at start (CLOCK_BOOTTIME ns) exited? 1
 * when /proc has no such PID, the PID is another process's now, or it is a
 * zombie with no thread left; 0 while it runs (even if its main thread
 * has exited and others go on). */
int pb_proc_gone(uint32_t tgid, uint64_t start);

/* One process as /proc shows it (the fallback of the task iterator): start
 * times rounded down to the tick (PB_TI_COARSE), cgroup v2 id, executable
 * inode in the kernel's dev_t. -ESRCH for a kernel thread or a PID that went
 * away or changed hands while it was read. */
int pb_proc_task_info(uint32_t pid, const char *cgroup_root, struct pb_task_info *ti);

/* The path of a live process's executable, trusted only if it still names
 * the inode the kernel reported (dev as the kernel encodes it): 0, or
 * -ESTALE (out is "") when the PID has exec'd or gone since, or -errno. */
int pb_exe_path(uint32_t tgid, uint64_t dev, uint64_t ino, char *out, size_t len);
/* /proc/PID/cmdline as the kernel gives it (the arguments NUL-separated), at
 * most len bytes: how many (0: a zombie's or a kernel thread's), or -errno. */
ssize_t pb_proc_cmdline(uint32_t tgid, char *buf, size_t len);
/* kernel.pid_max, at most PID_MAX_LIMIT (4M on 64-bit); 0 when unreadable. */
uint32_t pb_pid_max(void);
/* Every directory under root, root first and each before what it holds, on
 * root's filesystem only, symbolic links not followed: fn(ctx, rel, ino)
 * with rel the path below root ("" for root). A non-zero return of fn ends
 * the walk and is returned; a directory that goes or cannot be read during
 * the walk is passed over (cgroups come and go); -errno when root cannot be
 * walked at all. */
typedef int (*pb_dir_fn)(void *ctx, const char *rel, uint64_t ino);
int pb_walk_dirs(const char *root, pb_dir_fn fn, void *ctx);

/* The cgroup v2 of a live process, from /proc/PID/cgroup: its path below
 * root (rel) and its id. 0, -ENOENT (no v2 line, or gone) or -errno. */
int pb_proc_cgroup_id(uint32_t pid, const char *root, uint64_t *id, char *rel, size_t len);

/* Is any thread of process tgid traced (the TracerPid of each thread's
 * status in /proc/TGID/task)? The tracer of one thread can make it do anything the process
 * may. 1, 0, or -errno when the process cannot be read (gone). */
int pb_proc_traced(uint32_t tgid);

/* No core dump of process p: its hard and soft RLIMIT_CORE set to 0, which
 * only a process with CAP_SYS_RESOURCE can raise again (a same-uid sibling's
 * prlimit cannot). 0, -ESRCH when p has exited or its PID is another
 * process's, or -errno. */
int pb_core_off(uint32_t tgid, uint64_t start_time);

/* Where a core dump would go, from kernel.core_pattern: 1 for a file (the
 * zero RLIMIT_CORE keeps a bound process's from being written), 0 for a
 * pipe to a handler (the kernel does not apply RLIMIT_CORE to it), -errno
 * when unreadable. pattern gets the value, why one line for operators. */
int pb_core_pattern(char *pattern, size_t plen, char *why, size_t wlen);

#endif
