// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy file's watch: the agent reloads when the file's bytes change,
 * as `procbindctl reload` does (the same atomic switch, the same refusal of
 * a file that does not parse). In Kubernetes the file is a ConfigMap's: the
 * kubelet writes a new directory and swaps the `..data` symlink, so the
 * directory the path is in is watched, not the file, and what is compared
 * is the bytes the path leads to now. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "util.h"

/* Changes come in bursts (an editor's write and rename, the kubelet's
 * several steps): act once they have settled this long. */
#define PB_WATCH_SETTLE_NS 200000000ULL
#define PB_WATCH_MAX_BYTES (4u << 20) /* a policy larger than this is refused by the load */

/* BLAKE2b of the bytes the policy path leads to now: 0, or -errno. */
static int pb_watch_digest(const char *path, unsigned char out[32])
{
	crypto_generichash_state st;
	unsigned char buf[8192];
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	crypto_generichash_init(&st, NULL, 0, 32);
	while ((n = read(fd, buf, sizeof(buf))) > 0 && total < PB_WATCH_MAX_BYTES) {
		crypto_generichash_update(&st, buf, (size_t)n);
		total += (size_t)n;
	}
	close(fd);
	if (n < 0)
		return -EIO;
	crypto_generichash_final(&st, out, 32);
	return 0;
}

void pb_watch_seen(struct pb_agent *a)
{
	a->watch.have_seen = !pb_watch_digest(a->conf.policy_path, a->watch.seen);
}

int pb_watch_open(struct pb_agent *a)
{
	char dir[PATH_MAX];
	int fd;

	a->watch.fd = -1;
	pb_watch_seen(a);
	if (!a->conf.watch_policy)
		return -1;
	snprintf(dir, sizeof(dir), "%s", a->conf.policy_path);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, dirname(dir),
					IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
					    IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		pb_warn("policy: cannot watch %s (%m): reload with procbindctl reload or SIGHUP",
			dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	a->watch.fd = fd;
	pb_info("policy: watching %s for changes", dir);
	return fd;
}

void pb_watch_event(struct pb_agent *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* what changed does not matter: the bytes are compared once settled */
	while (read(a->watch.fd, buf, sizeof(buf)) > 0)
		;
	a->watch.changed_at = pb_now_boot_ns();
}

int pb_watch_due(struct pb_agent *a)
{
	unsigned char now[32];

	if (!a->watch.changed_at || pb_now_boot_ns() - a->watch.changed_at < PB_WATCH_SETTLE_NS)
		return 0;
	a->watch.changed_at = 0;
	if (pb_watch_digest(a->conf.policy_path, now))
		return 0; /* gone for now (mid-swap): the next change looks again */
	if (a->watch.have_seen && !memcmp(now, a->watch.seen, sizeof(now)))
		return 0; /* the bytes in force (or last refused) */
	return 1;
}

void pb_watch_close(struct pb_agent *a)
{
	if (a->watch.fd >= 0)
		close(a->watch.fd);
	a->watch.fd = -1;
}
