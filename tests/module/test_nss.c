/*
 * nss_rotsec through dlopen, the way glibc loads it: every exported symbol, called
 * directly with the caller's buffers, against stores written by the real writer
 * (common/store_write.c) in scratch directories under /tmp.
 *
 * The module under test is $ROTSEC_NSS_MODULE, else libnss_rotsec.so.2 three levels up
 * from this binary ($O/asan/tests/module/test_nss -> $O/asan/libnss_rotsec.so.2), so it
 * runs under ASan+UBSan like this program. Each dlopen is of a private copy of the file,
 * so a test that needs a module with fresh state (its own ROTSEC_STORE_DIR, nothing
 * logged yet) gets one.
 *
 * The store the shared module reads is $base/store, a symlink that each test points at a
 * freshly written directory (an atomic rename, as far as the module can tell the store
 * was replaced). Runs as root, like CI.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <shadow.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>

#include <setjmp.h>
#include <stddef.h>

#include <cmocka.h>

#include "record.h"
#include "secret.h"
#include "store_write.h"

#include <valgrind/valgrind.h>

/* ------------------------------------------------------------------ module handle */

struct nss {
	void *h;
	char path[PATH_MAX];
	nss_getpwnam_r *getpwnam_r;
	nss_getpwuid_r *getpwuid_r;
	nss_setpwent *setpwent;
	nss_getpwent_r *getpwent_r;
	nss_endpwent *endpwent;
	nss_getgrnam_r *getgrnam_r;
	nss_getgrgid_r *getgrgid_r;
	nss_setgrent *setgrent;
	nss_getgrent_r *getgrent_r;
	nss_endgrent *endgrent;
	nss_initgroups_dyn *initgroups_dyn;
	nss_getspnam_r *getspnam_r;
	nss_setspent *setspent;
	nss_getspent_r *getspent_r;
	nss_endspent *endspent;
};

static const char *const exported[] = {
        "_nss_rotsec_getpwnam_r", "_nss_rotsec_getpwuid_r",     "_nss_rotsec_setpwent",
        "_nss_rotsec_getpwent_r", "_nss_rotsec_endpwent",       "_nss_rotsec_getgrnam_r",
        "_nss_rotsec_getgrgid_r", "_nss_rotsec_setgrent",       "_nss_rotsec_getgrent_r",
        "_nss_rotsec_endgrent",   "_nss_rotsec_initgroups_dyn", "_nss_rotsec_getspnam_r",
        "_nss_rotsec_setspent",   "_nss_rotsec_getspent_r",     "_nss_rotsec_endspent",
};

static char module_src[PATH_MAX]; /* the built module */
static char base[64];             /* scratch root, 0755 root */
static char store_link[PATH_MAX]; /* $base/store -> current store dir */
static struct nss M;              /* the shared module, reading $base/store */
static int seq;

#define H_DUMMY_PW "nss-test"
static char hash[RS_HASH_MAX];

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	exit(99);
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

/* dlopen a private copy of the module reading store `dir` (NULL: no ROTSEC_STORE_DIR). */
static int nss_load(struct nss *n, const char *dir)
{
	memset(n, 0, sizeof(*n));
	(void)snprintf(n->path, sizeof(n->path), "%s/module-%d.so", base, seq++);
	if (copy_file(module_src, n->path, 0755) < 0)
		return -1;
	if (dir)
		setenv("ROTSEC_STORE_DIR", dir, 1);
	else
		unsetenv("ROTSEC_STORE_DIR");
	n->h = dlopen(n->path, RTLD_NOW | RTLD_LOCAL);
	if (!n->h) {
		(void)fprintf(stderr, "dlopen: %s\n", dlerror());
		return -1;
	}
#define SYM(f) n->f = (__typeof__(n->f))dlsym(n->h, "_nss_rotsec_" #f)
	SYM(getpwnam_r);
	SYM(getpwuid_r);
	SYM(setpwent);
	SYM(getpwent_r);
	SYM(endpwent);
	SYM(getgrnam_r);
	SYM(getgrgid_r);
	SYM(setgrent);
	SYM(getgrent_r);
	SYM(endgrent);
	SYM(initgroups_dyn);
	SYM(getspnam_r);
	SYM(setspent);
	SYM(getspent_r);
	SYM(endspent);
#undef SYM
	return 0;
}

static void nss_unload(struct nss *n)
{
	if (n->h)
		dlclose(n->h);
	unlink(n->path);
	n->h = NULL;
}

/* ------------------------------------------------------------------ store fixtures */

struct fx {
	struct rs_accounts_data ad;
	struct rs_secrets_data sd;
	size_t cap;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->cap = 1024;
	f->ad.acc = calloc(f->cap, sizeof(*f->ad.acc));
	f->ad.grp = calloc(f->cap, sizeof(*f->ad.grp));
	f->sd.rec = calloc(f->cap, sizeof(*f->sd.rec));
	(void)snprintf(f->sd.dummy, sizeof(f->sd.dummy), "%s", hash);
	return f;
}

static void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->ad.nacc; i++)
		free(f->ad.acc[i].sup_gids);
	for (size_t i = 0; i < f->ad.ngrp; i++)
		free(f->ad.grp[i].members);
	free(f->ad.acc);
	free(f->ad.grp);
	free(f->sd.rec);
	free(f);
}

/* An account with its secret; sup is terminated by 0. */
static void fx_user(struct fx *f, const char *name, uint32_t uid, uint32_t gid, const char *gecos,
                    int64_t since, bool disabled, const uint32_t *sup)
{
	struct rs_store_account *a = &f->ad.acc[f->ad.nacc++];
	struct rs_secret_rec *s = &f->sd.rec[f->sd.n++];

	(void)snprintf(a->name, sizeof(a->name), "%s", name);
	a->uid = uid;
	a->gid = gid;
	(void)snprintf(a->gecos, sizeof(a->gecos), "%s", gecos);
	(void)snprintf(a->home, sizeof(a->home), "/var/lib/%s", name);
	(void)snprintf(a->shell, sizeof(a->shell), "/usr/sbin/nologin");
	a->sup_gids = calloc(16, sizeof(uint32_t));
	for (; sup && *sup && a->nsup < 16; sup++)
		a->sup_gids[a->nsup++] = *sup;

	(void)snprintf(s->name, sizeof(s->name), "%s", name);
	s->uid = uid;
	s->generation = 1;
	s->flags = disabled ? RS_SECRET_DISABLED : 0;
	(void)snprintf(s->current, sizeof(s->current), "%s", hash);
	s->current_since = since;
}

/* A group; members is a NULL-terminated list. */
static void fx_group(struct fx *f, const char *name, uint32_t gid, const char *const *members)
{
	struct rs_store_group *g = &f->ad.grp[f->ad.ngrp++];
	size_t n = 0;

	while (members && members[n])
		n++;
	(void)snprintf(g->name, sizeof(g->name), "%s", name);
	g->gid = gid;
	g->members = calloc(n + 1, sizeof(*g->members));
	for (size_t i = 0; members && members[i]; i++)
		(void)snprintf(g->members[i], sizeof(g->members[i]), "%s", members[i]);
	g->nmembers = n;
}

static void fx_write(struct fx *f, const char *dir, gid_t secrets_gid, uint64_t gen)
{
	struct rs_store_w w;
	char why[RS_WHY_MAX];
	int r = rs_store_w_open(dir, 5000, &w, why, sizeof(why));

	if (r < 0)
		die("store open %s: %s", dir, why);
	r = rs_store_write_secrets(&w, &f->sd, gen, secrets_gid);
	if (r == 0)
		r = rs_store_write_accounts(&w, &f->ad, gen);
	rs_store_w_close(&w);
	if (r < 0)
		die("store write %s: %s", dir, strerror(-r));
}

