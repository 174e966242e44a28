/*
 * Opening and closing the engine: the state dir, the host key and the group that owns
 * secrets.cdb; and the helpers every operation of the engine uses (engine_int.h).
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "hostkey.h"
#include "owndirs.h"
#include "statedir.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

int engine_lock_ms(const struct rs_engine *e)
{
	return (int)(e->cfg->lock_timeout * 1000);
}

void engine_audit(struct rs_engine *e, struct rs_audit_ev *ev)
{
	int r = rs_audit_commit(e->cfg->audit_log, ev);

	if (r < 0)
		syslog(LOG_AUTHPRIV | LOG_ERR, "cannot append to audit log %s: %s",
		       e->cfg->audit_log, strerror(-r));
}

void engine_event(struct rs_engine *e, const struct rs_event *ev)
{
	if (e->on_event)
		e->on_event(e->event_arg, ev);
}

const struct rs_account_cfg *engine_account(struct rs_engine *e, const char *name)
{
	const struct rs_account_cfg *acc = rs_config_account(e->cfg, name);

	if (!acc)
		rs_set_why(e->why, sizeof(e->why), "%s is not an account of %s", name,
		           e->cfg->file);
	return acc;
}

static bool is_account(const char *name, const void *cfg)
{
	return rs_config_account(cfg, name) != NULL;
}

void engine_journal_cleanup(struct rs_engine *e)
{
	rs_journal_cleanup(e->statefd, is_account, e->cfg, engine_lock_ms(e));
}

int engine_lock_account(struct rs_engine *e, const char *name)
{
	int fd = rs_account_lock(e->statefd, name, engine_lock_ms(e));

	if (fd < 0)
		rs_set_why(e->why, sizeof(e->why), "%s: %s", name,
		           fd == -ETIMEDOUT ? "another rotsec operation on it is still running"
		                            : strerror(-fd));
	else
		e->lock_holds++;
	return fd;
}

gid_t rs_rotsec_gid(const struct rs_config *cfg)
{
	char *line = NULL;
	size_t cap = 0;
	gid_t gid = 0;
	ssize_t n;
	int err, fd;
	FILE *f;

	/* Read by the trust rule (trust.h): whoever could edit it could name a group of
	 * their own as rotsec's, and secrets.cdb would be theirs to read. A group_file that
	 * cannot be read is not one without group rotsec: taking it for one would rewrite
	 * secrets.cdb 0600 root:root after a passing EMFILE or ENOMEM, and lock every
	 * service of group rotsec out of its logins. */
	fd = rs_trust_file(cfg->group_file, &(struct rs_trust){.flags = RS_TRUST_SELF}, NULL, 0);
	if ((err = rs_trust_stream(fd, cfg->group_file, &f, NULL, 0)) < 0) {
		errno = -err;
		return err == -ENOENT ? 0 : (gid_t)-1;
	}
	/* group(5): name:password:gid:members. Read directly: the store's own group must
	 * never depend on NSS, which may be answering from this very store. */
	errno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *gidp, *end;
		unsigned long v;

		if (strncmp(line, "rotsec:", 7) != 0)
			continue;
		gidp = strchr(line + 7, ':');
		if (!gidp)
			break;
		v = strtoul(gidp + 1, &end, 10);
		if (end != gidp + 1 && *end == ':' && v > 0 && v < UINT32_MAX)
			gid = (gid_t)v;
		break;
	}
	/* getline says -1 at the end of the file and on an error (ENOMEM, EIO): only the
	 * first means that there is no group rotsec. */
	err = n < 0 && !feof(f) ? (errno ? errno : EIO) : 0;
	free(line);
	(void)fclose(f);
	if (err) {
		errno = err;
		return (gid_t)-1;
	}
	return gid;
}

/* Best effort, for status and verify (which may run without root): they work without the
 * journals or the host key (status then shows schedules without their jitter), and only
 * a writer needs the group. */
static void open_readonly(struct rs_engine *e)
{
	char why[RS_WHY_MAX];

	if (e->secrets_gid == (gid_t)-1)
		e->secrets_gid = 0;
	e->statefd = rs_trust_dir(e->cfg->state_dir, &(struct rs_trust){.flags = RS_TRUST_WRITE},
	                          NULL, 0);
	e->key = sodium_malloc(RS_HOSTKEY_LEN);
	if (e->key && rs_hostkey_load(e->cfg->key_file, 0, e->key, why, sizeof(why)) < 0) {
		sodium_free(e->key);
		e->key = NULL;
	}
}

int rs_engine_open(struct rs_engine *e, const struct rs_config *cfg, bool readonly)
{
	int r;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->statefd = -1;
	if (rs_crypto_init() < 0) {
		rs_set_why(e->why, sizeof(e->why), "libsodium could not be initialised");
		return -EIO;
	}
	e->secrets_gid = rs_rotsec_gid(cfg);
	if (e->secrets_gid == (gid_t)-1 && !readonly) {
		r = errno ? -errno : -EIO;
		rs_set_why(e->why, sizeof(e->why),
		           "cannot read group_file %s (%s), which says whether secrets.cdb "
		           "belongs to group rotsec",
		           cfg->group_file, strerror(-r));
		return r;
	}
	if (readonly) {
		open_readonly(e);
		return 0;
	}
	e->key = sodium_malloc(RS_HOSTKEY_LEN);
	if (!e->key) {
		r = -ENOMEM;
		goto out;
	}
	/* A fresh install has none of them yet. One that exists but is unsafe is left as
	 * it is and named in e->warning: each use walks it again and refuses it with the
	 * fix (the state dir right below; a sync in an unsafe store dir fails, and rotsecd
	 * retries it until an admin has fixed the directory; no audit line is written into
	 * an unsafe audit dir). */
	(void)rs_own_dirs_make(cfg, e->warning, sizeof(e->warning));
	if ((r = e->statefd = rs_state_dir_open(cfg->state_dir, e->why, sizeof(e->why))) < 0)
		goto out;
	r = rs_hostkey_load(cfg->key_file, 1, e->key, e->why, sizeof(e->why));
out:
	if (r < 0)
		rs_engine_close(e);
	return r < 0 ? r : 0;
}

void rs_engine_close(struct rs_engine *e)
{
	rs_engine_fleet_close(e, false);
	if (e->statefd >= 0)
		close(e->statefd);
	e->statefd = -1;
	if (e->key)
		sodium_free(e->key);
	e->key = NULL;
}
