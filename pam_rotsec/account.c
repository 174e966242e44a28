/*
 * Who the user is to rotsec, and the decisions that need nothing more than that: the
 * account step, password changes, setcred.
 *
 * Whose a name is follows the steps of pam_rotsec.h: the local passwd file first (its
 * names are never rotsec's, whatever the store's state), then whether there is a store at
 * all, then secrets.cdb. A store that exists but cannot be read is an error
 * (PAM_AUTHINFO_UNAVAIL), never "not ours" (PAM_USER_UNKNOWN), because the stack line
 * turns "not ours" into "ask pam_unix": a rotsec account must fail closed. Only names
 * that are not local accounts get that error, so a broken store locks no one else out.
 */
#include "pam_rotsec.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

int rs_pam_get_user(pam_handle_t *pamh, const struct rs_pam_opts *o, const char **user)
{
	int rv;

	*user = NULL;
	rv = pam_get_user(pamh, user, NULL);
	if (rv == PAM_CONV_AGAIN)
		return PAM_INCOMPLETE;
	if (rv != PAM_SUCCESS) {
		if (o->debug)
			pam_syslog(pamh, LOG_DEBUG, "cannot get the user name: %s",
			           pam_strerror(pamh, rv));
		return rv == PAM_IGNORE ? PAM_USER_UNKNOWN : rv;
	}
	if (!*user || !**user) {
		if (o->debug)
			pam_syslog(pamh, LOG_DEBUG, "empty user name");
		return PAM_USER_UNKNOWN;
	}
	return PAM_SUCCESS;
}

/* The usual cause of EACCES: a service running as its own user that authenticates its
 * clients through PAM is not in group rotsec. Say exactly what to run. */
static void log_unreadable(pam_handle_t *pamh, int prio, const char *why)
{
	struct passwd pw, *res = NULL;
	char buf[1024], name[64];
	uid_t uid = geteuid();

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		(void)snprintf(name, sizeof(name), "%s", res->pw_name);
	else
		(void)snprintf(name, sizeof(name), "%u", (unsigned)uid);
	pam_syslog(pamh, prio,
	           "cannot read the rotsec store: %s; this program runs as user %s, which must "
	           "be in group rotsec to read it: run 'usermod -aG rotsec %s' and restart it",
	           why, name, name);
}

/* Whether the store is missing rather than broken (pam_rotsec.h, step 2): its directory
 * does not exist, or has no accounts.cdb. Only asked of a directory that passed the
 * safety checks or does not exist: an unsafe one proves nothing. *what says which. */
static bool store_missing(const char *dir, bool dir_seen, const char **what)
{
	char path[PATH_MAX];
	struct stat st;

	if (!dir_seen && lstat(dir, &st) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		*what = "the directory does not exist";
		return true;
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, RS_ACCOUNTS_FILE) < (int)sizeof(path) &&
	    lstat(path, &st) < 0 && errno == ENOENT) {
		*what = RS_ACCOUNTS_FILE " does not exist";
		return true;
	}
	return false;
}

/* What to do about a store that cannot be used: the reader's sentence and the fix. */
static void log_unusable(pam_handle_t *pamh, int prio, int r, const char *why)
{
	const char *fix;

	if (r == -EACCES && geteuid() != 0) {
		log_unreadable(pamh, prio, why);
		return;
	}
	switch (r) {
	case -EPERM:
	case -ELOOP:
		/* The trust rule's sentence names the fix for the one path it refused. */
		fix = strstr(why, "chown ") || strstr(why, "chmod ")
		              ? NULL
		              : "make it and every directory above it root's and not writable by "
		                "group or others (chown root, chmod go-w)";
		break;
	case -ENOENT:
	case -ENOTDIR:
		fix = "rotsecctl sync writes it";
		break;
	case -EPROTO:
		fix = "it is damaged: restore it from a backup, or move it aside and run "
		      "rotsecctl sync, which gives every account a new secret";
		break;
	default:
		fix = "rotsecctl check says more";
	}
	pam_syslog(pamh, prio,
	           "cannot use the rotsec store: %s; rotsec accounts cannot log in until it is "
	           "fixed%s%s%s",
	           why, fix ? " (" : "", fix ? fix : "", fix ? ")" : "");
}

/* The first account's name (index 0), or "" for an empty store. */
static void first_name(const struct rs_map *m, char probe[RS_NAME_MAX + 1])
{
	const char *val;
	size_t vlen;

	probe[0] = '\0';
	if (rs_map_secret_raw_at_index(m, 0, NULL, false, &val, &vlen) == 1 && rs_name_valid(val))
		(void)snprintf(probe, RS_NAME_MAX + 1, "%s", val);
}

