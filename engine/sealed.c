/*
 * Sealed delivery keys: reading and writing the one-line key files, sealing a secret to a
 * consumer's X25519 key and opening it again (see sealed.h for the formats).
 */
#define _GNU_SOURCE
#include "sealed.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define PK_LABEL    "rotsec-x25519-public"
#define SK_LABEL    "rotsec-x25519-secret"
#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL
#define KEY_B64_LEN sodium_base64_ENCODED_LEN(RS_PK_LEN, B64_VARIANT) /* with NUL */
/* A key line is 66 bytes. Anything much longer is not a key file, and reading it whole
 * into a fixed buffer keeps a secret key out of the heap. */
#define KEYFILE_MAX 256

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

/*
 * Read "LABEL <base64 of 32 bytes>\n" from `path` into key. `secret` selects the label and
 * the mode rule: a secret key must not be accessible to group or others at all, a public
 * key must not be writable by them (whoever can replace it receives the secrets).
 */
static int read_key_file(const char *path, bool secret, unsigned char key[32], char *why,
                         size_t whylen)
{
	const char *want = secret ? SK_LABEL : PK_LABEL, *other = secret ? PK_LABEL : SK_LABEL;
	const char *kind = secret ? "secret" : "public";
	char buf[KEYFILE_MAX + 1];
	const char *b64, *b64end = NULL;
	size_t len = 0, b64len, binlen = 0;
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: a FIFO planted at the path must not hang us; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
		goto out;
	}
	r = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		rs_set_why(why, whylen, "%s is not a regular file", path);
		goto out;
	}
	r = -EPERM;
	if (secret && (st.st_mode & 0077)) {
		rs_set_why(why, whylen,
		           "%s is accessible by group or others (mode %04o); it must be 0600", path,
		           (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (!secret && (st.st_mode & 0022)) {
		rs_set_why(why, whylen,
		           "%s is writable by group or others, who could substitute the key", path);
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = -EINVAL;
	if (len > KEYFILE_MAX) {
		rs_set_why(why, whylen, "%s is too large to be a key file", path);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (strlen(buf) != len) {
		rs_set_why(why, whylen, "%s is not a rotsec key file (it holds a NUL byte)", path);
		goto out;
	}
	if (strncmp(buf, other, strlen(other)) == 0 && buf[strlen(other)] == ' ') {
		rs_set_why(why, whylen, "%s is a %s key, not a %s key", path,
		           secret ? "public" : "secret", kind);
		goto out;
	}
	if (strncmp(buf, want, strlen(want)) != 0 || buf[strlen(want)] != ' ') {
		rs_set_why(why, whylen, "%s is not a rotsec %s key file (expected \"%s <base64>\")",
		           path, kind, want);
		goto out;
	}
	b64 = buf + strlen(want) + 1;
	b64len = len - strlen(want) - 1;
	if (sodium_base642bin(key, 32, b64, b64len, NULL, &binlen, &b64end, B64_VARIANT) != 0 ||
	    binlen != 32 || b64end != b64 + b64len) {
		rs_set_why(why, whylen, "%s does not hold a 32-byte key in base64", path);
		goto out;
	}
	r = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	if (r < 0)
		sodium_memzero(key, 32);
	return r;
}

int rs_read_public_key(const char *path, unsigned char pk[RS_PK_LEN], char *why, size_t whylen)
{
	int r = read_key_file(path, false, pk, why, whylen);

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
	return read_key_file(path, true, sk, why, whylen);
}

/* Create `path` exclusively with exactly `mode`, whatever the umask. */
static int create_key_file(const char *path, mode_t mode, char *why, size_t whylen)
{
	int fd, r;

	/* O_EXCL never opens an existing file, nor follows a symlink planted at the path. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		if (r == -EEXIST)
			rs_set_why(why, whylen, "%s already exists; refusing to overwrite a key",
			           path);
		else
			rs_set_why(why, whylen, "cannot create %s: %s", path, strerror(-r));
		return r;
	}
	/* The umask may have narrowed the mode given to open; set it exactly, before any
	 * content is written. */
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot set the mode of %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

/* Write one key line and make it durable: a key pair the consumer believes it has must
 * still be there after a crash. Closes fd in every case. */
static int write_key_line(int fd, const char *path, const char *label, const unsigned char *key,
                          char *why, size_t whylen)
{
	char b64[KEY_B64_LEN], line[sizeof(SK_LABEL) + KEY_B64_LEN + 2];
	int r;

	sodium_bin2base64(b64, sizeof(b64), key, 32, B64_VARIANT);
	(void)snprintf(line, sizeof(line), "%s %s\n", label, b64);
	if ((r = rs_write_all(fd, line, strlen(line))) < 0)
		goto out;
	if (fsync(fd) < 0)
		r = -errno;
out:
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		rs_set_why(why, whylen, "cannot write %s: %s", path, strerror(-r));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	return r;
}

int rs_keygen_files(const char *prefix, char *why, size_t whylen)
{
	char pub[PATH_MAX], key[PATH_MAX];
	unsigned char pk[RS_PK_LEN], sk[RS_SK_LEN];
	bool made_pub = false, made_key = false;
	int pfd = -1, kfd = -1, r;

	if (snprintf(pub, sizeof(pub), "%s.pub", prefix) >= (int)sizeof(pub) ||
	    snprintf(key, sizeof(key), "%s.key", prefix) >= (int)sizeof(key)) {
		rs_set_why(why, whylen, "key file prefix is too long");
		r = -ENAMETOOLONG;
		goto out;
	}
	crypto_box_keypair(pk, sk);

	/* Create both files before writing either, so that refusing to overwrite one of
	 * them never leaves a new half of a pair beside an old half. */
	if ((r = kfd = create_key_file(key, 0600, why, whylen)) < 0)
		goto out;
	made_key = true;
	if ((r = pfd = create_key_file(pub, 0644, why, whylen)) < 0)
		goto out;
	made_pub = true;

	r = write_key_line(kfd, key, SK_LABEL, sk, why, whylen);
	kfd = -1;
	if (r < 0)
		goto out;
	r = write_key_line(pfd, pub, PK_LABEL, pk, why, whylen);
	pfd = -1;
out:
	if (kfd >= 0)
		close(kfd);
	if (pfd >= 0)
		close(pfd);
	if (r < 0) {
		/* Only what this call created: an existing key is never removed. */
		if (made_key)
			(void)unlink(key);
		if (made_pub)
			(void)unlink(pub);
	}
	sodium_memzero(sk, sizeof(sk));
	return r < 0 ? r : 0;
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
