/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The ABI shared by the BPF programs and the agent: map keys and values,
 * events, counters and reasons. Every struct here crosses the kernel boundary,
 * so each has fixed-width fields, explicit padding and a size assertion. */
#ifndef PROCBIND_ABI_H
#define PROCBIND_ABI_H

#ifdef __bpf__
/* vmlinux.h already provides __u8 .. __u64. */
#else
#include <linux/types.h>
#endif

#define PB_COMM_LEN 16
#define PB_PATH_LEN 128
/* How many distinct credentials one process can hold. A process that opens
 * more is marked PB_PROC_OVERFLOW and fails closed (reason held_overflow). */
#define PB_MAX_HELD 8

/* Purpose binding limits, checked by the policy parser. Identities are bits
 * of a 64-bit mask; each list of destinations is scanned linearly by the
 * connect hook, so they stay short (use CIDRs and port ranges). */
#define PB_MAX_IDENTITIES 64
#define PB_MAX_RULES	  16 /* per scope, and for exempt and protected */
#define PB_MAX_EXES	  16 /* executable paths per identity */

/* Map sizes: procs defaults to kernel.pid_max, this when it cannot be read. */
#define PB_DEFAULT_MAX_PROCS 65536
#define PB_DEFAULT_MAX_CREDS 16384
#define PB_RINGBUF_BYTES     (1u << 22)
/* cgroups that match some identity, over two policy generations */
#define PB_DEFAULT_MAX_CGROUP_TAGS 32768

/* Times: every time in procbind is CLOCK_BOOTTIME in nanoseconds. The kernel
 * stamps a task's start with it (task->start_boottime), bpf_ktime_get_boot_ns()
 * reads it, and the agent reads it with clock_gettime(CLOCK_BOOTTIME). One
 * clock at one granularity is what makes a PID reuse always visible.
 *
 * The one exception: without a task iterator the agent seeds the processes
 * that predate it from /proc, whose start times are in USER_HZ ticks
 * (start_boottime / PB_TICK_NS, the same division the kernel does). Such a
 * record is marked PB_PROC_COARSE and holds the start rounded down to its
 * tick; the first hook that sees the process settles it to the nanosecond. */
#define PB_TICK_NS 10000000ULL /* 1 s / USER_HZ (100 on every Linux port we run on) */

/* Each enum below that events or metrics name is made from a list of
 * (value, name) pairs, so that a name stands beside its value and the agent's
 * table of names cannot fall out of step with the enum. */
#define PB_ENUM_ENTRY(e, name) e,

#define PB_MODES(X)                                                                                \
	X(PB_MODE_MONITOR, "monitor")                                                              \
	X(PB_MODE_ENFORCE, "enforce")
enum pb_mode { PB_MODES(PB_ENUM_ENTRY) PB_MODE_MAX };

#define PB_VERDICTS(X)                                                                             \
	X(PB_VERDICT_ALLOW, "allow")	 /* allowed, nothing wrong */                              \
	X(PB_VERDICT_DENY, "deny")	 /* denied: the syscall failed with EPERM */               \
	X(PB_VERDICT_MONITOR, "monitor") /* would have been denied; monitor mode let it through */
enum pb_verdict { PB_VERDICTS(PB_ENUM_ENTRY) PB_VERDICT_MAX };
_Static_assert(PB_MODE_MONITOR == 0 && PB_MODE_ENFORCE == 1 && PB_VERDICT_DENY == 1,
	       "values the pinned maps and events hold");

/* Why a decision failed, each with the name events and metrics use. PB_OK
 * is the only reason that allows; the order of checks is documented in
 * decision.h. One list: the enum and the agent's names are made from it. */
#define PB_REASONS(X)                                                                              \
	X(PB_OK, "ok")                                                                             \
	X(PB_R_FOREIGN_PID, "foreign_pid")	 /* minted for another process */                  \
	X(PB_R_PID_REUSED, "pid_reused")	 /* minted for this PID, but an earlier process */ \
	X(PB_R_FOREIGN_CGROUP, "foreign_cgroup") /* holder in another cgroup than the bound one */ \
	X(PB_R_EXE_CHANGED, "exe_changed")	 /* the bound process exec'd another binary */     \
	X(PB_R_EXPIRED, "expired")		 /* past its expiry */                             \
	X(PB_R_REVOKED, "revoked")		 /* revoked, or unknown to the kernel (closed) */  \
	X(PB_R_OWNER_EXITED, "owner_exited")	 /* inherited by a child, the owner is gone */     \
	X(PB_R_HELD_OVERFLOW, "held_overflow")	 /* holds more than the kernel can track */        \
	X(PB_R_OUT_OF_SCOPE, "out_of_scope")	 /* outside the scope of a held identity */        \
	X(PB_R_NO_CREDENTIAL, "no_credential")	 /* protected, caller holds no valid credential */ \
	X(PB_R_WRONG_IDENTITY, "wrong_identity") /* protected, held credentials of others */       \
	X(PB_R_UNTRACKED, "untracked")		 /* no record (map full), parent holds some */     \
	X(PB_R_TRACED, "traced") /* the bound process is being traced by another */                \
	X(PB_R_APPROVAL_MISSING, "approval_missing")	   /* gated: no approval for it */         \
	X(PB_R_APPROVAL_EXHAUSTED, "approval_exhausted")   /* gated: every use spent */            \
	X(PB_R_APPROVAL_EXPIRED, "approval_expired")	   /* gated: the approval expired */       \
	X(PB_R_APPROVAL_UNRECORDED, "approval_unrecorded") /* a use that no event could record */

