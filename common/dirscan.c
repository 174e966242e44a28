#define _GNU_SOURCE
#include "dirscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int rs_dir_scan(int dirfd, int (*fn)(const char *name, void *arg), void *arg)
{
	struct dirent *de;
	DIR *d;
	int dfd, r = 0;

	/* A descriptor of our own: fdopendir takes over the one it is given, and reading
	 * would move the caller's offset. */
	dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (r == 0 && (de = readdir(d)) != NULL)
		r = fn(de->d_name, arg);
	closedir(d);
	return r;
}
