/*
 * Usage records (usage.h): what pam_rotsec writes after each successful login and
 * rotsecd reads back. Counters per secret generation, bounded and sanitised fields, and
 * a record that can never be turned against the root process that rewrites it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usage.h"
#include "unit_util.h"

struct fx {
	char top[64]; /* scratch dir */
	char run[96]; /* top/run: the run dir, made by the code under test */
	char path[160];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !ut_mkdtemp(f->top, sizeof(f->top)))
		return -1;
	(void)snprintf(f->run, sizeof(f->run), "%s/run", f->top);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ut_rm_rf(f->top);
	free(f);
	return 0;
}

static const char *record_path(struct fx *f, const char *name)
{
	(void)snprintf(f->path, sizeof(f->path), "%s/%s.usage", f->run, name);
	return f->path;
}

static struct rs_usage read_ok(struct fx *f, const char *name)
{
	struct rs_usage u;

	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(rs_usage_read(f->run, name, &u), 0);
	return u;
}

static void a_recorded_login_is_read_back(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(rs_usage_record(f->run, "svc-backup", 5, 0, 1700000000, "sshd", "10.0.0.1",
	                                 "backup"),
	                 0);
	u = read_ok(f, "svc-backup");
	assert_int_equal(u.generation, 5);
	assert_int_equal(u.current_count, 1);
	assert_int_equal(u.current_last, 1700000000);
	assert_int_equal(u.previous_count, 0);
	assert_int_equal(u.previous_last, 0);
	assert_string_equal(u.last_secret, "current");
	assert_int_equal(u.last_time, 1700000000);
	assert_string_equal(u.service, "sshd");
	assert_string_equal(u.rhost, "10.0.0.1");
	assert_string_equal(u.ruser, "backup");
}

static void the_run_dir_and_record_are_created_for_root_alone(void **state)
{
	struct fx *f = *state;
	struct stat st;
	mode_t old = umask(0);

	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), 0);
	umask(old);
	assert_int_equal(lstat(f->run, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(record_path(f, "svc"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
}

static void counters_add_up_per_secret_and_remember_the_last_use(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	for (int i = 0; i < 3; i++)
		assert_int_equal(rs_usage_record(f->run, "svc", 7, 0, 1000 + i, "su", NULL, NULL),
		                 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		        rs_usage_record(f->run, "svc", 7, 1, 2000 + i, "sshd", "db1", "app"), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.generation, 7);
	assert_int_equal(u.current_count, 3);
	assert_int_equal(u.current_last, 1002);
	assert_int_equal(u.previous_count, 2);
	assert_int_equal(u.previous_last, 2001);
	assert_string_equal(u.last_secret, "previous");
	assert_int_equal(u.last_time, 2001);
	assert_string_equal(u.service, "sshd");

	assert_int_equal(rs_usage_record(f->run, "svc", 7, 0, 3000, "cron", NULL, NULL), 0);
	u = read_ok(f, "svc");
	assert_string_equal(u.last_secret, "current");
	assert_int_equal(u.current_count, 4);
	assert_int_equal(u.previous_count, 2);
	assert_string_equal(u.rhost, "-");
}

static void a_new_generation_starts_the_counters_again(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(rs_usage_record(f->run, "svc", 3, 0, 100, NULL, NULL, NULL), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 3, 1, 101, NULL, NULL, NULL), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 4, 1, 200, NULL, NULL, NULL), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.generation, 4);
	assert_int_equal(u.current_count, 0);
	assert_int_equal(u.current_last, 0);
	assert_int_equal(u.previous_count, 1);
	assert_int_equal(u.previous_last, 200);
	/* Any other generation, older too (a restored store), starts again. */
	assert_int_equal(rs_usage_record(f->run, "svc", 2, 0, 300, NULL, NULL, NULL), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.generation, 2);
	assert_int_equal(u.current_count, 1);
	assert_int_equal(u.previous_count, 0);
}

static void the_first_use_of_each_secret_is_kept_while_the_last_moves_on(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(rs_usage_record(f->run, "svc", 3, 0, 100, NULL, NULL, NULL), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 3, 0, 200, NULL, NULL, NULL), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 3, 1, 150, NULL, NULL, NULL), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 3, 1, 250, NULL, NULL, NULL), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.current_first, 100);
	assert_int_equal(u.current_last, 200);
	assert_int_equal(u.previous_first, 150);
	assert_int_equal(u.previous_last, 250);
	/* A rotation forgets both: "first use" is of the new secret. */
	assert_int_equal(rs_usage_record(f->run, "svc", 4, 0, 300, NULL, NULL, NULL), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.current_first, 300);
	assert_int_equal(u.previous_first, 0);
	assert_int_equal(u.previous_last, 0);
}

