// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A credential's life after its mint: expiry, the owner's exit, revocation,
 * the retention of a dead one and its end, and what the agent keeps of
 * them across restarts (the journal, journal.h). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "creds.h"
#include "creds_priv.h"
#include "events.h"
#include "guard.h"
#include "kernel.h"
#include "log.h"
#include "util.h"
#include "procbind.skel.h"

/* Something of a credential falls due at when (boot ns): its expiry, or the
 * end of its retention. The tick's full pass runs from then. */
void pb_creds_due(struct pb_agent *a, uint64_t when)
{
	if (when < a->creds.due)
		a->creds.due = when;
}

struct pb_cred_meta *pb_cred_find(struct pb_agent *a, uint64_t id)
{
	return pb_cred_store_find(&a->creds.store, id);
}

int pb_creds_reserve(struct pb_agent *a)
{
	return pb_cred_store_reserve(&a->creds.store);
}

struct pb_cred_meta *pb_creds_add(struct pb_agent *a, const struct pb_cred_meta *m)
{
	return pb_cred_store_add(&a->creds.store, m);
}

void pb_creds_remove(struct pb_agent *a, struct pb_cred_meta *m)
{
	pb_cred_store_remove_at(&a->creds.store, (size_t)(m - a->creds.store.v));
}

void pb_json_cred_meta(struct pb_agent *a, struct pb_buf *b, const char *key,
		       const struct pb_cred_meta *m)
{
	char idhex[17], ts[40];

	pb_id_format(m->id, idhex);
	pb_json_key(b, key);
	pb_json_begin(b);
	pb_json_str(b, "id", idhex);
	pb_json_str(b, "identity", m->identity);
	if (m->adopt) {
		pb_json_raw(b, "expires", "null"); /* the pod's file: as long as the pod has it */
	} else {
		pb_boot_to_rfc3339(m->bind.expires, ts, sizeof(ts));
		pb_json_str(b, "expires", ts);
	}
	pb_json_str(b, "inherit", m->bind.flags & PB_CRED_INHERIT_CHILDREN ? "children" : "none");
	pb_json_bool(b, "revoked", m->bind.flags & PB_CRED_REVOKED);
	pb_json_str(b, "file", m->path);
	if (m->adopt) {
		pb_json_key(b, "adopted");
		pb_json_begin(b);
		pb_json_str(b, "entry", m->adopt);
		pb_json_str(b, "pod", m->pod);
		pb_json_str(b, "container", m->container);
		pb_json_end(b);
	}
	pb_json_key(b, "bound_process");
	pb_json_begin(b);
	pb_json_u64(b, "pid", m->bind.owner.tgid);
	pb_json_str(b, "pid_ns", "host");
	pb_json_start(b, m->bind.owner.start_time);
	pb_json_u64(b, "uid", m->uid);
	pb_json_strn(b, "comm", m->comm, sizeof(m->comm));
	pb_json_str(b, "exe", m->exe);
	pb_json_u64(b, "exe_dev", m->bind.exe_dev);
	pb_json_u64(b, "exe_ino", m->bind.exe_ino);
	pb_json_cgroup(a, b, m->bind.cgroup_id);
	pb_json_end(b);
	pb_json_end(b);
}

/* Undo the kernel side of a credential. */
void pb_creds_unbind(struct pb_agent *a, uint64_t id, const struct pb_file_key *file)
{
	if (file && (file->dev || file->ino))
		bpf_map_delete_elem(bpf_map__fd(a->kern.skel->maps.cred_files), file);
	bpf_map_delete_elem(bpf_map__fd(a->kern.skel->maps.creds), &id);
	pb_fast_bump(a); /* its holders are refused from now on */
}

static void pb_emit_cred_event(struct pb_agent *a, const char *type, const struct pb_cred_meta *m,
			       const char *why)
{
	struct pb_buf *b = &a->sink.line;

	pb_event_begin(a, b, type, pb_now_boot_ns());
	if (why)
		pb_json_str(b, "reason", why);
	pb_json_cred_meta(a, b, "credential", m);
	pb_json_end(b);
	pb_emit_line(a, b);
}

