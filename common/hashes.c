#include "hashes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define B2B_PREFIX    "$rotsec-b2b$v=1$"
#define ARGON2_PREFIX "$argon2id$v=19$m="

/* The value of each base64 character plus one, 0 for none: a table, since the writer
 * checks every hash of every record it copies at each rotation. */
#define B64_COMMON                                                                                 \
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,    \
	['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,         \
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,        \
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,        \
	['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,        \
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,        \
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,        \
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,        \
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62
static const unsigned char b64_urlsafe[256] = {B64_COMMON, ['-'] = 63, ['_'] = 64};
static const unsigned char b64_standard[256] = {B64_COMMON, ['+'] = 63, ['/'] = 64};

/* The value of a base64 character in the URL-safe or the standard alphabet, -1 if none. */
static int b64_value(unsigned char c, bool urlsafe)
{
	return (int)(urlsafe ? b64_urlsafe : b64_standard)[c] - 1;
}

/*
 * `chars` base64 characters of `bytes` bytes at s, canonical: the bits of the last
 * character beyond the data are zero (libsodium refuses others), so equal bytes are equal
 * text. Then `end` (a '$' or the NUL).
 */
static bool b64_ok(const char *s, size_t chars, size_t bytes, bool urlsafe, char end)
{
	unsigned spare = (unsigned)(chars * 6 - bytes * 8);
	int v = 0;

	for (size_t i = 0; i < chars; i++) {
		v = b64_value((unsigned char)s[i], urlsafe);
		if (v < 0)
			return false;
	}
	return ((unsigned)v & ((1u << spare) - 1)) == 0 && s[chars] == end;
}

/* Decimal digits up to `end`, no leading zero, between min and max; *s moves past `end`. */
static bool cost_ok(const char **s, char end, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p == '0' || *p == end)
		return false;
	for (; *p != end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*s = p + 1;
	*out = (uint32_t)v;
	return true;
}

int rs_hash_view(const char *s, struct rs_hash_view *v)
{
	const char *p;
	bool urlsafe;

	memset(v, 0, sizeof(*v));
	if (strncmp(s, B2B_PREFIX, strlen(B2B_PREFIX)) == 0) {
		v->cls.kind = RS_HASH_B2B;
		p = s + strlen(B2B_PREFIX);
		urlsafe = true;
	} else if (strncmp(s, ARGON2_PREFIX, strlen(ARGON2_PREFIX)) == 0) {
		/* The string carries its own costs, and the verifier obeys them: anything
		 * above what rotsec writes is refused as damage (RS_ARGON2_MAX_*). */
		v->cls.kind = RS_HASH_ARGON2ID;
		p = s + strlen(ARGON2_PREFIX);
		if (!cost_ok(&p, ',', RS_ARGON2_MIN_MEM_KIB, RS_ARGON2_MAX_MEM_KIB,
		             &v->cls.mem_kib) ||
		    strncmp(p, "t=", 2) != 0)
			return -EPROTO;
		p += 2;
		if (!cost_ok(&p, ',', 1, RS_ARGON2_MAX_PASSES, &v->cls.passes) ||
		    strncmp(p, "p=1$", 4) != 0)
			return -EPROTO;
		p += 4;
		urlsafe = false;
	} else {
		return -EPROTO;
	}
	/* Each check stops at the first byte that does not fit, the NUL included, so
	 * nothing is read past the end of the string. */
	if (!b64_ok(p, RS_HASH_SALT_B64, RS_HASH_SALT_BYTES, urlsafe, '$'))
		return -EPROTO;
	v->salt = p;
	p += RS_HASH_SALT_B64 + 1;
	if (!b64_ok(p, RS_HASH_TAG_B64, RS_HASH_TAG_BYTES, urlsafe, '\0'))
		return -EPROTO;
	v->tag = p;
	return 0;
}

/* chars base64 characters (checked) into bytes. */
static void b64_decode(const char *s, size_t chars, bool urlsafe, unsigned char *out, size_t bytes)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < chars; i++) {
		acc = acc << 6 | (uint32_t)b64_value((unsigned char)s[i], urlsafe);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < bytes)
				out[o++] = (unsigned char)(acc >> bits);
		}
	}
}

void rs_hash_salt_bytes(const struct rs_hash_view *v, unsigned char out[RS_HASH_SALT_BYTES])
{
	b64_decode(v->salt, RS_HASH_SALT_B64, v->cls.kind == RS_HASH_B2B, out, RS_HASH_SALT_BYTES);
}

void rs_hash_tag_bytes(const struct rs_hash_view *v, unsigned char out[RS_HASH_TAG_BYTES])
{
	b64_decode(v->tag, RS_HASH_TAG_B64, v->cls.kind == RS_HASH_B2B, out, RS_HASH_TAG_BYTES);
}

bool rs_hash_string_ok(const char *s)
{
	struct rs_hash_view v;

	return rs_hash_view(s, &v) == 0;
}

bool rs_hash_same_class(const struct rs_hash_class *a, const struct rs_hash_class *b)
{
	return a->kind == b->kind && a->mem_kib == b->mem_kib && a->passes == b->passes;
}

