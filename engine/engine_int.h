/*
 * What the files of the engine share with each other and with nobody else; engine.h is
 * the contract with the callers. By concern:
 *   engine.c     open and close: the state dir, the host key, the store's group; the
 *                helpers below that every operation uses (its lock, its audit)
 *   store_txn.c  the store transaction: lock, read, change, write secrets.cdb (and
 *                accounts.cdb), the tripwires, the sweep of expired previous secrets
 *   rotate.c     a rotation: generate, journal, activate; revoke; degraded
 *   rollout.c    what follows an activation: the deliveries, the verify command, the hold
 *                of the previous secret while they fail, their retries and resumption
 *   rollout_fleet.c  the fleet deliveries: one publish for all of an account's consumers,
 *                its status kept current, the alive key
 *   sync.c       bringing the store in line with the config
 *   sync_plan.c  what a sync changes, worked out before it does (and for sync --dry-run)
 *   event.c      the line that tells an event of the engine (engine.h, rs_event)
 *   status.c     show, status and verify
 *
 * Functions return 0 or a negative errno and leave e->why set on failure, as engine.h's.
 */
#ifndef ROTSEC_ENGINE_INT_H
#define ROTSEC_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "journal.h"
#include "store_read.h"
#include "store_write.h"

struct rs_engine;

/* ---- engine.c ---- */

static inline int64_t engine_now(void)
{
	return (int64_t)time(NULL);
}

/* How long an operation waits for a lock (the config's lock_timeout), in ms. */
int engine_lock_ms(const struct rs_engine *e);

/* Commit ev to the audit log; a log that cannot be appended to is said on syslog. */
void engine_audit(struct rs_engine *e, struct rs_audit_ev *ev);
/* Tell ev to whoever listens (e->on_event). */
void engine_event(struct rs_engine *e, const struct rs_event *ev);

/* NAME's config, or NULL with e->why naming the config that lacks it. */
const struct rs_account_cfg *engine_account(struct rs_engine *e, const char *name);

/* NAME's account lock (the fd to close), or a negative errno with e->why. */
int engine_lock_account(struct rs_engine *e, const char *name);

/* rs_journal_cleanup for the configured accounts. */
void engine_journal_cleanup(struct rs_engine *e);

/* ---- store_txn.c ---- */

/*
 * Two kinds of transaction. An operation on one account (rotate, activate, hold, release,
 * revoke) reads that account's record alone from the mapped file (txn_begin_one) and
 * writes the file back with it changed and every other record copied as it is
 * (rs_store_stage_secrets): with many accounts, a copy of the file instead of decoding and
 * encoding each. An operation on every account (sync, sweep) decodes them all
 * (txn_begin_all). txn_end after either, whatever happened (also after a failed begin).
 */
