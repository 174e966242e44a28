/*
 * The audit trail: every sync, rotation step, delivery result, revoke, verify and show,
 * as one JSON object per line in `audit_log` (0600, appended with a single write per
 * line) and as one syslog line (authpriv). Fields are names, numbers and results; there
 * is no way to put a secret in here, and no caller should try.
 *
 *   {"time":"2026-11-25T19:00:00Z","actor":"rotsecctl","uid":0,"pid":42,
 *    "event":"rotate","account":"svc-backup","step":"activate","generation":3,...}
 */
#ifndef ROTSEC_AUDIT_H
#define ROTSEC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * One event, built on the caller's stack: fixed-size lines, no allocation. A field that
 * does not fit ends the event: the JSON line keeps the fields before it and says
 * "truncated":true, the syslog line keeps them too. Not to be copied (the buffers point
 * into it).
 */
struct rs_audit_ev {
	/* Room for a failed command's stderr in "error" (deliver_stderr.h): 2 KiB, escaped. */
	char json[6144];
	char text[4096];
	struct rs_buf j, t; /* over json (less the room for its end) and text */
	size_t jfields;     /* length of j up to its last whole field */
	int prio;
};

/* Who writes the trail ("rotsecctl", "rotsecd"); set once at start. */
void rs_audit_set_actor(const char *actor);

void rs_audit_begin(struct rs_audit_ev *e, const char *event, const char *account);
void rs_audit_str(struct rs_audit_ev *e, const char *key, const char *val);
void rs_audit_int(struct rs_audit_ev *e, const char *key, int64_t val);
/* syslog priority of this event (default LOG_INFO; failures LOG_WARNING/LOG_ALERT). */
void rs_audit_prio(struct rs_audit_ev *e, int prio);
/* Append to `path` (creating it 0600, its directory 0750 if missing) and syslog it.
 * Returns 0 or a negative errno for the file; syslog cannot fail visibly. */
int rs_audit_commit(const char *path, struct rs_audit_ev *e);

#endif
