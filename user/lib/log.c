// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Logging: stderr lines with a level, so stdout stays pure JSON events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int pb_verbose;

/* errno is the caller's on return, and %m in fmt names the caller's errno,
 * even when stderr is closed or full. */
void pb_log(const char *level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fprintf(stderr, "procbind %s: ", level);
	errno = saved;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errno = saved;
}
