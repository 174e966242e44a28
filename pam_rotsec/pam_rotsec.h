/*
 * pam_rotsec internals. Everything declared here is hidden (-fvisibility=hidden and the
 * version script pam_rotsec.map): only the pam_sm_* entry points in pam_rotsec.c are
 * exported, so nothing of common/ or libsodium can clash with the host program's symbols.
 *
 *   pam_rotsec.c    entry points: parse options, get the user, act, return
 *   args.c          module options
 *   local.c         the local passwd file, read directly: its names are never rotsec's
 *   store_cache.c   the copy of secrets.cdb kept across calls
 *   account.c       looking the user up; account, password and setcred decisions
 *   resolve.c       the uid a name resolves to through the name service switch
 *   auth.c          the password check: prompt, rs_policy_verify, log, usage record
 *   shield.c        work the user who started a set-user-ID caller cannot hold up
 *   logtext.c       making caller-supplied strings safe to log
 *
 * Who is whose (issue 13, ARCHITECTURE.md, contract §4), in every step, in this order:
 *   1. a name of the local passwd file is never a rotsec account: PAM_USER_UNKNOWN (the
 *      password step: PAM_IGNORE) before the store is touched, whatever its state;
 *   2. no store (no store directory, or no accounts.cdb in it): there are no rotsec
 *      accounts, the same answer for everyone, and one line saying the store is missing;
 *   3. a store that exists but cannot be used: PAM_AUTHINFO_UNAVAIL (fail closed), with
 *      a line naming the fix;
 *   4. a name secrets.cdb has is a rotsec account, and its secret is accepted only when
 *      the name resolves to the uid the store records; any other name is not one.
 */
#ifndef PAM_ROTSEC_H
#define PAM_ROTSEC_H

#include <stdbool.h>
#include <stddef.h>

#include <security/pam_modules.h>

#include "record.h"
#include "store_read.h"

/* Requested on every auth call (libpam only waits when the stack fails), as pam_unix
 * does, so that an unknown user and a wrong password cost the attacker the same. */
#define RS_PAM_FAIL_DELAY_USEC 2000000u

/* Longest caller-supplied string (user name, rhost, option) written to the log once
 * escaped; the rest is cut and marked with "...". */
#define RS_PAM_LOGTEXT_MAX 128

struct rs_pam_opts {
	const char *store;  /* store=DIR, else RS_DEFAULT_STORE_DIR */
	const char *run;    /* run=DIR, else RS_DEFAULT_RUN_DIR */
	const char *passwd; /* passwd=FILE, else RS_DEFAULT_PASSWD_FILE (local.c) */
	bool debug;         /* log every decision at LOG_DEBUG */
	bool nodelay;       /* do not request the fail delay */
	bool no_previous;   /* refuse the previous secret even inside its grace period */
	bool audit;         /* log the names of users that are not rotsec accounts */
};

/* args.c: fill *o from the stack line. Unknown options are logged and ignored. */
void rs_pam_parse_args(pam_handle_t *pamh, int argc, const char **argv, struct rs_pam_opts *o);

/* store_cache.c: a reference to the mapped secrets.cdb of one store directory. */
struct rs_pam_store {
	struct rs_store *s;
	const struct rs_map *m;
	bool own; /* a private handle (the cache was full): closed on release */
};

/* 0, or a negative errno with one sentence in why (store_read.h lists the codes). */
int rs_pam_store_acquire(const char *dir, struct rs_pam_store *ps, char *why, size_t whylen);
void rs_pam_store_release(struct rs_pam_store *ps);

/* local.c: 1 when the passwd file `path` has a line for `name`, 0 when not, -errno when
 * it cannot be read. */
int rs_pam_local_user(const char *path, const char *name);

/* resolve.c: 0 and *uid when `name` resolves through the name service switch
 * (getpwnam_r), -ENOENT when it does not, another -errno when the lookup failed. */
int rs_pam_resolve(const char *name, uid_t *uid);

/* account.c */
enum rs_pam_whose {
	RS_PAM_LOCAL = 1, /* a name of the local passwd file (step 1 above) */
	RS_PAM_NO_STORE,  /* no store at all (step 2) */
	RS_PAM_UNKNOWN,   /* not in secrets.cdb */
	RS_PAM_ROTSEC,    /* a rotsec account: rec holds its record */
};

struct rs_pam_account {
	enum rs_pam_whose whose;
	bool found;               /* whose == RS_PAM_ROTSEC */
	struct rs_secret_rec rec; /* when found */
	struct rs_costs costs;    /* the store's cost profile: the same work whoever it is */
	/* A rotsec account's name, resolved in place of a name that is not one, so that
	 * every name costs one resolution of a rotsec account (auth.c); "" for an empty
	 * store. */
	char probe[RS_NAME_MAX + 1];
};

/* PAM_USER as a string, or a PAM error (never PAM_SUCCESS without a user). */
int rs_pam_get_user(pam_handle_t *pamh, const struct rs_pam_opts *o, const char **user);

/* Whose `user` is (the steps above). PAM_SUCCESS with acc->whose set, the missing store
 * logged at LOG_WARNING; else PAM_AUTHINFO_UNAVAIL or PAM_BUF_ERR with one line logged at
 * `prio`. With `prio` LOG_DEBUG nothing is logged without the debug option. */
int rs_pam_lookup(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user, int prio,
                  struct rs_pam_account *acc);

/* Whether the name of rotsec account `rec` resolves to its uid (resolve.c); when not,
 * `why` (if given) says what it resolves to. */
bool rs_pam_resolves_to_store(const struct rs_secret_rec *rec, char *why, size_t whylen);

/* Log that `user` is not a rotsec account: at LOG_NOTICE with `audit`, LOG_DEBUG with
 * `debug`, else not at all. `what` names the step ("auth", "account"). */
void rs_pam_log_not_ours(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user,
                         const char *what);

int rs_pam_account(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user);
int rs_pam_password(pam_handle_t *pamh, const struct rs_pam_opts *o, int flags, const char *user);
int rs_pam_setcred(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user);

/* auth.c */
int rs_pam_authenticate(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user);

/* shield.c: work(arg), in a child no user can signal when the caller's real or saved uid
 * is not root (a set-user-ID program), else in place. work's 0 or -errno; -ECHILD when
 * the child was killed, or fork's -errno (-EAGAIN: the pids limit of the caller's cgroup;
 * RLIMIT_NPROC does not bind a process whose euid is root). */
int rs_pam_shielded(int (*work)(void *), void *arg);

/* logtext.c: `in` with every byte outside printable ASCII (and the backslash) written as
 * \xNN, cut to RS_PAM_LOGTEXT_MAX; "-" for NULL. Returns out. */
struct rs_pam_logtext {
	char s[RS_PAM_LOGTEXT_MAX * 4 + 4];
};
const char *rs_pam_logtext(const char *in, struct rs_pam_logtext *out);

/* The PAM item `item` (PAM_RHOST, PAM_RUSER, ...) escaped for the log. */
const char *rs_pam_item_logtext(pam_handle_t *pamh, int item, struct rs_pam_logtext *out);

#endif
