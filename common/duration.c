#include "duration.h"

#include <errno.h>
#include <stdio.h>

static int64_t unit_seconds(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return (int64_t)7 * 86400;
	default:
		return 0;
	}
}

int rs_duration_parse(const char *s, int64_t *out)
{
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1] == '\0') {
		*out = 0;
		return 0;
	}
	while (*s) {
		int64_t n = 0, mult;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (*s - '0');
			if (n > RS_DURATION_MAX)
				return -ERANGE;
			s++;
			digits++;
		}
		if (!digits)
			return -EINVAL;
		mult = unit_seconds(*s);
		if (!mult)
			return -EINVAL;
		s++;
		if (n > RS_DURATION_MAX / mult)
			return -ERANGE;
		total += n * mult;
		if (total > RS_DURATION_MAX)
			return -ERANGE;
	}
	*out = total;
	return 0;
}

void rs_duration_format(int64_t secs, char *buf, size_t n)
{
	static const struct {
		uint64_t len;
		char unit;
	} parts[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	size_t used = 0;
	int shown = 0;
	uint64_t mag;

	if (n == 0)
		return;
	buf[0] = '\0';
	/* The magnitude in unsigned arithmetic: -INT64_MIN does not fit in an int64_t. */
	mag = secs < 0 ? -(uint64_t)secs : (uint64_t)secs;
	if (secs < 0) {
		if (n < 2)
			return;
		(void)snprintf(buf, n, "-");
		used = 1;
	}
	if (mag == 0) {
		(void)snprintf(buf + used, n - used, "0s");
		return;
	}
	/* Two most significant units are enough for a person reading a table. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && shown < 2; i++) {
		uint64_t q = mag / parts[i].len;
		int w;

		if (q == 0) {
			if (shown)
				break;
			continue;
		}
		mag -= q * parts[i].len;
		w = snprintf(buf + used, n - used, "%s%llu%c", shown ? " " : "",
		             (unsigned long long)q, parts[i].unit);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
		shown++;
	}
}
