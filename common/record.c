#include "record.h"

#include <errno.h>
#include <string.h>

_Static_assert(RS_HASHES_MAX == 2 + RS_TRIPWIRE_MAX, "hashes.h and record.h disagree");

int rs_fields(const char *val, size_t len, const char **fields, size_t max)
{
	size_t n = 0, i = 0;

	if (len == 0 || val[len - 1] != '\0')
		return -EPROTO;
	while (i < len) {
		const char *end = memchr(val + i, '\0', len - i);

		if (n == max)
			return -EPROTO;
		fields[n++] = val + i;
		i = (size_t)(end - val) + 1;
	}
	return (int)n;
}

/* rs_parse_u64's digits: their count (the length of s), or -1. */
static long u64_len(const char *s, uint64_t max, uint64_t *out)
{
	/* v * 10 + d <= max  <=>  v < max / 10, or v == max / 10 and d <= max % 10: one
	 * division per number, not one per digit (an enumeration parses two ids an entry). */
	const uint64_t q = max / 10, r = max % 10;
	uint64_t v = 0;
	long i;

	if (!*s || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i]; i++) {
		uint64_t d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > q || (v == q && d > r))
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return i;
}

int rs_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	return u64_len(s, max, out) < 0 ? -EPROTO : 0;
}

/* Copy a field whose length the parser has already bounded (names by rs_name_valid,
 * hashes by rs_hash_string_ok). Bounded anyway: should a check ever loosen, the field
 * is cut rather than written past its array. */
static void copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* parse_id's, returning the length of s, or -1. */
static long id_len(const char *s, uint32_t *out)
{
	uint64_t v;
	long l = u64_len(s, UINT32_MAX - 1, &v);

	if (l >= 0)
		*out = (uint32_t)v;
	return l;
}

/* uid/gid: anything but (uid_t)-1, which means "no change" to chown and friends. */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v;

	if (rs_parse_u64(s, UINT32_MAX - 1, &v) < 0)
		return -EPROTO;
	*out = (uint32_t)v;
	return 0;
}

static int parse_time(const char *s, int64_t *out)
{
	uint64_t v;

	/* Unix seconds up to year 9999 keep every sum with a duration far from overflow. */
	if (rs_parse_u64(s, 253402300799ULL, &v) < 0)
		return -EPROTO;
	*out = (int64_t)v;
	return 0;
}

/* The bytes a text field may hold: no control character, no ':', no DEL. */
static const unsigned char field_byte_ok[256] = {
        [0x20 ... 0x39] = 1,
        [0x3b ... 0x7e] = 1,
        [0x80 ... 0xff] = 1,
};

/* Whether any byte of w is below 0x20 (NUL included), ':' or DEL: the classic "has a
 * zero byte" and "has a byte less than n" word tricks, exact as yes-or-no answers. */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline uint64_t word_stops_field(uint64_t w)
{
	uint64_t colon = w ^ (ONES * ':'), del = w ^ (ONES * 0x7f);

	return ((w - ONES * 0x20) & ~w & HIGHS) | ((colon - ONES) & ~colon & HIGHS) |
	       ((del - ONES) & ~del & HIGHS);
}

/*
 * The length of the text field at s, or -1 when it is not one rs_field_ok accepts. The
 * table stops the scan at the NUL as at any bad byte; before it, eight bytes at a time
 * while a whole word lies below `end` and none of its bytes can stop the field (an
 * enumeration checks the gecos, home and shell of every entry).
 */
static long field_len(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, room = end > s ? (size_t)(end - s) : 0;
	uint64_t w;

	while (room - i >= 8) {
		memcpy(&w, p + i, 8);
		if (word_stops_field(w))
			break;
		i += 8;
	}
	while (field_byte_ok[p[i]])
		i++;
	/* At most RS_FIELD_MAX - 1 bytes: what struct rs_store_account holds. */
	return i <= RS_FIELD_MAX - 1 && p[i] == '\0' ? (long)i : -1;
}

bool rs_field_ok(const char *s)
{
	return field_len(s, s + strlen(s) + 1) >= 0;
}

