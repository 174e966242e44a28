/*
 * Secrets: alphabets, entropy, unbiased generation, guarded buffers, and the two hash
 * kinds of ARCHITECTURE.md, contract §2 (salted BLAKE2b at 128 bits and more, Argon2id below).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "secret.h"

#define B2B_PREFIX "$rotsec-b2b$v=1$"

static int setup(void **state)
{
	(void)state;
	return rs_crypto_init();
}

static struct rs_alphabet alpha(const char *spec)
{
	struct rs_alphabet a;

	assert_int_equal(rs_alphabet_parse(spec, &a), 0);
	return a;
}

static int in_alphabet(const struct rs_alphabet *a, char c)
{
	return memchr(a->chars, c, a->n) != NULL;
}

static void named_alphabets_hold_the_documented_characters(void **state)
{
	struct rs_alphabet a;

	(void)state;
	a = alpha("alnum");
	assert_int_equal(a.n, 62);
	for (int c = 0; c < 128; c++)
		assert_int_equal(in_alphabet(&a, (char)c), (c >= 'a' && c <= 'z') ||
		                                                   (c >= 'A' && c <= 'Z') ||
		                                                   (c >= '0' && c <= '9'));

	a = alpha("base64url");
	assert_int_equal(a.n, 64);
	assert_true(in_alphabet(&a, '-') && in_alphabet(&a, '_'));
	assert_false(in_alphabet(&a, '+') || in_alphabet(&a, '/') || in_alphabet(&a, '='));

	a = alpha("printable");
	assert_int_equal(a.n, 94);
	for (int c = 1; c < 128; c++)
		assert_int_equal(in_alphabet(&a, (char)c), c >= 0x21 && c <= 0x7e);
}

static void a_custom_alphabet_is_taken_as_given(void **state)
{
	struct rs_alphabet a;

	(void)state;
	a = alpha("ab");
	assert_int_equal(a.n, 2);
	assert_memory_equal(a.chars, "ab", 2);
	a = alpha("0123456789");
	assert_int_equal(a.n, 10);
	/* Every printable character once is the largest custom set. */
	{
		char all[95];

		for (int c = 0x21; c <= 0x7e; c++)
			all[c - 0x21] = (char)c;
		all[94] = '\0';
		a = alpha(all);
		assert_int_equal(a.n, 94);
	}
}

static void
custom_alphabets_with_repeats_spaces_or_fewer_than_two_characters_are_refused(void **state)
{
	static const char *bad[] = {
	        "", "a", "aa", "abca", "ab c", "ab\t", "ab\n", "ab\x7f", "ab\xc3\xa9", "\x01\x02",
	};
	struct rs_alphabet a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rs_alphabet_parse(bad[i], &a) != -EINVAL)
			fail_msg("alphabet \"%s\" was accepted", bad[i]);
}

static void entropy_is_length_times_log2_of_the_alphabet_size(void **state)
{
	struct rs_alphabet a;

	(void)state;
	a = alpha("alnum");
	assert_true(fabs(rs_entropy_bits(&a, 32) - 32 * log2(62.0)) < 1e-9);
	assert_true(rs_entropy_bits(&a, 22) < 132.0 && rs_entropy_bits(&a, 22) > 130.0);
	a = alpha("base64url");
	assert_true(fabs(rs_entropy_bits(&a, 22) - 132.0) < 1e-9);
	a = alpha("ab");
	assert_true(fabs(rs_entropy_bits(&a, 64) - 64.0) < 1e-9);
	assert_true(rs_entropy_bits(&a, 0) == 0.0);
	memset(&a, 0, sizeof(a));
	assert_true(rs_entropy_bits(&a, 32) == 0.0);
	a.n = 1;
	assert_true(rs_entropy_bits(&a, 32) == 0.0);
}

static void generated_secrets_have_the_requested_length_and_only_alphabet_characters(void **state)
{
	static const char *specs[] = {"alnum", "base64url", "printable", "xyz"};
	static const size_t lengths[] = {1, 2, 16, 32, 64, 511, RS_SECRET_MAX};

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct rs_alphabet a = alpha(specs[i]);

		for (size_t j = 0; j < sizeof(lengths) / sizeof(lengths[0]); j++) {
			struct rs_secret s = {0};

			assert_int_equal(rs_secret_generate(&a, lengths[j], &s), 0);
			assert_non_null(s.buf);
			assert_int_equal(s.len, lengths[j]);
			assert_int_equal(strlen(s.buf), lengths[j]);
			for (size_t k = 0; k < s.len; k++)
				assert_true(in_alphabet(&a, s.buf[k]));
			rs_secret_free(&s);
			assert_null(s.buf);
		}
	}
}

