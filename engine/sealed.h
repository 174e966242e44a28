/*
 * Sealed delivery (crypto_box_seal to a consumer's X25519 key) and the consumer side:
 * `rotsecctl keygen` makes a key pair, `rotsecctl open` decrypts.
 *
 * Key files are one line each:
 *   public  "rotsec-x25519-public <base64 of 32 bytes>\n"   (mode 0644)
 *   secret  "rotsec-x25519-secret <base64 of 32 bytes>\n"   (mode 0600)
 * base64 is libsodium's ORIGINAL variant (with padding). The label makes swapping the
 * two files an error instead of a silent failure.
 * A sealed file holds the raw crypto_box_seal output (crypto_box_SEALBYTES + secret length).
 */
#ifndef ROTSEC_SEALED_H
#define ROTSEC_SEALED_H

#include <stddef.h>

#include "secret.h"

#define RS_PK_LEN 32
#define RS_SK_LEN 32

/* Read a public key file and check it is a usable X25519 key (32 bytes, not a low-order
 * point). 0, or -EINVAL (malformed, with a reason in why) or -errno. */
int rs_read_public_key(const char *path, unsigned char pk[RS_PK_LEN], char *why, size_t whylen);

/* Read a secret key file; refuses a file readable by group or others (-EPERM). */
int rs_read_secret_key(const char *path, unsigned char sk[RS_SK_LEN], char *why, size_t whylen);

/* Write PREFIX.pub (0644) and PREFIX.key (0600), refusing to overwrite either (-EEXIST). */
int rs_keygen_files(const char *prefix, char *why, size_t whylen);

/* Seal `s` to `pk`; *out is malloc'ed, *outlen = crypto_box_SEALBYTES + s->len. */
int rs_seal(const struct rs_secret *s, const unsigned char pk[RS_PK_LEN], unsigned char **out,
            size_t *outlen);

/* Open a sealed buffer with the key pair read from `keyfile` (public key derived from the
 * secret key). The plaintext goes into guarded memory. -EBADMSG when it does not open. */
int rs_unseal(const unsigned char *in, size_t inlen, const char *keyfile, struct rs_secret *out,
              char *why, size_t whylen);

/* Wipe the stack below the caller. libsodium's crypto_secretbox_open_detached, under
 * crypto_box_seal_open and crypto_secretbox_open_easy, leaves the first 32 bytes of the
 * plaintext in a stack array that it does not clear; call this right after them. */
void rs_wipe_stack(void);

#endif
