/*
 * fuzz_store: arbitrary bytes as accounts.cdb and as secrets.cdb, through the checks every
 * reader applies (rs_map_open_mem runs exactly what rs_store_acquire runs on a file's
 * contents), then every lookup the NSS and PAM modules make: by name, by id, by
 * enumeration index, supplementary groups, secret records by name and index; and every
 * record parser on every value in the file, whatever its key.
 *
 * Invariants checked besides "no crash, no leak, no undefined behaviour":
 *  - a parsed record points into the mapping, and its strings end inside it;
 *  - a parsed record passes the same field checks the writer applies (names, ids, text
 *    fields, hashes), and its byte counts are what a caller sizing a buffer relies on;
 *  - a value found by a lookup lies inside the data section.
 * The input is placed right before an inaccessible page (fz_guarded), so an over-read in
 * tinycdb, which is not instrumented, faults as well.
 */
#include "harness.h"
#include "record.h"
#include "store_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Enumeration stops here: the header's counts are bounded by the file size, but walking
 * a million indexes of a 64 MiB input would make each run too slow to be useful. */
#define MAX_WALK 4096

static const uint8_t *mem_lo, *mem_hi;

/* s is a NUL-terminated string that lies inside the mapping. */
static void in_map(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	FZ_CHECK(p >= mem_lo && p < mem_hi);
	FZ_CHECK(memchr(p, '\0', (size_t)(mem_hi - p)) != NULL);
}

static void check_pw(const struct rs_pw_view *v)
{
	in_map(v->name);
	in_map(v->gecos);
	in_map(v->home);
	in_map(v->shell);
	FZ_CHECK(rs_name_valid(v->name));
	FZ_CHECK(rs_field_ok(v->gecos) && rs_field_ok(v->home) && rs_field_ok(v->shell));
	FZ_CHECK(v->uid != UINT32_MAX && v->gid != UINT32_MAX);
	FZ_CHECK(v->strbytes ==
	         strlen(v->name) + strlen(v->gecos) + strlen(v->home) + strlen(v->shell) + 4);
}

static void check_gr(const struct rs_gr_view *v)
{
	const char *p = v->members;
	size_t bytes = strlen(v->name) + 1;

	in_map(v->name);
	FZ_CHECK(rs_name_valid(v->name));
	FZ_CHECK(v->gid != UINT32_MAX);
	for (size_t i = 0; i < v->nmembers; i++) {
		in_map(p);
		FZ_CHECK(rs_name_valid(p));
		bytes += strlen(p) + 1;
		p += strlen(p) + 1;
	}
	FZ_CHECK(v->strbytes == bytes);
}

static void check_secret(const struct rs_secret_rec *r)
{
	FZ_CHECK(rs_name_valid(r->name));
	FZ_CHECK(rs_hash_string_ok(r->current));
	FZ_CHECK(!r->previous[0] || rs_hash_string_ok(r->previous));
	FZ_CHECK(r->nrevoked <= RS_TRIPWIRE_MAX);
	for (size_t i = 0; i < r->nrevoked; i++)
		FZ_CHECK(rs_hash_string_ok(r->revoked[i]));
	FZ_CHECK((r->flags & ~RS_SECRET_DISABLED) == 0);
	FZ_CHECK(r->current_since >= 0 && r->previous_deadline >= 0 && r->previous_limit >= 0);
}

/* A secrets header's cost profile (hashes.h): one to RS_COSTS_MAX hash strings rotsec
 * could have written; formats 1 and 2 give their one dummy twice. */
static void check_costs(const struct rs_meta *meta)
{
	FZ_CHECK(meta->costs.n >= 1 && meta->costs.n <= RS_COSTS_MAX);
	for (size_t i = 0; i < meta->costs.n; i++)
		FZ_CHECK(rs_hash_string_ok(meta->costs.dummy[i]));
	if (meta->version < 3)
		FZ_CHECK(meta->costs.n == 2 &&
		         strcmp(meta->costs.dummy[0], meta->costs.dummy[1]) == 0);
}

