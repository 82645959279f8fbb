// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The audit trail's readers, given a log someone edited: verify, scan (by
 * key and whole) and the next agent's recovery of the tail.
 *
 * An input is the log's files, each part after a line "--pbfuzz--":
 * the segment (seg-0000000000000001.jsonl), its index (.idx) and
 * checkpoints.log. The first byte's bit 0 gzips the segment (the reader's
 * path for a closed segment); bit 1 also opens the log for writing as the
 * next agent would, appends a record and closes it, then verifies again.
 *
 * PB_FUZZ_AUDIT_SEED=DIR: write a genuine log of a few records, signed with
 * the test key, to DIR as one input (how tests/fuzz/corpus/audit began). */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "audit.h"
#include "fuzz.h"

#define SEP "\n--pbfuzz--\n"

static unsigned char pk[32], sk[64];
static char dir[64];
static const char *const files[] = {"seg-0000000000000001.jsonl", "seg-0000000000000001.idx",
				    "checkpoints.log"};

static void clear_dir(void)
{
	struct dirent *de;
	char path[128];
	DIR *d = opendir(dir);

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

static void put(const char *name, const void *p, size_t n, int gz)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s%s", dir, name, gz ? ".gz" : "");
	if (gz) {
		gzFile f = gzopen(path, "wb");

		if (!f)
			abort();
		if (n)
			gzwrite(f, p, (unsigned)n);
		gzclose(f);
	} else {
		FILE *f = fopen(path, "wb");

		if (!f)
			abort();
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static int count(const char *line, size_t len, void *ctx)
{
	PB_CHECK(len == 0 || line[len - 1] != '\n');
	(*(size_t *)ctx)++;
	return 0;
}

static void append_some(int from, int n)
{
	struct pb_audit_opts o;
	struct pb_audit_recovery rec;
	struct pb_audit *w;
	char err[256], obj[256];

	pb_audit_opts_default(&o);
	o.compress = 0;
	o.fsync = 0;
	if (pb_audit_open(&w, dir, "fuzz", sk, &o, &rec, err, sizeof(err))) {
		PB_CHECK(err[0]);
		return;
	}
	for (int i = from; i < from + n; i++) {
		snprintf(obj, sizeof(obj),
			 "{\"event\":\"exec\",\"time\":\"2026-11-29T10:00:00.000Z\",\"node\":\"fuzz\","
			 "\"process\":{\"pid\":%d,\"pid_ns\":\"host\",\"start_time\":%d}}",
			 100 + i % 3, 7000 + i % 3);
		pb_audit_append(w, obj, strlen(obj));
	}
	pb_audit_close(w);
}

/* One input from a genuine log (PB_FUZZ_AUDIT_SEED). */
static void write_seed(const char *out)
{
	FILE *o = fopen(out, "wb");

	if (!o)
		abort();
	fputc(0, o);
	append_some(0, 6);
	for (size_t i = 0; i < 3; i++) {
		char path[128], b[1 << 16];
		size_t n;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (i)
			fputs(SEP, o);
		if (!(f = fopen(path, "rb")))
			continue;
		n = fread(b, 1, sizeof(b), f);
		fwrite(b, 1, n, o);
		fclose(f);
	}
	fclose(o);
	clear_dir();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed = getenv("PB_FUZZ_AUDIT_SEED");

	(void)argc;
	(void)argv;
	pb_fuzz_key(pk, sk);
	snprintf(dir, sizeof(dir), "%s/pbfuzz-audit-%d",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
	if (mkdir(dir, 0700))
		abort();
	if (seed) {
		write_seed(seed);
		rmdir(dir);
		exit(0);
	}
	return 0;
}

static void read_all(void)
{
	static const char *const keys[] = {"pid:100"};
	uint64_t n = 0;
	size_t lines = 0;
	char err[512] = "";

	if (pb_audit_verify(dir, pk, &n, err, sizeof(err)))
		PB_CHECK(err[0]); /* a failed check names the record */
	err[0] = 0;
	if (pb_audit_scan(dir, NULL, 0, count, &lines, err, sizeof(err)))
		PB_CHECK(err[0]);
	pb_audit_scan(dir, keys, 1, count, &lines, err, sizeof(err));
	pb_audit_scan_from(dir, 3, 0, keys, 1, count, &lines, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p, *end = data + size;

	if (size < 1)
		return 0;
	clear_dir();
	p = data + 1;
	for (size_t i = 0; i < 3 && p <= end; i++) {
		const uint8_t *e = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
		size_t n = (size_t)((e ? e : end) - p);

		put(files[i], p, n, i == 0 && (data[0] & 1));
		if (!e)
			break;
		p = e + strlen(SEP);
	}
	read_all();
	if (data[0] & 2) {
		append_some(100, 2);
		read_all();
	}
	return 0;
}
