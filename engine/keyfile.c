/*
 * One-line key files (keyfile.h): the reader and the writer of a pair that the sealing
 * keys (sealed.c) and the signing keys (signkey.c) share.
 */
#define _GNU_SOURCE
#include "keyfile.h"
#include "safefile.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL
#define KEY_B64_LEN sodium_base64_ENCODED_LEN(RS_KEYFILE_KEY_LEN, B64_VARIANT) /* with NUL */
/* A key line is under 70 bytes. Anything much longer is not a key file, and reading it
 * whole into a fixed buffer keeps a secret key out of the heap. */
#define KEYFILE_MAX 256
#define LABEL_MAX   64

/* Whether line `buf` starts with `label` and a space. */
static bool has_label(const char *buf, const char *label)
{
	size_t n = strlen(label);

	return strncmp(buf, label, n) == 0 && buf[n] == ' ';
}

/* The mode rule of each half (keyfile.h). */
static int mode_ok(const char *path, const struct stat *st, bool secret, char *why, size_t whylen)
{
	if (secret && (st->st_mode & 0077)) {
		rs_set_why(why, whylen,
		           "%s is accessible by group or others (mode %04o); it must be 0600", path,
		           (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	if (!secret && (st->st_mode & 0022)) {
		rs_set_why(why, whylen,
		           "%s is writable by group or others, who could substitute the key", path);
		return -EPERM;
	}
	return 0;
}

/* The whole file into buf (at most KEYFILE_MAX + 1 bytes, to tell a larger one). */
static int read_all(int fd, const char *path, char *buf, size_t cap, size_t *len, char *why,
                    size_t whylen)
{
	*len = 0;
	while (*len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* The label of `buf` and the base64 after it into key. */
static int parse_line(const char *path, const char *buf, size_t len,
                      const struct rs_keyfile_kind *kind, bool secret,
                      unsigned char key[RS_KEYFILE_KEY_LEN], char *why, size_t whylen)
{
	const char *want = secret ? kind->secret_label : kind->public_label;
	const char *other = secret ? kind->public_label : kind->secret_label;
	const char *b64, *end = NULL;
	size_t b64len, binlen = 0, n;

	if (has_label(buf, other)) {
		rs_set_why(why, whylen, "%s is a %s %s, not a %s %s", path,
		           secret ? "public" : "secret", kind->noun, secret ? "secret" : "public",
		           kind->noun);
		return -EINVAL;
	}
	if (!has_label(buf, want)) {
		/* Say what it is when it is another of rotsec's keys (a sealing key given
		 * where a signing key belongs): the likeliest mistake. */
		n = strcspn(buf, " ");
		if (strncmp(buf, "rotsec-", 7) == 0 && n < LABEL_MAX && buf[n] == ' ')
			rs_set_why(why, whylen,
			           "%s is not a rotsec %s %s file (expected \"%s <base64>\"; it "
			           "holds a %.*s key)",
			           path, secret ? "secret" : "public", kind->noun, want, (int)n,
			           buf);
		else
			rs_set_why(why, whylen,
			           "%s is not a rotsec %s %s file (expected \"%s <base64>\")", path,
			           secret ? "secret" : "public", kind->noun, want);
		return -EINVAL;
	}
	b64 = buf + strlen(want) + 1;
	b64len = len - strlen(want) - 1;
	if (sodium_base642bin(key, RS_KEYFILE_KEY_LEN, b64, b64len, NULL, &binlen, &end,
	                      B64_VARIANT) != 0 ||
	    binlen != RS_KEYFILE_KEY_LEN || end != b64 + b64len) {
		rs_set_why(why, whylen, "%s does not hold a 32-byte key in base64", path);
		return -EINVAL;
	}
	return 0;
}

int rs_keyfile_read(const char *path, const struct rs_keyfile_kind *kind, bool secret,
                    unsigned char key[RS_KEYFILE_KEY_LEN], char *why, size_t whylen)
{
	char buf[KEYFILE_MAX + 1];
	size_t len = 0;
	struct stat st;
	int fd, r;

	/* A public key decides who can open what rotsec seals or whose signature it trusts:
	 * it is read by the trust rule (trust.h), or whoever could replace it would get the
	 * next secret. A secret key is read by its owner, whoever that is, from wherever they
	 * keep it. O_NONBLOCK: a FIFO planted at the path must not hang us; it is refused
	 * below. */
	if (secret) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			r = -errno;
			rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
		}
	} else {
		fd = rs_trust_file(path, &(struct rs_trust){.flags = RS_TRUST_SELF}, why, whylen);
		/* Not a regular file is a key file refused, as below. */
		r = fd == -EISDIR ? -EINVAL : fd;
	}
	if (fd < 0) {
		sodium_memzero(key, RS_KEYFILE_KEY_LEN);
		return r;
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
	if ((r = mode_ok(path, &st, secret, why, whylen)) < 0)
		goto out;
	if ((r = read_all(fd, path, buf, sizeof(buf), &len, why, whylen)) < 0)
		goto out;
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
	r = parse_line(path, buf, len, kind, secret, key, why, whylen);
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	if (r < 0)
		sodium_memzero(key, RS_KEYFILE_KEY_LEN);
	return r;
}

/* Create `path` exclusively with exactly `mode`, whatever the umask: the fd, or -errno. */
static int create_excl(const char *path, mode_t mode, char *why, size_t whylen)
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

/* One key line, made durable: a key pair its holder believes it has must still be there
 * after a crash. Closes fd in every case. */
static int write_line(int fd, const char *path, const char *label,
                      const unsigned char key[RS_KEYFILE_KEY_LEN], char *why, size_t whylen)
{
	char b64[KEY_B64_LEN], line[LABEL_MAX + KEY_B64_LEN + 2];
	int r;

	sodium_bin2base64(b64, sizeof(b64), key, RS_KEYFILE_KEY_LEN, B64_VARIANT);
	(void)snprintf(line, sizeof(line), "%s %s\n", label, b64);
	r = rs_write_all(fd, line, strlen(line));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		rs_set_why(why, whylen, "cannot write %s: %s", path, strerror(-r));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	return r;
}

int rs_keyfile_write_pair(const char *keypath, const char *pubpath,
                          const struct rs_keyfile_kind *kind,
                          const unsigned char secret[RS_KEYFILE_KEY_LEN],
                          const unsigned char pub[RS_KEYFILE_KEY_LEN], char *why, size_t whylen)
{
	bool made_key = false, made_pub = false;
	int kfd = -1, pfd = -1, r;

	if (strlen(kind->secret_label) >= LABEL_MAX || strlen(kind->public_label) >= LABEL_MAX)
		return -EINVAL;
	if ((r = kfd = create_excl(keypath, 0600, why, whylen)) < 0)
		goto out;
	made_key = true;
	if ((r = pfd = create_excl(pubpath, 0644, why, whylen)) < 0)
		goto out;
	made_pub = true;
	r = write_line(kfd, keypath, kind->secret_label, secret, why, whylen);
	kfd = -1;
	if (r < 0)
		goto out;
	r = write_line(pfd, pubpath, kind->public_label, pub, why, whylen);
	pfd = -1;
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
	return r < 0 ? r : 0;
}
