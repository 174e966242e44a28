/*
 * rotsec.conf (ARCHITECTURE.md, contract §1): the load from start to end, the top-level settings,
 * freeing, and the lookup of an account by name.
 *
 * The steps (config_load.h says how the files share the work): read the file and check
 * who may write it; check its @includes (config_include.c); let libconfig parse the text
 * that was read; read the top-level settings, `defaults` (config_policy.c), `groups` and
 * `accounts` (config_accounts.c, config_deliver.c); then, with every entry known, resolve
 * the names they refer to. Nothing here writes anything: the caller only touches the
 * store after a clean load.
 */
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"

static const char *const top_keys[] = {
        "store_dir",    "state_dir",        "key_file",       "run_dir",
        "audit_log",    "metrics_file",     "passwd_file",    "group_file",
        "lock_timeout", "metrics_interval", "usage_interval", "defaults",
        "groups",       "accounts",         "fleet",          NULL};

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

#define NTOP_PATHS (sizeof(top_paths) / sizeof(top_paths[0]))

static void load_sysdb(struct loader *ld, const config_setting_t *root, const char *key,
                       const char *path, bool with_gid, struct sysdb *db, bool *ok)
{
	char why[RS_DIAG_MAX] = "";
	int r = sysdb_load(path, with_gid, db, why, sizeof(why));

	if (r == -ENOMEM) {
		ld->err = r;
		return;
	}
	if (r == -EPERM) {
		cfg_error_at(ld, config_setting_get_member(root, key),
		             "%s \"%s\" cannot be trusted: %s; whoever can change it decides which "
		             "names rotsec takes for local ones",
		             key, path, why);
		return;
	}
	if (r < 0) {
		/* Without it, collisions with local users and groups go unnoticed: refuse. */
		cfg_error_at(ld, config_setting_get_member(root, key),
		             "cannot read %s \"%s\": %s; it is needed to check that names and ids "
		             "do not collide with local ones",
		             key, path, strerror(-r));
		return;
	}
	*ok = true;
}

static void parse_top(struct loader *ld)
{
	const config_setting_t *root = config_root_setting(&ld->lc), *s;
	struct rs_config *cfg = ld->cfg;
	bool path_bad[NTOP_PATHS] = {false};

	cfg_check_keys(ld, root, top_keys, false, "at the top level");
	for (size_t i = 0; i < NTOP_PATHS; i++) {
		char **dst = (char **)(void *)((char *)cfg + top_paths[i].off);

		s = config_setting_get_member(root, top_paths[i].key);
		if (s && cfg_get_path(ld, s, dst) == 0)
			continue;
		path_bad[i] = s != NULL;
		/* Invalid values fall back too: every path in a loaded config is non-NULL. */
		*dst = cfg_strdup(ld, top_paths[i].def);
	}
	cfg->lock_timeout = 10;
	s = config_setting_get_member(root, "lock_timeout");
	if (s && cfg_get_duration(ld, s, &cfg->lock_timeout) == 0 &&
	    (cfg->lock_timeout < 1 || cfg->lock_timeout > 3600))
		cfg_error_at(ld, s, "lock_timeout must be from 1s to 1h");
	/* Both bound how often rotsecd does work on its own or on logins: zero would mean
	 * as often as possible, which is what they exist to prevent. */
	cfg->metrics_interval = 60;
	s = config_setting_get_member(root, "metrics_interval");
	if (s && cfg_get_duration(ld, s, &cfg->metrics_interval) == 0 && cfg->metrics_interval < 1)
		cfg_error_at(ld, s, "metrics_interval must be at least 1s");
	cfg->usage_interval = 10;
	s = config_setting_get_member(root, "usage_interval");
	if (s && cfg_get_duration(ld, s, &cfg->usage_interval) == 0 && cfg->usage_interval < 1)
		cfg_error_at(ld, s, "usage_interval must be at least 1s");
	if (ld->err)
		return;
	/* An invalid passwd_file/group_file is already an error; reading the host's own
	 * file in its place would only add collisions nobody asked about. */
	for (size_t i = 0; i < NTOP_PATHS; i++) {
		if (path_bad[i])
			continue;
		if (strcmp(top_paths[i].key, "passwd_file") == 0)
			load_sysdb(ld, root, "passwd_file", cfg->passwd_file, true, &ld->pw,
			           &ld->pw_ok);
		else if (strcmp(top_paths[i].key, "group_file") == 0)
			load_sysdb(ld, root, "group_file", cfg->group_file, false, &ld->gr,
			           &ld->gr_ok);
	}

	if (cfg_policy_builtin(&cfg->defaults) < 0) {
		ld->err = -EINVAL;
		return;
	}
	s = config_setting_get_member(root, "defaults");
	if (s && !config_setting_is_group(s)) {
		cfg_wrong_type(ld, s, "a group { ... } of policy keys");
	} else if (s) {
		const config_setting_t *tab[POL_N];

		if (cfg_member_table(s, (const char *const[]){NULL}, true, tab, POL_N))
			cfg_check_keys(ld, s, (const char *const[]){NULL}, true, "in defaults");
		cfg_parse_policy(ld, tab, &cfg->defaults, &ld->def_src);
		cfg_check_policy(ld, &cfg->defaults, &ld->def_src, NULL);
	}
}