struct txn {
	struct rs_store_w w;
	uint64_t sgen;
	bool open;
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

int txn_begin_all(struct rs_engine *e, struct txn *t);
/* Lock the store and read NAME's record (t->found says whether the store has one). */
int txn_begin_one(struct rs_engine *e, struct txn *t, const char *name);
void txn_end(struct txn *t);
/* One account's transaction: the new secrets.cdb with t->rec changed, written to a temp
 * file (every other record checked as it is copied) but not yet in place. */
int txn_stage(struct rs_engine *e, struct txn *t);
/* Put the staged file in place: fsync, rename, fsync of the store dir. */
int txn_commit(struct rs_engine *e, struct txn *t);
/* Stage and commit (one), or write every record (all). */
int txn_write_secrets(struct rs_engine *e, struct txn *t);
/* accounts.cdb from the config, under t's store lock. */
int txn_write_accounts(struct rs_engine *e, struct txn *t);
/* The store's copy of a configured account: what NSS answers from. */
void engine_store_account(const struct rs_account_cfg *a, struct rs_store_account *s);

/* Records are kept sorted by name (and written so), so that finding one is a binary
 * search: syncs and sweeps look up every account, and must not be quadratic. */
void secrets_sort(struct rs_secrets_data *d);
struct rs_secret_rec *secrets_find(struct rs_secret_rec *rec, size_t n, const char *name);

/* How many tripwires NAME keeps (its policy, or the defaults for an account gone). */
unsigned tripwire_keep(const struct rs_engine *e, const char *name);
/* Push hash onto rec's tripwires, newest first; the oldest fall off beyond `keep`. */
void push_tripwire(struct rs_secret_rec *rec, const char *hash, unsigned keep);
/* The previous secret (if any) leaves the accepted set for the tripwires. */
void drop_previous(struct rs_secret_rec *rec, unsigned keep);
/* Whether rec has a previous secret past its deadline, which a sweep revokes. */
bool sweep_due(const struct rs_secret_rec *rec, int64_t now);
/* Previous secrets of d past their deadline to the tripwires, audited; how many. */
unsigned sweep_expired(struct rs_engine *e, struct rs_secrets_data *d, int64_t now);

/* ---- sync_plan.c ---- */

/* One change a sync makes to the store, as the event that tells it. */
struct plan_item {
	enum rs_event_kind kind;
	char name[RS_NAME_MAX + 1];
	uint64_t generation;
	char detail[768];
};

struct plan {
	struct plan_item *it;
	size_t n, cap;
	int err; /* the first failure to add an item (-ENOMEM) */
};

void plan_free(struct plan *p);
/* What bringing the store to the config changes, from am (accounts.cdb mapped, NULL when
 * there is none) and d (secrets.cdb, sorted): the accounts created, updated (detail: the
 * attributes, old -> new), removed, the groups created, updated, removed, and the previous
 * secrets past their deadline revoked. Appended to p; 0 or -ENOMEM. */
int plan_store(struct rs_engine *e, const struct rs_map *am, struct rs_secrets_data *d, int64_t now,
               struct plan *p);
/* p's items as events with `result` (0 planned, 1 done); done ones that no other step
 * audits (updates, groups) are audited. */
void plan_emit(struct rs_engine *e, const struct plan *p, int result);

/* ---- rotate.c ---- */

/* A new secret for acc at `generation`: s, and j at step GENERATED with it sealed. rec:
 * the account's record, whose salts the new hash keeps (rs_hash_secret_like), NULL for a
 * new account. */
int new_secret(struct rs_engine *e, const struct rs_account_cfg *acc,
               const struct rs_secret_rec *rec, uint64_t generation, struct rs_journal *j,
               struct rs_secret *s);
/* Journal j durably, or (lazy) so that a crash may bring back the journal it replaced:
 * see deliver_locked for the one place where that is enough. */
int save_journal(struct rs_engine *e, const struct rs_journal *j, bool lazy);
/* The audit of a rotation step ("generate", "activate") of j. */
void audit_step(struct rs_engine *e, const char *event, const struct rs_journal *j,
                const char *step);
/* The grace of j's rotation: rotate --grace, else the account's. */
int64_t grace_of(const struct rs_account_cfg *acc, const struct rs_journal *j);
/* Step GENERATED -> ACTIVATED, in its own store transaction unless `snap` (a read-only
 * mapping of the store, may be NULL) shows that the store is already there. With
 * `reapply`, a store that has j's secret already is made to follow j's options (a
 * compromise revokes the previous secret). */
int activate_journaled(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                       struct rs_store *snap, bool reapply);
/* Until when rec's previous secret is accepted at `now`, 0 when it is not. */
int64_t previous_until(const struct rs_secret_rec *rec, int64_t now);
/* Mark j degraded (when it is not yet): audit at alert level, event; journaled durably
 * with `save` (otherwise by the caller's next save). Account lock held. */
int degrade_locked(struct rs_engine *e, struct rs_journal *j, const char *reason, bool save);

/* ---- rollout.c ---- */

/* Deliver j's secret to the consumers that need it (all: every one), run the verify
 * command when its turn has come, hold or release the previous secret, journal the
 * outcome. Account lock held. */
int deliver_locked(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                   bool all);
/* Why consumer state d is delivered to: "new or changed consumer", "retry after N failed
 * attempts", "again", or "" (its first delivery of this generation); buf is the room for
 * the text of a retry. */
const char *deliver_reason(const struct rs_dlv_state *d, char *buf, size_t len);
/* Finish what acc's journal left unfinished. Account lock held. With only_due, failed
 * deliveries are retried only once their backoff has passed. */
int resume_locked(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                  bool only_due, struct rs_store *snap);

/* ---- rollout_fleet.c ---- */

/* One round of deliveries publishes once for every fleet consumer of the account. */
struct fleet_round {
	bool done;
	int r;
	char why[512];
};

bool fleet_has_consumers(const struct rs_account_cfg *acc);
/* A fleet delivery of j's secret (the first of a round publishes for all). */
int fleet_deliver(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                  struct fleet_round *fr, char *why, size_t whylen);
/* What a new rotation's journal takes from the one it replaces (old): the last publish,
 * and the replaced secret, still sealed, for the messages, unless it is compromised. */
void fleet_carry(const struct rs_account_cfg *acc, const struct rs_journal *old,
                 struct rs_journal_fleet *out, bool compromise);
/* The published status brought up to date, the revoked previous secret wiped from j (see
 * rs_engine_fleet_refresh); with only_due, a failed refresh waits out its backoff.
 * 1 when j changed (the caller saves it), 0 when not, a negative errno (j changed too)
 * when republishing failed. Account lock held. */
int fleet_settle(struct rs_engine *e, const struct rs_account_cfg *acc, struct rs_journal *j,
                 bool only_due);
/* fleet_settle on acc's journal, saved when it changed. Account lock held. */
int fleet_refresh_locked(struct rs_engine *e, const struct rs_account_cfg *acc, bool only_due,
                         int64_t *wake);
/* An account that left the config: what it published leaves etcd (best effort, audited). */
void fleet_forget(struct rs_engine *e, const char *name);

#endif
