/*
 * The config loader's private interface: the state the files that fill struct rs_config
 * share while loading (struct loader), and what each of them offers the others.
 *
 *   config.c           the load from start to end, the top level, free, account lookup
 *   config_include.c   reading the file, checking its @includes before libconfig does
 *   config_get.c       diagnostics, typed getters, unknown keys ("did you mean")
 *   config_policy.c    the policy settings (RS_POLICY_FIELDS) and their rules
 *   config_accounts.c  groups and accounts (RS_ACCOUNT_FIELDS), uniqueness, memberships
 *   config_deliver.c   an account's deliveries
 *   config_fleet.c     the fleet section (the fleet deliveries' etcd and signing key)
 *   config_print.c     an account's settings as `rotsecctl check --effective` prints them
 *   config_sysdb.c     passwd_file and group_file;  config_index.c  sorted indexes
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
 * Functions that report a problem add a diagnostic and go on (the load reports every
 * problem, not just the first); an internal failure (-ENOMEM) is kept in ld->err and
 * fails the load.
 *
 * This header does not include config.h (config.c includes this one): the structs of
 * config.h are declared here only by name.
 */
#ifndef ROTSEC_CONFIG_LOAD_H
#define ROTSEC_CONFIG_LOAD_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config_fields.h"
#include "config_index.h"
#include "config_sysdb.h"
#include "names.h"

struct rs_config;
struct rs_policy_cfg;
struct rs_account_cfg;
struct rs_delivery;

/* The policy settings by their place in RS_POLICY_FIELDS: POL_grace, ... */
#define POL_KEY(key, kind, ctype, def, min, max) POL_##key,
enum pol_key { RS_POLICY_FIELDS(POL_KEY) POL_N };
#undef POL_KEY

/* The account settings by their place in RS_ACCOUNT_FIELDS: ACC_name, ... */
#define ACC_KEY(key, kind, def, missing) ACC_##key,
enum acc_key { RS_ACCOUNT_FIELDS(ACC_KEY) ACC_N };
#undef ACC_KEY

enum field_kind {
	FK_DURATION,
	FK_INT,
	FK_ALPHABET,
	FK_COST,
	FK_WINDOW,
	FK_NAME,
	FK_ID,
	FK_GROUP,
	FK_GROUPS,
	FK_TEXT,
	FK_PATH,
	FK_BOOL,
	FK_DELIVER,
	FK_COMMAND,
};

/* One row of RS_POLICY_FIELDS or RS_ACCOUNT_FIELDS, for the code that walks them. */
struct field {
	const char *key;
	enum field_kind kind;
	size_t off;  /* of the field in its struct (of key_start for a WINDOW) */
	size_t off2; /* of the second field: key_spec, key_end, nkey; else 0 */
	size_t size; /* of the field at off, for an INT */
	long long min, max;
	const char *def;     /* the default in the config's syntax, or NULL */
	const char *missing; /* what to add when a required setting is missing, or NULL */
};

extern const struct field pol_fields[POL_N]; /* config_policy.c */
extern const struct field acc_fields[ACC_N]; /* config_accounts.c */

/* The field a row describes in struct s (of the policy or of an account), and its
 * second field (off2). */
static inline void *field_at(void *s, const struct field *f)
{
	return (char *)s + f->off;
}

static inline const void *field_at_c(const void *s, const struct field *f)
{
	return (const char *)s + f->off;
}

static inline void *field2_at(void *s, const struct field *f)
{
	return (char *)s + f->off2;
}

static inline const void *field2_at_c(const void *s, const struct field *f)
{
	return (const char *)s + f->off2;
}

/* An INT field is a size_t or an unsigned (config_policy.c checks which at build time). */
static inline void field_set_uint(void *field, size_t size, unsigned long long v)
{
	if (size == sizeof(unsigned)) {
		unsigned u = (unsigned)v;

		memcpy(field, &u, sizeof(u));
	} else {
		size_t z = (size_t)v;

		memcpy(field, &z, sizeof(z));
	}
}

static inline unsigned long long field_uint(const void *field, size_t size)
{
	unsigned u;
	size_t z;

	if (size == sizeof(unsigned)) {
		memcpy(&u, field, sizeof(u));
		return u;
	}
	memcpy(&z, field, sizeof(z));
	return z;
}

/* Where each policy value of one level (defaults, or one account) was written. */
struct pol_src {
	const config_setting_t *set[POL_N]; /* NULL: inherited */
	bool bad[POL_N]; /* written but invalid (already reported): skip checks using it */
};

