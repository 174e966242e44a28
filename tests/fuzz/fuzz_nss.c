/*
 * fuzz_nss: arbitrary accounts.cdb and secrets.cdb through every NSS entry point of
 * libnss_rotsec.so.2, called the way glibc calls them: by name, by id, enumeration
 * (set/get/end), initgroups_dyn, shadow; with a small buffer first and a bigger one after
 * each ERANGE, as glibc retries.
 *
 * The module is the instrumented $(O)/fuzz/libnss_rotsec.so.2 (or $FUZZ_NSS_MODULE),
 * dlopened once after ROTSEC_STORE_DIR points at the scratch store directory (its
 * constructor reads it). Each input replaces both files, so every call also goes through
 * the reader's "file replaced, map it again" path.
 *
 * Input layout:
 *   byte 0     flags: 0x03 first buffer size (1, 16, 64 or 256 bytes)
 *                     0x04 no accounts.cdb   0x08 no secrets.cdb
 *                     0x10 accounts.cdb writable by group (unsafe)
 *   byte 1-3   length A of accounts.cdb (little endian)
 *   A bytes of accounts.cdb, then the rest: secrets.cdb
 *
 * Invariants besides "no crash, no leak, no undefined behaviour":
 *  - a status is SUCCESS, NOTFOUND, UNAVAIL or TRYAGAIN; TRYAGAIN sets *errnop (ERANGE
 *    or ENOMEM), UNAVAIL sets it non-zero; ERANGE leaves the caller's buffer untouched;
 *    SUCCESS and NOTFOUND leave errno as it was;
 *  - an accounts.cdb that is missing, unsafe or that the reader refuses gives UNAVAIL,
 *    never NOTFOUND (which would let the next service answer for a rotsec name);
 *  - every returned string lies inside the caller's buffer and is a valid field (no ':'
 *    or newline); pw_passwd is "x"; a shadow entry never carries a hash ("!*"), has
 *    sp_lstchg > 0 and sp_max -1 (pam_unix must never demand a change);
 *  - initgroups never adds the skipped gid or a duplicate, and respects the limit.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "record.h"
#include "store_read.h"

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <nss.h>
#include <pwd.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define F_BUF        0x03
#define F_NO_ACC     0x04
#define F_NO_SEC     0x08
#define F_UNSAFE_ACC 0x10

/* Enumeration stops here (a header count can be large). */
#define MAX_ENT    128
#define BUF_MAX    (1u << 20)
#define ERRNO_MARK 4242

#define EXPORTED __attribute__((visibility("default")))

/* The module logs a malformed store with syslog(3): keep that out of the host's log,
 * but format it, so a bad format or argument still shows. */
EXPORTED void vsyslog(int prio, const char *fmt, va_list ap)
{
	char line[2048];

	(void)prio;
	(void)vsnprintf(line, sizeof(line), fmt, ap);
}

EXPORTED void syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*spnam_fn)(const char *, struct spwd *, char *, size_t, int *);
typedef enum nss_status (*spent_fn)(struct spwd *, char *, size_t, int *);
typedef enum nss_status (*setent_fn)(int);
typedef enum nss_status (*endent_fn)(void);
typedef enum nss_status (*initgr_fn)(const char *, gid_t, long *, long *, gid_t **, long, int *);

static struct {
	pwnam_fn getpwnam;
	pwuid_fn getpwuid;
	setent_fn setpwent;
	pwent_fn getpwent;
	endent_fn endpwent;
	grnam_fn getgrnam;
	grgid_fn getgrgid;
	setent_fn setgrent;
	grent_fn getgrent;
	endent_fn endgrent;
	initgr_fn initgroups;
	spnam_fn getspnam;
	setent_fn setspent;
	spent_fn getspent;
	endent_fn endspent;
} nss;

