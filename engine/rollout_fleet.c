/*
 * The fleet deliveries of an account (ARCHITECTURE.md, contract §6, fleet.h): what rollout.c does
 * for the deliveries `{ fleet = "C"; sealed_to = "C.pub"; }`.
 *
 * All of an account's fleet consumers are published together, in one etcd transaction
 * with the account's public status, once per round of deliveries: the first fleet
 * delivery that is due publishes for all of them, and each records that outcome as its
 * own. A failure (etcd unreachable, no quorum, permission denied) is an ordinary failed
 * delivery: retried with backoff, the previous secret held to max_grace, then degraded.
 * A newer or foreign status in etcd (-EEXIST: a host restored from a snapshot, two
 * hosts with one name) is alerted and retried only after retry_max: publishing over it
 * would hand the consumers an older secret than the one they hold.
 *
 * What is published for generation G (the rotation view): G's secret, the previous one
 * while the store still accepts it (with its deadline), the degraded flag, the version id
 * journaled for G. What the deliveries leave out of date (a hold moving the deadline, a
 * degraded flag set or cleared, the previous secret revoked, a consumer removed) is
 * settled afterwards by republishing the status (fleet_settle), on the refresh's own
 * backoff: a stale status is not a consumer left without its secret, so it holds
 * nothing and degrades nothing.
 *
 * The secrets in the messages: the current one from the journal, the previous one from
 * the journal too, where rotate.c carries the replaced secret, still sealed under the
 * host key, into the new rotation's journal (fleet_carry). It stays there while the
 * store accepts it, and is wiped once it is revoked.
 *
 * etcd out of reach makes every call wait for its timeouts. After a failure of that kind
 * the next publishes of other accounts fail at once for a few seconds (the same reason,
 * said so), rather than making a pass over many accounts wait for each of them.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "fleet.h"
#include "store_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* How long a publish fails at once after etcd could not be reached, seconds. */
#define FLEET_DOWN_HOLD 5
/* How long the alive key waits after a failure before it tries again, seconds: doubled
 * after each, up to the longest; a call to an etcd without quorum waits out its
 * timeouts, and the daemon's loop must not spend its time there. */
#define FLEET_ALIVE_RETRY     5
#define FLEET_ALIVE_RETRY_MAX 60

_Static_assert(RS_JOURNAL_FLEET_NAME_MAX == RS_FLEET_NAME_MAX, "journal.h follows fleet_msg.h");
_Static_assert(RS_JOURNAL_FLEET_ID_LEN == RS_FLEET_VERSION_ID_LEN, "journal.h follows fleet.h");

struct rs_engine_fleet {
	struct rs_fleet f;
	bool open;
	int64_t down_until; /* monotonic: publishes fail at once with down_err before it */
	int down_err;
	char down_why[RS_ETCD_WHY_MAX];
	/* The fleet timeout of the account lock's hold number budget_hold (etcd_budget). */
	uint64_t budget_hold;
	int64_t budget_until;
	int64_t alive_next; /* monotonic: the next call of the alive key that does something */
	int64_t alive_backoff;
	bool alive_failing;
};

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The engine's fleet client, opened on first use (the signing key made then if need be). */
static int fleet_client(struct rs_engine *e, struct rs_fleet **out)
{
	int r;

	*out = NULL;
	if (!e->cfg->fleet) {
		rs_set_why(e->why, sizeof(e->why), "%s has no fleet section", e->cfg->file);
		return -EINVAL;
	}
	if (!e->fleet && !(e->fleet = calloc(1, sizeof(*e->fleet))))
		return -ENOMEM;
	if (!e->fleet->open) {
		if ((r = rs_fleet_open(&e->fleet->f, e->cfg->fleet, true)) < 0) {
			rs_set_why(e->why, sizeof(e->why), "%s", e->fleet->f.why);
			return r;
		}
		e->fleet->open = true;
	}
	*out = &e->fleet->f;
	return 0;
}

