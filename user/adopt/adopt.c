// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Adopted files: find each one in the containers its entry matches, bind it
 * to the rightful holder, guard it, follow the kubelet's rotations and the
 * holder's restarts, and let go when the container goes.
 *
 * Order of a binding, so that there is no moment the file is readable
 * unjudged once procbind knows of it: the credential (creds), the inode
 * (cred_files) and the volume's entry (adopt_files) first, then the mark
 * (the whole volume when the file has a filesystem of its own, as the
 * kubelet's secret and projected volumes do: a rotation's new inode is then
 * asked about at its first open, the kubelet's write, and the guard
 * registers it), then the protect rules (adopt_cg). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "adopt.h"
#include "container.h"
#include "creds.h"
#include "events.h"
#include "guard.h"
#include "kernel.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"
#include "procbind.skel.h"
#include "procbind/decision.h"

#define PB_CAND_NS   (120ULL * 1000000000ULL) /* how long a new container is awaited */
#define PB_UNSEEN_NS (5ULL * 1000000000ULL)   /* how long a new cgroup may stay unnamed */
#define PB_CHECK_NS  1000000000ULL	      /* each binding is looked at every second */

#define PB_MAP(a, name) bpf_map__fd((a)->kern.skel->maps.name)

/* The credential id of entry name in cgroup cgid: the same in every agent
 * (FNV-1a), so a restarted agent binds the id the kernel already has. */
