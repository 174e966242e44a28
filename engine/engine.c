#define _GNU_SOURCE
#include "engine.h"
#include "audit.h"
#include "deliver.h"
#include "duration.h"
#include "fault.h"
#include "schedule.h"
#include "store_read.h"
#include "store_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int lock_ms(const struct rs_engine *e)
{
	return (int)(e->cfg->lock_timeout * 1000);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	(void)strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void audit_result(struct rs_engine *e, struct rs_audit_ev *ev)
{
	int r = rs_audit_commit(e->cfg->audit_log, ev);

	if (r < 0)
		syslog(LOG_AUTHPRIV | LOG_ERR, "cannot append to audit log %s: %s",
		       e->cfg->audit_log, strerror(-r));
}

gid_t rs_rotsec_gid(const struct rs_config *cfg)
{
	char *line = NULL;
	size_t cap = 0;
	gid_t gid = 0;
	ssize_t n;
	int err;
	FILE *f = fopen(cfg->group_file, "re");

	/* A group_file that cannot be read is not one without group rotsec: taking it for
	 * one would rewrite secrets.cdb 0600 root:root after a passing EMFILE or ENOMEM,
	 * and lock every service of group rotsec out of its logins. */
	if (!f)
		return errno == ENOENT ? 0 : (gid_t)-1;
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

int rs_engine_open(struct rs_engine *e, const struct rs_config *cfg, bool readonly)
{
	int r;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->statefd = -1;
	if (rs_crypto_init() < 0) {
		(void)snprintf(e->why, sizeof(e->why), "libsodium could not be initialised");
		return -EIO;
	}
	e->secrets_gid = rs_rotsec_gid(cfg);
	if (e->secrets_gid == (gid_t)-1 && !readonly) {
		r = errno ? -errno : -EIO;
		(void)snprintf(e->why, sizeof(e->why),
		               "cannot read group_file %s (%s), which says whether secrets.cdb "
		               "belongs to group rotsec",
		               cfg->group_file, strerror(-r));
		return r;
	}
	if (readonly) {
		/* Best effort: status works without the journals or the host key (then it
		 * shows schedules without their jitter); verify needs neither. Only a writer
		 * needs the group. */
		char why[256];

		if (e->secrets_gid == (gid_t)-1)
			e->secrets_gid = 0;
		e->statefd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		e->key = sodium_malloc(RS_HOSTKEY_LEN);
		if (e->key && rs_hostkey_load(cfg->key_file, 0, e->key, why, sizeof(why)) < 0) {
			sodium_free(e->key);
			e->key = NULL;
		}
		return 0;
	}
	e->key = sodium_malloc(RS_HOSTKEY_LEN);
	if (!e->key)
		return -ENOMEM;
	e->statefd = rs_state_dir_open(cfg->state_dir, e->why, sizeof(e->why));
	if (e->statefd < 0) {
		r = e->statefd;
		goto fail;
	}
	r = rs_hostkey_load(cfg->key_file, 1, e->key, e->why, sizeof(e->why));
	if (r < 0)
		goto fail;
	return 0;
fail:
	rs_engine_close(e);
	return r;
}

void rs_engine_close(struct rs_engine *e)
{
	if (e->statefd >= 0)
		close(e->statefd);
	e->statefd = -1;
	if (e->key)
		sodium_free(e->key);
	e->key = NULL;
}

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_secret_rec *)a)->name,
	              ((const struct rs_secret_rec *)b)->name);
}

/* Records are kept sorted by name (and written so), so that finding one is a binary
 * search: syncs and sweeps look up every account, and must not be quadratic. */
static void sort_recs(struct rs_secrets_data *d)
{
	if (d->n > 1)
		qsort(d->rec, d->n, sizeof(*d->rec), rec_cmp);
}

static struct rs_secret_rec *find_rec_in(struct rs_secret_rec *rec, size_t n, const char *name)
{
	struct rs_secret_rec key;

	if (n == 0 || strlen(name) > RS_NAME_MAX)
		return NULL;
	(void)snprintf(key.name, sizeof(key.name), "%s", name);
	/* cppcheck-suppress uninitvar ; rec_cmp reads the name alone, the rest of the key
	 * is never looked at (and zeroing 2.5 KiB per lookup would cost a sync of many
	 * accounts for nothing) */
	return bsearch(&key, rec, n, sizeof(*rec), rec_cmp);
}

static struct rs_secret_rec *find_rec(struct rs_secrets_data *d, const char *name)
{
	return find_rec_in(d->rec, d->n, name);
}

/*
 * ---- the store transaction: lock, read secrets, modify, write ----
 *
 * Two kinds. An operation on one account (rotate, activate, hold, release, revoke) reads
 * that account's record alone from the mapped file (txn_begin_one) and writes the file
 * back with it changed and every other record copied as it is (rs_store_stage_secrets):
 * with many accounts, a copy of the file instead of decoding and encoding each. An
 * operation on every account (sync, sweep) decodes them all (txn_begin_all).
 */
struct txn {
	struct rs_store_w w;
	uint64_t sgen;
	int open;
	bool all;
	/* all: every record, sorted by name */
	struct rs_secrets_data d;
	/* one: the mapping the copy is made from (NULL when secrets.cdb does not exist yet),
	 * the account's record to change in place, and whether the store had it */
	struct rs_store s;
	const struct rs_map *m;
	struct rs_secret_rec rec;
	bool found;
	/* a new secrets.cdb written but not yet in place (txn_stage, txn_commit) */
	struct rs_atomic staged;
	bool is_staged;
};

static int txn_begin_all(struct rs_engine *e, struct txn *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	r = rs_store_w_open(e->cfg->store_dir, lock_ms(e), &t->w, e->why, sizeof(e->why));
	if (r < 0)
		return r;
	r = rs_store_load_secrets(e->cfg->store_dir, &t->d, &t->sgen, e->why, sizeof(e->why));
	if (r < 0) {
		rs_store_w_close(&t->w);
		return r;
	}
	sort_recs(&t->d);
	t->all = true;
	t->open = 1;
	return 0;
}

