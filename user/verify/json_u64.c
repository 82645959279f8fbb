// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "json_u64.h"

int pb_json_u64_of(const json_t *v, uint64_t *out)
{
	const char *s;
	char *end;
	unsigned long long n;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (s[0] < '0' || s[0] > '9' || json_string_length(v) > 20)
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = n;
	return 0;
}

uint64_t pb_json_u64_get(const json_t *o, const char *k)
{
	uint64_t v = 0;

	return pb_json_u64_of(json_object_get(o, k), &v) ? 0 : v;
}
