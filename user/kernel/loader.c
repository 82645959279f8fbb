// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* BPF life cycle: open the skeleton, size the maps, load, attach the hooks,
 * pin maps and links, and walk the tasks (task iterator or /proc). procbindd
 * attaches the hooks before procs/ seeds from a walk, so no process falls
 * between the two. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "lock.h"
#include "log.h"
#include "sysfs.h"
#include "procbind.skel.h"

#define BPF_FS_MAGIC  0xcafe4a11
#define TRACEFS_MAGIC 0x74726163

static int pb_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !pb_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int pb_link_add(struct pb_agent *a, struct bpf_link *l, const char *what)
{
	int err = libbpf_get_error(l);

	if (err)
		return pb_err(err, "loader: attach %s: %s", what, strerror(-err));
	if (a->kern.nlinks >= PB_MAX_LINKS) {
		bpf_link__destroy(l);
		return pb_err(-E2BIG, "loader: attach %s: more than %d links", what, PB_MAX_LINKS);
	}
	a->kern.links[a->kern.nlinks++] = l;
	return 0;
}

int pb_kernel_lock_pins(struct pb_agent *a, pid_t *holder)
{
	*holder = 0;
	if (a->kern.pin_lock >= 0)
		return 0;
	if (mkdir(a->conf.pin_dir, 0700) && errno != EEXIST)
		return -errno;
	return pb_lock_take(a->conf.pin_dir, 1, &a->kern.pin_lock, holder);
}

/* Pin every map that is not pinned yet (adopted ones already are). */
static int pb_pin_maps(struct pb_agent *a)
{
	struct bpf_map *m;
	char path[PATH_MAX];

	bpf_object__for_each_map(m, a->kern.skel->obj)
	{
		if (bpf_map__is_internal(m))
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->conf.pin_dir, bpf_map__name(m));
		if (!access(path, F_OK))
			continue;
		if (bpf_map__pin(m, path))
			return pb_err(-errno, "loader: pin %s: %m", path);
	}
	return 0;
}

/* Map "holding" covers every PID kernel.pid_max allows (at least the
 * default's): one byte each, 8 per element. */
static __u32 pb_holding_entries(void)
{
	uint32_t pid_max = pb_pid_max();

	if (pid_max < PB_DEFAULT_MAX_PROCS)
		pid_max = PB_DEFAULT_MAX_PROCS;
	return (pid_max + PB_HOLDING_PER_ELEM - 1) / PB_HOLDING_PER_ELEM;
}

static size_t pb_fast_len(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (sizeof(struct pb_fast) + page - 1) / page * page;
}

/* Map the fast path's maps into the agent: it writes them with plain
 * atomic stores, which a lookup-modify-update through the syscall could not
 * do without losing a hook's concurrent write. */
static int pb_fast_map(struct pb_agent *a)
{
	struct procbind *s = a->kern.skel;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)bpf_map__max_entries(s->maps.holding) * sizeof(__u64);
	void *p;

	len = (len + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(s->maps.holding), 0);
	if (p == MAP_FAILED)
		return pb_err(-errno, "loader: map %s: %m", "holding");
	a->kern.holding = p;
	a->kern.holding_len = len;
	a->kern.nholding = (size_t)bpf_map__max_entries(s->maps.holding) * PB_HOLDING_PER_ELEM;
	p = mmap(NULL, pb_fast_len(), PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(s->maps.fastpath), 0);
	if (p == MAP_FAILED)
		return pb_err(-errno, "loader: map %s: %m", "fastpath");
	a->kern.fast = p;
	return 0;
}

void pb_fast_bump(struct pb_agent *a)
{
	if (a->kern.fast)
		__atomic_fetch_add(&a->kern.fast->epoch, 1, __ATOMIC_SEQ_CST);
}

void pb_fast_widen(struct pb_agent *a, const struct pb_prot_hint *h, uint32_t flags)
{
	struct pb_fast *f = a->kern.fast;

	if (!f)
		return;
	for (size_t i = 0; i < sizeof(h->ports) / sizeof(h->ports[0]); i++)
		if (h->ports[i])
			__atomic_fetch_or(&f->hint.ports[i], h->ports[i], __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 4; j++)
			if (h->lead[i][j])
				__atomic_fetch_or(&f->hint.lead[i][j], h->lead[i][j],
						  __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&f->flags, flags, __ATOMIC_SEQ_CST);
}

