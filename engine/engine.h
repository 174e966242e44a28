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

/*
 * What the engine does, one event at a time, for a person: rotsecd logs one line per event,
 * `rotsecctl sync` prints one per thing it changes, and `sync --dry-run` the same lines
 * for what it would change (rs_engine_sync_plan). The audit trail is written besides, in
 * its own form (audit.h). rs_event_format turns an event into its line.
 */
enum rs_event_kind {
	RS_EV_CREATE,       /* an account the config adds: its first secret */
	RS_EV_UPDATE,       /* attributes of an account (detail: which, old -> new) */
	RS_EV_REMOVE,       /* an account the config dropped */
	RS_EV_GROUP_CREATE, /* groups of the config in accounts.cdb */
	RS_EV_GROUP_UPDATE,
	RS_EV_GROUP_REMOVE,
	RS_EV_ROTATE,    /* a new secret activated (detail: why) */
	RS_EV_FINISH,    /* an interrupted rotation activated by a later operation */
	RS_EV_DELIVER,   /* a consumer given the secret (detail: which; reason: why again) */
	RS_EV_VERIFY,    /* the account's verify command */
	RS_EV_HOLD,      /* the previous secret kept valid past its grace (detail: why) */
	RS_EV_RELEASE,   /* ... and given its grace back */
	RS_EV_REVOKE,    /* a previous secret no longer accepted (detail: why) */
	RS_EV_DEGRADED,  /* a consumer lacks the current secret and no previous one is valid */
	RS_EV_RECOVERED, /* every consumer has the current secret again */
};

struct rs_event {
	enum rs_event_kind kind;
	const char *name;    /* the account (or group) */
	uint64_t generation; /* the secret concerned: the new one, or the one revoked */
	/* ROTATE, FINISH, HOLD, RELEASE: until when the previous secret is accepted after
	 * this event, 0 when no earlier secret is */
	int64_t deadline;
	const char *detail;
	const char *reason;
	int result;        /* 0: planned, not done (a dry run); 1: done; -1: failed */
	const char *error; /* result -1: why */
	int64_t retry;     /* result -1: when it is tried again, 0 = not on its own */
};

typedef void rs_event_fn(void *arg, const struct rs_event *ev);

/* ev as one line without a newline, e.g. "rotate svc-a: generation 3 (scheduled);
 * previous secret valid until 2026-12-07 10:00:00 UTC". Nothing secret is in an event. */
void rs_event_format(const struct rs_event *ev, char *buf, size_t len);

struct rs_engine {
	const struct rs_config *cfg;
	rs_event_fn *on_event; /* NULL: events are not told to anyone */
	void *event_arg;
	int statefd;
	unsigned char *key; /* host key, in guarded memory */
	gid_t secrets_gid;  /* group "rotsec" from group_file, 0 when there is none */
	char why[4096];     /* room for a command's stderr (deliver.h, RS_DELIVER_WHY_MAX) */
	/* rs_engine_open: a directory rotsec owns that exists but is unsafe, and so is not
	 * used (owndirs.h); "" when all are fine. For the caller to say, not fatal. */
	char warning[1024];
	struct rs_engine_fleet *fleet; /* the etcd client of fleet deliveries, opened on first
	                                * use (rollout_fleet.c) */
	/* Holds of an account's lock begun (engine_lock_account): the etcd work of one hold
	 * shares one fleet timeout (rollout_fleet.c, etcd_budget). */
	uint64_t lock_holds;
	/* Counters of the last operation, for messages. */
	unsigned created, removed, resumed, delivered, delivery_failures, verify_failures;
};

struct rs_rotate_opts {
	int64_t grace;      /* -1: the account's grace */
	bool compromise;    /* --revoke-previous: no grace for the secret replaced */
	const char *reason; /* for the event and the audit: "scheduled", ...; NULL "requested" */
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

/* What rs_engine_sync would do, told as planned events (result 0) to e->on_event, in the
 * order and with the lines a sync tells what it does: the accounts it would create, update
 * (which attributes) and remove, the groups, the previous secrets it would revoke, the
 * interrupted rotations it would finish and the consumers it would deliver to. Changes
 * nothing: no file is written or created, no lock taken, nothing audited; works on an
 * engine opened readonly. */
int rs_engine_sync_plan(struct rs_engine *e);

/* Rotate NAME. -EBUSY while the previous secret is in grace (why gives the end) unless
 * opts->compromise. A rotation interrupted earlier is finished instead of starting anew
 * (e->resumed = 1), with these options (a compromise stays one). Returns 0 when the new
 * secret is active even if a delivery failed (e->delivery_failures > 0) or the verify
 * command did (e->verify_failures > 0); the previous secret is then held until max_grace,
 * or, after a compromise, none is valid and the account is degraded. With
 * opts->compromise, 0 means that the newest secret is the only one accepted. */
int rs_engine_rotate(struct rs_engine *e, const char *name, const struct rs_rotate_opts *opts);

/* End the previous secret's grace now (it becomes a tripwire); `reason` goes to the audit
 * trail ("admin", "quiet"). -ENOENT when there is none in grace. With `admin` (rotsecctl
 * revoke), 0 means that only the newest secret is accepted, whatever the journal said: an
 * interrupted rotation is finished as a compromise rotation first. Without it (the
 * daemon's quiet_revoke) an interrupted rotation is -EBUSY. */
int rs_engine_revoke(struct rs_engine *e, const char *name, const char *reason, bool admin);

/* Mark NAME degraded (ARCHITECTURE.md, contract §3): a consumer lacks the current secret and no
 * previous one is valid (max_grace passed while a delivery still fails), so it may hold nothing
 * that works. Alert-level audit and event, `reason` in both; cleared when every consumer
 * has the current secret, not by a rotation. */
int rs_engine_set_degraded(struct rs_engine *e, const char *name, const char *reason);

/* Deliver NAME's current secret again to every consumer (all = true) or only to those
 * whose delivery has not succeeded. */
int rs_engine_deliver(struct rs_engine *e, const char *name, bool all);

/*
 * The states of j's deliveries matched to acc's consumers by their digests
 * (rs_delivery_digest), in the config's order: a consumer the journal has no state for (new,
 * changed, or a journal older than the digests) is pending and `fresh`; a state of a
 * consumer the config no longer has is dropped. Whatever reads a journal to say or decide
 * whether a consumer has the secret does it through this. true when anything changed.
 */
bool rs_journal_follow_config(const struct rs_account_cfg *acc, struct rs_journal *j);
/* rs_journal_load of acc's journal, then rs_journal_follow_config. */
int rs_engine_load_journal(const struct rs_engine *e, const struct rs_account_cfg *acc,
                           struct rs_journal *j);

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
 * Fleet (ARCHITECTURE.md, contract §6, fleet.h). rs_engine_fleet_refresh: for an account with fleet
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