struct loader {
	struct rs_config *cfg;
	config_t lc;
	struct sysdb pw, gr;
	bool pw_ok, gr_ok;      /* read; otherwise collisions cannot be checked (reported) */
	struct pol_src def_src; /* the defaults section */
	const config_setting_t *groups_list, *accounts_list;
	char *incdir; /* the config's directory, where @include looks */
	/* The config's own groups and accounts that have a name, sorted (config_index.h)
	 * once their list is parsed: groups by name and by gid, accounts by name. */
	struct key_ref *grp_by_name, *grp_by_gid, *acc_by_name;
	size_t ngrp_named, nacc_named;
	size_t diag_cap;
	int err; /* internal failure (-ENOMEM): the load fails with it */
};

/* ---- config_get.c: diagnostics ---- */

/* "FILE:LINE: message" (or "FILE: message" when line is 0) into cfg->diags. A warning is
 * marked by its flag only: callers (rotsecctl) add their own "warning: ". */
__attribute__((format(printf, 5, 6))) void cfg_diag_line(struct loader *ld, const char *file,
                                                         unsigned line, bool warning,
                                                         const char *fmt, ...);
/* At the file and line of setting s (the config itself when s is NULL). */
__attribute__((format(printf, 3, 4))) void
cfg_error_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void cfg_warn_at(struct loader *ld, const config_setting_t *s,
                                                       const char *fmt, ...);
/* "line 12", or "other.conf:12" when `other` comes from another (@include'd) file. */
void cfg_where(const struct loader *ld, const config_setting_t *here, const config_setting_t *other,
               char *buf, size_t len);

/* ---- config_get.c: typed getters, each reports its own problem and returns -EINVAL ---- */

/* The setting `key` of element idx of `list`, or the element itself when it lacks it. */
const config_setting_t *cfg_elem_member(const config_setting_t *list, size_t idx, const char *key);
/* strdup that records -ENOMEM in ld->err. */
char *cfg_strdup(struct loader *ld, const char *s);
/* "KEY must be EXPECTED, not TYPE". */
void cfg_wrong_type(struct loader *ld, const config_setting_t *s, const char *expected);
int cfg_get_string(struct loader *ld, const config_setting_t *s, const char *expected,
                   const char **out);
/* An id (uid or gid): 1..4294967294, 65535 excluded, 0 is root's. */
int cfg_get_id(struct loader *ld, const config_setting_t *s, uint32_t *out);
int cfg_get_bool(struct loader *ld, const config_setting_t *s, bool *out);
int cfg_get_duration(struct loader *ld, const config_setting_t *s, int64_t *out);
/* An absolute path; copied into *out (freed by the caller). */
int cfg_get_path(struct loader *ld, const config_setting_t *s, char **out);
/* An array of strings into a NULL-terminated argv (*count elements when count is not
 * NULL). With `command`, non-empty with an absolute argv[0]. */
int cfg_get_strv(struct loader *ld, const config_setting_t *s, bool command, char ***out,
                 size_t *count);
/* A name that may live in the system files (owner, member, group reference). */
bool cfg_ref_name_ok(const char *s);
int cfg_get_ref_name(struct loader *ld, const config_setting_t *s, char out[RS_NAME_MAX + 1]);
/* A name rotsec defines (`what`: "account" or "group"), by shadow-utils' rules. */
int cfg_get_new_name(struct loader *ld, const config_setting_t *s, const char *what,
                     char out[RS_NAME_MAX + 1]);

/* ---- config_get.c: keys ---- */

bool cfg_in_list(const char *const *keys, const char *name);
/* Report every member of group `grp` that is neither in `keys` (NULL-terminated) nor,
 * with_policy, a policy key, with the closest known key when it looks like a typo. `ctx`
 * says where: "in account \"x\"". */
void cfg_check_keys(struct loader *ld, const config_setting_t *grp, const char *const *keys,
                    bool with_policy, const char *ctx);
/*
 * The members of group `grp` named in `keys` and, with_policy, the policy keys, found in
 * one pass over the group: tab[i] for keys[i], tab[nkeys + k] for pol_fields[k], NULL
 * when absent (tabn slots, at least nkeys + POL_N with policy). Returns whether some
 * member is in neither list (cfg_check_keys says which).
 */
bool cfg_member_table(const config_setting_t *grp, const char *const *keys, bool with_policy,
                      const config_setting_t **tab, size_t tabn);
