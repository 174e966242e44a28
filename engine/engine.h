/*
 * The rotation engine, shared by rotsecctl and rotsecd: sync, rotate, revoke, deliver,
 * resume, verify, show and status over the store (common/), the journal and the
 * deliveries. Every operation on an account holds that account's lock in the state dir
 * for its whole duration, and the store lock while it rewrites a store file, so the CLI
 * and the daemon can run side by side.
 *
 * Functions return 0 or a negative errno; on failure e->why says what went wrong in one
 * sentence for a person. Nothing here prints; the callers do.
 */
#ifndef ROTSEC_ENGINE_H
#define ROTSEC_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "journal.h"
#include "policy.h"
#include "secret.h"
#include "usage.h"

struct rs_engine {
	const struct rs_config *cfg;
	int statefd;
	unsigned char *key; /* host key, in guarded memory */
	gid_t secrets_gid;  /* group "rotsec" from group_file, 0 when there is none */
	char why[4096];     /* room for a command's stderr (deliver.h, RS_DELIVER_WHY_MAX) */
	/* rs_engine_open: a directory rotsec owns that exists but is unsafe, and so is not
	 * used (owndirs.h); "" when all are fine. For the caller to say, not fatal. */
	char warning[1024];
	struct rs_engine_fleet *fleet; /* the etcd client of fleet deliveries, opened on first
	                                * use (rollout_fleet.c) */
	/* Counters of the last operation, for messages. */
	unsigned created, removed, resumed, delivered, delivery_failures, verify_failures;
};

struct rs_rotate_opts {
	int64_t grace;   /* -1: the account's grace */
	bool compromise; /* --revoke-previous: no grace for the secret replaced */
};

/* Make the directories rotsec owns that are missing (owndirs.h; an unsafe one is named in
 * e->warning), open the state dir and load the host key (creating it). With readonly
 * (status, verify: may run without root) nothing is created, and a state dir or key that
 * cannot be opened only leaves those parts out (statefd -1, key NULL). */
int rs_engine_open(struct rs_engine *e, const struct rs_config *cfg, bool readonly);
void rs_engine_close(struct rs_engine *e);

/* Bring the store in line with the config: add accounts (first secret generated,
 * activated and delivered), update attributes, remove accounts no longer configured,
 * resume interrupted rotations. */
int rs_engine_sync(struct rs_engine *e);

/* Rotate NAME. -EBUSY while the previous secret is in grace (why gives the end) unless
 * opts->compromise. A rotation interrupted earlier is resumed instead of starting anew
 * (e->resumed = 1). Returns 0 when the new secret is active even if a delivery failed
 * (e->delivery_failures > 0) or the verify command did (e->verify_failures > 0); the
 * previous secret is then held until max_grace. */
int rs_engine_rotate(struct rs_engine *e, const char *name, const struct rs_rotate_opts *opts);

/* End the previous secret's grace now (it becomes a tripwire); `reason` goes to the
 * audit trail ("admin", "quiet"). -ENOENT when there is none in grace. */
int rs_engine_revoke(struct rs_engine *e, const char *name, const char *reason);

/* Mark NAME degraded (DESIGN §3): max_grace passed while a delivery still fails, so the
 * previous secret is gone and some consumer may hold nothing that works. Alert-level
 * audit; cleared when every consumer has the current secret. */
int rs_engine_set_degraded(struct rs_engine *e, const char *name);

/* Deliver NAME's current secret again to every consumer (all = true) or only to those
 * whose delivery has not succeeded. */
int rs_engine_deliver(struct rs_engine *e, const char *name, bool all);

/* Finish whatever NAME's journal says is unfinished (NULL: every account). With only_due,
 * failed deliveries are retried only when their backoff has passed (the daemon's loop). */
int rs_engine_resume(struct rs_engine *e, const char *name, bool only_due);

/* Move previous secrets past their deadline to the tripwire list (store rewrite only
 * when something changed). *changed counts the accounts touched. */
