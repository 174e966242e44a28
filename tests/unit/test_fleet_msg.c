/*
 * Fleet messages (engine/fleet_msg.c) and signing keys (engine/signkey.c): sign then seal,
 * and every check a consumer makes when it opens one.
 */
#define _GNU_SOURCE
#include <errno.h>
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

#include "fleet_msg.h"
#include "secret.h"
#include "signkey.h"
#include "unit_util.h"

#define CUR  "Zq8v3TnL0pXw7RkY2mB5cH9dJ4sF6gA1"
#define PREV "Prev0pXw7RkY2mB5cH9dJ4sF6gA1Zq8v"

struct fx {
	char dir[64];
	unsigned char *host_sk, *evil_sk, *c_sk;
	unsigned char host_pk[32], evil_pk[32], c_pk[32], other_pk[32], other_sk[32];
	struct rs_fleet_trust trust[2];
	struct rs_fleet_msg m;
	char why[512];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (rs_crypto_init() < 0 || !ut_mkdtemp(f->dir, sizeof(f->dir))) {
		free(f);
		return -1;
	}
	f->host_sk = sodium_malloc(64);
	f->evil_sk = sodium_malloc(64);
	f->c_sk = sodium_malloc(32);
	crypto_sign_keypair(f->host_pk, f->host_sk);
	crypto_sign_keypair(f->evil_pk, f->evil_sk);
	crypto_box_keypair(f->c_pk, f->c_sk);
	crypto_box_keypair(f->other_pk, f->other_sk);
	strcpy(f->trust[0].host, "web1");
	memcpy(f->trust[0].pk, f->host_pk, 32);
	strcpy(f->trust[1].host, "evil");
	memcpy(f->trust[1].pk, f->evil_pk, 32);
	strcpy(f->m.host, "web1");
	strcpy(f->m.consumer, "backup1");
	strcpy(f->m.account, "svc-backup");
	f->m.generation = 7;
	randombytes_buf(f->m.version_id, sizeof(f->m.version_id));
	f->m.rotated_at = 1767000000;
	assert_int_equal(rs_secret_from(&f->m.current, CUR, strlen(CUR)), 0);
	assert_int_equal(rs_secret_from(&f->m.previous, PREV, strlen(PREV)), 0);
	f->m.previous_valid_until = 1767003600;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rs_fleet_msg_free(&f->m);
	sodium_free(f->host_sk);
	sodium_free(f->evil_sk);
	sodium_free(f->c_sk);
	ut_rm_rf(f->dir);
	free(f);
	return 0;
}

static const struct rs_fleet_expect want_default = {"web1", "backup1", "svc-backup", 0};

static int seal_open(struct fx *f, const unsigned char *sign_sk, const struct rs_fleet_expect *w,
                     struct rs_fleet_msg *out)
{
	unsigned char *box = NULL;
	size_t len = 0;
	int r = rs_fleet_msg_seal(&f->m, sign_sk, f->c_pk, &box, &len, f->why, sizeof(f->why));

	assert_int_equal(r, 0);
	r = rs_fleet_msg_open(box, len, f->c_pk, f->c_sk, f->trust, 1, w, out, f->why,
	                      sizeof(f->why));
	free(box);
	return r;
}

static void a_sealed_message_opens_with_every_field(void **state)
{
	struct fx *f = *state;
	struct rs_fleet_msg out;

	assert_int_equal(seal_open(f, f->host_sk, &want_default, &out), 0);
	assert_string_equal(out.host, "web1");
	assert_string_equal(out.consumer, "backup1");
	assert_string_equal(out.account, "svc-backup");
	assert_int_equal(out.generation, 7);
	assert_memory_equal(out.version_id, f->m.version_id, 16);
	assert_int_equal(out.rotated_at, 1767000000);
	assert_int_equal(out.current.len, strlen(CUR));
	assert_memory_equal(out.current.buf, CUR, strlen(CUR));
	assert_int_equal(out.previous.len, strlen(PREV));
	assert_memory_equal(out.previous.buf, PREV, strlen(PREV));
	assert_int_equal(out.previous_valid_until, 1767003600);
	rs_fleet_msg_free(&out);
}

static void a_message_without_previous_secret_opens_without_one(void **state)
{
	struct fx *f = *state;
	struct rs_fleet_msg out;

	rs_secret_free(&f->m.previous);
	assert_int_equal(seal_open(f, f->host_sk, &want_default, &out), 0);
	assert_null(out.previous.buf);
	assert_int_equal(out.previous_valid_until, 0);
	rs_fleet_msg_free(&out);
}

