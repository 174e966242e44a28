/*
 * A rotation (ARCHITECTURE.md, contract §3): a new secret generated and journaled, then made
 * current in the store (activated); the revoke of a previous secret before its deadline, and the
 * mark of an account whose deliveries outlasted max_grace (degraded). What follows the activation,
 * the deliveries, is rollout.c's.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "deliver.h"
#include "duration.h"
#include "fault.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	(void)strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

int new_secret(struct rs_engine *e, const struct rs_account_cfg *acc,
               const struct rs_secret_rec *rec, uint64_t generation, struct rs_journal *j,
               struct rs_secret *s)
{
	int r;

	memset(j, 0, sizeof(*j));
	(void)snprintf(j->name, sizeof(j->name), "%s", acc->name);
	j->generation = generation;
	j->step = RS_STEP_GENERATED;
	j->created = engine_now();
	j->grace = -1;
	/* Every consumer the config has now, by its digest: a new generation is for all. */
	(void)rs_journal_follow_config(acc, j);
	for (size_t i = 0; i < j->ndeliver; i++)
		j->dlv[i].fresh = false;
	if ((r = rs_secret_generate(&acc->pol.alphabet, acc->pol.length, s)) < 0)
		goto out;
	if ((r = rs_hash_secret_like(s->buf, s->len, acc->pol.entropy_bits, acc->pol.hash_cost, rec,
	                             j->hash)) < 0)
		goto out;
	r = rs_journal_seal(e->key, j, s);
out:
	if (r < 0)
		rs_set_why(e->why, sizeof(e->why), "cannot generate a secret for %s: %s", acc->name,
		           strerror(-r));
	return r;
}

int save_journal(struct rs_engine *e, const struct rs_journal *j, bool lazy)
{
	int r = lazy ? rs_journal_save_lazy(e->statefd, j) : rs_journal_save(e->statefd, j);

	if (r < 0)
		rs_set_why(e->why, sizeof(e->why), "cannot write the journal of %s in %s: %s",
		           j->name, e->cfg->state_dir, strerror(-r));
	return r;
}

int64_t grace_of(const struct rs_account_cfg *acc, const struct rs_journal *j)
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

/* Make the journaled secret current in `rec` (ARCHITECTURE.md, contract §3). */
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

void audit_step(struct rs_engine *e, const char *event, const struct rs_journal *j,
                const char *step)
{
	struct rs_audit_ev ev;

	rs_audit_begin(&ev, event, j->name);
	rs_audit_str(&ev, "step", step);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	if (j->compromise)
		rs_audit_str(&ev, "compromise", "true");
	engine_audit(e, &ev);
}

int64_t previous_until(const struct rs_secret_rec *rec, int64_t now)
{
	int64_t until = rs_previous_valid_until(rec);

	return rec->previous[0] && now < until ? until : 0;
}

/*
 * The store holds j's secret as current since `since`, and the previous secret until
 * `deadline` (0: none): the step, in memory, its audit and its event (`why`: what started
 * the rotation; `resumed`: an interrupted one finished). Not journaled: the store itself
 * says that j is active (its generation and hash are the journal's), and every resume of
 * a journal at "generated" looks there first (activate_locked, already_active). The next
 * save, after the deliveries, records it.
 */
static void journal_activated(struct rs_engine *e, const struct rs_account_cfg *acc,
                              struct rs_journal *j, int64_t since, int64_t deadline,
                              const char *why, bool resumed)
{
	j->activated = since;
	j->held = hold_while_delivering(acc, j);
	j->step = RS_STEP_ACTIVATED;
	audit_step(e, j->generation == 1 ? "create" : "rotate", j, "activate");
	/* A first secret is part of creating the account, which sync tells. */
	if (j->generation > 1) {
		struct rs_event ev = {.kind = resumed ? RS_EV_FINISH : RS_EV_ROTATE,
		                      .name = j->name,
		                      .generation = j->generation,
		                      .deadline = deadline,
		                      .detail = j->compromise ? "compromise" : why,
		                      .result = 1};

		engine_event(e, &ev);
	}
	if (j->held) {
		struct rs_audit_ev ev;
		struct rs_event hev = {.kind = RS_EV_HOLD,
		                       .name = j->name,
		                       .generation = j->generation,
		                       .deadline = deadline,
		                       .detail = "while delivering",
		                       .result = 1};

		rs_audit_begin(&ev, "hold", acc->name);
		rs_audit_int(&ev, "generation", (int64_t)j->generation);
		rs_audit_str(&ev, "reason", "delivering");
		engine_audit(e, &ev);
		engine_event(e, &hev);
	}
}

