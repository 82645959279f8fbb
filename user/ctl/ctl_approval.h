/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbindctl's approvals (ctl_approval.c). */
#ifndef PB_CTL_APPROVAL_H
#define PB_CTL_APPROVAL_H

#include "json.h"

/* approve's options into a control-socket request in req: 0 when req is
 * ready to send, else the exit status of a usage error (said). */
int pb_approve_request(int argc, char **argv, struct pb_buf *req);
/* approval keygen | approval sign: offline; 0 ok, 1 failed, 2 usage. */
int pb_cmd_approval(int argc, char **argv);

#endif
