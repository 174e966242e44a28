#define _GNU_SOURCE
#include "hostkey.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new key at `path`: O_EXCL (never an existing file, nor a link planted there), mode
 * 0600 whatever the umask before any content, fsync'ed: journals are sealed under it as
 * soon as this returns, and must still open after a crash. */
static int hostkey_create(const char *path, char *why, size_t whylen)
{
	unsigned char fresh[RS_HOSTKEY_LEN];
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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
	if (fsync(fd) < 0)
		r = -errno;
out:
	close(fd);
	sodium_memzero(fresh, sizeof(fresh));
	if (r < 0) {
		unlink(path);
		rs_set_why(why, whylen, "cannot write host key %s: %s", path, strerror(-r));
	}
	return r;
}

int rs_hostkey_load(const char *path, int create, unsigned char key[RS_HOSTKEY_LEN], char *why,
                    size_t whylen)
{
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && create) {
		if ((r = hostkey_create(path, why, whylen)) < 0)
			return r;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot %s host key %s: %s", fd < 0 ? "open" : "read", path,
		           strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0077)) {
		rs_set_why(why, whylen,
		           "host key %s must be a regular file, owned by root, mode 0600", path);
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
	return r;
}
