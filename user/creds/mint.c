// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Minting: a credential bound to one live process, in stages (validate,
 * bind, register in the kernel, write the token file, confirm the process,
 * hold), each undone when a later one fails. The token is only ever written
 * to its file or handed to the caller, never logged. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "creds.h"
#include "events.h"
#include "guard.h"
#include "kernel.h"
#include "log.h"
#include "purpose.h"
#include "seed.h"
#include "token.h"
#include "sysfs.h"
#include "util.h"
#include "procbind/decision.h"
#include "procbind.skel.h"

#include "creds_priv.h"

static uint64_t pb_new_id(struct pb_agent *a)
{
	uint64_t id;

	do
		randombytes_buf(&id, sizeof(id));
	while (!id || pb_cred_find(a, id));
	return id;
}

/* The claims a downstream service checks; the secret makes the token
 * unguessable even to someone who knows every other claim. */
static char *pb_claims_json(struct pb_agent *a, const struct pb_cred_meta *m, const char *aud)
{
	unsigned char secret[PB_TOKEN_SECRET_BYTES];
	char sec64[sodium_base64_ENCODED_LEN(PB_TOKEN_SECRET_BYTES,
					     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	uint64_t real_now = pb_now_real_ns(), boot_now = pb_now_boot_ns();
	struct pb_buf b = {0};
	char idhex[17];

	randombytes_buf(secret, sizeof(secret));
	sodium_bin2base64(sec64, sizeof(sec64), secret, sizeof(secret),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof(secret));
	pb_id_format(m->id, idhex);

	pb_json_begin(&b);
	pb_json_u64(&b, "v", 1);
	pb_json_str(&b, "id", idhex);
	pb_json_str(&b, "identity", m->identity);
	pb_json_str(&b, "node", a->conf.node);
	pb_json_str(&b, "aud", aud);
	pb_json_u64(&b, "pid", m->bind.owner.tgid);
	pb_json_u64(&b, "start_time", m->bind.owner.start_time);
	pb_json_u64(&b, "cgroup_id", m->bind.cgroup_id);
	pb_json_u64(&b, "exe_dev", m->bind.exe_dev);
	pb_json_u64(&b, "exe_ino", m->bind.exe_ino);
	pb_json_bool(&b, "inherit_children", m->bind.flags & PB_CRED_INHERIT_CHILDREN);
	pb_json_u64(&b, "iat", real_now / 1000000000ULL);
	pb_json_u64(&b, "exp", (real_now + (m->bind.expires - boot_now)) / 1000000000ULL);
	pb_json_str(&b, "secret", sec64);
	pb_json_end(&b);
	sodium_memzero(sec64, sizeof(sec64));
	if (b.failed) {
		pb_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* A secret buffer: wiped and freed when it goes out of scope. */
static void pb_secret_free(char **p)
{
	if (*p) {
		sodium_memzero(*p, strlen(*p));
		free(*p);
	}
}
#define PB_SECRET __attribute__((cleanup(pb_secret_free)))

/* The process a credential will be bound to: live, recorded by the hooks
 * (or seeded now), in the cgroup it exec'd in, and carrying the identity's
 * tag. Fills the binding in m and the process's uid and comm. */
static int pb_mint_bind(struct pb_agent *a, const struct pb_mint_req *req,
			const struct pb_identity *ident, struct pb_task_info *ti,
			struct pb_cred_meta *m, char *err, size_t errlen)
{
	struct pb_proc rec;
	char tagname[40], buf[PATH_MAX];
	uint64_t tag;
	int ret = pb_walk_one(a, req->pid, ti);

	if (ret == -ESRCH)
		return pb_errf(err, errlen, -ESRCH,
			       "mint: no such process: pid %u (host PID namespace)", req->pid);
	if (ret)
		return pb_errf(err, errlen, ret, "mint: cannot read process %u: %s", req->pid,
			       strerror(-ret));
	/* The process needs a record for its exec/exit to be seen; one the
	 * hooks wrote is newer and stays. */
	ret = pb_seed_one(a, ti, buf, sizeof(buf));
	if (pb_cred_meta_set(&m->exe, buf))
		return pb_errf(err, errlen, -ENOMEM, "mint: out of memory");
	if (ret && ret != -EEXIST)
		return pb_errf(err, errlen, ret, "mint: process map: %s", strerror(-ret));
	if (bpf_map_lookup_elem(bpf_map__fd(a->kern.skel->maps.procs), &ti->proc.tgid, &rec))
		goto exited;
	if (ti->flags & PB_TI_COARSE) {
		/* /proc knows the start to the tick; the binding needs the
		 * nanosecond the hooks compare, which only a record a hook wrote
		 * or settled has. */
		if (rec.flags & PB_PROC_COARSE)
			return pb_errf(err, errlen, -EAGAIN,
				       "mint: process %u predates the agent, and without a task "
				       "iterator its start time is known only to the 10 ms tick "
				       "until a hook sees it (its next connect, fork, exec or "
				       "credential open); retry after that",
				       req->pid);
		if (rec.self.start_time - rec.self.start_time % PB_TICK_NS != ti->proc.start_time)
			goto exited;
		ti->proc.start_time = rec.self.start_time;
		ti->parent.start_time = rec.parent.start_time;
	} else if (rec.self.start_time != ti->proc.start_time) {
		goto exited;
	}
	/* Purpose binding: the process must carry the identity's tag, which
	 * the exec hook set from the cgroup it exec'd in and what it exec'd. */
	if (rec.cgroup_id != ti->cgroup_id)
		return pb_errf(err, errlen, -EPERM,
			       "mint: process %u moved to another cgroup after it exec'd; its "
			       "identity tag is from where it exec'd, so it cannot be minted for",
			       req->pid);
	tag = pb_purpose_proc_tag(a, &rec);
	if (tag != ident->id)
		return pb_errf(err, errlen, -EPERM,
			       "mint: process %u does not carry identity '%s' (it carries %s): "
			       "its cgroup or executable does not match the identity's match",
			       req->pid, ident->name,
			       tag ? pb_ident_name(a, tag, tagname, sizeof(tagname)) : "none");
	pb_cgroup_name(a, ti->cgroup_id, buf, sizeof(buf));
	if (pb_cred_meta_set(&m->cgroup, buf))
		return pb_errf(err, errlen, -ENOMEM, "mint: out of memory");
	/* A tag from an earlier policy generation still needs this policy's
	 * cgroup patterns to hold. */
	if (rec.tag_gen != a->purpose.gen && ident->ncgroups &&
	    !pb_identity_cgroups_match(ident, pb_str(m->cgroup)))
		return pb_errf(err, errlen, -EPERM,
			       "mint: process %u was tagged '%s' by an earlier policy; its cgroup "
			       "%s no longer matches",
			       req->pid, ident->name, pb_str(m->cgroup));
	m->bind.owner = ti->proc;
	m->bind.cgroup_id = ti->cgroup_id;
	m->bind.exe_dev = req->exe_ino ? req->exe_dev : ti->exe_dev;
	m->bind.exe_ino = req->exe_ino ? req->exe_ino : ti->exe_ino;
	if (req->exe_ino && req->exe_path)
		if (pb_cred_meta_set(&m->exe, req->exe_path))
			return pb_errf(err, errlen, -ENOMEM, "mint: out of memory");
	m->bind.ident = ident->id;
	m->uid = ti->uid;
	memcpy(m->comm, ti->comm, sizeof(m->comm));
	return 0;
exited:
	snprintf(err, errlen, "mint: process %u exited during minting", req->pid);
	return -ESRCH;
}

/* The binding into the kernel's credential map (refused when it is full of
 * live credentials). */
static int pb_mint_register(struct pb_agent *a, const struct pb_cred_meta *m, char *err,
			    size_t errlen)
{
	int ret;

	for (;;) {
		if (!bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.creds), &m->id, &m->bind,
					 BPF_NOEXIST))
			return 0;
		ret = -errno;
		if (ret != -E2BIG || pb_cred_make_room(a))
			break;
	}
	if (ret == -E2BIG) {
		a->creds.full++;
		pb_warn("mint: credential map full of live credentials (%u); mint for pid %u "
			"refused",
			a->purpose.policy.max_creds, m->bind.owner.tgid);
		snprintf(err, errlen,
			 "mint: credential map is full of live credentials (%u; raise "
			 "limits.max_creds)",
			 a->purpose.policy.max_creds);
		return ret;
	}
	snprintf(err, errlen, "mint: credential map: %s", strerror(-ret));
	return ret;
}

/* m's file into cred_files. Its inode number may still be registered for a
 * token file that was deleted since (the tick has not noticed yet, and the
 * filesystem gave the number out again): that registration goes first. */
static int pb_register_file(struct pb_agent *a, struct pb_cred_meta *m)
{
	int fd = bpf_map__fd(a->kern.skel->maps.cred_files), ret = -EEXIST;
	uint64_t other;

	for (int tries = 0; tries < 2; tries++) {
		struct pb_cred_meta *om;

		if (!bpf_map_update_elem(fd, &m->file, &m->id, BPF_NOEXIST))
			return 0;
		ret = -errno;
		if (ret != -EEXIST)
			break;
		if (bpf_map_lookup_elem(fd, &m->file, &other))
			continue; /* gone meanwhile */
		om = pb_cred_find(a, other);
		if (!om)
			break; /* not ours to judge: left as it is */
		pb_cred_check_file(a, om);
	}
	m->file.dev = m->file.ino = 0;
	return ret;
}

/* The directory path's file lives in (for O_TMPFILE). */
static void pb_dirname(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Give the unnamed file fd the name path (never over an existing file). */
static int pb_link_tmpfile(int fd, const char *path)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (!linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW))
		return 0;
	if (errno == EEXIST || !linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH))
		return errno == EEXIST ? -EEXIST : 0;
	return -errno;
}

