/*
 * The local account files, read directly (issue 13): a name that /etc/passwd defines is
 * never a rotsec account. `rotsecctl sync` refuses any rotsec account whose name or uid
 * /etc/passwd already has, so a name found here is root's, a local user's, or one created
 * after the store (files come first in nsswitch.conf, so it is the account the system
 * resolves): either way pam_unix's to decide. This answer is given before the store is
 * touched, so that no state of the store, missing, unsafe or malformed, can lock a local
 * account out of a stack where pam_rotsec comes first.
 *
 * Read, not through NSS: a name service that fails or is misconfigured must not make root
 * look like a rotsec account, and NSS would also find rotsec's own accounts. Read, not
 * mapped: a file truncated in place while mapped raises SIGBUS (store_read.c).
 *
 * The file's bytes are kept between calls (the module stays loaded: store_cache.c) with
 * its identity, and read again when a stat(2) shows another file or other bytes (inode,
 * size, mtime, ctime): useradd and vipw replace it by rename, an edit in place changes its
 * times. One system call a login rather than four, as for the store. A file larger than
 * CACHE_MAX is read through on every call instead.
 */
#include "pam_rotsec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAX ((size_t)16 << 20)

/* Where a line's first field is being compared with the name. */
struct scan {
	const char *name;
	size_t len;
	size_t col; /* bytes of the current line seen */
	bool skip;  /* the line cannot match: wait for its end */
	bool found;
};

/* Feed n bytes of the file to the scan; true once the name was found. */
static bool scan_bytes(struct scan *sc, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end && !sc->found) {
		if (sc->skip) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			if (!nl)
				return false;
			p = nl + 1;
			sc->skip = false;
			sc->col = 0;
			continue;
		}
		if (sc->col < sc->len) {
			if (*p != sc->name[sc->col]) {
				sc->skip = *p != '\n';
				sc->col = 0;
			} else {
				sc->col++;
			}
		} else {
			/* The whole name matched: a line of that account if the field ends. */
			sc->found = *p == ':';
			sc->skip = *p != '\n';
			sc->col = 0;
		}
		p++;
	}
	return sc->found;
}

static struct {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	struct stat st; /* of the bytes in data */
	char *data;
	size_t len;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* A child must not inherit the lock held by another thread of its parent. */
static void cache_lock(void)
{
	pthread_mutex_lock(&cache.lock);
}

static void cache_unlock(void)
{
	pthread_mutex_unlock(&cache.lock);
}

__attribute__((constructor)) static void local_load(void)
{
	pthread_atfork(cache_lock, cache_unlock, cache_unlock);
}

__attribute__((destructor)) static void local_unload(void)
{
	pthread_mutex_lock(&cache.lock);
	free(cache.data);
	cache.data = NULL;
	cache.path[0] = '\0';
	pthread_mutex_unlock(&cache.lock);
}

/* The whole file behind fd (of fstat *st), read into *out; -EAGAIN when it changed while
 * it was read (written in place: not bytes to keep), another -errno otherwise. */
static int read_whole(int fd, const struct stat *st, char **out, size_t *outlen)
{
	size_t len = (size_t)st->st_size, got = 0;
	char *buf = malloc(len ? len : 1);
	struct stat after;

	if (!buf)
		return -ENOMEM;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len || fstat(fd, &after) < 0 || !same_file(st, &after)) {
		free(buf);
		return -EAGAIN;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* The file read through in pieces, for one name: too large to keep. */
static int scan_fd(int fd, struct scan *sc)
{
	char buf[8192];
	ssize_t n;

	while (!sc->found) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		(void)scan_bytes(sc, buf, (size_t)n);
	}
	return 0;
}

/* Make the cache hold `path` as it is now. Called with the lock held. */
static int refresh(const char *path)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, r;

	if (stat(path, &st) < 0)
		return -errno;
	if (cache.data && strcmp(cache.path, path) == 0 && same_file(&cache.st, &st))
		return 0;
	free(cache.data);
	cache.data = NULL;
	if (strlen(path) >= sizeof(cache.path))
		return -ENAMETOOLONG;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((size_t)st.st_size > CACHE_MAX)
		return -EFBIG; /* read through instead */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 ? -errno : read_whole(fd, &st, &data, &len);
	close(fd);
	if (r < 0)
		return r;
	cache.data = data;
	cache.len = len;
	cache.st = st;
	memcpy(cache.path, path, strlen(path) + 1);
	return 0;
}

int rs_pam_local_user(const char *path, const char *name)
{
	struct scan sc = {name, strlen(name), 0, false, false};
	int fd, r;

	/* An empty name, or one with a ':' or a newline, is no line's first field. */
	if (sc.len == 0 || strpbrk(name, ":\n"))
		return 0;
	pthread_mutex_lock(&cache.lock);
	r = refresh(path);
	if (r == 0)
		(void)scan_bytes(&sc, cache.data, cache.len);
	pthread_mutex_unlock(&cache.lock);
	if (r == 0)
		return sc.found;
	if (r != -EFBIG && r != -EAGAIN && r != -ENAMETOOLONG)
		return r;
	/* Not kept: read through once for this name. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = scan_fd(fd, &sc);
	close(fd);
	return r < 0 ? r : sc.found;
}