/* The previous secret of generation `gen` revoked for `reason`: audit and event. */
static void revoked(struct rs_engine *e, const char *name, uint64_t gen, const char *reason,
                    const char *detail)
{
	struct rs_audit_ev ev;
	struct rs_event rev = {.kind = RS_EV_REVOKE,
	                       .name = name,
	                       .generation = gen,
	                       .detail = detail,
	                       .result = 1};

	rs_audit_begin(&ev, "revoke", name);
	rs_audit_str(&ev, "reason", reason);
	rs_audit_int(&ev, "generation", (int64_t)gen);
	engine_audit(e, &ev);
	engine_event(e, &rev);
}

/*
 * A journal at "generated" whose secret the store already has as current (the rotation
 * was killed after the store write) finished by an operation whose options differ from
 * the ones it was activated with: a compromise (rotate --revoke-previous, revoke) must not
 * leave the secret it replaced valid as "previous". Whether rec changed.
 */
static bool follow_compromise(const struct rs_account_cfg *acc, const struct rs_journal *j,
                              struct rs_secret_rec *rec)
{
	if (!j->compromise || !rec->previous[0])
		return false;
	drop_previous(rec, acc->pol.tripwire_keep);
	return true;
}

/* Activate a journal at step GENERATED, in t, a transaction on acc alone; with `reapply`,
 * make a store that already has it follow its options (follow_compromise). */
static int activate_locked(struct rs_engine *e, const struct rs_account_cfg *acc,
                           struct rs_journal *j, struct txn *t, bool reapply)
{
	struct rs_secret_rec *rec = &t->rec;
	int64_t now = engine_now();
	int r;

	if (!t->found) {
		rs_set_why(e->why, sizeof(e->why), "%s is not in the store; run rotsecctl sync",
		           acc->name);
		return -ENOENT;
	}
	if (rec->generation == j->generation && strcmp(rec->current, j->hash) == 0) {
		/* Crashed after the store write, before the deliveries were journaled. */
		if (reapply && follow_compromise(acc, j, rec)) {
			if ((r = txn_write_secrets(e, t)) < 0)
				return r;
			revoked(e, acc->name, j->generation - 1, "compromise", "compromise");
		}
		journal_activated(e, acc, j, rec->current_since, previous_until(rec, now), NULL,
		                  true);
		return 0;
	}
	if (rec->generation + 1 != j->generation) {
		rs_set_why(e->why, sizeof(e->why),
		           "journal of %s (generation %" PRIu64 ") does not follow the store "
		           "(generation %" PRIu64 "); not touching it",
		           acc->name, j->generation, rec->generation);
		return -ESTALE;
	}
	activate_rec(acc, j, rec, now);
	if ((r = txn_write_secrets(e, t)) < 0)
		return r;
	(void)RS_FAULT("rotate.activated");
	journal_activated(e, acc, j, now, previous_until(rec, now), NULL, true);
	return 0;
}

/*
 * Whether the store already holds j's secret as current (a sync wrote the first secrets
 * of its new accounts in one store write before journaling them), looked up in `snap`, a
 * read-only mapping kept across accounts: 1 and its record, 0 when not (or when the
 * mapping cannot tell: the caller then takes the store transaction). No store lock is
 * needed: the current secret and generation of an account change only under its account
 * lock, which the caller holds.
 */
static int already_active(struct rs_store *snap, const struct rs_journal *j,
                          struct rs_secret_rec *rec)
{
	const struct rs_map *m;
	int found;

	if (!snap || rs_store_acquire(snap, &m, NULL, 0) < 0)
		return 0;
	found = rs_map_secret_by_name(m, j->name, rec);
	rs_store_release(snap, m);
	return found == 1 && rec->generation == j->generation && strcmp(rec->current, j->hash) == 0;
}

/* A transaction reads the whole store, and one per account would make a sync of N new
 * accounts quadratic: hence `snap`. */
int activate_journaled(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                       struct rs_store *snap, bool reapply)
{
	struct rs_secret_rec rec;
	struct txn t;
	int r;

	if (already_active(snap, j, &rec) && !(reapply && j->compromise && rec.previous[0])) {
		journal_activated(e, acc, j, rec.current_since, previous_until(&rec, engine_now()),
		                  NULL, true);
		e->resumed++;
		return 0;
	}
	if ((r = txn_begin_one(e, &t, acc->name)) < 0)
		goto out;
	if ((r = activate_locked(e, acc, j, &t, reapply)) < 0)
		goto out;
	e->resumed++;
out:
	txn_end(&t);
	return r;
}

