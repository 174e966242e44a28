/*
 * Helpers shared by the unit tests: scratch directories under /tmp and whole-file reads.
 *
 * Header-only (static inline) so that every test program stays one .c file, as the
 * Makefile builds them. Tests run as root, like CI: a scratch directory is made 0755 so
 * that it passes the store's StrictModes checks (/tmp itself is root-owned and sticky).
 */
#ifndef ROTSEC_UNIT_UTIL_H
#define ROTSEC_UNIT_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory /tmp/rotsec-ut.XXXXXX, mode 0755, root-owned. NULL on failure. */
static inline char *ut_mkdtemp(char *buf, size_t len)
{
	(void)snprintf(buf, len, "/tmp/rotsec-ut.XXXXXX");
	if (!mkdtemp(buf))
		return NULL;
	if (chmod(buf, 0755) < 0)
		return NULL;
	return buf;
}

static inline int ut_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* Scratch trees may contain directories the tests made unsafe or unreadable. */
	if (type == FTW_DP || type == FTW_D)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

/* rm -rf, without following links. */
static inline int ut_rm_rf(const char *path)
{
	if (!path || !*path)
		return 0;
	return nftw(path, ut_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file in a malloc'ed buffer (NUL appended, not counted); NULL on error. */
static inline char *ut_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				(void)fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	(void)fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Write `len` bytes to `path` (created or truncated) with `mode`. 0 or -errno. */
static inline int ut_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	const char *p = buf;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w <= 0) {
			int r = w < 0 ? -errno : -EIO;
			close(fd);
			return r;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		return -errno;
	return 0;
}

/* Number of entries in `dir` whose name starts with `prefix`. */
static inline int ut_count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

#endif
