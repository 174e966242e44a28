/*
 * Reading rotsec.conf, and its @include directives checked before libconfig sees them.
 */
#include "config.h"
#include "config_load.h"
#include "trust.h"

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

int cfg_abs_path(const char *file, char *out, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (file[0] == '/')
		n = snprintf(out, len, "%s", file);
	else if (!getcwd(cwd, sizeof(cwd)))
		return failed();
	else
		n = snprintf(out, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, file);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cfg_read_text(const char *file, struct stat *st, char **text, size_t *len, char *why,
                  size_t whylen)
{
	struct rs_trust t = {.flags = RS_TRUST_SELF};
	char path[PATH_MAX];
	size_t cap, n = 0;
	char *buf;
	int fd, r = 0;

	*text = NULL;
	*len = 0;
	memset(st, 0, sizeof(*st));
	if ((r = cfg_abs_path(file, path, sizeof(path))) < 0)
		return r;
	/* Whoever can write the config, or an @include, can run commands as root: it is
	 * read by the trust rule, through the descriptor the rule checked. */
	fd = rs_trust_file(path, &t, why, whylen);
	if (fd < 0)
		return fd;
	*st = t.st;
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

/* One @include: `path`, named `name` at file:line. */
static void check_one(struct loader *ld, const char *file, unsigned line, const char *name,
                      const char *path, int depth)
{
	char why[RS_DIAG_MAX] = "", *sub = NULL;
	size_t sublen;
	struct stat st;
	int r = cfg_read_text(path, &st, &sub, &sublen, why, sizeof(why));

	if (r == -EPERM)
		cfg_diag_line(ld, file, line, false,
		              "@include \"%s\" cannot be trusted: %s; whoever can change it can "
		              "run commands as root",
		              name, why);
	else if (r == -EISDIR)
		cfg_diag_line(ld, file, line, false, "@include \"%s\": %s is not a regular file",
		              name, path);
	else if (r < 0)
		cfg_diag_line(ld, file, line, false, "@include \"%s\": %s", name,
		              why[0] ? why : strerror(-r));
	else if (sub && !memchr(sub, '\0', sublen))
		cfg_check_includes(ld, name, sub, depth + 1);
	free(sub);
}

/*
 * Every @include must name a regular file relative to the configuration's directory,
 * checked before libconfig sees it: libconfig 1.5 calls exit(2) from its scanner when the
 * target is a directory (rotsecd would die on SIGHUP instead of keeping its config),
 * blocks on a FIFO, and puts the include directory in front of an absolute path. Included
 * files are checked the same way, up to a depth that also stops include loops; each must
 * pass the trust rule as the config itself does (trust.h).
 */
void cfg_check_includes(struct loader *ld, const char *file, const char *text, int depth)
{
	unsigned line = 1;

	for (const char *p = text; *p; line++) {
		const char *eol = strchr(p, '\n'), *q = p, *end;
		char name[PATH_MAX], path[PATH_MAX];

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
				else
					check_one(ld, file, line, name, path, depth);
			}
		}
		p = *eol ? eol + 1 : eol;
	}
}
