/*
 * The deliveries of an account (the `deliver` list of rotsec.conf): which kind each entry
 * is, the settings that kind takes, and in pass 2 the owners and users they name, and one
 * file for each.
 */
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_msg.h"
#include "journal.h"
#include "sealed.h"

static const char *const deliver_keys[] = {"file",    "owner", "group",     "mode",  "command",
                                           "timeout", "user",  "sealed_to", "fleet", NULL};
static const char *const file_keys[] = {"file", "owner", "group", "mode", NULL};
static const char *const command_keys[] = {"command", "timeout", "user", NULL};
static const char *const sealed_keys[] = {"sealed_to", "file", "owner", "group", "mode", NULL};
static const char *const fleet_keys[] = {"fleet", "sealed_to", NULL};

static const char *kind_name(enum rs_delivery_kind k)
{
	return k == RS_DELIVER_COMMAND  ? "command"
	       : k == RS_DELIVER_SEALED ? "sealed"
	       : k == RS_DELIVER_FLEET  ? "fleet"
	                                : "file";
}

/* The bits a delivery's file must not have, by kind. */
static const struct {
	enum rs_delivery_kind kind;
	unsigned long forbidden;
	const char *why;
} mode_limits[] = {
        /* The secret itself in the file: any access by others gives it away. */
        {RS_DELIVER_FILE, 0007,
         "gives other users access to the secret: use \"0400\" or \"0440\" (nothing for "
         "others)"},
        /* A sealed file may be world-readable, but whoever can write it can swap in a
         * secret of their own choosing. */
        {RS_DELIVER_SEALED, 0022,
         "lets group or others write the sealed file: use \"0644\" or stricter"},
};

static int parse_mode(struct loader *ld, const config_setting_t *s, enum rs_delivery_kind kind,
                      mode_t *out)
{
	const char *v, *p;
	unsigned long m = 0;

	/* libconfig reads 0400 as the decimal 400: only a string keeps the octal meaning. */
	if (cfg_get_string(ld, s, "an octal string such as \"0400\"", &v) < 0)
		return -EINVAL;
	for (p = v; *p >= '0' && *p <= '7' && m <= 07777; p++)
		m = m * 8 + (unsigned long)(*p - '0');
	if (p == v || *p || m > 07777) {
		cfg_error_at(ld, s,
		             "mode \"%s\" is not valid: expected an octal mode up to 07777, "
		             "such as \"0400\"",
		             v);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(mode_limits) / sizeof(mode_limits[0]); i++) {
		if (kind == mode_limits[i].kind && (m & mode_limits[i].forbidden)) {
			cfg_error_at(ld, s, "mode %04lo %s", m, mode_limits[i].why);
			return -EINVAL;
		}
	}
	*out = (mode_t)m;
	return 0;
}

static void load_sealed_key(struct loader *ld, const config_setting_t *s, struct rs_delivery *d)
{
	char why[256] = "";
	int r;

	/* The key check multiplies by a random scalar: libsodium must be initialised, and
	 * the loader should not depend on the caller having done it. */
	if (rs_crypto_init() < 0) {
		ld->err = -EIO;
		return;
	}
	/* `why` names the path already. */
	r = rs_read_public_key(d->sealed_to, d->sealed_pk, why, sizeof(why));
	if (r == -ENOMEM)
		ld->err = -ENOMEM;
	else if (r == -EINVAL || r == -EPERM)
		cfg_error_at(ld, s, "sealed_to key refused: %s",
		             why[0] ? why : "not a valid X25519 public key file");
	else if (r < 0 && why[0])
		cfg_error_at(ld, s, "cannot read sealed_to key: %s", why);
	else if (r < 0)
		cfg_error_at(ld, s, "cannot read sealed_to key %s: %s", d->sealed_to, strerror(-r));
}

