/*
 * The store transaction of the engine (engine_int.h): the store lock, secrets.cdb read
 * (one record or every one), changed and written back, accounts.cdb written from the
 * config; the previous secrets that leave the accepted set for the tripwires, and the
 * sweep of those past their deadline.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_secret_rec *)a)->name,
	              ((const struct rs_secret_rec *)b)->name);
}

void secrets_sort(struct rs_secrets_data *d)
{
	if (d->n > 1)
		qsort(d->rec, d->n, sizeof(*d->rec), rec_cmp);
}

struct rs_secret_rec *secrets_find(struct rs_secret_rec *rec, size_t n, const char *name)
{
	struct rs_secret_rec key;

	if (n == 0 || strlen(name) > RS_NAME_MAX)
		return NULL;
	(void)snprintf(key.name, sizeof(key.name), "%s", name);
	/* cppcheck-suppress uninitvar ; rec_cmp reads the name alone, the rest of the key
	 * is never looked at (and zeroing a whole record per lookup would cost a sync of
	 * many accounts for nothing) */
	return bsearch(&key, rec, n, sizeof(*rec), rec_cmp);
}

/* Both begins end the transaction themselves when they fail: a caller may return at once,
 * or call txn_end as after any other failure. */
int txn_begin_all(struct rs_engine *e, struct txn *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = rs_store_w_open(e->cfg->store_dir, engine_lock_ms(e), &t->w, e->why,
	                         sizeof(e->why))) < 0)
		return r;
	t->all = true;
	t->open = true;
	if ((r = rs_store_load_secrets(e->cfg->store_dir, &t->d, &t->sgen, e->why,
	                               sizeof(e->why))) < 0)
		goto out;
	secrets_sort(&t->d);
out:
	if (r < 0)
		txn_end(t);
	return r;
}

