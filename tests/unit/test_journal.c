/*
 * Which consumers the journal says have the secret (engine/journal.h, rollout.c): each
 * delivery's state names its consumer by a digest of its settings, and is matched to the
 * config's consumers by it, so that one the config adds or changes is never taken for
 * delivered (status would say ok, sync would not deliver it).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "engine.h"
#include "journal.h"
#include "unit_util.h"

static char *argv_a[] = {"/usr/local/bin/push", "--to", "db1", NULL};
static char *argv_b[] = {"/usr/local/bin/push", "--to", "db2", NULL};

/* An account with n consumers: files /c/0, /c/1 ... */
struct fx {
	struct rs_account_cfg acc;
	struct rs_delivery d[4];
	char files[4][16];
};

static void accounts(struct fx *f, size_t n)
{
	memset(f, 0, sizeof(*f));
	(void)snprintf(f->acc.name, sizeof(f->acc.name), "svc-a");
	for (size_t i = 0; i < n; i++) {
		(void)snprintf(f->files[i], sizeof(f->files[i]), "/c/%zu", i);
		f->d[i].kind = RS_DELIVER_FILE;
		f->d[i].file = f->files[i];
		f->d[i].mode = 0400;
	}
	f->acc.deliver = f->d;
	f->acc.ndeliver = n;
}

/* A journal where every consumer of f has the secret. */
static void all_delivered(const struct fx *f, struct rs_journal *j)
{
	memset(j, 0, sizeof(*j));
	(void)rs_journal_follow_config(&f->acc, j);
	for (size_t i = 0; i < j->ndeliver; i++) {
		j->dlv[i].status = RS_DLV_OK;
		j->dlv[i].fresh = false;
	}
}

static void a_consumer_the_config_adds_is_pending_and_the_others_keep_their_state(void **state)
{
	struct fx f;
	struct rs_journal j;

	(void)state;
	accounts(&f, 2);
	all_delivered(&f, &j);
	accounts(&f, 3);
	assert_true(rs_journal_follow_config(&f.acc, &j));
	assert_int_equal(j.ndeliver, 3);
	assert_int_equal(j.dlv[0].status, RS_DLV_OK);
	assert_int_equal(j.dlv[1].status, RS_DLV_OK);
	assert_int_equal(j.dlv[2].status, RS_DLV_PENDING);
	assert_true(j.dlv[2].fresh);
	assert_false(rs_journal_delivered(&j, 3));
}

static void a_changed_consumer_is_pending_even_at_the_same_index(void **state)
{
	struct fx f;
	struct rs_journal j;

	(void)state;
	accounts(&f, 2);
	all_delivered(&f, &j);
	(void)snprintf(f.files[1], sizeof(f.files[1]), "/elsewhere");
	assert_true(rs_journal_follow_config(&f.acc, &j));
	assert_int_equal(j.dlv[0].status, RS_DLV_OK);
	assert_int_equal(j.dlv[1].status, RS_DLV_PENDING);
	assert_false(rs_journal_delivered(&j, 2));
	/* The same file with another mode or owner is another consumer too. */
	all_delivered(&f, &j);
	f.d[0].mode = 0440;
	assert_true(rs_journal_follow_config(&f.acc, &j));
	assert_int_equal(j.dlv[0].status, RS_DLV_PENDING);
	all_delivered(&f, &j);
	f.d[0].uid = 34;
	assert_true(rs_journal_follow_config(&f.acc, &j));
	assert_int_equal(j.dlv[0].status, RS_DLV_PENDING);
}

static void consumers_the_config_reorders_or_drops_keep_their_states(void **state)
{
	struct fx f;
	struct rs_journal j;
	struct rs_delivery first;

	(void)state;
	accounts(&f, 3);
	all_delivered(&f, &j);
	j.dlv[2].status = RS_DLV_FAILED;
	j.dlv[2].attempts = 4;
	/* The failed one first, the first one dropped. */
	first = f.d[2];
	f.d[0] = first;
	f.acc.ndeliver = 2;
	assert_true(rs_journal_follow_config(&f.acc, &j));
	assert_int_equal(j.ndeliver, 2);
	assert_int_equal(j.dlv[0].status, RS_DLV_FAILED);
	assert_int_equal(j.dlv[0].attempts, 4);
	assert_int_equal(j.dlv[1].status, RS_DLV_OK);
	assert_false(j.dlv[0].fresh || j.dlv[1].fresh);
	/* Nothing changed: nothing to say. */
	assert_false(rs_journal_follow_config(&f.acc, &j));
}

