/*
 * When rotations and early revocations are due (schedule.h), with fixed times: the
 * functions take the time as an argument, which is the injectable clock of ARCHITECTURE.md,
 * contract §7. Windows are checked against a brute-force oracle (walk the clock minute by minute
 * and ask localtime) in a zone with DST, across both changes of the year.
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

#include "schedule.h"

#define NOW  ((int64_t)1700000000) /* 2023-11-14 22:13:20 UTC */
#define HOUR ((int64_t)3600)
#define DAY  ((int64_t)86400)

static const unsigned char key_a[32] = {1, 2, 3, 4, 5, 6, 7, 8};
static const unsigned char key_b[32] = {8, 7, 6, 5, 4, 3, 2, 1};

/* Zones other than UTC need tzdata; without it glibc would silently use UTC. */
static void use_tz(const char *tz)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	if (strcmp(tz, "UTC") != 0 && access(path, R_OK) != 0)
		skip();
	setenv("TZ", tz, 1);
	tzset();
}

static struct rs_policy_cfg policy(int64_t every)
{
	struct rs_policy_cfg p;

	memset(&p, 0, sizeof(p));
	p.rotate_every = every;
	p.grace = 600;
	p.max_grace = DAY;
	p.window_start = -1;
	p.window_end = -1;
	return p;
}

static struct rs_policy_cfg windowed(int start_min, int end_min)
{
	struct rs_policy_cfg p = policy(DAY);

	p.window_start = start_min;
	p.window_end = end_min;
	return p;
}

/* Generation 7, current since NOW, no previous secret. */
static struct rs_secret_rec record(void)
{
	struct rs_secret_rec r;

	memset(&r, 0, sizeof(r));
	(void)snprintf(r.name, sizeof(r.name), "svc-backup");
	r.generation = 7;
	r.current_since = NOW;
	(void)snprintf(r.current, sizeof(r.current), "$rotsec-b2b$v=1$current");
	return r;
}

/* The same record just after a rotation: previous valid until NOW + grace. */
static struct rs_secret_rec in_grace(int64_t grace)
{
	struct rs_secret_rec r = record();

	(void)snprintf(r.previous, sizeof(r.previous), "$rotsec-b2b$v=1$previous");
	r.previous_deadline = NOW + grace;
	r.previous_limit = NOW + DAY;
	return r;
}

static struct rs_usage used(uint64_t generation, int64_t first_current, int64_t last_previous)
{
	struct rs_usage u;

	memset(&u, 0, sizeof(u));
	u.generation = generation;
	if (first_current) {
		u.current_count = 3;
		u.current_first = first_current;
		u.current_last = first_current + 10;
	}
	if (last_previous) {
		u.previous_count = 2;
		u.previous_first = NOW + 1;
		u.previous_last = last_previous;
	}
	return u;
}

/* ---- the oracle ---- */

static bool local_in_window(const struct rs_policy_cfg *p, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int m;

	localtime_r(&tt, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	if (p->window_start < p->window_end)
		return m >= p->window_start && m < p->window_end;
	return m >= p->window_start || m < p->window_end;
}

/* The earliest time >= t at which the local clock is inside the window, by walking. */
static int64_t oracle_next(const struct rs_policy_cfg *p, int64_t t)
{
	int64_t x;

	if (local_in_window(p, t))
		return t;
	for (x = t - t % 60 + 60; x < t + 4 * DAY; x += 60)
		if (local_in_window(p, x))
			return x;
	fail_msg("no window opening within 4 days of %lld", (long long)t);
	return -1;
}

/* Local wall-clock time to unix time, for readable test data. */
static int64_t local(int y, int mon, int d, int h, int min, int isdst)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mon - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = min,
	                .tm_isdst = isdst};

	return (int64_t)mktime(&tm);
}

/* ---- rotation due ---- */

static void rotation_is_due_rotate_every_after_activation_and_not_before(void **state)
{
	struct rs_policy_cfg p = policy(7 * DAY);
	struct rs_secret_rec r = record();

	(void)state;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL), NOW + 7 * DAY);
	r.current_since = NOW + 5;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL), NOW + 5 + 7 * DAY);
}

