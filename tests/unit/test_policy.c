/*
 * The verification policy (policy.h): every verdict the PAM module and `rotsecctl verify`
 * can get, the deadline rules of DESIGN §3, and failing closed on damaged hashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "secret.h"

#define NOW      ((int64_t)1700000000)
#define CUR_PW   "current-secret-0123456789abcdef"
#define PREV_PW  "previous-secret-0123456789abcdef"
#define OLD1_PW  "revoked-one"
#define OLD2_PW  "revoked-two"
#define DUMMY_PW "dummy-never-given-out"

/* A malformed hash that still passes rs_hash_string_ok, as a damaged store might carry. */
#define BROKEN_B2B "$rotsec-b2b$v=1$notbase64$x"

static char dummy[RS_HASH_MAX];

static void hash(const char *pw, size_t len, char out[RS_HASH_MAX])
{
	assert_int_equal(rs_hash_secret(pw, len, 190.0, RS_COST_INTERACTIVE, out), 0);
}

static int setup(void **state)
{
	(void)state;
	if (rs_crypto_init() < 0)
		return -1;
	return rs_hash_secret(DUMMY_PW, strlen(DUMMY_PW), 190.0, RS_COST_INTERACTIVE, dummy);
}

/* An account in grace: previous valid until NOW+600 (limit NOW+3600), two tripwires. */
static struct rs_secret_rec *record(void)
{
	static struct rs_secret_rec r;

	memset(&r, 0, sizeof(r));
	(void)snprintf(r.name, sizeof(r.name), "svc-backup");
	r.uid = 60001;
	r.generation = 4;
	hash(CUR_PW, strlen(CUR_PW), r.current);
	r.current_since = NOW - 60;
	hash(PREV_PW, strlen(PREV_PW), r.previous);
	r.previous_deadline = NOW + 600;
	r.previous_limit = NOW + 3600;
	r.nrevoked = 2;
	hash(OLD1_PW, strlen(OLD1_PW), r.revoked[0]);
	hash(OLD2_PW, strlen(OLD2_PW), r.revoked[1]);
	return &r;
}

static struct rs_verify_result verify(const struct rs_secret_rec *rec, const char *pw, int64_t now,
                                      unsigned flags)
{
	struct rs_verify_result res;

	memset(&res, 0xa5, sizeof(res));
	assert_int_equal(rs_policy_verify(rec, dummy, pw, strlen(pw), now, flags, &res), 0);
	return res;
}

static void current_secret_is_accepted(void **state)
{
	struct rs_verify_result res = verify(record(), CUR_PW, NOW, 0);

	(void)state;
	assert_int_equal(res.verdict, RS_CURRENT);
	assert_int_equal(res.remaining, 0);
	assert_int_equal(res.expired_previous, 0);
}

static void current_secret_is_accepted_with_no_previous_flag(void **state)
{
	(void)state;
	assert_int_equal(verify(record(), CUR_PW, NOW, RS_POLICY_NO_PREVIOUS).verdict, RS_CURRENT);
}

static void previous_secret_is_accepted_in_grace_with_the_seconds_remaining(void **state)
{
	struct rs_verify_result res = verify(record(), PREV_PW, NOW, 0);

	(void)state;
	assert_int_equal(res.verdict, RS_PREVIOUS);
	assert_int_equal(res.remaining, 600);
	assert_int_equal(res.expired_previous, 0);

	res = verify(record(), PREV_PW, NOW + 599, 0);
	assert_int_equal(res.verdict, RS_PREVIOUS);
	assert_int_equal(res.remaining, 1);
}

static void previous_secret_is_revoked_at_and_after_its_deadline(void **state)
{
	struct rs_verify_result res;

	(void)state;
	res = verify(record(), PREV_PW, NOW + 600, 0);
	assert_int_equal(res.verdict, RS_REVOKED);
	assert_int_equal(res.expired_previous, 1);
	assert_int_equal(res.remaining, 0);
	res = verify(record(), PREV_PW, NOW + 100000, 0);
	assert_int_equal(res.verdict, RS_REVOKED);
	assert_int_equal(res.expired_previous, 1);
}

