/*
 * Ed25519 signing key files (signkey.h).
 */
#define _GNU_SOURCE
#include "signkey.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define PK_LABEL    "rotsec-ed25519-public"
#define SK_LABEL    "rotsec-ed25519-secret"
#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL
#define KEY_B64_LEN sodium_base64_ENCODED_LEN(32, B64_VARIANT) /* with NUL */
/* A key line is 67 bytes: anything much longer is not a key file. */
#define KEYFILE_MAX 256

static void __attribute__((format(printf, 3, 4)))
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* "LABEL <base64 of 32 bytes>" from `path` into out[32]. */
static int read_line_key(const char *path, bool secret, unsigned char out[32], char *why,
                         size_t whylen)
{
	const char *want = secret ? SK_LABEL : PK_LABEL, *other = secret ? PK_LABEL : SK_LABEL;
	char buf[KEYFILE_MAX + 1];
	const char *b64, *end = NULL;
	size_t len = 0, b64len, binlen = 0;
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: a FIFO planted at the path must not hang us; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		set_why(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = -EINVAL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_why(why, whylen, "%s is not a regular file", path);
		goto out;
	}
	r = -EPERM;
	if (secret && (st.st_mode & 0077)) {
		set_why(why, whylen,
		        "%s is accessible by group or others (mode %04o); it must be 0600", path,
		        (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (!secret && (st.st_mode & 0022)) {
		set_why(why, whylen,
		        "%s is writable by group or others, who could substitute the key", path);
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			set_why(why, whylen, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = -EINVAL;
	if (len > KEYFILE_MAX) {
		set_why(why, whylen, "%s is too large to be a key file", path);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (strlen(buf) != len) {
		set_why(why, whylen, "%s is not a rotsec key file (it holds a NUL byte)", path);
		goto out;
	}
	if (strncmp(buf, other, strlen(other)) == 0 && buf[strlen(other)] == ' ') {
		set_why(why, whylen, "%s is a %s signing key, not a %s one", path,
		        secret ? "public" : "secret", secret ? "secret" : "public");
		goto out;
	}
	if (strncmp(buf, want, strlen(want)) != 0 || buf[strlen(want)] != ' ') {
		set_why(why, whylen,
		        "%s is not a rotsec signing key file (expected \"%s <base64>\"%s)", path,
		        want,
		        strncmp(buf, "rotsec-x25519-", 14) == 0 ? "; this is a sealing key" : "");
		goto out;
	}
	b64 = buf + strlen(want) + 1;
	b64len = len - strlen(want) - 1;
	if (sodium_base642bin(out, 32, b64, b64len, NULL, &binlen, &end, B64_VARIANT) != 0 ||
	    binlen != 32 || end != b64 + b64len) {
		set_why(why, whylen, "%s does not hold a 32-byte key in base64", path);
		goto out;
	}
	r = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	if (r < 0)
		sodium_memzero(out, 32);
	return r;
}

int rs_signkey_read_public(const char *path, unsigned char pk[RS_SIGN_PK_LEN], char *why,
                           size_t whylen)
{
	unsigned char x[32];
	int r = read_line_key(path, false, pk, why, whylen);

	/* A point that is not on the curve (or of small order) is no key: libsodium would
	 * refuse every signature, or accept forgeries for small-order points. */
	if (r == 0 && crypto_sign_ed25519_pk_to_curve25519(x, pk) != 0) {
		set_why(why, whylen, "%s is not a usable Ed25519 public key", path);
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
		set_why(why, whylen, "out of memory for the signing key");
		return -ENOMEM;
	}
	r = read_line_key(path, true, seed, why, whylen);
	if (r == 0)
		crypto_sign_seed_keypair(pk, sk, seed);
	sodium_free(seed);
	return r;
}

/* Create `path` exclusively with exactly `mode`; the fd, or -errno. */
static int create_excl(const char *path, mode_t mode, char *why, size_t whylen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int r;

	if (fd < 0) {
		r = -errno;
		if (r == -EEXIST)
			set_why(why, whylen, "%s already exists; refusing to overwrite a key",
			        path);
		else
			set_why(why, whylen, "cannot create %s: %s", path, strerror(-r));
		return r;
	}
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		set_why(why, whylen, "cannot set the mode of %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

/* One key line, fsync'ed; closes fd. */
static int write_line(int fd, const char *path, const char *label, const unsigned char key[32],
                      char *why, size_t whylen)
{
	char b64[KEY_B64_LEN], line[sizeof(SK_LABEL) + KEY_B64_LEN + 2];
	int r;

	sodium_bin2base64(b64, sizeof(b64), key, 32, B64_VARIANT);
	(void)snprintf(line, sizeof(line), "%s %s\n", label, b64);
	r = rs_write_all(fd, line, strlen(line));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		set_why(why, whylen, "cannot write %s: %s", path, strerror(-r));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	return r;
}

/* Make a pair in `keypath` and `pubpath`; both are created before either is written, so
 * that refusing one never leaves a new half beside an old one. sk may be NULL. */
static int make_pair(const char *keypath, const char *pubpath, unsigned char *sk, char *why,
                     size_t whylen)
{
	unsigned char *seed = sodium_malloc(32), *full = sodium_malloc(RS_SIGN_SK_LEN);
	unsigned char pk[RS_SIGN_PK_LEN];
	bool made_key = false, made_pub = false;
	int kfd = -1, pfd = -1, r = -ENOMEM;

	if (!seed || !full) {
		set_why(why, whylen, "out of memory for the signing key");
		goto out;
	}
	randombytes_buf(seed, 32);
	crypto_sign_seed_keypair(pk, full, seed);
	r = kfd = create_excl(keypath, 0600, why, whylen);
	if (r < 0)
		goto out;
	made_key = true;
	r = pfd = create_excl(pubpath, 0644, why, whylen);
	if (r < 0)
		goto out;
	made_pub = true;
	r = write_line(kfd, keypath, SK_LABEL, seed, why, whylen);
	kfd = -1;
	if (r < 0)
		goto out;
	r = write_line(pfd, pubpath, PK_LABEL, pk, why, whylen);
	pfd = -1;
	if (r == 0 && sk)
		memcpy(sk, full, RS_SIGN_SK_LEN);
out:
	if (kfd >= 0)
		close(kfd);
	if (pfd >= 0)
		close(pfd);
	if (r < 0) {
		/* Only what this call created: an existing key is never removed. */
		if (made_key)
			(void)unlink(keypath);
		if (made_pub)
			(void)unlink(pubpath);
	}
	sodium_free(seed);
	sodium_free(full);
	return r < 0 ? r : 0;
}

int rs_signkey_generate(const char *prefix, char *why, size_t whylen)
{
	char pub[PATH_MAX], key[PATH_MAX];

	if (snprintf(pub, sizeof(pub), "%s.pub", prefix) >= (int)sizeof(pub) ||
	    snprintf(key, sizeof(key), "%s.key", prefix) >= (int)sizeof(key)) {
		set_why(why, whylen, "key file prefix is too long");
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
		set_why(why, whylen, "signing key path is too long");
		return -ENAMETOOLONG;
	}
	return make_pair(path, pub, sk, why, whylen);
}
