/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbindctl's connection to the agent's control socket: where it is, and
 * one request with its whole reply. Every command that asks the agent goes
 * through here. */
#ifndef PB_CTL_CONN_H
#define PB_CTL_CONN_H

#include <stddef.h>

#include "json.h"

/* The control socket (default /run/procbind/control.sock; --socket). */
void pb_ctl_set_socket(const char *path);
const char *pb_ctl_socket(void);
/* Send req (len bytes, its lines ending in an empty one), read the whole
 * reply into *reply: 0, or -1 with a one-line reason in err. */
int pb_ctl_request(const char *req, size_t len, struct pb_buf *reply, char *err, size_t errlen);
/* The running agent's audit directory, asked with "status", quietly: 0, or
 * -1 when no agent answers with one. */
int pb_agent_audit_dir(char *out, size_t len);

#endif
