/*
 * libnss_rotsec.so.2: rotsec's service accounts for every program on the host, with
 *
 *   passwd: files rotsec
 *   group:  files rotsec
 *   shadow: files rotsec
 *
 * in /etc/nsswitch.conf (nss_rotsec(8)). These are the only exported symbols
 * (nss_rotsec.map); each one checks its input, makes one call into nss_lookup.c and
 * turns the result into an enum nss_status at this boundary and nowhere else:
 *
 *   found             SUCCESS
 *   absent            NOTFOUND   (also at once for a name no rotsec account can have)
 *   buffer too small  TRYAGAIN, *errnop = ERANGE (the caller retries with a bigger one)
 *   store missing, unreadable, unsafe or malformed: UNAVAIL, *errnop says which
 *
 * errno is left as it was except where *errnop is set: glibc passes &errno as errnop,
 * and a successful getpwnam must not change the errno a caller is looking at.
 */
#define _GNU_SOURCE
#include "nss_rotsec.h"

#include <errno.h>
#include <nss.h>

/* Checked against glibc's own prototypes of every NSS function; exported (the build
 * hides everything else with -fvisibility=hidden and nss_rotsec.map). */
#pragma GCC visibility push(default)
/* cppcheck-suppress unknownMacro ; cppcheck does not read <nss.h> */
NSS_DECLARE_MODULE_FUNCTIONS(rotsec)
#pragma GCC visibility pop

static enum nss_status status_of(int r, int saved_errno, int *errnop)
{
	errno = saved_errno;
	if (r > 0)
		return NSS_STATUS_SUCCESS;
	if (r == 0)
		return NSS_STATUS_NOTFOUND;
	*errnop = -r;
	if (r == -ERANGE || r == -ENOMEM)
		return NSS_STATUS_TRYAGAIN;
	return NSS_STATUS_UNAVAIL;
}

/* shadow-utils' rules (names.h); anything else cannot be a rotsec account, and is
 * answered without touching the store or copying the name anywhere. */
static int name_ok(const char *name)
{
	return name && rs_name_valid(name);
}

enum nss_status _nss_rotsec_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                                       int *errnop)
{
	int saved = errno;

	if (!name_ok(name))
		return NSS_STATUS_NOTFOUND;
	return status_of(nss_getpw_name(name, pw, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
                                       int *errnop)
{
	int saved = errno;

	if (uid == (uid_t)-1)
		return NSS_STATUS_NOTFOUND;
	return status_of(nss_getpw_uid(uid, pw, buf, len), saved, errnop);
}

/* setXXent: rewind, and take a snapshot of the store for the enumeration. UNAVAIL tells
 * glibc to go on with the next service of the line. */
static enum nss_status set_ent(enum nss_db db)
{
	int saved = errno, unused;
	int r = nss_cursor_rewind(db, true);

	return status_of(r < 0 ? r : 1, saved, &unused);
}

static enum nss_status end_ent(enum nss_db db)
{
	int saved = errno;

	(void)nss_cursor_rewind(db, false);
	errno = saved;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_rotsec_setpwent(int stayopen)
{
	(void)stayopen;
	return set_ent(NSS_DB_PASSWD);
}

enum nss_status _nss_rotsec_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop)
{
	int saved = errno;

	return status_of(nss_getpw_next(pw, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_endpwent(void)
{
	return end_ent(NSS_DB_PASSWD);
}

enum nss_status _nss_rotsec_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
                                       int *errnop)
{
	int saved = errno;

	if (!name_ok(name))
		return NSS_STATUS_NOTFOUND;
	return status_of(nss_getgr_name(name, gr, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
                                       int *errnop)
{
	int saved = errno;

	if (gid == (gid_t)-1)
		return NSS_STATUS_NOTFOUND;
	return status_of(nss_getgr_gid(gid, gr, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_setgrent(int stayopen)
{
	(void)stayopen;
	return set_ent(NSS_DB_GROUP);
}

enum nss_status _nss_rotsec_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop)
{
	int saved = errno;

	return status_of(nss_getgr_next(gr, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_endgrent(void)
{
	return end_ent(NSS_DB_GROUP);
}

/*
 * Supplementary groups of `user` for initgroups(3) and getgrouplist(3), appended to
 * glibc's array: `group` (the primary) is skipped, `limit` (when > 0) honoured, the array
 * grown with realloc as nss_files does. NOTFOUND when no rotsec record names the user.
 */
enum nss_status _nss_rotsec_initgroups_dyn(const char *user, gid_t group, long int *start,
                                           long int *size, gid_t **groupsp, long int limit,
                                           int *errnop)
{
	int saved = errno;

	if (!name_ok(user))
		return NSS_STATUS_NOTFOUND;
	return status_of(nss_initgroups(user, group, start, size, groupsp, limit), saved, errnop);
}

enum nss_status _nss_rotsec_getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len,
                                       int *errnop)
{
	int saved = errno;

	if (!name_ok(name))
		return NSS_STATUS_NOTFOUND;
	return status_of(nss_getsp_name(name, sp, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_setspent(int stayopen)
{
	(void)stayopen;
	return set_ent(NSS_DB_SHADOW);
}

enum nss_status _nss_rotsec_getspent_r(struct spwd *sp, char *buf, size_t len, int *errnop)
{
	int saved = errno;

	return status_of(nss_getsp_next(sp, buf, len), saved, errnop);
}

enum nss_status _nss_rotsec_endspent(void)
{
	return end_ent(NSS_DB_SHADOW);
}