static uint64_t pb_adopt_id(const char *name, uint64_t cgid)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	for (int i = 0; i < 8; i++)
		h = (h ^ ((cgid >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
	return h ? h : 1;
}

static struct pb_binding *pb_binding_find(struct pb_agent *a, uint64_t cgid, const char *entry)
{
	for (size_t i = 0; i < a->adopt.n; i++)
		if (a->adopt.v[i].cgroup_id == cgid && !strcmp(a->adopt.v[i].entry, entry))
			return &a->adopt.v[i];
	return NULL;
}

static void pb_cand_add(struct pb_agent *a, uint64_t cgid)
{
	if (pb_pending_push(&a->adopt.cand, &a->adopt.ncand, &a->adopt.capcand, cgid, 0))
		pb_warn("adopt: out of memory; cgroup %" PRIu64 " is not looked at", cgid);
}

/* ---- events ---- */

static void pb_emit_adopt(struct pb_agent *a, const char *type, const char *how,
			  const struct pb_cred_meta *m, const char *error)
{
	struct pb_buf *b = &a->sink.line;

	pb_event_begin(a, b, type, pb_now_boot_ns());
	if (how)
		pb_json_str(b, "how", how);
	if (error)
		pb_json_str(b, "error", error);
	pb_json_cred_meta(a, b, "credential", m);
	pb_json_end(b);
	pb_emit_line(a, b);
}

static void pb_emit_refused(struct pb_agent *a, const struct pb_adopt *ad, const char *cgroup,
			    const char *error)
{
	struct pb_buf *b = &a->sink.line;

	a->adopt.refused++;
	pb_warn("adopt: %s in %s: %s", ad->name, cgroup, error);
	pb_event_begin(a, b, "adopt_failed", pb_now_boot_ns());
	pb_json_str(b, "entry", ad->name);
	pb_json_str(b, "path", ad->path);
	pb_json_str(b, "cgroup", cgroup);
	pb_json_str(b, "error", error);
	pb_json_end(b);
	pb_emit_line(a, b);
}

/* ---- the holder ---- */

static int pb_holder_of(const struct pb_cred_meta *m)
{
	return m->bind.flags & PB_CRED_HOLDER_EXE ? PB_HOLDER_EXE : PB_HOLDER_MAIN;
}

/* The holder of entry ad in the container at dir, to the nanosecond (from
 * its record or the task walk), with its executable: 0, or -ESRCH (none
 * yet; the guard lets the first rightful opener claim it). */
static int pb_find_holder(struct pb_agent *a, const struct pb_adopt *ad, const char *dir,
			  const struct pb_cred *c, struct pb_task_info *ti)
{
	struct pb_pkey k = {0};

	if (ad->holder == PB_HOLDER_MAIN) {
		if (pb_container_main(dir, &k))
			return -ESRCH;
	} else {
		char path[PATH_MAX + 16];
		unsigned int pid;
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		f = fopen(path, "re");
		if (!f)
			return -ESRCH;
		while (!k.tgid && fscanf(f, "%u", &pid) == 1) {
			struct pb_task_info t;

			if (!pb_walk_one(a, pid, &t) && t.exe_dev == c->exe_dev &&
			    t.exe_ino == c->exe_ino)
				k = t.proc;
		}
		fclose(f);
		if (!k.tgid)
			return -ESRCH;
	}
	if (pb_walk_one(a, k.tgid, ti) || (ti->flags & PB_TI_COARSE) ||
	    ti->proc.start_time - ti->proc.start_time % PB_TICK_NS !=
		k.start_time - k.start_time % PB_TICK_NS)
		return -ESRCH;
	return 0;
}

/* Make ti the holder of m (kernel and agent). A main holder's executable
 * is bound again at its first open (unbound: 0). */
static int pb_set_holder(struct pb_agent *a, struct pb_cred_meta *m, const struct pb_task_info *ti,
			 int main_holder)
{
	char exe[PATH_MAX] = "";

	m->bind.owner = ti->proc;
	if (main_holder)
		m->bind.exe_dev = m->bind.exe_ino = 0;
	if (bpf_map_update_elem(PB_MAP(a, creds), &m->id, &m->bind, BPF_ANY))
		return pb_err(-errno, "adopt: bind %s to pid %u: %m", m->adopt, ti->proc.tgid);
	pb_fast_bump(a);
	pb_mint_core_off(&ti->proc);
	memcpy(m->comm, ti->comm, sizeof(m->comm));
	m->uid = ti->uid;
	pb_exe_path(ti->proc.tgid, m->bind.exe_dev, m->bind.exe_ino, exe, sizeof(exe));
	pb_cred_meta_set(&m->exe, exe);
	return 0;
}

/* Is the kernel's holder of m alive? Takes a holder the guard bound. */
static int pb_holder_alive(struct pb_agent *a, struct pb_cred_meta *m)
{
	struct pb_cred kc;
	struct pb_proc rec;
	__u32 tgid;

	if (!bpf_map_lookup_elem(PB_MAP(a, creds), &m->id, &kc) && kc.owner.tgid &&
	    (!pb_pkey_is(&kc.owner, &m->bind.owner) || kc.exe_dev != m->bind.exe_dev ||
	     kc.exe_ino != m->bind.exe_ino)) {
		/* claimed, or its executable bound, by the guard at the
		 * holder's first open */
		int claimed = !pb_pkey_is(&kc.owner, &m->bind.owner);
		struct pb_task_info ti;

		m->bind = kc;
		if (!pb_walk_one(a, kc.owner.tgid, &ti)) {
			char exe[PATH_MAX] = "";

			memcpy(m->comm, ti.comm, sizeof(m->comm));
			m->uid = ti.uid;
			pb_exe_path(ti.proc.tgid, kc.exe_dev, kc.exe_ino, exe, sizeof(exe));
			pb_cred_meta_set(&m->exe, exe);
		}
		if (claimed) {
			pb_mint_core_off(&kc.owner);
			pb_emit_adopt(a, "credential_adopted", "claimed", m, NULL);
		}
	}
	tgid = m->bind.owner.tgid;
	return tgid && !bpf_map_lookup_elem(PB_MAP(a, procs), &tgid, &rec) &&
	       pb_pkey_is(&rec.self, &m->bind.owner);
}

void pb_adopt_sync(struct pb_agent *a, struct pb_cred_meta *m)
{
	if (m->adopt)
		pb_holder_alive(a, m);
}

/* ---- the file ---- */

struct pb_found {
	int fd; /* the file, opened inside the container's root */
	struct pb_file_key key;
	char real[PATH_MAX]; /* its path as the agent reaches it */
	char suffix[PB_ADOPT_SUFFIX_LEN];
	int volume; /* the file has a tmpfs of its own (a kubelet volume) */
};

static int pb_find_file(const struct pb_adopt *ad, uint32_t pid, struct pb_found *f)
{
	char link[64], mi[64], dir[PB_PATH_LEN], fstype[64], root[PATH_MAX];
	struct stat st;
	ssize_t n;

	memset(f, 0, sizeof(*f));
	f->fd = pb_open_in_root(pid, ad->path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (f->fd < 0)
		return f->fd;
	if (fstat(f->fd, &st) || !S_ISREG(st.st_mode)) {
		close(f->fd);
		f->fd = -1;
		return -EINVAL;
	}
	f->key.dev = pb_dev_to_kernel(st.st_dev);
	f->key.ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", f->fd);
	n = readlink(link, f->real, sizeof(f->real) - 1);
	f->real[n > 0 ? n : 0] = 0;
	pb_adopt_suffix(f->real, f->suffix, sizeof(f->suffix));
	/* A volume of its own: the file's directory (as the container sees
	 * it) is a tmpfs mounted whole there. */
	snprintf(dir, sizeof(dir), "%s", ad->path);
	*strrchr(dir, '/') = 0;
	snprintf(mi, sizeof(mi), "/proc/%u/mountinfo", pid);
	f->volume =
	    !pb_mountinfo_at(mi, dir[0] ? dir : "/", fstype, sizeof(fstype), root, sizeof(root)) &&
	    !strcmp(fstype, "tmpfs") && !strcmp(root, "/");
	return 0;
}

static int pb_volume_users(struct pb_agent *a, uint64_t dev)
{
	int n = 0;

	for (size_t i = 0; i < a->adopt.n; i++)
		n += a->adopt.v[i].vol_dev == dev;
	return n;
}

/* Delete every entry of map fd (key size ksz) whose u64 value is id, but
 * the keys keep1 and keep2 (NULL: none). On a rotation the guard has
 * registered the new inode; the agent keeps the file now and the one before
 * it (for a descriptor opened before the swap) and drops the rest. */
static void pb_delete_by_value(int fd, size_t ksz, uint64_t id, const void *keep1,
			       const void *keep2)
{
	unsigned char key[sizeof(struct pb_adopt_file_key)], next[sizeof(key)];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		uint64_t v;

		memcpy(key, next, ksz);
		if (!bpf_map_lookup_elem(fd, key, &v) && v == id &&
		    !(keep1 && !memcmp(key, keep1, ksz)) && !(keep2 && !memcmp(key, keep2, ksz))) {
			bpf_map_delete_elem(fd, key);
			prev = NULL; /* start over: the walk lost its place */
			continue;
		}
		prev = key;
	}
}

/* The entry's protect rules for the container at cgid (map adopt_cg), or
 * none when it has none: 0 or -errno. */
static int pb_protect_write(struct pb_agent *a, uint64_t cgid, const struct pb_adopt *ad,
			    uint64_t id)
{
	struct pb_adopt_cg acg = {.cred_id = id, .nrules = ad->nprotect};

	if (!ad->nprotect) {
		if (bpf_map_delete_elem(PB_MAP(a, adopt_cg), &cgid) && errno != ENOENT)
			return -errno;
		return 0;
	}
	memcpy(acg.rules, ad->protect, sizeof(acg.rules));
	return bpf_map_update_elem(PB_MAP(a, adopt_cg), &cgid, &acg, BPF_ANY) ? -errno : 0;
}

/* ---- bind and unbind ---- */

static void pb_unbind_at(struct pb_agent *a, size_t i, const char *why)
{
	struct pb_binding *bd = &a->adopt.v[i];
	struct pb_cred_meta *m = pb_cred_find(a, bd->cred_id);
	uint64_t cgid = bd->cgroup_id;

	bpf_map_delete_elem(PB_MAP(a, adopt_cg), &cgid);
	pb_delete_by_value(PB_MAP(a, adopt_files), sizeof(struct pb_adopt_file_key), bd->cred_id,
			   NULL, NULL);
	pb_delete_by_value(PB_MAP(a, cred_files), sizeof(struct pb_file_key), bd->cred_id, NULL,
			   NULL);
	bpf_map_delete_elem(PB_MAP(a, creds), &bd->cred_id);
	pb_fast_bump(a);
	if (bd->vol_dev && pb_volume_users(a, bd->vol_dev) == 1) {
		/* The volume's mark goes with its last binding: found where it
		 * is mounted here (an unmounted one took its mark with it). */
		char mnt[PATH_MAX];
		int fd = pb_mount_of_dev(bd->vol_dev, mnt, sizeof(mnt))
			     ? -1
			     : open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;

		if (fd >= 0 && !fstat(fd, &st) && pb_dev_to_kernel(st.st_dev) == bd->vol_dev &&
		    pb_guard_mark_fs(a, fd, 0) && errno != ENOENT)
			pb_warn("adopt: unmark the volume at %s: %m", mnt);
		if (fd >= 0)
			close(fd);
	}
	if (m) {
		pb_emit_adopt(a, "credential_released", why, m, NULL);
		pb_creds_remove(a, m);
	}
	a->adopt.v[i] = a->adopt.v[--a->adopt.n];
}

/* Register and mark a found file for credential id. */
static int pb_guard_found(struct pb_agent *a, uint64_t id, uint64_t old_vol,
			  const struct pb_found *f)
{
	int err;

	if (bpf_map_update_elem(PB_MAP(a, cred_files), &f->key, &id, BPF_ANY))
		return -errno;
	/* read before as another file of its volume, the guard may have
	 * stopped being asked about it */
	if ((err = pb_guard_unignore(a, f->fd)))
		return err;
	if (f->volume) {
		struct pb_adopt_file_key ak = {.dev = f->key.dev};

		snprintf(ak.suffix, sizeof(ak.suffix), "%s", f->suffix);
		if (bpf_map_update_elem(PB_MAP(a, adopt_files), &ak, &id, BPF_ANY))
			return -errno;
		if (old_vol != f->key.dev && (err = pb_guard_mark_fs(a, f->fd, 1)))
			return err;
		return 0;
	}
	return pb_guard_mark(a, f->fd, NULL);
}

/* The holder's executable, for an entry whose holder is an executable:
 * into m's binding. 0, or -ENOENT (refused, said why). */
static int pb_bind_holder_exe(struct pb_agent *a, const struct pb_adopt *ad, const char *cg,
			      uint32_t pid, struct pb_cred_meta *m)
{
	int efd = pb_open_in_root(pid, ad->holder_exe, O_PATH);
	struct stat st;
	char why[256];

	if (efd < 0 || fstat(efd, &st)) {
		snprintf(why, sizeof(why), "holder executable %s: %s", ad->holder_exe,
			 strerror(efd < 0 ? -efd : errno));
		if (efd >= 0)
			close(efd);
		pb_emit_refused(a, ad, cg, why);
		return -ENOENT;
	}
	close(efd);
	m->bind.exe_dev = pb_dev_to_kernel(st.st_dev);
	m->bind.exe_ino = st.st_ino;
	m->bind.flags |= PB_CRED_HOLDER_EXE;
	return 0;
}

/* The credential's record for entry ad's file f in container cg: the
 * binding, the names, and the holder if it runs already (else the guard
 * binds the first rightful opener). 0, or -errno (refused and said, or
 * -ENOMEM). */
static int pb_bind_record(struct pb_agent *a, const struct pb_adopt *ad, uint64_t cgid,
			  const char *cg, const char *dir, uint32_t pid,
			  const struct pb_k8s_meta *meta, const struct pb_found *f,
			  struct pb_cred_meta *m)
{
	struct pb_task_info ti;
	char pod[320] = "";
	int err;

	m->bind.cgroup_id = cgid;
	m->bind.expires = UINT64_MAX;
	m->bind.ident = ad->ident;
	m->bind.flags = PB_CRED_ADOPTED | (ad->inherit_children ? PB_CRED_INHERIT_CHILDREN : 0);
	if (ad->holder == PB_HOLDER_EXE && (err = pb_bind_holder_exe(a, ad, cg, pid, m)))
		return err;
	snprintf(m->identity, sizeof(m->identity), "%s", ad->identity);
	if (meta)
		snprintf(pod, sizeof(pod), "%s/%s", meta->namespace_, meta->pod);
	if (pb_cred_meta_set(&m->adopt, ad->name) || pb_cred_meta_set(&m->path, ad->path) ||
	    pb_cred_meta_set(&m->cgroup, cg) || pb_cred_meta_set(&m->pod, pod) ||
	    pb_cred_meta_set(&m->container, meta ? meta->container : NULL))
		return pb_err(-ENOMEM, "adopt: out of memory");
	m->issued = pb_now_boot_ns();
	m->file = f->key;
	if (!pb_find_holder(a, ad, dir, &m->bind, &ti)) {
		struct pb_cred kc;

		/* main's executable is bound at its first open (pb_exe_unbound);
		 * an earlier agent's binding of the same id keeps the one bound */
		m->bind.owner = ti.proc;
		if (ad->holder == PB_HOLDER_MAIN &&
		    !bpf_map_lookup_elem(PB_MAP(a, creds), &m->id, &kc) &&
		    pb_pkey_is(&kc.owner, &ti.proc)) {
			m->bind.exe_dev = kc.exe_dev;
			m->bind.exe_ino = kc.exe_ino;
		}
		memcpy(m->comm, ti.comm, sizeof(m->comm));
		m->uid = ti.uid;
	}
	return 0;
}

/* Into the kernel: the credential, then the file and its mark, then the
 * protect rules; all undone on a failure (refused and said why). */
static int pb_bind_register(struct pb_agent *a, const struct pb_adopt *ad, uint64_t cgid,
			    const char *cg, const struct pb_cred_meta *m, const struct pb_found *f)
{
	char why[256];
	int err;

	err = bpf_map_update_elem(PB_MAP(a, creds), &m->id, &m->bind, BPF_ANY) ? -errno : 0;
	if (!err)
		err = pb_guard_found(a, m->id, 0, f);
	if (!err && ad->nprotect)
		err = pb_protect_write(a, cgid, ad, m->id);
	if (!err)
		return 0;
	snprintf(why, sizeof(why), "%s: %s%s", ad->path, strerror(-err),
		 err == -E2BIG || err == -ENOSPC ? " (a map is full)" : "");
	bpf_map_delete_elem(PB_MAP(a, adopt_cg), &cgid);
	pb_delete_by_value(PB_MAP(a, cred_files), sizeof(struct pb_file_key), m->id, NULL, NULL);
	pb_delete_by_value(PB_MAP(a, adopt_files), sizeof(struct pb_adopt_file_key), m->id, NULL,
			   NULL);
	bpf_map_delete_elem(PB_MAP(a, creds), &m->id);
	pb_emit_refused(a, ad, cg, why);
	return err;
}

/* Room for one more binding and one more credential: 0 or -ENOMEM. */
static int pb_bind_room(struct pb_agent *a)
{
	if (a->adopt.n == a->adopt.cap) {
		size_t cap = a->adopt.cap ? a->adopt.cap * 2 : 8;
		struct pb_binding *v = realloc(a->adopt.v, cap * sizeof(*v));

		if (v) {
			a->adopt.v = v;
			a->adopt.cap = cap;
		}
	}
	if (a->adopt.n == a->adopt.cap || pb_creds_reserve(a))
		return pb_err(-ENOMEM, "adopt: out of memory");
	return 0;
}

/* Bind entry ad in the container at cgroup path cg (id cgid). -EAGAIN: not
 * yet (no process, no file); another -errno: refused (an event says why). */
static int pb_bind(struct pb_agent *a, const struct pb_adopt *ad, uint64_t cgid, const char *cg,
		   const struct pb_k8s_meta *meta)
{
	struct pb_cred_meta m = {0}, *mp;
	struct pb_binding bd = {0};
	struct pb_found f;
	char dir[PATH_MAX * 2], why[256];
	uint64_t other;
	uint32_t pid;
	int err;

	snprintf(dir, sizeof(dir), "%s%s", a->conf.cgroup_root, cg);
	if (pb_container_any(dir, &pid))
		return -EAGAIN;
	err = pb_find_file(ad, pid, &f);
	if (err == -ENOENT || err == -ESRCH)
		return -EAGAIN;
	if (err) {
		snprintf(why, sizeof(why), "%s: %s", ad->path,
			 err == -EINVAL ? "not a regular file" : strerror(-err));
		pb_emit_refused(a, ad, cg, why);
		return err;
	}
	m.id = pb_adopt_id(ad->name, cgid);
	if (!bpf_map_lookup_elem(PB_MAP(a, cred_files), &f.key, &other) && other != m.id &&
	    pb_cred_find(a, other)) {
		/* One inode, one credential: a file two containers share (one
		 * volume in two containers of a pod) binds to the first. */
		snprintf(why, sizeof(why), "%s is already bound (credential %016" PRIx64 ")",
			 ad->path, other);
		pb_emit_refused(a, ad, cg, why);
		close(f.fd);
		return -EEXIST;
	}
	err = pb_bind_room(a);
	if (!err)
		err = pb_bind_record(a, ad, cgid, cg, dir, pid, meta, &f, &m);
	if (!err)
		err = pb_bind_register(a, ad, cgid, cg, &m, &f);
	close(f.fd);
	if (err) {
		pb_cred_meta_clear(&m);
		return err;
	}
	pb_fast_bump(a);
	if (m.bind.owner.tgid) {
		char exe[PATH_MAX] = "";

		pb_exe_path(m.bind.owner.tgid, m.bind.exe_dev, m.bind.exe_ino, exe, sizeof(exe));
		pb_cred_meta_set(&m.exe, exe);
	}
	mp = pb_creds_add(a, &m);
	bd.cgroup_id = cgid;
	bd.cred_id = m.id;
	snprintf(bd.entry, sizeof(bd.entry), "%s", ad->name);
	bd.file = f.key;
	bd.vol_dev = f.volume ? f.key.dev : 0;
	snprintf(bd.suffix, sizeof(bd.suffix), "%s", f.suffix);
	a->adopt.v[a->adopt.n++] = bd;
	pb_info("adopt: %s bound in %s (%s, holder %u)", ad->name, cg,
		f.volume ? "its volume is marked" : "the file is marked", mp->bind.owner.tgid);
	pb_emit_adopt(a, "credential_adopted", f.volume ? "volume" : "file", mp, NULL);
	return 0;
}

/* ---- matching ---- */

/* Which entries match the cgroup at path cg: bind each. 1 when it must be
 * looked at again (names or a process or the file awaited), else 0. */
/* What matching needs of the cgroup at cg: its path, and for a pod its
 * Kubernetes ids and, once the kubelet has named it, its names. */
struct pb_adopt_subject {
	struct pb_match_subject s;
	struct pb_k8s_ref ref;
	struct pb_k8s_meta meta;
	int named;
};

static void pb_adopt_subject(struct pb_agent *a, const char *cg, struct pb_adopt_subject *as)
{
	const struct pb_policy *p = &a->purpose.policy;
	int k8s = 0;

	memset(as, 0, sizeof(*as));
	as->s.cgroup = cg;
	as->s.exe = "";
	for (unsigned int i = 0; i < p->nadopt; i++)
		k8s |= p->adopt[i].match.has_k8s;
	if (k8s && pb_k8s_parse_cgroup(cg, &as->ref)) {
		as->s.k8s = &as->ref;
		if (as->ref.container_id[0] &&
		    !pb_k8s_lookup(a->conf.k8s_dir, as->ref.container_id, &as->meta)) {
			as->s.meta = &as->meta;
			as->named = 1;
		}
	}
}

/* Does ad select the cgroup? -EAGAIN while the kubelet has not named it. */
static int pb_adopt_matches(const struct pb_adopt *ad, const struct pb_adopt_subject *as)
{
	if (ad->match.has_k8s && as->s.k8s && as->ref.container_id[0] && !as->named)
		return -EAGAIN;
	return pb_identity_cgroup_match(&ad->match, &as->s);
}

static int pb_adopt_cgroup(struct pb_agent *a, uint64_t cgid, const char *cg)
{
	const struct pb_policy *p = &a->purpose.policy;
	struct pb_adopt_subject as;
	int again = 0;

	pb_adopt_subject(a, cg, &as);
	for (unsigned int i = 0; i < p->nadopt; i++) {
		const struct pb_adopt *ad = &p->adopt[i];
		int m;

		if (pb_binding_find(a, cgid, ad->name))
			continue;
		m = pb_adopt_matches(ad, &as);
		if (m == -EAGAIN)
			again = 1; /* the kubelet has not named it yet */
		if (m != 1)
			continue;
		if (pb_bind(a, ad, cgid, cg, as.s.meta) == -EAGAIN)
			again = 1;
	}
	return again;
}

static int pb_adopt_scan_dir(void *ctx, const char *rel, uint64_t ino)
{
	struct pb_agent *a = ctx;

	if (*rel && pb_adopt_cgroup(a, ino, rel))
		pb_cand_add(a, ino);
	return 0;
}

/* What an earlier agent bound that this policy does not: an adopted
 * credential in the pinned maps whose container is gone, or whose id no
 * entry of the policy gives its cgroup. A binding still awaited (its
 * container starting) keeps its entries until it is bound again. */
static void pb_sweep_stale(struct pb_agent *a)
{
	const struct pb_policy *p = &a->purpose.policy;
	int fd = PB_MAP(a, creds);
	uint64_t key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct pb_cred c;
		char cg[PATH_MAX];
		int live = 0;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &c) || !(c.flags & PB_CRED_ADOPTED) ||
		    pb_cred_find(a, key))
			continue;
		pb_cgroup_name(a, c.cgroup_id, cg, sizeof(cg));
		for (unsigned int i = 0; cg[0] && i < p->nadopt && !live; i++)
			live = pb_adopt_id(p->adopt[i].name, c.cgroup_id) == key;
		if (live)
			continue;
		pb_info("adopt: an earlier binding (credential %016" PRIx64 ") is stale; removed",
			key);
		bpf_map_delete_elem(PB_MAP(a, adopt_cg), &c.cgroup_id);
		pb_delete_by_value(PB_MAP(a, cred_files), sizeof(struct pb_file_key), key, NULL,
				   NULL);
		pb_delete_by_value(PB_MAP(a, adopt_files), sizeof(struct pb_adopt_file_key), key,
				   NULL, NULL);
		bpf_map_delete_elem(fd, &key);
		prev = NULL; /* the walk lost its place */
	}
}