static char store_dir[4096];

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		(void)fprintf(stderr, "fuzz_nss: %s: %s\n", name, dlerror());
		abort();
	}
	return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char self[4096], module[4200];
	const char *env = getenv("FUZZ_NSS_MODULE");
	void *h;
	ssize_t n;

	(void)argc;
	(void)argv;
	fz_subdir("store", store_dir, sizeof(store_dir));
	if (setenv("ROTSEC_STORE_DIR", store_dir, 1) < 0)
		abort();
	if (env) {
		(void)snprintf(module, sizeof(module), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		FZ_CHECK(n > 0);
		self[n] = '\0';
		(void)snprintf(module, sizeof(module), "%s/libnss_rotsec.so.2", dirname(self));
	}
	h = dlopen(module, RTLD_NOW | RTLD_NODELETE);
	if (!h) {
		(void)fprintf(stderr, "fuzz_nss: %s\n", dlerror());
		abort();
	}
	nss.getpwnam = (pwnam_fn)sym(h, "_nss_rotsec_getpwnam_r");
	nss.getpwuid = (pwuid_fn)sym(h, "_nss_rotsec_getpwuid_r");
	nss.setpwent = (setent_fn)sym(h, "_nss_rotsec_setpwent");
	nss.getpwent = (pwent_fn)sym(h, "_nss_rotsec_getpwent_r");
	nss.endpwent = (endent_fn)sym(h, "_nss_rotsec_endpwent");
	nss.getgrnam = (grnam_fn)sym(h, "_nss_rotsec_getgrnam_r");
	nss.getgrgid = (grgid_fn)sym(h, "_nss_rotsec_getgrgid_r");
	nss.setgrent = (setent_fn)sym(h, "_nss_rotsec_setgrent");
	nss.getgrent = (grent_fn)sym(h, "_nss_rotsec_getgrent_r");
	nss.endgrent = (endent_fn)sym(h, "_nss_rotsec_endgrent");
	nss.initgroups = (initgr_fn)sym(h, "_nss_rotsec_initgroups_dyn");
	nss.getspnam = (spnam_fn)sym(h, "_nss_rotsec_getspnam_r");
	nss.setspent = (setent_fn)sym(h, "_nss_rotsec_setspent");
	nss.getspent = (spent_fn)sym(h, "_nss_rotsec_getspent_r");
	nss.endspent = (endent_fn)sym(h, "_nss_rotsec_endspent");
	return 0;
}

/* The caller's buffer, allocated at exactly its size so ASan sees any write past it. */
struct buf {
	char *p;
	size_t len;
	uint8_t fill;
};

static void buf_alloc(struct buf *b, size_t len)
{
	free(b->p);
	b->p = malloc(len);
	FZ_CHECK(b->p != NULL);
	b->len = len;
	b->fill = (uint8_t)(len * 31 + 7);
	memset(b->p, b->fill, len);
}

static bool untouched(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((uint8_t)b->p[i] != b->fill)
			return false;
	return true;
}

/* A returned string: inside the buffer, terminated there, and a valid passwd field. */
static void in_buf(const struct buf *b, const char *s)
{
	FZ_CHECK(s >= b->p && s < b->p + b->len);
	FZ_CHECK(memchr(s, '\0', (size_t)(b->p + b->len - s)) != NULL);
	FZ_CHECK(rs_field_ok(s));
}

/*
 * The status rules every entry point keeps. Returns true to retry with a bigger buffer.
 */
static bool status_ok(enum nss_status st, int err, const struct buf *b)
{
	FZ_CHECK(st == NSS_STATUS_SUCCESS || st == NSS_STATUS_NOTFOUND ||
	         st == NSS_STATUS_UNAVAIL || st == NSS_STATUS_TRYAGAIN);
	if (st == NSS_STATUS_SUCCESS || st == NSS_STATUS_NOTFOUND)
		FZ_CHECK(errno == ERRNO_MARK);
	if (st == NSS_STATUS_UNAVAIL)
		FZ_CHECK(err != 0);
	if (st == NSS_STATUS_TRYAGAIN) {
		FZ_CHECK(err == ERANGE || err == ENOMEM);
		if (err == ERANGE)
			FZ_CHECK(untouched(b));
		return err == ERANGE && b->len < BUF_MAX;
	}
	return false;
}

