/*
 * rotsecd's scheduler: one pass over every account, deciding what is due now and when
 * to look again. Every action goes through the engine, which re-checks under the
 * account lock, so a decision made on a slightly stale view is harmless (a `rotsecctl
 * rotate` that got there first simply makes the daemon's rotation refuse: in grace).
 *
 * In order, per account:
 *   1. finish an interrupted rotation; retry deliveries whose backoff has passed;
 *   2. mark the account degraded when max_grace passed with a delivery still failing;
 *      republish its fleet status when that, a hold or a revocation changed it;
 *   3. revoke early when quiet_revoke says the previous secret is no longer used;
 *   4. rotate when due (schedule.h), or on SIGUSR1, unless the previous secret is still
 *      in grace (then wait for it).
 * Expired previous secrets move to the tripwires first, for all accounts at once.
 */
#ifndef ROTSEC_SCHEDULER_H
#define ROTSEC_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct rs_daemon {
	struct rs_engine *e;
	bool rotate_all;      /* SIGUSR1 pending */
	volatile bool stop;   /* SIGTERM: finish the current step, then stop */
	int64_t *retry_after; /* per config account: failed rotation backoff */
	size_t nretry;
};

/* One pass. *next_wake: the earliest time something may become due. */
void rs_daemon_tick(struct rs_daemon *d, int64_t now, int64_t *next_wake);

/* The same pass over the accounts names[0..n) alone, whose usage records changed: what a
 * login can make due (rotate_after_use, quiet_revoke) without reading every account.
 * *next_wake: the earliest time something of theirs may become due. */
void rs_daemon_tick_usage(struct rs_daemon *d, int64_t now, const char (*names)[RS_NAME_MAX + 1],
                          size_t n, int64_t *next_wake);

/* Metrics for the current state, stamped with the time; with `status`, the line for
 * systemd's STATUS= (the accounts, the next rotation, how many are degraded). */
void rs_daemon_metrics(struct rs_daemon *d, char *status, size_t len);

#endif
