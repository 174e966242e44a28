/*
 * The system's own users and groups (passwd_file, group_file), read for the config
 * loader: rotsec's names and ids must not collide with them, and a delivery owner or a
 * group may be one of them.
 *
 * The files are parsed by hand and never through getpwnam(3)/getgrnam(3): once
 * nss_rotsec is installed, NSS would answer with rotsec's own accounts and every account
 * would collide with itself.
 */
#ifndef ROTSEC_CONFIG_SYSDB_H
#define ROTSEC_CONFIG_SYSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_index.h"

struct sys_entry {
	char *name;
	uint32_t id;  /* uid (passwd) or gid (group) */
	uint32_t gid; /* passwd: primary gid */
	unsigned line;
};

struct sysdb {
	struct sys_entry *e;
	size_t n;
	struct key_ref *by_name, *by_id; /* e sorted both ways, for the lookups */
};

/*
 * Read NAME:PASSWORD:ID[:GID:...] lines (with_gid: the passwd format) into a zeroed db,
 * from a file that passes the trust rule (trust.h). 0, or a negative errno with `why`
 * (-EPERM: it cannot be trusted; the db is then empty).
 */
int sysdb_load(const char *path, bool with_gid, struct sysdb *db, char *why, size_t whylen);
void sysdb_free(struct sysdb *db);

/* The first entry with this name or id, as getpwnam(3) would answer, or NULL. */
const struct sys_entry *sysdb_by_name(const struct sysdb *db, const char *name);
const struct sys_entry *sysdb_by_id(const struct sysdb *db, uint32_t id);

#endif