enum pb_reason {
	PB_REASONS(PB_ENUM_ENTRY) PB_REASON_MAX,
};

/* pb_cred.flags */
#define PB_CRED_INHERIT_CHILDREN (1u << 0) /* forked children of the owner may use it */
#define PB_CRED_REVOKED		 (1u << 1)
/* Adopted: a file the pod already had (policy "adopt"), not a token procbind
 * minted. The node's own processes (the kubelet writing it) are not judged
 * at the file; owner.tgid 0 while no holder is known yet. */
#define PB_CRED_ADOPTED	   (1u << 2)
#define PB_CRED_HOLDER_EXE (1u << 3) /* holder: any process running exe_dev/ino */
/* The identity lets its bound process open and prove while another process
 * traces it (policy "allow_traced"; taken at mint). */
#define PB_CRED_ALLOW_TRACED (1u << 4)

/* pb_proc.flags */
#define PB_PROC_OVERFLOW (1u << 0) /* tried to hold more than PB_MAX_HELD credentials */
#define PB_PROC_SEEDED	 (1u << 1) /* created by the agent from a task walk, not by a hook */
#define PB_PROC_COARSE	 (1u << 2) /* seeded from /proc: start times known to the tick only */
#define PB_PROC_BOUND	 (1u << 3) /* a credential was minted for it (BPF-LSM guards its memory) */
/* cgroup_id is the process's cgroup now, not only at its last fork or exec:
 * set by the fork and exec hooks, cleared by the cgroup_attach_task hook
 * when the process moves (the file guard then reads the cgroup from /proc).
 * A record without it (seeded, or written before the move hook existed) is
 * never taken as live. */
#define PB_PROC_CGLIVE (1u << 4)

/* One process instance: its tgid and its group leader's start time
 * (start_boottime, ns). A PID is reused; the pair is not. Every struct that
 * names a process names it with this. */
struct pb_pkey {
	__u64 start_time;
	__u32 tgid;
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_pkey) == 16, "pb_pkey layout");

/* A destination a process was allowed to (struct pb_proc's dests[]). */
#define PB_KEEP_DESTS 8 /* a power of two */
struct pb_kept_dest {
	__u64 dig;   /* the destination's digest (connect.bpf.c); 0: an empty slot */
	__u64 until; /* its kept allow's end, CLOCK_MONOTONIC_COARSE ns; 0: none */
};
_Static_assert(sizeof(struct pb_kept_dest) == 16, "pb_kept_dest layout");

/* One record per process, keyed by tgid in map "procs". The hooks keep it:
 * fork creates it (copying what the parent holds), exec refreshes the
 * executable, exit of the last thread deletes it. start_time guards every use
 * against a record that outlived its process. */
struct pb_proc {
	struct pb_pkey self;
	struct pb_pkey parent; /* the process that forked this one (not the reaper) */
	__u64 exe_dev;	       /* kernel dev_t (MAJOR<<20|MINOR) of the executable's sb */
	__u64 exe_ino;
	__u64 cgroup_id; /* cgroup v2 id at the last fork/exec; connect reads it live */
	__u32 uid;
	__u32 flags;		 /* PB_PROC_* */
	__u32 nheld;		 /* slots claimed in held[]; > PB_MAX_HELD means overflow */
	__u32 tag_gen;		 /* policy generation that computed ident */
	__u64 held[PB_MAX_HELD]; /* credential ids; 0 = slot being written */
	__u64 ident;		 /* identity tag set at exec (pb_ident_id), 0 = none */
	__u64 exe_mask;		 /* identities (of tag_gen) whose executables it exec'd */
	__u64 allow_repeats;	 /* allowed connects counted, not reported */
	char comm[PB_COMM_LEN];
	/* The destinations of its last PB_KEEP_DESTS allow events: a connect
	 * allowed to one of them again is counted (allow_repeats), not
	 * reported. Each may carry an allow kept for it, answered without the
	 * decision while nothing it depended on changed: the epoch of map
	 * "fastpath", the cgroup, the slots claimed in held[], the asking
	 * thread (the ok_* fields, one set for all), and before the first
	 * expiry involved (at most a second). A write that changes what the
	 * process holds or runs sets ok_until 0, which voids every kept allow. */
	struct pb_kept_dest dests[PB_KEEP_DESTS];
	__u32 dest_next; /* the dests[] slot a new destination takes */
	__u32 _pad;
	__u64 ok_until; /* the latest kept allow's end (CLOCK_MONOTONIC_COARSE ns); 0: none */
	__u64 ok_cgroup;
	__u64 ok_task; /* the thread that was allowed (its task_struct) */
	__u32 ok_epoch;
	__u32 ok_nheld;
};
_Static_assert(sizeof(struct pb_proc) == 344, "pb_proc layout");

