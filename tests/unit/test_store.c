/*
 * The store (ARCHITECTURE.md, contract §2): writer and reader round trips, modes and owners, the
 * mapping kept across calls and replaced when the file is, unsafe and malformed files refused
 * with the documented errno and a reason, the store lock, and the crash-safe write
 * recipe proved at each of its fault points (failure and SIGKILL).
 *
 * Runs as root (like CI): every store lives in a fresh 0755 directory under /tmp.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "record.h"
#include "safefile.h"
#include "secret.h"
#include "store_read.h"
#include "store_write.h"
#include "unit_util.h"

#define TEMP_PREFIX_SECRETS  "." RS_SECRETS_FILE "."
#define TEMP_PREFIX_ACCOUNTS "." RS_ACCOUNTS_FILE "."

struct fx {
	char dir[64]; /* the store directory */
	char aux[64]; /* scratch space outside the store: logs, link targets */
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !ut_mkdtemp(f->dir, sizeof(f->dir)) || !ut_mkdtemp(f->aux, sizeof(f->aux)))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unsetenv("ROTSEC_FAULT");
	unsetenv("ROTSEC_FAULT_FAIL");
	unsetenv("ROTSEC_FAULT_LOG");
	ut_rm_rf(f->dir);
	ut_rm_rf(f->aux);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return rs_crypto_init();
}

static const char *in_dir(struct fx *f, const char *name)
{
	(void)snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* ---- building and writing stores ----------------------------------------------------- */

static void hash_of(const char *pw, char out[RS_HASH_MAX])
{
	assert_int_equal(rs_hash_secret(pw, strlen(pw), 200.0, RS_COST_INTERACTIVE, out), 0);
}

/* Hashed as rotsec hashes a new secret of account r, with its salt (secret.h). */
static void hash_like(const char *pw, const struct rs_secret_rec *r, char out[RS_HASH_MAX])
{
	assert_int_equal(rs_hash_secret_like(pw, strlen(pw), 200.0, RS_COST_INTERACTIVE, r, out),
	                 0);
}

/* The header's dummy of stores of format 1 and 2, written by hand below. */
#define OLD_DUMMY                                                                                  \
	"$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

static void make_rec(struct rs_secret_rec *r, size_t i, uint64_t gen)
{
	char pw[64];

	memset(r, 0, sizeof(*r));
	(void)snprintf(r->name, sizeof(r->name), "svc-%zu", i);
	r->uid = 60001 + (uint32_t)i;
	r->generation = gen;
	(void)snprintf(pw, sizeof(pw), "pw-%zu-%llu", i, (unsigned long long)gen);
	hash_of(pw, r->current);
	r->current_since = 1700000000 + (int64_t)gen;
	if (i % 2) {
		hash_like("previous", r, r->previous);
		r->previous_deadline = 1700003600;
		r->previous_limit = 1700086400;
		r->nrevoked = 1;
		hash_like("revoked", r, r->revoked[0]);
	}
}

static void make_secrets(struct rs_secrets_data *d, size_t n, uint64_t gen)
{
	memset(d, 0, sizeof(*d));
	d->rec = calloc(n ? n : 1, sizeof(*d->rec));
	assert_non_null(d->rec);
	d->n = n;
	for (size_t i = 0; i < n; i++)
		make_rec(&d->rec[i], i, gen);
}

static int write_secrets(const char *dir, size_t n, uint64_t gen, gid_t gid)
{
	struct rs_secrets_data d;
	struct rs_store_w w;
	char why[RS_WHY_MAX];
	int r;

	make_secrets(&d, n, gen);
	r = rs_store_w_open(dir, 1000, &w, why, sizeof(why));
	if (r == 0) {
		r = rs_store_write_secrets(&w, &d, gen, gid);
		rs_store_w_close(&w);
	}
	rs_secrets_data_free(&d);
	return r;
}

struct accounts {
	struct rs_store_account acc[3];
	struct rs_store_group grp[2];
	uint32_t sup[2];
	char members[2][RS_NAME_MAX + 1];
	struct rs_accounts_data d;
};

static void make_accounts(struct accounts *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < 3; i++) {
		struct rs_store_account *x = &a->acc[i];

		(void)snprintf(x->name, sizeof(x->name), "svc-%zu", i);
		x->uid = 60001 + (uint32_t)i;
		x->gid = 60000;
		(void)snprintf(x->gecos, sizeof(x->gecos), "Service %zu", i);
		(void)snprintf(x->home, sizeof(x->home), "/var/lib/svc-%zu", i);
		(void)snprintf(x->shell, sizeof(x->shell), "/usr/sbin/nologin");
	}
	a->sup[0] = 60010;
	a->sup[1] = 60011;
	a->acc[1].sup_gids = a->sup;
	a->acc[1].nsup = 2;
	(void)snprintf(a->grp[0].name, sizeof(a->grp[0].name), "svc");
	a->grp[0].gid = 60000;
	(void)snprintf(a->members[0], sizeof(a->members[0]), "svc-1");
	(void)snprintf(a->members[1], sizeof(a->members[1]), "svc-2");
	a->grp[0].members = a->members;
	a->grp[0].nmembers = 2;
	(void)snprintf(a->grp[1].name, sizeof(a->grp[1].name), "svc-extra");
	a->grp[1].gid = 60010;
	a->d.acc = a->acc;
	a->d.nacc = 3;
	a->d.grp = a->grp;
	a->d.ngrp = 2;
}

static int write_accounts_data(const char *dir, const struct rs_accounts_data *d, uint64_t gen)
{
	struct rs_store_w w;
	char why[RS_WHY_MAX];
	int r = rs_store_w_open(dir, 1000, &w, why, sizeof(why));

	if (r == 0) {
		r = rs_store_write_accounts(&w, d, gen);
		rs_store_w_close(&w);
	}
	return r;
}

static int write_accounts(const char *dir, uint64_t gen)
{
	struct accounts a;

	make_accounts(&a);
	return write_accounts_data(dir, &a.d, gen);
}

/* Open DIR/FILE as a reader would: the error, and the reason in `why`. */
static int acquire_once(const char *dir, const char *file, char *why, size_t whylen, uint64_t *gen)
{
	struct rs_store s;
	const struct rs_map *m;
	int r;

	why[0] = '\0';
	assert_int_equal(rs_store_init(&s, dir, file), 0);
	r = rs_store_acquire(&s, &m, why, whylen);
	if (r == 0) {
		if (gen)
			*gen = m->meta.generation;
		rs_store_release(&s, m);
	}
	rs_store_close(&s);
	return r;
}

/* Assert that the secrets store is refused with `err` and a reason mentioning `what`. */
static void assert_refused(const char *dir, const char *file, int err, const char *what)
{
	char why[RS_WHY_MAX];
	int r = acquire_once(dir, file, why, sizeof(why), NULL);

	if (r != err)
		fail_msg("expected %d (%s), got %d (%s); why: %s", err, strerror(-err), r,
		         strerror(-r), why);
	if (!why[0])
		fail_msg("no reason given for %s", strerror(-err));
	if (what && !strstr(why, what))
		fail_msg("reason \"%s\" does not mention \"%s\"", why, what);
}

