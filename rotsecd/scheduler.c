#include "scheduler.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "schedule.h"
#include "store_read.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void earliest(int64_t *wake, int64_t t, int64_t now)
{
	if (t > now && t < *wake)
		*wake = t;
}

/* Do not spin on a persistent failure (a full disk, an unsafe store): the account is tried
 * again after its retry_min, 30 s when it has none. */
static void retry_later(struct rs_daemon *d, size_t idx, const struct rs_account_cfg *acc,
                        int64_t now)
{
	d->retry_after[idx] = now + (acc->pol.retry_min > 0 ? acc->pol.retry_min : 30);
}

/* Whether j's unfinished work is due now; if not, *wake when it will be. */
static bool journal_due(const struct rs_account_cfg *acc, const struct rs_journal *j, int64_t now,
                        int64_t *wake)
{
	/* Every delivery done but the journal still at "activated": a writer died before its
	 * last save, and only the bookkeeping (the step, the release of a hold) is left. Not
	 * finishing it would keep a held previous secret valid to max_grace. */
	bool due_now = j->step == RS_STEP_GENERATED, all_ok = true;

	for (size_t i = 0; i < j->ndeliver; i++) {
		if (j->dlv[i].status == RS_DLV_OK)
			continue;
		all_ok = false;
		if (j->dlv[i].next <= now)
			due_now = true;
		else
			earliest(wake, j->dlv[i].next, now);
	}
	/* Then the verify command, on its own backoff. */
	if (all_ok && acc->verify_argv && j->vfy.status != RS_DLV_OK &&
	    j->ndeliver == acc->ndeliver) {
		all_ok = false;
		if (j->vfy.next <= now)
			due_now = true;
		else
			earliest(wake, j->vfy.next, now);
	}
	return due_now || all_ok;
}

/* 1. Unfinished work from the journal j (*have_j: whether there is one, reloaded after). */
static void resume_step(struct rs_daemon *d, size_t idx, const struct rs_account_cfg *acc,
                        struct rs_journal *j, bool *have_j, int64_t now, int64_t *wake)
{
	struct rs_engine *e = d->e;
	int r;

	/* A rotation that was done but whose consumers the config has changed since is not:
	 * the new ones lack the secret (rs_journal_follow_config). */
	if (!*have_j ||
	    (j->step == RS_STEP_DELIVERED &&
	     !rs_journal_outstanding(j, acc->ndeliver, acc->verify_argv != NULL)) ||
	    !journal_due(acc, j, now, wake))
		return;
	/* A resume that failed (a full disk, an unsafe store) waits out its backoff. Its
	 * failed write removed a temp file in a watched directory, which wakes the loop at
	 * once: without this it would spin, an error logged each time. */
	if (d->retry_after[idx] > now) {
		earliest(wake, d->retry_after[idx], now);
		return;
	}
	e->delivery_failures = 0;
	e->verify_failures = 0;
	/* What it did, a failed delivery included, the engine's events have logged. */
	r = rs_engine_resume(e, acc->name, true);
	if (r < 0) {
		rs_log(LOG_WARNING, "%s: %s", acc->name, e->why);
		retry_later(d, idx, acc, now);
		earliest(wake, d->retry_after[idx], now);
	}
	*have_j = rs_engine_load_journal(e, acc, j) == 0;
}

/* 2. max_grace passed and a consumer still lacks the new secret (j: NULL without a
 * journal). The hard limit is counted from the activation, not read from the store's
 * previous_limit: the sweep at the start of this pass has already revoked the previous
 * secret and cleared its limit, and a compromise rotation never had one. Returns whether
 * the rotation is still failing. */
