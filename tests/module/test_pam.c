/*
 * pam_rotsec through the real libpam: pam_start_confdir with service files generated in a
 * temp dir, pointing at the ASan build of the module ($O/asan/pam_rotsec.so, found next to
 * this program, or ROTSEC_PAM_MODULE). Every result of ARCHITECTURE.md, contract §4, and every case
 * of issue 3's adversarial list has a test here; the shell tests (t-pam-*.sh) add pamtester,
 * pam_wrapper and a real Debian stack in a mount namespace.
 *
 * Log lines: this program defines pam_syslog and pam_vsyslog. Because libpam, which this
 * program links, defines them too, the linker exports the program's definitions and the
 * dynamic linker binds the module's calls to them (the program comes first in the global
 * lookup scope). So every line the module logs lands in `logbuf`, without LD_PRELOAD or a
 * syslog daemon, and each test can assert the level and text of what an admin would see,
 * and that no password ever appears in it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cdb.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "record.h"
#include "secret.h"
#include "store_write.h"
#include "usage.h"

#define PW_CUR   "CurrentSecret-Qw3rTy8uI0pAsDfGhJkL"
#define PW_PREV  "PreviousSecret-Zx9cVb7nM5aSdF3gHj1K"
#define PW_OLD   "RevokedSecret-Lk2jHg4fDs6aPo8iUy0T"
#define PW_B     "AnotherSecret-Mn4bVc6xZl8kJh0gFd2S"
#define PW_ARGON "short-pw-41"
/* What someone typed into the user field, a secret of theirs perhaps: logged only with
 * debug or audit (ARCHITECTURE.md, contract §4). One rotsec could not have made, and one it
 * could have. */
#define TYPED_NAME  "Typed-Secret-Not-A-Name-8w"
#define TYPED_NAME2 "typed-secret-as-name-5q"
#define RHOST       "192.0.2.7"
#define RUSER       "backup-agent"
#define SERVICE     "rs"

/* ---- captured log ------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[1 << 18];
static size_t loglen;

/* default visibility: the build hides everything (-fvisibility=hidden) */
#define EXPORTED __attribute__((visibility("default")))

EXPORTED void pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list args)
{
	char line[2048];
	int n;

	(void)pamh;
	(void)vsnprintf(line, sizeof(line), fmt, args);
	pthread_mutex_lock(&log_lock);
	n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "<%d>%s\n", priority & 7, line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
	pthread_mutex_unlock(&log_lock);
}

EXPORTED void pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

/* A child forked while another thread logs must not inherit log_lock held. */
static void log_lock_take(void)
{
	pthread_mutex_lock(&log_lock);
}

static void log_lock_drop(void)
{
	pthread_mutex_unlock(&log_lock);
}

static void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	loglen = 0;
	logbuf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

/* A line at exactly `prio` containing `text`. */
static int logged(int prio, const char *text)
{
	char tag[8];
	const char *p = logbuf;

	(void)snprintf(tag, sizeof(tag), "<%d>", prio);
	while ((p = strstr(p, text)) != NULL) {
		const char *bol = p;

		while (bol > logbuf && bol[-1] != '\n')
			bol--;
		if (strncmp(bol, tag, strlen(tag)) == 0)
			return 1;
		p++;
	}
	return 0;
}

#define assert_logged(prio, text)                                                                  \
	do {                                                                                       \
		if (!logged(prio, text)) {                                                         \
			print_error("no <%d> line with '%s' in:\n%s", prio, text, logbuf);         \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static int count_lines(void)
{
	int n = 0;

	for (const char *p = logbuf; *p; p++)
		n += *p == '\n';
	return n;
}

/* ---- what the module computes and resolves ---------------------------------------- */

/*
 * This program defines getpwnam_r, crypto_generichash and crypto_pwhash, exported as
 * pam_syslog is, so that the module's calls bind to them: they count the hash computations
 * and name resolutions of each login, and answer for the rotsec accounts of the test
 * stores (names starting "svc-") with the uid the fixture gives them (uid_of), as
 * nss_rotsec would on a host. Everything else goes on to the real functions. A test can
 * make one name resolve to another uid, or to nothing (resolve_as).
 */
static unsigned n_b2b, n_argon, n_resolve;
static char resolve_name[64];
static long resolve_uid; /* -1: does not resolve */

static void count_reset(void)
{
	n_b2b = n_argon = n_resolve = 0;
}

static void resolve_as(const char *name, long uid)
{
	(void)snprintf(resolve_name, sizeof(resolve_name), "%s", name ? name : "");
	resolve_uid = uid;
}

/* The uid of a test account: stable per name, whichever store holds it. */
static uint32_t uid_of(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return 60000 + h % 20000;
}

EXPORTED int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                        struct passwd **res)
{
	static int (*real)(const char *, struct passwd *, char *, size_t, struct passwd **);
	long uid;

	__atomic_fetch_add(&n_resolve, 1, __ATOMIC_RELAXED);
	if (strncmp(name, "svc-", 4) != 0) {
		if (!real)
			*(void **)&real = dlsym(RTLD_NEXT, "getpwnam_r");
		return real(name, pw, buf, len, res);
	}
	uid = resolve_name[0] && strcmp(name, resolve_name) == 0 ? resolve_uid : uid_of(name);
	*res = NULL;
	if (uid < 0)
		return 0;
	if (len < strlen(name) + 1)
		return ERANGE;
	memset(pw, 0, sizeof(*pw));
	memcpy(buf, name, strlen(name) + 1);
	pw->pw_name = buf;
	pw->pw_passwd = pw->pw_gecos = pw->pw_dir = pw->pw_shell = buf + strlen(name);
	pw->pw_uid = (uid_t)uid;
	pw->pw_gid = 60000;
	*res = pw;
	return 0;
}

EXPORTED int crypto_generichash(unsigned char *out, size_t outlen, const unsigned char *in,
                                unsigned long long inlen, const unsigned char *key, size_t keylen)
{
	static int (*real)(unsigned char *, size_t, const unsigned char *, unsigned long long,
	                   const unsigned char *, size_t);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "crypto_generichash");
	__atomic_fetch_add(&n_b2b, 1, __ATOMIC_RELAXED);
	return real(out, outlen, in, inlen, key, keylen);
}

EXPORTED int crypto_pwhash(unsigned char *out, unsigned long long outlen, const char *passwd,
                           unsigned long long passwdlen, const unsigned char *salt,
                           unsigned long long opslimit, size_t memlimit, int alg)
{
	static int (*real)(unsigned char *, unsigned long long, const char *, unsigned long long,
	                   const unsigned char *, unsigned long long, size_t, int);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "crypto_pwhash");
	__atomic_fetch_add(&n_argon, 1, __ATOMIC_RELAXED);
	return real(out, outlen, passwd, passwdlen, salt, opslimit, memlimit, alg);
}

/* No line above LOG_DEBUG contains `text`. */
static void assert_not_logged_above_debug(const char *text)
{
	for (const char *p = strstr(logbuf, text); p; p = strstr(p + 1, text)) {
		const char *bol = p;

		while (bol > logbuf && bol[-1] != '\n')
			bol--;
		if (strncmp(bol, "<7>", 3) != 0)
			fail_msg("'%s' logged above debug in:\n%s", text, logbuf);
	}
}

/* ---- fixtures ---------------------------------------------------------------------- */

static char tmp[PATH_MAX], store[PATH_MAX], run_dir[PATH_MAX], confdir[PATH_MAX];
static char passwd_file[PATH_MAX];
static char module[PATH_MAX];

/* The local passwd file of every stack (passwd=): root, a local user, and svc-local, a
 * local account whose name the main store also has (created after it, or never synced). */
#define LOCAL_USER "pamlocal"
static const char passwd_text[] = "root:x:0:0:root:/root:/bin/bash\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" LOCAL_USER
                                  ":x:1000:1000::/home/" LOCAL_USER ":/bin/sh\n"
                                  "svc-local:x:1001:1001::/home/svc-local:/bin/sh\n";

static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
}

struct acct {
	const char *name;
	const char *cur;
	const char *prev;        /* NULL: none */
	int64_t deadline, limit; /* seconds from now (limit 0: same as deadline) */
	const char *revoked;
	unsigned flags;
	int argon; /* 1: Argon2id at the interactive cost; 2: at the lowest (cheap_argon) */
	uint64_t gen;
	unsigned ntripwires; /* more tripwires, "tripwire-NN" */
};

/*
 * Hashed as rotsec hashes a new secret of the account `like` (its salt kept, secret.h), or
 * with a fresh salt (like NULL or with no hash of the class).
 */
