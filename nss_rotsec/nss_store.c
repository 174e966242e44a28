/*
 * The module's state: the two store handles, the enumeration cursors, the failures
 * already logged, and the fork handlers that keep all of it consistent in a child.
 *
 * Everything is set up by a constructor when glibc (or a test) dlopens the module and
 * torn down by a destructor when it is unloaded: glibc's __libc_freeres does that under
 * valgrind, and a mapping left behind would show up as a leak in every program's report.
 */
#define _GNU_SOURCE
#include "nss_rotsec.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static struct rs_store stores[2];

/* Set when the store directory itself is unusable (a relative or overlong
 * ROTSEC_STORE_DIR): every call then fails with it. Never replaced by the default
 * directory: a test or admin who asked for another store must not silently get the
 * production one. */
static int init_err;
static char init_why[RS_WHY_MAX];

static struct nss_cursor cursors[NSS_DB_COUNT] = {
        {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0},
        {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0},
        {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0},
};

/*
 * One syslog line per process and kind of failure: a broken store must be visible in the
 * log, but a process that looks up users in a loop (a mail server, sshd) must not flood
 * it. One bit per (file, kind); set atomically, so two threads never both log.
 */
enum fail_kind {
	FAIL_MISSING,
	FAIL_UNREADABLE,
	FAIL_UNSAFE,
	FAIL_MALFORMED,
	FAIL_TOO_LARGE,
	FAIL_SETUP,
	FAIL_OTHER,
};

static unsigned logged;

static enum fail_kind kind_of(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		return FAIL_MISSING;
	case -EACCES:
		return FAIL_UNREADABLE;
	case -EPERM:
	case -ELOOP:
		return FAIL_UNSAFE;
	case -EPROTO:
		return FAIL_MALFORMED;
	case -EFBIG:
		return FAIL_TOO_LARGE;
	case -EINVAL:
	case -ENAMETOOLONG:
		return FAIL_SETUP;
	default:
		return FAIL_OTHER;
	}
}

static void log_failure(enum nss_file f, int err, const char *why)
{
	unsigned bit = 1u << (f * 8 + kind_of(err));

	if (__atomic_fetch_or(&logged, bit, __ATOMIC_RELAXED) & bit)
		return;
	/* No openlog(): the ident, facility and options belong to the host program. */
	syslog(LOG_AUTHPRIV | LOG_ERR, "nss_rotsec: %s; rotsec %s entries are unavailable", why,
	       f == NSS_SECRETS ? "shadow" : "passwd and group");
}

void nss_store_malformed(enum nss_file f, const char *key)
{
	char why[RS_WHY_MAX];

	(void)snprintf(why, sizeof(why), "%s: record %s is malformed", stores[f].path, key);
	log_failure(f, -EPROTO, why);
}

int nss_store_acquire(enum nss_file f, const struct rs_map **m)
{
	return nss_store_acquire_for(f, NULL, 0, m);
}

int nss_store_acquire_for(enum nss_file f, const char *key, size_t klen, const struct rs_map **m)
{
	char why[RS_WHY_MAX];
	int r;

	if (init_err) {
		log_failure(f, init_err, init_why);
		return init_err;
	}
	r = rs_store_acquire_for(&stores[f], key, klen, m, why, sizeof(why));
	if (r < 0) {
		log_failure(f, r, why);
		return r;
	}
	/*
	 * A mapping outlives the credentials it was opened with: a daemon that read shadow
	 * as root and then dropped privileges must get what a fresh process with its
	 * credentials gets (UNAVAIL), not the cached entries. Shadow lookups are rare, so
	 * the extra system call does not matter.
	 */
	if (f == NSS_SECRETS && faccessat(AT_FDCWD, stores[f].path, R_OK, AT_EACCESS) < 0) {
		r = errno == EACCES || errno == EPERM ? -EACCES : -errno;
		rs_store_release(&stores[f], *m);
		*m = NULL;
		(void)snprintf(why, sizeof(why),
		               "%s is not readable by uid %u (root and group rotsec only)",
		               stores[f].path, (unsigned)geteuid());
		log_failure(f, r, why);
		return r;
	}
	return 0;
}

void nss_store_release(enum nss_file f, const struct rs_map *m)
{
	rs_store_release(&stores[f], m);
}

static enum nss_file file_of(enum nss_db db)
{
	return db == NSS_DB_SHADOW ? NSS_SECRETS : NSS_ACCOUNTS;
}

int nss_cursor_lock(enum nss_db db, struct nss_cursor **out)
{
	struct nss_cursor *c = &cursors[db];
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (!c->map) {
		r = nss_store_acquire(file_of(db), &c->map);
		c->hint = 0; /* a position in the mapping it was found in, not this one */
	}
	if (r < 0) {
		c->map = NULL;
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	*out = c;
	return 0;
}

void nss_cursor_unlock(struct nss_cursor *c)
{
	pthread_mutex_unlock(&c->lock);
}

int nss_cursor_rewind(enum nss_db db, bool snapshot)
{
	struct nss_cursor *c = &cursors[db];
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->map)
		nss_store_release(file_of(db), c->map);
	c->map = NULL;
	c->next = 0;
	c->hint = 0;
	if (snapshot && (r = nss_store_acquire(file_of(db), &c->map)) < 0)
		c->map = NULL;
	pthread_mutex_unlock(&c->lock);
	return r;
}

/*
 * fork() copies only the calling thread. Without these handlers a child forked while
 * another thread was inside a lookup would inherit a locked mutex and hang at its first
 * getpwnam. Lock order is always cursor before store (an enumeration step takes its
 * cursor, then the store), so taking them all in that order here cannot deadlock.
 */
static void fork_prepare(void)
{
	for (int i = 0; i < NSS_DB_COUNT; i++)
		pthread_mutex_lock(&cursors[i].lock);
	pthread_mutex_lock(&stores[NSS_ACCOUNTS].lock);
	pthread_mutex_lock(&stores[NSS_SECRETS].lock);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&stores[NSS_SECRETS].lock);
	pthread_mutex_unlock(&stores[NSS_ACCOUNTS].lock);
	for (int i = NSS_DB_COUNT - 1; i >= 0; i--)
		pthread_mutex_unlock(&cursors[i].lock);
}

static void __attribute__((constructor)) nss_rotsec_init(void)
{
	/* secure_getenv: a setuid or setgid program (su, unix_chkpwd) never takes a store
	 * from its caller's environment; it reads the build-time default. */
	const char *dir = secure_getenv("ROTSEC_STORE_DIR");
	const char *from = dir ? "ROTSEC_STORE_DIR" : "the built-in store directory";
	int r;

	if (!dir)
		dir = RS_DEFAULT_STORE_DIR;
	r = rs_store_init(&stores[NSS_ACCOUNTS], dir, RS_ACCOUNTS_FILE);
	if (r == 0)
		r = rs_store_init(&stores[NSS_SECRETS], dir, RS_SECRETS_FILE);
	if (r < 0) {
		init_err = r;
		(void)snprintf(init_why, sizeof(init_why), "store directory '%.200s' from %s is %s",
		               dir, from, r == -ENAMETOOLONG ? "too long" : "not an absolute path");
	}
	pthread_atfork(fork_prepare, fork_release, fork_release);
}

static void __attribute__((destructor)) nss_rotsec_fini(void)
{
	for (int i = 0; i < NSS_DB_COUNT; i++)
		(void)nss_cursor_rewind((enum nss_db)i, false);
	rs_store_close(&stores[NSS_ACCOUNTS]);
	rs_store_close(&stores[NSS_SECRETS]);
}
