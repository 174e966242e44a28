/*
 * What the config names, by the trust rule (trust.h, ARCHITECTURE.md, contract §5): the programs of
 * `command` and `verify` while loading, and, for `rotsecctl check`, everything else the config
 * refers to on this host (pass 3). The config itself, its @includes (config_include.c),
 * passwd_file and group_file (config_sysdb.c) and the sealed_to keys (sealed.c) are read
 * through the rule where they are read.
 *
 * A problem is reported at the line of the setting that names the path, with the fix the
 * rule's walk wrote: "rotsec.conf:12: command program /usr/local/bin/push cannot be
 * trusted: /usr/local/bin is writable by group or others (mode 0775): chmod go-w
 * /usr/local/bin; whoever can change it runs commands as root".
 */
#define _GNU_SOURCE
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "owndirs.h"
#include "trust.h"

void cfg_trust_program(struct loader *ld, const config_setting_t *s, const char *prog)
{
	char why[RS_DIAG_MAX] = "";
	int r;

	if (!prog || prog[0] != '/')
		return;
	r = rs_trust_exec(prog, RS_TRUST_SELF, why, sizeof(why));
	/* Missing, not executable, not looked into: rotsecctl check says so. */
	if (r != -EPERM)
		return;
	cfg_error_at(ld, s,
	             "program %s cannot be trusted: %s; whoever can change it runs commands as "
	             "root",
	             prog, why);
}

/* -EACCES while looking: an unprivileged check cannot see it; say so once per path. */
static void cannot_look(struct loader *ld, const config_setting_t *s, const char *what,
                        const char *why)
{
	cfg_warn_at(ld, s, "%s: cannot check it as uid %u (%s): run rotsecctl check as root", what,
	            (unsigned)geteuid(), why);
}

/* The top-level setting `key`, for the line of a diagnostic (NULL: not written). */
static const config_setting_t *top_setting(struct loader *ld, const char *key)
{
	return config_setting_get_member(config_root_setting(&ld->lc), key);
}

/* One directory rotsec owns (owndirs.h), at the setting `key` (NULL: its default). */
static void check_own_dir(struct loader *ld, const struct rs_own_dir *d)
{
	const config_setting_t *s = top_setting(ld, d->setting);
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_SELF};
	char why[RS_DIAG_MAX] = "", what[64];
	int fd;

	(void)snprintf(what, sizeof(what), "%s%s", d->setting, s ? "" : " (the default)");
	fd = rs_trust_dir(d->path, &t, why, sizeof(why));
	if (fd >= 0) {
		close(fd);
		if (strcmp(d->setting, "state_dir") == 0 && (t.st.st_mode & 0077))
			cfg_error_at(ld, s,
			             "%s %s must be mode 0700 (it is %04o): it holds the journals; "
			             "chmod 0700 %s",
			             what, d->path, (unsigned)(t.st.st_mode & 07777), d->path);
		return;
	}
	/* The walk stopped at the first missing directory, every one above it checked:
	 * rotsec makes the rest, root's, on its first run. */
	if (fd == -ENOENT && d->ours)
		return;
	if (fd == -ENOENT)
		cfg_warn_at(ld, s,
		            "%s: the directory %s does not exist: rotsecd writes no metrics until "
		            "it does (is the metrics collector, prometheus-node-exporter, "
		            "installed?); rotsec makes it only inside its store, state or run dir",
		            what, d->path);
	else if (fd == -EACCES)
		cannot_look(ld, s, what, why);
	else
		cfg_error_at(ld, s, "%s %s: %s", what, d->path, why);
}

/*
 * A file rotsec itself writes (key_file, audit_log), when it exists: its directory by the
 * rule for a path rotsec writes, then the file not followed. 0 with *fd (O_PATH) and *st,
 * or *fd -1 when nothing is there; the directory's error (rs_trust_parent, why) otherwise.
 */
static int open_own_file(const char *path, int *fd, struct stat *st, char *why, size_t whylen)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_SELF};
	const char *name;
	int dirfd;

	*fd = -1;
	if ((dirfd = rs_trust_parent(path, &t, &name, why, whylen)) < 0)
		return dirfd;
	*fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dirfd);
	if (*fd >= 0 && fstat(*fd, st) < 0) {
		close(*fd);
		*fd = -1;
	}
	return 0;
}

