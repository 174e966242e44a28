/*
 * Usage records: what pam_rotsec writes after each successful login and rotsecd /
 * `rotsecctl status` read back, so an admin can see which consumer still uses the
 * previous secret, and rotsecd can act on use (rotate_after_use, quiet_revoke).
 *
 * One small text file per account, RUN_DIR/NAME.usage (0600 root, RUN_DIR 0700 root),
 * updated under flock(2). Counters belong to one secret generation: a login with a newer
 * generation starts them again, so "previous logins" always means "since the last
 * rotation". Fields are bounded; the password is never part of it.
 *
 *   rotsec-usage 1
 *   generation G
 *   current N FIRST_UNIX LAST_UNIX
 *   previous N FIRST_UNIX LAST_UNIX
 *   tripwire N LAST_UNIX            (not reset by a rotation)
 *   last SECRET(current|previous|revoked) UNIX SERVICE RHOST RUSER
 */
#ifndef ROTSEC_USAGE_H
#define ROTSEC_USAGE_H

#include <stdint.h>

#define RS_USAGE_FIELD 64

struct rs_usage {
	uint64_t generation;
	uint64_t current_count, previous_count;
	int64_t current_first, previous_first; /* first login of this generation, 0 = never */
	int64_t current_last, previous_last;   /* 0 = never */
	uint64_t tripwire_count;               /* logins tried with a revoked secret, ever */
	int64_t tripwire_last;
	char last_secret[16]; /* "current", "previous" or "revoked" (a tripwire hit) */
	int64_t last_time;
	char service[RS_USAGE_FIELD], rhost[RS_USAGE_FIELD], ruser[RS_USAGE_FIELD];
};

/* Record one successful login. `previous` is 1 when the previous secret matched.
 * service/rhost/ruser may be NULL; they are truncated and stripped of spaces and
 * control characters. 0 or a negative errno; -EFBIG (the caller's RLIMIT_FSIZE is
 * below a record's size: nothing written) and -EMFILE are the calling process's own
 * limits, any other failure is the run dir's. Creates run_dir (0700) when missing. */
int rs_usage_record(const char *run_dir, const char *name, uint64_t generation, int previous,
                    int64_t now, const char *service, const char *rhost, const char *ruser);

/* Record a login attempt with a revoked secret (a tripwire hit), for the metrics. */
int rs_usage_tripwire(const char *run_dir, const char *name, uint64_t generation, int64_t now,
                      const char *service, const char *rhost, const char *ruser);

/*
 * The dummy record, RUN_DIR/.dummy.usage: rewritten exactly as an account's record is, by
 * every login whose verdict records nothing (wrong password, unknown account, disabled
 * account...), so that a failure costs what a success costs and the time a login takes
 * tells nothing (ARCHITECTURE.md, contract §4: the same work as a real check). What it counts means
 * nothing and nobody reads it. Same return values as rs_usage_record.
 */
#define RS_USAGE_DUMMY_FILE ".dummy.usage"
int rs_usage_dummy(const char *run_dir, int64_t now, const char *service, const char *rhost,
                   const char *ruser);

/* Read NAME's record. -ENOENT when there is none (never used), -EPROTO when damaged,
 * -ETIMEDOUT when another process holds its lock (bounded wait, as for writers),
 * -EPERM when the run dir or the record is unsafe (see usage.c). */
int rs_usage_read(const char *run_dir, const char *name, struct rs_usage *u);

/* Remove NAME's record (an account the config dropped), through the run dir walked as
 * usage records are. 0 also when there was none. */
int rs_usage_remove(const char *run_dir, const char *name);

#endif