/* A credential, keyed by its 64-bit id in map "creds". Written only by the
 * agent (mint, revoke); read by the connect hook. */
struct pb_cred {
	struct pb_pkey owner; /* the bound process */
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
	__u64 expires; /* CLOCK_BOOTTIME ns; the credential is dead at >= expires */
	__u64 ident;   /* the identity it was minted for (pb_ident_id) */
	__u32 flags;   /* PB_CRED_* */
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_cred) == 64, "pb_cred layout");

/* Key of map "cred_files": the token file's inode. dev is the kernel's dev_t
 * encoding, as in inode->i_sb->s_dev. */
struct pb_file_key {
	__u64 dev;
	__u64 ino;
};
_Static_assert(sizeof(struct pb_file_key) == 16, "pb_file_key layout");

/* Map "agent_cfg", one element: the generation of the policy in force. Every
 * policy-dependent map is keyed by generation; a reload writes generation
 * g+1 beside g, then flips this one word, so each hook run sees exactly one
 * policy (it reads gen once). */
struct pb_config {
	__u32 gen;
	__u32 layout; /* PB_LAYOUT: what a new agent checks before adopting pinned maps */
};

/* Map "fastpath", one element, mmapable (the agent updates it with atomic
 * stores and adds): what lets most connects skip the decision.
 *  - flags: PB_FAST_PROTECTED while the policy in force has protected
 *    destinations; without it, a process that holds nothing is allowed
 *    anywhere, so its connect needs only map "holding".
 *  - epoch: bumped after every change a kept allow may depend on: a
 *    credential written or removed, a policy switch (by the agent), and the
 *    exit of a process a credential was minted for (by the exit hook: its
 *    children's inherited credentials die with it).
 *  - expiry: the earliest expiry of an identity in force (boot ns); a kept
 *    allow ends there at the latest.
 *  - hint: which ports and which leading address bytes the protected rules
 *    admit (decision.h, pb_hint_*). A destination outside either is no
 *    protected destination, so a process that holds nothing goes there on
 *    this map alone. During a switch it covers both policies. */
struct pb_prot_hint {
	__u64 ports[65536 / 64]; /* bit p: some protected rule admits port p */
	__u64 lead[2][256 / 64]; /* [IPv4, IPv6] bit b: ... the first address byte b */
};
struct pb_fast {
	__u32 epoch;
	__u32 flags;
	__u64 expiry;
	struct pb_prot_hint hint;
};
_Static_assert(sizeof(struct pb_fast) == 16 + 8192 + 64, "pb_fast layout");
#define PB_FAST_PROTECTED (1u << 0)
#define PB_FAST_ADOPT	  (1u << 1) /* some adopt entry has protect rules */

/* Map "holding": one byte per PID, 1 while the process of that tgid may hold
 * a credential (set before it first holds one, cleared when it exits). An
 * array of u64, 8 PIDs per element (byte tgid % 8 of element tgid / 8), sized
 * from kernel.pid_max at start and mmapable, so the agent sets a byte with
 * one store; a tgid past the end is looked up in procs as before. */
#define PB_HOLDING_PER_ELEM 8

/* Bumped whenever a struct or map in this file changes shape: a pinned map
 * of another layout is never adopted (procbindd --cleanup drops it). */
#define PB_LAYOUT 16
_Static_assert(sizeof(struct pb_config) == 8, "pb_config layout");

/* A destination: address words as the socket hook has them (network byte
 * order; IPv4 in addr[0], IPv4-mapped IPv6 normalised to IPv4), port in host
 * order, protocol (IPPROTO_TCP/UDP). */
struct pb_dest {
	__u32 addr[4];
	__u16 port;
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 proto;
};
_Static_assert(sizeof(struct pb_dest) == 20, "pb_dest layout");

/* A destination rule: (addr & mask) == net, port in [port_lo, port_hi],
 * protocol equal (0 = tcp and udp). */
