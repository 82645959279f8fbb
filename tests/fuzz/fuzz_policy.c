// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy parser (YAML), given any bytes: it parses or says where it
 * stopped, and what it accepts holds together: every identity can be found
 * by name and id, and the kernel's form of it can be built. */

#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_policy p;
	static struct pb_kpolicy k;
	char err[512] = "";

	if (pb_policy_parse((const char *)data, size, "fuzz", &p, err, sizeof(err))) {
		PB_CHECK(err[0]); /* a refusal always says why */
		return 0;
	}
	for (unsigned int i = 0; i < p.nident; i++) {
		const struct pb_identity *by_name = pb_policy_identity(&p, p.ident[i].name);

		PB_CHECK(by_name && !strcmp(by_name->name, p.ident[i].name));
		PB_CHECK(pb_policy_identity_by_id(&p, p.ident[i].id) != NULL);
	}
	/* An accepted adopt entry is whole: a name found again, an absolute
	 * path with no "..", a match that selects containers, a holder, and
	 * an identity that exists when one is named. */
	for (unsigned int i = 0; i < p.nadopt; i++) {
		const struct pb_adopt *ad = &p.adopt[i];

		PB_CHECK(pb_policy_adopt(&p, ad->name) == ad);
		PB_CHECK(ad->path[0] == '/' && !strstr(ad->path, "/../"));
		PB_CHECK(ad->match.ncgroups || ad->match.has_k8s);
		PB_CHECK(ad->holder == PB_HOLDER_MAIN || ad->holder_exe[0] == '/');
		PB_CHECK(!ad->identity[0] || pb_policy_identity_by_id(&p, ad->ident));
		PB_CHECK(ad->nprotect <= PB_MAX_ADOPT_RULES);
	}
	pb_policy_kernel(&p, p.mode, &k);
	pb_policy_free(&p);
	return 0;
}