/* Lock the store and read NAME's record (t->found says whether the store has one). */
static int txn_begin_one(struct rs_engine *e, struct txn *t, const char *name)
{
	int r, found = 0;

	memset(t, 0, sizeof(*t));
	r = rs_store_w_open(e->cfg->store_dir, lock_ms(e), &t->w, e->why, sizeof(e->why));
	if (r < 0)
		return r;
	/* Mapped under the store lock: the file the copy is made from stays the one in
	 * place until this transaction replaces it. */
	r = rs_store_init(&t->s, e->cfg->store_dir, RS_SECRETS_FILE);
	if (r == 0)
		r = rs_store_acquire(&t->s, &t->m, e->why, sizeof(e->why));
	if (r == -ENOENT) {
		t->m = NULL;
		r = 0;
	}
	if (r == 0 && t->m) {
		t->sgen = t->m->meta.generation;
		found = rs_map_secret_by_name(t->m, name, &t->rec);
		if (found < 0) {
			(void)snprintf(e->why, sizeof(e->why), "%s/%s: damaged record for %s",
			               e->cfg->store_dir, RS_SECRETS_FILE, name);
			r = found;
		}
	}
	if (r < 0) {
		if (t->m)
			rs_store_release(&t->s, t->m);
		rs_store_close(&t->s);
		rs_store_w_close(&t->w);
		return r;
	}
	t->found = found == 1;
	t->open = 1;
	return 0;
}

static void txn_end(struct txn *t)
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
	t->open = 0;
}

static unsigned tripwire_keep(const struct rs_engine *e, const char *name)
{
	const struct rs_account_cfg *acc = rs_config_account(e->cfg, name);

	return acc ? acc->pol.tripwire_keep : e->cfg->defaults.tripwire_keep;
}

/* Newest first; the oldest fall off beyond `keep`. */
static void push_tripwire(struct rs_secret_rec *rec, const char *hash, unsigned keep)
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

static void drop_previous(struct rs_secret_rec *rec, unsigned keep)
{
	push_tripwire(rec, rec->previous, keep);
	rec->previous[0] = '\0';
	rec->previous_deadline = 0;
	rec->previous_limit = 0;
}

/* Previous secrets past their deadline leave the accepted set. PAM already refuses them
 * on time; this makes the store say so too, and keeps them as tripwires. */
static unsigned sweep_expired(struct rs_engine *e, struct rs_secrets_data *d, int64_t now)
{
	unsigned changed = 0;

	for (size_t i = 0; i < d->n; i++) {
		struct rs_secret_rec *rec = &d->rec[i];

		if (rec->previous[0] && now >= rs_previous_valid_until(rec)) {
			struct rs_audit_ev ev;

			drop_previous(rec, tripwire_keep(e, rec->name));
			rs_audit_begin(&ev, "revoke", rec->name);
			rs_audit_str(&ev, "reason", "deadline");
			rs_audit_int(&ev, "generation", (int64_t)rec->generation - 1);
			audit_result(e, &ev);
			changed++;
		}
	}
	return changed;
}

/*
 * Whether a failed store write left the new file in place after all: the fsync of the
 * directory after the rename failed. Its message must then not say "unchanged", which
 * would send an admin looking in the wrong place.
 */
#define RS_NOT_DURABLE "the new file is in place but may not survive a crash"

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

/* e->why for a failed write of secrets.cdb at `generation`. */
static void write_failed(struct rs_engine *e, int r, uint64_t generation)
{
	(void)snprintf(e->why, sizeof(e->why), "cannot write %s/%s: %s; %s", e->cfg->store_dir,
	               RS_SECRETS_FILE, r == -EPROTO ? "it has a damaged record" : strerror(-r),
	               renamed_anyway(e->cfg->store_dir, RS_SECRETS_FILE, generation)
	                       ? RS_NOT_DURABLE
	                       : "the store is unchanged");
}

/* One account's transaction: the new secrets.cdb with t->rec changed, written to a temp
 * file (every other record checked as it is copied) but not yet in place. */
static int txn_stage(struct rs_engine *e, struct txn *t)
{
	int r;

	if (!t->m || !t->found)
		return -ENOENT;
	r = rs_store_stage_secrets(&t->w, t->m, &t->rec, 1, t->sgen + 1, e->secrets_gid,
	                           &t->staged);
	if (r < 0) {
		write_failed(e, r, t->sgen + 1);
		return r;
	}
	t->is_staged = true;
	return 0;
}

/* Put the staged file in place: fsync, rename, fsync of the store dir. */
static int txn_commit(struct rs_engine *e, struct txn *t)
{
	int r = rs_atomic_commit(&t->staged);

	rs_atomic_abort(&t->staged);
	t->is_staged = false;
	if (r < 0) {
		write_failed(e, r, t->sgen + 1);
		return r;
	}
	t->sgen++;
	return 0;
}

static int txn_write_secrets(struct rs_engine *e, struct txn *t)
{
	int r;

	if (!t->all) {
		r = txn_stage(e, t);
		return r < 0 ? r : txn_commit(e, t);
	}
	r = rs_store_write_secrets(&t->w, &t->d, t->sgen + 1, e->secrets_gid);
	if (r < 0) {
		write_failed(e, r, t->sgen + 1);
		return r;
	}
	t->sgen++;
	return 0;
}

static int write_accounts(struct rs_engine *e, struct txn *t)
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
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];
		struct rs_store_account *s = &ad.acc[i];

		(void)snprintf(s->name, sizeof(s->name), "%s", a->name);
		s->uid = a->uid;
		s->gid = a->gid;
		(void)snprintf(s->gecos, sizeof(s->gecos), "%s", a->gecos ? a->gecos : "");
		(void)snprintf(s->home, sizeof(s->home), "%s", a->home ? a->home : "/nonexistent");
		(void)snprintf(s->shell, sizeof(s->shell), "%s",
		               a->shell ? a->shell : "/usr/sbin/nologin");
		s->sup_gids = a->sup_gids;
		s->nsup = a->nsup;
	}
	ad.nacc = cfg->naccounts;
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct rs_group_cfg *g = &cfg->groups[i];

		(void)snprintf(ad.grp[i].name, sizeof(ad.grp[i].name), "%s", g->name);
		ad.grp[i].gid = g->gid;
		ad.grp[i].members = g->members;
		ad.grp[i].nmembers = g->nmembers;
	}
	ad.ngrp = cfg->ngroups;
	r = rs_store_write_accounts(&t->w, &ad, agen + 1);
	if (r < 0)
		(void)snprintf(e->why, sizeof(e->why), "cannot write %s/%s: %s; %s", cfg->store_dir,
		               RS_ACCOUNTS_FILE, strerror(-r),
		               renamed_anyway(cfg->store_dir, RS_ACCOUNTS_FILE, agen + 1)
		                       ? RS_NOT_DURABLE
		                       : "it is unchanged");
out:
	free(ad.acc);
	free(ad.grp);
	return r;
}

/* ---- generation, activation, delivery ---- */

/* rec: the account's record (its salts are kept: rs_hash_secret_like), NULL when new. */
static int new_secret(struct rs_engine *e, const struct rs_account_cfg *acc,
                      const struct rs_secret_rec *rec, uint64_t generation, struct rs_journal *j,
                      struct rs_secret *s)
{
	int r;

