// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Filesystems: cgroup v2 is at /sys/fs/cgroup on Kubernetes nodes and at
 * /sys/fs/cgroup/unified on hybrid hosts, so it is found, never assumed. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <fts.h>
#include <linux/magic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "sysfs.h"
#include "util.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
void pb_unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

int pb_mountinfo_find(FILE *f, const char *fstype, char *out, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype src sopts */
		char *save = NULL, *tok, *mnt = NULL;
		int field = 0, after_sep = 0;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			field++;
			if (field == 5)
				mnt = tok;
			if (after_sep) {
				if (!strcmp(tok, fstype) && mnt) {
					pb_unescape_octal(mnt);
					if (strlen(mnt) >= len) {
						ret = -ENAMETOOLONG;
						goto out;
					}
					strcpy(out, mnt);
					ret = 0;
					goto out;
				}
				break;
			}
			if (field > 6 && !strcmp(tok, "-"))
				after_sep = 1;
		}
	}
out:
	free(line);
	return ret;
}

int pb_cgroup2_find(const char *override, char *out, size_t len)
{
	FILE *f;
	int err;

	if (override) {
		struct statfs sfs;

		if (statfs(override, &sfs))
			return pb_err(-errno, "sysfs: cgroup root %s: %m", override);
		if ((unsigned long)sfs.f_type != 0x63677270UL /* CGROUP2_SUPER_MAGIC */)
			return pb_err(-EINVAL, "sysfs: %s is not a cgroup v2 mount", override);
		if (strlen(override) >= len)
			return -ENAMETOOLONG;
		strcpy(out, override);
		return 0;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return pb_err(-errno, "sysfs: open /proc/self/mountinfo: %m");
	err = pb_mountinfo_find(f, "cgroup2", out, len);
	fclose(f);
	if (err)
		return pb_err(err, "sysfs: no cgroup v2 mount found (procbind needs cgroup v2; "
				   "pass --cgroup-root if it is mounted elsewhere)");
	return 0;
}

int pb_fs_ensure(const char *path, const char *fstype, uint64_t magic)
{
	struct statfs sfs;

	if (!statfs(path, &sfs) && (uint64_t)(unsigned long)sfs.f_type == magic)
		return 0;
	if (mkdir(path, 0700) && errno != EEXIST)
		return pb_err(-errno, "sysfs: mkdir %s: %m", path);
	if (mount(fstype, path, fstype, 0, NULL))
		return pb_err(-errno, "sysfs: mount %s at %s: %m", fstype, path);
	pb_info("sysfs: mounted %s at %s", fstype, path);
	return 0;
}

int pb_cgroup_path(int root_fd, uint64_t id, char *out, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh = {.handle_bytes = sizeof(uint64_t), .handle_type = 0xfe /* FILEID_KERNFS */},
	       .id = id};
	char root[PATH_MAX], link[64], full[PATH_MAX];
	ssize_t n, r;
	int fd;

	fd = open_by_handle_at(root_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, full, sizeof(full) - 1);
	close(fd);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", root_fd);
	r = readlink(link, root, sizeof(root) - 1);
	if (n < 0 || r < 0)
		return -errno;
	full[n] = 0;
	root[r] = 0;
	if (strncmp(full, root, r))
		return -EXDEV;
	snprintf(out, len, "%s", full[r] ? full + r : "/");
	return 0;
}

int pb_cgroup_id(const char *path, uint64_t *id)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

int pb_stat_parse(const char *buf, struct pb_stat *out)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	unsigned long long starttime;
	unsigned int flags;
	char state;
	int ppid;
	size_t n;

	/* comm may hold spaces and parentheses: it ends at the last ')'. */
	if (!open || !close || close < open ||
	    sscanf(
		close + 1,
		" %c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		&state, &ppid, &flags, &starttime) != 4 ||
	    ppid < 0)
		return -EIO;
	out->state = state;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(out->comm))
		n = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, n);
	out->comm[n] = 0;
	out->ppid = (uint32_t)ppid;
	out->flags = flags;
	out->starttime = starttime;
	return 0;
}

/* One read of the file at path into buf (at most len bytes), as /proc gives
 * a small file whole: how many bytes, or -errno. */
static ssize_t pb_read_once(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

/* The /proc text file at path, NUL-terminated, in buf: 0 or -errno (-ESRCH:
 * empty, its process gone). */
static int pb_status_text(const char *path, char *buf, size_t len)
{
	ssize_t n = pb_read_once(path, buf, len - 1);

	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	buf[n] = 0;
	return 0;
}

int pb_stat_read(uint32_t pid, struct pb_stat *out)
{
	char path[64], buf[1024];
	int err;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if ((err = pb_status_text(path, buf, sizeof(buf))))
		return err;
	return pb_stat_parse(buf, out);
}

uint64_t pb_ticks_to_ns(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);

	return ticks * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
}

