/*
 * The compiled config: the result of a successful rs_config_load, kept next to the config
 * as FILE.cache (root's, 0600, in a directory only root can write), so that a command
 * that needs one account (rotsecctl rotate) does not parse and check a config of 10,000
 * accounts again each time: libconfig alone takes some 60 ms over such a file.
 *
 * It is used only when a full load now would read exactly what that load read, and so
 * give the same result: the same bytes of the config (BLAKE2b-256), its mode and owner,
 * the same bytes of passwd_file, group_file and every sealed_to key (with their mode),
 * the same loader (the running executable: device, inode, size, times) and caller (euid
 * 0). The config's bytes are not hashed again while it is the very file the cache was
 * made from (device, inode, size, both times), if it had settled when read (config.h). Anything
 * else (a config with @include, a cache that is missing, unsafe, damaged or of another version)
 * means a full load, which writes a new cache when it succeeds. A config with errors is never
 * cached: every refusal comes from a full load.
 */
#ifndef ROTSEC_CONFIG_CACHE_H
#define ROTSEC_CONFIG_CACHE_H

#include <stdbool.h>

#include "config.h"

/*
 * rs_config_load, through the cache: from FILE.cache when it is current (1), else a full
 * load (its result: 0 or a negative errno), after which a successful one is cached. With
 * `full`, always a full load (rotsecctl check and sync: an explicit check is never
 * answered from a cache), and the cache refreshed. Only root uses or writes a cache; for
 * others this is rs_config_load.
 */
int rs_config_load_cached(const char *file, struct rs_config *cfg, bool full);

/*
 * rs_config_load_cached for an operation on account NAME alone (rotsecctl rotate, revoke,
 * deliver, verify, show, status NAME): from a current cache, the config with that account
 * only in cfg->accounts (none when it has no such account) and cfg->one_account set,
 * decoded without the others (a few ms instead of some 15 at 10,000 accounts). Else a
 * full load, as rs_config_load_cached. The engine refuses operations on every account
 * (sync, sweep, status of all) with such a config.
 */
int rs_config_load_one(const char *file, const char *name, struct rs_config *cfg);

#endif