static void the_sealed_value_holds_no_secret_in_plaintext(void **state)
{
	struct fx *f = *state;
	unsigned char *box = NULL;
	size_t len = 0;

	assert_int_equal(
	        rs_fleet_msg_seal(&f->m, f->host_sk, f->c_pk, &box, &len, f->why, sizeof(f->why)),
	        0);
	assert_null(memmem(box, len, CUR, 8));
	assert_null(memmem(box, len, PREV, 8));
	assert_null(memmem(box, len, "svc-backup", 10));
	free(box);
}

static void a_message_signed_by_another_key_is_refused_as_forged(void **state)
{
	struct fx *f = *state;
	struct rs_fleet_msg out;

	assert_int_equal(seal_open(f, f->evil_sk, &want_default, &out), -EKEYREJECTED);
	assert_non_null(strstr(f->why, "forged"));
	assert_null(out.current.buf);
}

static void a_message_from_an_untrusted_host_is_refused(void **state)
{
	struct fx *f = *state;
	struct rs_fleet_msg out;

	strcpy(f->m.host, "web9");
	assert_int_equal(seal_open(f, f->host_sk, &want_default, &out), -ENOKEY);
}

static void a_message_for_another_account_host_or_consumer_is_refused(void **state)
{
	struct fx *f = *state;
	struct rs_fleet_msg out;
	struct rs_fleet_expect w = want_default;

	w.account = "svc-other";
	assert_int_equal(seal_open(f, f->host_sk, &w, &out), -EXDEV);
	w = want_default;
	w.consumer = "mon1";
	assert_int_equal(seal_open(f, f->host_sk, &w, &out), -EXDEV);
	/* Trusted for itself, evil's message is still not web1's. */
	strcpy(f->m.host, "evil");
	{
		unsigned char *box = NULL;
		size_t len = 0;

		assert_int_equal(rs_fleet_msg_seal(&f->m, f->evil_sk, f->c_pk, &box, &len, f->why,
		                                   sizeof(f->why)),
		                 0);
		assert_int_equal(rs_fleet_msg_open(box, len, f->c_pk, f->c_sk, f->trust, 2,
		                                   &want_default, &out, f->why, sizeof(f->why)),
		                 -EXDEV);
		free(box);
	}
}

static void an_older_generation_than_held_is_a_replay(void **state)
{
	struct fx *f = *state;
	struct rs_fleet_msg out;
	struct rs_fleet_expect w = want_default;

	w.held_generation = 8;
	assert_int_equal(seal_open(f, f->host_sk, &w, &out), -ESTALE);
	assert_non_null(strstr(f->why, "replay"));
	w.held_generation = 7;
	assert_int_equal(seal_open(f, f->host_sk, &w, &out), 0);
	rs_fleet_msg_free(&out);
}

static void a_message_sealed_to_another_consumer_does_not_open(void **state)
{
	struct fx *f = *state;
	unsigned char *box = NULL;
	size_t len = 0;
	struct rs_fleet_msg out;

	assert_int_equal(rs_fleet_msg_seal(&f->m, f->host_sk, f->other_pk, &box, &len, f->why,
	                                   sizeof(f->why)),
	                 0);
	assert_int_equal(rs_fleet_msg_open(box, len, f->c_pk, f->c_sk, f->trust, 1, &want_default,
	                                   &out, f->why, sizeof(f->why)),
	                 -EBADMSG);
	free(box);
}

static void every_flipped_byte_of_a_sealed_value_is_refused(void **state)
{
	struct fx *f = *state;
	unsigned char *box = NULL;
	size_t len = 0;

	assert_int_equal(
	        rs_fleet_msg_seal(&f->m, f->host_sk, f->c_pk, &box, &len, f->why, sizeof(f->why)),
	        0);
	for (size_t i = 0; i < len; i++) {
		struct rs_fleet_msg out;

		box[i] ^= 0x01;
		assert_int_not_equal(rs_fleet_msg_open(box, len, f->c_pk, f->c_sk, f->trust, 1,
		                                       &want_default, &out, f->why, sizeof(f->why)),
		                     0);
		box[i] ^= 0x01;
	}
	/* Truncated and extended values too. */
	for (size_t n = 0; n < len; n += 7) {
		struct rs_fleet_msg out;

		assert_int_not_equal(rs_fleet_msg_open(box, n, f->c_pk, f->c_sk, f->trust, 1,
		                                       &want_default, &out, f->why, sizeof(f->why)),
		                     0);
	}
	free(box);
}

