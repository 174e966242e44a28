/*
 * Fleet settings: the `consumer` (and later `fleet`) section, command-line values, and
 * their checks (fleet_conf.h).
 */
#define _GNU_SOURCE
#include "fleet_conf.h"
#include "fleet_msg.h"
#include "trust.h"
#include "why.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rs_fleet_cfg_init(struct rs_fleet_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static void free_endpoints(struct rs_fleet_cfg *cfg)
{
	for (size_t i = 0; i < cfg->nendpoints; i++)
		free(cfg->endpoints[i]);
	cfg->nendpoints = 0;
}

void rs_fleet_cfg_free(struct rs_fleet_cfg *cfg)
{
	free_endpoints(cfg);
	free(cfg->prefix);
	free(cfg->cacert);
	free(cfg->cert);
	free(cfg->key);
	free(cfg->user);
	free(cfg->password_file);
	free(cfg->host);
	free(cfg->signing_key);
	free(cfg->name);
	free(cfg->key_file);
	for (size_t i = 0; i < cfg->ntrust; i++) {
		free(cfg->trust[i].host);
		free(cfg->trust[i].file);
	}
	free(cfg->trust);
	memset(cfg, 0, sizeof(*cfg));
}

int rs_fleet_cfg_set(char **field, const char *value)
{
	char *v = value ? strdup(value) : NULL;

	if (value && !v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

static int add_endpoint(struct rs_fleet_cfg *cfg, const char *url, size_t len, char *why,
                        size_t whylen)
{
	if (len == 0) {
		rs_set_why(why, whylen, "an empty etcd endpoint");
		return -EINVAL;
	}
	if (cfg->nendpoints >= RS_ETCD_MAX_ENDPOINTS) {
		rs_set_why(why, whylen, "more than %d etcd endpoints", RS_ETCD_MAX_ENDPOINTS);
		return -EINVAL;
	}
	cfg->endpoints[cfg->nendpoints] = strndup(url, len);
	if (!cfg->endpoints[cfg->nendpoints])
		return -ENOMEM;
	cfg->nendpoints++;
	return 0;
}

int rs_fleet_cfg_set_endpoints(struct rs_fleet_cfg *cfg, const char *list, char *why, size_t whylen)
{
	const char *p = list;
	int r;

	free_endpoints(cfg);
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		r = add_endpoint(cfg, p, n, why, whylen);
		if (r < 0)
			return r;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int push_trust(struct rs_fleet_cfg *cfg, const char *host, const char *file, char *why,
                      size_t whylen)
{
	struct rs_fleet_trust_path *t;

	if (!rs_fleet_name_valid(host)) {
		rs_set_why(why, whylen, "\"%s\" is not a valid host name for --trust", host);
		return -EINVAL;
	}
	if (!file || !*file) {
		rs_set_why(why, whylen, "the trusted key of host %s needs a file", host);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->ntrust; i++) {
		if (strcmp(cfg->trust[i].host, host) == 0) {
			/* The command line's word is the last: replace the file's. */
			char *f = strdup(file);

			if (!f)
				return -ENOMEM;
			free(cfg->trust[i].file);
			cfg->trust[i].file = f;
			return 0;
		}
	}
	if (cfg->ntrust >= RS_FLEET_MAX_TRUST) {
		rs_set_why(why, whylen, "more than %d trusted hosts", RS_FLEET_MAX_TRUST);
		return -EINVAL;
	}
	t = realloc(cfg->trust, sizeof(*t) * (cfg->ntrust + 1));
	if (!t)
		return -ENOMEM;
	cfg->trust = t;
	t[cfg->ntrust].host = strdup(host);
	t[cfg->ntrust].file = strdup(file);
	if (!t[cfg->ntrust].host || !t[cfg->ntrust].file) {
		free(t[cfg->ntrust].host);
		free(t[cfg->ntrust].file);
		return -ENOMEM;
	}
	cfg->ntrust++;
	return 0;
}

int rs_fleet_cfg_add_trust(struct rs_fleet_cfg *cfg, const char *spec, char *why, size_t whylen)
{
	const char *eq = strchr(spec, '=');
	char host[RS_FLEET_NAME_MAX + 2];
	size_t n;

	if (!eq) {
		rs_set_why(why, whylen, "--trust takes HOST=FILE");
		return -EINVAL;
	}
	n = (size_t)(eq - spec);
	if (n == 0 || n > RS_FLEET_NAME_MAX) {
		rs_set_why(why, whylen,
		           "--trust takes HOST=FILE with a host name of 1 to %d characters",
		           RS_FLEET_NAME_MAX);
		return -EINVAL;
	}
	memcpy(host, spec, n);
	host[n] = '\0';
	return push_trust(cfg, host, eq + 1, why, whylen);
}

/* A string member of group s, if present: -EINVAL when it is not a string. */
static int member_str(const config_setting_t *s, const char *name, char **field, const char *file,
                      char *why, size_t whylen)
{
	config_setting_t *m = config_setting_get_member(s, name);
	const char *v;

	if (!m)
		return 0;
	v = config_setting_get_string(m);
	if (!v || !*v) {
		rs_set_why(why, whylen, "%s:%d: %s must be a non-empty string", file,
		           config_setting_source_line(m), name);
		return -EINVAL;
	}
	return rs_fleet_cfg_set(field, v);
}

static const char *const known[] = {"endpoints",     "prefix",  "tls",   "user",
                                    "password_file", "timeout", "host",  "signing_key",
                                    "name",          "key",     "trust", NULL};

int rs_fleet_cfg_from_setting(struct rs_fleet_cfg *cfg, const void *setting, const char *file,
                              char *why, size_t whylen)
{
	const config_setting_t *s = setting;
	config_setting_t *m;
	int r = 0, i, n;

	if (!config_setting_is_group(s)) {
		rs_set_why(why, whylen, "%s:%d: %s must be a group { ... }", file,
		           config_setting_source_line(s), config_setting_name(s));
		return -EINVAL;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(e);
		size_t k;

		for (k = 0; known[k] && strcmp(known[k], name) != 0; k++)
			;
		if (!known[k]) {
			rs_set_why(why, whylen, "%s:%d: unknown setting %s in %s", file,
			           config_setting_source_line(e), name, config_setting_name(s));
			return -EINVAL;
		}
	}
	if ((m = config_setting_get_member(s, "endpoints"))) {
		if (!config_setting_is_array(m) || config_setting_length(m) == 0) {
			rs_set_why(why, whylen,
			           "%s:%d: endpoints must be a list of URLs [ \"...\" ]", file,
			           config_setting_source_line(m));
			return -EINVAL;
		}
		free_endpoints(cfg);
		for (i = 0; i < config_setting_length(m); i++) {
			const char *u = config_setting_get_string_elem(m, i);

			if (!u) {
				rs_set_why(why, whylen, "%s:%d: endpoints must be strings", file,
				           config_setting_source_line(m));
				return -EINVAL;
			}
			r = add_endpoint(cfg, u, strlen(u), why, whylen);
			if (r < 0)
				return r;
		}
	}
	if ((r = member_str(s, "prefix", &cfg->prefix, file, why, whylen)) < 0 ||
	    (r = member_str(s, "user", &cfg->user, file, why, whylen)) < 0 ||
	    (r = member_str(s, "password_file", &cfg->password_file, file, why, whylen)) < 0 ||
	    (r = member_str(s, "host", &cfg->host, file, why, whylen)) < 0 ||
	    (r = member_str(s, "signing_key", &cfg->signing_key, file, why, whylen)) < 0 ||
	    (r = member_str(s, "name", &cfg->name, file, why, whylen)) < 0 ||
	    (r = member_str(s, "key", &cfg->key_file, file, why, whylen)) < 0)
		return r;
	if ((m = config_setting_get_member(s, "timeout"))) {
		int t = config_setting_get_int(m);

		if (config_setting_type(m) != CONFIG_TYPE_INT || t <= 0 || t > 600) {
			rs_set_why(why, whylen, "%s:%d: timeout is whole seconds, 1 to 600", file,
			           config_setting_source_line(m));
			return -EINVAL;
		}
		cfg->timeout_ms = (int64_t)t * 1000;
	}
	if ((m = config_setting_get_member(s, "tls"))) {
		if (!config_setting_is_group(m)) {
			rs_set_why(why, whylen, "%s:%d: tls must be a group { ca = ...; }", file,
			           config_setting_source_line(m));
			return -EINVAL;
		}
		if ((r = member_str(m, "ca", &cfg->cacert, file, why, whylen)) < 0 ||
		    (r = member_str(m, "cert", &cfg->cert, file, why, whylen)) < 0 ||
		    (r = member_str(m, "key", &cfg->key, file, why, whylen)) < 0)
			return r;
	}
	if ((m = config_setting_get_member(s, "trust"))) {
		if (!config_setting_is_list(m)) {
			rs_set_why(why, whylen,
			           "%s:%d: trust must be a list ( { host = ...; key = ...; } )",
			           file, config_setting_source_line(m));
			return -EINVAL;
		}
		for (i = 0; i < config_setting_length(m); i++) {
			config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
			const char *h = NULL, *k = NULL;

			if (!config_setting_lookup_string(e, "host", &h) ||
			    !config_setting_lookup_string(e, "key", &k)) {
				rs_set_why(why, whylen, "%s:%d: a trust entry needs host and key",
				           file, config_setting_source_line(e));
				return -EINVAL;
			}
			r = push_trust(cfg, h, k, why, whylen);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int rs_fleet_cfg_load(struct rs_fleet_cfg *cfg, const char *path, const char *section, char *why,
                      size_t whylen)
{
	config_t lc;
	config_setting_t *s;
	FILE *f;
	int fd, r;

	/* It says which host keys to trust: whoever could write it could make us accept
	 * their messages. A consumer runs as whatever user owns its keys: the directories
	 * this file is in are that user's business, the file itself is judged. */
	fd = rs_trust_file_only(path, RS_TRUST_SELF, why, whylen);
	if ((r = rs_trust_stream(fd, path, &f, why, whylen)) < 0)
		return r;
	config_init(&lc);
	if (config_read(&lc, f) != CONFIG_TRUE) {
		rs_set_why(why, whylen, "%s:%d: %s", path, config_error_line(&lc),
		           config_error_text(&lc));
		r = -EINVAL;
		goto out;
	}
	s = config_lookup(&lc, section);
	if (!s) {
		rs_set_why(why, whylen, "%s has no %s = { ... } section", path, section);
		r = -ENOENT;
		goto out;
	}
	r = rs_fleet_cfg_from_setting(cfg, s, path, why, whylen);
out:
	config_destroy(&lc);
	(void)fclose(f); /* read only: nothing to lose */
	return r;
}

bool rs_fleet_prefix_valid(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0, part = 0;

	if (n == 0 || n > 128 || prefix[0] == '/' || prefix[n - 1] == '/')
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = prefix[i];

		if (ch == '/' || ch == '\0') {
			if (part == 0 || (part == 1 && prefix[i - 1] == '.') ||
			    (part == 2 && prefix[i - 1] == '.' && prefix[i - 2] == '.'))
				return false;
			part = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
		part++;
	}
	return true;
}

int rs_fleet_cfg_finish(struct rs_fleet_cfg *cfg, enum rs_fleet_side side, char *why, size_t whylen)
{
	int r;

	if (!cfg->prefix && (r = rs_fleet_cfg_set(&cfg->prefix, RS_FLEET_DEFAULT_PREFIX)) < 0)
		return r;
	if (!rs_fleet_prefix_valid(cfg->prefix)) {
		rs_set_why(
		        why, whylen,
		        "prefix \"%s\" is not /-separated parts of A-Z a-z 0-9 . _ - (no empty, . "
		        "or "
		        ".. part)",
		        cfg->prefix);
		return -EINVAL;
	}
	if (cfg->nendpoints == 0) {
		rs_set_why(why, whylen, "no etcd endpoints (--endpoints URL[,URL...])");
		return -EINVAL;
	}
	if (!!cfg->cert != !!cfg->key) {
		rs_set_why(why, whylen,
		           "a client certificate needs its key, and a key its certificate");
		return -EINVAL;
	}
	if (!!cfg->user != !!cfg->password_file) {
		rs_set_why(why, whylen,
		           "an etcd user needs a password file, and a password file a user");
		return -EINVAL;
	}
	if (side == RS_FLEET_OBSERVER)
		return 0;
	if (side == RS_FLEET_HOST) {
		if (!cfg->host) {
			char h[RS_FLEET_NAME_MAX + 2] = "";

			if (gethostname(h, sizeof(h) - 1) < 0 || !h[0]) {
				rs_set_why(why, whylen, "no host name set, and gethostname failed");
				return -EINVAL;
			}
			/* The short name: "web1.example.com" publishes as web1's. */
			h[strcspn(h, ".")] = '\0';
			if ((r = rs_fleet_cfg_set(&cfg->host, h)) < 0)
				return r;
		}
		if (!rs_fleet_name_valid(cfg->host)) {
			rs_set_why(why, whylen,
			           "host name \"%s\" is not 1 to %d of A-Z a-z 0-9 . _ -",
			           cfg->host, RS_FLEET_NAME_MAX);
			return -EINVAL;
		}
		if (!cfg->signing_key) {
			rs_set_why(why, whylen, "no signing_key");
			return -EINVAL;
		}
		return 0;
	}
	if (!cfg->key_file) {
		rs_set_why(why, whylen, "no consumer key (--key C.key)");
		return -EINVAL;
	}
	if (!cfg->name) {
		/* The key file's name without ".key": backup1.key is consumer backup1. */
		const char *base = strrchr(cfg->key_file, '/');
		size_t n;

		base = base ? base + 1 : cfg->key_file;
		n = strlen(base);
		if (n > 4 && strcmp(base + n - 4, ".key") == 0)
			n -= 4;
		cfg->name = strndup(base, n);
		if (!cfg->name)
			return -ENOMEM;
	}
	if (!rs_fleet_name_valid(cfg->name)) {
		rs_set_why(why, whylen,
		           "consumer name \"%s\" is not 1 to %d of A-Z a-z 0-9 . _ - "
		           "(--consumer NAME)",
		           cfg->name, RS_FLEET_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

void rs_fleet_cfg_etcd(const struct rs_fleet_cfg *cfg, struct rs_etcd_cfg *out)
{
	memset(out, 0, sizeof(*out));
	out->endpoints = (const char *const *)cfg->endpoints;
	out->nendpoints = cfg->nendpoints;
	out->cacert = cfg->cacert;
	out->cert = cfg->cert;
	out->key = cfg->key;
	out->user = cfg->user;
	out->password_file = cfg->password_file;
	out->timeout_ms = cfg->timeout_ms;
}