/* -EBUSY with e->why when rec's previous secret is still in grace. */
static int refuse_in_grace(struct rs_engine *e, const char *name, const struct rs_secret_rec *rec)
{
	int64_t until = rs_previous_valid_until(rec), now = engine_now();
	char when[32], left[32];

	if (!rec->previous[0] || now >= until)
		return 0;
	fmt_time(until, when, sizeof(when));
	rs_duration_format(until - now, left, sizeof(left));
	rs_set_why(e->why, sizeof(e->why),
	           "the previous secret of %s is in grace until %s (%s from now); rotate after "
	           "that, or use --revoke-previous for a compromise rotation",
	           name, when, left);
	return -EBUSY;
}

/*
 * Finish j, a rotation a crash or a failed store write left at "generated", under the
 * account lock, with the options of the command that found it (opts): its grace, and a
 * compromise when either it or the command asked for one. A compromise is never undone
 * by a later plain rotate: its secret is presumed known to someone else. The options are
 * journaled before the store changes, so that a crash in between resumes with them; a
 * store that already has j's secret is made to follow a compromise (follow_compromise).
 * -ESTALE when j does not follow the store (e->why says so).
 */
static int finish_interrupted(struct rs_engine *e, const struct rs_account_cfg *acc,
                              struct rs_journal *j, const struct rs_rotate_opts *opts)
{
	bool changed = (opts->compromise && !j->compromise) || opts->grace != j->grace;
	int r;

	j->compromise = j->compromise || opts->compromise;
	j->grace = opts->grace;
	if (changed && (r = save_journal(e, j, false)) < 0)
		return r;
	if ((r = activate_journaled(e, acc, j, NULL, true)) < 0)
		return r;
	return resume_locked(e, acc, j, false, NULL);
}

/*
 * A rotation (ARCHITECTURE.md, contract §3), in the order that makes every crash resumable:
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
 *
 * A journal found at "generated" is that rotation interrupted: it is finished, with this
 * call's options (finish_interrupted), instead of starting another. For a compromise, one
 * that does not follow the store (its secret was never this store's) is set aside and a
 * new rotation made: whatever the journal says, a compromise rotation that returns 0 leaves
 * the new secret the only one accepted.
 */
int rs_engine_rotate(struct rs_engine *e, const char *name, const struct rs_rotate_opts *opts)
{
	const struct rs_account_cfg *acc = engine_account(e, name);
	struct rs_secret s = {0};
	struct rs_journal j;
	struct rs_journal_fleet fleet = {0};
	struct txn t = {0};
	uint64_t failures, verify_failures;
	int64_t now, until;
	int lockfd, r, staged, degraded;

	if (!acc)
		return -ENOENT;
	if ((lockfd = engine_lock_account(e, name)) < 0)
		return lockfd;
	r = rs_journal_load(e->statefd, name, &j);
	if (r == 0 && j.step == RS_STEP_GENERATED) {
		r = finish_interrupted(e, acc, &j, opts);
		if (r != -ESTALE || !opts->compromise)
			goto out;
		e->why[0] = '\0';
		r = 0;
	}
	failures = r == 0 ? j.failures : 0;
	verify_failures = r == 0 ? j.verify_failures : 0;
	if (r == 0)
		fleet_carry(acc, &j, &fleet, opts->compromise);
	/* Degraded holds until every consumer has the current secret: a rotation started
	 * while one lacks it does not clear the mark, its deliveries do (deliver_locked). */
	degraded = r == 0 && j.degraded;
	if ((r = txn_begin_one(e, &t, name)) < 0)
		goto out;
	if (!t.found) {
		rs_set_why(e->why, sizeof(e->why), "%s is not in the store yet; run rotsecctl sync",
		           name);
		r = -ENOENT;
		goto out;
	}
	if (!opts->compromise && (r = refuse_in_grace(e, name, &t.rec)) < 0)
		goto out;
	if ((r = new_secret(e, acc, &t.rec, t.rec.generation + 1, &j, &s)) < 0)
		goto out;
	j.compromise = opts->compromise;
	j.grace = opts->grace;
	j.failures = failures;
	j.verify_failures = verify_failures;
	j.fleet = fleet;
	j.degraded = degraded;
	now = engine_now();
	activate_rec(acc, &j, &t.rec, now);
	if ((r = staged = txn_stage(e, &t)) == -EPROTO)
		goto out;
	if ((r = save_journal(e, &j, false)) < 0)
		goto out;
	(void)RS_FAULT("rotate.generated");
	audit_step(e, "rotate", &j, "generate");
	/* e->why says why; the journaled rotation is resumed once it can be. */
	if ((r = staged) < 0)
		goto out;
	if ((r = txn_commit(e, &t)) < 0)
		goto out;
	(void)RS_FAULT("rotate.activated");
	until = previous_until(&t.rec, now);
	txn_end(&t);
	journal_activated(e, acc, &j, now, until, opts->reason ? opts->reason : "requested", false);
	r = deliver_locked(e, acc, &j, true);
out:
	txn_end(&t);
	rs_secret_free(&s);
	close(lockfd);
	return r;
}

