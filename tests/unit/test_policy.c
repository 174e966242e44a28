/*
 * The verification policy (policy.h): every verdict the PAM module and `rotsecctl verify`
 * can get, the deadline rules of ARCHITECTURE.md, contract §3, failing closed on damaged hashes,
 * and what a verdict costs (issue 13): the hash computations of the store's cost profile, the same
 * number and kind for every verdict of every account, and for an unknown user.
 *
 * The computations are counted by interposing libsodium's two hash functions: this
 * program defines crypto_generichash and crypto_pwhash, which the static library under
 * test calls, and forwards each call to libsodium's (RTLD_NEXT). Every hash the policy
 * computes goes through one of them (secret.c), so the counts are what a login costs.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <sodium.h>
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

/* A malformed hash, as a damaged store might carry. */
#define BROKEN_B2B "$rotsec-b2b$v=1$notbase64$x"

/* ---- counting the computations ------------------------------------------------------ */

static unsigned n_b2b, n_argon;

int crypto_generichash(unsigned char *out, size_t outlen, const unsigned char *in,
                       unsigned long long inlen, const unsigned char *key, size_t keylen)
{
	static int (*real)(unsigned char *, size_t, const unsigned char *, unsigned long long,
	                   const unsigned char *, size_t);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "crypto_generichash");
	n_b2b++;
	return real(out, outlen, in, inlen, key, keylen);
}

int crypto_pwhash(unsigned char *out, unsigned long long outlen, const char *passwd,
                  unsigned long long passwdlen, const unsigned char *salt,
                  unsigned long long opslimit, size_t memlimit, int alg)
{
	static int (*real)(unsigned char *, unsigned long long, const char *, unsigned long long,
	                   const unsigned char *, unsigned long long, size_t, int);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "crypto_pwhash");
	n_argon++;
	return real(out, outlen, passwd, passwdlen, salt, opslimit, memlimit, alg);
}

static void count_reset(void)
{
	n_b2b = n_argon = 0;
}

/* ---- fixtures ---------------------------------------------------------------------- */

/* The profile the store writer would put in the header of a store of these records. */
static struct rs_costs profile_of(const struct rs_secret_rec *const *recs, size_t n)
{
	struct rs_costs_tally t = {0};
	struct rs_costs c;

	for (size_t i = 0; i < n; i++) {
		const char *h[RS_HASHES_MAX];
		size_t k = rs_secret_hashes(recs[i], h);

		assert_int_equal(rs_costs_tally_add(&t, h, k), 0);
	}
	rs_costs_from_tally(&t, &c);
	return c;
}

static struct rs_costs costs; /* of record(): BLAKE2b once */

/* Hashed as rotsec hashes a new secret of account r: with its salt (secret.h). */
static void hash_like(const char *pw, size_t len, const struct rs_secret_rec *r,
                      char out[RS_HASH_MAX])
{
	assert_int_equal(rs_hash_secret_like(pw, len, 190.0, RS_COST_INTERACTIVE, r, out), 0);
}

static void hash(const char *pw, size_t len, char out[RS_HASH_MAX])
{
	assert_int_equal(rs_hash_secret(pw, len, 190.0, RS_COST_INTERACTIVE, out), 0);
}

/*
 * An Argon2id hash at the lowest costs libsodium computes (8 KiB, one pass), with the
 * salt of `like` when given: the profile logic is the same at any cost, and the tests
 * compute many of them. Made here, since rotsec itself writes only its two costs.
 */