/* Write a CDB file by hand, for headers the writer would never produce. */
static void write_raw_cdb(const char *path, const char *const *kv, size_t n, const size_t *vlen)
{
	struct cdb_make cm;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(cdb_make_start(&cm, fd), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cdb_make_add(&cm, kv[2 * i], (unsigned)strlen(kv[2 * i]),
		                              kv[2 * i + 1], (unsigned)vlen[i]),
		                 0);
	assert_int_equal(cdb_make_finish(&cm), 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
}

/* ---- round trips ------------------------------------------------------------------- */

/* rs_store_acquire_for is rs_store_acquire with a hint: the same mapping whatever the key;
 * rs_map_key makes keys of every length that fits and refuses (0) the longer ones, which
 * rs_map_lookup then finds nowhere. */
static void acquire_for_a_key_is_acquire_and_long_keys_are_not_there(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *m, *m2;
	const char *v;
	size_t vlen, klen;
	char k[RS_KEY_MAX + 8], key[RS_KEY_MAX];

	assert_int_equal(write_accounts(f->dir, 3), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_ACCOUNTS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	for (size_t n = 0; n < sizeof(k); n++) {
		memset(k, 'a', n);
		k[n] = '\0';
		klen = rs_map_key(key, RS_KEY_PWNAM, k);
		assert_int_equal(
		        klen, strlen(RS_KEY_PWNAM) + n < RS_KEY_MAX ? strlen(RS_KEY_PWNAM) + n : 0);
		if (klen) {
			assert_memory_equal(key, RS_KEY_PWNAM, strlen(RS_KEY_PWNAM));
			assert_string_equal(key + strlen(RS_KEY_PWNAM), k);
		}
		assert_int_equal(rs_store_acquire_for(&s, key, klen, &m2, NULL, 0), 0);
		assert_ptr_equal(m2, m);
		assert_int_equal(rs_map_lookup(m2, RS_KEY_PWNAM, k, &v, &vlen), 0);
		rs_store_release(&s, m2);
	}
	klen = rs_map_key(key, RS_KEY_PWNAM, "svc-1");
	assert_int_equal(rs_store_acquire_for(&s, key, klen, &m2, NULL, 0), 0);
	assert_int_equal(rs_map_find(m2, key, klen, &v, &vlen), 1);
	rs_store_release(&s, m2);
	rs_store_release(&s, m);
	rs_store_close(&s);
}

static void accounts_are_read_back_by_name_by_id_and_by_index(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *m;
	const char *v;
	size_t vlen, n;
	struct rs_pw_view pw;
	struct rs_gr_view gr;
	uint32_t gids[4];

	assert_int_equal(write_accounts(f->dir, 7), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_ACCOUNTS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.version, RS_FORMAT_VERSION);
	assert_int_equal(m->meta.generation, 7);
	assert_int_equal(m->meta.count[0], 3);
	assert_int_equal(m->meta.count[1], 2);

	assert_int_equal(rs_map_lookup(m, RS_KEY_PWNAM, "svc-1", &v, &vlen), 1);
	assert_int_equal(rs_parse_passwd(v, vlen, &pw), 0);
	assert_string_equal(pw.name, "svc-1");
	assert_int_equal(pw.uid, 60002);
	assert_int_equal(pw.gid, 60000);
	assert_string_equal(pw.gecos, "Service 1");
	assert_string_equal(pw.home, "/var/lib/svc-1");
	assert_string_equal(pw.shell, "/usr/sbin/nologin");

	assert_int_equal(rs_map_lookup(m, RS_KEY_PWUID, "60003", &v, &vlen), 1);
	assert_int_equal(rs_parse_passwd(v, vlen, &pw), 0);
	assert_string_equal(pw.name, "svc-2");
	for (uint32_t i = 0; i < 3; i++) {
		char k[16];

		(void)snprintf(k, sizeof(k), "%u", i);
		assert_int_equal(rs_map_lookup(m, RS_KEY_PWIDX, k, &v, &vlen), 1);
		assert_int_equal(rs_parse_passwd(v, vlen, &pw), 0);
		assert_int_equal(pw.uid, 60001 + i);
	}
	assert_int_equal(rs_map_lookup(m, RS_KEY_PWIDX, "3", &v, &vlen), 0);
	assert_int_equal(rs_map_lookup(m, RS_KEY_PWNAM, "nobody", &v, &vlen), 0);
	assert_int_equal(rs_map_lookup(m, RS_KEY_PWUID, "0", &v, &vlen), 0);

	assert_int_equal(rs_map_lookup(m, RS_KEY_GRNAM, "svc", &v, &vlen), 1);
	assert_int_equal(rs_parse_group(v, vlen, &gr), 0);
	assert_int_equal(gr.gid, 60000);
	assert_int_equal(gr.nmembers, 2);
	assert_string_equal(gr.members, "svc-1");
	assert_int_equal(rs_map_lookup(m, RS_KEY_GRGID, "60010", &v, &vlen), 1);
	assert_int_equal(rs_parse_group(v, vlen, &gr), 0);
	assert_string_equal(gr.name, "svc-extra");
	assert_int_equal(gr.nmembers, 0);
	assert_int_equal(rs_map_lookup(m, RS_KEY_GRIDX, "1", &v, &vlen), 1);
	assert_int_equal(rs_map_lookup(m, RS_KEY_GRIDX, "2", &v, &vlen), 0);

	assert_int_equal(rs_map_lookup(m, RS_KEY_INITGR, "svc-1", &v, &vlen), 1);
	assert_int_equal(rs_parse_gids(v, vlen, gids, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(gids[0], 60010);
	assert_int_equal(gids[1], 60011);
	assert_int_equal(rs_map_lookup(m, RS_KEY_INITGR, "svc-0", &v, &vlen), 1);
	assert_int_equal(rs_parse_gids(v, vlen, gids, 4, &n), 0);
	assert_int_equal(n, 0);

	rs_store_release(&s, m);
	rs_store_close(&s);
}

static void secrets_are_read_back_by_name_and_by_index(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data want;
	struct rs_secret_rec rec;
	struct rs_store s;
	const struct rs_map *m;

	make_secrets(&want, 4, 3);
	{
		struct rs_store_w w;

		assert_int_equal(rs_store_w_open(f->dir, 0, &w, NULL, 0), 0);
		assert_int_equal(rs_store_write_secrets(&w, &want, 9, 0), 0);
		rs_store_w_close(&w);
	}
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.generation, 9);
	assert_int_equal(m->meta.count[0], 4);
	/* The profile of salted BLAKE2b records: one computation a login. */
	assert_int_equal(m->meta.version, RS_SECRETS_VERSION);
	assert_int_equal(m->meta.costs.n, 1);
	assert_non_null(strstr(m->meta.costs.dummy[0], "$rotsec-b2b$"));
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(rs_map_secret_by_name(m, want.rec[i].name, &rec), 1);
		assert_memory_equal(&rec, &want.rec[i], sizeof(rec));
		assert_int_equal(rs_map_secret_by_index(m, (uint32_t)i, &rec), 1);
		assert_memory_equal(&rec, &want.rec[i], sizeof(rec));
	}
	assert_int_equal(rs_map_secret_by_name(m, "svc-9", &rec), 0);
	assert_int_equal(rs_map_secret_by_index(m, 4, &rec), 0);
	/* Keys longer than any key the writer makes are simply absent. */
	{
		char longname[200];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(rs_map_secret_by_name(m, longname, &rec), 0);
	}
	rs_store_release(&s, m);
	rs_store_close(&s);
	rs_secrets_data_free(&want);
}

/* A secrets.cdb by hand: a header of format VERSION and generation GEN counting N
 * accounts with DUMMY, then NREC records given as key, value pairs and value lengths. */
static void write_raw_secrets(struct fx *f, unsigned version, uint64_t gen, size_t n,
                              const char *dummy, const char *const *kv, const size_t *vlen,
                              size_t nrec)
{
	enum { MAX = 20 };
	char meta[256];
	const char *all[2 * (MAX + 1)];
	size_t lens[MAX + 1];
	int ml = snprintf(meta, sizeof(meta), "%s%c%u%c%llu%c%zu%c%s", RS_SECRETS_MAGIC, 0, version,
	                  0, (unsigned long long)gen, 0, n, 0, dummy);

	assert_true(ml > 0 && (size_t)ml < sizeof(meta) && nrec <= MAX);
	all[0] = RS_KEY_META;
	all[1] = meta;
	lens[0] = (size_t)ml + 1;
	memcpy(all + 2, kv, 2 * nrec * sizeof(*kv));
	memcpy(lens + 1, vlen, nrec * sizeof(*vlen));
	write_raw_cdb(in_dir(f, RS_SECRETS_FILE), all, nrec + 1, lens);
}

/* A secret record encoded into buf; its length. */
static size_t encoded(const struct rs_secret_rec *rec, char *buf, size_t len)
{
	int n = rs_encode_secret(rec, buf, len);

	assert_true(n > 0);
	return (size_t)n;
}

/* A secrets.cdb of format 1, as the first writers made it: every record under "sn:NAME"
 * and again under "s#INDEX". */
static void write_v1_secrets(struct fx *f, const struct rs_secrets_data *d, uint64_t gen)
{
	char keys[2 * 8][RS_KEY_MAX], recs[8][4096];
	const char *kv[2 * 2 * 8];
	size_t vlen[2 * 8], n = 0;

	assert_true(d->n <= 8);
	for (size_t i = 0; i < d->n; i++) {
		size_t rl = encoded(&d->rec[i], recs[i], sizeof(recs[i]));

		(void)snprintf(keys[2 * i], RS_KEY_MAX, "%s%s", RS_KEY_SECNAM, d->rec[i].name);
		(void)snprintf(keys[2 * i + 1], RS_KEY_MAX, "%s%zu", RS_KEY_SECIDX, i);
		for (size_t k = 0; k < 2; k++) {
			kv[2 * n] = keys[2 * i + k];
			kv[2 * n + 1] = recs[i];
			vlen[n++] = rl;
		}
	}
	write_raw_secrets(f, 1, gen, d->n, OLD_DUMMY, kv, vlen, n);
}

static void a_format_1_secrets_file_is_read_and_rewritten_as_format_3(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data want;
	struct rs_secret_rec rec, changed;
	struct rs_store_w w;
	struct rs_atomic staged;
	struct rs_store s;
	const struct rs_map *m;
	struct stat st1, st2;
	uint32_t hint = 0;

	make_secrets(&want, 4, 3);
	write_v1_secrets(f, &want, 5);
	assert_int_equal(stat(in_dir(f, RS_SECRETS_FILE), &st1), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.version, 1);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(rs_map_secret_at_index(m, i, &hint, &rec), 1);
		assert_memory_equal(&rec, &want.rec[i], sizeof(rec));
	}
	/* A rotation of svc-2 rewrites it as format 3: the same records, smaller. */
	changed = want.rec[2];
	changed.generation++;
	assert_int_equal(rs_store_w_open(f->dir, 1000, &w, NULL, 0), 0);
	assert_int_equal(rs_store_stage_secrets(&w, m, &changed, 1, 6, 0, &staged), 0);
	assert_int_equal(rs_atomic_commit(&staged), 0);
	rs_store_w_close(&w);
	rs_store_release(&s, m);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.version, RS_SECRETS_VERSION);
	assert_int_equal(m->meta.generation, 6);
	want.rec[2] = changed;
	hint = 0;
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(rs_map_secret_at_index(m, i, &hint, &rec), 1);
		assert_memory_equal(&rec, &want.rec[i], sizeof(rec));
		assert_int_equal(rs_map_secret_by_name(m, want.rec[i].name, &rec), 1);
		assert_memory_equal(&rec, &want.rec[i], sizeof(rec));
	}
	assert_int_equal(rs_map_secret_at_index(m, 4, &hint, &rec), 0);
	rs_store_release(&s, m);
	rs_store_close(&s);
	assert_int_equal(stat(in_dir(f, RS_SECRETS_FILE), &st2), 0);
	assert_true(st2.st_size < st1.st_size);
	rs_secrets_data_free(&want);
}

/* Format 2's index entries hold a name; one that is not a valid name, or names no record,
 * is damage, not the end of the enumeration. */
