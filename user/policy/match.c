// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Matchers for purpose binding. Everything here is pure (no agent state) so
 * the unit tests drive it with real-world samples. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "procbind/decision.h"

#define PB_GLOB_MAX_STARS 8 /* bounds the backtracking of one match */

/* One character class "[...]" at p against c; *end is set past the ']'. */
static int pb_class_match(const char *p, char c, const char **end)
{
	int neg = 0, hit = 0;

	p++;
	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	do {
		char lo = *p, hi = *p;

		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			p += 2;
		}
		if (c >= lo && c <= hi)
			hit = 1;
		p++;
	} while (*p && *p != ']');
	*end = *p ? p + 1 : p;
	return c != '/' && hit != neg;
}

static int pb_glob_rec(const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			/* "**" followed by a slash may also stand for no component at all. */
			if (*p == '/' && pb_glob_rec(p + 1, s))
				return 1;
			for (;; s++) {
				if (pb_glob_rec(p, s))
					return 1;
				if (!*s)
					return 0;
			}
		}
		if (*p == '*') {
			p++;
			for (;; s++) {
				if (pb_glob_rec(p, s))
					return 1;
				if (!*s || *s == '/')
					return 0;
			}
		}
		if (!*s)
			return 0;
		if (*p == '?') {
			if (*s == '/')
				return 0;
		} else if (*p == '[') {
			const char *end;

			if (!pb_class_match(p, *s, &end))
				return 0;
			p = end;
			s++;
			continue;
		} else {
			if (*p == '\\' && p[1])
				p++;
			if (*p != *s)
				return 0;
		}
		p++;
		s++;
	}
	return !*s;
}

int pb_glob_match(const char *pattern, const char *s)
{
	return pb_glob_rec(pattern, s);
}

int pb_glob_valid(const char *p)
{
	int stars = 0;

	for (; *p; p++) {
		if (*p == '*') {
			stars++;
			if (p[1] == '*') {
				if (p[2] == '*')
					return -EINVAL; /* "***" means nothing */
				p++;
			}
		} else if (*p == '[') {
			const char *q = p + 1;

			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (!*q || q == p + 1)
				return -EINVAL;
			p = q;
		} else if (*p == '\\' && !p[1]) {
			return -EINVAL;
		}
	}
	return stars > PB_GLOB_MAX_STARS ? -EINVAL : 0;
}

int pb_dest_parse(const char *s, const char *proto, struct pb_dest *d, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *colon, *a = s;
	size_t alen;
	unsigned long port;
	char *end;

	memset(d, 0, sizeof(*d));
	*why = "must be ADDR:PORT (192.0.2.7:443, [2001:db8::1]:443)";
	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		a = s + 1;
		alen = (size_t)(colon - a);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		alen = (size_t)(colon - s);
	}
	if (!alen || alen >= sizeof(addr) || !isdigit((unsigned char)colon[1]))
		return -EINVAL;
	memcpy(addr, a, alen);
	addr[alen] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !port || port > 65535) {
		*why = "port is not a number in [1, 65535]";
		return -EINVAL;
	}
	if (inet_pton(AF_INET, addr, d->addr) == 1) {
		d->family = PB_AF_INET;
	} else if (inet_pton(AF_INET6, addr, d->addr) == 1) {
		d->family = PB_AF_INET6;
		pb_dest_normalize(d);
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	d->port = (uint16_t)port;
	if (!proto || !strcmp(proto, "tcp"))
		d->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		d->proto = IPPROTO_UDP;
	else {
		*why = "protocol must be tcp or udp";
		return -EINVAL;
	}
	return 0;
}

void pb_dest_format(const struct pb_dest *d, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(d->family == PB_AF_INET ? AF_INET : AF_INET6, d->addr, addr, sizeof(addr));
	snprintf(buf, len, d->family == PB_AF_INET ? "%s:%u" : "[%s]:%u", addr, d->port);
}

int pb_cidr_parse(const char *s, struct pb_rule *r, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char a[16] = {0}, m[16] = {0};
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	int family, bytes;
	char *end;

	*why = "not an IPv4 or IPv6 address";
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, a) == 1) {
		family = AF_INET;
		bytes = 4;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		family = AF_INET6;
		bytes = 16;
	} else {
		return -EINVAL;
	}
	prefix = bytes * 8;
	if (slash) {
		*why = "prefix length is not a number in range";
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > (unsigned long)bytes * 8)
			return -EINVAL;
	}
	if (family == AF_INET6 && prefix >= 96 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		*why = "IPv4-mapped IPv6; write the IPv4 CIDR (it applies to both)";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < prefix; i++)
		m[i / 8] |= 0x80 >> (i % 8);
	for (int i = 0; i < bytes; i++) {
		if (a[i] & ~m[i]) {
			*why = "host bits are set below the prefix (did you mean the network?)";
			return -EINVAL;
		}
	}
	memcpy(r->net, a, sizeof(r->net));
	memcpy(r->mask, m, sizeof(r->mask));
	r->family = family;
	return 0;
}

