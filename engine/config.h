/*
 * rotsec.conf (ARCHITECTURE.md, contract §1): loading with libconfig and validation.
 *
 * The loader fills a struct rs_config whose every path and policy value is resolved:
 * defaults merged into each account, durations in seconds, group names turned into gids,
 * delivery owners into uids, sealed_to keys read and checked. Nothing is written while
 * loading; a config with any error is refused whole, and the caller leaves the store as
 * it is. Problems are collected as "file:line: message" diagnostics (all of them, not
 * just the first), warnings flagged as such.
 */
#ifndef ROTSEC_CONFIG_H
#define ROTSEC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config_fields.h"
#include "names.h"
#include "secret.h"

#define RS_DIAG_MAX 512

enum rs_delivery_kind {
	RS_DELIVER_FILE = 0, /* plaintext into a file (atomic replace) */
	RS_DELIVER_COMMAND,  /* execve argv, secret on stdin */
	RS_DELIVER_SEALED,   /* crypto_box_seal to a consumer key, into a file */
	RS_DELIVER_FLEET,    /* signed, sealed to a consumer key, published to etcd (fleet.h) */
};

struct rs_delivery {
	enum rs_delivery_kind kind;
	char *file;  /* FILE, SEALED: absolute destination path */
	char **argv; /* COMMAND: NULL-terminated, argv[0] absolute */
	size_t argc;
	char *fleet;                 /* FLEET: the consumer's name */
	char *sealed_to;             /* SEALED, FLEET: absolute path of the consumer's public key */
	unsigned char sealed_pk[32]; /* SEALED, FLEET: the key, read and checked at load */
	char owner[RS_NAME_MAX + 1]; /* FILE, SEALED: owner name ("root" by default) */
	char group[RS_NAME_MAX + 1]; /* FILE, SEALED: group name (owner's primary by default) */
	uid_t uid;                   /* resolved owner */
	gid_t gid;                   /* resolved group */
	mode_t mode;                 /* FILE default 0400, SEALED default 0644 */
	int64_t timeout;             /* COMMAND: seconds, default 30 */
	char user[RS_NAME_MAX + 1];  /* COMMAND: run as this user ("" = root) */
	uid_t run_uid;
	gid_t run_gid;
	int line; /* config line of this entry, for messages */
};

/* How each kind of setting of config_fields.h is declared. */
/* The names are the fields' own: they cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define RS_POLICY_DECL_DURATION(key, ctype) ctype key;
#define RS_POLICY_DECL_INT(key, ctype)      ctype key;
#define RS_POLICY_DECL_COST(key, ctype)     ctype key;
#define RS_POLICY_DECL_ALPHABET(key, ctype)                                                        \
	char key##_spec[128];                                                                      \
	ctype key;
#define RS_POLICY_DECL_WINDOW(key, ctype)               ctype key##_start, key##_end;
#define RS_POLICY_DECL(key, kind, ctype, def, min, max) RS_POLICY_DECL_##kind(key, ctype)

#define RS_ACCOUNT_DECL_NAME(key)  char key[RS_NAME_MAX + 1];
#define RS_ACCOUNT_DECL_ID(key)    uint32_t key;
#define RS_ACCOUNT_DECL_GROUP(key) char key[RS_NAME_MAX + 1];
#define RS_ACCOUNT_DECL_GROUPS(key)                                                                \
	char(*key)[RS_NAME_MAX + 1];                                                               \
	size_t n##key;
#define RS_ACCOUNT_DECL_TEXT(key) char *key;
#define RS_ACCOUNT_DECL_PATH(key) char *key;
#define RS_ACCOUNT_DECL_BOOL(key) bool key;
#define RS_ACCOUNT_DECL_DELIVER(key)                                                               \
	struct rs_delivery *key;                                                                   \
	size_t n##key;
#define RS_ACCOUNT_DECL_COMMAND(key)             char **key##_argv;
#define RS_ACCOUNT_DECL(key, kind, def, missing) RS_ACCOUNT_DECL_##kind(key)
/* NOLINTEND(bugprone-macro-parentheses) */

