/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The policy file: the agent's mode, credential defaults, map limits and
 * purpose binding (identities, protected and exempt destinations), parsed
 * from YAML with every error reported as file:line:col: message. */
#ifndef PB_POLICY_H
#define PB_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "match.h"
#include "procbind/abi.h"
#include "util.h"

#define PB_MAX_CG_PATTERNS 16
#define PB_MAX_REQUESTS	   16 /* requests: entries per identity */
#define PB_MAX_APPROVERS   16
#define PB_METHOD_LEN	   16
#define PB_URL_LEN	   256

/* A request a proof may be asked for (policy "requests"): an exact method
 * and an exact URL, or a prefix when the URL ends in '*'. */
struct pb_request_rule {
	char method[PB_METHOD_LEN];
	char url[PB_URL_LEN];
	int requires_approval; /* a proof for it spends a use of an approval */
};

/* Who may approve (policy "approvers"): a name, an Ed25519 public key
 * (signed approvals are checked against it) and the identities the
 * approver may approve for (none listed: every identity). */
struct pb_approver {
	char name[PB_IDENTITY_LEN];
	unsigned char key[32];
	uint64_t idents; /* bit i: identity i of the policy; 0: any */
};

/* One identity: who is accountable for it, why it exists, until when, which
 * processes carry it (match) and where they may connect (scope). */
struct pb_identity {
	char name[PB_IDENTITY_LEN];
	uint64_t id; /* pb_ident_id(name): what the kernel stores */
	char owner[128];
	char purpose[256];
	time_t expires; /* wall clock, seconds since the epoch */
	uint64_t max_ttl;
	int inherit_children;
	int allow_traced; /* its bound process may open and prove while traced */

	/* match: every part given must match */
	char cgroups[PB_MAX_CG_PATTERNS][PB_PATH_LEN]; /* any of these globs */
	unsigned int ncgroups;
	int has_k8s; /* kubernetes selector given */
	char k8s_namespace[64];
	char k8s_pod[128]; /* glob */
	char k8s_container[64];
	char exes[PB_MAX_EXES][PB_PATH_LEN]; /* any of these paths */
	unsigned int nexes;

	struct pb_rule scope[PB_MAX_RULES];
	unsigned int nscope;

	struct pb_request_rule requests[PB_MAX_REQUESTS];
	unsigned int nrequests;
	int approvals_signed; /* "approvals: signed": only a listed approver's signature */
};

/* An adopted file: a credential the pod already has (a service-account
 * token, a mounted secret), bound to its rightful process in every
 * container the match selects. */
enum { PB_HOLDER_MAIN, PB_HOLDER_EXE };
struct pb_adopt {
	char name[PB_IDENTITY_LEN];
	char path[PB_PATH_LEN];	      /* absolute, as the container sees it */
	struct pb_identity match;     /* its cgroups and kubernetes parts only */
	int holder;		      /* PB_HOLDER_*: the container's main process, or */
	char holder_exe[PB_PATH_LEN]; /* ...any process running this (container path) */
	int inherit_children;
	char identity[PB_IDENTITY_LEN]; /* "": none; else scope and protected apply */
	uint64_t ident;
	struct pb_rule protect[PB_MAX_ADOPT_RULES]; /* only the holder reaches these */
	unsigned int nprotect;
};

struct pb_policy {
	unsigned int mode;    /* enum pb_mode */
	uint64_t default_ttl; /* ns */
	uint64_t max_ttl;     /* ns; a mint asking for more is refused */
	int inherit_children; /* default for mint --inherit */
	uint32_t max_procs;   /* map sizes; max_procs 0 = kernel.pid_max (the default) */
	uint32_t max_creds;

	struct pb_identity *ident; /* heap, nident entries; see pb_policy_free */
	unsigned int nident;
	struct pb_rule exempt[PB_MAX_RULES];
	unsigned int nexempt;
	struct pb_rule prot[PB_MAX_RULES]; /* .ident names who may reach it */
	unsigned int nprot;
	struct pb_adopt *adopt; /* heap, nadopt entries */
	unsigned int nadopt;
	struct pb_approver approvers[PB_MAX_APPROVERS];
	unsigned int napprovers;

	char version[33]; /* BLAKE2b-128 of the file's bytes, hex */
};

/* Fill p with the built-in defaults (enforce, 15m, 24h, none, 65536, 16384,
 * no identities). */
void pb_policy_defaults(struct pb_policy *p);
void pb_policy_free(struct pb_policy *p);

/* Parse YAML text. On error returns -EINVAL and writes one line
 * "name:line:col: message" into err. name labels the text (a file name).
 * *p is overwritten only on success, without freeing what it held; free
 * the result with pb_policy_free. */
int pb_policy_parse(const char *text, size_t len, const char *name, struct pb_policy *p, char *err,
		    size_t errlen);

/* Read and parse a file. Errors as above (-errno when it cannot be read). */
int pb_policy_load(const char *path, struct pb_policy *p, char *err, size_t errlen);

/* The 64-bit id the kernel keeps for an identity name (never 0). */
uint64_t pb_ident_id(const char *name);
const struct pb_identity *pb_policy_identity(const struct pb_policy *p, const char *name);
const struct pb_identity *pb_policy_identity_by_id(const struct pb_policy *p, uint64_t id);

/* The approver of that name, or NULL. */
const struct pb_approver *pb_policy_approver(const struct pb_policy *p, const char *name);
/* May approver ap approve for identity id (of policy p)? */
int pb_approver_may(const struct pb_policy *p, const struct pb_approver *ap,
		    const struct pb_identity *id);
/* The identity's first request rule for (method, url), or NULL. */
const struct pb_request_rule *pb_identity_request(const struct pb_identity *id,
						  const char *method, const char *url);

/* What the agent knows of a process when matching identities in userspace. */
struct pb_match_subject {
	const char *cgroup; /* path below the cgroup v2 root, "/..." */
	const char *exe;    /* path exec'd, or "" */
	const struct pb_k8s_ref *k8s;
	const struct pb_k8s_meta *meta; /* NULL when the kubelet's names are unknown */
};
const struct pb_adopt *pb_policy_adopt(const struct pb_policy *p, const char *name);
/* Does a cgroup path match one of the identity's cgroups patterns? None: 1. */
int pb_identity_cgroups_match(const struct pb_identity *id, const char *cgroup);
/* Does the cgroup part of identity i match (1/0)? No cgroup part: 1. */
int pb_identity_cgroup_match(const struct pb_identity *i, const struct pb_match_subject *s);
/* The identities a process matches, as the kernel's tag maps hold them: bit
 * i set when identity i has a cgroup part (cgroups or kubernetes) and it
 * matches s (cgroup_tags), or when exe is one of identity i's executables
 * (exe_tags). The tag itself is pb_tag_derive() (decision.h) over these,
 * in the kernel and here alike. */
uint64_t pb_policy_cgroup_mask(const struct pb_policy *p, const struct pb_match_subject *s);
uint64_t pb_policy_exe_mask(const struct pb_policy *p, const char *exe);
/* The policy as the kernel keeps it (map policies), in mode mode. */
void pb_policy_kernel(const struct pb_policy *p, uint32_t mode, struct pb_kpolicy *k);

#endif
