/*
 * The compiled config (config_cache.h): FILE.cache holds
 *
 *   u32 length of the key, the key, BLAKE2b-256 of the body, the body: the config file's
 *   identity when it was read (w_id), the inputs, the config
 *
 * The key is what must be equal for the cache to apply at all: format, struct sizes, the
 * running executable, euid, the config's path, mode, owner and BLAKE2b-256. The inputs are
 * the other files the load read (passwd_file, group_file, sealed_to keys), each with the
 * mode and hash it had; each is read and hashed again before the cache is trusted. The
 * config follows, field by field (numbers in the host's byte order: the key binds the
 * file to this very executable). The body's hash makes a damaged file a miss rather than
 * a config with, say, one byte of a delivery path changed; decoding checks every length
 * against the bytes left all the same.
 */
#define _GNU_SOURCE
#include "config_cache.h"
#include "safefile.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAGIC  "rotsec-config-cache 2"
#define CACHE_SUFFIX ".cache"
#define CACHE_MAX    ((size_t)1 << 30)
#define HASH_LEN     32
#define NO_STRING    UINT32_MAX

/*
 * Every field of these structs is written below, one by one. A field added to one of them
 * must be added there too, or a cached config would come back without it: the sizes make
 * the build fail first (and are in the key, against a stale file).
 */
_Static_assert(sizeof(struct rs_config) == 512, "update config_cache.c for struct rs_config");
_Static_assert(sizeof(struct rs_account_cfg) == 512,
               "update config_cache.c for struct rs_account_cfg");
_Static_assert(sizeof(struct rs_delivery) == 208, "update config_cache.c for struct rs_delivery");
_Static_assert(sizeof(struct rs_group_cfg) == 64, "update config_cache.c for struct rs_group_cfg");
_Static_assert(sizeof(struct rs_policy_cfg) == 336,
               "update config_cache.c for struct rs_policy_cfg");

/* ---- a byte buffer to write into, and a cursor to read from ------------------------------ */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	int err;
};