void pb_fast_policy(struct pb_agent *a, const struct pb_prot_hint *h, uint32_t flags,
		    uint64_t expiry)
{
	struct pb_fast *f = a->kern.fast;

	if (!f)
		return;
	__atomic_store_n(&f->expiry, expiry, __ATOMIC_SEQ_CST);
	__atomic_store_n(&f->flags, flags, __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < sizeof(h->ports) / sizeof(h->ports[0]); i++)
		if (f->hint.ports[i] != h->ports[i])
			__atomic_store_n(&f->hint.ports[i], h->ports[i], __ATOMIC_SEQ_CST);
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 4; j++)
			__atomic_store_n(&f->hint.lead[i][j], h->lead[i][j], __ATOMIC_SEQ_CST);
	pb_fast_bump(a);
}

/* Every BPF program running now has returned once this does: an update
 * of a map-in-map waits for an RCU grace period before it returns (the
 * kernel's own guarantee to user space that no non-sleepable program still
 * sees the value before), and our hooks run under RCU. A throwaway array of
 * maps is enough. Without one (memory, or a kernel that refuses it), a
 * pause far longer than any decision. */
void pb_kernel_quiesce(void)
{
	static int warned;
	int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pb_quiesce_in", 4, 4, 1, NULL);
	LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);
	int outer = inner < 0
			? inner
			: bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pb_quiesce", 4, 4, 1, &o);
	__u32 zero = 0;
	int ret = outer < 0 ? outer : bpf_map_update_elem(outer, &zero, &inner, BPF_ANY);

	if (ret) {
		if (!warned++)
			pb_warn("loader: cannot wait for running hooks (map-in-map: %s); "
				"pausing 100 ms instead",
				strerror(errno));
		usleep(100000);
	}
	if (outer >= 0)
		close(outer);
	if (inner >= 0)
		close(inner);
}

/* Take over the maps a running procbind pinned: same layout, same shapes,
 * or a clear refusal. Returns 1 when adopted, 0 when there is nothing to
 * adopt, -errno on refusal. Map sizes follow the pinned maps. */
static int pb_adopt_maps(struct pb_agent *a)
{
	struct bpf_map *m;
	char path[PATH_MAX];
	struct pb_config cfg = {0};
	__u32 zero = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/agent_cfg", a->conf.pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : pb_err(-errno, "loader: open pinned %s: %m", path);
	if (bpf_map_lookup_elem(fd, &zero, &cfg) || cfg.layout != PB_LAYOUT) {
		close(fd);
		return pb_err(-EPROTO,
			      "loader: %s holds the state of a procbind with map layout %u; this "
			      "one has layout %u and cannot adopt it. Enforcement by the old "
			      "programs continues; run procbindd --cleanup to remove it (its "
			      "credentials stop being enforced), then start again",
			      a->conf.pin_dir, cfg.layout, PB_LAYOUT);
	}
	close(fd);
	bpf_object__for_each_map(m, a->kern.skel->obj)
	{
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);

		if (bpf_map__is_internal(m))
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->conf.pin_dir, bpf_map__name(m));
		fd = bpf_obj_get(path);
		if (fd < 0)
			return pb_err(-EPROTO,
				      "loader: pinned state in %s lacks map %s; run "
				      "procbindd --cleanup",
				      a->conf.pin_dir, bpf_map__name(m));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != (__u32)bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		    info.value_size != bpf_map__value_size(m)) {
			close(fd);
			return pb_err(
			    -EPROTO,
			    "loader: pinned map %s has another shape than this "
			    "procbind's (type %u key %u value %u); run procbindd --cleanup",
			    path, info.type, info.key_size, info.value_size);
		}
		if (info.max_entries != bpf_map__max_entries(m)) {
			if (m == a->kern.skel->maps.procs || m == a->kern.skel->maps.creds ||
			    m == a->kern.skel->maps.cred_files)
				pb_warn("loader: %s keeps its %u entries (limits change only after "
					"--cleanup)",
					bpf_map__name(m), info.max_entries);
			bpf_map__set_max_entries(m, info.max_entries);
		}
		if (bpf_map__reuse_fd(m, fd)) {
			int err = -errno;

			close(fd);
			return pb_err(err, "loader: reuse %s: %s", path, strerror(-err));
		}
		close(fd); /* reuse_fd keeps its own */
	}
	a->kern.adopted_gen = cfg.gen;
	return 1;
}

