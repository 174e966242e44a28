#include "names.h"

#include <stddef.h>

static bool first_ok(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

/* rest_ok as a table: every NSS lookup and enumeration entry checks a name. */
static const bool rest_table[256] = {
        ['a' ... 'z'] = true,
        ['0' ... '9'] = true,
        ['_'] = true,
        ['-'] = true,
};

size_t rs_name_len(const char *name)
{
	size_t i = 1;

	if (!name || !first_ok(name[0]))
		return 0;
	while (i < RS_NAME_MAX && rest_table[(unsigned char)name[i]])
		i++;
	/* A trailing '$' is allowed (Samba machine accounts). */
	if (i < RS_NAME_MAX && name[i] == '$' && name[i + 1] == '\0')
		i++;
	return name[i] == '\0' ? i : 0;
}

bool rs_name_valid(const char *name)
{
	return rs_name_len(name) > 0;
}