/* A fleet delivery: the consumer's name and the key its messages are sealed to. */
static void parse_fleet(struct loader *ld, const config_setting_t *fleet_s,
                        const config_setting_t *sealed_s, struct rs_delivery *d)
{
	const char *v;

	if (cfg_get_string(ld, fleet_s, "the consumer's name in quotes", &v) == 0) {
		/* It is a part of etcd keys (PREFIX/sealed/C/H/A) and of the signed message. */
		if (rs_fleet_name_valid(v))
			d->fleet = cfg_strdup(ld, v);
		else
			cfg_error_at(ld, fleet_s,
			             "fleet consumer \"%s\" is not 1 to %d of A-Z a-z 0-9 . _ -", v,
			             RS_FLEET_NAME_MAX);
	}
	if (!sealed_s) {
		cfg_error_at(ld, fleet_s,
		             "a fleet delivery needs sealed_to = \"/path/CONSUMER.pub\": the "
		             "consumer's key, which its messages are sealed to");
		return;
	}
	if (cfg_get_path(ld, sealed_s, &d->sealed_to) == 0)
		load_sealed_key(ld, sealed_s, d);
}

static void parse_delivery(struct loader *ld, const config_setting_t *e, const char *acc_name,
                           struct rs_delivery *d)
{
	const config_setting_t *file_s = config_setting_get_member(e, "file");
	const config_setting_t *cmd_s = config_setting_get_member(e, "command");
	const config_setting_t *sealed_s = config_setting_get_member(e, "sealed_to");
	const config_setting_t *fleet_s = config_setting_get_member(e, "fleet");
	const char *const *allowed;
	const config_setting_t *s;
	char ctx[96];
	int n;

	d->timeout = 30;
	if (!config_setting_is_group(e))
		return;
	d->line = config_setting_source_line(e);
	if (acc_name[0])
		(void)snprintf(ctx, sizeof(ctx), "in a deliver entry of account \"%s\"", acc_name);
	else
		(void)snprintf(ctx, sizeof(ctx), "in a deliver entry");
	cfg_check_keys(ld, e, deliver_keys, false, ctx);

	if ((cmd_s && (file_s || sealed_s || fleet_s)) || (fleet_s && file_s)) {
		cfg_error_at(ld, e,
		             "a deliver entry must be exactly one kind: file, command, sealed_to "
		             "or fleet; this one has %s and %s: split it into separate entries",
		             cmd_s ? "command" : "fleet",
		             !cmd_s     ? "file"
		             : fleet_s  ? "fleet"
		             : sealed_s ? "sealed_to"
		                        : "file");
		return;
	}
	if (!cmd_s && !file_s && !sealed_s && !fleet_s) {
		cfg_error_at(ld, e,
		             "a deliver entry needs one of file = \"/path\", command = [ "
		             "\"/prog\" ] or sealed_to = \"/key.pub\" with either file = "
		             "\"/path\" or fleet = \"CONSUMER\"");
		return;
	}
	if (sealed_s && !file_s && !fleet_s) {
		cfg_error_at(
		        ld, sealed_s,
		        "sealed_to needs file = \"/path\": where the sealed secret is written");
		return;
	}
	d->kind = cmd_s      ? RS_DELIVER_COMMAND
	          : fleet_s  ? RS_DELIVER_FLEET
	          : sealed_s ? RS_DELIVER_SEALED
	                     : RS_DELIVER_FILE;
	allowed = d->kind == RS_DELIVER_COMMAND  ? command_keys
	          : d->kind == RS_DELIVER_SEALED ? sealed_keys
	          : d->kind == RS_DELIVER_FLEET  ? fleet_keys
	                                         : file_keys;
	n = config_setting_length(e);
	for (int i = 0; i < n; i++) {
		const char *key = config_setting_name(config_setting_get_elem(e, (unsigned)i));

		if (cfg_in_list(deliver_keys, key) && !cfg_in_list(allowed, key))
			cfg_error_at(ld, config_setting_get_elem(e, (unsigned)i),
			             "%s does not apply to a %s delivery", key, kind_name(d->kind));
	}

	if (d->kind == RS_DELIVER_COMMAND) {
		(void)cfg_get_strv(ld, cmd_s, true, &d->argv, &d->argc);
		s = config_setting_get_member(e, "timeout");
		if (s && cfg_get_duration(ld, s, &d->timeout) == 0 && d->timeout == 0) {
			cfg_error_at(ld, s, "timeout must be at least 1s");
			d->timeout = 30;
		}
		s = config_setting_get_member(e, "user");
		if (s)
			(void)cfg_get_ref_name(ld, s, d->user);
		return;
	}
	if (d->kind == RS_DELIVER_FLEET) {
		parse_fleet(ld, fleet_s, sealed_s, d);
		return;
	}

