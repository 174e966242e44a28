/*
 * The lookups behind the entry points: find the record in the mapping (one CDB probe),
 * parse it strictly, check it is the record that was asked for, pack it.
 *
 * A record that does not parse, or that sits under the wrong key, makes the lookup fail
 * closed (UNAVAIL, logged): the store is written by rotsec only, so a bad record means
 * corruption, and a half-trusted answer about who a uid is would be worse than none.
 */
#define _GNU_SOURCE
#include "nss_rotsec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a record found under a key must say about itself: the name it was looked up by,
 * or the id. By index (enumeration) there is nothing to compare. */
struct want {
	const char *name; /* NULL: compare the id */
	uint32_t id;
};

/* The record is the one asked for (w NULL: by index, nothing to compare). */
static bool wanted(const struct want *w, const char *name, uint32_t id)
{
	return !w || (w->name ? strcmp(name, w->name) == 0 : id == w->id);
}

/* A passwd (db NSS_DB_PASSWD) or group record found, parsed, checked against `w` and
 * packed into out, a struct passwd or a struct group. */
static int pack_rec(enum nss_db db, const char *val, size_t vlen, const struct want *w, void *out,
                    char *buf, size_t len)
{
	struct rs_pw_view pv;
	struct rs_gr_view gv;

	if (db == NSS_DB_PASSWD) {
		if (rs_parse_passwd(val, vlen, &pv) < 0 || !wanted(w, pv.name, pv.uid))
			return -EPROTO;
		return nss_pack_passwd(&pv, out, buf, len);
	}
	if (rs_parse_group(val, vlen, &gv) < 0 || !wanted(w, gv.name, gv.gid))
		return -EPROTO;
	return nss_pack_group(&gv, out, buf, len);
}

static void malformed(enum nss_file f, const char *prefix, const char *k)
{
	char key[RS_KEY_MAX];

	(void)snprintf(key, sizeof(key), "%s%s", prefix, k);
	nss_store_malformed(f, key);
}

/*
 * accounts.cdb acquired (*m, NULL when that failed) and the record of PREFIX + K looked
 * up in it. The key is made once, for the prefetch while the store is checked
 * (nss_store_acquire_for) and for the lookup.
 */
static int accounts_find(const char *prefix, const char *k, const struct rs_map **m,
                         const char **val, size_t *vlen)
{
	char key[RS_KEY_MAX];
	size_t klen = rs_map_key(key, prefix, k);
	int r;

	*m = NULL;
	r = nss_store_acquire_for(NSS_ACCOUNTS, key, klen, m);
	if (r < 0)
		return r;
	return klen ? rs_map_find(*m, key, klen, val, vlen) : 0;
}

/* The passwd or group record of PREFIX + K, checked against w and packed into out. */
static int accounts_by(const char *prefix, const char *k, const struct want *w, enum nss_db db,
                       void *out, char *buf, size_t len)
{
	const struct rs_map *m;
	const char *val;
	size_t vlen;
	int r = accounts_find(prefix, k, &m, &val, &vlen);

	if (r > 0)
		r = pack_rec(db, val, vlen, w, out, buf, len);
	nss_store_release(NSS_ACCOUNTS, m);
	if (r == -EPROTO)
		malformed(NSS_ACCOUNTS, prefix, k);
	return r;
}

static int by_name(const char *prefix, const char *name, enum nss_db db, void *out, char *buf,
                   size_t len)
{
	struct want w = {name, 0};

	return accounts_by(prefix, name, &w, db, out, buf, len);
}

/* A uid or gid: its key is the number in decimal. */
static int by_id(const char *prefix, uint32_t id, enum nss_db db, void *out, char *buf, size_t len)
{
	struct want w = {NULL, id};
	char k[16];

	(void)snprintf(k, sizeof(k), "%u", (unsigned)id);
	return accounts_by(prefix, k, &w, db, out, buf, len);
}

int nss_getpw_name(const char *name, struct passwd *pw, char *buf, size_t len)
{
	return by_name(RS_KEY_PWNAM, name, NSS_DB_PASSWD, pw, buf, len);
}

