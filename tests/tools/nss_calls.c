/*
 * nss_calls: call the entry points of an NSS module the way glibc does, one result line
 * each, for the failure-injection and valgrind tests (t-failinj.sh, t-valgrind.sh).
 *
 *   nss_calls MODULE CALL...
 *
 * MODULE is dlopened (it reads ROTSEC_STORE_DIR from the environment as it loads). CALL:
 *   pwnam:NAME  pwuid:UID  grnam:NAME  grgid:GID  spnam:NAME  initgroups:USER:GID
 *   pwent  grent  spent      a whole enumeration: set, get until not SUCCESS, end
 * Lookups and enumeration steps start with a 64-byte buffer and, like glibc, retry with
 * twice the size while the module answers TRYAGAIN with ERANGE, up to 1 MiB.
 *
 * Output, one line per answer:
 *   CALL SUCCESS ENTRY        the entry as in getent(1)
 *   CALL NOTFOUND | UNAVAIL errno=E | TRYAGAIN errno=E | STATUS_N errno=E
 * and a line "CALL BROKEN: WHY" where the module breaks the NSS contract: errno changed
 * by a SUCCESS or NOTFOUND, ERANGE with a buffer of 1 MiB, an entry whose strings are not
 * inside the caller's buffer, a status glibc does not know.
 *
 * Under failinj.so with FAILINJ_ARM=manual, the calls are counted and failed only inside
 * the module's entry points: the driver arms the shim around each one.
 *
 * Exit status: 0 when every call ran, 2 bad usage, 3 the module cannot be loaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <shadow.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN 64
#define BUF_MAX (1 << 20)
/* What errno holds before each call: a SUCCESS or NOTFOUND must leave it so. */
#define ERRNO_MARK 4242

static void *mod;
static int (*arm)(int);

static void *sym(const char *name)
{
	char full[128];

	(void)snprintf(full, sizeof(full), "_nss_rotsec_%s", name);
	return dlsym(mod, full);
}

static const char *status_name(enum nss_status s)
{
	static char buf[32];

	switch (s) {
	case NSS_STATUS_SUCCESS:
		return "SUCCESS";
	case NSS_STATUS_NOTFOUND:
		return "NOTFOUND";
	case NSS_STATUS_UNAVAIL:
		return "UNAVAIL";
	case NSS_STATUS_TRYAGAIN:
		return "TRYAGAIN";
	default:
		(void)snprintf(buf, sizeof(buf), "STATUS_%d", (int)s);
		return buf;
	}
}

/* Every string of an entry must lie inside the buffer the caller gave. */
static int inside(const char *p, const char *buf, size_t len)
{
	return p && p >= buf && p < buf + len && memchr(p, '\0', (size_t)(buf + len - p));
}

enum kind { K_PW, K_GR, K_SP };

union ent {
	struct passwd pw;
	struct group gr;
	struct spwd sp;
};

/* Print a found entry as getent does, after checking it points into buf. */
static void print_entry(const char *call, enum kind k, const union ent *e, const char *buf,
                        size_t len)
{
	switch (k) {
	case K_PW:
		if (!inside(e->pw.pw_name, buf, len) || !inside(e->pw.pw_passwd, buf, len) ||
		    !inside(e->pw.pw_gecos, buf, len) || !inside(e->pw.pw_dir, buf, len) ||
		    !inside(e->pw.pw_shell, buf, len)) {
			printf("%s BROKEN: a string of the entry is outside the buffer\n", call);
			return;
		}
		printf("%s SUCCESS %s:%s:%u:%u:%s:%s:%s\n", call, e->pw.pw_name, e->pw.pw_passwd,
		       (unsigned)e->pw.pw_uid, (unsigned)e->pw.pw_gid, e->pw.pw_gecos, e->pw.pw_dir,
		       e->pw.pw_shell);
		return;
	case K_GR:
		if (!inside(e->gr.gr_name, buf, len) || !inside(e->gr.gr_passwd, buf, len) ||
		    !e->gr.gr_mem || (const char *)e->gr.gr_mem < buf ||
		    (const char *)e->gr.gr_mem >= buf + len) {
			printf("%s BROKEN: a string of the entry is outside the buffer\n", call);
			return;
		}
		printf("%s SUCCESS %s:%s:%u:", call, e->gr.gr_name, e->gr.gr_passwd,
		       (unsigned)e->gr.gr_gid);
		for (char **m = e->gr.gr_mem; *m; m++) {
			if (!inside(*m, buf, len)) {
				printf("\n%s BROKEN: a member is outside the buffer\n", call);
				return;
			}
			printf("%s%s", m == e->gr.gr_mem ? "" : ",", *m);
		}
		printf("\n");
		return;
	case K_SP:
		if (!inside(e->sp.sp_namp, buf, len) || !inside(e->sp.sp_pwdp, buf, len)) {
			printf("%s BROKEN: a string of the entry is outside the buffer\n", call);
			return;
		}
		printf("%s SUCCESS %s:%s:%ld:%ld:%ld:%ld:%ld:%ld:%lu\n", call, e->sp.sp_namp,
		       e->sp.sp_pwdp, e->sp.sp_lstchg, e->sp.sp_min, e->sp.sp_max, e->sp.sp_warn,
		       e->sp.sp_inact, e->sp.sp_expire, e->sp.sp_flag);
		return;
	}
}