static void a_format_2_index_entry_naming_no_record_is_malformed(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data d;
	struct rs_secret_rec rec;
	char r0[4096], r1[4096];
	static const char *const bad[] = {"svc-9", "../x", "", "svc-0\nx"};
	size_t l0, l1;

	make_secrets(&d, 2, 3);
	l0 = encoded(&d.rec[0], r0, sizeof(r0));
	l1 = encoded(&d.rec[1], r1, sizeof(r1));
	for (size_t b = 0; b <= sizeof(bad) / sizeof(bad[0]); b++) {
		/* The bad names, then last an entry naming svc-0 whose record under sn:svc-0 is
		 * svc-1's: never handed out as svc-0's, by either way of finding it. */
		bool last = b == sizeof(bad) / sizeof(bad[0]);
		const char *kv[] = {RS_KEY_SECIDX "0", last ? "svc-0" : bad[b],
		                    RS_KEY_SECNAM "svc-0", last ? r1 : r0};
		size_t vlen[] = {strlen(kv[1]) + 1, last ? l1 : l0};
		struct rs_store s;
		const struct rs_map *m;
		const char *val;
		size_t len;
		uint32_t hint = 0;

		write_raw_secrets(f, 2, 1, 1, OLD_DUMMY, kv, vlen, 2);
		assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
		assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
		assert_int_equal(rs_map_secret_at_index(m, 0, &hint, &rec), -EPROTO);
		hint = 0;
		assert_int_equal(rs_map_secret_raw_at_index(m, 0, &hint, true, &val, &len),
		                 -EPROTO);
		/* by name, the record itself parses (svc-1's, in the last case) */
		assert_int_equal(rs_map_secret_by_name(m, "svc-0", &rec), last ? -EPROTO : 1);
		rs_store_release(&s, m);
		rs_store_close(&s);
	}
	rs_secrets_data_free(&d);
}

/* A file holding sn:svc-0 twice (no writer makes one): the store writer carries forward
 * the record a lookup by name finds, the one PAM accepts, not the one after the index. */
/*
 * A format 2 store, as rotsec wrote it before salts were kept: each hash its own salt.
 * The first write after the upgrade (here a rotation of another account) makes it format
 * 3: the tripwires that no computation of a login covers are dropped, the current and
 * previous hashes kept (the previous one works to the end of its grace), and the profile
 * counts BLAKE2b twice while an account has a previous hash of another salt; once that
 * previous secret has left (here: revoked), once.
 */
static void a_format_2_store_is_rewritten_with_its_costs_and_without_foreign_tripwires(void **state)
{
	struct fx *f = *state;
	struct rs_secret_rec old = {.name = "svc-0", .uid = 60001, .generation = 4};
	struct rs_secret_rec fresh, rec;
	char r0[4096], r1[4096];
	struct rs_store_w w;
	struct rs_atomic staged;
	struct rs_store s;
	const struct rs_map *m;

	hash_of("current", old.current);
	hash_of("previous", old.previous);
	old.previous_deadline = old.previous_limit = 1700003600;
	hash_of("revoked-1", old.revoked[0]);
	hash_of("revoked-2", old.revoked[1]);
	old.nrevoked = 2;
	make_rec(&fresh, 1, 3); /* salts kept: current, previous, one tripwire */
	{
		const char *kv[] = {RS_KEY_SECIDX "0", "svc-0", RS_KEY_SECNAM "svc-0", r0,
		                    RS_KEY_SECIDX "1", "svc-1", RS_KEY_SECNAM "svc-1", r1};
		size_t vlen[] = {sizeof("svc-0"), encoded(&old, r0, sizeof(r0)), sizeof("svc-1"),
		                 encoded(&fresh, r1, sizeof(r1))};

		write_raw_secrets(f, 2, 1, 2, OLD_DUMMY, kv, vlen, 4);
	}
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.version, 2);
	assert_int_equal(m->meta.costs.n, 2); /* the dummy, twice */
	fresh.generation++;
	assert_int_equal(rs_store_w_open(f->dir, 1000, &w, NULL, 0), 0);
	assert_int_equal(rs_store_stage_secrets(&w, m, &fresh, 1, 2, 0, &staged), 0);
	assert_int_equal(rs_atomic_commit(&staged), 0);
	rs_store_release(&s, m);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.version, 3);
	assert_int_equal(m->meta.costs.n, 2);
	assert_int_equal(rs_map_secret_by_name(m, "svc-0", &rec), 1);
	assert_string_equal(rec.current, old.current);
	assert_string_equal(rec.previous, old.previous);
	assert_int_equal(rec.nrevoked, 0);
	assert_int_equal(rs_map_secret_by_name(m, "svc-1", &rec), 1);
	assert_memory_equal(&rec, &fresh, sizeof(rec));

	/* The grace of svc-0's previous secret over: revoked, as the engine does it. It has
	 * a salt of its own, so it cannot be kept as a tripwire at no cost. */
	old.nrevoked = 1;
	memcpy(old.revoked[0], old.previous, RS_HASH_MAX);
	old.previous[0] = '\0';
	old.previous_deadline = old.previous_limit = 0;
	assert_int_equal(rs_store_stage_secrets(&w, m, &old, 1, 3, 0, &staged), 0);
	assert_int_equal(rs_atomic_commit(&staged), 0);
	rs_store_w_close(&w);
	rs_store_release(&s, m);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.costs.n, 1);
	assert_int_equal(rs_map_secret_by_name(m, "svc-0", &rec), 1);
	assert_int_equal(rec.nrevoked, 0);
	rs_store_release(&s, m);
	rs_store_close(&s);
}

/* The header lists one computation per class of the store, sorted, whatever the order of
 * the accounts: a mixed store costs one BLAKE2b and one Argon2id computation a login. */
static void the_header_lists_one_computation_per_class_of_the_store(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data d;
	struct rs_store_w w;
	struct rs_store s;
	const struct rs_map *m;
	struct rs_hash_view v;

	make_secrets(&d, 3, 1);
	assert_int_equal(rs_hash_secret("short", 5, 20.0, RS_COST_INTERACTIVE, d.rec[0].current),
	                 0);
	d.rec[0].previous[0] = '\0';
	d.rec[0].nrevoked = 0;
	assert_int_equal(rs_store_w_open(f->dir, 1000, &w, NULL, 0), 0);
	assert_int_equal(rs_store_write_secrets(&w, &d, 2, 0), 0);
	rs_store_w_close(&w);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.costs.n, 2);
	assert_int_equal(rs_hash_view(m->meta.costs.dummy[0], &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_B2B);
	assert_int_equal(rs_hash_view(m->meta.costs.dummy[1], &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_ARGON2ID);
	assert_int_equal(v.cls.mem_kib, crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024);
	rs_store_release(&s, m);
	rs_store_close(&s);
	rs_secrets_data_free(&d);
}

static void a_name_held_twice_is_carried_forward_as_pam_sees_it(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data d;
	struct rs_secret_rec pam, other, rec;
	char ra[4096], rb[4096];
	struct rs_store_w w;
	struct rs_atomic staged;
	struct rs_store s;
	const struct rs_map *m;
	uint32_t hint = 0;

	make_secrets(&d, 1, 3);
	pam = d.rec[0];
	other = d.rec[0];
	other.generation = 9;
	{
		/* The by-name record first (cdb_find returns the first added), then the index
		 * entry and, right after it, the other copy. */
		const char *kv[] = {RS_KEY_SECNAM "svc-0", ra, RS_KEY_SECIDX "0", "svc-0",
		                    RS_KEY_SECNAM "svc-0", rb};
		size_t vlen[] = {encoded(&pam, ra, sizeof(ra)), sizeof("svc-0"),
		                 encoded(&other, rb, sizeof(rb))};

		write_raw_secrets(f, 2, 1, 1, OLD_DUMMY, kv, vlen, 3);
	}
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(rs_map_secret_by_name(m, "svc-0", &rec), 1);
	assert_int_equal(rec.generation, pam.generation);
	assert_int_equal(rs_store_w_open(f->dir, 1000, &w, NULL, 0), 0);
	assert_int_equal(rs_store_stage_secrets(&w, m, NULL, 0, 2, 0, &staged), 0);
	assert_int_equal(rs_atomic_commit(&staged), 0);
	rs_store_w_close(&w);
	rs_store_release(&s, m);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(rs_map_secret_by_name(m, "svc-0", &rec), 1);
	assert_int_equal(rec.generation, pam.generation);
	assert_int_equal(rs_map_secret_at_index(m, 0, &hint, &rec), 1);
	assert_int_equal(rec.generation, pam.generation);
	rs_store_release(&s, m);
	rs_store_close(&s);
	rs_secrets_data_free(&d);
}

static void loading_secrets_returns_every_record_with_its_generation(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data want, got;
	uint64_t gen = 0;

	assert_int_equal(write_secrets(f->dir, 5, 12, 0), 0);
	make_secrets(&want, 5, 12);
	assert_int_equal(rs_store_load_secrets(f->dir, &got, &gen, NULL, 0), 0);
	assert_int_equal(gen, 12);
	assert_int_equal(got.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(got.rec[i].name, want.rec[i].name);
		assert_int_equal(got.rec[i].uid, want.rec[i].uid);
		assert_int_equal(got.rec[i].nrevoked, want.rec[i].nrevoked);
	}
	rs_secrets_data_free(&got);
	rs_secrets_data_free(&want);
	assert_null(got.rec);
	assert_int_equal(got.n, 0);
}

static void an_empty_secrets_store_round_trips(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data got;
	uint64_t gen = 0;

	assert_int_equal(write_secrets(f->dir, 0, 1, 0), 0);
	assert_int_equal(rs_store_load_secrets(f->dir, &got, &gen, NULL, 0), 0);
	assert_int_equal(gen, 1);
	assert_int_equal(got.n, 0);
	rs_secrets_data_free(&got);
}

static void a_missing_store_loads_as_empty_with_generation_zero(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data got;
	uint64_t gen = 99;

	assert_int_equal(rs_store_load_secrets(f->dir, &got, &gen, NULL, 0), 0);
	assert_int_equal(gen, 0);
	assert_int_equal(got.n, 0);
	assert_null(got.rec);
	gen = 99;
	assert_int_equal(rs_store_accounts_generation(f->dir, &gen, NULL, 0), 0);
	assert_int_equal(gen, 0);
}

static void each_write_carries_its_generation(void **state)
{
	struct fx *f = *state;
	uint64_t gen = 0;
	char why[RS_WHY_MAX];

	for (uint64_t g = 1; g <= 3; g++) {
		assert_int_equal(write_accounts(f->dir, g * 10), 0);
		assert_int_equal(rs_store_accounts_generation(f->dir, &gen, NULL, 0), 0);
		assert_int_equal(gen, g * 10);
		assert_int_equal(write_secrets(f->dir, 2, g, 0), 0);
		assert_int_equal(acquire_once(f->dir, RS_SECRETS_FILE, why, sizeof(why), &gen), 0);
		assert_int_equal(gen, g);
	}
	assert_int_equal(write_accounts(f->dir, UINT64_MAX), 0);
	assert_int_equal(rs_store_accounts_generation(f->dir, &gen, NULL, 0), 0);
	assert_true(gen == UINT64_MAX);
}

/* ---- modes and owners -------------------------------------------------------------- */

static void check_mode(struct fx *f, const char *file, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	assert_int_equal(lstat(in_dir(f, file), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != mode)
		fail_msg("%s has mode %04o, expected %04o", file, st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static void accounts_file_is_0644_root_and_secrets_file_0600_root_without_a_group(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(0077); /* the writer's modes do not depend on the umask */

	assert_int_equal(write_accounts(f->dir, 1), 0);
	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	umask(old);
	check_mode(f, RS_ACCOUNTS_FILE, 0644, 0, 0);
	check_mode(f, RS_SECRETS_FILE, 0600, 0, 0);
}

static void secrets_file_is_0640_with_the_rotsec_group(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_secrets(f->dir, 1, 1, 4242), 0);
	check_mode(f, RS_SECRETS_FILE, 0640, 0, 4242);
	/* Readable by that group is fine for a reader: only write bits are unsafe. */
	{
		char why[RS_WHY_MAX];

		assert_int_equal(acquire_once(f->dir, RS_SECRETS_FILE, why, sizeof(why), NULL), 0);
	}
	/* A later write without the group narrows it again. */
	assert_int_equal(write_secrets(f->dir, 1, 2, 0), 0);
	check_mode(f, RS_SECRETS_FILE, 0600, 0, 0);
}

/* ---- the mapping across calls ------------------------------------------------------ */

static void the_reader_reuses_its_mapping_while_the_file_is_unchanged(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *m1, *m2;

	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m1, NULL, 0), 0);
	rs_store_release(&s, m1);
	assert_int_equal(rs_store_acquire(&s, &m2, NULL, 0), 0);
	assert_ptr_equal(m1, m2);
	assert_int_equal(s.err, 0);
	rs_store_release(&s, m2);
	rs_store_close(&s);
}

static void the_reader_remaps_after_the_file_is_replaced(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *m;
	struct rs_secret_rec rec;
	ino_t ino;

	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	ino = m->ino;
	assert_int_equal(m->meta.generation, 1);
	rs_store_release(&s, m);

	assert_int_equal(write_secrets(f->dir, 3, 2, 0), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(m->meta.generation, 2);
	assert_true(m->ino != ino);
	assert_int_equal(rs_map_secret_by_name(m, "svc-2", &rec), 1);
	rs_store_release(&s, m);
	rs_store_close(&s);
}

static void an_old_mapping_stays_readable_while_a_new_one_is_mapped(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *old, *cur;
	struct rs_secret_rec rec;

	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &old, NULL, 0), 0);

	/* Replaced (and the old file unlinked) while the first reference is held. */
	assert_int_equal(write_secrets(f->dir, 3, 2, 0), 0);
	assert_int_equal(rs_store_acquire(&s, &cur, NULL, 0), 0);
	assert_ptr_not_equal(old, cur);
	assert_int_equal(cur->meta.generation, 2);
	assert_int_equal(rs_map_secret_by_name(cur, "svc-2", &rec), 1);

	/* The old one still answers from the old data (ASan would see a use after unmap). */
	assert_int_equal(old->meta.generation, 1);
	assert_int_equal(rs_map_secret_by_name(old, "svc-1", &rec), 1);
	assert_int_equal(rec.generation, 1);
	assert_int_equal(rs_map_secret_by_name(old, "svc-2", &rec), 0);

	/* Replaced again while both are held: three generations alive at once. */
	assert_int_equal(write_secrets(f->dir, 1, 3, 0), 0);
	{
		const struct rs_map *third;

		assert_int_equal(rs_store_acquire(&s, &third, NULL, 0), 0);
		assert_int_equal(third->meta.generation, 3);
		assert_int_equal(rs_map_secret_by_name(cur, "svc-2", &rec), 1);
		rs_store_release(&s, third);
	}
	rs_store_release(&s, old);
	rs_store_release(&s, cur);
	rs_store_close(&s);
}