/* A new directory $base/sN (0755 root) for a store; its path in `dir`. */
static void new_dir(char *dir, size_t len)
{
	(void)snprintf(dir, len, "%s/s%d", base, seq++);
	if (mkdir(dir, 0755) < 0 || chmod(dir, 0755) < 0)
		die("mkdir %s: %m", dir);
}

/* Point $base/store at `dir`, atomically. */
static void point_store_at(const char *dir)
{
	char tmp[PATH_MAX];

	(void)snprintf(tmp, sizeof(tmp), "%s.new", store_link);
	unlink(tmp);
	if (symlink(strrchr(dir, '/') + 1, tmp) < 0 || rename(tmp, store_link) < 0)
		die("symlink %s: %m", dir);
}

/* Write `f` into a new directory and make it the store; returns the directory. */
static const char *install(struct fx *f, gid_t secrets_gid)
{
	static char dir[PATH_MAX];

	new_dir(dir, sizeof(dir));
	fx_write(f, dir, secrets_gid, 1);
	point_store_at(dir);
	return dir;
}

#define SINCE_A 1700000000 /* 2023-11-14: day 19675 */
#define UID_A   60001
#define GID_SVC 60000
#define GID_OPS 60010
#define GID_BIG 60020
#define NBIG    40

static const char *big_members[NBIG + 1];
static char big_names[NBIG][16];

/*
 * svc-a (60001, primary svc, supplementary ops and big), svc-b (no supplementary
 * groups), svc-off (disabled, rotated at the epoch); groups svc (no members), ops (svc-a
 * and the system user "backup"), big (40 members); then `extra` more users and groups.
 */
static struct fx *fx_standard(unsigned extra, const char *gecos_a)
{
	static const uint32_t sup_a[] = {GID_OPS, GID_BIG, 0};
	static const char *const ops[] = {"svc-a", "backup", NULL};
	struct fx *f = fx_new();

	for (int i = 0; i < NBIG; i++) {
		(void)snprintf(big_names[i], sizeof(big_names[i]), "member-%02d", i);
		big_members[i] = big_names[i];
	}
	fx_user(f, "svc-a", UID_A, GID_SVC, gecos_a, SINCE_A, false, sup_a);
	fx_user(f, "svc-b", 60002, GID_SVC, "Service B", SINCE_A + 86400, false, NULL);
	fx_user(f, "svc-off", 60003, GID_SVC, "Disabled", 0, true, NULL);
	fx_group(f, "svc", GID_SVC, NULL);
	fx_group(f, "ops", GID_OPS, ops);
	fx_group(f, "big", GID_BIG, big_members);
	for (unsigned i = 0; i < extra; i++) {
		char name[RS_NAME_MAX + 1], gecos[64];
		const char *mem[] = {name, NULL};

		(void)snprintf(name, sizeof(name), "user-%03u", i);
		(void)snprintf(gecos, sizeof(gecos), "Extra user %u", i);
		fx_user(f, name, 62000 + i, GID_SVC, gecos, SINCE_A, false, NULL);
		(void)snprintf(name, sizeof(name), "grp-%03u", i);
		fx_group(f, name, 63000 + i, mem);
	}
	return f;
}

static void install_standard(void)
{
	struct fx *f = fx_standard(0, "Service A");

	install(f, 0);
	fx_free(f);
}

/* ------------------------------------------------------------------ helpers */

