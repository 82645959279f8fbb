/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text for people from the agent's JSON replies: the agent answers in JSON
 * only, and procbindctl renders tables unless asked for -o json. */
#ifndef PB_RENDER_H
#define PB_RENDER_H

#include <stdio.h>
#include <jansson.h>

void pb_render_mint(FILE *out, json_t *r);
void pb_render_ps(FILE *out, json_t *r);
void pb_render_approve(FILE *out, json_t *r);   /* id=..., as mint */
void pb_render_approvals(FILE *out, json_t *r); /* the live approvals, a table */
void pb_render_status(FILE *out, json_t *r);
void pb_render_health(FILE *out, json_t *r);
void pb_render_reload(FILE *out, json_t *r);

#endif
