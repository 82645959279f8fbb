// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel feature probe: what this kernel offers that procbind needs, and
 * what it will use. Run at every start (refusing with a clear message when
 * something required is missing) and alone with procbindd --probe. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "log.h"
#include "sysfs.h"

struct pb_feature {
	const char *name;
	int required;
	int ok;
	char detail[256];
};

static int pb_btf_has(struct btf *btf, const char *name, int kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) > 0;
}

static int pb_btf_member(struct btf *btf, const char *st, const char *member)
{
	const struct btf_type *t;
	const struct btf_member *m;
	int id;

	if (!btf || (id = btf__find_by_name_kind(btf, st, BTF_KIND_STRUCT)) <= 0)
		return 0;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return 1;
	return 0;
}

/* Does the kernel take BPF_ATOMIC | BPF_FETCH (5.12)? Load the smallest
 * program that uses it: an atomic fetch-add on the stack. */
static int pb_probe_atomics(void)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 0},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1},
	    {.code = BPF_STX | BPF_ATOMIC | BPF_DW,
	     .dst_reg = BPF_REG_10,
	     .src_reg = BPF_REG_1,
	     .off = -8,
	     .imm = BPF_ADD | BPF_FETCH},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Returns 0 when every required feature is there; prints a table to out. */
/* The features found, in the order they are shown. */
struct pb_features {
	struct pb_feature f[24];
	int n;
};

