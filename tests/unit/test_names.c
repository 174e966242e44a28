/*
 * Account and group names: shadow-utils' rule [a-z_][a-z0-9_-]*[$]?, at most 32 bytes.
 * The NSS module answers NOTFOUND for anything else before touching the store, and the
 * config validator refuses it, so this is also what keeps odd bytes out of store keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static void ordinary_service_account_names_are_valid(void **state)
{
	static const char *good[] = {
	        "svc-backup", "_apt", "a", "_", "www-data", "user_1", "a1", "z9-_", "host$", "a-",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!rs_name_valid(good[i]))
			fail_msg("\"%s\" was refused", good[i]);
}

static void names_outside_the_shadow_utils_rule_are_invalid(void **state)
{
	static const char *bad[] = {
	        "",    "1abc", "-abc",  "Abc",  "aBc", "a b",  "a:b",  "a/b",       "a$b",
	        "a$$", "$",    ".",     "..",   "a.b", "a\n",  "\tab", "a\xc3\xa9", "\xff",
	        "a+b", "a@b",  "root:", "../x", "a,b", "a\\b", "-",
	};

	(void)state;
	assert_false(rs_name_valid(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rs_name_valid(bad[i]))
			fail_msg("\"%s\" was accepted", bad[i]);
}

static void names_up_to_32_bytes_are_valid_and_longer_ones_are_not(void **state)
{
	char name[64];

	(void)state;
	memset(name, 'a', sizeof(name));
	name[RS_NAME_MAX] = '\0';
	assert_true(rs_name_valid(name));
	name[RS_NAME_MAX] = 'a';
	name[RS_NAME_MAX + 1] = '\0';
	assert_false(rs_name_valid(name));

	/* The trailing '$' counts towards the 32. */
	memset(name, 'a', sizeof(name));
	name[RS_NAME_MAX - 1] = '$';
	name[RS_NAME_MAX] = '\0';
	assert_true(rs_name_valid(name));
	name[RS_NAME_MAX - 1] = 'a';
	name[RS_NAME_MAX] = '$';
	name[RS_NAME_MAX + 1] = '\0';
	assert_false(rs_name_valid(name));

	/* A very long name is refused without reading past the 33rd byte. */
	{
		static char longname[4097];

		memset(longname, 'a', sizeof(longname) - 1);
		assert_false(rs_name_valid(longname));
	}
}

/* rs_name_len against the rule written as a regular expression, for every string of up
 * to 4 bytes over an alphabet with every kind of byte the rule cares about, and for
 * random strings up to 40 bytes over it. */
static void rs_name_len_is_the_rule_as_a_regular_expression(void **state)
{
	static const char alpha[] = "az09_-$A.:\xe9";
	const size_t na = sizeof(alpha) - 1;
	regex_t re;
	char s[48];

	(void)state;
	assert_int_equal(regcomp(&re, "^[a-z_][a-z0-9_-]*[$]?$", REG_EXTENDED | REG_NOSUB), 0);
	for (size_t len = 0; len <= 4; len++) {
		size_t total = 1;

		for (size_t i = 0; i < len; i++)
			total *= na;
		for (size_t x = 0; x < total; x++) {
			size_t y = x;

			for (size_t i = 0; i < len; i++, y /= na)
				s[i] = alpha[y % na];
			s[len] = '\0';
			assert_int_equal(
			        rs_name_len(s),
			        regexec(&re, s, 0, NULL, 0) == 0 && len <= RS_NAME_MAX ? len : 0);
		}
	}
	srand(4242);
	for (int n = 0; n < 200000; n++) {
		size_t len = (size_t)rand() % 41;

		/* Mostly valid bytes, so that long valid names come up too. */
		for (size_t i = 0; i < len; i++)
			s[i] = rand() % 8 ? alpha[rand() % 6] : alpha[rand() % (int)na];
		s[len] = '\0';
		if (len && rand() % 4 == 0)
			s[len - 1] = '$';
		assert_int_equal(rs_name_len(s),
		                 regexec(&re, s, 0, NULL, 0) == 0 && len <= RS_NAME_MAX ? len : 0);
	}
	regfree(&re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ordinary_service_account_names_are_valid),
	        cmocka_unit_test(names_outside_the_shadow_utils_rule_are_invalid),
	        cmocka_unit_test(names_up_to_32_bytes_are_valid_and_longer_ones_are_not),
	        cmocka_unit_test(rs_name_len_is_the_rule_as_a_regular_expression),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
