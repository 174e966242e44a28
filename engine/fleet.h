/*
 * Fleet mode over etcd: the host publishes each rotation (sealed messages and public
 * status) and keeps an alive key; consumers on other machines fetch, follow and watch the
 * status. Key layout and security model: fleet_msg.h. The etcd client: etcd.h.
 *
 * Publishing is one etcd transaction per rotation (per account), comparing the status
 * key's mod_revision with the one this host wrote last (its version with 0 the first
 * time), so two writers never interleave and an answer lost to a timeout is harmless:
 *   success  every PREFIX/sealed/C/H/A and PREFIX/status/H/A written at one revision,
 *            which is returned for the caller to keep (its journal) and pass next time;
 *   failure  the status key as it is now comes back in the same answer:
 *            - our generation and version id with the status we meant to write: done
 *              already (the retry of a call whose answer was lost);
 *            - our generation and version id with other fields (a later degraded flag,
 *              say): written again over that revision;
 *            - an older generation, or no key (deleted, or this host's state lost): ours
 *              replaces it, compared with the revision just read;
 *            - a newer generation, or ours with another version id: -EEXIST, never an
 *              older secret over a newer one (a host restored from a snapshot, or two
 *              hosts with one name).
 * Nothing that carries a secret is attached to a lease: a lapse of the host's lease never
 * takes a consumer's only working secret away. Only PREFIX/alive/H is.
 */
#ifndef ROTSEC_FLEET_H
#define ROTSEC_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "fleet_conf.h"
#include "fleet_msg.h"

#define RS_FLEET_ALIVE_TTL 60 /* seconds */
#define RS_FLEET_KEY_MAX   512

struct rs_fleet {
	struct rs_etcd etcd;
	char prefix[160];
	char host[RS_FLEET_NAME_MAX + 1];
	unsigned char *sign_sk; /* guarded, host side only */
	int64_t lease;          /* of PREFIX/alive/H, 0: none yet */
	int64_t lease_renewed;  /* monotonic seconds of the last grant or keepalive */
	int64_t alive_since;    /* wall clock, in the alive value */
	char why[RS_ETCD_WHY_MAX];
};

/* Open the etcd client from cfg (finished with rs_fleet_cfg_finish). Host side: also load
 * the signing key, making it (and PATH.pub) when it does not exist yet. */
int rs_fleet_open(struct rs_fleet *f, const struct rs_fleet_cfg *cfg, bool host_side);
void rs_fleet_close(struct rs_fleet *f);

/* PREFIX/KIND/a/b/c with the parts given (NULL ends them early). -ENAMETOOLONG. */
int rs_fleet_key(const struct rs_fleet *f, char *buf, size_t len, const char *kind, const char *a,
                 const char *b, const char *c);

/* ---- host side ---- */

struct rs_fleet_consumer {
	const char *name;        /* C */
	const unsigned char *pk; /* C's X25519 public key, 32 bytes */
	const char *state;       /* delivery state shown in the status: "ok", "pending", ... */
};

struct rs_fleet_rotation {
	const char *account;
	uint64_t generation;
	unsigned char version_id[RS_FLEET_VERSION_ID_LEN]; /* random per rotation, kept
	                                                    * in the journal with it */
	int64_t rotated_at;
	const struct rs_secret *current;  /* NULL only for rs_fleet_status_digest */
	const struct rs_secret *previous; /* NULL: none (revoked, or the first generation) */
	int64_t previous_valid_until;     /* 0 when there is no previous secret */
	bool degraded;
};

enum rs_fleet_outcome {
	RS_FLEET_WRITTEN = 1, /* the transaction wrote it */
	RS_FLEET_FOUND,       /* it was there already (a retry after a lost answer) */
	RS_FLEET_REPLACED,    /* written over a status this host did not write last */
};

/* A new random version id for a rotation. */
void rs_fleet_version_id_new(unsigned char id[RS_FLEET_VERSION_ID_LEN]);

/* What the caller keeps per account between publishes (in its journal), zero at first. */
struct rs_fleet_published {
	int64_t mod_revision; /* of the status key, as this host last wrote it */
	uint64_t generation;  /* the generation it held then */
	unsigned char digest[RS_FLEET_VERSION_ID_LEN]; /* of the status value written */
};

