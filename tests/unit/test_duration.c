/*
 * Durations: the syntax of rotsec.conf and the CLI ("90s 15m 2h 7d 2w", "1h30m"), its
 * limits, and the compact form printed in status tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

static int64_t parsed(const char *s)
{
	int64_t v = -12345;

	assert_int_equal(rs_duration_parse(s, &v), 0);
	return v;
}

static void each_unit_is_parsed(void **state)
{
	(void)state;
	assert_int_equal(parsed("90s"), 90);
	assert_int_equal(parsed("15m"), 15 * 60);
	assert_int_equal(parsed("2h"), 2 * 3600);
	assert_int_equal(parsed("7d"), 7 * 86400);
	assert_int_equal(parsed("2w"), 14 * 86400);
	assert_int_equal(parsed("1s"), 1);
}

static void groups_are_added_up(void **state)
{
	(void)state;
	assert_int_equal(parsed("1h30m"), 5400);
	assert_int_equal(parsed("1d2h3m4s"), 86400 + 7200 + 180 + 4);
	assert_int_equal(parsed("1w1d"), 8 * 86400);
	/* Units need not be in order or unique: the sum is what counts. */
	assert_int_equal(parsed("30m1h"), 5400);
	assert_int_equal(parsed("0s"), 0);
	assert_int_equal(parsed("0h5s"), 5);
}

static void a_lone_zero_is_accepted(void **state)
{
	(void)state;
	assert_int_equal(parsed("0"), 0);
}

static void leading_zeros_in_a_group_are_accepted(void **state)
{
	(void)state;
	assert_int_equal(parsed("007s"), 7);
}

static void malformed_durations_are_refused_with_einval(void **state)
{
	static const char *bad[] = {
	        "",       "90",     "00",   "s",     "h1",   "5x",  "-5s",
	        "+5s",    " 5s",    "5s ",  "5 s",   "1.5h", "5S",  "5sec",
	        "1h 30m", "1h,30m", "5s\n", "0x10s", "1e3s", "5ss", "m5",
	};
	int64_t v = 777;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rs_duration_parse(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" was not refused with EINVAL", bad[i]);
		/* The output is only written on success. */
		assert_int_equal(v, 777);
	}
	assert_int_equal(rs_duration_parse(NULL, &v), -EINVAL);
}

static void durations_up_to_a_hundred_years_are_accepted_and_longer_ones_refused(void **state)
{
	char s[64];
	int64_t v = 0;

	(void)state;
	(void)snprintf(s, sizeof(s), "%llds", (long long)RS_DURATION_MAX);
	assert_int_equal(rs_duration_parse(s, &v), 0);
	assert_int_equal(v, RS_DURATION_MAX);

	(void)snprintf(s, sizeof(s), "%llds", (long long)RS_DURATION_MAX + 1);
	assert_int_equal(rs_duration_parse(s, &v), -ERANGE);

	/* Overflow of the number itself, of one group, and of the sum of groups. */
	assert_int_equal(rs_duration_parse("99999999999999999999999999s", &v), -ERANGE);
	assert_int_equal(rs_duration_parse("9223372036854775808s", &v), -ERANGE);
	assert_int_equal(rs_duration_parse("6000w", &v), -ERANGE);
	assert_int_equal(rs_duration_parse("36600d1s", &v), -ERANGE);
	(void)snprintf(s, sizeof(s), "%llds%llds", (long long)RS_DURATION_MAX,
	               (long long)RS_DURATION_MAX);
	assert_int_equal(rs_duration_parse(s, &v), -ERANGE);
	assert_int_equal(parsed("5200w"), (int64_t)5200 * 7 * 86400);
}

static const char *formatted(int64_t secs, char *buf, size_t n)
{
	memset(buf, 'X', n);
	rs_duration_format(secs, buf, n);
	return buf;
}

static void durations_are_formatted_with_their_two_largest_units(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(formatted(0, b, sizeof(b)), "0s");
	assert_string_equal(formatted(45, b, sizeof(b)), "45s");
	assert_string_equal(formatted(90, b, sizeof(b)), "1m 30s");
	assert_string_equal(formatted(7200, b, sizeof(b)), "2h");
	assert_string_equal(formatted(3660, b, sizeof(b)), "1h 1m");
	assert_string_equal(formatted(86400 + 3 * 3600, b, sizeof(b)), "1d 3h");
	/* 1d 0h 0m 5s: the second unit shown is the next one, not the next non-zero one. */
	assert_string_equal(formatted(86400 + 5, b, sizeof(b)), "1d");
	assert_string_equal(formatted((int64_t)30 * 86400, b, sizeof(b)), "30d");
	assert_string_equal(formatted(-90, b, sizeof(b)), "-1m 30s");
}

static void formatting_extreme_values_does_not_overflow(void **state)
{
	char b[64];

	(void)state;
	/* Negating INT64_MIN is undefined behaviour; UBSan aborts the test if it happens. */
	formatted(INT64_MIN, b, sizeof(b));
	assert_true(b[0] == '-');
	assert_non_null(memchr(b, '\0', sizeof(b)));
	formatted(INT64_MAX, b, sizeof(b));
	assert_non_null(memchr(b, '\0', sizeof(b)));
	assert_true(b[0] >= '1' && b[0] <= '9');
}

static void formatting_into_a_small_buffer_truncates_and_terminates(void **state)
{
	char b[8];

	(void)state;
	formatted(86400 + 3 * 3600, b, 1);
	assert_int_equal(b[0], '\0');
	formatted(86400 + 3 * 3600, b, 3);
	assert_non_null(memchr(b, '\0', 3));
	formatted(-90, b, 1);
	assert_int_equal(b[0], '\0');
	formatted(-90, b, 2);
	assert_non_null(memchr(b, '\0', 2));
	/* n == 0: nothing is written at all. */
	memset(b, 'X', sizeof(b));
	rs_duration_format(5, b, 0);
	assert_int_equal(b[0], 'X');
}

static void formatted_durations_parse_back_once_spaces_are_removed(void **state)
{
	static const int64_t vals[] = {1,    59,   60,    61,    3599,
	                               3600, 5400, 86400, 90000, (int64_t)2 * 86400};
	char b[64], nospace[64];

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t k = 0;

		rs_duration_format(vals[i], b, sizeof(b));
		for (const char *p = b; *p; p++)
			if (*p != ' ')
				nospace[k++] = *p;
		nospace[k] = '\0';
		assert_int_equal(parsed(nospace), vals[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(each_unit_is_parsed),
	        cmocka_unit_test(groups_are_added_up),
	        cmocka_unit_test(a_lone_zero_is_accepted),
	        cmocka_unit_test(leading_zeros_in_a_group_are_accepted),
	        cmocka_unit_test(malformed_durations_are_refused_with_einval),
	        cmocka_unit_test(
	                durations_up_to_a_hundred_years_are_accepted_and_longer_ones_refused),
	        cmocka_unit_test(durations_are_formatted_with_their_two_largest_units),
	        cmocka_unit_test(formatting_extreme_values_does_not_overflow),
	        cmocka_unit_test(formatting_into_a_small_buffer_truncates_and_terminates),
	        cmocka_unit_test(formatted_durations_parse_back_once_spaces_are_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
