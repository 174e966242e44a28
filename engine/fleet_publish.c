/*
 * Host side: publish a rotation in one transaction, and keep the alive key (fleet.h).
 */
#define _GNU_SOURCE
#include "fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* How many times a publish follows a status that changed under it before giving up. */
#define PUBLISH_ROUNDS 4

void rs_fleet_version_id_new(unsigned char id[RS_FLEET_VERSION_ID_LEN])
{
	randombytes_buf(id, RS_FLEET_VERSION_ID_LEN);
}

struct sealed_value {
	char key[RS_FLEET_KEY_MAX];
	unsigned char *box;
	size_t len;
};

static void free_sealed(struct sealed_value *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].box);
	free(v);
}

/* Seal the rotation to every consumer: done once per call, the same values for every
 * round of the transaction. */
static int seal_all(struct rs_fleet *f, const struct rs_fleet_rotation *rot,
                    const struct rs_fleet_consumer *cons, size_t n, struct sealed_value **out)
{
	struct rs_fleet_msg m = {0};
	struct sealed_value *v = calloc(n + 1, sizeof(*v));
	int r = 0;

	*out = NULL;
	if (!v) {
		(void)snprintf(f->why, sizeof(f->why), "out of memory");
		return -ENOMEM;
	}
	(void)snprintf(m.host, sizeof(m.host), "%s", f->host);
	(void)snprintf(m.account, sizeof(m.account), "%s", rot->account);
	m.generation = rot->generation;
	memcpy(m.version_id, rot->version_id, sizeof(m.version_id));
	m.rotated_at = rot->rotated_at;
	/* Borrowed, not copied: the message struct is not freed below. */
	m.current = *rot->current;
	if (rot->previous && rot->previous->buf && rot->previous_valid_until > 0) {
		m.previous = *rot->previous;
		m.previous_valid_until = rot->previous_valid_until;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!rs_fleet_name_valid(cons[i].name)) {
			(void)snprintf(f->why, sizeof(f->why),
			               "consumer name \"%s\" is not 1 to %d of A-Z a-z 0-9 . _ -",
			               cons[i].name, RS_FLEET_NAME_MAX);
			r = -EINVAL;
			break;
		}
		(void)snprintf(m.consumer, sizeof(m.consumer), "%s", cons[i].name);
		r = rs_fleet_key(f, v[i].key, sizeof(v[i].key), "sealed", cons[i].name, f->host,
		                 rot->account);
		if (r == 0)
			r = rs_fleet_msg_seal(&m, f->sign_sk, cons[i].pk, &v[i].box, &v[i].len,
			                      f->why, sizeof(f->why));
	}
	sodium_memzero(&m, sizeof(m));
	if (r < 0) {
		free_sealed(v, n);
		return r;
	}
	*out = v;
	return 0;
}

static int status_value(const char *host, const struct rs_fleet_rotation *rot,
                        const struct rs_fleet_consumer *cons, size_t n, char **out)
{
	struct rs_fleet_status st = {0};
	int r;

	st.consumers = calloc(n + 1, sizeof(*st.consumers));
	if (!st.consumers)
		return -ENOMEM;
	(void)snprintf(st.host, sizeof(st.host), "%s", host);
	(void)snprintf(st.account, sizeof(st.account), "%s", rot->account);
	st.generation = rot->generation;
	rs_fleet_version_hex(rot->version_id, st.version);
	st.rotated_at = rot->rotated_at;
	st.previous_valid_until = rot->previous_valid_until > 0 ? rot->previous_valid_until : 0;
	st.degraded = rot->degraded;
	for (size_t i = 0; i < n; i++) {
		(void)snprintf(st.consumers[i].name, sizeof(st.consumers[i].name), "%s",
		               cons[i].name);
		(void)snprintf(st.consumers[i].state, sizeof(st.consumers[i].state), "%s",
		               cons[i].state ? cons[i].state : "published");
	}
	st.nconsumers = n;
	r = rs_fleet_status_encode(&st, out);
	free(st.consumers);
	return r;
}

