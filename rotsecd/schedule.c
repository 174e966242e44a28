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
	memcpy(msg, name, n);
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

int64_t rs_window_next(const struct rs_policy_cfg *p, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int minute;

	if (p->window_start < 0)
		return t;
	localtime_r(&tt, &tm);
	minute = tm.tm_hour * 60 + tm.tm_min;
	if (in_window(p->window_start, p->window_end, minute))
		return t;
	/* The next opening: today's if it is still ahead, else tomorrow's. mktime
	 * normalises the day and applies the right DST offset (tm_isdst = -1). */
	if (minute >= p->window_start)
		tm.tm_mday++;
	tm.tm_hour = p->window_start / 60;
	tm.tm_min = p->window_start % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
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
