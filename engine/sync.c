/*
 * Sync: the store brought in line with the config (ARCHITECTURE.md, contract §2). Accounts the
 * config adds get a first secret, journaled, then written to the store with every other change in
 * one write, then activated and delivered; accounts it dropped leave accounts.cdb before their
 * secrets leave secrets.cdb; attributes follow the config. Rotations a crash interrupted
 * are finished on the way.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "fault.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new account's first secret, journaled, not yet in the store. */
struct pending_new {
	char name[RS_NAME_MAX + 1];
	char hash[RS_HASH_MAX];
};

/* The journaled first secret of acc, a new account: one an interrupted sync journaled is
 * reused, never replaced (it may already have been delivered). Account lock held. */
static int first_secret(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j)
{
	struct rs_secret s = {0};
	int r;

	if (rs_journal_load(e->statefd, acc->name, j) == 0 && j->generation == 1 &&
	    j->step == RS_STEP_GENERATED)
		return 0;
	if ((r = new_secret(e, acc, NULL, 1, j, &s)) < 0)
		goto out;
	if ((r = save_journal(e, j, false)) < 0)
		goto out;
	audit_step(e, "create", j, "generate");
out:
	rs_secret_free(&s);
	return r;
}

/* Phase 1: a journaled first secret for every configured account the store lacks. */
static int sync_generate(struct rs_engine *e, struct pending_new *pn, size_t *npn)
{
	struct rs_secrets_data cur;
	uint64_t gen;
	int r;

	*npn = 0;
	if ((r = rs_store_load_secrets(e->cfg->store_dir, &cur, &gen, e->why, sizeof(e->why))) < 0)
		return r;
	secrets_sort(&cur);
	for (size_t i = 0; i < e->cfg->naccounts; i++) {
		const struct rs_account_cfg *acc = &e->cfg->accounts[i];
		struct rs_journal j;
		int lockfd;

		if (secrets_find(cur.rec, cur.n, acc->name))
			continue;
		if ((r = lockfd = engine_lock_account(e, acc->name)) < 0)
			goto out;
		r = first_secret(e, acc, &j);
		close(lockfd);
		if (r < 0)
			goto out;
		(void)snprintf(pn[*npn].name, sizeof(pn[*npn].name), "%s", acc->name);
		(void)snprintf(pn[*npn].hash, sizeof(pn[*npn].hash), "%s", j.hash);
		(*npn)++;
	}
out:
	rs_secrets_data_free(&cur);
	(void)RS_FAULT("sync.generated");
	return r;
}

/* The first secrets of pn in t (all records), but for an account someone else added
 * meanwhile; then every record's attributes from the config. */
static int add_new(struct rs_engine *e, struct txn *t, const struct pending_new *pn, size_t npn,
                   int64_t now)
{
	struct rs_secret_rec *grown = realloc(t->d.rec, (t->d.n + npn + 1) * sizeof(*grown));
	size_t n0 = t->d.n;

	if (!grown)
		return -ENOMEM;
	t->d.rec = grown;
	for (size_t i = 0; i < npn; i++) {
		struct rs_secret_rec *rec;

		if (secrets_find(t->d.rec, n0, pn[i].name))
			continue;
		rec = &t->d.rec[t->d.n++];
		memset(rec, 0, sizeof(*rec));
		(void)snprintf(rec->name, sizeof(rec->name), "%s", pn[i].name);
		(void)snprintf(rec->current, sizeof(rec->current), "%s", pn[i].hash);
		rec->current_since = now;
		rec->generation = 1;
		e->created++;
	}
	secrets_sort(&t->d);
	for (size_t i = 0; i < t->d.n; i++) {
		const struct rs_account_cfg *acc = rs_config_account(e->cfg, t->d.rec[i].name);

		if (acc) {
			t->d.rec[i].uid = acc->uid;
			t->d.rec[i].flags = acc->disabled ? RS_SECRET_DISABLED : 0;
		}
	}
	return 0;
}

/* accounts.cdb as it is, mapped into *m (NULL when there is none yet); unmap_accounts
 * afterwards whatever this returned. */
static int map_accounts(struct rs_engine *e, struct rs_store *s, const struct rs_map **m)
{
	int r;

	*m = NULL;
	if ((r = rs_store_init(s, e->cfg->store_dir, RS_ACCOUNTS_FILE)) < 0)
		return r;
	if ((r = rs_store_acquire(s, m, e->why, sizeof(e->why))) == 0)
		return 0;
	*m = NULL;
	if (r == -ENOENT) {
		e->why[0] = '\0';
		return 0;
	}
	return r;
}

static void unmap_accounts(struct rs_store *s, const struct rs_map *m)
{
	if (m)
		rs_store_release(s, m);
	rs_store_close(s);
}

