/*
 * rotsec.conf (DESIGN §5): loading with libconfig, validation, resolution of every name.
 *
 * The load runs in two passes over the libconfig tree, because references can point
 * forward (a delivery owned by an account defined further down, an account whose group is
 * defined after it):
 *   1. every entry is parsed on its own: types, ranges, paths, durations; then each list
 *      as a whole, through sorted indexes: duplicates, collisions with the system files;
 *   2. names are resolved: primary and supplementary groups, delivery owners and users,
 *      group members, supplementary gid lists.
 * Every list element gets a struct in the output even when it is broken, so index i in
 * cfg->accounts is element i of the `accounts` list and pass 2 can find its settings again
 * for line numbers. A broken entry carries 0 for an id and "" for a name it lacks; the
 * checks skip those so one mistake gives one message, not a cascade.
 *
 * The system databases (passwd_file, group_file) are parsed by hand and never through
 * getpwnam(3)/getgrnam(3): once nss_rotsec is installed, NSS would answer with our own
 * accounts and every account would collide with itself.
 *
 * Nothing here writes anything: the caller only touches the store after a clean load.
 */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <sodium.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "journal.h"
#include "paths.h"
#include "record.h"
#include "sealed.h"

/* (uid_t)-1 means "no change" to chown(2) and setresuid(2); 65535 is the same for
 * programs still using 16-bit ids. Neither may name an account. */
#define ID_MAX        4294967294u
#define ID_RESERVED16 65535u

#define MIN_ENTROPY_BITS  64.0
#define GOOD_ENTROPY_BITS 128.0

/* ---- sorted indexes ------------------------------------------------------------------ */

/*
 * Every "which entry has this name or id" question of the load goes through an index
 * sorted once, never through a scan of the other entries: configs of 100,000 accounts and
 * passwd files of as many users are real (benchmarks compare with chpasswd on such a copy
 * of /etc/passwd), and a scan per entry made the load quadratic, minutes instead of a
 * second. Equal keys sort by position, so the first of a run is the entry that comes first
 * in the file: the one a duplicate is reported against, and the one a lookup returns, as
 * the scans did.
 */
struct key_ref {
	const char *name; /* the key when it is a string; NULL when it is `id` */
	uint32_t id;
	size_t pos; /* where the entry is: index in its array, or its rank in the file */
};

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

static void index_sort(struct key_ref *refs, size_t n)
{
	/* qsort(3) is declared nonnull: an empty index may be a NULL pointer. */
	if (n > 1)
		qsort(refs, n, sizeof(*refs), key_ref_cmp);
}

/* The first ref with this key in a sorted index, or NULL. A lower bound, not bsearch(3),
 * which may land on any of several equal keys. */
static const struct key_ref *index_find(const struct key_ref *refs, size_t n, const char *name,
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

/*
 * For a sorted index of entries whose positions are below npos, an array (*first) where
 * (*first)[p] is the position of the earliest entry with the same key as the entry at
 * position p: p itself when none comes before it, or when that entry has no ref (no key
 * to collide on). Freed by the caller.
 */
static int index_first_of_key(const struct key_ref *refs, size_t n, size_t npos, size_t **first)
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

/* Drop the repeats from names[] or ids[] (whichever is non-NULL), keeping each first
 * occurrence where it was: what checking each against those before it would keep. */
static int dedupe_keep_first(char (*names)[RS_NAME_MAX + 1], uint32_t *ids, size_t *n)
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
	index_sort(refs, *n);
	r = index_first_of_key(refs, *n, *n, &first);
	if (r < 0)
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

/* ---- system databases ------------------------------------------------------------- */

struct sys_entry {
	char *name;
	uint32_t id;  /* uid (passwd) or gid (group) */
	uint32_t gid; /* passwd: primary gid */
	unsigned line;
};

struct sysdb {
	struct sys_entry *e;
	size_t n;
	struct key_ref *by_name, *by_id; /* e sorted both ways, for the lookups */
};

static void sysdb_free(struct sysdb *db)
{
	for (size_t i = 0; i < db->n; i++)
		free(db->e[i].name);
	free(db->e);
	free(db->by_name);
	free(db->by_id);
	memset(db, 0, sizeof(*db));
}

/* Every account, group and delivery owner is looked up here, by name and by id. Ties keep
 * file order: a name written twice answers with its first line, as getpwnam(3) would. */
static int sysdb_index(struct sysdb *db)
{
	size_t cap = db->n ? db->n : 1;

	db->by_name = malloc(cap * sizeof(*db->by_name));
	db->by_id = malloc(cap * sizeof(*db->by_id));
	if (!db->by_name || !db->by_id)
		return -ENOMEM;
	for (size_t i = 0; i < db->n; i++) {
		db->by_name[i] = (struct key_ref){db->e[i].name, 0, i};
		db->by_id[i] = (struct key_ref){NULL, db->e[i].id, i};
	}
	index_sort(db->by_name, db->n);
	index_sort(db->by_id, db->n);
	return 0;
}

/* Digits only, fits in 32 bits: what shadow-utils writes. */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * Read NAME:PASSWORD:ID[:GID:...] lines. Lines that do not parse are skipped, not
 * refused: the file belongs to the system, and its own tools decide what is valid in it.
 * "+"/"-" lines are NIS compat markers, not local names.
 */
static int sysdb_load(const char *path, bool with_gid, struct sysdb *db)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	unsigned lineno = 0;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		goto out;
	}
	errno = 0;
	while ((len = getline(&buf, &cap, f)) != -1) {
		char *field[4] = {NULL}, *p = buf;
		struct sys_entry e = {0};
		size_t nf = 0;

		lineno++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[len - 1] = '\0';
		if (buf[0] == '\0' || buf[0] == '#' || buf[0] == '+' || buf[0] == '-')
			continue;
		while (nf < 4) {
			field[nf++] = p;
			p = strchr(p, ':');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (nf < (with_gid ? 4u : 3u) || !field[0][0] || parse_id(field[2], &e.id) < 0)
			continue;
		if (with_gid && parse_id(field[3], &e.gid) < 0)
			continue;
		if (db->n == alloc) {
			size_t ncap = alloc ? alloc * 2 : 64;
			struct sys_entry *ne = realloc(db->e, ncap * sizeof(*ne));

			if (!ne) {
				r = -ENOMEM;
				goto out;
			}
			db->e = ne;
			alloc = ncap;
		}
		e.name = strdup(field[0]);
		if (!e.name) {
			r = -ENOMEM;
			goto out;
		}
		e.line = lineno;
		db->e[db->n++] = e;
	}
	/* getline says -1 at the end of the file and when it cannot grow its buffer (ENOMEM,
	 * without ferror): a file read halfway would hide the names and ids that collide. */
	if (ferror(f) || !feof(f))
		r = errno ? -errno : -EIO;
	else
		r = sysdb_index(db);
out:
	free(buf);
	if (f)
		(void)fclose(f);
	if (r < 0)
		sysdb_free(db);
	return r;
}

static const struct sys_entry *sysdb_by_name(const struct sysdb *db, const char *name)
{
	const struct key_ref *k = index_find(db->by_name, db->n, name, 0);

	return k ? &db->e[k->pos] : NULL;
}

static const struct sys_entry *sysdb_by_id(const struct sysdb *db, uint32_t id)
{
	const struct key_ref *k = index_find(db->by_id, db->n, NULL, id);

	return k ? &db->e[k->pos] : NULL;
}

/* ---- policy keys -------------------------------------------------------------------- */

enum pol_key {
	P_ROTATE_EVERY,
	P_GRACE,
	P_MAX_GRACE,
	P_LENGTH,
	P_ALPHABET,
	P_HASH_COST,
	P_WINDOW,
	P_JITTER,
	P_ROTATE_AFTER_USE,
	P_QUIET_REVOKE,
	P_TRIPWIRE_KEEP,
	P_RETRY_MIN,
	P_RETRY_MAX,
	P_NKEYS
};

enum pol_kind { PK_DURATION, PK_LENGTH, PK_ALPHABET, PK_HASH_COST, PK_WINDOW, PK_TRIPWIRE };

static const struct {
	const char *name;
	enum pol_kind kind;
	size_t off; /* of the int64_t, for durations */
} pol_keys[P_NKEYS] = {
        [P_ROTATE_EVERY] = {"rotate_every", PK_DURATION,
                            offsetof(struct rs_policy_cfg, rotate_every)},
        [P_GRACE] = {"grace", PK_DURATION, offsetof(struct rs_policy_cfg, grace)},
        [P_MAX_GRACE] = {"max_grace", PK_DURATION, offsetof(struct rs_policy_cfg, max_grace)},
        [P_LENGTH] = {"length", PK_LENGTH, 0},
        [P_ALPHABET] = {"alphabet", PK_ALPHABET, 0},
        [P_HASH_COST] = {"hash_cost", PK_HASH_COST, 0},
        [P_WINDOW] = {"window", PK_WINDOW, 0},
        [P_JITTER] = {"jitter", PK_DURATION, offsetof(struct rs_policy_cfg, jitter)},
        [P_ROTATE_AFTER_USE] = {"rotate_after_use", PK_DURATION,
                                offsetof(struct rs_policy_cfg, rotate_after_use)},
        [P_QUIET_REVOKE] = {"quiet_revoke", PK_DURATION,
                            offsetof(struct rs_policy_cfg, quiet_revoke)},
        [P_TRIPWIRE_KEEP] = {"tripwire_keep", PK_TRIPWIRE, 0},
        [P_RETRY_MIN] = {"retry_min", PK_DURATION, offsetof(struct rs_policy_cfg, retry_min)},
        [P_RETRY_MAX] = {"retry_max", PK_DURATION, offsetof(struct rs_policy_cfg, retry_max)},
};

/* Where each policy value of one level (defaults, or one account) was written. */
struct pol_src {
	const config_setting_t *set[P_NKEYS]; /* NULL: inherited */
	bool bad[P_NKEYS]; /* written but invalid (already reported): skip checks using it */
};

static int pol_key_index(const char *name)
{
	for (int k = 0; k < P_NKEYS; k++)
		if (strcmp(pol_keys[k].name, name) == 0)
			return k;
	return -1;
}

static void policy_builtin(struct rs_policy_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->rotate_every = 30 * (int64_t)86400;
	p->grace = 3600;
	p->max_grace = 86400;
	p->length = 32;
	(void)snprintf(p->alphabet_spec, sizeof(p->alphabet_spec), "alnum");
	(void)rs_alphabet_parse(p->alphabet_spec, &p->alphabet);
	p->entropy_bits = rs_entropy_bits(&p->alphabet, p->length);
	p->hash_cost = RS_COST_INTERACTIVE;
	p->window_start = -1;
	p->window_end = -1;
	p->tripwire_keep = 3;
	p->retry_min = 30;
	p->retry_max = 3600;
}