int rs_parse_meta(const char *val, size_t len, const char *magic, struct rs_meta *out)
{
	const char *f[4 + RS_COSTS_MAX + 1];
	uint64_t v;
	int n = rs_fields(val, len, f, 4 + RS_COSTS_MAX + 1);
	int secrets = strcmp(magic, RS_SECRETS_MAGIC) == 0;

	memset(out, 0, sizeof(*out));
	if (n < 5 || strcmp(f[0], magic) != 0)
		return -EPROTO;
	if (rs_parse_u64(f[1], 1000, &v) < 0 ||
	    (secrets ? v < 1 || v > RS_SECRETS_VERSION : v != RS_FORMAT_VERSION))
		return -EPROTO;
	out->version = (unsigned)v;
	/* One dummy hash before version 3, then the profile: 1 to RS_COSTS_MAX of them. */
	if (n != 5 && (!secrets || v < 3 || n > 4 + RS_COSTS_MAX))
		return -EPROTO;
	if (rs_parse_u64(f[2], UINT64_MAX, &out->generation) < 0)
		return -EPROTO;
	if (rs_parse_u64(f[3], UINT32_MAX, &v) < 0)
		return -EPROTO;
	out->count[0] = (uint32_t)v;
	if (secrets) {
		for (int i = 4; i < n; i++) {
			if (!rs_hash_string_ok(f[i]))
				return -EPROTO;
			copy_field(out->costs.dummy[out->costs.n++], RS_HASH_MAX, f[i]);
		}
		/* Versions 1 and 2: logins checked two hashes, the second the dummy when there
		 * was no previous secret. */
		if (out->version < 3)
			copy_field(out->costs.dummy[out->costs.n++], RS_HASH_MAX, f[4]);
	} else {
		if (rs_parse_u64(f[4], UINT32_MAX, &v) < 0)
			return -EPROTO;
		out->count[1] = (uint32_t)v;
	}
	return 0;
}

/*
 * Six fields, exactly what rs_fields, rs_name_valid, the id parser and rs_field_ok accept,
 * but in one pass: each field's check stops at its NUL (val[len - 1] is one, so no scan
 * leaves the value) and gives where the next one starts, without a separate split or
 * strlen. An enumeration parses every record it returns.
 */
int rs_parse_passwd(const char *val, size_t len, struct rs_pw_view *out)
{
	const char *f[6], *p = val, *end = val + len;
	size_t i, flen[6];
	long l;

	if (len == 0 || val[len - 1] != '\0')
		return -EPROTO;
	for (i = 0; i < 6; i++) {
		if (p >= end)
			return -EPROTO;
		f[i] = p;
		if (i == 0)
			l = (long)rs_name_len(p) ?: -1; /* 0: not a valid name */
		else if (i < 3)
			l = id_len(p, i == 1 ? &out->uid : &out->gid);
		else
			l = field_len(p, end);
		if (l < 0)
			return -EPROTO;
		flen[i] = (size_t)l;
		p += l + 1;
	}
	if (p != end)
		return -EPROTO;
	out->name = f[0];
	out->gecos = f[3];
	out->home = f[4];
	out->shell = f[5];
	out->name_len = flen[0];
	out->gecos_len = flen[3];
	out->home_len = flen[4];
	out->shell_len = flen[5];
	out->strbytes = flen[0] + flen[3] + flen[4] + flen[5] + 4;
	return 0;
}

int rs_parse_group(const char *val, size_t len, struct rs_gr_view *out)
{
	const char *name, *p, *end = val + len;
	size_t i;

	if (len == 0 || val[len - 1] != '\0')
		return -EPROTO;
	name = val;
	if (!rs_name_valid(name))
		return -EPROTO;
	p = name + strlen(name) + 1;
	if (p >= end || parse_id(p, &out->gid) < 0)
		return -EPROTO;
	p += strlen(p) + 1;
	out->name = name;
	out->members = p;
	out->nmembers = 0;
	out->strbytes = strlen(name) + 1;
	/* Members are walked without an array: a group may have many of them. */
	for (i = 0; p < end; i++) {
		size_t l = strlen(p);

		if (!rs_name_valid(p))
			return -EPROTO;
		out->strbytes += l + 1;
		p += l + 1;
	}
	out->nmembers = i;
	return 0;
}

int rs_parse_gids(const char *val, size_t len, uint32_t *gids, size_t max, size_t *n)
{
	const char *p = val, *end = val + len;
	size_t i = 0;

	if (len == 0) {
		*n = 0;
		return 0;
	}
	if (val[len - 1] != '\0')
		return -EPROTO;
	for (; p < end; i++) {
		uint32_t g;

		if (parse_id(p, &g) < 0)
			return -EPROTO;
		if (i < max)
			gids[i] = g;
		p += strlen(p) + 1;
	}
	*n = i;
	return 0;
}

/*
 * Secret record fields:
 *   0 name  1 uid  2 generation  3 flags  4 current  5 current_since
 *   6 previous ("" when none)  7 previous_deadline  8 previous_limit
 *   9 nrevoked  10.. revoked hashes
 *
 * secret_check is every rule a record must pass, and the only place they are written:
 * rs_parse_secret (readers) copies out what it checked, rs_check_secret (the writer,
 * copying untouched records as they are) keeps nothing. `out` receives the numbers and
 * f[] the fields.
 */
#define SECRET_FIELDS_MAX (10 + RS_TRIPWIRE_MAX + 1)

struct secret_nums {
	uint32_t uid;
	uint64_t generation;
	unsigned flags;
	int64_t current_since, previous_deadline, previous_limit;
	size_t nrevoked;
	/* The hashes taken apart as they are checked, as rs_hash_groups_of takes them:
	 * current, previous (absent[1] when there is none), tripwires. */
	struct rs_hash_view views[RS_HASHES_MAX];
	bool absent[RS_HASHES_MAX];
};