/* key_file: its directory as a path rotsec writes, the key root's alone when it exists. */
static void check_key_file(struct loader *ld)
{
	const char *path = ld->cfg->key_file;
	const config_setting_t *s = top_setting(ld, "key_file");
	char why[RS_DIAG_MAX] = "";
	struct stat st;
	int fd, r;

	r = open_own_file(path, &fd, &st, why, sizeof(why));
	if (r == -EACCES)
		cannot_look(ld, s, "key_file", why);
	else if (r < 0)
		cfg_error_at(ld, s, "key_file %s: %s", path, why);
	if (fd < 0)
		return;
	if (S_ISLNK(st.st_mode))
		cfg_error_at(ld, s, "key_file %s is a symbolic link: name the file itself", path);
	else if (rs_trust_file_ok(fd, &st, RS_TRUST_SELF, path, why, sizeof(why)) < 0)
		cfg_error_at(ld, s, "key_file %s", why);
	else if (st.st_mode & 0077)
		cfg_error_at(ld, s,
		             "key_file %s is open to group or others (mode %04o): it unseals every "
		             "journaled secret; chmod 0600 %s",
		             path, (unsigned)(st.st_mode & 07777), path);
	close(fd);
}

/* The audit log, when it exists: root appends to it, so one link, root's, not writable
 * by others (rs_audit_commit refuses it otherwise). Its directory is one of
 * check_own_dir's, which reported it. */
static void check_audit_log(struct loader *ld)
{
	const char *path = ld->cfg->audit_log;
	const config_setting_t *s = top_setting(ld, "audit_log");
	char why[RS_DIAG_MAX] = "";
	struct stat st;
	int fd;

	if (open_own_file(path, &fd, &st, why, sizeof(why)) < 0 || fd < 0)
		return;
	if (rs_trust_file_ok(fd, &st, RS_TRUST_SELF, path, why, sizeof(why)) < 0)
		cfg_error_at(ld, s, "audit_log %s: %s", path, why);
	else if (st.st_nlink != 1)
		cfg_error_at(ld, s,
		             "audit_log %s has %lu hard links: rotsec appends to one file only; "
		             "move it away",
		             path, (unsigned long)st.st_nlink);
	close(fd);
}

/* A file or sealed delivery: its directory exists and passes the rule for a path rotsec
 * writes (the owner of the file may own the last directory), and what is at the path
 * now is a file that a delivery may replace. */
static void check_delivery_file(struct loader *ld, const config_setting_t *s,
                                const struct rs_delivery *d)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_SELF, .last_owner = d->uid};
	char why[RS_DIAG_MAX] = "";
	const char *name;
	struct stat st;
	int dirfd;

	if (!d->file || d->file[0] != '/')
		return;
	dirfd = rs_trust_parent(d->file, &t, &name, why, sizeof(why));
	if (dirfd == -EACCES) {
		cannot_look(ld, s, d->file, why);
		return;
	}
	if (dirfd == -ENOENT) {
		cfg_error_at(ld, s,
		             "file %s: %s; rotsec does not make delivery directories: create it "
		             "(owned by root or by the file's owner, not writable by others)",
		             d->file, why);
		return;
	}
	if (dirfd < 0) {
		cfg_error_at(ld, s, "file %s: %s", d->file, why);
		return;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
		cfg_error_at(ld, s,
		             "file %s is %s: a delivery replaces only a regular file; move it "
		             "away",
		             d->file,
		             S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
	close(dirfd);
}

/* A command or verify program: cfg_trust_program reported one that breaks the rule. */
static void check_program(struct loader *ld, const config_setting_t *s, char **argv)
{
	char why[RS_DIAG_MAX] = "";
	int r;

	if (!argv || !argv[0] || argv[0][0] != '/')
		return;
	r = rs_trust_exec(argv[0], RS_TRUST_SELF, why, sizeof(why));
	if (r == 0 || r == -EPERM)
		return;
	if (r == -EACCES && !strstr(why, "not executable"))
		cannot_look(ld, s, argv[0], why);
	else if (r == -ENOENT)
		cfg_error_at(ld, s, "program %s does not exist (%s)", argv[0], why);
	else
		cfg_error_at(ld, s, "program %s: %s", argv[0], why);
}

void cfg_check_refs(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;
	struct rs_own_dir dirs[RS_OWN_DIRS];
	size_t n = rs_own_dirs(cfg, dirs);

	for (size_t i = 0; i < n; i++)
		check_own_dir(ld, &dirs[i]);
	check_key_file(ld);
	check_audit_log(ld);
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];
		const config_setting_t *dl = cfg_elem_member(ld->accounts_list, i, "deliver");

		check_program(ld, cfg_elem_member(ld->accounts_list, i, "verify"), a->verify_argv);
		for (size_t j = 0; j < a->ndeliver; j++) {
			const struct rs_delivery *d = &a->deliver[j];

			if (d->kind == RS_DELIVER_COMMAND)
				check_program(ld, cfg_elem_member(dl, j, "command"), d->argv);
			else
				check_delivery_file(ld, cfg_elem_member(dl, j, "file"), d);
		}
	}
}
