/*
 * When things happen (ARCHITECTURE.md, contract §3; rotsecd(8) TRIGGERS), as pure functions of the
 * policy, the store record, the usage record and the time, so that they are tested with any clock.
 *
 *   due = base + jitter, moved into the next window opening when outside the window
 *   base = current_since + rotate_every, or, with rotate_after_use, the first login with
 *          the current secret + rotate_after_use when that is earlier (hybrid: whichever
 *          comes first)
 *
 * Jitter is a deterministic fraction of `jitter` derived from the host key, the account
 * and the generation: hosts and accounts spread out, and a restart does not re-roll it.
 */
#ifndef ROTSEC_SCHEDULE_H
#define ROTSEC_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "record.h"
#include "usage.h"

/* Seconds in [0, jitter) for this account and generation. */
int64_t rs_jitter_offset(const unsigned char key[32], const char *name, uint64_t generation,
                         int64_t jitter);

/* The earliest time >= t inside the policy's window (t itself without a window). */
int64_t rs_window_next(const struct rs_policy_cfg *p, int64_t t);

/* When the account is due for its next rotation. `u` may be NULL (never used). */
int64_t rs_rotation_due(const struct rs_policy_cfg *p, const unsigned char key[32],
                        const struct rs_secret_rec *rec, const struct rs_usage *u);

/* quiet_revoke: the new secret has been used and the previous one has not been used for
 * quiet_revoke (or never since the rotation, counted from the activation). */
bool rs_quiet_revoke_due(const struct rs_policy_cfg *p, const struct rs_secret_rec *rec,
                         const struct rs_usage *u, int64_t now);

#endif
