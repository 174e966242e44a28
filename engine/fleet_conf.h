/*
 * Fleet settings: how to reach etcd and, per side, who we are.
 *
 * The host side reads them from the `fleet = { ... }` section of rotsec.conf (its loader is
 * config_fleet.c), the consumer side from the command line (`rotsecctl fleet ...`) and from a
 * `consumer = { ... }` section of the file given with -c:
 *
 *   consumer = {
 *     name = "backup1";                         # C; default: the key file's name
 *     key = "/etc/rotsec/backup1.key";          # C's X25519 secret key
 *     endpoints = [ "https://etcd1:2379", "https://etcd2:2379" ];
 *     prefix = "rotsec/v1";                     # default
 *     tls = { ca = "/etc/rotsec/etcd-ca.pem"; cert = "..."; key = "..."; };
 *     user = "backup1"; password_file = "/etc/rotsec/etcd-backup1.pw";
 *     trust = ( { host = "web1"; key = "/etc/rotsec/hosts/web1.pub"; } );
 *   };
 *
 * Command-line options override the file's settings (and --trust adds to its list).
 * Functions return 0 or a negative errno with one sentence in `why`.
 */
#ifndef ROTSEC_FLEET_CONF_H
#define ROTSEC_FLEET_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

#define RS_FLEET_DEFAULT_PREFIX      "rotsec/v1"
#define RS_FLEET_DEFAULT_SIGNING_KEY "/etc/rotsec/sign.key"
#define RS_FLEET_MAX_TRUST           256

struct rs_fleet_trust_path {
	char *host;
	char *file;
};

struct rs_fleet_cfg {
	/* both sides */
	char *endpoints[RS_ETCD_MAX_ENDPOINTS];
	size_t nendpoints;
	char *prefix;
	char *cacert, *cert, *key;
	char *user, *password_file;
	int64_t timeout_ms;
	/* host side */
	char *host;
	char *signing_key;
	/* consumer side */
	char *name;
	char *key_file;
	struct rs_fleet_trust_path *trust;
	size_t ntrust;
};

void rs_fleet_cfg_init(struct rs_fleet_cfg *cfg);
void rs_fleet_cfg_free(struct rs_fleet_cfg *cfg);

/* Replace a string setting (NULL clears it). */
int rs_fleet_cfg_set(char **field, const char *value);
/* "URL[,URL...]": replaces the endpoint list. */
int rs_fleet_cfg_set_endpoints(struct rs_fleet_cfg *cfg, const char *list, char *why,
                               size_t whylen);
/* "HOST=FILE": adds a trusted host key. */
int rs_fleet_cfg_add_trust(struct rs_fleet_cfg *cfg, const char *spec, char *why, size_t whylen);

/* Read the `section` group ("consumer" or "fleet") of libconfig file `path` into cfg. The
 * file must not be writable by group or others (it names the keys to trust). -ENOENT when
 * the file has no such section. */
int rs_fleet_cfg_load(struct rs_fleet_cfg *cfg, const char *path, const char *section, char *why,
                      size_t whylen);

/* Parse one libconfig group (a config_setting_t *) into cfg: what rs_fleet_cfg_load does
 * after reading the file. `file` names the file in messages ("file:line: ..."). */
int rs_fleet_cfg_from_setting(struct rs_fleet_cfg *cfg, const void *setting, const char *file,
                              char *why, size_t whylen);

/* Which side's settings rs_fleet_cfg_finish requires. */
enum rs_fleet_side {
	RS_FLEET_HOST,     /* host and signing_key */
	RS_FLEET_CONSUMER, /* the consumer's key and name */
	RS_FLEET_OBSERVER, /* neither: `fleet status` reads public values only */
};

/* Fill defaults (prefix; host name from gethostname; consumer name from the key file)
 * and check what is there: endpoints given, names and prefix well formed. */
int rs_fleet_cfg_finish(struct rs_fleet_cfg *cfg, enum rs_fleet_side side, char *why,
                        size_t whylen);

/* The etcd client's settings (pointers into cfg). */
void rs_fleet_cfg_etcd(const struct rs_fleet_cfg *cfg, struct rs_etcd_cfg *out);

/* A prefix is 1..128 of [A-Za-z0-9._-] in '/'-separated parts, none empty, "." or "..". */
bool rs_fleet_prefix_valid(const char *prefix);

#endif