static void jitter_is_zero_without_a_jitter_setting(void **state)
{
	(void)state;
	assert_int_equal(rs_jitter_offset(key_a, "svc-backup", 7, 0), 0);
	assert_int_equal(rs_jitter_offset(key_a, "svc-backup", 7, -5), 0);
}

static void jitter_stays_within_zero_and_the_jitter(void **state)
{
	static const int64_t jitters[] = {1, 2, 7, 60, 1800, 86400, 30 * (int64_t)86400};
	char name[32];
	int64_t lo = 30 * DAY, hi = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(jitters) / sizeof(jitters[0]); k++) {
		for (int i = 0; i < 400; i++) {
			int64_t o;

			(void)snprintf(name, sizeof(name), "svc-%d", i);
			o = rs_jitter_offset(i % 2 ? key_a : key_b, name, (uint64_t)i, jitters[k]);
			assert_true(o >= 0);
			assert_true(o < jitters[k]);
			if (jitters[k] == 86400) {
				lo = o < lo ? o : lo;
				hi = o > hi ? o : hi;
			}
		}
	}
	/* And it spreads over the range rather than clustering at one end. */
	assert_true(lo < 86400 / 10);
	assert_true(hi > 86400 - 86400 / 10);
}

static void jitter_is_the_same_for_the_same_key_name_and_generation(void **state)
{
	int64_t o = rs_jitter_offset(key_a, "svc-backup", 7, DAY);

	(void)state;
	/* A restart of the daemon must not re-roll the delay. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(rs_jitter_offset(key_a, "svc-backup", 7, DAY), o);
}

static void jitter_differs_across_names_generations_and_hosts(void **state)
{
	int64_t base = rs_jitter_offset(key_a, "svc-backup", 7, DAY);
	int same_name = 0, same_gen = 0, same_key = 0;
	char name[32];

	(void)state;
	for (int i = 0; i < 64; i++) {
		(void)snprintf(name, sizeof(name), "svc-%02d", i);
		same_name += rs_jitter_offset(key_a, name, 7, DAY) == base;
		same_gen += rs_jitter_offset(key_a, "svc-backup", 100 + (uint64_t)i, DAY) == base;
	}
	same_key = rs_jitter_offset(key_b, "svc-backup", 7, DAY) == base;
	/* One day in seconds: a collision is a 1 in 86400 event, 64 of them never happen. */
	assert_true(same_name <= 1);
	assert_true(same_gen <= 1);
	assert_int_equal(same_key, 0);
	assert_int_not_equal(rs_jitter_offset(key_a, "svc-a", 7, DAY),
	                     rs_jitter_offset(key_a, "svc-b", 7, DAY));
}

static void rotation_due_adds_the_accounts_jitter(void **state)
{
	struct rs_policy_cfg p = policy(7 * DAY);
	struct rs_secret_rec r = record();
	int64_t o;

	(void)state;
	p.jitter = 2 * HOUR;
	o = rs_jitter_offset(key_a, r.name, r.generation, p.jitter);
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL), NOW + 7 * DAY + o);
	assert_true(o >= 0 && o < 2 * HOUR);
	/* The next generation gets its own delay. */
	r.generation++;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL),
	                 NOW + 7 * DAY + rs_jitter_offset(key_a, r.name, r.generation, p.jitter));
}

/* ---- rotate_after_use and hybrid ---- */

static void without_a_login_rotate_after_use_leaves_the_schedule_alone(void **state)
{
	struct rs_policy_cfg p = policy(30 * DAY);
	struct rs_secret_rec r = record();
	struct rs_usage u = used(7, 0, 0);

	(void)state;
	p.rotate_after_use = 4 * HOUR;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL), NOW + 30 * DAY);
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &u), NOW + 30 * DAY);
}

static void rotate_after_use_counts_from_the_first_login_of_the_current_generation(void **state)
{
	struct rs_policy_cfg p = policy(30 * DAY);
	struct rs_secret_rec r = record();
	struct rs_usage u = used(7, NOW + 100, 0);

	(void)state;
	p.rotate_after_use = 4 * HOUR;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &u), NOW + 100 + 4 * HOUR);
	/* Later logins do not push it out. */
	u.current_last = NOW + 3 * HOUR;
	u.current_count = 50;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &u), NOW + 100 + 4 * HOUR);
}

