/*
 * Sealed delivery keys (engine/sealed.c): key files as `rotsecctl keygen` writes them, the
 * checks on reading them, and sealing and opening a secret.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sealed.h"
#include "secret.h"

#define SECRET "Zq8v3TnL0pXw7RkY2mB5cH9dJ4sF6gA1"

struct fx {
	char dir[64];
	char prefix[128];
	char pub[160];
	char key[160];
	char why[256];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/rotsec-sealed.XXXXXX");
	if (rs_crypto_init() < 0 || !mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	(void)snprintf(f->prefix, sizeof(f->prefix), "%s/consumer", f->dir);
	(void)snprintf(f->pub, sizeof(f->pub), "%s.pub", f->prefix);
	(void)snprintf(f->key, sizeof(f->key), "%s.key", f->prefix);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void put_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static size_t get_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* A public key file holding these 32 raw bytes. */
static void put_public_key(const char *path, const unsigned char raw[32])
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char line[128];

	sodium_bin2base64(b64, sizeof(b64), raw, 32, sodium_base64_VARIANT_ORIGINAL);
	(void)snprintf(line, sizeof(line), "rotsec-x25519-public %s\n", b64);
	put_file(path, line, 0644);
}

static void keygen_writes_public_key_0644_and_secret_key_0600_whatever_the_umask(void **state)
{
	static const mode_t masks[] = {0077, 0};
	struct fx *f = *state;
	mode_t old;

	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		old = umask(masks[i]);
		assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
		umask(old);
		assert_int_equal(mode_of(f->pub), 0644);
		assert_int_equal(mode_of(f->key), 0600);
		unlink(f->pub);
		unlink(f->key);
	}
}

static void keygen_files_are_one_labelled_base64_line_each(void **state)
{
	struct fx *f = *state;
	char buf[256];

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	/* label, space, 44 base64 characters (32 bytes with padding), newline */
	assert_int_equal(get_file(f->pub, buf, sizeof(buf)), 21 + 44 + 1);
	assert_memory_equal(buf, "rotsec-x25519-public ", 21);
	assert_int_equal(buf[21 + 43], '=');
	assert_int_equal(buf[21 + 44], '\n');
	assert_int_equal(get_file(f->key, buf, sizeof(buf)), 21 + 44 + 1);
	assert_memory_equal(buf, "rotsec-x25519-secret ", 21);
}

static void keygen_refuses_to_overwrite_an_existing_pair(void **state)
{
	struct fx *f = *state;
	char pub1[256], key1[256], pub2[256], key2[256];

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	get_file(f->pub, pub1, sizeof(pub1));
	get_file(f->key, key1, sizeof(key1));
	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), -EEXIST);
	assert_non_null(strstr(f->why, "refusing to overwrite"));
	get_file(f->pub, pub2, sizeof(pub2));
	get_file(f->key, key2, sizeof(key2));
	assert_string_equal(pub1, pub2);
	assert_string_equal(key1, key2);
}

static void keygen_refuses_when_only_the_public_key_exists_and_creates_no_secret_key(void **state)
{
	struct fx *f = *state;
	char buf[64];

	put_file(f->pub, "someone else's key\n", 0644);
	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), -EEXIST);
	assert_int_equal(access(f->key, F_OK), -1);
	get_file(f->pub, buf, sizeof(buf));
	assert_string_equal(buf, "someone else's key\n");
}

static void keygen_refuses_a_symlink_planted_at_the_secret_key_path(void **state)
{
	struct fx *f = *state;
	char target[160];

	(void)snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(symlink(target, f->key), 0);
	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), -EEXIST);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(access(f->pub, F_OK), -1);
}

static void key_pair_read_back_matches(void **state)
{
	struct fx *f = *state;
	unsigned char pk[RS_PK_LEN], sk[RS_SK_LEN], derived[RS_PK_LEN];

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_secret_key(f->key, sk, f->why, sizeof(f->why)), 0);
	crypto_scalarmult_base(derived, sk);
	assert_memory_equal(derived, pk, RS_PK_LEN);
}

