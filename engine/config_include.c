/*
 * Reading rotsec.conf, and its @include directives checked before libconfig sees them.
 */
#include "config_load.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -errno of the call that just failed, never 0 or positive. */
static int failed(void)
{
	return errno > 0 ? -errno : -EIO;
}

int cfg_read_text(const char *file, struct stat *st, char **text, size_t *len)
{
	size_t cap, n = 0;
	char *buf;
	int fd, r = 0;

	*text = NULL;
	*len = 0;
	memset(st, 0, sizeof(*st));
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return failed();
	if (fstat(fd, st) < 0)
		r = failed();
	else if (!S_ISREG(st->st_mode))
		r = -EISDIR;
	cap = r == 0 ? (size_t)st->st_size + 1 : 0;
	buf = r == 0 ? malloc(cap) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	/* Up to the end, whatever the size said: the file may grow while it is read. */
	while (r == 0) {
		ssize_t got;

		if (n + 1 == cap) {
			char *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = failed();
		else if (got == 0)
			break;
		else
			n += (size_t)got;
	}
	(void)close(fd);
	if (r < 0 || !buf) {
		free(buf);
		return r < 0 ? r : -EIO;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* For config_set_include_dir: a relative @include is taken from the config's own directory,
 * not from wherever the daemon happened to be started. */
char *cfg_dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (!slash)
		return strdup(".");
	if (slash == file)
		return strdup("/");
	return strndup(file, (size_t)(slash - file));
}

/*
 * Every @include must name a regular file relative to the configuration's directory,
 * checked before libconfig sees it: libconfig 1.5 calls exit(2) from its scanner when the
 * target is a directory (rotsecd would die on SIGHUP instead of keeping its config),
 * blocks on a FIFO, and puts the include directory in front of an absolute path. Included
 * files are checked the same way, up to a depth that also stops include loops.
 */
void cfg_check_includes(struct loader *ld, const char *file, const char *text, int depth)
{
	unsigned line = 1;

	for (const char *p = text; *p; line++) {
		const char *eol = strchr(p, '\n'), *q = p, *end;
		char name[PATH_MAX], path[PATH_MAX];
		struct stat st;

		eol = eol ? eol : p + strlen(p);
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(eol - q) > 8 && strncmp(q, "@include", 8) == 0) {
			q += 8;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			end = *q == '"' ? memchr(q + 1, '"', (size_t)(eol - q - 1)) : NULL;
			if (end && (size_t)(end - q - 1) < sizeof(name)) {
				memcpy(name, q + 1, (size_t)(end - q - 1));
				name[end - q - 1] = '\0';
				(void)snprintf(path, sizeof(path), "%s/%s", ld->incdir, name);
				if (name[0] == '/')
					cfg_diag_line(ld, file, line, false,
					              "@include \"%s\": include paths are taken "
					              "relative to the configuration's directory "
					              "(%s), not absolute",
					              name, ld->incdir);
				else if (depth >= 8)
					cfg_diag_line(
					        ld, file, line, false,
					        "@include \"%s\": includes nested deeper than 8 "
					        "(a loop?)",
					        name);
				else if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
					cfg_diag_line(ld, file, line, false,
					              "@include \"%s\": %s is not a regular file",
					              name, path);
				else {
					char *sub = NULL;
					size_t sublen;
					struct stat sst;

					if (cfg_read_text(path, &sst, &sub, &sublen) == 0 && sub &&
					    !memchr(sub, '\0', sublen))
						cfg_check_includes(ld, name, sub, depth + 1);
					free(sub);
				}
			}
		}
		p = *eol ? eol + 1 : eol;
	}
}