void pb_adopt_policy(struct pb_agent *a)
{
	const struct pb_policy *p = &a->purpose.policy;
	int err;

	/* Bindings of entries gone, or changed (bound again below). */
	for (size_t i = 0; i < a->adopt.n;) {
		const struct pb_adopt *ad = pb_policy_adopt(p, a->adopt.v[i].entry);
		struct pb_cred_meta *m = pb_cred_find(a, a->adopt.v[i].cred_id);

		struct pb_adopt_subject as;
		char cg[PATH_MAX];

		/* the container no longer matched (a reload changed the match)
		 * is let go too; one gone is left to the next check */
		pb_cgroup_name(a, a->adopt.v[i].cgroup_id, cg, sizeof(cg));
		if (ad)
			pb_adopt_subject(a, cg, &as);
		if (!ad || !m || strcmp(pb_str(m->path), ad->path) || m->bind.ident != ad->ident ||
		    ad->holder != pb_holder_of(m) || (cg[0] && pb_adopt_matches(ad, &as) == 0)) {
			pb_unbind_at(a, i, "policy");
			continue;
		}
		/* the same file: protect and inherit as the policy says now */
		m->bind.flags = (m->bind.flags & ~PB_CRED_INHERIT_CHILDREN) |
				(ad->inherit_children ? PB_CRED_INHERIT_CHILDREN : 0);
		bpf_map_update_elem(PB_MAP(a, creds), &m->id, &m->bind, BPF_ANY);
		pb_protect_write(a, a->adopt.v[i].cgroup_id, ad, m->id);
		i++;
	}
	if (p->nadopt && (err = pb_walk_dirs(a->conf.cgroup_root, pb_adopt_scan_dir, a)))
		pb_warn("adopt: walk %s: %s", a->conf.cgroup_root, strerror(-err));
	pb_sweep_stale(a);
	pb_fast_bump(a);
}