int pb_ports_parse(const char *s, struct pb_rule *r, const char **why)
{
	unsigned long lo, hi;
	char *end;

	*why = "must be a port (1-65535), a range 'lo-hi', or 'any'";
	if (!strcmp(s, "any")) {
		r->port_lo = 1;
		r->port_hi = 65535;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (!errno && *end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -EINVAL;
		hi = strtoul(end + 1, &end, 10);
	}
	if (errno || *end || lo < 1 || hi > 65535 || lo > 65535)
		return -EINVAL;
	if (lo > hi) {
		*why = "range is backwards (lo > hi)";
		return -EINVAL;
	}
	r->port_lo = lo;
	r->port_hi = hi;
	return 0;
}

int pb_proto_parse(const char *s, struct pb_rule *r)
{
	if (!strcmp(s, "tcp"))
		r->proto = 6;
	else if (!strcmp(s, "udp"))
		r->proto = 17;
	else if (!strcmp(s, "any"))
		r->proto = 0;
	else
		return -EINVAL;
	return 0;
}

static const char *pb_proto_name(unsigned int p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : p == 0 ? "any" : "other";
}

void pb_rule_format(const struct pb_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	const unsigned char *m = (const unsigned char *)r->mask;
	int bits = 0;

	for (int i = 0; i < 16; i++)
		bits += __builtin_popcount(m[i]);
	inet_ntop(r->family == PB_AF_INET ? AF_INET : AF_INET6, r->net, a, sizeof(a));
	if (r->port_lo == r->port_hi)
		snprintf(buf, len, "%s/%d %s %u", a, bits, pb_proto_name(r->proto), r->port_lo);
	else
		snprintf(buf, len, "%s/%d %s %u-%u", a, bits, pb_proto_name(r->proto), r->port_lo,
			 r->port_hi);
}

/* ---- Kubernetes attribution ---- */

static int pb_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "pod" + 36 characters of a UUID, with '-' (cgroupfs) or '_' (systemd). */
static int pb_pod_uid(const char *comp, size_t len, char out[40])
{
	const char *p = NULL;

	for (size_t i = 0; i + 3 + 36 <= len; i++) {
		if (memcmp(comp + i, "pod", 3))
			continue;
		if (i && comp[i - 1] != '-')
			continue; /* "kubepods-pod..." or "pod..." only */
		p = comp + i + 3;
		break;
	}
	if (!p)
		return 0;
	for (int i = 0; i < 36; i++) {
		char c = p[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-' && c != '_')
				return 0;
			out[i] = '-';
		} else {
			if (!isxdigit((unsigned char)c))
				return 0;
			out[i] = (char)tolower((unsigned char)c);
		}
	}
	out[36] = 0;
	/* Nothing but ".slice" may follow (systemd) or the end (cgroupfs). */
	p += 36;
	return (size_t)(p - comp) == len ||
	       ((size_t)(comp + len - p) == 6 && !memcmp(p, ".slice", 6));
}

/* A container's cgroup name, after its pod's: the id with the runtime's
 * decoration. */
static void pb_container_comp(const char *comp, size_t len, struct pb_k8s_ref *out)
{
	static const struct {
		const char *prefix, *runtime;
	} pre[] = {{"cri-containerd-", "containerd"},
		   {"crio-conmon-", NULL}, /* CRI-O's monitor, not the container */
		   {"crio-", "crio"},
		   {"docker-", "docker"},
		   {"", ""}};

	if (len > 6 && !memcmp(comp + len - 6, ".scope", 6))
		len -= 6;
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t pl = strlen(pre[i].prefix);

		if (len < pl || memcmp(comp, pre[i].prefix, pl))
			continue;
		if (!pre[i].runtime) {
			snprintf(out->runtime, sizeof(out->runtime), "crio");
			return;
		}
		if (len - pl == 64 && pb_is_hex(comp + pl, 64)) {
			memcpy(out->container_id, comp + pl, 64);
			out->container_id[64] = 0;
			snprintf(out->runtime, sizeof(out->runtime), "%s", pre[i].runtime);
		}
		return;
	}
}