static void hash_like(const char *pw, int argon, const struct rs_secret_rec *like,
                      char out[RS_HASH_MAX])
{
	unsigned char salt[16], tag[32];
	char s64[23], t64[44];
	struct rs_hash_view v;
	size_t n;

	if (argon != 2) {
		assert_int_equal(rs_hash_secret_like(pw, strlen(pw), argon ? 60.0 : 190.0,
		                                     RS_COST_INTERACTIVE, like, out),
		                 0);
		return;
	}
	/* Argon2id at 8 KiB and one pass, the lowest libsodium computes: the module obeys
	 * the costs a hash states (within what rotsec writes), and the tests that count
	 * computations need many of them, under valgrind too. */
	randombytes_buf(salt, sizeof(salt));
	if (like && rs_hash_view(like->current, &v) == 0 && v.cls.kind == RS_HASH_ARGON2ID)
		assert_int_equal(sodium_base642bin(salt, sizeof(salt), v.salt, RS_HASH_SALT_B64,
		                                   NULL, &n, NULL,
		                                   sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
		                 0);
	assert_int_equal(crypto_pwhash(tag, sizeof(tag), pw, strlen(pw), salt, 1, 8192,
	                               crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	sodium_bin2base64(s64, sizeof(s64), salt, sizeof(salt),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(t64, sizeof(t64), tag, sizeof(tag),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	(void)snprintf(out, RS_HASH_MAX, "$argon2id$v=19$m=8,t=1,p=1$%s$%s", s64, t64);
}

static void hash(const char *pw, int argon, char out[RS_HASH_MAX])
{
	hash_like(pw, argon, NULL, out);
}

/* accounts.cdb of the accounts named in `a`: with it the store exists (pam_rotsec.h). */
static void write_accounts(const char *dir, const struct acct *a, size_t n)
{
	struct rs_accounts_data d = {0};
	struct rs_store_w w;
	char why[RS_WHY_MAX];

	d.acc = calloc(n ? n : 1, sizeof(*d.acc));
	assert_non_null(d.acc);
	d.nacc = n;
	for (size_t i = 0; i < n; i++) {
		(void)snprintf(d.acc[i].name, sizeof(d.acc[i].name), "%s", a[i].name);
		d.acc[i].uid = uid_of(a[i].name);
		d.acc[i].gid = 60000;
		(void)snprintf(d.acc[i].home, sizeof(d.acc[i].home), "/nonexistent");
		(void)snprintf(d.acc[i].shell, sizeof(d.acc[i].shell), "/usr/sbin/nologin");
	}
	assert_int_equal(rs_store_w_open(dir, 5000, &w, why, sizeof(why)), 0);
	assert_int_equal(rs_store_write_accounts(&w, &d, 1), 0);
	rs_store_w_close(&w);
	free(d.acc);
}

static void write_store_gid(const char *dir, const struct acct *a, size_t n, gid_t gid)
{
	struct rs_secrets_data d = {0};
	struct rs_store_w w;
	char why[RS_WHY_MAX];
	int64_t now = (int64_t)time(NULL);
	size_t i;

	mkdir(dir, 0755);
	d.rec = calloc(n ? n : 1, sizeof(*d.rec));
	assert_non_null(d.rec);
	d.n = n;
	for (i = 0; i < n; i++) {
		struct rs_secret_rec *r = &d.rec[i];

		(void)snprintf(r->name, sizeof(r->name), "%s", a[i].name);
		r->uid = uid_of(a[i].name);
		r->generation = a[i].gen ? a[i].gen : 1;
		r->flags = a[i].flags;
		hash(a[i].cur, a[i].argon, r->current);
		r->current_since = now - 10;
		if (a[i].prev) {
			hash_like(a[i].prev, a[i].argon, r, r->previous);
			r->previous_deadline = now + a[i].deadline;
			r->previous_limit = now + (a[i].limit ? a[i].limit : a[i].deadline);
		}
		if (a[i].revoked)
			hash_like(a[i].revoked, a[i].argon, r, r->revoked[r->nrevoked++]);
		for (unsigned t = 0; t < a[i].ntripwires && r->nrevoked < RS_TRIPWIRE_MAX; t++) {
			char pw[32];

			(void)snprintf(pw, sizeof(pw), "tripwire-%02u", t);
			hash_like(pw, a[i].argon, r, r->revoked[r->nrevoked++]);
		}
	}
	assert_int_equal(rs_store_w_open(dir, 5000, &w, why, sizeof(why)), 0);
	assert_int_equal(rs_store_write_secrets(&w, &d, 1, gid), 0);
	rs_store_w_close(&w);
	free(d.rec);
	write_accounts(dir, a, n);
}

static void write_store(const char *dir, const struct acct *a, size_t n)
{
	write_store_gid(dir, a, n, 0);
}

static const struct acct main_accounts[] = {
        {.name = "svc-a",
         .cur = PW_CUR,
         .prev = PW_PREV,
         .deadline = 3600,
         .revoked = PW_OLD,
         .gen = 7},
        {.name = "svc-b", .cur = PW_B},
        {.name = "svc-off", .cur = PW_CUR, .flags = RS_SECRET_DISABLED},
        /* also a local account (passwd_text): never rotsec's */
        {.name = "svc-local", .cur = PW_B},
};

/* A stack file in confdir: `text` with @MOD@, @STORE@ and @RUN@ replaced by the module,
 * the store `st` (NULL: the main one) and the run dir. */
static void service(const char *name, const char *text, const char *st)
{
	char path[PATH_MAX];
	const char *p;
	FILE *f;

	pathf(path, "%s/%s", confdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	for (p = text; *p; p++) {
		if (strncmp(p, "@MOD@", 5) == 0) {
			/* every stack reads the test's passwd file, not the host's */
			(void)fprintf(f, "%s passwd=%s", module, passwd_file);
			p += 4;
		} else if (strncmp(p, "@STORE@", 7) == 0) {
			(void)fputs(st ? st : store, f);
			p += 6;
		} else if (strncmp(p, "@RUN@", 5) == 0) {
			(void)fputs(run_dir, f);
			p += 4;
		} else {
			(void)fputc(*p, f);
		}
	}
	(void)fclose(f);
}

/* The standard stack over store `st` with extra options. */
static void std_service(const char *name, const char *st, const char *extra)
{
	char text[4096];

	(void)snprintf(text, sizeof(text),
	               "auth     required @MOD@ store=@STORE@ run=@RUN@ nodelay %s\n"
	               "account  required @MOD@ store=@STORE@ %s\n"
	               "password required @MOD@ store=@STORE@ %s\n"
	               "session  optional @MOD@\n",
	               extra ? extra : "", extra ? extra : "", extra ? extra : "");
	service(name, text, st);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void find_module(void)
{
	const char *env = getenv("ROTSEC_PAM_MODULE");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		pathf(module, "%s", env);
		return;
	}
	/* This program is $O/asan/tests/module/test_pam; the module is $O/asan/pam_rotsec.so. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	pathf(module, "%s/../../pam_rotsec.so", exe);
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		(void)fprintf(stderr, "test_pam runs as root (store files must be root-owned)\n");
		return -1;
	}
	if (rs_crypto_init() < 0)
		return -1;
	pthread_atfork(log_lock_take, log_lock_drop, log_lock_drop);
	find_module();
	if (access(module, R_OK) != 0) {
		(void)fprintf(stderr, "module %s: %s\n", module, strerror(errno));
		return -1;
	}
	(void)snprintf(tmp, sizeof(tmp), "/tmp/rotsec-pam.XXXXXX");
	if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0)
		return -1;
	pathf(store, "%s/store", tmp);
	pathf(run_dir, "%s/run", tmp);
	pathf(confdir, "%s/pam.d", tmp);
	pathf(passwd_file, "%s/passwd", tmp);
	mkdir(confdir, 0755);
	{
		FILE *f = fopen(passwd_file, "w");

		if (!f || fputs(passwd_text, f) < 0 || fclose(f) != 0)
			return -1;
	}
	/* what libpam falls back to for a service without a file: nothing gets in */
	service("other",
	        "auth required pam_deny.so\naccount required pam_deny.so\n"
	        "password required pam_deny.so\nsession required pam_deny.so\n",
	        NULL);
	write_store(store, main_accounts, sizeof(main_accounts) / sizeof(main_accounts[0]));
	std_service(SERVICE, NULL, NULL);
	/* without nodelay */
	service("rs-delay", "auth required @MOD@ store=@STORE@ run=@RUN@\n", NULL);
	std_service("rs-noprev", NULL, "no_previous");
	std_service("rs-audit", NULL, "audit");
	std_service("rs-odd-options", NULL, "frobnicate=1 debug");
	/* The auth line of ARCHITECTURE.md, contract §4, followed by what Debian's common-auth has
	 * after pam_unix. */
	service("rs-stack",
	        "auth [success=done user_unknown=ignore default=die] @MOD@ store=@STORE@ "
	        "run=@RUN@ nodelay\n"
	        "auth required pam_permit.so\n"
	        "password [ignore=ignore default=die] @MOD@ store=@STORE@\n"
	        "password required pam_permit.so\n"
	        "session optional @MOD@\n"
	        "session required pam_permit.so\n",
	        NULL);
	/* A second module reusing the password the first one asked for. */
	service("rs-twice",
	        "auth optional @MOD@ store=@STORE@ run=@RUN@ nodelay\n"
	        "auth required @MOD@ store=@STORE@ run=@RUN@ nodelay use_first_pass\n",
	        NULL);
	service("rs-firstpass",
	        "auth required @MOD@ store=@STORE@ run=@RUN@ nodelay use_first_pass\n", NULL);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (tmp[0] && !getenv("KEEP_T"))
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	log_reset();
	resolve_as(NULL, 0);
	return 0;
}

/* ---- driving libpam ---------------------------------------------------------------- */

enum conv_mode {
	CONV_ANSWER,    /* answer echo-off prompts with pw */
	CONV_FAIL,      /* return PAM_CONV_ERR */
	CONV_NULL,      /* PAM_SUCCESS with *resp = NULL */
	CONV_NULL_TEXT, /* PAM_SUCCESS with resp[0].resp = NULL */
};

struct conv {
	enum conv_mode mode;
	const char *pw;
	int prompts;     /* echo-off prompts seen */
	int messages;    /* error and info messages seen */
	char text[2048]; /* those messages, one a line */
};

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct conv *c = data;
	struct pam_response *r;
	int i;

	*resp = NULL;
	if (c->mode == CONV_FAIL)
		return PAM_CONV_ERR;
	if (c->mode == CONV_NULL)
		return PAM_SUCCESS;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			c->prompts++;
			if (c->mode == CONV_ANSWER)
				r[i].resp = strdup(c->pw ? c->pw : "");
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			c->messages++;
			(void)snprintf(c->text + strlen(c->text), sizeof(c->text) - strlen(c->text),
			               "%s\n", msg[i]->msg);
			break;
		default:
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* What libpam asked the fail-delay callback for, on the last call. */
static struct {
	int called, status;
	unsigned usec;
} delay;

static void delay_fn(int status, unsigned usec, void *data)
{
	(void)data;
	delay.called++;
	delay.status = status;
	delay.usec = usec;
}

enum op { AUTH, ACCT, CHAUTHTOK, SETCRED, OPEN_SESSION };

/* Every password the tests use: none may ever reach the log. */
static const char *const secrets[] = {
        PW_CUR, PW_PREV, PW_OLD, PW_B, PW_ARGON, "short-pw-40", "wrong-password-xyz"};

static void assert_no_secret_logged(const struct conv *c)
{
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(logbuf, secrets[i]))
			fail_msg("password '%s' logged:\n%s", secrets[i], logbuf);
	if (c && c->pw && strlen(c->pw) >= 8 && strstr(logbuf, c->pw))
		fail_msg("the password given was logged:\n%s", logbuf);
}

static int run_flags(const char *svc, const char *user, struct conv *c, enum op op, int flags)
{
	struct pam_conv pc = {conv_fn, c};
	pam_handle_t *pamh = NULL;
	int rv;

	rv = pam_start_confdir(svc, user, &pc, confdir, &pamh);
	assert_int_equal(rv, PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_RHOST, RHOST), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_RUSER, RUSER), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)delay_fn), PAM_SUCCESS);
	memset(&delay, 0, sizeof(delay));
	switch (op) {
	case AUTH:
		rv = pam_authenticate(pamh, flags);
		break;
	case ACCT:
		rv = pam_acct_mgmt(pamh, flags);
		break;
	case CHAUTHTOK:
		rv = pam_chauthtok(pamh, flags);
		break;
	case SETCRED:
		rv = pam_setcred(pamh, flags | PAM_ESTABLISH_CRED);
		break;
	case OPEN_SESSION:
		rv = pam_open_session(pamh, flags);
		if (rv == PAM_SUCCESS)
			rv = pam_close_session(pamh, flags);
		break;
	}
	pam_end(pamh, rv);
	assert_no_secret_logged(c);
	return rv;
}

static int run(const char *svc, const char *user, struct conv *c, enum op op)
{
	return run_flags(svc, user, c, op, 0);
}

/* Without cmocka assertions: for forked children and threads, where a failed assertion
 * would longjmp into the parent's test runner. -1 when the handle cannot be made. */
static int raw_auth(const char *svc, const char *user, const char *pw)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = pw};
	struct pam_conv pc = {conv_fn, &c};
	pam_handle_t *pamh = NULL;
	int rv;

	if (pam_start_confdir(svc, user, &pc, confdir, &pamh) != PAM_SUCCESS)
		return -1;
	rv = pam_authenticate(pamh, 0);
	pam_end(pamh, rv);
	return rv;
}