static void generation_refuses_empty_overlong_and_degenerate_requests(void **state)
{
	struct rs_alphabet a = alpha("alnum"), one;
	struct rs_secret s = {0};

	(void)state;
	assert_int_equal(rs_secret_generate(&a, 0, &s), -EINVAL);
	assert_int_equal(rs_secret_generate(&a, RS_SECRET_MAX + 1, &s), -EINVAL);
	assert_int_equal(rs_secret_generate(&a, SIZE_MAX, &s), -EINVAL);
	memset(&one, 0, sizeof(one));
	one.chars[0] = 'a';
	one.n = 1;
	assert_int_equal(rs_secret_generate(&one, 16, &s), -EINVAL);
	/* Nothing was allocated: freeing is a no-op. */
	assert_null(s.buf);
	rs_secret_free(&s);
}

static void two_generated_secrets_differ(void **state)
{
	struct rs_alphabet a = alpha("alnum");
	struct rs_secret s1 = {0}, s2 = {0};

	(void)state;
	assert_int_equal(rs_secret_generate(&a, 32, &s1), 0);
	assert_int_equal(rs_secret_generate(&a, 32, &s2), 0);
	/* 190 bits each: a collision here means the generator is broken, not bad luck. */
	assert_memory_not_equal(s1.buf, s2.buf, 32);
	rs_secret_free(&s1);
	rs_secret_free(&s2);
}

/*
 * Pearson's chi-square over `total` generated characters. With k bins the statistic has
 * mean k-1 and standard deviation sqrt(2(k-1)); the threshold below is 3(k-1) + 60,
 * which a uniform generator exceeds with probability far below 1e-12 for every k used
 * here (so the test never flakes), while modulo bias of the kind `byte % 62` produces
 * (for 62 bins, 620000 draws) a statistic in the thousands.
 */
static void check_uniform(const char *spec, size_t total)
{
	struct rs_alphabet a = alpha(spec);
	unsigned long counts[128] = {0};
	size_t drawn = 0;
	double chi2 = 0, expect, limit;

	while (drawn < total) {
		struct rs_secret s = {0};
		size_t len = total - drawn < RS_SECRET_MAX ? total - drawn : RS_SECRET_MAX;

		assert_int_equal(rs_secret_generate(&a, len, &s), 0);
		for (size_t i = 0; i < len; i++)
			counts[(unsigned char)s.buf[i] & 0x7f]++;
		drawn += len;
		rs_secret_free(&s);
	}
	expect = (double)total / (double)a.n;
	for (size_t i = 0; i < a.n; i++) {
		double d = (double)counts[(unsigned char)a.chars[i]] - expect;

		/* Every character of the alphabet occurs. */
		if (counts[(unsigned char)a.chars[i]] == 0)
			fail_msg("'%c' never occurred in %zu characters of %s", a.chars[i], total,
			         spec);
		chi2 += d * d / expect;
	}
	limit = 3.0 * (double)(a.n - 1) + 60.0;
	if (chi2 > limit)
		fail_msg("%s: chi-square %.1f over %zu bins exceeds %.1f", spec, chi2, a.n, limit);
}

static void generated_characters_are_uniformly_distributed(void **state)
{
	(void)state;
	check_uniform("alnum", (size_t)62 * 10000);
	check_uniform("printable", (size_t)94 * 3000);
	check_uniform("abc", (size_t)3 * 20000);
	check_uniform("base64url", (size_t)64 * 3000);
}

static void every_character_of_a_small_custom_alphabet_occurs_in_one_secret(void **state)
{
	struct rs_alphabet a = alpha("ab");
	struct rs_secret s = {0};

	(void)state;
	/* P(one of two characters missing from 512 draws) = 2^-511. */
	assert_int_equal(rs_secret_generate(&a, RS_SECRET_MAX, &s), 0);
	assert_non_null(memchr(s.buf, 'a', s.len));
	assert_non_null(memchr(s.buf, 'b', s.len));
	rs_secret_free(&s);
}

