/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the credential module's files share (mint.c, life.c): not for the
 * rest of the agent, which goes through creds.h. */
#ifndef PB_CREDS_PRIV_H
#define PB_CREDS_PRIV_H

#include <stdint.h>

#include "state.h"

/* Something of a credential falls due at when (boot ns): the tick's full
 * pass runs from then. */
void pb_creds_due(struct pb_agent *a, uint64_t when);
/* Undo the kernel side of a credential (its entry, its file's). */
void pb_creds_unbind(struct pb_agent *a, uint64_t id, const struct pb_file_key *file);
/* What changed into the journal, durably. */
void pb_creds_flush(struct pb_agent *a);
/* Room for a live credential: the dead one that died first is forgotten.
 * 0, or -ENOSPC when every credential is live. */
int pb_cred_make_room(struct pb_agent *a);
/* The token file deleted or replaced: its inode is no longer a credential's. */
void pb_cred_check_file(struct pb_agent *a, struct pb_cred_meta *m);

#endif
