/*
 * The end of a failed program's stderr (engine/deliver_stderr.c): the secret never in it,
 * whole or in pieces, however the output was cut into reads; control characters escaped;
 * at most RS_STDERR_KEEP bytes, the last ones.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deliver_stderr.h"
#include "secret.h"

#define SECRET "Zq8v3TnL0pXw7RkY2mB5cH9dJ4sF6gA1"

struct fx {
	struct rs_secret s;
	struct rs_stderr_tail t;
	char out[RS_STDERR_KEEP + 16];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || rs_crypto_init() < 0 || rs_secret_from(&f->s, SECRET, strlen(SECRET)) < 0 ||
	    rs_stderr_tail_init(&f->t, &f->s) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rs_stderr_tail_free(&f->t);
	rs_stderr_tail_free(&f->t); /* twice is harmless */
	rs_secret_free(&f->s);
	free(f);
	return 0;
}

static const char *text(struct fx *f)
{
	rs_stderr_tail_text(&f->t, f->out, sizeof(f->out));
	return f->out;
}

static void add(struct fx *f, const char *s)
{
	rs_stderr_tail_add(&f->t, s, strlen(s));
}

/* No piece of the secret `min` characters long or longer is in s. */
static void assert_no_piece(const char *s, size_t min)
{
	for (size_t i = 0; i + min <= strlen(SECRET); i++)
		if (memmem(s, strlen(s), SECRET + i, min))
			fail_msg("a piece of the secret (%.*s) is in: %s", (int)min, SECRET + i, s);
}

static void what_the_program_said_comes_back_as_one_line(void **state)
{
	struct fx *f = *state;

	add(f, "connecting to db1\nerror: connection refused\n\n");
	assert_string_equal(text(f), "connecting to db1\\nerror: connection refused");
}

static void nothing_written_or_only_white_space_is_an_empty_excerpt(void **state)
{
	struct fx *f = *state;

	assert_string_equal(text(f), "");
	add(f, "\n \t\r\n");
	assert_string_equal(text(f), "");
}

static void the_secret_is_redacted_wherever_it_is(void **state)
{
	struct fx *f = *state;

	add(f, SECRET "\nusage: push-pw [--host H] < " SECRET " is not a host\n" SECRET);
	assert_string_equal(text(f), "[redacted]\\nusage: push-pw [--host H] < [redacted] is not a "
	                             "host\\n[redacted]");
}

static void the_secret_split_into_reads_of_any_size_is_redacted(void **state)
{
	static const char *const before = "password was ", *const after = " (rejected)\n";
	struct fx *f = *state;
	char line[128];

	(void)snprintf(line, sizeof(line), "%s%s%s", before, SECRET, after);
	for (size_t chunk = 1; chunk <= strlen(line); chunk++) {
		rs_stderr_tail_free(&f->t);
		assert_int_equal(rs_stderr_tail_init(&f->t, &f->s), 0);
		for (size_t i = 0; i < strlen(line); i += chunk) {
			size_t n = strlen(line) - i < chunk ? strlen(line) - i : chunk;

			rs_stderr_tail_add(&f->t, line + i, n);
		}
		assert_string_equal(text(f), "password was [redacted] (rejected)");
	}
}

static void a_piece_of_eight_characters_of_the_secret_is_redacted_and_of_seven_not(void **state)
{
	struct fx *f = *state;

	/* The first 20 characters, as a tool that truncates what it prints would show. */
	add(f, "bad password Zq8v3TnL0pXw7RkY2mB5... and Zq8v3Tn");
	assert_string_equal(text(f), "bad password [redacted]... and Zq8v3Tn");
	assert_no_piece(f->out, 8);
}

static void a_short_secret_is_redacted_only_whole(void **state)
{
	struct fx *f = *state;
	struct rs_secret pin = {0};

	rs_stderr_tail_free(&f->t);
	assert_int_equal(rs_secret_from(&pin, "4711", 4), 0);
	assert_int_equal(rs_stderr_tail_init(&f->t, &pin), 0);
	add(f, "pin 4711 rejected after 471 tries");
	assert_string_equal(text(f), "pin [redacted] rejected after 471 tries");
	rs_stderr_tail_free(&f->t);
	rs_secret_free(&pin);
}