static void logins_of_an_older_generation_do_not_trigger_rotate_after_use(void **state)
{
	struct rs_policy_cfg p = policy(30 * DAY);
	struct rs_secret_rec r = record();
	struct rs_usage u = used(6, NOW - HOUR, 0);

	(void)state;
	p.rotate_after_use = 4 * HOUR;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &u), NOW + 30 * DAY);
}

static void previous_secret_logins_do_not_trigger_rotate_after_use(void **state)
{
	struct rs_policy_cfg p = policy(30 * DAY);
	struct rs_secret_rec r = in_grace(600);
	struct rs_usage u = used(7, 0, NOW + 60);

	(void)state;
	p.rotate_after_use = 4 * HOUR;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &u), NOW + 30 * DAY);
}

static void hybrid_rotation_is_due_at_the_earlier_of_schedule_and_use(void **state)
{
	struct rs_policy_cfg p = policy(1 * DAY);
	struct rs_secret_rec r = record();
	struct rs_usage early = used(7, NOW + HOUR, 0);
	struct rs_usage late = used(7, NOW + 23 * HOUR, 0);

	(void)state;
	p.rotate_after_use = 4 * HOUR;
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &early), NOW + 5 * HOUR);
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &late), NOW + DAY);
	p.rotate_every = 0; /* only event-based would be odd, but must not break */
	assert_int_equal(rs_rotation_due(&p, key_a, &r, &early), NOW);
}

static void rotate_after_use_is_moved_into_the_window(void **state)
{
	struct rs_policy_cfg p;
	struct rs_secret_rec r = record();
	struct rs_usage u;
	int64_t first, due;

	(void)state;
	use_tz("UTC");
	p = windowed(2 * 60, 4 * 60);
	p.rotate_every = 30 * DAY;
	p.rotate_after_use = 4 * HOUR;
	first = local(2023, 11, 15, 10, 0, -1); /* due at 14:00, outside 02:00-04:00 */
	u = used(7, first, 0);
	due = rs_rotation_due(&p, key_a, &r, &u);
	assert_int_equal(due, local(2023, 11, 16, 2, 0, -1));
}

/* ---- windows ---- */

static void a_time_inside_the_window_is_not_moved(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60, 4 * 60);
	int64_t t;

	(void)state;
	use_tz("UTC");
	t = local(2023, 11, 15, 2, 0, -1);
	assert_int_equal(rs_window_next(&p, t), t);
	t = local(2023, 11, 15, 3, 59, -1) + 59;
	assert_int_equal(rs_window_next(&p, t), t);
}

static void without_a_window_any_time_is_accepted(void **state)
{
	struct rs_policy_cfg p = policy(DAY);

	(void)state;
	assert_int_equal(rs_window_next(&p, NOW), NOW);
	assert_int_equal(rs_window_next(&p, NOW + 12345), NOW + 12345);
}

static void a_time_before_the_window_waits_for_todays_opening(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60, 4 * 60);

	(void)state;
	use_tz("UTC");
	assert_int_equal(rs_window_next(&p, local(2023, 11, 15, 0, 30, -1) + 17),
	                 local(2023, 11, 15, 2, 0, -1));
	assert_int_equal(rs_window_next(&p, local(2023, 11, 15, 1, 59, -1) + 59),
	                 local(2023, 11, 15, 2, 0, -1));
}

static void the_window_end_is_exclusive_and_after_it_tomorrow_is_next(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60, 4 * 60);

	(void)state;
	use_tz("UTC");
	assert_int_equal(rs_window_next(&p, local(2023, 11, 15, 4, 0, -1)),
	                 local(2023, 11, 16, 2, 0, -1));
	assert_int_equal(rs_window_next(&p, local(2023, 11, 15, 23, 59, -1)),
	                 local(2023, 11, 16, 2, 0, -1));
	/* Across a month end. */
	assert_int_equal(rs_window_next(&p, local(2023, 11, 30, 12, 0, -1)),
	                 local(2023, 12, 1, 2, 0, -1));
}

