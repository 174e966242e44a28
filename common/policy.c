#include "policy.h"
#include "secret.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

int64_t rs_previous_valid_until(const struct rs_secret_rec *rec)
{
	if (!rec->previous[0])
		return 0;
	return rec->previous_deadline < rec->previous_limit ? rec->previous_deadline
	                                                    : rec->previous_limit;
}

const char *rs_verdict_name(enum rs_verdict v)
{
	switch (v) {
	case RS_CURRENT:
		return "current";
	case RS_PREVIOUS:
		return "previous";
	case RS_PREVIOUS_REFUSED:
		return "previous refused";
	case RS_REVOKED:
		return "revoked";
	case RS_NO_MATCH:
		return "no match";
	case RS_DISABLED:
		return "disabled";
	case RS_UNKNOWN:
		return "unknown account";
	}
	return "?";
}

/* One computation of a login: a class and salt, the account's group of hashes it serves
 * (-1: a dummy, whose result nothing is compared with) and its result. */
struct slot {
	struct rs_hash_view v;
	int group;
	unsigned char tag[RS_HASH_TAG_BYTES];
};

/*
 * The computations of one login: one per profile entry, each given the first group of its
 * class that no earlier entry took, or left on the dummy's salt; then, beyond the profile,
 * a current or previous group that no entry took (a record the profile does not cover).
 */
static int plan(const struct rs_costs *costs, const struct rs_hash_view *groups,
                const bool *primary, int ng, struct slot *slots, size_t *nslots)
{
	bool taken[RS_HASHES_MAX] = {false};
	size_t n = 0;

	if (costs->n == 0 || costs->n > RS_COSTS_MAX)
		return -EINVAL;
	for (size_t e = 0; e < costs->n; e++) {
		if (rs_hash_view(costs->dummy[e], &slots[n].v) < 0)
			return -EINVAL;
		slots[n].group = -1;
		for (int g = 0; g < ng; g++) {
			if (!taken[g] && rs_hash_same_class(&groups[g].cls, &slots[n].v.cls)) {
				slots[n].v = groups[g];
				slots[n].group = g;
				taken[g] = true;
				break;
			}
		}
		n++;
	}
	for (int g = 0; g < ng; g++) {
		if (!taken[g] && primary[g]) {
			slots[n].v = groups[g];
			slots[n++].group = g;
		}
	}
	*nslots = n;
	return 0;
}

/*
 * match[i] for each of the n hashes (views[i]): whether it is the tag of its group's
 * computation. Always RS_HASHES_MAX comparisons, the missing ones made with the first
 * computation and the first profile entry and thrown away, so that how many tripwires an
 * account keeps does not show either.
 */
static void compare(const struct rs_hash_view *views, size_t n, const int *group,
                    const struct slot *slots, size_t nslots, const struct rs_hash_view *pad,
                    int *match)
{
	for (size_t i = 0; i < RS_HASHES_MAX; i++) {
		const struct slot *s = NULL;

		if (i < n && group[i] >= 0)
			for (size_t k = 0; k < nslots && !s; k++)
				if (slots[k].group == group[i])
					s = &slots[k];
		if (s) {
			match[i] = rs_hash_tag_equal(&views[i], s->tag) == 1;
		} else {
			if (i < n)
				match[i] = 0; /* not covered: a tripwire of another salt */
			(void)rs_hash_tag_equal(pad, slots[0].tag);
		}
	}
}

int rs_policy_verify(const struct rs_secret_rec *rec, const struct rs_costs *costs, const char *pw,
                     size_t len, int64_t now, unsigned flags, struct rs_verify_result *res)
{
	const char *h[RS_HASHES_MAX];
	struct rs_hash_view views[RS_HASHES_MAX], groups[RS_HASHES_MAX];
	bool primary[RS_HASHES_MAX], absent[RS_HASHES_MAX];
	int group[RS_HASHES_MAX], match[RS_HASHES_MAX] = {0}, ng = 0, r = 0;
	struct slot slots[RS_COSTS_MAX + 2];
	size_t n = 0, nslots = 0, i;
	int64_t until;

	memset(res, 0, sizeof(*res));
	if (!costs)
		return -EINVAL;
	/* Over-long passwords are refused after the same work, on a truncated copy, so that
	 * length cannot be used to tell accounts apart either. */
	if (len > RS_SECRET_MAX)
		len = RS_SECRET_MAX + 1;
	if (rec) {
		/* Every hash parsed first: a damaged one anywhere fails closed. */
		n = rs_secret_hashes(rec, h);
		for (i = 0; i < n; i++) {
			absent[i] = i == 1 && !h[1][0];
			if (!absent[i] && rs_hash_view(h[i], &views[i]) < 0)
				return -EINVAL;
		}
		ng = rs_hash_groups_of(views, absent, n, groups, primary, group);
	}
	r = plan(costs, groups, primary, ng, slots, &nslots);
	/* Every computation, before looking at any result. */
	for (i = 0; r == 0 && i < nslots; i++)
		r = rs_hash_compute(&slots[i].v, pw, len, slots[i].tag);
	if (r == 0)
		compare(views, n, group, slots, nslots, &slots[0].v, match);
	for (i = 0; i < nslots; i++)
		sodium_memzero(slots[i].tag, sizeof(slots[i].tag));
	if (r < 0)
		return r;

	if (!rec) {
		res->verdict = RS_UNKNOWN;
		return 0;
	}
	if (len == 0 || len > RS_SECRET_MAX) {
		res->verdict = RS_NO_MATCH;
	} else if (match[0]) {
		res->verdict = RS_CURRENT;
	} else if (match[1] && rec->previous[0]) {
		until = rs_previous_valid_until(rec);
		if (now < until) {
			res->verdict =
			        (flags & RS_POLICY_NO_PREVIOUS) ? RS_PREVIOUS_REFUSED : RS_PREVIOUS;
			res->remaining = until - now;
		} else {
			res->verdict = RS_REVOKED;
			res->expired_previous = 1;
		}
	} else {
		res->verdict = RS_NO_MATCH;
		for (i = 2; i < n; i++)
			if (match[i])
				res->verdict = RS_REVOKED;
	}
	/* A disabled account learns nothing either way, but only after the same work. */
	if (rec->flags & RS_SECRET_DISABLED)
		res->verdict = RS_DISABLED;
	return 0;
}
