/*
 * Sealed delivery keys: the X25519 pairs (their files are keyfile.c's), sealing a secret
 * to a consumer's key and opening it again (see sealed.h for the formats).
 */
#define _GNU_SOURCE
#include "sealed.h"
#include "keyfile.h"
#include "safefile.h"
#include "trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/*
 * A public key is usable when multiplying it by a random scalar does not give the
 * all-zero point. A low-order point (0, 1, and the few others of small order) would give
 * the same shared key for every sender, so a box "sealed" to it is readable by anyone.
 * crypto_scalarmult already returns -1 on an all-zero result; the explicit check keeps
 * that property visible here and independent of the libsodium version.
 */
static int pk_usable(const unsigned char pk[RS_PK_LEN])
{
	unsigned char n[crypto_scalarmult_SCALARBYTES], q[crypto_scalarmult_BYTES];
	int r;

	randombytes_buf(n, sizeof(n));
	r = crypto_scalarmult(q, n, pk);
	if (r == 0 && sodium_is_zero(q, sizeof(q)))
		r = -1;
	sodium_memzero(n, sizeof(n));
	sodium_memzero(q, sizeof(q));
	return r == 0 ? 0 : -EINVAL;
}

/* The sealing pairs, in the one format of keyfile.h. */
static const struct rs_keyfile_kind sealing_kind = {
        .secret_label = "rotsec-x25519-secret",
        .public_label = "rotsec-x25519-public",
        .noun = "key",
};

int rs_read_public_key(const char *path, unsigned char pk[RS_PK_LEN], char *why, size_t whylen)
{
	int r = rs_keyfile_read(path, &sealing_kind, false, pk, why, whylen);

	if (r == 0 && pk_usable(pk) < 0) {
		rs_set_why(why, whylen, "%s is not a usable X25519 public key (low-order point)",
		           path);
		sodium_memzero(pk, RS_PK_LEN);
		r = -EINVAL;
	}
	return r;
}

int rs_read_secret_key(const char *path, unsigned char sk[RS_SK_LEN], char *why, size_t whylen)
{
	return rs_keyfile_read(path, &sealing_kind, true, sk, why, whylen);
}

int rs_keygen_files(const char *prefix, char *why, size_t whylen)
{
	char pub[PATH_MAX], key[PATH_MAX];
	unsigned char pk[RS_PK_LEN], sk[RS_SK_LEN];
	int r;

	if (snprintf(pub, sizeof(pub), "%s.pub", prefix) >= (int)sizeof(pub) ||
	    snprintf(key, sizeof(key), "%s.key", prefix) >= (int)sizeof(key)) {
		rs_set_why(why, whylen, "key file prefix is too long");
		return -ENAMETOOLONG;
	}
	crypto_box_keypair(pk, sk);
	r = rs_keyfile_write_pair(key, pub, &sealing_kind, sk, pk, why, whylen);
	sodium_memzero(sk, sizeof(sk));
	return r;
}

int rs_seal(const struct rs_secret *s, const unsigned char pk[RS_PK_LEN], unsigned char **out,
            size_t *outlen)
{
	unsigned char *buf;
	size_t n;

	*out = NULL;
	*outlen = 0;
	if (!s || !s->buf || s->len > SIZE_MAX - crypto_box_SEALBYTES)
		return -EINVAL;
	n = crypto_box_SEALBYTES + s->len;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	/* Fails (-1) for a low-order public key, whose shared point would be all zero. */
	if (crypto_box_seal(buf, (const unsigned char *)s->buf, s->len, pk) != 0) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/* Deeper than the frames of crypto_box_seal_open and what it calls (a few KiB), and cheap
 * next to the curve25519 operation that comes with every use. noinline: its frame must
 * lie where the callee's frames were, below its caller's. */
__attribute__((noinline)) void rs_wipe_stack(void)
{
	unsigned char pad[16384];

	sodium_memzero(pad, sizeof(pad));
}

int rs_unseal(const unsigned char *in, size_t inlen, const char *keyfile, struct rs_secret *out,
              char *why, size_t whylen)
{
	unsigned char pk[RS_PK_LEN], sk[RS_SK_LEN];
	int r;

	out->buf = NULL;
	out->len = 0;
	if ((r = rs_read_secret_key(keyfile, sk, why, whylen)) < 0)
		goto out;
	r = -EBADMSG;
	if (inlen < crypto_box_SEALBYTES) {
		rs_set_why(why, whylen, "the sealed data is too short to hold a secret");
		goto out;
	}
	if (inlen - crypto_box_SEALBYTES > RS_SECRET_MAX) {
		rs_set_why(why, whylen, "the sealed data is larger than any secret rotsec makes");
		goto out;
	}
	crypto_scalarmult_base(pk, sk);
	if ((r = rs_secret_alloc(out, inlen - crypto_box_SEALBYTES)) < 0) {
		rs_set_why(why, whylen, "out of memory for the secret");
		goto out;
	}
	r = crypto_box_seal_open((unsigned char *)out->buf, in, inlen, pk, sk);
	rs_wipe_stack();
	if (r != 0) {
		rs_set_why(why, whylen, "the sealed data does not open with the key in %s",
		           keyfile);
		rs_secret_free(out);
		r = -EBADMSG;
		goto out;
	}
	r = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	return r;
}