static void pb_feature_add(struct pb_features *fs, const char *name, int required, int ok,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void pb_feature_add(struct pb_features *fs, const char *name, int required, int ok,
			   const char *fmt, ...)
{
	struct pb_feature *f;
	va_list ap;

	if (fs->n >= (int)(sizeof(fs->f) / sizeof(fs->f[0])))
		return;
	f = &fs->f[fs->n++];
	f->name = name;
	f->required = required;
	f->ok = ok;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

/* What every agent needs: BTF, cgroup v2, the ring buffer, the connect
 * hooks, the life-cycle tracepoints. */
static void pb_probe_core(struct pb_agent *a, struct btf *btf, struct pb_features *fs)
{
	pb_feature_add(fs, "BTF", 1, btf != NULL, "/sys/kernel/btf/vmlinux%s",
		       btf ? "" : " missing: CONFIG_DEBUG_INFO_BTF=y is needed");
	pb_feature_add(fs, "cgroup v2", 1, a->conf.cgroup_root[0] != 0, "%s",
		       a->conf.cgroup_root[0] ? a->conf.cgroup_root
					      : "no cgroup2 mount in /proc/self/mountinfo");
	pb_feature_add(fs, "ring buffer", 1,
		       libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1,
		       "BPF_MAP_TYPE_RINGBUF (5.8+)");
	pb_feature_add(fs, "cgroup sock_addr", 1,
		       libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) == 1,
		       "connect4/6, sendmsg4/6 programs");
	pb_feature_add(fs, "tp_btf sched_process_*", 1,
		       pb_btf_has(btf, "btf_trace_sched_process_fork", BTF_KIND_TYPEDEF) &&
			   pb_btf_has(btf, "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF) &&
			   pb_btf_has(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF),
		       "process life cycle");
	pb_feature_add(fs, "tp_btf cgroup_mkdir/rmdir/attach_task", 1,
		       pb_btf_has(btf, "btf_trace_cgroup_mkdir", BTF_KIND_TYPEDEF) &&
			   pb_btf_has(btf, "btf_trace_cgroup_rmdir", BTF_KIND_TYPEDEF) &&
			   pb_btf_has(btf, "btf_trace_cgroup_attach_task", BTF_KIND_TYPEDEF),
		       "new cgroups matched as they appear; moves seen");
	pb_feature_add(fs, "task_struct.start_boottime", 1,
		       pb_btf_member(btf, "task_struct", "start_boottime"),
		       "process start times on CLOCK_BOOTTIME");
}

/* How credential files are kept: the fanotify guard, or the open
 * tracepoints (and their atomics) when asked for. */
static void pb_probe_files(struct pb_agent *a, struct pb_features *fs)
{
	int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	int err = errno;

	if (fan >= 0)
		close(fan);
	pb_feature_add(fs, "fanotify permission events", a->conf.file_guard, fan >= 0,
		       "FAN_OPEN_PERM, FAN_ACCESS_PERM: %s",
		       fan < 0		    ? strerror(err)
		       : a->conf.file_guard ? "every credential file guarded (opens and reads)"
					    : "not used (--file-guard off)");
	if (!a->conf.acquire_tp)
		return;
	pb_feature_add(
	    fs, "syscall tracepoints", 1,
	    !access("/sys/kernel/tracing/events/syscalls/sys_exit_openat", F_OK) ||
		!access("/sys/kernel/debug/tracing/events/syscalls/sys_exit_openat", F_OK) ||
		access("/sys/kernel/tracing/events", F_OK),
	    "sys_exit_open{,at,at2} (--acquire-tracepoints; every task pays)%s",
	    access("/sys/kernel/tracing/events", F_OK)
		? " (tracefs not mounted yet: checked at attach)"
		: "");
	/* Only the acquisition tracepoints claim slots in the kernel; on 5.10
	 * the probe's load of a fetching atomic trips a verifier WARN in the
	 * kernel log, so it is tried only when they are asked for. */
	a->kern.atomics = pb_probe_atomics();
	pb_feature_add(fs, "BPF atomics", 0, a->kern.atomics, "fetch-and-add (5.12+): %s",
		       a->kern.atomics ? "credential slots claimed lock-free"
				       : "credential slots claimed under a per-process map lock");
}

/* How processes that predate the agent are found. */
static void pb_probe_seed(struct pb_agent *a, struct btf *btf, struct pb_features *fs)
{
	int iter = pb_btf_has(btf, "bpf_iter__task", BTF_KIND_STRUCT);
	long hz = sysconf(_SC_CLK_TCK);

	a->kern.walk_proc =
	    a->conf.seed_source == PB_SEED_PROC || (!iter && a->conf.seed_source == PB_SEED_AUTO);
	pb_feature_add(fs, "task iterator", a->conf.seed_source == PB_SEED_ITER, iter,
		       "processes that predate the agent (5.8+)%s",
		       !a->kern.walk_proc ? ": used"
		       : iter		  ? ": not used (--seed-from proc)"
					  : "; /proc is used instead");
	/* /proc gives start times in USER_HZ ticks; the kernel settles a record
	 * to the nanosecond with PB_TICK_NS, so the two must agree. */
	if (a->kern.walk_proc)
		pb_feature_add(fs, "/proc start times", 1,
			       hz > 0 && 1000000000ULL / (unsigned long)hz == PB_TICK_NS,
			       "USER_HZ %ld: records of processes that predate the agent know "
			       "their start to the tick until a hook sees them",
			       hz);
}

/* What keeps a bound process's bytes in it: BPF-LSM, else Yama; and where
 * a core dump would go. */
static void pb_probe_hardening(struct pb_agent *a, struct btf *btf, struct pb_features *fs)
{
	char lsm[256] = "", pattern[128], why[256];
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	int active, scope = -1, file;

	if (f) {
		if (!fgets(lsm, sizeof(lsm), f))
			lsm[0] = 0;
		fclose(f);
		lsm[strcspn(lsm, "\n")] = 0;
	}
	active = strstr(lsm, "bpf") != NULL && pb_btf_has(btf, "bpf_lsm_file_open", BTF_KIND_FUNC);
	a->kern.use_lsm = active && a->conf.lsm_mode != PB_LSM_OFF;
	pb_feature_add(fs, "BPF-LSM", a->conf.lsm_mode == PB_LSM_ON, active, "%s: %s",
		       lsm[0] ? lsm : "/sys/kernel/security/lsm unreadable",
		       a->kern.use_lsm
			   ? "refused in the kernel, with or without an agent: foreign opens, "
			     "receives and maps of token files, ptrace of bound processes"
		       : a->conf.lsm_mode == PB_LSM_OFF
			   ? "not used (--lsm off)"
			   : "not active: descriptors passed or taken, mmap and ptrace of bound "
			     "processes are not refused (kernel.yama.ptrace_scope below)");
	/* Without BPF-LSM, Yama is what keeps a sibling out of a bound
	 * process's memory: 1 limits ptrace (and /proc/PID/mem,
	 * process_vm_readv, pidfd_getfd) to descendants, which a kubectl exec
	 * shell is not. */
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	pb_feature_add(
	    fs, "kernel.yama.ptrace_scope", 0, scope >= 1, "%s%s",
	    scope < 0	 ? "Yama not present"
	    : scope == 0 ? "0: any process of the same uid may read a bound process's memory"
	    : scope == 1 ? "1: only ancestors may attach (a sibling or an exec'd shell may not)"
	    : scope == 2 ? "2: only CAP_SYS_PTRACE may attach"
			 : "3: no attach at all",
	    a->kern.use_lsm ? " (BPF-LSM refuses attach to bound processes anyway)" : "");
	file = pb_core_pattern(pattern, sizeof(pattern), why, sizeof(why));
	pb_feature_add(fs, "kernel.core_pattern", 0, file == 1, "%s: %s", pattern, why);
}

/* The table on out (when given), each missing requirement logged: how many
 * are missing. */
static int pb_probe_report(const struct pb_features *fs, FILE *out)
{
	struct utsname u;
	int missing = 0;

	uname(&u);
	if (out) {
		fprintf(out, "procbind kernel probe: %s %s\n", u.sysname, u.release);
		for (int i = 0; i < fs->n; i++)
			fprintf(out, "  %-28s %-9s %s\n", fs->f[i].name,
				fs->f[i].ok	    ? "yes"
				: fs->f[i].required ? "MISSING"
						    : "no",
				fs->f[i].detail);
	}
	for (int i = 0; i < fs->n; i++)
		if (fs->f[i].required && !fs->f[i].ok) {
			missing++;
			pb_error("probe: %s is required and missing: %s", fs->f[i].name,
				 fs->f[i].detail);
		}
	if (out && missing)
		fprintf(out, "result: cannot run (%d required feature%s missing)\n", missing,
			missing == 1 ? "" : "s");
	else if (out)
		fprintf(out, "result: every required feature is present\n");
	return missing;
}

/* Can this process load and attach BPF at all? 1, or 0 with the
 * capabilities it lacks named in why. Without them every check below
 * fails, whatever the kernel has. */
int pb_privileged(char *why, size_t len)
{
	static const struct {
		int cap;
		const char *name;
	} caps[] = {
	    {21, "CAP_SYS_ADMIN"}, {12, "CAP_NET_ADMIN"}, {39, "CAP_BPF"}, {38, "CAP_PERFMON"}};
	unsigned long long eff = 0;
	char line[256];
	size_t off = 0;
	FILE *f = fopen("/proc/self/status", "re");
	int ok = 1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	why[0] = 0;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		int have = !!(eff & (1ULL << caps[i].cap));

		/* CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON (before 5.8 it
		 * is the only way) */
		if (have || (caps[i].cap >= 38 && (eff & (1ULL << 21))))
			continue;
		ok = 0;
		if (off < len)
			off += (size_t)snprintf(why + off, len - off, "%s%s", off ? ", " : "",
						caps[i].name);
	}
	return ok;
}

int pb_probe(struct pb_agent *a, FILE *out)
{
	static struct pb_features fs; /* large: not on the stack */
	struct btf *btf;
	char why[128];
	int missing;

	if (!pb_privileged(why, sizeof(why))) {
		struct utsname u;

		uname(&u);
		if (out)
			fprintf(
			    out,
			    "procbind kernel probe: %s %s\n"
			    "  not privileged: this process (uid %u) lacks %s, and without them no "
			    "BPF feature can be tried\n"
			    "result: cannot tell what this kernel offers: run procbindd --probe as "
			    "root (or with the capabilities docs/operator.md lists)\n",
			    u.sysname, u.release, (unsigned int)geteuid(), why);
		return -EPERM;
	}
	btf = btf__load_vmlinux_btf();

	if (libbpf_get_error(btf))
		btf = NULL;
	fs.n = 0;
	pb_probe_core(a, btf, &fs);
	pb_probe_files(a, &fs);
	pb_probe_seed(a, btf, &fs);
	pb_probe_hardening(a, btf, &fs);
	missing = pb_probe_report(&fs, out);
	btf__free(btf);
	return missing ? -ENOTSUP : 0;
}