static void previous_secret_is_revoked_past_its_limit_even_if_the_deadline_is_later(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	/* A deadline beyond activation + max_grace (a wall-clock jump, a bad edit): the
	 * limit wins. */
	r->previous_deadline = NOW + 7200;
	r->previous_limit = NOW + 300;
	assert_int_equal(rs_previous_valid_until(r), NOW + 300);
	res = verify(r, PREV_PW, NOW, 0);
	assert_int_equal(res.verdict, RS_PREVIOUS);
	assert_int_equal(res.remaining, 300);
	res = verify(r, PREV_PW, NOW + 300, 0);
	assert_int_equal(res.verdict, RS_REVOKED);
	assert_int_equal(res.expired_previous, 1);
	res = verify(r, PREV_PW, NOW + 7199, 0);
	assert_int_equal(res.verdict, RS_REVOKED);
}

static void previous_secret_in_grace_is_refused_with_the_no_previous_flag(void **state)
{
	struct rs_verify_result res = verify(record(), PREV_PW, NOW, RS_POLICY_NO_PREVIOUS);

	(void)state;
	assert_int_equal(res.verdict, RS_PREVIOUS_REFUSED);
	assert_int_equal(res.remaining, 600);
	/* Past the deadline it is revoked whatever the flag says. */
	res = verify(record(), PREV_PW, NOW + 600, RS_POLICY_NO_PREVIOUS);
	assert_int_equal(res.verdict, RS_REVOKED);
}

static void revoked_secrets_trip_the_wire(void **state)
{
	struct rs_verify_result res;

	(void)state;
	res = verify(record(), OLD1_PW, NOW, 0);
	assert_int_equal(res.verdict, RS_REVOKED);
	assert_int_equal(res.expired_previous, 0);
	res = verify(record(), OLD2_PW, NOW, 0);
	assert_int_equal(res.verdict, RS_REVOKED);
	assert_int_equal(res.expired_previous, 0);
}

static void a_wrong_password_is_no_match(void **state)
{
	(void)state;
	assert_int_equal(verify(record(), "wrong", NOW, 0).verdict, RS_NO_MATCH);
	assert_int_equal(verify(record(), CUR_PW "x", NOW, 0).verdict, RS_NO_MATCH);
	/* The dummy hash is only ever a stand-in: it opens nothing. */
	assert_int_equal(verify(record(), DUMMY_PW, NOW, 0).verdict, RS_NO_MATCH);
}

static void an_empty_password_is_no_match_even_if_the_hash_is_of_the_empty_string(void **state)
{
	struct rs_secret_rec *r = record();

	(void)state;
	hash("", 0, r->current);
	assert_int_equal(verify(r, "", NOW, 0).verdict, RS_NO_MATCH);
}

static void a_password_of_512_bytes_is_checked_and_one_of_513_is_no_match(void **state)
{
	static char pw[2048];
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	memset(pw, 'k', sizeof(pw));
	hash(pw, RS_SECRET_MAX, r->current);
	assert_int_equal(rs_policy_verify(r, dummy, pw, RS_SECRET_MAX, NOW, 0, &res), 0);
	assert_int_equal(res.verdict, RS_CURRENT);

	/* 513 bytes whose hash is the current one: still refused, the length alone decides. */
	hash(pw, RS_SECRET_MAX + 1, r->current);
	assert_int_equal(rs_policy_verify(r, dummy, pw, RS_SECRET_MAX + 1, NOW, 0, &res), 0);
	assert_int_equal(res.verdict, RS_NO_MATCH);
	/* Far longer: the same, and without reading past what it was given (ASan). */
	assert_int_equal(rs_policy_verify(r, dummy, pw, sizeof(pw), NOW, 0, &res), 0);
	assert_int_equal(res.verdict, RS_NO_MATCH);
	{
		char *exact = malloc(RS_SECRET_MAX + 1);

		assert_non_null(exact);
		memset(exact, 'k', RS_SECRET_MAX + 1);
		assert_int_equal(rs_policy_verify(r, dummy, exact, RS_SECRET_MAX + 1, NOW, 0, &res),
		                 0);
		assert_int_equal(res.verdict, RS_NO_MATCH);
		free(exact);
	}
}

