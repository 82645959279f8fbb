/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internals shared by the audit writer (audit.c) and readers (audit_read.c). */
#ifndef PB_AUDIT_PRIV_H
#define PB_AUDIT_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define PB_IDX_MAGIC "PBIDX1\n"

/* Key hashes present in a segment (open addressing, 0 = empty). failed:
 * one could not be added (memory), so the set is not the segment's. */
struct pb_keyset {
	uint64_t *slot;
	size_t cap, n;
	int failed;
};

/* A closed segment for the worker: its descriptor to sync and close (-1:
 * none), its path (NULL: none) to index and, with compress, to compress. */
struct pb_job {
	char *path;
	int fd;
	int compress;
};

struct pb_audit {
	char dir[PATH_MAX];
	char node[64];
	unsigned char sk[64];
	struct pb_audit_opts o;

	int fd;		     /* open segment */
	int ckfd;	     /* checkpoints.log */
	uint64_t seg_first;  /* its first sequence number (its name) */
	uint64_t seg_bytes;  /* written + buffered */
	uint64_t seg_opened; /* monotonic ns */
	uint64_t committed;  /* bytes on disk in the open segment */

	uint64_t seq;			  /* last record chained (maybe still buffered) */
	uint64_t appended;		  /* seq of the last pb_audit_append's record */
	uint64_t ref_epoch;		  /* pb_audit_ref_epoch: bumped when refs may dangle */
	char prev[PB_AUDIT_HASH_HEX + 1]; /* its hash */
	uint64_t c_seq;			  /* last record on disk */
	char c_prev[PB_AUDIT_HASH_HEX + 1];

	char *buf; /* records not yet written */
	size_t blen, bcap;
	uint64_t buf_records;

	uint64_t since_ckpt, last_ckpt, last_sync;
	uint64_t pending_gap, gap_after;
	int in_ctl, in_gap;

	struct pb_audit_stats st;

	pthread_t th; /* the worker: syncs and compression */
	int th_started, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pb_job *queue; /* closed segments */
	size_t nq, capq;
	int sync_pending, sync_fd, sync_ckfd; /* the open segment's sync, asked */
};

struct pb_seg {
	uint64_t first;
	int plain, gz, idx;
};

int pb_segments_list(const char *dir, struct pb_seg **out, size_t *n);
void pb_seg_file(const char *dir, const struct pb_seg *s, char *out, size_t len);
int pb_read_all(const char *path, char **out, size_t *len);
void pb_audit_now(char out[40]);

#endif