static void without_a_secret_nothing_is_redacted(void **state)
{
	struct fx *f = *state;

	rs_stderr_tail_free(&f->t);
	assert_int_equal(rs_stderr_tail_init(&f->t, NULL), 0);
	add(f, "check failed: " SECRET);
	assert_string_equal(text(f), "check failed: " SECRET);
}

static void control_characters_and_bytes_outside_ascii_are_escaped(void **state)
{
	struct fx *f = *state;

	add(f, "bell\a tab\t cr\r esc\033[31m back\\slash nul");
	rs_stderr_tail_add(&f->t, "\0", 1);
	add(f, " del\x7f utf8 \xc3\xa9");
	assert_string_equal(text(f), "bell\\x07 tab\\t cr\\r esc\\x1b[31m back\\\\slash nul\\x00 "
	                             "del\\x7f utf8 \\xc3\\xa9");
	for (const char *p = f->out; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

static void only_the_last_2_kib_are_kept_and_the_cut_is_marked(void **state)
{
	struct fx *f = *state;
	char big[5000];

	memset(big, 'a', sizeof(big));
	for (int i = 0; i < 100; i++) /* 500 KB: the memory kept does not grow with it */
		rs_stderr_tail_add(&f->t, big, sizeof(big));
	add(f, "\n\x01the end\n");
	text(f);
	assert_true(strlen(f->out) <= RS_STDERR_KEEP + 3);
	assert_true(strlen(f->out) >= RS_STDERR_KEEP - 4);
	assert_memory_equal(f->out, "...aaa", 6);
	assert_string_equal(f->out + strlen(f->out) - 16, "aaa\\n\\x01the end");
	assert_true(f->t.cap == RS_STDERR_KEEP + strlen(SECRET));
}

static void the_cut_never_falls_inside_an_escape(void **state)
{
	struct fx *f = *state;
	char ctl[RS_STDERR_KEEP];

	memset(ctl, '\x01', sizeof(ctl)); /* each 4 bytes once escaped */
	rs_stderr_tail_add(&f->t, ctl, sizeof(ctl));
	text(f);
	assert_int_equal(strlen(f->out), 3 + RS_STDERR_KEEP);
	assert_memory_equal(f->out, "...\\x01", 7);
}

static void a_secret_cut_by_the_start_of_what_is_kept_shows_no_piece(void **state)
{
	struct fx *f = *state;
	char fill[RS_STDERR_KEEP];

	/* The excerpt starts 5 characters before the secret's end. */
	memset(fill, 'B', sizeof(fill));
	add(f, "head ");
	add(f, SECRET);
	rs_stderr_tail_add(&f->t, fill, RS_STDERR_KEEP - 5);
	text(f);
	assert_no_piece(f->out, 2);
	assert_memory_equal(f->out, "...BBB", 6);

	/* The secret over and over, the oldest bytes kept in the middle of one: the margin
	 * is never shown, its pieces of the secret are under "[redacted]". */
	rs_stderr_tail_free(&f->t);
	assert_int_equal(rs_stderr_tail_init(&f->t, &f->s), 0);
	for (int i = 0; i < 200; i++)
		add(f, SECRET "\n");
	add(f, "zz");
	text(f);
	assert_no_piece(f->out, 2);
	assert_memory_equal(f->out, "...[redacted]\\n[redacted]", 25);
	assert_string_equal(f->out + strlen(f->out) - 14, "[redacted]\\nzz");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(what_the_program_said_comes_back_as_one_line),
	        T(nothing_written_or_only_white_space_is_an_empty_excerpt),
	        T(the_secret_is_redacted_wherever_it_is),
	        T(the_secret_split_into_reads_of_any_size_is_redacted),
	        T(a_piece_of_eight_characters_of_the_secret_is_redacted_and_of_seven_not),
	        T(a_short_secret_is_redacted_only_whole),
	        T(without_a_secret_nothing_is_redacted),
	        T(control_characters_and_bytes_outside_ascii_are_escaped),
	        T(only_the_last_2_kib_are_kept_and_the_cut_is_marked),
	        T(the_cut_never_falls_inside_an_escape),
	        T(a_secret_cut_by_the_start_of_what_is_kept_shows_no_piece),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
