/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbindctl's help: each command's usage, options and example (help.c). */
#ifndef PB_CTL_HELP_H
#define PB_CTL_HELP_H

#include <stddef.h>
#include <stdio.h>

int pb_help_known(const char *name);
/* 1 when the command talks to the control socket, which is root's */
int pb_help_needs_root(const char *name);
/* the names of the commands that need root (root 1) or not (0), space-led */
void pb_help_commands(FILE *f, int root);
/* usage, what it does, options, an example; -1 for an unknown command */
int pb_help_print(FILE *f, const char *name);
/* the command closest to word (a typo of it), or NULL */
const char *pb_help_suggest_command(const char *word);
/* 2 (said on stderr, with the closest option) when argv has a long option
 * the command's help does not list; else 0. Stops at "--" (and for run at
 * the program to run). */
int pb_help_check_options(const char *cmd, int argc, char **argv);
/* 1 when argv asks for help (-h or --help among cmd's own arguments) */
int pb_help_wanted(const char *cmd, int argc, char **argv);

#endif
