#define _GNU_SOURCE
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The memory is the caller's array: never grown, freed or handed over. */
#define BUF_FIXED 0x100u

/* The first allocation; small enough for a record, a few doublings for a document. */
#define BUF_FIRST 256

void rs_buf_init(struct rs_buf *b, size_t max, unsigned flags)
{
	memset(b, 0, sizeof(*b));
	/* Room for the NUL after the content must not wrap around. */
	b->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
	b->flags = flags & RS_BUF_WIPE;
}

void rs_buf_init_fixed(struct rs_buf *b, char *mem, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->flags = BUF_FIXED;
	if (!mem || size == 0) {
		b->err = -EINVAL; /* not even room for the NUL */
		return;
	}
	b->p = mem;
	b->cap = size;
	b->max = size - 1;
	b->p[0] = '\0';
}

static void fail(struct rs_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* A block of `cap` bytes holding the content and its NUL, in place of the old one. */
static int move_to(struct rs_buf *b, size_t cap)
{
	char *np;

	if (!(b->flags & RS_BUF_WIPE)) {
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
	} else {
		/* realloc may move the block and leave the old bytes in freed memory. */
		np = malloc(cap);
		if (!np)
			return -ENOMEM;
		if (b->p) {
			memcpy(np, b->p, b->len + 1);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

/* Room for n more content bytes and the NUL after them, or the buffer's error. */
static int reserve(struct rs_buf *b, size_t n)
{
	size_t need, cap;
	int r;

	if (b->err)
		return b->err;
	if (n > b->max - b->len) {
		fail(b, -ENOSPC);
		return b->err;
	}
	need = b->len + n + 1; /* no wrap: len + n <= max < SIZE_MAX */
	if (need <= b->cap)
		return 0;
	/* A fixed buffer has cap = max + 1: it never gets here. */
	cap = b->cap ? b->cap : BUF_FIRST;
	while (cap < need)
		cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
	/* Never more than the most it can hold, so a limit is also a bound on memory. */
	if (cap > b->max + 1)
		cap = b->max + 1;
	r = move_to(b, cap);
	if (r < 0) {
		fail(b, r);
		return r;
	}
	if (b->len == 0)
		b->p[0] = '\0';
	return 0;
}

void rs_buf_put(struct rs_buf *b, const void *data, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void rs_buf_puts(struct rs_buf *b, const char *s)
{
	rs_buf_put(b, s, strlen(s));
}

void rs_buf_putz(struct rs_buf *b, const char *s)
{
	rs_buf_put(b, s, strlen(s) + 1);
}

void rs_buf_putu(struct rs_buf *b, unsigned long long v)
{
	char digits[20]; /* ULLONG_MAX has 20 */
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rs_buf_put(b, digits + n, sizeof(digits) - n);
}

void rs_buf_printf(struct rs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	/* Measured first, then written in place: a put that does not fit writes nothing,
	 * not even into the spare room of the array. */
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fail(b, -EINVAL);
		return;
	}
	if (reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void rs_buf_truncate(struct rs_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	if (b->flags & RS_BUF_WIPE)
		explicit_bzero(b->p + len, b->len - len);
	b->len = len;
	b->p[len] = '\0';
}

void rs_buf_drop(struct rs_buf *b, size_t n)
{
	if (n == 0 || b->len == 0)
		return;
	if (n > b->len)
		n = b->len;
	memmove(b->p, b->p + n, b->len - n);
	rs_buf_truncate(b, b->len - n);
}

int rs_buf_err(const struct rs_buf *b)
{
	return b->err;
}

size_t rs_buf_len(const struct rs_buf *b)
{
	return b->len;
}

const char *rs_buf_str(const struct rs_buf *b)
{
	return b->p ? b->p : "";
}

int rs_buf_take(struct rs_buf *b, char **out, size_t *len)
{
	int r = b->err;

	*out = NULL;
	*len = 0;
	if (r == 0 && (b->flags & BUF_FIXED))
		r = -EINVAL;
	if (r == 0 && !b->p)
		r = reserve(b, 0); /* nothing was put: an empty string all the same */
	if (r < 0) {
		rs_buf_free(b);
		return r;
	}
	*out = b->p;
	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return 0;
}

void rs_buf_free(struct rs_buf *b)
{
	if (b->flags & BUF_FIXED) {
		b->len = 0;
		b->err = b->p ? 0 : -EINVAL;
		if (b->p)
			b->p[0] = '\0';
		return;
	}
	if (b->p && (b->flags & RS_BUF_WIPE))
		explicit_bzero(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}