static int by_name_cmp(const void *a, const void *b)
{
	const struct rs_account_cfg *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Lookups by name happen per account in a sync and per delivery owner while loading:
 * linear scans would make both quadratic in the number of accounts. */
static int index_accounts(struct rs_config *cfg)
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

/* Whether the config is text at all: the check on the bytes read, before anything parses
 * them. Who may write it was settled when it was read (cfg_read_text). */
static int check_text(struct loader *ld, const char *text, size_t len)
{
	/* A NUL byte is not configuration text, and libconfig would read past it from the
	 * file (includes and all) where the checks below read up to it. */
	if (memchr(text, '\0', len)) {
		cfg_error_at(ld, NULL,
		             "the configuration contains a NUL byte: it is not a text file");
		return -EINVAL;
	}
	return 0;
}

static int load(const char *file, struct rs_config *cfg, bool refs)
{
	struct loader ld = {0};
	const config_setting_t *root;
	char why[RS_DIAG_MAX] = "";
	struct stat st;
	char *text = NULL;
	size_t len = 0, before;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	ld.cfg = cfg;
	config_init(&ld.lc);
	cfg->file = strdup(file);
	ld.incdir = cfg_dir_of(file);
	if (!cfg->file || !ld.incdir) {
		r = -ENOMEM;
		goto out;
	}
	/* Read here rather than by libconfig, which reports an unreadable file as "file I/O
	 * error" without errno: the caller can tell a missing config from a forbidden one. */
	r = cfg_read_text(file, &st, &text, &len, why, sizeof(why));
	if (r >= 0 && !text)
		r = -EIO; /* never: for the analyzer, which cannot tell that errno is positive */
	if (r == -ENOMEM)
		goto out;
	/* The config names commands rotsecd runs as root: whoever can edit it owns the
	 * host. The caller's own uid is trusted besides root (RS_TRUST_SELF) so that an
	 * unprivileged rotsecctl check of its own config works. */
	if (r == -EPERM) {
		cfg_error_at(&ld, NULL,
		             "the configuration cannot be trusted: %s; whoever can change it can "
		             "run commands as root",
		             why);
		r = -EINVAL;
		goto out;
	}
	if (r != 0) {
		cfg_error_at(&ld, NULL, "cannot read the configuration: %s",
		             r == -EISDIR ? "not a regular file" : strerror(-r));
		goto out;
	}
	if ((r = check_text(&ld, text, len)) < 0)
		goto out;
	before = cfg->nerrors;
	cfg_check_includes(&ld, file, text, 0);
	if (cfg->nerrors > before) {
		r = -EINVAL; /* libconfig must not read an include that would kill or block it */
		goto out;
	}
	config_set_include_dir(&ld.lc, ld.incdir);
	/* libconfig parses the bytes just read and checked above, not the file again. */
	if (config_read_string(&ld.lc, text) != CONFIG_TRUE) {
		const char *ef = config_error_file(&ld.lc);

		/* libconfig stops at the first syntax error: there is no tree to check further. */
		cfg_diag_line(&ld, ef ? ef : file, (unsigned)config_error_line(&ld.lc), false, "%s",
		              config_error_text(&ld.lc));
		r = config_error_type(&ld.lc) == CONFIG_ERR_FILE_IO ? -EIO : -EINVAL;
		goto out;
	}

	root = config_root_setting(&ld.lc);
	parse_top(&ld);
	cfg_load_fleet(&ld, root);
	if ((r = ld.err) < 0 || (r = cfg_load_groups(&ld, root)) < 0 ||
	    (r = cfg_load_accounts(&ld, root)) < 0 || (r = index_accounts(cfg)) < 0)
		goto out;
	/* Pass 2: every name the entries refer to, now that all of them are known. */
	cfg_resolve_memberships(&ld);
	if (!ld.err)
		cfg_resolve_deliveries(&ld);
	/* Pass 3, for rotsecctl check: what the entries refer to on this host. */
	if (!ld.err && refs)
		cfg_check_refs(&ld);
	if ((r = ld.err) < 0)
		goto out;
	if (cfg->nerrors)
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

int rs_config_load(const char *file, struct rs_config *cfg)
{
	return load(file, cfg, false);
}

int rs_config_check(const char *file, struct rs_config *cfg)
{
	return load(file, cfg, true);
}

void rs_config_free(struct rs_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NTOP_PATHS; i++)
		free(*(char **)(void *)((char *)cfg + top_paths[i].off));
	free(cfg->file);
	for (size_t i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i].members);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->naccounts; i++)
		cfg_account_free(&cfg->accounts[i]);
	free(cfg->accounts);
	free(cfg->by_name);
	cfg_fleet_free(cfg);
	free(cfg->diags);
	memset(cfg, 0, sizeof(*cfg));
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
