/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PB_STEAL_H
#define PB_STEAL_H
#include <sys/socket.h>

/* 1 when s is one of pb_steal.c's steps (run, result in *err), else 0. */
int pb_steal_step(const char *s, const char *arg, int *err);
int pb_sink(int port, const char *file);
int pb_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, int *type);
#endif