static void secret_buffers_are_zeroed_terminated_and_freed_safely(void **state)
{
	struct rs_secret s = {0};
	static const char pw[] = "hunter2\0with-a-nul";

	(void)state;
	rs_secret_free(&s); /* a zeroed struct is fine */
	assert_int_equal(rs_secret_alloc(&s, 40), 0);
	assert_int_equal(s.len, 40);
	for (size_t i = 0; i <= 40; i++)
		assert_int_equal(s.buf[i], 0);
	memset(s.buf, 'x', s.len); /* the whole length is writable */
	assert_int_equal(s.buf[40], '\0');
	rs_secret_free(&s);
	assert_null(s.buf);
	assert_int_equal(s.len, 0);
	rs_secret_free(&s); /* and twice */

	assert_int_equal(rs_secret_from(&s, pw, sizeof(pw) - 1), 0);
	assert_int_equal(s.len, sizeof(pw) - 1);
	assert_memory_equal(s.buf, pw, sizeof(pw) - 1);
	assert_int_equal(s.buf[s.len], '\0');
	rs_secret_free(&s);

	assert_int_equal(rs_secret_from(&s, "", 0), 0);
	assert_int_equal(s.len, 0);
	assert_string_equal(s.buf, "");
	rs_secret_free(&s);
}

