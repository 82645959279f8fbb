/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process records for processes that predate the agent (or that the hooks
 * missed), written as the exec hook would have written them, tag included. */
#ifndef PB_SEED_H
#define PB_SEED_H

#include <stddef.h>

#include "state.h"

int pb_seed(struct pb_agent *a); /* records for every process that predates us */
/* Write a record for one walked process (tagged as at exec) unless the hooks
 * wrote one: 0, -EEXIST or -errno. Its exe path (or "") goes to exe. */
int pb_seed_one(struct pb_agent *a, const struct pb_task_info *ti, char *exe, size_t len);

#endif
