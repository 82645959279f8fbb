/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbindctl's audit-trail commands; each returns the exit status. */
#ifndef PB_CTL_AUDIT_H
#define PB_CTL_AUDIT_H

int pb_cmd_trail(int argc, char **argv);
int pb_cmd_events(int argc, char **argv);
int pb_cmd_verify(int argc, char **argv);

#endif
