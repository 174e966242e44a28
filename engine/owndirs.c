#include "owndirs.h"
#include "trust.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The directory of a file path into out; -ENAMETOOLONG, -EINVAL without a slash. */
static int dir_of(const char *file, char *out, size_t len)
{
	const char *slash = strrchr(file, '/');

	if (!slash)
		return -EINVAL;
	if ((size_t)(slash - file) + 2 > len)
		return -ENAMETOOLONG;
	if (slash == file) {
		(void)snprintf(out, len, "/");
		return 0;
	}
	memcpy(out, file, (size_t)(slash - file));
	out[slash - file] = '\0';
	return 0;
}

/* `dir` is `top` or below it, as written. */
static bool inside(const char *dir, const char *top)
{
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		n--;
	return strncmp(dir, top, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

static bool add(struct rs_own_dir *d, const char *setting, const char *path, mode_t mode, bool file)
{
	d->setting = setting;
	d->mode = mode;
	d->ours = true;
	if (file)
		return dir_of(path, d->path, sizeof(d->path)) == 0;
	return snprintf(d->path, sizeof(d->path), "%s", path) < (int)sizeof(d->path);
}

size_t rs_own_dirs(const struct rs_config *cfg, struct rs_own_dir out[RS_OWN_DIRS])
{
	size_t n = 0;

	n += add(&out[n], "store_dir", cfg->store_dir, 0755, false);
	n += add(&out[n], "state_dir", cfg->state_dir, 0700, false);
	n += add(&out[n], "run_dir", cfg->run_dir, 0700, false);
	n += add(&out[n], "audit_log", cfg->audit_log, 0750, true);
	if (add(&out[n], "metrics_file", cfg->metrics_file, 0755, true)) {
		out[n].ours = rs_metrics_dir_is_ours(cfg);
		n++;
	}
	return n;
}

bool rs_metrics_dir_is_ours(const struct rs_config *cfg)
{
	char dir[PATH_MAX];

	/* Not the audit log's directory: that may be a shared one such as /var/log. */
	if (dir_of(cfg->metrics_file, dir, sizeof(dir)) < 0)
		return false;
	return inside(dir, cfg->store_dir) || inside(dir, cfg->state_dir) ||
	       inside(dir, cfg->run_dir);
}

int rs_own_dirs_make(const struct rs_config *cfg, char *why, size_t whylen)
{
	struct rs_own_dir dirs[RS_OWN_DIRS];
	size_t n = rs_own_dirs(cfg, dirs);
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		struct rs_trust t = {.flags = RS_TRUST_WRITE, .mode = dirs[i].mode};
		char inner[RS_WHY_MAX] = "";
		int fd;

		/* A collector's directory is not rotsec's to make, nor to judge here: the
		 * metrics writer refuses it when unsafe, and rotsecctl check says why. */
		if (!dirs[i].ours)
			continue;
		t.flags |= RS_TRUST_MKDIR;
		fd = rs_trust_dir(dirs[i].path, &t, inner, sizeof(inner));
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (first < 0)
			continue;
		rs_set_why(why, whylen, "%s %s: %s", dirs[i].setting, dirs[i].path, inner);
		first = fd;
	}
	return first;
}
