#define _GNU_SOURCE
#include "store_write.h"
#include "trust.h"
#include "buf.h"
#include "fault.h"
#include "safefile.h"
#include "store_read.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Long enough for a passwd record (3 fields of RS_FIELD_MAX) or a secret record with all
 * tripwires; a group's member list is the only unbounded record and is built on the heap. */
#define REC_MAX (4 * RS_FIELD_MAX + (RS_TRIPWIRE_MAX + 4) * RS_HASH_MAX)

/* cdb_make_add takes an unsigned length: no value longer than that. */
#define VALUE_MAX UINT32_MAX

/* A number as a field of a record: decimal, then its NUL. */
static void put_num(struct rs_buf *b, unsigned long long v)
{
	rs_buf_putu(b, v);
	rs_buf_put(b, "", 1);
}

/* A string that ends inside its array, so that strlen() may look at it. */
#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

/*
 * The writer never writes what a reader would refuse: a passwd or group record that does
 * not parse is invisible to NSS, and a secret record that does not parse makes every
 * reader of secrets.cdb fail closed (and rs_store_load_secrets, the writer's own starting
 * point, fail too). Checked before the record reaches the file: -EINVAL.
 */
static int account_ok(const void *e)
{
	const struct rs_store_account *a = e;
	size_t j;

	if (!TERMINATED(a->name) || !TERMINATED(a->gecos) || !TERMINATED(a->home) ||
	    !TERMINATED(a->shell) || !rs_name_valid(a->name) || a->uid == UINT32_MAX ||
	    a->gid == UINT32_MAX || !rs_field_ok(a->gecos) || !rs_field_ok(a->home) ||
	    !rs_field_ok(a->shell) || (a->nsup && !a->sup_gids))
		return -EINVAL;
	for (j = 0; j < a->nsup; j++)
		if (a->sup_gids[j] == UINT32_MAX)
			return -EINVAL;
	return 0;
}

static int group_ok(const void *e)
{
	const struct rs_store_group *g = e;
	size_t j;

	if (!TERMINATED(g->name) || !rs_name_valid(g->name) || g->gid == UINT32_MAX ||
	    (g->nmembers && !g->members))
		return -EINVAL;
	for (j = 0; j < g->nmembers; j++)
		if (!TERMINATED(g->members[j]) || !rs_name_valid(g->members[j]))
			return -EINVAL;
	return 0;
}

int rs_store_w_open(const char *dir, int timeout_ms, struct rs_store_w *w, char *why, size_t whylen)
{
	/* A path rotsec writes: no link on it is followed (trust.h). */
	struct rs_trust t = {.flags = RS_TRUST_WRITE};

	w->lockfd = -1;
	w->dirfd = rs_trust_dir(dir, &t, why, whylen);
	if (w->dirfd < 0)
		return w->dirfd;
	w->lockfd = rs_lock(w->dirfd, RS_STORE_LOCK, timeout_ms);
	if (w->lockfd < 0) {
		int r = w->lockfd;

		if (why && whylen)
			(void)snprintf(why, whylen, "%s: %s", dir,
			               r == -ETIMEDOUT ? "store is locked by another writer"
			                               : strerror(-r));
		close(w->dirfd);
		w->dirfd = -1;
		return r;
	}
	return 0;
}

