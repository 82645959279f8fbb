// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy's side of minting: which requests an identity allows, and how
 * long their credentials live. The process's side (its tag, its cgroup, that
 * it is still the same process) is checked in mint.c against the kernel. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mint_check.h"
#include "util.h"

int pb_identity_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= PB_IDENTITY_LEN)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int pb_mint_check(const struct pb_policy *p, const struct pb_mint_req *req, time_t now,
		  struct pb_mint_plan *plan, char *err, size_t errlen)
{
	const struct pb_identity *ident;

	if (!req->pid)
		return pb_errf(err, errlen, -EINVAL, "mint: --pid is required");
	if (!req->identity[0])
		return pb_errf(err, errlen, -EINVAL,
			       "mint: --identity is required: every credential is minted for an "
			       "identity of the policy");
	if (!pb_identity_valid(req->identity))
		return pb_errf(err, errlen, -EINVAL,
			       "mint: identity '%s' must be 1-63 characters of [A-Za-z0-9._-]",
			       req->identity);
	ident = pb_policy_identity(p, req->identity);
	if (!ident) {
		const char *names[PB_MAX_IDENTITIES], *near;
		char list[512] = "";
		size_t off = 0;

		for (unsigned int i = 0; i < p->nident && i < PB_MAX_IDENTITIES; i++) {
			names[i] = p->ident[i].name;
			if (off < sizeof(list))
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							i ? ", " : "", names[i]);
		}
		near = pb_closest(req->identity, names, p->nident);
		return pb_errf(
		    err, errlen, -ENOENT,
		    "mint: identity '%s' is not in the policy in force (version %s)%s%s%s; "
		    "its identities: %s",
		    req->identity, p->version, near ? "; did you mean '" : "", near ? near : "",
		    near ? "'?" : "", p->nident ? list : "none");
	}
	if (ident->expires <= now) {
		char date[32];

		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&ident->expires));
		return pb_errf(err, errlen, -EKEYEXPIRED,
			       "mint: identity '%s' expired at %s (owner %s)", ident->name, date,
			       ident->owner);
	}
	plan->ident = ident;
	plan->ttl = req->ttl ? req->ttl
			     : (p->default_ttl < ident->max_ttl ? p->default_ttl : ident->max_ttl);
	if (plan->ttl > ident->max_ttl)
		return pb_errf(err, errlen, -EINVAL,
			       "mint: ttl exceeds identity '%s' max_ttl (%" PRIu64 "s)",
			       ident->name, (uint64_t)(ident->max_ttl / 1000000000ULL));
	/* The identity says whether children may ever use its credentials;
	 * credentials.inherit is the default when the mint does not say. */
	plan->inherit =
	    req->inherit < 0 ? p->inherit_children && ident->inherit_children : req->inherit;
	if (plan->inherit && !ident->inherit_children)
		return pb_errf(err, errlen, -EPERM,
			       "mint: identity '%s' does not allow inherit children", ident->name);
	return 0;
}

uint64_t pb_mint_expiry(uint64_t issued, uint64_t now_real, uint64_t ttl, time_t ident_expires)
{
	uint64_t ident_end = (uint64_t)ident_expires * 1000000000ULL;

	/* The identity's end in wall time, as boot time from now on. */
	if (ident_end <= now_real)
		return issued; /* it ended since the check: dead at birth, not alive */
	if (ident_end - now_real < ttl)
		return issued + (ident_end - now_real);
	return issued + ttl;
}