static bool degraded_step(struct rs_engine *e, const struct rs_account_cfg *acc,
                          const struct rs_journal *j, const struct rs_secret_rec *rec, int64_t now,
                          int64_t *wake)
{
	int64_t limit = rec->current_since + acc->pol.max_grace;

	if (!j || j->step != RS_STEP_ACTIVATED || j->generation != rec->generation ||
	    !rs_journal_outstanding(j, acc->ndeliver, acc->verify_argv != NULL))
		return false;
	if (j->degraded)
		return true;
	if (now < limit) {
		earliest(wake, limit, now);
		return true;
	}
	/* The engine logs it, at alert level, as its "degraded" event. */
	(void)rs_engine_set_degraded(e, acc->name,
	                             rs_journal_delivered(j, acc->ndeliver)
	                                     ? "verify command still failing at max_grace; the "
	                                       "previous secret is revoked"
	                                     : "delivery still failing at max_grace; the previous "
	                                       "secret is revoked");
	return true;
}

/* 2b. The fleet's published status follows what changed since it was published (the
 * degraded flag, a hold, a revoked previous secret), on its own backoff. */
static void fleet_step(struct rs_engine *e, const struct rs_account_cfg *acc, int64_t now,
                       int64_t *wake)
{
	int64_t due = 0;

	if (rs_engine_fleet_refresh(e, acc->name, &due) < 0)
		rs_log(LOG_WARNING, "%s: %s", acc->name, e->why);
	earliest(wake, due, now);
}

/* 3. quiet_revoke, for a previous secret in grace (u: NULL without a usage record).
 * Returns whether it is still in grace. */
static bool quiet_step(struct rs_engine *e, const struct rs_account_cfg *acc,
                       const struct rs_secret_rec *rec, const struct rs_usage *u, int64_t now,
                       int64_t *wake)
{
	if (rs_quiet_revoke_due(&acc->pol, rec, u, now))
		/* Its "revoke" event is logged by the engine. */
		return rs_engine_revoke(e, acc->name, "quiet", false) != 0;
	if (acc->pol.quiet_revoke > 0 && u && u->generation == rec->generation && u->current_count)
		earliest(wake,
		         (u->previous_count ? u->previous_last : rec->current_since) +
		                 acc->pol.quiet_revoke,
		         now);
	return true;
}

/* One line for an account that SIGUSR1 does not rotate, and why: `why`, then the time `t`
 * when there is one. */
static void log_skip(const struct rs_account_cfg *acc, const struct rs_secret_rec *rec,
                     const char *why, int64_t t)
{
	char when[64] = "";

	if (t > 0) {
		time_t tt = (time_t)t;
		struct tm tm;

		localtime_r(&tt, &tm);
		when[0] = ' ';
		(void)strftime(when + 1, sizeof(when) - 1, "%Y-%m-%d %H:%M:%S %Z", &tm);
	}
	rs_log(LOG_NOTICE, "skip %s (SIGUSR1): generation %" PRIu64 " stays current: %s%s",
	       acc->name, rec->generation, why, when);
}

/* 4. Rotation: on schedule, on use, or on SIGUSR1 (u: NULL without a usage record). */
static void rotate_step(struct rs_daemon *d, size_t idx, const struct rs_account_cfg *acc,
                        const struct rs_secret_rec *rec, const struct rs_usage *u, int64_t now,
                        int64_t *wake)
{
	struct rs_engine *e = d->e;
	struct rs_rotate_opts o = {.grace = -1, .compromise = false};
	int64_t due = rs_rotation_due(&acc->pol, e->key, rec, u);
	const char *reason = "scheduled";
	int r;

	/* Overdue (the daemon was stopped, or the grace ran past the due time): the window
	 * still applies, from now. A rotation due at 03:00 inside "02:00-04:00" that the
	 * daemon first sees at 10:00 waits for tomorrow's 02:00. SIGUSR1 is an admin's
	 * explicit request and ignores the window. */
	if (now >= due)
		due = rs_window_next(&acc->pol, now);
	if (!d->rotate_all && now < due) {
		earliest(wake, due, now);
		return;
	}
	if (d->retry_after[idx] > now) {
		if (d->rotate_all)
			log_skip(acc, rec, "its last rotation failed; the next try is at",
			         d->retry_after[idx]);
		earliest(wake, d->retry_after[idx], now);
		return;
	}
	if (now < due)
		reason = "SIGUSR1";
	else if (now < rs_rotation_due(&acc->pol, e->key, rec, NULL))
		reason = "after use"; /* the schedule alone is not due yet */
	o.reason = reason;
	e->delivery_failures = 0;
	e->verify_failures = 0;
	/* The rotation, its deliveries and their failures are logged as the engine's events. */
	r = rs_engine_rotate(e, acc->name, &o);
	if (r == 0) {
		d->retry_after[idx] = 0;
	} else if (r != -EBUSY) {
		retry_later(d, idx, acc, now);
		rs_log(LOG_ERR, "%s: rotation failed: %s", acc->name, e->why);
	} else if (d->rotate_all) {
		log_skip(acc, rec, e->why, 0);
	}
	earliest(wake, now + 1, now);
}

