/*
 * The rotation journal (ARCHITECTURE.md, contract §3): one file per account in the root-only state
 * dir, STATE_DIR/NAME.state (0600), replaced atomically (see rs_journal_save). It holds the newest
 * generated secret encrypted under the host key, the step the rotation reached and the
 * result of every delivery, so that a crash at any step is resumed from there and a
 * consumer that missed a delivery can be served again.
 *
 * Text format, one "key value" per line (secrets only ever appear sealed):
 *   rotsec-state 1
 *   account NAME
 *   generation G
 *   step generated|activated|delivered
 *   created T            activated T
 *   hash HASH            (the store hash of this generation's secret)
 *   sealed BASE64        (nonce || crypto_secretbox("NAME\nG\n" || secret))
 *   compromise 0|1       grace SECONDS|-1  held 0|1
 *   degraded 0|1         failures N
 *   delivery I STATUS ATTEMPTS LAST NEXT DIGEST   (STATUS pending|ok|failed; DIGEST names
 *                                          the consumer's settings, see rs_delivery_digest)
 *   verify STATUS ATTEMPTS LAST NEXT       (the account's verify command, contract §3)
 *   verify_failures N
 * and for an account with fleet deliveries (fleet.h), when there is something to say:
 *   previous_sealed G BASE64               (the previous secret, sealed as `sealed` is, bound
 *                                           to its own generation G; kept while in grace)
 *   fleet_version G HEX                    (this rotation's version id, made once)
 *   fleet_published REV G DIGEST           (the status key's mod_revision, the generation
 *                                           and a digest of the status, as last published)
 *   fleet_consumer NAME                    (one line per consumer it was published to)
 *   fleet_refresh STATUS ATTEMPTS LAST NEXT  (republishing a changed status)
 */
#ifndef ROTSEC_JOURNAL_H
#define ROTSEC_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostkey.h"
#include "names.h"
#include "record.h"
#include "secret.h"

#define RS_MAX_DELIVERIES 32
#define RS_SEALED_B64_MAX 1024
/* Hex characters of a delivery digest (rs_delivery_digest). */
#define RS_DLV_DIGEST_HEX 16

enum rs_step {
	RS_STEP_NONE = 0,
	RS_STEP_GENERATED, /* secret generated and journaled; store not yet changed */
	RS_STEP_ACTIVATED, /* store has it as current; deliveries may be pending */
	RS_STEP_DELIVERED, /* every consumer has it (and the verify command, if any, passed) */
};

enum rs_dlv_status {
	RS_DLV_PENDING = 0,
	RS_DLV_OK,
	RS_DLV_FAILED,
};

struct rs_dlv_state {
	enum rs_dlv_status status;
	unsigned attempts;
	int64_t last; /* last attempt, 0 = never */
	int64_t next; /* next retry (FAILED), 0 = now */
	/* Deliveries only: the digest of the consumer's settings this state is about, "" in a
	 * journal written before rotsec kept it (then no consumer is taken to have the
	 * secret). A state is only ever true of the consumer its digest names: a target the
	 * config adds or changes has not been delivered to, whatever its index says. */
	char digest[RS_DLV_DIGEST_HEX + 1];
	/* Not journaled: set when the state was made for a consumer no state of the journal
	 * named (rs_journal_follow_config), so that a delivery can say why it is done. */
	bool fresh;
};

/* The fleet's part of a journal (fleet.h, rollout_fleet.c). Sizes are fleet_msg.h's. */
#define RS_JOURNAL_FLEET_NAME_MAX 64
#define RS_JOURNAL_FLEET_ID_LEN   16
struct rs_journal_fleet {
	/* The secret this generation replaced, sealed under the host key and bound to its own
	 * generation prev_generation, for the fleet messages, which carry it with its
	 * deadline: a consumer never holds only one secret that may be wrong. Empty (and 0)
	 * when there is none: revoked, a compromise rotation, no fleet delivery. */
	uint64_t prev_generation;
	char prev_sealed[RS_SEALED_B64_MAX];
	/* This rotation's random version id (fleet.h), made once for `version_generation`
	 * and used by every try to publish it, so that a try whose answer was lost is found
	 * as our own by the next. */
	uint64_t version_generation;
	unsigned char version[RS_JOURNAL_FLEET_ID_LEN];
	/* The last publish that succeeded, carried across generations: never an older
	 * generation over it, and the status key's revision for the next one's compare. */
	int64_t published_rev;
	uint64_t published_generation;
	unsigned char digest[RS_JOURNAL_FLEET_ID_LEN]; /* of the status it published */
	char consumers[RS_MAX_DELIVERIES][RS_JOURNAL_FLEET_NAME_MAX + 1];
	size_t nconsumers;
	/* A status that changed after the deliveries (degraded, revoked, held): its
	 * republishing and backoff, apart from the deliveries' hold and degraded rules. */
	struct rs_dlv_state refresh;
};