/* Phase 2: the store. secrets.cdb (with the new accounts) before accounts.cdb, and
 * removed accounts out of accounts.cdb before their secrets go (ARCHITECTURE.md, contract §2). What
 * changes is worked out first, under the store lock, by the code that plans a dry run (plan_store),
 * and told once it is done. */
static int sync_store(struct rs_engine *e, const struct pending_new *pn, size_t npn,
                      char (*removed)[RS_NAME_MAX + 1], size_t *nremoved)
{
	struct txn t = {0};
	struct plan plan = {0};
	struct rs_store as = {0};
	const struct rs_map *am = NULL;
	rs_event_fn *tell = e->on_event;
	int64_t now = engine_now();
	size_t keep = 0;
	int r;

	*nremoved = 0;
	if ((r = txn_begin_all(e, &t)) < 0)
		goto out;
	r = map_accounts(e, &as, &am);
	if (r == 0)
		r = plan_store(e, am, &t.d, now, &plan);
	unmap_accounts(&as, am);
	if (r < 0)
		goto out;
	if ((r = add_new(e, &t, pn, npn, now)) < 0)
		goto out;
	/* Its revokes are told with the plan, once the store has them. */
	e->on_event = NULL;
	sweep_expired(e, &t.d, now);
	e->on_event = tell;
	if ((r = txn_write_secrets(e, &t)) < 0)
		goto out;
	(void)RS_FAULT("sync.secrets");
	if ((r = txn_write_accounts(e, &t)) < 0)
		goto out;
	(void)RS_FAULT("sync.accounts");
	for (size_t i = 0; i < t.d.n; i++) {
		if (rs_config_account(e->cfg, t.d.rec[i].name))
			t.d.rec[keep++] = t.d.rec[i];
		else
			(void)snprintf(removed[(*nremoved)++], RS_NAME_MAX + 1, "%s",
			               t.d.rec[i].name);
	}
	if (*nremoved) {
		t.d.n = keep;
		if ((r = txn_write_secrets(e, &t)) < 0)
			goto out;
	}
	plan_emit(e, &plan, 1);
out:
	plan_free(&plan);
	txn_end(&t);
	return r;
}

/* What is left of an account the config dropped, once the store has forgotten it. */
static void forget_account(struct rs_engine *e, const char *name)
{
	struct rs_audit_ev ev;

	fleet_forget(e, name);
	(void)rs_journal_remove(e->statefd, name);
	(void)rs_usage_remove(e->cfg->run_dir, name);
	rs_audit_begin(&ev, "remove", name);
	engine_audit(e, &ev);
	e->removed++;
}

int rs_engine_sync(struct rs_engine *e)
{
	const struct rs_config *cfg = e->cfg;
	struct pending_new *pn = NULL;
	char(*removed)[RS_NAME_MAX + 1] = NULL;
	struct rs_secrets_data cur;
	struct rs_audit_ev ev;
	uint64_t gen;
	size_t npn = 0, nremoved = 0, i;
	unsigned resumed;
	int r, r2;

	e->created = e->removed = 0;
	if ((r = rs_store_load_secrets(cfg->store_dir, &cur, &gen, e->why, sizeof(e->why))) < 0)
		return r;
	/* Journal temps a killed writer left with a random name (rotsec before the journal's
	 * fixed one, RS_ATOMIC_LOCKED): one scan of the state dir for every account. */
	engine_journal_cleanup(e);
	pn = calloc(cfg->naccounts + 1, sizeof(*pn));
	removed = calloc(cur.n + 1, sizeof(*removed));
	rs_secrets_data_free(&cur);
	if (!pn || !removed) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = sync_generate(e, pn, &npn)) < 0)
		goto out;
	if ((r = sync_store(e, pn, npn, removed, &nremoved)) < 0)
		goto out;
	for (i = 0; i < nremoved; i++)
		forget_account(e, removed[i]);
	rs_audit_begin(&ev, "sync", NULL);
	rs_audit_int(&ev, "accounts", (int64_t)cfg->naccounts);
	rs_audit_int(&ev, "created", e->created);
	rs_audit_int(&ev, "removed", e->removed);
	engine_audit(e, &ev);
	/* Phase 3: activate and deliver the new accounts' first secrets, and finish any
	 * rotation a crash interrupted. */
	resumed = e->resumed;
	if ((r2 = rs_engine_resume(e, NULL, false)) < 0)
		r = r2;
	/* Activating a first secret is part of creating the account, not a resumption. */
	e->resumed -= e->resumed - resumed < e->created ? e->resumed - resumed : e->created;
out:
	free(pn);
	free(removed);
	return r;
}
