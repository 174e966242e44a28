/*
 * rotsec.conf (DESIGN §5): loading with libconfig and validation.
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
#include <sys/stat.h>
#include <sys/types.h>

#include "names.h"
#include "secret.h"

#define RS_DIAG_MAX 512

enum rs_delivery_kind {
	RS_DELIVER_FILE = 0, /* plaintext into a file (atomic replace) */
	RS_DELIVER_COMMAND,  /* execve argv, secret on stdin */
	RS_DELIVER_SEALED,   /* crypto_box_seal to a consumer key, into a file */
};

struct rs_delivery {
	enum rs_delivery_kind kind;
	char *file;  /* FILE, SEALED: absolute destination path */
	char **argv; /* COMMAND: NULL-terminated, argv[0] absolute */
	size_t argc;
	char *sealed_to;             /* SEALED: absolute path of the consumer's public key file */
	unsigned char sealed_pk[32]; /* SEALED: the key, read and checked at load */
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

/* Per-account policy, with the defaults section merged in. */
struct rs_policy_cfg {
	int64_t rotate_every;    /* seconds, default 30d */
	int64_t grace;           /* default 1h */
	int64_t max_grace;       /* default 24h */
	size_t length;           /* default 32 */
	char alphabet_spec[128]; /* default "alnum" */
	struct rs_alphabet alphabet;
	double entropy_bits;         /* of length over alphabet */
	enum rs_hash_cost hash_cost; /* "interactive" (default) or "moderate" */
	int window_start;            /* minutes after local midnight; -1 = no window */
	int window_end;              /* may be < window_start: the window wraps midnight */
	int64_t jitter;              /* default 0 */
	int64_t rotate_after_use;    /* 0 = off */
	int64_t quiet_revoke;        /* 0 = off */
	unsigned tripwire_keep;      /* default 3, at most RS_TRIPWIRE_MAX */
	int64_t retry_min;           /* delivery backoff: first retry after, default 30s */
	int64_t retry_max;           /* backoff cap, default 1h */
};

struct rs_account_cfg {
	char name[RS_NAME_MAX + 1];
	uint32_t uid;
	char group[RS_NAME_MAX + 1];     /* primary group name */
	uint32_t gid;                    /* resolved primary gid */
	char *gecos, *home, *shell;      /* defaults "", "/nonexistent", "/usr/sbin/nologin" */
	char (*groups)[RS_NAME_MAX + 1]; /* supplementary groups as written (`groups = [...]`) */
	size_t ngroups;
	uint32_t *sup_gids; /* supplementary gids: `groups` plus config groups that
	                     * list this account in `members`, primary excluded, unique */
	size_t nsup;
	bool disabled;
	struct rs_policy_cfg pol;
	struct rs_delivery *deliver;
	size_t ndeliver;
	char **verify_argv; /* optional `verify = [...]` command, NULL if none */
	int line;
};

struct rs_group_cfg {
	char name[RS_NAME_MAX + 1];
	uint32_t gid;
	char (*members)[RS_NAME_MAX + 1]; /* explicit members plus accounts naming it in `groups` */
	size_t nmembers;
	int line;
};

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
	struct rs_diag *diags;
	size_t ndiags;
	size_t nerrors; /* diags that are errors, not warnings */
	/* What the dummy hash that unknown accounts are checked against must be made for
	 * (engine.c): the lowest entropy among accounts under 128 bits, whose secrets are
	 * hashed with Argon2id (256 when none is), and the highest hash cost among those.
	 */
	double dummy_bits;
	enum rs_hash_cost dummy_cost;
};

/*
 * Load and validate `file`. Returns 0 when the config is usable (warnings may be in
 * cfg->diags), -EINVAL when it has errors (all in cfg->diags), -ENOENT/-EACCES when it
 * cannot be read. cfg must be freed with rs_config_free in every case.
 */
int rs_config_load(const char *file, struct rs_config *cfg);
void rs_config_free(struct rs_config *cfg);
/* The index rs_config_account searches (cfg->by_name), made anew. 0 or -ENOMEM. */
int rs_config_index_accounts(struct rs_config *cfg);

const struct rs_account_cfg *rs_config_account(const struct rs_config *cfg, const char *name);

#endif