static void digest_of(const char *status, unsigned char digest[RS_FLEET_VERSION_ID_LEN])
{
	crypto_generichash(digest, RS_FLEET_VERSION_ID_LEN, (const unsigned char *)status,
	                   strlen(status), NULL, 0);
}

int rs_fleet_status_digest(const char *host, const struct rs_fleet_rotation *rot,
                           const struct rs_fleet_consumer *consumers, size_t nconsumers,
                           unsigned char digest[RS_FLEET_VERSION_ID_LEN])
{
	char *status = NULL;
	int r = status_value(host, rot, consumers, nconsumers, &status);

	if (r == 0)
		digest_of(status, digest);
	free(status);
	return r;
}

/* The sealed keys of consumers who are no longer published to, to delete. */
static int removed_keys(struct rs_fleet *f, const char *account, const char *const *removed,
                        size_t n, char (**out)[RS_FLEET_KEY_MAX])
{
	char(*k)[RS_FLEET_KEY_MAX] = calloc(n + 1, sizeof(*k));

	*out = NULL;
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!rs_fleet_name_valid(removed[i]) ||
		    rs_fleet_key(f, k[i], sizeof(k[i]), "sealed", removed[i], f->host, account) <
		            0) {
			(void)snprintf(f->why, sizeof(f->why), "bad consumer name to remove");
			free(k);
			return -EINVAL;
		}
	}
	*out = k;
	return 0;
}

