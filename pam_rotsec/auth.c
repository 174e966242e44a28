/*
 * The password check (ARCHITECTURE.md, contract §4): look the user up, ask for the password, let
 * rs_policy_verify decide, then turn its verdict into a PAM code, one log line and, for a
 * success or a revoked secret, a usage record.
 *
 * Rules this file keeps:
 *  - the decision is rs_policy_verify's alone, so `rotsecctl verify` and a login always
 *    agree; this file only maps verdicts;
 *  - every path that is not a verdict of "current" or "previous" returns an error: an
 *    internal failure can never become PAM_SUCCESS or PAM_IGNORE;
 *  - every verdict costs the same work and gets the same prompt, so that neither timing
 *    nor prompts tell an attacker which accounts exist or what was wrong: one read of
 *    the local passwd file, one store probe, one resolution of a rotsec account's name
 *    through the name service (the user's own, or the store's first account's for a name
 *    that is not one), the hash computations of the store's cost profile (policy.h), one
 *    usage record rewritten (the account's when a secret matched, the dummy record
 *    otherwise: usage.h), and one log line: for a name that is not a rotsec account a
 *    debug line without the name (it may be a password typed into the user field), with
 *    the name only under `debug` or `audit`. Local accounts are answered before all of
 *    it (pam_rotsec.h): they are pam_unix's, whose own check costs far more;
 *  - a secret opens the account only when its name resolves to the uid the store
 *    records (resolve.c): otherwise the login program would start a session of another
 *    account;
 *  - the password is never logged, copied or kept: it stays in libpam's PAM_AUTHTOK item
 *    (where pam_unix, next in the stack, finds it, and which libpam wipes at pam_end), and
 *    at most RS_SECRET_MAX + 1 bytes of it are read.
 */
#include "pam_rotsec.h"
#include "policy.h"
#include "secret.h"
#include "usage.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>

/*
 * libsodium is initialised once, when the module is loaded, not on every call: sodium_init
 * takes a lock of its own, and a process that forks while another thread holds it (sshd,
 * a threaded server) would leave the child deadlocked on its first login. pthread_once
 * also covers a caller that somehow reaches auth before the constructor ran.
 */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_ready;

static void crypto_init_once(void)
{
	crypto_ready = rs_crypto_init() == 0;
}

__attribute__((constructor)) static void crypto_load(void)
{
	pthread_once(&crypto_once, crypto_init_once);
}

/* Where a login came from, as every verdict's line shows it: "rhost=HOST ruser=USER", both
 * escaped for the log. */
struct origin {
	char s[2 * sizeof(struct rs_pam_logtext) + 16];
};

static void origin_get(pam_handle_t *pamh, struct origin *w)
{
	struct rs_pam_logtext rhost, ruser;

	(void)snprintf(w->s, sizeof(w->s), "rhost=%s ruser=%s",
	               rs_pam_item_logtext(pamh, PAM_RHOST, &rhost),
	               rs_pam_item_logtext(pamh, PAM_RUSER, &ruser));
}

/* The user's name for a line about `acc`: a rotsec account's own; any other name only with
 * debug or audit, since it may be a password typed into the user field
 * (ARCHITECTURE.md, contract §4). */
static const char *name_for_log(const struct rs_pam_opts *o, const struct rs_pam_account *acc,
                                const char *user, struct rs_pam_logtext *t)
{
	if (acc->found)
		return acc->rec.name;
	if (o->debug || o->audit)
		return rs_pam_logtext(user, t);
	return "a user that is not a rotsec account (name not logged)";
}

static int get_password(pam_handle_t *pamh, const struct rs_pam_opts *o,
                        const struct rs_pam_account *acc, const char *user, const char **pw)
{
	struct rs_pam_logtext t;
	int rv;

	*pw = NULL;
	/* NULL prompt: libpam's "Password: ", the one pam_unix shows, so that putting
	 * pam_rotsec in front of pam_unix changes nothing a user sees. */
	rv = pam_get_authtok(pamh, PAM_AUTHTOK, pw, NULL);
	if (rv == PAM_CONV_AGAIN)
		return PAM_INCOMPLETE;
	if (rv == PAM_SUCCESS && *pw)
		return PAM_SUCCESS;
	/* A failed prompt for a name that is not a rotsec account is as little rotsec's
	 * business as its login: at debug level, as for its verdict (verdict()). */
	pam_syslog(pamh, acc->found || o->audit ? LOG_NOTICE : LOG_DEBUG,
	           "cannot get the password of %s: %s", name_for_log(o, acc, user, &t),
	           pam_strerror(pamh, rv));
	*pw = NULL;
	return rv == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_AUTH_ERR;
}

