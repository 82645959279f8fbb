/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Logging for the agent and the CLI: one line per message on stderr, module
 * prefix first. Debug lines only with -v. */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <errno.h>

extern int pb_verbose;

void pb_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pb_info(...)  pb_log("info", __VA_ARGS__)
#define pb_warn(...)  pb_log("warn", __VA_ARGS__)
#define pb_error(...) pb_log("error", __VA_ARGS__)
#define pb_debug(...)                                                                              \
	do {                                                                                       \
		if (pb_verbose)                                                                    \
			pb_log("debug", __VA_ARGS__);                                              \
	} while (0)

/* Log an error and return err in one line: return pb_err(-errno, "...: %m").
 * err is evaluated before the message is written, so the errno it reads is
 * the caller's, whatever writing to stderr does to errno. */
#define pb_err(err, ...)                                                                           \
	({                                                                                         \
		int pb_err_ = (err);                                                               \
		pb_log("error", __VA_ARGS__);                                                      \
		pb_err_;                                                                           \
	})

#endif
