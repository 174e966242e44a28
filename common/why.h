/*
 * The `why` of a failure: one sentence for a person, written into a buffer the caller
 * passes (char *why, size_t whylen) beside a negative errno. Every function of rotsec that
 * explains its failures does it through rs_set_why, so that a NULL or empty buffer is
 * always allowed and a long sentence is always cut, never overflowed.
 *
 * A why names paths, accounts and errors; never a secret.
 */
#ifndef ROTSEC_WHY_H
#define ROTSEC_WHY_H

#include <stddef.h>

/* What a caller that keeps a why on its stack gives it: long enough for a path and its
 * error. */
#define RS_WHY_MAX 256

/* Format into why (nothing when why is NULL or whylen 0). */
/* s with every byte outside printable ASCII replaced by '?', in place: for text another
 * party wrote (an etcd endpoint's message, a key read from etcd) before it reaches a log
 * line, where a line break would forge a line, or a terminal, which an escape drives. */
void rs_why_printable(char *s);

void rs_set_why(char *why, size_t whylen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