/* Attach prog, or take over the link a running procbind pinned for it: a
 * cgroup link gets the new program in place (BPF_LINK_UPDATE, no gap); a
 * tracepoint link cannot be updated, so the new one is attached before the
 * old one goes (both run for a moment; their work is idempotent). */
static struct bpf_link *pb_attach_pinned(struct pb_agent *a, struct bpf_program *prog,
					 struct bpf_link *(*attach)(struct pb_agent *a,
								    struct bpf_program *p))
{
	char path[PATH_MAX];
	struct bpf_link *old, *l;

	snprintf(path, sizeof(path), "%s/link_%s", a->conf.pin_dir, bpf_program__name(prog));
	old = access(path, F_OK) ? NULL : bpf_link__open(path);
	if (old && !libbpf_get_error(old)) {
		if (!bpf_link__update_program(old, prog))
			return old;
		l = attach(a, prog);
		if (libbpf_get_error(l)) {
			bpf_link__disconnect(old); /* keep the old one enforcing */
			bpf_link__destroy(old);
			return l;
		}
		bpf_link__unpin(old);
		bpf_link__destroy(old);
	} else {
		l = attach(a, prog);
		if (libbpf_get_error(l))
			return l;
	}
	if (bpf_link__pin(l, path))
		pb_warn("loader: pin %s: %m (the hook stops with this agent)", path);
	return l;
}

/* Remove the pinned links whose names start with prefix, except the
 * connect hooks' (cgroup links, never optional). */
static void pb_unpin_links(struct pb_agent *a, const char *prefix, const char *what)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(a->conf.pin_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) ||
		    !strncmp(de->d_name, "link_pb_guard_connect", 21) ||
		    !strncmp(de->d_name, "link_pb_guard_sendmsg", 21))
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->conf.pin_dir, de->d_name);
		if (!unlink(path))
			n++;
	}
	closedir(d);
	if (n)
		pb_info("loader: removed %u %s links an earlier agent pinned", n, what);
}

static struct bpf_link *pb_attach_plain(struct pb_agent *a, struct bpf_program *p)
{
	(void)a;
	return bpf_program__attach(p);
}

static struct bpf_link *pb_attach_cg(struct pb_agent *a, struct bpf_program *p)
{
	return bpf_program__attach_cgroup(p, a->kern.cgroup_fd);
}

int pb_loader_cleanup(const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(pin_dir);

	if (!d)
		return errno == ENOENT ? 0 : pb_err(-errno, "cleanup: open %s: %m", pin_dir);
	/* Links first: the hooks detach; then the maps are freed. */
	for (int pass = 0; pass < 2; pass++) {
		rewinddir(d);
		while ((de = readdir(d))) {
			int is_link = !strncmp(de->d_name, "link_", 5);

			if (de->d_name[0] == '.' || is_link != !pass)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name) <
				(int)sizeof(path) &&
			    !unlink(path))
				n++;
		}
	}
	closedir(d);
	if (rmdir(pin_dir))
		return pb_err(-errno, "cleanup: remove %s: %m", pin_dir);
	pb_info("cleanup: removed %u pins and %s; procbind no longer enforces", n, pin_dir);
	return 0;
}

/* The BPF-LSM programs, loaded and attached only where the probe found
 * BPF-LSM active, and the hook each refuses at. */
static const char *const pb_lsm_hooks[] = {
    "lsm/file_open",	  "lsm/file_receive", "lsm/mmap_file",	"lsm/ptrace_access_check",
    "lsm/task_setrlimit", "lsm/task_kill",    "lsm/path_notify"};
#define PB_NLSM (sizeof(pb_lsm_hooks) / sizeof(pb_lsm_hooks[0]))

static struct bpf_program *pb_lsm_prog(struct procbind *s, size_t i)
{
	struct bpf_program *p[] = {s->progs.pb_guard_file_open, s->progs.pb_guard_file_receive,
				   s->progs.pb_guard_mmap_file, s->progs.pb_guard_ptrace,
				   s->progs.pb_guard_setrlimit, s->progs.pb_guard_kill,
				   s->progs.pb_guard_notify};
	_Static_assert(sizeof(p) / sizeof(p[0]) == PB_NLSM, "a hook for every program");

	return p[i];
}

