/*
 * The account a name is to the system (issue 13): a login program gives the session the
 * uid that getpwnam(3) returns for the name, not the one in secrets.cdb. If another
 * source comes before rotsec in nsswitch.conf and has an account of that name (an LDAP
 * user, a local account added under that name later), a rotsec secret must not open it.
 * So a secret is accepted only when the name resolves, through the name service switch
 * exactly as the login program will resolve it, to the uid the store records.
 */
#include "pam_rotsec.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entries are small; a name service that needs more is retried with more, up to this. */
#define PW_BUF_MAX (1 << 20)

int rs_pam_resolve(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char stack[4096], *buf = stack, *big = NULL;
	size_t len = sizeof(stack);
	int e, saved = errno;

	for (;;) {
		e = getpwnam_r(name, &pw, buf, len, &res);
		if (e != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 4;
		free(big);
		buf = big = malloc(len);
		if (!buf) {
			e = ENOMEM;
			break;
		}
	}
	if (e == 0 && res)
		*uid = res->pw_uid;
	free(big);
	errno = saved;
	if (e != 0)
		return -e;
	return res ? 0 : -ENOENT;
}
