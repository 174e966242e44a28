#include "secret.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* rs_hash_view refuses Argon2id costs above these (hashes.h): every hash this file writes
 * must pass it. */
_Static_assert(crypto_pwhash_MEMLIMIT_MODERATE / 1024 <= RS_ARGON2_MAX_MEM_KIB,
               "RS_ARGON2_MAX_MEM_KIB is below the moderate cost");
_Static_assert(crypto_pwhash_OPSLIMIT_MODERATE <= RS_ARGON2_MAX_PASSES,
               "RS_ARGON2_MAX_PASSES is below the moderate cost");

#define B2B_PREFIX "$rotsec-b2b$v=1$"

_Static_assert(crypto_pwhash_SALTBYTES == RS_HASH_SALT_BYTES, "Argon2id salt size");
_Static_assert(crypto_generichash_KEYBYTES_MIN <= RS_HASH_SALT_BYTES, "BLAKE2b key size");

int rs_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int rs_secret_alloc(struct rs_secret *s, size_t len)
{
	s->buf = NULL;
	s->len = 0;
	/* len + 1 must not wrap to a zero-byte allocation. */
	if (len >= SIZE_MAX / 2)
		return -ENOMEM;
	s->buf = sodium_malloc(len + 1);
	if (!s->buf)
		return -ENOMEM;
	memset(s->buf, 0, len + 1);
	s->len = len;
	return 0;
}

int rs_secret_from(struct rs_secret *s, const char *pw, size_t len)
{
	int r = rs_secret_alloc(s, len);

	if (r == 0)
		memcpy(s->buf, pw, len);
	return r;
}

void rs_secret_free(struct rs_secret *s)
{
	if (s->buf)
		sodium_free(s->buf); /* wipes before unmapping */
	s->buf = NULL;
	s->len = 0;
}

int rs_secret_generate(const struct rs_alphabet *a, size_t length, struct rs_secret *out)
{
	size_t i;
	int r;

	if (a->n < 2 || length == 0 || length > RS_SECRET_MAX)
		return -EINVAL;
	r = rs_secret_alloc(out, length);
	if (r < 0)
		return r;
	/* randombytes_uniform rejects the values that would make some characters more
	 * likely than others (no modulo bias). */
	for (i = 0; i < length; i++)
		out->buf[i] = a->chars[randombytes_uniform((uint32_t)a->n)];
	return 0;
}

/*
 * One computation: the tag of pw under class `c` and `salt`. BLAKE2b-256 keyed with the
 * salt, or Argon2id at the class's costs with one lane; either way what libsodium's string
 * functions compute for the same salt (crypto_pwhash_str_verify accepts what this writes),
 * and the only place this file computes one, so that counting them counts logins' work.
 */