static void a_disabled_account_is_disabled_whatever_the_password(void **state)
{
	struct rs_secret_rec *r = record();
	static const char *pws[] = {CUR_PW, PREV_PW, OLD1_PW, "wrong", ""};

	(void)state;
	r->flags = RS_SECRET_DISABLED;
	for (size_t i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
		struct rs_verify_result res = verify(r, pws[i], NOW, 0);

		assert_int_equal(res.verdict, RS_DISABLED);
	}
	/* The work is still done: a damaged hash of a disabled account is an error. */
	(void)snprintf(r->previous, sizeof(r->previous), "%s", BROKEN_B2B);
	{
		struct rs_verify_result res;

		assert_true(rs_policy_verify(r, dummy, CUR_PW, strlen(CUR_PW), NOW, 0, &res) < 0);
	}
}

static void an_unknown_account_is_unknown_after_checking_the_dummy_hash(void **state)
{
	struct rs_verify_result res;

	(void)state;
	res = verify(NULL, "anything", NOW, 0);
	assert_int_equal(res.verdict, RS_UNKNOWN);
	/* Even the dummy's own password opens nothing. */
	res = verify(NULL, DUMMY_PW, NOW, 0);
	assert_int_equal(res.verdict, RS_UNKNOWN);
	res = verify(NULL, "", NOW, 0);
	assert_int_equal(res.verdict, RS_UNKNOWN);
	/* The dummy is really hashed: a broken one is an error, as for a real account. */
	assert_int_equal(rs_policy_verify(NULL, BROKEN_B2B, "x", 1, NOW, 0, &res), -EINVAL);
	/* No dummy at all: an error, not a crash. */
	assert_int_equal(rs_policy_verify(NULL, NULL, "x", 1, NOW, 0, &res), -EINVAL);
}

static void an_account_without_previous_secret_accepts_only_the_current_one(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	memset(r->previous, 0, sizeof(r->previous));
	r->previous_deadline = r->previous_limit = 0;
	assert_int_equal(rs_previous_valid_until(r), 0);
	assert_int_equal(verify(r, CUR_PW, NOW, 0).verdict, RS_CURRENT);
	assert_int_equal(verify(r, PREV_PW, NOW, 0).verdict, RS_NO_MATCH);
	res = verify(r, DUMMY_PW, NOW, 0);
	assert_int_equal(res.verdict, RS_NO_MATCH);
	assert_int_equal(res.remaining, 0);
}

/*
 * Both hashes are always checked. We cannot count the calls without hooks, but we can
 * show that the second hash is looked at even when the first one matches: a damaged
 * second hash (the previous one, or the dummy when there is no previous) makes the
 * verification fail closed instead of answering "current".
 */
static void a_damaged_previous_hash_fails_closed_even_when_the_current_one_matches(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(r->previous, sizeof(r->previous), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, dummy, CUR_PW, strlen(CUR_PW), NOW, 0, &res), -EINVAL);
	(void)snprintf(r->previous, sizeof(r->previous), "$argon2id$v=19$m=65536,t=2,p=1$broken");
	assert_int_equal(rs_policy_verify(r, dummy, CUR_PW, strlen(CUR_PW), NOW, 0, &res), -EINVAL);
	/* With the previous deadline long gone, the previous hash is still checked. */
	(void)snprintf(r->previous, sizeof(r->previous), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, dummy, CUR_PW, strlen(CUR_PW), NOW + 999999, 0, &res),
	                 -EINVAL);
}

static void a_damaged_dummy_fails_closed_when_there_is_no_previous_secret(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	memset(r->previous, 0, sizeof(r->previous));
	assert_int_equal(rs_policy_verify(r, BROKEN_B2B, CUR_PW, strlen(CUR_PW), NOW, 0, &res),
	                 -EINVAL);
}