int txn_begin_one(struct rs_engine *e, struct txn *t, const char *name)
{
	int r, found;

	memset(t, 0, sizeof(*t));
	if ((r = rs_store_w_open(e->cfg->store_dir, engine_lock_ms(e), &t->w, e->why,
	                         sizeof(e->why))) < 0)
		return r;
	t->open = true;
	/* Mapped under the store lock: the file the copy is made from stays the one in
	 * place until this transaction replaces it. */
	if ((r = rs_store_init(&t->s, e->cfg->store_dir, RS_SECRETS_FILE)) < 0)
		goto out;
	r = rs_store_acquire(&t->s, &t->m, e->why, sizeof(e->why));
	if (r == -ENOENT) {
		/* No secrets.cdb yet: no record to find, nothing to copy. */
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	t->sgen = t->m->meta.generation;
	if ((found = rs_map_secret_by_name(t->m, name, &t->rec)) < 0) {
		rs_set_why(e->why, sizeof(e->why), "%s/%s: damaged record for %s",
		           e->cfg->store_dir, RS_SECRETS_FILE, name);
		r = found;
		goto out;
	}
	t->found = found == 1;
out:
	if (r < 0)
		txn_end(t);
	return r;
}

void txn_end(struct txn *t)
{
	if (!t->open)
		return;
	if (t->is_staged)
		rs_atomic_abort(&t->staged);
	t->is_staged = false;
	if (t->all) {
		rs_secrets_data_free(&t->d);
	} else {
		if (t->m)
			rs_store_release(&t->s, t->m);
		rs_store_close(&t->s);
	}
	rs_store_w_close(&t->w);
	t->open = false;
}

unsigned tripwire_keep(const struct rs_engine *e, const char *name)
{
	const struct rs_account_cfg *acc = rs_config_account(e->cfg, name);

	return acc ? acc->pol.tripwire_keep : e->cfg->defaults.tripwire_keep;
}

void push_tripwire(struct rs_secret_rec *rec, const char *hash, unsigned keep)
{
	size_t n = rec->nrevoked < RS_TRIPWIRE_MAX ? rec->nrevoked : RS_TRIPWIRE_MAX - 1;

	if (!hash[0])
		return;
	if (keep > RS_TRIPWIRE_MAX)
		keep = RS_TRIPWIRE_MAX;
	memmove(rec->revoked[1], rec->revoked[0], n * RS_HASH_MAX);
	(void)snprintf(rec->revoked[0], RS_HASH_MAX, "%s", hash);
	rec->nrevoked = n + 1;
	if (rec->nrevoked > keep)
		rec->nrevoked = keep;
}

void drop_previous(struct rs_secret_rec *rec, unsigned keep)
{
	push_tripwire(rec, rec->previous, keep);
	rec->previous[0] = '\0';
	rec->previous_deadline = 0;
	rec->previous_limit = 0;
}

bool sweep_due(const struct rs_secret_rec *rec, int64_t now)
{
	return rec->previous[0] && now >= rs_previous_valid_until(rec);
}

/* PAM already refuses a previous secret past its deadline on time; the sweep makes the
 * store say so too, and keeps it as a tripwire. */
unsigned sweep_expired(struct rs_engine *e, struct rs_secrets_data *d, int64_t now)
{
	unsigned changed = 0;

	for (size_t i = 0; i < d->n; i++) {
		struct rs_secret_rec *rec = &d->rec[i];

		if (sweep_due(rec, now)) {
			struct rs_audit_ev ev;
			struct rs_event rev = {.kind = RS_EV_REVOKE,
			                       .name = rec->name,
			                       .generation = rec->generation - 1,
			                       .detail = "its deadline passed",
			                       .result = 1};

			drop_previous(rec, tripwire_keep(e, rec->name));
			rs_audit_begin(&ev, "revoke", rec->name);
			rs_audit_str(&ev, "reason", "deadline");
			rs_audit_int(&ev, "generation", (int64_t)rec->generation - 1);
			engine_audit(e, &ev);
			engine_event(e, &rev);
			changed++;
		}
	}
	return changed;
}

int rs_engine_sweep(struct rs_engine *e, unsigned *changed)
{
	struct txn t;
	int r;

	*changed = 0;
	if ((r = txn_begin_all(e, &t)) < 0)
		goto out;
	*changed = sweep_expired(e, &t.d, engine_now());
	if (*changed)
		r = txn_write_secrets(e, &t);
out:
	txn_end(&t);
	return r;
}

/*
 * Whether a failed store write left the new file in place after all: the fsync of the
 * directory after the rename failed. Its message must then not say "unchanged", which
 * would send an admin looking in the wrong place.
 */
static bool renamed_anyway(const char *dir, const char *file, uint64_t generation)
{
	struct rs_store s;
	const struct rs_map *m;
	bool renamed = false;

	if (rs_store_init(&s, dir, file) == 0 && rs_store_acquire(&s, &m, NULL, 0) == 0) {
		renamed = m->meta.generation == generation;
		rs_store_release(&s, m);
	}
	rs_store_close(&s);
	return renamed;
}

/* e->why for a failed write of the store's `file` at `generation`; `unchanged` says what
 * is left as it was when the new file did not get in place. (-EPROTO comes from a copy of
 * secrets.cdb alone: a record of the old file that does not decode.) */
static void write_failed(struct rs_engine *e, const char *file, const char *unchanged, int r,
                         uint64_t generation)
{
	rs_set_why(e->why, sizeof(e->why), "cannot write %s/%s: %s; %s", e->cfg->store_dir, file,
	           r == -EPROTO ? "it has a damaged record" : strerror(-r),
	           renamed_anyway(e->cfg->store_dir, file, generation)
	                   ? "the new file is in place but may not survive a crash"
	                   : unchanged);
}

static void secrets_failed(struct rs_engine *e, int r, uint64_t generation)
{
	write_failed(e, RS_SECRETS_FILE, "the store is unchanged", r, generation);
}

int txn_stage(struct rs_engine *e, struct txn *t)
{
	int r;

	if (!t->m || !t->found)
		return -ENOENT;
	if ((r = rs_store_stage_secrets(&t->w, t->m, &t->rec, 1, t->sgen + 1, e->secrets_gid,
	                                &t->staged)) < 0)
		goto out;
	t->is_staged = true;
out:
	if (r < 0)
		secrets_failed(e, r, t->sgen + 1);
	return r;
}

int txn_commit(struct rs_engine *e, struct txn *t)
{
	int r = rs_atomic_commit(&t->staged);

	rs_atomic_abort(&t->staged);
	t->is_staged = false;
	if (r < 0) {
		secrets_failed(e, r, t->sgen + 1);
		return r;
	}
	t->sgen++;
	return 0;
}

int txn_write_secrets(struct rs_engine *e, struct txn *t)
{
	int r;

	if (!t->all) {
		if ((r = txn_stage(e, t)) < 0)
			return r;
		return txn_commit(e, t);
	}
	if ((r = rs_store_write_secrets(&t->w, &t->d, t->sgen + 1, e->secrets_gid)) < 0)
		goto out;
	t->sgen++;
out:
	if (r < 0)
		secrets_failed(e, r, t->sgen + 1);
	return r;
}

void engine_store_account(const struct rs_account_cfg *a, struct rs_store_account *s)
{
	(void)snprintf(s->name, sizeof(s->name), "%s", a->name);
	s->uid = a->uid;
	s->gid = a->gid;
	(void)snprintf(s->gecos, sizeof(s->gecos), "%s", a->gecos ? a->gecos : "");
	(void)snprintf(s->home, sizeof(s->home), "%s", a->home ? a->home : "/nonexistent");
	(void)snprintf(s->shell, sizeof(s->shell), "%s", a->shell ? a->shell : "/usr/sbin/nologin");
	s->sup_gids = a->sup_gids;
	s->nsup = a->nsup;
}

int txn_write_accounts(struct rs_engine *e, struct txn *t)
{
	const struct rs_config *cfg = e->cfg;
	struct rs_accounts_data ad = {0};
	uint64_t agen;
	int r;

	r = rs_store_accounts_generation(cfg->store_dir, &agen, e->why, sizeof(e->why));
	if (r < 0 && r != -EPROTO)
		return r;
	ad.acc = calloc(cfg->naccounts ? cfg->naccounts : 1, sizeof(*ad.acc));
	ad.grp = calloc(cfg->ngroups ? cfg->ngroups : 1, sizeof(*ad.grp));
	if (!ad.acc || !ad.grp) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->naccounts; i++)
		engine_store_account(&cfg->accounts[i], &ad.acc[i]);
	ad.nacc = cfg->naccounts;
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct rs_group_cfg *g = &cfg->groups[i];

		(void)snprintf(ad.grp[i].name, sizeof(ad.grp[i].name), "%s", g->name);
		ad.grp[i].gid = g->gid;
		ad.grp[i].members = g->members;
		ad.grp[i].nmembers = g->nmembers;
	}
	ad.ngrp = cfg->ngroups;
	if ((r = rs_store_write_accounts(&t->w, &ad, agen + 1)) < 0)
		write_failed(e, RS_ACCOUNTS_FILE, "it is unchanged", r, agen + 1);
out:
	free(ad.acc);
	free(ad.grp);
	return r;
}