/* The token file, guarded before its first byte exists: an unnamed file
 * (O_TMPFILE) that nobody else can open is marked for the file guard and
 * registered in cred_files (with a handover, the descriptor for the caller
 * is opened between the two), then written, synced, given its name (never
 * over an existing file), and then owned by the process's uid, mode 0400.
 * So no descriptor of it predates the mark. A filesystem without O_TMPFILE
 * gets the file created by name, empty, and marked before it is written.
 * m->path is set once the name exists, so the caller removes it on a later
 * failure. */
static int pb_mint_write_file(struct pb_agent *a, const struct pb_mint_req *req,
			      struct pb_cred_meta *m, const char *token, char *err, size_t errlen)
{
	char path[PATH_MAX], dir[PATH_MAX], idhex[17];
	const char *stage = "write";
	struct statfs sf;
	struct stat st;
	int fd, ret = 0, named = 0, hfd = -1;

	pb_id_format(m->id, idhex);
	if (req->out[0])
		snprintf(path, sizeof(path), "%s", req->out);
	else
		snprintf(path, sizeof(path), "%s/%s.token", a->conf.cred_dir, idhex);
	pb_dirname(path, dir, sizeof(dir));
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0400);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
		named = fd >= 0;
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "mint: create token file %s: %s", path, strerror(-ret));
		return ret;
	}
	if (named && pb_cred_meta_set(&m->path, path)) {
		unlink(path); /* a file nobody would remove */
		return pb_errf(err, errlen, -ENOMEM, "mint: out of memory");
	}
	/* On overlayfs stat(2) reports the layer's device, not the one the
	 * kernel sees at open: the file would never be recognised. Refused
	 * rather than left unenforced. */
	if (!fstatfs(fd, &sf) && sf.f_type == OVERLAYFS_SUPER_MAGIC) {
		close(fd);
		snprintf(err, errlen,
			 "mint: %s is on overlayfs, where procbind cannot recognise the token "
			 "file yet; write it to another filesystem (the credential directory, "
			 "a tmpfs, a hostPath)",
			 path);
		return -EXDEV;
	}
	if (fstat(fd, &st))
		ret = -errno;
	/* Marked first: a descriptor opened after the mark is one the kernel
	 * reports every read of (6.14+ decides that at open, from whether the
	 * filesystem has permission watchers then). Nothing to read yet. */
	if (!ret) {
		stage = "guard";
		ret = pb_guard_mark(a, fd, NULL);
	}
	if (!ret && req->handover_fd) {
		char self[64];

		stage = "open";
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		hfd = open(self, O_RDONLY | O_CLOEXEC);
		if (hfd < 0)
			ret = -errno;
	}
	if (!ret) {
		stage = "register";
		m->file.dev = pb_dev_to_kernel(st.st_dev);
		m->file.ino = st.st_ino;
		ret = pb_register_file(a, m);
	}
	if (!ret) {
		stage = "write";
		ret = pb_write_full(fd, token, strlen(token));
	}
	if (!ret)
		ret = pb_write_full(fd, "\n", 1);
	if (!ret && fsync(fd))
		ret = -errno;
	/* Named while the agent still owns it: with fs.protected_hardlinks a
	 * link to another user's file needs CAP_FOWNER, which the agent does
	 * not have. */
	if (!ret && !named) {
		stage = "create";
		ret = pb_link_tmpfile(fd, path);
		if (!ret && pb_cred_meta_set(&m->path, path)) {
			unlink(path);
			ret = -ENOMEM;
		}
	}
	if (!ret && fchown(fd, m->uid, (gid_t)-1)) {
		stage = "chown";
		ret = -errno;
	}
	close(fd);
	if (ret) {
		if (hfd >= 0)
			close(hfd);
		snprintf(err, errlen, "mint: %s token file %s: %s", stage, path, strerror(-ret));
		return ret;
	}
	if (req->handover_fd)
		*req->handover_fd = hfd;
	return 0;
}

