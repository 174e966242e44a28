/*
 * The config loader's diagnostics and typed getters (config_load.h).
 *
 * A diagnostic names the file and line of the setting it is about, so that an admin can
 * go straight to it; a getter checks one setting's type and value and, when either is
 * wrong, says what was expected. A key nobody knows is refused with the key that was
 * probably meant.
 */
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

/* (uid_t)-1 means "no change" to chown(2) and setresuid(2); 65535 is the same for
 * programs still using 16-bit ids. Neither may name an account. */
#define ID_MAX        4294967294u
#define ID_RESERVED16 65535u

/* ---- diagnostics ---------------------------------------------------------------------- */

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

void cfg_diag_line(struct loader *ld, const char *file, unsigned line, bool warning,
                   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(ld, file, line, warning, fmt, ap);
	va_end(ap);
}

void cfg_error_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(ld, setting_file(ld, s), s ? config_setting_source_line(s) : 0, false, fmt, ap);
	va_end(ap);
}

void cfg_warn_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(ld, setting_file(ld, s), s ? config_setting_source_line(s) : 0, true, fmt, ap);
	va_end(ap);
}

void cfg_where(const struct loader *ld, const config_setting_t *here, const config_setting_t *other,
               char *buf, size_t len)
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

const config_setting_t *cfg_elem_member(const config_setting_t *list, size_t idx, const char *key)
{
	const config_setting_t *e = config_setting_get_elem(list, (unsigned)idx);
	const config_setting_t *m =
	        e && config_setting_is_group(e) ? config_setting_get_member(e, key) : NULL;

	return m ? m : e;
}

char *cfg_strdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ld->err = -ENOMEM;
	return d;
}

/* ---- typed getters ---------------------------------------------------------------------- */

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

void cfg_wrong_type(struct loader *ld, const config_setting_t *s, const char *expected)
{
	char key[64];

	key_name(s, key, sizeof(key));
	cfg_error_at(ld, s, "%s must be %s, not %s", key, expected,
	             type_name(config_setting_type(s)));
}

int cfg_get_string(struct loader *ld, const config_setting_t *s, const char *expected,
                   const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_wrong_type(ld, s, expected);
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 0;
}