static void the_digest_of_a_command_is_its_arguments_not_its_timeout(void **state)
{
	struct rs_delivery a = {
	        .kind = RS_DELIVER_COMMAND, .argv = argv_a, .argc = 3, .timeout = 30};
	struct rs_delivery b = a;
	char da[RS_DLV_DIGEST_HEX + 1], db[RS_DLV_DIGEST_HEX + 1];

	(void)state;
	rs_delivery_digest(&a, da);
	assert_int_equal(strlen(da), RS_DLV_DIGEST_HEX);
	b.timeout = 5;
	rs_delivery_digest(&b, db);
	assert_string_equal(da, db);
	b.argv = argv_b;
	rs_delivery_digest(&b, db);
	assert_string_not_equal(da, db);
	b = a;
	(void)snprintf(b.user, sizeof(b.user), "backup");
	b.run_uid = 34;
	rs_delivery_digest(&b, db);
	assert_string_not_equal(da, db);
}

/* Write `text` as STATE/svc-a.state, root's and 0600 as the journal must be. */
static int state_with(char *top, size_t len, const char *text)
{
	char path[128];

	assert_non_null(ut_mkdtemp(top, len));
	(void)snprintf(path, sizeof(path), "%s/svc-a.state", top);
	assert_int_equal(ut_write_file(path, text, strlen(text), 0600), 0);
	return open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

#define JOURNAL_HEAD                                                                               \
	"rotsec-state 1\naccount svc-a\ngeneration 2\nstep delivered\ncreated 1\nactivated 1\n"    \
	"hash "                                                                                    \
	"$rotsec-b2b$v=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"     \
	"sealed AAAA\n"

static void a_journal_without_digests_takes_no_consumer_as_delivered(void **state)
{
	char top[64];
	struct fx f;
	struct rs_journal j;
	int fd = state_with(top, sizeof(top), JOURNAL_HEAD "delivery 0 ok 0 1 0\n");

	(void)state;
	assert_true(fd >= 0);
	accounts(&f, 1);
	assert_int_equal(rs_journal_load(fd, "svc-a", &j), 0);
	assert_string_equal(j.dlv[0].digest, "");
	assert_true(rs_journal_delivered(&j, 1)); /* by index alone it would be */
	assert_true(rs_journal_follow_config(&f.acc, &j));
	assert_int_equal(j.dlv[0].status, RS_DLV_PENDING);
	assert_false(rs_journal_delivered(&j, 1));
	close(fd);
	ut_rm_rf(top);
}

static void a_digest_survives_a_save_and_a_load_and_a_bad_one_is_refused(void **state)
{
	char top[64], dg[RS_DLV_DIGEST_HEX + 1];
	struct fx f;
	struct rs_journal j, back;
	int fd =
	        state_with(top, sizeof(top), JOURNAL_HEAD "delivery 0 ok 0 1 0 0123456789abcdeZ\n");

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(rs_journal_load(fd, "svc-a", &j), -EPROTO);
	accounts(&f, 1);
	rs_delivery_digest(&f.d[0], dg);
	memset(&j, 0, sizeof(j));
	(void)snprintf(j.name, sizeof(j.name), "svc-a");
	j.generation = 2;
	j.step = RS_STEP_DELIVERED;
	(void)snprintf(j.hash, sizeof(j.hash), "%s",
	               "$rotsec-b2b$v=1$AAAAAAAAAAAAAAAAAAAAAA$"
	               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	(void)snprintf(j.sealed, sizeof(j.sealed), "AAAA");
	(void)rs_journal_follow_config(&f.acc, &j);
	j.dlv[0].status = RS_DLV_OK;
	assert_int_equal(rs_journal_save(fd, &j), 0);
	assert_int_equal(rs_journal_load(fd, "svc-a", &back), 0);
	assert_string_equal(back.dlv[0].digest, dg);
	assert_false(rs_journal_follow_config(&f.acc, &back));
	assert_true(rs_journal_delivered(&back, 1));
	close(fd);
	ut_rm_rf(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(
	                a_consumer_the_config_adds_is_pending_and_the_others_keep_their_state),
	        cmocka_unit_test(a_changed_consumer_is_pending_even_at_the_same_index),
	        cmocka_unit_test(consumers_the_config_reorders_or_drops_keep_their_states),
	        cmocka_unit_test(the_digest_of_a_command_is_its_arguments_not_its_timeout),
	        cmocka_unit_test(a_journal_without_digests_takes_no_consumer_as_delivered),
	        cmocka_unit_test(a_digest_survives_a_save_and_a_load_and_a_bad_one_is_refused),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