static void tripwire_hits_are_counted_and_survive_a_rotation(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(rs_usage_record(f->run, "svc", 5, 0, 10, "sshd", NULL, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		        rs_usage_tripwire(f->run, "svc", 5, 20 + i, "sshd", "attacker", "x"), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.tripwire_count, 3);
	assert_int_equal(u.tripwire_last, 22);
	assert_string_equal(u.last_secret, "revoked");
	assert_string_equal(u.rhost, "attacker");
	/* Logins are not counted by a tripwire hit. */
	assert_int_equal(u.current_count, 1);
	assert_int_equal(u.previous_count, 0);

	assert_int_equal(rs_usage_record(f->run, "svc", 6, 0, 30, NULL, NULL, NULL), 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.generation, 6);
	assert_int_equal(u.current_count, 1);
	assert_int_equal(u.tripwire_count, 3);
	assert_int_equal(u.tripwire_last, 22);
	assert_int_equal(rs_usage_tripwire(f->run, "../x", 6, 1, NULL, NULL, NULL), -EINVAL);
}

static void a_record_locked_elsewhere_is_skipped_rather_than_waited_for(void **state)
{
	struct fx *f = *state;
	int fd;

	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), 0);
	/* Another open file holding the lock, as a child forked mid-update would. */
	fd = open(record_path(f, "svc"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	alarm(20);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 2, NULL, NULL, NULL), -ETIMEDOUT);
	/* Readers (rotsecd, rotsecctl status) do not hang on it either. */
	{
		struct rs_usage u;

		assert_int_equal(rs_usage_read(f->run, "svc", &u), -ETIMEDOUT);
	}
	alarm(0);
	close(fd);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 3, NULL, NULL, NULL), 0);
	assert_int_equal(read_ok(f, "svc").current_count, 2);
}

static void fields_are_stripped_of_spaces_and_controls_and_bounded(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;
	char longhost[300];

	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 5, "my service\n", longhost,
	                                 "ev\x1b[1mil\x7f\xc3\xa9"),
	                 0);
	u = read_ok(f, "svc");
	assert_string_equal(u.service, "my?service?");
	assert_int_equal(strlen(u.rhost), RS_USAGE_FIELD - 1);
	assert_int_equal(strspn(u.rhost, "h"), RS_USAGE_FIELD - 1);
	assert_string_equal(u.ruser, "ev?[1mil???");

	/* A forged line cannot be smuggled in through a field. */
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 6, "x\ncurrent 999999 1", "", NULL),
	                 0);
	u = read_ok(f, "svc");
	assert_int_equal(u.current_count, 2);
	assert_string_equal(u.service, "x?current?999999?1");
	assert_string_equal(u.rhost, "-");
	assert_string_equal(u.ruser, "-");
}

static void a_record_that_does_not_exist_is_enoent(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	/* Neither the run dir nor the record. */
	assert_int_equal(rs_usage_read(f->run, "svc", &u), -ENOENT);
	assert_int_equal(rs_usage_record(f->run, "other", 1, 0, 1, NULL, NULL, NULL), 0);
	assert_int_equal(rs_usage_read(f->run, "svc", &u), -ENOENT);
}

static void a_damaged_record_reads_as_eproto_and_is_reset_by_the_next_login(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;
	static const char *damaged[] = {
	        "",
	        "garbage\n",
	        "rotsec-usage 2\ngeneration 1\ncurrent 1 1\nprevious 0 0\nlast current 1 a b c\n",
	        "rotsec-usage 1\ngeneration 1\ncurrent 1 1\n",
	};

	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		assert_int_equal(rs_usage_record(f->run, "svc", 9, 0, 1, NULL, NULL, NULL), 0);
		assert_int_equal(
		        ut_write_file(record_path(f, "svc"), damaged[i], strlen(damaged[i]), 0600),
		        0);
		assert_int_equal(rs_usage_read(f->run, "svc", &u), -EPROTO);
		assert_int_equal(rs_usage_record(f->run, "svc", 9, 1, 50, "sshd", NULL, NULL), 0);
		u = read_ok(f, "svc");
		assert_int_equal(u.generation, 9);
		assert_int_equal(u.current_count, 0);
		assert_int_equal(u.previous_count, 1);
	}
}

static void an_oversized_record_is_damaged_not_overflowed(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;
	char *big = malloc(8192), *rec;
	size_t len;

	assert_non_null(big);
	/* A real record whose last field (ruser) runs on for kilobytes: without a strict end
	 * check, %63s would cut it into the field and accept the rest silently. */
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, "sshd", "host", "user"), 0);
	rec = ut_read_file(record_path(f, "svc"), &len);
	assert_non_null(rec);
	assert_true(len > 1 && len < 1024);
	memset(big, 'A', 8192);
	memcpy(big, rec, len - 1); /* without its final newline */
	free(rec);
	assert_int_equal(ut_write_file(record_path(f, "svc"), big, 8192, 0600), 0);
	assert_int_equal(rs_usage_read(f->run, "svc", &u), -EPROTO);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 2, NULL, NULL, NULL), 0);
	assert_int_equal(read_ok(f, "svc").current_count, 1);
	free(big);
}

