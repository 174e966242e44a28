#define _GNU_SOURCE
#include "statedir.h"
#include "safefile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rs_state_dir_open(const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd, r;

	if (!path || path[0] != '/') {
		rs_set_why(why, whylen, "state_dir must be an absolute path");
		return -EINVAL;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		rs_set_why(why, whylen, "cannot create state_dir %s: %s", path, strerror(-r));
		return r;
	}
	if ((fd = rs_open_safe_dir(path, 0, why, whylen)) < 0)
		return fd;
	/* The journal holds sealed secrets and the host key unseals them: the directory is
	 * root's alone, not even readable by a group. */
	if (fstat(fd, &st) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "state_dir %s: %s", path, strerror(-r));
		goto fail;
	}
	if (st.st_mode & 0077) {
		rs_set_why(why, whylen, "state_dir %s must be mode 0700 (it is %04o)", path,
		           (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}