static void a_window_wrapping_midnight_covers_both_sides(void **state)
{
	struct rs_policy_cfg p = windowed(22 * 60, 2 * 60);
	int64_t t;

	(void)state;
	use_tz("UTC");
	t = local(2023, 11, 15, 23, 0, -1);
	assert_int_equal(rs_window_next(&p, t), t);
	t = local(2023, 11, 16, 0, 0, -1);
	assert_int_equal(rs_window_next(&p, t), t);
	t = local(2023, 11, 16, 1, 59, -1);
	assert_int_equal(rs_window_next(&p, t), t);
	assert_int_equal(rs_window_next(&p, local(2023, 11, 16, 2, 0, -1)),
	                 local(2023, 11, 16, 22, 0, -1));
	assert_int_equal(rs_window_next(&p, local(2023, 11, 16, 12, 0, -1)),
	                 local(2023, 11, 16, 22, 0, -1));
	/* New year's eve. */
	assert_int_equal(rs_window_next(&p, local(2023, 12, 31, 21, 0, -1)),
	                 local(2023, 12, 31, 22, 0, -1));
}

static void the_window_is_in_local_time(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60, 4 * 60);

	(void)state;
	/* 02:00 in Tokyo (UTC+9, no DST) is 17:00 UTC the day before. */
	use_tz("Asia/Tokyo");
	assert_int_equal(rs_window_next(&p, 1700000000), 1700067600);
	use_tz("UTC");
	assert_int_equal(rs_window_next(&p, 1700000000), 1700013600);
}

/* Many start times and windows around both DST changes of 2024 in Berlin, each against
 * the oracle: the result must be the first moment the local clock is in the window. */
static void windows_across_dst_changes_open_at_the_first_local_time_inside(void **state)
{
	static const int windows[][2] = {
	        {2 * 60, 4 * 60},           /* opening skipped in spring, doubled in autumn */
	        {2 * 60 + 15, 2 * 60 + 45}, /* entirely inside the skipped hour */
	        {2 * 60, 2 * 60 + 30},      /* inside the doubled hour */
	        {1 * 60, 3 * 60},           /* spans the change */
	        {22 * 60, 2 * 60 + 30},     /* wraps midnight, ends inside the change */
	        {3 * 60, 3 * 60 + 1},       /* one minute */
	        {0, 23 * 60 + 59},
	};
	static const int64_t changes[] = {1711846800 /* 2024-03-31 01:00 UTC */,
	                                  1729990800 /* 2024-10-27 01:00 UTC */};
	int bad = 0, n = 0;

	(void)state;
	use_tz("Europe/Berlin");
	for (size_t c = 0; c < 2; c++) {
		for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
			struct rs_policy_cfg p = windowed(windows[w][0], windows[w][1]);

			/* Every 7 minutes and 13 seconds from a day before to a day after. */
			for (int64_t t = changes[c] - DAY; t < changes[c] + DAY; t += 433) {
				int64_t got = rs_window_next(&p, t), want = oracle_next(&p, t);

				n++;
				if (got != want && bad++ < 5)
					print_error("window %d-%d from %lld: got %lld, want %lld\n",
					            windows[w][0], windows[w][1], (long long)t,
					            (long long)got, (long long)want);
			}
		}
	}
	assert_true(n > 5000);
	assert_int_equal(bad, 0);
}

static void a_window_in_the_hour_skipped_by_dst_waits_for_the_next_day(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60 + 15, 2 * 60 + 45);

	(void)state;
	use_tz("Europe/Berlin");
	/* 2024-03-31 goes from 01:59:59 CET to 03:00:00 CEST: 02:15 never happens that day.
	 * Rotating at 03:15 would be outside the window; the next 02:15 is on April 1st. */
	assert_int_equal(rs_window_next(&p, local(2024, 3, 31, 0, 30, 0)),
	                 local(2024, 4, 1, 2, 15, 1));
}

static void a_window_opening_skipped_by_dst_opens_when_the_clock_jumps_into_it(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60, 4 * 60);

	(void)state;
	use_tz("Europe/Berlin");
	/* 02:00 does not exist on 2024-03-31; the clock shows 03:00 CEST, inside 02-04,
	 * at 01:00 UTC. */
	assert_int_equal(rs_window_next(&p, local(2024, 3, 31, 0, 30, 0)), 1711846800);
}

