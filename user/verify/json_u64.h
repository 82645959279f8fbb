/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unsigned 64-bit numbers in procbind's JSON (tokens, events, state files).
 * Inode numbers and cgroup ids can exceed 2^63 - 1 (overlayfs keeps a layer
 * index in an inode number's high bits), which jansson, and most JSON
 * parsers, cannot hold as a number. The writer (pb_json_u64) writes such a
 * value as a decimal string; readers take either form here. */
#ifndef PB_JSON_U64_H
#define PB_JSON_U64_H

#include <stdint.h>

#include <jansson.h>

/* A non-negative integer, or a string of decimal digits that fits: 0 and
 * *out, or -1 (absent, negative, not a number, out of range). */
int pb_json_u64_of(const json_t *v, uint64_t *out);

/* Member k of object o as above; 0 when absent or not a number. */
uint64_t pb_json_u64_get(const json_t *o, const char *k);

#endif
