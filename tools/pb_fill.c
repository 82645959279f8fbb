// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_fill: simulated processes and credentials, for tools/bench_cost.sh.
 *
 *   pb_fill PIN_DIR N [STATE_DIR]
 *
 * Adds N process records to the pinned map procs, under tgids from 5,000,000
 * up (above PID_MAX_LIMIT: no real process ever has one), each holding one
 * credential that is added to map creds, bound to it and expiring in a day.
 * With STATE_DIR, the credentials are also appended to STATE_DIR/creds.jsonl
 * as the agent writes them, so that the next agent adopts them with the
 * maps: it then keeps N credentials whose owners it finds alive. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "procbind/abi.h"

#define FIRST_TGID 5000000u
#define CHUNK	   4096

static int open_map(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "pb_fill: %s: %s\n", path, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	static __u32 tgids[CHUNK];
	static struct pb_proc procs[CHUNK];
	static __u64 ids[CHUNK];
	static struct pb_cred creds[CHUNK];
	struct timespec ts;
	FILE *jf = NULL;
	__u64 expires;
	long n;
	int pfd, cfd;

	if (argc < 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: pb_fill PIN_DIR N [STATE_DIR]\n");
		return 2;
	}
	pfd = open_map(argv[1], "procs");
	cfd = open_map(argv[1], "creds");
	if (pfd < 0 || cfd < 0)
		return 1;
	if (argc > 3) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/creds.jsonl", argv[3]);
		jf = fopen(path, "a");
		if (!jf) {
			fprintf(stderr, "pb_fill: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_BOOTTIME, &ts);
	expires = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec + 86400ULL * 1000000000ULL;
	for (long done = 0; done < n;) {
		__u32 count = (__u32)(n - done < CHUNK ? n - done : CHUNK);
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

		for (__u32 i = 0; i < count; i++) {
			__u32 tgid = FIRST_TGID + (__u32)(done + i);
			__u64 id = 0x5eed000000000000ULL | (__u64)(done + i);

			memset(&procs[i], 0, sizeof(procs[i]));
			procs[i].self.tgid = tgid;
			procs[i].self.start_time = 1000000000ULL + tgid;
			procs[i].parent.tgid = 1;
			procs[i].parent.start_time = 1;
			procs[i].cgroup_id = 1;
			procs[i].exe_dev = 1;
			procs[i].exe_ino = tgid;
			procs[i].nheld = 1;
			procs[i].held[0] = id;
			snprintf(procs[i].comm, sizeof(procs[i].comm), "sim%u", tgid);
			tgids[i] = tgid;
			memset(&creds[i], 0, sizeof(creds[i]));
			creds[i].owner = procs[i].self;
			creds[i].cgroup_id = 1;
			creds[i].exe_dev = 1;
			creds[i].exe_ino = tgid;
			creds[i].expires = expires;
			creds[i].ident = 0x5eed;
			ids[i] = id;
			if (jf)
				fprintf(jf,
					"{\"id\":\"%016" PRIx64 "\",\"start_time\":%" PRIu64
					",\"cgroup_id\":1,\"exe_dev\":1,\"exe_ino\":%u,\"expires\":%" PRIu64
					",\"ident\":\"0000000000005eed\",\"tgid\":%u,\"flags\":0,"
					"\"file_dev\":0,\"file_ino\":0,\"identity\":\"simulated\",\"comm\":"
					"\"sim\",\"exe\":\"/sim\",\"cgroup\":\"/\",\"path\":\"\",\"uid\":0,"
					"\"issued\":0,\"died\":0,\"death\":\"\"}\n",
					(uint64_t)id, (uint64_t)procs[i].self.start_time, tgid,
					(uint64_t)expires, tgid);
		}
		if (bpf_map_update_batch(pfd, tgids, procs, &count, &opts) ||
		    bpf_map_update_batch(cfd, ids, creds, &count, &opts)) {
			fprintf(stderr, "pb_fill: after %ld entries: %s\n", done, strerror(errno));
			return 1;
		}
		done += count;
	}
	if (jf && fclose(jf)) {
		fprintf(stderr, "pb_fill: creds.jsonl: %s\n", strerror(errno));
		return 1;
	}
	printf("filled %ld processes and %ld credentials\n", n, n);
	return 0;
}