int nss_getpw_uid(uid_t uid, struct passwd *pw, char *buf, size_t len)
{
	return by_id(RS_KEY_PWUID, uid, NSS_DB_PASSWD, pw, buf, len);
}

int nss_getgr_name(const char *name, struct group *gr, char *buf, size_t len)
{
	return by_name(RS_KEY_GRNAM, name, NSS_DB_GROUP, gr, buf, len);
}

int nss_getgr_gid(gid_t gid, struct group *gr, char *buf, size_t len)
{
	return by_id(RS_KEY_GRGID, gid, NSS_DB_GROUP, gr, buf, len);
}

/*
 * Shadow entries exist for rotsec accounts only. accounts.cdb (readable by everyone)
 * answers "not ours" first, so a non-root process asking about any other name gets
 * NOTFOUND, not UNAVAIL and a log line about secrets.cdb it could not read anyway.
 */
int nss_getsp_name(const char *name, struct spwd *sp, char *buf, size_t len)
{
	struct rs_secret_rec *rec;
	const struct rs_map *m;
	const char *val;
	size_t vlen;
	int r = accounts_find(RS_KEY_PWNAM, name, &m, &val, &vlen);

	/* m: the store was mapped, and the lookup in it failed. */
	if (r == -EPROTO && m)
		malformed(NSS_ACCOUNTS, RS_KEY_PWNAM, name);
	nss_store_release(NSS_ACCOUNTS, m);
	if (r <= 0)
		return r;

	/* A secret record holds several hash strings (record.h): not on the stack of whatever
	 * thread calls us. */
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	r = nss_store_acquire(NSS_SECRETS, &m);
	if (r == 0) {
		r = rs_map_secret_by_name(m, name, rec);
		nss_store_release(NSS_SECRETS, m);
		if (r > 0)
			r = nss_pack_shadow(rec, sp, buf, len);
		else if (r == -EPROTO)
			malformed(NSS_SECRETS, RS_KEY_SECNAM, name);
	}
	free(rec);
	return r;
}

/*
 * One step of an enumeration: the entry at the cursor, then the cursor moves on. On
 * ERANGE it stays (index and hint both), so glibc's retry with a bigger buffer gets the
 * same entry and no entry is ever skipped. An index below the header's count that is
 * missing is corruption, not the end. The entries are read in file order
 * (rs_map_find_index): what files does with /etc/passwd, and as cheap per entry.
 */
static int next_entry(enum nss_db db, void *ent, char *buf, size_t len)
{
	static const char *const prefix[NSS_DB_COUNT] = {RS_KEY_PWIDX, RS_KEY_GRIDX, RS_KEY_SECIDX};
	/* accounts.cdb counts passwd entries in slot 0, groups in slot 1; secrets.cdb its
	 * records in slot 0. */
	static const int slot[NSS_DB_COUNT] = {0, 1, 0};
	struct rs_secret_rec *rec = NULL;
	struct nss_cursor *c;
	uint32_t idx = 0, hint;
	const char *val;
	size_t vlen;
	char k[16];
	int r;

	if (db == NSS_DB_SHADOW && !(rec = malloc(sizeof(*rec))))
		return -ENOMEM;
	r = nss_cursor_lock(db, &c);
	if (r < 0)
		goto out;
	idx = c->next;
	hint = c->hint;
	if (idx >= c->map->meta.count[slot[db]]) {
		r = 0;
	} else if (db == NSS_DB_SHADOW) {
		if ((r = rs_map_secret_at_index(c->map, idx, &hint, rec)) > 0)
			r = nss_pack_shadow(rec, ent, buf, len);
	} else if ((r = rs_map_find_index(c->map, prefix[db], idx, &hint, &val, &vlen)) > 0) {
		r = pack_rec(db, val, vlen, NULL, ent, buf, len);
	}
	if (idx < c->map->meta.count[slot[db]] && r == 0)
		r = -EPROTO;
	if (r > 0) {
		c->next = idx + 1;
		c->hint = hint;
	}
	nss_cursor_unlock(c);
	if (r == -EPROTO) {
		(void)snprintf(k, sizeof(k), "%u", (unsigned)idx);
		malformed(db == NSS_DB_SHADOW ? NSS_SECRETS : NSS_ACCOUNTS, prefix[db], k);
	}
out:
	free(rec);
	return r;
}

