/*
 * What the engine says without changing anything: the current secret (show, break-glass),
 * the state of every account (status), and a password checked as pam_rotsec would
 * (verify). Status and verify may run without root: they read what they can.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "schedule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* secrets.cdb mapped for reading into *m (NULL until it is). unmap_secrets afterwards,
 * whatever this returned. */
static int map_secrets(const char *dir, struct rs_store *s, const struct rs_map **m, char *why,
                       size_t whylen)
{
	int r;

	*m = NULL;
	if ((r = rs_store_init(s, dir, RS_SECRETS_FILE)) < 0)
		return r;
	return rs_store_acquire(s, m, why, whylen);
}

static void unmap_secrets(struct rs_store *s, const struct rs_map *m)
{
	if (m)
		rs_store_release(s, m);
	rs_store_close(s);
}

int rs_engine_show(struct rs_engine *e, const char *name, struct rs_secret *out)
{
	struct rs_secret_rec rec;
	struct rs_journal j;
	struct rs_store s;
	const struct rs_map *m;
	struct rs_audit_ev ev;
	int r, found = 0;

	if (!engine_account(e, name))
		return -ENOENT;
	if ((r = rs_journal_load(e->statefd, name, &j)) < 0) {
		rs_set_why(e->why, sizeof(e->why), "%s has no journaled secret (%s)", name,
		           strerror(-r));
		return r;
	}
	if ((r = map_secrets(e->cfg->store_dir, &s, &m, e->why, sizeof(e->why))) == 0)
		found = rs_map_secret_by_name(m, name, &rec);
	unmap_secrets(&s, m);
	if (r < 0)
		return r;
	if (found <= 0 || strcmp(rec.current, j.hash) != 0) {
		rs_set_why(e->why, sizeof(e->why),
		           "the journal of %s does not hold the active secret (a rotation is "
		           "unfinished?); run rotsecctl sync",
		           name);
		return -ESTALE;
	}
	r = rs_journal_unseal(e->key, &j, out);
	rs_audit_begin(&ev, "show", name);
	rs_audit_int(&ev, "generation", (int64_t)j.generation);
	rs_audit_str(&ev, "result", r == 0 ? "ok" : "failed");
	rs_audit_prio(&ev, LOG_NOTICE);
	engine_audit(e, &ev);
	if (r < 0)
		rs_set_why(e->why, sizeof(e->why), "cannot unseal the secret of %s%s: %s", name,
		           r == -EBADMSG ? " (host key changed?)" : "", strerror(-r));
	return r;
}

static void delivery_summary(const struct rs_account_cfg *acc, const struct rs_journal *j,
                             bool have_j, char *buf, size_t len)
{
	size_t ok = 0, failed = 0, n = have_j ? j->ndeliver : 0;

	if (acc->ndeliver == 0) {
		(void)snprintf(buf, len, "none");
		return;
	}
	if (!have_j) {
		(void)snprintf(buf, len, "pending");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ok += j->dlv[i].status == RS_DLV_OK;
		failed += j->dlv[i].status == RS_DLV_FAILED;
	}
	if (ok == n && n == acc->ndeliver)
		(void)snprintf(buf, len, "ok");
	else if (failed)
		(void)snprintf(buf, len, "failed %zu/%zu", failed, acc->ndeliver);
	else
		(void)snprintf(buf, len, "pending %zu/%zu", acc->ndeliver - ok, acc->ndeliver);
}

