/*
 * Consumer side: the consumer's keys and trusted host keys, and one fetch (fleet.h).
 */
#define _GNU_SOURCE
#include "fleet.h"
#include "sealed.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/*
 * A key file the consumer trusts (its own key, a host's public signing key), by the
 * trust rule as it applies to a user's files (OpenSSH's StrictModes for ~/.ssh): owned by
 * root or by the user running this, and so is the directory it is in, which nobody else
 * may write (unless sticky, like /tmp). Whoever could replace a trusted host key could
 * sign messages that the consumer takes for the host's; the modes of the files
 * themselves are checked as they are read (keyfile.h).
 */
static int consumer_file_ok(const char *path, char *why, size_t whylen)
{
	char dir[PATH_MAX];
	struct stat st;
	uid_t me = geteuid();
	char *slash;

	if (stat(path, &st) < 0) {
		int r = -errno;

		(void)snprintf(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (st.st_uid != 0 && st.st_uid != me) {
		(void)snprintf(why, whylen, "%s is owned by uid %u, neither root nor this user",
		               path, (unsigned)st.st_uid);
		return -EPERM;
	}
	(void)snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		(void)snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) < 0) {
		int r = -errno;

		(void)snprintf(why, whylen, "%s: %s", dir, strerror(-r));
		return r;
	}
	if ((st.st_uid != 0 && st.st_uid != me) ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
		(void)snprintf(why, whylen,
		               "%s is in %s, which others than root and this user can write: "
		               "they could replace it",
		               path, dir);
		return -EPERM;
	}
	return 0;
}

int rs_fleet_reader_open(struct rs_fleet_reader *rd, const struct rs_fleet_cfg *cfg, char *why,
                         size_t whylen)
{
	int r;

	memset(rd, 0, sizeof(*rd));
	rd->consumer = cfg->name;
	rd->sk = sodium_malloc(RS_SK_LEN);
	if (!rd->sk) {
		(void)snprintf(why, whylen, "out of memory for the key");
		return -ENOMEM;
	}
	if ((r = consumer_file_ok(cfg->key_file, why, whylen)) < 0 ||
	    (r = rs_read_secret_key(cfg->key_file, rd->sk, why, whylen)) < 0)
		goto fail;
	crypto_scalarmult_base(rd->pk, rd->sk);
	if (cfg->ntrust == 0) {
		(void)snprintf(why, whylen, "no trusted host key (--trust HOST=FILE)");
		r = -EINVAL;
		goto fail;
	}
	rd->trust = calloc(cfg->ntrust, sizeof(*rd->trust));
	if (!rd->trust) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cfg->ntrust; i++) {
		(void)snprintf(rd->trust[i].host, sizeof(rd->trust[i].host), "%s",
		               cfg->trust[i].host);
		if ((r = consumer_file_ok(cfg->trust[i].file, why, whylen)) < 0 ||
		    (r = rs_signkey_read_public(cfg->trust[i].file, rd->trust[i].pk, why, whylen)) <
		            0)
			goto fail;
		rd->ntrust++;
	}
	return 0;
fail:
	rs_fleet_reader_close(rd);
	return r;
}

void rs_fleet_reader_close(struct rs_fleet_reader *rd)
{
	if (rd->sk)
		sodium_free(rd->sk);
	free(rd->trust);
	memset(rd, 0, sizeof(*rd));
}

int rs_fleet_reader_open_value(const struct rs_fleet_reader *rd, const char *host,
                               const char *account, uint64_t held_generation,
                               const unsigned char *value, size_t len, struct rs_fleet_msg *out,
                               char *why, size_t whylen)
{
	struct rs_fleet_expect want = {
	        .host = host,
	        .consumer = rd->consumer,
	        .account = account,
	        .held_generation = held_generation,
	};

	return rs_fleet_msg_open(value, len, rd->pk, rd->sk, rd->trust, rd->ntrust, &want, out, why,
	                         whylen);
}

int rs_fleet_fetch(struct rs_fleet *f, const struct rs_fleet_reader *rd, const char *host,
                   const char *account, uint64_t held_generation, struct rs_fleet_msg *out,
                   int64_t *mod_revision)
{
	char key[RS_FLEET_KEY_MAX];
	struct rs_etcd_kv kv;
	int r;

	memset(out, 0, sizeof(*out));
	if (!rs_fleet_name_valid(host) || !rs_name_valid(account)) {
		(void)snprintf(f->why, sizeof(f->why), "\"%s\"/\"%s\" is not a host and account",
		               host, account);
		return -EINVAL;
	}
	r = rs_fleet_key(f, key, sizeof(key), "sealed", rd->consumer, host, account);
	if (r < 0) {
		(void)snprintf(f->why, sizeof(f->why), "key name too long");
		return r;
	}
	r = rs_etcd_get(&f->etcd, key, &kv);
	if (r < 0) {
		if (r == -ENOENT)
			(void)snprintf(f->why, sizeof(f->why),
			               "nothing published for consumer %s of %s on host %s (%s)",
			               rd->consumer, account, host, key);
		else
			(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
		return r;
	}
	if (mod_revision)
		*mod_revision = kv.mod_revision;
	r = rs_fleet_reader_open_value(rd, host, account, held_generation, kv.value, kv.value_len,
	                               out, f->why, sizeof(f->why));
	rs_etcd_kv_free(&kv);
	return r;
}