/*
 * Publish one rotation of `rot->account` to every consumer and its status, in one
 * transaction; in the same transaction, delete the sealed keys of the consumers named in
 * removed[0..nremoved) (consumers published to before and no longer configured). *last:
 * in, what the last publish of the account returned (zeroes: never published); out,
 * updated, to keep. A generation lower than last->generation is refused before anything
 * is sent (-EEXIST). *outcome (may be NULL) says what happened. Errors: those of etcd.h
 * (an ordinary failed delivery, to retry with backoff), -EEXIST (a newer or foreign
 * status, see above), -EBUSY (the status kept changing under us), -EINVAL (bad names or
 * secrets).
 */
int rs_fleet_publish(struct rs_fleet *f, const struct rs_fleet_rotation *rot,
                     const struct rs_fleet_consumer *consumers, size_t nconsumers,
                     const char *const *removed, size_t nremoved, struct rs_fleet_published *last,
                     enum rs_fleet_outcome *outcome);

/* The digest of the status rs_fleet_publish would write for host's rot and its consumers
 * (no secret needed): when it differs from last->digest, the published status is out of
 * date (a degraded flag, a previous secret revoked, a consumer added). */
int rs_fleet_status_digest(const char *host, const struct rs_fleet_rotation *rot,
                           const struct rs_fleet_consumer *consumers, size_t nconsumers,
                           unsigned char digest[RS_FLEET_VERSION_ID_LEN]);

/* Delete what this host published for `account` (its status and the sealed keys of the
 * consumers named), compared with last->mod_revision: an account that leaves the config
 * leaves etcd. -EEXIST when the status is not the one this host wrote last. */
int rs_fleet_unpublish(struct rs_fleet *f, const char *account, const char *const *consumers,
                       size_t nconsumers, const struct rs_fleet_published *last);

/* Keep PREFIX/alive/H: call on every daemon tick with a monotonic clock in seconds.
 * Grants a lease and writes the key the first time (and after the lease expired), renews
 * it every TTL/3 otherwise; does nothing in between. *next_mono (may be NULL): when the
 * next call has something to do. */
int rs_fleet_alive_tick(struct rs_fleet *f, int64_t now_mono, int64_t *next_mono);
/* Revoke the alive lease (a clean stop): the host shows as not alive at once. */
int rs_fleet_alive_stop(struct rs_fleet *f);

/* ---- status (fleet_status.c) ---- */

struct rs_fleet_status_consumer {
	char name[RS_FLEET_NAME_MAX + 1];
	char state[32];
};

struct rs_fleet_status {
	char host[RS_FLEET_NAME_MAX + 1];
	char account[RS_NAME_MAX + 1];
	uint64_t generation;
	char version[33]; /* hex version id */
	int64_t rotated_at;
	int64_t previous_valid_until; /* 0: none */
	bool degraded;
	struct rs_fleet_status_consumer *consumers;
	size_t nconsumers;
};

/* The JSON text of a status (malloc'ed, deterministic: same status, same bytes). */
int rs_fleet_status_encode(const struct rs_fleet_status *st, char **out);
/* Parse a status value; -EBADMSG when it is not one. */
int rs_fleet_status_parse(const unsigned char *buf, size_t len, struct rs_fleet_status *st);
void rs_fleet_status_free(struct rs_fleet_status *st);

/* ---- consumer side (fleet_fetch.c) ---- */

struct rs_fleet_reader {
	const char *consumer;         /* C */
	unsigned char pk[32];         /* C's public key, derived */
	unsigned char *sk;            /* C's secret key, guarded */
	struct rs_fleet_trust *trust; /* trusted host keys */
	size_t ntrust;
};

/* Read C's key file and every trusted host key of cfg. */
int rs_fleet_reader_open(struct rs_fleet_reader *rd, const struct rs_fleet_cfg *cfg, char *why,
                         size_t whylen);
void rs_fleet_reader_close(struct rs_fleet_reader *rd);

/* Open a value read from PREFIX/sealed/C/H/A (see rs_fleet_msg_open for errors). */
int rs_fleet_reader_open_value(const struct rs_fleet_reader *rd, const char *host,
                               const char *account, uint64_t held_generation,
                               const unsigned char *value, size_t len, struct rs_fleet_msg *out,
                               char *why, size_t whylen);

/* Get PREFIX/sealed/C/H/A and open it: the etcd errors (-ENOENT: nothing published yet),
 * or those of rs_fleet_msg_open. *mod_revision (may be NULL) is the key's revision. */
int rs_fleet_fetch(struct rs_fleet *f, const struct rs_fleet_reader *rd, const char *host,
                   const char *account, uint64_t held_generation, struct rs_fleet_msg *out,
                   int64_t *mod_revision);

#endif
