#define _GNU_SOURCE
#include "hostkey.h"
#include "safefile.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new key `name` in the checked directory dirfd: O_EXCL (never an existing file, nor a
 * link planted there), mode 0600 whatever the umask before any content, fsync'ed, and the
 * directory too: journals are sealed under it as soon as this returns, and must still
 * open after a crash. */
static int hostkey_create(int dirfd, const char *name, const char *path, char *why, size_t whylen)
{
	unsigned char fresh[RS_HOSTKEY_LEN];
	int fd, r;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot create host key %s: %s", path, strerror(-r));
		return r;
	}
	randombytes_buf(fresh, sizeof(fresh));
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = rs_write_all(fd, fresh, sizeof(fresh))) < 0)
		goto out;
	if (fsync(fd) < 0 || fsync(dirfd) < 0)
		r = -errno;
out:
	close(fd);
	sodium_memzero(fresh, sizeof(fresh));
	if (r < 0) {
		(void)unlinkat(dirfd, name, 0);
		rs_set_why(why, whylen, "cannot write host key %s: %s", path, strerror(-r));
	}
	return r;
}

/*
 * The key's directory is walked as a path rotsec writes (trust.h), with create or
 * without: the key is read and made relative to the directory checked, so nobody but root
 * can have put it there or swapped it since.
 */
int rs_hostkey_load(const char *path, int create, unsigned char key[RS_HOSTKEY_LEN], char *why,
                    size_t whylen)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE};
	const char *name;
	struct stat st;
	ssize_t n;
	int dirfd, fd = -1, r;

	if ((dirfd = rs_trust_parent(path, &t, &name, why, whylen)) < 0) {
		if (why && whylen) {
			char inner[RS_WHY_MAX];

			(void)snprintf(inner, sizeof(inner), "%s", why);
			rs_set_why(why, whylen, "host key %s: %s", path, inner);
		}
		return dirfd;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && create) {
		if ((r = hostkey_create(dirfd, name, path, why, whylen)) < 0)
			goto out;
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0 && errno == ELOOP) {
		rs_set_why(why, whylen, "host key %s is a symbolic link: name the file itself",
		           path);
		r = -EPERM;
		goto out;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot %s host key %s: %s", fd < 0 ? "open" : "read", path,
		           strerror(-r));
		goto out;
	}
	if (rs_trust_file_ok(fd, &st, 0, path, why, whylen) < 0) {
		r = -EPERM;
		goto out;
	}
	if (st.st_mode & 0077) {
		rs_set_why(why, whylen,
		           "host key %s is open to group or others (mode %04o): it unseals every "
		           "journaled secret; chmod 0600 %s",
		           path, (unsigned)(st.st_mode & 07777), path);
		r = -EPERM;
		goto out;
	}
	if ((n = read(fd, key, RS_HOSTKEY_LEN)) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot read host key %s: %s", path, strerror(-r));
		goto out;
	}
	r = 0;
	if (n != RS_HOSTKEY_LEN || st.st_size != RS_HOSTKEY_LEN) {
		rs_set_why(why, whylen, "host key %s is damaged (not %d bytes)", path,
		           RS_HOSTKEY_LEN);
		r = -EPROTO;
	}
out:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return r;
}
