/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The agent's state and the functions each of its modules offers: loader
 * (BPF life cycle), mint (credentials), events (ring buffer -> JSON),
 * control (Unix socket). One agent per node. */
#ifndef PB_AGENT_H
#define PB_AGENT_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "policy.h"
#include "procbind/abi.h"

struct procbind;
struct pb_audit;
struct bpf_link;
struct ring_buffer;

#define PB_MAX_LINKS 16

/* What the agent remembers of a credential it minted; the kernel keeps the
 * binding itself (map creds). */
struct pb_cred_meta {
	uint64_t id;
	struct pb_cred bind;	 /* the value in map creds */
	struct pb_file_key file; /* the token file's inode (map cred_files) */
	char identity[PB_IDENTITY_LEN];
	char comm[PB_COMM_LEN];
	char exe[PATH_MAX];
	char cgroup[PATH_MAX];
	char path[PATH_MAX]; /* token file; "" once removed */
	uint32_t uid;
	uint64_t issued;   /* boot ns */
	uint64_t died;	   /* boot ns when it stopped being valid; 0 = live */
	const char *death; /* "expired", "revoked", "owner_exited" */
};

/* A cgroup matched later than it appeared: its Kubernetes names were not
 * known yet, or it had no name yet (unnamed: the mkdir hook runs before the
 * kernel makes the new directory visible, and a woken agent can be quicker). */
struct pb_pending {
	uint64_t cgroup_id;
	uint64_t since; /* boot ns */
	int unnamed;
};

struct pb_agent {
	/* configuration */
	struct pb_policy policy;
	char policy_path[PATH_MAX];
	int mode_override; /* -1: take the policy's */
	char state_dir[PATH_MAX];
	char cred_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char cgroup_root[PATH_MAX];
	char bpffs[PATH_MAX];
	char pin_dir[PATH_MAX];
	char node[64];
	char k8s_dir[PATH_MAX]; /* the kubelet's container log links */
	char audit_dir[PATH_MAX];
	char metrics_file[PATH_MAX]; /* "" = none */
	int seed_source;	     /* PB_SEED_*: how processes that predate the agent are found */
	int lsm_mode; /* PB_LSM_*: refuse foreign opens of token files with BPF-LSM */

	/* kernel side */
	struct procbind *skel;
	struct bpf_link *links[PB_MAX_LINKS];
	int nlinks;
	int cgroup_fd;
	int open_hooks;	      /* how many open tracepoints attached */
	int adopted;	      /* maps and links were taken over from a pinned, running state */
	uint32_t adopted_gen; /* the policy generation in force when adopted */
	struct ring_buffer *rb;
	uint64_t seeded;
	int walk_proc;		/* walks read /proc: no task iterator, or --seed-from proc */
	int atomics;		/* BPF_ATOMIC with BPF_FETCH (5.12+): lock-free slot claims */
	int use_lsm;		/* lsm/file_open is loaded: foreign opens of token files fail */
	uint32_t gen;		/* policy generation in force */
	uint64_t policy_loaded; /* boot ns */
	struct pb_pending *pending;
	size_t npending, cappending;

	/* node key (Ed25519) */
	unsigned char pk[32];
	unsigned char sk[64];

	/* credentials minted by this agent */
	struct pb_cred_meta *creds;
	size_t ncreds, capcreds;
	int creds_dirty;     /* creds.jsonl needs rewriting */
	uint64_t creds_full; /* mints refused: credential map full */

	struct pb_audit *audit; /* the tamper-evident trail (NULL: stdout only) */
	uint64_t lost_reported; /* events_lost already written as a gap */
	uint64_t audit_errors_logged;

	struct pb_buf line; /* scratch for one JSON line */
	uint64_t events_out;
	FILE *out; /* event stream (stdout) */
};

enum { PB_SEED_AUTO, PB_SEED_ITER, PB_SEED_PROC };
enum { PB_LSM_AUTO, PB_LSM_ON, PB_LSM_OFF };

/* The mode in force: --mode wins over the policy's. */
static inline unsigned int pb_mode_now(const struct pb_agent *a)
{
	return a->mode_override >= 0 ? (unsigned int)a->mode_override : a->policy.mode;
}

/* loader.c */
/* Open, size, load, attach, pin. Pinned maps and links of a running
 * procbind are adopted: maps reused, programs replaced in their links. */
