/*
 * What a failing `command` or `verify` program said (issue 14: "a failing command says
 * why"): the end of its stderr, to go into the error message, the daemon's log line and
 * the audit event, so that an admin sees "connection refused" rather than "exited with
 * status 1".
 *
 * The program may have echoed the secret it was given (a shell script run with `set -x`,
 * a tool that prints its input on a parse error), so the excerpt never carries it: every
 * occurrence of the secret, and every piece of it RS_STDERR_PIECE characters long or
 * longer (a secret cut short is still most of a secret), becomes "[redacted]", wherever
 * the program's writes and our reads happened to split it. Control characters and bytes
 * outside printable ASCII are escaped (\n, \t, \r, \\, \xNN), so the excerpt is one line
 * that no terminal or log parser interprets.
 *
 * Bytes are kept in guarded memory (they may hold the secret) as they are read: only the
 * last RS_STDERR_KEEP bytes and as many before them as the secret is long (to recognise a
 * secret that straddles the start of what is kept). A program that writes without end
 * costs no more memory than that.
 */
#ifndef ROTSEC_DELIVER_STDERR_H
#define ROTSEC_DELIVER_STDERR_H

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

#define RS_STDERR_KEEP  2048 /* bytes of the excerpt, at most */
#define RS_STDERR_PIECE 8    /* the shortest piece of the secret that is redacted */

struct rs_stderr_tail {
	struct rs_secret ring; /* guarded */
	size_t cap, start, len;
	uint64_t total;                 /* bytes ever added */
	const struct rs_secret *secret; /* borrowed; NULL or empty: nothing to redact */
};

/* 0 or -ENOMEM. `secret` (may be NULL) must outlive t. */
int rs_stderr_tail_init(struct rs_stderr_tail *t, const struct rs_secret *secret);
void rs_stderr_tail_add(struct rs_stderr_tail *t, const void *buf, size_t n);
/*
 * The excerpt, NUL-terminated in out: redacted, escaped, trailing white space dropped, at
 * most RS_STDERR_KEEP bytes (the last ones, never cut inside an escape or a "[redacted]"),
 * preceded by "..." when earlier output was left out. "" when the program wrote nothing
 * but white space. `outlen` should be at least RS_STDERR_KEEP + 4.
 */
void rs_stderr_tail_text(const struct rs_stderr_tail *t, char *out, size_t outlen);
/* Wipes what was kept. Safe on a zeroed struct and twice. */
void rs_stderr_tail_free(struct rs_stderr_tail *t);

#endif