static int auth_pw(const char *svc, const char *user, const char *pw)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = pw};

	return run(svc, user, &c, AUTH);
}

/* One entry point called directly (dlopen) on a real handle, for the exact code it
 * returns, which the stack would otherwise translate (PAM_IGNORE, PAM_USER_UNKNOWN). */
static int direct(const char *sym, const char *user, int flags, const char *st)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = ""};
	struct pam_conv pc = {conv_fn, &c};
	pam_handle_t *pamh = NULL;
	char opt[PATH_MAX + 8], popt[PATH_MAX + 8];
	const char *argv[] = {opt, "nodelay", popt};
	int (*fn)(pam_handle_t *, int, int, const char **);
	void *h;
	int rv;

	pathf(opt, "store=%s", st ? st : store);
	pathf(popt, "passwd=%s", passwd_file);
	h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	*(void **)&fn = dlsym(h, sym);
	assert_non_null(fn);
	assert_int_equal(pam_start_confdir(SERVICE, user, &pc, confdir, &pamh), PAM_SUCCESS);
	rv = fn(pamh, flags, 3, argv);
	pam_end(pamh, rv);
	dlclose(h);
	return rv;
}

/* ---- the current secret ------------------------------------------------------------ */

static void current_secret_authenticates(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_CUR), PAM_SUCCESS);
	assert_logged(LOG_INFO, "current secret accepted for svc-a (rhost=" RHOST " ruser=" RUSER);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_SUCCESS);
}

static void current_secret_authenticates_with_an_argon2_hash(void **state)
{
	char dir[PATH_MAX];
	struct acct a = {.name = "svc-argon",
	                 .cur = PW_ARGON,
	                 .prev = "short-pw-40",
	                 .deadline = 3600,
	                 .argon = 1};

	(void)state;
	pathf(dir, "%s/store-argon", tmp);
	write_store(dir, &a, 1);
	std_service("rs-argon", dir, NULL);
	assert_int_equal(auth_pw("rs-argon", "svc-argon", PW_ARGON), PAM_SUCCESS);
	assert_int_equal(auth_pw("rs-argon", "svc-argon", "short-pw-40"), PAM_SUCCESS);
	assert_int_equal(auth_pw("rs-argon", "svc-argon", "short-pw-42"), PAM_AUTH_ERR);
}

static void another_accounts_secret_is_refused(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_B), PAM_AUTH_ERR);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_CUR), PAM_AUTH_ERR);
}

/* ---- the previous secret ----------------------------------------------------------- */

static void previous_secret_authenticates_during_grace_with_a_notice(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_PREV), PAM_SUCCESS);
	assert_logged(LOG_NOTICE, "previous secret used for svc-a, valid ");
	assert_logged(LOG_NOTICE, " more seconds (rhost=" RHOST " ruser=" RUSER ")");
	/* "valid N more seconds" with N the time left of the hour of grace */
	{
		const char *p = strstr(logbuf, "valid ");
		long n = strtol(p + 6, NULL, 10);

		assert_in_range(n, 3500, 3600);
	}
}

static void previous_secret_refused_after_deadline_even_without_daemon(void **state)
{
	char dir[PATH_MAX];
	struct acct a = {.name = "svc-a", .cur = PW_CUR, .prev = PW_PREV, .deadline = 2};
	time_t until;

	(void)state;
	pathf(dir, "%s/store-deadline", tmp);
	write_store(dir, &a, 1);
	until = time(NULL) + 2;
	std_service("rs-deadline", dir, NULL);
	assert_int_equal(auth_pw("rs-deadline", "svc-a", PW_PREV), PAM_SUCCESS);
	assert_logged(LOG_NOTICE, "previous secret used for svc-a");
	/* Nothing rewrites the store: the module alone enforces the deadline. */
	while (time(NULL) <= until)
		sleep(1);
	log_reset();
	assert_int_equal(auth_pw("rs-deadline", "svc-a", PW_PREV), PAM_AUTH_ERR);
	assert_logged(LOG_WARNING, "previous secret of svc-a refused: its grace period is over");
	assert_int_equal(auth_pw("rs-deadline", "svc-a", PW_CUR), PAM_SUCCESS);
}

static void previous_secret_refused_after_max_grace_even_if_its_deadline_is_later(void **state)
{
	char dir[PATH_MAX];
	struct acct a = {
	        .name = "svc-a", .cur = PW_CUR, .prev = PW_PREV, .deadline = 3600, .limit = -1};

	(void)state;
	pathf(dir, "%s/store-limit", tmp);
	write_store(dir, &a, 1);
	std_service("rs-limit", dir, NULL);
	assert_int_equal(auth_pw("rs-limit", "svc-a", PW_PREV), PAM_AUTH_ERR);
	assert_int_equal(auth_pw("rs-limit", "svc-a", PW_CUR), PAM_SUCCESS);
}

static void previous_secret_refused_with_no_previous(void **state)
{
	(void)state;
	assert_int_equal(auth_pw("rs-noprev", "svc-a", PW_PREV), PAM_AUTH_ERR);
	assert_logged(LOG_NOTICE, "previous secret of svc-a refused: no_previous");
	assert_int_equal(auth_pw("rs-noprev", "svc-a", PW_CUR), PAM_SUCCESS);
}

/* ---- refused secrets ---------------------------------------------------------------- */

static void revoked_secret_is_refused_with_an_alert(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_OLD), PAM_AUTH_ERR);
	assert_logged(LOG_ALERT, "revoked secret of svc-a presented (rhost=" RHOST);
}

static void wrong_password_is_refused_with_a_notice(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_logged(LOG_NOTICE, "authentication failure for svc-a (rhost=" RHOST);
	assert_false(logged(LOG_ALERT, "svc-a"));
}

static void empty_password_is_refused(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", ""), PAM_AUTH_ERR);
	assert_int_equal(auth_pw(SERVICE, "svc-a", "x"), PAM_AUTH_ERR);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static void passwords_up_to_512_bytes_work_and_longer_ones_are_refused(void **state)
{
	char dir[PATH_MAX];
	char *p511 = repeat('a', 511), *p512 = repeat('b', 512), *p513 = repeat('c', 513);
	char *p64k = repeat('d', (size_t)64 * 1024);
	struct acct a[] = {
	        {.name = "svc-511", .cur = p511},
	        {.name = "svc-512", .cur = p512},
	        {.name = "svc-513", .cur = p513},
	        {.name = "svc-64k", .cur = p64k},
	};

	(void)state;
	pathf(dir, "%s/store-long", tmp);
	write_store(dir, a, 4);
	std_service("rs-long", dir, NULL);
	assert_int_equal(auth_pw("rs-long", "svc-511", p511), PAM_SUCCESS);
	assert_int_equal(auth_pw("rs-long", "svc-512", p512), PAM_SUCCESS);
	/* PAM_MAX_RESP_SIZE is 512: longer is refused even when it is the stored secret. */
	assert_int_equal(auth_pw("rs-long", "svc-513", p513), PAM_AUTH_ERR);
	assert_int_equal(auth_pw("rs-long", "svc-64k", p64k), PAM_AUTH_ERR);
	/* and a long password against a normal account */
	assert_int_equal(auth_pw(SERVICE, "svc-a", p64k), PAM_AUTH_ERR);
	assert_int_equal(auth_pw(SERVICE, "svc-a", p513), PAM_AUTH_ERR);
	assert_int_equal(auth_pw(SERVICE, "nobody-here", p64k), PAM_USER_UNKNOWN);
	free(p511);
	free(p512);
	free(p513);
	free(p64k);
}

/* ---- accounts ------------------------------------------------------------------------ */

static void unknown_user_is_user_unknown_after_a_prompt(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = PW_CUR};

	(void)state;
	assert_int_equal(run(SERVICE, "nobody-here", &c, AUTH), PAM_USER_UNKNOWN);
	/* prompted like a real account, so prompts tell nothing either */
	assert_int_equal(c.prompts, 1);
	/* one debug line, as every other verdict sends one line (timing), and the name in
	 * it only with debug or audit */
	assert_logged(LOG_DEBUG, "auth: not a rotsec account (name not logged)");
	assert_null(strstr(logbuf, "nobody-here"));
}

/*
 * A name of the local passwd file is never a rotsec account (issue 13): answered before
 * the store is touched, without a prompt (pam_unix asks next) and without a line, even
 * when the store has a record of that name, whatever state the store is in.
 */
static void local_accounts_are_answered_before_the_store_whatever_its_state(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = PW_B};
	char dir[PATH_MAX];
	static const char *const local[] = {"root", LOCAL_USER, "svc-local"};

	(void)state;
	/* svc-local's rotsec secret opens nothing: the local account is pam_unix's. */
	assert_int_equal(run(SERVICE, "svc-local", &c, AUTH), PAM_USER_UNKNOWN);
	assert_int_equal(c.prompts, 0);
	assert_int_equal(run(SERVICE, "svc-local", &c, ACCT), PAM_USER_UNKNOWN);
	assert_int_equal(direct("pam_sm_chauthtok", "svc-local", PAM_PRELIM_CHECK, NULL),
	                 PAM_IGNORE);
	assert_int_equal(direct("pam_sm_setcred", "svc-local", PAM_ESTABLISH_CRED, NULL),
	                 PAM_USER_UNKNOWN);
	assert_int_equal(loglen, 0);
	/* A store that is not even a directory: still not touched for them. */
	pathf(dir, "%s/passwd", tmp);
	std_service("rs-local-nostore", dir, NULL);
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		count_reset();
		assert_int_equal(run("rs-local-nostore", local[i], &c, AUTH), PAM_USER_UNKNOWN);
		assert_int_equal(run("rs-local-nostore", local[i], &c, ACCT), PAM_USER_UNKNOWN);
		assert_int_equal(n_b2b + n_argon + n_resolve, 0);
	}
	assert_int_equal(c.prompts, 0);
	assert_int_equal(loglen, 0);
	/* With audit, the name is logged as any other that is not a rotsec account. */
	assert_int_equal(auth_pw("rs-audit", "svc-local", PW_B), PAM_USER_UNKNOWN);
	assert_logged(LOG_NOTICE, "auth: svc-local is not a rotsec account");
}

/* A line's first field, exactly: neither a prefix nor a longer name is that account. The
 * file is read again when it is replaced, as useradd replaces it. */