/* ---- the loader ----------------------------------------------------------------------- */

struct loader {
	struct rs_config *cfg;
	config_t lc;
	struct sysdb pw, gr;
	bool pw_ok, gr_ok;      /* read; otherwise collisions cannot be checked (reported) */
	struct pol_src def_src; /* the defaults section */
	const config_setting_t *groups_list, *accounts_list;
	char *incdir; /* the config's directory, where @include looks */
	/* The config's own groups and accounts that have a name, sorted (key_ref_cmp) once
	 * their list is parsed: groups by name and by gid, accounts by name. */
	struct key_ref *grp_by_name, *grp_by_gid, *acc_by_name;
	size_t ngrp_named, nacc_named;
	size_t diag_cap;
	int err; /* internal failure (-ENOMEM): the load fails with it */
};

static const char *setting_file(const struct loader *ld, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;

	return f ? f : ld->cfg->file;
}

/* libconfig records an @include'd file by the name written in the directive, relative to
 * the include directory; a message must name it so it can be opened from anywhere. */
static void display_file(const struct loader *ld, const char *f, char *buf, size_t len)
{
	if (f[0] != '/' && strcmp(f, ld->cfg->file) != 0 && ld->incdir)
		(void)snprintf(buf, len, "%s/%s", ld->incdir, f);
	else
		(void)snprintf(buf, len, "%s", f);
}

/* Append one diagnostic "FILE:LINE: message" (or "FILE: message" for the file as a whole).
 * A warning is marked by its flag only: callers (rotsecctl) add their own "warning: ". */
__attribute__((format(printf, 5, 0))) static void vdiag_at(struct loader *ld, const char *file,
                                                           unsigned line, bool warning,
                                                           const char *fmt, va_list ap)
{
	char text[RS_DIAG_MAX], fname[PATH_MAX];
	struct rs_diag *d;

	if (ld->cfg->ndiags == ld->diag_cap) {
		size_t ncap = ld->diag_cap ? ld->diag_cap * 2 : 16;
		struct rs_diag *nd = realloc(ld->cfg->diags, ncap * sizeof(*nd));

		if (!nd) {
			ld->err = -ENOMEM;
			return;
		}
		ld->cfg->diags = nd;
		ld->diag_cap = ncap;
	}
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	/* Messages quote values from the config, which may hold control characters (libconfig
	 * strings can span lines): one diagnostic must stay one line, and a config must not
	 * be able to forge a second "file:line:" of its own. */
	for (char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	display_file(ld, file, fname, sizeof(fname));
	file = fname;
	d = &ld->cfg->diags[ld->cfg->ndiags++];
	d->warning = warning;
	if (line)
		(void)snprintf(d->msg, sizeof(d->msg), "%s:%u: %s", file, line, text);
	else
		(void)snprintf(d->msg, sizeof(d->msg), "%s: %s", file, text);
	if (!warning)
		ld->cfg->nerrors++;
}

__attribute__((format(printf, 5, 6))) static void
diag_line(struct loader *ld, const char *file, unsigned line, bool warning, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(ld, file, line, warning, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void
error_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(ld, setting_file(ld, s), s ? config_setting_source_line(s) : 0, false, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void
warn_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(ld, setting_file(ld, s), s ? config_setting_source_line(s) : 0, true, fmt, ap);
	va_end(ap);
}

/* "line 12", or "other.conf:12" when `other` comes from another (@include'd) file. */
static void where(const struct loader *ld, const config_setting_t *here,
                  const config_setting_t *other, char *buf, size_t len)
{
	const char *hf = setting_file(ld, here), *of = setting_file(ld, other);
	char fname[PATH_MAX];

	display_file(ld, of, fname, sizeof(fname));
	if (strcmp(hf, of) == 0)
		(void)snprintf(buf, len, "line %u", (unsigned)config_setting_source_line(other));
	else
		(void)snprintf(buf, len, "%s:%u", fname,
		               (unsigned)config_setting_source_line(other));
}

/* The setting `key` of element idx of `list`, or the element itself when it lacks it. */
static const config_setting_t *elem_member(const config_setting_t *list, size_t idx,
                                           const char *key)
{
	const config_setting_t *e = config_setting_get_elem(list, (unsigned)idx);
	const config_setting_t *m =
	        e && config_setting_is_group(e) ? config_setting_get_member(e, key) : NULL;

	return m ? m : e;
}

static char *xstrdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ld->err = -ENOMEM;
	return d;
}

/* ---- typed getters: each reports its own problem and returns -EINVAL ------------------ */

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a decimal number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "something else";
	}
}

/* The name used in messages: the key, or "command[2]" for an array element. */
static void key_name(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);

	if (config_setting_name(s))
		(void)snprintf(buf, len, "%s", config_setting_name(s));
	else if (parent && config_setting_name(parent))
		(void)snprintf(buf, len, "%s[%d]", config_setting_name(parent),
		               config_setting_index(s));
	else
		(void)snprintf(buf, len, "entry %d", config_setting_index(s) + 1);
}

static void wrong_type(struct loader *ld, const config_setting_t *s, const char *expected)
{
	char key[64];

	key_name(s, key, sizeof(key));
	error_at(ld, s, "%s must be %s, not %s", key, expected, type_name(config_setting_type(s)));
}

static int get_string(struct loader *ld, const config_setting_t *s, const char *expected,
                      const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		wrong_type(ld, s, expected);
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 0;
}

/* An id (uid or gid): 1..4294967294, 65535 excluded, 0 is root's. */
static int get_id(struct loader *ld, const config_setting_t *s, uint32_t *out)
{
	const char *key = config_setting_name(s);
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		wrong_type(ld, s, "an integer");
		return -EINVAL;
	}
	v = config_setting_get_int64(s);
	if (v == 0) {
		error_at(ld, s, "%s 0 is root's; a rotsec %s needs its own %s", key,
		         strcmp(key, "uid") == 0 ? "account" : "group", key);
		return -EINVAL;
	}
	if (v < 0 || v > (long long)ID_MAX || v == ID_RESERVED16) {
		error_at(ld, s, "%s %lld is out of range: expected 1 to %u, except 65535", key, v,
		         ID_MAX);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int get_bool(struct loader *ld, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		wrong_type(ld, s, "true or false");
		return -EINVAL;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

static int get_duration(struct loader *ld, const config_setting_t *s, int64_t *out)
{
	const char *v;
	char key[64];
	int r;

	if (get_string(ld, s, "a duration in quotes such as \"15m\"", &v) < 0)
		return -EINVAL;
	key_name(s, key, sizeof(key));
	r = rs_duration_parse(v, out);
	if (r == -ERANGE) {
		error_at(ld, s, "%s \"%s\" is too long: the limit is 100 years", key, v);
		return -EINVAL;
	}
	if (r < 0) {
		error_at(ld, s,
		         "%s \"%s\" is not a duration: expected numbers with units s, m, h, d "
		         "or w, such as \"90s\", \"15m\", \"2h\", \"7d\", \"1h30m\"",
		         key, v);
		return -EINVAL;
	}
	return 0;
}

/* An absolute path; copied into *out (freed by the caller). */
static int get_path(struct loader *ld, const config_setting_t *s, char **out)
{
	const char *v;
	char key[64];

	if (get_string(ld, s, "an absolute path in quotes", &v) < 0)
		return -EINVAL;
	key_name(s, key, sizeof(key));
	/* Relative paths would depend on the daemon's working directory, which systemd,
	 * a shell and the tests all set differently. */
	if (v[0] != '/') {
		error_at(ld, s, "%s \"%s\" must be an absolute path (starting with /)", key, v);
		return -EINVAL;
	}
	if (strlen(v) >= PATH_MAX) {
		error_at(ld, s, "%s is longer than %d bytes", key, PATH_MAX - 1);
		return -EINVAL;
	}
	*out = xstrdup(ld, v);
	return *out ? 0 : -ENOMEM;
}

/*
 * An array (or list) of strings into a NULL-terminated argv. With `command`, it must be
 * non-empty and argv[0] absolute: rotsec runs it with execve, no shell and no PATH search.
 */
static int get_strv(struct loader *ld, const config_setting_t *s, bool command, char ***out,
                    size_t *count)
{
	int type = config_setting_type(s), n;
	char key[64];
	char **v = NULL;
	int r = 0;

	key_name(s, key, sizeof(key));
	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		wrong_type(ld, s, "an array of strings [ \"...\", ... ]");
		return -EINVAL;
	}
	n = config_setting_length(s);
	if (command && n == 0) {
		error_at(ld, s, "%s is empty: expected [ \"/absolute/program\", \"arg\", ... ]",
		         key);
		return -EINVAL;
	}
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		ld->err = -ENOMEM;
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *str;

		if (get_string(ld, e, "a string", &str) < 0) {
			r = -EINVAL;
			continue;
		}
		if (command && i == 0 && str[0] != '/') {
			error_at(ld, e,
			         "%s program \"%s\" must be an absolute path: it is run without "
			         "a shell or PATH search",
			         key, str);
			r = -EINVAL;
		}
		v[i] = xstrdup(ld, str);
		if (!v[i]) {
			r = -ENOMEM;
			break;
		}
	}
	if (r < 0) {
		for (int i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return r;
	}
	*out = v;
	if (count)
		*count = (size_t)n;
	return 0;
}

/* A name that refers to something that may live in the system files (owner, members,
 * group references): those may predate shadow-utils' rules, so only what would break a
 * passwd/group line or our fixed-size fields is refused. */
static bool ref_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RS_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s == ':' || *s == ',' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int get_ref_name(struct loader *ld, const config_setting_t *s, char out[RS_NAME_MAX + 1])
{
	const char *v;
	char key[64];

	if (get_string(ld, s, "a name in quotes", &v) < 0)
		return -EINVAL;
	if (!ref_name_ok(v)) {
		key_name(s, key, sizeof(key));
		error_at(ld, s,
		         "%s \"%s\" is not a usable user or group name: 1 to %d characters, "
		         "no spaces, ':' or ','",
		         key, v, RS_NAME_MAX);
		return -EINVAL;
	}
	(void)snprintf(out, RS_NAME_MAX + 1, "%s", v);
	return 0;
}

/* A name rotsec defines (account or group): shadow-utils' rules, so useradd-era tools
 * and every NSS consumer accept it. */
static int get_new_name(struct loader *ld, const config_setting_t *s, const char *what,
                        char out[RS_NAME_MAX + 1])
{
	const char *v;

	if (get_string(ld, s, "a name in quotes", &v) < 0)
		return -EINVAL;
	if (!rs_name_valid(v)) {
		error_at(ld, s,
		         "\"%s\" is not a valid %s name: expected a lower-case letter or '_', "
		         "then letters, digits, '_' or '-' (optionally a final '$'), at most %d "
		         "characters",
		         v, what, RS_NAME_MAX);
		return -EINVAL;
	}
	(void)snprintf(out, RS_NAME_MAX + 1, "%s", v);
	return 0;
}

/* ---- unknown keys ------------------------------------------------------------------- */

/* Edit distance, to suggest the key that was probably meant. Keys are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], i, j;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static bool in_list(const char *const *keys, const char *name)
{
	for (; *keys; keys++)
		if (strcmp(*keys, name) == 0)
			return true;
	return false;
}

static void unknown_key(struct loader *ld, const config_setting_t *s, const char *const *keys,
                        bool with_policy, const char *ctx)
{
	const char *name = config_setting_name(s), *best = NULL;
	size_t best_d = SIZE_MAX;
	char list[512];
	size_t used = 0;

	for (const char *const *k = keys; *k; k++) {
		size_t d = edit_distance(name, *k);

		if (d < best_d)
			best_d = d, best = *k;
		used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0,
		                         "%s%s", used ? ", " : "", *k);
	}
	for (int k = 0; with_policy && k < P_NKEYS; k++) {
		size_t d = edit_distance(name, pol_keys[k].name);

		if (d < best_d)
			best_d = d, best = pol_keys[k].name;
		used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0,
		                         ", %s", pol_keys[k].name);
	}
	/* Two edits catch the usual typos without suggesting something unrelated. */
	if (best && best_d <= 2 && best_d < strlen(name))
		error_at(ld, s, "unknown key \"%s\" %s: did you mean \"%s\"?", name, ctx, best);
	else
		error_at(ld, s, "unknown key \"%s\" %s; the keys allowed there are: %s", name, ctx,
		         list);
}

