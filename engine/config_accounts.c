/*
 * The groups and accounts of rotsec.conf: each entry read (the account settings of
 * RS_ACCOUNT_FIELDS in config_fields.h), names and ids unique and free on the host, and in
 * pass 2 the memberships resolved to gids and member lists.
 */
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table -------------------------------------------------------------------------- */

/* The size column is for INT settings, which accounts have none of. */
#define ACC_OFF(field)       offsetof(struct rs_account_cfg, field)
#define ACC_ONE(field)       ACC_OFF(field), 0, 0
#define ACC_OFF_NAME(key)    ACC_ONE(key)
#define ACC_OFF_ID(key)      ACC_ONE(key)
#define ACC_OFF_GROUP(key)   ACC_ONE(key)
#define ACC_OFF_GROUPS(key)  ACC_OFF(key), ACC_OFF(n##key), 0
#define ACC_OFF_TEXT(key)    ACC_ONE(key)
#define ACC_OFF_PATH(key)    ACC_ONE(key)
#define ACC_OFF_BOOL(key)    ACC_ONE(key)
#define ACC_OFF_DELIVER(key) ACC_OFF(key), ACC_OFF(n##key), 0
#define ACC_OFF_COMMAND(key) ACC_ONE(key##_argv)
#define ACC_ROW(key, kind, def, missing)                                                           \
	[ACC_##key] = {#key, FK_##kind, ACC_OFF_##kind(key), 0, 0, def, missing},

const struct field acc_fields[ACC_N] = {RS_ACCOUNT_FIELDS(ACC_ROW)};

/* The keys an account entry may hold besides the policy keys, in the table's order. */
#define ACC_NAME(key, kind, def, missing) #key,
static const char *const account_keys[] = {RS_ACCOUNT_FIELDS(ACC_NAME) NULL};

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

/* The names of an array setting, one slot per element so that pass 2 can point at the
 * element of a group that does not exist; "" marks a bad one. */
static void get_names(struct loader *ld, const config_setting_t *s, const char *expected,
                      bool keep_bad, char (**arr)[RS_NAME_MAX + 1], size_t *n)
{
	int type = config_setting_type(s), len = config_setting_length(s);

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		cfg_wrong_type(ld, s, expected);
	for (int i = 0; (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST) && i < len; i++) {
		char name[RS_NAME_MAX + 1] = "";

		if ((cfg_get_ref_name(ld, config_setting_get_elem(s, (unsigned)i), name) == 0 ||
		     keep_bad) &&
		    add_name(ld, arr, n, name) < 0)
			return;
	}
}

/* ---- one entry -------------------------------------------------------------------------- */

/* Entry e of `groups` into g. */
static void parse_group(struct loader *ld, const config_setting_t *e, void *entry)
{
	struct rs_group_cfg *g = entry;
	const config_setting_t *s, *name_s, *gid_s;
	char ctx[64];

	g->line = config_setting_source_line(e);
	name_s = config_setting_get_member(e, "name");
	if (!name_s)
		cfg_error_at(ld, e, "group entry has no name: add name = \"...\"");
	else
		(void)cfg_get_new_name(ld, name_s, "group", g->name);
	(void)snprintf(ctx, sizeof(ctx), g->name[0] ? "in group \"%s\"" : "in a group entry",
	               g->name);
	cfg_check_keys(ld, e, group_keys, false, ctx);

	gid_s = config_setting_get_member(e, "gid");
	if (!gid_s)
		cfg_error_at(ld, e, "group %s%s%shas no gid: add gid = NUMBER",
		             g->name[0] ? "\"" : "", g->name, g->name[0] ? "\" " : "");
	else
		(void)cfg_get_id(ld, gid_s, &g->gid);

	/* Repeats are dropped once pass 2 has added its own (cfg_resolve_memberships). */
	s = config_setting_get_member(e, "members");
	if (s)
		get_names(ld, s, "an array of names [ \"...\", ... ]", false, &g->members,
		          &g->nmembers);
}

/* gecos, home and shell end up in passwd lines: ':' or a newline would forge fields. */
static int get_field(struct loader *ld, const config_setting_t *s, bool path, char **out)
{
	const char *v;
	int r;

	if (path)
		r = cfg_get_path(ld, s, out);
	else if ((r = cfg_get_string(ld, s, "a string", &v)) == 0)
		r = (*out = cfg_strdup(ld, v)) ? 0 : -ENOMEM;
	if (r < 0)
		return r;
	if (!rs_field_ok(*out)) {
		cfg_error_at(ld, s, "%s must not contain ':', a newline or control characters",
		             config_setting_name(s));
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* What an account holds for a setting it does not write, or writes wrong (reported):
 * every account of a loaded config has a gecos, a home and a shell. */
static void set_default(struct loader *ld, const struct field *f, void *field)
{
	if ((f->kind == FK_TEXT || f->kind == FK_PATH) && f->def)
		*(char **)field = cfg_strdup(ld, f->def);
	else if (f->kind == FK_BOOL)
		*(bool *)field = f->def && strcmp(f->def, "true") == 0;
}

/* Account setting f of entry e, `s` as written (NULL when it is not). */
static void parse_field(struct loader *ld, const config_setting_t *e, const config_setting_t *s,
                        const struct field *f, struct rs_account_cfg *a)
{
	void *field = field_at(a, f);
	char tail[PATH_MAX + 64] = "";

	if (!s && f->missing) {
		if (f->kind == FK_GROUP)
			(void)snprintf(tail, sizeof(tail),
			               " (a group defined in groups or present in %s)",
			               ld->cfg->group_file);
		cfg_error_at(ld, e, "account %s has no %s: add %s = %s%s",
		             a->name[0] ? a->name : "entry", f->key, f->key, f->missing, tail);
		return;
	}
	if (!s) {
		set_default(ld, f, field);
		return;
	}
	switch (f->kind) {
	case FK_NAME:
		(void)cfg_get_new_name(ld, s, "account", field);
		break;
	case FK_ID:
		(void)cfg_get_id(ld, s, field);
		break;
	case FK_GROUP:
		(void)cfg_get_ref_name(ld, s, field);
		break;
	case FK_GROUPS:
		get_names(ld, s, "an array of group names [ \"...\", ... ]", true, field,
		          (size_t *)field2_at(a, f));
		break;
	case FK_TEXT:
	case FK_PATH:
		if (get_field(ld, s, f->kind == FK_PATH, field) < 0)
			set_default(ld, f, field);
		break;
	case FK_BOOL:
		set_default(ld, f, field);
		(void)cfg_get_bool(ld, s, field);
		break;
	case FK_COMMAND:
		(void)cfg_get_strv(ld, s, true, field, NULL);
		break;
	default: /* FK_DELIVER: parse_account reads them last */
		break;
	}
}

/* Entry e of `accounts` into a. */
static void parse_account(struct loader *ld, const config_setting_t *e, void *entry)
{
	struct rs_account_cfg *a = entry;
	const config_setting_t *tab[ACC_N + POL_N];
	struct pol_src own;
	char ctx[64];
	bool unknown;

	a->line = config_setting_source_line(e);
	unknown = cfg_member_table(e, account_keys, true, tab, ACC_N + POL_N);
	for (int k = 0; k < ACC_N && !ld->err; k++) {
		parse_field(ld, e, tab[k], &acc_fields[k], a);
		/* Unknown keys are reported once the account's name is known, to name it. */
		if (k == ACC_name && unknown) {
			(void)snprintf(ctx, sizeof(ctx),
			               a->name[0] ? "in account \"%s\"" : "in an account entry",
			               a->name);
			cfg_check_keys(ld, e, account_keys, true, ctx);
		}
	}
	/* The deliveries after the account's own settings, so that their messages follow
	 * the account's in the order of the file. */
	if (tab[ACC_deliver] && !ld->err)
		cfg_parse_deliveries(ld, tab[ACC_deliver], a);
	if (ld->err)
		return;

	a->pol = ld->cfg->defaults;
	cfg_parse_policy(ld, tab + ACC_N, &a->pol, &own);
	cfg_check_policy(ld, &a->pol, &own, &ld->def_src);
}

void cfg_account_free(struct rs_account_cfg *a)
{
	for (int k = 0; k < ACC_N; k++) {
		const struct field *f = &acc_fields[k];
		void *field = field_at(a, f);
		char **argv;

		switch (f->kind) {
		case FK_TEXT:
		case FK_PATH:
			free(*(char **)field);
			break;
		case FK_GROUPS:
			free(*(void **)field);
			break;
		case FK_DELIVER:
			cfg_deliveries_free(*(struct rs_delivery **)field,
			                    *(size_t *)field2_at(a, f));
			break;
		case FK_COMMAND:
			argv = *(char ***)field;
			for (size_t i = 0; argv && argv[i]; i++)
				free(argv[i]);
			free(argv);
			break;
		default:
			break;
		}
	}
	free(a->sup_gids);
}

/* ---- a whole list ------------------------------------------------------------------------ */

/* One of the top-level lists, `groups` or `accounts`, and what its messages call things. */
struct list_desc {
	const char *key;               /* "groups" */
	const char *what;              /* "group": one entry */
	const char *id_key;            /* "gid" */
	const char *sys_what;          /* what the system file of the same kind holds: "group" */
	const char *advice;            /* on a name that the system file has already */
	bool in_passwd;                /* that file is passwd_file, else group_file */
	size_t size, name_off, id_off; /* of an entry's struct, its name and its id */
	void (*parse)(struct loader *ld, const config_setting_t *e, void *entry);
};

static const struct list_desc group_list = {
        .key = "groups",
        .what = "group",
        .id_key = "gid",
        .sys_what = "group",
        .advice = "rotsec defines new groups only; use it by name in an account's group or "
                  "groups instead",
        .size = sizeof(struct rs_group_cfg),
        .name_off = offsetof(struct rs_group_cfg, name),
        .id_off = offsetof(struct rs_group_cfg, gid),
        .parse = parse_group};

static const struct list_desc account_list = {
        .key = "accounts",
        .what = "account",
        .id_key = "uid",
        .sys_what = "user",
        .advice = "rotsec only manages accounts it defines; choose another name",
        .in_passwd = true,
        .size = sizeof(struct rs_account_cfg),
        .name_off = offsetof(struct rs_account_cfg, name),
        .id_off = offsetof(struct rs_account_cfg, uid),
        .parse = parse_account};

/*
 * Pass 1 over a top-level list: one zeroed struct per element, each read on its own (an
 * element that is not a group, reported by cfg_want_list_of_groups, stays zeroed). Sets
 * *list and *n; NULL when the list is absent or empty, or out of memory (ld->err).
 */
static void *parse_list(struct loader *ld, const config_setting_t *root, const struct list_desc *d,
                        const config_setting_t **list, size_t *n)
{
	const config_setting_t *s = config_setting_get_member(root, d->key);
	char *arr;

	*n = 0;
	if (!s || cfg_want_list_of_groups(ld, s, d->what) < 0 || config_setting_length(s) == 0)
		return NULL;
	*list = s;
	arr = calloc((size_t)config_setting_length(s), d->size);
	if (!arr) {
		ld->err = -ENOMEM;
		return NULL;
	}
	*n = (size_t)config_setting_length(s);
	for (size_t i = 0; i < *n && !ld->err; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_is_group(e))
			d->parse(ld, e, arr + i * d->size);
	}
	return arr;
}

static const char *entry_name(const struct list_desc *d, const void *arr, size_t i)
{
	return (const char *)arr + i * d->size + d->name_off;
}

static uint32_t entry_id(const struct list_desc *d, const void *arr, size_t i)
{
	return *(const uint32_t *)(const void *)((const char *)arr + i * d->size + d->id_off);
}

/*
 * Names and ids unique among the n entries of a list (arr, as parsed from `list`) and
 * absent from the system file of the same kind, once the whole list is parsed. Two
 * sources answering for one name or id would give the host two answers: which one NSS
 * returns would depend on the order in nsswitch.conf, and files would be shared by
 * accident. Sorted, a duplicate is found next to the first entry with its key, the one
 * the message names, instead of comparing each entry with every earlier one.
 *
 * Leaves in *by_name and *by_id (when not NULL) the entries that have a name, sorted
 * both ways (*nnamed of them), for pass 2; the load frees them. Returns ld->err.
 */
static int check_unique(struct loader *ld, const struct list_desc *d, const config_setting_t *list,
                        const void *arr, size_t n, struct key_ref **by_name, struct key_ref **by_id,
                        size_t *nnamed)
{
	const struct sysdb *sys = d->in_passwd ? &ld->pw : &ld->gr;
	const bool sys_ok = d->in_passwd ? ld->pw_ok : ld->gr_ok;
	const char *sys_file = d->in_passwd ? ld->cfg->passwd_file : ld->cfg->group_file;
	struct key_ref *with_id = NULL; /* every entry with an id, named or not */
	size_t *name_first = NULL, *id_first = NULL, nid = 0, cap = n ? n : 1;
	char at[PATH_MAX + 32];
	int r = 0;

	if (ld->err)
		return ld->err;
	*nnamed = 0;
	*by_name = malloc(cap * sizeof(**by_name));
	if (by_id)
		*by_id = malloc(cap * sizeof(**by_id));
	with_id = malloc(cap * sizeof(*with_id));
	if (!*by_name || (by_id && !*by_id) || !with_id) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* An entry without a valid name cannot be referred to: not in the lookups. */
		if (entry_name(d, arr, i)[0]) {
			if (by_id)
				(*by_id)[*nnamed] = (struct key_ref){NULL, entry_id(d, arr, i), i};
			(*by_name)[(*nnamed)++] = (struct key_ref){entry_name(d, arr, i), 0, i};
		}
		if (entry_id(d, arr, i))
			with_id[nid++] = (struct key_ref){NULL, entry_id(d, arr, i), i};
	}
	cfg_index_sort(*by_name, *nnamed);
	if (by_id)
		cfg_index_sort(*by_id, *nnamed);
	cfg_index_sort(with_id, nid);
	if ((r = cfg_index_first_of_key(*by_name, *nnamed, n, &name_first)) < 0 ||
	    (r = cfg_index_first_of_key(with_id, nid, n, &id_first)) < 0)
		goto out;

	for (size_t i = 0; i < n; i++) {
		const char *name = entry_name(d, arr, i);
		uint32_t id = entry_id(d, arr, i);
		const struct sys_entry *se_name = NULL, *se_id = NULL;
		const config_setting_t *name_s, *id_s;
		size_t j;

		if (sys_ok && name[0])
			se_name = sysdb_by_name(sys, name);
		if (sys_ok && id)
			se_id = sysdb_by_id(sys, id);
		/* The usual case: nothing to report, spare the settings lookups. */
		if (name_first[i] == i && id_first[i] == i && !se_name && !se_id)
			continue;
		name_s = cfg_elem_member(list, i, "name");
		id_s = cfg_elem_member(list, i, d->id_key);
		if ((j = name_first[i]) != i) {
			cfg_where(ld, name_s, cfg_elem_member(list, j, "name"), at, sizeof(at));
			cfg_error_at(ld, name_s, "%s \"%s\" is already defined at %s", d->what,
			             name, at);
		}
		if ((j = id_first[i]) != i) {
			cfg_where(ld, id_s, cfg_elem_member(list, j, d->id_key), at, sizeof(at));
			cfg_error_at(ld, id_s, "%s %u is already used by %s \"%s\" at %s",
			             d->id_key, id, d->what, entry_name(d, arr, j), at);
		}
		if (se_name)
			cfg_error_at(ld, name_s, "%s \"%s\" already exists in %s (line %u): %s",
			             d->what, name, sys_file, se_name->line, d->advice);
		if (se_id)
			cfg_error_at(ld, id_s, "%s %u is already used by %s \"%s\" in %s (line %u)",
			             d->id_key, id, d->sys_what, se_id->name, sys_file,
			             se_id->line);
	}
out:
	if (r < 0)
		ld->err = r;
	free(name_first);
	free(id_first);
	free(with_id);
	return ld->err;
}

/* Uniqueness needs every entry: checked once the whole list is parsed, so those messages
 * come after the list's other ones. */
int cfg_load_groups(struct loader *ld, const config_setting_t *root)
{
	struct rs_config *cfg = ld->cfg;

	cfg->groups = parse_list(ld, root, &group_list, &ld->groups_list, &cfg->ngroups);
	return check_unique(ld, &group_list, ld->groups_list, cfg->groups, cfg->ngroups,
	                    &ld->grp_by_name, &ld->grp_by_gid, &ld->ngrp_named);
}

int cfg_load_accounts(struct loader *ld, const config_setting_t *root)
{
	struct rs_config *cfg = ld->cfg;

	cfg->accounts = parse_list(ld, root, &account_list, &ld->accounts_list, &cfg->naccounts);
	return check_unique(ld, &account_list, ld->accounts_list, cfg->accounts, cfg->naccounts,
	                    &ld->acc_by_name, NULL, &ld->nacc_named);
}

/* ---- pass 2: names to ids ------------------------------------------------------------- */

/* The first group of the config with this name. */
static struct rs_group_cfg *cfg_group(const struct loader *ld, const char *name)
{
	const struct key_ref *k = cfg_index_find(ld->grp_by_name, ld->ngrp_named, name, 0);

	return k ? &ld->cfg->groups[k->pos] : NULL;
}

/* Config groups first: they are what the store will define. */
int cfg_resolve_group(const struct loader *ld, const char *name, uint32_t *gid)
{
	const struct rs_group_cfg *g = cfg_group(ld, name);
	const struct sys_entry *se = g || !ld->gr_ok ? NULL : sysdb_by_name(&ld->gr, name);

	if (!g && !se)
		return -ENOENT;
	*gid = g ? g->gid : se->id;
	return 0;
}

/* Accounts defined here first (they may not exist on the host until the store does). */
int cfg_resolve_user(const struct loader *ld, const char *name, uint32_t *uid, uint32_t *gid)
{
	const struct rs_account_cfg *a = rs_config_account(ld->cfg, name);
	const struct sys_entry *se = a || !ld->pw_ok ? NULL : sysdb_by_name(&ld->pw, name);

	if (!a && !se)
		return -ENOENT;
	*uid = a ? a->uid : se->id;
	*gid = a ? a->gid : se->gid;
	return 0;
}

const char *cfg_group_name_of(const struct loader *ld, uint32_t gid)
{
	const struct key_ref *k = cfg_index_find(ld->grp_by_gid, ld->ngrp_named, NULL, gid);
	const struct sys_entry *se;

	if (k)
		return ld->cfg->groups[k->pos].name;
	se = ld->gr_ok ? sysdb_by_id(&ld->gr, gid) : NULL;
	return se ? se->name : "";
}

/* Repeats are dropped at the end (cfg_resolve_memberships): an account may be in as many
 * groups as there are, and checking each gid against those before would be quadratic in
 * them. */
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

	if (a->group[0] && cfg_resolve_group(ld, a->group, &a->gid) < 0)
		cfg_error_at(ld, config_setting_get_member(e, "group"),
		             "group \"%s\" of account \"%s\" does not exist: define it in groups "
		             "or use a group from %s",
		             a->group, a->name, ld->cfg->group_file);

	for (size_t i = 0; i < a->ngroups; i++) {
		uint32_t gid;

		if (!a->groups[i][0])
			continue;
		if (cfg_resolve_group(ld, a->groups[i], &gid) < 0) {
			cfg_error_at(ld, config_setting_get_elem(gs, (unsigned)i),
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
			        cfg_index_find(ld->acc_by_name, ld->nacc_named, grp->members[m], 0);
			const struct key_ref *end = ld->acc_by_name + ld->nacc_named;

			/* Every account of that name: duplicates are refused, but still resolved
			 * like the others. */
			for (; k && k < end && strcmp(k->name, grp->members[m]) == 0; k++)
				if (add_gid(ld, &cfg->accounts[k->pos], grp->gid) < 0)
					return;
		}
	}
}

/* A member nobody defines is harmless to the system (it ignores it), but it is usually a
 * typo, so say so without refusing the config. */
static void warn_unknown_members(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;

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
			if (!name || !cfg_ref_name_ok(name) || rs_config_account(cfg, name) ||
			    sysdb_by_name(&ld->pw, name))
				continue;
			cfg_warn_at(
			        ld, m,
			        "member \"%s\" of group \"%s\" is neither an account here nor a "
			        "user in %s",
			        name, cfg->groups[i].name, cfg->passwd_file);
		}
	}
}

void cfg_resolve_memberships(struct loader *ld)
{
	struct rs_config *cfg = ld->cfg;

	/* An account's supplementary gids: its own `groups`, then the groups listing it in
	 * `members`, each gid once (the first time it comes). */
	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++)
		resolve_account_groups(ld, i);
	add_member_gids(ld);
	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++) {
		struct rs_account_cfg *a = &cfg->accounts[i];

		if (cfg_dedupe_keep_first(NULL, a->sup_gids, &a->nsup) < 0)
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

		if (cfg_dedupe_keep_first(g->members, NULL, &g->nmembers) < 0)
			ld->err = -ENOMEM;
	}
	warn_unknown_members(ld);
}