static void malformed_public_key_files_are_refused(void **state)
{
	static const char *const bad[] = {
	        "",
	        "\n",
	        "hello\n",
	        "rotsec-x25519-public\n",
	        "rotsec-x25519-public \n",
	        "rotsec-x25519-publicAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	        "rotsec-x25519-public !!!!\n",
	        /* 16 bytes: a truncated key */
	        "rotsec-x25519-public AAECAwQFBgcICQoLDA0ODw==\n",
	        /* 33 bytes */
	        "rotsec-x25519-public AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n",
	        /* 32 bytes then trailing garbage */
	        "rotsec-x25519-public CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk= x\n",
	        /* 32 bytes without the padding the ORIGINAL variant requires */
	        "rotsec-x25519-public CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\n",
	        /* two lines */
	        "rotsec-x25519-public CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n",
	};
	struct fx *f = *state;
	unsigned char pk[RS_PK_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(f->pub, bad[i], 0644);
		f->why[0] = '\0';
		if (rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)) != -EINVAL)
			fail_msg("case %zu was not refused", i);
		assert_true(f->why[0] != '\0');
	}
	/* The same 32 bytes, well formed, are accepted: the cases above fail for their form. */
	put_file(f->pub, "rotsec-x25519-public CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
	         0644);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
}

static void secret_key_file_given_as_public_key_is_refused_by_its_label(void **state)
{
	struct fx *f = *state;
	unsigned char k[32];

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_public_key(f->key, k, f->why, sizeof(f->why)), -EINVAL);
	assert_non_null(strstr(f->why, "is a secret key, not a public key"));
	/* 0600 so that the mode check, which comes first for secret keys, passes. */
	assert_int_equal(chmod(f->pub, 0600), 0);
	assert_int_equal(rs_read_secret_key(f->pub, k, f->why, sizeof(f->why)), -EINVAL);
	assert_non_null(strstr(f->why, "is a public key, not a secret key"));
}

static void low_order_public_keys_are_refused(void **state)
{
	/* Points of order 1, 2, 4 and 8 on Curve25519: every scalar multiple lands on zero. */
	static const unsigned char low[][32] = {
	        {0},
	        {1},
	        {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	         0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	         0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	        {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
	         0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
	         0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	        {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	};
	struct fx *f = *state;
	unsigned char pk[RS_PK_LEN];

	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
		put_public_key(f->pub, low[i]);
		if (rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)) != -EINVAL)
			fail_msg("low-order point %zu was accepted", i);
		assert_non_null(strstr(f->why, "low-order"));
	}
}

static void sealing_to_a_low_order_key_fails(void **state)
{
	static const unsigned char zero[RS_PK_LEN] = {0};
	struct rs_secret s = {0};
	unsigned char *box = (unsigned char *)"not touched";
	size_t len = 1;

	(void)state;
	assert_int_equal(rs_secret_from(&s, SECRET, strlen(SECRET)), 0);
	assert_int_equal(rs_seal(&s, zero, &box, &len), -EINVAL);
	assert_null(box);
	assert_int_equal(len, 0);
	rs_secret_free(&s);
}

static void secret_key_readable_by_group_or_others_is_refused(void **state)
{
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0606};
	struct fx *f = *state;
	unsigned char sk[RS_SK_LEN];

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->key, modes[i]), 0);
		assert_int_equal(rs_read_secret_key(f->key, sk, f->why, sizeof(f->why)), -EPERM);
		assert_non_null(strstr(f->why, "group or others"));
	}
	assert_int_equal(chmod(f->key, 0400), 0);
	assert_int_equal(rs_read_secret_key(f->key, sk, f->why, sizeof(f->why)), 0);
}

static void public_key_writable_by_others_is_refused(void **state)
{
	struct fx *f = *state;
	unsigned char pk[RS_PK_LEN];

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(chmod(f->pub, 0666), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), -EPERM);
	assert_int_equal(chmod(f->pub, 0644), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
}

static void missing_key_file_is_enoent(void **state)
{
	struct fx *f = *state;
	unsigned char k[32];

	assert_int_equal(rs_read_public_key(f->pub, k, f->why, sizeof(f->why)), -ENOENT);
	assert_int_equal(rs_read_secret_key(f->key, k, f->why, sizeof(f->why)), -ENOENT);
}

static void a_directory_is_not_a_key_file(void **state)
{
	struct fx *f = *state;
	unsigned char k[32];

	assert_int_equal(rs_read_public_key(f->dir, k, f->why, sizeof(f->why)), -EINVAL);
	assert_non_null(strstr(f->why, "not a regular file"));
}