static void b2b_part_ok(const char *p, size_t want)
{
	for (size_t i = 0; i < want; i++)
		assert_true((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		            (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_');
}

static void strong_secrets_are_stored_as_salted_blake2b(void **state)
{
	char h[RS_HASH_MAX];
	const char *salt, *dollar;

	(void)state;
	assert_int_equal(rs_hash_secret("correct horse", 13, 190.5, RS_COST_INTERACTIVE, h), 0);
	assert_true(rs_hash_string_ok(h));
	assert_memory_equal(h, B2B_PREFIX, strlen(B2B_PREFIX));
	/* $rotsec-b2b$v=1$<16-byte salt, base64url>$<32-byte hash, base64url> */
	salt = h + strlen(B2B_PREFIX);
	dollar = strchr(salt, '$');
	assert_non_null(dollar);
	assert_int_equal(dollar - salt, 22);
	b2b_part_ok(salt, 22);
	assert_int_equal(strlen(dollar + 1), 43);
	b2b_part_ok(dollar + 1, 43);
	assert_int_equal(rs_hash_verify(h, "correct horse", 13), 1);
}

static void the_128_bit_boundary_selects_the_hash_kind(void **state)
{
	char h[RS_HASH_MAX];

	(void)state;
	assert_int_equal(rs_hash_secret("pw", 2, 128.0, RS_COST_INTERACTIVE, h), 0);
	assert_memory_equal(h, B2B_PREFIX, strlen(B2B_PREFIX));
	assert_int_equal(rs_hash_secret("pw", 2, 127.99, RS_COST_INTERACTIVE, h), 0);
	assert_memory_equal(h, "$argon2id$", 10);
	assert_int_equal(rs_hash_secret("pw", 2, 0.0, RS_COST_INTERACTIVE, h), 0);
	assert_memory_equal(h, "$argon2id$", 10);
}

static void weak_secrets_are_stored_as_argon2id_at_the_interactive_cost(void **state)
{
	char h[RS_HASH_MAX], want[64];

	(void)state;
	assert_int_equal(rs_hash_secret("short1", 6, 40.0, RS_COST_INTERACTIVE, h), 0);
	assert_true(rs_hash_string_ok(h));
	(void)snprintf(want, sizeof(want), "$argon2id$v=19$m=%zu,t=%llu,p=1$",
	               (size_t)(crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024),
	               (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE);
	assert_memory_equal(h, want, strlen(want));
	assert_int_equal(rs_hash_verify(h, "short1", 6), 1);
	assert_int_equal(rs_hash_verify(h, "short2", 6), 0);
	assert_int_equal(rs_hash_verify(h, "short", 5), 0);
	assert_int_equal(rs_hash_verify(h, "short1x", 7), 0);
}

static void the_moderate_cost_raises_argon2id_parameters(void **state)
{
	char h[RS_HASH_MAX], want[64];

	(void)state;
	assert_int_equal(rs_hash_secret("short1", 6, 40.0, RS_COST_MODERATE, h), 0);
	(void)snprintf(want, sizeof(want), "$argon2id$v=19$m=%zu,t=%llu,p=1$",
	               (size_t)(crypto_pwhash_MEMLIMIT_MODERATE / 1024),
	               (unsigned long long)crypto_pwhash_OPSLIMIT_MODERATE);
	assert_memory_equal(h, want, strlen(want));
	assert_int_equal(rs_hash_verify(h, "short1", 6), 1);
}

static void blake2b_hashes_verify_only_the_exact_password(void **state)
{
	char h[RS_HASH_MAX];
	static const char pw[] = "a\0b"; /* three bytes with a NUL inside */

	(void)state;
	assert_int_equal(rs_hash_secret(pw, 3, 200, RS_COST_INTERACTIVE, h), 0);
	assert_int_equal(rs_hash_verify(h, pw, 3), 1);
	assert_int_equal(rs_hash_verify(h, "a", 1), 0);
	assert_int_equal(rs_hash_verify(h, "a\0c", 3), 0);
	assert_int_equal(rs_hash_verify(h, "a\0b\0", 4), 0);
	assert_int_equal(rs_hash_verify(h, "", 0), 0);

	assert_int_equal(rs_hash_secret("", 0, 200, RS_COST_INTERACTIVE, h), 0);
	assert_int_equal(rs_hash_verify(h, "", 0), 1);
	assert_int_equal(rs_hash_verify(h, "x", 1), 0);
}

static void the_longest_accepted_secret_hashes_and_verifies(void **state)
{
	char pw[RS_SECRET_MAX], h[RS_HASH_MAX];

	(void)state;
	memset(pw, 'Q', sizeof(pw));
	assert_int_equal(rs_hash_secret(pw, sizeof(pw), 3000, RS_COST_INTERACTIVE, h), 0);
	assert_int_equal(rs_hash_verify(h, pw, sizeof(pw)), 1);
	assert_int_equal(rs_hash_verify(h, pw, sizeof(pw) - 1), 0);
}

static void the_same_password_hashes_differently_each_time(void **state)
{
	char h1[RS_HASH_MAX], h2[RS_HASH_MAX];

	(void)state;
	assert_int_equal(rs_hash_secret("same", 4, 200, RS_COST_INTERACTIVE, h1), 0);
	assert_int_equal(rs_hash_secret("same", 4, 200, RS_COST_INTERACTIVE, h2), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(rs_hash_verify(h1, "same", 4), 1);
	assert_int_equal(rs_hash_verify(h2, "same", 4), 1);
	assert_int_equal(rs_hash_secret("same", 4, 20, RS_COST_INTERACTIVE, h1), 0);
	assert_int_equal(rs_hash_secret("same", 4, 20, RS_COST_INTERACTIVE, h2), 0);
	assert_string_not_equal(h1, h2);
}

static void malformed_blake2b_hashes_are_refused_with_einval(void **state)
{
	char h[RS_HASH_MAX], bad[RS_HASH_MAX + 16];
	const char *salt, *dollar;

	(void)state;
	assert_int_equal(rs_hash_secret("pw", 2, 200, RS_COST_INTERACTIVE, h), 0);
	salt = h + strlen(B2B_PREFIX);
	dollar = strchr(salt, '$');

	/* No separator, nothing after the prefix, empty parts. */
	assert_int_equal(rs_hash_verify(B2B_PREFIX, "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify(B2B_PREFIX "AAAA", "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify(B2B_PREFIX "$", "pw", 2), -EINVAL);
	/* Salt one character short, hash one character short or long. */
	(void)snprintf(bad, sizeof(bad), "%.*s%s", (int)(salt - h) + 21, h, dollar);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	(void)snprintf(bad, sizeof(bad), "%.*s", (int)strlen(h) - 1, h);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	(void)snprintf(bad, sizeof(bad), "%sA", h);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	/* Characters outside base64url, padding, a third part. */
	(void)snprintf(bad, sizeof(bad), "%s", h);
	bad[strlen(bad) - 5] = '+';
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	(void)snprintf(bad, sizeof(bad), "%s=", h);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	(void)snprintf(bad, sizeof(bad), "%s$AAAA", h);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	/* Another version of the format. */
	(void)snprintf(bad, sizeof(bad), "$rotsec-b2b$v=2$%s", salt);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	/* The untouched hash still verifies. */
	assert_int_equal(rs_hash_verify(h, "pw", 2), 1);
}

static void malformed_argon2id_hashes_are_refused_with_einval(void **state)
{
	char h[RS_HASH_MAX], bad[RS_HASH_MAX + 16];

	(void)state;
	assert_int_equal(rs_hash_secret("pw", 2, 20, RS_COST_INTERACTIVE, h), 0);
	assert_int_equal(rs_hash_verify("$argon2id$", "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify("$argon2id$garbage", "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify("$argon2id$v=19$m=65536,t=2,p=1$", "pw", 2), -EINVAL);
	(void)snprintf(bad, sizeof(bad), "%.*s", (int)strlen(h) - 10, h);
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	(void)snprintf(bad, sizeof(bad), "%s", h);
	bad[13] = '8'; /* $argon2id$v=19$ becomes v=18 */
	assert_int_equal(rs_hash_verify(bad, "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify(h, "pw", 2), 1);
}

/* The verifier obeys the costs a hash string states: a damaged store asking for 4 GiB or
 * a thousand passes must be refused at once, not run (found by fuzz_pam). */
static void argon2id_costs_above_the_moderate_ones_are_refused_without_hashing(void **state)
{
#define SALT_TAG "$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	static const char *const bad[] = {
	        "$argon2id$v=19$m=4194304,t=2,p=1" SALT_TAG,
	        "$argon2id$v=19$m=65536,t=1000,p=1" SALT_TAG,
	        "$argon2id$v=19$m=65536,t=2,p=8" SALT_TAG,
	        "$argon2id$v=19$m=262145,t=2,p=1" SALT_TAG,
	        "$argon2id$v=19$m=65536,t=4,p=1" SALT_TAG,
	};
	char h[RS_HASH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rs_hash_verify(bad[i], "pw", 2), -EINVAL);
	/* What rotsec writes at the highest cost it has still verifies. */
	assert_int_equal(rs_hash_secret("pw", 2, 20, RS_COST_MODERATE, h), 0);
	assert_int_equal(rs_hash_verify(h, "pw", 2), 1);
}

static void unknown_hash_kinds_are_refused_with_einval(void **state)
{
	(void)state;
	assert_int_equal(rs_hash_verify("", "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify("pw", "pw", 2), -EINVAL);
	assert_int_equal(rs_hash_verify("$6$salt$abcdef", "pw", 2), -EINVAL);
	assert_int_equal(
	        rs_hash_verify("$argon2i$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "pw", 2),
	        -EINVAL);
	assert_int_equal(rs_hash_verify("!", "pw", 2), -EINVAL);
}

/* Argon2id strings as rotsec writes them are libsodium's: crypto_pwhash_str_verify takes
 * them, and rotsec verifies libsodium's own. */
static void argon2id_hashes_are_interchangeable_with_libsodiums_strings(void **state)
{
	char ours[RS_HASH_MAX], theirs[crypto_pwhash_STRBYTES];

	(void)state;
	assert_int_equal(rs_hash_secret("short1", 6, 40.0, RS_COST_INTERACTIVE, ours), 0);
	assert_int_equal(crypto_pwhash_str_verify(ours, "short1", 6), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(ours, "short2", 6), 0);
	assert_int_equal(crypto_pwhash_str_alg(
	                         theirs, "short1", 6, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                         crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	assert_int_equal(rs_hash_verify(theirs, "short1", 6), 1);
	assert_int_equal(rs_hash_verify(theirs, "short2", 6), 0);
}

/* A new secret of an account keeps the account's salt of its class, so that one
 * computation checks it with the previous one and the tripwires (hashes.h). */
static void a_new_secret_keeps_the_salt_of_its_class_in_the_account(void **state)
{
	struct rs_secret_rec r;
	struct rs_hash_view a, b, c;
	char h[RS_HASH_MAX];

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(rs_hash_secret_like("first", 5, 200, RS_COST_INTERACTIVE, NULL, r.current),
	                 0);
	assert_int_equal(rs_hash_secret_like("second", 6, 200, RS_COST_INTERACTIVE, &r, h), 0);
	assert_int_equal(rs_hash_view(r.current, &a), 0);
	assert_int_equal(rs_hash_view(h, &b), 0);
	assert_true(rs_hash_same_salt(&a, &b));
	assert_string_not_equal(a.tag, b.tag);
	assert_int_equal(rs_hash_verify(h, "second", 6), 1);
	/* Another class gets a salt of its own; it is kept in turn, from wherever in the
	 * record a hash of the class is (a tripwire here). */
	assert_int_equal(rs_hash_secret_like("third", 5, 20, RS_COST_INTERACTIVE, &r, h), 0);
	assert_int_equal(rs_hash_view(h, &c), 0);
	assert_int_equal(c.cls.kind, RS_HASH_ARGON2ID);
	(void)snprintf(r.revoked[0], RS_HASH_MAX, "%s", h);
	r.nrevoked = 1;
	assert_int_equal(rs_hash_secret_like("fourth", 6, 20, RS_COST_INTERACTIVE, &r, h), 0);
	assert_int_equal(rs_hash_view(h, &b), 0);
	assert_true(rs_hash_same_salt(&b, &c));
	assert_int_equal(rs_hash_verify(h, "fourth", 6), 1);
	/* At the moderate cost (another class again): a fresh salt. */
	assert_int_equal(rs_hash_secret_like("fifth", 5, 20, RS_COST_MODERATE, &r, h), 0);
	assert_int_equal(rs_hash_view(h, &b), 0);
	assert_false(rs_hash_same_class(&b.cls, &c.cls));
}

/* One computation serves every hash of one class and salt: its tag compared with each. */
static void one_computation_checks_every_hash_of_its_salt(void **state)
{
	struct rs_secret_rec r;
	unsigned char tag[RS_HASH_TAG_BYTES];
	struct rs_hash_view v[3];
	char h[3][RS_HASH_MAX];
	static const char *const pw[] = {"one", "two", "three"};

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(rs_hash_secret_like(pw[0], 3, 200, RS_COST_INTERACTIVE, NULL, r.current),
	                 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rs_hash_secret_like(pw[i], strlen(pw[i]), 200, RS_COST_INTERACTIVE,
		                                     &r, h[i]),
		                 0);
		assert_int_equal(rs_hash_view(h[i], &v[i]), 0);
	}
	assert_int_equal(rs_hash_compute(&v[0], "two", 3, tag), 0);
	assert_int_equal(rs_hash_tag_equal(&v[0], tag), 0);
	assert_int_equal(rs_hash_tag_equal(&v[1], tag), 1);
	assert_int_equal(rs_hash_tag_equal(&v[2], tag), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(named_alphabets_hold_the_documented_characters),
	        cmocka_unit_test(a_custom_alphabet_is_taken_as_given),
	        cmocka_unit_test(
	                custom_alphabets_with_repeats_spaces_or_fewer_than_two_characters_are_refused),
	        cmocka_unit_test(entropy_is_length_times_log2_of_the_alphabet_size),
	        cmocka_unit_test(
	                generated_secrets_have_the_requested_length_and_only_alphabet_characters),
	        cmocka_unit_test(generation_refuses_empty_overlong_and_degenerate_requests),
	        cmocka_unit_test(two_generated_secrets_differ),
	        cmocka_unit_test(generated_characters_are_uniformly_distributed),
	        cmocka_unit_test(every_character_of_a_small_custom_alphabet_occurs_in_one_secret),
	        cmocka_unit_test(secret_buffers_are_zeroed_terminated_and_freed_safely),
	        cmocka_unit_test(strong_secrets_are_stored_as_salted_blake2b),
	        cmocka_unit_test(the_128_bit_boundary_selects_the_hash_kind),
	        cmocka_unit_test(weak_secrets_are_stored_as_argon2id_at_the_interactive_cost),
	        cmocka_unit_test(the_moderate_cost_raises_argon2id_parameters),
	        cmocka_unit_test(blake2b_hashes_verify_only_the_exact_password),
	        cmocka_unit_test(the_longest_accepted_secret_hashes_and_verifies),
	        cmocka_unit_test(the_same_password_hashes_differently_each_time),
	        cmocka_unit_test(malformed_blake2b_hashes_are_refused_with_einval),
	        cmocka_unit_test(malformed_argon2id_hashes_are_refused_with_einval),
	        cmocka_unit_test(
	                argon2id_costs_above_the_moderate_ones_are_refused_without_hashing),
	        cmocka_unit_test(unknown_hash_kinds_are_refused_with_einval),
	        cmocka_unit_test(argon2id_hashes_are_interchangeable_with_libsodiums_strings),
	        cmocka_unit_test(a_new_secret_keeps_the_salt_of_its_class_in_the_account),
	        cmocka_unit_test(one_computation_checks_every_hash_of_its_salt),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