/* Open the skeleton, choose its programs, size and adopt its maps, load. */
static int pb_open_load(struct pb_agent *a, int *load_failed)
{
	int acq = a->conf.acquire_tp;
	struct procbind *s;
	int err;

	*load_failed = 0;
	s = procbind__open();
	if (!s)
		return pb_err(-errno, "loader: open BPF object: %m");
	a->kern.skel = s;
	/* Without a task iterator the walks read /proc (pb_probe decided). */
	bpf_program__set_autoload(s->progs.pb_walk_tasks, !a->kern.walk_proc);
	for (size_t i = 0; i < PB_NLSM; i++)
		bpf_program__set_autoload(pb_lsm_prog(s, i), a->kern.use_lsm);
	/* The acquisition tracepoints only on request (--acquire-tracepoints);
	 * they come in two builds, and pb_probe chose one. */
	bpf_program__set_autoload(s->progs.pb_acquire_openat, acq && a->kern.atomics);
	bpf_program__set_autoload(s->progs.pb_acquire_openat2, acq && a->kern.atomics);
	bpf_program__set_autoload(s->progs.pb_acquire_open, acq && a->kern.atomics);
	bpf_program__set_autoload(s->progs.pb_acquire_openat_locked, acq && !a->kern.atomics);
	bpf_program__set_autoload(s->progs.pb_acquire_openat2_locked, acq && !a->kern.atomics);
	bpf_program__set_autoload(s->progs.pb_acquire_open_locked, acq && !a->kern.atomics);
	bpf_map__set_max_entries(s->maps.procs, a->purpose.policy.max_procs);
	bpf_map__set_max_entries(s->maps.holding, pb_holding_entries());
	bpf_map__set_max_entries(s->maps.creds, a->purpose.policy.max_creds);
	bpf_map__set_max_entries(s->maps.cred_files, a->purpose.policy.max_creds);
	if (mkdir(a->conf.pin_dir, 0700) && errno != EEXIST)
		return pb_err(-errno, "loader: mkdir %s: %m", a->conf.pin_dir);
	/* One agent per pin directory: before anything is loaded or adopted
	 * (taken at start already, agent/single.c, where bpffs was mounted) */
	{
		pid_t holder;

		err = pb_kernel_lock_pins(a, &holder);
		if (err == -EBUSY)
			return pb_err(
			    err,
			    "loader: pin directory %s is in use by procbindd pid %d; stop "
			    "it, or start this one with --take-over to replace it",
			    a->conf.pin_dir, (int)holder);
		if (err)
			return pb_err(err, "loader: lock %s: %s", a->conf.pin_dir, strerror(-err));
	}
	err = pb_adopt_maps(a);
	if (err < 0)
		return err;
	a->kern.adopted = err;
	if (a->kern.adopted)
		pb_info("loader: adopting the running state in %s (policy generation %u)",
			a->conf.pin_dir, a->kern.adopted_gen);

	err = procbind__load(s);
	*load_failed = err != 0;
	if (err)
		return pb_err(err,
			      "loader: load BPF programs: %s (a kernel with BTF is needed, 5.10 or "
			      "later tested; "
			      "-v shows the verifier log)",
			      strerror(-err));

	return 0;
}

