/*
 * The policy settings of rotsec.conf (RS_POLICY_FIELDS in config_fields.h): their
 * built-in values, reading them from `defaults` and from each account, and the rules
 * that relate two of them.
 *
 * An account starts from the defaults section (itself the built-in values with what
 * `defaults` writes over them) and reads its own settings over that: what it does not
 * write, it inherits.
 */
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define MIN_ENTROPY_BITS  64.0
#define GOOD_ENTROPY_BITS 128.0

/* ---- the table -------------------------------------------------------------------------- */

#define POL_OFF(field)        offsetof(struct rs_policy_cfg, field)
#define POL_SIZE(field)       sizeof(((struct rs_policy_cfg *)0)->field)
#define POL_OFF_DURATION(key) POL_OFF(key), 0, POL_SIZE(key)
#define POL_OFF_INT(key)      POL_OFF(key), 0, POL_SIZE(key)
#define POL_OFF_COST(key)     POL_OFF(key), 0, POL_SIZE(key)
#define POL_OFF_ALPHABET(key) POL_OFF(key), POL_OFF(key##_spec), POL_SIZE(key)
#define POL_OFF_WINDOW(key)   POL_OFF(key##_start), POL_OFF(key##_end), POL_SIZE(key##_start)
#define POL_ROW(key, kind, ctype, def, min, max)                                                   \
	[POL_##key] = {#key, FK_##kind, POL_OFF_##kind(key), min, max, def, NULL},

const struct field pol_fields[POL_N] = {RS_POLICY_FIELDS(POL_ROW)};

/* Each kind is read and written through one C type: a row whose ctype is another does
 * not build. */
#define SAME_TYPE(a, b)          __builtin_types_compatible_p(a, b)
#define POL_TYPE_DURATION(ctype) SAME_TYPE(ctype, int64_t)
#define POL_TYPE_INT(ctype)      (SAME_TYPE(ctype, size_t) || SAME_TYPE(ctype, unsigned))
#define POL_TYPE_ALPHABET(ctype) SAME_TYPE(ctype, struct rs_alphabet)
#define POL_TYPE_COST(ctype)     SAME_TYPE(ctype, enum rs_hash_cost)
#define POL_TYPE_WINDOW(ctype)   SAME_TYPE(ctype, int)
#define POL_TYPE_CHECK(key, kind, ctype, def, min, max)                                            \
	_Static_assert(POL_TYPE_##kind(ctype), #key ": a " #kind " is not a " #ctype);
RS_POLICY_FIELDS(POL_TYPE_CHECK)

const char *const cfg_cost_names[2] = {
        [RS_COST_INTERACTIVE] = "interactive",
        [RS_COST_MODERATE] = "moderate",
};

int cfg_pol_key_index(const char *name)
{
	for (int k = 0; k < POL_N; k++)
		if (strcmp(pol_fields[k].key, name) == 0)
			return k;
	return -1;
}

static int64_t *dur_at(struct rs_policy_cfg *p, int k)
{
	return (int64_t *)field_at(p, &pol_fields[k]);
}

static int64_t dur_of(const struct rs_policy_cfg *p, int k)
{
	return *(const int64_t *)field_at_c(p, &pol_fields[k]);
}

/* ---- values in the config's syntax ------------------------------------------------------- */

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

/* -EINVAL when it is not "HH:MM-HH:MM", -ERANGE when it starts when it ends. */
static int parse_window(const char *v, int *start, int *end)
{
	const char *p = v;

	if (parse_hhmm(&p, start) < 0 || *p++ != '-' || parse_hhmm(&p, end) < 0 || *p)
		return -EINVAL;
	return *start == *end ? -ERANGE : 0;
}

/* An integer as a default is written: decimal digits only. */
static int parse_uint(const char *v, long long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/*
 * Set the value of row k from text `v` as written in the config (NULL: not set, for the
 * kinds that may be unset). -EINVAL or, for a duration or a window, -ERANGE as their
 * parsers say; p is left as it was on failure.
 */
static int set_text(struct rs_policy_cfg *p, int k, const char *v)
{
	const struct field *f = &pol_fields[k];
	void *field = field_at(p, f);
	struct rs_alphabet alpha;
	long long n;
	int start = -1, end = -1, r;

	switch (f->kind) {
	case FK_DURATION:
		return v ? rs_duration_parse(v, field) : -EINVAL;
	case FK_INT:
		if (!v || parse_uint(v, &n) < 0 || n < f->min || n > f->max)
			return -EINVAL;
		field_set_uint(field, f->size, (unsigned long long)n);
		return 0;
	case FK_ALPHABET:
		/* Parsed aside: a failed parse must leave the inherited alphabet whole. */
		if (!v || strlen(v) >= sizeof(p->alphabet_spec) || rs_alphabet_parse(v, &alpha) < 0)
			return -EINVAL;
		(void)snprintf(field2_at(p, f), sizeof(p->alphabet_spec), "%s", v);
		memcpy(field, &alpha, sizeof(alpha));
		return 0;
	case FK_COST:
		for (size_t c = 0; v && c < sizeof(cfg_cost_names) / sizeof(cfg_cost_names[0]);
		     c++) {
			if (strcmp(v, cfg_cost_names[c]) == 0) {
				*(enum rs_hash_cost *)field = (enum rs_hash_cost)c;
				return 0;
			}
		}
		return -EINVAL;
	case FK_WINDOW:
		if (v && (r = parse_window(v, &start, &end)) < 0)
			return r;
		*(int *)field = start;
		*(int *)field2_at(p, f) = end;
		return 0;
	default:
		return -EINVAL;
	}
}

int cfg_policy_builtin(struct rs_policy_cfg *p)
{
	int r;

	memset(p, 0, sizeof(*p));
	for (int k = 0; k < POL_N; k++)
		if ((r = set_text(p, k, pol_fields[k].def)) < 0)
			return r;
	p->entropy_bits = rs_entropy_bits(&p->alphabet, p->length);
	return 0;
}

/* ---- reading a policy --------------------------------------------------------------------- */

/* The kinds written as a string: what a value must look like, for the messages. */
static const struct {
	const char *expected; /* "KEY must be EXPECTED, not a number" */
	const char *valid;    /* "KEY \"VALUE\" is not valid: VALID" */
	int quoted;           /* how much of a bad VALUE to quote */
} string_kinds[] = {
        [FK_ALPHABET] = {"a string such as \"alnum\"",
                         "expected \"alnum\", \"base64url\", \"printable\", or the characters "
                         "themselves (at least 2, printable ASCII, no space, none repeated)",
                         100},
        [FK_COST] = {"\"interactive\" or \"moderate\"", "expected \"interactive\" or \"moderate\"",
                     INT_MAX},
        [FK_WINDOW] = {"a string \"HH:MM-HH:MM\"",
                       "expected \"HH:MM-HH:MM\" in local time, such as \"02:00-05:00\" or "
                       "\"22:00-04:00\"",
                       INT_MAX},
};

static int parse_value(struct loader *ld, const config_setting_t *s, int k, struct rs_policy_cfg *p)
{
	const struct field *f = &pol_fields[k];
	const char *v;
	long long n;
	int r;

	switch (f->kind) {
	case FK_DURATION:
		return cfg_get_duration(ld, s, dur_at(p, k));
	case FK_INT:
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64) {
			cfg_wrong_type(ld, s, "an integer");
			return -EINVAL;
		}
		n = config_setting_get_int64(s);
		if (n < f->min || n > f->max) {
			cfg_error_at(ld, s, "%s %lld is out of range: expected %lld to %lld",
			             f->key, n, f->min, f->max);
			return -EINVAL;
		}
		field_set_uint(field_at(p, f), f->size, (unsigned long long)n);
		return 0;
	case FK_ALPHABET:
	case FK_COST:
	case FK_WINDOW:
		if (cfg_get_string(ld, s, string_kinds[f->kind].expected, &v) < 0)
			return -EINVAL;
		r = set_text(p, k, v);
		if (r == -ERANGE) /* a window that ends when it starts */
			cfg_error_at(ld, s,
			             "%s \"%s\" starts and ends at the same time: give a range "
			             "such as \"02:00-05:00\", or leave %s out to rotate at any "
			             "time",
			             f->key, v, f->key);
		else if (r < 0)
			cfg_error_at(ld, s, "%s \"%.*s\" is not valid: %s", f->key,
			             string_kinds[f->kind].quoted, v, string_kinds[f->kind].valid);
		return r < 0 ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

void cfg_parse_policy(struct loader *ld, const config_setting_t *const *set,
                      struct rs_policy_cfg *p, struct pol_src *src)
{
	memset(src, 0, sizeof(*src));
	for (int k = 0; k < POL_N; k++) {
		const config_setting_t *s = set[k];

		if (!s)
			continue;
		src->set[k] = s;
		if (parse_value(ld, s, k, p) < 0)
			src->bad[k] = true;
	}
	p->entropy_bits = rs_entropy_bits(&p->alphabet, p->length);
}

/* ---- rules between two values ------------------------------------------------------------ */

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
	const int64_t a = dur_of(c->p, shorter), b = dur_of(c->p, longer);
	const config_setting_t *site = pc_site(c, shorter, longer);
	char da[32], db[32];

	if (!site || (strict ? a < b : a <= b))
		return;
	rs_duration_format(a, da, sizeof(da));
	rs_duration_format(b, db, sizeof(db));
	cfg_error_at(c->ld, site, "%s (%s%s) must be %s %s (%s%s)", pol_fields[shorter].key, da,
	             pc_origin(c, shorter), strict ? "shorter than" : "at most",
	             pol_fields[longer].key, db, pc_origin(c, longer));
}

void cfg_check_policy(struct loader *ld, const struct rs_policy_cfg *p, const struct pol_src *own,
                      const struct pol_src *inh)
{
	const struct pol_check c = {ld, p, own, inh};
	const config_setting_t *site;

	/* A rotation must not start while the previous secret is still in grace (ARCHITECTURE.md,
	 * contract §3), so a grace as long as the period would make every rotation wait for the
	 * last. */
	check_durations(&c, POL_grace, POL_rotate_every, true);
	/* max_grace is the hard limit the deadline can never pass. */
	check_durations(&c, POL_grace, POL_max_grace, false);
	check_durations(&c, POL_jitter, POL_rotate_every, true);
	check_durations(&c, POL_retry_min, POL_retry_max, false);

	/* Zero would retry a failing delivery in a tight loop. */
	site = own->set[POL_retry_min];
	if (site && !own->bad[POL_retry_min] && p->retry_min == 0)
		cfg_error_at(ld, site,
		             "retry_min must be at least 1s: 0 would retry a failing "
		             "delivery without pause");

	site = pc_site(&c, POL_length, POL_alphabet);
	if (site && p->entropy_bits < GOOD_ENTROPY_BITS) {
		double per_char = p->entropy_bits / (double)p->length;
		unsigned need = (unsigned)(GOOD_ENTROPY_BITS / per_char);

		if ((double)need * per_char < GOOD_ENTROPY_BITS)
			need++;
		if (p->entropy_bits < MIN_ENTROPY_BITS)
			cfg_error_at(ld, site,
			             "a secret of %zu characters from alphabet \"%.40s\" (%zu "
			             "characters) has %.0f bits of entropy; at least %.0f are "
			             "required (%u characters for 128 bits)",
			             p->length, p->alphabet_spec, p->alphabet.n, p->entropy_bits,
			             MIN_ENTROPY_BITS, need);
		else
			cfg_warn_at(
			        ld, site,
			        "a secret of %zu characters from alphabet \"%.40s\" (%zu "
			        "characters) has %.0f bits of entropy, under %.0f: it is stored "
			        "with the slow Argon2id hash; %u characters would reach 128 bits",
			        p->length, p->alphabet_spec, p->alphabet.n, p->entropy_bits,
			        GOOD_ENTROPY_BITS, need);
	}
}
