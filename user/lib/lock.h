/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Exclusive locks on a path (flock), and who holds one: what keeps a second
 * agent off a state directory or a pin directory (docs/operator.md, "One
 * agent per node"). A lock is the open file description's: it goes when the
 * process that holds it exits, however it exits, and a child that closes
 * the descriptor (the file guard closes every one it does not need) does
 * not keep it. */
#ifndef PB_LOCK_H
#define PB_LOCK_H

#include <sys/types.h>

/* Lock path (a directory when dir, else a file, made 0600 if missing):
 * 0 with *fd open (close-on-exec) and locked; -EBUSY when another process
 * holds it, with *holder its PID (0 when it cannot be read); else -errno. */
int pb_lock_take(const char *path, int dir, int *fd, pid_t *holder);

/* The PID holding a flock on fd's inode, from /proc/locks, or 0. */
pid_t pb_lock_holder(int fd);

#endif