	memset(j, 0, sizeof(*j));
	(void)snprintf(j->name, sizeof(j->name), "%s", acc->name);
	j->generation = generation;
	j->step = RS_STEP_GENERATED;
	j->created = now_s();
	j->grace = -1;
	j->ndeliver = acc->ndeliver < RS_MAX_DELIVERIES ? acc->ndeliver : RS_MAX_DELIVERIES;
	r = rs_secret_generate(&acc->pol.alphabet, acc->pol.length, s);
	if (r == 0)
		r = rs_hash_secret_like(s->buf, s->len, acc->pol.entropy_bits, acc->pol.hash_cost,
		                        rec, j->hash);
	if (r == 0)
		r = rs_journal_seal(e->key, j, s);
	if (r < 0)
		(void)snprintf(e->why, sizeof(e->why), "cannot generate a secret for %s: %s",
		               acc->name, strerror(-r));
	return r;
}

/* Journal j durably, or (lazy) so that a crash may bring back the journal it replaced:
 * see deliver_locked for the one place where that is enough. */
static int save_journal_how(struct rs_engine *e, const struct rs_journal *j, bool lazy)
{
	int r = lazy ? rs_journal_save_lazy(e->statefd, j) : rs_journal_save(e->statefd, j);

	if (r < 0)
		(void)snprintf(e->why, sizeof(e->why), "cannot write the journal of %s in %s: %s",
		               j->name, e->cfg->state_dir, strerror(-r));
	return r;
}

static int save_journal(struct rs_engine *e, const struct rs_journal *j)
{
	return save_journal_how(e, j, false);
}

static int64_t grace_of(const struct rs_account_cfg *acc, const struct rs_journal *j)
{
	return j->grace >= 0 ? j->grace : acc->pol.grace;
}

/*
 * Whether the previous secret must be held from the activation on, rather than only once
 * a delivery has failed. The grace starts at the activation, before any consumer has the
 * new secret; if the deliveries can outlast it (a command timing out after 30 s against a
 * grace of 10 s), the previous secret would expire while the consumers still hold only it,
 * before a failure could hold it. Then it is held to the limit while delivering, and the
 * release after the last delivery gives it its grace from then. With a grace longer than
 * the deliveries can take (the usual hours) nothing changes: no extra store write.
 */
static bool hold_while_delivering(const struct rs_account_cfg *acc, const struct rs_journal *j)
{
	int64_t allowance = 60;

	if (j->compromise || j->generation <= 1 || (acc->ndeliver == 0 && !acc->verify_argv))
		return false;
	for (size_t i = 0; i < acc->ndeliver; i++)
		if (acc->deliver[i].kind == RS_DELIVER_COMMAND)
			allowance += acc->deliver[i].timeout;
	if (acc->verify_argv)
		allowance += RS_VERIFY_TIMEOUT;
	return grace_of(acc, j) < allowance && grace_of(acc, j) < acc->pol.max_grace;
}

/* Make the journaled secret current in `rec` (DESIGN §3 step 2). */
static void activate_rec(const struct rs_account_cfg *acc, const struct rs_journal *j,
                         struct rs_secret_rec *rec, int64_t now)
{
	unsigned keep = acc->pol.tripwire_keep;
	int64_t grace = hold_while_delivering(acc, j) ? acc->pol.max_grace : grace_of(acc, j);

	/* At most two secrets are accepted: whatever was previous goes to the tripwires. */
	drop_previous(rec, keep);
	if (j->compromise) {
		/* The secret being replaced is presumed known to someone else: no grace. */
		push_tripwire(rec, rec->current, keep);
	} else {
		(void)snprintf(rec->previous, sizeof(rec->previous), "%s", rec->current);
		/* Never later than activation + max_grace, whatever --grace said. */
		rec->previous_limit = now + acc->pol.max_grace;
		rec->previous_deadline = now + grace;
		if (rec->previous_deadline > rec->previous_limit)
			rec->previous_deadline = rec->previous_limit;
	}
	(void)snprintf(rec->current, sizeof(rec->current), "%s", j->hash);
	rec->current_since = now;
	rec->generation = j->generation;
	rec->uid = acc->uid;
	rec->flags = acc->disabled ? RS_SECRET_DISABLED : 0;
}

static void audit_step(struct rs_engine *e, const char *event, const struct rs_journal *j,
                       const char *step)
{
	struct rs_audit_ev ev;

	rs_audit_begin(&ev, event, j->name);
	rs_audit_str(&ev, "step", step);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	if (j->compromise)
		rs_audit_str(&ev, "compromise", "true");
	audit_result(e, &ev);
}

static void journal_activated(struct rs_engine *e, const struct rs_account_cfg *acc,
                              struct rs_journal *j, int64_t since);

/* Activate a journal at step GENERATED, in t, a transaction on acc alone. */
static int activate_locked(struct rs_engine *e, const struct rs_account_cfg *acc,
                           struct rs_journal *j, struct txn *t)
{
	struct rs_secret_rec *rec = &t->rec;
	int64_t now = now_s();
	int r;

	if (!t->found) {
		(void)snprintf(e->why, sizeof(e->why), "%s is not in the store; run rotsecctl sync",
		               acc->name);
		return -ENOENT;
	}
	if (rec->generation == j->generation && strcmp(rec->current, j->hash) == 0) {
		/* Crashed after the store write, before the deliveries were journaled. */
		journal_activated(e, acc, j, rec->current_since);
		return 0;
	} else if (rec->generation + 1 == j->generation) {
		activate_rec(acc, j, rec, now);
		r = txn_write_secrets(e, t);
		if (r < 0)
			return r;
		(void)RS_FAULT("rotate.activated");
		journal_activated(e, acc, j, now);
		return 0;
	}
	(void)snprintf(e->why, sizeof(e->why),
	               "journal of %s (generation %" PRIu64 ") does not follow the store "
	               "(generation %" PRIu64 "); not touching it",
	               acc->name, j->generation, rec->generation);
	return -EPROTO;
}

/*
 * The store holds j's secret as current since `since`: the step, in memory, and its
 * audit. Not journaled: the store itself says that j is active (its generation and hash
 * are the journal's), and every resume of a journal at "generated" looks there first
 * (activate_locked, already_active). The next save, after the deliveries, records it.
 */
static void journal_activated(struct rs_engine *e, const struct rs_account_cfg *acc,
                              struct rs_journal *j, int64_t since)
{
	j->activated = since;
	j->held = hold_while_delivering(acc, j);
	j->step = RS_STEP_ACTIVATED;
	audit_step(e, j->generation == 1 ? "create" : "rotate", j, "activate");
	if (j->held) {
		struct rs_audit_ev ev;

		rs_audit_begin(&ev, "hold", acc->name);
		rs_audit_int(&ev, "generation", (int64_t)j->generation);
		rs_audit_str(&ev, "reason", "delivering");
		audit_result(e, &ev);
	}
}