static void account_tick(struct rs_daemon *d, size_t idx, const struct rs_secret_rec *rec,
                         int64_t now, int64_t *wake)
{
	struct rs_engine *e = d->e;
	const struct rs_account_cfg *acc = &e->cfg->accounts[idx];
	struct rs_journal j;
	struct rs_usage u;
	bool have_j, have_u, in_grace, failing;
	int64_t until = rs_previous_valid_until(rec);

	have_j = rs_engine_load_journal(e, acc, &j) == 0;
	have_u = rs_usage_read(e->cfg->run_dir, acc->name, &u) == 0;
	resume_step(d, idx, acc, &j, &have_j, now, wake);
	failing = degraded_step(e, acc, have_j ? &j : NULL, rec, now, wake);
	if (have_j && ((e->cfg->fleet && j.fleet.nconsumers) || j.fleet.prev_sealed[0]))
		fleet_step(e, acc, now, wake);
	in_grace = rec->previous[0] && now < until;
	if (in_grace)
		earliest(wake, until, now);
	/* Never while a consumer still lacks the new secret: it holds the previous one, and
	 * the hold (up to max_grace) is what keeps it working. */
	if (in_grace && !failing)
		in_grace = quiet_step(e, acc, rec, have_u ? &u : NULL, now, wake);
	/* Never a rotation while in grace, nor over one that is not yet active. */
	if (in_grace || (have_j && j.step == RS_STEP_GENERATED)) {
		if (!d->rotate_all)
			return;
		if (in_grace)
			log_skip(acc, rec,
			         failing ? "a consumer lacks the current secret, and the previous "
			                   "one "
			                   "is held for it until"
			                 : "the previous secret is in grace until",
			         rs_previous_valid_until(rec));
		else
			log_skip(acc, rec, "an interrupted rotation is still to be finished", 0);
		return;
	}
	rotate_step(d, idx, acc, rec, have_u ? &u : NULL, now, wake);
}

