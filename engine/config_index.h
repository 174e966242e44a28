/*
 * Sorted indexes of names and ids, for the config loader's "which entry has this name
 * or id" questions.
 *
 * Every such question goes through an index sorted once, never through a scan of the
 * other entries: a scan per entry would make the load quadratic in the number of
 * accounts, groups and local users. Equal keys sort by position, so the first of a run is
 * the entry that comes first in the file: the one a duplicate is reported against, and
 * the one a lookup returns.
 */
#ifndef ROTSEC_CONFIG_INDEX_H
#define ROTSEC_CONFIG_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

struct key_ref {
	const char *name; /* the key when it is a string; NULL when it is `id` */
	uint32_t id;
	size_t pos; /* where the entry is: index in its array, or its rank in the file */
};

/* Sort by key, then by position. refs may be NULL when n is 0. */
void cfg_index_sort(struct key_ref *refs, size_t n);

/* The first ref with this key (name, or id when name is NULL) in a sorted index, or NULL. */
const struct key_ref *cfg_index_find(const struct key_ref *refs, size_t n, const char *name,
                                     uint32_t id);

/*
 * For a sorted index of entries whose positions are below npos, an array (*first) where
 * (*first)[p] is the position of the earliest entry with the same key as the entry at
 * position p: p itself when none comes before it, or when that entry has no ref (no key
 * to collide on). Freed by the caller. 0 or -ENOMEM.
 */
int cfg_index_first_of_key(const struct key_ref *refs, size_t n, size_t npos, size_t **first);

/* Drop the repeats from names[] or ids[] (whichever is non-NULL), keeping each first
 * occurrence where it was: what checking each against those before it would keep.
 * 0 or -ENOMEM. */
int cfg_dedupe_keep_first(char (*names)[RS_NAME_MAX + 1], uint32_t *ids, size_t *n);

#endif
