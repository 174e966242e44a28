#include "schedule.h"
#include "policy.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

int64_t rs_jitter_offset(const unsigned char key[32], const char *name, uint64_t generation,
                         int64_t jitter)
{
	unsigned char h[8], msg[RS_NAME_MAX + 9];
	size_t n = strlen(name);
	uint64_t v = 0;

	if (jitter <= 0)
		return 0;
	/* The hashed message is the name's bytes, then the generation: no terminator. */
	memcpy(msg, name, n); /* NOLINT(bugprone-not-null-terminated-result) */
	for (int i = 0; i < 8; i++)
		msg[n + (size_t)i] = (unsigned char)(generation >> (8 * i));
	crypto_generichash(h, sizeof(h), msg, n + 8, key, 32);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return (int64_t)(v % (uint64_t)jitter);
}

static bool in_window(int start, int end, int minute)
{
	if (start < end)
		return minute >= start && minute < end;
	return minute >= start || minute < end; /* wraps midnight */
}

static long utc_offset(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
	return tm->tm_gmtoff;
}

/*
 * The earliest time >= t whose local clock reading is inside the window. Walking wall-clock
 * minutes forward is exact while the UTC offset stays the same; when it changes on the way
 * (DST), the walk restarts at the instant of the change. Thus a window whose opening the
 * spring change skips opens when the clock jumps into it (or the next day, when the whole
 * window was skipped), and one that the autumn change repeats opens again in the repeat.
 * mktime() cannot say either: it guesses an offset for times that do not exist or exist
 * twice.
 */
int64_t rs_window_next(const struct rs_policy_cfg *p, int64_t t)
{
	struct tm tm;
	int64_t x = t;

	if (p->window_start < 0)
		return t;
	/* Each pass either returns or crosses one offset change; real zones have at most
	 * two a year, so a handful of passes covers any zone and any window. */
	for (int pass = 0; pass < 8; pass++) {
		long off = utc_offset(x, &tm), off2;
		int minute = tm.tm_hour * 60 + tm.tm_min;
		int64_t lo, hi, y;

		if (in_window(p->window_start, p->window_end, minute))
			return x;
		y = x + (int64_t)((p->window_start - minute + 1440) % 1440) * 60 - tm.tm_sec;
		off2 = utc_offset(y, &tm);
		if (off2 == off)
			return y;
		/* The offset changes in (x, y]: find the first second of the new one. */
		lo = x;
		hi = y;
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;

			if (utc_offset(mid, &tm) == off)
				lo = mid;
			else
				hi = mid;
		}
		x = hi;
	}
	return x;
}

int64_t rs_rotation_due(const struct rs_policy_cfg *p, const unsigned char key[32],
                        const struct rs_secret_rec *rec, const struct rs_usage *u)
{
	int64_t base = rec->current_since + p->rotate_every;

	if (p->rotate_after_use > 0 && u && u->generation == rec->generation &&
	    u->current_first > 0 && u->current_first + p->rotate_after_use < base)
		base = u->current_first + p->rotate_after_use;
	base += rs_jitter_offset(key, rec->name, rec->generation, p->jitter);
	return rs_window_next(p, base);
}

bool rs_quiet_revoke_due(const struct rs_policy_cfg *p, const struct rs_secret_rec *rec,
                         const struct rs_usage *u, int64_t now)
{
	int64_t quiet_since;

	if (p->quiet_revoke <= 0 || !rec->previous[0] || now >= rs_previous_valid_until(rec))
		return false;
	if (!u || u->generation != rec->generation || u->current_count == 0)
		return false; /* nobody has shown that the new secret works yet */
	quiet_since = u->previous_count ? u->previous_last : rec->current_since;
	return now - quiet_since >= p->quiet_revoke;
}
