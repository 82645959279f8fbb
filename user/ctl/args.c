// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "util.h"

int pb_arg_bad(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "procbindctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (procbindctl %s --help)\n", cmd);
	return 2;
}

int pb_arg_pid(const char *cmd, const char *v)
{
	uint64_t pid;

	if (pb_parse_u64(v, 1, 4194304, &pid))
		return pb_arg_bad(cmd, "--pid must be a host PID (1 to 4194304), not '%s'", v);
	return 0;
}

int pb_arg_ttl(const char *cmd, const char *v)
{
	uint64_t ns;

	if (pb_duration_parse(v, &ns) || !ns)
		return pb_arg_bad(cmd, "--ttl must be a duration such as 90s, 10m or 2h, not '%s'",
				  v);
	return 0;
}

int pb_arg_inherit(const char *cmd, const char *v)
{
	if (strcmp(v, "none") && strcmp(v, "children"))
		return pb_arg_bad(cmd, "--inherit must be none or children, not '%s'", v);
	return 0;
}

int pb_arg_id(const char *cmd, const char *v)
{
	uint64_t id;

	if (strlen(v) != 16 || pb_id_parse(v, &id))
		return pb_arg_bad(
		    cmd, "a credential id is 16 hex digits (as mint printed it), not '%s'", v);
	return 0;
}

int pb_arg_fd(const char *cmd, const char *v, int *fd)
{
	uint64_t n;

	if (pb_parse_u64(v, 0, (1u << 20) - 1, &n))
		return pb_arg_bad(cmd, "--fd must be a descriptor number, not '%s'", v);
	*fd = (int)n;
	return 0;
}
