/*
 * What follows the activation of a new secret (ARCHITECTURE.md, contract §3): its delivery to
 * every consumer, then the account's verify command; the outcome of each attempt in the
 * journal, failures retried after a backoff; the previous secret held (up to max_grace)
 * while a consumer may still hold only it, released once every consumer has the new one;
 * and the resumption of all of it after a crash, from what the journal says.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "deliver.h"
#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

bool rs_journal_follow_config(const struct rs_account_cfg *acc, struct rs_journal *j)
{
	struct rs_dlv_state old[RS_MAX_DELIVERIES];
	bool used[RS_MAX_DELIVERIES] = {false};
	size_t n = acc->ndeliver < RS_MAX_DELIVERIES ? acc->ndeliver : RS_MAX_DELIVERIES;
	size_t nold = j->ndeliver < RS_MAX_DELIVERIES ? j->ndeliver : RS_MAX_DELIVERIES;
	bool changed = n != nold;

	memcpy(old, j->dlv, sizeof(old));
	for (size_t i = 0; i < n; i++) {
		char dg[RS_DLV_DIGEST_HEX + 1];
		size_t k = nold;

		rs_delivery_digest(&acc->deliver[i], dg);
		/* The same index first: two consumers with the same settings keep their own. */
		if (i < nold && !used[i] && strcmp(old[i].digest, dg) == 0)
			k = i;
		for (size_t m = 0; k == nold && m < nold; m++)
			if (!used[m] && strcmp(old[m].digest, dg) == 0)
				k = m;
		if (k < nold) {
			used[k] = true;
			j->dlv[i] = old[k];
			changed = changed || k != i;
		} else {
			j->dlv[i] = (struct rs_dlv_state){.status = RS_DLV_PENDING, .fresh = true};
			memcpy(j->dlv[i].digest, dg, sizeof(dg));
			changed = true;
		}
	}
	for (size_t i = n; i < RS_MAX_DELIVERIES; i++)
		j->dlv[i] = (struct rs_dlv_state){0};
	j->ndeliver = n;
	return changed;
}

int rs_engine_load_journal(const struct rs_engine *e, const struct rs_account_cfg *acc,
                           struct rs_journal *j)
{
	int r = e->statefd >= 0 ? rs_journal_load(e->statefd, acc->name, j) : -EBADF;

	if (r == 0)
		(void)rs_journal_follow_config(acc, j);
	return r;
}

static int64_t backoff(const struct rs_account_cfg *acc, unsigned attempts)
{
	int64_t d = acc->pol.retry_min > 0 ? acc->pol.retry_min : 1;

	for (unsigned i = 1; i < attempts && d < acc->pol.retry_max; i++)
		d *= 2;
	return d < acc->pol.retry_max ? d : acc->pol.retry_max;
}

/* The deadline the previous secret gets from set_hold, or 0 to leave it as it is. The
 * grace of this rotation (rotate --grace) from now, never the account's default in its
 * place. From the activation at the earliest: a clock stepped back below it must not cut
 * the grace of consumers that are still within it. */
static int64_t hold_deadline(const struct rs_account_cfg *acc, const struct rs_journal *j,
                             const struct rs_secret_rec *rec, int hold, int64_t now)
{
	int64_t want;

	if (rec->generation != j->generation || !rec->previous[0] ||
	    now >= rs_previous_valid_until(rec))
		return 0;
	want = hold ? rec->previous_limit
	            : (now > rec->current_since ? now : rec->current_since) + grace_of(acc, j);
	if (want > rec->previous_limit)
		want = rec->previous_limit;
	return (hold ? want > rec->previous_deadline : want < rec->previous_deadline) ? want : 0;
}

/*
 * Hold or release the previous secret while deliveries fail (ARCHITECTURE.md, contract §3): a
 * consumer that did not get the new secret still holds the old one, so its deadline moves out to
 * the hard limit (activation + max_grace); once every consumer has the new secret it gets a
 * normal grace from now, never past the limit.
 */
