/*
 * The line of an engine event (engine.h): what rotsecd logs and what `rotsecctl sync`
 * prints, for a person reading a log or a terminal. One verb first, then the account,
 * then what it is about: the generation, and the deadline of the previous secret where
 * there is one, so that a log line alone says what is valid until when.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const verbs[] = {
        [RS_EV_CREATE] = "create",
        [RS_EV_UPDATE] = "update",
        [RS_EV_REMOVE] = "remove",
        [RS_EV_GROUP_CREATE] = "create group",
        [RS_EV_GROUP_UPDATE] = "update group",
        [RS_EV_GROUP_REMOVE] = "remove group",
        [RS_EV_ROTATE] = "rotate",
        [RS_EV_FINISH] = "finish",
        [RS_EV_DELIVER] = "deliver",
        [RS_EV_VERIFY] = "verify",
        [RS_EV_HOLD] = "hold",
        [RS_EV_RELEASE] = "release",
        [RS_EV_REVOKE] = "revoke",
        [RS_EV_DEGRADED] = "degraded",
        [RS_EV_RECOVERED] = "recovered",
};

/* Local time with its zone, as status shows times. */
static void put_time(struct rs_buf *b, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[64];

	localtime_r(&tt, &tm);
	(void)strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S %Z", &tm);
	rs_buf_puts(b, s);
}

/* What is accepted after an activation or a change of the previous secret's deadline. */
static void put_previous(struct rs_buf *b, const struct rs_event *ev)
{
	if (ev->deadline > 0) {
		rs_buf_printf(b, "; previous secret (generation %" PRIu64 ") valid until ",
		              ev->generation - 1);
		put_time(b, ev->deadline);
	} else {
		rs_buf_puts(b, "; no earlier secret is accepted");
	}
}

/* Where the account's name is followed by what the event is about. */
static void put_body(struct rs_buf *b, const struct rs_event *ev)
{
	const char *detail = ev->detail && ev->detail[0] ? ev->detail : NULL;

	switch (ev->kind) {
	case RS_EV_CREATE:
	case RS_EV_UPDATE:
	case RS_EV_GROUP_CREATE:
	case RS_EV_GROUP_UPDATE:
		if (detail)
			rs_buf_printf(b, ": %s", detail);
		break;
	case RS_EV_REMOVE:
	case RS_EV_GROUP_REMOVE:
		break;
	case RS_EV_ROTATE:
		rs_buf_printf(b, ": generation %" PRIu64 " (%s)", ev->generation,
		              detail ? detail : "requested");
		if (ev->result)
			put_previous(b, ev);
		break;
	case RS_EV_FINISH:
		rs_buf_printf(b, ": the interrupted rotation to generation %" PRIu64,
		              ev->generation);
		if (ev->result)
			put_previous(b, ev);
		break;
	case RS_EV_DELIVER:
		rs_buf_printf(b, ": generation %" PRIu64 " to %s", ev->generation,
		              detail ? detail : "?");
		if (ev->reason && ev->reason[0])
			rs_buf_printf(b, " (%s)", ev->reason);
		break;
	case RS_EV_VERIFY:
		rs_buf_printf(b, ": generation %" PRIu64, ev->generation);
		break;
	case RS_EV_HOLD:
	case RS_EV_RELEASE:
		if (ev->deadline > 0) {
			rs_buf_printf(b, ": previous secret (generation %" PRIu64 ") valid until ",
			              ev->generation - 1);
			put_time(b, ev->deadline);
		} else {
			rs_buf_printf(b, ": generation %" PRIu64 ", no previous secret in grace",
			              ev->generation);
		}
		if (detail)
			rs_buf_printf(b, " (%s)", detail);
		break;
	case RS_EV_REVOKE:
		rs_buf_printf(b, ": previous secret (generation %" PRIu64 ")", ev->generation);
		if (detail)
			rs_buf_printf(b, ", %s", detail);
		break;
	case RS_EV_DEGRADED:
	case RS_EV_RECOVERED:
		rs_buf_printf(b, ": generation %" PRIu64, ev->generation);
		if (detail)
			rs_buf_printf(b, ": %s", detail);
		break;
	}
}

void rs_event_format(const struct rs_event *ev, char *buf, size_t len)
{
	struct rs_buf b;
	const char *verb =
	        (size_t)ev->kind < sizeof(verbs) / sizeof(verbs[0]) ? verbs[ev->kind] : "event";

	if (!buf || !len)
		return;
	rs_buf_init_fixed(&b, buf, len);
	rs_buf_printf(&b, "%s %s", verb, ev->name ? ev->name : "?");
	put_body(&b, ev);
	if (ev->result < 0) {
		rs_buf_printf(&b, " -- FAILED: %s", ev->error && ev->error[0] ? ev->error : "?");
		if (ev->retry > 0) {
			rs_buf_puts(&b, "; next try at ");
			put_time(&b, ev->retry);
		}
	} else if (ev->result > 0 && (ev->kind == RS_EV_DELIVER || ev->kind == RS_EV_VERIFY)) {
		rs_buf_puts(&b, " -- ok");
	}
	/* A part that did not fit is left out whole; the buffer is a string either way. */
}
