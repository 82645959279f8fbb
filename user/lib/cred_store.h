/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The credentials the agent minted, in memory: a dense array to walk, and an
 * index by credential id so that an event finds its credential in constant
 * time, however many are live. */
#ifndef PB_CRED_STORE_H
#define PB_CRED_STORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "procbind/abi.h"
#include "util.h"

/* What the agent remembers of a credential it minted; the kernel keeps the
 * binding itself (map creds). */
struct pb_cred_meta {
	uint64_t id;
	struct pb_cred bind;	 /* the value in map creds */
	struct pb_file_key file; /* the token file's inode (map cred_files) */
	char identity[PB_IDENTITY_LEN];
	char comm[PB_COMM_LEN];
	/* Heap strings the entry owns (NULL: none), set with pb_cred_meta_set:
	 * a credential costs its own bytes, not three PATH_MAX buffers (12 KiB
	 * each, 12 GiB for a million credentials). */
	char *exe;
	char *cgroup;
	char *path; /* token file; NULL once removed (adopted: as the container sees it) */
	/* An adopted file (policy "adopt"): its entry, and the pod as
	 * "namespace/pod" and the container's name, when known. The adopt
	 * module keeps these; expiry, owner exit and creds.jsonl skip them. */
	char *adopt;
	char *pod;
	char *container;
	uint32_t uid;
	uint64_t issued;   /* boot ns */
	uint64_t died;	   /* boot ns when it stopped being valid; 0 = live */
	const char *death; /* "expired", "revoked", "owner_exited" */
};

struct pb_cred_store {
	struct pb_cred_meta *v; /* v[0..n): no order */
	size_t n, cap;
	uint32_t *slots; /* linear probing: 1 + index into v, 0 = empty */
	size_t nslots;	 /* a power of two, at least twice cap */
};

/* Set a string of m to a copy of v (NULL or "": none): 0, or -ENOMEM (the
 * field is then none). */
int pb_cred_meta_set(char **field, const char *v);
/* Free the strings of a meta that is not in a store. */
void pb_cred_meta_clear(struct pb_cred_meta *m);
/* v, or "" for none: for printing */
static inline const char *pb_str(const char *v)
{
	return v ? v : "";
}

/* Room for one more credential: 0, or -ENOMEM (nothing changed). Pointers
 * into the store are invalid after a call that grew it. */
int pb_cred_store_reserve(struct pb_cred_store *s);
/* Add m (its id not yet in the store) after a successful reserve: the store
 * takes m's strings (m must not be cleared after). */
struct pb_cred_meta *pb_cred_store_add(struct pb_cred_store *s, const struct pb_cred_meta *m);
struct pb_cred_meta *pb_cred_store_find(const struct pb_cred_store *s, uint64_t id);
/* Remove v[i]; the last credential takes its place. */
void pb_cred_store_remove_at(struct pb_cred_store *s, size_t i);
void pb_cred_store_free(struct pb_cred_store *s);

#endif