/* An account's policy, with the defaults section merged in: the fields of
 * RS_POLICY_FIELDS (config_fields.h), then what they imply. */
struct rs_policy_cfg {
	RS_POLICY_FIELDS(RS_POLICY_DECL)
	double entropy_bits; /* of length over alphabet */
};

/* One entry of `accounts`: the fields of RS_ACCOUNT_FIELDS, then what the loader
 * resolves from them. */
struct rs_account_cfg {
	RS_ACCOUNT_FIELDS(RS_ACCOUNT_DECL)
	uint32_t gid;       /* of `group` */
	uint32_t *sup_gids; /* supplementary gids: `groups` plus config groups that
	                     * list this account in `members`, primary excluded, unique */
	size_t nsup;
	struct rs_policy_cfg pol;
	int line;
};

struct rs_group_cfg {
	char name[RS_NAME_MAX + 1];
	uint32_t gid;
	char (*members)[RS_NAME_MAX + 1]; /* explicit members plus accounts naming it in `groups` */
	size_t nmembers;
	int line;
};

/* The `fleet` section (fleet_conf.h), finished for the host side. */
struct rs_fleet_cfg;

struct rs_diag {
	bool warning;
	char msg[RS_DIAG_MAX]; /* "file:line: message" */
};

struct rs_config {
	char *file; /* the path it was loaded from */
	char *store_dir, *state_dir, *key_file, *run_dir, *audit_log, *metrics_file;
	char *passwd_file, *group_file; /* system databases checked for collisions */
	int64_t lock_timeout;           /* store lock wait, seconds, default 10 */
	int64_t metrics_interval;       /* rotsecd rewrites the metrics at least this often, 60 */
	int64_t usage_interval; /* rotsecd looks at changed usage records at most this often, 10 */
	struct rs_policy_cfg defaults;
	struct rs_group_cfg *groups;
	size_t ngroups;
	struct rs_account_cfg *accounts;
	size_t naccounts;
	struct rs_account_cfg **by_name; /* accounts sorted by name, for rs_config_account */
	struct rs_fleet_cfg *fleet;      /* NULL: no fleet section, no fleet deliveries */
	struct rs_diag *diags;
	size_t ndiags;
	size_t nerrors; /* diags that are errors, not warnings */
};

/*
 * Load and validate `file`. Returns 0 when the config is usable (warnings may be in
 * cfg->diags), -EINVAL when it has errors (all in cfg->diags), -ENOENT/-EACCES when it
 * cannot be read. cfg must be freed with rs_config_free in every case.
 */
int rs_config_load(const char *file, struct rs_config *cfg);
/*
 * rs_config_load, and then what the config refers to on this host, as `sshd -t` and
 * `visudo -c` do (rotsecctl check): the directories rotsec writes exist or can be made
 * and are safe, key_file and the audit log are safe, every delivery's directory exists
 * and is safe, every command and verify program exists, is executable and is safe.
 * Problems are diagnostics like any other (errors, or warnings for what rotsec can live
 * without, such as a missing metrics collector directory).
 */
int rs_config_check(const char *file, struct rs_config *cfg);
void rs_config_free(struct rs_config *cfg);
/* The account of that name, or NULL. */
const struct rs_account_cfg *rs_config_account(const struct rs_config *cfg, const char *name);

/*
 * Every setting of account `a` as it takes effect, its own or inherited from `defaults`,
 * one "key value" line each in the order of config_fields.h, in the config's syntax
 * (durations as "1d12h"), as `sshd -T` prints its own: what `rotsecctl check --effective`
 * shows. A setting that is not set (window, verify) or empty prints as its key alone; a
 * delivery as one `deliver` line of its own settings. 0, or -EIO when `out` fails.
 */
int rs_config_print_account(FILE *out, const struct rs_account_cfg *a);

#endif
