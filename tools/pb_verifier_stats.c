// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the verifier makes of each program of a BPF object on the running
 * kernel: instructions processed and states (total, peak), each program
 * loaded on its own with the verifier's statistics (log level 4). With two
 * objects (before and after a change), both side by side with the ratio.
 * Nothing is attached or pinned; a program the kernel cannot load here
 * (BPF-LSM off, fentry refused) is listed with the reason.
 *
 *   pb_verifier_stats OBJECT [OBJECT2]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#define PB_MAX_PROGS 64
#define PB_LOG_LEN   (1 << 20)

struct pb_vstat {
	char name[64];
	long insns, total, peak; /* -1: not loaded */
	int err;
};

static int pb_quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l, (void)f, (void)ap;
	return 0;
}

static long pb_log_field(const char *log, const char *key)
{
	const char *p = strstr(log, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Each program of path, loaded alone: its figures into st. How many, or -errno. */
static int pb_object_stats(const char *path, struct pb_vstat *st)
{
	static char log[PB_LOG_LEN];
	struct bpf_object *probe = bpf_object__open_file(path, NULL);
	struct bpf_program *p;
	int n = 0;

	if (!probe)
		return -errno;
	bpf_object__for_each_program(p, probe)
	{
		if (n < PB_MAX_PROGS)
			snprintf(st[n++].name, sizeof(st[0].name), "%s", bpf_program__name(p));
	}
	bpf_object__close(probe);
	for (int i = 0; i < n; i++) {
		struct bpf_object *o = bpf_object__open_file(path, NULL);
		struct bpf_program *q;

		st[i].insns = st[i].total = st[i].peak = -1;
		if (!o)
			return -errno;
		bpf_object__for_each_program(q, o)
		{
			int me = !strcmp(bpf_program__name(q), st[i].name);

			bpf_program__set_autoload(q, me);
			if (me) {
				log[0] = 0;
				bpf_program__set_log_buf(q, log, sizeof(log));
				bpf_program__set_log_level(q, 4);
			}
		}
		st[i].err = bpf_object__load(o);
		if (!st[i].err) {
			st[i].insns = pb_log_field(log, "processed ");
			st[i].total = pb_log_field(log, "total_states ");
			st[i].peak = pb_log_field(log, "peak_states ");
		}
		bpf_object__close(o);
	}
	return n;
}

static const struct pb_vstat *pb_find(const struct pb_vstat *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void pb_cell(const struct pb_vstat *s)
{
	if (!s)
		printf(" %9s %7s %6s", "-", "-", "-");
	else if (s->insns < 0)
		printf(" %9s %7s %6s", "no load", "", "");
	else
		printf(" %9ld %7ld %6ld", s->insns, s->total, s->peak);
}

int main(int argc, char **argv)
{
	static struct pb_vstat a[PB_MAX_PROGS], b[PB_MAX_PROGS];
	int na, nb = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: pb_verifier_stats OBJECT [OBJECT2]\n");
		return 2;
	}
	libbpf_set_print(pb_quiet);
	na = pb_object_stats(argv[1], a);
	if (na < 0) {
		fprintf(stderr, "pb_verifier_stats: %s: %s\n", argv[1], strerror(-na));
		return 1;
	}
	if (argc == 3 && (nb = pb_object_stats(argv[2], b)) < 0) {
		fprintf(stderr, "pb_verifier_stats: %s: %s\n", argv[2], strerror(-nb));
		return 1;
	}
	printf("%-28s %9s %7s %6s", "program", "insns", "states", "peak");
	if (argc == 3)
		printf(" %9s %7s %6s %7s", "insns'", "states'", "peak'", "insns'/");
	printf("\n");
	for (int i = 0; i < na; i++) {
		const struct pb_vstat *o = argc == 3 ? pb_find(b, nb, a[i].name) : NULL;

		printf("%-28s", a[i].name);
		pb_cell(&a[i]);
		if (argc == 3) {
			pb_cell(o);
			if (o && o->insns > 0 && a[i].insns > 0)
				printf(" %7.2f", (double)o->insns / (double)a[i].insns);
		}
		if (a[i].insns < 0)
			printf("  (%s)", strerror(-a[i].err));
		printf("\n");
	}
	for (int i = 0; i < nb; i++)
		if (!pb_find(a, na, b[i].name)) {
			printf("%-28s", b[i].name);
			pb_cell(NULL);
			pb_cell(&b[i]);
			printf("\n");
		}
	return 0;
}
