/*
 * The buffer with a sticky error (buf.h): it grows, it refuses past its limit or its
 * array, the first failure sticks and nothing is written after it, and a wiping buffer
 * leaves no copy of its content in memory it gives back.
 *
 * Allocation failures are real ones: this program is linked with --wrap=malloc,realloc,
 * free (Makefile), so that buf.c's calls come here, where a test can make the Nth one
 * fail or look at a block before it is freed.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/* Allocations (malloc or realloc) left before one fails; -1: none fails. */
static int fail_in = -1;
/* Allocations made since the counter was last cleared. */
static int allocations;
/* While set, the blocks handed out are remembered, and a block freed with a byte that is
 * not zero is counted in `unwiped`. */
static int watch;
static int unwiped;
static struct {
	void *p;
	size_t n;
} blocks[64];

static int fails_now(void)
{
	allocations++;
	if (fail_in < 0)
		return 0;
	return fail_in-- == 0;
}

static void remember(void *p, size_t n)
{
	if (!watch || !p)
		return;
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (!blocks[i].p) {
			blocks[i].p = p;
			blocks[i].n = n;
			return;
		}
	fail_msg("more blocks than the test can watch");
}

/* Checks and forgets p; for realloc too, which gives back the old block as it is. */
static void forget(void *p)
{
	for (size_t i = 0; p && i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (blocks[i].p == p) {
			for (size_t j = 0; j < blocks[i].n; j++)
				if (((unsigned char *)p)[j]) {
					unwiped++;
					break;
				}
			blocks[i].p = NULL;
		}
}

void *__wrap_malloc(size_t n)
{
	void *p;

	if (fails_now())
		return NULL;
	p = __real_malloc(n);
	remember(p, n);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *np;

	if (fails_now())
		return NULL;
	forget(p);
	np = __real_realloc(p, n);
	remember(np, n);
	return np;
}

void __wrap_free(void *p)
{
	forget(p);
	__real_free(p);
}

static int reset(void **state)
{
	(void)state;
	fail_in = -1;
	allocations = 0;
	watch = 0;
	unwiped = 0;
	memset(blocks, 0, sizeof(blocks));
	return 0;
}

static void a_growable_buffer_holds_everything_put_in_order(void **state)
{
	struct rs_buf b;
	const char *s;
	size_t i;

	(void)state;
	rs_buf_init(&b, SIZE_MAX, 0);
	assert_string_equal(rs_buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		rs_buf_puts(&b, "abcd");
	rs_buf_put(&b, "xyz", 3);
	assert_int_equal(rs_buf_err(&b), 0);
	assert_int_equal(rs_buf_len(&b), 4003);
	s = rs_buf_str(&b);
	for (i = 0; i < 1000; i++)
		assert_memory_equal(s + 4 * i, "abcd", 4);
	assert_string_equal(s + 4000, "xyz");
	rs_buf_free(&b);
	assert_int_equal(rs_buf_len(&b), 0);
	assert_string_equal(rs_buf_str(&b), "");
}

static void fields_keep_their_nul_and_numbers_are_decimal(void **state)
{
	static const char want[] = "svc\0"
	                           "0\0"
	                           "60001\0"
	                           "18446744073709551615\0"
	                           "x";
	struct rs_buf b;

	(void)state;
	rs_buf_init(&b, SIZE_MAX, 0);
	rs_buf_putz(&b, "svc");
	rs_buf_putu(&b, 0);
	rs_buf_put(&b, "", 1);
	rs_buf_putu(&b, 60001);
	rs_buf_put(&b, "", 1);
	rs_buf_putu(&b, ULLONG_MAX);
	rs_buf_put(&b, "", 1);
	rs_buf_puts(&b, "x");
	assert_int_equal(rs_buf_err(&b), 0);
	assert_int_equal(rs_buf_len(&b), sizeof(want) - 1);
	assert_memory_equal(rs_buf_str(&b), want, sizeof(want));
	rs_buf_free(&b);
}

static void printf_appends_text_longer_than_the_first_allocation(void **state)
{
	char big[1500];
	struct rs_buf b;

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rs_buf_init(&b, SIZE_MAX, 0);
	rs_buf_printf(&b, "%s=%d;", "a", 1);
	rs_buf_printf(&b, "[%s]", big);
	rs_buf_printf(&b, "%s", "");
	assert_int_equal(rs_buf_err(&b), 0);
	assert_int_equal(rs_buf_len(&b), 4 + sizeof(big) - 1 + 2);
	assert_memory_equal(rs_buf_str(&b), "a=1;[q", 6);
	assert_string_equal(rs_buf_str(&b) + rs_buf_len(&b) - 2, "q]");
	rs_buf_free(&b);
}

static void a_failed_allocation_sticks_and_nothing_is_written_after_it(void **state)
{
	char big[300];
	struct rs_buf b;

	(void)state;
	memset(big, 'b', sizeof(big));
	rs_buf_init(&b, SIZE_MAX, 0);
	rs_buf_puts(&b, "first");
	assert_int_equal(rs_buf_err(&b), 0);
	fail_in = 0; /* the next allocation: the one to grow past the first block */
	rs_buf_put(&b, big, sizeof(big));
	fail_in = -1;
	assert_int_equal(rs_buf_err(&b), -ENOMEM);
	/* The put before it is whole, the failing one left no trace, and so does every
	 * later one, though these would fit in the block there is. */
	assert_string_equal(rs_buf_str(&b), "first");
	rs_buf_puts(&b, "more");
	rs_buf_putu(&b, 7);
	rs_buf_printf(&b, "%d", 8);
	rs_buf_putz(&b, "z");
	assert_int_equal(rs_buf_err(&b), -ENOMEM);
	assert_string_equal(rs_buf_str(&b), "first");
	assert_int_equal(rs_buf_len(&b), 5);
	rs_buf_free(&b);
}

static void a_failed_first_allocation_leaves_an_empty_buffer_with_its_error(void **state)
{
	struct rs_buf b;

	(void)state;
	rs_buf_init(&b, SIZE_MAX, 0);
	fail_in = 0;
	rs_buf_printf(&b, "%s", "x");
	fail_in = -1;
	rs_buf_puts(&b, "y");
	assert_int_equal(rs_buf_err(&b), -ENOMEM);
	assert_int_equal(rs_buf_len(&b), 0);
	assert_string_equal(rs_buf_str(&b), "");
	rs_buf_free(&b);
}

static void the_limit_is_an_error_that_sticks_and_the_put_past_it_writes_nothing(void **state)
{
	struct rs_buf b;

	(void)state;
	rs_buf_init(&b, 10, 0);
	rs_buf_puts(&b, "12345678");
	rs_buf_puts(&b, "90"); /* exactly the limit */
	assert_int_equal(rs_buf_err(&b), 0);
	rs_buf_truncate(&b, 6);
	rs_buf_puts(&b, "abcde"); /* one byte too many */
	assert_int_equal(rs_buf_err(&b), -ENOSPC);
	assert_string_equal(rs_buf_str(&b), "123456");
	rs_buf_puts(&b, "a"); /* would fit, but the error came first */
	assert_string_equal(rs_buf_str(&b), "123456");
	/* The limit bounds the memory too: never more than it and the NUL. */
	assert_true(b.cap <= 11);
	rs_buf_free(&b);
}

static void truncating_reuses_the_buffer_but_keeps_the_error(void **state)
{
	struct rs_buf b;

	(void)state;
	rs_buf_init(&b, 8, 0);
	rs_buf_puts(&b, "record1");
	rs_buf_truncate(&b, 0);
	rs_buf_puts(&b, "rec2");
	rs_buf_truncate(&b, 100); /* longer than the content: nothing */
	assert_string_equal(rs_buf_str(&b), "rec2");
	rs_buf_puts(&b, "toolong");
	rs_buf_truncate(&b, 0);
	rs_buf_puts(&b, "r3");
	assert_int_equal(rs_buf_err(&b), -ENOSPC);
	assert_string_equal(rs_buf_str(&b), "");
	rs_buf_free(&b);
	assert_int_equal(rs_buf_err(&b), 0);
}

static void dropping_takes_lines_off_the_front_and_frees_room_under_the_limit(void **state)
{
	struct rs_buf b;

	(void)state;
	rs_buf_init(&b, 10, RS_BUF_WIPE);
	rs_buf_puts(&b, "one\ntwo\n");
	rs_buf_drop(&b, 4);
	assert_int_equal(rs_buf_len(&b), 4);
	assert_string_equal(rs_buf_str(&b), "two\n");
	/* What the move left behind is zeroed: "two\n" stood at 4..7 before. */
	for (size_t i = 5; i < 9; i++)
		assert_int_equal(b.p[i], '\0');
	/* The room dropped counts again towards the limit. */
	rs_buf_puts(&b, "three\n");
	assert_int_equal(rs_buf_err(&b), 0);
	assert_string_equal(rs_buf_str(&b), "two\nthree\n");
	rs_buf_drop(&b, 0);
	assert_int_equal(rs_buf_len(&b), 10);
	rs_buf_drop(&b, 100); /* more than the content: all of it */
	assert_int_equal(rs_buf_len(&b), 0);
	assert_string_equal(rs_buf_str(&b), "");
	rs_buf_puts(&b, "12345678901"); /* past the limit: the error stays after a drop */
	rs_buf_drop(&b, 1);
	assert_int_equal(rs_buf_err(&b), -ENOSPC);
	rs_buf_free(&b);
}

static void a_fixed_buffer_never_allocates_and_refuses_what_does_not_fit(void **state)
{
	char mem[8 + 4];
	struct rs_buf b;

	(void)state;
	memset(mem, '#', sizeof(mem));
	allocations = 0;
	rs_buf_init_fixed(&b, mem, 8);
	rs_buf_puts(&b, "abc");
	rs_buf_putu(&b, 1234); /* 7 bytes and the NUL: full */
	assert_int_equal(rs_buf_err(&b), 0);
	assert_string_equal(rs_buf_str(&b), "abc1234");
	assert_ptr_equal(rs_buf_str(&b), mem);
	rs_buf_put(&b, "x", 1);
	assert_int_equal(rs_buf_err(&b), -ENOSPC);
	assert_string_equal(mem, "abc1234");
	assert_memory_equal(mem + 8, "####", 4);
	assert_int_equal(allocations, 0);
	rs_buf_free(&b); /* empty again, the array still its memory */
	rs_buf_puts(&b, "ok");
	assert_int_equal(rs_buf_err(&b), 0);
	assert_string_equal(mem, "ok");
}

static void printf_that_does_not_fit_leaves_the_array_as_it_was(void **state)
{
	char mem[16];
	struct rs_buf b;

	(void)state;
	memset(mem, '#', sizeof(mem));
	rs_buf_init_fixed(&b, mem, sizeof(mem));
	rs_buf_printf(&b, "%s", "head");
	rs_buf_printf(&b, "%s", "a line of more than sixteen bytes");
	assert_int_equal(rs_buf_err(&b), -ENOSPC);
	assert_string_equal(mem, "head");
	/* Not even the spare room after the NUL was written into. */
	for (size_t i = 5; i < sizeof(mem); i++)
		assert_int_equal(mem[i], '#');
}

static void a_fixed_buffer_without_room_for_its_nul_is_an_error(void **state)
{
	char mem[1];
	struct rs_buf b;

	(void)state;
	rs_buf_init_fixed(&b, mem, 0);
	rs_buf_puts(&b, "");
	assert_int_equal(rs_buf_err(&b), -EINVAL);
	assert_string_equal(rs_buf_str(&b), "");
	rs_buf_init_fixed(&b, mem, 1);
	rs_buf_puts(&b, "");
	assert_int_equal(rs_buf_err(&b), 0);
	rs_buf_puts(&b, "x");
	assert_int_equal(rs_buf_err(&b), -ENOSPC);
	assert_string_equal(mem, "");
}

static void take_hands_over_the_content_or_the_error(void **state)
{
	struct rs_buf b;
	char *out, mem[4];
	size_t len;

	(void)state;
	rs_buf_init(&b, SIZE_MAX, 0);
	rs_buf_puts(&b, "metrics");
	assert_int_equal(rs_buf_take(&b, &out, &len), 0);
	assert_string_equal(out, "metrics");
	assert_int_equal(len, 7);
	assert_int_equal(rs_buf_len(&b), 0);
	free(out);

	rs_buf_init(&b, SIZE_MAX, 0); /* nothing put: an empty string, not NULL */
	assert_int_equal(rs_buf_take(&b, &out, &len), 0);
	assert_non_null(out);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
	free(out);

	rs_buf_init(&b, 3, 0);
	rs_buf_puts(&b, "four");
	assert_int_equal(rs_buf_take(&b, &out, &len), -ENOSPC);
	assert_null(out);
	assert_int_equal(len, 0);

	rs_buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(rs_buf_take(&b, &out, &len), -EINVAL);
	assert_null(out);
}

static void a_wiping_buffer_gives_back_only_zeroed_memory(void **state)
{
	static const char secret[] = "correct horse battery staple";
	struct rs_buf b;
	size_t i, len;

	(void)state;
	watch = 1;
	rs_buf_init(&b, SIZE_MAX, RS_BUF_WIPE);
	/* Growing several times: every block left behind must have been zeroed. */
	for (i = 0; i < 100; i++)
		rs_buf_puts(&b, secret);
	assert_int_equal(rs_buf_err(&b), 0);
	assert_true(allocations > 2);
	assert_int_equal(unwiped, 0);
	/* What truncation cuts off is zeroed where it was. */
	len = rs_buf_len(&b);
	rs_buf_truncate(&b, 4);
	for (i = 4; i < len; i++)
		assert_int_equal(b.p[i], '\0');
	rs_buf_puts(&b, secret);
	rs_buf_free(&b);
	assert_int_equal(unwiped, 0);
	watch = 0;
}

static void a_plain_buffer_is_not_wiped_so_the_check_above_can_fail(void **state)
{
	struct rs_buf b;

	(void)state;
	watch = 1;
	rs_buf_init(&b, SIZE_MAX, 0);
	rs_buf_puts(&b, "not secret");
	rs_buf_free(&b);
	assert_int_equal(unwiped, 1);
	watch = 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, reset, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(a_growable_buffer_holds_everything_put_in_order),
	        T(fields_keep_their_nul_and_numbers_are_decimal),
	        T(printf_appends_text_longer_than_the_first_allocation),
	        T(a_failed_allocation_sticks_and_nothing_is_written_after_it),
	        T(a_failed_first_allocation_leaves_an_empty_buffer_with_its_error),
	        T(the_limit_is_an_error_that_sticks_and_the_put_past_it_writes_nothing),
	        T(truncating_reuses_the_buffer_but_keeps_the_error),
	        T(dropping_takes_lines_off_the_front_and_frees_room_under_the_limit),
	        T(a_fixed_buffer_never_allocates_and_refuses_what_does_not_fit),
	        T(printf_that_does_not_fit_leaves_the_array_as_it_was),
	        T(a_fixed_buffer_without_room_for_its_nul_is_an_error),
	        T(take_hands_over_the_content_or_the_error),
	        T(a_wiping_buffer_gives_back_only_zeroed_memory),
	        T(a_plain_buffer_is_not_wiped_so_the_check_above_can_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