/* What changed into the journal, durably (journal.h; a failure is logged
 * there and the lines are written with the next change). */
void pb_creds_flush(struct pb_agent *a)
{
	pb_journal_flush(&a->creds.journal, &a->creds.store);
}

static void pb_cred_forget(struct pb_agent *a, struct pb_cred_meta *m);

/* Make room for a live credential: forget the credential that died first
 * before its retention ends (its kernel entries and token file go; what the
 * agent knew of it was written when it died). 0, or -ENOSPC when every
 * credential in the map is live. Dead credentials are kept an hour so that
 * a holder's denial says why; they must never crowd out live ones, which a
 * churn of short-lived credentials (procbindctl run per job) would do. */
int pb_cred_make_room(struct pb_agent *a)
{
	size_t oldest = SIZE_MAX;

	for (size_t i = 0; i < a->creds.store.n; i++) {
		const struct pb_cred_meta *m = &a->creds.store.v[i];

		if (m->died && (oldest == SIZE_MAX || m->died < a->creds.store.v[oldest].died))
			oldest = i;
	}
	if (oldest == SIZE_MAX)
		return -ENOSPC;
	pb_cred_forget(a, &a->creds.store.v[oldest]);
	pb_journal_forget(&a->creds.journal, a->creds.store.v[oldest].id);
	pb_cred_store_remove_at(&a->creds.store, oldest);
	a->creds.forgotten_early++;
	return 0;
}

/* When a dead credential's retention has ended (the first boot ns past it). */
static uint64_t pb_retention_end(const struct pb_agent *a, const struct pb_cred_meta *m)
{
	return m->died + a->conf.dead_retention + 1;
}

/* A dead credential keeps its token file and the file's registration until
 * the retention ends: whoever opens it later is recorded as a holder and
 * denied, so a token left lying around stays a tripwire. */
static void pb_cred_bury(struct pb_agent *a, struct pb_cred_meta *m, const char *death)
{
	if (m->died)
		return;
	m->died = pb_now_boot_ns();
	m->death = death;
	pb_creds_tally(a, m->identity, death);
	pb_journal_put(&a->creds.journal, m);
	pb_creds_due(a, pb_retention_end(a, m));
	pb_emit_cred_event(a, death[0] == 'r' ? "credential_revoked" : "credential_ended", m,
			   death);
}

/* If the token file was deleted or replaced, its inode number may be given
 * to an unrelated file: stop treating that inode as a credential. */
void pb_cred_check_file(struct pb_agent *a, struct pb_cred_meta *m)
{
	struct stat st;

	if (!m->path)
		return;
	if (!lstat(m->path, &st) && pb_dev_to_kernel(st.st_dev) == m->file.dev &&
	    st.st_ino == m->file.ino)
		return;
	pb_info("mint: token file %s was removed; its inode is no longer watched", m->path);
	bpf_map_delete_elem(bpf_map__fd(a->kern.skel->maps.cred_files), &m->file);
	pb_cred_meta_set(&m->path, NULL);
	pb_journal_put(&a->creds.journal, m);
}

/* The end of retention: the token file and every kernel entry go. A process
 * still holding the id is then denied as "revoked" (unknown ids fail closed). */
static void pb_cred_forget(struct pb_agent *a, struct pb_cred_meta *m)
{
	pb_cred_check_file(a, m);
	if (m->path) {
		pb_guard_unmark(a, m->path);
		unlink(m->path);
	}
	pb_creds_unbind(a, m->id, &m->file);
}

int pb_revoke(struct pb_agent *a, uint64_t id, char *err, size_t errlen)
{
	return pb_revoke_why(a, id, "revoked", err, errlen);
}

