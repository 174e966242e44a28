/*
 * Secrets: generation, their entropy, hashing for the store and verification.
 *
 * Plaintext secrets live only in sodium_malloc'ed memory (guard pages, mlock'ed, wiped
 * by sodium_free) and are passed around as struct rs_secret.
 */
#ifndef ROTSEC_SECRET_H
#define ROTSEC_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"

/* Longest secret rotsec generates or accepts in a password prompt (PAM_MAX_RESP_SIZE). */
#define RS_SECRET_MAX 512

struct rs_alphabet {
	char chars[96];
	size_t n;
};

enum rs_hash_cost {
	RS_COST_INTERACTIVE = 0,
	RS_COST_MODERATE,
};

struct rs_secret {
	char *buf; /* sodium_malloc'ed, NUL-terminated */
	size_t len;
};

/* "alnum", "base64url", "printable" (ASCII 0x21-0x7e), or else the string itself is
 * the set: printable ASCII without space, every character once. -EINVAL otherwise
 * (fewer than 2 characters, duplicates, anything outside 0x21-0x7e). */
int rs_alphabet_parse(const char *spec, struct rs_alphabet *out);

/* length * log2(alphabet size). This and rs_alphabet_parse are in alphabet.c. */
double rs_entropy_bits(const struct rs_alphabet *a, size_t length);

/* Allocate a secret buffer of `len` bytes (+NUL) in guarded memory. -ENOMEM. */
int rs_secret_alloc(struct rs_secret *s, size_t len);
/* Copy `len` bytes of plaintext into a new guarded buffer. */
int rs_secret_from(struct rs_secret *s, const char *pw, size_t len);
/* Wipe and free; safe on a zeroed struct. */
void rs_secret_free(struct rs_secret *s);

/* `length` characters drawn with randombytes_uniform: every character equally likely. */
int rs_secret_generate(const struct rs_alphabet *a, size_t length, struct rs_secret *out);

/*
 * Hash for the store (ARCHITECTURE.md, contract §2): at or above 128 bits of entropy a salted
 * BLAKE2b-256 string "$rotsec-b2b$v=1$SALT$HASH"; below, Argon2id at the interactive cost, or the
 * moderate one (hashes.h). `out` must hold RS_HASH_MAX bytes. A fresh random salt.
 */
int rs_hash_secret(const char *pw, size_t len, double entropy_bits, enum rs_hash_cost cost,
                   char out[RS_HASH_MAX]);
/* rs_hash_secret for a new secret of the account whose record is `rec` (NULL: a new
 * account): with the salt of its newest hash of the same class, if it has one, so that
 * every hash of a class in the record shares one salt and a login computes one hash per
 * class (hashes.h, policy.h); a fresh random salt otherwise. */
int rs_hash_secret_like(const char *pw, size_t len, double entropy_bits, enum rs_hash_cost cost,
                        const struct rs_secret_rec *rec, char out[RS_HASH_MAX]);

/* 1 match, 0 no match (constant time in the password), -EINVAL malformed hash,
 * -ENOMEM when Argon2 could not get its memory. One computation. */
int rs_hash_verify(const char *hash, const char *pw, size_t len);

/* One computation of pw under the class and salt of `v` (from rs_hash_view): its tag. 0,
 * -ENOMEM (Argon2id could not get its memory), -EINVAL (costs libsodium refuses). Every
 * hash a login computes is one call of this (or of rs_hash_verify). */
int rs_hash_compute(const struct rs_hash_view *v, const char *pw, size_t len,
                    unsigned char tag[RS_HASH_TAG_BYTES]);
/* Whether the tag of `v` (from rs_hash_view) is `tag`, in constant time: 1 or 0. */
int rs_hash_tag_equal(const struct rs_hash_view *v, const unsigned char tag[RS_HASH_TAG_BYTES]);

/* Call once before anything else here (sodium_init). 0 or -EIO. */
int rs_crypto_init(void);

#endif