static void w_bytes(struct wbuf *b, const void *p, size_t n)
{
	if (b->err || n == 0)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *np;

		while (cap - b->len < n && cap < CACHE_MAX)
			cap *= 2;
		if (cap - b->len < n || !(np = realloc(b->p, cap))) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void w_u32(struct wbuf *b, uint32_t v)
{
	w_bytes(b, &v, sizeof(v));
}

static void w_u64(struct wbuf *b, uint64_t v)
{
	w_bytes(b, &v, sizeof(v));
}

static void w_str(struct wbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (s && n >= NO_STRING) {
		b->err = -E2BIG;
		return;
	}
	w_u32(b, s ? (uint32_t)n : NO_STRING);
	if (s)
		w_bytes(b, s, n);
}

/* A NULL-terminated argv, or NULL. */
static void w_strv(struct wbuf *b, char *const *v)
{
	uint32_t n = 0;

	while (v && v[n])
		n++;
	w_u32(b, v ? n : NO_STRING);
	for (uint32_t i = 0; v && i < n; i++)
		w_str(b, v[i]);
}

/*
 * A compiled config is decoded into an arena: a few blocks of 1 MiB or more instead of one
 * allocation per string and array (some 50,000 at 10,000 accounts), so that loading it
 * and freeing it cost copies rather than a malloc and a free each. The config owns it
 * (cfg->arena); rs_config_free frees it whole. Memory from it is zeroed.
 */
struct rs_arena {
	struct rs_arena *next;
	size_t used, cap;
	max_align_t mem[];
};

#define ARENA_BLOCK ((size_t)1 << 20)

void rs_arena_free(struct rs_arena *a)
{
	while (a) {
		struct rs_arena *next = a->next;

		free(a);
		a = next;
	}
}

static void *arena_alloc(struct rs_arena **head, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct rs_arena *a = *head;
	void *p;

	if (n > CACHE_MAX * 8)
		return NULL; /* more than any count the decoder lets through could need */
	n = (n + align - 1) & ~(align - 1);
	if (!a || a->cap - a->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		/* zeroed: r_strdup relies on it for the NUL of each string */
		a = calloc(1, sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->cap = cap;
		a->next = *head;
		*head = a;
	}
	p = (char *)a->mem + a->used;
	a->used += n;
	return p;
}

struct rbuf {
	const unsigned char *p;
	size_t left;
	int err;
	struct rs_arena **arena; /* where the decoded config's memory comes from */
};

/* n zeroed items of `size` bytes from the arena, or NULL with b->err set. */
static void *r_alloc(struct rbuf *b, size_t n, size_t size)
{
	void *p = NULL;

	if (!b->err && (size == 0 || n <= SIZE_MAX / size))
		p = arena_alloc(b->arena, n * size);
	if (!p && !b->err)
		b->err = -ENOMEM;
	return p;
}

static const void *r_bytes(struct rbuf *b, size_t n)
{
	const void *p = b->p;

	if (n == 0 && !b->err)
		return p ? p : "";
	if (b->err || n > b->left) {
		b->err = -EPROTO;
		return NULL;
	}
	b->p += n;
	b->left -= n;
	return p;
}

static void r_copy(struct rbuf *b, void *out, size_t n)
{
	const void *p = r_bytes(b, n);

	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

static uint32_t r_u32(struct rbuf *b)
{
	uint32_t v;

	r_copy(b, &v, sizeof(v));
	return v;
}

static uint64_t r_u64(struct rbuf *b)
{
	uint64_t v;

	r_copy(b, &v, sizeof(v));
	return v;
}

/* A count of items of at least `min` bytes each: no more than the bytes left can hold. */
static size_t r_count(struct rbuf *b, size_t min)
{
	uint32_t n = r_u32(b);

	if (!b->err && (size_t)n > b->left / (min ? min : 1))
		b->err = -EPROTO;
	return b->err ? 0 : n;
}

/* A string into a new allocation; *out NULL for a NULL string. */
static void r_strdup(struct rbuf *b, char **out)
{
	uint32_t n = r_u32(b);
	const char *p;

	*out = NULL;
	if (b->err || n == NO_STRING)
		return;
	p = r_bytes(b, n);
	if (!p)
		return;
	if (memchr(p, '\0', n)) {
		b->err = -EPROTO;
		return;
	}
	*out = r_alloc(b, (size_t)n + 1, 1);
	if (*out)
		memcpy(*out, p, n); /* NUL-terminated: the arena's memory is zeroed */
}

/* A string into a fixed array of `size` bytes (never NULL). */
static void r_strcpy(struct rbuf *b, char *out, size_t size)
{
	uint32_t n = r_u32(b);
	const char *p = n == NO_STRING || n >= size ? NULL : r_bytes(b, n);

	out[0] = '\0';
	if (!p || memchr(p, '\0', n)) {
		b->err = -EPROTO;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void r_strv(struct rbuf *b, char ***out)
{
	uint32_t n = r_u32(b);

	*out = NULL;
	if (b->err || n == NO_STRING)
		return;
	if ((size_t)n > b->left / 4) {
		b->err = -EPROTO;
		return;
	}
	*out = r_alloc(b, (size_t)n + 1, sizeof(**out));
	for (size_t i = 0; i < n && !b->err; i++) {
		r_strdup(b, &(*out)[i]);
		if (!b->err && !(*out)[i])
			b->err = -EPROTO;
	}
}

/* ---- the config, field by field ------------------------------------------------------- */

/* Field by field, as everything here: a struct's padding is nobody's business. */
static bool policy_equal(const struct rs_policy_cfg *a, const struct rs_policy_cfg *b)
{
	return a->rotate_every == b->rotate_every && a->grace == b->grace &&
	       a->max_grace == b->max_grace && a->length == b->length &&
	       strcmp(a->alphabet_spec, b->alphabet_spec) == 0 && a->alphabet.n == b->alphabet.n &&
	       memcmp(a->alphabet.chars, b->alphabet.chars, sizeof(a->alphabet.chars)) == 0 &&
	       a->entropy_bits == b->entropy_bits && a->hash_cost == b->hash_cost &&
	       a->window_start == b->window_start && a->window_end == b->window_end &&
	       a->jitter == b->jitter && a->rotate_after_use == b->rotate_after_use &&
	       a->quiet_revoke == b->quiet_revoke && a->tripwire_keep == b->tripwire_keep &&
	       a->retry_min == b->retry_min && a->retry_max == b->retry_max;
}

static void w_policy(struct wbuf *b, const struct rs_policy_cfg *p, const struct rs_policy_cfg *def)
{
	/* Most accounts inherit every policy value: one word instead of the policy. */
	bool same = def && policy_equal(p, def);

	w_u32(b, same);
	if (same)
		return;
	w_u64(b, (uint64_t)p->rotate_every);
	w_u64(b, (uint64_t)p->grace);
	w_u64(b, (uint64_t)p->max_grace);
	w_u64(b, p->length);
	w_str(b, p->alphabet_spec);
	w_u64(b, p->alphabet.n);
	w_bytes(b, p->alphabet.chars, sizeof(p->alphabet.chars));
	w_bytes(b, &p->entropy_bits, sizeof(p->entropy_bits));
	w_u32(b, (uint32_t)p->hash_cost);
	w_u32(b, (uint32_t)p->window_start);
	w_u32(b, (uint32_t)p->window_end);
	w_u64(b, (uint64_t)p->jitter);
	w_u64(b, (uint64_t)p->rotate_after_use);
	w_u64(b, (uint64_t)p->quiet_revoke);
	w_u32(b, p->tripwire_keep);
	w_u64(b, (uint64_t)p->retry_min);
	w_u64(b, (uint64_t)p->retry_max);
}

static void r_policy(struct rbuf *b, struct rs_policy_cfg *p, const struct rs_policy_cfg *def)
{
	uint32_t same = r_u32(b), cost;

	if (same) {
		if (def)
			*p = *def;
		else
			b->err = -EPROTO;
		return;
	}
	memset(p, 0, sizeof(*p));
	p->rotate_every = (int64_t)r_u64(b);
	p->grace = (int64_t)r_u64(b);
	p->max_grace = (int64_t)r_u64(b);
	p->length = r_u64(b);
	r_strcpy(b, p->alphabet_spec, sizeof(p->alphabet_spec));
	p->alphabet.n = r_u64(b);
	r_copy(b, p->alphabet.chars, sizeof(p->alphabet.chars));
	r_copy(b, &p->entropy_bits, sizeof(p->entropy_bits));
	cost = r_u32(b);
	p->hash_cost = cost == RS_COST_MODERATE ? RS_COST_MODERATE : RS_COST_INTERACTIVE;
	p->window_start = (int)r_u32(b);
	p->window_end = (int)r_u32(b);
	p->jitter = (int64_t)r_u64(b);
	p->rotate_after_use = (int64_t)r_u64(b);
	p->quiet_revoke = (int64_t)r_u64(b);
	p->tripwire_keep = r_u32(b);
	p->retry_min = (int64_t)r_u64(b);
	p->retry_max = (int64_t)r_u64(b);
	if (cost > RS_COST_MODERATE || p->alphabet.n > sizeof(p->alphabet.chars))
		b->err = -EPROTO;
}

static void w_delivery(struct wbuf *b, const struct rs_delivery *d)
{
	w_u32(b, (uint32_t)d->kind);
	w_str(b, d->file);
	w_strv(b, d->argv);
	w_u64(b, d->argc);
	w_str(b, d->sealed_to);
	w_bytes(b, d->sealed_pk, sizeof(d->sealed_pk));
	w_str(b, d->owner);
	w_str(b, d->group);
	w_u32(b, d->uid);
	w_u32(b, d->gid);
	w_u32(b, d->mode);
	w_u64(b, (uint64_t)d->timeout);
	w_str(b, d->user);
	w_u32(b, d->run_uid);
	w_u32(b, d->run_gid);
	w_u32(b, (uint32_t)d->line);
}

static void r_delivery(struct rbuf *b, struct rs_delivery *d)
{
	uint32_t kind = r_u32(b);

	if (kind > RS_DELIVER_SEALED)
		b->err = -EPROTO;
	d->kind = (enum rs_delivery_kind)kind;
	r_strdup(b, &d->file);
	r_strv(b, &d->argv);
	d->argc = r_u64(b);
	r_strdup(b, &d->sealed_to);
	r_copy(b, d->sealed_pk, sizeof(d->sealed_pk));
	r_strcpy(b, d->owner, sizeof(d->owner));
	r_strcpy(b, d->group, sizeof(d->group));
	d->uid = r_u32(b);
	d->gid = r_u32(b);
	d->mode = r_u32(b);
	d->timeout = (int64_t)r_u64(b);
	r_strcpy(b, d->user, sizeof(d->user));
	d->run_uid = r_u32(b);
	d->run_gid = r_u32(b);
	d->line = (int)r_u32(b);
}

static void w_names(struct wbuf *b, const char (*names)[RS_NAME_MAX + 1], size_t n)
{
	w_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		w_str(b, names[i]);
}

static void r_names(struct rbuf *b, char (**names)[RS_NAME_MAX + 1], size_t *n)
{
	*n = r_count(b, 4);
	*names = NULL;
	if (b->err || *n == 0)
		return;
	*names = r_alloc(b, *n, sizeof(**names));
	if (!*names) {
		*n = 0;
		return;
	}
	for (size_t i = 0; i < *n; i++)
		r_strcpy(b, (*names)[i], sizeof((*names)[i]));
}

static void w_account(struct wbuf *b, const struct rs_account_cfg *a,
                      const struct rs_policy_cfg *def)
{
	w_str(b, a->name);
	w_u32(b, a->uid);
	w_str(b, a->group);
	w_u32(b, a->gid);
	w_str(b, a->gecos);
	w_str(b, a->home);
	w_str(b, a->shell);
	w_names(b, (const char(*)[RS_NAME_MAX + 1]) a->groups, a->ngroups);
	w_u32(b, (uint32_t)a->nsup);
	w_bytes(b, a->sup_gids, a->nsup * sizeof(*a->sup_gids));
	w_u32(b, a->disabled);
	w_policy(b, &a->pol, def);
	w_u32(b, (uint32_t)a->ndeliver);
	for (size_t i = 0; i < a->ndeliver; i++)
		w_delivery(b, &a->deliver[i]);
	w_strv(b, a->verify_argv);
	w_u32(b, (uint32_t)a->line);
}

static void r_account(struct rbuf *b, struct rs_account_cfg *a, const struct rs_policy_cfg *def)
{
	size_t n;

	r_strcpy(b, a->name, sizeof(a->name));
	a->uid = r_u32(b);
	r_strcpy(b, a->group, sizeof(a->group));
	a->gid = r_u32(b);
	r_strdup(b, &a->gecos);
	r_strdup(b, &a->home);
	r_strdup(b, &a->shell);
	r_names(b, &a->groups, &a->ngroups);
	n = r_count(b, sizeof(*a->sup_gids));
	if (n) {
		a->sup_gids = r_alloc(b, n, sizeof(*a->sup_gids));
		if (a->sup_gids) {
			a->nsup = n;
			r_copy(b, a->sup_gids, n * sizeof(*a->sup_gids));
		}
	}
	a->disabled = r_u32(b) != 0;
	r_policy(b, &a->pol, def);
	n = r_count(b, 16);
	if (n) {
		a->deliver = r_alloc(b, n, sizeof(*a->deliver));
		a->ndeliver = a->deliver ? n : 0;
		for (size_t i = 0; a->deliver && i < a->ndeliver && !b->err; i++)
			r_delivery(b, &a->deliver[i]);
	}
	r_strv(b, &a->verify_argv);
	a->line = (int)r_u32(b);
	/* What every loaded account has: the engine relies on it. */
	if (!b->err && (!a->gecos || !a->home || !a->shell))
		b->err = -EPROTO;
}

/*
 * The config: paths, defaults, groups, then the accounts, preceded by their index in name
 * order (each account's position in the config and the offset of its record), so that a
 * load for one account (rs_config_load_one) decodes that account alone.
 */
static void w_config(struct wbuf *b, const struct rs_config *c)
{
	struct wbuf accts = {0};
	uint32_t *off;

	w_str(b, c->store_dir);
	w_str(b, c->state_dir);
	w_str(b, c->key_file);
	w_str(b, c->run_dir);
	w_str(b, c->audit_log);
	w_str(b, c->metrics_file);
	w_str(b, c->passwd_file);
	w_str(b, c->group_file);
	w_u64(b, (uint64_t)c->lock_timeout);
	w_policy(b, &c->defaults, NULL);
	w_bytes(b, &c->dummy_bits, sizeof(c->dummy_bits));
	w_u32(b, (uint32_t)c->dummy_cost);
	w_u32(b, (uint32_t)c->ngroups);
	for (size_t i = 0; i < c->ngroups; i++) {
		const struct rs_group_cfg *g = &c->groups[i];

		w_str(b, g->name);
		w_u32(b, g->gid);
		w_names(b, (const char(*)[RS_NAME_MAX + 1]) g->members, g->nmembers);
		w_u32(b, (uint32_t)g->line);
	}
	off = calloc(c->naccounts + 1, sizeof(*off));
	if (!off) {
		b->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < c->naccounts; i++) {
		off[i] = (uint32_t)accts.len;
		w_account(&accts, &c->accounts[i], &c->defaults);
	}
	if (accts.err || accts.len > UINT32_MAX)
		b->err = accts.err ? accts.err : -E2BIG;
	w_u32(b, (uint32_t)c->naccounts);
	for (size_t i = 0; i < c->naccounts; i++) {
		uint32_t k = (uint32_t)(c->by_name[i] - c->accounts);

		w_u32(b, k);
		w_u32(b, off[k]);
	}
	w_u32(b, (uint32_t)accts.len);
	w_bytes(b, accts.p, accts.len);
	free(accts.p);
	free(off);
	w_u32(b, (uint32_t)c->ndiags);
	for (size_t i = 0; i < c->ndiags; i++) {
		w_u32(b, c->diags[i].warning);
		w_str(b, c->diags[i].msg);
	}
}

/* Entry i of the name index: the account's position in the config and its record. */
struct acct_ref {
	uint32_t k, off;
};

static struct acct_ref index_entry(const unsigned char *index, size_t i)
{
	struct acct_ref e;

	memcpy(&e.k, index + 8 * i, sizeof(e.k));
	memcpy(&e.off, index + 8 * i + 4, sizeof(e.off));
	return e;
}

/* The record at `off` of the accounts section, as a cursor of its own. */
static struct rbuf account_at(const struct rbuf *sect, uint32_t off)
{
	struct rbuf r = *sect;

	if (off > sect->left)
		r.err = -EPROTO;
	else
		r.p += off, r.left -= off;
	return r;
}

/* Every account, in config order, and the name index checked against them. */
static void r_accounts_all(struct rbuf *b, struct rs_config *c, const unsigned char *index,
                           struct rbuf sect)
{
	const unsigned char *start = sect.p;
	uint32_t *off = NULL;

	if (c->naccounts) {
		c->accounts = r_alloc(b, c->naccounts, sizeof(*c->accounts));
		off = calloc(c->naccounts, sizeof(*off));
		if (!off && !b->err)
			b->err = -ENOMEM;
	}
	for (size_t i = 0; i < c->naccounts && !b->err; i++) {
		off[i] = (uint32_t)(sect.p - start);
		r_account(&sect, &c->accounts[i], &c->defaults);
		b->err = sect.err;
	}
	if (!b->err && sect.left)
		b->err = -EPROTO;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	c->by_name = r_alloc(b, c->naccounts + 1, sizeof(*c->by_name));
	for (size_t i = 0; i < c->naccounts && !b->err; i++) {
		struct acct_ref e = index_entry(index, i);

		/* Checked as rs_config_account's binary search needs it (strictly sorted,
		 * which also makes it a permutation), and as a load of one account reads it. */
		if (e.k >= c->naccounts || e.off != off[e.k] ||
		    (i && strcmp(c->by_name[i - 1]->name, c->accounts[e.k].name) >= 0))
			b->err = -EPROTO;
		else
			c->by_name[i] = &c->accounts[e.k];
	}
	free(off);
}

/* The account named `only` alone, found through the name index; none when the config
 * has no such account. */
static void r_accounts_one(struct rbuf *b, struct rs_config *c, const unsigned char *index,
                           size_t n, struct rbuf sect, const char *only)
{
	size_t lo = 0, hi = n;

	c->naccounts = 0;
	while (lo < hi && !b->err) {
		size_t mid = lo + (hi - lo) / 2;
		struct rbuf r = account_at(&sect, index_entry(index, mid).off);
		char name[RS_NAME_MAX + 1];
		int cmp;

		r_strcpy(&r, name, sizeof(name));
		b->err = r.err;
		cmp = strcmp(only, name);
		if (b->err || cmp == 0) {
			if (cmp == 0 && !b->err) {
				r = account_at(&sect, index_entry(index, mid).off);
				c->accounts = r_alloc(b, 1, sizeof(*c->accounts));
				if (c->accounts)
					r_account(&r, c->accounts, &c->defaults);
				b->err = b->err ? b->err : r.err;
				c->naccounts = b->err ? 0 : 1;
			}
			break;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	c->by_name = r_alloc(b, c->naccounts + 1, sizeof(*c->by_name));
	if (c->by_name && c->naccounts)
		c->by_name[0] = c->accounts;
	c->one_account = true;
}

/* The whole config, or with `only` the config with that account alone. */
static void r_config(struct rbuf *b, struct rs_config *c, const char *only)
{
	char **paths[] = {&c->store_dir, &c->state_dir,    &c->key_file,    &c->run_dir,
	                  &c->audit_log, &c->metrics_file, &c->passwd_file, &c->group_file};
	const unsigned char *index;
	struct rbuf sect;
	uint32_t cost;
	size_t n, slen;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r_strdup(b, paths[i]);
		if (!b->err && !*paths[i])
			b->err = -EPROTO;
	}
	c->lock_timeout = (int64_t)r_u64(b);
	r_policy(b, &c->defaults, NULL);
	r_copy(b, &c->dummy_bits, sizeof(c->dummy_bits));
	cost = r_u32(b);
	c->dummy_cost = cost == RS_COST_MODERATE ? RS_COST_MODERATE : RS_COST_INTERACTIVE;
	if (cost > RS_COST_MODERATE)
		b->err = -EPROTO;
	n = r_count(b, 16);
	if (n) {
		c->groups = r_alloc(b, n, sizeof(*c->groups));
		if (c->groups)
			c->ngroups = n;
	}
	for (size_t i = 0; i < c->ngroups && !b->err; i++) {
		struct rs_group_cfg *g = &c->groups[i];

		r_strcpy(b, g->name, sizeof(g->name));
		g->gid = r_u32(b);
		r_names(b, &g->members, &g->nmembers);
		g->line = (int)r_u32(b);
	}
	n = r_count(b, 8);
	index = r_bytes(b, n * 8);
	slen = r_u32(b);
	sect = (struct rbuf){r_bytes(b, slen), slen, b->err, b->arena};
	/* Each account's record is 32 bytes at least. */
	if (!b->err && n > slen / 32)
		b->err = -EPROTO;
	if (!b->err) {
		c->naccounts = n;
		if (only)
			r_accounts_one(b, c, index, n, sect, only);
		else
			r_accounts_all(b, c, index, sect);
	}
	n = r_count(b, 8);
	if (n) {
		c->diags = r_alloc(b, n, sizeof(*c->diags));
		if (c->diags)
			c->ndiags = n;
	}
	for (size_t i = 0; i < c->ndiags && !b->err; i++) {
		c->diags[i].warning = r_u32(b) != 0;
		r_strcpy(b, c->diags[i].msg, sizeof(c->diags[i].msg));
		/* Errors are never cached: a config with one is not loaded. */
		if (!c->diags[i].warning)
			b->err = -EPROTO;
	}
	if (!b->err && b->left)
		b->err = -EPROTO;
}

/* ---- keys and inputs ------------------------------------------------------------------ */

/* The key: everything that must be the same for a full load to give this config. */
static int make_key(struct wbuf *k, const char *file, const struct rs_config_source *src)
{
	char path[PATH_MAX];
	struct stat exe;
	ssize_t n;
	uint32_t sizes[] = {sizeof(struct rs_config),     sizeof(struct rs_account_cfg),
	                    sizeof(struct rs_delivery),   sizeof(struct rs_group_cfg),
	                    sizeof(struct rs_policy_cfg), sizeof(struct rs_diag)};

	/* The loader is this executable: another build may check differently. Named by its
	 * link rather than stat'ed through it, which under valgrind would be the tool's. */
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	if (stat(path, &exe) < 0)
		return -errno;
	w_bytes(k, CACHE_MAGIC, sizeof(CACHE_MAGIC));
	w_bytes(k, sizes, sizeof(sizes));
	w_u64(k, (uint64_t)exe.st_dev);
	w_u64(k, (uint64_t)exe.st_ino);
	w_u64(k, (uint64_t)exe.st_size);
	w_u64(k, (uint64_t)exe.st_mtim.tv_sec);
	w_u64(k, (uint64_t)exe.st_mtim.tv_nsec);
	w_u64(k, (uint64_t)exe.st_ctim.tv_sec);
	w_u64(k, (uint64_t)exe.st_ctim.tv_nsec);
	w_u32(k, (uint32_t)geteuid());
	w_str(k, file);
	w_u32(k, (uint32_t)src->mode);
	w_u32(k, (uint32_t)src->uid);
	/* Last: cache_load takes it from here for a config file unchanged since. */
	w_bytes(k, src->hash, sizeof(src->hash));
	return k->err;
}

/* The mode, owner and BLAKE2b-256 of a file's bytes as the loader reads them (following
 * links, as fopen and open do). */
static int file_digest(const char *path, mode_t *mode, uid_t *uid, unsigned char hash[HASH_LEN])
{
	crypto_generichash_state st;
	unsigned char buf[16384];
	struct stat sb;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	*mode = sb.st_mode;
	*uid = sb.st_uid;
	crypto_generichash_init(&st, NULL, 0, HASH_LEN);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)n);
	}
	crypto_generichash_final(&st, hash, HASH_LEN);
out:
	(void)close(fd);
	return r;
}

/* The other files a load of `c` read: passwd_file, group_file, the sealed_to keys. */
static int w_inputs(struct wbuf *b, const struct rs_config *c)
{
	const char **paths;
	size_t n = 2, i, j;
	int r = 0;

	for (i = 0; i < c->naccounts; i++)
		for (j = 0; j < c->accounts[i].ndeliver; j++)
			n += c->accounts[i].deliver[j].kind == RS_DELIVER_SEALED;
	paths = calloc(n, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	n = 0;
	paths[n++] = c->passwd_file;
	paths[n++] = c->group_file;
	for (i = 0; i < c->naccounts; i++)
		for (j = 0; j < c->accounts[i].ndeliver; j++)
			if (c->accounts[i].deliver[j].kind == RS_DELIVER_SEALED)
				paths[n++] = c->accounts[i].deliver[j].sealed_to;
	w_u32(b, (uint32_t)n);
	for (i = 0; r == 0 && i < n; i++) {
		unsigned char hash[HASH_LEN];
		mode_t mode = 0;
		uid_t uid;

		r = paths[i] ? file_digest(paths[i], &mode, &uid, hash) : -EINVAL;
		w_str(b, paths[i]);
		w_u32(b, (uint32_t)mode);
		w_bytes(b, hash, sizeof(hash));
	}
	free(paths);
	return r ? r : b->err;
}

/* Each input as it was: 0, or -ESTALE. */
static int r_inputs(struct rbuf *b)
{
	size_t n = r_count(b, 4 + 4 + HASH_LEN);

	for (size_t i = 0; i < n && !b->err; i++) {
		unsigned char now[HASH_LEN], was[HASH_LEN];
		char path[PATH_MAX];
		mode_t mode = 0, was_mode;
		uid_t uid;

		r_strcpy(b, path, sizeof(path));
		was_mode = (mode_t)r_u32(b);
		r_copy(b, was, sizeof(was));
		if (!b->err && (file_digest(path, &mode, &uid, now) < 0 || mode != was_mode ||
		                sodium_memcmp(now, was, HASH_LEN) != 0))
			b->err = -ESTALE;
	}
	return b->err;
}

/*
 * The config file as it was read, when it had settled (config.h): when it is still that
 * file, unchanged since (device, inode, size, both times to the nanosecond), its bytes are
 * the bytes the key's hash is of, and hashing them again (2 ms for a config of 10,000
 * accounts) is spared. A file changed within RS_CONFIG_SETTLED seconds before it was read
 * is hashed at every load: a change within the same tick of the file system's clock
 * could leave both times as they were.
 */
static void w_id(struct wbuf *b, const struct rs_config_source *src)
{
	const struct rs_file_id *id = &src->id;

	w_u32(b, src->settled);
	w_u64(b, id->dev);
	w_u64(b, id->ino);
	w_u64(b, id->size);
	w_u64(b, (uint64_t)id->mtime_sec);
	w_u64(b, (uint64_t)id->mtime_nsec);
	w_u64(b, (uint64_t)id->ctime_sec);
	w_u64(b, (uint64_t)id->ctime_nsec);
}

/* Whether the config file is still the settled file the cache was made from. */
static bool r_id_same(struct rbuf *b, const char *file, struct rs_config_source *src)
{
	struct rs_file_id was = {0}, now;
	uint32_t settled = r_u32(b);
	struct stat st;

	was.dev = r_u64(b);
	was.ino = r_u64(b);
	was.size = r_u64(b);
	was.mtime_sec = (int64_t)r_u64(b);
	was.mtime_nsec = (int64_t)r_u64(b);
	was.ctime_sec = (int64_t)r_u64(b);
	was.ctime_nsec = (int64_t)r_u64(b);
	if (b->err || settled != 1 || stat(file, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	rs_file_id_of(&st, &now);
	if (memcmp(&now, &was, sizeof(now)) != 0)
		return false;
	src->mode = st.st_mode & 07777;
	src->uid = st.st_uid;
	return true;
}

/* ---- the file ------------------------------------------------------------------------- */

/* The config's directory, checked as safe for root's files, and the cache's name in it. */
static int cache_dir(const char *file, char *name, size_t namelen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	int n;

	if (file[0] != '/' || !slash)
		return -EINVAL; /* a relative config: where it is depends on the cwd */
	n = snprintf(name, namelen, "%s%s", slash + 1, CACHE_SUFFIX);
	if (n < 0 || (size_t)n >= namelen || slash[1] == '\0')
		return -ENAMETOOLONG;
	if ((size_t)(slash - file) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	return rs_open_safe_dir(dir[0] ? dir : "/", 0, NULL, 0);
}

/* The whole cache file, mapped, if it is root's own (0600 at most, in a safe directory).
 * Mapped rather than read into a copy; decoded strings are copied out of it. It is only
 * ever replaced by a rename, never changed in place, so the mapping stays what it was
 * (a root process truncating it in place would make the load die of SIGBUS). */
static int read_cache(const char *file, unsigned char **data, size_t *len)
{
	char name[NAME_MAX + 1];
	struct stat st;
	void *p;
	int dirfd, fd;

	*data = NULL;
	*len = 0;
	dirfd = cache_dir(file, name, sizeof(name));
	if (dirfd < 0)
		return dirfd;
	fd = rs_open_safe_file(dirfd, name, name, (off_t)CACHE_MAX, &st, NULL, 0);
	(void)close(dirfd);
	if (fd < 0)
		return fd;
	if ((st.st_mode & 0077) || st.st_size <= 0) {
		(void)close(fd);
		return st.st_size <= 0 ? -EPROTO : -EPERM;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd);
	if (p == MAP_FAILED)
		return -errno;
	*data = p;
	*len = (size_t)st.st_size;
	return 0;
}

static void unmap_cache(unsigned char *data, size_t len)
{
	if (data)
		(void)munmap(data, len);
}

/* The config's bytes now, as rs_config_load_source would hash them. */
static int current_source(const char *file, struct rs_config_source *src)
{
	mode_t mode = 0;

	memset(src, 0, sizeof(*src));
	if (file_digest(file, &mode, &src->uid, src->hash) < 0 || !S_ISREG(mode))
		return -ESTALE;
	src->mode = mode & 07777;
	return 0;
}

static int cache_load(const char *file, struct rs_config *cfg, const char *only)
{
	struct rs_config_source src;
	struct wbuf key = {0};
	unsigned char *data = NULL, sum[HASH_LEN], check[HASH_LEN];
	const unsigned char *kp;
	size_t len = 0;
	struct rbuf b;
	uint32_t klen;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	memset(&src, 0, sizeof(src));
	r = read_cache(file, &data, &len);
	if (r < 0)
		goto out;
	b = (struct rbuf){data, len, 0, &cfg->arena};
	klen = r_u32(&b);
	kp = b.err || b.left < HASH_LEN || klen < HASH_LEN || klen > b.left - HASH_LEN
	             ? NULL
	             : r_bytes(&b, klen);
	if (!kp) {
		r = -ESTALE;
		goto out;
	}
	r_copy(&b, sum, sizeof(sum));
	crypto_generichash(check, sizeof(check), b.p, b.left, NULL, 0);
	if (sodium_memcmp(sum, check, sizeof(sum)) != 0) {
		r = -EPROTO;
		goto out;
	}
	/* The config's hash: the one the key holds (its last bytes, make_key) when the file
	 * is the very file it was made from, else of its bytes now. */
	if (r_id_same(&b, file, &src))
		memcpy(src.hash, kp + klen - HASH_LEN, HASH_LEN);
	else if (b.err || current_source(file, &src) < 0)
		r = -ESTALE;
	if (r == 0)
		r = make_key(&key, file, &src);
	if (r < 0)
		goto out;
	if (!key.p || key.len != klen || memcmp(kp, key.p, key.len) != 0) {
		r = -ESTALE;
		goto out;
	}
	r = r_inputs(&b);
	if (r == 0) {
		cfg->file = r_alloc(&b, strlen(file) + 1, 1);
		if (cfg->file)
			memcpy(cfg->file, file, strlen(file));
		r_config(&b, cfg, only);
		r = b.err;
	}
out:
	free(key.p);
	unmap_cache(data, len);
	if (r < 0)
		rs_config_free(cfg);
	return r;
}

/* Write FILE.cache for `cfg`, loaded from `src`. Best effort: a cache that cannot be
 * written costs the next command a full load, nothing else. */
static void cache_save(const char *file, const struct rs_config *cfg,
                       const struct rs_config_source *src)
{
	char name[NAME_MAX + 1];
	struct wbuf key = {0}, body = {0}, all = {0};
	unsigned char *old = NULL, sum[HASH_LEN];
	size_t oldlen = 0;
	int dirfd;

	if (!src->cacheable || make_key(&key, file, src) < 0)
		goto out;
	w_id(&body, src);
	if (w_inputs(&body, cfg) < 0)
		goto out;
	w_config(&body, cfg);
	if (body.err || key.len > UINT32_MAX)
		goto out;
	crypto_generichash(sum, sizeof(sum), body.p, body.len, NULL, 0);
	w_u32(&all, (uint32_t)key.len);
	w_bytes(&all, key.p, key.len);
	w_bytes(&all, sum, sizeof(sum));
	w_bytes(&all, body.p, body.len);
	if (all.err)
		goto out;
	/* Rewritten only when it differs: `check` and `sync` refresh it at every run. */
	if (read_cache(file, &old, &oldlen) == 0 && old && oldlen == all.len &&
	    memcmp(old, all.p, all.len) == 0)
		goto out;
	dirfd = cache_dir(file, name, sizeof(name));
	if (dirfd < 0)
		goto out;
	/* Writers of the cache take the directory's lock, so that the scan for a killed
	 * writer's temp file never removes a live one; a writer finding it taken leaves the
	 * cache to the one holding it. fsync'ed before the rename (never a partly written
	 * cache), the directory not: losing the rename only costs a full load. */
	if (flock(dirfd, LOCK_EX | LOCK_NB) == 0)
		(void)rs_atomic_replace_flags(dirfd, name, all.p, all.len, 0600, 0, 0,
		                              RS_ATOMIC_NODIRSYNC);
	(void)close(dirfd);
out:
	unmap_cache(old, oldlen);
	free(all.p);
	free(key.p);
	free(body.p);
}

static int load_cached(const char *file, struct rs_config *cfg, bool full, const char *only)
{
	struct rs_config_source src;
	int r;

	if (geteuid() != 0 || rs_crypto_init() < 0)
		return rs_config_load(file, cfg);
	if (!full && cache_load(file, cfg, only) == 0)
		return 1;
	r = rs_config_load_source(file, cfg, &src);
	if (r == 0)
		cache_save(file, cfg, &src);
	return r;
}

int rs_config_load_cached(const char *file, struct rs_config *cfg, bool full)
{
	return load_cached(file, cfg, full, NULL);
}

int rs_config_load_one(const char *file, const char *name, struct rs_config *cfg)
{
	return load_cached(file, cfg, false, name);
}