/* Every parser on one value, whatever its key says it is. */
static void parse_all(const char *val, size_t len)
{
	struct rs_meta meta;
	struct rs_pw_view pw;
	struct rs_gr_view gr;
	struct rs_secret_rec rec;
	const char *f[8];
	uint32_t gids[4];
	size_t n;
	int k;

	k = rs_fields(val, len, f, 8);
	FZ_CHECK(k == -EPROTO || (k >= 1 && k <= 8));
	for (int i = 0; i < k; i++)
		in_map(f[i]);
	if (rs_parse_meta(val, len, RS_ACCOUNTS_MAGIC, &meta) == 0)
		FZ_CHECK(meta.version == RS_FORMAT_VERSION);
	if (rs_parse_meta(val, len, RS_SECRETS_MAGIC, &meta) == 0)
		check_costs(&meta);
	if (rs_parse_passwd(val, len, &pw) == 0)
		check_pw(&pw);
	if (rs_parse_group(val, len, &gr) == 0)
		check_gr(&gr);
	if (rs_parse_secret(val, len, &rec) == 0)
		check_secret(&rec);
	if (rs_parse_gids(val, len, gids, 4, &n) == 0)
		FZ_CHECK(n == 0 || len > 0);
}

/* Every record of the data section, in file order, as `cdb -d` would list them. */
static void walk_records(const struct rs_map *m)
{
	struct cdb c = m->cdb;
	unsigned pos;
	int i = 0;

	cdb_seqinit(&pos, &c);
	while (i++ < MAX_WALK && cdb_seqnext(&pos, &c) > 0) {
		const char *key = cdb_get(&c, cdb_keylen(&c), cdb_keypos(&c));
		const char *val = cdb_get(&c, cdb_datalen(&c), cdb_datapos(&c));
		const char *v2;
		size_t vlen;
		int r;

		if (!key || !val)
			break;
		parse_all(val, cdb_datalen(&c));
		/* A damaged file may hold records that no hash table points to: absent is a
		 * possible answer, but a found value lies inside the data section. */
		r = rs_map_find(m, key, cdb_keylen(&c), &v2, &vlen);
		FZ_CHECK(r == 1 || r == 0 || r == -EPROTO);
		if (r == 1)
			FZ_CHECK((const uint8_t *)v2 >= mem_lo + 2048 && vlen <= m->cdb.cdb_dend &&
			         (const uint8_t *)v2 + vlen <= mem_lo + m->cdb.cdb_dend);
	}
}

static void lookup_uid(const struct rs_map *m, uint32_t id, const char *prefix)
{
	char k[16];
	const char *val;
	size_t vlen;

	(void)snprintf(k, sizeof(k), "%u", id);
	if (rs_map_lookup(m, prefix, k, &val, &vlen) == 1)
		parse_all(val, vlen);
}

/* Index records PREFIX0.. as an enumeration reads them, in file order from a hint: a
 * found value lies inside the data section, the hint stays inside it too, and moves only
 * when something was found. */
static void walk_index(const struct rs_map *m, const char *prefix, uint32_t n)
{
	uint32_t hint = 0;

	for (uint32_t i = 0; i < n && i < MAX_WALK; i++) {
		uint32_t before = hint;
		const char *val;
		size_t vlen;
		int r = rs_map_find_index(m, prefix, i, &hint, &val, &vlen);

		FZ_CHECK(r == 1 || r == 0 || r == -EPROTO);
		if (r != 1) {
			FZ_CHECK(hint == before);
			continue;
		}
		FZ_CHECK((const uint8_t *)val >= mem_lo + 2048 && vlen <= m->cdb.cdb_dend &&
		         (const uint8_t *)val + vlen <= mem_lo + m->cdb.cdb_dend);
		FZ_CHECK(hint <= m->cdb.cdb_dend);
		parse_all(val, vlen);
	}
}

