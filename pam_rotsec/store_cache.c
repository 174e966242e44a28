/*
 * The secrets.cdb mapping, kept across calls. ("Mapping" is the reader's word,
 * store_read.h, for the copy of the file it reads into memory: not an mmap of the file,
 * which a file copied over in place would take away with SIGBUS.)
 *
 * A login costs what libpam itself costs only if the module does not open, check and map
 * the store every time: the reader (store_read.h) keeps one mapping per handle and
 * revalidates it with a single lstat per call, remapping when rotsecd renamed a new file
 * into place. The handles live here, one per store directory seen by this process (a
 * process may run several stacks with different store= options), in a small table that
 * lives as long as the module is loaded.
 *
 * The module is linked with -z nodelete (Makefile): libpam dlopens it at every pam_start
 * and dlcloses it at pam_end, and without it a program that authenticates many clients
 * (a mail or web server using PAM) would load libsodium and map the store again for each
 * one. So the table lives as long as the process, one mapping per store directory, never
 * one per login; the destructor still unmaps everything at exit (or at a dlclose by a
 * program that opened the module itself without the flag, such as a test).
 *
 * Four things make that safe inside somebody else's process:
 *  - fork: a child must never inherit a handle mutex held by another parent thread (it
 *    would deadlock on its next login), so pthread_atfork takes every lock around fork;
 *  - credentials: a mapping made as root outlives the privileges it was made with. A
 *    process that dropped them (setuid to a service user) must get what a fresh process
 *    with its credentials gets, PAM_AUTHINFO_UNAVAIL unless it is in group rotsec, not
 *    the cached secrets: a caller that is not root has its access checked on every call
 *    (root, the owner, always may read the file);
 *  - a full table: a further directory gets a private handle for that one call, never an
 *    evicted slot that another thread may still be reading through;
 *  - replacement: every call revalidates the mapping (store_read.h), so keeping it across
 *    pam_end never serves a store that rotsecd has replaced.
 */
#include "pam_rotsec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hosts have one store; a few slots cover tests and unusual stacks. */
#define CACHE_SLOTS 4

static struct {
	pthread_mutex_t lock; /* guards `used` and slot creation; taken before slot locks */
	struct rs_store slot[CACHE_SLOTS];
	int used;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void cache_prepare_fork(void)
{
	int i;

	pthread_mutex_lock(&cache.lock);
	for (i = 0; i < cache.used; i++)
		pthread_mutex_lock(&cache.slot[i].lock);
}

static void cache_after_fork(void)
{
	int i;

	for (i = cache.used - 1; i >= 0; i--)
		pthread_mutex_unlock(&cache.slot[i].lock);
	pthread_mutex_unlock(&cache.lock);
}

/* glibc registers atfork handlers with this object's __dso_handle and drops them when the
 * module is unloaded, so they never point into unmapped code. */
__attribute__((constructor)) static void cache_load(void)
{
	pthread_atfork(cache_prepare_fork, cache_after_fork, cache_after_fork);
}

__attribute__((destructor)) static void cache_unload(void)
{
	int i;

	pthread_mutex_lock(&cache.lock);
	for (i = 0; i < cache.used; i++) {
		rs_store_close(&cache.slot[i]);
		pthread_mutex_destroy(&cache.slot[i].lock);
	}
	cache.used = 0;
	pthread_mutex_unlock(&cache.lock);
}

static struct rs_store *cache_get(const char *dir)
{
	struct rs_store *s = NULL;
	int i;

	pthread_mutex_lock(&cache.lock);
	for (i = 0; i < cache.used && !s; i++)
		if (strcmp(cache.slot[i].dir, dir) == 0)
			s = &cache.slot[i];
	if (!s && cache.used < CACHE_SLOTS &&
	    rs_store_init(&cache.slot[cache.used], dir, RS_SECRETS_FILE) == 0)
		s = &cache.slot[cache.used++];
	pthread_mutex_unlock(&cache.lock);
	return s;
}

static void private_free(struct rs_store *s)
{
	rs_store_close(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int rs_pam_store_acquire(const char *dir, struct rs_pam_store *ps, char *why, size_t whylen)
{
	int r;

	memset(ps, 0, sizeof(*ps));
	ps->s = cache_get(dir);
	if (!ps->s) {
		/* Table full, or a directory rs_store_init refuses: a handle for this call. */
		ps->s = malloc(sizeof(*ps->s));
		if (!ps->s) {
			(void)snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		ps->own = true;
		r = rs_store_init(ps->s, dir, RS_SECRETS_FILE);
		if (r < 0) {
			(void)snprintf(why, whylen, "store=%s: %s", dir,
			               r == -EINVAL ? "not an absolute path" : "path too long");
			private_free(ps->s);
			ps->s = NULL;
			return r;
		}
	}
	r = rs_store_acquire(ps->s, &ps->m, why, whylen);
	if (r < 0) {
		if (ps->own)
			private_free(ps->s);
		ps->s = NULL;
		ps->m = NULL;
		return r;
	}
	/* One system call more, for callers that are not root only (see the top). */
	if (geteuid() != 0 && faccessat(AT_FDCWD, ps->s->path, R_OK, AT_EACCESS) < 0) {
		r = errno == EACCES || errno == EPERM ? -EACCES : -errno;
		(void)snprintf(why, whylen, "%s: %s", ps->s->path, strerror(-r));
		rs_pam_store_release(ps);
	}
	return r;
}

void rs_pam_store_release(struct rs_pam_store *ps)
{
	if (!ps->s)
		return;
	rs_store_release(ps->s, ps->m);
	if (ps->own)
		private_free(ps->s);
	ps->s = NULL;
	ps->m = NULL;
}