struct pb_rule {
	__u32 net[4];
	__u32 mask[4];
	__u64 ident; /* protected rules: the identity that may reach it */
	__u16 port_lo;
	__u16 port_hi;
	__u8 family;
	__u8 proto;
	__u8 flags; /* PB_RULE_* */
	__u8 _pad;
};
_Static_assert(sizeof(struct pb_rule) == 48, "pb_rule layout");
/* A connect the rule admits needs, besides the credential, a live approval
 * for (credential, destination, protocol) (policy "requires_approval"). */
#define PB_RULE_APPROVAL (1u << 0)

/* Map "policies", keyed by generation: what the connect and exec hooks need
 * from the policy besides scopes and match tables. */
struct pb_kpolicy {
	__u32 mode; /* enum pb_mode */
	__u32 nident;
	__u32 nexempt;
	__u32 nprotected;
	__u32 prot_approval; /* protected rules (bit = index) that require an approval */
	__u32 _pad;
	__u64 need_cgroup; /* identities whose match has a cgroup part (bit = index) */
	__u64 need_exe;	   /* identities whose match has an executable part */
	__u64 ident[PB_MAX_IDENTITIES];
	struct pb_rule exempt[PB_MAX_RULES];
	struct pb_rule prot[PB_MAX_RULES];
};
_Static_assert(sizeof(struct pb_kpolicy) == 40 + 8 * 64 + 2 * 48 * 16, "pb_kpolicy layout");

/* Policy "adopt": files a pod already has, each bound to its rightful
 * process. At most PB_MAX_ADOPT entries, each with at most PB_MAX_ADOPT_RULES
 * "protect" destinations. */
#define PB_MAX_ADOPT	    16
#define PB_MAX_ADOPT_RULES  8
#define PB_MAX_ADOPTED	    4096 /* containers with an adopted file, node-wide */
#define PB_ADOPT_SUFFIX_LEN 96

/* Map "adopt_cg": a container's cgroup id -> what it adopted. In that
 * cgroup only a process entitled to credential cred_id reaches the protect
 * rules. Written by the agent when it binds the container. */
struct pb_adopt_cg {
	__u64 cred_id;
	__u32 nrules;
	__u32 _pad;
	struct pb_rule rules[PB_MAX_ADOPT_RULES];
};
_Static_assert(sizeof(struct pb_adopt_cg) == 16 + 48 * PB_MAX_ADOPT_RULES, "pb_adopt_cg layout");

/* Map "adopt_files": a volume (a filesystem of its own, carrying a
 * filesystem mark) and the path of the adopted file inside the kubelet's
 * timestamped directory -> the credential. A new inode there (a rotation)
 * is registered by the guard at its first open, the kubelet's write. */
struct pb_adopt_file_key {
	__u64 dev;
	char suffix[PB_ADOPT_SUFFIX_LEN];
};
_Static_assert(sizeof(struct pb_adopt_file_key) == 8 + PB_ADOPT_SUFFIX_LEN,
	       "pb_adopt_file_key layout");

/* Map "scopes": where holders of an identity may connect, per generation. */
struct pb_scope_key {
	__u64 ident;
	__u32 gen;
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_scope_key) == 16, "pb_scope_key layout");

struct pb_scope {
	__u64 expires; /* the identity's expiry, CLOCK_BOOTTIME ns */
	__u32 nrules;
	__u32 _pad;
	struct pb_rule rules[PB_MAX_RULES];
};
_Static_assert(sizeof(struct pb_scope) == 16 + 48 * 16, "pb_scope layout");

/* Map "approvals": what lets an approval-gated connect through (policy
 * "requires_approval"). Key: a credential and one exact destination (as
 * struct pb_dest: normalised address, port, family, protocol). Written by
 * the agent when it grants an approval (procbindctl approve); the connect
 * programs spend one use per allowed connect under the element's lock, so
 * two connects racing for the last use cannot both pass. An ended approval
 * (all used, expired) stays until its credential ends, so that the next
 * connect is told why; a revoked one is removed. */
#define PB_MAX_APPROVALS 4096
struct pb_approval_key {
	__u64 cred_id;
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 proto;
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_approval_key) == 32, "pb_approval_key layout");

struct pb_approval {
#ifdef __bpf__
	struct bpf_spin_lock lock;
#else
	__u32 lock; /* struct bpf_spin_lock: the kernel's (BPF_F_LOCK from user space) */
#endif
	__u32 uses; /* granted */
	__u32 used; /* spent; the kernel's only write */
	__u32 _pad;
	__u64 id;      /* the approval's id (what events and the trail name) */
	__u64 expires; /* CLOCK_BOOTTIME ns; no use at or after it */
};
_Static_assert(sizeof(struct pb_approval) == 32, "pb_approval layout");