struct race {
	struct rs_store *s;
	volatile int stop;
	unsigned long lookups, errors;
};

static void *reader_thread(void *arg)
{
	struct race *rc = arg;
	struct rs_secret_rec rec;

	while (!rc->stop) {
		const struct rs_map *m;

		if (rs_store_acquire(rc->s, &m, NULL, 0) != 0) {
			__atomic_add_fetch(&rc->errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		/* Every generation written below has svc-0 with its own generation. */
		if (rs_map_secret_by_name(m, "svc-0", &rec) != 1 ||
		    rec.generation != m->meta.generation)
			__atomic_add_fetch(&rc->errors, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&rc->lookups, 1, __ATOMIC_RELAXED);
		rs_store_release(rc->s, m);
	}
	return NULL;
}

static void readers_racing_replacements_see_old_or_new_data_never_a_torn_store(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	struct race rc = {&s, 0, 0, 0};
	pthread_t t[4];

	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader_thread, &rc), 0);
	for (uint64_t g = 2; g < 30; g++)
		assert_int_equal(write_secrets(f->dir, 2, g, 0), 0);
	rc.stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(rc.errors, 0);
	assert_true(rc.lookups > 0);
	rs_store_close(&s);
}

/* ---- unsafe and malformed files ---------------------------------------------------- */

static void a_symlinked_store_file_is_refused(void **state)
{
	struct fx *f = *state;
	char target[128];

	/* A perfectly valid store elsewhere, reached through a link. */
	assert_int_equal(write_secrets(f->aux, 1, 1, 0), 0);
	(void)snprintf(target, sizeof(target), "%s/%s", f->aux, RS_SECRETS_FILE);
	assert_int_equal(symlink(target, in_dir(f, RS_SECRETS_FILE)), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "symbolic link");
}

static void a_group_writable_store_file_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(chmod(in_dir(f, RS_SECRETS_FILE), 0620), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "writable");
}

static void a_world_writable_accounts_file_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_accounts(f->dir, 1), 0);
	assert_int_equal(chmod(in_dir(f, RS_ACCOUNTS_FILE), 0646), 0);
	assert_refused(f->dir, RS_ACCOUNTS_FILE, -EPERM, "writable");
}

static void a_group_writable_store_directory_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(chmod(f->dir, 0775), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, f->dir);
}

static void a_store_file_not_owned_by_root_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(chown(in_dir(f, RS_SECRETS_FILE), 12345, 0), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "not owned by root");
}

static void a_store_directory_not_owned_by_root_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(chown(f->dir, 12345, 12345), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "not owned by root");
}

static void a_fifo_in_place_of_the_store_is_refused_without_hanging(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkfifo(in_dir(f, RS_SECRETS_FILE), 0600), 0);
	/* If the reader blocked in open(2), SIGALRM would end the test program. */
	alarm(20);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "not a regular file");
	alarm(0);
}

static void a_directory_in_place_of_the_store_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkdir(in_dir(f, RS_SECRETS_FILE), 0755), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "not a regular file");
}

static void an_empty_store_file_is_refused_as_malformed(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ut_write_file(in_dir(f, RS_SECRETS_FILE), "", 0, 0600), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPROTO, RS_SECRETS_FILE);
}

static void a_truncated_store_file_is_refused_as_malformed(void **state)
{
	struct fx *f = *state;
	size_t len;
	char *buf;

	assert_int_equal(write_secrets(f->dir, 4, 1, 0), 0);
	buf = ut_read_file(in_dir(f, RS_SECRETS_FILE), &len);
	assert_non_null(buf);
	/* Cut in the table of contents, in the records, and at every byte of the hash
	 * tables at the end, including cuts that leave the header's table whole. */
	for (size_t cut = 1; cut < len; cut += cut < len - 600 ? 97 : 1) {
		assert_int_equal(ut_write_file(in_dir(f, RS_SECRETS_FILE), buf, cut, 0600), 0);
		assert_refused(f->dir, RS_SECRETS_FILE, -EPROTO, NULL);
	}
	free(buf);
}

/* xorshift64*: a fixed sequence, so that "random" inputs are the same on every run. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717ULL;
}

static void random_garbage_is_refused_as_malformed(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = {1, 100, 2047, 2048, 2049, 4096, 65536};
	char *buf = malloc(65536);

	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizes[i]; k++)
			buf[k] = (char)rnd();
		assert_int_equal(ut_write_file(in_dir(f, RS_SECRETS_FILE), buf, sizes[i], 0600), 0);
		assert_refused(f->dir, RS_SECRETS_FILE, -EPROTO, NULL);
	}
	free(buf);
}

static void a_store_file_larger_than_the_limit_is_refused(void **state)
{
	struct fx *f = *state;
	int fd;

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	/* Sparse: the test costs no disk space. */
	fd = open(in_dir(f, RS_SECRETS_FILE), O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RS_STORE_MAX_SIZE + 1), 0);
	close(fd);
	assert_refused(f->dir, RS_SECRETS_FILE, -EFBIG, "larger");
	/* Exactly at the limit it is no longer a question of size (zeros appended to a
	 * CDB file are a malformed file, not a large one). */
	fd = open(in_dir(f, RS_SECRETS_FILE), O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RS_STORE_MAX_SIZE), 0);
	close(fd);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPROTO, NULL);
}

static void a_store_file_with_the_wrong_magic_is_refused(void **state)
{
	struct fx *f = *state;
	char src[160], *buf;
	size_t len;

	/* accounts.cdb copied to secrets.cdb: a valid file of the wrong kind. */
	assert_int_equal(write_accounts(f->dir, 1), 0);
	(void)snprintf(src, sizeof(src), "%s/%s", f->dir, RS_ACCOUNTS_FILE);
	buf = ut_read_file(src, &len);
	assert_non_null(buf);
	assert_int_equal(ut_write_file(in_dir(f, RS_SECRETS_FILE), buf, len, 0600), 0);
	free(buf);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPROTO, "header");
	/* And the other way round. */
	assert_int_equal(write_secrets(f->aux, 1, 1, 0), 0);
	(void)snprintf(src, sizeof(src), "%s/%s", f->aux, RS_SECRETS_FILE);
	buf = ut_read_file(src, &len);
	assert_non_null(buf);
	assert_int_equal(ut_write_file(in_dir(f, RS_ACCOUNTS_FILE), buf, len, 0644), 0);
	free(buf);
	assert_refused(f->dir, RS_ACCOUNTS_FILE, -EPROTO, "header");
}