static void check_keys(struct loader *ld, const config_setting_t *grp, const char *const *keys,
                       bool with_policy, const char *ctx)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s);

		if (in_list(keys, name) || (with_policy && pol_key_index(name) >= 0))
			continue;
		unknown_key(ld, s, keys, with_policy, ctx);
	}
}

/*
 * The members of group `grp` named in `keys` and, with_policy, the policy keys, found in
 * one pass over the group: tab[i] for keys[i], tab[nkeys + k] for pol_keys[k], NULL when
 * absent (tabn slots, at least nkeys + P_NKEYS with policy). config_setting_get_member
 * walks the group comparing names through libconfig's path syntax, some 600 instructions
 * a call, and an account was looked up for every key it may hold: a fifth of loading
 * 10,000 accounts. Returns whether some member is in neither list (check_keys says which).
 */
static bool member_table(const config_setting_t *grp, const char *const *keys, bool with_policy,
                         const config_setting_t **tab, size_t tabn)
{
	int n = config_setting_length(grp);
	size_t nkeys = 0;
	bool unknown = false;

	while (keys[nkeys])
		nkeys++;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	memset(tab, 0, tabn * sizeof(*tab));
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(m);
		size_t k = 0;
		int p;

		while (k < nkeys && strcmp(keys[k], name) != 0)
			k++;
		p = k < nkeys || !with_policy ? -1 : pol_key_index(name);
		if (k < nkeys)
			p = (int)k;
		else if (p >= 0)
			p += (int)nkeys;
		if (p < 0 || (size_t)p >= tabn)
			unknown = true;
		else if (!tab[p]) /* the first, as config_setting_get_member finds it */
			tab[p] = m;
	}
	return unknown;
}

/* A list of groups: ( { ... }, { ... } ). An empty [] or () is an empty list. -EINVAL only
 * when it is not a list at all. */
static int want_list_of_groups(struct loader *ld, const config_setting_t *s, const char *entry)
{
	int type = config_setting_type(s), n;
	char key[64];

	key_name(s, key, sizeof(key));
	if (type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)
		return 0;
	if (type != CONFIG_TYPE_LIST) {
		error_at(ld, s, "%s must be a list of %s entries ( { ... }, { ... } ), not %s", key,
		         entry, type_name(type));
		return -EINVAL;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		/* Reported here; the entry parsers skip such elements and go on with the
		 * others, so their problems are reported too. */
		if (!config_setting_is_group(e))
			error_at(ld, e, "%s entry %d must be a group { ... }, not %s", key, i + 1,
			         type_name(config_setting_type(e)));
	}
	return 0;
}

/* ---- policy ------------------------------------------------------------------------- */

/* "HH:MM" at *s; advances *s. */
static int parse_hhmm(const char **s, int *minutes)
{
	const char *p = *s;
	int h = 0, m, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 2)
		h = h * 10 + (*p++ - '0'), digits++;
	if (!digits || *p != ':' || !(p[1] >= '0' && p[1] <= '9') || !(p[2] >= '0' && p[2] <= '9'))
		return -EINVAL;
	m = (p[1] - '0') * 10 + (p[2] - '0');
	if (h > 23 || m > 59)
		return -EINVAL;
	*minutes = h * 60 + m;
	*s = p + 3;
	return 0;
}

static int parse_window(const char *v, int *start, int *end)
{
	const char *p = v;

	if (parse_hhmm(&p, start) < 0 || *p++ != '-' || parse_hhmm(&p, end) < 0 || *p)
		return -EINVAL;
	return 0;
}

static int parse_policy_value(struct loader *ld, const config_setting_t *s, int k,
                              struct rs_policy_cfg *p)
{
	struct rs_alphabet alpha;
	const char *v;
	long long n;
	int start, end;

	switch (pol_keys[k].kind) {
	case PK_DURATION:
		return get_duration(ld, s, (int64_t *)(void *)((char *)p + pol_keys[k].off));
	case PK_LENGTH:
	case PK_TRIPWIRE: {
		long long max = pol_keys[k].kind == PK_LENGTH ? RS_SECRET_MAX : RS_TRIPWIRE_MAX;
		long long min = pol_keys[k].kind == PK_LENGTH ? 1 : 0;

		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64) {
			wrong_type(ld, s, "an integer");
			return -EINVAL;
		}
		n = config_setting_get_int64(s);
		if (n < min || n > max) {
			error_at(ld, s, "%s %lld is out of range: expected %lld to %lld",
			         pol_keys[k].name, n, min, max);
			return -EINVAL;
		}
		if (pol_keys[k].kind == PK_LENGTH)
			p->length = (size_t)n;
		else
			p->tripwire_keep = (unsigned)n;
		return 0;
	}
	case PK_ALPHABET:
		if (get_string(ld, s, "a string such as \"alnum\"", &v) < 0)
			return -EINVAL;
		/* Parsed aside: a failed parse must leave the inherited alphabet whole. */
		if (strlen(v) >= sizeof(p->alphabet_spec) || rs_alphabet_parse(v, &alpha) < 0) {
			error_at(ld, s,
			         "alphabet \"%.100s\" is not valid: expected \"alnum\", "
			         "\"base64url\", \"printable\", or the characters themselves "
			         "(at least 2, printable ASCII, no space, none repeated)",
			         v);
			return -EINVAL;
		}
		(void)snprintf(p->alphabet_spec, sizeof(p->alphabet_spec), "%s", v);
		p->alphabet = alpha;
		return 0;
	case PK_HASH_COST:
		if (get_string(ld, s, "\"interactive\" or \"moderate\"", &v) < 0)
			return -EINVAL;
		if (strcmp(v, "interactive") == 0) {
			p->hash_cost = RS_COST_INTERACTIVE;
		} else if (strcmp(v, "moderate") == 0) {
			p->hash_cost = RS_COST_MODERATE;
		} else {
			error_at(ld, s,
			         "hash_cost \"%s\" is not valid: expected \"interactive\" "
			         "or \"moderate\"",
			         v);
			return -EINVAL;
		}
		return 0;
	case PK_WINDOW:
		if (get_string(ld, s, "a string \"HH:MM-HH:MM\"", &v) < 0)
			return -EINVAL;
		if (parse_window(v, &start, &end) < 0) {
			error_at(ld, s,
			         "window \"%s\" is not valid: expected \"HH:MM-HH:MM\" in local "
			         "time, such as \"02:00-05:00\" or \"22:00-04:00\"",
			         v);
			return -EINVAL;
		}
		if (start == end) {
			error_at(ld, s,
			         "window \"%s\" starts and ends at the same time: give a range "
			         "such as \"02:00-05:00\", or leave window out to rotate at any "
			         "time",
			         v);
			return -EINVAL;
		}
		p->window_start = start;
		p->window_end = end;
		return 0;
	}
	return -EINVAL;
}

/* Read the policy keys present in a group over `p` (which holds the inherited values);
 * set[k] is the group's setting for pol_keys[k] (member_table), NULL when absent. */
static void parse_policy(struct loader *ld, const config_setting_t *const *set,
                         struct rs_policy_cfg *p, struct pol_src *src)
{
	memset(src, 0, sizeof(*src));
	for (int k = 0; k < P_NKEYS; k++) {
		const config_setting_t *s = set[k];

		if (!s)
			continue;
		src->set[k] = s;
		if (parse_policy_value(ld, s, k, p) < 0)
			src->bad[k] = true;
	}
	p->entropy_bits = rs_entropy_bits(&p->alphabet, p->length);
}

/*
 * Checks that involve two policy values, on the merged policy of one level. `own` is
 * where this level wrote its values, `inh` the defaults section (NULL when checking the
 * defaults themselves). A problem is reported at this level only if this level wrote one
 * of the values involved: a bad pair inherited whole was already reported at defaults,
 * once, instead of once per account.
 */
struct pol_check {
	struct loader *ld;
	const struct rs_policy_cfg *p;
	const struct pol_src *own, *inh;
};

static bool pc_bad(const struct pol_check *c, int k)
{
	return c->own->bad[k] || (!c->own->set[k] && c->inh && c->inh->bad[k]);
}

/* The setting to report a problem between a and b at, or NULL when this level wrote
 * neither (or one of them is already reported as invalid). */
static const config_setting_t *pc_site(const struct pol_check *c, int a, int b)
{
	if (pc_bad(c, a) || pc_bad(c, b))
		return NULL;
	return c->own->set[a] ? c->own->set[a] : c->own->set[b];
}