static void local_names_are_matched_exactly_and_the_file_is_read_again(void **state)
{
	static const char *const not_local[] = {"roo", "rootx", "oot", "aemon", "pamloca"};
	char dir[PATH_MAX], path[PATH_MAX];
	FILE *f;

	(void)state;
	pathf(dir, "%s/store-exact", tmp);
	write_store(dir, main_accounts, 2);
	assert_int_equal(chmod(dir, 0777), 0); /* unsafe: a name that is not local is refused */
	std_service("rs-exact", dir, NULL);
	assert_int_equal(auth_pw("rs-exact", "root", PW_CUR), PAM_USER_UNKNOWN);
	assert_int_equal(auth_pw("rs-exact", "daemon", PW_CUR), PAM_USER_UNKNOWN);
	for (size_t i = 0; i < sizeof(not_local) / sizeof(not_local[0]); i++)
		assert_int_equal(auth_pw("rs-exact", not_local[i], PW_CUR), PAM_AUTHINFO_UNAVAIL);
	/* a user added (the file replaced): local at once; the last line without a newline */
	pathf(path, "%s/passwd.new", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(passwd_text, f) >= 0);
	assert_true(fputs("roo:x:1002:1002::/:/bin/sh", f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(path, passwd_file), 0);
	assert_int_equal(auth_pw("rs-exact", "roo", PW_CUR), PAM_USER_UNKNOWN);
	assert_int_equal(auth_pw("rs-exact", "rootx", PW_CUR), PAM_AUTHINFO_UNAVAIL);
	/* and back */
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(passwd_text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(path, passwd_file), 0);
	assert_int_equal(auth_pw("rs-exact", "roo", PW_CUR), PAM_AUTHINFO_UNAVAIL);
}

/* A passwd file that cannot be read tells no one apart: the store decides, as before
 * there was a rule, and the line says why. */
static void an_unreadable_passwd_file_leaves_the_store_to_decide(void **state)
{
	(void)state;
	service("rs-nopasswd",
	        "auth required @MOD@ store=@STORE@ run=@RUN@ nodelay passwd=/nonexistent/passwd\n",
	        NULL);
	assert_int_equal(auth_pw("rs-nopasswd", "svc-a", PW_CUR), PAM_SUCCESS);
	assert_logged(LOG_ERR, "cannot read /nonexistent/passwd: No such file or directory");
	assert_int_equal(auth_pw("rs-nopasswd", "root", PW_CUR), PAM_USER_UNKNOWN);
}

/*
 * What a login costs (issue 13): one resolution of a rotsec account's name and one hash
 * computation per entry of the store's cost profile, whatever the verdict and whoever
 * asks; in a BLAKE2b store one BLAKE2b computation, in a store with Argon2id accounts
 * keeping 16 tripwires one Argon2id computation, in a mixed store one of each.
 */
static void every_verdict_costs_one_resolution_and_the_profiles_computations(void **state)
{
	static const struct acct mixed[] = {
	        {.name = "svc-a",
	         .cur = PW_CUR,
	         .prev = PW_PREV,
	         .deadline = 3600,
	         .revoked = PW_OLD},
	        {.name = "svc-argon",
	         .cur = PW_ARGON,
	         .prev = "short-pw-40",
	         .deadline = 3600,
	         .argon = 2,
	         .ntripwires = RS_TRIPWIRE_MAX - 1,
	         .revoked = "short-pw-39"},
	        {.name = "svc-off", .cur = PW_ARGON, .argon = 2, .flags = RS_SECRET_DISABLED},
	};
	struct {
		const char *store, *user, *pw;
		int rv;
	} cases[] = {
	        {"main", "svc-a", PW_CUR, PAM_SUCCESS},
	        {"main", "svc-a", PW_PREV, PAM_SUCCESS},
	        {"main", "svc-a", PW_OLD, PAM_AUTH_ERR},
	        {"main", "svc-a", "wrong-password-xyz", PAM_AUTH_ERR},
	        {"main", "svc-a", "", PAM_AUTH_ERR},
	        {"main", "svc-off", PW_CUR, PAM_AUTH_ERR},
	        {"main", "nobody-here", PW_CUR, PAM_USER_UNKNOWN},
	        {"main", "Not/A/Name", PW_CUR, PAM_USER_UNKNOWN},
	        {"mixed", "svc-a", PW_CUR, PAM_SUCCESS},
	        {"mixed", "svc-a", PW_OLD, PAM_AUTH_ERR},
	        {"mixed", "svc-argon", PW_ARGON, PAM_SUCCESS},
	        {"mixed", "svc-argon", "short-pw-40", PAM_SUCCESS},
	        {"mixed", "svc-argon", "short-pw-39", PAM_AUTH_ERR},
	        {"mixed", "svc-argon", "tripwire-14", PAM_AUTH_ERR},
	        {"mixed", "svc-argon", "wrong-password-xyz", PAM_AUTH_ERR},
	        {"mixed", "svc-off", PW_ARGON, PAM_AUTH_ERR},
	        {"mixed", "nobody-here", PW_ARGON, PAM_USER_UNKNOWN},
	        {"argon", "svc-argon", PW_ARGON, PAM_SUCCESS},
	        {"argon", "svc-argon", "tripwire-00", PAM_AUTH_ERR},
	        {"argon", "svc-argon", "wrong-password-xyz", PAM_AUTH_ERR},
	        {"argon", "svc-off", PW_ARGON, PAM_AUTH_ERR},
	        {"argon", "nobody-here", PW_ARGON, PAM_USER_UNKNOWN},
	};
	char dir[PATH_MAX];

	(void)state;
	pathf(dir, "%s/store-mixed", tmp);
	write_store(dir, mixed, 3);
	std_service("mixed", dir, NULL);
	pathf(dir, "%s/store-argon16", tmp);
	write_store(dir, mixed + 1, 2);
	std_service("argon", dir, NULL);
	std_service("main", NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned want_b2b = strcmp(cases[i].store, "argon") != 0;
		unsigned want_argon = strcmp(cases[i].store, "main") != 0;

		count_reset();
		assert_int_equal(auth_pw(cases[i].store, cases[i].user, cases[i].pw), cases[i].rv);
		if (n_b2b != want_b2b || n_argon != want_argon || n_resolve != 1)
			fail_msg("%s store, %s: %u BLAKE2b, %u Argon2id, %u resolutions; want %u, "
			         "%u, 1",
			         cases[i].store, cases[i].user, n_b2b, n_argon, n_resolve, want_b2b,
			         want_argon);
	}
}

static void disabled_account_is_refused_in_auth_and_expired_in_account(void **state)
{
	struct conv c = {.mode = CONV_ANSWER};

	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-off", PW_CUR), PAM_AUTH_ERR);
	assert_logged(LOG_NOTICE, "account svc-off is disabled");
	assert_int_equal(auth_pw(SERVICE, "svc-off", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_int_equal(run(SERVICE, "svc-off", &c, ACCT), PAM_ACCT_EXPIRED);
}

static void account_step_accepts_rotsec_accounts_and_leaves_others(void **state)
{
	struct conv c = {.mode = CONV_ANSWER};

	(void)state;
	assert_int_equal(run(SERVICE, "svc-a", &c, ACCT), PAM_SUCCESS);
	assert_int_equal(run(SERVICE, "root", &c, ACCT), PAM_USER_UNKNOWN);
	assert_int_equal(c.prompts, 0);
}

/* ---- the store ------------------------------------------------------------------------ */

/*
 * A store that exists but cannot be used: auth and account fail closed for a rotsec
 * account and for any name the local passwd file does not have; root and a local user
 * are not touched (issue 13). The password step too.
 */
static void assert_store_refused_in(const char *svc, const char *dir, const char *why)
{
	struct conv c = {.mode = CONV_ANSWER};

	log_reset();
	assert_int_equal(auth_pw(svc, "svc-a", PW_CUR), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth_pw(svc, "nobody-here", PW_CUR), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run(svc, "svc-a", &c, ACCT), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run(svc, "nobody-here", &c, ACCT), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(c.prompts, 0);
	assert_logged(LOG_ERR, "cannot use the rotsec store: ");
	assert_logged(LOG_ERR, why);
	assert_logged(LOG_ERR, "rotsec accounts cannot log in until it is fixed");
	/* one error line a call */
	assert_int_equal(count_lines(), 4);
	assert_not_logged_above_debug("nobody-here");
	/* local accounts: not rotsec's, whatever the store */
	assert_int_equal(auth_pw(svc, "root", PW_CUR), PAM_USER_UNKNOWN);
	assert_int_equal(auth_pw(svc, LOCAL_USER, PW_CUR), PAM_USER_UNKNOWN);
	assert_int_equal(run(svc, "root", &c, ACCT), PAM_USER_UNKNOWN);
	assert_int_equal(count_lines(), 4);
	/* the password step alike (dir: the store= of svc) */
	if (dir) {
		assert_int_equal(direct("pam_sm_chauthtok", "root", PAM_PRELIM_CHECK, dir),
		                 PAM_IGNORE);
		assert_int_equal(direct("pam_sm_chauthtok", "nobody-here", PAM_PRELIM_CHECK, dir),
		                 PAM_AUTHINFO_UNAVAIL);
		assert_int_equal(direct("pam_sm_chauthtok", "svc-a", PAM_PRELIM_CHECK, dir),
		                 PAM_AUTHINFO_UNAVAIL);
	}
}

static void assert_store_refused(const char *svc, const char *why)
{
	assert_store_refused_in(svc, NULL, why);
}

/* A fresh copy of the main store in DIR (a new path, so no mapping is cached for it). */
static void fresh_store(char *dir, const char *name)
{
	pathf(dir, "%s/%s", tmp, name);
	write_store(dir, main_accounts, 2);
	std_service(name, dir, NULL);
	assert_int_equal(auth_pw(name, "svc-a", PW_CUR), PAM_SUCCESS);
}

/*
 * No store at all, a host where the PAM line went in before the first sync or after the
 * store was removed: there are no rotsec accounts, every name goes on to the next module,
 * and each call says once that the store is missing (issue 13). A store directory with an
 * accounts.cdb but no secrets.cdb is a broken store: it fails closed.
 */
static void a_missing_store_means_no_rotsec_accounts(void **state)
{
	static const char *const names[] = {"svc-a", "nobody-here", "root", LOCAL_USER};
	struct conv c = {.mode = CONV_ANSWER, .pw = PW_CUR};
	char dir[PATH_MAX], path[PATH_MAX];
	static const char *const where[] = {"no-such-store", "store-empty-dir", "store-noaccounts"};

	(void)state;
	pathf(dir, "%s/store-empty-dir", tmp);
	mkdir(dir, 0755);
	pathf(dir, "%s/store-noaccounts", tmp); /* secrets.cdb alone: no accounts to speak of */
	write_store(dir, main_accounts, 2);
	pathf(path, "%s/accounts.cdb", dir);
	assert_int_equal(unlink(path), 0);
	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		pathf(dir, "%s/%s", tmp, where[w]);
		std_service(where[w], dir, NULL);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			log_reset();
			assert_int_equal(run(where[w], names[i], &c, AUTH), PAM_USER_UNKNOWN);
			assert_int_equal(run(where[w], names[i], &c, ACCT), PAM_USER_UNKNOWN);
			assert_int_equal(
			        direct("pam_sm_chauthtok", names[i], PAM_PRELIM_CHECK, dir),
			        PAM_IGNORE);
			if (i < 2) {
				/* one line a call, naming what is missing */
				assert_int_equal(count_lines(), 3);
				assert_logged(LOG_WARNING, "no rotsec store in ");
				assert_logged(LOG_WARNING, w ? "accounts.cdb does not exist"
				                             : "the directory does not exist");
			} else {
				assert_int_equal(count_lines(), 0);
			}
		}
	}
	assert_int_equal(c.prompts, 0);

	/* accounts.cdb without secrets.cdb: broken, not missing */
	pathf(dir, "%s/store-nosecrets", tmp);
	write_store(dir, main_accounts, 2);
	pathf(path, "%s/secrets.cdb", dir);
	assert_int_equal(unlink(path), 0);
	std_service("rs-nosecrets", dir, NULL);
	assert_store_refused_in("rs-nosecrets", dir, "secrets.cdb: No such file or directory");
	assert_logged(LOG_ERR, "rotsecctl sync writes it");
}

static void relative_store_option_fails_closed(void **state)
{
	(void)state;
	service("rs-relative",
	        "auth required @MOD@ store=var/lib/rotsec nodelay\n"
	        "account required @MOD@ store=var/lib/rotsec\n",
	        NULL);
	assert_store_refused("rs-relative", "not an absolute path");
}

static void symlinked_store_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], target[PATH_MAX];

	(void)state;
	fresh_store(dir, "store-symlink");
	pathf(path, "%s/secrets.cdb", dir);
	pathf(target, "%s/secrets.real", dir);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_store_refused("store-symlink", "is a symbolic link");
}

