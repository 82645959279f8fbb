/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbindctl's arguments, checked before anything is sent: a missing,
 * malformed or out-of-range one is a message naming the command and the
 * argument, and exit status 2. */
#ifndef PB_CTL_ARGS_H
#define PB_CTL_ARGS_H

/* "procbindctl CMD: <message>" and a pointer to --help on stderr; returns 2. */
int pb_arg_bad(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Each returns 0 when v is well formed, else pb_arg_bad's 2. */
int pb_arg_pid(const char *cmd, const char *v);     /* 1 .. 4194304 (PID_MAX_LIMIT) */
int pb_arg_ttl(const char *cmd, const char *v);     /* a duration above 0: 90s, 10m, 1h */
int pb_arg_inherit(const char *cmd, const char *v); /* none or children */
int pb_arg_id(const char *cmd, const char *v);      /* a credential id: 16 hex digits */
int pb_arg_fd(const char *cmd, const char *v, int *fd); /* 0 .. 1048575 */

#endif
