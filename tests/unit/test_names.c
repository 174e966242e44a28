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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ordinary_service_account_names_are_valid),
	        cmocka_unit_test(names_outside_the_shadow_utils_rule_are_invalid),
	        cmocka_unit_test(names_up_to_32_bytes_are_valid_and_longer_ones_are_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