void rs_store_w_close(struct rs_store_w *w)
{
	if (w->lockfd >= 0)
		close(w->lockfd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->lockfd = w->dirfd = -1;
}

/* A store key, PREFIX then a name or a number, in an array of the longest key. */
struct key {
	char mem[RS_KEY_MAX];
	struct rs_buf b;
};

static const struct rs_buf *key_name(struct key *k, const char *prefix, const char *name)
{
	rs_buf_init_fixed(&k->b, k->mem, sizeof(k->mem));
	rs_buf_puts(&k->b, prefix);
	rs_buf_puts(&k->b, name);
	return &k->b;
}

/* PREFIX + N in decimal: the id and index keys. */
static const struct rs_buf *key_num(struct key *k, const char *prefix, unsigned long long n)
{
	rs_buf_init_fixed(&k->b, k->mem, sizeof(k->mem));
	rs_buf_puts(&k->b, prefix);
	rs_buf_putu(&k->b, n);
	return &k->b;
}

/* One record under `key`; -ENAMETOOLONG when the key did not fit its array. */
static int add_raw(struct cdb_make *cm, const struct rs_buf *key, const void *val, size_t vlen)
{
	if (rs_buf_err(key) < 0)
		return -ENAMETOOLONG;
	if (cdb_make_add(cm, rs_buf_str(key), (unsigned)rs_buf_len(key), val, (unsigned)vlen) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* The value built in `v` under `key`. Where the value is used its buffer is checked: the
 * error of any put into it is the result. */
static int add(struct cdb_make *cm, const struct rs_buf *key, const struct rs_buf *v)
{
	if (rs_buf_err(v) < 0)
		return rs_buf_err(v);
	return add_raw(cm, key, rs_buf_str(v), rs_buf_len(v));
}

/*
 * tinycdb's writer writes in pieces of 4 KiB. Written so straight into the store's
 * filesystem, the page cache holds the file in 4 KiB pieces, each written back on its
 * own, and its fsync takes longer than for the same bytes written at once (bench/README.md
 * has the figures). So the file is made in a memfd and copied into the temp file in one
 * write; where memfd_create is refused (an older kernel, a seccomp filter), straight
 * into the temp file.
 */
static int copy_out(struct rs_atomic *a, int mfd)
{
	struct stat st;
	void *p;
	int r;

	if (fstat(mfd, &st) < 0)
		return -errno;
	if (st.st_size <= 0)
		return -EIO; /* a CDB file has at least its 2 KiB header */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r = rs_atomic_write(a, p, (size_t)st.st_size); /* the "write" fault point */
	(void)munmap(p, (size_t)st.st_size);
	return r;
}

/* Write one CDB file to a temp file through the atomic recipe, `fill` adding the records;
 * on success the temp file waits in `a` for rs_atomic_commit. */
static int stage_cdb(struct rs_store_w *w, const char *name, mode_t mode, gid_t gid,
                     int (*fill)(struct cdb_make *, const void *), const void *ctx,
                     struct rs_atomic *a)
{
	struct cdb_make cm;
	int r, mfd;

	r = rs_atomic_begin(a, w->dirfd, name, mode, 0, gid);
	if (r < 0)
		return r;
	/* The fault point stands for a memfd_create that fails: the direct way is tested. */
	mfd = RS_FAULT("store.memfd") < 0 ? -1 : memfd_create("rotsec-store", MFD_CLOEXEC);
	if (cdb_make_start(&cm, mfd >= 0 ? mfd : a->fd) < 0) {
		r = -errno;
		goto out;
	}
	/* The "write" fault point: here when written straight, else in copy_out. */
	if ((r = fill(&cm, ctx)) < 0 || (mfd < 0 && (r = rs_atomic_write(a, "", 0)) < 0)) {
		(void)cdb_make_finish(&cm); /* frees its tables; the temp file is dropped */
		goto out;
	}
	/* tinycdb's cdb_make_finish sets ENOENT when it cannot allocate its hash tables:
	 * "No such file or directory" would send an admin looking for a missing file. */
	if (cdb_make_finish(&cm) < 0) {
		r = errno == ENOENT ? -ENOMEM : errno ? -errno : -EIO;
		goto out;
	}
	if (mfd >= 0 && (r = copy_out(a, mfd)) < 0)
		goto out;
	/* Start writing it back now: the caller's journal fsync (rs_engine_rotate) runs while
	 * it is on its way, and the fsync of the commit waits for less. Advice only. */
	(void)sync_file_range(a->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
out:
	if (mfd >= 0)
		(void)close(mfd);
	return r;
}

/* stage_cdb and commit at once. */
static int write_cdb(struct rs_store_w *w, const char *name, mode_t mode, gid_t gid,
                     int (*fill)(struct cdb_make *, const void *), const void *ctx)
{
	struct rs_atomic a;
	int r;

	if ((r = stage_cdb(w, name, mode, gid, fill, ctx, &a)) < 0)
		goto out;
	r = rs_atomic_commit(&a);
out:
	rs_atomic_abort(&a);
	return r;
}

/* What the passwd and group records hold after the name and the id (record.h). */
static void passwd_rest(struct rs_buf *b, const void *e)
{
	const struct rs_store_account *a = e;

	put_num(b, a->gid);
	rs_buf_putz(b, a->gecos);
	rs_buf_putz(b, a->home);
	rs_buf_putz(b, a->shell);
}

static void group_rest(struct rs_buf *b, const void *e)
{
	const struct rs_store_group *g = e;

	for (size_t j = 0; j < g->nmembers; j++)
		rs_buf_putz(b, g->members[j]);
}

/* An account's initgroups record, beside its passwd records. */
static int initgroups_record(struct cdb_make *cm, const void *e, struct rs_buf *b)
{
	const struct rs_store_account *a = e;
	struct key k;

	rs_buf_truncate(b, 0);
	for (size_t j = 0; j < a->nsup; j++)
		put_num(b, a->sup_gids[j]);
	return add(cm, key_name(&k, RS_KEY_INITGR, a->name), b);
}

/*
 * One kind of entry of accounts.cdb, accounts or groups, in an array of `size`-byte
 * structs with the name and the uint32_t id at name_off and id_off. Each entry is checked
 * (ok()) before anything of it is written, found by name, by id and by index with the
 * same value under each key (name, id, then rest()), and has what else goes with it
 * (extra(), when there is one).
 */
struct entry_kind {
	const char *by_name, *by_id, *by_index;
	size_t size, name_off, id_off;
	int (*ok)(const void *e);
	void (*rest)(struct rs_buf *b, const void *e);
	int (*extra)(struct cdb_make *cm, const void *e, struct rs_buf *b);
};

/* A kind over struct `type`, its size and offsets taken from the type itself. */
#define ENTRY_KIND(by_name, by_id, by_index, type, id, ok, rest, extra)                            \
	{                                                                                          \
		by_name, by_id, by_index, sizeof(type), offsetof(type, name), offsetof(type, id),  \
		        ok, rest, extra                                                            \
	}

static const struct entry_kind accounts_kind =
        ENTRY_KIND(RS_KEY_PWNAM, RS_KEY_PWUID, RS_KEY_PWIDX, struct rs_store_account, uid,
                   account_ok, passwd_rest, initgroups_record);
static const struct entry_kind groups_kind =
        ENTRY_KIND(RS_KEY_GRNAM, RS_KEY_GRGID, RS_KEY_GRIDX, struct rs_store_group, gid, group_ok,
                   group_rest, NULL);

/* Entry e's value in b, as every key of it holds it; -EINVAL when it is not valid. */
static int entry_value(const struct entry_kind *kind, const char *e, struct rs_buf *b)
{
	uint32_t id;
	int r;

	if ((r = kind->ok(e)) < 0)
		return r;
	memcpy(&id, e + kind->id_off, sizeof(id));
	rs_buf_truncate(b, 0);
	rs_buf_putz(b, e + kind->name_off);
	put_num(b, id);
	kind->rest(b, e);
	return 0;
}

/* The n entries of a kind, then their index records back to back, in index order, after
 * the other records of their kind: an enumeration reads them one after the other
 * (record.h), as nss files reads /etc/passwd, instead of skipping three records an
 * entry. */
static int add_entries(struct cdb_make *cm, const struct entry_kind *kind, const void *arr,
                       size_t n, struct rs_buf *b)
{
	struct key k;
	uint32_t id;
	int r;

	for (size_t i = 0; i < n; i++) {
		const char *e = (const char *)arr + i * kind->size;

		memcpy(&id, e + kind->id_off, sizeof(id));
		if ((r = entry_value(kind, e, b)) < 0 ||
		    (r = add(cm, key_name(&k, kind->by_name, e + kind->name_off), b)) < 0 ||
		    (r = add(cm, key_num(&k, kind->by_id, id), b)) < 0)
			return r;
		if (kind->extra && (r = kind->extra(cm, e, b)) < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = entry_value(kind, (const char *)arr + i * kind->size, b)) < 0 ||
		    (r = add(cm, key_num(&k, kind->by_index, i), b)) < 0)
			return r;
	}
	return 0;
}

/* What fill_accounts and fill_secrets write: their data, and the generation the file is
 * stamped with. */
struct fill_ctx {
	const void *data;
	uint64_t generation;
};

static int fill_accounts(struct cdb_make *cm, const void *vctx)
{
	const struct fill_ctx *ctx = vctx;
	const struct rs_accounts_data *d = ctx->data;
	struct rs_buf b;
	struct key k;
	int r;

	rs_buf_init(&b, VALUE_MAX, 0);
	if (d->nacc > UINT32_MAX || d->ngrp > UINT32_MAX || (d->nacc && !d->acc) ||
	    (d->ngrp && !d->grp)) {
		r = -EINVAL;
		goto out;
	}
	rs_buf_putz(&b, RS_ACCOUNTS_MAGIC);
	put_num(&b, RS_FORMAT_VERSION);
	put_num(&b, ctx->generation);
	put_num(&b, d->nacc);
	put_num(&b, d->ngrp);
	if ((r = add(cm, key_name(&k, RS_KEY_META, ""), &b)) < 0)
		goto out;
	if ((r = add_entries(cm, &accounts_kind, d->acc, d->nacc, &b)) < 0)
		goto out;
	r = add_entries(cm, &groups_kind, d->grp, d->ngrp, &b);
out:
	rs_buf_free(&b);
	return r;
}

int rs_store_write_accounts(struct rs_store_w *w, const struct rs_accounts_data *d,
                            uint64_t generation)
{
	struct fill_ctx ctx = {d, generation};

	return write_cdb(w, RS_ACCOUNTS_FILE, 0644, 0, fill_accounts, &ctx);
}

int rs_encode_secret(const struct rs_secret_rec *r, char *out, size_t outlen)
{
	struct rs_secret_rec check;
	struct rs_buf b;
	size_t i;
	int n;

	if (!TERMINATED(r->name) || !TERMINATED(r->current) || !TERMINATED(r->previous) ||
	    r->nrevoked > RS_TRIPWIRE_MAX)
		return -EINVAL;
	for (i = 0; i < r->nrevoked; i++)
		if (!TERMINATED(r->revoked[i]))
			return -EINVAL;
	/* At most outlen bytes (-ENOSPC past them). The hashes are wiped with the buffer:
	 * freed memory is no place to leave what an offline guesser would start from. */
	rs_buf_init(&b, outlen, RS_BUF_WIPE);
	rs_buf_putz(&b, r->name);
	put_num(&b, r->uid);
	put_num(&b, r->generation);
	put_num(&b, r->flags);
	rs_buf_putz(&b, r->current);
	put_num(&b, (unsigned long long)r->current_since);
	rs_buf_putz(&b, r->previous);
	put_num(&b, (unsigned long long)r->previous_deadline);
	put_num(&b, (unsigned long long)r->previous_limit);
	put_num(&b, r->nrevoked);
	for (i = 0; i < r->nrevoked; i++)
		rs_buf_putz(&b, r->revoked[i]);
	if ((n = rs_buf_err(&b)) < 0)
		goto out;
	/* Negative times, unknown flags, a bad name or hash: what readers refuse. */
	if (rs_parse_secret(rs_buf_str(&b), rs_buf_len(&b), &check) < 0 ||
	    strcmp(check.name, r->name) != 0) {
		n = -EINVAL;
		goto out;
	}
	memcpy(out, rs_buf_str(&b), rs_buf_len(&b));
	n = (int)rs_buf_len(&b);
out:
	rs_buf_free(&b);
	return n;
}

/* The header of secrets.cdb, with the cost profile of the records written (hashes.h):
 * added after them, once the profile is known (a CDB reader finds it wherever it is). */
static int add_secrets_meta(struct cdb_make *cm, uint64_t generation, size_t n,
                            const struct rs_costs_tally *tally)
{
	struct rs_costs costs;
	struct rs_buf b;
	struct key k;
	int r;

	if (n > UINT32_MAX)
		return -EINVAL;
	rs_costs_from_tally(tally, &costs);
	rs_buf_init(&b, VALUE_MAX, 0);
	rs_buf_putz(&b, RS_SECRETS_MAGIC);
	put_num(&b, RS_SECRETS_VERSION);
	put_num(&b, generation);
	put_num(&b, n);
	for (size_t i = 0; i < costs.n; i++)
		rs_buf_putz(&b, costs.dummy[i]);
	r = add(cm, key_name(&k, RS_KEY_META, ""), &b);
	rs_buf_free(&b);
	return r;
}

/*
 * Encode `r` as the writer writes every record: without the tripwires whose salt no
 * computation of a login covers (rs_secret_drop_foreign: only records of stores written
 * before salts were kept have any), and counted in the cost profile. Length or -errno.
 */
static int encode_costed(const struct rs_secret_rec *r, char *out, size_t outlen,
                         struct rs_costs_tally *tally)
{
	struct rs_secret_rec copy = *r;
	bool foreign;
	int n;

	if (copy.nrevoked > RS_TRIPWIRE_MAX || rs_secret_drop_foreign(&copy) < 0)
		return -EINVAL;
	n = rs_encode_secret(&copy, out, outlen);
	if (n >= 0 && rs_check_secret_costs(out, (size_t)n, tally, &foreign) < 0)
		n = -EINVAL; /* more classes than a profile holds: never written by rotsec */
	return n;
}

/* A secret record by name, after its index entry for enumeration, which holds only the
 * name (format 2, record.h): readers find the record right after it. */
static int add_secret(struct cdb_make *cm, const char *name, size_t idx, const char *rec,
                      size_t len)
{
	struct key k;
	int r;

	if ((r = add_raw(cm, key_num(&k, RS_KEY_SECIDX, idx), name, strlen(name) + 1)) < 0)
		return r;
	return add_raw(cm, key_name(&k, RS_KEY_SECNAM, name), rec, len);
}

static int fill_secrets(struct cdb_make *cm, const void *vctx)
{
	const struct fill_ctx *ctx = vctx;
	const struct rs_secrets_data *d = ctx->data;
	struct rs_costs_tally tally = {0};
	char rec[REC_MAX];
	size_t i;
	int r, n;

	if (d->n && !d->rec)
		return -EINVAL;
	for (i = 0; i < d->n; i++) {
		if ((n = encode_costed(&d->rec[i], rec, sizeof(rec), &tally)) < 0)
			return n;
		if ((r = add_secret(cm, d->rec[i].name, i, rec, (size_t)n)) < 0)
			return r;
	}
	return add_secrets_meta(cm, ctx->generation, d->n, &tally);
}

int rs_store_write_secrets(struct rs_store_w *w, const struct rs_secrets_data *d,
                           uint64_t generation, gid_t gid)
{
	struct fill_ctx ctx = {d, generation};

	return write_cdb(w, RS_SECRETS_FILE, gid ? 0640 : 0600, gid, fill_secrets, &ctx);
}

struct patch_ctx {
	const struct rs_map *old;
	const struct rs_secret_rec *changed;
	size_t nchanged;
	uint64_t generation;
};

/*
 * Every record of the old file, in its order, under both keys; the changed ones encoded
 * anew, the others copied byte for byte. A copied record is checked as every reader
 * will parse it, on the copy that is written: a record damaged on disk fails the write
 * (-EPROTO) rather than being carried, unnoticed, into a file stamped with a new
 * generation. The records are taken in index order, each as a lookup by name finds it
 * (rs_map_secret_raw_at_index, by_name): what PAM accepts is what is carried forward,
 * whatever else a damaged or crafted file holds.
 */
static int fill_patch(struct cdb_make *cm, const void *vctx)
{
	const struct patch_ctx *ctx = vctx;
	uint32_t n = ctx->old->meta.count[0], hint = 0;
	struct rs_costs_tally tally = {0};
	size_t found = 0;
	char rec[REC_MAX];
	int r;

	for (uint32_t i = 0; i < n; i++) {
		struct rs_secret_rec parsed;
		size_t len, k;
		const char *val;
		bool foreign = false;
		int rn;

		/* In file order from the record before, as an enumeration reads them. */
		r = rs_map_secret_raw_at_index(ctx->old, i, &hint, true, &val, &len);
		if (r <= 0 || len > sizeof(rec))
			return -EPROTO; /* missing: the header promised it */
		memcpy(rec, val, len);
		/* Checked and counted in the cost profile at once (the first field, the name,
		 * is then NUL-terminated); a changed record is counted as it is written. */
		for (k = 0; k < ctx->nchanged && memchr(rec, '\0', len); k++)
			if (strcmp(ctx->changed[k].name, rec) == 0)
				break;
		if (k < ctx->nchanged ? rs_check_secret(rec, len) < 0
		                      : rs_check_secret_costs(rec, len, &tally, &foreign) < 0)
			return -EPROTO;
		if (k < ctx->nchanged || foreign) {
			/* Changed, or from a store written before salts were kept: encoded anew
			 * (encode_costed). A foreign tripwire adds no computation, so the tally
			 * of the old bytes, made above, is the tally of the new ones. */
			struct rs_costs_tally counted = {0}, *t = &counted;

			if (k < ctx->nchanged)
				parsed = ctx->changed[k], t = &tally;
			else if (rs_parse_secret(rec, len, &parsed) < 0)
				return -EPROTO;
			if ((rn = encode_costed(&parsed, rec, sizeof(rec), t)) < 0)
				return rn;
			len = (size_t)rn;
			found += k < ctx->nchanged;
		}
		if ((r = add_secret(cm, rec, i, rec, len)) < 0)
			return r;
	}
	if ((r = add_secrets_meta(cm, ctx->generation, n, &tally)) < 0)
		return r;
	/* A changed record that was not there would be silently dropped. */
	return found != ctx->nchanged ? -ENOENT : 0;
}

int rs_store_stage_secrets(struct rs_store_w *w, const struct rs_map *old,
                           const struct rs_secret_rec *changed, size_t nchanged,
                           uint64_t generation, gid_t gid, struct rs_atomic *staged)
{
	struct patch_ctx ctx = {old, changed, nchanged, generation};
	int r = stage_cdb(w, RS_SECRETS_FILE, gid ? 0640 : 0600, gid, fill_patch, &ctx, staged);

	if (r < 0)
		rs_atomic_abort(staged);
	return r;
}

void rs_secrets_data_free(struct rs_secrets_data *d)
{
	free(d->rec);
	memset(d, 0, sizeof(*d));
}

int rs_store_load_secrets(const char *dir, struct rs_secrets_data *out, uint64_t *generation,
                          char *why, size_t whylen)
{
	struct rs_store s;
	const struct rs_map *m = NULL;
	uint32_t i;
	int r;

	memset(out, 0, sizeof(*out));
	*generation = 0;
	if ((r = rs_store_init(&s, dir, RS_SECRETS_FILE)) < 0)
		return r;
	if ((r = rs_store_acquire(&s, &m, why, whylen)) < 0) {
		m = NULL;
		if (r == -ENOENT)
			r = 0; /* no file yet: no secrets */
		goto out;
	}
	*generation = m->meta.generation;
	if (m->meta.count[0] > 0 && !(out->rec = calloc(m->meta.count[0], sizeof(*out->rec)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->meta.count[0]; i++) {
		r = rs_map_secret_by_index(m, i, &out->rec[i]);
		if (r == 0)
			r = -EPROTO; /* the header promised this record */
		if (r < 0)
			goto out;
	}
	out->n = m->meta.count[0];
	r = 0;
out:
	if (m) {
		if (r < 0 && why && whylen)
			(void)snprintf(why, whylen, "%s/%s: damaged record", dir, RS_SECRETS_FILE);
		rs_store_release(&s, m);
	}
	rs_store_close(&s);
	if (r < 0)
		rs_secrets_data_free(out);
	return r;
}

int rs_store_accounts_generation(const char *dir, uint64_t *generation, char *why, size_t whylen)
{
	struct rs_store s;
	const struct rs_map *m;
	int r;

	*generation = 0;
	r = rs_store_init(&s, dir, RS_ACCOUNTS_FILE);
	if (r < 0)
		return r;
	r = rs_store_acquire(&s, &m, why, whylen);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*generation = m->meta.generation;
	rs_store_release(&s, m);
	rs_store_close(&s);
	return 0;
}
