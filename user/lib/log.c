// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Logging: stderr lines with a level, so stdout stays pure JSON events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "log.h"

int pb_verbose;

/* Is stderr the journal's stream ($JOURNAL_STREAM names its device and
 * inode)? Then each line starts with its syslog priority, "<3>" for an
 * error, which journald takes off and keeps as the entry's priority. */
static int pb_log_journal(void)
{
	static int known, yes;
	const char *js;
	unsigned long long dev, ino;
	struct stat st;

	if (known)
		return yes;
	known = 1;
	js = getenv("JOURNAL_STREAM");
	yes = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
	      (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	return yes;
}

static int pb_log_priority(const char *level)
{
	switch (level[0]) {
	case 'e':
		return 3; /* err */
	case 'w':
		return 4; /* warning */
	case 'i':
		return 6; /* info */
	default:
		return 7; /* debug */
	}
}

/* errno is the caller's on return, and %m in fmt names the caller's errno,
 * even when stderr is closed or full. */
void pb_log(const char *level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (pb_log_journal())
		fprintf(stderr, "<%d>", pb_log_priority(level));
	fprintf(stderr, "procbind %s: ", level);
	errno = saved;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errno = saved;
}