int pb_loader_start(struct pb_agent *a);
/* Free; pins (and with them enforcement) stay. Accepts partial state. */
void pb_loader_stop(struct pb_agent *a);
/* Remove every pin under pin_dir: enforcement and its state go. */
int pb_loader_cleanup(const char *pin_dir);
/* Walk processes (tgid 0: all) with the task iterator, or from /proc when
 * walk_proc (start times rounded down to the tick, PB_TI_COARSE); cb returns
 * non-zero to stop. */
int pb_walk(struct pb_agent *a, uint32_t tgid, int (*cb)(const struct pb_task_info *ti, void *ctx),
	    void *ctx);
int pb_walk_one(struct pb_agent *a, uint32_t tgid, struct pb_task_info *out); /* -ESRCH */
int pb_seed(struct pb_agent *a); /* records for processes that predate us */
/* Write a record for one walked process (tagged as at exec) unless the hooks
 * wrote one: 0, -EEXIST or -errno. Its exe path (or "") goes to exe. */
int pb_seed_one(struct pb_agent *a, const struct pb_task_info *ti, char *exe, size_t len);
int pb_counters_read(struct pb_agent *a, uint64_t out[PB_CNT_MAX]);
int pb_map_count(int fd, size_t key_size, uint64_t *n);
int pb_map_fd(struct pb_agent *a, const char *name);

/* metrics.c: Prometheus text format for node_exporter's textfile collector */
int pb_metrics_write(struct pb_agent *a);

/* probe.c: 0 when every required kernel feature is there; a table to out */
int pb_probe(struct pb_agent *a, FILE *out);

/* mint.c */
int pb_key_load_or_create(struct pb_agent *a);
struct pb_mint_req {
	uint32_t pid;
	uint64_t ttl; /* ns; 0 = policy default */
	char identity[PB_IDENTITY_LEN];
	int inherit;	    /* -1 default, 0 none, 1 children */
	char out[PATH_MAX]; /* "" = credential directory */
	char audience[PB_IDENTITY_LEN];
};
/* On success fills *meta_out with the new credential. On error returns -errno
 * and a one-line message in err. */
int pb_mint(struct pb_agent *a, const struct pb_mint_req *req, struct pb_cred_meta **meta_out,
	    char *err, size_t errlen);
int pb_revoke(struct pb_agent *a, uint64_t id, char *err, size_t errlen);
/* Revoke, naming why the credential ended ("revoked", "identity_removed"). */
int pb_revoke_why(struct pb_agent *a, uint64_t id, const char *death, char *err, size_t errlen);
struct pb_cred_meta *pb_cred_find(struct pb_agent *a, uint64_t id);
void pb_creds_tick(struct pb_agent *a); /* expiry, owner exit, clean-up */
int pb_creds_save(struct pb_agent *a);	/* STATE-DIR/creds.jsonl */
int pb_creds_load(struct pb_agent *a);	/* after adopting pinned maps */

/* purpose.c: the policy in the kernel, identity tags, reload */
int pb_purpose_start(struct pb_agent *a, char *err, size_t errlen); /* generation 1 */
void pb_purpose_loaded(struct pb_agent *a);			    /* policy_loaded event */
int pb_purpose_install(struct pb_agent *a, const struct pb_policy *p, uint32_t gen, char *err,
		       size_t errlen);
int pb_purpose_activate(struct pb_agent *a, uint32_t gen);
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
/* Re-read the policy file and swap it in atomically, or keep the old one. */
int pb_reload(struct pb_agent *a, char *err, size_t errlen);

/* events.c */
int pb_events_handle(void *ctx, void *data, size_t size); /* ring_buffer callback */
void pb_emit_line(struct pb_agent *a, struct pb_buf *b);  /* one JSON line to the stream */
void pb_event_begin(struct pb_agent *a, struct pb_buf *b, const char *type, uint64_t boot_ns);
void pb_json_cred_meta(struct pb_agent *a, struct pb_buf *b, const char *key,
		       const struct pb_cred_meta *m);
/* Best-effort exe path of a live process, checked against dev+ino. */
int pb_exe_path(uint32_t tgid, uint64_t dev, uint64_t ino, char *out, size_t len);
void pb_cgroup_name(struct pb_agent *a, uint64_t id, char *out, size_t len);
/* Allowed connects: 1 if this process already had one to this destination
 * recorded (then it is counted); the count of a process, at its exit. */
int pb_dedup_seen(struct pb_agent *a, const struct pb_connect_event *e);
uint64_t pb_dedup_forget(struct pb_agent *a, uint32_t tgid, uint64_t start);

/* control.c */
int pb_control_listen(struct pb_agent *a);
void pb_control_serve_one(struct pb_agent *a, int listen_fd);

#endif