void pb_adopt_cgroup_added(struct pb_agent *a, uint64_t cgid)
{
	if (a->purpose.policy.nadopt)
		pb_cand_add(a, cgid);
}

/* ---- each second: container, holder, file ---- */

/* 0: still there; 1: it ended (unbound). */
static int pb_binding_check(struct pb_agent *a, size_t i)
{
	struct pb_binding *bd = &a->adopt.v[i];
	const struct pb_adopt *ad = pb_policy_adopt(&a->purpose.policy, bd->entry);
	struct pb_cred_meta *m = pb_cred_find(a, bd->cred_id);
	char cg[PATH_MAX], dir[PATH_MAX * 2];
	struct pb_task_info ti;
	struct pb_found f;
	uint32_t pid;

	pb_cgroup_name(a, bd->cgroup_id, cg, sizeof(cg));
	if (!cg[0] || !ad || !m) {
		pb_unbind_at(a, i, "container_gone");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s%s", a->conf.cgroup_root, cg);
	if (!pb_holder_alive(a, m) && !pb_find_holder(a, ad, dir, &m->bind, &ti) &&
	    !pb_set_holder(a, m, &ti, ad->holder == PB_HOLDER_MAIN))
		pb_emit_adopt(a, "credential_adopted", "holder", m, NULL);
	/* A rotation the guard did not see yet (or a file without a volume
	 * of its own, which only this finds). */
	if (pb_container_any(dir, &pid) || pb_find_file(ad, pid, &f))
		return 0;
	if (f.key.dev != bd->file.dev || f.key.ino != bd->file.ino) {
		if (!pb_guard_found(a, bd->cred_id, bd->vol_dev, &f)) {
			if (bd->vol_dev)
				pb_delete_by_value(PB_MAP(a, cred_files),
						   sizeof(struct pb_file_key), bd->cred_id, &f.key,
						   &bd->file);
			else /* a shared filesystem may give its number to any file */
				bpf_map_delete_elem(PB_MAP(a, cred_files), &bd->file);
			bd->file = f.key;
			m->file = f.key;
			pb_emit_adopt(a, "credential_adopted", "rotated", m, NULL);
		}
	}
	close(f.fd);
	return 0;
}

void pb_adopt_tick(struct pb_agent *a)
{
	uint64_t now = pb_now_boot_ns();

	for (size_t i = 0; i < a->adopt.ncand;) {
		struct pb_pending pe = a->adopt.cand[i];
		char cg[PATH_MAX];
		int again;

		pb_cgroup_name(a, pe.cgroup_id, cg, sizeof(cg));
		/* a cgroup with no name yet is too new to see, or gone */
		if (!cg[0] && now > pe.since + PB_UNSEEN_NS) {
			a->adopt.cand[i] = a->adopt.cand[--a->adopt.ncand];
			continue;
		}
		again = cg[0] ? pb_adopt_cgroup(a, pe.cgroup_id, cg) : 1;
		if (again && now <= pe.since + PB_CAND_NS) {
			i++;
			continue;
		}
		if (again)
			pb_warn("adopt: %s: no process, no file or no kubelet names after %llus; "
				"not adopted",
				cg, PB_CAND_NS / 1000000000ULL);
		a->adopt.cand[i] = a->adopt.cand[--a->adopt.ncand];
	}
	if (now < a->adopt.next_check)
		return;
	a->adopt.next_check = now + PB_CHECK_NS;
	for (size_t i = 0; i < a->adopt.n;)
		i += !pb_binding_check(a, i);
}