/* ", from defaults" / ", the default" after a value this level did not write. */
static const char *pc_origin(const struct pol_check *c, int k)
{
	if (c->own->set[k])
		return "";
	if (c->inh && c->inh->set[k])
		return ", from defaults";
	return ", the default";
}

static void check_durations(const struct pol_check *c, int shorter, int longer, bool strict)
{
	const int64_t a =
	        *(const int64_t *)(const void *)((const char *)c->p + pol_keys[shorter].off);
	const int64_t b =
	        *(const int64_t *)(const void *)((const char *)c->p + pol_keys[longer].off);
	const config_setting_t *site = pc_site(c, shorter, longer);
	char da[32], db[32];

	if (!site || (strict ? a < b : a <= b))
		return;
	rs_duration_format(a, da, sizeof(da));
	rs_duration_format(b, db, sizeof(db));
	error_at(c->ld, site, "%s (%s%s) must be %s %s (%s%s)", pol_keys[shorter].name, da,
	         pc_origin(c, shorter), strict ? "shorter than" : "at most", pol_keys[longer].name,
	         db, pc_origin(c, longer));
}

static void check_policy(struct loader *ld, const struct rs_policy_cfg *p,
                         const struct pol_src *own, const struct pol_src *inh)
{
	const struct pol_check c = {ld, p, own, inh};
	const config_setting_t *site;

	/* A rotation must not start while the previous secret is still in grace (DESIGN §3),
	 * so a grace as long as the period would make every rotation wait for the last. */
	check_durations(&c, P_GRACE, P_ROTATE_EVERY, true);
	/* max_grace is the hard limit the deadline can never pass. */
	check_durations(&c, P_GRACE, P_MAX_GRACE, false);
	check_durations(&c, P_JITTER, P_ROTATE_EVERY, true);
	check_durations(&c, P_RETRY_MIN, P_RETRY_MAX, false);

	/* Zero would retry a failing delivery in a tight loop. */
	site = own->set[P_RETRY_MIN];
	if (site && !own->bad[P_RETRY_MIN] && p->retry_min == 0)
		error_at(ld, site,
		         "retry_min must be at least 1s: 0 would retry a failing "
		         "delivery without pause");

	site = pc_site(&c, P_LENGTH, P_ALPHABET);
	if (site && p->entropy_bits < GOOD_ENTROPY_BITS) {
		double per_char = p->entropy_bits / (double)p->length;
		unsigned need = (unsigned)(GOOD_ENTROPY_BITS / per_char);

		if ((double)need * per_char < GOOD_ENTROPY_BITS)
			need++;
		if (p->entropy_bits < MIN_ENTROPY_BITS)
			error_at(ld, site,
			         "a secret of %zu characters from alphabet \"%.40s\" (%zu "
			         "characters) has %.0f bits of entropy; at least %.0f are required "
			         "(%u characters for 128 bits)",
			         p->length, p->alphabet_spec, p->alphabet.n, p->entropy_bits,
			         MIN_ENTROPY_BITS, need);
		else
			warn_at(ld, site,
			        "a secret of %zu characters from alphabet \"%.40s\" (%zu "
			        "characters) has %.0f bits of entropy, under %.0f: it is stored "
			        "with the slow Argon2id hash; %u characters would reach 128 bits",
			        p->length, p->alphabet_spec, p->alphabet.n, p->entropy_bits,
			        GOOD_ENTROPY_BITS, need);
	}
}

/* ---- groups ------------------------------------------------------------------------- */

static const char *const group_keys[] = {"name", "gid", "members", NULL};

/* An array grown one element at a time is full when its length is 0 or a power of two:
 * its capacity doubles then, and is never stored. A group collects a member per account
 * naming it: growing by one would copy the whole array on each. */
static bool grow_now(size_t n)
{
	return (n & (n - 1)) == 0;
}

static int add_name(struct loader *ld, char (**arr)[RS_NAME_MAX + 1], size_t *n, const char *name)
{
	if (grow_now(*n)) {
		char(*na)[RS_NAME_MAX + 1] = realloc(*arr, (*n ? *n * 2 : 1) * sizeof(**arr));

		if (!na) {
			ld->err = -ENOMEM;
			return -ENOMEM;
		}
		*arr = na;
	}
	(void)snprintf((*arr)[*n], RS_NAME_MAX + 1, "%s", name);
	(*n)++;
	return 0;
}

static void parse_group(struct loader *ld, size_t idx)
{
	const config_setting_t *e = config_setting_get_elem(ld->groups_list, (unsigned)idx);
	struct rs_group_cfg *g = &ld->cfg->groups[idx];
	const config_setting_t *s, *name_s, *gid_s;
	char ctx[64];

	/* Not a group: reported by want_list_of_groups, the slot stays empty. */
	if (!config_setting_is_group(e))
		return;
	g->line = config_setting_source_line(e);
	name_s = config_setting_get_member(e, "name");
	if (!name_s)
		error_at(ld, e, "group entry has no name: add name = \"...\"");
	else
		(void)get_new_name(ld, name_s, "group", g->name);
	(void)snprintf(ctx, sizeof(ctx), g->name[0] ? "in group \"%s\"" : "in a group entry",
	               g->name);
	check_keys(ld, e, group_keys, false, ctx);

	gid_s = config_setting_get_member(e, "gid");
	if (!gid_s)
		error_at(ld, e, "group %s%s%shas no gid: add gid = NUMBER", g->name[0] ? "\"" : "",
		         g->name, g->name[0] ? "\" " : "");
	else
		(void)get_id(ld, gid_s, &g->gid);

	s = config_setting_get_member(e, "members");
	if (s) {
		int type = config_setting_type(s), n = config_setting_length(s);

		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			wrong_type(ld, s, "an array of names [ \"...\", ... ]");
		for (int i = 0; (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) && i < n;
		     i++) {
			char m[RS_NAME_MAX + 1];

			/* Repeats are dropped once pass 2 has added its own (resolve). */
			if (get_ref_name(ld, config_setting_get_elem(s, (unsigned)i), m) == 0 &&
			    add_name(ld, &g->members, &g->nmembers, m) < 0)
				return;
		}
	}
}

/*
 * Names and gids unique among the config's groups and absent from group_file, once all
 * groups are parsed: sorted, a duplicate is found next to the first entry with its key,
 * the one the message names, instead of comparing each group with every earlier one.
 * Leaves ld->grp_by_name and ld->grp_by_gid for pass 2.
 */
static void check_groups(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;
	struct key_ref *by_gid = NULL; /* every group with a gid, named or not */
	size_t *name_first = NULL, *gid_first = NULL, ngid = 0;
	size_t cap = cfg->ngroups ? cfg->ngroups : 1;
	char at[PATH_MAX + 32];
	int r = 0;

	ld->grp_by_name = malloc(cap * sizeof(*ld->grp_by_name));
	ld->grp_by_gid = malloc(cap * sizeof(*ld->grp_by_gid));
	by_gid = malloc(cap * sizeof(*by_gid));
	if (!ld->grp_by_name || !ld->grp_by_gid || !by_gid) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct rs_group_cfg *g = &cfg->groups[i];

		/* A group without a valid name cannot be referred to: not in the lookups. */
		if (g->name[0]) {
			ld->grp_by_name[ld->ngrp_named] = (struct key_ref){g->name, 0, i};
			ld->grp_by_gid[ld->ngrp_named++] = (struct key_ref){NULL, g->gid, i};
		}
		if (g->gid)
			by_gid[ngid++] = (struct key_ref){NULL, g->gid, i};
	}
	index_sort(ld->grp_by_name, ld->ngrp_named);
	index_sort(ld->grp_by_gid, ld->ngrp_named);
	index_sort(by_gid, ngid);
	r = index_first_of_key(ld->grp_by_name, ld->ngrp_named, cfg->ngroups, &name_first);
	if (r == 0)
		r = index_first_of_key(by_gid, ngid, cfg->ngroups, &gid_first);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct rs_group_cfg *g = &cfg->groups[i];
		const struct sys_entry *se_name = NULL, *se_gid = NULL;
		const config_setting_t *name_s, *gid_s;
		size_t j;

		/* Redefining a local group would give the host two answers for one name or
		 * id. */
		if (ld->gr_ok && g->name[0])
			se_name = sysdb_by_name(&ld->gr, g->name);
		if (ld->gr_ok && g->gid)
			se_gid = sysdb_by_id(&ld->gr, g->gid);
		/* The usual case: nothing to report, spare the settings lookups. */
		if (name_first[i] == i && gid_first[i] == i && !se_name && !se_gid)
			continue;
		name_s = elem_member(ld->groups_list, i, "name");
		gid_s = elem_member(ld->groups_list, i, "gid");
		if ((j = name_first[i]) != i) {
			where(ld, name_s, elem_member(ld->groups_list, j, "name"), at, sizeof(at));
			error_at(ld, name_s, "group \"%s\" is already defined at %s", g->name, at);
		}
		if ((j = gid_first[i]) != i) {
			where(ld, gid_s, elem_member(ld->groups_list, j, "gid"), at, sizeof(at));
			error_at(ld, gid_s, "gid %u is already used by group \"%s\" at %s", g->gid,
			         cfg->groups[j].name, at);
		}
		if (se_name)
			error_at(ld, name_s,
			         "group \"%s\" already exists in %s (line %u): rotsec defines new "
			         "groups only; use it by name in an account's group or groups "
			         "instead",
			         g->name, cfg->group_file, se_name->line);
		if (se_gid)
			error_at(ld, gid_s,
			         "gid %u is already used by group \"%s\" in %s (line %u)", g->gid,
			         se_gid->name, cfg->group_file, se_gid->line);
	}
out:
	if (r < 0)
		ld->err = r;
	free(name_first);
	free(gid_first);
	free(by_gid);
}

/* ---- deliveries --------------------------------------------------------------------- */

static const char *const deliver_keys[] = {"file",    "owner", "group",     "mode", "command",
                                           "timeout", "user",  "sealed_to", NULL};
static const char *const file_keys[] = {"file", "owner", "group", "mode", NULL};
static const char *const command_keys[] = {"command", "timeout", "user", NULL};
static const char *const sealed_keys[] = {"sealed_to", "file", "owner", "group", "mode", NULL};

static const char *kind_name(enum rs_delivery_kind k)
{
	return k == RS_DELIVER_COMMAND ? "command" : k == RS_DELIVER_SEALED ? "sealed" : "file";
}