static int secret_check(const char *val, size_t len, const char **f, struct secret_nums *out)
{
	uint64_t v;
	int n = rs_fields(val, len, f, SECRET_FIELDS_MAX);

	if (n < 10 || !rs_name_valid(f[0]))
		return -EPROTO;
	if (parse_id(f[1], &out->uid) < 0 || rs_parse_u64(f[2], UINT64_MAX, &out->generation) < 0)
		return -EPROTO;
	if (rs_parse_u64(f[3], RS_SECRET_DISABLED, &v) < 0)
		return -EPROTO;
	out->flags = (unsigned)v;
	if (rs_hash_view(f[4], &out->views[0]) < 0 || parse_time(f[5], &out->current_since) < 0)
		return -EPROTO;
	out->absent[0] = false;
	out->absent[1] = !f[6][0];
	if (f[6][0] && rs_hash_view(f[6], &out->views[1]) < 0)
		return -EPROTO;
	if (parse_time(f[7], &out->previous_deadline) < 0 ||
	    parse_time(f[8], &out->previous_limit) < 0)
		return -EPROTO;
	if (rs_parse_u64(f[9], RS_TRIPWIRE_MAX, &v) < 0 || (size_t)n != 10 + v)
		return -EPROTO;
	out->nrevoked = (size_t)v;
	for (size_t i = 0; i < out->nrevoked; i++) {
		out->absent[2 + i] = false;
		if (rs_hash_view(f[10 + i], &out->views[2 + i]) < 0)
			return -EPROTO;
	}
	return 0;
}

int rs_parse_secret(const char *val, size_t len, struct rs_secret_rec *out)
{
	const char *f[SECRET_FIELDS_MAX];
	struct secret_nums v;

	memset(out, 0, sizeof(*out));
	if (secret_check(val, len, f, &v) < 0)
		return -EPROTO;
	copy_field(out->name, sizeof(out->name), f[0]);
	out->uid = v.uid;
	out->generation = v.generation;
	out->flags = v.flags;
	copy_field(out->current, sizeof(out->current), f[4]);
	out->current_since = v.current_since;
	copy_field(out->previous, sizeof(out->previous), f[6]);
	out->previous_deadline = v.previous_deadline;
	out->previous_limit = v.previous_limit;
	out->nrevoked = v.nrevoked;
	for (size_t i = 0; i < v.nrevoked; i++)
		copy_field(out->revoked[i], sizeof(out->revoked[i]), f[10 + i]);
	return 0;
}

int rs_check_secret(const char *val, size_t len)
{
	const char *f[SECRET_FIELDS_MAX];
	struct secret_nums v;

	return secret_check(val, len, f, &v);
}

int rs_check_secret_costs(const char *val, size_t len, struct rs_costs_tally *t, bool *foreign)
{
	const char *f[SECRET_FIELDS_MAX];
	struct rs_hash_view groups[RS_HASHES_MAX];
	bool primary[RS_HASHES_MAX];
	int group[RS_HASHES_MAX], ng, r;
	struct secret_nums v;
	size_t n;

	*foreign = false;
	if (secret_check(val, len, f, &v) < 0)
		return -EPROTO;
	/* Each hash taken apart once, by the check: the writer does this for every record
	 * of the store at every rotation. */
	n = 2 + v.nrevoked;
	ng = rs_hash_groups_of(v.views, v.absent, n, groups, primary, group);
	r = rs_costs_tally_groups(t, groups, ng);
	if (r < 0)
		return r;
	for (size_t i = 2; i < n; i++)
		if (group[i] < 0)
			*foreign = true;
	return 0;
}

size_t rs_secret_hashes(const struct rs_secret_rec *r, const char *hashes[RS_HASHES_MAX])
{
	size_t n = r->nrevoked < RS_TRIPWIRE_MAX ? r->nrevoked : RS_TRIPWIRE_MAX;

	hashes[0] = r->current;
	hashes[1] = r->previous;
	for (size_t i = 0; i < n; i++)
		hashes[2 + i] = r->revoked[i];
	return 2 + n;
}

int rs_secret_drop_foreign(struct rs_secret_rec *r)
{
	const char *h[RS_HASHES_MAX];
	struct rs_hash_view groups[RS_HASHES_MAX];
	bool primary[RS_HASHES_MAX];
	int group[RS_HASHES_MAX];
	size_t n = rs_secret_hashes(r, h), kept = 0;

	if (rs_hash_groups(h, n, groups, primary, group) < 0)
		return -EPROTO;
	/* Newest first, as they were. */
	for (size_t i = 2; i < n; i++) {
		if (group[i] < 0)
			continue;
		if (kept != i - 2)
			memcpy(r->revoked[kept], r->revoked[i - 2], RS_HASH_MAX);
		kept++;
	}
	n = r->nrevoked - kept;
	r->nrevoked = kept;
	return (int)n;
}
