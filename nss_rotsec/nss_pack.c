/*
 * Packing store records into the caller's struct and buffer.
 *
 * Every string is copied: the mapping the record came from may be replaced and unmapped
 * as soon as the lookup returns. The size is computed first and checked against the
 * buffer before anything is written, so ERANGE leaves the caller's buffer untouched and
 * glibc can retry with a bigger one.
 */
#define _GNU_SOURCE
#include "nss_rotsec.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * pw_passwd "x": the password is in shadow. pam_unix looks at shadow only for accounts
 * marked so, and shadow is where a disabled account's sp_expire lives.
 */
#define PASSWD_SEE_SHADOW "x"

/*
 * sp_pwdp: never a hash. "!*" is no crypt(3) output (crypt never returns a string
 * starting with '!' or '*'), pam_unix's authentication refuses any hash starting with
 * either, and shadow-utils shows it as locked; pam_unix's *account* step does not look
 * at sp_pwdp at all, only at the dates below. rotsec's own PAM module does the
 * authentication.
 */
#define SHADOW_NO_PASSWORD "!*"

/* Copy s to *p and return where it went; the caller has checked the room. */
static char *put(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *dst = *p;

	memcpy(dst, s, n);
	*p += n;
	return dst;
}

/* put() of a string whose length the parser measured already. */
static char *put_n(char **p, const char *s, size_t n)
{
	char *dst = *p;

	memcpy(dst, s, n + 1);
	*p += n + 1;
	return dst;
}

int nss_pack_passwd(const struct rs_pw_view *v, struct passwd *pw, char *buf, size_t len)
{
	char *p = buf;

	if (len < v->strbytes + sizeof(PASSWD_SEE_SHADOW))
		return -ERANGE;
	pw->pw_name = put_n(&p, v->name, v->name_len);
	pw->pw_passwd = put_n(&p, PASSWD_SEE_SHADOW, sizeof(PASSWD_SEE_SHADOW) - 1);
	pw->pw_uid = v->uid;
	pw->pw_gid = v->gid;
	pw->pw_gecos = put_n(&p, v->gecos, v->gecos_len);
	pw->pw_dir = put_n(&p, v->home, v->home_len);
	pw->pw_shell = put_n(&p, v->shell, v->shell_len);
	return 1;
}

int nss_pack_group(const struct rs_gr_view *v, struct group *gr, char *buf, size_t len)
{
	/* gr_mem is an array of pointers inside the buffer: align it, whatever the
	 * caller's buffer alignment. */
	size_t pad = (alignof(char *) - (uintptr_t)buf % alignof(char *)) % alignof(char *);
	size_t need, i;
	const char *m;
	char **mem, *p;

	if (v->nmembers >= (SIZE_MAX - pad) / sizeof(char *) / 2)
		return -ERANGE;
	need = pad + (v->nmembers + 1) * sizeof(char *);
	if (v->strbytes > SIZE_MAX - need - sizeof(PASSWD_SEE_SHADOW))
		return -ERANGE;
	need += v->strbytes + sizeof(PASSWD_SEE_SHADOW);
	if (len < need)
		return -ERANGE;

	mem = (char **)(void *)(buf + pad);
	p = (char *)(mem + v->nmembers + 1);
	gr->gr_name = put(&p, v->name);
	gr->gr_passwd = put(&p, PASSWD_SEE_SHADOW);
	gr->gr_gid = v->gid;
	for (i = 0, m = v->members; i < v->nmembers; i++, m += strlen(m) + 1)
		mem[i] = put(&p, m);
	mem[i] = NULL;
	gr->gr_mem = mem;
	return 1;
}

int nss_pack_shadow(const struct rs_secret_rec *s, struct spwd *sp, char *buf, size_t len)
{
	char *p = buf;
	long day = (long)(s->current_since / 86400);

	if (len < strlen(s->name) + 1 + sizeof(SHADOW_NO_PASSWORD))
		return -ERANGE;
	sp->sp_namp = put(&p, s->name);
	sp->sp_pwdp = put(&p, SHADOW_NO_PASSWORD);
	/*
	 * The day of the last rotation, so `chage -l` shows it. Never 0: to pam_unix and
	 * shadow-utils 0 means "must change password at next login", which would make
	 * pam_unix's account step refuse a service's login.
	 */
	sp->sp_lstchg = day > 0 ? day : 1;
	/*
	 * No aging: rotation is rotsec's schedule, not shadow's. sp_max -1 means the
	 * password never expires, so the account step passes even when rotsecd has been
	 * stopped for longer than the rotation period (-1 is how glibc presents an empty
	 * field of /etc/shadow).
	 */
	sp->sp_min = -1;
	sp->sp_max = -1;
	sp->sp_warn = -1;
	sp->sp_inact = -1;
	/* A disabled account expired on day 1 (1970-01-02), so pam_unix's account step
	 * refuses it (PAM_ACCT_EXPIRED). Day 0 would be read as "never" by some tools. */
	sp->sp_expire = (s->flags & RS_SECRET_DISABLED) ? 1 : -1;
	sp->sp_flag = ~0UL;
	return 1;
}

int nss_add_gid(gid_t gid, gid_t skip, long *start, long *size, gid_t **groupsp, long limit)
{
	gid_t *groups = *groupsp;
	long i;

	if (gid == skip)
		return 0;
	for (i = 0; i < *start; i++)
		if (groups[i] == gid)
			return 0;
	if (*start >= *size) {
		long newsize;

		/* glibc passes its kernel's NGROUPS_MAX as limit (<= 0: no limit). */
		if (limit > 0 && *size >= limit)
			return 0;
		if (*size > LONG_MAX / 2)
			return -ENOMEM;
		newsize = *size > 0 ? *size * 2 : 16;
		if (limit > 0 && newsize > limit)
			newsize = limit;
		/* reallocarray: newsize * sizeof(gid_t) cannot overflow unnoticed. */
		groups = reallocarray(groups, (size_t)newsize, sizeof(*groups));
		if (!groups)
			return -ENOMEM;
		*groupsp = groups;
		*size = newsize;
	}
	groups[(*start)++] = gid;
	return 1;
}