static int compute(const struct rs_hash_class *c, const unsigned char salt[RS_HASH_SALT_BYTES],
                   const char *pw, size_t len, unsigned char tag[RS_HASH_TAG_BYTES])
{
	if (c->kind == RS_HASH_B2B) {
		crypto_generichash(tag, RS_HASH_TAG_BYTES, (const unsigned char *)pw, len, salt,
		                   RS_HASH_SALT_BYTES);
		return 0;
	}
	if (c->kind != RS_HASH_ARGON2ID)
		return -EINVAL;
	/* -1 is out of memory, or parameters libsodium refuses (which hashes.c does not let
	 * through): errno says which. */
	errno = 0;
	if (crypto_pwhash(tag, RS_HASH_TAG_BYTES, pw, len, salt, c->passes,
	                  (size_t)c->mem_kib * 1024u, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	return 0;
}

static int b64_variant(const struct rs_hash_class *c)
{
	return c->kind == RS_HASH_B2B ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
	                              : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
}

int rs_hash_compute(const struct rs_hash_view *v, const char *pw, size_t len,
                    unsigned char tag[RS_HASH_TAG_BYTES])
{
	unsigned char salt[RS_HASH_SALT_BYTES];

	rs_hash_salt_bytes(v, salt);
	return compute(&v->cls, salt, pw, len, tag);
}

int rs_hash_tag_equal(const struct rs_hash_view *v, const unsigned char tag[RS_HASH_TAG_BYTES])
{
	unsigned char want[RS_HASH_TAG_BYTES];
	int r;

	unsigned char d = 0;

	rs_hash_tag_bytes(v, want);
	/* Every byte, whatever the first difference: constant time, as sodium_memcmp, at a
	 * fraction of its cost (a login compares RS_HASHES_MAX tags). */
	for (size_t i = 0; i < sizeof(want); i++)
		d |= (unsigned char)(want[i] ^ tag[i]);
	r = d == 0;
	sodium_memzero(want, sizeof(want));
	return r;
}

/* The class a new secret of `entropy_bits` gets (ARCHITECTURE.md, contract §2). */
static struct rs_hash_class class_for(double entropy_bits, enum rs_hash_cost cost)
{
	struct rs_hash_class c = {RS_HASH_B2B, 0, 0};

	if (entropy_bits < 128.0) {
		c.kind = RS_HASH_ARGON2ID;
		c.mem_kib =
		        (uint32_t)((cost == RS_COST_MODERATE ? crypto_pwhash_MEMLIMIT_MODERATE
		                                             : crypto_pwhash_MEMLIMIT_INTERACTIVE) /
		                   1024u);
		c.passes =
		        (uint32_t)(cost == RS_COST_MODERATE ? crypto_pwhash_OPSLIMIT_MODERATE
		                                            : crypto_pwhash_OPSLIMIT_INTERACTIVE);
	}
	return c;
}

int rs_hash_secret_like(const char *pw, size_t len, double entropy_bits, enum rs_hash_cost cost,
                        const struct rs_secret_rec *rec, char out[RS_HASH_MAX])
{
	const struct rs_hash_class c = class_for(entropy_bits, cost);
	unsigned char salt[RS_HASH_SALT_BYTES], tag[RS_HASH_TAG_BYTES];
	char salt64[RS_HASH_SALT_B64 + 1], tag64[RS_HASH_TAG_B64 + 1];
	const char *h[RS_HASHES_MAX];
	size_t n = rec ? rs_secret_hashes(rec, h) : 0, i;
	int r = -1;

	/* The account's salt for this class, from its newest hash of the class: then one
	 * computation checks this secret, the previous one and the tripwires (hashes.h). */
	for (i = 0; i < n && r != 0; i++) {
		struct rs_hash_view v;

		if (h[i][0] && rs_hash_view(h[i], &v) == 0 && rs_hash_same_class(&v.cls, &c)) {
			rs_hash_salt_bytes(&v, salt);
			r = 0;
		}
	}
	if (r != 0)
		randombytes_buf(salt, sizeof(salt));
	r = compute(&c, salt, pw, len, tag);
	if (r < 0)
		return r;
	sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt), b64_variant(&c));
	sodium_bin2base64(tag64, sizeof(tag64), tag, sizeof(tag), b64_variant(&c));
	sodium_memzero(tag, sizeof(tag));
	if (c.kind == RS_HASH_B2B)
		(void)snprintf(out, RS_HASH_MAX, B2B_PREFIX "%s$%s", salt64, tag64);
	else
		(void)snprintf(out, RS_HASH_MAX, "$argon2id$v=19$m=%u,t=%u,p=1$%s$%s",
		               (unsigned)c.mem_kib, (unsigned)c.passes, salt64, tag64);
	return 0;
}

int rs_hash_secret(const char *pw, size_t len, double entropy_bits, enum rs_hash_cost cost,
                   char out[RS_HASH_MAX])
{
	return rs_hash_secret_like(pw, len, entropy_bits, cost, NULL, out);
}

int rs_hash_verify(const char *hash, const char *pw, size_t len)
{
	unsigned char tag[RS_HASH_TAG_BYTES];
	struct rs_hash_view v;
	int r;

	/* No hash, or one the store parser would refuse (such as Argon2id costs rotsec
	 * never writes, which would be obeyed below): malformed, fail closed. */
	if (!hash || rs_hash_view(hash, &v) < 0)
		return -EINVAL;
	r = rs_hash_compute(&v, pw, len, tag);
	if (r == 0)
		r = rs_hash_tag_equal(&v, tag);
	sodium_memzero(tag, sizeof(tag));
	return r;
}
