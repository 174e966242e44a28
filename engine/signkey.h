/*
 * Ed25519 signing keys of fleet hosts: a host signs every message it publishes to etcd
 * (fleet_msg.h), its consumers check the signature with the host's public key.
 *
 * Key files are one line each, in the format of the X25519 pairs of sealed.h:
 *   public  "rotsec-ed25519-public <base64 of 32 bytes>\n"   (mode 0644)
 *   secret  "rotsec-ed25519-secret <base64 of 32 bytes>\n"   (mode 0600)
 * The secret line holds the 32-byte seed (crypto_sign_seed_keypair); libsodium's 64-byte
 * secret key is that seed and the public key, made again at load. base64 is libsodium's
 * ORIGINAL variant with padding. The labels tell a signing key from a sealing key, and a
 * secret key from a public one, so that a swapped file is an error, not a silent failure.
 *
 * Functions return 0 or a negative errno, with one sentence in `why` on error.
 */
#ifndef ROTSEC_SIGNKEY_H
#define ROTSEC_SIGNKEY_H

#include <stddef.h>

#define RS_SIGN_PK_LEN 32
#define RS_SIGN_SK_LEN 64 /* libsodium's: seed || public key */

/* Write PREFIX.key (0600) and PREFIX.pub (0644), refusing to overwrite either (-EEXIST).
 * `rotsecctl keygen --sign PREFIX`. */
int rs_signkey_generate(const char *prefix, char *why, size_t whylen);

/* Read a public signing key (`--trust H=FILE`, or a host's PATH.pub). The file must not be
 * writable by group or others: whoever can replace it can sign for that host. */
int rs_signkey_read_public(const char *path, unsigned char pk[RS_SIGN_PK_LEN], char *why,
                           size_t whylen);

/* Read a secret signing key into sk, which must be guarded memory (sodium_malloc) of
 * RS_SIGN_SK_LEN bytes. The file must be accessible by its owner only (-EPERM). */
int rs_signkey_read_secret(const char *path, unsigned char *sk, char *why, size_t whylen);

/* The host side's signing_key: read PATH, or when it does not exist yet make it (0600)
 * with PATH.pub (0644) beside it, to be handed to the consumers. */
int rs_signkey_load_or_create(const char *path, unsigned char *sk, char *why, size_t whylen);

#endif