/* Which usage record a verdict rewrites; USED_NOTHING rewrites the dummy one. */
enum usage_kind { USED_CURRENT, USED_PREVIOUS, USED_REVOKED, USED_NOTHING };

/* One record's rewrite, as rs_pam_shielded runs it. */
struct usage_job {
	const char *run;
	const struct rs_secret_rec *rec;
	enum usage_kind kind;
	int64_t now;
	const void *service, *rhost, *ruser;
};

static int usage_write(void *arg)
{
	const struct usage_job *j = arg;

	if (j->kind == USED_NOTHING)
		return rs_usage_dummy(j->run, j->now, j->service, j->rhost, j->ruser);
	if (j->kind == USED_REVOKED)
		return rs_usage_tripwire(j->run, j->rec->name, j->rec->generation, j->now,
		                         j->service, j->rhost, j->ruser);
	return rs_usage_record(j->run, j->rec->name, j->rec->generation, j->kind == USED_PREVIOUS,
	                       j->now, j->service, j->rhost, j->ruser);
}

/* The usage record rotsecd and `rotsecctl status` read (usage.h), or the dummy record,
 * written where the user who started a set-user-ID caller cannot stop it holding the
 * record's lock (shield.c). Every failure here is logged; the caller decides what it
 * means (conclude()). */
static int record_usage(pam_handle_t *pamh, const struct rs_pam_opts *o,
                        const struct rs_secret_rec *rec, enum usage_kind kind, int64_t now)
{
	struct usage_job j = {.run = o->run, .rec = rec, .kind = kind, .now = now};
	const char *name = kind == USED_NOTHING ? RS_USAGE_DUMMY_FILE : rec->name;
	struct rs_pam_logtext t;
	int r;

	/* The run dir is root's (0700). A service that authenticates as its own user can
	 * neither write there nor be allowed to create it somewhere else. */
	if (geteuid() != 0) {
		if (o->debug && kind != USED_NOTHING)
			pam_syslog(pamh, LOG_DEBUG, "usage of %s not recorded: not running as root",
			           name);
		return 0;
	}
	pam_get_item(pamh, PAM_SERVICE, &j.service);
	pam_get_item(pamh, PAM_RHOST, &j.rhost);
	pam_get_item(pamh, PAM_RUSER, &j.ruser);
	r = rs_pam_shielded(usage_write, &j);
	if (r < 0)
		pam_syslog(pamh, LOG_WARNING, "usage of %s not recorded in %s: %s", name,
		           rs_pam_logtext(o->run, &t), strerror(-r));
	return r;
}

/* The verdict as a PAM code, with its log line; *kind says which record to rewrite.
 * `elsewhere`: why the name resolves to another account than the store's ("" when it
 * does not), which refuses whatever the verdict. */
static int verdict(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user,
                   const struct rs_pam_account *acc, const struct rs_verify_result *res,
                   const char *elsewhere, enum usage_kind *kind)
{
	const char *name = acc->rec.name;
	struct origin w = {0}; /* filled by origin_get; cppcheck cannot tell */

	*kind = USED_NOTHING;
	origin_get(pamh, &w);
	if (acc->found && elsewhere[0]) {
		pam_syslog(pamh, LOG_ERR, "secret of %s refused: %s (secret: %s; %s)", name,
		           elsewhere, rs_verdict_name(res->verdict), w.s);
		return PAM_AUTH_ERR;
	}
	/* One line a verdict, each its own message at its own level: they share the name and
	 * the origin, not their meaning. */
	switch (res->verdict) {
	case RS_CURRENT:
		pam_syslog(pamh, LOG_INFO, "current secret accepted for %s (%s)", name, w.s);
		*kind = USED_CURRENT;
		return PAM_SUCCESS;
	case RS_PREVIOUS:
		/* A consumer that has not switched yet: worth a notice each time, it is how
		 * an admin finds it before the deadline locks it out. */
		pam_syslog(pamh, LOG_NOTICE,
		           "previous secret used for %s, valid %lld more seconds (%s)", name,
		           (long long)res->remaining, w.s);
		*kind = USED_PREVIOUS;
		return PAM_SUCCESS;
	case RS_PREVIOUS_REFUSED:
		pam_syslog(
		        pamh, LOG_NOTICE,
		        "previous secret of %s refused: no_previous is set for this service (%s)",
		        name, w.s);
		return PAM_AUTH_ERR;
	case RS_REVOKED:
		if (res->expired_previous)
			pam_syslog(pamh, LOG_WARNING,
			           "previous secret of %s refused: its grace period is over and a "
			           "consumer still uses it (%s)",
			           name, w.s);
		else
			pam_syslog(
			        pamh, LOG_ALERT,
			        "revoked secret of %s presented (%s): it was rotated out and may "
			        "have leaked",
			        name, w.s);
		/* both count as a revoked secret tried, for the metrics */
		*kind = USED_REVOKED;
		return PAM_AUTH_ERR;
	case RS_NO_MATCH:
		pam_syslog(pamh, LOG_NOTICE, "authentication failure for %s (%s)", name, w.s);
		return PAM_AUTH_ERR;
	case RS_DISABLED:
		pam_syslog(pamh, LOG_NOTICE, "account %s is disabled in the rotsec store (%s)",
		           name, w.s);
		return PAM_AUTH_ERR;
	case RS_UNKNOWN:
		/* Every other verdict sends one line to syslog, and that send is most of what
		 * tells them apart in time: a line without the name (which may be a password
		 * typed into the user field) keeps "no such account" from being the quick
		 * answer. At debug level, where pam_unix's own per-login chatter goes. */
		if (o->audit || o->debug)
			rs_pam_log_not_ours(pamh, o, user, "auth");
		else
			pam_syslog(pamh, LOG_DEBUG, "auth: not a rotsec account (name not logged)");
		return PAM_USER_UNKNOWN;
	}
	return PAM_AUTH_ERR;
}

