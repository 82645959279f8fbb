// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The credentials' journal (journal.h): one appended line per change, a
 * replay that keeps the last record of each id, and a rewrite when the
 * file has grown to twice what it describes. No BPF: the unit tests run it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "json_u64.h"
#include "log.h"
#include "util.h"

void pb_journal_init(struct pb_journal *j, const char *dir)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	snprintf(j->path, sizeof(j->path), "%s/creds.jsonl", dir);
}

void pb_journal_close(struct pb_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	pb_buf_free(&j->pending);
	j->npending = 0;
}

void pb_journal_record(struct pb_buf *b, const struct pb_cred_meta *m)
{
	char idhex[17], ih[17]; /* 64-bit hashes as hex: jansson reads only int64 */

	pb_id_format(m->id, idhex);
	pb_id_format(m->bind.ident, ih);
	pb_json_begin(b);
	pb_json_str(b, "id", idhex);
	pb_json_u64(b, "start_time", m->bind.owner.start_time);
	pb_json_u64(b, "cgroup_id", m->bind.cgroup_id);
	pb_json_u64(b, "exe_dev", m->bind.exe_dev);
	pb_json_u64(b, "exe_ino", m->bind.exe_ino);
	pb_json_u64(b, "expires", m->bind.expires);
	pb_json_str(b, "ident", ih);
	pb_json_u64(b, "tgid", m->bind.owner.tgid);
	pb_json_u64(b, "flags", m->bind.flags);
	pb_json_u64(b, "file_dev", m->file.dev);
	pb_json_u64(b, "file_ino", m->file.ino);
	pb_json_str(b, "identity", m->identity);
	pb_json_strn(b, "comm", m->comm, strnlen(m->comm, sizeof(m->comm)));
	pb_json_str(b, "exe", pb_str(m->exe));
	pb_json_str(b, "cgroup", pb_str(m->cgroup));
	pb_json_str(b, "path", pb_str(m->path));
	pb_json_u64(b, "uid", m->uid);
	pb_json_u64(b, "issued", m->issued);
	pb_json_u64(b, "died", m->died);
	pb_json_str(b, "death", m->death);
	pb_json_end(b);
}

/* End a line of b: the next object starts a line of its own. */
static void pb_journal_eol(struct pb_buf *b)
{
	pb_buf_append(b, "\n", 1);
	b->need_comma = 0;
}

void pb_journal_put(struct pb_journal *j, const struct pb_cred_meta *m)
{
	if (m->adopt)
		return;
	pb_journal_record(&j->pending, m);
	pb_journal_eol(&j->pending);
	j->npending++;
}

void pb_journal_forget(struct pb_journal *j, uint64_t id)
{
	char idhex[17];

	pb_id_format(id, idhex);
	pb_json_begin(&j->pending);
	pb_json_str(&j->pending, "op", "forget");
	pb_json_str(&j->pending, "id", idhex);
	pb_json_end(&j->pending);
	pb_journal_eol(&j->pending);
	j->npending++;
}

int pb_journal_rewrite(struct pb_journal *j, const struct pb_cred_store *s)
{
	char tmp[PATH_MAX + 8];
	struct pb_buf b = {0};
	size_t lines = 0;
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return pb_err(-errno, "mint: journal %s: %m", tmp);
	for (size_t i = 0; i < s->n && !ret; i++) {
		if (s->v[i].adopt)
			continue;
		pb_journal_record(&b, &s->v[i]);
		pb_journal_eol(&b);
		lines++;
		if (b.failed)
			ret = -ENOMEM;
		else if (b.len >= 1 << 20) {
			ret = pb_write_full(fd, b.data, b.len);
			pb_buf_reset(&b);
		}
	}
	if (!ret && b.len)
		ret = pb_write_full(fd, b.data, b.len);
	pb_buf_free(&b);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, j->path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return pb_err(ret, "mint: journal %s: rewrite: %s", j->path, strerror(-ret));
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (j->fd < 0)
		return pb_err(-errno, "mint: journal %s: %m", j->path);
	j->lines = lines;
	j->rewrites++;
	/* what was pending is in the rewrite (s holds it) */
	pb_buf_reset(&j->pending);
	j->npending = 0;
	return 0;
}

int pb_journal_reopen(struct pb_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return pb_err(-errno, "mint: journal %s: %m", j->path);
	return 0;
}

int pb_journal_flush(struct pb_journal *j, const struct pb_cred_store *s)
{
	int ret;

	if (!j->npending)
		return 0;
	if (j->pending.failed) {
		/* a line could not be held: the store is the truth, write it whole */
		return pb_journal_rewrite(j, s);
	}
	if (j->fd < 0)
		return pb_journal_rewrite(j, s);
	if (j->lines + j->npending > 2 * s->n + PB_JOURNAL_SLACK)
		return pb_journal_rewrite(j, s);
	ret = pb_write_full(j->fd, j->pending.data, j->pending.len);
	if (!ret && fdatasync(j->fd))
		ret = -errno;
	if (ret) {
		/* a short append may have left a torn line: the next flush
		 * rewrites the file whole, from the store */
		close(j->fd);
		j->fd = -1;
		return pb_err(ret, "mint: journal %s: append: %s", j->path, strerror(-ret));
	}
	j->lines += j->npending;
	pb_buf_reset(&j->pending);
	j->npending = 0;
	return 0;
}