/* What a lookup or an enumeration step does with (entry, buffer, length, errnop). */
typedef enum nss_status (*one_fn)(void *ctx, union ent *e, char *buf, size_t len, int *errnop);

/* One answer, retried with a bigger buffer on ERANGE as glibc does. Returns the status. */
static enum nss_status one(const char *call, enum kind k, one_fn fn, void *ctx)
{
	enum nss_status s;
	size_t len = BUF_MIN;
	union ent e;
	char *buf;
	int err;

	for (;;) {
		buf = malloc(len);
		if (!buf) {
			printf("%s DRIVER: out of memory\n", call);
			return NSS_STATUS_UNAVAIL;
		}
		memset(&e, 0, sizeof(e));
		err = 0;
		errno = ERRNO_MARK;
		if (arm)
			arm(1);
		s = fn(ctx, &e, buf, len, &err);
		if (arm)
			arm(0);
		if (s != NSS_STATUS_TRYAGAIN || err != ERANGE)
			break;
		free(buf);
		if (len >= BUF_MAX) {
			printf("%s BROKEN: ERANGE with a buffer of %zu bytes\n", call, len);
			return s;
		}
		len *= 2;
	}
	if ((s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND) && errno != ERRNO_MARK)
		printf("%s BROKEN: %s changed errno to %d\n", call, status_name(s), errno);
	if (s == NSS_STATUS_SUCCESS)
		print_entry(call, k, &e, buf, len);
	else if (s == NSS_STATUS_NOTFOUND)
		printf("%s NOTFOUND\n", call);
	else
		printf("%s %s errno=%d\n", call, status_name(s), err);
	free(buf);
	return s;
}

/* ---- the calls ---- */

struct byname {
	const char *name;
	unsigned long id;
	void *fn;
};

static enum nss_status pwnam(void *c, union ent *e, char *b, size_t l, int *ep)
{
	struct byname *x = c;

	return ((nss_getpwnam_r *)x->fn)(x->name, &e->pw, b, l, ep);
}

static enum nss_status pwuid(void *c, union ent *e, char *b, size_t l, int *ep)
{
	struct byname *x = c;

	return ((nss_getpwuid_r *)x->fn)((uid_t)x->id, &e->pw, b, l, ep);
}

static enum nss_status grnam(void *c, union ent *e, char *b, size_t l, int *ep)
{
	struct byname *x = c;

	return ((nss_getgrnam_r *)x->fn)(x->name, &e->gr, b, l, ep);
}

static enum nss_status grgid(void *c, union ent *e, char *b, size_t l, int *ep)
{
	struct byname *x = c;

	return ((nss_getgrgid_r *)x->fn)((gid_t)x->id, &e->gr, b, l, ep);
}

static enum nss_status spnam(void *c, union ent *e, char *b, size_t l, int *ep)
{
	struct byname *x = c;

	return ((nss_getspnam_r *)x->fn)(x->name, &e->sp, b, l, ep);
}

static enum nss_status pwent(void *c, union ent *e, char *b, size_t l, int *ep)
{
	return ((nss_getpwent_r *)c)(&e->pw, b, l, ep);
}

static enum nss_status grent(void *c, union ent *e, char *b, size_t l, int *ep)
{
	return ((nss_getgrent_r *)c)(&e->gr, b, l, ep);
}

static enum nss_status spent(void *c, union ent *e, char *b, size_t l, int *ep)
{
	return ((nss_getspent_r *)c)(&e->sp, b, l, ep);
}

