/*
 * Who the user is to rotsec, and the decisions that need nothing more than that: the
 * account step, password changes, setcred.
 *
 * Whether a name is a rotsec account is decided by secrets.cdb alone (not NSS): the PAM
 * module must keep its answer even when nsswitch.conf is misconfigured, and a store it
 * cannot read is an error (PAM_AUTHINFO_UNAVAIL), never "not ours" (PAM_USER_UNKNOWN),
 * because the stack line turns "not ours" into "ask pam_unix".
 */
#include "pam_rotsec.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
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

int rs_pam_lookup(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user, int prio,
                  struct rs_pam_account *acc)
{
	struct rs_pam_store ps;
	char why[RS_WHY_MAX];
	/* LOG_DEBUG lines only with the debug option, like every other debug line. */
	bool quiet = prio == LOG_DEBUG && !o->debug;
	int r, rv = PAM_AUTHINFO_UNAVAIL;

	memset(acc, 0, sizeof(*acc));
	why[0] = '\0';
	r = rs_pam_store_acquire(o->store, &ps, why, sizeof(why));
	if (r < 0) {
		if (!quiet && r == -EACCES && geteuid() != 0)
			log_unreadable(pamh, prio, why);
		else if (!quiet)
			pam_syslog(pamh, prio, "cannot use the rotsec store: %s", why);
		return r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
	(void)snprintf(acc->dummy, sizeof(acc->dummy), "%s", ps.m->meta.dummy);
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
		if (!quiet)
			pam_syslog(pamh, prio,
			           "cannot use the rotsec store: %s/%s: the record of %s is "
			           "malformed",
			           o->store, RS_SECRETS_FILE, user);
		goto done;
	}
	acc->found = r == 1;
	if (o->debug)
		pam_syslog(pamh, LOG_DEBUG, "store %s generation %llu: %s", o->store,
		           (unsigned long long)ps.m->meta.generation,
		           acc->found ? "rotsec account" : "not a rotsec account");
	rv = PAM_SUCCESS;
done:
	rs_pam_store_release(&ps);
	return rv;
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

int rs_pam_account(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user)
{
	struct rs_pam_account acc;
	int rv;

	rv = rs_pam_lookup(pamh, o, user, LOG_ERR, &acc);
	if (rv != PAM_SUCCESS)
		return rv;
	if (!acc.found) {
		rs_pam_log_not_ours(pamh, o, user, "account");
		return PAM_USER_UNKNOWN;
	}
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

	rv = rs_pam_lookup(pamh, o, user, LOG_ERR, &acc);
	if (rv != PAM_SUCCESS)
		return rv;
	if (!acc.found) {
		rs_pam_log_not_ours(pamh, o, user, "password");
		return PAM_IGNORE;
	}
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