static void cheap_argon(const char *pw, const char *like, char out[RS_HASH_MAX])
{
	unsigned char salt[16], tag[32];
	char s64[23], t64[44];
	struct rs_hash_view v;
	size_t n;

	if (like) {
		assert_int_equal(rs_hash_view(like, &v), 0);
		assert_int_equal(sodium_base642bin(salt, sizeof(salt), v.salt, 22, NULL, &n, NULL,
		                                   sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
		                 0);
	} else {
		randombytes_buf(salt, sizeof(salt));
	}
	assert_int_equal(crypto_pwhash(tag, sizeof(tag), pw, strlen(pw), salt, 1, 8192,
	                               crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	sodium_bin2base64(s64, sizeof(s64), salt, sizeof(salt),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(t64, sizeof(t64), tag, sizeof(tag),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	(void)snprintf(out, RS_HASH_MAX, "$argon2id$v=19$m=8,t=1,p=1$%s$%s", s64, t64);
}

static int setup(void **state)
{
	struct rs_secret_rec r = {0};
	const struct rs_secret_rec *one = &r;

	(void)state;
	if (rs_crypto_init() < 0)
		return -1;
	if (rs_hash_secret(DUMMY_PW, strlen(DUMMY_PW), 190.0, RS_COST_INTERACTIVE, r.current) < 0)
		return -1;
	costs = profile_of(&one, 1);
	return 0;
}

/* An account in grace: previous valid until NOW+600 (limit NOW+3600), two tripwires, all
 * with one salt, as rotsec writes them. */
static struct rs_secret_rec *record(void)
{
	static struct rs_secret_rec r;

	memset(&r, 0, sizeof(r));
	(void)snprintf(r.name, sizeof(r.name), "svc-backup");
	r.uid = 60001;
	r.generation = 4;
	hash(CUR_PW, strlen(CUR_PW), r.current);
	r.current_since = NOW - 60;
	hash_like(PREV_PW, strlen(PREV_PW), &r, r.previous);
	r.previous_deadline = NOW + 600;
	r.previous_limit = NOW + 3600;
	r.nrevoked = 2;
	hash_like(OLD1_PW, strlen(OLD1_PW), &r, r.revoked[0]);
	hash_like(OLD2_PW, strlen(OLD2_PW), &r, r.revoked[1]);
	return &r;
}

static struct rs_verify_result verify_with(const struct rs_secret_rec *rec,
                                           const struct rs_costs *c, const char *pw, int64_t now,
                                           unsigned flags)
{
	struct rs_verify_result res;

	memset(&res, 0xa5, sizeof(res));
	assert_int_equal(rs_policy_verify(rec, c, pw, strlen(pw), now, flags, &res), 0);
	return res;
}

static struct rs_verify_result verify(const struct rs_secret_rec *rec, const char *pw, int64_t now,
                                      unsigned flags)
{
	return verify_with(rec, &costs, pw, now, flags);
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
	assert_int_equal(rs_policy_verify(r, &costs, pw, RS_SECRET_MAX, NOW, 0, &res), 0);
	assert_int_equal(res.verdict, RS_CURRENT);

	/* 513 bytes whose hash is the current one: still refused, the length alone decides. */
	hash(pw, RS_SECRET_MAX + 1, r->current);
	assert_int_equal(rs_policy_verify(r, &costs, pw, RS_SECRET_MAX + 1, NOW, 0, &res), 0);
	assert_int_equal(res.verdict, RS_NO_MATCH);
	/* Far longer: the same, and without reading past what it was given (ASan). */
	assert_int_equal(rs_policy_verify(r, &costs, pw, sizeof(pw), NOW, 0, &res), 0);
	assert_int_equal(res.verdict, RS_NO_MATCH);
	{
		char *exact = malloc(RS_SECRET_MAX + 1);

		assert_non_null(exact);
		memset(exact, 'k', RS_SECRET_MAX + 1);
		assert_int_equal(
		        rs_policy_verify(r, &costs, exact, RS_SECRET_MAX + 1, NOW, 0, &res), 0);
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

		assert_true(rs_policy_verify(r, &costs, CUR_PW, strlen(CUR_PW), NOW, 0, &res) < 0);
	}
}

static void an_unknown_account_is_unknown_after_the_profiles_computations(void **state)
{
	struct rs_costs broken = {1, {BROKEN_B2B}}, none = {0};
	struct rs_verify_result res;

	(void)state;
	count_reset();
	res = verify(NULL, "anything", NOW, 0);
	assert_int_equal(res.verdict, RS_UNKNOWN);
	assert_int_equal(n_b2b, 1);
	assert_int_equal(n_argon, 0);
	res = verify(NULL, DUMMY_PW, NOW, 0);
	assert_int_equal(res.verdict, RS_UNKNOWN);
	res = verify(NULL, "", NOW, 0);
	assert_int_equal(res.verdict, RS_UNKNOWN);
	/* The dummy is really computed with: a broken one is an error, as for a real
	 * account; so are an empty profile and none at all (an error, not a crash). */
	assert_int_equal(rs_policy_verify(NULL, &broken, "x", 1, NOW, 0, &res), -EINVAL);
	assert_int_equal(rs_policy_verify(NULL, &none, "x", 1, NOW, 0, &res), -EINVAL);
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
 * Every hash of the record is parsed and every computation made before any result is
 * looked at: a damaged hash anywhere in the record makes the verification fail closed,
 * whatever the password and whichever hash would have matched.
 */
static void a_damaged_previous_hash_fails_closed_even_when_the_current_one_matches(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(r->previous, sizeof(r->previous), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, &costs, CUR_PW, strlen(CUR_PW), NOW, 0, &res),
	                 -EINVAL);
	(void)snprintf(r->previous, sizeof(r->previous), "$argon2id$v=19$m=65536,t=2,p=1$broken");
	assert_int_equal(rs_policy_verify(r, &costs, CUR_PW, strlen(CUR_PW), NOW, 0, &res),
	                 -EINVAL);
	/* With the previous deadline long gone, the previous hash is still checked. */
	(void)snprintf(r->previous, sizeof(r->previous), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, &costs, CUR_PW, strlen(CUR_PW), NOW + 999999, 0, &res),
	                 -EINVAL);
}

static void a_damaged_profile_entry_fails_closed_whatever_the_account(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_costs c = costs;
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(c.dummy[c.n++], RS_HASH_MAX, "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, &c, CUR_PW, strlen(CUR_PW), NOW, 0, &res), -EINVAL);
	memset(r->previous, 0, sizeof(r->previous));
	assert_int_equal(rs_policy_verify(r, &c, CUR_PW, strlen(CUR_PW), NOW, 0, &res), -EINVAL);
}

static void a_damaged_current_hash_fails_closed_even_when_the_previous_one_matches(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(r->current, sizeof(r->current), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, &costs, PREV_PW, strlen(PREV_PW), NOW, 0, &res),
	                 -EINVAL);
	memset(r->current, 0, sizeof(r->current));
	assert_int_equal(rs_policy_verify(r, &costs, PREV_PW, strlen(PREV_PW), NOW, 0, &res),
	                 -EINVAL);
}

static void a_damaged_tripwire_fails_closed_whatever_the_password(void **state)
{
	struct rs_secret_rec *r = record();
	struct rs_verify_result res;

	(void)state;
	(void)snprintf(r->revoked[1], sizeof(r->revoked[1]), "%s", BROKEN_B2B);
	assert_int_equal(rs_policy_verify(r, &costs, "wrong", 5, NOW, 0, &res), -EINVAL);
	assert_int_equal(rs_policy_verify(r, &costs, CUR_PW, strlen(CUR_PW), NOW, 0, &res),
	                 -EINVAL);
}

static void argon2id_and_blake2b_hashes_can_be_mixed_in_one_record(void **state)
{
	struct rs_secret_rec *r = record();
	const struct rs_secret_rec *one = r;
	struct rs_costs c;

	(void)state;
	/* A short secret (Argon2id) rotated to a long one (BLAKE2b), or back: one
	 * computation of each class, the profile having both. */
	cheap_argon("short", NULL, r->previous);
	c = profile_of(&one, 1);
	assert_int_equal(c.n, 2);
	count_reset();
	assert_int_equal(verify_with(r, &c, "short", NOW, 0).verdict, RS_PREVIOUS);
	assert_int_equal(verify_with(r, &c, CUR_PW, NOW, 0).verdict, RS_CURRENT);
	assert_int_equal(verify_with(r, &c, "shorT", NOW, 0).verdict, RS_NO_MATCH);
	assert_int_equal(n_b2b, 3);
	assert_int_equal(n_argon, 3);
}

/* ---- what a verdict costs (issue 13) ------------------------------------------------ */

#define NACC 4

/*
 * A store of four accounts of one kind, or of both: BLAKE2b with a previous secret and
 * three tripwires, BLAKE2b with no previous one, Argon2id with a previous secret and 16
 * tripwires (tripwire_keep = 16), Argon2id disabled. All salts kept as rotsec keeps them.
 */
struct store {
	struct rs_secret_rec rec[NACC];
	const struct rs_secret_rec *in[NACC]; /* the accounts of this store */
	size_t n;
	struct rs_costs costs;
};

static void tripwire_pw(char *buf, size_t len, size_t i)
{
	(void)snprintf(buf, len, "tripwire-%02zu", i);
}

static void make_store(struct store *st, bool b2b, bool argon)
{
	struct rs_secret_rec *r;
	char pw[32];

	memset(st, 0, sizeof(*st));
	r = st->rec;
	for (size_t i = 0; i < NACC; i++) {
		(void)snprintf(r[i].name, sizeof(r[i].name), "svc-%zu", i);
		r[i].uid = 60000 + (uint32_t)i;
	}
	hash(CUR_PW, strlen(CUR_PW), r[0].current);
	hash_like(PREV_PW, strlen(PREV_PW), &r[0], r[0].previous);
	r[0].previous_deadline = r[0].previous_limit = NOW + 600;
	for (size_t t = 0; t < 3; t++) {
		tripwire_pw(pw, sizeof(pw), t);
		hash_like(pw, strlen(pw), &r[0], r[0].revoked[r[0].nrevoked++]);
	}
	hash(CUR_PW, strlen(CUR_PW), r[1].current);
	cheap_argon(CUR_PW, NULL, r[2].current);
	cheap_argon(PREV_PW, r[2].current, r[2].previous);
	r[2].previous_deadline = r[2].previous_limit = NOW + 600;
	for (size_t t = 0; t < RS_TRIPWIRE_MAX; t++) {
		tripwire_pw(pw, sizeof(pw), t);
		cheap_argon(pw, r[2].current, r[2].revoked[r[2].nrevoked++]);
	}
	cheap_argon(CUR_PW, NULL, r[3].current);
	r[3].flags = RS_SECRET_DISABLED;
	for (size_t i = 0; i < NACC; i++)
		if (i < 2 ? b2b : argon)
			st->in[st->n++] = &r[i];
	st->costs = profile_of(st->in, st->n);
}

/* The computations of one verification, checked against the profile: `b` BLAKE2b and `a`
 * Argon2id ones, whatever the verdict. */
static enum rs_verdict costed(const struct store *st, const struct rs_secret_rec *rec,
                              const char *pw, size_t len, unsigned b, unsigned a)
{
	struct rs_verify_result res;

	count_reset();
	assert_int_equal(rs_policy_verify(rec, &st->costs, pw, len, NOW, 0, &res), 0);
	if (n_b2b != b || n_argon != a)
		fail_msg("%s, verdict %s: %u BLAKE2b and %u Argon2id computations, expected %u and "
		         "%u",
		         rec ? rec->name : "unknown", rs_verdict_name(res.verdict), n_b2b, n_argon,
		         b, a);
	return res.verdict;
}

/* Every verdict of every account, and an unknown user, in a store: the same computations. */
static void every_verdict_costs_the_same(bool b2b, bool argon)
{
	static char long_pw[RS_SECRET_MAX + 2];
	unsigned b = b2b ? 1 : 0, a = argon ? 1 : 0;
	struct store st;
	char pw[32];

	make_store(&st, b2b, argon);
	assert_int_equal(st.costs.n, b + a);
	memset(long_pw, 'x', sizeof(long_pw) - 1);
	for (size_t i = 0; i < st.n; i++) {
		const struct rs_secret_rec *r = st.in[i];
		bool disabled = r->flags & RS_SECRET_DISABLED;

		assert_int_equal(costed(&st, r, CUR_PW, strlen(CUR_PW), b, a),
		                 disabled ? RS_DISABLED : RS_CURRENT);
		assert_int_equal(costed(&st, r, PREV_PW, strlen(PREV_PW), b, a),
		                 disabled         ? RS_DISABLED
		                 : r->previous[0] ? RS_PREVIOUS
		                                  : RS_NO_MATCH);
		for (size_t t = 0; t < r->nrevoked; t++) {
			tripwire_pw(pw, sizeof(pw), t);
			assert_int_equal(costed(&st, r, pw, strlen(pw), b, a), RS_REVOKED);
		}
		assert_int_equal(costed(&st, r, "wrong", 5, b, a),
		                 disabled ? RS_DISABLED : RS_NO_MATCH);
		assert_int_equal(costed(&st, r, "", 0, b, a), disabled ? RS_DISABLED : RS_NO_MATCH);
		assert_int_equal(costed(&st, r, long_pw, sizeof(long_pw) - 1, b, a),
		                 disabled ? RS_DISABLED : RS_NO_MATCH);
	}
	assert_int_equal(costed(&st, NULL, CUR_PW, strlen(CUR_PW), b, a), RS_UNKNOWN);
	assert_int_equal(costed(&st, NULL, "", 0, b, a), RS_UNKNOWN);
}

static void every_verdict_in_a_blake2b_store_costs_one_blake2b_computation(void **state)
{
	(void)state;
	every_verdict_costs_the_same(true, false);
}

static void
every_verdict_in_an_argon2id_store_with_16_tripwires_costs_one_argon2id_computation(void **state)
{
	(void)state;
	every_verdict_costs_the_same(false, true);
}

static void every_verdict_in_a_mixed_store_costs_one_computation_of_each_kind(void **state)
{
	(void)state;
	every_verdict_costs_the_same(true, true);
}

/*
 * A store written before salts were kept: each hash its own salt. The profile has the
 * class twice where an account's current and previous hashes differ in salt, and every
 * verdict of every account computes both; a tripwire of another salt costs nothing and is
 * not checked (the writer drops it at its next write, test_store).
 */
static void a_store_written_before_salts_were_kept_costs_its_profile_for_everyone(void **state)
{
	struct rs_secret_rec legacy = {.name = "svc-old", .uid = 60009}, *fresh = record();
	const struct rs_secret_rec *both[] = {&legacy, fresh};
	struct rs_costs c;
	struct store st;

	(void)state;
	hash(CUR_PW, strlen(CUR_PW), legacy.current);
	hash(PREV_PW, strlen(PREV_PW), legacy.previous);
	legacy.previous_deadline = legacy.previous_limit = NOW + 600;
	hash(OLD1_PW, strlen(OLD1_PW), legacy.revoked[legacy.nrevoked++]);
	c = profile_of(both, 2);
	assert_int_equal(c.n, 2);
	st.costs = c;
	assert_int_equal(costed(&st, &legacy, CUR_PW, strlen(CUR_PW), 2, 0), RS_CURRENT);
	assert_int_equal(costed(&st, &legacy, PREV_PW, strlen(PREV_PW), 2, 0), RS_PREVIOUS);
	assert_int_equal(costed(&st, &legacy, OLD1_PW, strlen(OLD1_PW), 2, 0), RS_NO_MATCH);
	assert_int_equal(costed(&st, fresh, OLD1_PW, strlen(OLD1_PW), 2, 0), RS_REVOKED);
	assert_int_equal(costed(&st, fresh, "wrong", 5, 2, 0), RS_NO_MATCH);
	assert_int_equal(costed(&st, NULL, "wrong", 5, 2, 0), RS_UNKNOWN);
	/* The header of a format 2 store had one dummy, read as the profile "twice". */
	make_store(&st, true, false);
	(void)snprintf(st.costs.dummy[1], RS_HASH_MAX, "%s", st.costs.dummy[0]);
	st.costs.n = 2;
	assert_int_equal(costed(&st, &legacy, PREV_PW, strlen(PREV_PW), 2, 0), RS_PREVIOUS);
	assert_int_equal(costed(&st, st.in[0], CUR_PW, strlen(CUR_PW), 2, 0), RS_CURRENT);
	assert_int_equal(costed(&st, NULL, CUR_PW, strlen(CUR_PW), 2, 0), RS_UNKNOWN);
}

/* A record the profile does not cover (only a hand-made store has one) is still checked:
 * its current and previous hashes get computations beyond the profile, never a refusal
 * of a valid secret. */
static void a_record_the_profile_does_not_cover_is_checked_all_the_same(void **state)
{
	struct store st;
	struct rs_secret_rec *r;

	(void)state;
	make_store(&st, true, false);
	r = &st.rec[2]; /* Argon2id, in a store whose profile is BLAKE2b */
	assert_int_equal(costed(&st, r, CUR_PW, strlen(CUR_PW), 1, 1), RS_CURRENT);
	assert_int_equal(costed(&st, r, PREV_PW, strlen(PREV_PW), 1, 1), RS_PREVIOUS);
	assert_int_equal(costed(&st, r, "wrong", 5, 1, 1), RS_NO_MATCH);
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
	        cmocka_unit_test(an_unknown_account_is_unknown_after_the_profiles_computations),
	        cmocka_unit_test(an_account_without_previous_secret_accepts_only_the_current_one),
	        cmocka_unit_test(
	                a_damaged_previous_hash_fails_closed_even_when_the_current_one_matches),
	        cmocka_unit_test(a_damaged_profile_entry_fails_closed_whatever_the_account),
	        cmocka_unit_test(
	                a_damaged_current_hash_fails_closed_even_when_the_previous_one_matches),
	        cmocka_unit_test(a_damaged_tripwire_fails_closed_whatever_the_password),
	        cmocka_unit_test(argon2id_and_blake2b_hashes_can_be_mixed_in_one_record),
	        cmocka_unit_test(every_verdict_in_a_blake2b_store_costs_one_blake2b_computation),
	        cmocka_unit_test(
	                every_verdict_in_an_argon2id_store_with_16_tripwires_costs_one_argon2id_computation),
	        cmocka_unit_test(every_verdict_in_a_mixed_store_costs_one_computation_of_each_kind),
	        cmocka_unit_test(
	                a_store_written_before_salts_were_kept_costs_its_profile_for_everyone),
	        cmocka_unit_test(a_record_the_profile_does_not_cover_is_checked_all_the_same),
	        cmocka_unit_test(verdicts_have_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