static void a_window_in_the_hour_repeated_by_dst_opens_in_the_repeat(void **state)
{
	struct rs_policy_cfg p = windowed(2 * 60, 2 * 60 + 30);

	(void)state;
	use_tz("Europe/Berlin");
	/* 2024-10-27: 02:45 CEST is past the window, but the clock goes back to 02:00 (CET)
	 * fifteen minutes later, which is inside it again. */
	assert_int_equal(rs_window_next(&p, local(2024, 10, 27, 2, 45, 1)), 1729990800);
	/* After the repeat, tomorrow. */
	assert_int_equal(rs_window_next(&p, local(2024, 10, 27, 2, 45, 0)),
	                 local(2024, 10, 28, 2, 0, 0));
}

static void rotation_due_outside_the_window_waits_for_it(void **state)
{
	struct rs_policy_cfg p;
	struct rs_secret_rec r = record();

	(void)state;
	use_tz("UTC");
	p = windowed(2 * 60, 4 * 60);
	p.rotate_every = 7 * DAY;
	r.current_since = local(2023, 11, 15, 12, 0, -1);
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL), local(2023, 11, 23, 2, 0, -1));
	r.current_since = local(2023, 11, 15, 3, 0, -1);
	assert_int_equal(rs_rotation_due(&p, key_a, &r, NULL), local(2023, 11, 22, 3, 0, -1));
}

static void jitter_is_added_before_the_window_so_it_never_leaves_it(void **state)
{
	struct rs_policy_cfg p;
	struct rs_secret_rec r = record();

	(void)state;
	use_tz("UTC");
	p = windowed(2 * 60, 4 * 60);
	p.rotate_every = 7 * DAY;
	p.jitter = 12 * HOUR;
	for (int i = 0; i < 200; i++) {
		int64_t due;

		(void)snprintf(r.name, sizeof(r.name), "svc-%d", i);
		due = rs_rotation_due(&p, key_a, &r, NULL);
		assert_true(local_in_window(&p, due));
		assert_true(due >= r.current_since + 7 * DAY);
		assert_true(due < r.current_since + 7 * DAY + 12 * HOUR + DAY);
	}
}

/* ---- quiet_revoke ---- */

static void quiet_revoke_is_off_unless_configured(void **state)
{
	struct rs_policy_cfg p = policy(DAY);
	struct rs_secret_rec r = in_grace(HOUR);
	struct rs_usage u = used(7, NOW + 10, 0);

	(void)state;
	assert_false(rs_quiet_revoke_due(&p, &r, &u, NOW + HOUR - 1));
}

static void quiet_revoke_needs_a_previous_secret_in_grace(void **state)
{
	struct rs_policy_cfg p = policy(DAY);
	struct rs_secret_rec r = record();
	struct rs_secret_rec g = in_grace(HOUR);
	struct rs_usage u = used(7, NOW + 10, 0);

	(void)state;
	p.quiet_revoke = 600;
	assert_false(rs_quiet_revoke_due(&p, &r, &u, NOW + 1200));
	/* Past the deadline it is the sweep's, not an early revoke. */
	assert_false(rs_quiet_revoke_due(&p, &g, &u, NOW + HOUR));
	assert_false(rs_quiet_revoke_due(&p, &g, &u, NOW + 2 * HOUR));
}

static void quiet_revoke_waits_until_the_new_secret_was_used(void **state)
{
	struct rs_policy_cfg p = policy(DAY);
	struct rs_secret_rec r = in_grace(HOUR);
	struct rs_usage none = used(7, 0, 0);
	struct rs_usage older = used(6, NOW - 100, 0);

	(void)state;
	p.quiet_revoke = 600;
	assert_false(rs_quiet_revoke_due(&p, &r, NULL, NOW + 1200));
	assert_false(rs_quiet_revoke_due(&p, &r, &none, NOW + 1200));
	/* A login of the generation before says nothing about the new secret. */
	assert_false(rs_quiet_revoke_due(&p, &r, &older, NOW + 1200));
}

static void quiet_revoke_counts_from_activation_when_the_previous_was_never_used(void **state)
{
	struct rs_policy_cfg p = policy(DAY);
	struct rs_secret_rec r = in_grace(HOUR);
	struct rs_usage u = used(7, NOW + 10, 0);

	(void)state;
	p.quiet_revoke = 600;
	assert_false(rs_quiet_revoke_due(&p, &r, &u, NOW + 599));
	assert_true(rs_quiet_revoke_due(&p, &r, &u, NOW + 600));
	assert_true(rs_quiet_revoke_due(&p, &r, &u, NOW + HOUR - 1));
}