int rs_engine_sweep(struct rs_engine *e, unsigned *changed);

/* The current plaintext (break-glass); root only, audited by the caller's verb. */
int rs_engine_show(struct rs_engine *e, const char *name, struct rs_secret *out);

/* How an account fares, in the words of a monitoring plugin; rotsecctl status exits with
 * the worst of its accounts (rotsecctl(8), EXIT STATUS). */
enum rs_health {
	RS_HEALTH_OK = 0,
	RS_HEALTH_WARNING = 1,  /* needs a look: a delivery retrying, a consumer not switched */
	RS_HEALTH_CRITICAL = 2, /* logins may fail now: degraded, a delivery failing too long */
	RS_HEALTH_UNKNOWN = 3,  /* cannot tell: the journal is not readable to the caller */
};

#define RS_STATUS_PROBLEMS 4

struct rs_status {
	char name[RS_NAME_MAX + 1];
	uint32_t uid;
	bool in_store, disabled, degraded;
	uint64_t delivery_failures; /* ever */
	uint64_t verify_failures;   /* ever */
	uint64_t generation;
	int64_t current_since;
	int64_t previous_valid_until; /* 0 = no previous secret */
	int64_t next_rotation;
	enum rs_step step;
	char delivery[64]; /* "ok", "failed 1/3", "pending 2/3", "pending", "none" */
	char verify[16];   /* "ok", "failed", "pending", "none" (no verify command) */
	bool have_usage;
	struct rs_usage usage;
	bool have_journal;
	enum rs_health health;
	/* Why health is not ok, one sentence each, gravest first. */
	unsigned nproblems;
	char problems[RS_STATUS_PROBLEMS][256];
};

/* "ok", "warning", "critical", "unknown". */
const char *rs_health_name(enum rs_health h);
/* The graver of a and b: critical, then unknown, then warning, then ok. */
enum rs_health rs_health_worst(enum rs_health a, enum rs_health b);

/* Status of every configured account (name NULL) or of one; *out malloc'ed. A store that
 * cannot be read fails (e->why says why; when the caller lacks the permission, what it
 * needs); one that does not exist yet shows every account as not in it. */
int rs_engine_status(struct rs_engine *e, const char *name, struct rs_status **out, size_t *n);

/* Verify a password against NAME exactly as pam_rotsec would (the store, the policy),
 * and audit the answer. */
int rs_verify_password(const struct rs_config *cfg, const char *name, const char *pw, size_t len,
                       struct rs_verify_result *res, char *why, size_t whylen);

/*
 * Fleet (DESIGN §5, fleet.h). rs_engine_fleet_refresh: for an account with fleet
 * deliveries (or one that had them), bring what it published in line with what it is now
 * (the previous secret revoked, degraded set or cleared, consumers removed), once its
 * backoff allows; and forget the previous secret once the store no longer accepts it.
 * Nothing to do, and no etcd request, when nothing changed. *wake (may be NULL): when a
 * failed refresh is due again.
 */
int rs_engine_fleet_refresh(struct rs_engine *e, const char *name, int64_t *wake);
/* Keep PREFIX/alive/H on its lease (the daemon, on every turn of its loop, with a
 * monotonic clock in seconds). *next_mono: when it has something to do again. A failure
 * is retried every few seconds, and returned once: -EALREADY while it goes on failing. */
int rs_engine_fleet_alive(struct rs_engine *e, int64_t now_mono, int64_t *next_mono);
/* Close the etcd client (after a reload, so that the next use opens the new config's);
 * with stop, end the alive lease first (a clean stop). rs_engine_close does this too. */
void rs_engine_fleet_close(struct rs_engine *e, bool stop);

/* gid of group "rotsec" in the config's group_file, 0 when absent, (gid_t)-1 with errno
 * set when group_file cannot be read. */
gid_t rs_rotsec_gid(const struct rs_config *cfg);

#endif