/* The bound process holds its credential from the mint on (the connect
 * hooks judge its every connect by it), and is marked bound (BPF-LSM keeps
 * other processes out of its memory). */
static int pb_mint_hold(struct pb_agent *a, const struct pb_cred_meta *m, char *err, size_t errlen)
{
	int fd = bpf_map__fd(a->kern.skel->maps.procs);
	__u32 tgid = m->bind.owner.tgid;
	struct pb_proc rec;

	if (bpf_map_lookup_elem(fd, &tgid, &rec) || rec.self.start_time != m->bind.owner.start_time)
		goto exited;
	pb_holding_mark(a->kern.holding, a->kern.nholding, tgid); /* before it holds */
	pb_hold_add(&rec, m->id);
	rec.flags |= PB_PROC_BOUND;
	rec.ok_until = 0;
	if (!bpf_map_update_elem(fd, &tgid, &rec, BPF_EXIST))
		return 0;
exited:
	snprintf(err, errlen, "mint: process %u exited during minting", tgid);
	return -ESRCH;
}

/* A core dump of the bound process would hold its token, in a file its uid
 * (a same-uid sibling) can read: its hard core limit goes to 0, which only
 * a privileged process can raise again. A failure is logged and the mint
 * goes on (the probe and status say where cores would go). */