static void group_writable_store_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];

	(void)state;
	fresh_store(dir, "store-gw");
	pathf(path, "%s/secrets.cdb", dir);
	assert_int_equal(chmod(path, 0660), 0);
	assert_store_refused("store-gw", "secrets.cdb is writable by group or others");
}

static void store_in_a_group_writable_directory_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];

	(void)state;
	pathf(dir, "%s/store-gwdir", tmp);
	write_store(dir, main_accounts, 2);
	assert_int_equal(chmod(dir, 0775), 0);
	std_service("store-gwdir", dir, NULL);
	assert_store_refused("store-gwdir", "store-gwdir is writable by group or others");
	/* the fix, for that directory */
	assert_logged(LOG_ERR, "(mode 0775): chmod go-w ");
	/* 0777 too; and an unsafe directory is broken even without accounts.cdb: what it
	 * holds proves nothing */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_store_refused_in("store-gwdir", dir, "store-gwdir is writable by group or others");
	pathf(path, "%s/accounts.cdb", dir);
	assert_int_equal(unlink(path), 0);
	assert_store_refused("store-gwdir", "store-gwdir is writable by group or others");
}

static void store_owned_by_another_user_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];

	(void)state;
	fresh_store(dir, "store-owner");
	pathf(path, "%s/secrets.cdb", dir);
	assert_int_equal(chown(path, 1000, 1000), 0);
	assert_store_refused("store-owner", "secrets.cdb is not owned by root");
}

static void fifo_in_place_of_the_store_fails_closed_without_hanging(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];

	(void)state;
	fresh_store(dir, "store-fifo");
	pathf(path, "%s/secrets.cdb", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(20);
	assert_store_refused("store-fifo", "secrets.cdb is not a regular file");
	alarm(0);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void empty_store_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];

	(void)state;
	fresh_store(dir, "store-empty");
	pathf(path, "%s/secrets.cdb", dir);
	write_file(path, "", 0);
	assert_store_refused("store-empty", "secrets.cdb is not a valid store file");
}

static void read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	*buf = malloc(*len + 1);
	assert_non_null(*buf);
	assert_int_equal(read(fd, *buf, *len), (ssize_t)*len);
	close(fd);
}

static void truncated_store_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], *buf;
	size_t len;

	(void)state;
	fresh_store(dir, "store-trunc");
	pathf(path, "%s/secrets.cdb", dir);
	read_file(path, &buf, &len);
	write_file(path, buf, len / 2);
	free(buf);
	assert_store_refused("store-trunc", "secrets.cdb");
}

static void corrupt_store_fails_closed(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], *buf;
	size_t len, i;
	unsigned seed = 7;

	(void)state;
	fresh_store(dir, "store-corrupt");
	pathf(path, "%s/secrets.cdb", dir);
	read_file(path, &buf, &len);
	/* keep the size, scramble everything after the 2 KiB table of tables */
	for (i = 2048; i < len; i++)
		buf[i] = (char)rand_r(&seed);
	write_file(path, buf, len);
	free(buf);
	assert_store_refused_in("store-corrupt", dir, "secrets.cdb");
}

static void store_of_another_format_fails_closed(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	/* an accounts.cdb renamed secrets.cdb: valid CDB, wrong header */
	pathf(dir, "%s/store-wrongmagic", tmp);
	mkdir(dir, 0755);
	{
		char path[PATH_MAX];
		struct cdb_make cm;
		static const char meta[] = "rotsec-accounts\0"
		                           "1\0"
		                           "1\0"
		                           "0\0"
		                           "0";
		int fd;

		pathf(path, "%s/secrets.cdb", dir);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		cdb_make_start(&cm, fd);
		cdb_make_add(&cm, RS_KEY_META, strlen(RS_KEY_META), meta, sizeof(meta));
		assert_int_equal(cdb_make_finish(&cm), 0);
		close(fd);
	}
	write_accounts(dir, main_accounts, 2);
	std_service("store-wrongmagic", dir, NULL);
	assert_store_refused("store-wrongmagic", "has no valid header");
}

static void malformed_record_fails_closed_for_that_account(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], meta[256], rec[2048];
	struct rs_secret_rec r = {.name = "svc-bad", .uid = 60010, .generation = 1};
	static const struct acct names[] = {{.name = "svc-bad"}, {.name = "svc-badhash"}};
	struct cdb_make cm;
	int fd, mlen, rlen;

	(void)state;
	pathf(dir, "%s/store-badrec", tmp);
	mkdir(dir, 0755);
	pathf(path, "%s/secrets.cdb", dir);
	mlen = snprintf(meta, sizeof(meta), "rotsec-secrets%c3%c1%c2%c%s", 0, 0, 0, 0,
	                "$rotsec-b2b$v=1$AAAAAAAAAAAAAAAAAAAAAA$"
	                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") +
	       1;
	/* svc-bad: a record that does not parse; svc-badhash: one whose hash string is not
	 * one rotsec writes */
	hash(PW_CUR, 0, r.current);
	rlen = rs_encode_secret(&r, rec, sizeof(rec));
	assert_true(rlen > 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	cdb_make_start(&cm, fd);
	cdb_make_add(&cm, RS_KEY_META, strlen(RS_KEY_META), meta, (unsigned)mlen);
	cdb_make_add(&cm, "sn:svc-bad", 10, rec, (unsigned)rlen - 2);
	(void)snprintf(r.name, sizeof(r.name), "svc-badhash");
	rlen = rs_encode_secret(&r, rec, sizeof(rec));
	{
		char *v = memmem(rec, (size_t)rlen, "$rotsec-b2b$v=1$", 16);

		assert_non_null(v);
		v[14] = '2'; /* $rotsec-b2b$v=2$: not a version rotsec writes */
	}
	cdb_make_add(&cm, "sn:svc-badhash", 14, rec, (unsigned)rlen);
	assert_int_equal(cdb_make_finish(&cm), 0);
	close(fd);
	write_accounts(dir, names, 2);
	std_service("rs-badrec", dir, NULL);
	assert_int_equal(auth_pw("rs-badrec", "svc-bad", PW_CUR), PAM_AUTHINFO_UNAVAIL);
	/* the record's name: one the store has */
	assert_logged(LOG_ERR, "the record of svc-bad is malformed");
	assert_int_equal(auth_pw("rs-badrec", "svc-badhash", PW_CUR), PAM_AUTHINFO_UNAVAIL);
	assert_logged(LOG_ERR, "the record of svc-badhash is malformed");
	/* other names still get their answer */
	assert_int_equal(auth_pw("rs-badrec", "root", PW_CUR), PAM_USER_UNKNOWN);
	assert_int_equal(auth_pw("rs-badrec", "nobody-here", PW_CUR), PAM_USER_UNKNOWN);
}

/*
 * cp over the store instead of a rename: the file is truncated in place, then written
 * again. The module keeps a copy of the file, not a mapping, so nothing is taken away
 * from under it (store_read.c): the login meanwhile fails closed, and the next one after
 * the file is whole again succeeds.
 */
static void a_store_truncated_in_place_fails_closed_and_recovers(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], *buf;
	size_t len;

	(void)state;
	fresh_store(dir, "store-inplace");
	pathf(path, "%s/secrets.cdb", dir);
	read_file(path, &buf, &len);
	write_file(path, buf, len / 3);
	assert_int_equal(auth_pw("store-inplace", "svc-a", PW_CUR), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth_pw("store-inplace", "root", PW_CUR), PAM_USER_UNKNOWN);
	write_file(path, buf, len);
	assert_int_equal(auth_pw("store-inplace", "svc-a", PW_CUR), PAM_SUCCESS);
	free(buf);
}

/*
 * The name a login program asks for is the account it starts a session of (getpwnam), so
 * a rotsec secret opens it only when that name resolves to the uid the store records
 * (issue 13): another source before rotsec in nsswitch.conf with an account of that name
 * gets a refusal, with a line saying what the name resolves to.
 */