static const char *pb_death_name(const char *s)
{
	static const char *const names[] = {"expired", "revoked", "owner_exited",
					    "identity_removed"};

	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return names[i];
	return s ? "revoked" : NULL;
}

static void pb_jcopy(json_t *o, const char *k, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(o, k));

	snprintf(out, len, "%s", v ? v : "");
}

/* One record line into m: 0, -EINVAL (no id), -ENOMEM. */
static int pb_journal_parse(json_t *o, struct pb_cred_meta *m)
{
	uint64_t ident = 0;

	if (pb_id_parse(json_string_value(json_object_get(o, "id")), &m->id) || !m->id)
		return -EINVAL;
#define U(k) pb_json_u64_get(o, k)
	m->bind.owner.start_time = U("start_time");
	m->bind.cgroup_id = U("cgroup_id");
	m->bind.exe_dev = U("exe_dev");
	m->bind.exe_ino = U("exe_ino");
	m->bind.expires = U("expires");
	m->bind.owner.tgid = U("tgid");
	m->bind.flags = U("flags");
	m->file.dev = U("file_dev");
	m->file.ino = U("file_ino");
	m->uid = U("uid");
	m->issued = U("issued");
	m->died = U("died");
#undef U
	pb_id_parse(json_string_value(json_object_get(o, "ident")), &ident);
	m->bind.ident = ident;
	pb_jcopy(o, "identity", m->identity, sizeof(m->identity));
	pb_jcopy(o, "comm", m->comm, sizeof(m->comm));
	m->death = pb_death_name(json_string_value(json_object_get(o, "death")));
	if (pb_cred_meta_set(&m->exe, json_string_value(json_object_get(o, "exe"))) ||
	    pb_cred_meta_set(&m->cgroup, json_string_value(json_object_get(o, "cgroup"))) ||
	    pb_cred_meta_set(&m->path, json_string_value(json_object_get(o, "path"))))
		return -ENOMEM;
	return 0;
}

/* Apply one whole line to s: 0, -EINVAL (skipped), -ENOMEM. */
static int pb_journal_apply(struct pb_journal *j, struct pb_cred_store *s, const char *line)
{
	json_error_t je;
	json_t *o = json_loads(line, 0, &je);
	struct pb_cred_meta m = {0}, *old;
	const char *op;
	int ret;

	if (!o) {
		pb_warn("mint: %s: a line does not parse (%s); skipped", j->path, je.text);
		return -EINVAL;
	}
	op = json_string_value(json_object_get(o, "op"));
	if (op && !strcmp(op, "forget")) {
		uint64_t id = 0;

		pb_id_parse(json_string_value(json_object_get(o, "id")), &id);
		json_decref(o);
		old = id ? pb_cred_store_find(s, id) : NULL;
		if (old)
			pb_cred_store_remove_at(s, (size_t)(old - s->v));
		return 0;
	}
	ret = op && strcmp(op, "put") ? -EINVAL : pb_journal_parse(o, &m);
	json_decref(o);
	if (ret) {
		pb_cred_meta_clear(&m);
		if (ret == -EINVAL)
			pb_warn("mint: %s: a line names no credential; skipped", j->path);
		return ret;
	}
	old = pb_cred_store_find(s, m.id);
	if (old) {
		/* the later record of the id replaces the earlier, in place */
		pb_cred_meta_clear(old);
		*old = m;
		return 0;
	}
	if (pb_cred_store_reserve(s)) {
		pb_cred_meta_clear(&m);
		return -ENOMEM;
	}
	pb_cred_store_add(s, &m);
	return 0;
}

int pb_journal_replay(struct pb_journal *j, struct pb_cred_store *s, int *torn)
{
	char *line = NULL;
	size_t cap = 0;
	off_t good = 0; /* the end of the last whole line */
	ssize_t len;
	FILE *f;
	int ret = 0;

	*torn = 0;
	j->lines = 0;
	f = fopen(j->path, "re");
	if (!f)
		return errno == ENOENT ? 0 : pb_err(-errno, "mint: open %s: %m", j->path);
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n') {
			*torn = 1; /* the last line, written in part */
			break;
		}
		good += len;
		j->lines++;
		ret = pb_journal_apply(j, s, line);
		if (ret == -ENOMEM)
			break;
		ret = 0;
	}
	free(line);
	fclose(f);
	if (*torn) {
		pb_warn("mint: %s: the last line was written in part (a crash); it is cut",
			j->path);
		if (truncate(j->path, good))
			return pb_err(-errno, "mint: truncate %s: %m", j->path);
	}
	return ret;
}