static int parse_mode(struct loader *ld, const config_setting_t *s, enum rs_delivery_kind kind,
                      mode_t *out)
{
	const char *v, *p;
	unsigned long m = 0;

	/* libconfig reads 0400 as the decimal 400: only a string keeps the octal meaning. */
	if (get_string(ld, s, "an octal string such as \"0400\"", &v) < 0)
		return -EINVAL;
	for (p = v; *p >= '0' && *p <= '7' && m <= 07777; p++)
		m = m * 8 + (unsigned long)(*p - '0');
	if (p == v || *p || m > 07777) {
		error_at(ld, s,
		         "mode \"%s\" is not valid: expected an octal mode up to 07777, "
		         "such as \"0400\"",
		         v);
		return -EINVAL;
	}
	/* The secret itself in the file: any access by others gives it away. */
	if (kind == RS_DELIVER_FILE && (m & 0007)) {
		error_at(ld, s,
		         "mode %04lo gives other users access to the secret: use \"0400\" or "
		         "\"0440\" (nothing for others)",
		         m);
		return -EINVAL;
	}
	/* A sealed file may be world-readable, but whoever can write it can swap in a
	 * secret of their own choosing. */
	if (kind == RS_DELIVER_SEALED && (m & 0022)) {
		error_at(ld, s,
		         "mode %04lo lets group or others write the sealed file: use \"0644\" "
		         "or stricter",
		         m);
		return -EINVAL;
	}
	*out = (mode_t)m;
	return 0;
}

static void load_sealed_key(struct loader *ld, const config_setting_t *s, struct rs_delivery *d)
{
	char why[256] = "";
	int r;

	/* The key check multiplies by a random scalar: libsodium must be initialised, and
	 * the loader should not depend on the caller having done it. */
	if (rs_crypto_init() < 0) {
		ld->err = -EIO;
		return;
	}
	/* `why` names the path already. */
	r = rs_read_public_key(d->sealed_to, d->sealed_pk, why, sizeof(why));
	if (r == -ENOMEM)
		ld->err = -ENOMEM;
	else if (r == -EINVAL || r == -EPERM)
		error_at(ld, s, "sealed_to key refused: %s",
		         why[0] ? why : "not a valid X25519 public key file");
	else if (r < 0 && why[0])
		error_at(ld, s, "cannot read sealed_to key: %s", why);
	else if (r < 0)
		error_at(ld, s, "cannot read sealed_to key %s: %s", d->sealed_to, strerror(-r));
}

static void parse_delivery(struct loader *ld, const config_setting_t *e, const char *acc_name,
                           struct rs_delivery *d)
{
	const config_setting_t *file_s = config_setting_get_member(e, "file");
	const config_setting_t *cmd_s = config_setting_get_member(e, "command");
	const config_setting_t *sealed_s = config_setting_get_member(e, "sealed_to");
	const char *const *allowed;
	const config_setting_t *s;
	char ctx[96];
	int n;

	d->timeout = 30;
	if (!config_setting_is_group(e))
		return;
	d->line = config_setting_source_line(e);
	if (acc_name[0])
		(void)snprintf(ctx, sizeof(ctx), "in a deliver entry of account \"%s\"", acc_name);
	else
		(void)snprintf(ctx, sizeof(ctx), "in a deliver entry");
	check_keys(ld, e, deliver_keys, false, ctx);

	if (cmd_s && (file_s || sealed_s)) {
		error_at(ld, e,
		         "a deliver entry must be exactly one kind: file, command or sealed_to; "
		         "this one has command and %s: split it into separate entries",
		         sealed_s ? "sealed_to" : "file");
		return;
	}
	if (!cmd_s && !file_s && !sealed_s) {
		error_at(ld, e,
		         "a deliver entry needs one of file = \"/path\", command = [ \"/prog\" ] "
		         "or sealed_to = \"/key.pub\" with file = \"/path\"");
		return;
	}
	if (sealed_s && !file_s) {
		error_at(ld, sealed_s,
		         "sealed_to needs file = \"/path\": where the sealed secret is written");
		return;
	}
	d->kind = cmd_s ? RS_DELIVER_COMMAND : sealed_s ? RS_DELIVER_SEALED : RS_DELIVER_FILE;
	allowed = d->kind == RS_DELIVER_COMMAND  ? command_keys
	          : d->kind == RS_DELIVER_SEALED ? sealed_keys
	                                         : file_keys;
	n = config_setting_length(e);
	for (int i = 0; i < n; i++) {
		const char *key = config_setting_name(config_setting_get_elem(e, (unsigned)i));

		if (in_list(deliver_keys, key) && !in_list(allowed, key))
			error_at(ld, config_setting_get_elem(e, (unsigned)i),
			         "%s does not apply to a %s delivery", key, kind_name(d->kind));
	}

	if (d->kind == RS_DELIVER_COMMAND) {
		(void)get_strv(ld, cmd_s, true, &d->argv, &d->argc);
		s = config_setting_get_member(e, "timeout");
		if (s && get_duration(ld, s, &d->timeout) == 0 && d->timeout == 0) {
			error_at(ld, s, "timeout must be at least 1s");
			d->timeout = 30;
		}
		s = config_setting_get_member(e, "user");
		if (s)
			(void)get_ref_name(ld, s, d->user);
		return;
	}

	(void)get_path(ld, file_s, &d->file);
	d->mode = d->kind == RS_DELIVER_SEALED ? 0644 : 0400;
	s = config_setting_get_member(e, "mode");
	if (s)
		(void)parse_mode(ld, s, d->kind, &d->mode);
	(void)snprintf(d->owner, sizeof(d->owner), "root");
	s = config_setting_get_member(e, "owner");
	if (s)
		(void)get_ref_name(ld, s, d->owner);
	s = config_setting_get_member(e, "group");
	if (s)
		(void)get_ref_name(ld, s, d->group);
	if (d->kind == RS_DELIVER_SEALED && get_path(ld, sealed_s, &d->sealed_to) == 0)
		load_sealed_key(ld, sealed_s, d);
}

/* ---- accounts ----------------------------------------------------------------------- */

static const char *const account_keys[] = {"name",    "uid",    "group", "groups",
                                           "gecos",   "home",   "shell", "disabled",
                                           "deliver", "verify", NULL};
/* Their slots in an account's member_table, in the same order; the policy keys follow. */
enum {
	AK_NAME,
	AK_UID,
	AK_GROUP,
	AK_GROUPS,
	AK_GECOS,
	AK_HOME,
	AK_SHELL,
	AK_DISABLED,
	AK_DELIVER,
	AK_VERIFY,
	AK_N
};
_Static_assert(sizeof(account_keys) / sizeof(account_keys[0]) == AK_N + 1,
               "account_keys and AK_* differ");

/* gecos, home and shell end up in passwd lines: ':' or a newline would forge fields. */
static int get_field(struct loader *ld, const config_setting_t *s, bool path, char **out)
{
	const char *v;
	int r;

	if (path)
		r = get_path(ld, s, out);
	else if ((r = get_string(ld, s, "a string", &v)) == 0)
		r = (*out = xstrdup(ld, v)) ? 0 : -ENOMEM;
	if (r < 0)
		return r;
	if (!rs_field_ok(*out)) {
		error_at(ld, s, "%s must not contain ':', a newline or control characters",
		         config_setting_name(s));
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

static void parse_account(struct loader *ld, size_t idx)
{
	const config_setting_t *e = config_setting_get_elem(ld->accounts_list, (unsigned)idx);
	struct rs_account_cfg *a = &ld->cfg->accounts[idx];
	const config_setting_t *s, *name_s, *uid_s, *tab[AK_N + P_NKEYS];
	struct pol_src own;
	char ctx[64];
	bool unknown;

	if (!config_setting_is_group(e))
		return;
	a->line = config_setting_source_line(e);
	unknown = member_table(e, account_keys, true, tab, AK_N + P_NKEYS);
	name_s = tab[AK_NAME];
	if (!name_s)
		error_at(ld, e, "account entry has no name: add name = \"...\"");
	else
		(void)get_new_name(ld, name_s, "account", a->name);
	(void)snprintf(ctx, sizeof(ctx), a->name[0] ? "in account \"%s\"" : "in an account entry",
	               a->name);
	if (unknown)
		check_keys(ld, e, account_keys, true, ctx);

	uid_s = tab[AK_UID];
	if (!uid_s)
		error_at(ld, e, "account %s has no uid: add uid = NUMBER",
		         a->name[0] ? a->name : "entry");
	else
		(void)get_id(ld, uid_s, &a->uid);

	s = tab[AK_GROUP];
	if (!s)
		error_at(ld, e,
		         "account %s has no group: add group = \"NAME\" (a group defined in "
		         "groups or present in %s)",
		         a->name[0] ? a->name : "entry", ld->cfg->group_file);
	else
		(void)get_ref_name(ld, s, a->group);

	s = tab[AK_GROUPS];
	if (s) {
		int type = config_setting_type(s), n = config_setting_length(s);

		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			wrong_type(ld, s, "an array of group names [ \"...\", ... ]");
		for (int i = 0; (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) && i < n;
		     i++) {
			char g[RS_NAME_MAX + 1];

			/* Kept as written, one slot per element, so pass 2 can point at the
			 * element of a group that does not exist; "" marks a bad one. */
			g[0] = '\0';
			(void)get_ref_name(ld, config_setting_get_elem(s, (unsigned)i), g);
			if (add_name(ld, &a->groups, &a->ngroups, g) < 0)
				return;
		}
	}

	s = tab[AK_GECOS];
	if (!s || get_field(ld, s, false, &a->gecos) < 0)
		a->gecos = xstrdup(ld, "");
	s = tab[AK_HOME];
	if (!s || get_field(ld, s, true, &a->home) < 0)
		a->home = xstrdup(ld, "/nonexistent");
	s = tab[AK_SHELL];
	if (!s || get_field(ld, s, true, &a->shell) < 0)
		a->shell = xstrdup(ld, "/usr/sbin/nologin");
	s = tab[AK_DISABLED];
	if (s)
		(void)get_bool(ld, s, &a->disabled);
	s = tab[AK_VERIFY];
	if (s)
		(void)get_strv(ld, s, true, &a->verify_argv, NULL);

	s = tab[AK_DELIVER];
	if (s && want_list_of_groups(ld, s, "deliver") == 0 && config_setting_length(s) > 0) {
		size_t n = (size_t)config_setting_length(s);

		/* The rotation journal follows this many consumers per account (journal.h). */
		if (n > RS_MAX_DELIVERIES) {
			error_at(ld, s, "%s has %zu deliveries; at most %d are allowed", a->name, n,
			         RS_MAX_DELIVERIES);
			n = 0;
		}
		a->deliver = n ? calloc(n, sizeof(*a->deliver)) : NULL;
		if (n && !a->deliver) {
			ld->err = -ENOMEM;
			return;
		}
		a->ndeliver = n;
		for (size_t j = 0; j < n; j++)
			parse_delivery(ld, config_setting_get_elem(s, (unsigned)j), a->name,
			               &a->deliver[j]);
	}

	a->pol = ld->cfg->defaults;
	parse_policy(ld, tab + AK_N, &a->pol, &own);
	check_policy(ld, &a->pol, &own, &ld->def_src);
}

/*
 * Names and uids unique among the config's accounts and absent from passwd_file, once all
 * accounts are parsed; sorted, as check_groups does for groups. Leaves ld->acc_by_name for
 * pass 2.
 */
static void check_accounts(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;
	struct key_ref *by_uid = NULL;
	size_t *name_first = NULL, *uid_first = NULL, nuid = 0;
	size_t cap = cfg->naccounts ? cfg->naccounts : 1;
	char at[PATH_MAX + 32];
	int r = 0;

	ld->acc_by_name = malloc(cap * sizeof(*ld->acc_by_name));
	by_uid = malloc(cap * sizeof(*by_uid));
	if (!ld->acc_by_name || !by_uid) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];

		if (a->name[0])
			ld->acc_by_name[ld->nacc_named++] = (struct key_ref){a->name, 0, i};
		if (a->uid)
			by_uid[nuid++] = (struct key_ref){NULL, a->uid, i};
	}
	index_sort(ld->acc_by_name, ld->nacc_named);
	index_sort(by_uid, nuid);
	r = index_first_of_key(ld->acc_by_name, ld->nacc_named, cfg->naccounts, &name_first);
	if (r == 0)
		r = index_first_of_key(by_uid, nuid, cfg->naccounts, &uid_first);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];
		const struct sys_entry *se_name = NULL, *se_uid = NULL;
		const config_setting_t *name_s, *uid_s;
		size_t j;

		/* Two sources answering for one name or uid: which one NSS returns would
		 * depend on the order in nsswitch.conf, and file ownership would be shared by
		 * accident. */
		if (ld->pw_ok && a->name[0])
			se_name = sysdb_by_name(&ld->pw, a->name);
		if (ld->pw_ok && a->uid)
			se_uid = sysdb_by_id(&ld->pw, a->uid);
		if (name_first[i] == i && uid_first[i] == i && !se_name && !se_uid)
			continue;
		name_s = elem_member(ld->accounts_list, i, "name");
		uid_s = elem_member(ld->accounts_list, i, "uid");
		if ((j = name_first[i]) != i) {
			where(ld, name_s, elem_member(ld->accounts_list, j, "name"), at,
			      sizeof(at));
			error_at(ld, name_s, "account \"%s\" is already defined at %s", a->name,
			         at);
		}
		if ((j = uid_first[i]) != i) {
			where(ld, uid_s, elem_member(ld->accounts_list, j, "uid"), at, sizeof(at));
			error_at(ld, uid_s, "uid %u is already used by account \"%s\" at %s",
			         a->uid, cfg->accounts[j].name, at);
		}
		if (se_name)
			error_at(ld, name_s,
			         "account \"%s\" already exists in %s (line %u): rotsec only "
			         "manages "
			         "accounts it defines; choose another name",
			         a->name, cfg->passwd_file, se_name->line);
		if (se_uid)
			error_at(ld, uid_s, "uid %u is already used by user \"%s\" in %s (line %u)",
			         a->uid, se_uid->name, cfg->passwd_file, se_uid->line);
	}
