/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PB_STEAL_H
#define PB_STEAL_H
#include <sys/socket.h>

/* 1 when s is one of pb_steal.c's steps (run, result in *err), else 0. */
int pb_steal_step(const char *s, const char *arg, int *err);
/* The number in a file (a PID file), or -1. */
int pb_read_int_file(const char *path);
/* The same for pb_around.c's steps. */
int pb_around_step(const char *s, const char *arg, int *err);
int pb_sink(int port, const char *file);
/* Connect to tcp|udp:ADDR:PORT: 0 and *fd, or an errno. */
int pb_connect_spec(const char *spec, int *fd);
int pb_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, int *type);
#endif
