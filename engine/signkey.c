/*
 * Ed25519 signing key files (signkey.h).
 */
#define _GNU_SOURCE
#include "signkey.h"
#include "keyfile.h"
#include "why.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* The signing pairs, in the one format of keyfile.h. */
static const struct rs_keyfile_kind signing_kind = {
        .secret_label = "rotsec-ed25519-secret",
        .public_label = "rotsec-ed25519-public",
        .noun = "signing key",
};

int rs_signkey_read_public(const char *path, unsigned char pk[RS_SIGN_PK_LEN], char *why,
                           size_t whylen)
{
	unsigned char x[32];
	int r = rs_keyfile_read(path, &signing_kind, false, pk, why, whylen);

	/* A point that is not on the curve (or of small order) is no key: libsodium would
	 * refuse every signature, or accept forgeries for small-order points. */
	if (r == 0 && crypto_sign_ed25519_pk_to_curve25519(x, pk) != 0) {
		rs_set_why(why, whylen, "%s is not a usable Ed25519 public key", path);
		sodium_memzero(pk, RS_SIGN_PK_LEN);
		r = -EINVAL;
	}
	return r;
}

int rs_signkey_read_secret(const char *path, unsigned char *sk, char *why, size_t whylen)
{
	unsigned char *seed = sodium_malloc(32), pk[RS_SIGN_PK_LEN];
	int r;

	if (!seed) {
		rs_set_why(why, whylen, "out of memory for the signing key");
		return -ENOMEM;
	}
	r = rs_keyfile_read(path, &signing_kind, true, seed, why, whylen);
	if (r == 0)
		crypto_sign_seed_keypair(pk, sk, seed);
	sodium_free(seed);
	return r;
}

/* Make a pair in `keypath` and `pubpath` (keyfile.h); the secret key also into sk, unless
 * it is NULL. */
static int make_pair(const char *keypath, const char *pubpath, unsigned char *sk, char *why,
                     size_t whylen)
{
	unsigned char *seed = sodium_malloc(32), *full = sodium_malloc(RS_SIGN_SK_LEN);
	unsigned char pk[RS_SIGN_PK_LEN];
	int r = -ENOMEM;

	if (!seed || !full) {
		rs_set_why(why, whylen, "out of memory for the signing key");
		goto out;
	}
	randombytes_buf(seed, 32);
	crypto_sign_seed_keypair(pk, full, seed);
	r = rs_keyfile_write_pair(keypath, pubpath, &signing_kind, seed, pk, why, whylen);
	if (r == 0 && sk)
		memcpy(sk, full, RS_SIGN_SK_LEN);
out:
	sodium_free(seed);
	sodium_free(full);
	return r;
}

int rs_signkey_generate(const char *prefix, char *why, size_t whylen)
{
	char pub[PATH_MAX], key[PATH_MAX];

	if (snprintf(pub, sizeof(pub), "%s.pub", prefix) >= (int)sizeof(pub) ||
	    snprintf(key, sizeof(key), "%s.key", prefix) >= (int)sizeof(key)) {
		rs_set_why(why, whylen, "key file prefix is too long");
		return -ENAMETOOLONG;
	}
	return make_pair(key, pub, NULL, why, whylen);
}

int rs_signkey_load_or_create(const char *path, unsigned char *sk, char *why, size_t whylen)
{
	char pub[PATH_MAX];
	int r = rs_signkey_read_secret(path, sk, why, whylen);

	if (r != -ENOENT)
		return r;
	if (snprintf(pub, sizeof(pub), "%s.pub", path) >= (int)sizeof(pub)) {
		rs_set_why(why, whylen, "signing key path is too long");
		return -ENAMETOOLONG;
	}
	return make_pair(path, pub, sk, why, whylen);
}