int pb_loader_start(struct pb_agent *a)
{
	struct procbind *s;
	char tracefs[] = "/sys/kernel/tracing";
	int err, load_failed;

	libbpf_set_print(pb_libbpf_print);

	err = pb_fs_ensure(a->conf.bpffs, "bpf", BPF_FS_MAGIC);
	if (err)
		return err;
	/* libbpf resolves syscall tracepoint ids through tracefs. */
	if (access("/sys/kernel/tracing/events", F_OK) &&
	    access("/sys/kernel/debug/tracing/events", F_OK)) {
		err = pb_fs_ensure(tracefs, "tracefs", TRACEFS_MAGIC);
		if (err)
			return err;
	}
	a->kern.cgroup_fd = open(a->conf.cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->kern.cgroup_fd < 0)
		return pb_err(-errno, "loader: open cgroup root %s: %m", a->conf.cgroup_root);

	err = pb_open_load(a, &load_failed);
	if (err && load_failed && a->kern.use_lsm && a->conf.lsm_mode == PB_LSM_AUTO) {
		/* The LSM list names bpf, yet the program did not load (a
		 * sandbox, lockdown): the tracepoint path still enforces. */
		pb_warn("loader: BPF-LSM is active but lsm/file_open did not load (%s); foreign "
			"opens of token files are seen, not refused, and judged at connect",
			strerror(-err));
		procbind__destroy(a->kern.skel);
		a->kern.skel = NULL;
		a->kern.use_lsm = 0;
		err = pb_open_load(a, &load_failed);
	}
	if (err || (err = pb_fast_map(a)))
		return err;
	s = a->kern.skel;
	pb_info("loader: credential files: %s%s%s",
		a->conf.file_guard ? "guarded by the fanotify guard" : "not guarded at the file",
		a->kern.use_lsm ? "; BPF-LSM refuses foreign opens, receives, maps and "
				  "marks of token files, and other processes' ptrace, /proc reads, "
				  "prlimit and core-dumping signals of bound processes"
				: "",
		a->conf.acquire_tp ? "; every opener recorded by the open tracepoints" : "");

	/* cgroups are watched before the policy walks cgroupfs, so a pod that
	 * starts in between is matched from its event. */
	if ((err = pb_link_add(a,
			       pb_attach_pinned(a, s->progs.pb_track_cgroup_mkdir, pb_attach_plain),
			       "cgroup_mkdir")) ||
	    (err = pb_link_add(a,
			       pb_attach_pinned(a, s->progs.pb_track_cgroup_rmdir, pb_attach_plain),
			       "cgroup_rmdir")) ||
	    /* before the fork and exec hooks, which mark a record's cgroup
	     * live on the promise that this one sees every move */
	    (err = pb_link_add(
		 a, pb_attach_pinned(a, s->progs.pb_track_cgroup_attach, pb_attach_plain),
		 "cgroup_attach_task")))
		return err;
	return 0;
}

int pb_loader_attach(struct pb_agent *a)
{
	struct procbind *s = a->kern.skel;
	int err;

	/* Life cycle first, then acquisition, then the decision: by the time a
	 * connect is judged, the records it reads are being kept. */
	if ((err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_track_fork, pb_attach_plain),
			       "sched_process_fork")) ||
	    (err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_track_exec, pb_attach_plain),
			       "sched_process_exec")) ||
	    (err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_track_exit, pb_attach_plain),
			       "sched_process_exit")))
		return err;

	if (a->conf.acquire_tp) {
		struct bpf_program *opens[] = {a->kern.atomics ? s->progs.pb_acquire_openat
							       : s->progs.pb_acquire_openat_locked,
					       a->kern.atomics ? s->progs.pb_acquire_openat2
							       : s->progs.pb_acquire_openat2_locked,
					       a->kern.atomics ? s->progs.pb_acquire_open
							       : s->progs.pb_acquire_open_locked};
		for (size_t i = 0; i < 3; i++) {
			struct bpf_link *l = pb_attach_pinned(a, opens[i], pb_attach_plain);

			/* open(2) does not exist on every architecture, and
			 * openat2(2) only from 5.6: attach what the kernel has. */
			if (libbpf_get_error(l)) {
				pb_warn("loader: %s not attached (syscall tracepoint missing)",
					bpf_program__name(opens[i]));
				continue;
			}
			if (pb_link_add(a, l, bpf_program__name(opens[i])))
				return -E2BIG;
			a->kern.open_hooks++;
		}
		if (!a->kern.open_hooks)
			return pb_err(-ENOTSUP, "loader: no open tracepoint could be attached; "
						"credential files cannot be tracked");
	} else {
		/* An earlier agent ran them; this one does not: their pinned
		 * links go, or every task would keep paying for them. */
		pb_unpin_links(a, "link_pb_acquire_", "open tracepoints");
	}

	if ((err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_guard_connect4, pb_attach_cg),
			       "cgroup/connect4")) ||
	    (err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_guard_connect6, pb_attach_cg),
			       "cgroup/connect6")) ||
	    (err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_guard_sendmsg4, pb_attach_cg),
			       "cgroup/sendmsg4")) ||
	    (err = pb_link_add(a, pb_attach_pinned(a, s->progs.pb_guard_sendmsg6, pb_attach_cg),
			       "cgroup/sendmsg6")))
		return err;

	if (a->kern.use_lsm) {
		for (size_t i = 0; i < PB_NLSM; i++)
			if ((err = pb_link_add(
				 a, pb_attach_pinned(a, pb_lsm_prog(s, i), pb_attach_plain),
				 pb_lsm_hooks[i])))
				return err;
	} else {
		/* An earlier agent refused with BPF-LSM; this one does not
		 * (--lsm off): its pinned links go, or they would keep judging
		 * with the old programs. */
		pb_unpin_links(a, "link_pb_guard_", "BPF-LSM");
	}
	return pb_pin_maps(a);
}