/* Field nth (0: the first) of the numbers after "key" in a status file's
 * text, or -1. */
static long pb_status_field(const char *text, const char *key, int nth)
{
	const char *p = strstr(text, key);
	char *end;
	long v = -1;

	if (!p)
		return -1;
	p += strlen(key);
	for (int i = 0; i <= nth; i++, p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			return -1;
	}
	return v;
}

/* /proc/PID/status, NUL-terminated, in buf: 0 or -errno. */
static int pb_proc_status(uint32_t pid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	return pb_status_text(path, buf, len);
}

int pb_proc_gone(uint32_t tgid, uint64_t start)
{
	char buf[4096];
	struct pb_stat st;

	if (pb_stat_read(tgid, &st))
		return 1;
	if (st.starttime != start / pb_ticks_to_ns(1))
		return 1; /* the PID is another process's */
	if (st.state != 'Z' && st.state != 'X')
		return 0;
	if (pb_proc_status(tgid, buf, sizeof(buf)))
		return 1;
	return pb_status_field(buf, "\nThreads:", 0) <= 1;
}

/* Tgid: and the effective uid (second field of Uid:) from /proc/PID/status. */
static int pb_status_ids(uint32_t pid, uint32_t *tgid, uint32_t *uid)
{
	char buf[4096];
	long t, e;
	int err = pb_proc_status(pid, buf, sizeof(buf));

	if (err)
		return err;
	t = pb_status_field(buf, "\nTgid:", 0);
	e = pb_status_field(buf, "\nUid:", 1);
	if (t < 0 || e < 0)
		return -EIO;
	*tgid = (uint32_t)t;
	*uid = (uint32_t)e;
	return 0;
}

/* The cgroup v2 path ("0::/...") from /proc/PID/cgroup, made absolute. */
int pb_proc_cgroup_id(uint32_t pid, const char *root, uint64_t *id, char *rel, size_t len)
{
	char path[64], line[PATH_MAX + 16], full[PATH_MAX * 2];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (ret == -ENOENT && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(rel, len, "%s", line + 3);
		if (snprintf(full, sizeof(full), "%s%s", root, line + 3) >= (int)sizeof(full))
			break;
		ret = pb_cgroup_id(full, id);
	}
	fclose(f);
	return ret;
}

int pb_proc_task_info(uint32_t pid, const char *cgroup_root, struct pb_task_info *ti)
{
	char path[PATH_MAX];
	struct pb_stat st, pst;
	struct stat exe;
	uint64_t start, cgid = 0;
	uint32_t tgid = 0;
	int err;

	memset(ti, 0, sizeof(*ti));
	if ((err = pb_stat_read(pid, &st)))
		return err == -ENOENT ? -ESRCH : err;
	if (st.flags & 0x00200000) /* PF_KTHREAD */
		return -ESRCH;
	start = pb_ticks_to_ns(st.starttime);
	if ((err = pb_status_ids(pid, &tgid, &ti->uid)))
		return err == -ENOENT ? -ESRCH : err;
	if (tgid != pid) /* a thread: /proc/TID is reachable though not listed */
		return -ESRCH;
	if ((err = pb_proc_cgroup_id(pid, cgroup_root, &cgid, path, sizeof(path))))
		return err == -ENOENT ? -ESRCH : err;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if (!stat(path, &exe)) { /* none for a zombie leader */
		ti->exe_dev = pb_dev_to_kernel(exe.st_dev);
		ti->exe_ino = exe.st_ino;
	}
	if (st.ppid && !pb_stat_read(st.ppid, &pst))
		ti->parent.start_time = pb_ticks_to_ns(pst.starttime);
	/* Everything above must describe one process: if the PID changed
	 * hands while we read, its start time shows it. */
	if (pb_stat_read(pid, &pst) || pst.starttime != st.starttime)
		return -ESRCH;
	ti->cgroup_id = cgid;
	ti->proc.tgid = pid;
	ti->parent.tgid = st.ppid;
	ti->proc.start_time = start;
	ti->flags = PB_TI_COARSE;
	snprintf(ti->comm, sizeof(ti->comm), "%s", st.comm);
	return 0;
}

/* An executable on overlayfs (a container's root, a node image): the kernel
 * records the overlay's own device, stat(2) of a file reports the pseudo
 * device of the layer it comes from, with the same inode number. The
 * overlay's device is what stat reports for its directories: compare that
 * of the file's directory, resolved in the process's root. */
static int pb_overlay_dev_is(uint32_t tgid, const char *path, const char *link, uint64_t dev)
{
	char dir[PATH_MAX + 32];
	struct statfs sf;
	struct stat st;
	const char *slash = strrchr(path, '/');

	if (statfs(link, &sf) || sf.f_type != OVERLAYFS_SUPER_MAGIC || !slash)
		return 0;
	snprintf(dir, sizeof(dir), "/proc/%u/root%.*s", tgid, (int)(slash - path), path);
	return !stat(dir, &st) && S_ISDIR(st.st_mode) && pb_dev_to_kernel(st.st_dev) == dev;
}