/* set, every entry, end. */
static void enumerate(const char *call, enum kind k, const char *db)
{
	static const struct {
		const char *db;
		one_fn fn;
	} step[] = {{"pw", pwent}, {"gr", grent}, {"sp", spent}};
	char name[32];
	enum nss_status (*set)(int), (*end)(void);
	void *get;
	enum nss_status s;
	int n = 0;

	(void)snprintf(name, sizeof(name), "set%sent", db);
	*(void **)&set = sym(name);
	(void)snprintf(name, sizeof(name), "get%sent_r", db);
	get = sym(name);
	(void)snprintf(name, sizeof(name), "end%sent", db);
	*(void **)&end = sym(name);
	if (!set || !get || !end) {
		printf("%s BROKEN: missing entry point\n", call);
		return;
	}
	errno = ERRNO_MARK;
	if (arm)
		arm(1);
	s = set(0);
	if (arm)
		arm(0);
	if (s != NSS_STATUS_SUCCESS) {
		printf("%s set %s\n", call, status_name(s));
	} else {
		if (errno != ERRNO_MARK)
			printf("%s BROKEN: set changed errno to %d\n", call, errno);
		/* A store of this test has far fewer entries: more is a cursor gone wrong. */
		while (one(call, k, step[k].fn, get) == NSS_STATUS_SUCCESS && ++n < 10000)
			;
	}
	if (arm)
		arm(1);
	s = end();
	if (arm)
		arm(0);
	if (s != NSS_STATUS_SUCCESS)
		printf("%s end %s\n", call, status_name(s));
}

static void call_initgroups(const char *call, const char *arg)
{
	nss_initgroups_dyn *fn = sym("initgroups_dyn");
	char user[256];
	const char *colon = strchr(arg, ':');
	long start = 1, size = 1;
	gid_t *groups;
	enum nss_status s;
	int err = 0;

	if (!fn || !colon || (size_t)(colon - arg) >= sizeof(user)) {
		printf("%s DRIVER: bad call\n", call);
		return;
	}
	memcpy(user, arg, (size_t)(colon - arg));
	user[colon - arg] = '\0';
	groups = malloc(sizeof(*groups));
	if (!groups) {
		printf("%s DRIVER: out of memory\n", call);
		return;
	}
	/* As glibc's initgroups starts: the primary group already in the array. */
	groups[0] = (gid_t)strtoul(colon + 1, NULL, 10);
	errno = ERRNO_MARK;
	if (arm)
		arm(1);
	s = fn(user, groups[0], &start, &size, &groups, 0, &err);
	if (arm)
		arm(0);
	if ((s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND) && errno != ERRNO_MARK)
		printf("%s BROKEN: %s changed errno to %d\n", call, status_name(s), errno);
	if (start > size || start < 1) {
		printf("%s BROKEN: start %ld, size %ld\n", call, start, size);
	} else if (s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND) {
		printf("%s %s", call, status_name(s));
		for (long i = 0; i < start; i++)
			printf(" %u", (unsigned)groups[i]);
		printf("\n");
	} else {
		printf("%s %s errno=%d\n", call, status_name(s), err);
	}
	free(groups);
}

static void lookup(const char *call)
{
	const char *arg = strchr(call, ':');
	struct byname x = {NULL, 0, NULL};
	char what[16];

	if (!arg || (size_t)(arg - call) >= sizeof(what)) {
		printf("%s DRIVER: bad call\n", call);
		return;
	}
	memcpy(what, call, (size_t)(arg - call));
	what[arg - call] = '\0';
	arg++;
	x.name = arg;
	x.id = strtoul(arg, NULL, 10);
	if (strcmp(what, "initgroups") == 0) {
		call_initgroups(call, arg);
		return;
	}
	if (strcmp(what, "pwnam") == 0 && (x.fn = sym("getpwnam_r")))
		one(call, K_PW, pwnam, &x);
	else if (strcmp(what, "pwuid") == 0 && (x.fn = sym("getpwuid_r")))
		one(call, K_PW, pwuid, &x);
	else if (strcmp(what, "grnam") == 0 && (x.fn = sym("getgrnam_r")))
		one(call, K_GR, grnam, &x);
	else if (strcmp(what, "grgid") == 0 && (x.fn = sym("getgrgid_r")))
		one(call, K_GR, grgid, &x);
	else if (strcmp(what, "spnam") == 0 && (x.fn = sym("getspnam_r")))
		one(call, K_SP, spnam, &x);
	else
		printf("%s DRIVER: bad call\n", call);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		(void)fprintf(stderr, "usage: nss_calls MODULE CALL...\n");
		return 2;
	}
	*(void **)&arm = dlsym(RTLD_DEFAULT, "failinj_arm");
	mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!mod) {
		(void)fprintf(stderr, "nss_calls: %s\n", dlerror());
		return 3;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "pwent") == 0)
			enumerate(argv[i], K_PW, "pw");
		else if (strcmp(argv[i], "grent") == 0)
			enumerate(argv[i], K_GR, "gr");
		else if (strcmp(argv[i], "spent") == 0)
			enumerate(argv[i], K_SP, "sp");
		else
			lookup(argv[i]);
		(void)fflush(stdout);
	}
	/* Unloading runs the module's destructor, which valgrind then checks for leaks. */
	dlclose(mod);
	return 0;
}
