/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Matchers for purpose binding: path globs for cgroups, destination rules
 * (CIDR, ports, protocol), and Kubernetes attribution of a cgroup path
 * (pod UID and container id from the kubelet's and the runtime's naming,
 * namespace / pod / container names from the kubelet's log links). */
#ifndef PB_MATCH_H
#define PB_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "procbind/abi.h"

/* Glob over a path: '*' and '?' stay within one '/'-separated component,
 * '**' spans any number of components (including none), '[...]' is a class.
 * Returns 1 on match. */
int pb_glob_match(const char *pattern, const char *s);
/* Does the pattern use only what pb_glob_match understands? 0 or -EINVAL. */
int pb_glob_valid(const char *pattern);

/* "10.0.0.0/8", "::1/128", "192.0.2.7" (a host) -> rule addr/mask/family.
 * Host bits set under the prefix are an error. 0 or -EINVAL with a reason. */
int pb_cidr_parse(const char *s, struct pb_rule *r, const char **why);
/* "5432", "8000-8999" or "any" -> [lo, hi]. 0 or -EINVAL with a reason. */
int pb_ports_parse(const char *s, struct pb_rule *r, const char **why);
/* "tcp", "udp" or "any" -> r->proto. 0 or -EINVAL. */
int pb_proto_parse(const char *s, struct pb_rule *r);
/* One destination, "ADDR:PORT" ("192.0.2.7:443", "[2001:db8::1]:443") and a
 * protocol ("tcp", "udp"), as the connect hooks see it (struct pb_dest,
 * IPv4-mapped IPv6 as IPv4). 0 or -EINVAL with a reason. */
int pb_dest_parse(const char *s, const char *proto, struct pb_dest *d, const char **why);
/* A destination back as "ADDR:PORT" (buf >= 64 bytes). */
void pb_dest_format(const struct pb_dest *d, char *buf, size_t len);

/* A rule back as text: "10.0.0.0/8 tcp 5432" (buf >= 96 bytes). */
void pb_rule_format(const struct pb_rule *r, char *buf, size_t len);

/* What a cgroup path says about Kubernetes. Both the cgroupfs driver
 * (/kubepods/burstable/pod<uid>/<id>) and the systemd driver
 * (/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/
 * cri-containerd-<id>.scope) are understood, at any depth (kind, nested
 * nodes), for containerd, CRI-O and docker. */
struct pb_k8s_ref {
	char pod_uid[40];      /* canonical 8-4-4-4-12 form; "" when not a pod */
	char container_id[72]; /* 64 hex digits; "" for the pod-level cgroup */
	char runtime[16];      /* "containerd", "crio", "docker" or "" (cgroupfs: unknown) */
	char qos[16];	       /* "guaranteed", "burstable", "besteffort" */
};
/* 1 when the path is a pod's (or one of its containers'), else 0. */
int pb_k8s_parse_cgroup(const char *path, struct pb_k8s_ref *out);

/* Names the kubelet knows a container by. */
struct pb_k8s_meta {
	char namespace_[64];
	char pod[254];
	char container[64];
};
/* Find a container's names from the kubelet's log links in dir
 * (default /var/log/containers): <pod>_<namespace>_<container>-<id>.log.
 * 0, or -ENOENT when no link names the container id. */
int pb_k8s_lookup(const char *dir, const char *container_id, struct pb_k8s_meta *out);
/* Parse one such file name. 1 when it names container_id. */
int pb_k8s_parse_log_name(const char *name, const char *container_id, struct pb_k8s_meta *out);

#endif