/* A list of groups ( { ... }, { ... } ); an empty [] or () is an empty list. -EINVAL only
 * when it is not a list at all; elements that are not groups are reported. */
int cfg_want_list_of_groups(struct loader *ld, const config_setting_t *s, const char *entry);

/* ---- config_policy.c ---- */

/* "interactive", "moderate": by enum rs_hash_cost. */
extern const char *const cfg_cost_names[2];
/* The index of a policy key in pol_fields, or -1. */
int cfg_pol_key_index(const char *name);
/* The built-in policy (the defaults of RS_POLICY_FIELDS). 0, or -EINVAL when a default
 * in the table does not parse (a bug the unit tests catch). */
int cfg_policy_builtin(struct rs_policy_cfg *p);
/* Read the policy settings set[k] (NULL when absent) over p, which holds the inherited
 * values; src says which were written and which were bad. */
void cfg_parse_policy(struct loader *ld, const config_setting_t *const *set,
                      struct rs_policy_cfg *p, struct pol_src *src);
/* Rules between two values on the merged policy of one level (`inh`: the defaults, or
 * NULL when checking the defaults themselves). */
void cfg_check_policy(struct loader *ld, const struct rs_policy_cfg *p, const struct pol_src *own,
                      const struct pol_src *inh);

/* ---- config_accounts.c ---- */

/* The `groups` and `accounts` lists of the top level: pass 1 and the uniqueness checks. */
int cfg_load_groups(struct loader *ld, const config_setting_t *root);
int cfg_load_accounts(struct loader *ld, const config_setting_t *root);
/* Pass 2 for groups and accounts: gids of primary and supplementary groups, members. */
void cfg_resolve_memberships(struct loader *ld);
/* A name for a delivery owner or user and for a group, as the store will know them:
 * the config's first, then the system files'. 0 or -ENOENT. */
int cfg_resolve_user(const struct loader *ld, const char *name, uint32_t *uid, uint32_t *gid);
int cfg_resolve_group(const struct loader *ld, const char *name, uint32_t *gid);
/* The name of the group with this gid, the config's first, "" when there is none. */
const char *cfg_group_name_of(const struct loader *ld, uint32_t gid);
/* Free what the fields of an account own. */
void cfg_account_free(struct rs_account_cfg *a);

/* ---- config_deliver.c ---- */

/* The deliver list `s` of account a (pass 1). */
void cfg_parse_deliveries(struct loader *ld, const config_setting_t *s, struct rs_account_cfg *a);
/* Pass 2: owners, groups and users of every delivery, one file per delivery. */
void cfg_resolve_deliveries(struct loader *ld);
void cfg_deliveries_free(struct rs_delivery *d, size_t n);

/* ---- config_fleet.c ---- */

/* The `fleet` section of the top level into cfg->fleet (left NULL without one). */
void cfg_load_fleet(struct loader *ld, const config_setting_t *root);
void cfg_fleet_free(struct rs_config *cfg);

/* ---- config_trust.c ---- */

/* The program argv[0] of the `command` or `verify` at s, by the trust rule as execve
 * would run it (trust.h): one that exists and breaks the rule is an error of the config.
 * A missing or non-executable one is left to rotsecctl check (cfg_check_refs), as it may
 * be installed after the config is written. */
void cfg_trust_program(struct loader *ld, const config_setting_t *s, const char *prog);
/* With `rotsecctl check`, after passes 1 and 2: what the config refers to, as sshd -t
 * does. The directories rotsec writes (exist or can be made, safe), key_file, the audit
 * log, every delivery's directory (exists, safe), every command and verify program
 * (exists, executable). Each problem at the line of its setting. */
void cfg_check_refs(struct loader *ld);

/* ---- config_include.c ---- */

/* `file` made absolute (relative to the working directory) into out. 0 or -errno. */
int cfg_abs_path(const char *file, char *out, size_t len);
/* The whole of a regular file into *text (NUL-terminated, *len bytes before the NUL),
 * read only when it passes the trust rule (trust.h, RS_TRUST_SELF). 0, or a negative
 * errno with `why` (-EISDIR for anything but a regular file, -EPERM when the rule
 * refuses it). */
int cfg_read_text(const char *file, struct stat *st, char **text, size_t *len, char *why,
                  size_t whylen);
/* The directory of `file`, where a relative @include is looked up; NULL when out of
 * memory. */
char *cfg_dir_of(const char *file);
/* Report every @include of `text` (read from `file`) that libconfig must not read. */
void cfg_check_includes(struct loader *ld, const char *file, const char *text, int depth);

#endif
