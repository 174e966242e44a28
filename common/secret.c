#include "secret.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

/* rs_hash_string_ok refuses Argon2id costs above these (record.h): every hash this file
 * writes must pass it. */
_Static_assert(crypto_pwhash_MEMLIMIT_MODERATE / 1024 <= RS_ARGON2_MAX_MEM_KIB,
               "RS_ARGON2_MAX_MEM_KIB is below the moderate cost");
_Static_assert(crypto_pwhash_OPSLIMIT_MODERATE <= RS_ARGON2_MAX_PASSES,
               "RS_ARGON2_MAX_PASSES is below the moderate cost");

#define B2B_PREFIX "$rotsec-b2b$v=1$"
#define B2B_SALT   16
#define B2B_OUT    32

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

static void b2b(const char *pw, size_t len, const unsigned char salt[B2B_SALT],
                unsigned char out[B2B_OUT])
{
	crypto_generichash(out, B2B_OUT, (const unsigned char *)pw, len, salt, B2B_SALT);
}

int rs_hash_secret(const char *pw, size_t len, double entropy_bits, enum rs_hash_cost cost,
                   char out[RS_HASH_MAX])
{
	if (entropy_bits >= 128.0) {
		unsigned char salt[B2B_SALT], h[B2B_OUT];
		char salt64[sodium_base64_ENCODED_LEN(B2B_SALT,
		                                      sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
		char h64[sodium_base64_ENCODED_LEN(B2B_OUT,
		                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

		randombytes_buf(salt, sizeof(salt));
		b2b(pw, len, salt, h);
		sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_bin2base64(h64, sizeof(h64), h, sizeof(h),
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(h, sizeof(h));
		(void)snprintf(out, RS_HASH_MAX, B2B_PREFIX "%s$%s", salt64, h64);
		return 0;
	}
	if (crypto_pwhash_str_alg(out, pw, len,
	                          cost == RS_COST_MODERATE ? crypto_pwhash_OPSLIMIT_MODERATE
	                                                   : crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                          cost == RS_COST_MODERATE ? crypto_pwhash_MEMLIMIT_MODERATE
	                                                   : crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

static int b2b_verify(const char *hash, const char *pw, size_t len)
{
	const char *p = hash + strlen(B2B_PREFIX), *dollar, *end;
	unsigned char salt[B2B_SALT], want[B2B_OUT], got[B2B_OUT];
	size_t n;
	int r;

	dollar = strchr(p, '$');
	if (!dollar)
		return -EINVAL;
	if (sodium_base642bin(salt, sizeof(salt), p, (size_t)(dollar - p), NULL, &n, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(salt) || end != dollar)
		return -EINVAL;
	if (sodium_base642bin(want, sizeof(want), dollar + 1, strlen(dollar + 1), NULL, &n, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(want) || *end != '\0')
		return -EINVAL;
	b2b(pw, len, salt, got);
	r = sodium_memcmp(got, want, sizeof(got)) == 0;
	sodium_memzero(got, sizeof(got));
	return r;
}

int rs_hash_verify(const char *hash, const char *pw, size_t len)
{
	/* No hash (a caller without a store's dummy) is a malformed one: fail closed. So
	 * is one the store parser would refuse, such as Argon2id costs rotsec never writes:
	 * they would be obeyed below. */
	if (!hash || !rs_hash_string_ok(hash))
		return -EINVAL;
	if (strncmp(hash, B2B_PREFIX, strlen(B2B_PREFIX)) == 0)
		return b2b_verify(hash, pw, len);
	if (strncmp(hash, "$argon2id$", 10) == 0) {
		/* crypto_pwhash_str_verify answers -1 (errno EINVAL) both for a mismatch and
		 * for a string it cannot decode, and a damaged hash must fail closed as an
		 * error, not pass as "no match". needs_rehash decodes the string without
		 * hashing anything and returns -1 only when it is malformed. */
		if (crypto_pwhash_argon2id_str_needs_rehash(hash,
		                                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
		                                            crypto_pwhash_MEMLIMIT_INTERACTIVE) < 0)
			return -EINVAL;
		/* crypto_pwhash_str_verify compares in constant time; -1 means mismatch or
		 * out of memory, which errno tells apart. */
		errno = 0;
		if (crypto_pwhash_str_verify(hash, pw, len) == 0)
			return 1;
		return errno == ENOMEM ? -ENOMEM : 0;
	}
	return -EINVAL;
}