void rs_engine_fleet_close(struct rs_engine *e, bool stop)
{
	if (!e->fleet)
		return;
	if (e->fleet->open) {
		/* Not when etcd is failing already: a stop must not wait out its timeouts. */
		if (stop && !e->fleet->alive_failing)
			(void)rs_fleet_alive_stop(&e->fleet->f);
		rs_fleet_close(&e->fleet->f);
	}
	free(e->fleet);
	e->fleet = NULL;
}

bool fleet_has_consumers(const struct rs_account_cfg *acc)
{
	for (size_t i = 0; i < acc->ndeliver; i++)
		if (acc->deliver[i].kind == RS_DELIVER_FLEET)
			return true;
	return false;
}

/* Whether every fleet delivery of acc has j's generation. */
static bool fleet_delivered(const struct rs_account_cfg *acc, const struct rs_journal *j)
{
	if (j->ndeliver != acc->ndeliver)
		return false;
	for (size_t i = 0; i < acc->ndeliver; i++)
		if (acc->deliver[i].kind == RS_DELIVER_FLEET && j->dlv[i].status != RS_DLV_OK)
			return false;
	return true;
}

/* What is published for acc at j's generation: the rotation and its consumers. */
struct view {
	struct rs_fleet_rotation rot;
	struct rs_fleet_consumer cons[RS_MAX_DELIVERIES];
	size_t ncons;
	const char *removed[RS_MAX_DELIVERIES];
	size_t nremoved;
	struct rs_secret cur, prev;
	bool store_has_previous; /* in grace now, for the journal's copy of it */
};

static void view_free(struct view *v)
{
	rs_secret_free(&v->cur);
	rs_secret_free(&v->prev);
}

/* acc's record in the store (read-only), 1 when found. */
static int store_record(struct rs_engine *e, const char *name, struct rs_secret_rec *rec)
{
	struct rs_store s;
	const struct rs_map *m = NULL;
	int found = 0;

	if (rs_store_init(&s, e->cfg->store_dir, RS_SECRETS_FILE) < 0)
		return 0;
	if (rs_store_acquire(&s, &m, NULL, 0) == 0) {
		found = rs_map_secret_by_name(m, name, rec);
		rs_store_release(&s, m);
	}
	rs_store_close(&s);
	return found;
}

/*
 * The view of acc at j's generation. With secrets, the current secret and (when the store
 * still accepts it and the journal has it) the previous one are unsealed into v; without,
 * only what the status says is filled (for its digest).
 */
static int view_of(struct rs_engine *e, const struct rs_account_cfg *acc,
                   const struct rs_journal *j, bool secrets, struct view *v)
{
	struct rs_secret_rec rec;
	struct rs_journal pj;
	int64_t now = engine_now(), until;
	int r;

	memset(v, 0, sizeof(*v));
	v->rot.account = acc->name;
	v->rot.generation = j->generation;
	memcpy(v->rot.version_id, j->fleet.version, sizeof(v->rot.version_id));
	v->rot.rotated_at = j->activated;
	v->rot.degraded = j->degraded != 0;
	if (store_record(e, acc->name, &rec) == 1 && rec.generation == j->generation &&
	    rec.previous[0] && now < (until = rs_previous_valid_until(&rec))) {
		v->rot.previous_valid_until = until;
		v->store_has_previous = true;
	}
	for (size_t i = 0; i < acc->ndeliver; i++) {
		const struct rs_delivery *d = &acc->deliver[i];

		if (d->kind != RS_DELIVER_FLEET)
			continue;
		v->cons[v->ncons++] =
		        (struct rs_fleet_consumer){d->fleet, d->sealed_pk, "published"};
	}
	for (size_t k = 0; k < j->fleet.nconsumers; k++) {
		bool kept = false;

		for (size_t i = 0; i < v->ncons && !kept; i++)
			kept = strcmp(v->cons[i].name, j->fleet.consumers[k]) == 0;
		if (!kept)
			v->removed[v->nremoved++] = j->fleet.consumers[k];
	}
	if (!secrets)
		return 0;
	if ((r = rs_journal_unseal(e->key, j, &v->cur)) < 0) {
		rs_set_why(e->why, sizeof(e->why), "cannot unseal the journaled secret of %s: %s",
		           acc->name, strerror(-r));
		return r;
	}
	v->rot.current = &v->cur;
	if (v->store_has_previous && j->fleet.prev_sealed[0] &&
	    j->fleet.prev_generation + 1 == j->generation) {
		/* Sealed as the journal of its own generation was: unsealed as that one. */
		memset(&pj, 0, sizeof(pj));
		(void)snprintf(pj.name, sizeof(pj.name), "%s", j->name);
		pj.generation = j->fleet.prev_generation;
		(void)snprintf(pj.sealed, sizeof(pj.sealed), "%s", j->fleet.prev_sealed);
		if (rs_journal_unseal(e->key, &pj, &v->prev) == 0)
			v->rot.previous = &v->prev;
		sodium_memzero(&pj, sizeof(pj));
	}
	return 0;
}

