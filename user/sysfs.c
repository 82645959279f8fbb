// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Filesystems: cgroup v2 is at /sys/fs/cgroup on Kubernetes nodes and at
 * /sys/fs/cgroup/unified on hybrid hosts, so it is found, never assumed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "sysfs.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void pb_unescape_octal(char *s)
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
