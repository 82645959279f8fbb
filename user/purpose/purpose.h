/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The policy in the kernel: each policy is installed as a generation of the
 * tag, scope and policy maps and made current by one write; cgroups are
 * matched as they appear; identity tags are derived as the exec hook
 * derives them. */
#ifndef PB_PURPOSE_H
#define PB_PURPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* Install p as the next generation beside the one in force, make it
 * current with one write, then remove every other generation: at start-up
 * (after an adopted state's) and at each reload. On failure the generation
 * in force stays and err says why. */
int pb_purpose_switch(struct pb_agent *a, const struct pb_policy *p, char *err, size_t errlen);
/* At start: the policy file at path into the state, the process map's size
 * from pid_max unless the policy sets it. 0, or -errno and err. */
int pb_purpose_open(struct pb_agent *a, const char *path, char *err, size_t errlen);
/* A reload's policy, switched to (pb_purpose_switch), becomes the one in
 * force (np is taken; the map sizes stay those of the start). */
void pb_purpose_take(struct pb_agent *a, struct pb_policy *np);
void pb_purpose_stop(struct pb_agent *a);
void pb_purpose_loaded(struct pb_agent *a); /* the start's policy_loaded event */
int pb_purpose_install(struct pb_agent *a, const struct pb_policy *p, uint32_t gen, char *err,
		       size_t errlen);
int pb_purpose_activate(struct pb_agent *a, uint32_t gen, const struct pb_policy *p);
void pb_purpose_remove(struct pb_agent *a, uint32_t gen);
void pb_purpose_cgroup_added(struct pb_agent *a, uint64_t cgroup_id);
void pb_purpose_tick(struct pb_agent *a); /* retry cgroups awaiting the kubelet */
/* The identity a process with this exec-time cgroup and exec'd path carries
 * under the policy in force (0: none), as the exec hook computes it; the
 * executable part of the match goes to *exe_mask. */
uint64_t pb_purpose_tag(struct pb_agent *a, uint64_t cgroup_id, const char *exe, __u64 *exe_mask);
/* The tag of a process record, derived again from its exec-time inputs
 * with the cgroup matches the agent has now. */
uint64_t pb_purpose_proc_tag(struct pb_agent *a, const struct pb_proc *rec);
const char *pb_ident_name(struct pb_agent *a, uint64_t id, char *buf, size_t len);
/* A policy_loaded (error NULL, p the policy) or policy_rejected event. */
void pb_purpose_emit(struct pb_agent *a, const char *type, const char *path, const char *error,
		     const struct pb_policy *p, unsigned int revoked);

#endif
