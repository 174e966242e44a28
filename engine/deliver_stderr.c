/*
 * The redacted end of a program's stderr (deliver_stderr.h).
 *
 * Why redaction runs over what is kept, once, and not over each read: the program's
 * writes and our reads cut its output wherever they like, so a secret may arrive in any
 * number of pieces; only in the bytes put back together can it be recognised. Why a
 * margin as long as the secret before the last RS_STDERR_KEEP bytes: a secret that
 * straddles the start of the excerpt is recognised whole there, and what of it falls
 * before the excerpt is never shown.
 */
#define _GNU_SOURCE
#include "deliver_stderr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "[redacted]"
#define ELLIPSIS "..."

int rs_stderr_tail_init(struct rs_stderr_tail *t, const struct rs_secret *secret)
{
	memset(t, 0, sizeof(*t));
	t->secret = secret && secret->len ? secret : NULL;
	t->cap = RS_STDERR_KEEP + (t->secret ? t->secret->len : 0);
	return rs_secret_alloc(&t->ring, t->cap);
}

void rs_stderr_tail_add(struct rs_stderr_tail *t, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	if (!t->ring.buf || !t->cap)
		return;
	t->total += n;
	if (n >= t->cap) {
		p += n - t->cap;
		n = t->cap;
		t->start = 0;
		t->len = 0;
	}
	for (size_t i = 0; i < n; i++) {
		t->ring.buf[(t->start + t->len) % t->cap] = (char)p[i];
		if (t->len < t->cap)
			t->len++;
		else
			t->start = (t->start + 1) % t->cap;
	}
}

void rs_stderr_tail_free(struct rs_stderr_tail *t)
{
	rs_secret_free(&t->ring);
	t->cap = t->start = t->len = 0;
}

/* Byte c as it is shown: itself, a C escape for a backslash and the usual whitespace, or
 * \xHH for anything else unprintable. Its width, the bytes in out. */
static size_t escape(unsigned char c, char out[4])
{
	static const char hex[] = "0123456789abcdef";
	const char *named = c == '\\'   ? "\\\\"
	                    : c == '\n' ? "\\n"
	                    : c == '\t' ? "\\t"
	                    : c == '\r' ? "\\r"
	                                : NULL;

	if (named) {
		memcpy(out, named, 2);
		return 2;
	}
	if (c < 0x20 || c >= 0x7f) {
		memcpy(out, (const char[4]){'\\', 'x', hex[c >> 4], hex[c & 15]}, 4);
		return 4;
	}
	out[0] = (char)c;
	return 1;
}

static size_t esc_width(unsigned char c)
{
	char x[4];

	return escape(c, x);
}

struct emit {
	char *out;
	size_t len, cap;
};

static void put(struct emit *e, const char *s, size_t n)
{
	if (e->cap == 0 || e->len + n >= e->cap)
		return;
	memcpy(e->out + e->len, s, n);
	e->len += n;
	e->out[e->len] = '\0';
}

static void put_escaped(struct emit *e, unsigned char c)
{
	char x[4];

	put(e, x, escape(c, x));
}

/*
 * mask[i] set for each byte of lin that belongs to an occurrence of a piece of the secret
 * at least `piece` long. For each position, the longest piece of the secret that ends
 * there (the longest common suffix of the text so far with some prefix of the secret, a
 * row of the classic longest-common-substring table), O(len * secret length): a few
 * hundred thousand steps at most, and only for a program that failed.
 */
static int mark_secret(const unsigned char *lin, size_t len, const struct rs_secret *s,
                       size_t piece, bool *mask)
{
	size_t n = s->len;
	uint32_t *prev = calloc(n + 1, sizeof(*prev)), *cur = calloc(n + 1, sizeof(*cur)), *tmp;
	int r = 0;

	if (!prev || !cur) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		uint32_t best = 0;

		cur[0] = 0;
		for (size_t j = 0; j < n; j++) {
			cur[j + 1] = lin[i] == (unsigned char)s->buf[j] ? prev[j] + 1 : 0;
			if (cur[j + 1] > best)
				best = cur[j + 1];
		}
		if (best >= piece)
			for (size_t k = i + 1 - best; k <= i; k++)
				mask[k] = true;
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
out:
	free(prev);
	free(cur);
	return r;
}

void rs_stderr_tail_text(const struct rs_stderr_tail *t, char *out, size_t outlen)
{
	struct rs_secret lin = {0};
	struct emit e = {out, 0, outlen};
	size_t slen = t->secret ? t->secret->len : 0, lo, end, start, width = 0;
	size_t piece = slen < RS_STDERR_PIECE ? slen : RS_STDERR_PIECE;
	const unsigned char *b;
	bool *mask = NULL;

	if (outlen)
		out[0] = '\0';
	if (!t->ring.buf || t->len == 0)
		return;
	/* A secret too long to look for in reasonable time (longer than any rotsec makes)
	 * is not looked for: then nothing is shown rather than what might hold it. */
	if (slen > RS_SECRET_MAX) {
		put(&e, "(not shown)", 11);
		return;
	}
	if (rs_secret_alloc(&lin, t->len) < 0 || !(mask = calloc(t->len + 1, sizeof(*mask))))
		goto fail;
	for (size_t i = 0; i < t->len; i++)
		lin.buf[i] = t->ring.buf[(t->start + i) % t->cap];
	b = (const unsigned char *)lin.buf;
	if (slen && mark_secret(b, t->len, t->secret, piece, mask) < 0)
		goto fail;

	/* The margin before the excerpt is there only to recognise a secret: shown never. */
	lo = t->total > t->len ? (slen < t->len ? slen : t->len) : 0;
	end = t->len;
	while (end > lo && !mask[end - 1] &&
	       (b[end - 1] == '\n' || b[end - 1] == '\r' || b[end - 1] == ' ' ||
	        b[end - 1] == '\t'))
		end--;
	/* From the end backwards, whole escapes and redactions, as many as fit. */
	start = end;
	while (start > lo) {
		size_t a = start - 1, w;

		if (mask[a]) {
			while (a > lo && mask[a - 1])
				a--;
			w = sizeof(REDACTED) - 1;
		} else {
			w = esc_width(b[a]);
		}
		if (width + w > RS_STDERR_KEEP)
			break;
		width += w;
		start = a;
	}
	if (start == end)
		goto out;
	if (start > 0 || t->total > t->len)
		put(&e, ELLIPSIS, sizeof(ELLIPSIS) - 1);
	for (size_t i = start; i < end; i++) {
		if (mask[i]) {
			put(&e, REDACTED, sizeof(REDACTED) - 1);
			while (i + 1 < end && mask[i + 1])
				i++;
		} else {
			put_escaped(&e, b[i]);
		}
	}
	goto out;
fail:
	put(&e, "(not shown: out of memory)", 26);
out:
	free(mask);
	rs_secret_free(&lin);
}
