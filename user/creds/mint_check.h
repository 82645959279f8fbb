/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the policy allows a mint request, decided before anything is read
 * from the process or written to the kernel: pure, unit-tested. */
#ifndef PB_MINT_CHECK_H
#define PB_MINT_CHECK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"

struct pb_mint_req {
	uint32_t pid;
	uint64_t ttl; /* ns; 0 = policy default */
	char identity[PB_IDENTITY_LEN];
	int inherit;	    /* -1 default, 0 none, 1 children */
	char out[PATH_MAX]; /* "" = credential directory */
	char audience[PB_IDENTITY_LEN];
	int no_file;	       /* the token goes back to the caller only (workload socket) */
	uint64_t exe_dev;      /* with exe_ino: bind to this executable instead of the */
	uint64_t exe_ino;      /* process's own (procbindctl run: what it will exec) */
	const char *exe_path;  /* that executable's path, for the record */
	const char *via;       /* "control" or "workload": in the credential_minted event */
	/* procbindctl run: the file holds this text, its %s the token, and a
	 * read-only descriptor of it, opened after the mark and before the
	 * first byte, goes to *handover_fd (the caller passes it on) */
	const char *handover;
	int *handover_fd;
};

/* What a valid request becomes. */
struct pb_mint_plan {
	const struct pb_identity *ident; /* in the policy checked */
	uint64_t ttl;			 /* ns, within the identity's max_ttl */
	int inherit;			 /* children may use it */
};

/* Check req against policy p at wall time now: the identity is named, valid,
 * in p and not expired; the TTL (or the default, capped by the identity's
 * max_ttl) fits; inheritance is allowed. 0, or -errno with one line in err:
 * -EINVAL, -ENOENT (no such identity), -EKEYEXPIRED, -EPERM. */
int pb_mint_check(const struct pb_policy *p, const struct pb_mint_req *req, time_t now,
		  struct pb_mint_plan *plan, char *err, size_t errlen);

/* When a credential issued at issued (boot ns) with this TTL dies: at the
 * earliest of its TTL and its identity's expiry (ident_expires, wall seconds;
 * now_real is wall ns at issue). Its process's exit ends it sooner. */
uint64_t pb_mint_expiry(uint64_t issued, uint64_t now_real, uint64_t ttl, time_t ident_expires);

/* An identity name: 1-63 characters of [A-Za-z0-9._-]. */
int pb_identity_valid(const char *s);

#endif