static void quiet_revoke_counts_from_the_last_use_of_the_previous_secret(void **state)
{
	struct rs_policy_cfg p = policy(DAY);
	struct rs_secret_rec r = in_grace(HOUR);
	struct rs_usage u = used(7, NOW + 10, NOW + 1000);

	(void)state;
	p.quiet_revoke = 600;
	assert_false(rs_quiet_revoke_due(&p, &r, &u, NOW + 1000));
	assert_false(rs_quiet_revoke_due(&p, &r, &u, NOW + 1599));
	assert_true(rs_quiet_revoke_due(&p, &r, &u, NOW + 1600));
}

static void quiet_revoke_respects_the_hard_limit_when_held(void **state)
{
	struct rs_policy_cfg p = policy(DAY);
	struct rs_secret_rec r = in_grace(HOUR);
	struct rs_usage u = used(7, NOW + 10, 0);

	(void)state;
	p.quiet_revoke = 600;
	/* A held previous secret (deadline out to the limit) is in grace until the limit. */
	r.previous_deadline = r.previous_limit;
	assert_true(rs_quiet_revoke_due(&p, &r, &u, NOW + 2 * HOUR));
	assert_false(rs_quiet_revoke_due(&p, &r, &u, NOW + DAY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rotation_is_due_rotate_every_after_activation_and_not_before),
	        cmocka_unit_test(jitter_is_zero_without_a_jitter_setting),
	        cmocka_unit_test(jitter_stays_within_zero_and_the_jitter),
	        cmocka_unit_test(jitter_is_the_same_for_the_same_key_name_and_generation),
	        cmocka_unit_test(jitter_differs_across_names_generations_and_hosts),
	        cmocka_unit_test(rotation_due_adds_the_accounts_jitter),
	        cmocka_unit_test(without_a_login_rotate_after_use_leaves_the_schedule_alone),
	        cmocka_unit_test(
	                rotate_after_use_counts_from_the_first_login_of_the_current_generation),
	        cmocka_unit_test(logins_of_an_older_generation_do_not_trigger_rotate_after_use),
	        cmocka_unit_test(previous_secret_logins_do_not_trigger_rotate_after_use),
	        cmocka_unit_test(hybrid_rotation_is_due_at_the_earlier_of_schedule_and_use),
	        cmocka_unit_test(rotate_after_use_is_moved_into_the_window),
	        cmocka_unit_test(a_time_inside_the_window_is_not_moved),
	        cmocka_unit_test(without_a_window_any_time_is_accepted),
	        cmocka_unit_test(a_time_before_the_window_waits_for_todays_opening),
	        cmocka_unit_test(the_window_end_is_exclusive_and_after_it_tomorrow_is_next),
	        cmocka_unit_test(a_window_wrapping_midnight_covers_both_sides),
	        cmocka_unit_test(the_window_is_in_local_time),
	        cmocka_unit_test(windows_across_dst_changes_open_at_the_first_local_time_inside),
	        cmocka_unit_test(a_window_in_the_hour_skipped_by_dst_waits_for_the_next_day),
	        cmocka_unit_test(
	                a_window_opening_skipped_by_dst_opens_when_the_clock_jumps_into_it),
	        cmocka_unit_test(a_window_in_the_hour_repeated_by_dst_opens_in_the_repeat),
	        cmocka_unit_test(rotation_due_outside_the_window_waits_for_it),
	        cmocka_unit_test(jitter_is_added_before_the_window_so_it_never_leaves_it),
	        cmocka_unit_test(quiet_revoke_is_off_unless_configured),
	        cmocka_unit_test(quiet_revoke_needs_a_previous_secret_in_grace),
	        cmocka_unit_test(quiet_revoke_waits_until_the_new_secret_was_used),
	        cmocka_unit_test(
	                quiet_revoke_counts_from_activation_when_the_previous_was_never_used),
	        cmocka_unit_test(quiet_revoke_counts_from_the_last_use_of_the_previous_secret),
	        cmocka_unit_test(quiet_revoke_respects_the_hard_limit_when_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
