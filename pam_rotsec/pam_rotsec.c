/*
 * pam_rotsec: the PAM entry points (ARCHITECTURE.md, contract §4).
 *
 *   auth [success=done user_unknown=ignore default=die] pam_rotsec.so [store=DIR] [run=DIR]
 *        [debug] [nodelay] [no_previous] [audit]
 *
 * Each entry point reads as its four steps (options, user, act, return); the acting lives
 * in auth.c and account.c. These six functions are the only symbols the module exports
 * (pam_rotsec.map).
 */
#include "pam_rotsec.h"

#include <security/pam_ext.h>

#define RS_PAM_EXPORT __attribute__((visibility("default")))

RS_PAM_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct rs_pam_opts o;
	const char *user;
	int rv = PAM_ABORT;

	(void)flags;
	rs_pam_parse_args(pamh, argc, argv, &o);
	/* Requested before anything can fail, so every failure path is delayed alike. */
	if (!o.nodelay)
		pam_fail_delay(pamh, RS_PAM_FAIL_DELAY_USEC);
	rv = rs_pam_get_user(pamh, &o, &user);
	if (rv != PAM_SUCCESS)
		goto done;
	rv = rs_pam_authenticate(pamh, &o, user);
done:
	/* Belt and braces for the one rule that must never break: auth succeeds only on a
	 * verdict, and "not ours" is PAM_USER_UNKNOWN, never PAM_IGNORE. */
	return rv == PAM_IGNORE ? PAM_AUTH_ERR : rv;
}

RS_PAM_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct rs_pam_opts o;
	const char *user;
	int rv = PAM_USER_UNKNOWN;

	(void)flags;
	rs_pam_parse_args(pamh, argc, argv, &o);
	if (rs_pam_get_user(pamh, &o, &user) != PAM_SUCCESS)
		goto done;
	rv = rs_pam_setcred(pamh, &o, user);
done:
	return rv;
}

RS_PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct rs_pam_opts o;
	const char *user;
	int rv = PAM_ABORT;

	(void)flags;
	rs_pam_parse_args(pamh, argc, argv, &o);
	rv = rs_pam_get_user(pamh, &o, &user);
	if (rv != PAM_SUCCESS)
		goto done;
	rv = rs_pam_account(pamh, &o, user);
done:
	return rv;
}

RS_PAM_EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct rs_pam_opts o;
	const char *user;
	int rv = PAM_ABORT;

	rs_pam_parse_args(pamh, argc, argv, &o);
	rv = rs_pam_get_user(pamh, &o, &user);
	if (rv != PAM_SUCCESS)
		goto done;
	rv = rs_pam_password(pamh, &o, flags, user);
done:
	return rv;
}

/* Sessions: rotsec has nothing to set up or tear down. */
RS_PAM_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

RS_PAM_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
