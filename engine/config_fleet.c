/*
 * The `fleet` section of rotsec.conf: how this host reaches etcd and who it is there
 * (fleet_conf.h, fleet.h), read into cfg->fleet and checked like every other setting,
 * each problem reported at its line.
 *
 *   fleet = {
 *     endpoints = [ "https://10.0.0.1:2379", "https://10.0.0.2:2379" ];   # required
 *     prefix = "rotsec/v1";               # default
 *     host = "web1";                      # default: the short host name
 *     signing_key = "/etc/rotsec/sign.key";  # default; made on first use with .pub
 *     tls = { ca = "..."; cert = "..."; key = "..."; };
 *     user = "web1"; password_file = "/etc/rotsec/etcd.pw";
 *     timeout = "5s";                     # per etcd operation
 *   };
 *
 * The files it names are trusted inputs (ARCHITECTURE.md, contract §5): the signing key signs what
 * the consumers will run with, the client key and the password open etcd as this host. Each
 * must be owned by root (or by the user running `rotsecctl check`), in directories that
 * only root can write, and readable by nobody else where it is secret. A signing key
 * that does not exist yet is made on first use: then its directory is what is checked.
 */
#define _GNU_SOURCE
#include "config.h"
#include "config_load.h"
#include "fleet_conf.h"
#include "fleet_msg.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const fleet_keys[] = {"endpoints",     "prefix",  "host",
                                         "signing_key",   "tls",     "user",
                                         "password_file", "timeout", NULL};
static const char *const tls_keys[] = {"ca", "cert", "key", NULL};

/* What a file of the section may be, by its role. */
enum file_role {
	FILE_PUBLIC,  /* not writable by group or others (a CA bundle, a certificate) */
	FILE_PRIVATE, /* besides, not readable by others (a client key, a password) */
	FILE_SECRET,  /* no access by group or others at all (the signing key) */
};

/* The checks of one existing file, opened as `name` in the checked directory dirfd
 * without following a symlink. */
static void check_file_at(struct loader *ld, const config_setting_t *s, const char *key,
                          const char *path, int dirfd, const char *name, enum file_role role)
{
	static const mode_t forbidden[] = {0022, 0027, 0077};
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		cfg_error_at(ld, s, "%s %s: %s", key, path, strerror(errno));
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		cfg_error_at(ld, s, "%s %s is a symbolic link; name the file itself", key, path);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error_at(ld, s, "%s %s is not a regular file", key, path);
		return;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		cfg_error_at(ld, s, "%s %s is owned by uid %u, not root", key, path,
		             (unsigned)st.st_uid);
		return;
	}
	if (st.st_mode & forbidden[role])
		cfg_error_at(ld, s, "%s %s has mode %04o: %s", key, path,
		             (unsigned)(st.st_mode & 07777),
		             role == FILE_SECRET    ? "it must be 0600"
		             : role == FILE_PRIVATE ? "it must not be readable by others nor "
		                                      "writable by group (0600 or 0640)"
		                                    : "it must not be writable by group or others");
}

/*
 * A file of the section, by the trust rule: its directory and every one above it safe
 * (rs_open_safe_dir), then the file itself. With may_be_missing (the signing key, made on
 * first use) a file that does not exist yet is fine when its directory is.
 */
static void check_file(struct loader *ld, const config_setting_t *s, const char *key,
                       const char *path, enum file_role role, bool may_be_missing)
{
	char dir[PATH_MAX], base[PATH_MAX], why[RS_WHY_MAX] = "";
	int dirfd;

	(void)snprintf(dir, sizeof(dir), "%s", path);
	(void)snprintf(base, sizeof(base), "%s", path);
	dirfd = rs_open_safe_dir(dirname(dir), geteuid(), why, sizeof(why));
	if (dirfd < 0) {
		cfg_error_at(ld, s, "%s %s: %s", key, path, why[0] ? why : strerror(-dirfd));
		return;
	}
	if (may_be_missing && faccessat(dirfd, basename(base), F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT) {
		close(dirfd);
		return;
	}
	check_file_at(ld, s, key, path, dirfd, basename(base), role);
	close(dirfd);
}

/* A path setting of g, checked as a file of `role`; *out keeps it. */
static const config_setting_t *get_file(struct loader *ld, const config_setting_t *g,
                                        const char *key, enum file_role role, char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s && cfg_get_path(ld, s, out) == 0)
		check_file(ld, s, key, *out, role, false);
	return s;
}

