/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The agent's state, which procbindd hands to every module: one part per
 * module, declared in that module's own header (FOLDER/FOLDER_state.h) and
 * written only by that module's functions; the modules above it read it.
 * This header only composes them. One agent per node. */
#ifndef PB_STATE_H
#define PB_STATE_H

#include "adopt_state.h"
#include "agent_state.h"
#include "creds_state.h"
#include "events_state.h"
#include "guard_state.h"
#include "kernel_state.h"
#include "procs_state.h"
#include "purpose_state.h"

struct pb_agent {
	struct pb_agent_conf conf;    /* agent/ (procbindd's flags) */
	struct pb_kernel kern;	      /* kernel/ */
	struct pb_guard guard;	      /* guard/ */
	struct pb_purpose purpose;    /* purpose/ */
	struct pb_procs procs;	      /* procs/ */
	struct pb_node_key key;	      /* creds/ */
	struct pb_creds creds;	      /* creds/ */
	struct pb_adoption adopt;     /* adopt/ */
	struct pb_sink sink;	      /* events/ */
	struct pb_drain drain;	      /* agent/ (the ring buffer's consumer) */
	struct pb_serve serve;	      /* agent/ (control and workload sockets) */
	struct pb_http http;	      /* agent/ (the metrics endpoint) */
	struct pb_policy_watch watch; /* agent/ (the policy file's watch) */
};

/* The mode policy p runs in here: --mode wins over the policy's. */
static inline unsigned int pb_mode_of(const struct pb_agent *a, const struct pb_policy *p)
{
	return a->conf.mode_override >= 0 ? (unsigned int)a->conf.mode_override : p->mode;
}

/* The mode in force. */
static inline unsigned int pb_mode_now(const struct pb_agent *a)
{
	return pb_mode_of(a, &a->purpose.policy);
}

#endif
