/*
 * The scheduler pass (rotsecd/scheduler.h) with an injected clock: rs_daemon_tick takes `now`, so
 * a pass can be run "a day later" against a real store, engine and journal in a scratch
 * directory. What it decides is checked through the store's generation and the wake-up
 * time it returns.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "scheduler.h"
#include "engine.h"
#include "schedule.h"
#include "unit_util.h"

struct fx {
	char top[64];
	char conf[128];
	struct rs_config cfg;
	struct rs_engine e;
	struct rs_daemon d;
	bool open;
};

/* A config in the scratch dir with `policy` in defaults and accounts svc-a and svc-b. */
static void start(struct fx *f, const char *policy)
{
	char path[160], *text;
	int n;

	n = asprintf(&text,
	             "store_dir = \"%1$s/store\";\nstate_dir = \"%1$s/state\";\n"
	             "key_file = \"%1$s/rotsec.key\";\nrun_dir = \"%1$s/run\";\n"
	             "audit_log = \"%1$s/audit.jsonl\";\nmetrics_file = \"%1$s/rotsec.prom\";\n"
	             "passwd_file = \"%1$s/passwd\";\ngroup_file = \"%1$s/group\";\n"
	             "defaults = { %2$s };\ngroups = ( { name = \"svc\"; gid = 60000; } );\n"
	             "accounts = (\n"
	             " { name = \"svc-a\"; uid = 60001; group = \"svc\";"
	             "   deliver = ( { file = \"%1$s/out/svc-a.pw\"; } ); },\n"
	             " { name = \"svc-b\"; uid = 60002; group = \"svc\";"
	             "   deliver = ( { file = \"%1$s/out/svc-b.pw\"; } ); }\n);\n",
	             f->top, policy);
	assert_true(n > 0);
	assert_int_equal(ut_write_file(f->conf, text, strlen(text), 0644), 0);
	free(text);
	(void)snprintf(path, sizeof(path), "%s/passwd", f->top);
	text = "root:x:0:0:root:/root:/bin/sh\n";
	assert_int_equal(ut_write_file(path, text, strlen(text), 0644), 0);
	(void)snprintf(path, sizeof(path), "%s/group", f->top);
	text = "root:x:0:\nrotsec:x:990:\n";
	assert_int_equal(ut_write_file(path, text, strlen(text), 0644), 0);
	(void)snprintf(path, sizeof(path), "%s/out", f->top);
	assert_int_equal(mkdir(path, 0755), 0);
	(void)snprintf(path, sizeof(path), "%s/store", f->top);
	assert_int_equal(mkdir(path, 0755), 0);

	assert_int_equal(rs_config_load(f->conf, &f->cfg), 0);
	assert_int_equal(rs_engine_open(&f->e, &f->cfg, false), 0);
	f->open = true;
	assert_int_equal(rs_engine_sync(&f->e), 0);
	f->d.e = &f->e;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !ut_mkdtemp(f->top, sizeof(f->top)))
		return -1;
	(void)snprintf(f->conf, sizeof(f->conf), "%s/rotsec.conf", f->top);
	setenv("TZ", "UTC", 1);
	tzset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->d.retry_after);
	if (f->open)
		rs_engine_close(&f->e);
	rs_config_free(&f->cfg);
	ut_rm_rf(f->top);
	free(f);
	return 0;
}

static struct rs_status status_of(struct fx *f, const char *name)
{
	struct rs_status *st, one;
	size_t n;

	assert_int_equal(rs_engine_status(&f->e, name, &st, &n), 0);
	assert_int_equal(n, 1);
	one = st[0];
	free(st);
	return one;
}

/* "HH:00-HH:00" from hour h for two hours, in a buffer of the caller. */
static const char *two_hours_from(int h, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%02d:00-%02d:00", h % 24, (h + 2) % 24);
	return buf;
}

static void
a_rotation_that_falls_due_while_outside_the_window_is_not_done_before_it_opens(void **state)
{
	struct fx *f = *state;
	struct rs_status st;
	char policy[256], win[16];
	int64_t since, base, late, opening, wake;
	struct tm tm;
	time_t tt;

	/* Where the clock is now decides the window: it must contain the due time. */
	tt = time(NULL) + 3600;
	gmtime_r(&tt, &tm);
	(void)snprintf(
	        policy, sizeof(policy),
	        "rotate_every = \"1h\"; grace = \"1s\"; max_grace = \"1h\"; window = \"%s\";",
	        two_hours_from(tm.tm_hour, win, sizeof(win)));
	start(f, policy);
	st = status_of(f, "svc-a");
	since = st.current_since;
	base = since + 3600;
	/* The daemon was stopped and comes back a day and two hours after the due time:
	 * overdue, but outside the window. */
	late = base + 86400 + 2 * (int64_t)3600;
	rs_daemon_tick(&f->d, late, &wake);
	assert_int_equal(status_of(f, "svc-a").generation, 1);
	assert_int_equal(status_of(f, "svc-b").generation, 1);
	assert_true(wake > late);
	/* At the next opening it rotates. */
	opening = rs_window_next(&f->cfg.accounts[0].pol, late);
	assert_true(opening > late && opening < late + 86400);
	rs_daemon_tick(&f->d, opening, &wake);
	assert_int_equal(status_of(f, "svc-a").generation, 2);
	assert_int_equal(status_of(f, "svc-b").generation, 2);
}