/* A string setting of g that is a name (host, user): non-empty, one line. */
static void get_word(struct loader *ld, const config_setting_t *g, const char *key, char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v;

	if (!s || cfg_get_string(ld, s, "a name in quotes", &v) < 0)
		return;
	if (!v[0] || strlen(v) > RS_FLEET_NAME_MAX) {
		cfg_error_at(ld, s, "%s must be 1 to %d characters", key, RS_FLEET_NAME_MAX);
		return;
	}
	*out = cfg_strdup(ld, v);
}

static void get_endpoints(struct loader *ld, const config_setting_t *g, struct rs_fleet_cfg *f,
                          bool tls)
{
	const config_setting_t *s = config_setting_get_member(g, "endpoints");
	const char *all[RS_ETCD_MAX_ENDPOINTS];
	int n;

	if (!s) {
		cfg_error_at(ld, g,
		             "the fleet section needs endpoints = [ \"https://HOST:2379\", ... ]: "
		             "the client URLs of the etcd cluster");
		return;
	}
	n = config_setting_is_array(s) ? config_setting_length(s) : -1;
	if (n <= 0 || n > RS_ETCD_MAX_ENDPOINTS) {
		cfg_error_at(ld, s, "endpoints must be a list of 1 to %d URLs [ \"https://...\" ]",
		             RS_ETCD_MAX_ENDPOINTS);
		return;
	}
	for (int i = 0; i < n; i++)
		all[i] = config_setting_get_string_elem(s, i);
	for (int i = 0; i < n; i++) {
		const char *u = all[i];

		if (!u || !rs_etcd_endpoint_valid(u)) {
			cfg_error_at(ld, s,
			             "endpoint \"%s\" is not an http:// or https:// URL of a host "
			             "and port (no path, no user@)",
			             u ? u : "");
			continue;
		}
		if (rs_etcd_endpoint_plain_in_tls(u, all, (size_t)n, tls)) {
			cfg_error_at(ld, s,
			             "endpoint %s is not https:// but %s: the password, the token "
			             "and the values would go to it in the clear",
			             u, tls ? "tls is configured" : "other endpoints are");
			continue;
		}
		if ((f->endpoints[f->nendpoints] = cfg_strdup(ld, u)))
			f->nendpoints++;
	}
}

static void get_tls(struct loader *ld, const config_setting_t *g, struct rs_fleet_cfg *f)
{
	const config_setting_t *s = config_setting_get_member(g, "tls"), *cert, *key;

	if (!s)
		return;
	if (!config_setting_is_group(s)) {
		cfg_wrong_type(ld, s, "a group { ca = \"...\"; cert = \"...\"; key = \"...\"; }");
		return;
	}
	cfg_check_keys(ld, s, tls_keys, false, "in fleet.tls");
	(void)get_file(ld, s, "ca", FILE_PUBLIC, &f->cacert);
	cert = get_file(ld, s, "cert", FILE_PUBLIC, &f->cert);
	key = get_file(ld, s, "key", FILE_PRIVATE, &f->key);
	if (!!cert != !!key)
		cfg_error_at(ld, cert ? cert : key,
		             "tls needs both cert and key (a client certificate and its key), or "
		             "neither");
}

static void get_auth(struct loader *ld, const config_setting_t *g, struct rs_fleet_cfg *f)
{
	const config_setting_t *pw;

	get_word(ld, g, "user", &f->user);
	pw = get_file(ld, g, "password_file", FILE_PRIVATE, &f->password_file);
	if (!!config_setting_get_member(g, "user") != !!pw)
		cfg_error_at(ld, pw ? pw : config_setting_get_member(g, "user"),
		             "an etcd user needs password_file, and password_file a user");
}