bool rs_hash_same_salt(const struct rs_hash_view *a, const struct rs_hash_view *b)
{
	return rs_hash_same_class(&a->cls, &b->cls) &&
	       memcmp(a->salt, b->salt, RS_HASH_SALT_B64) == 0;
}

int rs_hash_groups_of(const struct rs_hash_view *views, const bool *absent, size_t n,
                      struct rs_hash_view *groups, bool *primary, int *group)
{
	int ng = 0;

	for (size_t i = 0; i < n; i++) {
		int g, same_class = -1;

		group[i] = -1;
		if (absent[i])
			continue; /* no previous secret */
		for (g = 0; g < ng; g++) {
			if (rs_hash_same_salt(&groups[g], &views[i]))
				break;
			if (same_class < 0 && rs_hash_same_class(&groups[g].cls, &views[i].cls))
				same_class = g;
		}
		if (g < ng) {
			group[i] = g;
			continue;
		}
		/* A new salt: always for the current and previous hashes, which must be
		 * checked; for a tripwire only when no group has its class yet, so that the
		 * tripwires never add a computation to a login. */
		if (i >= 2 && same_class >= 0)
			continue;
		groups[ng] = views[i];
		primary[ng] = i < 2;
		group[i] = ng++;
	}
	return ng;
}

int rs_hash_groups(const char *const *hashes, size_t n, struct rs_hash_view *groups, bool *primary,
                   int *group)
{
	struct rs_hash_view views[RS_HASHES_MAX];
	bool absent[RS_HASHES_MAX];

	if (n > RS_HASHES_MAX)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		absent[i] = i == 1 && (!hashes[1] || !hashes[1][0]);
		if (!absent[i] && rs_hash_view(hashes[i], &views[i]) < 0)
			return -EPROTO;
	}
	return rs_hash_groups_of(views, absent, n, groups, primary, group);
}

int rs_costs_tally_add(struct rs_costs_tally *t, const char *const *hashes, size_t n)
{
	struct rs_hash_view groups[RS_HASHES_MAX];
	bool primary[RS_HASHES_MAX];
	int group[RS_HASHES_MAX], ng;

	if (n > RS_HASHES_MAX)
		return -EPROTO;
	ng = rs_hash_groups(hashes, n, groups, primary, group);
	if (ng < 0)
		return ng;
	return rs_costs_tally_groups(t, groups, ng);
}

int rs_costs_tally_groups(struct rs_costs_tally *t, const struct rs_hash_view *groups, int ng)
{
	size_t total = 0;

	for (int g = 0; g < ng; g++) {
		unsigned same = 0;
		size_t c;
		int h;

		for (h = 0; h < g; h++)
			if (rs_hash_same_class(&groups[h].cls, &groups[g].cls))
				break;
		if (h < g)
			continue; /* counted with the first group of its class */
		for (h = g; h < ng; h++)
			same += rs_hash_same_class(&groups[h].cls, &groups[g].cls);
		for (c = 0; c < t->n; c++)
			if (rs_hash_same_class(&t->cls[c], &groups[g].cls))
				break;
		if (c == t->n) {
			if (t->n == RS_COSTS_MAX)
				return -E2BIG;
			t->cls[t->n] = groups[g].cls;
			t->count[t->n++] = 0;
		}
		if (same > t->count[c])
			t->count[c] = same;
	}
	for (size_t c = 0; c < t->n; c++)
		total += t->count[c];
	return total > RS_COSTS_MAX ? -E2BIG : 0;
}

static int class_cmp(const struct rs_hash_class *a, const struct rs_hash_class *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->mem_kib != b->mem_kib)
		return a->mem_kib < b->mem_kib ? -1 : 1;
	return a->passes < b->passes ? -1 : a->passes > b->passes;
}

/* A hash string of class c whose salt and tag are all zero bits: it is only ever computed
 * with, never compared with (policy.c), so nothing depends on its bytes. */
static void dummy_of(const struct rs_hash_class *c, char out[RS_HASH_MAX])
{
	static const char zeros[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

	if (c->kind == RS_HASH_B2B)
		(void)snprintf(out, RS_HASH_MAX, B2B_PREFIX "%.22s$%.43s", zeros, zeros);
	else
		(void)snprintf(out, RS_HASH_MAX, ARGON2_PREFIX "%u,t=%u,p=1$%.22s$%.43s",
		               (unsigned)c->mem_kib, (unsigned)c->passes, zeros, zeros);
}

void rs_costs_from_tally(const struct rs_costs_tally *t, struct rs_costs *out)
{
	size_t order[RS_COSTS_MAX], n = t->n < RS_COSTS_MAX ? t->n : RS_COSTS_MAX;

	memset(out, 0, sizeof(*out));
	/* Sorted by class, so that the profile does not depend on the order of records. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && class_cmp(&t->cls[order[j - 1]], &t->cls[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < t->count[order[i]] && out->n < RS_COSTS_MAX; k++)
			dummy_of(&t->cls[order[i]], out->dummy[out->n++]);
	if (out->n == 0) {
		struct rs_hash_class b2b = {RS_HASH_B2B, 0, 0};

		dummy_of(&b2b, out->dummy[out->n++]);
	}
}