static int set_hold(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                    int hold)
{
	struct rs_audit_ev ev;
	struct rs_event hev = {.kind = hold ? RS_EV_HOLD : RS_EV_RELEASE,
	                       .name = acc->name,
	                       .generation = j->generation,
	                       .detail = hold ? "a consumer lacks the new secret"
	                                      : "every consumer has the new secret",
	                       .result = 1};
	struct txn t = {0};
	int64_t want, now = engine_now();
	int r;

	if (j->held == hold)
		return 0;
	if ((r = txn_begin_one(e, &t, acc->name)) < 0)
		goto out;
	if (t.found && (want = hold_deadline(acc, j, &t.rec, hold, now)) != 0) {
		t.rec.previous_deadline = want;
		if ((r = txn_write_secrets(e, &t)) < 0)
			goto out;
	}
	j->held = hold;
	hev.deadline = t.found ? previous_until(&t.rec, now) : 0;
	rs_audit_begin(&ev, hold ? "hold" : "release", acc->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_prio(&ev, hold ? LOG_WARNING : LOG_INFO);
	engine_audit(e, &ev);
	engine_event(e, &hev);
out:
	txn_end(&t);
	return r;
}

/* Whether the store accepts a previous secret of NAME besides its current one of
 * generation `gen`; true when it cannot tell (a store that cannot be read now is not a
 * reason to call an account degraded). */
static bool previous_accepted(const struct rs_engine *e, const char *name, uint64_t gen)
{
	struct rs_store s;
	const struct rs_map *m;
	struct rs_secret_rec rec;
	bool yes = true;

	if (rs_store_init(&s, e->cfg->store_dir, RS_SECRETS_FILE) < 0)
		return true;
	if (rs_store_acquire(&s, &m, NULL, 0) == 0) {
		if (rs_map_secret_by_name(m, name, &rec) == 1 && rec.generation == gen)
			yes = previous_until(&rec, engine_now()) != 0;
		rs_store_release(&s, m);
	}
	rs_store_close(&s);
	return yes;
}

const char *deliver_reason(const struct rs_dlv_state *d, char *buf, size_t len)
{
	if (d->fresh)
		return "new or changed consumer";
	if (d->status == RS_DLV_FAILED) {
		(void)snprintf(buf, len, "retry after %u failed attempt%s", d->attempts,
		               d->attempts == 1 ? "" : "s");
		return buf;
	}
	if (d->status == RS_DLV_OK)
		return "again";
	return "";
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
	int64_t now = engine_now();

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

/*
 * The account's verify command (ARCHITECTURE.md, contract §3), once every consumer has the secret.
 * It says whether the consumers work with the new secret (a health check, a test login of
 * the service): until it passes the rotation is not done, so the previous secret is held
 * as for a failed delivery (up to max_grace, then degraded), and it is retried with the
 * same backoff. Its outcome is journaled with the deliveries'.
 */
static void run_verify(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                       const struct rs_secret *s)
{
	struct rs_audit_ev ev;
	struct rs_event vev = {
	        .kind = RS_EV_VERIFY, .name = acc->name, .generation = j->generation};
	char why[RS_DELIVER_WHY_MAX] = "";
	const char *err;
	int r;

	r = rs_run_verify(acc, j->generation, s, why, sizeof(why));
	rs_audit_begin(&ev, "verify", acc->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_str(&ev, "command", acc->verify_argv[0]);
	err = record_attempt(acc, &j->vfy, r, why, &ev);
	if (err) {
		e->verify_failures++;
		j->verify_failures++;
		rs_set_why(e->why, sizeof(e->why), "verify command of %s failed: %s", acc->name,
		           err);
	}
	engine_audit(e, &ev);
	vev.result = err ? -1 : 1;
	vev.error = err;
	vev.retry = err ? j->vfy.next : 0;
	engine_event(e, &vev);
	(void)RS_FAULT("verify.done");
}

/* One attempt at consumer i of acc; true when it has the secret. A fleet consumer is
 * published to with the account's others, once per round (fr). */
static bool deliver_to(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                       size_t i, const struct rs_secret *s, struct fleet_round *fr)
{
	struct rs_audit_ev ev;
	struct rs_event dev = {
	        .kind = RS_EV_DELIVER, .name = acc->name, .generation = j->generation};
	char label[256], why[RS_DELIVER_WHY_MAX] = "", rbuf[64];
	const char *err;
	int r;

	/* A consumer given the secret again must be checked again. */
	j->vfy = (struct rs_dlv_state){0};
	rs_delivery_label(&acc->deliver[i], label, sizeof(label));
	dev.detail = label;
	dev.reason = deliver_reason(&j->dlv[i], rbuf, sizeof(rbuf));
	if (acc->deliver[i].kind == RS_DELIVER_FLEET)
		r = fleet_deliver(e, acc, j, fr, why, sizeof(why));
	else
		r = rs_deliver_one(acc, &acc->deliver[i], s, j->generation, why, sizeof(why));
	rs_audit_begin(&ev, "deliver", acc->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	rs_audit_str(&ev, "consumer", label);
	err = record_attempt(acc, &j->dlv[i], r, why, &ev);
	if (r == -EEXIST && acc->deliver[i].kind == RS_DELIVER_FLEET) {
		/* A newer or foreign status in etcd: retrying soon would not change it, and
		 * publishing over it would hand the consumers an older secret. An admin
		 * decides (fleet.h); until then, once per retry_max. */
		j->dlv[i].next = j->dlv[i].last + acc->pol.retry_max;
		rs_audit_prio(&ev, LOG_ALERT);
	}
	j->dlv[i].fresh = false;
	if (!err) {
		e->delivered++;
	} else {
		e->delivery_failures++;
		j->failures++;
		rs_set_why(e->why, sizeof(e->why), "delivery of %s to %s failed: %s", acc->name,
		           label, err);
	}
	engine_audit(e, &ev);
	dev.result = err ? -1 : 1;
	dev.error = err;
	dev.retry = err ? j->dlv[i].next : 0;
	engine_event(e, &dev);
	(void)RS_FAULT("deliver.done");
	return !err;
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
/* Why j is degraded when no previous secret is valid while a consumer lacks its own. */
static const char *degraded_reason(const struct rs_account_cfg *acc, const struct rs_journal *j)
{
	if (engine_now() < j->activated + acc->pol.max_grace)
		return "a consumer lacks the current secret and no previous secret is valid";
	return rs_journal_delivered(j, acc->ndeliver)
	               ? "verify command still failing at max_grace; the previous secret is revoked"
	               : "delivery still failing at max_grace; the previous secret is revoked";
}

/* The degraded mark cleared: every consumer has the current secret (and it verified). */
static void recovered(struct rs_engine *e, struct rs_journal *j)
{
	struct rs_audit_ev ev;
	struct rs_event rev = {.kind = RS_EV_RECOVERED,
	                       .name = j->name,
	                       .generation = j->generation,
	                       .detail =
	                               "every consumer has the current secret; no longer degraded",
	                       .result = 1};

	j->degraded = 0;
	rs_audit_begin(&ev, "recovered", j->name);
	rs_audit_int(&ev, "generation", (int64_t)j->generation);
	engine_audit(e, &ev);
	engine_event(e, &rev);
}

int deliver_locked(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                   bool all)
{
	struct fleet_round fr = {0};
	struct rs_secret s = {0};
	size_t i, ok = 0;
	int r;

	/* The config's consumers may have changed since: those it adds or changes get this
	 * generation, the others keep what they have. */
	(void)rs_journal_follow_config(acc, j);
	if ((r = rs_journal_unseal(e->key, j, &s)) < 0) {
		/* Only a box that does not open (or is bound to another account or generation)
		 * points at the key; a malformed journal or no memory says so itself. */
		rs_set_why(e->why, sizeof(e->why), "cannot unseal the journaled secret of %s%s: %s",
		           acc->name, r == -EBADMSG ? " (host key changed?)" : "", strerror(-r));
		goto out;
	}
	for (i = 0; i < j->ndeliver; i++)
		if ((j->dlv[i].status == RS_DLV_OK && !all) || deliver_to(e, acc, j, i, &s, &fr))
			ok++;
	if (ok == j->ndeliver && acc->verify_argv && (j->vfy.status != RS_DLV_OK || all))
		run_verify(e, acc, j, &s);
	rs_secret_free(&s);
	if (!rs_journal_outstanding(j, acc->ndeliver, acc->verify_argv != NULL)) {
		j->step = RS_STEP_DELIVERED;
		if (j->degraded)
			recovered(e, j);
		r = set_hold(e, acc, j, 0);
	} else {
		/* Not done, also when it was (a `rotsecctl deliver` that failed this time): at
		 * "activated" the daemon retries it, and marks it degraded at max_grace, rather
		 * than leaving a held previous secret that nothing looks at again. */
		j->step = RS_STEP_ACTIVATED;
		r = set_hold(e, acc, j, 1);
		/* No previous secret to hold (a compromise rotation, an admin's revoke, a grace
		 * that ended before the failure): a consumer may hold nothing that works now,
		 * not only at max_grace. A first secret had nothing before it to hold. */
		if (r == 0 && j->generation > 1 && !j->degraded &&
		    !previous_accepted(e, acc->name, j->generation))
			r = degrade_locked(e, j, degraded_reason(acc, j), false);
	}
	if (r < 0)
		goto out;
	/* What the hold and the outcome changed in the fleet's status: republished. */
	(void)fleet_settle(e, acc, j, false);
	r = save_journal(e, j, true);
out:
	rs_secret_free(&s);
	return r;
}

int resume_locked(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                  bool only_due, struct rs_store *snap)
{
	bool due = rs_journal_follow_config(acc, j), all_ok = true;
	int64_t now = engine_now();
	int r;

	if (j->step == RS_STEP_GENERATED && (r = activate_journaled(e, acc, j, snap, false)) < 0)
		return r;
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

int rs_engine_deliver(struct rs_engine *e, const char *name, bool all)
{
	const struct rs_account_cfg *acc = engine_account(e, name);
	struct rs_journal j;
	int lockfd, r;

	if (!acc)
		return -ENOENT;
	if ((lockfd = engine_lock_account(e, name)) < 0)
		return lockfd;
	if ((r = rs_engine_load_journal(e, acc, &j)) < 0) {
		rs_set_why(e->why, sizeof(e->why), "%s has no journaled secret to deliver (%s)",
		           name, strerror(-r));
		goto out;
	}
	if (j.step == RS_STEP_GENERATED && (r = activate_journaled(e, acc, &j, NULL, false)) < 0)
		goto out;
	r = deliver_locked(e, acc, &j, all);
out:
	close(lockfd);
	return r;
}

/* resume_locked for one account under its lock: 0 when there is nothing to resume. */
static int resume_account(struct rs_engine *e, const struct rs_account_cfg *acc, bool only_due,
                          struct rs_store *snap)
{
	struct rs_journal j;
	int lockfd, r;

	if ((lockfd = engine_lock_account(e, acc->name)) < 0)
		return lockfd;
	r = rs_journal_load(e->statefd, acc->name, &j);
	if (r == -ENOENT)
		r = 0;
	else if (r == 0)
		r = resume_locked(e, acc, &j, only_due, snap);
	close(lockfd);
	return r;
}

int rs_engine_resume(struct rs_engine *e, const char *name, bool only_due)
{
	struct rs_store snap, *sp = NULL;
	int first = 0;

	if (!name) {
		/* One scan of the state dir for every account, not one each. */
		engine_journal_cleanup(e);
		/* One read-only mapping of the store for every account, not a store
		 * transaction each (activate_journaled). */
		if (rs_store_init(&snap, e->cfg->store_dir, RS_SECRETS_FILE) == 0)
			sp = &snap;
	}
	for (size_t i = 0; i < e->cfg->naccounts; i++) {
		const struct rs_account_cfg *acc = &e->cfg->accounts[i];
		int r;

		if (name && strcmp(name, acc->name) != 0)
			continue;
		/* Every account is tried; the first failure is the answer. */
		if ((r = resume_account(e, acc, only_due, sp)) < 0 && !first)
			first = r;
	}
	if (sp)
		rs_store_close(sp);
	return first;
}