int pb_exe_path(uint32_t tgid, uint64_t dev, uint64_t ino, char *out, size_t len)
{
	char link[64];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", tgid);
	n = readlink(link, out, len - 1);
	if (n < 0)
		return -errno;
	out[n] = 0;
	/* The PID may already belong to another image: trust the path only if
	 * it still names the inode the kernel reported. */
	if (stat(link, &st) || st.st_ino != ino ||
	    (pb_dev_to_kernel(st.st_dev) != dev && !pb_overlay_dev_is(tgid, out, link, dev))) {
		out[0] = 0;
		return -ESTALE;
	}
	return 0;
}

ssize_t pb_proc_cmdline(uint32_t tgid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/cmdline", tgid);
	return pb_read_once(path, buf, len);
}

int pb_walk_dirs(const char *root, pb_dir_fn fn, void *ctx)
{
	char *paths[] = {(char *)root, NULL};
	size_t rootlen = strlen(root);
	FTSENT *e;
	FTS *fts;
	int ret = 0;

	fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (!fts)
		return -errno;
	for (;;) {
		errno = 0; /* fts_read's NULL is the end, or an error in errno */
		e = fts_read(fts);
		if (!e) {
			if (errno && errno != ENOENT)
				ret = -errno;
			break;
		}
		if (e->fts_level == 0 && (e->fts_info == FTS_NS || e->fts_info == FTS_ERR ||
					  e->fts_info == FTS_DNR)) {
			ret = -(e->fts_errno ? e->fts_errno : EIO); /* the root itself */
			break;
		}
		if (e->fts_info != FTS_D)
			continue; /* files, post-order visits, what went meanwhile */
		ret = fn(ctx, e->fts_pathlen > rootlen ? e->fts_path + rootlen : "",
			 (uint64_t)e->fts_statp->st_ino);
		if (ret)
			break;
	}
	fts_close(fts);
	return ret;
}

uint32_t pb_pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	unsigned int pid_max = 0;

	if (!f || fscanf(f, "%u", &pid_max) != 1)
		pid_max = 0;
	if (f)
		fclose(f);
	return pid_max > (1u << 22) ? 1u << 22 : pid_max;
}

int pb_proc_traced(uint32_t tgid)
{
	char path[64], buf[4096];
	struct dirent *d;
	int traced = 0, ret;
	DIR *dir;

	/* one read for the common case: the main thread's tracer, and how
	 * many threads there are */
	if ((ret = pb_proc_status(tgid, buf, sizeof(buf))))
		return ret;
	if (pb_status_field(buf, "\nTracerPid:", 0) > 0)
		return 1;
	if (pb_status_field(buf, "\nThreads:", 0) <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/task", tgid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!traced && (d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%.16s/status", tgid, d->d_name);
		if (!pb_status_text(path, buf, sizeof(buf))) /* else: that thread has exited */
			traced = pb_status_field(buf, "\nTracerPid:", 0) > 0;
	}
	closedir(dir);
	return traced;
}

int pb_core_off(uint32_t tgid, uint64_t start_time)
{
	const struct rlimit zero = {0, 0};
	struct pb_stat st;

	if (prlimit((pid_t)tgid, RLIMIT_CORE, &zero, NULL))
		return -errno;
	/* the PID may have changed hands meanwhile: then the limit went to
	 * another process (harmless) and this one has gone */
	if (pb_stat_read(tgid, &st) || st.starttime != start_time / pb_ticks_to_ns(1))
		return -ESRCH;
	return 0;
}

int pb_core_pattern(char *pattern, size_t plen, char *why, size_t wlen)
{
	FILE *f = fopen("/proc/sys/kernel/core_pattern", "re");
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(pattern, plen, "?");
		snprintf(why, wlen, "/proc/sys/kernel/core_pattern unreadable: %s", strerror(-ret));
		return ret;
	}
	if (!fgets(pattern, (int)plen, f))
		pattern[0] = 0;
	fclose(f);
	pattern[strcspn(pattern, "\n")] = 0;
	if (pattern[0] == '|') {
		snprintf(why, wlen,
			 "a pipe: the kernel ignores RLIMIT_CORE for it, so a bound process's core "
			 "reaches the handler, which may keep it where the process's uid can read "
			 "it (systemd-coredump does, unless Storage=none)");
		return 0;
	}
	snprintf(why, wlen,
		 "a file%s, owned by the process's uid (a same-uid sibling could read it): "
		 "never written for a bound process, whose hard RLIMIT_CORE procbind sets to 0",
		 pattern[0] == '/' ? "" : " in the process's working directory");
	return 1;
}
