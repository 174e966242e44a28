#define _GNU_SOURCE
#include "statedir.h"
#include "trust.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int rs_state_dir_open(const char *path, char *why, size_t whylen)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_MKDIR, .mode = 0700};
	int fd;

	if (!path || path[0] != '/') {
		rs_set_why(why, whylen, "state_dir must be an absolute path");
		return -EINVAL;
	}
	if ((fd = rs_trust_dir(path, &t, why, whylen)) < 0)
		return fd;
	/* The journal holds sealed secrets and the host key unseals them: the directory is
	 * root's alone, not even readable by a group. */
	if (t.st.st_mode & 0077) {
		rs_set_why(why, whylen,
		           "state_dir %s must be mode 0700 (it is %04o): chmod 0700 %s", path,
		           (unsigned)(t.st.st_mode & 07777), path);
		close(fd);
		return -EPERM;
	}
	return fd;
}