static void a_secret_is_accepted_only_when_the_name_resolves_to_the_stores_uid(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = "new-password-123"};
	char want[128];

	(void)state;
	resolve_as("svc-b", 1234);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_AUTH_ERR);
	(void)snprintf(want, sizeof(want),
	               "secret of svc-b refused: svc-b resolves to uid 1234, the rotsec store has "
	               "uid %u",
	               (unsigned)uid_of("svc-b"));
	assert_logged(LOG_ERR, want);
	assert_logged(LOG_ERR, "(secret: current; rhost=" RHOST);
	assert_false(logged(LOG_INFO, "accepted"));
	/* whatever the password: the same refusal, after the same work */
	log_reset();
	assert_int_equal(auth_pw(SERVICE, "svc-b", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_logged(LOG_ERR, "(secret: no match;");
	assert_int_equal(auth_pw("rs-stack", "svc-b", PW_B), PAM_AUTH_ERR);
	/* the account and password steps leave that account to the next module */
	log_reset();
	assert_int_equal(run(SERVICE, "svc-b", &c, ACCT), PAM_USER_UNKNOWN);
	assert_logged(LOG_WARNING, "account: svc-b resolves to uid 1234");
	assert_int_equal(direct("pam_sm_chauthtok", "svc-b", PAM_PRELIM_CHECK, NULL), PAM_IGNORE);
	/* a name that does not resolve at all (rotsec missing from nsswitch.conf) */
	resolve_as("svc-b", -1);
	log_reset();
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_AUTH_ERR);
	assert_logged(LOG_ERR, "svc-b does not resolve through the name service (no such user): "
	                       "is rotsec on the passwd line of nsswitch.conf?");
	/* the account step keeps the store's answer then: no proof of another account, and
	 * a failing name service must not hand a rotsec account to the next module */
	assert_int_equal(run(SERVICE, "svc-b", &c, ACCT), PAM_SUCCESS);
	assert_int_equal(run(SERVICE, "svc-off", &c, ACCT), PAM_ACCT_EXPIRED);
	resolve_as(NULL, 0);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_SUCCESS);
}

/* The secrets.cdb of `dir` with the hash table slot of KEY pointing past the records: a
 * lookup of that key fails as on a damaged file, which the reader's checks of the whole
 * file cannot see (they check the tables' places, not every slot). */
static void damage_slot_of(const char *dir, const char *key)
{
	char path[PATH_MAX], *buf;
	size_t len;
	unsigned h = cdb_hash(key, (unsigned)strlen(key)), pos, n, i;

	pathf(path, "%s/secrets.cdb", dir);
	read_file(path, &buf, &len);
	pos = cdb_unpack((unsigned char *)buf + (size_t)(h & 255) * 8);
	n = cdb_unpack((unsigned char *)buf + (size_t)(h & 255) * 8 + 4);
	if (n == 0) {
		free(buf);
		fail_msg("no hash table slot for %s", key);
		return;
	}
	for (i = (h >> 8) % n;; i = (i + 1) % n) {
		unsigned char *slot = (unsigned char *)buf + pos + (size_t)i * 8;

		if (cdb_unpack(slot) == h) {
			slot[4] = slot[5] = slot[6] = 0xf0;
			slot[7] = 0x7f;
			break;
		}
	}
	write_file(path, buf, len);
	free(buf);
}

/*
 * A name typed into the user field may be a password: for a user that is not a rotsec
 * account it reaches the log only with debug (at debug level) or audit, on every path of
 * every step, whatever the store's state (issue 13).
 */
static void a_typed_name_is_logged_only_with_debug_or_audit_on_every_path(void **state)
{
	static const char *const names[] = {TYPED_NAME, TYPED_NAME2};
	static const enum conv_mode convs[] = {CONV_ANSWER, CONV_FAIL, CONV_NULL};
	const struct acct typed = {.name = TYPED_NAME2, .cur = PW_B};
	char dir[PATH_MAX];

	(void)state;
	/* the stores: fine, missing, unsafe, and one whose lookup of TYPED_NAME2 fails */
	pathf(dir, "%s/no-such-store-typed", tmp);
	std_service("typed-missing", dir, NULL);
	std_service("typed-missing-debug", dir, "debug");
	pathf(dir, "%s/store-typed-unsafe", tmp);
	write_store(dir, main_accounts, 2);
	assert_int_equal(chmod(dir, 0777), 0);
	std_service("typed-unsafe", dir, NULL);
	pathf(dir, "%s/store-typed-damaged", tmp);
	write_store(dir, &typed, 1);
	damage_slot_of(dir, RS_KEY_SECNAM TYPED_NAME2);
	std_service("typed-damaged", dir, NULL);
	std_service("typed-damaged-audit", dir, "audit");
	for (size_t n = 0; n < 2; n++) {
		static const char *const quiet[] = {SERVICE, "typed-missing", "typed-unsafe",
		                                    "typed-damaged"};

		log_reset();
		for (size_t q = 0; q < sizeof(quiet) / sizeof(quiet[0]); q++) {
			for (size_t k = 0; k < sizeof(convs) / sizeof(convs[0]); k++) {
				struct conv c = {.mode = convs[k], .pw = PW_CUR};

				(void)run(quiet[q], names[n], &c, AUTH);
			}
			{
				struct conv c = {.mode = CONV_ANSWER};

				(void)run(quiet[q], names[n], &c, ACCT);
				(void)run(quiet[q], names[n], &c, SETCRED);
				(void)run(quiet[q], names[n], &c, CHAUTHTOK);
			}
		}
		assert_null(strstr(logbuf, names[n]));
		/* with debug, only at debug level */
		log_reset();
		(void)auth_pw("rs-odd-options", names[n], PW_CUR);
		(void)auth_pw("typed-missing-debug", names[n], PW_CUR);
		{
			struct conv c = {.mode = CONV_FAIL};

			(void)run("rs-odd-options", names[n], &c, AUTH);
		}
		assert_non_null(strstr(logbuf, names[n]));
		assert_not_logged_above_debug(names[n]);
		/* with audit, at notice */
		log_reset();
		(void)auth_pw("rs-audit", names[n], PW_CUR);
		assert_logged(LOG_NOTICE, names[n]);
	}
	/* the damaged lookup says which record only to audit */
	log_reset();
	assert_int_equal(auth_pw("typed-damaged-audit", TYPED_NAME2, PW_B), PAM_AUTHINFO_UNAVAIL);
	assert_logged(LOG_ERR, "the record of " TYPED_NAME2 " is malformed");
}

/* Run `op` for `user` in a child that has become uid/gid 65534 with supplementary
 * groups `groups`; returns the PAM code, or 255 if log line `want` was missing. */
static int as_nobody(const char *svc, const char *user, const char *pw, gid_t group,
                     const char *want)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t groups[1] = {group};
		int rv;

		if (setgroups(group ? 1 : 0, groups) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(254);
		log_reset();
		rv = raw_auth(svc, user, pw);
		if (want && !strstr(logbuf, want)) {
			(void)fprintf(stderr, "missing '%s' in:\n%s", want, logbuf);
			_exit(255);
		}
		_exit(rv);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void caller_outside_group_rotsec_gets_authinfo_unavail_and_the_fix(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	/* 0600 root:root, as written where no group rotsec exists */
	pathf(dir, "%s/store-nonroot", tmp);
	write_store(dir, main_accounts, 2);
	std_service("rs-nonroot", dir, NULL);
	assert_int_equal(as_nobody("rs-nonroot", "svc-a", PW_CUR, 0, "usermod -aG rotsec"),
	                 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(as_nobody("rs-nonroot", "nobody-here", PW_CUR, 0, "Permission denied"),
	                 PAM_AUTHINFO_UNAVAIL);
	/* a local account is not rotsec's: no store needed to say so */
	assert_int_equal(as_nobody("rs-nonroot", "root", PW_CUR, 0, NULL), PAM_USER_UNKNOWN);
}

/* The module stays loaded for the life of the process (-z nodelete) and keeps its mapping
 * of secrets.cdb: a process that read it as root and then dropped its privileges must get
 * what a fresh process with its credentials gets, not the cached secrets. */
static void a_mapping_made_as_root_is_not_used_after_dropping_privileges(void **state)
{
	(void)state;
	/* The main store (0600 root:root), the first this process used: it has a slot in
	 * the module's cache, mapped as root. */
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_CUR), PAM_SUCCESS);
	assert_int_equal(as_nobody(SERVICE, "svc-a", PW_CUR, 0, "usermod -aG rotsec"),
	                 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(as_nobody(SERVICE, "nobody-here", PW_CUR, 0, "Permission denied"),
	                 PAM_AUTHINFO_UNAVAIL);
	/* and root still authenticates from the same mapping */
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_CUR), PAM_SUCCESS);
}

static void caller_in_group_rotsec_authenticates(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	/* 0640 root:rotsec (gid 4242 here) */
	pathf(dir, "%s/store-group", tmp);
	write_store_gid(dir, main_accounts, 2, 4242);
	std_service("rs-group", dir, NULL);
	assert_int_equal(as_nobody("rs-group", "svc-a", PW_CUR, 4242, NULL), PAM_SUCCESS);
	assert_int_equal(as_nobody("rs-group", "svc-a", PW_PREV, 4242, NULL), PAM_SUCCESS);
	assert_int_equal(as_nobody("rs-group", "svc-a", "wrong-password-xyz", 4242, NULL),
	                 PAM_AUTH_ERR);
	assert_int_equal(as_nobody("rs-group", "root", PW_CUR, 4242, NULL), PAM_USER_UNKNOWN);
	assert_int_equal(as_nobody("rs-group", "nobody-here", PW_CUR, 4242, NULL),
	                 PAM_USER_UNKNOWN);
	/* and not in the group: refused */
	assert_int_equal(as_nobody("rs-group", "svc-a", PW_CUR, 0, NULL), PAM_AUTHINFO_UNAVAIL);
}

static void replaced_store_is_picked_up_by_the_next_login(void **state)
{
	char dir[PATH_MAX];
	struct acct before = {.name = "svc-a", .cur = PW_PREV};
	struct acct after = {.name = "svc-a", .cur = PW_CUR, .prev = PW_PREV, .deadline = 60};
	struct acct revoked = {.name = "svc-a", .cur = PW_CUR, .revoked = PW_PREV};
	void *h;

	(void)state;
	pathf(dir, "%s/store-rotate", tmp);
	write_store(dir, &before, 1);
	std_service("rs-rotate", dir, NULL);
	/* keep the module loaded between handles, as a long-running program would, so the
	 * cached mapping must be revalidated */
	h = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	assert_int_equal(auth_pw("rs-rotate", "svc-a", PW_PREV), PAM_SUCCESS);
	assert_int_equal(auth_pw("rs-rotate", "svc-a", PW_CUR), PAM_AUTH_ERR);
	write_store(dir, &after, 1);
	assert_int_equal(auth_pw("rs-rotate", "svc-a", PW_CUR), PAM_SUCCESS);
	assert_int_equal(auth_pw("rs-rotate", "svc-a", PW_PREV), PAM_SUCCESS);
	write_store(dir, &revoked, 1);
	assert_int_equal(auth_pw("rs-rotate", "svc-a", PW_PREV), PAM_AUTH_ERR);
	assert_logged(LOG_ALERT, "revoked secret of svc-a");
	dlclose(h);
}

/* ---- password changes, setcred, sessions -------------------------------------------- */