out:
	if (r < 0)
		ld->err = r;
	free(name_first);
	free(uid_first);
	free(by_uid);
}

/* ---- pass 2: names to ids ----------------------------------------------------------- */

/* The first group of the config with this name. */
static struct rs_group_cfg *cfg_group(const struct loader *ld, const char *name)
{
	const struct key_ref *k = index_find(ld->grp_by_name, ld->ngrp_named, name, 0);

	return k ? &ld->cfg->groups[k->pos] : NULL;
}

/* Config groups first: they are what the store will define. */
static int resolve_group(const struct loader *ld, const char *name, uint32_t *gid)
{
	const struct rs_group_cfg *g = cfg_group(ld, name);
	const struct sys_entry *se;

	if (g) {
		*gid = g->gid;
		return 0;
	}
	se = ld->gr_ok ? sysdb_by_name(&ld->gr, name) : NULL;
	if (!se)
		return -ENOENT;
	*gid = se->id;
	return 0;
}

/* Accounts defined here first (they may not exist on the host until the store does). */
static int resolve_user(const struct loader *ld, const char *name, uint32_t *uid, uint32_t *gid)
{
	const struct rs_account_cfg *a = rs_config_account(ld->cfg, name);
	const struct sys_entry *se;

	if (a) {
		*uid = a->uid;
		*gid = a->gid;
		return 0;
	}
	se = ld->pw_ok ? sysdb_by_name(&ld->pw, name) : NULL;
	if (!se)
		return -ENOENT;
	*uid = se->id;
	*gid = se->gid;
	return 0;
}

/* The first named group of the config with this gid, else group_file's. */
static const char *group_name_of(const struct loader *ld, uint32_t gid)
{
	const struct key_ref *k = index_find(ld->grp_by_gid, ld->ngrp_named, NULL, gid);
	const struct sys_entry *se;

	if (k)
		return ld->cfg->groups[k->pos].name;
	se = ld->gr_ok ? sysdb_by_id(&ld->gr, gid) : NULL;
	return se ? se->name : "";
}

/* Repeats are dropped at the end (resolve): an account may be in as many groups as there
 * are, and checking each gid against those before would be quadratic in them. */
static int add_gid(struct loader *ld, struct rs_account_cfg *a, uint32_t gid)
{
	if (gid == 0 || gid == a->gid)
		return 0;
	if (grow_now(a->nsup)) {
		uint32_t *n = realloc(a->sup_gids, (a->nsup ? a->nsup * 2 : 1) * sizeof(*n));

		if (!n) {
			ld->err = -ENOMEM;
			return -ENOMEM;
		}
		a->sup_gids = n;
	}
	a->sup_gids[a->nsup++] = gid;
	return 0;
}

static void resolve_account_groups(struct loader *ld, size_t idx)
{
	const config_setting_t *e = config_setting_get_elem(ld->accounts_list, (unsigned)idx);
	const config_setting_t *gs = config_setting_get_member(e, "groups");
	struct rs_account_cfg *a = &ld->cfg->accounts[idx];

	if (a->group[0] && resolve_group(ld, a->group, &a->gid) < 0)
		error_at(ld, config_setting_get_member(e, "group"),
		         "group \"%s\" of account \"%s\" does not exist: define it in groups or "
		         "use a group from %s",
		         a->group, a->name, ld->cfg->group_file);

	for (size_t i = 0; i < a->ngroups; i++) {
		uint32_t gid;

		if (!a->groups[i][0])
			continue;
		if (resolve_group(ld, a->groups[i], &gid) < 0) {
			error_at(ld, config_setting_get_elem(gs, (unsigned)i),
			         "supplementary group \"%s\" of account \"%s\" does not exist: "
			         "define it in groups or use a group from %s",
			         a->groups[i], a->name, ld->cfg->group_file);
			continue;
		}
		if (add_gid(ld, a, gid) < 0)
			return;
	}
}

/*
 * Membership written on the group's side counts too, as in /etc/group: after each
 * account's own `groups` (resolve_account_groups ran for all), the gids of the groups
 * listing it in `members`, in config order. Walked from the groups, each member looked up
 * by name, rather than each account searched for in every group's members.
 */
static void add_member_gids(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;

	for (size_t g = 0; g < cfg->ngroups && !ld->err; g++) {
		const struct rs_group_cfg *grp = &cfg->groups[g];

		for (size_t m = 0; m < grp->nmembers; m++) {
			const struct key_ref *k =
			        index_find(ld->acc_by_name, ld->nacc_named, grp->members[m], 0);
			const struct key_ref *end = ld->acc_by_name + ld->nacc_named;

			/* Every account of that name: duplicates are refused, but still resolved
			 * like the others. */
			for (; k && k < end && strcmp(k->name, grp->members[m]) == 0; k++)
				if (add_gid(ld, &cfg->accounts[k->pos], grp->gid) < 0)
					return;
		}
	}
}

static void resolve_delivery(struct loader *ld, const config_setting_t *e, struct rs_delivery *d)
{
	const config_setting_t *s;
	uint32_t uid, gid;

	if (d->kind == RS_DELIVER_COMMAND) {
		/* "" runs the command as root, like the daemon itself. */
		if (!d->user[0])
			return;
		if (resolve_user(ld, d->user, &uid, &gid) < 0) {
			error_at(ld, config_setting_get_member(e, "user"),
			         "user \"%s\" of this command delivery is neither an account here "
			         "nor a user in %s",
			         d->user, ld->cfg->passwd_file);
			return;
		}
		d->run_uid = uid;
		d->run_gid = gid;
		return;
	}
	if (!d->owner[0])
		return;
	if (resolve_user(ld, d->owner, &uid, &gid) < 0) {
		s = config_setting_get_member(e, "owner");
		error_at(ld, s ? s : e,
		         "owner \"%s\"%s is neither an account here nor a user in %s", d->owner,
		         s ? "" : " (the default)", ld->cfg->passwd_file);
		return;
	}
	d->uid = uid;
	s = config_setting_get_member(e, "group");
	if (!s) {
		d->gid = gid;
		(void)snprintf(d->group, sizeof(d->group), "%s", group_name_of(ld, gid));
	} else if (d->group[0] && resolve_group(ld, d->group, &d->gid) < 0) {
		error_at(ld, s, "group \"%s\" is neither defined in groups nor present in %s",
		         d->group, ld->cfg->group_file);
	}
}

/* The `file` setting of delivery j of account i. */
static const config_setting_t *deliver_file_setting(const struct loader *ld, size_t i, size_t j)
{
	const config_setting_t *e = config_setting_get_elem(ld->accounts_list, (unsigned)i);

	return elem_member(config_setting_get_member(e, "deliver"), j, "file");
}

/*
 * Two deliveries into one file would overwrite each other on every rotation. Each later
 * one is reported against the first in the file, found through an index of all files.
 */