	(void)cfg_get_path(ld, file_s, &d->file);
	d->mode = d->kind == RS_DELIVER_SEALED ? 0644 : 0400;
	s = config_setting_get_member(e, "mode");
	if (s)
		(void)parse_mode(ld, s, d->kind, &d->mode);
	(void)snprintf(d->owner, sizeof(d->owner), "root");
	s = config_setting_get_member(e, "owner");
	if (s)
		(void)cfg_get_ref_name(ld, s, d->owner);
	s = config_setting_get_member(e, "group");
	if (s)
		(void)cfg_get_ref_name(ld, s, d->group);
	if (d->kind == RS_DELIVER_SEALED && cfg_get_path(ld, sealed_s, &d->sealed_to) == 0)
		load_sealed_key(ld, sealed_s, d);
}

void cfg_parse_deliveries(struct loader *ld, const config_setting_t *s, struct rs_account_cfg *a)
{
	size_t n;

	if (cfg_want_list_of_groups(ld, s, "deliver") < 0 || config_setting_length(s) == 0)
		return;
	n = (size_t)config_setting_length(s);
	/* The rotation journal follows this many consumers per account (journal.h). */
	if (n > RS_MAX_DELIVERIES) {
		cfg_error_at(ld, s, "%s has %zu deliveries; at most %d are allowed", a->name, n,
		             RS_MAX_DELIVERIES);
		return;
	}
	a->deliver = calloc(n, sizeof(*a->deliver));
	if (!a->deliver) {
		ld->err = -ENOMEM;
		return;
	}
	a->ndeliver = n;
	for (size_t j = 0; j < n; j++)
		parse_delivery(ld, config_setting_get_elem(s, (unsigned)j), a->name,
		               &a->deliver[j]);
}

void cfg_deliveries_free(struct rs_delivery *d, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(d[j].file);
		free(d[j].fleet);
		free(d[j].sealed_to);
		for (size_t k = 0; d[j].argv && d[j].argv[k]; k++)
			free(d[j].argv[k]);
		free(d[j].argv);
	}
	free(d);
}

/* ---- pass 2 ----------------------------------------------------------------------------- */

static void resolve_delivery(struct loader *ld, const config_setting_t *e, struct rs_delivery *d)
{
	const config_setting_t *s;
	uint32_t uid, gid;

	if (d->kind == RS_DELIVER_FLEET) {
		/* Published under this host's fleet section, which must exist. */
		if (!ld->cfg->fleet)
			cfg_error_at(ld, e,
			             "a fleet delivery needs the fleet = { endpoints = [ ... ]; } "
			             "section at the top level: how to reach etcd");
		return;
	}
	if (d->kind == RS_DELIVER_COMMAND) {
		/* "" runs the command as root, like the daemon itself. */
		if (!d->user[0])
			return;
		if (cfg_resolve_user(ld, d->user, &uid, &gid) < 0) {
			cfg_error_at(ld, config_setting_get_member(e, "user"),
			             "user \"%s\" of this command delivery is neither an account "
			             "here nor a user in %s",
			             d->user, ld->cfg->passwd_file);
			return;
		}
		d->run_uid = uid;
		d->run_gid = gid;
		return;
	}
	if (!d->owner[0])
		return;
	if (cfg_resolve_user(ld, d->owner, &uid, &gid) < 0) {
		s = config_setting_get_member(e, "owner");
		cfg_error_at(ld, s ? s : e,
		             "owner \"%s\"%s is neither an account here nor a user in %s", d->owner,
		             s ? "" : " (the default)", ld->cfg->passwd_file);
		return;
	}
	d->uid = uid;
	s = config_setting_get_member(e, "group");
	if (!s) {
		d->gid = gid;
		(void)snprintf(d->group, sizeof(d->group), "%s", cfg_group_name_of(ld, gid));
	} else if (d->group[0] && cfg_resolve_group(ld, d->group, &d->gid) < 0) {
		cfg_error_at(ld, s, "group \"%s\" is neither defined in groups nor present in %s",
		             d->group, ld->cfg->group_file);
	}
}

