// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pb_floor: load tools/floor.bpf.c and run one floor until SIGTERM/SIGINT.
 *
 *   pb_floor OBJECT connect CGROUP_DIR   attach floor_connect4 to the cgroup
 *   pb_floor OBJECT execsnoop            attach the execsnoop pair and read
 *                                        its events (counted, not printed)
 * Prints "ready" once attached; at the end "events=N" for execsnoop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int count_event(void *ctx, void *data, size_t len)
{
	(void)data, (void)len;
	++*(unsigned long *)ctx;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_link *links[2] = {0};
	struct ring_buffer *rb = NULL;
	unsigned long events = 0;
	int execsnoop, ret = 1;

	if (argc < 3 || ((strcmp(argv[2], "connect") || argc != 4) &&
			 (strcmp(argv[2], "execsnoop") || argc != 3))) {
		fprintf(stderr, "usage: pb_floor OBJECT connect CGROUP_DIR | pb_floor OBJECT execsnoop\n");
		return 2;
	}
	execsnoop = !strcmp(argv[2], "execsnoop");
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "pb_floor: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "floor_connect4"),
				  !execsnoop);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "snoop_enter"), execsnoop);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "snoop_exit"), execsnoop);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "pb_floor: load: %s\n", strerror(errno));
		goto out;
	}
	if (execsnoop) {
		links[0] = bpf_program__attach(bpf_object__find_program_by_name(obj, "snoop_enter"));
		links[1] = bpf_program__attach(bpf_object__find_program_by_name(obj, "snoop_exit"));
		rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "snoop_events"),
				      count_event, &events, NULL);
		if (!links[0] || !links[1] || !rb) {
			fprintf(stderr, "pb_floor: attach execsnoop: %s\n", strerror(errno));
			goto out;
		}
	} else {
		int cg = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		links[0] = cg < 0 ? NULL
				  : bpf_program__attach_cgroup(
					bpf_object__find_program_by_name(obj, "floor_connect4"), cg);
		if (!links[0]) {
			fprintf(stderr, "pb_floor: attach to %s: %s\n", argv[3], strerror(errno));
			goto out;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		if (rb)
			ring_buffer__poll(rb, 100);
		else
			pause();
	}
	if (rb) {
		ring_buffer__consume(rb);
		printf("events=%lu\n", events);
	}
	ret = 0;
out:
	ring_buffer__free(rb);
	bpf_link__destroy(links[0]);
	bpf_link__destroy(links[1]);
	bpf_object__close(obj);
	return ret;
}