int cfg_get_id(struct loader *ld, const config_setting_t *s, uint32_t *out)
{
	const char *key = config_setting_name(s);
	long long v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cfg_wrong_type(ld, s, "an integer");
		return -EINVAL;
	}
	v = config_setting_get_int64(s);
	if (v == 0) {
		cfg_error_at(ld, s, "%s 0 is root's; a rotsec %s needs its own %s", key,
		             strcmp(key, "uid") == 0 ? "account" : "group", key);
		return -EINVAL;
	}
	if (v < 0 || v > (long long)ID_MAX || v == ID_RESERVED16) {
		cfg_error_at(ld, s, "%s %lld is out of range: expected 1 to %u, except 65535", key,
		             v, ID_MAX);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cfg_get_bool(struct loader *ld, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_wrong_type(ld, s, "true or false");
		return -EINVAL;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

int cfg_get_duration(struct loader *ld, const config_setting_t *s, int64_t *out)
{
	const char *v;
	char key[64];
	int r;

	if (cfg_get_string(ld, s, "a duration in quotes such as \"15m\"", &v) < 0)
		return -EINVAL;
	key_name(s, key, sizeof(key));
	r = rs_duration_parse(v, out);
	if (r == -ERANGE) {
		cfg_error_at(ld, s, "%s \"%s\" is too long: the limit is 100 years", key, v);
		return -EINVAL;
	}
	if (r < 0) {
		cfg_error_at(ld, s,
		             "%s \"%s\" is not a duration: expected numbers with units s, m, h, "
		             "d or w, such as \"90s\", \"15m\", \"2h\", \"7d\", \"1h30m\"",
		             key, v);
		return -EINVAL;
	}
	return 0;
}

int cfg_get_path(struct loader *ld, const config_setting_t *s, char **out)
{
	const char *v;
	char key[64];

	if (cfg_get_string(ld, s, "an absolute path in quotes", &v) < 0)
		return -EINVAL;
	key_name(s, key, sizeof(key));
	/* Relative paths would depend on the daemon's working directory, which systemd,
	 * a shell and the tests all set differently. */
	if (v[0] != '/') {
		cfg_error_at(ld, s, "%s \"%s\" must be an absolute path (starting with /)", key, v);
		return -EINVAL;
	}
	if (strlen(v) >= PATH_MAX) {
		cfg_error_at(ld, s, "%s is longer than %d bytes", key, PATH_MAX - 1);
		return -EINVAL;
	}
	*out = cfg_strdup(ld, v);
	return *out ? 0 : -ENOMEM;
}

/* With `command`, rotsec runs argv with execve, no shell and no PATH search: argv[0]
 * must be absolute. */
int cfg_get_strv(struct loader *ld, const config_setting_t *s, bool command, char ***out,
                 size_t *count)
{
	int type = config_setting_type(s), n;
	char key[64];
	char **v = NULL;
	int r = 0;

	key_name(s, key, sizeof(key));
	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		cfg_wrong_type(ld, s, "an array of strings [ \"...\", ... ]");
		return -EINVAL;
	}
	n = config_setting_length(s);
	if (command && n == 0) {
		cfg_error_at(ld, s, "%s is empty: expected [ \"/absolute/program\", \"arg\", ... ]",
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

		if (cfg_get_string(ld, e, "a string", &str) < 0) {
			r = -EINVAL;
			continue;
		}
		if (command && i == 0 && str[0] != '/') {
			cfg_error_at(
			        ld, e,
			        "%s program \"%s\" must be an absolute path: it is run without "
			        "a shell or PATH search",
			        key, str);
			r = -EINVAL;
		}
		v[i] = cfg_strdup(ld, str);
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
	if (command)
		cfg_trust_program(ld, config_setting_get_elem(s, 0), v[0]);
	return 0;
}

/* Names that may predate shadow-utils' rules (the system files' own): only what would
 * break a passwd/group line or our fixed-size fields is refused. */
bool cfg_ref_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RS_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s == ':' || *s == ',' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/*
 * With `what` ("account", "group"), a name rotsec defines: shadow-utils' rules, so that
 * useradd-era tools and every NSS consumer accept it. Without, a name that may live in
 * the system files (owner, member, group reference), which may predate those rules.
 */
static int get_name(struct loader *ld, const config_setting_t *s, const char *what,
                    char out[RS_NAME_MAX + 1])
{
	const char *v;
	char key[64];

	if (cfg_get_string(ld, s, "a name in quotes", &v) < 0)
		return -EINVAL;
	if (what && !rs_name_valid(v)) {
		cfg_error_at(
		        ld, s,
		        "\"%s\" is not a valid %s name: expected a lower-case letter or '_', "
		        "then letters, digits, '_' or '-' (optionally a final '$'), at most %d "
		        "characters",
		        v, what, RS_NAME_MAX);
		return -EINVAL;
	}
	if (!what && !cfg_ref_name_ok(v)) {
		key_name(s, key, sizeof(key));
		cfg_error_at(ld, s,
		             "%s \"%s\" is not a usable user or group name: 1 to %d characters, "
		             "no spaces, ':' or ','",
		             key, v, RS_NAME_MAX);
		return -EINVAL;
	}
	(void)snprintf(out, RS_NAME_MAX + 1, "%s", v);
	return 0;
}

int cfg_get_ref_name(struct loader *ld, const config_setting_t *s, char out[RS_NAME_MAX + 1])
{
	return get_name(ld, s, NULL, out);
}

int cfg_get_new_name(struct loader *ld, const config_setting_t *s, const char *what,
                     char out[RS_NAME_MAX + 1])
{
	return get_name(ld, s, what, out);
}

/* ---- keys ------------------------------------------------------------------------------ */

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

bool cfg_in_list(const char *const *keys, const char *name)
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
	for (int k = 0; with_policy && k < POL_N; k++) {
		size_t d = edit_distance(name, pol_fields[k].key);

		if (d < best_d)
			best_d = d, best = pol_fields[k].key;
		used += (size_t)snprintf(list + used, used < sizeof(list) ? sizeof(list) - used : 0,
		                         ", %s", pol_fields[k].key);
	}
	/* Two edits catch the usual typos without suggesting something unrelated. */
	if (best && best_d <= 2 && best_d < strlen(name))
		cfg_error_at(ld, s, "unknown key \"%s\" %s: did you mean \"%s\"?", name, ctx, best);
	else
		cfg_error_at(ld, s, "unknown key \"%s\" %s; the keys allowed there are: %s", name,
		             ctx, list);
}

void cfg_check_keys(struct loader *ld, const config_setting_t *grp, const char *const *keys,
                    bool with_policy, const char *ctx)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s);

		if (cfg_in_list(keys, name) || (with_policy && cfg_pol_key_index(name) >= 0))
			continue;
		unknown_key(ld, s, keys, with_policy, ctx);
	}
}

/* One pass over the group instead of a config_setting_get_member per key it may hold:
 * that walks the group comparing names through libconfig's path syntax, and an account
 * may hold every policy key. */
bool cfg_member_table(const config_setting_t *grp, const char *const *keys, bool with_policy,
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
		p = k < nkeys || !with_policy ? -1 : cfg_pol_key_index(name);
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

int cfg_want_list_of_groups(struct loader *ld, const config_setting_t *s, const char *entry)
{
	int type = config_setting_type(s), n;
	char key[64];

	key_name(s, key, sizeof(key));
	if (type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)
		return 0;
	if (type != CONFIG_TYPE_LIST) {
		cfg_error_at(ld, s, "%s must be a list of %s entries ( { ... }, { ... } ), not %s",
		             key, entry, type_name(type));
		return -EINVAL;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		/* Reported here; the entry parsers skip such elements and go on with the
		 * others, so their problems are reported too. */
		if (!config_setting_is_group(e))
			cfg_error_at(ld, e, "%s entry %d must be a group { ... }, not %s", key,
			             i + 1, type_name(config_setting_type(e)));
	}
	return 0;
}