/* The pass over every account (only == NULL), or over the accounts named in only[0..n). */
static void pass(struct rs_daemon *d, int64_t now, const char (*only)[RS_NAME_MAX + 1], size_t n,
                 int64_t *next_wake)
{
	struct rs_engine *e = d->e;
	const struct rs_config *cfg = e->cfg;
	struct rs_store s;
	const struct rs_map *m = NULL;
	unsigned swept = 0;
	char why[RS_WHY_MAX];
	size_t count = only ? n : cfg->naccounts;
	int r;

	*next_wake = now + 60;
	if (d->nretry != cfg->naccounts) {
		free(d->retry_after);
		d->retry_after = calloc(cfg->naccounts + 1, sizeof(*d->retry_after));
		d->nretry = d->retry_after ? cfg->naccounts : 0;
		if (!d->retry_after)
			return;
	}
	/* Expired previous secrets are the timer's business, found by a full pass. */
	if (!only && rs_engine_sweep(e, &swept) < 0)
		rs_log(LOG_ERR, "cannot revoke expired secrets: %s", e->why);

	if ((r = rs_store_init(&s, cfg->store_dir, RS_SECRETS_FILE)) < 0) {
		rs_set_why(why, sizeof(why), "%s: %s", cfg->store_dir, strerror(-r));
		goto out;
	}
	if ((r = rs_store_acquire(&s, &m, why, sizeof(why))) < 0)
		goto out;
	rs_log(LOG_DEBUG, "pass over %s%zu account%s", only ? "the changed usage of " : "", count,
	       count == 1 ? "" : "s");
	for (size_t k = 0; k < count && !d->stop; k++) {
		const struct rs_account_cfg *acc =
		        only ? rs_config_account(cfg, only[k]) : &cfg->accounts[k];
		struct rs_secret_rec rec;
		sigset_t pending;
		int found;

		if (!acc)
			continue; /* a usage record of a name no longer configured */
		/* SIGTERM is blocked and read in the main loop; stop between accounts. */
		if (sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT))) {
			d->stop = true;
			break;
		}
		found = rs_map_secret_by_name(m, acc->name, &rec);
		if (found == 1)
			account_tick(d, (size_t)(acc - cfg->accounts), &rec, now, next_wake);
		else if (found < 0)
			rs_log(LOG_ERR, "%s: damaged record in the store", acc->name);
	}
	if (!only)
		d->rotate_all = false;
out:
	if (r < 0)
		rs_log(LOG_ERR, "cannot read the store: %s", why);
	if (m)
		rs_store_release(&s, m);
	rs_store_close(&s);
}

void rs_daemon_tick(struct rs_daemon *d, int64_t now, int64_t *next_wake)
{
	pass(d, now, NULL, 0, next_wake);
}

void rs_daemon_tick_usage(struct rs_daemon *d, int64_t now, const char (*names)[RS_NAME_MAX + 1],
                          size_t n, int64_t *next_wake)
{
	pass(d, now, names, n, next_wake);
}

/* "STATUS=3 accounts, next rotation svc-a at 2026-12-07 02:13:00 UTC, 1 degraded" */
static void status_line(const struct rs_status *st, size_t n, char *buf, size_t len)
{
	const struct rs_status *next = NULL;
	size_t degraded = 0;
	char when[64] = "";

	for (size_t i = 0; i < n; i++) {
		if (st[i].degraded)
			degraded++;
		if (st[i].in_store && st[i].next_rotation > 0 &&
		    (!next || st[i].next_rotation < next->next_rotation))
			next = &st[i];
	}
	if (next) {
		time_t t = (time_t)next->next_rotation;
		struct tm tm;

		localtime_r(&t, &tm);
		(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
	}
	(void)snprintf(buf, len, "STATUS=%zu account%s%s%s%s%s, %zu degraded", n, n == 1 ? "" : "s",
	               next ? ", next rotation " : "", next ? next->name : "", next ? " at " : "",
	               when, degraded);
}

void rs_daemon_metrics(struct rs_daemon *d, char *status, size_t len)
{
	static int warned;
	struct rs_status *st;
	size_t n;
	int r;

	/* A store that cannot be read still gets the metrics written, without accounts: the
	 * daemon runs, and a stale file would hide that its accounts vanished. */
	if (rs_engine_status(d->e, NULL, &st, &n) < 0) {
		st = NULL;
		n = 0;
	}
	if (status && len)
		status_line(st, n, status, len);
	r = rs_metrics_write(d->e->cfg, st, n, (int64_t)time(NULL));
	free(st);
	rs_log(LOG_DEBUG, "metrics written: %s", r < 0 ? strerror(-r) : "ok");
	if (r < 0 && !warned) {
		rs_log(LOG_WARNING, "cannot write metrics to %s: %s", d->e->cfg->metrics_file,
		       strerror(-r));
		warned = 1;
	} else if (r == 0) {
		warned = 0;
	}
}