static void sigusr1_rotates_now_even_outside_the_window(void **state)
{
	struct fx *f = *state;
	char policy[256], win[16];
	int64_t wake, now = time(NULL);
	struct tm tm;
	time_t tt = (time_t)now;

	gmtime_r(&tt, &tm);
	/* A window that opens in six hours. */
	(void)snprintf(
	        policy, sizeof(policy),
	        "rotate_every = \"1h\"; grace = \"1s\"; max_grace = \"1h\"; window = \"%s\";",
	        two_hours_from(tm.tm_hour + 6, win, sizeof(win)));
	start(f, policy);
	rs_daemon_tick(&f->d, now, &wake);
	assert_int_equal(status_of(f, "svc-a").generation, 1);
	f->d.rotate_all = true;
	rs_daemon_tick(&f->d, now, &wake);
	assert_int_equal(status_of(f, "svc-a").generation, 2);
	assert_int_equal(status_of(f, "svc-b").generation, 2);
	/* One SIGUSR1, one rotation each. */
	assert_false(f->d.rotate_all);
}

static void the_pass_wakes_up_when_the_next_rotation_is_due(void **state)
{
	struct fx *f = *state;
	int64_t wake, since;

	start(f, "rotate_every = \"40s\"; grace = \"1s\"; max_grace = \"1h\";");
	since = status_of(f, "svc-a").current_since;
	rs_daemon_tick(&f->d, since + 1, &wake);
	assert_int_equal(status_of(f, "svc-a").generation, 1);
	assert_int_equal(wake, since + 40);
	/* With nothing due within a minute it looks again in a minute. */
	rs_daemon_tick(&f->d, since - 3600, &wake);
	assert_int_equal(wake, since - 3600 + 60);
}

static void nothing_rotates_while_the_previous_secret_is_in_grace(void **state)
{
	struct fx *f = *state;
	struct rs_rotate_opts o = {.grace = -1, .compromise = false};
	struct rs_status st;
	int64_t wake;

	start(f, "rotate_every = \"2h\"; grace = \"30s\"; max_grace = \"1h\";");
	assert_int_equal(rs_engine_rotate(&f->e, "svc-a", &o), 0);
	st = status_of(f, "svc-a");
	assert_int_equal(st.generation, 2);
	assert_true(st.previous_valid_until > 0);
	/* SIGUSR1 right after: svc-b rotates, svc-a (in grace) waits for the grace end. */
	f->d.rotate_all = true;
	rs_daemon_tick(&f->d, st.current_since + 1, &wake);
	assert_int_equal(status_of(f, "svc-a").generation, 2);
	assert_int_equal(status_of(f, "svc-b").generation, 2);
	assert_true(wake <= st.previous_valid_until);
}

static void a_journal_left_at_activated_with_every_delivery_done_is_finished(void **state)
{
	struct fx *f = *state;
	struct rs_rotate_opts o = {.grace = -1, .compromise = false};
	char path[160], *text, *step;
	size_t len;
	int64_t wake;

	start(f, "rotate_every = \"2h\"; grace = \"30s\"; max_grace = \"1h\";");
	assert_int_equal(rs_engine_rotate(&f->e, "svc-a", &o), 0);
	assert_int_equal(status_of(f, "svc-a").step, RS_STEP_DELIVERED);
	/* What a writer killed between the last delivery and its last journal save leaves. */
	(void)snprintf(path, sizeof(path), "%s/state/svc-a.state", f->top);
	text = ut_read_file(path, &len);
	assert_non_null(text);
	step = strstr(text, "step delivered\n");
	assert_non_null(step);
	/* Overwrites a line of the same length inside the text: no terminator wanted. */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(step, "step activated\n", strlen("step activated\n"));
	assert_int_equal(ut_write_file(path, text, len, 0600), 0);
	free(text);
	assert_int_equal(status_of(f, "svc-a").step, RS_STEP_ACTIVATED);

	rs_daemon_tick(&f->d, time(NULL), &wake);
	assert_int_equal(status_of(f, "svc-a").step, RS_STEP_DELIVERED);
	assert_int_equal(status_of(f, "svc-a").generation, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                a_rotation_that_falls_due_while_outside_the_window_is_not_done_before_it_opens,
	                setup, teardown),
	        cmocka_unit_test_setup_teardown(sigusr1_rotates_now_even_outside_the_window, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(the_pass_wakes_up_when_the_next_rotation_is_due,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                nothing_rotates_while_the_previous_secret_is_in_grace, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_journal_left_at_activated_with_every_delivery_done_is_finished, setup,
	                teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