static int64_t backoff(const struct rs_account_cfg *acc, unsigned attempts)
{
	int64_t d = acc->pol.retry_min > 0 ? acc->pol.retry_min : 1;

	for (unsigned i = 1; i < attempts && d < acc->pol.retry_max; i++)
		d *= 2;
	return d < acc->pol.retry_max ? d : acc->pol.retry_max;
}

/*
 * Hold or release the previous secret while deliveries fail (DESIGN §3): a consumer that
 * did not get the new secret still holds the old one, so its deadline moves out to the
 * hard limit (activation + max_grace); once every consumer has the new secret it gets a
 * normal grace from now, never past the limit.
 */
static int set_hold(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                    int hold)
{
	struct rs_secret_rec *rec;
	struct txn t;
	int64_t now = now_s(), want;
	int r;

	if (j->held == hold)
		return 0;
	r = txn_begin_one(e, &t, acc->name);
	if (r < 0)
		return r;
	rec = t.found ? &t.rec : NULL;
	if (rec && rec->generation == j->generation && rec->previous[0] &&
	    now < rs_previous_valid_until(rec)) {
		/* The grace of this rotation (rotate --grace) from now, never the account's
		 * default in its place. From the activation at the earliest: a clock stepped
		 * back below it must not cut the grace of consumers that are still within it. */
		want = hold ? rec->previous_limit
		            : (now > rec->current_since ? now : rec->current_since) +
		                       grace_of(acc, j);
		if (want > rec->previous_limit)
			want = rec->previous_limit;
		if (hold ? want > rec->previous_deadline : want < rec->previous_deadline) {
			rec->previous_deadline = want;
			r = txn_write_secrets(e, &t);
		}
	}
	txn_end(&t);
	if (r == 0) {
		struct rs_audit_ev ev;

		j->held = hold;
		rs_audit_begin(&ev, hold ? "hold" : "release", acc->name);
		rs_audit_int(&ev, "generation", (int64_t)j->generation);
		rs_audit_prio(&ev, hold ? LOG_WARNING : LOG_INFO);
		audit_result(e, &ev);
	}
	return r;
}

/*
 * The outcome of one attempt at a delivery or at the verify command, r (why its text):
 * the state's bookkeeping, a success resetting it and a failure scheduling the retry after
 * the backoff, and the outcome in ev, an audit event the caller began. NULL on success,
 * else the error text.
 */
static const char *record_attempt(const struct rs_account_cfg *acc, struct rs_dlv_state *d, int r,
                                  const char *why, struct rs_audit_ev *ev)
{
	const char *err = why[0] ? why : strerror(-r);
	int64_t now = now_s();

	d->last = now;
	if (r == 0) {
		d->status = RS_DLV_OK;
		d->attempts = 0;
		d->next = 0;
		rs_audit_str(ev, "result", "ok");
		return NULL;
	}
	d->attempts++;
	d->status = RS_DLV_FAILED;
	d->next = now + backoff(acc, d->attempts);
	rs_audit_str(ev, "result", "failed");
	rs_audit_str(ev, "error", err);
	rs_audit_int(ev, "attempt", d->attempts);
	rs_audit_prio(ev, LOG_WARNING);
	return err;
}

bool rs_journal_delivered(const struct rs_account_cfg *acc, const struct rs_journal *j)
{
	if (j->ndeliver != acc->ndeliver)
		return false;
	for (size_t i = 0; i < j->ndeliver; i++)
		if (j->dlv[i].status != RS_DLV_OK)
			return false;
	return true;
}

bool rs_journal_outstanding(const struct rs_account_cfg *acc, const struct rs_journal *j)
{
	return !rs_journal_delivered(acc, j) || (acc->verify_argv && j->vfy.status != RS_DLV_OK);
}

/*
 * DESIGN §3 step 4: the account's verify command, once every consumer has the secret. It
 * says whether the consumers work with the new secret (a health check, a test login of
 * the service): until it passes the rotation is not done, so the previous secret is held
 * as for a failed delivery (up to max_grace, then degraded), and it is retried with the
 * same backoff. Its outcome is journaled with the deliveries'.
 */
