/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The purpose module's state (purpose/): the policy in force, its
 * generation, the cgroups still to be matched. Written by purpose/ only. */
#ifndef PB_PURPOSE_STATE_H
#define PB_PURPOSE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "util.h"

/* purpose/: the policy in force and the cgroups still to be matched. */
struct pb_purpose {
	struct pb_policy policy;
	uint32_t gen;		/* policy generation in force */
	uint64_t policy_loaded; /* boot ns */
	struct pb_pending *pending;
	size_t npending, cappending;
};

#endif
