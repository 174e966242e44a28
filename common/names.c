#include "names.h"

#include <stddef.h>

static bool first_ok(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool rest_ok(char c)
{
	return first_ok(c) || (c >= '0' && c <= '9') || c == '-';
}

size_t rs_name_len(const char *name)
{
	size_t i;

	if (!name || !first_ok(name[0]))
		return 0;
	for (i = 1; name[i]; i++) {
		if (i >= RS_NAME_MAX)
			return 0;
		if (rest_ok(name[i]))
			continue;
		/* A trailing '$' is allowed (Samba machine accounts). */
		if (name[i] == '$' && name[i + 1] == '\0')
			continue;
		return 0;
	}
	return i;
}

bool rs_name_valid(const char *name)
{
	return rs_name_len(name) > 0;
}