int pb_revoke_why(struct pb_agent *a, uint64_t id, const char *death, char *err, size_t errlen)
{
	struct pb_cred_meta *m = pb_cred_find(a, id);
	char idhex[17];

	pb_id_format(id, idhex);
	if (!m) {
		snprintf(err, errlen, "revoke: unknown credential %s", idhex);
		return -ENOENT;
	}
	if (m->bind.flags & PB_CRED_REVOKED) {
		snprintf(err, errlen, "revoke: credential %s is already revoked", idhex);
		return -EALREADY;
	}
	m->bind.flags |= PB_CRED_REVOKED;
	if (bpf_map_update_elem(bpf_map__fd(a->kern.skel->maps.creds), &id, &m->bind, BPF_ANY)) {
		int ret = -errno;

		m->bind.flags &= ~PB_CRED_REVOKED;
		snprintf(err, errlen, "revoke: credential map: %s", strerror(-ret));
		return ret;
	}
	pb_fast_bump(a); /* no allow kept from before stands */
	m->died = 0;	 /* revocation wins over an earlier natural death in the record */
	pb_cred_bury(a, m, death);
	pb_creds_flush(a);
	return 0;
}

/* The owner and file checks cost a syscall each: at most this many a
 * second, in turn, so that a million credentials do not keep the agent busy
 * (the kernel refuses an exited owner's credential on its own; the sweep
 * only writes the record of its end and forgets it). */
#define PB_SWEEP_SYSCALLS 4096

void pb_creds_tick(struct pb_agent *a)
{
	int procs_fd = bpf_map__fd(a->kern.skel->maps.procs);
	uint64_t now = pb_now_boot_ns(), next = UINT64_MAX;
	size_t n = a->creds.store.n, k = n < PB_SWEEP_SYSCALLS ? n : PB_SWEEP_SYSCALLS;

	/* 1. this second's share of the owner and file checks */
	for (size_t j = 0; j < k; j++) {
		struct pb_cred_meta *m = &a->creds.store.v[(a->creds.sweep + j) % n];
		struct pb_proc owner;
		__u32 tgid = m->bind.owner.tgid;

		if (m->adopt)
			continue; /* the adopt module keeps it */
		/* an expired one ends as expired, below, whatever its owner did */
		if (!m->died && now < m->bind.expires &&
		    (bpf_map_lookup_elem(procs_fd, &tgid, &owner) ||
		     owner.self.start_time != m->bind.owner.start_time))
			pb_cred_bury(a, m, "owner_exited");
		pb_cred_check_file(a, m);
	}
	a->creds.sweep = n ? (a->creds.sweep + k) % n : 0;
	/* 2. expiries and the ends of retention, in one pass when one is due
	 * (pb_creds_due keeps the earliest) */
	if (now < a->creds.due)
		goto save;
	for (size_t i = 0; i < a->creds.store.n;) {
		struct pb_cred_meta *m = &a->creds.store.v[i];

		if (!m->died && now >= m->bind.expires)
			pb_cred_bury(a, m, "expired");
		/* died may be stamped after now was read: compare, never subtract */
		if (m->died && now > m->died + a->conf.dead_retention) {
			pb_cred_forget(a, m);
			pb_journal_forget(&a->creds.journal, m->id);
			pb_cred_store_remove_at(&a->creds.store, i);
			continue;
		}
		if (!m->died && m->bind.expires < next)
			next = m->bind.expires;
		if (m->died && pb_retention_end(a, m) <= next)
			next = pb_retention_end(a, m);
		i++;
	}
	a->creds.due = next;
save:
	pb_creds_flush(a);
}

/* ---- what the agent knows of its credentials, across restarts ---- */

/* After adopting pinned maps: what the last agent knew (journal.h). A
 * credential the kernel no longer has is dropped; one it has but the
 * journal lacks stays enforced by the kernel and is reported by id only.
 * The journal is then rewritten from what was kept. */