struct rs_journal {
	char name[RS_NAME_MAX + 1];
	uint64_t generation;
	enum rs_step step;
	int64_t created, activated;
	char hash[RS_HASH_MAX];
	char sealed[RS_SEALED_B64_MAX];
	int compromise;
	int64_t grace;     /* grace asked for this rotation (rotate --grace), -1 = account's */
	int held;          /* previous secret held to max_grace while a delivery fails */
	int degraded;      /* max_grace passed with a delivery still failing */
	uint64_t failures; /* delivery failures ever (carried across generations) */
	/* The verify command: run once every delivery is ok, reset to pending whenever a
	 * delivery runs again. Ignored for an account without one. */
	struct rs_dlv_state vfy;
	uint64_t verify_failures; /* verify failures ever (carried across generations) */
	size_t ndeliver;
	struct rs_dlv_state dlv[RS_MAX_DELIVERIES];
	struct rs_journal_fleet fleet;
};

int rs_journal_load(int statefd, const char *name, struct rs_journal *j);
/* Replace NAME.state, the account's lock held: the file fsync'ed, renamed into place and
 * the directory fsync'ed, so that the journal survives a crash from the moment this
 * returns. The temp file is ".NAME.state.locked" (RS_ATOMIC_LOCKED): no scan of a state
 * dir that holds two files per account. */
int rs_journal_save(int statefd, const struct rs_journal *j);
/* The same without the fsync of the directory: after a crash the journal is this one or
 * the one it replaced, whole either way. Only for a save whose loss resumes correctly
 * from the journal before it (see the engine: the bookkeeping after deliveries). */
int rs_journal_save_lazy(int statefd, const struct rs_journal *j);
int rs_journal_remove(int statefd, const char *name);

/* Remove the temp files that killed writers of journals left behind (".NAME.state." and
 * six random characters, from before the fixed name of RS_ATOMIC_LOCKED), of every NAME
 * that is_account(NAME, arg) says is an account: one scan of the state dir for all of
 * them, where a scan per account would make a sync quadratic. Each is removed under its
 * account's lock (waiting up to timeout_ms for it), so a live writer's temp file is never
 * touched. */
void rs_journal_cleanup(int statefd, bool (*is_account)(const char *name, const void *arg),
                        const void *arg, int timeout_ms);

/* Whether each of an account's `ndeliver` consumers has j's secret (a journal following
 * another set of consumers has not delivered to this one). */
bool rs_journal_delivered(const struct rs_journal *j, size_t ndeliver);

/* Whether j's rotation still waits for something: a consumer whose delivery is not ok
 * (or deliveries the config has changed since), or the account's verify command (when
 * it has one) not yet passed. */
bool rs_journal_outstanding(const struct rs_journal *j, size_t ndeliver, bool verify);

/* Seal `s` into j->sealed (bound to j->name and j->generation); unseal checks the binding. */
int rs_journal_seal(const unsigned char key[RS_HOSTKEY_LEN], struct rs_journal *j,
                    const struct rs_secret *s);
int rs_journal_unseal(const unsigned char key[RS_HOSTKEY_LEN], const struct rs_journal *j,
                      struct rs_secret *out);

/* Per-account lock (STATE_DIR/NAME.lock), so that the daemon and the CLI, or two CLIs,
 * never run two operations on one account at once. Returns the lock fd. */
int rs_account_lock(int statefd, const char *name, int timeout_ms);

const char *rs_step_name(enum rs_step s);
const char *rs_dlv_status_name(enum rs_dlv_status s);

#endif
