/*
 * What every command that works on the configured accounts does around its own work
 * (ctl_run): load the configuration, check that the caller may do what the command does,
 * open the engine, and close it after.
 * Each failure says what is wrong and what would fix it; a permission error names what is
 * needed ("needs root"), never a bare "Permission denied".
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void print_diags(const struct rs_config *cfg)
{
	for (size_t i = 0; i < cfg->ndiags; i++)
		(void)fprintf(stderr, "%s%s\n", cfg->diags[i].warning ? "warning: " : "",
		              cfg->diags[i].msg);
}

/* The config file could not be read at all (r): one line that says what to do. */
static void unreadable(const char *file, int r)
{
	struct stat st;

	if ((r == -EACCES || r == -EPERM) && geteuid() != 0) {
		if (stat(file, &st) == 0)
			ctl_err("cannot read %s: needs root (it is mode %04o, owner uid %u)", file,
			        (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		else
			ctl_err("cannot read %s: needs root (%s)", file, strerror(-r));
	} else if (r == -ENOENT && access(RS_DEFAULT_CONFIG ".example", R_OK) == 0 &&
	           strcmp(file, RS_DEFAULT_CONFIG) == 0) {
		ctl_err("%s does not exist: write it, starting from %s.example (see "
		        "rotsec.conf(5))",
		        file, file);
	} else if (r == -ENOENT) {
		ctl_err("%s does not exist (see rotsec.conf(5))", file);
	} else {
		ctl_err("cannot read %s: %s", file,
		        r == -EISDIR ? "not a regular file" : strerror(-r));
	}
}

static int load_config(const struct ctl *c, struct rs_config *cfg)
{
	/* check also looks at what the config refers to on this host (directories,
	 * programs, keys); the other commands find those out when they use them. */
	int r = strcmp(c->verb->name, "check") == 0 ? rs_config_check(c->conf, cfg)
	                                            : rs_config_load(c->conf, cfg);

	if (r == -EINVAL) {
		print_diags(cfg);
		ctl_err("%s has %zu error%s; nothing was changed", c->conf, cfg->nerrors,
		        cfg->nerrors == 1 ? "" : "s");
	} else if (r < 0 && r != -ENOMEM && cfg->nerrors == 1 && cfg->ndiags == 1) {
		/* The loader's one diagnostic says only that it could not read the file. */
		unreadable(c->conf, r);
	} else if (r < 0) {
		print_diags(cfg);
		ctl_err("cannot load %s: %s", c->conf, strerror(-r));
	} else {
		print_diags(cfg); /* warnings */
	}
	return r;
}

static bool have_root(const struct ctl *c, const char *what)
{
	if (geteuid() == 0)
		return true;
	ctl_err("%s needs root: it %s", c->verb->name, what);
	return false;
}

static int open_engine(struct rs_engine *e, const struct rs_config *cfg, bool readonly)
{
	int r = rs_engine_open(e, cfg, readonly);

	if (r < 0)
		ctl_err("%s", e->why[0] ? e->why : strerror(-r));
	else if (e->warning[0])
		ctl_err("warning: %s", e->warning);
	return r;
}

int ctl_run(struct ctl *c)
{
	const struct ctl_use *u = &c->use;
	struct rs_config cfg;
	struct rs_engine e;
	const char *why = NULL;
	int rc = CTL_EXIT_FAILED;

	if (load_config(c, &cfg) < 0) {
		why = "the configuration cannot be loaded";
	} else if (u->root_for && !have_root(c, u->root_for)) {
		why = "needs root";
	} else if (u->engine && open_engine(&e, &cfg, u->readonly) < 0) {
		why = e.why[0] ? e.why : "cannot open the engine";
	} else {
		rc = u->run(c, &cfg, u->engine ? &e : NULL);
		if (u->engine)
			rs_engine_close(&e);
	}
	if (why && u->failed)
		rc = u->failed(c, why);
	rs_config_free(&cfg);
	return rc;
}

int ctl_fail(const struct rs_engine *e, int r)
{
	ctl_err("%s", e->why[0] ? e->why : strerror(-r));
	return CTL_EXIT_FAILED;
}