/* One round: the transaction, compared with `cmp` (0: the key must not exist). */
static int one_round(struct rs_fleet *f, const char *skey, const char *status,
                     const struct sealed_value *v, size_t n, char (*gone)[RS_FLEET_KEY_MAX],
                     size_t ngone, int64_t cmp, struct rs_etcd_txn_result *res)
{
	struct rs_etcd_txn t;
	int r;

	rs_etcd_txn_init(&t);
	if (cmp == 0)
		rs_etcd_txn_cmp_version(&t, skey, RS_ETCD_EQUAL, 0);
	else
		rs_etcd_txn_cmp_mod(&t, skey, RS_ETCD_EQUAL, cmp);
	for (size_t i = 0; i < n; i++)
		rs_etcd_txn_put(&t, false, v[i].key, v[i].box, v[i].len, 0);
	for (size_t i = 0; i < ngone; i++)
		rs_etcd_txn_delete(&t, false, gone[i]);
	rs_etcd_txn_put(&t, false, skey, status, strlen(status), 0);
	rs_etcd_txn_get(&t, true, skey);
	r = rs_etcd_txn_commit(&f->etcd, &t, res);
	rs_etcd_txn_free(&t);
	if (r < 0)
		(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
	return r;
}

int rs_fleet_publish(struct rs_fleet *f, const struct rs_fleet_rotation *rot,
                     const struct rs_fleet_consumer *consumers, size_t nconsumers,
                     const char *const *removed, size_t nremoved, struct rs_fleet_published *last,
                     enum rs_fleet_outcome *outcome)
{
	char(*gone)[RS_FLEET_KEY_MAX] = NULL;
	struct sealed_value *v = NULL;
	char skey[RS_FLEET_KEY_MAX], vhex[33];
	char *status = NULL;
	enum rs_fleet_outcome done = RS_FLEET_WRITTEN;
	int64_t cmp = last->mod_revision;
	int r;

	f->why[0] = '\0';
	if (outcome)
		*outcome = 0;
	if (!f->sign_sk || !rot || !rot->account || !rs_name_valid(rot->account) || !rot->current ||
	    !rot->current->buf || rot->generation == 0) {
		(void)snprintf(
		        f->why, sizeof(f->why),
		        "publish needs the host side, an account, a generation and a secret");
		return -EINVAL;
	}
	if (rot->generation < last->generation) {
		(void)snprintf(f->why, sizeof(f->why),
		               "generation %llu of %s is older than generation %llu published "
		               "already; refusing to publish it",
		               (unsigned long long)rot->generation, rot->account,
		               (unsigned long long)last->generation);
		return -EEXIST;
	}
	rs_fleet_version_hex(rot->version_id, vhex);
	r = rs_fleet_key(f, skey, sizeof(skey), "status", f->host, rot->account, NULL);
	if (r == 0)
		r = removed_keys(f, rot->account, removed, nremoved, &gone);
	if (r == 0)
		r = seal_all(f, rot, consumers, nconsumers, &v);
	if (r == 0 && (r = status_value(f->host, rot, consumers, nconsumers, &status)) < 0)
		(void)snprintf(f->why, sizeof(f->why), "out of memory");
	/* One etcd operation, one timeout, for every round and every endpoint together
	 * (etcd.h, "Deadlines"): the caller holds the account's lock meanwhile (a `rotsecctl
	 * rotate --revoke-previous` waits for it), and an endpoint that answers each round
	 * just inside the timeout, with a status that moved, made one publish last
	 * PUBLISH_ROUNDS timeouts. */
	rs_etcd_op_begin(&f->etcd);
	for (int round = 0; r == 0; round++) {
		struct rs_etcd_txn_result res;
		struct rs_fleet_status there;
		const struct rs_etcd_kv *kv;

		if (round > 0 && rs_etcd_op_left(&f->etcd) <= 0) {
			(void)snprintf(f->why, sizeof(f->why),
			               "etcd at %s took more than %ld ms over %d rounds of the "
			               "transaction of generation %llu",
			               rs_etcd_endpoint(&f->etcd), f->etcd.timeout_ms, round,
			               (unsigned long long)rot->generation);
			r = -ETIMEDOUT;
			break;
		}
		if (round == PUBLISH_ROUNDS) {
			(void)snprintf(f->why, sizeof(f->why),
			               "%s kept changing while generation %llu was published; "
			               "another writer?",
			               skey, (unsigned long long)rot->generation);
			r = -EBUSY;
			break;
		}
		r = one_round(f, skey, status, v, nconsumers, gone, nremoved, cmp, &res);
		if (r < 0)
			break;
		if (res.succeeded) {
			last->mod_revision = res.revision;
			rs_etcd_txn_result_free(&res);
			break;
		}
		kv = res.gets.n ? &res.gets.kv[0] : NULL;
		if (!kv) {
			/* Deleted, or never there while we thought it was. */
			cmp = 0;
			done = RS_FLEET_REPLACED;
			rs_etcd_txn_result_free(&res);
			continue;
		}
		if (rs_fleet_status_parse(kv->value, kv->value_len, &there) < 0 ||
		    strcmp(there.host, f->host) != 0 || strcmp(there.account, rot->account) != 0) {
			(void)snprintf(f->why, sizeof(f->why),
			               "%s holds something that is not this host's status; "
			               "refusing to overwrite it",
			               skey);
			r = -EEXIST;
		} else if (there.generation > rot->generation ||
		           (there.generation == rot->generation &&
		            strcmp(there.version, vhex) != 0)) {
			(void)snprintf(
			        f->why, sizeof(f->why),
			        "%s holds generation %llu (version %.8s), and this is "
			        "generation %llu (version %.8s): refusing to publish over it "
			        "(host restored from a snapshot, or two hosts named %s?)",
			        skey, (unsigned long long)there.generation, there.version,
			        (unsigned long long)rot->generation, vhex, f->host);
			r = -EEXIST;
		} else if (there.generation == rot->generation && kv->value_len == strlen(status) &&
		           memcmp(kv->value, status, kv->value_len) == 0) {
			/* What we meant to write is there: an earlier try went through. */
			last->mod_revision = kv->mod_revision;
			done = RS_FLEET_FOUND;
			rs_fleet_status_free(&there);
			rs_etcd_txn_result_free(&res);
			break;
		} else {
			/* Ours with other fields, or an older generation: over it, compared
			 * with the revision just read. */
			if (there.generation < rot->generation)
				done = RS_FLEET_REPLACED;
			cmp = kv->mod_revision;
		}
		rs_fleet_status_free(&there);
		rs_etcd_txn_result_free(&res);
	}
	rs_etcd_op_end(&f->etcd);
	if (r == 0) {
		last->generation = rot->generation;
		digest_of(status, last->digest);
		if (outcome)
			*outcome = done;
	}
	free(gone);
	free_sealed(v, nconsumers);
	free(status);
	return r;
}

int rs_fleet_alive_tick(struct rs_fleet *f, int64_t now_mono, int64_t *next_mono)
{
	char key[RS_FLEET_KEY_MAX], *value = NULL;
	int64_t ttl = 0;
	int r;

	if (f->lease && now_mono - f->lease_renewed < RS_FLEET_ALIVE_TTL / 3) {
		if (next_mono)
			*next_mono = f->lease_renewed + RS_FLEET_ALIVE_TTL / 3;
		return 0;
	}
	if (next_mono)
		*next_mono = now_mono + RS_FLEET_ALIVE_TTL / 3;
	if (f->lease) {
		r = rs_etcd_lease_keepalive(&f->etcd, f->lease, &ttl);
		if (r == 0) {
			f->lease_renewed = now_mono;
			return 0;
		}
		if (r != -ENOENT) {
			(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
			return r;
		}
		f->lease = 0; /* expired while etcd was out of reach: a new one */
	}
	r = rs_fleet_key(f, key, sizeof(key), "alive", f->host, NULL, NULL);
	if (r == 0)
		r = rs_etcd_lease_grant(&f->etcd, RS_FLEET_ALIVE_TTL, &f->lease, &ttl);
	if (r == 0 && asprintf(&value, "{\"host\":\"%s\",\"since\":%lld}", f->host,
	                       (long long)f->alive_since) < 0) {
		value = NULL;
		r = -ENOMEM;
	}
	if (r == 0)
		r = rs_etcd_put(&f->etcd, key, value, strlen(value), f->lease);
	if (r == 0)
		f->lease_renewed = now_mono;
	else
		(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
	free(value);
	return r;
}

int rs_fleet_alive_stop(struct rs_fleet *f)
{
	int r = 0;

	if (f->lease && (r = rs_etcd_lease_revoke(&f->etcd, f->lease)) < 0)
		(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
	f->lease = 0;
	return r;
}

int rs_fleet_unpublish(struct rs_fleet *f, const char *account, const char *const *consumers,
                       size_t nconsumers, const struct rs_fleet_published *last)
{
	char(*gone)[RS_FLEET_KEY_MAX] = NULL;
	char skey[RS_FLEET_KEY_MAX];
	struct rs_etcd_txn t;
	struct rs_etcd_txn_result res;
	int r;

	f->why[0] = '\0';
	if (!rs_name_valid(account) || last->mod_revision <= 0)
		return -EINVAL;
	if ((r = rs_fleet_key(f, skey, sizeof(skey), "status", f->host, account, NULL)) < 0 ||
	    (r = removed_keys(f, account, consumers, nconsumers, &gone)) < 0)
		return r;
	/* Only what this host wrote last: a status someone else wrote since (a host of the
	 * same name, restored) is not ours to delete. */
	rs_etcd_txn_init(&t);
	rs_etcd_txn_cmp_mod(&t, skey, RS_ETCD_EQUAL, last->mod_revision);
	for (size_t i = 0; i < nconsumers; i++)
		rs_etcd_txn_delete(&t, false, gone[i]);
	rs_etcd_txn_delete(&t, false, skey);
	r = rs_etcd_txn_commit(&f->etcd, &t, &res);
	rs_etcd_txn_free(&t);
	free(gone);
	if (r < 0) {
		(void)snprintf(f->why, sizeof(f->why), "%s", f->etcd.why);
		return r;
	}
	if (!res.succeeded) {
		(void)snprintf(f->why, sizeof(f->why),
		               "%s is not the status this host wrote last; leaving it", skey);
		r = -EEXIST;
	}
	rs_etcd_txn_result_free(&res);
	return r;
}