int pb_creds_load(struct pb_agent *a)
{
	int creds_fd = bpf_map__fd(a->kern.skel->maps.creds);
	struct pb_cred_store read = {0};
	unsigned int n = 0, dropped = 0;
	size_t nread;
	int torn, err;

	pb_journal_init(&a->creds.journal, a->conf.state_dir);
	err = pb_journal_replay(&a->creds.journal, &read, &torn);
	if (err && err != -ENOMEM) {
		pb_cred_store_free(&read);
		return err;
	}
	for (size_t i = 0; i < read.n; i++) {
		struct pb_cred_meta *m = &read.v[i];
		struct pb_cred kc;

		if (bpf_map_lookup_elem(creds_fd, &m->id, &kc)) {
			dropped++;
			continue;
		}
		if (pb_cred_store_reserve(&a->creds.store))
			break;		  /* out of memory: the kernel still enforces the rest */
		m->bind.flags = kc.flags; /* the kernel's word on revocation */
		pb_cred_store_add(&a->creds.store, m);
		memset(m, 0, sizeof(*m)); /* its strings are the store's now */
		n++;
	}
	nread = read.n;
	pb_cred_store_free(&read);
	pb_info("mint: adopted %u credentials (%u no longer in the kernel)%s", n, dropped,
		torn ? "; the journal's torn last line was cut" : "");
	/* as it is, unless it says more than the kernel holds or is long: a
	 * million credentials are not written again at every start */
	if (!dropped && !err && n == nread &&
	    a->creds.journal.lines <= 2 * a->creds.store.n + PB_JOURNAL_SLACK)
		return pb_journal_reopen(&a->creds.journal);
	return pb_journal_rewrite(&a->creds.journal, &a->creds.store);
}

/* A fresh start: the journal of an earlier run names credentials no kernel
 * map holds; it starts empty. */
int pb_creds_journal_reset(struct pb_agent *a)
{
	pb_journal_init(&a->creds.journal, a->conf.state_dir);
	return pb_journal_rewrite(&a->creds.journal, &a->creds.store);
}

void pb_creds_stop(struct pb_agent *a)
{
	pb_journal_close(&a->creds.journal);
	pb_cred_store_free(&a->creds.store);
	pb_node_key_wipe(&a->key);
}

/* After a restart: mark every live credential file in the new guard's
 * group. A file that cannot be guarded is a credential that cannot be kept:
 * it is revoked (closed), and said so. */
int pb_creds_guard_all(struct pb_agent *a)
{
	unsigned int n = 0;

	for (size_t i = 0; i < a->creds.store.n; i++) {
		struct pb_cred_meta *m = &a->creds.store.v[i];
		char why[256];
		int err;

		pb_cred_check_file(a, m);
		if (!m->path)
			continue;
		err = pb_guard_mark(a, -1, m->path);
		if (!err) {
			n++;
			continue;
		}
		pb_error("guard: cannot mark %s: %s; its credential is revoked", m->path,
			 strerror(-err));
		if (!(m->bind.flags & PB_CRED_REVOKED))
			pb_revoke_why(a, m->id, "revoked", why, sizeof(why));
	}
	if (a->guard.fan_fd >= 0)
		pb_info("guard: %u credential files marked", n);
	return 0;
}

void pb_creds_tally(struct pb_agent *a, const char *identity, const char *reason)
{
	struct pb_creds *c = &a->creds;
	size_t i;

	if (!reason)
		reason = "";
	for (i = 0; i < c->ntally; i++)
		if (!strcmp(c->tally[i].identity, identity) && !strcmp(c->tally[i].reason, reason))
			break;
	if (i == c->ntally) {
		if (c->ntally == PB_TALLY_MAX) {
			identity = "other"; /* the table is full: counted, not named */
			for (i = 0; i < c->ntally; i++)
				if (!strcmp(c->tally[i].identity, identity) &&
				    !strcmp(c->tally[i].reason, reason))
					break;
			if (i == c->ntally)
				i = c->ntally - 1; /* the last entry takes the rest */
		} else {
			c->ntally++;
			snprintf(c->tally[i].identity, sizeof(c->tally[i].identity), "%s",
				 identity);
			snprintf(c->tally[i].reason, sizeof(c->tally[i].reason), "%s", reason);
		}
	}
	c->tally[i].n++;
}