static int count_fds(char *list, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0, self = dirfd(d);
	size_t off = 0;

	list[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		char target[PATH_MAX] = "";

		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		(void)!readlinkat(self, de->d_name, target, sizeof(target) - 1);
		off += (size_t)snprintf(list + off, off < len ? len - off : 0, "%s->%s ",
		                        de->d_name, target);
		n++;
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ tests */

static void only_the_nss_entry_points_are_exported(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(exported) / sizeof(exported[0]); i++) {
		void *p = dlsym(M.h, exported[i]);

		if (!p)
			fail_msg("%s is not exported", exported[i]);
	}
	/* Internals, and common/ (also linked into programs that load the module), stay
	 * inside: a program's own rs_store_acquire must never be the module's. */
	assert_null(dlsym(M.h, "nss_store_acquire"));
	assert_null(dlsym(M.h, "nss_getpw_name"));
	assert_null(dlsym(M.h, "rs_store_acquire"));
	assert_null(dlsym(M.h, "rs_name_valid"));
	assert_null(dlsym(M.h, "cdb_find"));
	assert_null(dlsym(M.h, "_nss_rotsec_getsgnam_r"));
}

static void getpwnam_and_getpwuid_return_the_account_with_a_shadowed_password(void **state)
{
	struct passwd pw;
	char buf[1024];
	int e = 0;

	(void)state;
	install_standard();
	errno = 4242;
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 4242);
	assert_string_equal(pw.pw_name, "svc-a");
	assert_string_equal(pw.pw_passwd, "x");
	assert_int_equal(pw.pw_uid, UID_A);
	assert_int_equal(pw.pw_gid, GID_SVC);
	assert_string_equal(pw.pw_gecos, "Service A");
	assert_string_equal(pw.pw_dir, "/var/lib/svc-a");
	assert_string_equal(pw.pw_shell, "/usr/sbin/nologin");
	/* Every string lives in the caller's buffer, none in the mapping. */
	assert_true(pw.pw_name >= buf && pw.pw_shell < buf + sizeof(buf));

	memset(&pw, 0, sizeof(pw));
	assert_int_equal(M.getpwuid_r(UID_A, &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "svc-a");
	assert_int_equal(pw.pw_uid, UID_A);
	assert_int_equal(errno, 4242);
}

static void getgrnam_and_getgrgid_return_the_group_with_its_members(void **state)
{
	struct group gr;
	char buf[4096];
	int e = 0, n;

	(void)state;
	install_standard();
	errno = 4242;
	assert_int_equal(M.getgrnam_r("ops", &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(gr.gr_name, "ops");
	assert_string_equal(gr.gr_passwd, "x");
	assert_int_equal(gr.gr_gid, GID_OPS);
	assert_string_equal(gr.gr_mem[0], "svc-a");
	assert_string_equal(gr.gr_mem[1], "backup");
	assert_null(gr.gr_mem[2]);

	assert_int_equal(M.getgrgid_r(GID_BIG, &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(gr.gr_name, "big");
	for (n = 0; gr.gr_mem[n]; n++)
		assert_string_equal(gr.gr_mem[n], big_names[n]);
	assert_int_equal(n, NBIG);

	assert_int_equal(M.getgrnam_r("svc", &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_null(gr.gr_mem[0]);
	assert_int_equal(errno, 4242);
}

static void unknown_names_and_ids_are_notfound_and_errno_is_kept(void **state)
{
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	char buf[1024];
	int e = 777;

	(void)state;
	install_standard();
	errno = 4242;
	assert_int_equal(M.getpwnam_r("nobody-here", &pw, buf, sizeof(buf), &e),
	                 NSS_STATUS_NOTFOUND);
	assert_int_equal(M.getpwuid_r(12345, &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_int_equal(M.getpwuid_r((uid_t)-1, &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_int_equal(M.getgrnam_r("nogroup-here", &gr, buf, sizeof(buf), &e),
	                 NSS_STATUS_NOTFOUND);
	assert_int_equal(M.getgrgid_r(12345, &gr, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	assert_int_equal(M.getspnam_r("nobody-here", &sp, buf, sizeof(buf), &e),
	                 NSS_STATUS_NOTFOUND);
	assert_int_equal(errno, 4242);
	assert_int_equal(e, 777);
}

static void invalid_names_are_notfound_without_touching_the_store(void **state)
{
	static const char *const bad[] = {
	        "",     "Root", "a b",   "svc:a", "../etc",
	        "-svc", "1svc", "svc\n", "svc$x", "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
	};
	char dir[PATH_MAX], buf[256];
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	gid_t *groups = malloc(sizeof(gid_t));
	long start = 1, size = 1;
	int e = 0;

	(void)state;
	/* A store that would answer UNAVAIL to anything that reached it. */
	new_dir(dir, sizeof(dir));
	point_store_at(dir);
	groups[0] = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(M.getpwnam_r(bad[i], &pw, buf, sizeof(buf), &e),
		                 NSS_STATUS_NOTFOUND);
		assert_int_equal(M.getgrnam_r(bad[i], &gr, buf, sizeof(buf), &e),
		                 NSS_STATUS_NOTFOUND);
		assert_int_equal(M.getspnam_r(bad[i], &sp, buf, sizeof(buf), &e),
		                 NSS_STATUS_NOTFOUND);
		assert_int_equal(M.initgroups_dyn(bad[i], 1, &start, &size, &groups, 0, &e),
		                 NSS_STATUS_NOTFOUND);
	}
	assert_int_equal(M.getpwnam_r(NULL, &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	/* A valid name does reach it. */
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(start, 1);
	free(groups);
}

/* Call `lookup` with heap buffers of every size from 0 up: TRYAGAIN/ERANGE until it fits,
 * then SUCCESS at exactly `want` bytes. Buffers are exactly the size passed (or start at
 * `misalign` bytes into one), so ASan catches any write past the end. */
typedef enum nss_status (*lookup_fn)(void *ent, char *buf, size_t len, int *e);

static char *swept; /* the buffer of the last successful sweep, freed by the next one */

static size_t sweep(lookup_fn lookup, void *ent, size_t misalign)
{
	free(swept);
	swept = NULL;
	for (size_t len = 0; len < 8192; len++) {
		/* Exactly the bytes passed (plus the misalignment); one for malloc when 0. */
		size_t alloc = len + misalign ? len + misalign : 1;
		char *mem = malloc(alloc), *buf = mem + misalign;
		int e = 0;
		enum nss_status st;

		memset(mem, 0x5a, alloc);
		errno = 4242;
		st = lookup(ent, buf, len, &e);
		if (st == NSS_STATUS_SUCCESS) {
			swept = mem;
			return len;
		}
		if (st != NSS_STATUS_TRYAGAIN || e != ERANGE)
			fail_msg("buffer of %zu: status %d, errno %d", len, st, e);
		/* Nothing written on ERANGE; errno untouched (errnop is not &errno here). */
		for (size_t i = 0; i < alloc; i++)
			if (mem[i] != 0x5a)
				fail_msg("buffer of %zu written at %zu on ERANGE", len, i);
		assert_int_equal(errno, 4242);
		free(mem);
	}
	fail_msg("never fitted");
	return 0;
}

static enum nss_status pw_svc_a(void *ent, char *buf, size_t len, int *e)
{
	return M.getpwnam_r("svc-a", ent, buf, len, e);
}

static enum nss_status pw_uid_a(void *ent, char *buf, size_t len, int *e)
{
	return M.getpwuid_r(UID_A, ent, buf, len, e);
}

static enum nss_status gr_big(void *ent, char *buf, size_t len, int *e)
{
	return M.getgrnam_r("big", ent, buf, len, e);
}

static enum nss_status gr_gid_ops(void *ent, char *buf, size_t len, int *e)
{
	return M.getgrgid_r(GID_OPS, ent, buf, len, e);
}

static enum nss_status sp_svc_a(void *ent, char *buf, size_t len, int *e)
{
	return M.getspnam_r("svc-a", ent, buf, len, e);
}

static void every_buffer_size_below_the_record_gives_erange_until_it_fits(void **state)
{
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	/* name, "x", gecos, home, shell, each with its NUL */
	size_t pw_need = sizeof("svc-a") + 2 + sizeof("Service A") + sizeof("/var/lib/svc-a") +
	                 sizeof("/usr/sbin/nologin");
	size_t big_strings = sizeof("big") + 2 + NBIG * sizeof("member-00");
	size_t ops_strings = sizeof("ops") + 2 + sizeof("svc-a") + sizeof("backup");

	(void)state;
	install_standard();
	assert_int_equal(sweep(pw_svc_a, &pw, 0), pw_need);
	assert_string_equal(pw.pw_shell, "/usr/sbin/nologin");
	assert_int_equal(sweep(pw_uid_a, &pw, 0), pw_need);
	assert_string_equal(pw.pw_name, "svc-a");

	/* Groups: gr_mem pointers first, aligned whatever the caller's buffer is. */
	assert_int_equal(sweep(gr_big, &gr, 0), (NBIG + 1) * sizeof(char *) + big_strings);
	assert_string_equal(gr.gr_mem[NBIG - 1], "member-39");
	assert_int_equal(sweep(gr_big, &gr, 1),
	                 (sizeof(char *) - 1) + (NBIG + 1) * sizeof(char *) + big_strings);
	assert_int_equal((uintptr_t)gr.gr_mem % sizeof(char *), 0);
	assert_string_equal(gr.gr_mem[0], "member-00");
	assert_int_equal(sweep(gr_gid_ops, &gr, 3),
	                 (sizeof(char *) - 3) + 3 * sizeof(char *) + ops_strings);
	assert_string_equal(gr.gr_mem[1], "backup");

	assert_int_equal(sweep(sp_svc_a, &sp, 0), sizeof("svc-a") + sizeof("!*"));
	assert_string_equal(sp.sp_namp, "svc-a");
	free(swept);
	swept = NULL;
}

struct seen {
	char name[RS_NAME_MAX + 1];
	int count;
};

static void seen_add(struct seen *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0) {
			s[i].count++;
			return;
		}
	fail_msg("unexpected entry %s", name);
}

static void seen_all_once(const struct seen *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].count != 1)
			fail_msg("%s returned %d times", s[i].name, s[i].count);
}

/* Enumerate db 'p', 'g' or 's' with a 1-byte buffer grown by one byte on every ERANGE
 * and reset for each entry; returns the number of ERANGE answers. */
static size_t enumerate_tiny(struct nss *n, char db, struct seen *s, size_t ns, size_t stop_after,
                             size_t *got)
{
	size_t len = 1, eranges = 0;
	union {
		struct passwd pw;
		struct group gr;
		struct spwd sp;
	} ent;

	*got = 0;
	for (;;) {
		char *buf = malloc(len);
		enum nss_status st;
		const char *name;
		int e = 0;

		st = db == 'p'   ? n->getpwent_r(&ent.pw, buf, len, &e)
		     : db == 'g' ? n->getgrent_r(&ent.gr, buf, len, &e)
		                 : n->getspent_r(&ent.sp, buf, len, &e);
		if (st == NSS_STATUS_TRYAGAIN) {
			assert_int_equal(e, ERANGE);
			free(buf);
			len++;
			eranges++;
			continue;
		}
		if (st == NSS_STATUS_NOTFOUND) {
			free(buf);
			break;
		}
		assert_int_equal(st, NSS_STATUS_SUCCESS);
		name = db == 'p' ? ent.pw.pw_name : db == 'g' ? ent.gr.gr_name : ent.sp.sp_namp;
		seen_add(s, ns, name);
		free(buf);
		len = 1;
		if (++*got == stop_after)
			break;
	}
	return eranges;
}

static void enumeration_with_tiny_buffers_returns_every_entry_exactly_once(void **state)
{
	enum { EXTRA = 150 };
	struct fx *f = fx_standard(EXTRA, "Service A");
	struct seen *pw = calloc(f->ad.nacc, sizeof(*pw));
	struct seen *gr = calloc(f->ad.ngrp, sizeof(*gr));
	struct seen *sp = calloc(f->sd.n, sizeof(*sp));
	size_t got;

	(void)state;
	install(f, 0);
	for (size_t i = 0; i < f->ad.nacc; i++)
		(void)snprintf(pw[i].name, sizeof(pw[i].name), "%s", f->ad.acc[i].name);
	for (size_t i = 0; i < f->ad.ngrp; i++)
		(void)snprintf(gr[i].name, sizeof(gr[i].name), "%s", f->ad.grp[i].name);
	for (size_t i = 0; i < f->sd.n; i++)
		(void)snprintf(sp[i].name, sizeof(sp[i].name), "%s", f->sd.rec[i].name);

	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	assert_true(enumerate_tiny(&M, 'p', pw, f->ad.nacc, 0, &got) > f->ad.nacc);
	assert_int_equal(got, f->ad.nacc);
	seen_all_once(pw, f->ad.nacc);
	/* At the end it stays at the end. */
	assert_int_equal(enumerate_tiny(&M, 'p', pw, f->ad.nacc, 0, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(M.endpwent(), NSS_STATUS_SUCCESS);

	/* getgrent without setgrent starts at the beginning too. */
	assert_true(enumerate_tiny(&M, 'g', gr, f->ad.ngrp, 0, &got) > f->ad.ngrp);
	assert_int_equal(got, f->ad.ngrp);
	seen_all_once(gr, f->ad.ngrp);
	assert_int_equal(M.endgrent(), NSS_STATUS_SUCCESS);

	assert_int_equal(M.setspent(0), NSS_STATUS_SUCCESS);
	assert_true(enumerate_tiny(&M, 's', sp, f->sd.n, 0, &got) > f->sd.n);
	assert_int_equal(got, f->sd.n);
	seen_all_once(sp, f->sd.n);
	assert_int_equal(M.endspent(), NSS_STATUS_SUCCESS);

	/* setpwent rewinds. */
	for (size_t i = 0; i < f->ad.nacc; i++)
		pw[i].count = 0;
	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	enumerate_tiny(&M, 'p', pw, f->ad.nacc, 3, &got);
	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	for (size_t i = 0; i < f->ad.nacc; i++)
		pw[i].count = 0;
	enumerate_tiny(&M, 'p', pw, f->ad.nacc, 0, &got);
	seen_all_once(pw, f->ad.nacc);
	M.endpwent();

	free(pw);
	free(gr);
	free(sp);
	fx_free(f);
}

static void an_enumeration_is_one_snapshot_even_when_the_store_is_replaced_midway(void **state)
{
	struct fx *f = fx_standard(20, "Service A"), *g = fx_new();
	struct seen *pw = calloc(f->ad.nacc, sizeof(*pw));
	struct passwd p;
	char buf[1024];
	size_t got, total;
	int e;

	(void)state;
	install(f, 0);
	for (size_t i = 0; i < f->ad.nacc; i++)
		(void)snprintf(pw[i].name, sizeof(pw[i].name), "%s", f->ad.acc[i].name);
	fx_user(g, "other", 61000, GID_SVC, "Other", SINCE_A, false, NULL);

	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	enumerate_tiny(&M, 'p', pw, f->ad.nacc, 5, &got);
	total = got;
	install(g, 0);
	/* Lookups see the new store at once ... */
	assert_int_equal(M.getpwnam_r("other", &p, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_int_equal(M.getpwnam_r("svc-a", &p, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	/* ... the enumeration goes on with the store it started with. */
	enumerate_tiny(&M, 'p', pw, f->ad.nacc, 0, &got);
	total += got;
	assert_int_equal(total, f->ad.nacc);
	seen_all_once(pw, f->ad.nacc);
	M.endpwent();

	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	assert_int_equal(M.getpwent_r(&p, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(p.pw_name, "other");
	assert_int_equal(M.getpwent_r(&p, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	M.endpwent();
	free(pw);
	fx_free(f);
	fx_free(g);
}

/*
 * rotsec's writer puts the index records in index order, and the module reads them in
 * file order; a file laid out otherwise (the format allows it) must still enumerate every
 * entry exactly once, in index order, ERANGE included: here the records of 20 accounts
 * and 3 groups in reverse.
 */
static void enumeration_of_a_store_in_another_record_order_returns_every_entry_once(void **state)
{
	enum { NP = 20, NG = 3 };
	static const char meta[] = RS_ACCOUNTS_MAGIC "\0"
	                                             "1\0"
	                                             "1\0"
	                                             "20\0"
	                                             "3";
	struct seen pw[NP], gr[NG];
	char dir[PATH_MAX], path[PATH_MAX + 32], key[32], val[128], buf[1024];
	struct cdb_make cm;
	struct passwd p;
	size_t got;
	int fd, e, l;

	(void)state;
	memset(pw, 0, sizeof(pw));
	memset(gr, 0, sizeof(gr));
	new_dir(dir, sizeof(dir));
	(void)snprintf(path, sizeof(path), "%s/accounts.cdb", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(cdb_make_start(&cm, fd), 0);
	cdb_make_add(&cm, RS_KEY_META, strlen(RS_KEY_META), meta, sizeof(meta));
	for (int i = NP - 1; i >= 0; i--) {
		(void)snprintf(pw[i].name, sizeof(pw[i].name), "rev-%02d", i);
		l = snprintf(val, sizeof(val), "%s%c%d%c60000%cg%c/h%c/bin/sh", pw[i].name, 0,
		             61000 + i, 0, 0, 0, 0) +
		    1;
		(void)snprintf(key, sizeof(key), RS_KEY_PWIDX "%d", i);
		cdb_make_add(&cm, key, (unsigned)strlen(key), val, (unsigned)l);
		(void)snprintf(key, sizeof(key), RS_KEY_PWNAM "%s", pw[i].name);
		cdb_make_add(&cm, key, (unsigned)strlen(key), val, (unsigned)l);
	}
	for (int i = NG - 1; i >= 0; i--) {
		(void)snprintf(gr[i].name, sizeof(gr[i].name), "grp-%d", i);
		l = snprintf(val, sizeof(val), "%s%c%d%crev-00", gr[i].name, 0, 62000 + i, 0) + 1;
		(void)snprintf(key, sizeof(key), RS_KEY_GRIDX "%d", i);
		cdb_make_add(&cm, key, (unsigned)strlen(key), val, (unsigned)l);
	}
	assert_int_equal(cdb_make_finish(&cm), 0);
	close(fd);
	point_store_at(dir);

	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	assert_true(enumerate_tiny(&M, 'p', pw, NP, 0, &got) > NP);
	assert_int_equal(got, NP);
	seen_all_once(pw, NP);
	/* in index order, whatever the file order */
	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	for (int i = 0; i < NP; i++) {
		assert_int_equal(M.getpwent_r(&p, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
		assert_int_equal(p.pw_uid, 61000 + i);
	}
	assert_int_equal(M.getpwent_r(&p, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
	M.endpwent();

	assert_int_equal(M.setgrent(0), NSS_STATUS_SUCCESS);
	assert_true(enumerate_tiny(&M, 'g', gr, NG, 0, &got) > NG);
	assert_int_equal(got, NG);
	seen_all_once(gr, NG);
	M.endgrent();
	install_standard();
}

static void initgroups_adds_supplementary_groups_but_not_the_primary(void **state)
{
	gid_t *groups = malloc(sizeof(gid_t));
	long start = 1, size = 1;
	int e = 0;

	(void)state;
	install_standard();
	groups[0] = GID_SVC;
	errno = 4242;
	assert_int_equal(M.initgroups_dyn("svc-a", GID_SVC, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 4242);
	assert_int_equal(start, 3);
	assert_true(size >= 3);
	assert_int_equal(groups[0], GID_SVC);
	assert_int_equal(groups[1], GID_OPS);
	assert_int_equal(groups[2], GID_BIG);

	/* A primary group that is also listed is not added again; nor is a gid already in
	 * the array (another service put it there). */
	start = 2;
	groups[0] = GID_OPS;
	groups[1] = GID_BIG;
	assert_int_equal(M.initgroups_dyn("svc-a", GID_OPS, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);

	/* An account without supplementary groups is known, and adds nothing. */
	start = 1;
	assert_int_equal(M.initgroups_dyn("svc-b", GID_SVC, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 1);

	/* The primary is skipped even when the caller's array does not hold it yet. */
	start = 0;
	assert_int_equal(M.initgroups_dyn("svc-a", GID_OPS, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 1);
	assert_int_equal(groups[0], GID_BIG);

	start = 1;
	assert_int_equal(M.initgroups_dyn("nobody-here", 1, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_NOTFOUND);
	assert_int_equal(start, 1);
	free(groups);
}

static void initgroups_honours_limit_and_grows_the_array(void **state)
{
	gid_t *groups = malloc(sizeof(gid_t));
	long start = 1, size = 1;
	int e = 0;

	(void)state;
	install_standard();
	/* limit 2: room for the primary and one more, never more. */
	groups[0] = GID_SVC;
	assert_int_equal(M.initgroups_dyn("svc-a", GID_SVC, &start, &size, &groups, 2, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);
	assert_int_equal(size, 2);
	assert_int_equal(groups[1], GID_OPS);

	/* Already at the limit: nothing added, nothing reallocated. */
	assert_int_equal(M.initgroups_dyn("svc-a", GID_SVC, &start, &size, &groups, 2, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);
	assert_int_equal(size, 2);

	/* Growing by doubling stops at the limit: size 2 -> 3, not 4. */
	free(groups);
	groups = malloc(2 * sizeof(gid_t));
	groups[0] = GID_SVC;
	start = 1;
	size = 2;
	assert_int_equal(M.initgroups_dyn("svc-a", GID_SVC, &start, &size, &groups, 3, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 3);
	assert_int_equal(size, 3);

	/* No limit: grown as needed (ASan checks every write against the allocation). */
	free(groups);
	groups = malloc(sizeof(gid_t));
	groups[0] = GID_SVC;
	start = size = 1;
	assert_int_equal(M.initgroups_dyn("svc-a", GID_SVC, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 3);
	assert_true(size >= 3);
	free(groups);
}

static void initgroups_finds_system_users_listed_in_rotsec_groups(void **state)
{
	gid_t *groups = malloc(4 * sizeof(gid_t));
	long start = 1, size = 4;
	int e = 0;

	(void)state;
	install_standard();
	groups[0] = 34; /* backup's own group in /etc/group */
	assert_int_equal(M.initgroups_dyn("backup", 34, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);
	assert_int_equal(groups[1], GID_OPS);
	free(groups);
}

static void shadow_entry_has_no_hash_and_never_asks_for_a_password_change(void **state)
{
	struct spwd sp;
	char buf[256];
	int e = 0;

	(void)state;
	install_standard();
	errno = 4242;
	assert_int_equal(M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 4242);
	assert_string_equal(sp.sp_namp, "svc-a");
	/* No crypt(3) output starts with '!' or '*'; pam_unix refuses both for auth. */
	assert_string_equal(sp.sp_pwdp, "!*");
	assert_null(strchr(sp.sp_pwdp, '$'));
	assert_int_equal(sp.sp_lstchg, SINCE_A / 86400);
	/* pam_unix's account step: never PAM_NEW_AUTHTOK_REQD, never expired. */
	assert_int_equal(sp.sp_max, -1);
	assert_int_equal(sp.sp_inact, -1);
	assert_int_equal(sp.sp_expire, -1);
	assert_int_equal(sp.sp_min, -1);
	assert_int_equal(sp.sp_warn, -1);

	assert_int_equal(M.getspnam_r("svc-b", &sp, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_int_equal(sp.sp_lstchg, SINCE_A / 86400 + 1);
}

static void disabled_account_has_an_expired_shadow_entry_and_lstchg_is_never_zero(void **state)
{
	struct spwd sp;
	char buf[256];
	int e = 0;

	(void)state;
	install_standard();
	assert_int_equal(M.getspnam_r("svc-off", &sp, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	/* Rotated at the epoch: day 0 would mean "change password now" to pam_unix. */
	assert_int_equal(sp.sp_lstchg, 1);
	/* Expired on 1970-01-02: pam_unix's account step says PAM_ACCT_EXPIRED. */
	assert_int_equal(sp.sp_expire, 1);
	assert_int_equal(sp.sp_max, -1);
}

/* Run fn in a child with uid/gid 65534 (and supplementary group `extra` if not 0);
 * returns its exit status. */
static int as_nobody(int (*fn)(void), gid_t extra)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		gid_t g[1] = {extra};

		if (setgroups(extra ? 1 : 0, g) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(90);
		_exit(fn());
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int shadow_unreadable_child(void)
{
	struct spwd sp;
	struct passwd pw;
	char buf[256];
	int e = 0;

	errno = 4242;
	if (M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL)
		return 1;
	if (e != EACCES || errno != 4242)
		return 2;
	/* Not a rotsec account: NOTFOUND, no need for secrets.cdb. */
	if (M.getspnam_r("backup", &sp, buf, sizeof(buf), &e) != NSS_STATUS_NOTFOUND)
		return 3;
	if (M.setspent(0) != NSS_STATUS_UNAVAIL)
		return 4;
	M.endspent();
	/* passwd and group stay readable to everyone. */
	if (M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
		return 5;
	return 0;
}

static int shadow_readable_child(void)
{
	struct spwd sp;
	char buf[256];
	int e = 0;

	return M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS ? 0 : 1;
}

static void shadow_is_unavailable_to_a_process_that_cannot_read_secrets(void **state)
{
	struct fx *f = fx_standard(0, "Service A");
	struct spwd sp;
	char buf[256];
	int e = 0;

	(void)state;
	install(f, 0); /* secrets.cdb 0600 root */
	/* The parent maps secrets.cdb as root; the children inherit that mapping and must
	 * still be refused. */
	assert_int_equal(M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_int_equal(as_nobody(shadow_unreadable_child, 0), 0);
	assert_int_equal(as_nobody(shadow_unreadable_child, 4242), 0);

	/* secrets.cdb 0640 root:4242 ("group rotsec"): a member may read shadow. */
	install(f, 4242);
	assert_int_equal(M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_int_equal(as_nobody(shadow_readable_child, 4242), 0);
	assert_int_equal(as_nobody(shadow_unreadable_child, 0), 0);
	fx_free(f);
}

/* Every entry point answers UNAVAIL with *errnop = want, and errno untouched. */
static void expect_unavail(struct nss *n, int want, const char *what)
{
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	char buf[1024];
	gid_t *groups = malloc(sizeof(gid_t));
	long start = 1, size = 1;
	int e;

#define EXPECT(call)                                                                               \
	do {                                                                                       \
		enum nss_status st;                                                                \
		e = 0;                                                                             \
		errno = 4242;                                                                      \
		st = (call);                                                                       \
		if (st != NSS_STATUS_UNAVAIL || e != want || errno != 4242)                        \
			fail_msg("%s: %s gave status %d errnop %d errno %d, want UNAVAIL %d",      \
			         what, #call, st, e, errno, want);                                 \
	} while (0)

	groups[0] = 1;
	EXPECT(n->getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e));
	EXPECT(n->getpwuid_r(UID_A, &pw, buf, sizeof(buf), &e));
	EXPECT(n->getgrnam_r("ops", &gr, buf, sizeof(buf), &e));
	EXPECT(n->getgrgid_r(GID_OPS, &gr, buf, sizeof(buf), &e));
	EXPECT(n->initgroups_dyn("svc-a", 1, &start, &size, &groups, 0, &e));
	EXPECT(n->getspnam_r("svc-a", &sp, buf, sizeof(buf), &e));
	EXPECT(n->getpwent_r(&pw, buf, sizeof(buf), &e));
	EXPECT(n->getgrent_r(&gr, buf, sizeof(buf), &e));
#undef EXPECT
	if (n->setpwent(0) != NSS_STATUS_UNAVAIL || n->setgrent(0) != NSS_STATUS_UNAVAIL)
		fail_msg("%s: setpwent/setgrent not UNAVAIL", what);
	n->endpwent();
	n->endgrent();
	assert_int_equal(start, 1);
	free(groups);
}

static void missing_store_is_unavail_with_enoent(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	/* No directory at all. */
	new_dir(dir, sizeof(dir));
	rmdir(dir);
	point_store_at(dir);
	expect_unavail(&M, ENOENT, "no store directory");
	/* A directory without the files. */
	new_dir(dir, sizeof(dir));
	point_store_at(dir);
	expect_unavail(&M, ENOENT, "empty store directory");
}

/* A valid store in a new directory, then damaged by `how`. */
static void damaged(const char *how, int want)
{
	struct fx *f = fx_standard(0, "Service A");
	char dir[PATH_MAX], file[PATH_MAX + 32], other[PATH_MAX + 32];
	struct stat st;
	int fd;

	new_dir(dir, sizeof(dir));
	fx_write(f, dir, 0, 1);
	fx_free(f);
	(void)snprintf(file, sizeof(file), "%s/accounts.cdb", dir);
	(void)snprintf(other, sizeof(other), "%s/secrets.cdb", dir);
	stat(file, &st);
	if (strcmp(how, "symlink") == 0) {
		assert_int_equal(rename(file, other), 0);
		assert_int_equal(symlink("secrets.cdb", file), 0);
	} else if (strcmp(how, "file group-writable") == 0) {
		chmod(file, 0664);
	} else if (strcmp(how, "file world-writable") == 0) {
		chmod(file, 0646);
	} else if (strcmp(how, "file owned by another uid") == 0) {
		assert_int_equal(chown(file, 1234, 0), 0);
	} else if (strcmp(how, "fifo") == 0) {
		unlink(file);
		assert_int_equal(mkfifo(file, 0644), 0);
	} else if (strcmp(how, "directory") == 0) {
		unlink(file);
		assert_int_equal(mkdir(file, 0755), 0);
	} else if (strcmp(how, "dir group-writable") == 0) {
		chmod(dir, 0775);
	} else if (strcmp(how, "dir owned by another uid") == 0) {
		assert_int_equal(chown(dir, 1234, 1234), 0);
	} else if (strcmp(how, "truncated") == 0) {
		assert_int_equal(truncate(file, st.st_size - 64), 0);
	} else if (strcmp(how, "truncated to its first half") == 0) {
		assert_int_equal(truncate(file, st.st_size / 2), 0);
	} else if (strcmp(how, "corrupt") == 0) {
		char junk[512];

		memset(junk, 0xff, sizeof(junk));
		fd = open(file, O_WRONLY | O_CLOEXEC);
		for (off_t off = 0; off < st.st_size; off += (off_t)sizeof(junk))
			assert_true(pwrite(fd, junk, sizeof(junk), off) > 0);
		close(fd);
	} else if (strcmp(how, "empty") == 0) {
		assert_int_equal(truncate(file, 0), 0);
	} else if (strcmp(how, "secrets.cdb in its place") == 0) {
		assert_int_equal(rename(other, file), 0);
	} else if (strcmp(how, "too large") == 0) {
		assert_int_equal(truncate(file, RS_STORE_MAX_SIZE + 1), 0);
	} else {
		fail_msg("unknown damage %s", how);
	}
	point_store_at(dir);
	expect_unavail(&M, want, how);
}

static void unsafe_stores_are_unavail(void **state)
{
	(void)state;
	damaged("symlink", EPERM);
	damaged("file group-writable", EPERM);
	damaged("file world-writable", EPERM);
	damaged("file owned by another uid", EPERM);
	damaged("fifo", EPERM);
	damaged("directory", EPERM);
	damaged("dir group-writable", EPERM);
	damaged("dir owned by another uid", EPERM);
}

static void malformed_stores_are_unavail(void **state)
{
	(void)state;
	damaged("truncated", EPROTO);
	damaged("truncated to its first half", EPROTO);
	damaged("corrupt", EPROTO);
	damaged("empty", EPROTO);
	damaged("secrets.cdb in its place", EPROTO);
	damaged("too large", EFBIG);
}

/* A well-formed CDB whose records lie: the module must not believe them. */
static void write_raw_accounts(const char *dir, const char *key, const char *val, size_t vlen)
{
	static const char meta[] = RS_ACCOUNTS_MAGIC "\0"
	                                             "1\0"
	                                             "1\0"
	                                             "1\0"
	                                             "1";
	char path[PATH_MAX + 32];
	struct cdb_make cm;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/accounts.cdb", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	cdb_make_start(&cm, fd);
	cdb_make_add(&cm, RS_KEY_META, strlen(RS_KEY_META), meta, sizeof(meta));
	cdb_make_add(&cm, key, (unsigned)strlen(key), val, (unsigned)vlen);
	assert_int_equal(cdb_make_finish(&cm), 0);
	close(fd);
}

static void records_that_do_not_parse_or_sit_under_the_wrong_key_are_unavail(void **state)
{
	static const char bad_uid[] = "svc-a\0-1\0"
	                              "60000\0gecos\0/home\0/bin/sh";
	static const char other[] = "svc-b\0"
	                            "60002\0"
	                            "60000\0gecos\0/home\0/bin/sh";
	static const char bad_gids[] = "60010\0x";
	char dir[PATH_MAX], buf[1024];
	struct passwd pw;
	gid_t *groups = malloc(sizeof(gid_t));
	long start = 1, size = 1;
	int e = 0;

	(void)state;
	new_dir(dir, sizeof(dir));
	write_raw_accounts(dir, "pn:svc-a", bad_uid, sizeof(bad_uid));
	point_store_at(dir);
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(e, EPROTO);

	new_dir(dir, sizeof(dir));
	write_raw_accounts(dir, "pn:svc-a", other, sizeof(other));
	point_store_at(dir);
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(e, EPROTO);

	new_dir(dir, sizeof(dir));
	write_raw_accounts(dir, "pu:60001", other, sizeof(other));
	point_store_at(dir);
	assert_int_equal(M.getpwuid_r(60001, &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(e, EPROTO);

	/* The header promises an entry p#0 that is not there. */
	assert_int_equal(M.setpwent(0), NSS_STATUS_SUCCESS);
	assert_int_equal(M.getpwent_r(&pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(e, EPROTO);
	M.endpwent();

	/* A damaged gid list adds nothing at all. */
	new_dir(dir, sizeof(dir));
	write_raw_accounts(dir, "ig:svc-a", bad_gids, sizeof(bad_gids));
	point_store_at(dir);
	groups[0] = 1;
	assert_int_equal(M.initgroups_dyn("svc-a", 1, &start, &size, &groups, 0, &e),
	                 NSS_STATUS_UNAVAIL);
	assert_int_equal(start, 1);
	free(groups);
}

static void an_override_that_is_not_usable_is_reported_not_replaced_by_the_default(void **state)
{
	struct nss n;
	char dir[PATH_MAX];

	(void)state;
	assert_int_equal(nss_load(&n, "relative/store"), 0);
	expect_unavail(&n, EINVAL, "relative ROTSEC_STORE_DIR");
	nss_unload(&n);

	assert_int_equal(nss_load(&n, ""), 0);
	expect_unavail(&n, EINVAL, "empty ROTSEC_STORE_DIR");
	nss_unload(&n);

	/* An unsafe directory: refused, even though it holds a valid store. */
	new_dir(dir, sizeof(dir));
	{
		struct fx *f = fx_standard(0, "Service A");

		fx_write(f, dir, 0, 1);
		fx_free(f);
	}
	chmod(dir, 0777);
	assert_int_equal(nss_load(&n, dir), 0);
	expect_unavail(&n, EPERM, "world-writable ROTSEC_STORE_DIR");
	nss_unload(&n);
	setenv("ROTSEC_STORE_DIR", store_link, 1);
}

static void the_store_is_remapped_after_replacement(void **state)
{
	struct fx *f = fx_standard(0, "Before"), *g = fx_standard(0, "After");
	struct passwd pw;
	char buf[1024];
	const char *dir;
	int e = 0;

	(void)state;
	dir = install(f, 0);
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_gecos, "Before");
	/* The writer's atomic rename in the same directory. */
	fx_write(g, dir, 0, 2);
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_gecos, "After");
	/* Removed: gone, not served from the old mapping. */
	{
		char file[PATH_MAX + 32];

		(void)snprintf(file, sizeof(file), "%s/accounts.cdb", dir);
		unlink(file);
	}
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
	assert_int_equal(e, ENOENT);
	fx_free(f);
	fx_free(g);
}

/* ---- concurrency */

struct race {
	volatile int stop;
	int errors;
	int seen_old, seen_new;
	char first_error[256];
	pthread_mutex_t lock;
};

static void race_error(struct race *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (r->errors++ == 0) {
		va_start(ap, fmt);
		(void)vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	char buf[2048];
	int old = 0, new = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct passwd pw;
		struct group gr;
		struct spwd sp;
		int e = 0;
		enum nss_status st;

		st = M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e);
		if (st != NSS_STATUS_SUCCESS) {
			race_error(r, "getpwnam: status %d errno %d", st, e);
			continue;
		}
		if (strcmp(pw.pw_name, "svc-a") != 0 || pw.pw_uid != UID_A ||
		    pw.pw_gid != GID_SVC || strcmp(pw.pw_dir, "/var/lib/svc-a") != 0 ||
		    strcmp(pw.pw_shell, "/usr/sbin/nologin") != 0)
			race_error(r, "getpwnam: garbage");
		else if (strcmp(pw.pw_gecos, "Old") == 0)
			old++;
		else if (strcmp(pw.pw_gecos, "New") == 0)
			new ++;
		else
			race_error(r, "getpwnam: gecos '%s'", pw.pw_gecos);

		st = M.getpwuid_r(UID_A, &pw, buf, sizeof(buf), &e);
		if (st != NSS_STATUS_SUCCESS || strcmp(pw.pw_name, "svc-a") != 0)
			race_error(r, "getpwuid: status %d", st);
		st = M.getgrnam_r("big", &gr, buf, sizeof(buf), &e);
		if (st != NSS_STATUS_SUCCESS || gr.gr_gid != GID_BIG || !gr.gr_mem[NBIG - 1] ||
		    strcmp(gr.gr_mem[NBIG - 1], "member-39") != 0 || gr.gr_mem[NBIG])
			race_error(r, "getgrnam: status %d", st);
		st = M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e);
		if (st != NSS_STATUS_SUCCESS || strcmp(sp.sp_namp, "svc-a") != 0 ||
		    strcmp(sp.sp_pwdp, "!*") != 0 ||
		    (sp.sp_lstchg != SINCE_A / 86400 && sp.sp_lstchg != SINCE_A / 86400 + 7))
			race_error(r, "getspnam: status %d", st);
	}
	__atomic_fetch_add(&r->seen_old, old, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->seen_new, new, __ATOMIC_RELAXED);
	return NULL;
}

static void
lookups_racing_a_process_that_replaces_the_store_see_old_or_new_never_garbage(void **state)
{
	enum { THREADS = 8, REPLACEMENTS = 300 };
	struct fx *old = fx_standard(50, "Old"), *new = fx_standard(80, "New");
	struct race r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t t[THREADS];
	const char *dir;
	int status;
	pid_t pid;

	(void)state;
	new->sd.rec[0].current_since = SINCE_A + 7 * 86400;
	dir = install(old, 0);
	pid = fork();
	if (pid == 0) {
		/* The writer: rotsecd's way, lock + temp file + rename, a few hundred times. */
		for (int i = 0; i < REPLACEMENTS; i++) {
			struct rs_store_w w;
			char why[RS_WHY_MAX];

			if (rs_store_w_open(dir, 5000, &w, why, sizeof(why)) < 0)
				_exit(1);
			if (rs_store_write_secrets(&w, i % 2 ? &old->sd : &new->sd, (uint64_t)i + 2,
			                           0) < 0 ||
			    rs_store_write_accounts(&w, i % 2 ? &old->ad : &new->ad,
			                            (uint64_t)i + 2) < 0)
				_exit(2);
			rs_store_w_close(&w);
		}
		_exit(0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, race_reader, &r);
	waitpid(pid, &status, 0);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (r.errors)
		fail_msg("%d bad lookups, first: %s", r.errors, r.first_error);
	assert_true(r.seen_old > 0);
	assert_true(r.seen_new > 0);
	fx_free(old);
	fx_free(new);
}

static void *busy_reader(void *arg)
{
	struct race *r = arg;
	char buf[2048];

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct passwd pw;
		struct group gr;
		struct spwd sp;
		int e;

		M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e);
		M.setgrent(0);
		while (M.getgrent_r(&gr, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS)
			;
		M.endgrent();
		M.getspnam_r("svc-b", &sp, buf, sizeof(buf), &e);
	}
	return NULL;
}

static int child_lookups(void)
{
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	char buf[2048];
	int e = 0, n = 0;

	if (M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS ||
	    strcmp(pw.pw_gecos, "Service A") != 0)
		return 1;
	if (M.getspnam_r("svc-b", &sp, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
		return 2;
	M.setgrent(0);
	while (M.getgrent_r(&gr, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS)
		n++;
	M.endgrent();
	return n == 3 ? 0 : 3;
}

static void lookups_work_in_a_forked_child(void **state)
{
	struct passwd pw;
	struct group gr;
	char buf[2048];
	int e = 0, status;
	pid_t pid;

	(void)state;
	install_standard();
	/* The parent holds a mapping and is halfway through an enumeration. */
	assert_int_equal(M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	M.setgrent(0);
	assert_int_equal(M.getgrent_r(&gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	pid = fork();
	if (pid == 0) {
		alarm(20);
		/* The child inherits the cursor... */
		if (M.getgrent_r(&gr, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
			_exit(10);
		M.endgrent();
		/* ... and can start over and look anything up. */
		_exit(child_lookups());
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The parent's enumeration is where it was. */
	assert_int_equal(M.getgrent_r(&gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
	assert_string_equal(gr.gr_name, "ops");
	M.endgrent();
}

static void a_child_forked_during_lookups_never_inherits_a_locked_mutex(void **state)
{
	enum { THREADS = 6, FORKS = 200 };
	struct race r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t t[THREADS];
	/* Under valgrind (t-valgrind), which runs one thread at a time, fewer: 20 forks among
	 * two busy threads still fork while a lookup holds a lock, and the ASan build does
	 * the full count. */
	int threads = RUNNING_ON_VALGRIND ? 2 : THREADS, forks = RUNNING_ON_VALGRIND ? 20 : FORKS;
	int bad = 0, hung = 0;

	(void)state;
	install_standard();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, busy_reader, &r);
	/* Stops at the first bad child: one is proof enough, and each hang costs seconds. */
	for (int i = 0; i < forks && !hung && !bad; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			/* A child stuck on a mutex its parent's thread held is killed here. */
			alarm(5);
			_exit(child_lookups());
		}
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(hung, 0);
	assert_int_equal(bad, 0);
}

static void lookups_leave_no_file_descriptor_open(void **state)
{
	struct fx *f = fx_standard(10, "Service A");
	char before[8192], after[8192], buf[2048];
	struct passwd pw;
	struct group gr;
	struct spwd sp;
	gid_t *groups = malloc(sizeof(gid_t));
	long start = 1, size = 1;
	const char *dir;
	int e, nb, na;

	(void)state;
	nb = count_fds(before, sizeof(before));
	dir = install(f, 0);
	for (int round = 0; round < 3; round++) {
		M.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e);
		M.getpwuid_r(UID_A, &pw, buf, sizeof(buf), &e);
		M.getgrnam_r("ops", &gr, buf, sizeof(buf), &e);
		M.getgrgid_r(GID_OPS, &gr, buf, sizeof(buf), &e);
		M.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e);
		start = 1;
		groups[0] = GID_SVC; /* as glibc calls it: the primary group already in */
		M.initgroups_dyn("svc-a", GID_SVC, &start, &size, &groups, 0, &e);
		M.setpwent(0);
		while (M.getpwent_r(&pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS)
			;
		M.endpwent();
		M.setspent(0);
		while (M.getspent_r(&sp, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS)
			;
		M.endspent();
		/* Replaced between rounds: remapping must not leak either. */
		fx_write(f, dir, 0, (uint64_t)round + 2);
	}
	na = count_fds(after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(na, nb);
	free(groups);
	fx_free(f);
}

/* ---- logging: in a child with its own mount namespace whose /dev/log we read */

static int log_fd = -1;

/* Datagrams waiting on our /dev/log; the last one in `last`. */
static int drain_log(char *last, size_t len)
{
	int n = 0;
	char msg[1024];
	ssize_t got;

	while ((got = recv(log_fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
		msg[got] = '\0';
		(void)snprintf(last, len, "%s", msg);
		(void)fprintf(stderr, "# syslog: %s\n", msg);
		n++;
	}
	return n;
}

static int log_child(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
	char dir[PATH_MAX], file[PATH_MAX + 32], last[1024] = "", buf[512];
	struct passwd pw;
	struct spwd sp;
	struct nss n;
	struct fx *f;
	int e;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0)
		return 77; /* no private mount namespace here: skipped */
	log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (log_fd < 0 || bind(log_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 11;

	/* A fresh module (nothing logged yet) reading a store that does not exist yet. */
	(void)snprintf(dir, sizeof(dir), "%s/logstore", base);
	if (nss_load(&n, dir) < 0)
		return 12;
	for (int i = 0; i < 5; i++)
		if (n.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL)
			return 13;
	if (drain_log(last, sizeof(last)) != 1)
		return 14;
	/* LOG_AUTHPRIV|LOG_ERR = 10 * 8 + 3, the host program's ident, our prefix, why. */
	if (strncmp(last, "<83>", 4) != 0 || !strstr(last, "nss_rotsec: ") ||
	    !strstr(last, "logstore: No such file or directory") ||
	    !strstr(last, "passwd and group entries are unavailable"))
		return 15;

	/* Unsafe: a second kind, one more line, once. */
	mkdir(dir, 0755);
	f = fx_standard(0, "Service A");
	fx_write(f, dir, 0, 1);
	fx_free(f);
	(void)snprintf(file, sizeof(file), "%s/accounts.cdb", dir);
	chmod(file, 0666);
	for (int i = 0; i < 5; i++)
		if (n.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL)
			return 16;
	if (drain_log(last, sizeof(last)) != 1 || !strstr(last, "accounts.cdb is writable"))
		return 17;

	/* Fixed: no line. Missing again: already said, no line. */
	chmod(file, 0644);
	if (n.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
		return 18;
	unlink(file);
	if (n.getpwnam_r("svc-a", &pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL)
		return 19;
	if (drain_log(last, sizeof(last)) != 0)
		return 20;

	/* secrets.cdb is a separate file with its own line. */
	(void)snprintf(file, sizeof(file), "%s/secrets.cdb", dir);
	f = fx_standard(0, "Service A");
	fx_write(f, dir, 0, 2);
	fx_free(f);
	chmod(file, 0660);
	for (int i = 0; i < 3; i++)
		if (n.getspnam_r("svc-a", &sp, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL)
			return 21;
	if (drain_log(last, sizeof(last)) != 1 || !strstr(last, "secrets.cdb is writable") ||
	    !strstr(last, "shadow entries are unavailable"))
		return 22;
	nss_unload(&n);
	return 0;
}

static void each_kind_of_failure_is_logged_once_per_process(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0)
		_exit(log_child());
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------ main */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int group_setup(void **state)
{
	const char *env = getenv("ROTSEC_NSS_MODULE");

	(void)state;
	if (env) {
		(void)snprintf(module_src, sizeof(module_src), "%s", env);
	} else {
		/* $O/asan/tests/module/test_nss -> $O/asan/libnss_rotsec.so.2 */
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (n < 0)
			return -1;
		exe[n] = '\0';
		for (int i = 0; i < 3; i++)
			*strrchr(exe, '/') = '\0';
		(void)snprintf(module_src, sizeof(module_src), "%s/libnss_rotsec.so.2", exe);
	}
	if (access(module_src, R_OK) < 0) {
		(void)fprintf(stderr, "no module at %s\n", module_src);
		return -1;
	}
	(void)snprintf(base, sizeof(base), "/tmp/rotsec-nss.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755) < 0)
		return -1;
	(void)snprintf(store_link, sizeof(store_link), "%s/store", base);
	if (rs_crypto_init() < 0 ||
	    rs_hash_secret(H_DUMMY_PW, strlen(H_DUMMY_PW), 190.0, RS_COST_INTERACTIVE, hash) < 0)
		return -1;
	return nss_load(&M, store_link);
}

static int group_teardown(void **state)
{
	(void)state;
	nss_unload(&M);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(only_the_nss_entry_points_are_exported),
	        cmocka_unit_test(getpwnam_and_getpwuid_return_the_account_with_a_shadowed_password),
	        cmocka_unit_test(getgrnam_and_getgrgid_return_the_group_with_its_members),
	        cmocka_unit_test(unknown_names_and_ids_are_notfound_and_errno_is_kept),
	        cmocka_unit_test(invalid_names_are_notfound_without_touching_the_store),
	        cmocka_unit_test(every_buffer_size_below_the_record_gives_erange_until_it_fits),
	        cmocka_unit_test(enumeration_with_tiny_buffers_returns_every_entry_exactly_once),
	        cmocka_unit_test(
	                an_enumeration_is_one_snapshot_even_when_the_store_is_replaced_midway),
	        cmocka_unit_test(
	                enumeration_of_a_store_in_another_record_order_returns_every_entry_once),
	        cmocka_unit_test(initgroups_adds_supplementary_groups_but_not_the_primary),
	        cmocka_unit_test(initgroups_honours_limit_and_grows_the_array),
	        cmocka_unit_test(initgroups_finds_system_users_listed_in_rotsec_groups),
	        cmocka_unit_test(shadow_entry_has_no_hash_and_never_asks_for_a_password_change),
	        cmocka_unit_test(
	                disabled_account_has_an_expired_shadow_entry_and_lstchg_is_never_zero),
	        cmocka_unit_test(shadow_is_unavailable_to_a_process_that_cannot_read_secrets),
	        cmocka_unit_test(missing_store_is_unavail_with_enoent),
	        cmocka_unit_test(unsafe_stores_are_unavail),
	        cmocka_unit_test(malformed_stores_are_unavail),
	        cmocka_unit_test(records_that_do_not_parse_or_sit_under_the_wrong_key_are_unavail),
	        cmocka_unit_test(
	                an_override_that_is_not_usable_is_reported_not_replaced_by_the_default),
	        cmocka_unit_test(the_store_is_remapped_after_replacement),
	        cmocka_unit_test(
	                lookups_racing_a_process_that_replaces_the_store_see_old_or_new_never_garbage),
	        cmocka_unit_test(lookups_work_in_a_forked_child),
	        cmocka_unit_test(a_child_forked_during_lookups_never_inherits_a_locked_mutex),
	        cmocka_unit_test(lookups_leave_no_file_descriptor_open),
	        cmocka_unit_test(each_kind_of_failure_is_logged_once_per_process),
	};

	/* TEST_FILTER=pattern runs only the matching tests (cmocka's * and ? globs) */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
