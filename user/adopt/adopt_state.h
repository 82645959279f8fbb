/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The adopt module's state (adopt/): the files pods already have, each
 * bound in one container. Written by adopt/ only. */
#ifndef PB_ADOPT_STATE_H
#define PB_ADOPT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "procbind/abi.h"
#include "util.h"

/* adopt/: the files pods already have, each bound in one container. */
struct pb_binding {
	uint64_t cgroup_id;
	uint64_t cred_id;
	char entry[PB_IDENTITY_LEN];	  /* the adopt entry */
	struct pb_file_key file;	  /* the file's inode now */
	uint64_t vol_dev;		  /* its volume, marked whole (0: the inode is marked) */
	char suffix[PB_ADOPT_SUFFIX_LEN]; /* the file inside the kubelet's directory */
};

struct pb_adoption {
	struct pb_binding *v;
	size_t n, cap;
	struct pb_pending *cand; /* cgroups still to be matched or bound */
	size_t ncand, capcand;
	uint64_t next_check; /* boot ns of the next pass over the bindings */
	uint64_t refused;    /* bindings refused (a file already bound elsewhere, a full map) */
};

#endif
