/*
 * fuzz_duration: rs_duration_parse on arbitrary text, rs_duration_format on arbitrary
 * values and buffer sizes.
 *
 * Input: the text to parse (up to the first NUL); when the input has 9 bytes or more, its
 * first 8 are also taken as an int64_t to format and the 9th as a buffer size (0..255),
 * with the buffer allocated at exactly that size so that ASan sees a write one byte too
 * far.
 *
 * Invariants:
 *  - parse: 0 with 0 <= value <= RS_DURATION_MAX, or -EINVAL / -ERANGE and the output
 *    untouched;
 *  - format always NUL-terminates inside the buffer (n > 0) and never writes for n = 0;
 *  - round trip: format shows at most two units, so the formatted text of a parsed value,
 *    spaces removed, parses back to the value truncated below the second unit shown:
 *    v - (unit after the first shown) < back <= v.
 */
#include "duration.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The largest unit format uses for v > 0 ("d", "h", "m", "s"), and the one after it. */
static int64_t next_unit(int64_t v)
{
	static const int64_t units[] = {86400, 3600, 60, 1};

	for (size_t i = 0; i < 3; i++)
		if (v >= units[i])
			return units[i + 1];
	return 1;
}

static void round_trip(int64_t v)
{
	char buf[64], compact[64];
	size_t n = 0;
	int64_t back = -1;

	rs_duration_format(v, buf, sizeof(buf));
	for (const char *p = buf; *p; p++)
		if (*p != ' ')
			compact[n++] = *p;
	compact[n] = '\0';
	FZ_CHECK(rs_duration_parse(compact, &back) == 0);
	FZ_CHECK(back <= v);
	/* A single unit (v < 60 s) is exact; otherwise what is cut is below the second. */
	FZ_CHECK(v - back < next_unit(v) || (v < 60 && back == v));
}

static void format_into(int64_t v, size_t n)
{
	char *buf = n ? malloc(n) : NULL;

	if (n && !buf)
		return;
	if (n)
		memset(buf, 'X', n);
	rs_duration_format(v, buf, n);
	if (n)
		FZ_CHECK(memchr(buf, '\0', n) != NULL);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_strndup(data, size);
	int64_t v = -42;
	int r = rs_duration_parse(s, &v);

	FZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r == 0) {
		FZ_CHECK(v >= 0 && v <= RS_DURATION_MAX);
		round_trip(v);
	} else {
		FZ_CHECK(v == -42);
	}
	if (size >= 9) {
		int64_t x;

		memcpy(&x, data, sizeof(x));
		format_into(x, data[8]);
	}
	free(s);
	return 0;
}