static void a_store_file_of_another_format_version_is_refused(void **state)
{
	struct fx *f = *state;
	static const char v2[] = RS_ACCOUNTS_MAGIC "\0"
	                                           "2\0"
	                                           "1\0"
	                                           "0\0"
	                                           "0";
	static const char v1[] = RS_ACCOUNTS_MAGIC "\0"
	                                           "1\0"
	                                           "1\0"
	                                           "0\0"
	                                           "0";
	static const char nometa[] = "x";
	const char *kv[2] = {RS_KEY_META, v2};
	size_t vlen = sizeof(v2);
	char why[RS_WHY_MAX];

	write_raw_cdb(in_dir(f, RS_ACCOUNTS_FILE), kv, 1, &vlen);
	assert_refused(f->dir, RS_ACCOUNTS_FILE, -EPROTO, "format 1");
	/* The same file with version 1 is fine: the refusal was the version. */
	kv[1] = v1;
	vlen = sizeof(v1);
	write_raw_cdb(in_dir(f, RS_ACCOUNTS_FILE), kv, 1, &vlen);
	assert_int_equal(acquire_once(f->dir, RS_ACCOUNTS_FILE, why, sizeof(why), NULL), 0);
	/* No header at all. */
	kv[0] = "pn:x";
	kv[1] = nometa;
	vlen = sizeof(nometa);
	write_raw_cdb(in_dir(f, RS_ACCOUNTS_FILE), kv, 1, &vlen);
	assert_refused(f->dir, RS_ACCOUNTS_FILE, -EPROTO, "header");
}

static void a_header_promising_more_records_than_the_file_holds_is_refused(void **state)
{
	struct fx *f = *state;
	char dummy[RS_HASH_MAX], meta[512];
	const char *kv[2] = {RS_KEY_META, meta};
	size_t vlen;
	struct rs_secrets_data got;
	uint64_t gen;

	/* 4 billion accounts in a file of a few kilobytes: loading it must not try to
	 * allocate terabytes (under ASan that alone aborts the program). */
	hash_of("dummy", dummy);
	vlen = (size_t)snprintf(meta, sizeof(meta), "%s%c1%c1%c4000000000%c%s", RS_SECRETS_MAGIC, 0,
	                        0, 0, 0, dummy) +
	       1;
	write_raw_cdb(in_dir(f, RS_SECRETS_FILE), kv, 1, &vlen);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPROTO, "header");
	assert_int_equal(rs_store_load_secrets(f->dir, &got, &gen, NULL, 0), -EPROTO);
	assert_null(got.rec);
}

static void a_header_promising_a_missing_record_fails_the_load(void **state)
{
	struct fx *f = *state;
	char dummy[RS_HASH_MAX], meta[512], why[RS_WHY_MAX];
	const char *kv[2] = {RS_KEY_META, meta};
	size_t vlen;
	struct rs_secrets_data got;
	uint64_t gen;

	hash_of("dummy", dummy);
	vlen = (size_t)snprintf(meta, sizeof(meta), "%s%c1%c1%c2%c%s", RS_SECRETS_MAGIC, 0, 0, 0, 0,
	                        dummy) +
	       1;
	write_raw_cdb(in_dir(f, RS_SECRETS_FILE), kv, 1, &vlen);
	why[0] = '\0';
	assert_int_equal(rs_store_load_secrets(f->dir, &got, &gen, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "damaged"));
	assert_null(got.rec);
	assert_int_equal(got.n, 0);
}

/*
 * cp over a store instead of a rename truncates it in place. A reader holding it (an
 * enumeration's snapshot, a thread between the check and the lookup) keeps reading what
 * it read: the reader holds a copy, not a mapping whose pages the truncation would take
 * away (SIGBUS). The next acquire sees the change and refuses the half-written file.
 */
static void a_store_truncated_in_place_under_a_reader_leaves_its_copy_whole(void **state)
{
	struct fx *f = *state;
	struct rs_secret_rec rec;
	struct rs_store s;
	const struct rs_map *m;
	char *buf;
	size_t len;
	int fd;

	assert_int_equal(write_secrets(f->dir, 8, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	buf = ut_read_file(in_dir(f, RS_SECRETS_FILE), &len);
	assert_non_null(buf);
	fd = open(in_dir(f, RS_SECRETS_FILE), O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, 100), 100);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(rs_map_secret_by_index(m, i, &rec), 1);
	rs_store_release(&s, m);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), -EPROTO);
	/* written whole again, in place: read again */
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	close(fd);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(rs_map_secret_by_index(m, 7, &rec), 1);
	rs_store_release(&s, m);
	rs_store_close(&s);
	free(buf);
}

static void a_missing_store_file_or_directory_is_enoent(void **state)
{
	struct fx *f = *state;
	char missing[160];

	assert_refused(f->dir, RS_SECRETS_FILE, -ENOENT, RS_SECRETS_FILE);
	(void)snprintf(missing, sizeof(missing), "%s/nonexistent", f->dir);
	assert_refused(missing, RS_SECRETS_FILE, -ENOENT, "nonexistent");
}

static void a_relative_or_overlong_store_directory_is_refused_at_init(void **state)
{
	struct rs_store s;
	static char longdir[PATH_MAX + 10];

	(void)state;
	assert_int_equal(rs_store_init(&s, "var/lib/rotsec", RS_SECRETS_FILE), -EINVAL);
	assert_int_equal(rs_store_init(&s, "", RS_SECRETS_FILE), -EINVAL);
	assert_int_equal(rs_store_init(&s, NULL, RS_SECRETS_FILE), -EINVAL);
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[0] = '/';
	assert_int_equal(rs_store_init(&s, longdir, RS_SECRETS_FILE), -ENAMETOOLONG);
}

static void a_store_that_becomes_unsafe_is_refused_at_the_next_call(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *m;
	char why[RS_WHY_MAX];

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	rs_store_release(&s, m);
	/* chmod changes the ctime: the kept mapping is not trusted any more. */
	assert_int_equal(chmod(in_dir(f, RS_SECRETS_FILE), 0666), 0);
	assert_int_equal(rs_store_acquire(&s, &m, why, sizeof(why)), -EPERM);
	assert_int_equal(s.err, -EPERM);
	assert_non_null(strstr(why, "writable"));
	/* Fixed: served again. */
	assert_int_equal(chmod(in_dir(f, RS_SECRETS_FILE), 0600), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	assert_int_equal(s.err, 0);
	rs_store_release(&s, m);
	/* Removed: refused, not served from the old mapping. */
	assert_int_equal(unlink(in_dir(f, RS_SECRETS_FILE)), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), -ENOENT);
	rs_store_close(&s);
}

/* ---- ancestors (OpenSSH StrictModes) ----------------------------------------------- */

/* f->dir/open (mode `mode`)/store (0755), holding a valid secrets.cdb. */
static void nested_store(struct fx *f, mode_t mode, char *store, size_t len)
{
	char open_dir[128];

	(void)snprintf(open_dir, sizeof(open_dir), "%s/open", f->dir);
	assert_int_equal(mkdir(open_dir, 0755), 0);
	(void)snprintf(store, len, "%s/store", open_dir);
	assert_int_equal(mkdir(store, 0755), 0);
	assert_int_equal(write_secrets(store, 1, 1, 0), 0);
	assert_int_equal(chmod(open_dir, mode), 0);
}

static void an_ancestor_writable_by_others_without_sticky_bit_is_refused(void **state)
{
	struct fx *f = *state;
	char store[160];

	nested_store(f, 0777, store, sizeof(store));
	assert_refused(store, RS_SECRETS_FILE, -EPERM, "/open is writable");
}

static void an_ancestor_writable_by_group_without_sticky_bit_is_refused(void **state)
{
	struct fx *f = *state;
	char store[160];

	nested_store(f, 0775, store, sizeof(store));
	assert_refused(store, RS_SECRETS_FILE, -EPERM, "/open is writable");
}

static void an_ancestor_writable_by_others_with_sticky_bit_is_accepted(void **state)
{
	struct fx *f = *state;
	char store[160], why[RS_WHY_MAX];

	nested_store(f, 01777, store, sizeof(store));
	assert_int_equal(acquire_once(store, RS_SECRETS_FILE, why, sizeof(why), NULL), 0);
}

static void an_ancestor_not_owned_by_root_is_refused(void **state)
{
	struct fx *f = *state;
	char store[160], open_dir[128];

	nested_store(f, 0755, store, sizeof(store));
	(void)snprintf(open_dir, sizeof(open_dir), "%s/open", f->dir);
	assert_int_equal(chown(open_dir, 12345, 12345), 0);
	assert_refused(store, RS_SECRETS_FILE, -EPERM, "not owned by root");
}

static void the_store_directory_itself_may_not_be_sticky_and_world_writable(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(chmod(f->dir, 01777), 0);
	assert_refused(f->dir, RS_SECRETS_FILE, -EPERM, "writable");
}

static void a_store_directory_reached_through_a_symlink_is_judged_by_its_target(void **state)
{
	struct fx *f = *state;
	char link[160], store[160], why[RS_WHY_MAX];

	nested_store(f, 0755, store, sizeof(store));
	(void)snprintf(link, sizeof(link), "%s/link", f->aux);
	assert_int_equal(symlink(store, link), 0);
	assert_int_equal(acquire_once(link, RS_SECRETS_FILE, why, sizeof(why), NULL), 0);
	/* The resolved path is what is checked: an unsafe target is refused. */
	(void)snprintf(link, sizeof(link), "%s/open", f->dir);
	assert_int_equal(chmod(link, 0777), 0);
	(void)snprintf(link, sizeof(link), "%s/link", f->aux);
	assert_refused(link, RS_SECRETS_FILE, -EPERM, "/open is writable");
}