static void sealed_secret_opens_with_the_matching_key(void **state)
{
	struct fx *f = *state;
	struct rs_secret s = {0}, got = {0};
	unsigned char pk[RS_PK_LEN], *box = NULL;
	size_t len = 0;

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_secret_from(&s, SECRET, strlen(SECRET)), 0);
	assert_int_equal(rs_seal(&s, pk, &box, &len), 0);
	assert_int_equal(len, crypto_box_SEALBYTES + strlen(SECRET));
	assert_null(memmem(box, len, SECRET, strlen(SECRET)));

	assert_int_equal(rs_unseal(box, len, f->key, &got, f->why, sizeof(f->why)), 0);
	assert_int_equal(got.len, strlen(SECRET));
	assert_memory_equal(got.buf, SECRET, strlen(SECRET));
	assert_int_equal(got.buf[got.len], '\0');
	rs_secret_free(&got);
	rs_secret_free(&s);
	free(box);
}

static void sealed_secret_does_not_open_with_another_key(void **state)
{
	struct fx *f = *state;
	struct rs_secret s = {0}, got = {0};
	unsigned char pk[RS_PK_LEN], *box = NULL;
	char other[160];
	size_t len = 0;

	(void)snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_keygen_files(other, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_secret_from(&s, SECRET, strlen(SECRET)), 0);
	assert_int_equal(rs_seal(&s, pk, &box, &len), 0);

	strncat(other, ".key", sizeof(other) - strlen(other) - 1);
	assert_int_equal(rs_unseal(box, len, other, &got, f->why, sizeof(f->why)), -EBADMSG);
	assert_null(got.buf);
	assert_null(strstr(f->why, SECRET));
	rs_secret_free(&s);
	free(box);
}

static void truncated_or_tampered_box_does_not_open(void **state)
{
	struct fx *f = *state;
	struct rs_secret s = {0}, got = {0};
	unsigned char pk[RS_PK_LEN], *box = NULL;
	size_t len = 0;

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_secret_from(&s, SECRET, strlen(SECRET)), 0);
	assert_int_equal(rs_seal(&s, pk, &box, &len), 0);

	assert_int_equal(rs_unseal(box, len - 1, f->key, &got, f->why, sizeof(f->why)), -EBADMSG);
	assert_int_equal(
	        rs_unseal(box, crypto_box_SEALBYTES - 1, f->key, &got, f->why, sizeof(f->why)),
	        -EBADMSG);
	box[len / 2] ^= 0x01;
	assert_int_equal(rs_unseal(box, len, f->key, &got, f->why, sizeof(f->why)), -EBADMSG);
	assert_null(got.buf);
	rs_secret_free(&s);
	free(box);
}

static void unsealing_with_a_public_key_file_is_refused(void **state)
{
	struct fx *f = *state;
	struct rs_secret s = {0}, got = {0};
	unsigned char pk[RS_PK_LEN], *box = NULL;
	size_t len = 0;

	assert_int_equal(rs_keygen_files(f->prefix, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_read_public_key(f->pub, pk, f->why, sizeof(f->why)), 0);
	assert_int_equal(rs_secret_from(&s, SECRET, strlen(SECRET)), 0);
	assert_int_equal(rs_seal(&s, pk, &box, &len), 0);
	/* The public key file is 0644: refused for its mode before its label is read. */
	assert_true(rs_unseal(box, len, f->pub, &got, f->why, sizeof(f->why)) < 0);
	assert_null(got.buf);
	rs_secret_free(&s);
	free(box);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(keygen_writes_public_key_0644_and_secret_key_0600_whatever_the_umask),
	        T(keygen_files_are_one_labelled_base64_line_each),
	        T(keygen_refuses_to_overwrite_an_existing_pair),
	        T(keygen_refuses_when_only_the_public_key_exists_and_creates_no_secret_key),
	        T(keygen_refuses_a_symlink_planted_at_the_secret_key_path),
	        T(key_pair_read_back_matches),
	        T(malformed_public_key_files_are_refused),
	        T(secret_key_file_given_as_public_key_is_refused_by_its_label),
	        T(low_order_public_keys_are_refused),
	        T(sealing_to_a_low_order_key_fails),
	        T(secret_key_readable_by_group_or_others_is_refused),
	        T(public_key_writable_by_others_is_refused),
	        T(missing_key_file_is_enoent),
	        T(a_directory_is_not_a_key_file),
	        T(sealed_secret_opens_with_the_matching_key),
	        T(sealed_secret_does_not_open_with_another_key),
	        T(truncated_or_tampered_box_does_not_open),
	        T(unsealing_with_a_public_key_file_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
