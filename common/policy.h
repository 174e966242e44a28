/*
 * The verification policy: the one place that decides whether a password opens a rotsec
 * account. pam_rotsec and `rotsecctl verify` both call it, so what the CLI says is
 * exactly what a login would get.
 *
 * Cost (issue 13): every verdict does the same computations for every account of a store,
 * whatever its kind and however many tripwires it keeps, and an unknown user does them
 * too: one hash per entry of the store's cost profile (hashes.h), on the account's salt
 * of that entry's class where it has one, on the entry's dummy salt elsewhere. The one
 * computation of a class is compared, in constant time, with every hash of the account
 * of that class and salt: current, previous and tripwires alike, so that a tripwire costs
 * a comparison, never a hash, and a failed login costs what a successful one costs.
 *
 * A store written before salts were kept (format 2, or a secret generated before the
 * upgrade and activated after) may give an account a current and a previous hash of one
 * class with two salts; its profile then has that class twice, and every login computes
 * both. A tripwire whose salt no computation covers is not checked (the writer drops it at
 * its next write). A record the profile does not cover (only a hand-made store) gets the
 * computations its current and previous hash need, beyond the profile.
 */
#ifndef ROTSEC_POLICY_H
#define ROTSEC_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

enum rs_verdict {
	RS_CURRENT = 0,      /* the current secret */
	RS_PREVIOUS,         /* the previous secret, before its deadline */
	RS_PREVIOUS_REFUSED, /* the previous secret, in grace, but the caller said no_previous */
	RS_REVOKED,          /* a revoked secret or the previous one after its deadline */
	RS_NO_MATCH,         /* wrong, empty or too long */
	RS_DISABLED,         /* account disabled (after the same work) */
	RS_UNKNOWN,          /* not a rotsec account (after the same work) */
};

#define RS_POLICY_NO_PREVIOUS 0x1

struct rs_verify_result {
	enum rs_verdict verdict;
	/* RS_PREVIOUS and RS_PREVIOUS_REFUSED: seconds the previous secret stays valid. */
	int64_t remaining;
	/* RS_REVOKED: 1 when it was the previous secret past its deadline, 0 when a tripwire
	 * hash matched. */
	int expired_previous;
};

/*
 * rec: the account's secret record, or NULL for an account the store does not have.
 * costs: the store's cost profile (struct rs_meta.costs).
 * Returns 0 with *res filled, or a negative errno when a hash could not be checked
 * (malformed store: -EINVAL, no memory: -ENOMEM); callers then fail closed.
 */
int rs_policy_verify(const struct rs_secret_rec *rec, const struct rs_costs *costs, const char *pw,
                     size_t len, int64_t now, unsigned flags, struct rs_verify_result *res);

const char *rs_verdict_name(enum rs_verdict v);

/* The deadline actually enforced for a previous secret: the earlier of its deadline and
 * its hard limit (activation + max_grace). 0 when there is no previous secret. */
int64_t rs_previous_valid_until(const struct rs_secret_rec *rec);

#endif
