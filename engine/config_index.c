/*
 * Sorted indexes of names and ids for the config loader (config_index.h).
 */
#include "config_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int key_cmp(const struct key_ref *x, const struct key_ref *y)
{
	if (x->name && y->name)
		return strcmp(x->name, y->name);
	return (x->id > y->id) - (x->id < y->id);
}

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = key_cmp(x, y);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

void cfg_index_sort(struct key_ref *refs, size_t n)
{
	/* qsort(3) is declared nonnull: an empty index may be a NULL pointer. */
	if (n > 1)
		qsort(refs, n, sizeof(*refs), key_ref_cmp);
}

/* A lower bound, not bsearch(3), which may land on any of several equal keys. */
const struct key_ref *cfg_index_find(const struct key_ref *refs, size_t n, const char *name,
                                     uint32_t id)
{
	const struct key_ref key = {name, id, 0};
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(&refs[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && key_cmp(&refs[lo], &key) == 0 ? &refs[lo] : NULL;
}

int cfg_index_first_of_key(const struct key_ref *refs, size_t n, size_t npos, size_t **first)
{
	size_t *f = malloc((npos ? npos : 1) * sizeof(*f));

	if (!f)
		return -ENOMEM;
	for (size_t p = 0; p < npos; p++)
		f[p] = p;
	for (size_t k = 1, head = 0; k < n; k++) {
		if (key_cmp(&refs[head], &refs[k]) != 0)
			head = k;
		else
			f[refs[k].pos] = refs[head].pos;
	}
	*first = f;
	return 0;
}

int cfg_dedupe_keep_first(char (*names)[RS_NAME_MAX + 1], uint32_t *ids, size_t *n)
{
	struct key_ref *refs = NULL;
	size_t *first = NULL, kept = 0;
	int r = 0;

	if (*n < 2)
		goto out;
	refs = malloc(*n * sizeof(*refs));
	if (!refs) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < *n; i++)
		refs[i] = (struct key_ref){names ? names[i] : NULL, ids ? ids[i] : 0, i};
	cfg_index_sort(refs, *n);
	if ((r = cfg_index_first_of_key(refs, *n, *n, &first)) < 0)
		goto out;
	for (size_t i = 0; i < *n; i++) {
		if (first[i] != i)
			continue;
		if (kept != i && names)
			memcpy(names[kept], names[i], sizeof(names[i]));
		if (kept != i && ids)
			ids[kept] = ids[i];
		kept++;
	}
	*n = kept;
out:
	free(first);
	free(refs);
	return r;
}