/* Map "cgroup_tags": cgroup id -> mask of identities whose cgroup part
 * matches it, written by the agent (at load, and as cgroups appear). */
struct pb_cgtag_key {
	__u64 cgroup_id;
	__u32 gen;
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_cgtag_key) == 16, "pb_cgtag_key layout");

/* Map "exe_tags": the path exec'd (as the process named it) -> mask of
 * identities whose executable part lists it. */
struct pb_exetag_key {
	__u32 gen;
	__u32 _pad;
	char path[PB_PATH_LEN];
};
_Static_assert(sizeof(struct pb_exetag_key) == 8 + PB_PATH_LEN, "pb_exetag_key layout");

/* Per-CPU counters (map "counters"), indexed as below. Verdict × reason
 * counters come first, then operational ones. Every drop has a counter. */
/* The operational counters, after the verdict x reason ones, each with its
 * name; the enum and the agent's names are both made from this list. */
#define PB_COUNTERS(X)                                                                             \
	X(PB_CNT_EVENTS_LOST, "events_lost")	   /* ring buffer full: event dropped */           \
	X(PB_CNT_PROCS_FULL, "procs_full")	   /* a process record could not be made */        \
	X(PB_CNT_STALE_RECORD, "stale_record")	   /* record's start time did not match */         \
	X(PB_CNT_CRED_ACQUIRED, "cred_acquired")   /* a process acquired a credential (open) */    \
	X(PB_CNT_CRED_INHERITED, "cred_inherited") /* a child inherited credentials at fork */     \
	X(PB_CNT_NOCRED_CONNECT, "nocred_connect") /* connects by holders of nothing */            \
	X(PB_CNT_NO_RECORD, "no_record_connect")   /* connect by a process with no record */       \
	X(PB_CNT_ALLOW_REPEAT, "allow_repeat")	   /* allowed again to its last destination */     \
	X(PB_CNT_EXEMPT, "exempt_connect") /* holders to exempt destinations: not judged */        \
	X(PB_CNT_NO_POLICY, "no_policy")   /* policy generation missing (closed) */                \
	X(PB_CNT_TAGGED, "exec_tagged")	   /* execs tagged with an identity */                     \
	X(PB_CNT_OPEN_ALLOWED, "lsm_open_allowed") /* BPF-LSM: opened by one entitled to it */     \
	X(PB_CNT_OPEN_REFUSED, "lsm_refused") /* BPF-LSM: open, receive, mmap, ptrace refused */   \
	X(PB_CNT_EVENTS_SENT, "events_sent")  /* events put in the ring buffer */                  \
	X(PB_CNT_REFUSALS_FOLDED, "refusals_folded") /* refusals counted in map "refusals" */      \
	X(PB_CNT_FOLD_FULL, "refusals_fold_full") /* refusals reported whole: "refusals" full */   \
	X(PB_CNT_BUDGET_FOLDED, "budget_folded")  /* past its fair share: counted, not sent */

enum pb_counter {
	PB_CNT_VERDICT_BASE = 0,
	/* PB_CNT_VERDICT_BASE + verdict * PB_REASON_MAX + reason */
	PB_CNT_OPS_BASE = PB_VERDICT_MAX * PB_REASON_MAX,
	PB_CNT_OPS_BEFORE = PB_CNT_OPS_BASE - 1, /* so the first of the list is PB_CNT_OPS_BASE */
	PB_COUNTERS(PB_ENUM_ENTRY) PB_CNT_MAX,
};
_Static_assert(PB_CNT_EVENTS_LOST == PB_CNT_OPS_BASE, "operational counters follow the verdicts");

#define PB_COUNTER_VERDICT(v, r) (PB_CNT_VERDICT_BASE + (v)*PB_REASON_MAX + (r))

enum pb_event_type {
	PB_EV_CONNECT = 1, /* a connect/sendmsg decision by a credential holder */
	PB_EV_ACQUIRE = 2, /* a process opened a credential file */
	PB_EV_INHERIT = 3, /* a forked child inherited credentials */
	PB_EV_EXEC = 4,	   /* a credential holder or tagged process exec'd */
	PB_EV_EXIT = 5,	   /* a credential holder or tagged process exited */
	PB_EV_ANOMALY = 6, /* a kernel-side fault: full map, stale record, overflow */
	PB_EV_CGROUP = 7,  /* a cgroup v2 directory was created (the agent matches it) */
	PB_EV_FILE = 8,	   /* a credential file or bound process was reached (pb_file_event) */
	PB_EV_APPROVAL =
	    9, /* an approval-gated connect: a use spent, or refused (pb_approval_event) */
};

/* Every event starts with this header. */
struct pb_event_hdr {
	__u16 type; /* enum pb_event_type */
	__u16 size; /* bytes of the whole event */
	__u32 cpu;
	__u64 time; /* CLOCK_BOOTTIME ns */
};
_Static_assert(sizeof(struct pb_event_hdr) == 16, "pb_event_hdr layout");