static void the_writer_refuses_an_unsafe_directory(void **state)
{
	struct fx *f = *state;
	struct rs_store_w w;
	char why[RS_WHY_MAX] = "";

	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(rs_store_w_open(f->dir, 0, &w, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "writable"));
	assert_int_equal(w.dirfd < 0 && w.lockfd < 0, 1);
	rs_store_w_close(&w);                             /* harmless after a failed open */
	assert_int_equal(ut_count_prefix(f->dir, ""), 2); /* "." and "..": nothing created */
}

/* ---- the store lock ---------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void the_store_lock_times_out_while_another_descriptor_holds_it(void **state)
{
	struct fx *f = *state;
	struct rs_store_w w1, w2;
	char why[RS_WHY_MAX] = "";
	double t0;

	assert_int_equal(rs_store_w_open(f->dir, 0, &w1, NULL, 0), 0);
	t0 = now_ms();
	assert_int_equal(rs_store_w_open(f->dir, 200, &w2, why, sizeof(why)), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 150.0);
	assert_non_null(strstr(why, "locked"));
	assert_int_equal(rs_store_w_open(f->dir, 0, &w2, NULL, 0), -ETIMEDOUT);
	rs_store_w_close(&w1);
	assert_int_equal(rs_store_w_open(f->dir, 0, &w2, NULL, 0), 0);
	rs_store_w_close(&w2);
	/* The lock file is root's alone. */
	{
		struct stat st;

		assert_int_equal(lstat(in_dir(f, RS_STORE_LOCK), &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
}

static void the_store_lock_is_taken_once_another_process_lets_go(void **state)
{
	struct fx *f = *state;
	struct rs_store_w w;
	int ready[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rs_store_w cw;
		struct timespec hold = {0, 300L * 1000 * 1000};

		if (rs_store_w_open(f->dir, 0, &cw, NULL, 0) != 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		nanosleep(&hold, NULL);
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(rs_store_w_open(f->dir, 0, &w, NULL, 0), -ETIMEDOUT);
	assert_int_equal(rs_store_w_open(f->dir, 5000, &w, NULL, 0), 0);
	rs_store_w_close(&w);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- crash safety: fault points ------------------------------------------------------ */

static const char *const fail_points[] = {"created", "write", "written", "synced"};
static const char *const all_points[] = {"created", "write",   "written",
                                         "synced",  "renamed", "dirsynced"};

static void every_step_of_a_store_write_passes_a_fault_point_in_order(void **state)
{
	struct fx *f = *state;
	char log[160], *got;
	size_t len;
	static const char want[] = "atomic.created:secrets.cdb\n"
	                           "store.memfd\n"
	                           "atomic.write:secrets.cdb\n"
	                           "atomic.written:secrets.cdb\n"
	                           "atomic.synced:secrets.cdb\n"
	                           "atomic.renamed:secrets.cdb\n"
	                           "atomic.dirsynced:secrets.cdb\n";

	(void)snprintf(log, sizeof(log), "%s/fault.log", f->aux);
	setenv("ROTSEC_FAULT_LOG", log, 1);
	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	unsetenv("ROTSEC_FAULT_LOG");
	got = ut_read_file(log, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* ROTSEC_FAULT_FAIL at `point` while replacing `file`: old file intact, no temp file. */
static void fail_at(struct fx *f, const char *file, const char *point)
{
	char env[128], *before, *after;
	size_t blen, alen;
	struct stat st0, st1;
	char prefix[64];
	int r;

	(void)snprintf(prefix, sizeof(prefix), ".%s.", file);
	before = ut_read_file(in_dir(f, file), &blen);
	assert_non_null(before);
	assert_int_equal(lstat(in_dir(f, file), &st0), 0);

	(void)snprintf(env, sizeof(env), "atomic.%s:%s", point, file);
	setenv("ROTSEC_FAULT_FAIL", env, 1);
	if (strcmp(file, RS_SECRETS_FILE) == 0)
		r = write_secrets(f->dir, 3, 2, 0);
	else
		r = write_accounts(f->dir, 2);
	unsetenv("ROTSEC_FAULT_FAIL");

	if (r != -EIO)
		fail_msg("%s at %s: expected -EIO, got %d", file, point, r);
	after = ut_read_file(in_dir(f, file), &alen);
	assert_non_null(after);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(lstat(in_dir(f, file), &st1), 0);
	assert_int_equal(st1.st_ino, st0.st_ino);
	if (ut_count_prefix(f->dir, prefix) != 0)
		fail_msg("%s at %s: a temp file was left behind", file, point);
	free(before);
	free(after);
}

static void a_failure_at_each_write_step_leaves_the_old_secrets_and_no_temp_file(void **state)
{
	struct fx *f = *state;
	char why[RS_WHY_MAX];
	uint64_t gen;

	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	for (size_t i = 0; i < sizeof(fail_points) / sizeof(fail_points[0]); i++)
		fail_at(f, RS_SECRETS_FILE, fail_points[i]);
	assert_int_equal(acquire_once(f->dir, RS_SECRETS_FILE, why, sizeof(why), &gen), 0);
	assert_int_equal(gen, 1);
	/* With no fault set, the same write goes through. */
	assert_int_equal(write_secrets(f->dir, 3, 2, 0), 0);
	assert_int_equal(acquire_once(f->dir, RS_SECRETS_FILE, why, sizeof(why), &gen), 0);
	assert_int_equal(gen, 2);
}

static void a_failure_at_each_write_step_leaves_the_old_accounts_and_no_temp_file(void **state)
{
	struct fx *f = *state;
	uint64_t gen;

	assert_int_equal(write_accounts(f->dir, 1), 0);
	for (size_t i = 0; i < sizeof(fail_points) / sizeof(fail_points[0]); i++)
		fail_at(f, RS_ACCOUNTS_FILE, fail_points[i]);
	assert_int_equal(rs_store_accounts_generation(f->dir, &gen, NULL, 0), 0);
	assert_int_equal(gen, 1);
}

static void a_failed_first_write_leaves_no_file_at_all(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(fail_points) / sizeof(fail_points[0]); i++) {
		char env[128];

		(void)snprintf(env, sizeof(env), "atomic.%s:%s", fail_points[i], RS_SECRETS_FILE);
		setenv("ROTSEC_FAULT_FAIL", env, 1);
		assert_int_equal(write_secrets(f->dir, 1, 1, 0), -EIO);
		unsetenv("ROTSEC_FAULT_FAIL");
		assert_int_equal(ut_count_prefix(f->dir, RS_SECRETS_FILE), 0);
		assert_int_equal(ut_count_prefix(f->dir, TEMP_PREFIX_SECRETS), 0);
	}
}

/* In a child: replace secrets.cdb with generation 2 and SIGKILL at `point`. */
static void kill_at(struct fx *f, const char *point)
{
	char env[128];
	int status;
	pid_t pid;

	(void)snprintf(env, sizeof(env), "atomic.%s:%s", point, RS_SECRETS_FILE);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("ROTSEC_FAULT", env, 1);
		/* Reaching the end means the point was never reached. */
		_exit(write_secrets(f->dir, 3, 2, 0) == 0 ? 3 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("writer was not killed at %s (status %#x)", point, status);
}

static void a_kill_at_each_write_step_leaves_a_valid_old_or_new_store(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(all_points) / sizeof(all_points[0]); i++) {
		const char *point = all_points[i];
		int renamed = strcmp(point, "renamed") == 0 || strcmp(point, "dirsynced") == 0;
		struct rs_secrets_data got;
		char *before, *after, why[RS_WHY_MAX];
		size_t blen, alen;
		uint64_t gen = 0;

		/* A fresh generation-1 store each round. */
		unlink(in_dir(f, RS_SECRETS_FILE));
		assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
		before = ut_read_file(in_dir(f, RS_SECRETS_FILE), &blen);
		assert_non_null(before);

		kill_at(f, point);

		/* Always a valid store, whole, of one generation or the other. */
		assert_int_equal(acquire_once(f->dir, RS_SECRETS_FILE, why, sizeof(why), &gen), 0);
		assert_int_equal(rs_store_load_secrets(f->dir, &got, &gen, why, sizeof(why)), 0);
		if (renamed) {
			assert_int_equal(gen, 2);
			assert_int_equal(got.n, 3);
		} else {
			assert_int_equal(gen, 1);
			assert_int_equal(got.n, 2);
			after = ut_read_file(in_dir(f, RS_SECRETS_FILE), &alen);
			assert_non_null(after);
			assert_int_equal(alen, blen);
			assert_memory_equal(after, before, blen);
			free(after);
		}
		rs_secrets_data_free(&got);
		free(before);
		/* Before the rename the temp file is left behind, and only it. */
		assert_int_equal(ut_count_prefix(f->dir, TEMP_PREFIX_SECRETS), renamed ? 0 : 1);

		/* The next writer (under the lock) removes the stale temp file. */
		assert_int_equal(write_secrets(f->dir, 1, 3, 0), 0);
		assert_int_equal(ut_count_prefix(f->dir, TEMP_PREFIX_SECRETS), 0);
		assert_int_equal(acquire_once(f->dir, RS_SECRETS_FILE, why, sizeof(why), &gen), 0);
		assert_int_equal(gen, 3);
	}
}

static void stale_temp_files_of_other_names_are_left_alone(void **state)
{
	struct fx *f = *state;

	/* Only ".secrets.cdb.XXXXXX" (six characters) is a temp file of secrets.cdb. */
	assert_int_equal(ut_write_file(in_dir(f, ".secrets.cdb.abcdef"), "x", 1, 0600), 0);
	assert_int_equal(ut_write_file(in_dir(f, ".secrets.cdb.keep"), "x", 1, 0600), 0);
	assert_int_equal(ut_write_file(in_dir(f, ".accounts.cdb.abcdef"), "x", 1, 0600), 0);
	assert_int_equal(write_secrets(f->dir, 1, 1, 0), 0);
	assert_int_equal(access(in_dir(f, ".secrets.cdb.abcdef"), F_OK), -1);
	assert_int_equal(access(in_dir(f, ".secrets.cdb.keep"), F_OK), 0);
	assert_int_equal(access(in_dir(f, ".accounts.cdb.abcdef"), F_OK), 0);
}

/* ---- the writer refuses what readers would refuse ----------------------------------- */

static void secret_records_readers_would_refuse_are_not_written(void **state)
{
	struct fx *f = *state;
	struct rs_secrets_data d;
	struct rs_store_w w;
	char *before, *after;
	size_t blen, alen;

	assert_int_equal(write_secrets(f->dir, 2, 1, 0), 0);
	before = ut_read_file(in_dir(f, RS_SECRETS_FILE), &blen);
	assert_non_null(before);
	assert_int_equal(rs_store_w_open(f->dir, 0, &w, NULL, 0), 0);

	make_secrets(&d, 2, 2);
	d.rec[1].previous_deadline = -5;
	assert_int_equal(rs_store_write_secrets(&w, &d, 2, 0), -EINVAL);
	rs_secrets_data_free(&d);

	make_secrets(&d, 2, 2);
	(void)snprintf(d.rec[0].name, sizeof(d.rec[0].name), "Not Valid");
	assert_int_equal(rs_store_write_secrets(&w, &d, 2, 0), -EINVAL);
	rs_secrets_data_free(&d);

	make_secrets(&d, 2, 2);
	(void)snprintf(d.rec[1].revoked[0], RS_HASH_MAX, "$rotsec-b2b$v=1$AAAA$AAAA");
	assert_int_equal(rs_store_write_secrets(&w, &d, 2, 0), -EINVAL);
	rs_secrets_data_free(&d);

	rs_store_w_close(&w);
	after = ut_read_file(in_dir(f, RS_SECRETS_FILE), &alen);
	assert_non_null(after);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(ut_count_prefix(f->dir, TEMP_PREFIX_SECRETS), 0);
	free(before);
	free(after);
}

static void account_records_readers_would_refuse_are_not_written(void **state)
{
	struct fx *f = *state;
	struct accounts a;

	make_accounts(&a);
	(void)snprintf(a.acc[2].gecos, sizeof(a.acc[2].gecos), "evil:0:0::/root:/bin/sh");
	assert_int_equal(write_accounts_data(f->dir, &a.d, 1), -EINVAL);
	make_accounts(&a);
	(void)snprintf(a.acc[0].shell, sizeof(a.acc[0].shell), "/bin/sh\nroot::0:0::/:/bin/sh");
	assert_int_equal(write_accounts_data(f->dir, &a.d, 1), -EINVAL);
	make_accounts(&a);
	(void)snprintf(a.acc[0].name, sizeof(a.acc[0].name), "Root");
	assert_int_equal(write_accounts_data(f->dir, &a.d, 1), -EINVAL);
	make_accounts(&a);
	a.acc[1].uid = UINT32_MAX;
	assert_int_equal(write_accounts_data(f->dir, &a.d, 1), -EINVAL);
	make_accounts(&a);
	(void)snprintf(a.members[1], sizeof(a.members[1]), "bad member");
	assert_int_equal(write_accounts_data(f->dir, &a.d, 1), -EINVAL);
	assert_int_equal(ut_count_prefix(f->dir, RS_ACCOUNTS_FILE), 0);
	assert_int_equal(ut_count_prefix(f->dir, TEMP_PREFIX_ACCOUNTS), 0);
	make_accounts(&a);
	assert_int_equal(write_accounts_data(f->dir, &a.d, 1), 0);
}

/* ---- robustness against damaged files ---------------------------------------------- */

static void mutated_store_files_never_crash_the_reader(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	char *orig, *buf, tmp[160];
	size_t len;
	int ok = 0, refused = 0;

	assert_int_equal(write_secrets(f->dir, 6, 1, 0), 0);
	orig = ut_read_file(in_dir(f, RS_SECRETS_FILE), &len);
	assert_non_null(orig);
	buf = malloc(len + 64);
	assert_non_null(buf);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	(void)snprintf(tmp, sizeof(tmp), "%s/mutant", f->aux);

	for (int iter = 0; iter < 400; iter++) {
		const struct rs_map *m;
		struct rs_secret_rec rec;
		size_t n = len, flips = 1 + rnd() % 8;
		int r;

		memcpy(buf, orig, len);
		for (size_t k = 0; k < flips; k++) {
			/* Bias towards the TOC and hash tables, where offsets live. */
			size_t at = rnd() % 3 == 0 ? rnd() % 2048 : rnd() % len;

			buf[at] = (char)rnd();
		}
		if (rnd() % 8 == 0)
			n = rnd() % len;
		/* Rename into place: a new inode, so the reader remaps every round. */
		assert_int_equal(ut_write_file(tmp, buf, n, 0600), 0);
		assert_int_equal(rename(tmp, in_dir(f, RS_SECRETS_FILE)), 0);
		r = rs_store_acquire(&s, &m, NULL, 0);
		if (r != 0) {
			assert_true(r == -EPROTO);
			refused++;
			continue;
		}
		ok++;
		for (uint32_t i = 0, hint = 0; i < 8; i++) {
			char name[16];

			(void)snprintf(name, sizeof(name), "svc-%u", i);
			(void)rs_map_secret_by_name(m, name, &rec);
			(void)rs_map_secret_by_index(m, i, &rec);
			(void)rs_map_secret_at_index(m, i, &hint, &rec);
		}
		rs_store_release(&s, m);
		{
			struct rs_secrets_data got;
			uint64_t gen;

			if (rs_store_load_secrets(f->dir, &got, &gen, NULL, 0) == 0)
				rs_secrets_data_free(&got);
		}
	}
	rs_store_close(&s);
	free(buf);
	free(orig);
	/* Both outcomes occurred: the mutations reached the parts that matter. */
	assert_true(ok > 0);
	assert_true(refused > 0);
}

/* ---- enumeration in file order -------------------------------------------------------- */

/* Every index record PREFIX0..n-1 through rs_map_find_index with a hint, as an
 * enumeration walks them: each answer the same record as the hash tables give. Returns
 * how many steps moved the hint forward (found in file order). */
static unsigned walk_agrees_with_the_hash_tables(const struct rs_map *m, const char *prefix,
                                                 uint32_t n)
{
	uint32_t hint = 0, before;
	unsigned forward = 0;
	const char *v, *hv;
	size_t vlen, hvlen;

	for (uint32_t i = 0; i < n; i++) {
		char k[16];

		(void)snprintf(k, sizeof(k), "%u", i);
		before = hint;
		assert_int_equal(rs_map_find_index(m, prefix, i, &hint, &v, &vlen), 1);
		assert_int_equal(rs_map_lookup(m, prefix, k, &hv, &hvlen), 1);
		assert_ptr_equal(v, hv);
		assert_int_equal(vlen, hvlen);
		/* the hint is just past the record found: its value ends there */
		assert_ptr_equal(v + vlen, (const char *)m->cdb.cdb_mem + hint);
		forward += hint > before;
	}
	/* past the end: absent, and the hint stays where it was */
	before = hint;
	assert_int_equal(rs_map_find_index(m, prefix, n, &hint, &v, &vlen), 0);
	assert_int_equal(hint, before);
	return forward;
}

static void index_records_are_walked_in_file_order_and_agree_with_the_hash_tables(void **state)
{
	struct fx *f = *state;
	struct rs_secret_rec rec, byname;
	struct rs_store a, s;
	const struct rs_map *ma, *ms;
	uint32_t hint = 0;

	assert_int_equal(write_accounts(f->dir, 1), 0);
	assert_int_equal(write_secrets(f->dir, 40, 1, 0), 0);
	assert_int_equal(rs_store_init(&a, f->dir, RS_ACCOUNTS_FILE), 0);
	assert_int_equal(rs_store_acquire(&a, &ma, NULL, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &ms, NULL, 0), 0);

	assert_int_equal(walk_agrees_with_the_hash_tables(ma, RS_KEY_PWIDX, 3), 3);
	assert_int_equal(walk_agrees_with_the_hash_tables(ma, RS_KEY_GRIDX, 2), 2);
	assert_int_equal(walk_agrees_with_the_hash_tables(ms, RS_KEY_SECIDX, 40), 40);
	for (uint32_t i = 0; i < 40; i++) {
		assert_int_equal(rs_map_secret_at_index(ms, i, &hint, &rec), 1);
		assert_int_equal(rs_map_secret_by_name(ms, rec.name, &byname), 1);
		assert_memory_equal(&rec, &byname, sizeof(rec));
	}
	assert_int_equal(rs_map_secret_at_index(ms, 40, &hint, &rec), 0);

	rs_store_release(&a, ma);
	rs_store_close(&a);
	rs_store_release(&s, ms);
	rs_store_close(&s);
}

/* A file whose index records are not in index order (no writer of rotsec makes one, but
 * the format allows it): each is still found, through the hash tables. */
static void index_records_out_of_file_order_are_still_found(void **state)
{
	static const char meta[] = RS_ACCOUNTS_MAGIC "\0"
	                                             "1\0"
	                                             "1\0"
	                                             "5\0"
	                                             "0";
	struct fx *f = *state;
	static const unsigned order[5] = {3, 0, 4, 2, 1};
	char vals[5][64], keys[5][16], filler[5][16];
	const char *kv[2 * 11];
	size_t vlen[11], n = 0;
	struct rs_store s;
	const struct rs_map *m;
	struct rs_pw_view pw;
	uint32_t hint = 0;

	kv[0] = RS_KEY_META;
	kv[1] = meta;
	vlen[n++] = sizeof(meta);
	for (size_t i = 0; i < 5; i++) {
		unsigned u = order[i];
		int l = snprintf(vals[i], sizeof(vals[i]), "svc-%u%c%u%c60000%cg%c/h%c/bin/sh", u,
		                 0, 60001 + u, 0, 0, 0, 0);

		(void)snprintf(keys[i], sizeof(keys[i]), RS_KEY_PWIDX "%u", u);
		(void)snprintf(filler[i], sizeof(filler[i]), RS_KEY_PWNAM "svc-%u", u);
		kv[2 * n] = keys[i];
		kv[2 * n + 1] = vals[i];
		vlen[n++] = (size_t)l + 1;
		kv[2 * n] = filler[i];
		kv[2 * n + 1] = vals[i];
		vlen[n++] = (size_t)l + 1;
	}
	write_raw_cdb(in_dir(f, RS_ACCOUNTS_FILE), kv, n, vlen);
	assert_int_equal(chmod(in_dir(f, RS_ACCOUNTS_FILE), 0644), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_ACCOUNTS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	(void)walk_agrees_with_the_hash_tables(m, RS_KEY_PWIDX, 5);
	for (uint32_t i = 0; i < 5; i++) {
		const char *v;
		size_t l;

		assert_int_equal(rs_map_find_index(m, RS_KEY_PWIDX, i, &hint, &v, &l), 1);
		assert_int_equal(rs_parse_passwd(v, l, &pw), 0);
		assert_int_equal(pw.uid, 60001 + i);
	}
	rs_store_release(&s, m);
	rs_store_close(&s);
}

/* The hint is a position the caller keeps: any value, even one that was never the start
 * of a record, only costs a fall back to the hash tables (every offset bounds-checked;
 * ASan and valgrind watch the reads). */
static void any_hint_gives_the_same_answer(void **state)
{
	struct fx *f = *state;
	struct rs_store s;
	const struct rs_map *m;
	const char *v, *hv;
	size_t vlen, hvlen;
	uint32_t size;

	assert_int_equal(write_secrets(f->dir, 3, 1, 0), 0);
	assert_int_equal(rs_store_init(&s, f->dir, RS_SECRETS_FILE), 0);
	assert_int_equal(rs_store_acquire(&s, &m, NULL, 0), 0);
	size = (uint32_t)m->size;
	assert_int_equal(rs_map_lookup(m, RS_KEY_SECIDX, "2", &hv, &hvlen), 1);
	for (uint64_t h = 0; h <= (uint64_t)size + 16; h++) {
		uint32_t hint = (uint32_t)h;

		assert_int_equal(rs_map_find_index(m, RS_KEY_SECIDX, 2, &hint, &v, &vlen), 1);
		assert_ptr_equal(v, hv);
		assert_int_equal(vlen, hvlen);
	}
	for (uint32_t hint = UINT32_MAX - 16; hint != 0; hint++) {
		uint32_t h = hint;

		assert_int_equal(rs_map_find_index(m, RS_KEY_SECIDX, 2, &h, &v, &vlen), 1);
		assert_ptr_equal(v, hv);
	}
	rs_store_release(&s, m);
	rs_store_close(&s);
}

/* ---- safefile primitives used by others ---------------------------------------------- */

static void atomic_replace_writes_content_mode_and_owner(void **state)
{
	struct fx *f = *state;
	int dirfd = rs_open_safe_dir(f->dir, 0, NULL, 0);
	char *got;
	size_t len;
	struct stat st;

	assert_true(dirfd >= 0);
	assert_int_equal(rs_atomic_replace(dirfd, "state", "hello", 5, 0640, 0, 4242), 0);
	got = ut_read_file(in_dir(f, "state"), &len);
	assert_non_null(got);
	assert_int_equal(len, 5);
	assert_memory_equal(got, "hello", 5);
	free(got);
	assert_int_equal(lstat(in_dir(f, "state"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, 4242);

	/* Failing at each step leaves the old content. */
	for (size_t i = 0; i < sizeof(fail_points) / sizeof(fail_points[0]); i++) {
		char env[64];

		(void)snprintf(env, sizeof(env), "atomic.%s:state", fail_points[i]);
		setenv("ROTSEC_FAULT_FAIL", env, 1);
		assert_int_equal(rs_atomic_replace(dirfd, "state", "bye", 3, 0600, 0, 0), -EIO);
		unsetenv("ROTSEC_FAULT_FAIL");
		got = ut_read_file(in_dir(f, "state"), &len);
		assert_non_null(got);
		assert_string_equal(got, "hello");
		free(got);
		assert_int_equal(ut_count_prefix(f->dir, ".state."), 0);
	}
	assert_int_equal(rs_atomic_replace(dirfd, "a/b", "x", 1, 0600, 0, 0), -EINVAL);
	close(dirfd);
}

static void atomic_replace_replaces_a_symlink_instead_of_writing_through_it(void **state)
{
	struct fx *f = *state;
	char target[160], *got;
	size_t len;
	int dirfd = rs_open_safe_dir(f->dir, 0, NULL, 0);

	assert_true(dirfd >= 0);
	(void)snprintf(target, sizeof(target), "%s/target", f->aux);
	assert_int_equal(ut_write_file(target, "untouched", 9, 0600), 0);
	assert_int_equal(symlink(target, in_dir(f, "out")), 0);
	assert_int_equal(rs_atomic_replace(dirfd, "out", "new", 3, 0600, 0, 0), 0);
	got = ut_read_file(target, &len);
	assert_non_null(got);
	assert_string_equal(got, "untouched");
	free(got);
	close(dirfd);
}

static void safe_dir_refuses_relative_paths_and_files(void **state)
{
	struct fx *f = *state;
	char why[RS_WHY_MAX];

	assert_int_equal(rs_open_safe_dir("tmp", 0, why, sizeof(why)), -EINVAL);
	assert_int_equal(rs_open_safe_dir(NULL, 0, why, sizeof(why)), -EINVAL);
	assert_int_equal(ut_write_file(in_dir(f, "file"), "x", 1, 0644), 0);
	assert_true(rs_open_safe_dir(in_dir(f, "file"), 0, why, sizeof(why)) < 0);
	/* The last directory may belong to `owner`, ancestors may not. */
	assert_int_equal(chown(f->dir, 4321, 0), 0);
	assert_int_equal(rs_open_safe_dir(f->dir, 0, why, sizeof(why)), -EPERM);
	{
		int fd = rs_open_safe_dir(f->dir, 4321, why, sizeof(why));

		assert_true(fd >= 0);
		close(fd);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(accounts_are_read_back_by_name_by_id_and_by_index),
	        T(secrets_are_read_back_by_name_and_by_index),
	        T(a_format_1_secrets_file_is_read_and_rewritten_as_format_3),
	        T(a_format_2_index_entry_naming_no_record_is_malformed),
	        T(a_name_held_twice_is_carried_forward_as_pam_sees_it),
	        T(a_format_2_store_is_rewritten_with_its_costs_and_without_foreign_tripwires),
	        T(the_header_lists_one_computation_per_class_of_the_store),
	        T(loading_secrets_returns_every_record_with_its_generation),
	        T(an_empty_secrets_store_round_trips),
	        T(a_missing_store_loads_as_empty_with_generation_zero),
	        T(each_write_carries_its_generation),
	        T(accounts_file_is_0644_root_and_secrets_file_0600_root_without_a_group),
	        T(secrets_file_is_0640_with_the_rotsec_group),
	        T(the_reader_reuses_its_mapping_while_the_file_is_unchanged),
	        T(the_reader_remaps_after_the_file_is_replaced),
	        T(an_old_mapping_stays_readable_while_a_new_one_is_mapped),
	        T(readers_racing_replacements_see_old_or_new_data_never_a_torn_store),
	        T(a_symlinked_store_file_is_refused),
	        T(a_group_writable_store_file_is_refused),
	        T(a_world_writable_accounts_file_is_refused),
	        T(a_group_writable_store_directory_is_refused),
	        T(a_store_file_not_owned_by_root_is_refused),
	        T(a_store_directory_not_owned_by_root_is_refused),
	        T(a_fifo_in_place_of_the_store_is_refused_without_hanging),
	        T(a_directory_in_place_of_the_store_is_refused),
	        T(an_empty_store_file_is_refused_as_malformed),
	        T(a_truncated_store_file_is_refused_as_malformed),
	        T(random_garbage_is_refused_as_malformed),
	        T(a_store_file_larger_than_the_limit_is_refused),
	        T(a_store_file_with_the_wrong_magic_is_refused),
	        T(a_store_file_of_another_format_version_is_refused),
	        T(a_header_promising_more_records_than_the_file_holds_is_refused),
	        T(a_header_promising_a_missing_record_fails_the_load),
	        T(a_missing_store_file_or_directory_is_enoent),
	        T(a_store_truncated_in_place_under_a_reader_leaves_its_copy_whole),
	        T(a_relative_or_overlong_store_directory_is_refused_at_init),
	        T(a_store_that_becomes_unsafe_is_refused_at_the_next_call),
	        T(an_ancestor_writable_by_others_without_sticky_bit_is_refused),
	        T(an_ancestor_writable_by_group_without_sticky_bit_is_refused),
	        T(an_ancestor_writable_by_others_with_sticky_bit_is_accepted),
	        T(an_ancestor_not_owned_by_root_is_refused),
	        T(the_store_directory_itself_may_not_be_sticky_and_world_writable),
	        T(a_store_directory_reached_through_a_symlink_is_judged_by_its_target),
	        T(the_writer_refuses_an_unsafe_directory),
	        T(the_store_lock_times_out_while_another_descriptor_holds_it),
	        T(the_store_lock_is_taken_once_another_process_lets_go),
	        T(acquire_for_a_key_is_acquire_and_long_keys_are_not_there),
	        T(every_step_of_a_store_write_passes_a_fault_point_in_order),
	        T(a_failure_at_each_write_step_leaves_the_old_secrets_and_no_temp_file),
	        T(a_failure_at_each_write_step_leaves_the_old_accounts_and_no_temp_file),
	        T(a_failed_first_write_leaves_no_file_at_all),
	        T(a_kill_at_each_write_step_leaves_a_valid_old_or_new_store),
	        T(stale_temp_files_of_other_names_are_left_alone),
	        T(secret_records_readers_would_refuse_are_not_written),
	        T(account_records_readers_would_refuse_are_not_written),
	        T(mutated_store_files_never_crash_the_reader),
	        T(index_records_are_walked_in_file_order_and_agree_with_the_hash_tables),
	        T(index_records_out_of_file_order_are_still_found),
	        T(any_hint_gives_the_same_answer),
	        T(atomic_replace_writes_content_mode_and_owner),
	        T(atomic_replace_replaces_a_symlink_instead_of_writing_through_it),
	        T(safe_dir_refuses_relative_paths_and_files),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
