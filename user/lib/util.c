// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers with no state: names, durations, clocks, ids, device numbers. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define PB_NAME_ENTRY(e, name) [e] = name,
static const char *const reason_names[PB_REASON_MAX] = {PB_REASONS(PB_NAME_ENTRY)};

const char *pb_reason_name(unsigned int r)
{
	return r < PB_REASON_MAX && reason_names[r] ? reason_names[r] : "unknown";
}

static const char *const counter_names[PB_CNT_MAX] = {PB_COUNTERS(PB_NAME_ENTRY)};

const char *pb_counter_name(unsigned int c)
{
	return c < PB_CNT_MAX && counter_names[c] ? counter_names[c] : "unknown";
}

const char *pb_counter_help(unsigned int c)
{
	static const struct {
		unsigned int c;
		const char *help;
	} h[] = {
	    {PB_CNT_EVENTS_LOST, "events the kernel could not put in the full ring buffer (each in "
				 "a gap record)"},
	    {PB_CNT_PROCS_FULL, "process records the kernel could not make (map procs full)"},
	    {PB_CNT_STALE_RECORD, "records found whose start time was another process's"},
	    {PB_CNT_CRED_ACQUIRED, "token files opened by a process that then held the credential"},
	    {PB_CNT_CRED_INHERITED, "children that inherited credentials at fork"},
	    {PB_CNT_NOCRED_CONNECT, "connects by processes holding nothing, allowed at once"},
	    {PB_CNT_NO_RECORD, "connects by processes without a record"},
	    {PB_CNT_ALLOW_REPEAT, "allowed connects to a recent destination, counted not reported"},
	    {PB_CNT_EXEMPT, "holders' connects to exempt destinations, not judged"},
	    {PB_CNT_NO_POLICY, "decisions made with no policy generation (closed)"},
	    {PB_CNT_TAGGED, "execs tagged with an identity"},
	    {PB_CNT_OPEN_ALLOWED, "BPF-LSM: opens of token files by the entitled"},
	    {PB_CNT_OPEN_REFUSED, "BPF-LSM: opens, receives, mappings and ptrace refused"},
	    {PB_CNT_EVENTS_SENT, "events the kernel put in the ring buffer"},
	    {PB_CNT_REFUSALS_FOLDED, "refusals counted in map refusals, not reported again"},
	    {PB_CNT_FOLD_FULL, "refusals reported in full because map refusals was full"},
	    {PB_CNT_BUDGET_FOLDED, "events of a process past its fair share of the ring buffer, "
				   "counted in map refusals, not sent"},
	};

	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (h[i].c == c)
			return h[i].help;
	return "a kernel counter";
}

static const char *const verdict_names[PB_VERDICT_MAX] = {PB_VERDICTS(PB_NAME_ENTRY)};
static const char *const mode_names[PB_MODE_MAX] = {PB_MODES(PB_NAME_ENTRY)};
static const char *const hook_names[PB_HOOK_MAX] = {PB_HOOKS(PB_NAME_ENTRY)};
static const char *const anomaly_names[PB_AN_MAX] = {PB_ANOMALIES(PB_NAME_ENTRY)};
static const char *const access_names[PB_ACC_MAX] = {PB_ACCESSES(PB_NAME_ENTRY)};
static const char *const source_names[PB_SRC_MAX] = {PB_SOURCES(PB_NAME_ENTRY)};

const char *pb_verdict_name(unsigned int v)
{
	return v < PB_VERDICT_MAX ? verdict_names[v] : "unknown";
}

const char *pb_mode_name(unsigned int m)
{
	return m == PB_MODE_ENFORCE ? mode_names[PB_MODE_ENFORCE] : mode_names[PB_MODE_MONITOR];
}

const char *pb_hook_name(unsigned int h)
{
	return h < PB_HOOK_MAX ? hook_names[h] : "?";
}

const char *pb_anomaly_name(unsigned int k)
{
	return k < PB_AN_MAX ? anomaly_names[k] : "?";
}

const char *pb_access_name(unsigned int k)
{
	return k < PB_ACC_MAX ? access_names[k] : "?";
}

const char *pb_source_name(unsigned int k)
{
	return k < PB_SRC_MAX ? source_names[k] : "?";
}

int pb_mode_parse(const char *s)
{
	for (int m = 0; m < PB_MODE_MAX; m++)
		if (!strcmp(s, mode_names[m]))
			return m;
	return -EINVAL;
}