int rs_pam_lookup(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user, int prio,
                  struct rs_pam_account *acc)
{
	struct rs_pam_store ps;
	struct rs_pam_logtext t, u;
	char why[RS_WHY_MAX];
	const char *missing = NULL;
	/* LOG_DEBUG lines only with the debug option, like every other debug line. */
	bool quiet = prio == LOG_DEBUG && !o->debug;
	int r, rv = PAM_AUTHINFO_UNAVAIL;

	memset(acc, 0, sizeof(*acc));
	why[0] = '\0';
	/* 1. Local accounts first, before the store is touched. */
	r = rs_pam_local_user(o->passwd, user);
	if (r == 1) {
		acc->whose = RS_PAM_LOCAL;
		return PAM_SUCCESS;
	}
	if (r < 0 && !quiet)
		pam_syslog(pamh, LOG_ERR,
		           "cannot read %s: %s; local accounts cannot be told from rotsec accounts",
		           rs_pam_logtext(o->passwd, &t), strerror(-r));
	/* 2. and 3. The store: missing, unusable, or there. */
	r = rs_pam_store_acquire(o->store, &ps, why, sizeof(why));
	if ((r == -ENOENT || r == -ENOTDIR || r == 0) &&
	    store_missing(o->store, r == 0, &missing)) {
		if (r == 0)
			rs_pam_store_release(&ps);
		if (!quiet)
			pam_syslog(
			        pamh, LOG_WARNING,
			        "no rotsec store in %s (%s): there are no rotsec accounts, every "
			        "user goes on to the next module; rotsecctl sync creates it",
			        rs_pam_logtext(o->store, &t), missing);
		acc->whose = RS_PAM_NO_STORE;
		return PAM_SUCCESS;
	}
	if (r < 0) {
		if (!quiet)
			log_unusable(pamh, prio, r, why);
		return r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
	/* 4. secrets.cdb. */
	acc->costs = ps.m->meta.costs;
	first_name(ps.m, acc->probe);
	if (rs_name_valid(user)) {
		r = rs_map_secret_by_name(ps.m, user, &acc->rec);
	} else {
		/* A name rotsec could never have created is not looked up as itself, but it
		 * costs the same probe, of a key no writer makes (names never start with
		 * '-'), whose answer is ignored: "not ours" after the same work as any other
		 * unknown name. */
		const char *val;
		size_t vlen;

		(void)rs_map_lookup(ps.m, RS_KEY_SECNAM, "-", &val, &vlen);
		r = 0;
	}
	if (r < 0) {
		/* The name of a record the store has; any other name (the lookup failed on a
		 * damaged table) may be anything typed at the prompt: only with debug or
		 * audit. */
		const char *val;
		size_t vlen;
		bool ours = rs_map_lookup(ps.m, RS_KEY_SECNAM, user, &val, &vlen) == 1;

		if (!quiet)
			pam_syslog(pamh, prio,
			           "cannot use the rotsec store: %s/%s: the record of %s is "
			           "malformed",
			           rs_pam_logtext(o->store, &t), RS_SECRETS_FILE,
			           ours || o->debug || o->audit ? rs_pam_logtext(user, &u)
			                                        : "a user (name not logged)");
		goto done;
	}
	acc->found = r == 1;
	acc->whose = acc->found ? RS_PAM_ROTSEC : RS_PAM_UNKNOWN;
	if (o->debug)
		pam_syslog(pamh, LOG_DEBUG, "store %s generation %llu: %s", o->store,
		           (unsigned long long)ps.m->meta.generation,
		           acc->found ? "rotsec account" : "not a rotsec account");
	rv = PAM_SUCCESS;
done:
	rs_pam_store_release(&ps);
	return rv;
}

bool rs_pam_resolves_to_store(const struct rs_secret_rec *rec, char *why, size_t whylen)
{
	uid_t uid = 0;
	int r = rs_pam_resolve(rec->name, &uid);

	if (r == 0 && uid == rec->uid)
		return true;
	if (!why || !whylen)
		return false;
	if (r == 0)
		(void)snprintf(why, whylen,
		               "%s resolves to uid %u, the rotsec store has uid %u: another source "
		               "before rotsec in nsswitch.conf has an account of that name",
		               rec->name, (unsigned)uid, (unsigned)rec->uid);
	else
		(void)snprintf(why, whylen,
		               "%s does not resolve through the name service (%s): is rotsec on "
		               "the passwd line of nsswitch.conf?",
		               rec->name, r == -ENOENT ? "no such user" : strerror(-r));
	return false;
}

/* Other users' names are logged only for debug or audit: a name that is not an account is
 * often a password typed into the wrong field (pam_faillock's `audit` has the same rule). */
void rs_pam_log_not_ours(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user,
                         const char *what)
{
	struct rs_pam_logtext t;

	if (o->audit)
		pam_syslog(pamh, LOG_NOTICE, "%s: %s is not a rotsec account", what,
		           rs_pam_logtext(user, &t));
	else if (o->debug)
		pam_syslog(pamh, LOG_DEBUG, "%s: %s is not a rotsec account", what,
		           rs_pam_logtext(user, &t));
}

/*
 * A rotsec account whose name the system resolves to another uid: that account is not
 * rotsec's to decide (the auth step refuses the secret). Logged. A name that does not
 * resolve, or a lookup that failed, is no such proof: the store's answer stands, so that
 * a failing name service never hands a rotsec account to the next module.
 */
static bool resolves_elsewhere(pam_handle_t *pamh, const struct rs_pam_account *acc,
                               const char *what)
{
	uid_t uid;

	if (rs_pam_resolve(acc->rec.name, &uid) < 0 || uid == acc->rec.uid)
		return false;
	pam_syslog(pamh, LOG_WARNING,
	           "%s: %s resolves to uid %u, the rotsec store has uid %u: left to the next "
	           "module",
	           what, acc->rec.name, (unsigned)uid, (unsigned)acc->rec.uid);
	return true;
}

/*
 * The rotsec account `user` for the PAM function `what` ("account", "password"): PAM_SUCCESS
 * with *acc, or `not_ours` for a user that is not rotsec's to decide (not in the store, or
 * a name that resolves to another uid), or the lookup's failure.
 */
static int lookup_ours(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user,
                       const char *what, int not_ours, struct rs_pam_account *acc)
{
	int rv = rs_pam_lookup(pamh, o, user, LOG_ERR, acc);

	if (rv != PAM_SUCCESS)
		return rv;
	if (!acc->found) {
		if (acc->whose != RS_PAM_NO_STORE)
			rs_pam_log_not_ours(pamh, o, user, what);
		return not_ours;
	}
	if (resolves_elsewhere(pamh, acc, what))
		return not_ours;
	return PAM_SUCCESS;
}

int rs_pam_account(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user)
{
	struct rs_pam_account acc;
	int rv;

	if ((rv = lookup_ours(pamh, o, user, "account", PAM_USER_UNKNOWN, &acc)) != PAM_SUCCESS)
		return rv;
	if (acc.rec.flags & RS_SECRET_DISABLED) {
		pam_syslog(pamh, LOG_NOTICE, "account %s is disabled in the rotsec store",
		           acc.rec.name);
		return PAM_ACCT_EXPIRED;
	}
	return PAM_SUCCESS;
}

int rs_pam_password(pam_handle_t *pamh, const struct rs_pam_opts *o, int flags, const char *user)
{
	struct rs_pam_account acc;
	int rv;

	if ((rv = lookup_ours(pamh, o, user, "password", PAM_IGNORE, &acc)) != PAM_SUCCESS)
		return rv;
	/* libpam runs every module with PAM_PRELIM_CHECK first and only then, if all agreed,
	 * with PAM_UPDATE_AUTHTOK: refusing in the first pass tells the user once. */
	if (flags & PAM_PRELIM_CHECK) {
		pam_syslog(pamh, LOG_NOTICE,
		           "password change for %s refused: its password is managed by rotsec",
		           acc.rec.name);
		if (!(flags & PAM_SILENT))
			pam_error(pamh,
			          "password of %s is managed by rotsec; use rotsecctl rotate %s",
			          acc.rec.name, acc.rec.name);
	}
	return PAM_PERM_DENIED;
}

/*
 * setcred grants nothing, but its return value still walks the auth stack line
 * `[success=done user_unknown=ignore default=die]`. libpam replays the auth results when
 * pam_authenticate ran on the same handle; when it did not (sshd after public-key or
 * keyboard-interactive authentication, done in another process), PAM_IGNORE would hit
 * default=die and fail the login of every user. So: PAM_SUCCESS for a rotsec account
 * (like auth), PAM_USER_UNKNOWN otherwise (skipped like auth), and a store problem is
 * left to the auth step to report.
 */
int rs_pam_setcred(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user)
{
	struct rs_pam_account acc;
	int rv;

	rv = rs_pam_lookup(pamh, o, user, LOG_DEBUG, &acc);
	if (rv != PAM_SUCCESS || !acc.found)
		return PAM_USER_UNKNOWN;
	return PAM_SUCCESS;
}