static void get_rest(struct loader *ld, const config_setting_t *g, struct rs_fleet_cfg *f)
{
	const config_setting_t *s;
	const char *v;
	int64_t t;

	if ((s = config_setting_get_member(g, "prefix")) &&
	    cfg_get_string(ld, s, "a key prefix in quotes such as \"rotsec/v1\"", &v) == 0) {
		if (rs_fleet_prefix_valid(v))
			f->prefix = cfg_strdup(ld, v);
		else
			cfg_error_at(ld, s,
			             "prefix \"%s\" is not /-separated parts of A-Z a-z 0-9 . _ - "
			             "(no empty, . or .. part, at most 128 characters)",
			             v);
	}
	get_word(ld, g, "host", &f->host);
	if ((s = config_setting_get_member(g, "host")) && f->host && !rs_fleet_name_valid(f->host))
		cfg_error_at(ld, s, "host \"%s\" is not 1 to %d of A-Z a-z 0-9 . _ -", f->host,
		             RS_FLEET_NAME_MAX);
	s = config_setting_get_member(g, "signing_key");
	if (s)
		(void)cfg_get_path(ld, s, &f->signing_key);
	else
		f->signing_key = cfg_strdup(ld, RS_FLEET_DEFAULT_SIGNING_KEY);
	if (f->signing_key)
		check_file(ld, s ? s : g, "signing_key", f->signing_key, FILE_SECRET, true);
	if ((s = config_setting_get_member(g, "timeout")) && cfg_get_duration(ld, s, &t) == 0) {
		if (t < 1 || t > 600)
			cfg_error_at(ld, s, "timeout must be from 1s to 10m");
		else
			f->timeout_ms = t * 1000;
	}
	/* A publish runs under the account's lock, and everything else that wants the
	 * account (rotsecctl rotate --revoke-previous above all) waits lock_timeout for it:
	 * an etcd that never answers must not make a compromise rotation give up. */
	t = f->timeout_ms > 0 ? f->timeout_ms : RS_ETCD_TIMEOUT_MS;
	if (t >= ld->cfg->lock_timeout * 1000)
		cfg_error_at(
		        ld, s ? s : g,
		        "the fleet timeout (%llds) must be shorter than lock_timeout (%llds): a "
		        "publish holds the account's lock for up to the timeout, and a "
		        "compromise rotation waits lock_timeout for it",
		        (long long)(t / 1000), (long long)ld->cfg->lock_timeout);
}

void cfg_load_fleet(struct loader *ld, const config_setting_t *root)
{
	const config_setting_t *g = config_setting_get_member(root, "fleet");
	struct rs_fleet_cfg *f;
	char why[RS_WHY_MAX] = "";
	size_t before = ld->cfg->nerrors;
	int r;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg_wrong_type(ld, g, "a group { endpoints = [ ... ]; ... }");
		return;
	}
	if (!(f = calloc(1, sizeof(*f)))) {
		ld->err = -ENOMEM;
		return;
	}
	rs_fleet_cfg_init(f);
	ld->cfg->fleet = f;
	cfg_check_keys(ld, g, fleet_keys, false, "in fleet");
	get_tls(ld, g, f);
	get_endpoints(ld, g, f, config_setting_get_member(g, "tls") != NULL);
	get_auth(ld, g, f);
	get_rest(ld, g, f);
	if (ld->err || ld->cfg->nerrors > before)
		return;
	/* The defaults: the prefix, and the host's own short name. */
	if ((r = rs_fleet_cfg_finish(f, RS_FLEET_HOST, why, sizeof(why))) == -ENOMEM)
		ld->err = r;
	else if (r < 0)
		cfg_error_at(ld, g, "%s", why);
}

void cfg_fleet_free(struct rs_config *cfg)
{
	if (!cfg->fleet)
		return;
	rs_fleet_cfg_free(cfg->fleet);
	free(cfg->fleet);
	cfg->fleet = NULL;
}
