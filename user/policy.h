/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The policy file: the agent's mode, credential defaults and map limits,
 * parsed from YAML with every error reported as file:line:col: message. */
#ifndef PB_POLICY_H
#define PB_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct pb_policy {
	unsigned int mode;    /* enum pb_mode */
	uint64_t default_ttl; /* ns */
	uint64_t max_ttl;     /* ns; a mint asking for more is refused */
	int inherit_children; /* default for mint --inherit */
	uint32_t max_procs;   /* map sizes */
	uint32_t max_creds;
};

/* Fill p with the built-in defaults (enforce, 15m, 24h, none, 65536, 16384). */
void pb_policy_defaults(struct pb_policy *p);

/* Parse YAML text. On error returns -EINVAL and writes one line
 * "name:line:col: message" into err. name labels the text (a file name). */
int pb_policy_parse(const char *text, size_t len, const char *name, struct pb_policy *p, char *err,
		    size_t errlen);

/* Read and parse a file. Errors as above (-errno when it cannot be read). */
int pb_policy_load(const char *path, struct pb_policy *p, char *err, size_t errlen);

#endif