static void check_unique_files(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;
	struct key_ref *refs = NULL;
	struct deliver_at {
		size_t acc, del;
	} *at = NULL; /* by rank of a delivery in the file: which one it is */
	size_t *first = NULL, total = 0, nrefs = 0, rank = 0;
	int r = 0;

	for (size_t i = 0; i < cfg->naccounts; i++)
		total += cfg->accounts[i].ndeliver;
	if (total < 2)
		goto out;
	refs = malloc(total * sizeof(*refs));
	at = malloc(total * sizeof(*at));
	if (!refs || !at) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->naccounts; i++) {
		for (size_t j = 0; j < cfg->accounts[i].ndeliver; j++, rank++) {
			const struct rs_delivery *d = &cfg->accounts[i].deliver[j];

			at[rank] = (struct deliver_at){i, j};
			if (d->file)
				refs[nrefs++] = (struct key_ref){d->file, 0, rank};
		}
	}
	index_sort(refs, nrefs);
	r = index_first_of_key(refs, nrefs, total, &first);
	if (r < 0)
		goto out;

	for (rank = 0; rank < total; rank++) {
		const struct deliver_at d = at[rank], o = at[first[rank]];
		const config_setting_t *ds, *os;
		char where_o[PATH_MAX + 32];

		if (first[rank] == rank)
			continue;
		ds = deliver_file_setting(ld, d.acc, d.del);
		os = deliver_file_setting(ld, o.acc, o.del);
		where(ld, ds, os, where_o, sizeof(where_o));
		error_at(ld, ds,
		         "file \"%s\" is already the destination of the deliver entry at %s: each "
		         "delivery needs its own file",
		         cfg->accounts[d.acc].deliver[d.del].file, where_o);
	}
out:
	if (r < 0)
		ld->err = r;
	free(first);
	free(at);
	free(refs);
}

static void resolve(struct loader *ld)
{
	struct rs_config *cfg = ld->cfg;

	/* An account's supplementary gids: its own `groups`, then the groups listing it in
	 * `members`, each gid once (the first time it comes). */
	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++)
		resolve_account_groups(ld, i);
	add_member_gids(ld);
	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++) {
		struct rs_account_cfg *a = &cfg->accounts[i];

		if (dedupe_keep_first(NULL, a->sup_gids, &a->nsup) < 0)
			ld->err = -ENOMEM;
	}

	/* A group's members: those written there, then accounts naming it in `groups`, each
	 * name once (the first time it comes). */
	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];

		for (size_t j = 0; a->name[0] && j < a->ngroups; j++) {
			struct rs_group_cfg *g = cfg_group(ld, a->groups[j]);

			if (g && add_name(ld, &g->members, &g->nmembers, a->name) < 0)
				return;
		}
	}
	for (size_t i = 0; i < cfg->ngroups && !ld->err; i++) {
		struct rs_group_cfg *g = &cfg->groups[i];

		if (dedupe_keep_first(g->members, NULL, &g->nmembers) < 0)
			ld->err = -ENOMEM;
	}

	/* A member nobody defines is harmless to the system (it ignores it), but it is
	 * usually a typo, so say so without refusing the config. */
	for (size_t i = 0; ld->pw_ok && i < cfg->ngroups; i++) {
		const config_setting_t *e = config_setting_get_elem(ld->groups_list, (unsigned)i);
		const config_setting_t *ms =
		        config_setting_is_group(e) ? config_setting_get_member(e, "members") : NULL;
		int n = ms && config_setting_is_aggregate(ms) ? config_setting_length(ms) : 0;

		for (int j = 0; j < n; j++) {
			const config_setting_t *m = config_setting_get_elem(ms, (unsigned)j);
			const char *name = config_setting_type(m) == CONFIG_TYPE_STRING
			                           ? config_setting_get_string(m)
			                           : NULL;

			/* Bad names were refused in pass 1. */
			if (!name || !ref_name_ok(name) || rs_config_account(cfg, name) ||
			    sysdb_by_name(&ld->pw, name))
				continue;
			warn_at(ld, m,
			        "member \"%s\" of group \"%s\" is neither an account here nor a "
			        "user "
			        "in %s",
			        name, cfg->groups[i].name, cfg->passwd_file);
		}
	}

	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++) {
		const config_setting_t *dl = elem_member(ld->accounts_list, i, "deliver");

		for (size_t j = 0; j < cfg->accounts[i].ndeliver; j++)
			resolve_delivery(ld, config_setting_get_elem(dl, (unsigned)j),
			                 &cfg->accounts[i].deliver[j]);
	}
	check_unique_files(ld);
}

/* ---- top level ---------------------------------------------------------------------- */

static const char *const top_keys[] = {
        "store_dir",      "state_dir",   "key_file",   "run_dir",      "audit_log",
        "metrics_file",   "passwd_file", "group_file", "lock_timeout", "metrics_interval",
        "usage_interval", "defaults",    "groups",     "accounts",     NULL};

static const struct {
	const char *key;
	size_t off;
	const char *def;
} top_paths[] = {
        {"store_dir", offsetof(struct rs_config, store_dir), RS_DEFAULT_STORE_DIR},
        {"state_dir", offsetof(struct rs_config, state_dir), RS_DEFAULT_STATE_DIR},
        {"key_file", offsetof(struct rs_config, key_file), RS_DEFAULT_KEY_FILE},
        {"run_dir", offsetof(struct rs_config, run_dir), RS_DEFAULT_RUN_DIR},
        {"audit_log", offsetof(struct rs_config, audit_log), RS_DEFAULT_AUDIT_LOG},
        {"metrics_file", offsetof(struct rs_config, metrics_file), RS_DEFAULT_METRICS_FILE},
        {"passwd_file", offsetof(struct rs_config, passwd_file), RS_DEFAULT_PASSWD_FILE},
        {"group_file", offsetof(struct rs_config, group_file), RS_DEFAULT_GROUP_FILE},
};

static void load_sysdb(struct loader *ld, const config_setting_t *root, const char *key,
                       const char *path, bool with_gid, struct sysdb *db, bool *ok)
{
	int r = sysdb_load(path, with_gid, db);

	if (r == -ENOMEM) {
		ld->err = r;
		return;
	}
	if (r < 0) {
		/* Without it, collisions with local users and groups go unnoticed: refuse. */
		error_at(ld, config_setting_get_member(root, key),
		         "cannot read %s \"%s\": %s; it is needed to check that names and ids do "
		         "not collide with local ones",
		         key, path, strerror(-r));
		return;
	}
	*ok = true;
}

static void parse_top(struct loader *ld)
{
	const config_setting_t *root = config_root_setting(&ld->lc), *s;
	struct rs_config *cfg = ld->cfg;
	bool path_bad[sizeof(top_paths) / sizeof(top_paths[0])] = {false};

	check_keys(ld, root, top_keys, false, "at the top level");
	for (size_t i = 0; i < sizeof(top_paths) / sizeof(top_paths[0]); i++) {
		char **dst = (char **)(void *)((char *)cfg + top_paths[i].off);

		s = config_setting_get_member(root, top_paths[i].key);
		if (s && get_path(ld, s, dst) == 0)
			continue;
		path_bad[i] = s != NULL;
		/* Invalid values fall back too: every path in a loaded config is non-NULL. */
		*dst = xstrdup(ld, top_paths[i].def);
	}
	cfg->lock_timeout = 10;
	s = config_setting_get_member(root, "lock_timeout");
	if (s)
		(void)get_duration(ld, s, &cfg->lock_timeout);
	/* Both bound how often rotsecd does work on its own or on logins: zero would mean
	 * as often as possible, which is what they exist to prevent. */
	cfg->metrics_interval = 60;
	s = config_setting_get_member(root, "metrics_interval");
	if (s && get_duration(ld, s, &cfg->metrics_interval) == 0 && cfg->metrics_interval < 1)
		error_at(ld, s, "metrics_interval must be at least 1s");
	cfg->usage_interval = 10;
	s = config_setting_get_member(root, "usage_interval");
	if (s && get_duration(ld, s, &cfg->usage_interval) == 0 && cfg->usage_interval < 1)
		error_at(ld, s, "usage_interval must be at least 1s");
	if (ld->err)
		return;
	/* An invalid passwd_file/group_file is already an error; reading the host's own
	 * file in its place would only add collisions nobody asked about. */
	for (size_t i = 0; i < sizeof(top_paths) / sizeof(top_paths[0]); i++) {
		if (path_bad[i])
			continue;
		if (strcmp(top_paths[i].key, "passwd_file") == 0)
			load_sysdb(ld, root, "passwd_file", cfg->passwd_file, true, &ld->pw,
			           &ld->pw_ok);
		else if (strcmp(top_paths[i].key, "group_file") == 0)
			load_sysdb(ld, root, "group_file", cfg->group_file, false, &ld->gr,
			           &ld->gr_ok);
	}

	policy_builtin(&cfg->defaults);
	s = config_setting_get_member(root, "defaults");
	if (s && !config_setting_is_group(s)) {
		wrong_type(ld, s, "a group { ... } of policy keys");
	} else if (s) {
		const config_setting_t *tab[P_NKEYS];

		if (member_table(s, (const char *const[]){NULL}, true, tab, P_NKEYS))
			check_keys(ld, s, (const char *const[]){NULL}, true, "in defaults");
		parse_policy(ld, tab, &cfg->defaults, &ld->def_src);
		check_policy(ld, &cfg->defaults, &ld->def_src, NULL);
	}
}

static int parse_entries(struct loader *ld)
{
	const config_setting_t *root = config_root_setting(&ld->lc);
	struct rs_config *cfg = ld->cfg;
	const config_setting_t *s;

	s = config_setting_get_member(root, "groups");
	if (s && want_list_of_groups(ld, s, "group") == 0 && config_setting_length(s) > 0) {
		ld->groups_list = s;
		cfg->groups = calloc((size_t)config_setting_length(s), sizeof(*cfg->groups));
		if (!cfg->groups)
			return -ENOMEM;
		cfg->ngroups = (size_t)config_setting_length(s);
		for (size_t i = 0; i < cfg->ngroups && !ld->err; i++)
			parse_group(ld, i);
	}
	/* Uniqueness needs every entry: checked once a whole list is parsed, so those
	 * messages come after the list's other ones. */
	if (!ld->err)
		check_groups(ld);
	s = config_setting_get_member(root, "accounts");
	if (s && want_list_of_groups(ld, s, "account") == 0 && config_setting_length(s) > 0) {
		ld->accounts_list = s;
		cfg->accounts = calloc((size_t)config_setting_length(s), sizeof(*cfg->accounts));
		if (!cfg->accounts)
			return -ENOMEM;
		cfg->naccounts = (size_t)config_setting_length(s);
		for (size_t i = 0; i < cfg->naccounts && !ld->err; i++)
			parse_account(ld, i);
	}
	if (!ld->err)
		check_accounts(ld);
	return ld->err;
}