/* acc's status in x, from its record in m (NULL: no store yet), its journal and its usage. */
static void account_status(struct rs_engine *e, const struct rs_account_cfg *acc,
                           const struct rs_map *m, struct rs_status *x)
{
	struct rs_secret_rec rec;
	struct rs_journal j;
	bool have_j;

	(void)snprintf(x->name, sizeof(x->name), "%s", acc->name);
	x->uid = acc->uid;
	x->disabled = acc->disabled;
	/* Matched to the config's consumers: one it adds or changes has not got the secret. */
	have_j = rs_engine_load_journal(e, acc, &j) == 0;
	if (m && rs_map_secret_by_name(m, acc->name, &rec) == 1) {
		x->in_store = true;
		x->generation = rec.generation;
		x->current_since = rec.current_since;
		if (rec.previous[0] && engine_now() < rs_previous_valid_until(&rec))
			x->previous_valid_until = rs_previous_valid_until(&rec);
	}
	if (have_j) {
		x->step = j.step;
		x->degraded = j.degraded;
		x->delivery_failures = j.failures;
		x->verify_failures = j.verify_failures;
	}
	delivery_summary(acc, &j, have_j, x->delivery, sizeof(x->delivery));
	(void)snprintf(x->verify, sizeof(x->verify), "%s",
	               !acc->verify_argv ? "none"
	               : !have_j         ? "pending"
	                                 : rs_dlv_status_name(j.vfy.status));
	x->have_usage = rs_usage_read(e->cfg->run_dir, acc->name, &x->usage) == 0;
	if (x->in_store) {
		/* The daemon's own schedule, jitter and window included. */
		struct rs_policy_cfg pol = acc->pol;
		static const unsigned char nokey[32];

		if (!e->key)
			pol.jitter = 0;
		x->next_rotation = rs_rotation_due(&pol, e->key ? e->key : nokey, &rec,
		                                   x->have_usage ? &x->usage : NULL);
	}
	if (x->have_usage && x->usage.generation != x->generation) {
		/* Counters of an older generation: only the tripwire hits still count. */
		uint64_t hits = x->usage.tripwire_count;

		memset(&x->usage, 0, sizeof(x->usage));
		x->usage.tripwire_count = hits;
	}
}

int rs_engine_status(struct rs_engine *e, const char *name, struct rs_status **out, size_t *n)
{
	const struct rs_config *cfg = e->cfg;
	const struct rs_map *m;
	struct rs_store s;
	struct rs_status *st = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if (name && !engine_account(e, name))
		return -ENOENT;
	if ((st = calloc(cfg->naccounts + 1, sizeof(*st))) == NULL)
		return -ENOMEM;
	/* No store yet: the accounts are shown as not in it. */
	if ((r = map_secrets(cfg->store_dir, &s, &m, e->why, sizeof(e->why))) == -ENOENT)
		r = 0;
	if (r < 0)
		goto out;
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (!name || strcmp(name, cfg->accounts[i].name) == 0)
			account_status(e, &cfg->accounts[i], m, &st[(*n)++]);
	*out = st;
	st = NULL;
out:
	unmap_secrets(&s, m);
	free(st);
	return r;
}

static int verify_in(const struct rs_config *cfg, const struct rs_map *m, const char *name,
                     const char *pw, size_t len, struct rs_verify_result *res, char *why,
                     size_t whylen)
{
	struct rs_secret_rec rec;
	int found = rs_map_secret_by_name(m, name, &rec), r;

	if (found < 0) {
		rs_set_why(why, whylen, "%s/%s: damaged record for %s", cfg->store_dir,
		           RS_SECRETS_FILE, name);
		return found;
	}
	if ((r = rs_policy_verify(found ? &rec : NULL, m->meta.dummy, pw, len, engine_now(), 0,
	                          res)) < 0)
		rs_set_why(why, whylen, "%s/%s: a hash for %s cannot be checked", cfg->store_dir,
		           RS_SECRETS_FILE, name);
	return r;
}

int rs_verify_password(const struct rs_config *cfg, const char *name, const char *pw, size_t len,
                       struct rs_verify_result *res, char *why, size_t whylen)
{
	const struct rs_map *m;
	struct rs_store s;
	struct rs_audit_ev ev;
	int r;

	/* A store that cannot be read gives no answer, and so no audit of one. */
	if ((r = map_secrets(cfg->store_dir, &s, &m, why, whylen)) < 0)
		goto out;
	r = verify_in(cfg, m, name, pw, len, res, why, whylen);
	rs_audit_begin(&ev, "verify", name);
	rs_audit_str(&ev, "result", r < 0 ? "error" : rs_verdict_name(res->verdict));
	rs_audit_prio(&ev, r == 0 && res->verdict == RS_REVOKED ? LOG_ALERT : LOG_INFO);
	(void)rs_audit_commit(cfg->audit_log, &ev);
out:
	unmap_secrets(&s, m);
	return r;
}