static void walk_accounts(const struct rs_map *m)
{
	uint32_t n = m->meta.count[0], g = m->meta.count[1];
	const char *val;
	size_t vlen;

	walk_index(m, RS_KEY_PWIDX, n);
	walk_index(m, RS_KEY_GRIDX, g);
	for (uint32_t i = 0; i < n && i < MAX_WALK; i++) {
		struct rs_pw_view pw;
		uint32_t gids[8];
		size_t ng;
		char k[16];

		(void)snprintf(k, sizeof(k), "%u", i);
		if (rs_map_lookup(m, RS_KEY_PWIDX, k, &val, &vlen) != 1 ||
		    rs_parse_passwd(val, vlen, &pw) < 0)
			continue;
		check_pw(&pw);
		if (rs_map_lookup(m, RS_KEY_PWNAM, pw.name, &val, &vlen) == 1)
			parse_all(val, vlen);
		lookup_uid(m, pw.uid, RS_KEY_PWUID);
		if (rs_map_lookup(m, RS_KEY_INITGR, pw.name, &val, &vlen) == 1 &&
		    rs_parse_gids(val, vlen, gids, 8, &ng) == 0)
			for (size_t j = 0; j < ng && j < 8; j++)
				lookup_uid(m, gids[j], RS_KEY_GRGID);
	}
	for (uint32_t i = 0; i < g && i < MAX_WALK; i++) {
		struct rs_gr_view gr;
		char k[16];

		(void)snprintf(k, sizeof(k), "%u", i);
		if (rs_map_lookup(m, RS_KEY_GRIDX, k, &val, &vlen) != 1 ||
		    rs_parse_group(val, vlen, &gr) < 0)
			continue;
		check_gr(&gr);
		if (rs_map_lookup(m, RS_KEY_GRNAM, gr.name, &val, &vlen) == 1)
			parse_all(val, vlen);
		lookup_uid(m, gr.gid, RS_KEY_GRGID);
	}
}

static bool same_secret(const struct rs_secret_rec *a, const struct rs_secret_rec *b)
{
	if (strcmp(a->name, b->name) != 0 || a->uid != b->uid || a->generation != b->generation ||
	    a->flags != b->flags || strcmp(a->current, b->current) != 0 ||
	    a->current_since != b->current_since || strcmp(a->previous, b->previous) != 0 ||
	    a->previous_deadline != b->previous_deadline ||
	    a->previous_limit != b->previous_limit || a->nrevoked != b->nrevoked)
		return false;
	for (size_t i = 0; i < a->nrevoked; i++)
		if (strcmp(a->revoked[i], b->revoked[i]) != 0)
			return false;
	return true;
}

static void walk_secrets(const struct rs_map *m)
{
	struct rs_secret_rec rec, by_name;
	static const char *names[] = {"svc-backup", "svc-web", "root", "a", ""};
	char longname[RS_KEY_MAX + 8];

	check_costs(&m->meta);
	walk_index(m, RS_KEY_SECIDX, m->meta.count[0]);
	for (uint32_t i = 0; i < m->meta.count[0] && i < MAX_WALK; i++) {
		int r = rs_map_secret_by_index(m, i, &rec);

		FZ_CHECK(r == 1 || r == 0 || r == -EPROTO);
		if (r != 1)
			continue;
		check_secret(&rec);
		if (rs_map_secret_by_name(m, rec.name, &by_name) == 1) {
			check_secret(&by_name);
			FZ_CHECK(strcmp(by_name.name, rec.name) == 0);
			/* Formats 2 and 3 find the record by its name: the very same one. */
			if (m->meta.version >= 2)
				FZ_CHECK(same_secret(&rec, &by_name));
		}
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (rs_map_secret_by_name(m, names[i], &rec) == 1)
			check_secret(&rec);
	/* A key longer than the lookup buffer is "absent", never truncated to another. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	FZ_CHECK(rs_map_secret_by_name(m, longname, &rec) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *magics[] = {RS_ACCOUNTS_MAGIC, RS_SECRETS_MAGIC};
	const uint8_t *mem = fz_guarded(data, size);

	mem_lo = mem;
	mem_hi = mem + size;
	for (size_t i = 0; i < 2; i++) {
		struct rs_map *m;
		char why[RS_WHY_MAX] = "";
		int r = rs_map_open_mem(mem, size, magics[i], &m, why, sizeof(why));

		if (r < 0) {
			/* Refused with a reason, as the modules log it. */
			FZ_CHECK(r == -EPROTO || r == -EFBIG || r == -ENOMEM);
			FZ_CHECK(why[0] != '\0' || r == -ENOMEM);
			continue;
		}
		FZ_CHECK(i == 0 ? m->meta.version == RS_FORMAT_VERSION
		                : m->meta.version >= 1 && m->meta.version <= RS_SECRETS_VERSION);
		walk_records(m);
		if (i == 0)
			walk_accounts(m);
		else
			walk_secrets(m);
		rs_map_close_mem(m);
	}
	return 0;
}