/* For config_set_include_dir: a relative @include is taken from the config's own directory,
 * not from wherever the daemon happened to be started. */
static char *dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (!slash)
		return strdup(".");
	if (slash == file)
		return strdup("/");
	return strndup(file, (size_t)(slash - file));
}

/* The whole of a regular file into *text (NUL-terminated, *len bytes before the NUL).
 * 0, or a negative errno (-EISDIR for anything but a regular file). */
static int read_text(const char *file, struct stat *st, char **text, size_t *len);

/* -errno of the call that just failed, never 0 or positive. */
static int failed(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * Every @include must name a regular file relative to the configuration's directory,
 * checked before libconfig sees it: libconfig 1.5 calls exit(2) from its scanner when the
 * target is a directory (rotsecd would die on SIGHUP instead of keeping its config),
 * blocks on a FIFO, and puts the include directory in front of an absolute path. Included
 * files are checked the same way, up to a depth that also stops include loops.
 */
static void check_includes(struct loader *ld, const char *file, const char *text, int depth)
{
	unsigned line = 1;

	for (const char *p = text; *p; line++) {
		const char *eol = strchr(p, '\n'), *q = p, *end;
		char name[PATH_MAX], path[PATH_MAX];
		struct stat st;

		eol = eol ? eol : p + strlen(p);
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(eol - q) > 8 && strncmp(q, "@include", 8) == 0) {
			q += 8;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			end = *q == '"' ? memchr(q + 1, '"', (size_t)(eol - q - 1)) : NULL;
			if (end && (size_t)(end - q - 1) < sizeof(name)) {
				memcpy(name, q + 1, (size_t)(end - q - 1));
				name[end - q - 1] = '\0';
				(void)snprintf(path, sizeof(path), "%s/%s", ld->incdir, name);
				if (name[0] == '/')
					diag_line(
					        ld, file, line, false,
					        "@include \"%s\": include paths are taken relative "
					        "to "
					        "the configuration's directory (%s), not absolute",
					        name, ld->incdir);
				else if (depth >= 8)
					diag_line(ld, file, line, false,
					          "@include \"%s\": includes nested deeper than 8 "
					          "(a loop?)",
					          name);
				else if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
					diag_line(ld, file, line, false,
					          "@include \"%s\": %s is not a regular file", name,
					          path);
				else {
					char *sub = NULL;
					size_t sublen;
					struct stat sst;

					if (read_text(path, &sst, &sub, &sublen) == 0 && sub &&
					    !memchr(sub, '\0', sublen))
						check_includes(ld, name, sub, depth + 1);
					free(sub);
				}
			}
		}
		p = *eol ? eol + 1 : eol;
	}
}

static int read_text(const char *file, struct stat *st, char **text, size_t *len)
{
	size_t cap, n = 0;
	char *buf;
	int fd, r = 0;

	*text = NULL;
	*len = 0;
	memset(st, 0, sizeof(*st));
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return failed();
	if (fstat(fd, st) < 0)
		r = failed();
	else if (!S_ISREG(st->st_mode))
		r = -EISDIR;
	cap = r == 0 ? (size_t)st->st_size + 1 : 0;
	buf = r == 0 ? malloc(cap) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	/* Up to the end, whatever the size said: the file may grow while it is read. */
	while (r == 0) {
		ssize_t got;

		if (n + 1 == cap) {
			char *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = failed();
		else if (got == 0)
			break;
		else
			n += (size_t)got;
	}
	(void)close(fd);
	if (r < 0 || !buf) {
		free(buf);
		return r < 0 ? r : -EIO;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* cfg->dummy_bits and dummy_cost, from every account's policy. */
static void dummy_policy(struct rs_config *cfg)
{
	cfg->dummy_bits = 256.0;
	cfg->dummy_cost = RS_COST_INTERACTIVE;
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_policy_cfg *p = &cfg->accounts[i].pol;

		if (p->entropy_bits < 128.0) {
			if (p->entropy_bits < cfg->dummy_bits)
				cfg->dummy_bits = p->entropy_bits;
			if (p->hash_cost > cfg->dummy_cost)
				cfg->dummy_cost = p->hash_cost;
		}
	}
}

int rs_config_load(const char *file, struct rs_config *cfg)
{
	struct loader ld = {0};
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	size_t before;
	int r, parsed;

	memset(cfg, 0, sizeof(*cfg));
	ld.cfg = cfg;
	config_init(&ld.lc);
	cfg->file = strdup(file);
	ld.incdir = dir_of(file);
	if (!cfg->file || !ld.incdir) {
		r = -ENOMEM;
		goto out;
	}
	/* Read here rather than by libconfig, which reports an unreadable file as "file I/O
	 * error" without errno: the caller can tell a missing config from a forbidden one. */
	r = read_text(file, &st, &text, &len);
	if (r >= 0 && !text)
		r = -EIO; /* never: for the analyzer, which cannot tell that errno is positive */
	if (r == -ENOMEM)
		goto out;
	if (r != 0) {
		error_at(&ld, NULL, "cannot read the configuration: %s",
		         r == -EISDIR ? "not a regular file" : strerror(-r));
		goto out;
	}
	/* The config names commands rotsecd runs as root: whoever can edit it owns the host.
	 * Reported, not fatal at once, so the other problems are listed too. The caller's
	 * own uid is accepted besides root so an unprivileged rotsecctl check works. */
	if (st.st_mode & 0022)
		error_at(&ld, NULL,
		         "the configuration is writable by group or others (mode %04o): anyone "
		         "who can edit it can run commands as root; chmod go-w it",
		         (unsigned)(st.st_mode & 07777));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		error_at(&ld, NULL,
		         "the configuration is owned by uid %u, not root: its owner could run "
		         "commands as root; chown root it",
		         (unsigned)st.st_uid);

	/* A NUL byte is not configuration text, and libconfig would read past it from the
	 * file (includes and all) where the checks below read up to it. */
	if (memchr(text, '\0', len)) {
		error_at(&ld, NULL, "the configuration contains a NUL byte: it is not a text file");
		r = -EINVAL;
		goto out;
	}
	before = cfg->nerrors;
	check_includes(&ld, file, text, 0);
	if (cfg->nerrors > before) {
		r = -EINVAL; /* libconfig must not read an include that would kill or block it */
		goto out;
	}
	config_set_include_dir(&ld.lc, ld.incdir);
	/* libconfig parses the bytes just read and checked above, not the file again. */
	parsed = config_read_string(&ld.lc, text);
	if (parsed != CONFIG_TRUE) {
		const char *ef = config_error_file(&ld.lc);

		/* libconfig stops at the first syntax error: there is no tree to check further. */
		diag_line(&ld, ef ? ef : file, (unsigned)config_error_line(&ld.lc), false, "%s",
		          config_error_text(&ld.lc));
		r = config_error_type(&ld.lc) == CONFIG_ERR_FILE_IO ? -EIO : -EINVAL;
		goto out;
	}

	parse_top(&ld);
	r = ld.err;
	if (r == 0)
		r = parse_entries(&ld);
	if (r == 0)
		r = rs_config_index_accounts(cfg);
	if (r == 0)
		resolve(&ld);
	if (r == 0)
		r = ld.err;
	if (r == 0)
		dummy_policy(cfg);
	if (r == 0 && cfg->nerrors)
		r = -EINVAL;
out:
	if (r == 0 && ld.err)
		r = ld.err;
	free(text);
	free(ld.incdir);
	free(ld.grp_by_name);
	free(ld.grp_by_gid);
	free(ld.acc_by_name);
	sysdb_free(&ld.pw);
	sysdb_free(&ld.gr);
	config_destroy(&ld.lc);
	return r;
}

void rs_config_free(struct rs_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->file);
	free(cfg->store_dir);
	free(cfg->state_dir);
	free(cfg->key_file);
	free(cfg->run_dir);
	free(cfg->audit_log);
	free(cfg->metrics_file);
	free(cfg->passwd_file);
	free(cfg->group_file);
	for (size_t i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i].members);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->naccounts; i++) {
		struct rs_account_cfg *a = &cfg->accounts[i];

		free(a->gecos);
		free(a->home);
		free(a->shell);
		free(a->groups);
		free(a->sup_gids);
		for (size_t j = 0; j < a->ndeliver; j++) {
			struct rs_delivery *d = &a->deliver[j];

			free(d->file);
			free(d->sealed_to);
			for (size_t k = 0; d->argv && d->argv[k]; k++)
				free(d->argv[k]);
			free(d->argv);
		}
		free(a->deliver);
		for (size_t k = 0; a->verify_argv && a->verify_argv[k]; k++)
			free(a->verify_argv[k]);
		free(a->verify_argv);
	}
	free(cfg->accounts);
	free(cfg->by_name);
	free(cfg->diags);
	memset(cfg, 0, sizeof(*cfg));
}

static int by_name_cmp(const void *a, const void *b)
{
	const struct rs_account_cfg *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Lookups by name happen per account in a sync and per delivery owner while loading:
 * linear scans would make both quadratic in the number of accounts. */
int rs_config_index_accounts(struct rs_config *cfg)
{
	/* by_name is an array of pointers: sizeof(*by_name) is the size of a pointer, as
	 * meant (which bugprone-sizeof-expression takes for a mistake). */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
	cfg->by_name = calloc(cfg->naccounts + 1, sizeof(*cfg->by_name));
	if (!cfg->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->naccounts; i++)
		cfg->by_name[i] = &cfg->accounts[i];
	if (cfg->naccounts > 1)
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		qsort(cfg->by_name, cfg->naccounts, sizeof(*cfg->by_name), by_name_cmp);
	return 0;
}

const struct rs_account_cfg *rs_config_account(const struct rs_config *cfg, const char *name)
{
	if (cfg->by_name) {
		struct rs_account_cfg key, *kp = &key, **hit;

		if (strlen(name) > RS_NAME_MAX)
			return NULL;
		(void)snprintf(key.name, sizeof(key.name), "%s", name);
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		hit = bsearch(&kp, cfg->by_name, cfg->naccounts, sizeof(*cfg->by_name),
		              by_name_cmp);
		return hit && (*hit)->name[0] ? *hit : NULL;
	}
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (cfg->accounts[i].name[0] && strcmp(cfg->accounts[i].name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}