/* The process an event is about, as the kernel saw it at that moment. */
struct pb_task_ref {
	struct pb_pkey proc;
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
	__u32 pid; /* the thread */
	__u32 ppid;
	__u32 uid;
	__u32 _pad;
	char comm[PB_COMM_LEN];
};
_Static_assert(sizeof(struct pb_task_ref) == 72, "pb_task_ref layout");

/* The process a credential was minted for, copied from the credential. */
struct pb_owner_ref {
	struct pb_pkey proc;
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
};
_Static_assert(sizeof(struct pb_owner_ref) == 40, "pb_owner_ref layout");

#define PB_HOOKS(X)                                                                                \
	X(PB_HOOK_NONE, "?")                                                                       \
	X(PB_HOOK_CONNECT4, "connect4")                                                            \
	X(PB_HOOK_CONNECT6, "connect6")                                                            \
	X(PB_HOOK_SENDMSG4, "sendmsg4")                                                            \
	X(PB_HOOK_SENDMSG6, "sendmsg6")
enum pb_hook { PB_HOOKS(PB_ENUM_ENTRY) PB_HOOK_MAX };
_Static_assert(PB_HOOK_CONNECT4 == 1 && PB_HOOK_SENDMSG6 == 4, "hook values events hold");

struct pb_connect_event {
	struct pb_event_hdr hdr;
	struct pb_task_ref task;
	struct pb_owner_ref owner; /* zero when reason is PB_OK or held_overflow */
	__u64 cred_id;		   /* the credential that decided; 0 if none */
	__u8 daddr[16];		   /* IPv4 in the first 4 bytes when family is AF_INET */
	__u16 dport;		   /* host byte order */
	__u16 family;		   /* AF_INET or AF_INET6 */
	__u8 protocol;		   /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 hook;		   /* enum pb_hook */
	__u8 verdict;		   /* enum pb_verdict */
	__u8 reason;		   /* enum pb_reason */
	__u32 mode;
	__u32 nheld;
	__u64 ident; /* out_of_scope: the identity; protected: the one required */
};
_Static_assert(sizeof(struct pb_connect_event) == 176, "pb_connect_event layout");

/* ACQUIRE: task opened the file of cred_id. INHERIT: task (the child) got
 * nheld credentials from its parent at fork; cred_id is the first. */
struct pb_cred_event {
	struct pb_event_hdr hdr;
	struct pb_task_ref task;
	__u64 cred_id;
	__u32 nheld;
	__s32 fd;
};
_Static_assert(sizeof(struct pb_cred_event) == 104, "pb_cred_event layout");

/* How a process reached a credential's bytes, and who saw it. */
#define PB_ACCESSES(X)                                                                             \
	X(PB_ACC_NONE, "?")                                                                        \
	X(PB_ACC_OPEN, "open")	     /* opened the token file */                                   \
	X(PB_ACC_READ, "read")	     /* read it through a descriptor (passed, taken, inherited) */ \
	X(PB_ACC_MMAP, "mmap")	     /* mapped it */                                               \
	X(PB_ACC_RECEIVE, "receive") /* received a descriptor of it (SCM_RIGHTS, pidfd_getfd) */   \
	X(PB_ACC_PTRACE,                                                                           \
	  "ptrace") /* ptrace, /proc/PID/mem, process_vm_readv of a bound process */               \
	X(PB_ACC_PROC_READ, "proc_read") /* read-mode access: /proc/PID/environ, maps, fd, ... */  \
	X(PB_ACC_RLIMIT, "rlimit")	 /* changed a bound process's resource limits (prlimit) */ \
	X(PB_ACC_SIGNAL, "signal")	 /* sent a bound process a core-dumping signal */          \
	X(PB_ACC_NOTIFY, "notify")	 /* put a fanotify/inotify mark on a credential file */
enum pb_access { PB_ACCESSES(PB_ENUM_ENTRY) PB_ACC_MAX };
_Static_assert(PB_ACC_OPEN == 1 && PB_ACC_PTRACE == 5 && PB_ACC_NOTIFY == 9,
	       "access values events hold");
/* Accesses to a bound process rather than to a credential's file. */
#define PB_ACC_IS_PROCESS(a)                                                                       \
	((a) == PB_ACC_PTRACE || (a) == PB_ACC_PROC_READ || (a) == PB_ACC_RLIMIT ||                \
	 (a) == PB_ACC_SIGNAL)

#define PB_SOURCES(X)                                                                              \
	X(PB_SRC_NONE, "?")                                                                        \
	X(PB_SRC_FANOTIFY, "fanotify") /* the guard's permission event */                          \
	X(PB_SRC_LSM, "lsm")	       /* a BPF-LSM program */
