/*
 * Fleet context: the etcd client, the names, the host's signing key (fleet.h).
 */
#define _GNU_SOURCE
#include "fleet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

int rs_fleet_open(struct rs_fleet *f, const struct rs_fleet_cfg *cfg, bool host_side)
{
	struct rs_etcd_cfg ec;
	int r;

	memset(f, 0, sizeof(*f));
	if (!cfg->prefix || strlen(cfg->prefix) >= sizeof(f->prefix) ||
	    (host_side && (!cfg->host || !cfg->signing_key))) {
		(void)snprintf(f->why, sizeof(f->why), "fleet settings not finished");
		return -EINVAL;
	}
	(void)snprintf(f->prefix, sizeof(f->prefix), "%s", cfg->prefix);
	if (host_side) {
		(void)snprintf(f->host, sizeof(f->host), "%s", cfg->host);
		f->sign_sk = sodium_malloc(RS_SIGN_SK_LEN);
		if (!f->sign_sk) {
			(void)snprintf(f->why, sizeof(f->why), "out of memory for the signing key");
			return -ENOMEM;
		}
		r = rs_signkey_load_or_create(cfg->signing_key, f->sign_sk, f->why, sizeof(f->why));
		if (r < 0)
			goto fail;
	}
	rs_fleet_cfg_etcd(cfg, &ec);
	r = rs_etcd_open(&f->etcd, &ec);
	if (r < 0) {
		(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
		goto fail;
	}
	f->alive_since = (int64_t)time(NULL);
	return 0;
fail:
	if (f->sign_sk)
		sodium_free(f->sign_sk);
	f->sign_sk = NULL;
	return r;
}

void rs_fleet_close(struct rs_fleet *f)
{
	rs_etcd_close(&f->etcd);
	if (f->sign_sk)
		sodium_free(f->sign_sk);
	memset(f, 0, sizeof(*f));
}

int rs_fleet_key(const struct rs_fleet *f, char *buf, size_t len, const char *kind, const char *a,
                 const char *b, const char *c)
{
	int n;

	if (!a)
		n = snprintf(buf, len, "%s/%s/", f->prefix, kind);
	else if (!b)
		n = snprintf(buf, len, "%s/%s/%s", f->prefix, kind, a);
	else if (!c)
		n = snprintf(buf, len, "%s/%s/%s/%s", f->prefix, kind, a, b);
	else
		n = snprintf(buf, len, "%s/%s/%s/%s/%s", f->prefix, kind, a, b, c);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