static void names_that_are_not_account_names_are_refused(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(rs_usage_record(f->run, "../escape", 1, 0, 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(rs_usage_record(f->run, "", 1, 0, 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(rs_usage_record(f->run, "a/b", 1, 0, 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(rs_usage_read(f->run, "../etc/passwd", &u), -EINVAL);
	assert_int_equal(ut_count_prefix(f->top, "escape"), 0);
}

static void a_symlink_in_place_of_the_record_is_not_followed(void **state)
{
	struct fx *f = *state;
	char target[160], *got;
	size_t len;
	struct rs_usage u;

	assert_int_equal(mkdir(f->run, 0700), 0);
	(void)snprintf(target, sizeof(target), "%s/target", f->top);
	assert_int_equal(ut_write_file(target, "precious", 8, 0600), 0);
	assert_int_equal(symlink(target, record_path(f, "svc")), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), -ELOOP);
	assert_int_equal(rs_usage_read(f->run, "svc", &u), -ELOOP);
	got = ut_read_file(target, &len);
	assert_non_null(got);
	assert_string_equal(got, "precious");
	free(got);
}

static void a_hard_link_in_place_of_the_record_is_refused(void **state)
{
	struct fx *f = *state;
	char target[160], *got;
	size_t len;

	assert_int_equal(mkdir(f->run, 0700), 0);
	(void)snprintf(target, sizeof(target), "%s/target", f->top);
	assert_int_equal(ut_write_file(target, "precious", 8, 0600), 0);
	assert_int_equal(link(target, record_path(f, "svc")), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), -EPERM);
	got = ut_read_file(target, &len);
	assert_non_null(got);
	assert_string_equal(got, "precious");
	free(got);
}

static void a_fifo_in_place_of_the_record_does_not_hang_the_login(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(mkdir(f->run, 0700), 0);
	assert_int_equal(mkfifo(record_path(f, "svc"), 0600), 0);
	alarm(20);
	assert_int_equal(rs_usage_read(f->run, "svc", &u), -EPERM);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), -EPERM);
	alarm(0);
}

static void a_run_dir_writable_by_others_is_refused(void **state)
{
	struct fx *f = *state;
	struct rs_usage u;

	assert_int_equal(mkdir(f->run, 0700), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), 0);
	assert_int_equal(chmod(f->run, 01777), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 2, NULL, NULL, NULL), -EPERM);
	assert_int_equal(rs_usage_read(f->run, "svc", &u), -EPERM);
	assert_int_equal(chmod(f->run, 0770), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 2, NULL, NULL, NULL), -EPERM);
	assert_int_equal(chmod(f->run, 0755), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 2, NULL, NULL, NULL), 0);
	assert_int_equal(read_ok(f, "svc").current_count, 2);
}

static void a_run_dir_owned_by_another_user_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkdir(f->run, 0700), 0);
	assert_int_equal(chown(f->run, 12345, 12345), 0);
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), -EPERM);
}

static void a_run_dir_that_is_a_symlink_is_refused(void **state)
{
	struct fx *f = *state;
	char real[128];

	(void)snprintf(real, sizeof(real), "%s/real", f->top);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, f->run), 0);
	/* A path rotsec writes: a link anywhere on it is unsafe (trust.h). */
	assert_int_equal(rs_usage_record(f->run, "svc", 1, 0, 1, NULL, NULL, NULL), -EPERM);
	assert_int_equal(ut_count_prefix(real, "svc"), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(a_recorded_login_is_read_back),
	        T(the_run_dir_and_record_are_created_for_root_alone),
	        T(counters_add_up_per_secret_and_remember_the_last_use),
	        T(a_new_generation_starts_the_counters_again),
	        T(the_first_use_of_each_secret_is_kept_while_the_last_moves_on),
	        T(tripwire_hits_are_counted_and_survive_a_rotation),
	        T(a_record_locked_elsewhere_is_skipped_rather_than_waited_for),
	        T(fields_are_stripped_of_spaces_and_controls_and_bounded),
	        T(a_record_that_does_not_exist_is_enoent),
	        T(a_damaged_record_reads_as_eproto_and_is_reset_by_the_next_login),
	        T(an_oversized_record_is_damaged_not_overflowed),
	        T(names_that_are_not_account_names_are_refused),
	        T(a_symlink_in_place_of_the_record_is_not_followed),
	        T(a_hard_link_in_place_of_the_record_is_refused),
	        T(a_fifo_in_place_of_the_record_does_not_hang_the_login),
	        T(a_run_dir_writable_by_others_is_refused),
	        T(a_run_dir_owned_by_another_user_is_refused),
	        T(a_run_dir_that_is_a_symlink_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
