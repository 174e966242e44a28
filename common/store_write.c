#define _GNU_SOURCE
#include "store_write.h"
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

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void buf_add(struct buf *b, const char *s)
{
	size_t n = strlen(s) + 1;

	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Decimal digits of v into buf (at least 21 bytes), NUL-terminated; the length. Without
 * snprintf: a store write makes two keys per account. */
static size_t fmt_u64(char *buf, unsigned long long v)
{
	char rev[20];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = rev[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static void buf_addu(struct buf *b, unsigned long long v)
{
	char num[24];

	(void)fmt_u64(num, v);
	buf_add(b, num);
}

/* A string that ends inside its array, so that strlen() may look at it. */
#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

/*
 * The writer never writes what a reader would refuse: a passwd or group record that does
 * not parse is invisible to NSS, and a secret record that does not parse makes every
 * reader of secrets.cdb fail closed (and rs_store_load_secrets, the writer's own starting
 * point, fail too). Checked before the record reaches the file: -EINVAL.
 */
static int account_ok(const struct rs_store_account *a)
{
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

static int group_ok(const struct rs_store_group *g)
{
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
	w->lockfd = -1;
	w->dirfd = rs_open_safe_dir(dir, 0, why, whylen);
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

static int add_key(struct cdb_make *cm, const char *prefix, const char *k, size_t klen,
                   const struct buf *v)
{
	char key[RS_KEY_MAX];
	size_t plen = strlen(prefix);

	if (plen + klen >= sizeof(key))
		return -ENAMETOOLONG;
	memcpy(key, prefix, plen);
	memcpy(key + plen, k, klen);
	if (cdb_make_add(cm, key, (unsigned)(plen + klen), v->p, (unsigned)v->len) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

static int add(struct cdb_make *cm, const char *prefix, const char *k, const struct buf *v)
{
	return add_key(cm, prefix, k, strlen(k), v);
}

static int addu(struct cdb_make *cm, const char *prefix, unsigned long long k, const struct buf *v)
{
	char num[24];
	size_t n = fmt_u64(num, k);

	return add_key(cm, prefix, num, n, v);
}

/*
 * tinycdb's writer writes in pieces of 4 KiB. Written so straight into the store's
 * filesystem, a secrets.cdb of 2 MB (10,000 accounts) takes some 3 ms to write and half
 * as long again to fsync as the same bytes written at once: the page cache then holds
 * the file in 4 KiB pieces, each written back on its own. So the file is made in a memfd
 * and copied into the temp file in one write; where memfd_create is refused (an older
 * kernel, a seccomp filter), straight into the temp file.
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
	r = fill(&cm, ctx);
	if (r == 0 && mfd < 0)
		r = rs_atomic_write(a, "", 0); /* the "write" fault point; else in copy_out */
	/* tinycdb's cdb_make_finish sets ENOENT when it cannot allocate its hash tables:
	 * "No such file or directory" would send an admin looking for a missing file. */
	if (r == 0 && cdb_make_finish(&cm) < 0)
		r = errno == ENOENT ? -ENOMEM : errno ? -errno : -EIO;
	else if (r < 0)
		(void)cdb_make_finish(&cm); /* frees its tables; the temp file is dropped */
	if (r == 0 && mfd >= 0)
		r = copy_out(a, mfd);
	/* Start writing it back now: the caller's journal fsync (rs_engine_rotate) runs while
	 * it is on its way, and the fsync of the commit waits for less. Advice only. */
	if (r == 0)
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
	int r = stage_cdb(w, name, mode, gid, fill, ctx, &a);

	if (r == 0)
		r = rs_atomic_commit(&a);
	rs_atomic_abort(&a);
	return r;
}

/* The passwd and group records, as every key of the account or group holds them. */
static void passwd_value(struct buf *b, const struct rs_store_account *a)
{
	b->len = 0;
	buf_add(b, a->name);
	buf_addu(b, a->uid);
	buf_addu(b, a->gid);
	buf_add(b, a->gecos);
	buf_add(b, a->home);
	buf_add(b, a->shell);
}

static void group_value(struct buf *b, const struct rs_store_group *g)
{
	size_t j;

	b->len = 0;
	buf_add(b, g->name);
	buf_addu(b, g->gid);
	for (j = 0; j < g->nmembers; j++)
		buf_add(b, g->members[j]);
}

struct accounts_ctx {
	const struct rs_accounts_data *d;
	uint64_t generation;
};

static int fill_accounts(struct cdb_make *cm, const void *vctx)
{
	const struct accounts_ctx *ctx = vctx;
	const struct rs_accounts_data *d = ctx->d;
	struct buf b = {0};
	size_t i, j;
	int r = 0;

	buf_add(&b, RS_ACCOUNTS_MAGIC);
	buf_addu(&b, RS_FORMAT_VERSION);
	buf_addu(&b, ctx->generation);
	buf_addu(&b, d->nacc);
	buf_addu(&b, d->ngrp);
	r = b.err ? b.err : add(cm, RS_KEY_META, "", &b);
	if (d->nacc > UINT32_MAX || d->ngrp > UINT32_MAX || (d->nacc && !d->acc) ||
	    (d->ngrp && !d->grp))
		r = -EINVAL;

	for (i = 0; r == 0 && i < d->nacc; i++) {
		const struct rs_store_account *a = &d->acc[i];

		r = account_ok(a);
		if (r < 0)
			break;
		passwd_value(&b, a);
		r = b.err;
		if (r == 0)
			r = add(cm, RS_KEY_PWNAM, a->name, &b);
		if (r == 0)
			r = addu(cm, RS_KEY_PWUID, a->uid, &b);
		b.len = 0;
		for (j = 0; j < a->nsup; j++)
			buf_addu(&b, a->sup_gids[j]);
		r = r ? r : b.err;
		if (r == 0)
			r = add(cm, RS_KEY_INITGR, a->name, &b);
	}
	/* The index records back to back, in index order, after the other records of their
	 * kind: an enumeration reads them one after the other (record.h), as nss files
	 * reads /etc/passwd, instead of skipping three records an entry. */
	for (i = 0; r == 0 && i < d->nacc; i++) {
		passwd_value(&b, &d->acc[i]);
		r = b.err ? b.err : addu(cm, RS_KEY_PWIDX, i, &b);
	}
	for (i = 0; r == 0 && i < d->ngrp; i++) {
		const struct rs_store_group *g = &d->grp[i];

		r = group_ok(g);
		if (r < 0)
			break;
		group_value(&b, g);
		r = b.err;
		if (r == 0)
			r = add(cm, RS_KEY_GRNAM, g->name, &b);
		if (r == 0)
			r = addu(cm, RS_KEY_GRGID, g->gid, &b);
	}
	for (i = 0; r == 0 && i < d->ngrp; i++) {
		group_value(&b, &d->grp[i]);
		r = b.err ? b.err : addu(cm, RS_KEY_GRIDX, i, &b);
	}
	free(b.p);
	return r;
}

int rs_store_write_accounts(struct rs_store_w *w, const struct rs_accounts_data *d,
                            uint64_t generation)
{
	struct accounts_ctx ctx = {d, generation};

	return write_cdb(w, RS_ACCOUNTS_FILE, 0644, 0, fill_accounts, &ctx);
}

int rs_encode_secret(const struct rs_secret_rec *r, char *out, size_t outlen)
{
	struct rs_secret_rec check;
	struct buf b = {0};
	size_t i;
	int n;

	if (!TERMINATED(r->name) || !TERMINATED(r->current) || !TERMINATED(r->previous) ||
	    r->nrevoked > RS_TRIPWIRE_MAX)
		return -EINVAL;
	for (i = 0; i < r->nrevoked; i++)
		if (!TERMINATED(r->revoked[i]))
			return -EINVAL;
	buf_add(&b, r->name);
	buf_addu(&b, r->uid);
	buf_addu(&b, r->generation);
	buf_addu(&b, r->flags);
	buf_add(&b, r->current);
	buf_addu(&b, (unsigned long long)r->current_since);
	buf_add(&b, r->previous);
	buf_addu(&b, (unsigned long long)r->previous_deadline);
	buf_addu(&b, (unsigned long long)r->previous_limit);
	buf_addu(&b, r->nrevoked);
	for (i = 0; i < r->nrevoked; i++)
		buf_add(&b, r->revoked[i]);
	if (b.err) {
		n = b.err;
	} else if (b.len > outlen) {
		n = -ENOSPC;
	} else if (rs_parse_secret(b.p, b.len, &check) < 0 || strcmp(check.name, r->name) != 0) {
		/* Negative times, unknown flags, a bad name or hash: what readers refuse. */
		n = -EINVAL;
	} else {
		memcpy(out, b.p, b.len);
		n = (int)b.len;
	}
	free(b.p);
	return n;
}

/* The header of secrets.cdb, with the cost profile of the records written (hashes.h):
 * added after them, once the profile is known (a CDB reader finds it wherever it is). */
static int add_secrets_meta(struct cdb_make *cm, uint64_t generation, size_t n,
                            const struct rs_costs_tally *tally)
{
	struct rs_costs costs;
	struct buf b = {0};
	int r;

	if (n > UINT32_MAX)
		return -EINVAL;
	rs_costs_from_tally(tally, &costs);
	buf_add(&b, RS_SECRETS_MAGIC);
	buf_addu(&b, RS_SECRETS_VERSION);
	buf_addu(&b, generation);
	buf_addu(&b, n);
	for (size_t i = 0; i < costs.n; i++)
		buf_add(&b, costs.dummy[i]);
	r = b.err ? b.err : add(cm, RS_KEY_META, "", &b);
	free(b.p);
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
	size_t nlen = strlen(name) + 1;
	struct buf n = {(char *)name, nlen, nlen, 0};
	struct buf v = {(char *)rec, len, len, 0};
	int r = addu(cm, RS_KEY_SECIDX, idx, &n);

	return r ? r : add(cm, RS_KEY_SECNAM, name, &v);
}

struct secrets_ctx {
	const struct rs_secrets_data *d;
	uint64_t generation;
};

static int fill_secrets(struct cdb_make *cm, const void *vctx)
{
	const struct secrets_ctx *ctx = vctx;
	const struct rs_secrets_data *d = ctx->d;
	struct rs_costs_tally tally = {0};
	char rec[REC_MAX];
	size_t i;
	int r = 0, n;

	if (d->n && !d->rec)
		return -EINVAL;
	for (i = 0; r == 0 && i < d->n; i++) {
		n = encode_costed(&d->rec[i], rec, sizeof(rec), &tally);
		if (n < 0)
			return n;
		r = add_secret(cm, d->rec[i].name, i, rec, (size_t)n);
	}
	return r ? r : add_secrets_meta(cm, ctx->generation, d->n, &tally);
}

int rs_store_write_secrets(struct rs_store_w *w, const struct rs_secrets_data *d,
                           uint64_t generation, gid_t gid)
{
	struct secrets_ctx ctx = {d, generation};

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
	int r = 0;

	for (uint32_t i = 0; r == 0 && i < n; i++) {
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
			rn = encode_costed(&parsed, rec, sizeof(rec), t);
			if (rn < 0)
				return rn;
			len = (size_t)rn;
			found += k < ctx->nchanged;
		}
		r = add_secret(cm, rec, i, rec, len);
	}
	if (r == 0)
		r = add_secrets_meta(cm, ctx->generation, n, &tally);
	/* A changed record that was not there would be silently dropped. */
	return r == 0 && found != ctx->nchanged ? -ENOENT : r;
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
	const struct rs_map *m;
	uint32_t i;
	int r;

	memset(out, 0, sizeof(*out));
	*generation = 0;
	r = rs_store_init(&s, dir, RS_SECRETS_FILE);
	if (r < 0)
		return r;
	r = rs_store_acquire(&s, &m, why, whylen);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*generation = m->meta.generation;
	if (m->meta.count[0] > 0) {
		out->rec = calloc(m->meta.count[0], sizeof(*out->rec));
		if (!out->rec)
			r = -ENOMEM;
	}
	for (i = 0; r == 0 && i < m->meta.count[0]; i++) {
		r = rs_map_secret_by_index(m, i, &out->rec[i]);
		if (r == 0)
			r = -EPROTO; /* the header promised this record */
		else if (r == 1)
			r = 0;
	}
	if (r == 0)
		out->n = m->meta.count[0];
	else if (why && whylen)
		(void)snprintf(why, whylen, "%s/%s: damaged record", dir, RS_SECRETS_FILE);
	rs_store_release(&s, m);
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
