/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The agent's state, which procbindd hands to every module: configuration,
 * the kernel objects, the policy in force, the node key, the credentials and
 * the event stream. One agent per node. Each module's functions are in the
 * header of its folder. */
#ifndef PB_STATE_H
#define PB_STATE_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "cred_store.h"
#include "journal.h"
#include "policy.h"
#include "procbind/abi.h"

struct procbind;
struct pb_audit;
struct bpf_link;
struct ring_buffer;

#define PB_MAX_LINKS 32


/* What procbindd was told: flags, or their defaults. */
struct pb_agent_conf {
	char policy_path[PATH_MAX];
	int mode_override; /* -1: take the policy's */
	char state_dir[PATH_MAX];
	char cred_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char workload_socket[PATH_MAX]; /* "" = none */
	char cgroup_root[PATH_MAX];
	char bpffs[PATH_MAX];
	char pin_dir[PATH_MAX];
	char node[64];
	char k8s_dir[PATH_MAX]; /* the kubelet's container log links */
	char audit_dir[PATH_MAX];
	char metrics_file[PATH_MAX]; /* "" = none */
	char metrics_addr[64];	     /* HOST:PORT for HTTP; "" = none */
	int seed_source;	     /* PB_SEED_*: how processes that predate the agent are found */
	int lsm_mode; /* PB_LSM_*: refuse foreign opens of token files with BPF-LSM */
	int file_guard;	  /* guard credential files with fanotify (default on) */
	int acquire_tp;	  /* the open(2) syscall tracepoints (default off: they tax every task) */
	int events_ocsf;  /* stdout events as OCSF (--events-format ocsf); the trail keeps JSON */
	uint64_t dead_retention; /* ns an ended credential is kept (default 1 h) */
};

/* kernel/: the BPF objects and what the probe chose. */
struct pb_kernel {
	struct procbind *skel;
	struct bpf_link *links[PB_MAX_LINKS];
	int nlinks;
	int cgroup_fd;
	int open_hooks;	      /* how many open tracepoints attached */
	int adopted;	      /* maps and links were taken over from a pinned, running state */
	uint32_t adopted_gen; /* the policy generation in force when adopted */
	struct ring_buffer *rb;
	uint64_t seeded;
	int walk_proc; /* walks read /proc: no task iterator, or --seed-from proc */
	int atomics;   /* BPF_ATOMIC with BPF_FETCH (5.12+): lock-free slot claims */
	int use_lsm;   /* lsm/file_open is loaded: foreign opens of token files fail */
	struct pb_fast *fast; /* map "fastpath", mapped */
	uint8_t *holding;     /* map "holding", mapped: one byte per PID */
	size_t nholding;      /* PIDs it covers */
	size_t holding_len;   /* bytes mapped */
};

/* guard/: the fanotify group every credential file is marked in, and the
 * guard process that answers its permission events. */
struct pb_guard {
	int fan_fd;    /* the group; -1 when the file guard is off */
	int pidfd;     /* the guard process this agent started; -1: none */
	int pid;
	int respawns;  /* guards started again after one died */
	struct pb_pkey old; /* the guard an earlier agent left running, until retired */
	uint64_t lost_reported; /* guard_state.lost already written as a gap */
};

/* purpose/: the policy in force and the cgroups still to be matched. */
struct pb_purpose {
	struct pb_policy policy;
	uint32_t gen;		/* policy generation in force */
	uint64_t policy_loaded; /* boot ns */
	struct pb_pending *pending;
	size_t npending, cappending;
};

/* creds/: the node key (Ed25519) and the credentials this agent minted. */
struct pb_node_key {
	unsigned char pk[32];
	unsigned char sk[64];
};

struct pb_creds {
	struct pb_cred_store store;
	struct pb_journal journal; /* STATE-DIR/creds.jsonl */
	uint64_t full; /* mints refused: credential map full */
	size_t sweep;	/* where the next tick's owner and file checks start */
	uint64_t due;	/* boot ns of the next expiry or end of retention (0: now) */
	uint64_t forgotten_early; /* dead credentials dropped before their
				   * retention ended, to make room for a mint */
};

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

/* events/: where every event goes. */
struct pb_sink {
	struct pb_audit *audit; /* the tamper-evident trail (NULL: stdout only) */
	uint64_t lost_reported; /* events_lost already written as a gap */
	uint64_t audit_errors_logged;
	struct pb_buf line; /* scratch for one JSON line */
	uint64_t events_out; /* lines written, the agent's own included */
	/* The kernel's events, each counted once: events_sent (kernel) =
	 * received once drained; received = recorded + folded + dropped. */
	uint64_t ev_received;  /* records read from the ring buffer */
	uint64_t ev_recorded;  /* ...that became a line of their own */
	uint64_t ev_folded;    /* ...counted in another line (an allowed connect
				* repeated: its exit record's allow_repeats) or
				* not a line (a new cgroup, matched silently) */
	uint32_t rb_budget;    /* records this drain may still take */
	uint64_t ev_dropped;   /* ...too short, of no known type, or not
				* formatted for want of memory (each logged) */
	FILE *out; /* event stream (stdout) */
};

/* The agent: one state per module, each written by its own module and read
 * by those above it. */
struct pb_agent {
	struct pb_agent_conf conf;
	struct pb_kernel kern;
	struct pb_guard guard;
	struct pb_purpose purpose;
	struct pb_node_key key;
	struct pb_creds creds;
	struct pb_adoption adopt;
	struct pb_sink sink;
};

enum { PB_SEED_AUTO, PB_SEED_ITER, PB_SEED_PROC };
enum { PB_LSM_AUTO, PB_LSM_ON, PB_LSM_OFF };

/* The mode policy p runs in here: --mode wins over the policy's. */
static inline unsigned int pb_mode_of(const struct pb_agent *a, const struct pb_policy *p)
{
	return a->conf.mode_override >= 0 ? (unsigned int)a->conf.mode_override : p->mode;
}

/* The mode in force. */
static inline unsigned int pb_mode_now(const struct pb_agent *a)
{
	return pb_mode_of(a, &a->purpose.policy);
}

#endif