static void pb_qos_from(const char *comp, size_t len, struct pb_k8s_ref *out)
{
	static const char *const q[] = {"burstable", "besteffort"};

	for (int i = 0; i < 2; i++)
		if (memmem(comp, len, q[i], strlen(q[i])))
			snprintf(out->qos, sizeof(out->qos), "%s", q[i]);
}

int pb_k8s_parse_cgroup(const char *path, struct pb_k8s_ref *out)
{
	const char *c = path, *next;
	int in_pod = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->qos, sizeof(out->qos), "guaranteed");
	for (; *c; c = next) {
		size_t len;

		while (*c == '/')
			c++;
		next = strchr(c, '/');
		if (!next)
			next = c + strlen(c);
		len = (size_t)(next - c);
		if (!len)
			break;
		if (!in_pod) {
			const char *colon = memchr(c, ':', len);
			size_t plen = colon ? (size_t)(colon - c) : len;

			if (!pb_pod_uid(c, plen, out->pod_uid)) {
				if ((len >= 8 && !memcmp(c, "kubepods", 8)) ||
				    (len == 9 && !memcmp(c, "burstable", 9)) ||
				    (len == 10 && !memcmp(c, "besteffort", 10)))
					pb_qos_from(c, len, out);
				continue;
			}
			pb_qos_from(c, plen, out);
			in_pod = 1;
			/* cgroup v1 with the systemd driver, as containerd names
			 * it: "kubepods-...-pod<uid>.slice:cri-containerd:<id>". */
			if (colon) {
				const char *c2 = memchr(colon + 1, ':', len - plen - 1);

				if (c2 && (size_t)(c + len - c2 - 1) == 64 &&
				    pb_is_hex(c2 + 1, 64)) {
					memcpy(out->container_id, c2 + 1, 64);
					out->container_id[64] = 0;
					snprintf(out->runtime, sizeof(out->runtime), "%.*s",
						 (int)(c2 - colon - 1) < 15 ? (int)(c2 - colon - 1)
									    : 15,
						 colon + 1);
					if (!strcmp(out->runtime, "cri-containerd"))
						snprintf(out->runtime, sizeof(out->runtime),
							 "containerd");
				}
			}
			continue;
		}
		/* The first component under the pod is the container. */
		if (!out->container_id[0] && !out->runtime[0])
			pb_container_comp(c, len, out);
		break;
	}
	return in_pod;
}

int pb_k8s_parse_log_name(const char *name, const char *container_id, struct pb_k8s_meta *out)
{
	size_t len = strlen(name), idlen = strlen(container_id);
	const char *u1, *u2, *body_end;

	/* <pod>_<namespace>_<container>-<id>.log */
	if (idlen != 64 || len < 4 + 1 + 64 + 6 || strcmp(name + len - 4, ".log"))
		return 0;
	body_end = name + len - 4 - 64;
	if (memcmp(body_end, container_id, 64) || body_end[-1] != '-')
		return 0;
	body_end--;
	u1 = memchr(name, '_', body_end - name);
	if (!u1)
		return 0;
	u2 = memchr(u1 + 1, '_', body_end - u1 - 1);
	if (!u2 || u1 == name || u2 == u1 + 1 || body_end == u2 + 1)
		return 0;
	if ((size_t)(u1 - name) >= sizeof(out->pod) ||
	    (size_t)(u2 - u1 - 1) >= sizeof(out->namespace_) ||
	    (size_t)(body_end - u2 - 1) >= sizeof(out->container))
		return 0;
	snprintf(out->pod, sizeof(out->pod), "%.*s", (int)(u1 - name), name);
	snprintf(out->namespace_, sizeof(out->namespace_), "%.*s", (int)(u2 - u1 - 1), u1 + 1);
	snprintf(out->container, sizeof(out->container), "%.*s", (int)(body_end - u2 - 1), u2 + 1);
	return 1;
}

int pb_k8s_lookup(const char *dir, const char *container_id, struct pb_k8s_meta *out)
{
	struct dirent *de;
	int found = 0;
	DIR *d;

	if (!container_id[0])
		return -ENOENT;
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!found && (de = readdir(d)))
		found = pb_k8s_parse_log_name(de->d_name, container_id, out);
	closedir(d);
	return found ? 0 : -ENOENT;
}
