/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Adopted files (policy "adopt"): the credentials pods already have, such
 * as the projected service-account token, each bound to the rightful
 * process of every container an entry matches and guarded at the file like
 * a minted token. A binding is a credential in the kernel's maps (flag
 * PB_CRED_ADOPTED) whose id is derived from the entry and the container's
 * cgroup, so a restarted agent binds the same id again. */
#ifndef PB_ADOPT_H
#define PB_ADOPT_H

#include <stdint.h>

#include "state.h"

/* The policy in force changed (or the agent started): bind what it adopts
 * in every existing cgroup, end the bindings it no longer has. Runs before
 * the guard an earlier agent left is retired. */
void pb_adopt_policy(struct pb_agent *a);
/* A cgroup appeared: matched and bound on the next ticks. */
void pb_adopt_cgroup_added(struct pb_agent *a, uint64_t cgid);
/* Every drain tick: new cgroups; each second, every binding's container,
 * holder and file (a rotation). */
void pb_adopt_tick(struct pb_agent *a);

/* Take into m what the guard bound since (a claimant, main's executable),
 * so that an event names the holder as the kernel has it now. */
void pb_adopt_sync(struct pb_agent *a, struct pb_cred_meta *m);

#endif
