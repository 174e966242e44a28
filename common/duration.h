/*
 * Durations as written in rotsec.conf and on the command line: a sequence of
 * NUMBER UNIT groups with units s, m, h, d, w ("90s", "15m", "2h", "7d", "2w", "1h30m").
 */
#ifndef ROTSEC_DURATION_H
#define ROTSEC_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted duration: 100 years, far beyond any sane grace or period, and far
 * from overflowing time arithmetic when added to the current time. */
#define RS_DURATION_MAX ((int64_t)100 * 366 * 86400)

/* 0 and *out set, or -EINVAL (syntax) / -ERANGE (too large). "0" alone is accepted. */
int rs_duration_parse(const char *s, int64_t *out);

/* Compact human form: "2h", "1d 3h", "45s". Always NUL-terminates when n > 0. */
void rs_duration_format(int64_t secs, char *buf, size_t n);

#endif
