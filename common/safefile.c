#define _GNU_SOURCE
#include "safefile.h"
#include "dirscan.h"
#include "fault.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#ifdef ROTSEC_FAULTS
/* "atomic.STEP:NAME", e.g. "atomic.renamed:secrets.cdb". */
static int fault_at(const char *step, const char *name)
{
	char point[320];

	(void)snprintf(point, sizeof(point), "atomic.%s:%s", step, name);
	return RS_FAULT(point);
}
#else
#define fault_at(step, name) 0
#endif

int rs_open_safe_dir(const char *path, uid_t owner, char *why, size_t whylen)
{
	struct rs_trust t = {.last_owner = owner};

	return rs_trust_dir(path, &t, why, whylen);
}

int rs_open_safe_file(int dirfd, const char *name, const char *label, off_t max_size,
                      struct stat *st, char *why, size_t whylen)
{
	int fd, r;

	/* O_NONBLOCK: opening a FIFO planted in place of the store must not hang the
	 * caller (which may be sshd); it is refused below as "not a regular file". */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP) {
			rs_set_why(why, whylen, "%s is a symbolic link", label);
			return -EPERM;
		}
		rs_set_why(why, whylen, "%s: %s", label, strerror(-r));
		return r;
	}
	if (fstat(fd, st) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "%s: %s", label, strerror(-r));
		goto fail;
	}
	if (rs_trust_file_ok(fd, st, 0, label, why, whylen) < 0) {
		r = -EPERM;
		goto fail;
	}
	if (st->st_size > max_size) {
		rs_set_why(why, whylen, "%s is larger than any store rotsec writes", label);
		r = -EFBIG;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

int rs_lock(int dirfd, const char *name, int timeout_ms)
{
	struct timespec pause = {0, 20L * 1000 * 1000};
	int fd, waited = 0;

	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (waited >= timeout_ms) {
			close(fd);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
		waited += 20;
	}
}

int rs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

struct cleanup {
	int dirfd;
	char prefix[280];
	size_t plen;
};

/* ".NAME." and the 6 random characters of atomic_begin: a temp file of NAME. */
static int remove_if_temp(const char *entry, void *arg)
{
	const struct cleanup *c = arg;

	if (strncmp(entry, c->prefix, c->plen) == 0 && strlen(entry) == c->plen + 6)
		(void)unlinkat(c->dirfd, entry, 0);
	return 0;
}

void rs_atomic_cleanup(int dirfd, const char *name)
{
	struct cleanup c = {.dirfd = dirfd};

	(void)snprintf(c.prefix, sizeof(c.prefix), ".%s.", name);
	c.plen = strlen(c.prefix);
	(void)rs_dir_scan(dirfd, remove_if_temp, &c);
}

static int atomic_begin(struct rs_atomic *a, int dirfd, const char *name, mode_t mode, uid_t uid,
                        gid_t gid, unsigned flags)
{
	static const char chars[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	int tries, r;

	memset(a, 0, sizeof(*a));
	a->dirfd = dirfd;
	a->fd = -1;
	if (strlen(name) >= sizeof(a->name) || strchr(name, '/'))
		return -EINVAL;
	memcpy(a->name, name, strlen(name) + 1);
	a->nodirsync = (flags & RS_ATOMIC_NODIRSYNC) != 0;
	if (flags & RS_ATOMIC_LOCKED) {
		/* One writer at a time (the caller's lock): a file of this name is what a
		 * killed writer left, and removing it is the whole cleanup, without reading
		 * a directory that may hold an entry per account. */
		(void)snprintf(a->tmp, sizeof(a->tmp), ".%s.%s", name, RS_ATOMIC_LOCKED_SUFFIX);
		if (unlinkat(dirfd, a->tmp, 0) < 0 && errno != ENOENT) {
			r = -errno;
			a->tmp[0] = '\0';
			return r;
		}
		a->fd = openat(dirfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		               0600);
		if (a->fd < 0) {
			r = -errno;
			a->tmp[0] = '\0';
			return r;
		}
	} else if (!(flags & RS_ATOMIC_NOSCAN)) {
		rs_atomic_cleanup(dirfd, name);
	}

	for (tries = 0; a->fd < 0 && tries < 100; tries++) {
		unsigned char rnd[6];
		char suffix[7];

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		for (int i = 0; i < 6; i++)
			suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		suffix[6] = '\0';
		(void)snprintf(a->tmp, sizeof(a->tmp), ".%s.%s", name, suffix);
		a->fd = openat(dirfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		               0600);
		if (a->fd >= 0)
			break;
		/* a->tmp now names a file that is not ours (EEXIST) or does not exist:
		 * forget it, so that rs_atomic_abort never unlinks somebody else's file. */
		r = -errno;
		a->tmp[0] = '\0';
		if (r != -EEXIST)
			return r;
	}
	if (a->fd < 0)
		return -EEXIST;
	/* Owner and mode before any content: a secret must never sit in a file that is,
	 * even for a moment, readable by someone it is not meant for. */
	if (fchown(a->fd, uid, gid) < 0 || fchmod(a->fd, mode) < 0) {
		r = -errno;
		return r;
	}
	r = fault_at("created", name);
	return r;
}

int rs_atomic_begin(struct rs_atomic *a, int dirfd, const char *name, mode_t mode, uid_t uid,
                    gid_t gid)
{
	return atomic_begin(a, dirfd, name, mode, uid, gid, 0);
}

int rs_atomic_write(struct rs_atomic *a, const void *buf, size_t len)
{
	int r = fault_at("write", a->name);

	if (r < 0)
		return r;
	return rs_write_all(a->fd, buf, len);
}

int rs_atomic_commit(struct rs_atomic *a)
{
	int r;

	if ((r = fault_at("written", a->name)) < 0)
		return r;
	if (fsync(a->fd) < 0)
		return -errno;
	if ((r = fault_at("synced", a->name)) < 0)
		return r;
	r = close(a->fd);
	a->fd = -1;
	if (r < 0)
		return -errno;
	if (renameat(a->dirfd, a->tmp, a->dirfd, a->name) < 0)
		return -errno;
	a->committed = 1;
	/* The rename is only durable once the directory is: without this fsync a crash
	 * could bring back the old name, or on some filesystems an empty file. */
	(void)fault_at("renamed", a->name);
	if (a->nodirsync)
		return 0;
	if (fsync(a->dirfd) < 0)
		return -errno;
	(void)fault_at("dirsynced", a->name);
	return 0;
}

void rs_atomic_abort(struct rs_atomic *a)
{
	int saved = errno;

	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	if (!a->committed && a->tmp[0])
		(void)unlinkat(a->dirfd, a->tmp, 0);
	a->tmp[0] = '\0';
	errno = saved;
}

int rs_atomic_replace_flags(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                            uid_t uid, gid_t gid, unsigned flags)
{
	struct rs_atomic a;
	int r;

	if ((r = atomic_begin(&a, dirfd, name, mode, uid, gid, flags)) < 0)
		goto out;
	if ((r = rs_atomic_write(&a, buf, len)) < 0)
		goto out;
	r = rs_atomic_commit(&a);
out:
	rs_atomic_abort(&a);
	return r;
}

int rs_atomic_replace(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                      uid_t uid, gid_t gid)
{
	return rs_atomic_replace_flags(dirfd, name, buf, len, mode, uid, gid, 0);
}

int rs_atomic_replace_noscan(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                             uid_t uid, gid_t gid)
{
	return rs_atomic_replace_flags(dirfd, name, buf, len, mode, uid, gid, RS_ATOMIC_NOSCAN);
}