void pb_mint_core_off(const struct pb_pkey *p)
{
	int ret = pb_core_off(p->tgid, p->start_time);

	if (ret && ret != -ESRCH)
		pb_warn("mint: cannot set the core limit of pid %u to 0: %s; a core dump of it "
			"would hold its token",
			p->tgid, strerror(-ret));
}

/* Still the same process? If it exited (or its PID was reused) while we
 * minted, the credential would be bound to nobody. */
static int pb_mint_confirm(struct pb_agent *a, const struct pb_task_info *ti, char *err,
			   size_t errlen)
{
	struct pb_task_info again;
	int ret = pb_walk_one(a, ti->proc.tgid, &again);

	if (ret || again.proc.start_time !=
		       ti->proc.start_time -
			   (again.flags & PB_TI_COARSE ? ti->proc.start_time % PB_TICK_NS : 0)) {
		snprintf(err, errlen, "mint: process %u exited during minting", ti->proc.tgid);
		return -ESRCH;
	}
	return 0;
}

/* Mint in stages: validate against the policy, bind to the live process,
 * register the binding in the kernel, write the token file, confirm the
 * process is still the one bound; only then does the agent keep it. A
 * failure at any stage undoes the ones before it. */
int pb_mint(struct pb_agent *a, const struct pb_mint_req *req, struct pb_cred_meta **meta_out,
	    char **token_out, char *err, size_t errlen)
{
	struct pb_cred_meta m = {0};
	struct pb_mint_plan plan;
	struct pb_task_info ti;
	PB_SECRET char *claims = NULL;
	PB_SECRET char *token = NULL;
	PB_SECRET char *text = NULL; /* the handover's */
	int ret;

	ret = pb_mint_check(&a->purpose.policy, req, time(NULL), &plan, err, errlen);
	if (!ret && pb_cred_store_reserve(&a->creds.store)) {
		snprintf(err, errlen, "mint: out of memory");
		ret = -ENOMEM;
	}
	if (!ret)
		ret = pb_mint_bind(a, req, plan.ident, &ti, &m, err, errlen);
	if (ret) {
		pb_cred_meta_clear(&m);
		return ret;
	}

	m.id = pb_new_id(a);
	m.issued = pb_now_boot_ns();
	m.bind.expires = pb_mint_expiry(m.issued, pb_now_real_ns(), plan.ttl, plan.ident->expires);
	m.bind.flags = (plan.inherit ? PB_CRED_INHERIT_CHILDREN : 0) |
		       (plan.ident->allow_traced ? PB_CRED_ALLOW_TRACED : 0);
	snprintf(m.identity, sizeof(m.identity), "%s", plan.ident->name);
	ret = pb_mint_register(a, &m, err, errlen);
	if (ret) {
		pb_cred_meta_clear(&m);
		return ret;
	}

	claims = pb_claims_json(a, &m, req->audience[0] ? req->audience : "procbind");
	token = claims ? pb_token_sign(claims, a->key.sk) : NULL;
	if (!token) {
		snprintf(err, errlen, "mint: out of memory");
		ret = -ENOMEM;
	}
	if (!ret && req->handover && asprintf(&text, req->handover, token) < 0) {
		text = NULL;
		snprintf(err, errlen, "mint: out of memory");
		ret = -ENOMEM;
	}
	if (!ret && !req->no_file)
		ret = pb_mint_write_file(a, req, &m, text ? text : token, err, errlen);
	if (!ret)
		pb_mint_core_off(&ti.proc);
	if (!ret)
		ret = pb_mint_confirm(a, &ti, err, errlen);
	if (!ret)
		ret = pb_mint_hold(a, &m, err, errlen);
	if (ret) {
		if (req->handover_fd && *req->handover_fd >= 0) {
			close(*req->handover_fd);
			*req->handover_fd = -1;
		}
		if (m.path)
			unlink(m.path);
		pb_creds_unbind(a, m.id, &m.file);
		pb_cred_meta_clear(&m);
		return ret;
	}

	*meta_out = pb_cred_store_add(&a->creds.store, &m);
	pb_creds_due(a, m.bind.expires);
	pb_creds_tally(a, (*meta_out)->identity, NULL);
	pb_event_begin(a, &a->sink.line, "credential_minted", pb_now_boot_ns());
	pb_json_str(&a->sink.line, "via", req->via ? req->via : "control");
	pb_json_cred_meta(a, &a->sink.line, "credential", *meta_out);
	pb_json_end(&a->sink.line);
	pb_emit_line(a, &a->sink.line);
	pb_journal_put(&a->creds.journal, *meta_out);
	pb_creds_flush(a); /* before the caller hears of it */
	if (token_out) {
		*token_out = token; /* the caller wipes it */
		token = NULL;
	}
	return 0;
}
