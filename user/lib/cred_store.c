// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The agent's credentials by id: an array and an open-addressing index
 * (linear probing, backward-shift deletion, so no tombstones pile up as
 * credentials come and go). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cred_store.h"
#include "util.h"

static size_t pb_slot_of(const struct pb_cred_store *s, uint64_t id)
{
	return (size_t)pb_fnv1a(PB_FNV_INIT, &id, sizeof(id)) & (s->nslots - 1);
}

/* The slot that holds id, or the empty slot where it would go. */
static size_t pb_store_slot(const struct pb_cred_store *s, uint64_t id)
{
	size_t i = pb_slot_of(s, id);

	while (s->slots[i] && s->v[s->slots[i] - 1].id != id)
		i = (i + 1) & (s->nslots - 1);
	return i;
}

int pb_cred_store_reserve(struct pb_cred_store *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64, nslots = cap * 2;
	struct pb_cred_meta *v;
	uint32_t *slots;

	if (s->n < s->cap)
		return 0;
	if (cap > UINT32_MAX / 2)
		return -ENOMEM;
	slots = calloc(nslots, sizeof(*slots));
	v = slots ? realloc(s->v, cap * sizeof(*v)) : NULL;
	if (!v) {
		free(slots);
		return -ENOMEM;
	}
	free(s->slots);
	s->v = v;
	s->cap = cap;
	s->slots = slots;
	s->nslots = nslots;
	for (size_t i = 0; i < s->n; i++)
		s->slots[pb_store_slot(s, v[i].id)] = (uint32_t)i + 1;
	return 0;
}

int pb_cred_meta_set(char **field, const char *v)
{
	free(*field);
	*field = NULL;
	if (!v || !*v)
		return 0;
	*field = strdup(v);
	return *field ? 0 : -ENOMEM;
}

void pb_cred_meta_clear(struct pb_cred_meta *m)
{
	pb_cred_meta_set(&m->exe, NULL);
	pb_cred_meta_set(&m->cgroup, NULL);
	pb_cred_meta_set(&m->path, NULL);
	pb_cred_meta_set(&m->adopt, NULL);
	pb_cred_meta_set(&m->pod, NULL);
	pb_cred_meta_set(&m->container, NULL);
}

struct pb_cred_meta *pb_cred_store_add(struct pb_cred_store *s, const struct pb_cred_meta *m)
{
	struct pb_cred_meta *slot = &s->v[s->n];

	*slot = *m;
	s->slots[pb_store_slot(s, m->id)] = (uint32_t)++s->n;
	return slot;
}

struct pb_cred_meta *pb_cred_store_find(const struct pb_cred_store *s, uint64_t id)
{
	size_t i;

	if (!s->n)
		return NULL;
	i = pb_store_slot(s, id);
	return s->slots[i] ? &s->v[s->slots[i] - 1] : NULL;
}

void pb_cred_store_remove_at(struct pb_cred_store *s, size_t i)
{
	size_t hole = pb_store_slot(s, s->v[i].id), last = s->n - 1;

	pb_cred_meta_clear(&s->v[i]);
	/* Backward shift: move up every entry after the hole whose home slot
	 * does not lie between the hole and it. */
	for (size_t j = (hole + 1) & (s->nslots - 1); s->slots[j]; j = (j + 1) & (s->nslots - 1)) {
		size_t home = pb_slot_of(s, s->v[s->slots[j] - 1].id);

		if (((j - home) & (s->nslots - 1)) >= ((j - hole) & (s->nslots - 1))) {
			s->slots[hole] = s->slots[j];
			hole = j;
		}
	}
	s->slots[hole] = 0;
	if (i != last) {
		s->v[i] = s->v[last];
		s->slots[pb_store_slot(s, s->v[i].id)] = (uint32_t)i + 1;
	}
	s->n--;
	/* a burst of credentials leaves no high-water mark behind (an entry
	 * is some 250 bytes and its strings); the index keeps its size, which is at least twice
	 * the array's as before */
	if (!s->n) {
		pb_cred_store_free(s); /* none left: nothing kept */
	} else if (s->cap > 64 && s->n <= s->cap / 4) {
		struct pb_cred_meta *v = realloc(s->v, s->cap / 2 * sizeof(*v));

		if (v) {
			s->v = v;
			s->cap /= 2;
		}
	}
}

void pb_cred_store_free(struct pb_cred_store *s)
{
	for (size_t i = 0; s->v && i < s->n; i++)
		pb_cred_meta_clear(&s->v[i]);
	free(s->v);
	free(s->slots);
	*s = (struct pb_cred_store){0};
}
