// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The node key: an Ed25519 pair made on first start and kept in the state
 * directory (0600), so that tokens minted before a restart still verify. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "util.h"

int pb_key_load_or_create(struct pb_agent *a)
{
	char skpath[PATH_MAX], pkpath[PATH_MAX];
	int fd, err;
	ssize_t n;

	snprintf(skpath, sizeof(skpath), "%s/node.key", a->conf.state_dir);
	snprintf(pkpath, sizeof(pkpath), "%s/node.pub", a->conf.state_dir);
	fd = open(skpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size != sizeof(a->key.sk)) {
			close(fd);
			return pb_err(-EINVAL,
				      "mint: %s is not an Ed25519 secret key (a file of %zu bytes); "
				      "move it away to make a new key (tokens signed with the old "
				      "one stop verifying)",
				      skpath, sizeof(a->key.sk));
		}
		if (st.st_mode & 077) {
			close(fd);
			return pb_err(-EPERM,
				      "mint: %s is readable or writable by others (mode %04o): "
				      "whoever reads it can sign tokens; chmod 600 it, and make a "
				      "new key if it may have been read",
				      skpath, st.st_mode & 07777);
		}
		n = read(fd, a->key.sk, sizeof(a->key.sk));
		close(fd);
		if (n != sizeof(a->key.sk))
			return pb_err(-EINVAL, "mint: %s: short read", skpath);
		crypto_sign_ed25519_sk_to_pk(a->key.pk, a->key.sk);
		return 0;
	}
	if (errno == ELOOP)
		return pb_err(-ELOOP, "mint: %s is a symbolic link: refused (a key must be a file "
				      "of the state directory)",
			      skpath);
	if (errno != ENOENT)
		return pb_err(-errno, "mint: open %s: %m", skpath);

	crypto_sign_keypair(a->key.pk, a->key.sk);
	fd = open(skpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return pb_err(-errno, "mint: create %s: %m", skpath);
	err = pb_write_full(fd, a->key.sk, sizeof(a->key.sk));
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (err)
		return pb_err(err, "mint: write %s: %s", skpath, strerror(-err));
	fd = open(pkpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return pb_err(-errno, "mint: create %s: %m", pkpath);
	err = pb_write_full(fd, a->key.pk, sizeof(a->key.pk));
	close(fd);
	if (err)
		return pb_err(err, "mint: write %s: %s", pkpath, strerror(-err));
	pb_info("mint: created node key %s", skpath);
	return 0;
}