static void check_pw(const struct passwd *pw, const struct buf *b)
{
	in_buf(b, pw->pw_name);
	in_buf(b, pw->pw_passwd);
	in_buf(b, pw->pw_gecos);
	in_buf(b, pw->pw_dir);
	in_buf(b, pw->pw_shell);
	FZ_CHECK(rs_name_valid(pw->pw_name));
	FZ_CHECK(strcmp(pw->pw_passwd, "x") == 0);
}

static void check_gr(const struct group *gr, const struct buf *b)
{
	size_t i;

	in_buf(b, gr->gr_name);
	in_buf(b, gr->gr_passwd);
	FZ_CHECK(rs_name_valid(gr->gr_name));
	FZ_CHECK((char *)gr->gr_mem >= b->p && (char *)gr->gr_mem < b->p + b->len);
	FZ_CHECK((uintptr_t)gr->gr_mem % sizeof(char *) == 0);
	for (i = 0; gr->gr_mem[i]; i++) {
		FZ_CHECK((char *)&gr->gr_mem[i + 1] < b->p + b->len);
		in_buf(b, gr->gr_mem[i]);
		FZ_CHECK(rs_name_valid(gr->gr_mem[i]));
	}
}

static void check_sp(const struct spwd *sp, const struct buf *b)
{
	in_buf(b, sp->sp_namp);
	in_buf(b, sp->sp_pwdp);
	FZ_CHECK(rs_name_valid(sp->sp_namp));
	/* Never a hash, nor anything crypt(3) could accept. */
	FZ_CHECK(strcmp(sp->sp_pwdp, "!*") == 0);
	FZ_CHECK(sp->sp_lstchg > 0 && sp->sp_max == -1);
}

/* One lookup with glibc's retry loop. Each macro use is one entry point. */
#define LOOKUP(call, ent, check)                                                                   \
	do {                                                                                       \
		int err_;                                                                          \
		buf_alloc(&b, first);                                                              \
		for (;;) {                                                                         \
			err_ = 0;                                                                  \
			errno = ERRNO_MARK;                                                        \
			st = (call);                                                               \
			if (!status_ok(st, err_, &b))                                              \
				break;                                                             \
			buf_alloc(&b, b.len * 2);                                                  \
		}                                                                                  \
		if (st == NSS_STATUS_SUCCESS)                                                      \
			check(&(ent), &b);                                                         \
	} while (0)