int pb_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pb_parse_dec(const char *p, const char *end, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *q = p;

	while (q < end && *q >= '0' && *q <= '9' && q - p < 20)
		v = v * 10 + (unsigned)(*q++ - '0');
	if (q == p)
		return -1;
	*out = v;
	return (int)(q - p);
}

int pb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int pb_listen_addr_parse(const char *s, struct sockaddr_storage *ss, unsigned int *len, char *err,
			 size_t errlen)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (!colon)
		return pb_errf(err, errlen, -EINVAL, "'%s': expected HOST:PORT, [V6]:PORT or :PORT",
			       s ? s : "");
	if (pb_parse_u64(colon + 1, 1, 65535, &port))
		return pb_errf(err, errlen, -EINVAL, "'%s': the port must be 1 to 65535", s);
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	} else if (memchr(s, ':', hlen)) {
		return pb_errf(err, errlen, -EINVAL, "'%s': an IPv6 address goes in brackets", s);
	}
	if (hlen >= sizeof(host))
		return pb_errf(err, errlen, -EINVAL, "'%.*s': not an IP address", (int)hlen, s);
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (!hlen || inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6; /* "" is in6addr_any: every address */
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	return pb_errf(err, errlen, -EINVAL, "'%s': not a numeric IP address", host);
}

int pb_duration_parse(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
	    {"ms", 1000000ULL},	     {"s", 1000000000ULL},     {"m", 60000000000ULL},
	    {"h", 3600000000000ULL}, {"d", 86400000000000ULL}, {"", 1000000000ULL},
	};
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -ERANGE;
		*ns = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

static uint64_t pb_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t pb_now_boot_ns(void)
{
	return pb_clock_ns(CLOCK_BOOTTIME);
}

uint64_t pb_now_real_ns(void)
{
	return pb_clock_ns(CLOCK_REALTIME);
}

void pb_boot_to_rfc3339(uint64_t boot_ns, char *buf, size_t len)
{
	/* every event has one or two: the second's text is kept, per thread */
	static __thread time_t last_sec = -1;
	static __thread char last[32];
	static __thread size_t last_n;
	uint64_t real = pb_now_real_ns() - (pb_now_boot_ns() - boot_ns);
	time_t sec = real / 1000000000ULL;
	unsigned ms = (unsigned)(real / 1000000ULL % 1000);

	if (sec != last_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		last_n = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	if (len < last_n + 6) {
		if (len)
			buf[0] = 0;
		return;
	}
	memcpy(buf, last, last_n);
	buf[last_n] = '.';
	buf[last_n + 1] = (char)('0' + ms / 100);
	buf[last_n + 2] = (char)('0' + ms / 10 % 10);
	buf[last_n + 3] = (char)('0' + ms % 10);
	buf[last_n + 4] = 'Z';
	buf[last_n + 5] = 0;
}

void pb_u64_dec(uint64_t v, char *out)
{
	char tmp[21];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
}

void pb_id_format(uint64_t id, char out[17])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, id >>= 4)
		out[i] = hex[id & 15];
	out[16] = 0;
}

int pb_id_parse(const char *s, uint64_t *id)
{
	unsigned long long v;
	char *end;

	if (!s || strlen(s) != 16)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -EINVAL;
	v = strtoull(s, &end, 16);
	if (*end || !v)
		return -EINVAL;
	*id = v;
	return 0;
}

uint64_t pb_dev_to_kernel(dev_t dev)
{
	return ((uint64_t)major(dev) << 20) | minor(dev);
}

uint64_t pb_fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

int pb_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

int pb_pending_push(struct pb_pending **v, size_t *n, size_t *cap, uint64_t cgid, int unnamed)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].cgroup_id == cgid)
			return 0;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pb_pending *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[*n].cgroup_id = cgid;
	(*v)[*n].since = pb_now_boot_ns();
	(*v)[*n].unnamed = unnamed;
	(*n)++;
	return 0;
}

int pb_pidfd_open(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int pb_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Edit distance of a and b, counted up to 3 (enough to tell a typo). */
static int pb_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64], prev, tmp;

	if (la >= 63 || lb >= 63)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			prev = tmp;
			row[j] = best;
		}
	}
	return row[lb] > 3 ? 3 : row[lb];
}

const char *pb_closest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	int bestd = 3;

	for (size_t i = 0; i < n; i++) {
		int d = pb_distance(word, names[i]);

		/* the start of a name (mi for mint) counts as close */
		if (strlen(word) >= 2 && !strncmp(word, names[i], strlen(word)) && d > 1)
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	return bestd <= 2 ? best : NULL;
}
