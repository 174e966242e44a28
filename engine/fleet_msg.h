/*
 * Fleet messages: what a host H publishes in etcd for consumer C of its account A.
 *
 * Key layout under PREFIX (default "rotsec/v1"):
 *   PREFIX/sealed/C/H/A   this message, for C only (binary)
 *   PREFIX/status/H/A     public JSON: generation, rotated_at, previous_valid_until,
 *                         degraded, delivery state per consumer, version id (fleet.h)
 *   PREFIX/alive/H        on a 60 s lease kept alive by rotsecd: H is up
 *   PREFIX/ack/H/C/A      written by C's follower: generation C switched to
 *
 * Security model. etcd and whoever can read it (its admins, its backups, a stolen disk)
 * see names, generations and times, never a secret: the value of a sealed key is
 * crypto_box_seal'ed to C's X25519 key, which only C holds. Sealing alone does not say
 * who sealed (anyone with C's public key can seal), and etcd's own permissions only say
 * who may write, not who did: so before sealing, H signs the message with its Ed25519 key
 * (crypto_sign), and C accepts it only when the signature is by the key it trusts for the
 * host named inside. Signed inside the seal, not outside: the signature is readable by C
 * alone, and etcd's readers cannot even tell which messages carry the same secret. The
 * signed content names host, consumer and account, so a message moved to another key
 * path (another host's, account's or consumer's) is refused, and its generation, so that
 * an older message written back over a newer one (a replay) is refused by a consumer that
 * already holds a newer one.
 *
 * Canonical encoding (the signed bytes), big-endian, no optional padding:
 *   "RSFLEET1"                      8 bytes, format and version
 *   u8 n, host[n]                   1..RS_FLEET_NAME_MAX, [A-Za-z0-9._-], not . or ..
 *   u8 n, consumer[n]               same rule
 *   u8 n, account[n]                a valid user name (names.h)
 *   u64 generation                  >= 1
 *   version_id[16]                  random per rotation
 *   i64 rotated_at                  seconds since the epoch
 *   u16 n, current[n]               1..RS_SECRET_MAX
 *   u8 has_previous                 0 or 1
 *   [u16 n, previous[n], i64 previous_valid_until]   when has_previous
 * The sealed plaintext is signature[64] || canonical; the value in etcd is
 * crypto_box_seal(plaintext, C's public key).
 *
 * Every function returns 0 or a negative errno with one sentence in `why` (no secret).
 */
#ifndef ROTSEC_FLEET_MSG_H
#define ROTSEC_FLEET_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "secret.h"
#include "signkey.h"

#define RS_FLEET_NAME_MAX       64 /* host and consumer names (HOST_NAME_MAX) */
#define RS_FLEET_VERSION_ID_LEN 16

struct rs_fleet_msg {
	char host[RS_FLEET_NAME_MAX + 1];
	char consumer[RS_FLEET_NAME_MAX + 1];
	char account[RS_NAME_MAX + 1];
	uint64_t generation;
	unsigned char version_id[RS_FLEET_VERSION_ID_LEN];
	int64_t rotated_at;
	struct rs_secret current;
	struct rs_secret previous; /* .buf NULL: none */
	int64_t previous_valid_until;
};

/* A host's public signing key the consumer trusts (`--trust H=FILE`). */
struct rs_fleet_trust {
	char host[RS_FLEET_NAME_MAX + 1];
	unsigned char pk[RS_SIGN_PK_LEN];
};

/* What the opened message must match: the key path's names, and the generation the
 * consumer holds already (0: none). */
struct rs_fleet_expect {
	const char *host, *consumer, *account;
	uint64_t held_generation;
};

/* Host and consumer names: 1..64 of [A-Za-z0-9._-], not "." or "..". */
bool rs_fleet_name_valid(const char *name);

/* Sign with `sign_sk` (RS_SIGN_SK_LEN, guarded) and seal to `consumer_pk`. *out is
 * malloc'ed (ciphertext only). -EINVAL for a message that breaks the encoding's rules. */
int rs_fleet_msg_seal(const struct rs_fleet_msg *m, const unsigned char *sign_sk,
                      const unsigned char consumer_pk[32], unsigned char **out, size_t *outlen,
                      char *why, size_t whylen);

/*
 * Open a value with the consumer's key pair (sk guarded), check the signature against the
 * key trusted for the host named inside, then the names and the generation. On success
 * *out holds the message, its secrets in guarded memory (rs_fleet_msg_free). Errors:
 *   -EBADMSG       it does not open with this key, or its content is malformed
 *   -ENOKEY        no key is trusted for the host named inside
 *   -EKEYREJECTED  the signature is not by the trusted key: forged
 *   -EXDEV         it names another host, consumer or account than its key path
 *   -ESTALE        its generation is lower than the one held: a replay
 */
int rs_fleet_msg_open(const unsigned char *in, size_t inlen, const unsigned char consumer_pk[32],
                      const unsigned char *consumer_sk, const struct rs_fleet_trust *trust,
                      size_t ntrust, const struct rs_fleet_expect *want, struct rs_fleet_msg *out,
                      char *why, size_t whylen);

void rs_fleet_msg_free(struct rs_fleet_msg *m);

/* The 16 bytes as 32 lowercase hex digits (buf of 33). */
void rs_fleet_version_hex(const unsigned char id[RS_FLEET_VERSION_ID_LEN], char buf[33]);

#endif