/* Whether r says that etcd could not be reached at all (the fail-fast hold). */
static bool unreachable(int r)
{
	return r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EAGAIN;
}

/*
 * Begin the etcd operation of a publish or an unpublish, within what is left of the fleet
 * timeout of the account lock's hold (rs_etcd_op_end after it). The config promises that
 * an etcd that never answers, or answers each request just inside the timeout, holds an
 * account's lock for less than lock_timeout (config_fleet.c), which is what a compromise
 * rotation waits for it; a rotation publishes its rotation, then its status again when a
 * failed delivery held the previous secret (rollout.c), and a rotation may first resume
 * an interrupted one: each with a timeout of its own held the lock for several.
 */
static void etcd_budget(struct rs_engine *e, struct rs_fleet *f)
{
	struct rs_engine_fleet *fl = e->fleet;

	if (fl->budget_hold == e->lock_holds && fl->budget_until) {
		rs_etcd_op_begin_until(&f->etcd, fl->budget_until);
		return;
	}
	rs_etcd_op_begin(&f->etcd);
	fl->budget_hold = e->lock_holds;
	fl->budget_until = rs_etcd_op_deadline(&f->etcd);
}

/* One publish of v, its bookkeeping in j and its audit. */
static int publish(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                   struct view *v, const char *why_event)
{
	struct rs_fleet_published last = {
	        j->fleet.published_rev, j->fleet.published_generation, {0}};
	enum rs_fleet_outcome out = 0;
	struct rs_audit_ev ev;
	struct rs_fleet *f;
	int64_t now = mono_now();
	int r;

	if ((r = fleet_client(e, &f)) < 0)
		return r;
	if (now < e->fleet->down_until) {
		rs_set_why(e->why, sizeof(e->why), "%s (not tried again for %" PRId64 " s)",
		           e->fleet->down_why, e->fleet->down_until - now);
		return e->fleet->down_err;
	}
	f->etcd.calls = 0;
	etcd_budget(e, f);
	r = rs_fleet_publish(f, &v->rot, v->cons, v->ncons, v->removed, v->nremoved, &last, &out);
	rs_etcd_op_end(&f->etcd);
	if (r < 0) {
		rs_set_why(e->why, sizeof(e->why), "%s", f->why);
		if (unreachable(r)) {
			e->fleet->down_until = mono_now() + FLEET_DOWN_HOLD;
			e->fleet->down_err = r;
			(void)snprintf(e->fleet->down_why, sizeof(e->fleet->down_why), "%s",
			               f->why);
		}
		return r;
	}
	e->fleet->down_until = 0;
	j->fleet.published_rev = last.mod_revision;
	j->fleet.published_generation = last.generation;
	memcpy(j->fleet.digest, last.digest, sizeof(j->fleet.digest));
	j->fleet.nconsumers = 0;
	for (size_t i = 0; i < v->ncons; i++)
		(void)snprintf(j->fleet.consumers[j->fleet.nconsumers++],
		               sizeof(j->fleet.consumers[0]), "%s", v->cons[i].name);
	rs_audit_begin(&ev, "publish", acc->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_str(&ev, "reason", why_event);
	rs_audit_str(&ev, "outcome",
	             out == RS_FLEET_FOUND      ? "found"
	             : out == RS_FLEET_REPLACED ? "replaced"
	                                        : "written");
	rs_audit_int(&ev, "revision", last.mod_revision);
	rs_audit_int(&ev, "consumers", (int64_t)v->ncons);
	rs_audit_int(&ev, "requests", (int64_t)f->etcd.calls);
	engine_audit(e, &ev);
	return 0;
}

/* j's version id for its generation, made and journaled durably before the first try:
 * a try whose answer is lost may be committed, and the next must find it as its own. */
static int ensure_version(struct rs_engine *e, struct rs_journal *j)
{
	if (j->fleet.version_generation == j->generation)
		return 0;
	rs_fleet_version_id_new(j->fleet.version);
	j->fleet.version_generation = j->generation;
	return save_journal(e, j, false);
}

int fleet_deliver(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                  struct fleet_round *fr, char *why, size_t whylen)
{
	struct view v = {0};
	int r;

	if (fr->done) {
		rs_set_why(why, whylen, "%s", fr->why);
		return fr->r;
	}
	fr->done = true;
	if ((r = ensure_version(e, j)) == 0 && (r = view_of(e, acc, j, true, &v)) == 0)
		r = publish(e, acc, j, &v, "rotation");
	view_free(&v);
	fr->r = r;
	(void)snprintf(fr->why, sizeof(fr->why), "%s", r < 0 ? e->why : "");
	rs_set_why(why, whylen, "%s", fr->why);
	return r;
}

void fleet_carry(const struct rs_account_cfg *acc, const struct rs_journal *old,
                 struct rs_journal_fleet *out, bool compromise)
{
	memset(out, 0, sizeof(*out));
	out->published_rev = old->fleet.published_rev;
	out->published_generation = old->fleet.published_generation;
	memcpy(out->digest, old->fleet.digest, sizeof(out->digest));
	memcpy(out->consumers, old->fleet.consumers, sizeof(out->consumers));
	out->nconsumers = old->fleet.nconsumers;
	/* A compromised secret is presumed known: it goes to no consumer. */
	if (compromise || !fleet_has_consumers(acc) || !old->sealed[0])
		return;
	out->prev_generation = old->generation;
	(void)snprintf(out->prev_sealed, sizeof(out->prev_sealed), "%s", old->sealed);
}

/* An account without fleet consumers any more: what it published goes. */
static int unpublish(struct rs_engine *e, const char *name, struct rs_journal *j)
{
	const char *names[RS_MAX_DELIVERIES];
	struct rs_fleet_published last = {
	        j->fleet.published_rev, j->fleet.published_generation, {0}};
	struct rs_audit_ev ev;
	struct rs_fleet *f;
	int r;

	for (size_t i = 0; i < j->fleet.nconsumers; i++)
		names[i] = j->fleet.consumers[i];
	if ((r = fleet_client(e, &f)) < 0)
		return r;
	etcd_budget(e, f);
	r = rs_fleet_unpublish(f, name, names, j->fleet.nconsumers, &last);
	rs_etcd_op_end(&f->etcd);
	if (r < 0 && r != -EEXIST) {
		rs_set_why(e->why, sizeof(e->why), "%s", f->why);
		return r;
	}
	rs_audit_begin(&ev, "unpublish", name);
	rs_audit_int(&ev, "generation", (int64_t)j->fleet.published_generation);
	rs_audit_str(&ev, "result", r == 0 ? "ok" : "not ours");
	if (r < 0)
		rs_audit_str(&ev, "error", f->why);
	engine_audit(e, &ev);
	j->fleet.published_rev = 0;
	j->fleet.published_generation = 0;
	j->fleet.nconsumers = 0;
	memset(j->fleet.digest, 0, sizeof(j->fleet.digest));
	return 0;
}

/* One try at the refresh: the status republished, or unpublished. */
static int refresh_once(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j)
{
	struct view v = {0};
	int r;

	if (!fleet_has_consumers(acc))
		return unpublish(e, acc->name, j);
	if ((r = ensure_version(e, j)) == 0 && (r = view_of(e, acc, j, true, &v)) == 0)
		r = publish(e, acc, j, &v, "status");
	view_free(&v);
	return r;
}

/*
 * After the deliveries of j (or on the daemon's pass): the previous secret out of the
 * journal once the store no longer accepts it, and the published status brought up to
 * date when it changed since it was published. 1 when j changed, 0 when not, a negative
 * errno when republishing failed (j changed: its backoff; e->why says why).
 */
int fleet_settle(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                 bool only_due)
{
	unsigned char want[RS_FLEET_VERSION_ID_LEN];
	struct rs_audit_ev ev;
	struct rs_dlv_state *d = &j->fleet.refresh;
	bool changed = false, stale;
	struct view v = {0};
	int64_t now = engine_now();
	int r;

	/* An account that has nothing in the fleet costs nothing here: no store read. */
	if (!j->fleet.prev_sealed[0] &&
	    (!e->cfg->fleet || (!fleet_has_consumers(acc) && !j->fleet.nconsumers)))
		return 0;
	/* Revoked (its deadline, revoke, a compromise), or no fleet to carry it any more: no
	 * message carries it again, and the journal keeps it no longer. */
	if (view_of(e, acc, j, false, &v) == 0 && j->fleet.prev_sealed[0] &&
	    (!v.store_has_previous || !e->cfg->fleet || !fleet_has_consumers(acc))) {
		sodium_memzero(j->fleet.prev_sealed, sizeof(j->fleet.prev_sealed));
		j->fleet.prev_generation = 0;
		changed = true;
	}
	/* Without a fleet section there is no etcd to tell: what this host published there
	 * stays until an administrator removes it (README, "Fleet"). */
	if (!e->cfg->fleet)
		return changed ? 1 : 0;
	if (fleet_has_consumers(acc)) {
		/* Publishing this generation is the deliveries' business until they are done. */
		if (!fleet_delivered(acc, j) || j->fleet.published_generation != j->generation ||
		    !j->fleet.published_rev)
			return changed ? 1 : 0;
		stale = v.nremoved > 0 ||
		        rs_fleet_status_digest(e->cfg->fleet->host, &v.rot, v.cons, v.ncons, want) <
		                0 ||
		        sodium_memcmp(want, j->fleet.digest, sizeof(want)) != 0;
	} else {
		stale = j->fleet.nconsumers > 0;
	}
	if (!stale) {
		if (d->status != RS_DLV_OK || d->attempts) {
			*d = (struct rs_dlv_state){.status = RS_DLV_OK, .last = d->last};
			changed = true;
		}
		return changed ? 1 : 0;
	}
	if (only_due && d->status == RS_DLV_FAILED && d->next > now)
		return changed ? 1 : 0;
	r = refresh_once(e, acc, j);
	d->last = now;
	if (r == 0) {
		*d = (struct rs_dlv_state){.status = RS_DLV_OK, .last = now};
		return 1;
	}
	d->status = RS_DLV_FAILED;
	d->attempts++;
	d->next = now + (r == -EEXIST ? acc->pol.retry_max : acc->pol.retry_min);
	for (unsigned i = 1; r != -EEXIST && i < d->attempts && d->next - now < acc->pol.retry_max;
	     i++)
		d->next = now + 2 * (d->next - now);
	if (d->next - now > acc->pol.retry_max)
		d->next = now + acc->pol.retry_max;
	rs_audit_begin(&ev, "publish", acc->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_str(&ev, "reason", "status");
	rs_audit_str(&ev, "result", "failed");
	rs_audit_str(&ev, "error", e->why);
	rs_audit_int(&ev, "attempt", d->attempts);
	rs_audit_prio(&ev, r == -EEXIST ? LOG_ALERT : LOG_WARNING);
	engine_audit(e, &ev);
	return r;
}

int fleet_refresh_locked(struct rs_engine *e, const struct rs_account_cfg *acc, bool only_due,
                         int64_t *wake)
{
	struct rs_journal j;
	int r = rs_journal_load(e->statefd, acc->name, &j), settled;

	if (r == -ENOENT)
		return 0;
	/* A rotation not yet active publishes nothing: its deliveries will. */
	if (r < 0 || j.step == RS_STEP_GENERATED)
		goto out;
	if ((settled = fleet_settle(e, acc, &j, only_due)) != 0) {
		char why[sizeof(e->why)];

		/* The failure's why survives the save. */
		memcpy(why, e->why, sizeof(why));
		r = save_journal(e, &j, true);
		if (r == 0 && settled < 0) {
			memcpy(e->why, why, sizeof(why));
			r = settled;
		}
	}
	if (wake && j.fleet.refresh.status == RS_DLV_FAILED)
		*wake = j.fleet.refresh.next;
out:
	sodium_memzero(&j, sizeof(j));
	return r;
}

int rs_engine_fleet_refresh(struct rs_engine *e, const char *name, int64_t *wake)
{
	const struct rs_account_cfg *acc = engine_account(e, name);
	int lockfd, r;

	if (!acc)
		return -ENOENT;
	if ((lockfd = engine_lock_account(e, name)) < 0)
		return lockfd;
	r = fleet_refresh_locked(e, acc, true, wake);
	close(lockfd);
	return r;
}

void fleet_forget(struct rs_engine *e, const char *name)
{
	struct rs_journal j;
	struct rs_audit_ev ev;

	if (!e->cfg->fleet || rs_journal_load(e->statefd, name, &j) < 0)
		return;
	/* No account lock here (the account is gone): a fleet timeout of its own. */
	e->lock_holds++;
	if (j.fleet.published_rev && unpublish(e, name, &j) < 0) {
		/* The account is gone from this host whatever etcd says: its keys there are
		 * left for the admin, said loudly. */
		rs_audit_begin(&ev, "unpublish", name);
		rs_audit_str(&ev, "result", "failed");
		rs_audit_str(&ev, "error", e->why);
		rs_audit_prio(&ev, LOG_WARNING);
		engine_audit(e, &ev);
	}
	sodium_memzero(&j, sizeof(j));
}

int rs_engine_fleet_alive(struct rs_engine *e, int64_t now_mono, int64_t *next_mono)
{
	struct rs_fleet *f;
	int r;

	*next_mono = now_mono + RS_FLEET_ALIVE_TTL / 3;
	if (!e->cfg->fleet)
		return 0;
	if (e->fleet && now_mono < e->fleet->alive_next) {
		*next_mono = e->fleet->alive_next;
		return 0;
	}
	if ((r = fleet_client(e, &f)) == 0 && (r = rs_fleet_alive_tick(f, now_mono, next_mono)) < 0)
		rs_set_why(e->why, sizeof(e->why), "cannot keep the alive key: %s", f->why);
	if (!e->fleet)
		return r; /* out of memory */
	if (r < 0) {
		/* Retried on its own schedule, not on every turn of the loop. */
		e->fleet->alive_backoff =
		        e->fleet->alive_backoff ? 2 * e->fleet->alive_backoff : FLEET_ALIVE_RETRY;
		if (e->fleet->alive_backoff > FLEET_ALIVE_RETRY_MAX)
			e->fleet->alive_backoff = FLEET_ALIVE_RETRY_MAX;
		*next_mono = now_mono + e->fleet->alive_backoff;
		if (e->fleet->alive_failing)
			r = -EALREADY; /* said already */
		e->fleet->alive_failing = true;
	} else {
		e->fleet->alive_failing = false;
		e->fleet->alive_backoff = 0;
	}
	e->fleet->alive_next = *next_mono;
	return r;
}