static void password_change_of_a_rotsec_account_is_refused_with_a_message(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = "new-password-123"};

	(void)state;
	assert_int_equal(run(SERVICE, "svc-a", &c, CHAUTHTOK), PAM_PERM_DENIED);
	assert_string_equal(c.text,
	                    "password of svc-a is managed by rotsec; use rotsecctl rotate svc-a\n");
	assert_int_equal(c.messages, 1); /* once: refused in the preliminary pass */
	assert_int_equal(c.prompts, 0);
	assert_logged(LOG_NOTICE, "password change for svc-a refused");
}

static void password_change_is_silent_with_pam_silent(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = "new-password-123"};

	(void)state;
	assert_int_equal(run_flags(SERVICE, "svc-a", &c, CHAUTHTOK, PAM_SILENT), PAM_PERM_DENIED);
	assert_int_equal(c.messages, 0);
}

static void password_change_of_other_users_is_ignored(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = "new-password-123"};

	(void)state;
	assert_int_equal(direct("pam_sm_chauthtok", "root", PAM_PRELIM_CHECK, NULL), PAM_IGNORE);
	assert_int_equal(direct("pam_sm_chauthtok", "root", PAM_UPDATE_AUTHTOK, NULL), PAM_IGNORE);
	/* in a stack: the next module decides */
	assert_int_equal(run("rs-stack", "root", &c, CHAUTHTOK), PAM_SUCCESS);
	assert_int_equal(c.messages, 0);
	assert_int_equal(run("rs-stack", "svc-a", &c, CHAUTHTOK), PAM_PERM_DENIED);
	/* the update pass refuses too, without repeating the message */
	assert_int_equal(direct("pam_sm_chauthtok", "svc-a", PAM_UPDATE_AUTHTOK, NULL),
	                 PAM_PERM_DENIED);
}

static void setcred_is_harmless_without_a_prior_authenticate(void **state)
{
	struct conv c = {.mode = CONV_ANSWER};
	char dir[PATH_MAX];

	(void)state;
	assert_int_equal(direct("pam_sm_setcred", "svc-a", PAM_ESTABLISH_CRED, NULL), PAM_SUCCESS);
	assert_int_equal(direct("pam_sm_setcred", "root", PAM_ESTABLISH_CRED, NULL),
	                 PAM_USER_UNKNOWN);
	pathf(dir, "%s/no-such-store", tmp);
	assert_int_equal(direct("pam_sm_setcred", "svc-a", PAM_ESTABLISH_CRED, dir),
	                 PAM_USER_UNKNOWN);
	/* sshd calls pam_setcred after public-key logins, on a handle that never ran
	 * pam_authenticate: with the documented stack line it must succeed for everyone */
	assert_int_equal(run("rs-stack", "root", &c, SETCRED), PAM_SUCCESS);
	assert_int_equal(run("rs-stack", "svc-a", &c, SETCRED), PAM_SUCCESS);
	assert_int_equal(run("rs-stack", "nobody-here", &c, SETCRED), PAM_SUCCESS);
}

static void sessions_are_ignored(void **state)
{
	struct conv c = {.mode = CONV_ANSWER};

	(void)state;
	assert_int_equal(direct("pam_sm_open_session", "svc-a", 0, NULL), PAM_IGNORE);
	assert_int_equal(direct("pam_sm_close_session", "root", 0, NULL), PAM_IGNORE);
	assert_int_equal(run("rs-stack", "svc-a", &c, OPEN_SESSION), PAM_SUCCESS);
	assert_int_equal(run("rs-stack", "root", &c, OPEN_SESSION), PAM_SUCCESS);
}

static void documented_stack_line_passes_unknown_users_on(void **state)
{
	(void)state;
	/* [success=done user_unknown=ignore default=die] then pam_permit: rotsec accounts
	 * are decided by rotsec alone, others reach the next module */
	assert_int_equal(auth_pw("rs-stack", "svc-a", PW_CUR), PAM_SUCCESS);
	assert_int_equal(auth_pw("rs-stack", "svc-a", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_int_equal(auth_pw("rs-stack", "svc-a", PW_OLD), PAM_AUTH_ERR);
	assert_int_equal(auth_pw("rs-stack", "root", "anything-at-all"), PAM_SUCCESS);
}

/* ---- usage records ------------------------------------------------------------------ */

static void usage_is_recorded_with_service_rhost_and_ruser(void **state)
{
	struct rs_usage u;
	char path[PATH_MAX], *buf;
	size_t len;

	(void)state;
	pathf(path, "%s/svc-b.usage", run_dir);
	unlink(path);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_SUCCESS);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_SUCCESS);
	assert_int_equal(auth_pw(SERVICE, "svc-b", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_int_equal(rs_usage_read(run_dir, "svc-b", &u), 0);
	assert_int_equal(u.generation, 1);
	assert_int_equal(u.current_count, 2);
	assert_int_equal(u.previous_count, 0);
	assert_string_equal(u.last_secret, "current");
	assert_string_equal(u.service, SERVICE);
	assert_string_equal(u.rhost, RHOST);
	assert_string_equal(u.ruser, RUSER);
	assert_true(u.last_time >= (int64_t)time(NULL) - 60);
	read_file(path, &buf, &len);
	buf[len] = '\0';
	assert_null(strstr(buf, PW_B));
	free(buf);
}

static void previous_secret_use_is_counted_separately(void **state)
{
	struct rs_usage u;
	char path[PATH_MAX];

	(void)state;
	pathf(path, "%s/svc-a.usage", run_dir);
	unlink(path);
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_PREV), PAM_SUCCESS);
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_CUR), PAM_SUCCESS);
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_PREV), PAM_SUCCESS);
	assert_int_equal(auth_pw(SERVICE, "svc-a", PW_OLD), PAM_AUTH_ERR);
	assert_int_equal(rs_usage_read(run_dir, "svc-a", &u), 0);
	assert_int_equal(u.generation, 7);
	assert_int_equal(u.previous_count, 2);
	assert_int_equal(u.current_count, 1);
	assert_true(u.previous_last > 0);
	/* the revoked secret tried last is counted as a tripwire hit */
	assert_int_equal(u.tripwire_count, 1);
	assert_string_equal(u.last_secret, "revoked");
}

/* Every verdict that matched no secret rewrites the dummy record instead, the same work as
 * a success (usage.h): an unknown name, a wrong password, a disabled account. The account's
 * own record is left as it was, and nothing in the dummy names the account or the user. */
