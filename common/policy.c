#include "policy.h"
#include "secret.h"

#include <errno.h>
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

int rs_policy_verify(const struct rs_secret_rec *rec, const char *dummy, const char *pw, size_t len,
                     int64_t now, unsigned flags, struct rs_verify_result *res)
{
	const char *first, *second;
	int cur, prev;
	int64_t until;
	size_t i;

	memset(res, 0, sizeof(*res));
	first = rec ? rec->current : dummy;
	second = rec && rec->previous[0] ? rec->previous : dummy;
	/* Over-long passwords are refused after the same work, on a truncated copy, so that
	 * length cannot be used to tell accounts apart either. */
	if (len > RS_SECRET_MAX)
		len = RS_SECRET_MAX + 1;

	/* Both, always, before looking at either result. */
	cur = rs_hash_verify(first, pw, len);
	prev = rs_hash_verify(second, pw, len);
	if (cur < 0)
		return cur;
	if (prev < 0)
		return prev;

	if (!rec) {
		res->verdict = RS_UNKNOWN;
		return 0;
	}
	if (len == 0 || len > RS_SECRET_MAX) {
		res->verdict = RS_NO_MATCH;
	} else if (cur == 1) {
		res->verdict = RS_CURRENT;
	} else if (prev == 1 && rec->previous[0]) {
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
		for (i = 0; i < rec->nrevoked; i++) {
			int t = rs_hash_verify(rec->revoked[i], pw, len);

			if (t < 0)
				return t;
			if (t == 1) {
				res->verdict = RS_REVOKED;
				break;
			}
		}
	}
	/* A disabled account learns nothing either way, but only after the same work. */
	if (rec->flags & RS_SECRET_DISABLED)
		res->verdict = RS_DISABLED;
	return 0;
}