static void a_damaged_current_hash_fails_closed_even_when_the_previous_one_matches(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(r->current, sizeof(r->current), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, dummy, PREV_PW, strlen(PREV_PW), NOW, 0, &res),
	                 -EINVAL);
	memset(r->current, 0, sizeof(r->current));
	assert_int_equal(rs_policy_verify(r, dummy, PREV_PW, strlen(PREV_PW), NOW, 0, &res),
	                 -EINVAL);
}

static void a_damaged_tripwire_fails_closed_when_it_is_reached(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(r->revoked[0], sizeof(r->revoked[0]), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, dummy, "wrong", 5, NOW, 0, &res), -EINVAL);
	/* A match found before the tripwires needs no tripwire. */
	assert_int_equal(verify(r, CUR_PW, NOW, 0).verdict, RS_CURRENT);
}

static void argon2id_and_blake2b_hashes_can_be_mixed_in_one_record(void **state)
{
	struct rs_secret_rec *r = record();

	(void)state;
	/* A short secret (Argon2id) rotated to a long one (BLAKE2b), or back. */
	assert_int_equal(rs_hash_secret("short", 5, 40.0, RS_COST_INTERACTIVE, r->previous), 0);
	assert_int_equal(verify(r, "short", NOW, 0).verdict, RS_PREVIOUS);
	assert_int_equal(verify(r, CUR_PW, NOW, 0).verdict, RS_CURRENT);
	assert_int_equal(verify(r, "shorT", NOW, 0).verdict, RS_NO_MATCH);
}

static void verdicts_have_names(void **state)
{
	(void)state;
	assert_string_equal(rs_verdict_name(RS_CURRENT), "current");
	assert_string_equal(rs_verdict_name(RS_PREVIOUS), "previous");
	assert_string_equal(rs_verdict_name(RS_PREVIOUS_REFUSED), "previous refused");
	assert_string_equal(rs_verdict_name(RS_REVOKED), "revoked");
	assert_string_equal(rs_verdict_name(RS_NO_MATCH), "no match");
	assert_string_equal(rs_verdict_name(RS_DISABLED), "disabled");
	assert_string_equal(rs_verdict_name(RS_UNKNOWN), "unknown account");
	assert_string_equal(rs_verdict_name((enum rs_verdict)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(current_secret_is_accepted),
	        cmocka_unit_test(current_secret_is_accepted_with_no_previous_flag),
	        cmocka_unit_test(previous_secret_is_accepted_in_grace_with_the_seconds_remaining),
	        cmocka_unit_test(previous_secret_is_revoked_at_and_after_its_deadline),
	        cmocka_unit_test(
	                previous_secret_is_revoked_past_its_limit_even_if_the_deadline_is_later),
	        cmocka_unit_test(previous_secret_in_grace_is_refused_with_the_no_previous_flag),
	        cmocka_unit_test(revoked_secrets_trip_the_wire),
	        cmocka_unit_test(a_wrong_password_is_no_match),
	        cmocka_unit_test(
	                an_empty_password_is_no_match_even_if_the_hash_is_of_the_empty_string),
	        cmocka_unit_test(a_password_of_512_bytes_is_checked_and_one_of_513_is_no_match),
	        cmocka_unit_test(a_disabled_account_is_disabled_whatever_the_password),
	        cmocka_unit_test(an_unknown_account_is_unknown_after_checking_the_dummy_hash),
	        cmocka_unit_test(an_account_without_previous_secret_accepts_only_the_current_one),
	        cmocka_unit_test(
	                a_damaged_previous_hash_fails_closed_even_when_the_current_one_matches),
	        cmocka_unit_test(a_damaged_dummy_fails_closed_when_there_is_no_previous_secret),
	        cmocka_unit_test(
	                a_damaged_current_hash_fails_closed_even_when_the_previous_one_matches),
	        cmocka_unit_test(a_damaged_tripwire_fails_closed_when_it_is_reached),
	        cmocka_unit_test(argon2id_and_blake2b_hashes_can_be_mixed_in_one_record),
	        cmocka_unit_test(verdicts_have_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