/* The verdict, then one usage record whatever it was (see the top). */
static int conclude(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user,
                    const struct rs_pam_account *acc, const struct rs_verify_result *res,
                    const char *elsewhere, int64_t now)
{
	enum usage_kind kind;
	int rv = verdict(pamh, o, user, acc, res, elsewhere, &kind);
	int r = record_usage(pamh, o, &acc->rec, kind, now);

	/* A failure to record never decides a login (a full or unsafe run dir is rotsec's to
	 * fix), except when the calling process's own limits caused it: whoever starts su
	 * sets those (RLIMIT_FSIZE, RLIMIT_NOFILE, and for the shielded writer RLIMIT_AS
	 * and the pids limit of a cgroup of their own, shield.c), and a login that leaves no record
	 * would escape rotate_after_use, which rotates a break-glass secret once it was used. */
	if (rv == PAM_SUCCESS &&
	    (r == -EFBIG || r == -EMFILE || r == -EAGAIN || r == -ENOMEM || r == -ECHILD)) {
		pam_syslog(pamh, LOG_ERR,
		           "secret of %s refused: its use cannot be recorded within the limits "
		           "of this process (%s)",
		           acc->rec.name, strerror(-r));
		return PAM_AUTH_ERR;
	}
	return rv;
}

int rs_pam_authenticate(pam_handle_t *pamh, const struct rs_pam_opts *o, const char *user)
{
	struct rs_pam_account acc;
	struct rs_verify_result res;
	struct rs_pam_logtext t;
	char elsewhere[RS_WHY_MAX];
	const char *pw = NULL;
	uid_t probe_uid;
	int64_t now;
	int rv, r;

	pthread_once(&crypto_once, crypto_init_once);
	if (!crypto_ready) {
		pam_syslog(pamh, LOG_ERR, "cannot initialise libsodium");
		return PAM_SYSTEM_ERR;
	}
	rv = rs_pam_lookup(pamh, o, user, LOG_ERR, &acc);
	if (rv != PAM_SUCCESS)
		return rv;
	if (acc.whose == RS_PAM_LOCAL) {
		rs_pam_log_not_ours(pamh, o, user, "auth");
		return PAM_USER_UNKNOWN;
	}
	if (acc.whose == RS_PAM_NO_STORE)
		return PAM_USER_UNKNOWN; /* logged by rs_pam_lookup */
	/* Resolved whoever it is: a rotsec account's own name, or the probe in place of
	 * any other, so that both cost one resolution of a rotsec account. */
	elsewhere[0] = '\0';
	if (acc.found)
		(void)rs_pam_resolves_to_store(&acc.rec, elsewhere, sizeof(elsewhere));
	else if (acc.probe[0])
		(void)rs_pam_resolve(acc.probe, &probe_uid);
	rv = get_password(pamh, o, &acc, user, &pw);
	if (rv != PAM_SUCCESS)
		return rv;
	now = (int64_t)time(NULL);
	r = rs_policy_verify(acc.found ? &acc.rec : NULL, &acc.costs, pw,
	                     strnlen(pw, RS_SECRET_MAX + 1), now,
	                     o->no_previous ? RS_POLICY_NO_PREVIOUS : 0, &res);
	pw = NULL;
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot check the password of %s: %s",
		           name_for_log(o, &acc, user, &t),
		           r == -ENOMEM ? "out of memory"
		                        : "a hash in the rotsec store is malformed");
		return r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
	if (o->debug)
		pam_syslog(pamh, LOG_DEBUG, "verdict: %s", rs_verdict_name(res.verdict));
	return conclude(pamh, o, user, &acc, &res, elsewhere, now);
}