void pb_loader_stop(struct pb_agent *a)
{
	if (a->kern.holding)
		munmap(a->kern.holding, a->kern.holding_len);
	if (a->kern.fast)
		munmap(a->kern.fast, pb_fast_len());
	a->kern.holding = NULL;
	a->kern.fast = NULL;
	/* The pinned links and maps stay: enforcement outlives the agent, and
	 * the next one adopts them. A link that could not be pinned detaches. */
	while (a->kern.nlinks > 0) {
		struct bpf_link *l = a->kern.links[--a->kern.nlinks];

		if (bpf_link__pin_path(l))
			bpf_link__disconnect(l);
		bpf_link__destroy(l);
	}
	if (a->kern.skel) {
		procbind__destroy(a->kern.skel);
		a->kern.skel = NULL;
	}
	if (a->kern.cgroup_fd >= 0)
		close(a->kern.cgroup_fd);
	a->kern.cgroup_fd = -1;
}

/* The task walk from /proc, for kernels without a task iterator. A process
 * that forks while we read is seen by the fork hook, attached before. */
static int pb_proc_walk(struct pb_agent *a, uint32_t tgid,
			int (*cb)(const struct pb_task_info *ti, void *ctx), void *ctx)
{
	struct pb_task_info ti;
	struct dirent *de;
	DIR *d;
	int err;

	if (tgid) {
		err = pb_proc_task_info(tgid, a->conf.cgroup_root, &ti);
		if (!err)
			cb(&ti, ctx);
		return err == -ESRCH ? 0 : err;
	}
	d = opendir("/proc");
	if (!d)
		return pb_err(-errno, "loader: open /proc: %m");
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		err = pb_proc_task_info((uint32_t)pid, a->conf.cgroup_root, &ti);
		if (err == -ESRCH)
			continue; /* gone, or a kernel thread */
		if (err) {
			pb_warn("loader: /proc/%lu: %s", pid, strerror(-err));
			continue;
		}
		if (cb(&ti, ctx))
			break;
	}
	closedir(d);
	return 0;
}

int pb_walk(struct pb_agent *a, uint32_t tgid, int (*cb)(const struct pb_task_info *ti, void *ctx),
	    void *ctx)
{
	struct bpf_link *link;
	struct pb_task_info ti;
	size_t got = 0;
	ssize_t n;
	int fd, err = 0;

	if (a->kern.walk_proc)
		return pb_proc_walk(a, tgid, cb, ctx);
	a->kern.skel->bss->pb_walk_tgid = tgid;
	link = bpf_program__attach_iter(a->kern.skel->progs.pb_walk_tasks, NULL);
	if (libbpf_get_error(link))
		return pb_err((int)libbpf_get_error(link), "loader: task iterator: %s",
			      strerror(-(int)libbpf_get_error(link)));
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = pb_err(-errno, "loader: create task iterator: %m");
		goto out;
	}
	for (;;) {
		n = read(fd, (char *)&ti + got, sizeof(ti) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = pb_err(-errno, "loader: read task iterator: %m");
			break;
		}
		if (n == 0)
			break;
		got += n;
		if (got < sizeof(ti))
			continue;
		got = 0;
		if (cb(&ti, ctx))
			break;
	}
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

static int pb_walk_one_cb(const struct pb_task_info *ti, void *ctx)
{
	*(struct pb_task_info *)ctx = *ti;
	return 1;
}

int pb_walk_one(struct pb_agent *a, uint32_t tgid, struct pb_task_info *out)
{
	int err;

	if (!tgid)
		return -ESRCH;
	memset(out, 0, sizeof(*out));
	err = pb_walk(a, tgid, pb_walk_one_cb, out);
	if (err)
		return err;
	return out->proc.tgid == tgid ? 0 : -ESRCH;
}

int pb_counters_read(struct pb_agent *a, uint64_t out[PB_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(a->kern.skel->maps.counters);
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < PB_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int pb_map_count(int fd, size_t key_size, uint64_t *n)
{
	unsigned char key[64], next[64];
	void *prev = NULL;

	if (key_size > sizeof(key))
		return -EINVAL;
	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		(*n)++;
	}
	return errno == ENOENT ? 0 : -errno;
}

int pb_map_fd(struct pb_agent *a, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(a->kern.skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}