static void do_initgroups(const char *user, gid_t skip, long limit)
{
	long start = 1, size = 2;
	gid_t *groups = malloc((size_t)size * sizeof(gid_t));
	enum nss_status st;
	int err = 0;

	FZ_CHECK(groups != NULL);
	groups[0] = skip;
	errno = ERRNO_MARK;
	st = nss.initgroups(user, skip, &start, &size, &groups, limit, &err);
	FZ_CHECK(st == NSS_STATUS_SUCCESS || st == NSS_STATUS_NOTFOUND ||
	         st == NSS_STATUS_UNAVAIL || st == NSS_STATUS_TRYAGAIN);
	FZ_CHECK(start >= 1 && start <= size);
	if (limit > 0)
		FZ_CHECK(start <= limit || start == 1);
	for (long i = 1; i < start; i++) {
		FZ_CHECK(groups[i] != skip);
		for (long k = 1; k < i; k++)
			FZ_CHECK(groups[k] != groups[i]);
	}
	free(groups);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t firsts[] = {1, 16, 64, 256};
	static const char *names[] = {"svc-a", "svc-b", "svc", "root", "backup"};
	struct fz_in in = {data, size};
	unsigned flags = fz_u8(&in);
	size_t alen = fz_u8(&in), first = firsts[flags & F_BUF], got;
	const uint8_t *acc, *sec;
	struct buf b = {0};
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	enum nss_status st;
	struct rs_map *m;
	char why[RS_WHY_MAX];
	bool acc_ok;
	int n;

	alen |= (size_t)fz_u8(&in) << 8;
	alen |= (size_t)fz_u8(&in) << 16;
	acc = fz_bytes(&in, alen, &alen);
	sec = fz_bytes(&in, in.left, &got);

	{
		char path[4200];

		(void)snprintf(path, sizeof(path), "%s/%s", store_dir, RS_ACCOUNTS_FILE);
		if (flags & F_NO_ACC)
			(void)unlink(path);
		else
			fz_write_file(store_dir, RS_ACCOUNTS_FILE, acc, alen,
			              (flags & F_UNSAFE_ACC) ? 0664 : 0644);
		(void)snprintf(path, sizeof(path), "%s/%s", store_dir, RS_SECRETS_FILE);
		if (flags & F_NO_SEC)
			(void)unlink(path);
		else
			fz_write_file(store_dir, RS_SECRETS_FILE, sec, got, 0600);
	}
	acc_ok = !(flags & (F_NO_ACC | F_UNSAFE_ACC)) &&
	         rs_map_open_mem(acc, alen, RS_ACCOUNTS_MAGIC, &m, why, sizeof(why)) == 0;
	if (acc_ok)
		rs_map_close_mem(m);

	/* Fixed names first: an unusable accounts.cdb is UNAVAIL, never NOTFOUND. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		LOOKUP(nss.getpwnam(names[i], &pw, b.p, b.len, &err_), pw, check_pw);
		if (!acc_ok)
			FZ_CHECK(st == NSS_STATUS_UNAVAIL);
		LOOKUP(nss.getgrnam(names[i], &gr, b.p, b.len, &err_), gr, check_gr);
		LOOKUP(nss.getspnam(names[i], &sp, b.p, b.len, &err_), sp, check_sp);
		do_initgroups(names[i], 60000, 0);
	}
	LOOKUP(nss.getpwuid(60001, &pw, b.p, b.len, &err_), pw, check_pw);
	LOOKUP(nss.getgrgid(60000, &gr, b.p, b.len, &err_), gr, check_gr);

	/* Enumerations, and the lookups of what they list. */
	errno = ERRNO_MARK;
	st = nss.setpwent(0);
	FZ_CHECK(acc_ok || st == NSS_STATUS_UNAVAIL);
	for (n = 0; n < MAX_ENT; n++) {
		char name[RS_NAME_MAX + 1];
		uid_t uid;
		gid_t gid;

		LOOKUP(nss.getpwent(&pw, b.p, b.len, &err_), pw, check_pw);
		if (st != NSS_STATUS_SUCCESS)
			break;
		(void)snprintf(name, sizeof(name), "%s", pw.pw_name);
		uid = pw.pw_uid;
		gid = pw.pw_gid;
		LOOKUP(nss.getpwnam(name, &pw, b.p, b.len, &err_), pw, check_pw);
		LOOKUP(nss.getpwuid(uid, &pw, b.p, b.len, &err_), pw, check_pw);
		do_initgroups(name, gid, n % 3 == 2 ? 2 : 0);
	}
	(void)nss.endpwent();

	(void)nss.setgrent(0);
	for (n = 0; n < MAX_ENT; n++) {
		char name[RS_NAME_MAX + 1];
		gid_t gid;

		LOOKUP(nss.getgrent(&gr, b.p, b.len, &err_), gr, check_gr);
		if (st != NSS_STATUS_SUCCESS)
			break;
		(void)snprintf(name, sizeof(name), "%s", gr.gr_name);
		gid = gr.gr_gid;
		LOOKUP(nss.getgrnam(name, &gr, b.p, b.len, &err_), gr, check_gr);
		LOOKUP(nss.getgrgid(gid, &gr, b.p, b.len, &err_), gr, check_gr);
	}
	(void)nss.endgrent();

	(void)nss.setspent(0);
	for (n = 0; n < MAX_ENT; n++) {
		char name[RS_NAME_MAX + 1];

		LOOKUP(nss.getspent(&sp, b.p, b.len, &err_), sp, check_sp);
		if (st != NSS_STATUS_SUCCESS)
			break;
		(void)snprintf(name, sizeof(name), "%s", sp.sp_namp);
		LOOKUP(nss.getspnam(name, &sp, b.p, b.len, &err_), sp, check_sp);
	}
	(void)nss.endspent();
	free(b.p);
	return 0;
}