/* The `file` setting of delivery j of account i. */
static const config_setting_t *deliver_file_setting(const struct loader *ld, size_t i, size_t j)
{
	const config_setting_t *e = config_setting_get_elem(ld->accounts_list, (unsigned)i);

	return cfg_elem_member(config_setting_get_member(e, "deliver"), j, "file");
}

/*
 * Two deliveries into one file would overwrite each other on every rotation. Each later
 * one is reported against the first in the file, found through an index of all files.
 */
static void check_unique_files(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;
	struct key_ref *refs = NULL;
	struct deliver_at {
		size_t acc, del;
	} *at = NULL; /* by rank of a delivery in the file: which one it is */
	size_t *first = NULL, total = 0, nrefs = 0, rank = 0;
	int r = 0;

	for (size_t i = 0; i < cfg->naccounts; i++)
		total += cfg->accounts[i].ndeliver;
	if (total < 2)
		goto out;
	refs = malloc(total * sizeof(*refs));
	/* Zeroed, though the loop below fills every one: the analyzer cannot tell. */
	at = calloc(total, sizeof(*at));
	if (!refs || !at) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->naccounts; i++) {
		for (size_t j = 0; j < cfg->accounts[i].ndeliver; j++, rank++) {
			const struct rs_delivery *d = &cfg->accounts[i].deliver[j];

			at[rank] = (struct deliver_at){i, j};
			if (d->file)
				refs[nrefs++] = (struct key_ref){d->file, 0, rank};
		}
	}
	cfg_index_sort(refs, nrefs);
	if ((r = cfg_index_first_of_key(refs, nrefs, total, &first)) < 0)
		goto out;

	for (rank = 0; rank < total; rank++) {
		const struct deliver_at d = at[rank], o = at[first[rank]];
		const config_setting_t *ds, *os;
		char where_o[PATH_MAX + 32];

		if (first[rank] == rank)
			continue;
		ds = deliver_file_setting(ld, d.acc, d.del);
		os = deliver_file_setting(ld, o.acc, o.del);
		cfg_where(ld, ds, os, where_o, sizeof(where_o));
		cfg_error_at(ld, ds,
		             "file \"%s\" is already the destination of the deliver entry at %s: "
		             "each delivery needs its own file",
		             cfg->accounts[d.acc].deliver[d.del].file, where_o);
	}
out:
	if (r < 0)
		ld->err = r;
	free(first);
	free(at);
	free(refs);
}

/* Two fleet deliveries of one account to one consumer would publish to one key, each
 * over the other. Few per account (RS_MAX_DELIVERIES): pairs are compared. */
static void check_unique_consumers(struct loader *ld, const struct rs_account_cfg *a,
                                   const config_setting_t *dl)
{
	for (size_t j = 0; j < a->ndeliver; j++) {
		const struct rs_delivery *d = &a->deliver[j];

		if (d->kind != RS_DELIVER_FLEET || !d->fleet)
			continue;
		for (size_t k = 0; k < j; k++) {
			if (a->deliver[k].kind == RS_DELIVER_FLEET && a->deliver[k].fleet &&
			    strcmp(a->deliver[k].fleet, d->fleet) == 0) {
				cfg_error_at(ld, config_setting_get_elem(dl, (unsigned)j),
				             "fleet consumer \"%s\" already has a deliver entry of "
				             "this account at line %d",
				             d->fleet, a->deliver[k].line);
				break;
			}
		}
	}
}

void cfg_resolve_deliveries(struct loader *ld)
{
	const struct rs_config *cfg = ld->cfg;

	for (size_t i = 0; i < cfg->naccounts && !ld->err; i++) {
		const config_setting_t *dl = cfg_elem_member(ld->accounts_list, i, "deliver");

		for (size_t j = 0; j < cfg->accounts[i].ndeliver; j++)
			resolve_delivery(ld, config_setting_get_elem(dl, (unsigned)j),
			                 &cfg->accounts[i].deliver[j]);
		check_unique_consumers(ld, &cfg->accounts[i], dl);
	}
	check_unique_files(ld);
}
