// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reload: the policy file is read again and installed as the next
 * generation beside the one in force, the switch is one word, and the old
 * generation goes. A policy that does not parse or install is rejected and
 * the old one stays. */
#include <errno.h>
#include <stdio.h>

#include "adopt.h"
#include "agent.h"
#include "creds.h"
#include "log.h"
#include "purpose.h"

int pb_reload(struct pb_agent *a, char *err, size_t errlen)
{
	struct pb_policy np;
	unsigned int revoked = 0;
	char why[512];
	int ret;

	pb_policy_defaults(&np);
	pb_watch_seen(a); /* these bytes are acted on: the watch does not again */
	ret = pb_policy_load(a->conf.policy_path, &np, err, errlen);
	if (ret) {
		a->watch.refused++;
		pb_purpose_emit(a, "policy_rejected", a->conf.policy_path, err, NULL, 0);
		pb_policy_free(&np);
		return ret;
	}
	if ((np.max_procs && np.max_procs != a->purpose.policy.max_procs) ||
	    np.max_creds != a->purpose.policy.max_creds)
		pb_warn("reload: limits changed; map sizes change only on restart");
	ret = pb_purpose_switch(a, &np, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "reload: %s: %s; the policy in force stays",
			 a->conf.policy_path, ret == -ENOMEM ? "out of memory" : why);
		a->watch.refused++;
		pb_purpose_emit(a, "policy_rejected", a->conf.policy_path, err, NULL, 0);
		pb_policy_free(&np);
		return ret;
	}
	pb_purpose_take(a, &np);
	/* A credential of an identity the policy no longer has is revoked: the
	 * kernel already denies it (no scope), this makes it say so. */
	for (size_t i = 0; i < a->creds.store.n; i++) {
		struct pb_cred_meta *m = &a->creds.store.v[i];

		if (m->died || m->adopt || pb_policy_identity(&a->purpose.policy, m->identity))
			continue;
		if (!pb_revoke_why(a, m->id, "identity_removed", why, sizeof(why)))
			revoked++;
	}
	a->watch.loaded++;
	pb_purpose_emit(a, "policy_loaded", a->conf.policy_path, NULL, &a->purpose.policy, revoked);
	pb_adopt_policy(a);
	return 0;
}
