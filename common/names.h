/*
 * User and group names as shadow-utils accepts them (useradd's is_valid_user_name
 * without --badname): [a-z_][a-z0-9_-]*[$]?, at most 32 characters.
 *
 * Used by the config validator and by the NSS module, which answers NOTFOUND for any
 * other name at once, before touching the store.
 */
#ifndef ROTSEC_NAMES_H
#define ROTSEC_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define RS_NAME_MAX 32

bool rs_name_valid(const char *name);

/* The length of `name` when it is valid, else 0 (for parsers that need both). */
size_t rs_name_len(const char *name);

#endif