int degrade_locked(struct rs_engine *e, struct rs_journal *j, const char *reason, bool save)
{
	struct rs_audit_ev ev;
	struct rs_event dev = {.kind = RS_EV_DEGRADED,
	                       .name = j->name,
	                       .generation = j->generation,
	                       .detail = reason,
	                       .result = 1};
	int r = 0;

	if (j->degraded)
		return 0;
	j->degraded = 1;
	if (save && (r = save_journal(e, j, false)) < 0)
		return r;
	rs_audit_begin(&ev, "degraded", j->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_str(&ev, "reason", reason);
	rs_audit_prio(&ev, LOG_ALERT);
	engine_audit(e, &ev);
	engine_event(e, &dev);
	return 0;
}

/*
 * End the previous secret's grace now. An admin's revoke (`admin`) is a compromise: when it
 * returns 0 only the newest secret is accepted, whatever the journal says. A rotation
 * interrupted at "generated" is finished first, as a compromise rotation (the secret it
 * replaces gets no grace); one whose consumers do not all have the current secret leaves
 * the account degraded (some consumer may now hold nothing that works). The daemon's quiet
 * revoke (not `admin`) leaves an interrupted rotation to the daemon's resume (-EBUSY).
 */
int rs_engine_revoke(struct rs_engine *e, const char *name, const char *reason, bool admin)
{
	const struct rs_account_cfg *acc = engine_account(e, name);
	struct rs_journal j;
	struct txn t = {0};
	uint64_t gen;
	int lockfd, r;
	bool have_j;

	if (!acc)
		return -ENOENT;
	if ((lockfd = engine_lock_account(e, name)) < 0)
		return lockfd;
	have_j = rs_engine_load_journal(e, acc, &j) == 0;
	if (have_j && j.step == RS_STEP_GENERATED) {
		struct rs_rotate_opts o = {.grace = -1, .compromise = true};

		if (!admin) {
			rs_set_why(e->why, sizeof(e->why),
			           "an interrupted rotation of %s is still to be finished", name);
			r = -EBUSY;
			goto out;
		}
		/* Its secret is the newest: made current, with no earlier one left. */
		if ((r = finish_interrupted(e, acc, &j, &o)) != -ESTALE)
			goto out;
		/* Not this store's rotation: the store's own previous secret is what goes. */
		e->why[0] = '\0';
		have_j = false;
	}
	if ((r = txn_begin_one(e, &t, name)) < 0)
		goto out;
	if (!t.found || !previous_until(&t.rec, engine_now())) {
		if (t.found)
			rs_set_why(e->why, sizeof(e->why),
			           "%s has no previous secret in grace: only its current secret "
			           "(generation %" PRIu64 ") is accepted",
			           name, t.rec.generation);
		else
			rs_set_why(e->why, sizeof(e->why), "%s is not in the store", name);
		r = -ENOENT;
		goto out;
	}
	gen = t.rec.generation;
	drop_previous(&t.rec, tripwire_keep(e, name));
	if ((r = txn_write_secrets(e, &t)) < 0)
		goto out;
	revoked(e, name, gen - 1, reason,
	        strcmp(reason, "quiet") == 0   ? "quiet_revoke: no longer in use"
	        : strcmp(reason, "admin") == 0 ? "rotsecctl revoke"
	                                       : reason);
	if (have_j && j.generation == gen && j.step != RS_STEP_GENERATED &&
	    rs_journal_outstanding(&j, acc->ndeliver, acc->verify_argv != NULL))
		r = degrade_locked(e, &j,
		                   "previous secret revoked while a consumer lacks the current one",
		                   true);
	/* Its fleet messages stop carrying it, and its sealed copy goes (rollout_fleet.c). */
	txn_end(&t);
	if (r == 0)
		(void)fleet_refresh_locked(e, acc, false, NULL);
out:
	txn_end(&t);
	close(lockfd);
	return r;
}

int rs_engine_set_degraded(struct rs_engine *e, const char *name, const char *reason)
{
	struct rs_journal j;
	int lockfd, r;

	if ((lockfd = engine_lock_account(e, name)) < 0)
		return lockfd;
	r = rs_journal_load(e->statefd, name, &j);
	if (r < 0 || j.degraded || j.step != RS_STEP_ACTIVATED)
		goto out;
	r = degrade_locked(e, &j, reason, true);
out:
	close(lockfd);
	return r;
}
