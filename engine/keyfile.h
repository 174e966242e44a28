/*
 * One-line key files, the one format of rotsec's key pairs: the X25519 sealing pairs of
 * sealed.h and the Ed25519 signing pairs of signkey.h. Each file is one line,
 *   "LABEL <base64 of 32 bytes>\n"
 * base64 in libsodium's ORIGINAL variant with padding. Each kind of pair has two labels,
 * one for its secret half and one for its public half ("rotsec-x25519-secret",
 * "rotsec-x25519-public"), so that a swapped or mixed-up file is an error that says so,
 * never a key silently taken for another.
 *
 * Functions return 0 or a negative errno, with one sentence in `why` on error (never
 * the key).
 */
#ifndef ROTSEC_KEYFILE_H
#define ROTSEC_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#define RS_KEYFILE_KEY_LEN 32

/* A kind of key pair. */
struct rs_keyfile_kind {
	const char *secret_label; /* "rotsec-x25519-secret" */
	const char *public_label; /* "rotsec-x25519-public" */
	const char *noun;         /* in messages: "key", "signing key" */
};

/*
 * Read the secret (`secret`) or public half of a pair of `kind` from `path` into key.
 * A secret key file must not be accessible to group or others at all (-EPERM), a public
 * one not writable by them (-EPERM: whoever can replace it chooses whom we trust or whom
 * we seal to). -EINVAL for anything that is not such a key file; -errno when it cannot
 * be read. key is wiped on every error.
 */
int rs_keyfile_read(const char *path, const struct rs_keyfile_kind *kind, bool secret,
                    unsigned char key[RS_KEYFILE_KEY_LEN], char *why, size_t whylen);

/*
 * Write a new pair: `secret` to keypath (0600) and `pub` to pubpath (0644), whatever the
 * umask. Both files are created (O_EXCL, never over an existing file or through a
 * symlink) before either is written, so that refusing one (-EEXIST) never leaves a new
 * half beside an old one; each is fsync'ed. On failure only what this call created is
 * removed.
 */
int rs_keyfile_write_pair(const char *keypath, const char *pubpath,
                          const struct rs_keyfile_kind *kind,
                          const unsigned char secret[RS_KEYFILE_KEY_LEN],
                          const unsigned char pub[RS_KEYFILE_KEY_LEN], char *why, size_t whylen);

#endif