enum pb_source { PB_SOURCES(PB_ENUM_ENTRY) PB_SRC_MAX };

/* FILE: task reached credential cred_id (ptrace: the bound process of it)
 * by access, seen by source. verdict allow for an entitled open (the guard
 * reports opens, never allowed reads), deny when refused (EPERM), monitor
 * when monitor mode let a process that is not entitled through (it is then
 * recorded as a holder). owner is the credential's bound process. */
struct pb_file_event {
	struct pb_event_hdr hdr;
	struct pb_task_ref task;
	struct pb_owner_ref owner;
	__u64 cred_id;
	__u8 verdict; /* enum pb_verdict */
	__u8 reason;  /* enum pb_reason */
	__u8 access;  /* enum pb_access */
	__u8 source;  /* enum pb_source */
	__u32 mode;
	__u32 nheld; /* what the process holds after this (monitor: with this one) */
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_file_event) == 152, "pb_file_event layout");

/* APPROVAL: a connect the rule allowed for a credential, to a destination
 * that needs an approval: verdict allow with the use it spent (use of
 * uses), or the refusal (reason approval_*; use 0). Made before the use is
 * spent: a use no event can record is not spent (approval_unrecorded). */
struct pb_approval_event {
	struct pb_event_hdr hdr;
	struct pb_task_ref task;
	__u64 cred_id;	   /* the credential whose approval was looked up (0: none held) */
	__u64 approval_id; /* 0: none found */
	__u8 daddr[16];
	__u16 dport;
	__u16 family;
	__u8 protocol;
	__u8 hook;    /* enum pb_hook */
	__u8 verdict; /* enum pb_verdict */
	__u8 reason;  /* enum pb_reason */
	__u32 mode;
	__u32 use;  /* the number of this use (1 = the first) */
	__u32 uses; /* granted */
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_approval_event) == 144, "pb_approval_event layout");

/* Map "refusals" (hash, PB_FOLD_MAX): refusals folded at their source. The
 * first refusal of a (process, destination or credential, reason) by the
 * connect hooks, the LSM programs or the file guard is reported whole and
 * copied here; each repeat only adds to count and sets last. The agent
 * writes one refusals_folded record a second from what count gained (map
 * "refusals_seen": how much of count it has written, by the same key) and
 * one more after the process exits, then deletes both entries. Full map:
 * the refusal is reported whole (counter refusals_fold_full). So the full
 * events plus the folded counts are the refusals, exactly. */
#define PB_FOLD_MAX 16384
enum pb_fold_kind {
	PB_FOLD_CONNECT = 1, /* the connect hooks; what: the destination's digest */
	PB_FOLD_GUARD = 2,   /* the file guard; what: the credential id */
	PB_FOLD_LSM = 3,     /* the BPF-LSM programs; what: the credential id */
};
/* what == PB_FOLD_ANY: the events of a process past its fair share of the
 * ring buffer (below), whatever their destination or credential, one entry
 * per (process, kind, reason, hook or access). */
#define PB_FOLD_ANY (~0ULL)

/* A fair share of the ring buffer. While it holds more than half its bytes
 * unread, a process that has sent more than PB_FAIR_BUDGET connect or file
 * events in the present window (2^30 ns, about a second) of that pressure
 * has the rest folded as PB_FOLD_ANY: counted, its first reported whole. A
 * flood of distinct events from one process (a scan of ports with a stolen
 * token) then leaves the other half for every other process's first
 * events. Map "budget" (LRU hash of pb_pkey) counts, and only under that
 * pressure: a node whose agent keeps up pays nothing for it. */
#define PB_FAIR_BUDGET	64
#define PB_BUDGET_PROCS 4096
/* Map "refusals_any": the PB_FOLD_ANY series, apart from "refusals", so a
 * process past its share still folds when its many distinct refusals have
 * filled that one. Map "refusals_seen" holds the agent's counts of both. */
#define PB_FOLD_ANY_MAX	       8192
#define PB_BUDGET_WINDOW_SHIFT 30
struct pb_budget {
	__u64 window; /* boot ns >> PB_BUDGET_WINDOW_SHIFT */
	__u64 sent;   /* events sent in it */
};
_Static_assert(sizeof(struct pb_budget) == 16, "pb_budget layout");

struct pb_fold_key {
	struct pb_pkey proc;
	__u64 what;
	__u8 kind; /* enum pb_fold_kind */
	__u8 reason;
	__u8 access; /* PB_FOLD_CONNECT: the hook; else the access */
	__u8 _pad[5];
};
_Static_assert(sizeof(struct pb_fold_key) == 32, "pb_fold_key layout");
struct pb_fold {
	__u64 count; /* repeats counted, not reported (atomic adds) */
	__u64 last;  /* boot ns of the latest; the first is the event's hdr.time */
	union {
		struct pb_event_hdr hdr; /* hdr.time 0: still being written */
		struct pb_connect_event connect;
		struct pb_file_event file;
	};
};
_Static_assert(sizeof(struct pb_fold) == 16 + 176, "pb_fold layout");

