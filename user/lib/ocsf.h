/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* procbind's records as OCSF 1.3 events: connect decisions as Network
 * Activity (4001), file refusals and acquisitions as File System Activity
 * (1001), exec, exit and access to a bound process as Process Activity
 * (1007), a credential's life as Entity Management (3004), proofs as
 * Authentication (3002), the agent's own records as Application Lifecycle
 * (6002). The original record goes under "unmapped". */
#ifndef PB_OCSF_H
#define PB_OCSF_H

#include <stddef.h>

#include <jansson.h>

/* One record (a JSON object with "event") as an OCSF event: a new object, or
 * NULL when rec is not a record. version: procbind's, for metadata.product. */
json_t *pb_ocsf_record(const json_t *rec, const char *version);
/* The same from and to text: the OCSF line (malloc'd, no newline), or NULL
 * when data is not a record or memory ran out. */
char *pb_ocsf_line(const char *data, size_t len, const char *version);

#endif
