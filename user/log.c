// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Logging: stderr lines with a level, so stdout stays pure JSON events. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int pb_verbose;

void pb_log(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "procbind %s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
