/*
 * A byte buffer with a sticky error: the one way rotsec builds a record, a document or a
 * line whose length it does not know in advance.
 *
 * Every put checks its bounds and its allocation; the first one that fails records its
 * error in the buffer, and from then on every put does nothing. So a caller appends
 * field after field without a check between them and checks rs_buf_err() once, where it
 * uses the result: a failure in the middle can never be followed by a put that succeeds
 * and leaves a record with a field missing. A put is whole or nothing: a failed put
 * leaves the content as it was before it.
 *
 * Two kinds, one API:
 *  - growable (rs_buf_init): on the heap, grown by doubling, never beyond `max` content
 *    bytes (-ENOSPC past it, -ENOMEM when an allocation fails). rs_buf_free releases it;
 *    rs_buf_take hands the memory to the caller.
 *  - fixed (rs_buf_init_fixed): over the caller's array, never allocating: -ENOSPC when
 *    a put would not fit. For bounded lines built in a struct or on the stack.
 *
 * The content is always followed by a NUL that is not counted in rs_buf_len (the array of
 * a fixed buffer holds it), so a buffer of text is a C string (rs_buf_str). The content
 * itself may hold NULs (a store record is NUL-separated fields).
 *
 * RS_BUF_WIPE, for a growable buffer that holds something secret: the memory is zeroed
 * before it is freed, also the old block when the buffer grows (never realloc, which may
 * leave a copy behind), and on rs_buf_truncate what is cut off.
 *
 * The struct is public so that a buffer lives on the stack; its fields belong to buf.c.
 */
#ifndef ROTSEC_BUF_H
#define ROTSEC_BUF_H

#include <stddef.h>

#define RS_BUF_WIPE 0x1u

struct rs_buf {
	char *p;        /* NULL until the first put of a growable buffer */
	size_t len;     /* content bytes; p[len] is a NUL */
	size_t cap;     /* bytes of p */
	size_t max;     /* most content bytes this buffer accepts */
	int err;        /* 0, or the first failure, for good */
	unsigned flags; /* RS_BUF_WIPE, and buf.c's own */
};

/* A growable buffer of at most `max` content bytes; flags 0 or RS_BUF_WIPE. */
void rs_buf_init(struct rs_buf *b, size_t max, unsigned flags);
/* A fixed buffer over mem[size]: at most size - 1 content bytes and their NUL. */
void rs_buf_init_fixed(struct rs_buf *b, char *mem, size_t size);

void rs_buf_put(struct rs_buf *b, const void *data, size_t n);
/* The string without its NUL. */
void rs_buf_puts(struct rs_buf *b, const char *s);
/* The string and its NUL: one field of a store record (record.h). */
void rs_buf_putz(struct rs_buf *b, const char *s);
/* v in decimal, no NUL; without printf, as a store write makes several per account. */
void rs_buf_putu(struct rs_buf *b, unsigned long long v);
void rs_buf_printf(struct rs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Cut the content to its first `len` bytes (no-op when it is not longer). The error, if
 * any, stays: truncating is how a caller reuses a buffer for the next record. */
void rs_buf_truncate(struct rs_buf *b, size_t len);

/* Remove the first n bytes of the content (all of it when n is larger), the rest moved to
 * the front: how a reader takes one line off a stream it buffers. The error, if any, stays;
 * under RS_BUF_WIPE what the move leaves behind is zeroed. */
void rs_buf_drop(struct rs_buf *b, size_t n);

/* 0 or the first failure (-ENOSPC, -ENOMEM, -EINVAL for a format printf refused). */
int rs_buf_err(const struct rs_buf *b);
size_t rs_buf_len(const struct rs_buf *b);
/* The content, NUL-terminated; "" before the first put. */
const char *rs_buf_str(const struct rs_buf *b);

/* The buffer's error, or 0 with *out the content (malloc'ed, NUL-terminated, the
 * caller's to free) and *len its length. Either way the buffer is left empty. Growable
 * buffers only (-EINVAL for a fixed one). */
int rs_buf_take(struct rs_buf *b, char **out, size_t *len);
/* Release a growable buffer (wiped first under RS_BUF_WIPE); nothing for a fixed one.
 * The buffer is then empty, with no error, as after rs_buf_init. */
void rs_buf_free(struct rs_buf *b);

#endif
