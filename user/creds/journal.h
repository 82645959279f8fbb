/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* STATE-DIR/creds.jsonl: what the agent knows of the credentials it minted,
 * so that a restarted agent can name and retire them (the kernel holds the
 * bindings themselves). An append-only journal: a change writes one line,
 * whatever the number of credentials, and the file is rewritten whole only
 * when it has grown to twice what it describes.
 *
 * A line is a credential's whole record (the last one for an id wins) or
 * {"op":"forget","id":...} (the id is gone). The file of older agents, one
 * record per credential and no "op", is a journal already. A torn last line
 * (a crash during a write) is cut when the journal is read, as the audit
 * trail cuts its own. */
#ifndef PB_JOURNAL_H
#define PB_JOURNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "cred_store.h"
#include "json.h"

/* Lines the file may hold beyond twice the live records before it is
 * rewritten (so that a few credentials do not rewrite it on every change). */
#define PB_JOURNAL_SLACK 1024

struct pb_journal {
	int fd;		       /* open for appending; -1 before pb_journal_rewrite */
	char path[PATH_MAX];   /* DIR/creds.jsonl */
	size_t lines;	       /* whole lines in the file */
	struct pb_buf pending; /* lines not yet written */
	size_t npending;
	uint64_t rewrites; /* compactions since the agent started */
};

/* Name the journal in dir (nothing is opened). */
void pb_journal_init(struct pb_journal *j, const char *dir);
/* Replay the file into s (which must hold none of its ids): 0 or -errno
 * (an absent file is an empty journal). A torn last line is cut from the
 * file; *torn says so. A line that does not parse is skipped and logged.
 * On -ENOMEM what was read is kept. */
int pb_journal_replay(struct pb_journal *j, struct pb_cred_store *s, int *torn);
/* Rewrite the file from s (tmp, fsync, rename) and open it for appending:
 * after the replay, and whenever it has grown too long. 0 or -errno. */
int pb_journal_rewrite(struct pb_journal *j, const struct pb_cred_store *s);
/* After a replay that needs no rewrite (nothing cut, nothing dropped, not
 * too long): open the file for appending as it is. 0 or -errno. */
int pb_journal_reopen(struct pb_journal *j);
/* A changed or new record; an id gone. Buffered until pb_journal_flush.
 * Adopted files (m->adopt) are not the journal's: the policy binds them
 * again. */
void pb_journal_put(struct pb_journal *j, const struct pb_cred_meta *m);
void pb_journal_forget(struct pb_journal *j, uint64_t id);
/* Write what is pending in one append and make it durable (fdatasync);
 * rewrite the file from s when it is too long. 0 or -errno (pending lines
 * are kept for the next call). */
int pb_journal_flush(struct pb_journal *j, const struct pb_cred_store *s);
void pb_journal_close(struct pb_journal *j);

/* One record as its journal line (no newline): what a rewrite writes. */
void pb_journal_record(struct pb_buf *b, const struct pb_cred_meta *m);

#endif
