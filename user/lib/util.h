/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small helpers shared by the agent and the CLI: names of reasons and
 * verdicts, durations, clocks, ids and device numbers. */
#ifndef PB_UTIL_H
#define PB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procbind/abi.h"

/* An identity name, with its NUL. */
#define PB_IDENTITY_LEN 64

const char *pb_reason_name(unsigned int r);
/* Name of an operational counter (PB_CNT_OPS_BASE .. PB_CNT_MAX - 1). */
const char *pb_counter_name(unsigned int c); /* "foreign_pid", ... */
const char *pb_counter_help(unsigned int c); /* one line for the metrics */
const char *pb_verdict_name(unsigned int v); /* "allow", "deny", "monitor" */
const char *pb_mode_name(unsigned int m);    /* "monitor", "enforce" */
const char *pb_hook_name(unsigned int h);    /* "connect4", ... */
const char *pb_anomaly_name(unsigned int k); /* "procs_full", ... */
const char *pb_access_name(unsigned int k);  /* "open", "read", ... */
const char *pb_source_name(unsigned int k);  /* "fanotify", "lsm" */
int pb_mode_parse(const char *s);	     /* enum pb_mode or -EINVAL */

/* "90s", "10m", "1h", "2d", "500ms" or plain seconds -> ns. 0 or -EINVAL. */
int pb_duration_parse(const char *s, uint64_t *ns);

uint64_t pb_now_boot_ns(void); /* CLOCK_BOOTTIME */
/* pidfd_open(2) and pidfd_send_signal(2) (5.3+, 5.1+): -1 and errno */
int pb_pidfd_open(int pid);
int pb_pidfd_signal(int pidfd, int sig);
uint64_t pb_now_real_ns(void); /* CLOCK_REALTIME */
/* Boot-time ns -> RFC 3339 UTC with ms, into buf (>= 32 bytes). */
void pb_boot_to_rfc3339(uint64_t boot_ns, char *buf, size_t len);

/* Credential ids print as 16 lowercase hex digits. */
/* v in decimal into out (at least 21 bytes), NUL-terminated, without printf. */
void pb_u64_dec(uint64_t v, char *out);
void pb_id_format(uint64_t id, char out[17]);
int pb_id_parse(const char *s, uint64_t *id);

/* Userspace st_dev -> the kernel's internal dev_t (MAJOR << 20 | MINOR),
 * which is what BPF reads from inode->i_sb->s_dev. */
uint64_t pb_dev_to_kernel(dev_t dev);

/* FNV-1a over n bytes, continuing from h (start with PB_FNV_INIT). For
 * stable ids and index keys, not for anything an attacker chooses freely. */
#define PB_FNV_INIT 0xcbf29ce484222325ULL
uint64_t pb_fnv1a(uint64_t h, const void *data, size_t n);

/* Write a one-line message to err and return code: the way functions that
 * report to a caller (a control reply) fail, in one line:
 * return pb_errf(err, errlen, -EPERM, "mint: ...", ...). */
int pb_errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parse a whole decimal number into [min, max]; 0 or -EINVAL/-ERANGE. */
/* Write all of buf to fd (a short write is continued, EINTR retried): 0 or
 * -errno. */
int pb_write_full(int fd, const void *buf, size_t len);
/* The decimal digits at p (before end) -> *out: how many, or -1. Never
 * reads past end (sscanf would strlen the whole buffer). */
int pb_parse_dec(const char *p, const char *end, unsigned long long *out);
int pb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Of names, the one word is most likely a typo of (at most two edits
 * away, or its start), or NULL: for "did you mean". */
const char *pb_closest(const char *word, const char *const *names, size_t n);
/* A TCP listening address, numeric only (no name is looked up):
 * "127.0.0.1:9464", "[::1]:9464", or ":9464" and "[::]:9464" for every
 * address (IPv6 and IPv4). The port is 1-65535. 0, or -EINVAL and why. */
/* A cgroup matched later than it appeared: its Kubernetes names were not
 * known yet, or it had no name yet (unnamed: the mkdir hook runs before the
 * kernel makes the new directory visible, and a woken agent can be quicker),
 * or (adopt) its process or file was not there yet. */
struct pb_pending {
	uint64_t cgroup_id;
	uint64_t since; /* boot ns */
	int unnamed;
};
/* Add cgid to the list *v of *n entries (room for *cap) unless it is in it:
 * 0, or -ENOMEM (the list is as it was). */
int pb_pending_push(struct pb_pending **v, size_t *n, size_t *cap, uint64_t cgid, int unnamed);

struct sockaddr_storage;
int pb_listen_addr_parse(const char *s, struct sockaddr_storage *ss, unsigned int *len, char *err,
			 size_t errlen);

#endif