/* Map "guard_state": who guards the credential files, and what the guard
 * did. Entries PB_GUARD_NOW and PB_GUARD_PREV name guard processes (start to
 * the tick; tgid 0: none), written by the agent: BPF-LSM lets them open the
 * files they are asked about, and during a hand-over both answer. Entry
 * PB_GUARD_COUNTS holds the guards' counters. Entry PB_GUARD_AGENT names the
 * agent, which marks the files for the guard's group and reads bound
 * processes in /proc: BPF-LSM lets it. */
enum { PB_GUARD_NOW, PB_GUARD_PREV, PB_GUARD_COUNTS, PB_GUARD_AGENT, PB_GUARD_SLOTS };
struct pb_guard_state {
	struct pb_pkey guard;
	__u64 answered; /* permission events answered */
	__u64 refused;	/* of those, refused */
	__u64 lost;	/* events it could not queue (queue full) */
};
_Static_assert(sizeof(struct pb_guard_state) == 40, "pb_guard_state layout");
#define PB_GUARD_QUEUE 16384 /* events the guard can queue while the agent is away */

/* Map "proc_names" (LRU hash, key tgid): what a process exec'd and with
 * which arguments, written by the exec hook for every exec and by the file
 * guard for a process it refuses (while it is blocked in its open), so an
 * event names a refused process that has exited by the time the agent
 * formats it (a sibling's cat, a curl refused at connect). args: argv as the
 * kernel keeps it, NUL-separated, cut at PB_NAME_ARGS. */
#define PB_NAME_EXE  256
#define PB_NAME_ARGS 256
#define PB_NAMES_MAX 16384
struct pb_name {
	__u64 start_time; /* the process's, as pb_proc.self.start_time */
	__u32 args_len;	  /* bytes of args used */
	__u32 _pad;
	char exe[PB_NAME_EXE];	 /* the path exec'd (NUL-terminated) */
	char args[PB_NAME_ARGS]; /* argv, NUL-separated */
};
_Static_assert(sizeof(struct pb_name) == 16 + PB_NAME_EXE + PB_NAME_ARGS, "pb_name layout");

/* EXEC and EXIT of a process that holds credentials. */
struct pb_proc_event {
	struct pb_event_hdr hdr;
	struct pb_task_ref task;
	__u64 old_exe_dev;
	__u64 old_exe_ino;
	__u32 nheld;
	__s32 exit_code;
	__u64 ident;		    /* the process's identity tag */
	__u64 allow_repeats;	    /* exit: allowed connects counted, not reported */
	char filename[PB_PATH_LEN]; /* exec: the path exec'd, bounded */
};
_Static_assert(sizeof(struct pb_proc_event) == 256, "pb_proc_event layout");

#define PB_ANOMALIES(X)                                                                            \
	X(PB_AN_NONE, "?")                                                                         \
	X(PB_AN_PROCS_FULL, "procs_full")                                                          \
	X(PB_AN_STALE_RECORD, "stale_record")                                                      \
	X(PB_AN_HELD_OVERFLOW, "held_overflow")
enum pb_anomaly { PB_ANOMALIES(PB_ENUM_ENTRY) PB_AN_MAX };
_Static_assert(PB_AN_PROCS_FULL == 1 && PB_AN_HELD_OVERFLOW == 3, "anomaly values events hold");

struct pb_anomaly_event {
	struct pb_event_hdr hdr;
	struct pb_task_ref task;
	__u64 arg;
	__u32 kind; /* enum pb_anomaly */
	__s32 err;
};
_Static_assert(sizeof(struct pb_anomaly_event) == 104, "pb_anomaly_event layout");

struct pb_cgroup_event {
	struct pb_event_hdr hdr;
	__u64 cgroup_id;
	__u32 level;
	__u32 _pad;
};
_Static_assert(sizeof(struct pb_cgroup_event) == 32, "pb_cgroup_event layout");

/* One process (group leader), from the task iterator or from /proc. */
struct pb_task_info {
	struct pb_pkey proc;
	struct pb_pkey parent; /* tgid: its parent (ppid) */
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
	__u32 uid;
	__u32 flags; /* PB_TI_* */
	char comm[PB_COMM_LEN];
};
#define PB_TI_COARSE (1u << 0) /* read from /proc: start times rounded down to PB_TICK_NS */
_Static_assert(sizeof(struct pb_task_info) == 80, "pb_task_info layout");

#endif /* PROCBIND_ABI_H */