static void run_verify(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j)
{
	struct rs_audit_ev ev;
	char why[512] = "";
	const char *err;
	int r;

	r = rs_run_verify(acc, j->generation, why, sizeof(why));
	rs_audit_begin(&ev, "verify", acc->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_str(&ev, "command", acc->verify_argv[0]);
	err = record_attempt(acc, &j->vfy, r, why, &ev);
	if (err) {
		e->verify_failures++;
		j->verify_failures++;
		(void)snprintf(e->why, sizeof(e->why), "verify command of %s failed: %s", acc->name,
		               err);
	}
	audit_result(e, &ev);
	(void)RS_FAULT("verify.done");
}

/*
 * Deliver j's secret to the consumers that need it, then journal the outcome once.
 *
 * Not after each delivery, and lazily (rs_journal_save_lazy): every delivery is
 * idempotent (a file replaced by the same content, a command or a sealed box given the
 * same secret again), and j's own secret was journaled durably at step "generated"
 * before the store changed. So a crash anywhere here, or one that undoes this save's
 * rename, leaves an earlier journal of this same generation, "generated" at worst, and
 * resuming it redelivers to everyone: a consumer may get the secret twice, none goes
 * without. What a delivery writes is durable before this save (its own fsyncs), so the
 * journal never says "ok" for a delivery a crash could still undo.
 */
static int deliver_locked(struct rs_engine *e, const struct rs_account_cfg *acc,
                          struct rs_journal *j, bool all)
{
	struct rs_secret s = {0};
	size_t i, ok = 0;
	int r;

	if (j->ndeliver != acc->ndeliver) {
		/* The config's consumers changed since: everyone gets this generation. */
		j->ndeliver = acc->ndeliver < RS_MAX_DELIVERIES ? acc->ndeliver : RS_MAX_DELIVERIES;
		for (i = 0; i < j->ndeliver; i++)
			j->dlv[i].status = RS_DLV_PENDING;
	}
	r = rs_journal_unseal(e->key, j, &s);
	if (r < 0) {
		/* Only a box that does not open (or is bound to another account or generation)
		 * points at the key; a malformed journal or no memory says so itself. */
		(void)snprintf(e->why, sizeof(e->why),
		               "cannot unseal the journaled secret of %s%s: %s", acc->name,
		               r == -EBADMSG ? " (host key changed?)" : "", strerror(-r));
		return r;
	}
	for (i = 0; i < j->ndeliver; i++) {
		struct rs_dlv_state *d = &j->dlv[i];
		struct rs_audit_ev ev;
		char label[256], why[512];
		const char *err;
		int dr;

		if (d->status == RS_DLV_OK && !all) {
			ok++;
			continue;
		}
		/* A consumer given the secret again must be checked again. */
		j->vfy = (struct rs_dlv_state){0};
		rs_delivery_label(&acc->deliver[i], label, sizeof(label));
		why[0] = '\0';
		dr = rs_deliver_one(acc, &acc->deliver[i], &s, j->generation, why, sizeof(why));
		rs_audit_begin(&ev, "deliver", acc->name);
		rs_audit_int(&ev, "generation", (int64_t)j->generation);
		rs_audit_str(&ev, "consumer", label);
		err = record_attempt(acc, d, dr, why, &ev);
		if (!err) {
			ok++;
			e->delivered++;
		} else {
			e->delivery_failures++;
			j->failures++;
			(void)snprintf(e->why, sizeof(e->why), "delivery of %s to %s failed: %s",
			               acc->name, label, err);
		}
		audit_result(e, &ev);
		(void)RS_FAULT("deliver.done");
	}
	rs_secret_free(&s);
	if (ok == j->ndeliver && acc->verify_argv && (j->vfy.status != RS_DLV_OK || all))
		run_verify(e, acc, j);
	if (!rs_journal_outstanding(acc, j)) {
		j->step = RS_STEP_DELIVERED;
		j->degraded = 0;
		r = set_hold(e, acc, j, 0);
	} else {
		/* Not done, also when it was (a `rotsecctl deliver` that failed this time): at
		 * "activated" the daemon retries it, and marks it degraded at max_grace, rather
		 * than leaving a held previous secret that nothing looks at again. */
		j->step = RS_STEP_ACTIVATED;
		r = set_hold(e, acc, j, 1);
	}
	if (r == 0)
		r = save_journal_how(e, j, true);
	return r;
}

/*
 * Whether the store already holds j's secret as current (a sync wrote the first secrets
 * of its new accounts in one store write before journaling them), looked up in `snap`, a
 * read-only mapping kept across accounts: 1 and its activation time, 0 when not (or when
 * the mapping cannot tell: the caller then takes the store transaction). No store lock is
 * needed: the current secret and generation of an account change only under its account
 * lock, which the caller holds.
 */
static int already_active(struct rs_store *snap, const struct rs_journal *j, int64_t *since)
{
	const struct rs_map *m;
	struct rs_secret_rec rec;
	int found;

	if (!snap || rs_store_acquire(snap, &m, NULL, 0) < 0)
		return 0;
	found = rs_map_secret_by_name(m, j->name, &rec);
	rs_store_release(snap, m);
	if (found != 1 || rec.generation != j->generation || strcmp(rec.current, j->hash) != 0)
		return 0;
	*since = rec.current_since;
	return 1;
}

/* Step GENERATED -> ACTIVATED, in its own store transaction unless `snap` shows that the
 * store is already there: a transaction reads the whole store, and one per account would
 * make a sync of N new accounts quadratic. */
static int activate_journaled(struct rs_engine *e, const struct rs_account_cfg *acc,
                              struct rs_journal *j, struct rs_store *snap)
{
	struct txn t;
	int64_t since;
	int r;

	if (already_active(snap, j, &since)) {
		journal_activated(e, acc, j, since);
		r = 0;
	} else {
		r = txn_begin_one(e, &t, acc->name);
		if (r < 0)
			return r;
		r = activate_locked(e, acc, j, &t);
		txn_end(&t);
	}
	if (r == 0)
		e->resumed++;
	return r;
}

/* Finish what acc's journal left unfinished. Account lock held by the caller. With
 * only_due, failed deliveries are retried only once their backoff has passed. */
static int resume_locked(struct rs_engine *e, const struct rs_account_cfg *acc,
                         struct rs_journal *j, bool only_due, struct rs_store *snap)
{
	bool due = j->ndeliver != acc->ndeliver, all_ok = true;
	int64_t now = now_s();
	int r = 0;

	if (j->step == RS_STEP_GENERATED) {
		r = activate_journaled(e, acc, j, snap);
		if (r < 0)
			return r;
	}
	if (j->step != RS_STEP_ACTIVATED && !due)
		return 0;
	for (size_t i = 0; i < j->ndeliver; i++) {
		if (j->dlv[i].status != RS_DLV_OK && (!only_due || j->dlv[i].next <= now))
			due = true;
		all_ok = all_ok && j->dlv[i].status == RS_DLV_OK;
	}
	/* The verify command's turn comes once every delivery is ok. */
	if (!due && all_ok && acc->verify_argv && j->vfy.status != RS_DLV_OK && only_due &&
	    j->vfy.next > now)
		return 0;
	/* A crash after the last delivery but before the journal said "delivered": every
	 * delivery reached OK, so only the bookkeeping is left (deliver_locked does it). */
	return due || all_ok ? deliver_locked(e, acc, j, false) : 0;
}

static const struct rs_account_cfg *configured(struct rs_engine *e, const char *name)
{
	const struct rs_account_cfg *acc = rs_config_account(e->cfg, name);

	if (!acc)
		(void)snprintf(e->why, sizeof(e->why), "%s is not an account of %s", name,
		               e->cfg->file);
	return acc;
}

static int lock_account(struct rs_engine *e, const char *name)
{
	int fd = rs_account_lock(e->statefd, name, lock_ms(e));

	if (fd < 0)
		(void)snprintf(e->why, sizeof(e->why), "%s: %s", name,
		               fd == -ETIMEDOUT ? "another rotsec operation on it is still running"
		                                : strerror(-fd));
	return fd;
}

/*
 * A rotation (DESIGN §3), in the order that makes every crash resumable:
 *  1. the new secret, generated and hashed, and the new secrets.cdb with it current,
 *     written to a temp file; a store with a damaged record refuses the rotation here,
 *     before anything is journaled;
 *  2. the journal at "generated", durably: the secret, sealed, exists before the store
 *     can name its hash. When 1 failed otherwise (a full disk), the rotation stops here,
 *     journaled, and is resumed once the store can be written (the daemon retries);
 *  3. the new store put in place (fsync, rename, fsync): active, both secrets accepted;
 *  4. the deliveries, and one journal save of their outcome (deliver_locked).
 * Killed before 2: nothing happened (a stale temp file at most, removed by the next
 * writer). After 2: the journal says "generated", and a resume activates it (3, or finds
 * it active) and delivers.
 */
int rs_engine_rotate(struct rs_engine *e, const char *name, const struct rs_rotate_opts *opts)
{
	const struct rs_account_cfg *acc = configured(e, name);
	struct rs_secret s = {0};
	struct rs_secret_rec *rec;
	struct rs_journal j;
	struct txn t = {0};
	uint64_t failures, verify_failures;
	int64_t now;
	int lockfd, r, staged;

	if (!acc)
		return -ENOENT;
	lockfd = lock_account(e, name);
	if (lockfd < 0)
		return lockfd;
	r = rs_journal_load(e->statefd, name, &j);
	if (r == 0 && j.step == RS_STEP_GENERATED) {
		/* An earlier rotation was interrupted: finish it rather than start another. */
		r = resume_locked(e, acc, &j, false, NULL);
		goto out;
	}
	failures = r == 0 ? j.failures : 0;
	verify_failures = r == 0 ? j.verify_failures : 0;
	r = txn_begin_one(e, &t, name);
	if (r < 0)
		goto out;
	rec = &t.rec;
	if (!t.found) {
		(void)snprintf(e->why, sizeof(e->why),
		               "%s is not in the store yet; run rotsecctl sync", name);
		r = -ENOENT;
		goto out;
	}
	if (rec->previous[0] && now_s() < rs_previous_valid_until(rec) && !opts->compromise) {
		char until[32], left[32];

		fmt_time(rs_previous_valid_until(rec), until, sizeof(until));
		rs_duration_format(rs_previous_valid_until(rec) - now_s(), left, sizeof(left));
		(void)snprintf(
		        e->why, sizeof(e->why),
		        "the previous secret of %s is in grace until %s (%s from now); rotate "
		        "after that, or use --revoke-previous for a compromise rotation",
		        name, until, left);
		r = -EBUSY;
		goto out;
	}
	r = new_secret(e, acc, rec, rec->generation + 1, &j, &s);
	if (r < 0)
		goto out;
	j.compromise = opts->compromise;
	j.grace = opts->grace;
	j.failures = failures;
	j.verify_failures = verify_failures;
	now = now_s();
	activate_rec(acc, &j, rec, now);
	staged = txn_stage(e, &t);
	if (staged == -EPROTO) {
		r = staged;
		goto out;
	}
	r = save_journal(e, &j);
	if (r < 0)
		goto out;
	(void)RS_FAULT("rotate.generated");
	audit_step(e, "rotate", &j, "generate");
	if (staged < 0) {
		/* e->why says why; the journaled rotation is resumed once it can be. */
		r = staged;
		goto out;
	}
	r = txn_commit(e, &t);
	if (r < 0)
		goto out;
	(void)RS_FAULT("rotate.activated");
	txn_end(&t);
	journal_activated(e, acc, &j, now);
	r = deliver_locked(e, acc, &j, true);
out:
	txn_end(&t);
	rs_secret_free(&s);
	close(lockfd);
	return r;
}

int rs_engine_revoke(struct rs_engine *e, const char *name, const char *reason)
{
	struct rs_secret_rec *rec;
	struct rs_audit_ev ev;
	struct txn t;
	uint64_t gen;
	int lockfd, r;

	if (!configured(e, name))
		return -ENOENT;
	lockfd = lock_account(e, name);
	if (lockfd < 0)
		return lockfd;
	r = txn_begin_one(e, &t, name);
	if (r < 0)
		goto out;
	rec = t.found ? &t.rec : NULL;
	if (!rec || !rec->previous[0] || now_s() >= rs_previous_valid_until(rec)) {
		(void)snprintf(e->why, sizeof(e->why), "%s has no previous secret in grace", name);
		r = -ENOENT;
		goto out;
	}
	gen = rec->generation;
	drop_previous(rec, tripwire_keep(e, name));
	r = txn_write_secrets(e, &t);
	if (r == 0) {
		rs_audit_begin(&ev, "revoke", name);
		rs_audit_str(&ev, "reason", reason);
		rs_audit_int(&ev, "generation", (int64_t)gen - 1);
		audit_result(e, &ev);
	}
out:
	txn_end(&t);
	close(lockfd);
	return r;
}

int rs_engine_set_degraded(struct rs_engine *e, const char *name)
{
	struct rs_journal j;
	struct rs_audit_ev ev;
	int lockfd, r;

	lockfd = lock_account(e, name);
	if (lockfd < 0)
		return lockfd;
	r = rs_journal_load(e->statefd, name, &j);
	if (r == 0 && !j.degraded && j.step == RS_STEP_ACTIVATED) {
		j.degraded = 1;
		r = save_journal(e, &j);
		rs_audit_begin(&ev, "degraded", name);
		rs_audit_int(&ev, "generation", (int64_t)j.generation);
		rs_audit_str(&ev, "reason",
		             "max_grace reached with a delivery or the verify command still "
		             "failing; previous secret revoked");
		rs_audit_prio(&ev, LOG_ALERT);
		audit_result(e, &ev);
	}
	close(lockfd);
	return r;
}

int rs_engine_deliver(struct rs_engine *e, const char *name, bool all)
{
	const struct rs_account_cfg *acc = configured(e, name);
	struct rs_journal j;
	int lockfd, r;

	if (!acc)
		return -ENOENT;
	lockfd = lock_account(e, name);
	if (lockfd < 0)
		return lockfd;
	r = rs_journal_load(e->statefd, name, &j);
	if (r < 0) {
		(void)snprintf(e->why, sizeof(e->why), "%s has no journaled secret to deliver (%s)",
		               name, strerror(-r));
		goto out;
	}
	if (j.step == RS_STEP_GENERATED)
		r = activate_journaled(e, acc, &j, NULL);
	if (r == 0)
		r = deliver_locked(e, acc, &j, all);
out:
	close(lockfd);
	return r;
}

/*
 * Temp files a killed journal writer left behind ('.NAME.state.XXXXXX'). One scan of the
 * state dir for all accounts (a scan per account would make a sync quadratic); each is
 * removed under its account's lock, so a live writer's temp file is never touched.
 */
static void remove_stale_journal_temps(struct rs_engine *e)
{
	struct dirent *de;
	DIR *d;
	int dfd = openat(e->statefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char name[RS_NAME_MAX + 1], file[RS_NAME_MAX + 8];
		const char *dot = strstr(de->d_name, ".state.");
		size_t n = dot ? (size_t)(dot - de->d_name) - 1 : 0;
		int lockfd;

		if (de->d_name[0] != '.' || !dot || n == 0 || n > RS_NAME_MAX ||
		    strlen(dot) != strlen(".state.") + 6)
			continue;
		memcpy(name, de->d_name + 1, n);
		name[n] = '\0';
		if (!rs_config_account(e->cfg, name))
			continue;
		lockfd = rs_account_lock(e->statefd, name, lock_ms(e));
		if (lockfd < 0)
			continue;
		(void)snprintf(file, sizeof(file), "%s.state", name);
		rs_atomic_cleanup(e->statefd, file);
		close(lockfd);
	}
	closedir(d);
}

int rs_engine_resume(struct rs_engine *e, const char *name, bool only_due)
{
	struct rs_store snap, *sp = NULL;
	int first = 0;

	if (!name) {
		remove_stale_journal_temps(e);
		/* One read-only mapping of the store for every account, not a store
		 * transaction each (activate_journaled). */
		if (rs_store_init(&snap, e->cfg->store_dir, RS_SECRETS_FILE) == 0)
			sp = &snap;
	}

	for (size_t i = 0; i < e->cfg->naccounts; i++) {
		const struct rs_account_cfg *acc = &e->cfg->accounts[i];
		struct rs_journal j;
		int lockfd, r;

		if (name && strcmp(name, acc->name) != 0)
			continue;
		lockfd = lock_account(e, acc->name);
		if (lockfd < 0) {
			first = first ? first : lockfd;
			continue;
		}
		r = rs_journal_load(e->statefd, acc->name, &j);
		if (r == 0)
			r = resume_locked(e, acc, &j, only_due, sp);
		else if (r == -ENOENT)
			r = 0;
		close(lockfd);
		if (r < 0 && !first)
			first = r;
	}
	if (sp)
		rs_store_close(sp);
	return first;
}

int rs_engine_sweep(struct rs_engine *e, unsigned *changed)
{
	struct txn t;
	int r;

	*changed = 0;
	r = txn_begin_all(e, &t);
	if (r < 0)
		return r;
	*changed = sweep_expired(e, &t.d, now_s());
	if (*changed)
		r = txn_write_secrets(e, &t);
	txn_end(&t);
	return r;
}

/* ---- sync ---- */

struct pending_new {
	char name[RS_NAME_MAX + 1];
	char hash[RS_HASH_MAX];
};

static bool in_config(const struct rs_config *cfg, const char *name)
{
	return rs_config_account(cfg, name) != NULL;
}

/* Phase 1: a journaled first secret for every configured account the store lacks. */
static int sync_generate(struct rs_engine *e, struct pending_new *pn, size_t *npn)
{
	struct rs_secrets_data cur;
	uint64_t gen;
	int r;

	*npn = 0;
	r = rs_store_load_secrets(e->cfg->store_dir, &cur, &gen, e->why, sizeof(e->why));
	if (r < 0)
		return r;
	sort_recs(&cur);
	for (size_t i = 0; r == 0 && i < e->cfg->naccounts; i++) {
		const struct rs_account_cfg *acc = &e->cfg->accounts[i];
		struct rs_secret s = {0};
		struct rs_journal j;
		int lockfd;

		if (find_rec(&cur, acc->name))
			continue;
		lockfd = lock_account(e, acc->name);
		if (lockfd < 0) {
			r = lockfd;
			break;
		}
		/* A first secret journaled by an interrupted sync is reused, never replaced:
		 * it may already have been delivered. */
		if (rs_journal_load(e->statefd, acc->name, &j) != 0 || j.generation != 1 ||
		    j.step != RS_STEP_GENERATED) {
			r = new_secret(e, acc, NULL, 1, &j, &s);
			if (r == 0)
				r = save_journal(e, &j);
			rs_secret_free(&s);
			if (r == 0)
				audit_step(e, "create", &j, "generate");
		}
		close(lockfd);
		if (r == 0) {
			(void)snprintf(pn[*npn].name, sizeof(pn[*npn].name), "%s", acc->name);
			(void)snprintf(pn[*npn].hash, sizeof(pn[*npn].hash), "%s", j.hash);
			(*npn)++;
		}
	}
	rs_secrets_data_free(&cur);
	(void)RS_FAULT("sync.generated");
	return r;
}

/* Phase 2: the store. secrets.cdb (with the new accounts) before accounts.cdb, and
 * removed accounts out of accounts.cdb before their secrets go (DESIGN §2). */
static int sync_store(struct rs_engine *e, const struct pending_new *pn, size_t npn,
                      char (*removed)[RS_NAME_MAX + 1], size_t *nremoved)
{
	struct txn t;
	struct rs_secret_rec *grown;
	int64_t now = now_s();
	size_t i, keep, n0;
	int r;

	*nremoved = 0;
	r = txn_begin_all(e, &t);
	if (r < 0)
		return r;
	grown = realloc(t.d.rec, (t.d.n + npn + 1) * sizeof(*grown));
	if (!grown) {
		r = -ENOMEM;
		goto out;
	}
	t.d.rec = grown;
	n0 = t.d.n;
	for (i = 0; i < npn; i++) {
		const struct rs_account_cfg *acc = rs_config_account(e->cfg, pn[i].name);
		struct rs_secret_rec *rec;

		if (find_rec_in(t.d.rec, n0, pn[i].name))
			continue; /* added by someone else meanwhile */
		rec = &t.d.rec[t.d.n++];
		memset(rec, 0, sizeof(*rec));
		(void)snprintf(rec->name, sizeof(rec->name), "%s", acc->name);
		(void)snprintf(rec->current, sizeof(rec->current), "%s", pn[i].hash);
		rec->current_since = now;
		rec->generation = 1;
		e->created++;
	}
	sort_recs(&t.d);
	for (i = 0; i < t.d.n; i++) {
		const struct rs_account_cfg *acc = rs_config_account(e->cfg, t.d.rec[i].name);

		if (acc) {
			t.d.rec[i].uid = acc->uid;
			t.d.rec[i].flags = acc->disabled ? RS_SECRET_DISABLED : 0;
		}
	}
	sweep_expired(e, &t.d, now);
	r = txn_write_secrets(e, &t);
	if (r < 0)
		goto out;
	(void)RS_FAULT("sync.secrets");
	r = write_accounts(e, &t);
	if (r < 0)
		goto out;
	(void)RS_FAULT("sync.accounts");
	for (i = 0, keep = 0; i < t.d.n; i++) {
		if (in_config(e->cfg, t.d.rec[i].name))
			t.d.rec[keep++] = t.d.rec[i];
		else
			(void)snprintf(removed[(*nremoved)++], RS_NAME_MAX + 1, "%s",
			               t.d.rec[i].name);
	}
	if (*nremoved) {
		t.d.n = keep;
		r = txn_write_secrets(e, &t);
	}
out:
	txn_end(&t);
	return r;
}

int rs_engine_sync(struct rs_engine *e)
{
	const struct rs_config *cfg = e->cfg;
	struct pending_new *pn = NULL;
	char(*removed)[RS_NAME_MAX + 1] = NULL;
	struct rs_secrets_data cur;
	uint64_t gen;
	size_t npn = 0, nremoved = 0, i;
	unsigned resumed;
	int r, r2;

	e->created = e->removed = 0;
	r = rs_store_load_secrets(cfg->store_dir, &cur, &gen, e->why, sizeof(e->why));
	if (r < 0)
		return r;
	/* Journal temps a killed writer left with a random name (rotsec before the journal's
	 * fixed one, RS_ATOMIC_LOCKED): one scan of the state dir for every account. */
	remove_stale_journal_temps(e);
	pn = calloc(cfg->naccounts + 1, sizeof(*pn));
	removed = calloc(cur.n + 1, sizeof(*removed));
	rs_secrets_data_free(&cur);
	if (!pn || !removed) {
		r = -ENOMEM;
		goto out;
	}
	r = sync_generate(e, pn, &npn);
	if (r == 0)
		r = sync_store(e, pn, npn, removed, &nremoved);
	if (r < 0)
		goto out;
	for (i = 0; i < nremoved; i++) {
		struct rs_audit_ev ev;
		char usage[PATH_MAX];

		(void)rs_journal_remove(e->statefd, removed[i]);
		(void)snprintf(usage, sizeof(usage), "%s/%s.usage", cfg->run_dir, removed[i]);
		(void)unlink(usage);
		rs_audit_begin(&ev, "remove", removed[i]);
		audit_result(e, &ev);
		e->removed++;
	}
	{
		struct rs_audit_ev ev;

		rs_audit_begin(&ev, "sync", NULL);
		rs_audit_int(&ev, "accounts", (int64_t)cfg->naccounts);
		rs_audit_int(&ev, "created", e->created);
		rs_audit_int(&ev, "removed", e->removed);
		audit_result(e, &ev);
	}
	/* Phase 3: activate and deliver the new accounts' first secrets, and finish any
	 * rotation a crash interrupted. */
	resumed = e->resumed;
	r2 = rs_engine_resume(e, NULL, false);
	if (r2 < 0)
		r = r2;
	/* Activating a first secret is part of creating the account, not a resumption. */
	e->resumed -= e->resumed - resumed < e->created ? e->resumed - resumed : e->created;
out:
	free(pn);
	free(removed);
	return r;
}

/* ---- show, status, verify ---- */

int rs_engine_show(struct rs_engine *e, const char *name, struct rs_secret *out)
{
	struct rs_secret_rec rec;
	struct rs_journal j;
	struct rs_store s;
	const struct rs_map *m;
	struct rs_audit_ev ev;
	int r;

	if (!configured(e, name))
		return -ENOENT;
	r = rs_journal_load(e->statefd, name, &j);
	if (r < 0) {
		(void)snprintf(e->why, sizeof(e->why), "%s has no journaled secret (%s)", name,
		               strerror(-r));
		return r;
	}
	r = rs_store_init(&s, e->cfg->store_dir, RS_SECRETS_FILE);
	if (r == 0)
		r = rs_store_acquire(&s, &m, e->why, sizeof(e->why));
	if (r != 0)
		return r;
	r = rs_map_secret_by_name(m, name, &rec);
	rs_store_release(&s, m);
	rs_store_close(&s);
	if (r <= 0 || strcmp(rec.current, j.hash) != 0) {
		(void)snprintf(e->why, sizeof(e->why),
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
	audit_result(e, &ev);
	if (r < 0)
		(void)snprintf(e->why, sizeof(e->why), "cannot unseal the secret of %s%s: %s", name,
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

int rs_engine_status(struct rs_engine *e, const char *name, struct rs_status **out, size_t *n)
{
	const struct rs_config *cfg = e->cfg;
	const struct rs_map *m = NULL;
	struct rs_store s;
	struct rs_status *st;
	int r;

	*out = NULL;
	*n = 0;
	if (name && !configured(e, name))
		return -ENOENT;
	st = calloc(cfg->naccounts + 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	r = rs_store_init(&s, cfg->store_dir, RS_SECRETS_FILE);
	if (r == 0) {
		r = rs_store_acquire(&s, &m, e->why, sizeof(e->why));
		if (r == -ENOENT)
			r = 0, m = NULL;
	}
	if (r < 0) {
		free(st);
		return r;
	}
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *acc = &cfg->accounts[i];
		struct rs_status *x = &st[*n];
		struct rs_secret_rec rec;
		struct rs_journal j;
		bool have_j;

		if (name && strcmp(name, acc->name) != 0)
			continue;
		(*n)++;
		(void)snprintf(x->name, sizeof(x->name), "%s", acc->name);
		x->uid = acc->uid;
		x->disabled = acc->disabled;
		have_j = e->statefd >= 0 && rs_journal_load(e->statefd, acc->name, &j) == 0;
		if (m && rs_map_secret_by_name(m, acc->name, &rec) == 1) {
			x->in_store = true;
			x->generation = rec.generation;
			x->current_since = rec.current_since;
			if (rec.previous[0] && now_s() < rs_previous_valid_until(&rec))
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
		x->have_usage = rs_usage_read(cfg->run_dir, acc->name, &x->usage) == 0;
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
	if (m)
		rs_store_release(&s, m);
	rs_store_close(&s);
	*out = st;
	return 0;
}

int rs_verify_password(const struct rs_config *cfg, const char *name, const char *pw, size_t len,
                       struct rs_verify_result *res, char *why, size_t whylen)
{
	struct rs_secret_rec rec;
	const struct rs_map *m;
	struct rs_store s;
	struct rs_audit_ev ev;
	int r, found;

	r = rs_store_init(&s, cfg->store_dir, RS_SECRETS_FILE);
	if (r == 0)
		r = rs_store_acquire(&s, &m, why, whylen);
	if (r != 0)
		return r;
	found = rs_map_secret_by_name(m, name, &rec);
	if (found < 0) {
		(void)snprintf(why, whylen, "%s/%s: damaged record for %s", cfg->store_dir,
		               RS_SECRETS_FILE, name);
		r = found;
	} else {
		r = rs_policy_verify(found ? &rec : NULL, &m->meta.costs, pw, len, now_s(), 0, res);
		if (r < 0)
			(void)snprintf(why, whylen, "%s/%s: a hash for %s cannot be checked",
			               cfg->store_dir, RS_SECRETS_FILE, name);
	}
	rs_store_release(&s, m);
	rs_store_close(&s);
	rs_audit_begin(&ev, "verify", name);
	rs_audit_str(&ev, "result", r < 0 ? "error" : rs_verdict_name(res->verdict));
	rs_audit_prio(&ev, r == 0 && res->verdict == RS_REVOKED ? LOG_ALERT : LOG_INFO);
	(void)rs_audit_commit(cfg->audit_log, &ev);
	return r;
}
