/*
 * Delivery of a newly activated secret to one consumer (ARCHITECTURE.md, contract §6):
 *   file     atomic replace of the destination (same recipe as the store: temp file in the
 *            same directory with owner and mode set before content, fsync, rename, fsync
 *            of the directory); content is the secret followed by "\n".
 *   command  fork + execve(argv) with no shell, a clean environment (PATH, ROTSEC_ACCOUNT,
 *            ROTSEC_GENERATION only), the secret and "\n" on stdin and nowhere else,
 *            stdout/stderr to /dev/null, in its own process group, killed (SIGKILL to the
 *            group) after the timeout; exit status 0 = delivered. Optionally as `user`.
 *   sealed   crypto_box_seal to the consumer's key, written to `file` like a file delivery.
 *   fleet    signed and sealed to the consumer's key, published to etcd with the
 *            account's other fleet consumers by the engine (rollout_fleet.c, fleet.h).
 */
#ifndef ROTSEC_DELIVER_H
#define ROTSEC_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "secret.h"

/* How much room a `why` of these functions wants: a sentence and, for a command that
 * failed, the end of its stderr (deliver_stderr.h, RS_STDERR_KEEP). */
#define RS_DELIVER_WHY_MAX 3072

/* 0 delivered, or a negative errno with one sentence in `why` (never the secret):
 * -ETIMEDOUT command timed out, -ECHILD command exited non-zero or died, -errno for
 * filesystem errors. A command that failed adds "; stderr: " and the end of what it wrote
 * there, the secret redacted. */
int rs_deliver_one(const struct rs_account_cfg *acc, const struct rs_delivery *d,
                   const struct rs_secret *secret, uint64_t generation, char *why, size_t whylen);

/* The account's verify command (ARCHITECTURE.md, contract §3), run as a command delivery is (no
 * shell, the same clean environment, own process group, killed after RS_VERIFY_TIMEOUT s) but as
 * root, with stdin on /dev/null: it is given no secret, only ROTSEC_ACCOUNT and ROTSEC_GENERATION,
 * and checks that the consumers work with the new one. 0 when it exits 0; otherwise as
 * rs_deliver_one. `redact` (may be NULL), the secret it checks, is kept out of the end of
 * its stderr in `why`: it may have read it from a consumer and printed it. */
#define RS_VERIFY_TIMEOUT 30 /* seconds */
int rs_run_verify(const struct rs_account_cfg *acc, uint64_t generation,
                  const struct rs_secret *redact, char *why, size_t whylen);

/* "file /run/rotsec/x.pw", "command /usr/local/bin/push", "sealed /var/.../x.sealed",
 * "fleet backup1":
 * how status and audit name a consumer. */
void rs_delivery_label(const struct rs_delivery *d, char *buf, size_t len);

/* What the consumer d is, as RS_DLV_DIGEST_HEX hex characters of a hash of every setting
 * that decides who ends up holding the secret: the kind, the file, the command and its
 * arguments, the sealed_to key (its path and the key itself), the owner, group, mode and
 * the user a command runs as; not the timeout. The journal records it with each delivery
 * (journal.h), so that a consumer the config adds or changes is known not to have the
 * secret yet. `out` has room for RS_DLV_DIGEST_HEX + 1 bytes. */
void rs_delivery_digest(const struct rs_delivery *d, char *out);

#endif