static void names_and_secrets_outside_the_rules_are_not_sealed(void **state)
{
	struct fx *f = *state;
	unsigned char *box = NULL;
	size_t len = 0;

	strcpy(f->m.host, "web/1");
	assert_int_equal(
	        rs_fleet_msg_seal(&f->m, f->host_sk, f->c_pk, &box, &len, f->why, sizeof(f->why)),
	        -EINVAL);
	strcpy(f->m.host, "..");
	assert_int_equal(
	        rs_fleet_msg_seal(&f->m, f->host_sk, f->c_pk, &box, &len, f->why, sizeof(f->why)),
	        -EINVAL);
	strcpy(f->m.host, "web1");
	f->m.generation = 0;
	assert_int_equal(
	        rs_fleet_msg_seal(&f->m, f->host_sk, f->c_pk, &box, &len, f->why, sizeof(f->why)),
	        -EINVAL);
	assert_null(box);
	assert_false(rs_fleet_name_valid(""));
	assert_true(rs_fleet_name_valid("web-1.example_2"));
}

static void signing_keys_round_trip_and_refuse_unsafe_or_swapped_files(void **state)
{
	struct fx *f = *state;
	char prefix[128], key[160], pub[160], why[256];
	unsigned char *sk = sodium_malloc(64), pk[32], msg[3] = "abc", sig[64];
	struct stat st;

	(void)snprintf(prefix, sizeof(prefix), "%s/host", f->dir);
	(void)snprintf(key, sizeof(key), "%s.key", prefix);
	(void)snprintf(pub, sizeof(pub), "%s.pub", prefix);
	assert_int_equal(rs_signkey_generate(prefix, why, sizeof(why)), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(rs_signkey_generate(prefix, why, sizeof(why)), -EEXIST);
	assert_int_equal(rs_signkey_read_secret(key, sk, why, sizeof(why)), 0);
	assert_int_equal(rs_signkey_read_public(pub, pk, why, sizeof(why)), 0);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof(msg), pk), 0);
	/* Swapped files, an unsafe mode. */
	assert_int_equal(rs_signkey_read_secret(pub, sk, why, sizeof(why)), -EPERM);
	assert_int_equal(chmod(pub, 0600), 0);
	assert_int_equal(rs_signkey_read_secret(pub, sk, why, sizeof(why)), -EINVAL);
	assert_int_equal(rs_signkey_read_public(key, pk, why, sizeof(why)), -EINVAL);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(rs_signkey_read_secret(key, sk, why, sizeof(why)), -EPERM);
	assert_int_equal(chmod(pub, 0666), 0);
	assert_int_equal(rs_signkey_read_public(pub, pk, why, sizeof(why)), -EPERM);
	sodium_free(sk);
}

static void a_missing_signing_key_is_made_on_first_use_with_its_pub(void **state)
{
	struct fx *f = *state;
	char key[160], pub[170], why[256];
	unsigned char *sk = sodium_malloc(64), *again = sodium_malloc(64);

	(void)snprintf(key, sizeof(key), "%s/sign.key", f->dir);
	(void)snprintf(pub, sizeof(pub), "%s.pub", key);
	assert_int_equal(rs_signkey_load_or_create(key, sk, why, sizeof(why)), 0);
	assert_int_equal(access(pub, F_OK), 0);
	assert_int_equal(rs_signkey_load_or_create(key, again, why, sizeof(why)), 0);
	assert_memory_equal(sk, again, 64);
	sodium_free(sk);
	sodium_free(again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(a_sealed_message_opens_with_every_field, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(a_message_without_previous_secret_opens_without_one,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(the_sealed_value_holds_no_secret_in_plaintext,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_message_signed_by_another_key_is_refused_as_forged, setup, teardown),
	        cmocka_unit_test_setup_teardown(a_message_from_an_untrusted_host_is_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                a_message_for_another_account_host_or_consumer_is_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(an_older_generation_than_held_is_a_replay, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(a_message_sealed_to_another_consumer_does_not_open,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(every_flipped_byte_of_a_sealed_value_is_refused,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(names_and_secrets_outside_the_rules_are_not_sealed,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                signing_keys_round_trip_and_refuse_unsafe_or_swapped_files, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                a_missing_signing_key_is_made_on_first_use_with_its_pub, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