static void failures_rewrite_the_dummy_record_and_leave_the_accounts_alone(void **state)
{
	struct rs_usage before, after;
	char path[PATH_MAX], apath[PATH_MAX], *buf;
	struct stat st;
	size_t len;

	(void)state;
	pathf(path, "%s/" RS_USAGE_DUMMY_FILE, run_dir);
	pathf(apath, "%s/svc-b.usage", run_dir);
	unlink(path);
	assert_int_equal(auth_pw(SERVICE, "svc-b", PW_B), PAM_SUCCESS);
	assert_int_equal(stat(path, &st), -1); /* a success writes the account's record only */
	assert_int_equal(rs_usage_read(run_dir, "svc-b", &before), 0);

	assert_int_equal(auth_pw(SERVICE, "svc-b", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_int_equal(auth_pw(SERVICE, "no-such-user", PW_B), PAM_USER_UNKNOWN);
	assert_int_equal(auth_pw(SERVICE, "a:b", PW_B), PAM_USER_UNKNOWN);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	read_file(path, &buf, &len);
	buf[len] = '\0';
	assert_non_null(strstr(buf, "current 3 "));
	assert_null(strstr(buf, "svc-b"));
	assert_null(strstr(buf, "no-such-user"));
	assert_null(strstr(buf, PW_B));
	free(buf);
	assert_int_equal(rs_usage_read(run_dir, "svc-b", &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
}

/* The record is rewritten in place: a newer generation restarts the counters, and what is
 * left of a longer old record must not survive behind the new one. */
static void a_record_that_shrinks_is_cut_to_its_new_length(void **state)
{
	static const char longer[] = "rotsec-usage 1\ngeneration 1\n"
	                             "current 123456789 1700000000 1700000001\n"
	                             "previous 987654321 1700000000 1700000002\n"
	                             "tripwire 0 0\n"
	                             "last current 1700000001 some-long-service-name "
	                             "some.long.remote.host.example.org some-remote-user\n";
	struct rs_usage u;
	char path[PATH_MAX], *buf;
	size_t len;

	(void)state;
	pathf(path, "%s/svc-b.usage", run_dir);
	write_file(path, longer, sizeof(longer) - 1);
	assert_int_equal(rs_usage_read(run_dir, "svc-b", &u), 0);
	assert_int_equal(u.current_count, 123456789);
	assert_int_equal(rs_usage_record(run_dir, "svc-b", 2, 0, 1700000100, "s", "h", "u"), 0);
	read_file(path, &buf, &len);
	assert_true(len < sizeof(longer) - 1);
	free(buf);
	assert_int_equal(rs_usage_read(run_dir, "svc-b", &u), 0);
	assert_int_equal(u.generation, 2);
	assert_int_equal(u.current_count, 1);
	assert_int_equal(u.previous_count, 0);
	assert_string_equal(u.rhost, "h");
	unlink(path);
}

static void failing_to_record_usage_never_fails_a_login(void **state)
{
	char bad[PATH_MAX];

	(void)state;
	/* run= points below a regular file: nothing can be created there */
	pathf(bad, "%s/run-is-a-file", tmp);
	write_file(bad, "x", 1);
	service("rs-badrun", "auth required @MOD@ store=@STORE@ run=@RUN@-is-a-file/run nodelay\n",
	        NULL);
	assert_int_equal(auth_pw("rs-badrun", "svc-a", PW_CUR), PAM_SUCCESS);
	assert_logged(LOG_WARNING, "usage of svc-a not recorded");
	assert_int_equal(auth_pw("rs-badrun", "svc-a", PW_PREV), PAM_SUCCESS);
}

/* ---- fail delay ----------------------------------------------------------------------- */

static void failures_request_a_two_second_delay(void **state)
{
	(void)state;
	assert_int_equal(auth_pw("rs-delay", "svc-a", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_int_equal(delay.called, 1);
	assert_int_equal(delay.status, PAM_AUTH_ERR);
	/* libpam randomises the request by +-50% */
	assert_in_range(delay.usec, 1000000, 3000000);
	/* the same for a user that does not exist: it must not be faster to find out */
	assert_int_equal(auth_pw("rs-delay", "nobody-here", "wrong-password-xyz"),
	                 PAM_USER_UNKNOWN);
	assert_in_range(delay.usec, 1000000, 3000000);
}

static void nodelay_requests_no_delay(void **state)
{
	(void)state;
	assert_int_equal(auth_pw(SERVICE, "svc-a", "wrong-password-xyz"), PAM_AUTH_ERR);
	assert_int_equal(delay.called, 1);
	assert_int_equal(delay.usec, 0);
}

/* ---- adversarial input ---------------------------------------------------------------- */

static void adversarial_user_names_are_unknown(void **state)
{
	char n33[34], n300[301];
	const char *names[] = {"../x",
	                       "a/b",
	                       "-x",
	                       "a:b",
	                       n33,
	                       n300,
	                       "\xff\xfe\x80",
	                       "svc-a\n",
	                       "svc-a ",
	                       "SVC-A",
	                       "svc-a\nfake log line",
	                       "../store/svc-a",
	                       "sn:svc-a"};
	struct conv c = {.mode = CONV_ANSWER};
	size_t i;

	(void)state;
	memset(n33, 'a', 33);
	n33[33] = '\0';
	memset(n300, 'b', 300);
	n300[300] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		log_reset();
		assert_int_equal(auth_pw("rs-audit", names[i], PW_CUR), PAM_USER_UNKNOWN);
		assert_int_equal(run(SERVICE, names[i], &c, ACCT), PAM_USER_UNKNOWN);
		assert_int_equal(direct("pam_sm_chauthtok", names[i], PAM_PRELIM_CHECK, NULL),
		                 PAM_IGNORE);
		/* audit logs the name, escaped: no raw newline or high byte reaches the log */
		assert_logged(LOG_NOTICE, "is not a rotsec account");
		assert_null(strstr(logbuf, "\xff"));
		assert_null(strstr(logbuf, "fake log line\n"));
		if (strcmp(names[i], "svc-a\nfake log line") == 0)
			assert_logged(LOG_NOTICE, "auth: svc-a\\x0afake\\x20log\\x20line is not");
	}
}

static void failing_conversation_never_succeeds(void **state)
{
	static const enum conv_mode modes[] = {CONV_FAIL, CONV_NULL, CONV_NULL_TEXT};
	static const char *const users[] = {"svc-a", "nobody-here"};
	size_t i, j;

	(void)state;
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 2; j++) {
			struct conv c = {.mode = modes[i]};
			int rv = run(SERVICE, users[j], &c, AUTH);

			assert_int_equal(rv, PAM_AUTH_ERR);
		}
	}
	assert_logged(LOG_NOTICE, "cannot get the password of svc-a");
	/* another name: at debug level, and not the name (issue 13) */
	assert_logged(LOG_DEBUG, "cannot get the password of a user that is not a rotsec account");
	assert_not_logged_above_debug("nobody-here");
	assert_null(strstr(logbuf, "nobody-here"));
}

static void conversation_asking_for_the_user_name_is_handled(void **state)
{
	struct conv c = {.mode = CONV_FAIL};
	struct pam_conv pc = {conv_fn, &c};
	pam_handle_t *pamh = NULL;

	(void)state;
	/* no user given to pam_start: the module has to ask, and the conversation fails */
	assert_int_equal(pam_start_confdir(SERVICE, NULL, &pc, confdir, &pamh), PAM_SUCCESS);
	assert_int_not_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	c.mode = CONV_NULL;
	assert_int_equal(pam_start_confdir(SERVICE, NULL, &pc, confdir, &pamh), PAM_SUCCESS);
	assert_int_not_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	/* an empty name is nobody */
	assert_int_equal(auth_pw(SERVICE, "", PW_CUR), PAM_USER_UNKNOWN);
}

static void use_first_pass_takes_the_password_of_the_module_before(void **state)
{
	struct conv c = {.mode = CONV_ANSWER, .pw = PW_CUR};

	(void)state;
	assert_int_equal(run("rs-twice", "svc-a", &c, AUTH), PAM_SUCCESS);
	assert_int_equal(c.prompts, 1);
	/* with nothing before it, use_first_pass fails without asking */
	c.prompts = 0;
	assert_int_equal(run("rs-firstpass", "svc-a", &c, AUTH), PAM_AUTH_ERR);
	assert_int_equal(c.prompts, 0);
}

static void unknown_options_are_logged_and_ignored(void **state)
{
	(void)state;
	assert_int_equal(auth_pw("rs-odd-options", "svc-a", PW_CUR), PAM_SUCCESS);
	assert_logged(LOG_WARNING, "unknown option ignored: frobnicate=1");
	/* debug logs the verdict, never the password */
	assert_logged(LOG_DEBUG, "verdict: current");
}

/* ---- concurrency --------------------------------------------------------------------- */

static volatile int stop_threads;

/* A child stuck in a login aborts, so ASan prints where it was stuck. */
static void abort_on_alarm(int sig)
{
	(void)sig;
	abort();
}

/*
 * The sanitizer build's allocator (GCC 12's libasan) does not take its own locks around
 * fork: a child forked while another thread is inside malloc inherits that lock held and
 * hangs in its first malloc (how often: bench/README.md). That is the runtime's limit, not
 * the module's, so under ASan the threads pause around each fork. The release build runs
 * this same test unpaused under valgrind (t-valgrind), whose allocator is fork-safe and
 * whose scheduler switches threads anywhere, mid-login and inside the module's locks
 * included.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_PAUSES_THREADS 1
#else
#define FORK_PAUSES_THREADS 0
#endif
/* Writer-preferring: four readers back to back would otherwise starve the fork. */
static pthread_rwlock_t fork_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static void *login_loop(void *arg)
{
	long *failures = arg;
	int r;

	while (!stop_threads) {
		if (FORK_PAUSES_THREADS)
			pthread_rwlock_rdlock(&fork_gate);
		r = raw_auth("rs-threads", "svc-a", PW_CUR);
		if (FORK_PAUSES_THREADS)
			pthread_rwlock_unlock(&fork_gate);
		if (r != PAM_SUCCESS)
			(*failures)++;
	}
	return NULL;
}

static void logins_from_threads_survive_store_replacement_and_fork(void **state)
{
	char dir[PATH_MAX];
	struct acct a[2] = {
	        {.name = "svc-a", .cur = PW_CUR, .prev = PW_PREV, .deadline = 600},
	        {.name = "svc-a", .cur = PW_PREV, .prev = PW_CUR, .deadline = 600},
	};
	pthread_t th[4];
	long failures[4] = {0};
	void *h;
	int i;

	(void)state;
	pathf(dir, "%s/store-threads", tmp);
	write_store(dir, &a[0], 1);
	std_service("rs-threads", dir, NULL);
	h = dlopen(module, RTLD_NOW | RTLD_LOCAL); /* keep the cache alive throughout */
	assert_non_null(h);
	stop_threads = 0;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, login_loop, &failures[i]), 0);
	for (i = 0; i < 20; i++) {
		pid_t pid;
		int st;

		/* PW_CUR stays accepted (current or previous) across every rewrite */
		write_store(dir, &a[i % 2], 1);
		/* a child forked mid-login must be able to log in: no lock inherited held */
		if (FORK_PAUSES_THREADS)
			pthread_rwlock_wrlock(&fork_gate);
		pid = fork();
		if (FORK_PAUSES_THREADS)
			pthread_rwlock_unlock(&fork_gate);
		assert_true(pid >= 0);
		if (pid == 0) {
			(void)signal(SIGALRM, abort_on_alarm);
			alarm(5);
			_exit(raw_auth("rs-threads", "svc-a", PW_CUR));
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st))
			stop_threads = 1;
		assert_int_equal(st, 0); /* exited, PAM_SUCCESS */
	}
	stop_threads = 1;
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(failures[i], 0);
	}
	dlclose(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup(f, test_setup)
	        T(current_secret_authenticates),
	        T(current_secret_authenticates_with_an_argon2_hash),
	        T(another_accounts_secret_is_refused),
	        T(previous_secret_authenticates_during_grace_with_a_notice),
	        T(previous_secret_refused_after_deadline_even_without_daemon),
	        T(previous_secret_refused_after_max_grace_even_if_its_deadline_is_later),
	        T(previous_secret_refused_with_no_previous),
	        T(revoked_secret_is_refused_with_an_alert),
	        T(wrong_password_is_refused_with_a_notice),
	        T(empty_password_is_refused),
	        T(passwords_up_to_512_bytes_work_and_longer_ones_are_refused),
	        T(unknown_user_is_user_unknown_after_a_prompt),
	        T(local_accounts_are_answered_before_the_store_whatever_its_state),
	        T(local_names_are_matched_exactly_and_the_file_is_read_again),
	        T(an_unreadable_passwd_file_leaves_the_store_to_decide),
	        T(every_verdict_costs_one_resolution_and_the_profiles_computations),
	        T(disabled_account_is_refused_in_auth_and_expired_in_account),
	        T(account_step_accepts_rotsec_accounts_and_leaves_others),
	        T(a_missing_store_means_no_rotsec_accounts),
	        T(relative_store_option_fails_closed),
	        T(symlinked_store_fails_closed),
	        T(group_writable_store_fails_closed),
	        T(store_in_a_group_writable_directory_fails_closed),
	        T(store_owned_by_another_user_fails_closed),
	        T(fifo_in_place_of_the_store_fails_closed_without_hanging),
	        T(empty_store_fails_closed),
	        T(truncated_store_fails_closed),
	        T(corrupt_store_fails_closed),
	        T(store_of_another_format_fails_closed),
	        T(malformed_record_fails_closed_for_that_account),
	        T(a_store_truncated_in_place_fails_closed_and_recovers),
	        T(a_secret_is_accepted_only_when_the_name_resolves_to_the_stores_uid),
	        T(a_typed_name_is_logged_only_with_debug_or_audit_on_every_path),
	        T(a_mapping_made_as_root_is_not_used_after_dropping_privileges),
	        T(caller_outside_group_rotsec_gets_authinfo_unavail_and_the_fix),
	        T(caller_in_group_rotsec_authenticates),
	        T(replaced_store_is_picked_up_by_the_next_login),
	        T(password_change_of_a_rotsec_account_is_refused_with_a_message),
	        T(password_change_is_silent_with_pam_silent),
	        T(password_change_of_other_users_is_ignored),
	        T(setcred_is_harmless_without_a_prior_authenticate),
	        T(sessions_are_ignored),
	        T(documented_stack_line_passes_unknown_users_on),
	        T(usage_is_recorded_with_service_rhost_and_ruser),
	        T(previous_secret_use_is_counted_separately),
	        T(failures_rewrite_the_dummy_record_and_leave_the_accounts_alone),
	        T(a_record_that_shrinks_is_cut_to_its_new_length),
	        T(failing_to_record_usage_never_fails_a_login),
	        T(failures_request_a_two_second_delay),
	        T(nodelay_requests_no_delay),
	        T(adversarial_user_names_are_unknown),
	        T(failing_conversation_never_succeeds),
	        T(conversation_asking_for_the_user_name_is_handled),
	        T(use_first_pass_takes_the_password_of_the_module_before),
	        T(unknown_options_are_logged_and_ignored),
	        T(logins_from_threads_survive_store_replacement_and_fork),
#undef T
	};

	/* TEST_FILTER=pattern runs only the matching tests (cmocka's * and ? globs) */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
