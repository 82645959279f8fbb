/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbindctl's workload commands (ctl_workload.c): 0 ok, 1 refused, 2 usage. */
#ifndef PB_CTL_WORKLOAD_H
#define PB_CTL_WORKLOAD_H

int pb_cmd_run(int argc, char **argv);
int pb_cmd_token(int argc, char **argv);
int pb_cmd_proof(int argc, char **argv);
int pb_cmd_pubkey(int argc, char **argv);
int pb_cmd_verify_token(int argc, char **argv);
int pb_cmd_verify_proof(int argc, char **argv);

#endif