int nss_getpw_next(struct passwd *pw, char *buf, size_t len)
{
	return next_entry(NSS_DB_PASSWD, pw, buf, len);
}

int nss_getgr_next(struct group *gr, char *buf, size_t len)
{
	return next_entry(NSS_DB_GROUP, gr, buf, len);
}

int nss_getsp_next(struct spwd *sp, char *buf, size_t len)
{
	return next_entry(NSS_DB_SHADOW, sp, buf, len);
}

static bool has_member(const struct rs_gr_view *v, const char *user)
{
	const char *m = v->members;

	for (size_t i = 0; i < v->nmembers; i++, m += strlen(m) + 1)
		if (strcmp(m, user) == 0)
			return true;
	return false;
}

/* The supplementary gids of a rotsec account: its "ig:" record, validated whole before
 * the first gid is added, so a damaged record adds nothing. */
static int add_listed(const char *val, size_t vlen, gid_t skip, long *start, long *size,
                      gid_t **groupsp, long limit)
{
	const char *p = val, *end = val + vlen;
	size_t n;
	int r;

	if (rs_parse_gids(val, vlen, NULL, 0, &n) < 0)
		return -EPROTO;
	for (; p < end; p += strlen(p) + 1) {
		uint64_t g;

		if (rs_parse_u64(p, UINT32_MAX - 1, &g) < 0)
			return -EPROTO;
		r = nss_add_gid((gid_t)g, skip, start, size, groupsp, limit);
		if (r < 0)
			return r;
	}
	return 1;
}

/*
 * Anyone else (a system user listed as a member of a rotsec group, say) is found the way
 * nss_files finds members: by walking the groups. Returns 1 when at least one rotsec
 * group lists the user, 0 when none does.
 */
static int add_member_of(const struct rs_map *m, const char *user, gid_t skip, long *start,
                         long *size, gid_t **groupsp, long limit)
{
	uint32_t i, n = m->meta.count[1], hint = 0;
	int found = 0, r;

	for (i = 0; i < n; i++) {
		struct rs_gr_view v;
		const char *val;
		size_t vlen;
		char k[16];

		r = rs_map_find_index(m, RS_KEY_GRIDX, i, &hint, &val, &vlen);
		if (r == 0 || (r > 0 && rs_parse_group(val, vlen, &v) < 0))
			r = -EPROTO;
		if (r < 0) {
			(void)snprintf(k, sizeof(k), "%u", (unsigned)i);
			malformed(NSS_ACCOUNTS, RS_KEY_GRIDX, k);
			return r;
		}
		if (!has_member(&v, user))
			continue;
		found = 1;
		r = nss_add_gid(v.gid, skip, start, size, groupsp, limit);
		if (r < 0)
			return r;
	}
	return found;
}

int nss_initgroups(const char *user, gid_t skip, long *start, long *size, gid_t **groupsp,
                   long limit)
{
	const struct rs_map *m;
	const char *val;
	size_t vlen;
	int r = accounts_find(RS_KEY_INITGR, user, &m, &val, &vlen);

	if (r > 0) {
		r = add_listed(val, vlen, skip, start, size, groupsp, limit);
		if (r == -EPROTO)
			malformed(NSS_ACCOUNTS, RS_KEY_INITGR, user);
	} else if (r == 0) {
		r = add_member_of(m, user, skip, start, size, groupsp, limit);
	} else if (m) { /* the store was mapped, and the lookup in it failed */
		malformed(NSS_ACCOUNTS, RS_KEY_INITGR, user);
	}
	nss_store_release(NSS_ACCOUNTS, m);
	return r;
}
