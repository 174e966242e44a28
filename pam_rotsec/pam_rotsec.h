/*
 * pam_rotsec internals. Everything declared here is hidden (-fvisibility=hidden and the
 * version script pam_rotsec.map): only the pam_sm_* entry points in pam_rotsec.c are
 * exported, so nothing of common/ or libsodium can clash with the host program's symbols.
 *
 *   pam_rotsec.c    entry points: parse options, get the user, act, return
 *   args.c          module options
 *   store_cache.c   the secrets.cdb mapping kept across calls
 *   account.c       looking the user up; account, password and setcred decisions
 *   auth.c          the password check: prompt, rs_policy_verify, log, usage record
 *   logtext.c       making caller-supplied strings safe to log
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
	const char *store; /* store=DIR, else RS_DEFAULT_STORE_DIR */
	const char *run;   /* run=DIR, else RS_DEFAULT_RUN_DIR */
	bool debug;        /* log every decision at LOG_DEBUG */
	bool nodelay;      /* do not request the fail delay */
	bool no_previous;  /* refuse the previous secret even inside its grace period */
	bool audit;        /* log the names of users that are not rotsec accounts */
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

/* account.c */
struct rs_pam_account {
	bool found;               /* a rotsec account */
	struct rs_secret_rec rec; /* when found */
	char dummy[RS_HASH_MAX];  /* the store's dummy hash, for the same work when not */
};

/* PAM_USER as a string, or a PAM error (never PAM_SUCCESS without a user). */
int rs_pam_get_user(pam_handle_t *pamh, const struct rs_pam_opts *o, const char **user);

/* Look `user` up in the store. PAM_SUCCESS (acc->found says whether it is a rotsec
 * account), else PAM_AUTHINFO_UNAVAIL or PAM_BUF_ERR with one line logged at `prio`. */
int rs_pam_lookup(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user, int prio,
                  struct rs_pam_account *acc);

/* Log that `user` is not a rotsec account: at LOG_NOTICE with `audit`, LOG_DEBUG with
 * `debug`, else not at all. `what` names the step ("auth", "account"). */
void rs_pam_log_not_ours(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user,
                         const char *what);

int rs_pam_account(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user);
int rs_pam_password(pam_handle_t *pamh, const struct rs_pam_opts *o, int flags, const char *user);
int rs_pam_setcred(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user);

/* auth.c */
int rs_pam_authenticate(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user);

/* logtext.c: `in` with every byte outside printable ASCII (and the backslash) written as
 * \xNN, cut to RS_PAM_LOGTEXT_MAX; "-" for NULL. Returns out. */
struct rs_pam_logtext {
	char s[RS_PAM_LOGTEXT_MAX * 4 + 4];
};
const char *rs_pam_logtext(const char *in, struct rs_pam_logtext *out);

/* The PAM item `item` (PAM_RHOST, PAM_RUSER, ...) escaped for the log. */
const char *rs_pam_item_logtext(pam_handle_t *pamh, int item, struct rs_pam_logtext *out);

#endif
