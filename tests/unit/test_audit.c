/*
 * The audit trail's lines (audit.h): one JSON object per line in the audit log and one
 * syslog line per event, escaped, and still one valid line when an event is too long for
 * it: the whole fields that fit, then "truncated":true.
 *
 * This program defines syslog(3) itself, so that audit.c's call lands in `logged` and
 * nothing reaches the host's log.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "audit.h"
#include "unit_util.h"

static char logged[4096];
static int logged_prio;

void syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	logged_prio = prio;
	va_start(ap, fmt);
	(void)vsnprintf(logged, sizeof(logged), fmt, ap);
	va_end(ap);
}

struct fx {
	char top[64];
	char log[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !ut_mkdtemp(f->top, sizeof(f->top)))
		return -1;
	(void)snprintf(f->log, sizeof(f->log), "%s/log/audit.jsonl", f->top);
	rs_audit_set_actor("tester");
	logged[0] = '\0';
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ut_rm_rf(f->top);
	free(f);
	return 0;
}

/* The audit log's content, NUL-terminated; the caller frees it. */
static char *trail(struct fx *f)
{
	size_t len;
	char *s = ut_read_file(f->log, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

/* The line after its time, uid and pid, which change from run to run. */
static const char *after_pid(const char *line)
{
	const char *p;

	assert_true(strncmp(line, "{\"time\":\"", 9) == 0);
	p = strstr(line, ",\"actor\":\"tester\",\"uid\":");
	assert_non_null(p);
	p = strstr(p, ",\"pid\":");
	assert_non_null(p);
	p += strlen(",\"pid\":");
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

static void an_event_is_one_json_line_and_one_syslog_line(void **state)
{
	struct fx *f = *state;
	struct rs_audit_ev ev;
	char *s;

	rs_audit_begin(&ev, "rotate", "svc-a");
	rs_audit_str(&ev, "step", "activate");
	rs_audit_int(&ev, "generation", 3);
	rs_audit_int(&ev, "delta", -7);
	rs_audit_prio(&ev, LOG_WARNING);
	assert_int_equal(rs_audit_commit(f->log, &ev), 0);
	s = trail(f);
	assert_string_equal(after_pid(s), ",\"event\":\"rotate\",\"account\":\"svc-a\","
	                                  "\"step\":\"activate\",\"generation\":3,\"delta\":-7}\n");
	free(s);
	assert_string_equal(
	        logged, "audit: event=rotate account=svc-a step=activate generation=3 delta=-7");
	assert_int_equal(logged_prio, LOG_AUTHPRIV | LOG_WARNING);

	/* A second event is a second line, appended. */
	rs_audit_begin(&ev, "sync", NULL);
	assert_int_equal(rs_audit_commit(f->log, &ev), 0);
	s = trail(f);
	assert_non_null(strstr(s, "}\n{\"time\":"));
	assert_string_equal(after_pid(strchr(s, '\n') + 1), ",\"event\":\"sync\"}\n");
	free(s);
}

static void quotes_backslashes_and_controls_are_escaped(void **state)
{
	struct fx *f = *state;
	struct rs_audit_ev ev;
	char *s;

	rs_audit_begin(&ev, "verify", "svc-a");
	rs_audit_str(&ev, "why", "a \"b\\c\nd\x7f");
	rs_audit_str(&ev, "none", NULL);
	assert_int_equal(rs_audit_commit(f->log, &ev), 0);
	s = trail(f);
	assert_string_equal(after_pid(s),
	                    ",\"event\":\"verify\",\"account\":\"svc-a\","
	                    "\"why\":\"a \\\"b\\\\c\\u000ad\\u007f\",\"none\":\"\"}\n");
	free(s);
	/* A value with a space, a quote or '=' is quoted in the syslog line. */
	assert_string_equal(logged,
	                    "audit: event=verify account=svc-a why=\"a \"b\\c\nd\x7f\" none=");
}

static void an_event_too_long_keeps_its_whole_fields_and_says_truncated(void **state)
{
	struct fx *f = *state;
	struct rs_audit_ev ev;
	char big[sizeof(ev.json) + sizeof(ev.text)], *s;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rs_audit_begin(&ev, "deliver", "svc-a");
	rs_audit_str(&ev, "target", "file");
	rs_audit_str(&ev, "why", big);
	rs_audit_str(&ev, "after", "lost");
	assert_int_equal(rs_audit_commit(f->log, &ev), 0);
	s = trail(f);
	assert_string_equal(after_pid(s), ",\"event\":\"deliver\",\"account\":\"svc-a\","
	                                  "\"target\":\"file\",\"truncated\":true}\n");
	free(s);
	assert_string_equal(logged, "audit: event=deliver account=svc-a target=file");
}

static void a_line_filled_to_the_brim_is_still_one_whole_line(void **state)
{
	struct fx *f = *state;
	struct rs_audit_ev ev;
	char val[40], want[64], *s, *end;
	int i, n;

	/* Fields of every length around where the line fills up, so that one of them ends
	 * exactly at the room left for the line's end. */
	for (n = 1; n <= 24; n++) {
		memset(val, 'v', sizeof(val));
		val[n] = '\0';
		assert_int_equal(unlink(f->log) == 0 || errno == ENOENT, 1);
		rs_audit_begin(&ev, "show", "svc-a");
		/* Fields of at least 8 bytes, enough of them to fill the line. */
		for (i = 0; i < (int)sizeof(ev.json) / 8 + 10; i++)
			rs_audit_str(&ev, "k", val);
		assert_int_equal(rs_audit_commit(f->log, &ev), 0);
		s = trail(f);
		assert_true(strlen(s) <= sizeof(ev.json));
		end = s + strlen(s) - strlen(",\"truncated\":true}\n");
		assert_string_equal(end, ",\"truncated\":true}\n");
		/* The last field before the mark is whole. */
		(void)snprintf(want, sizeof(want), ",\"k\":\"%s\"", val);
		assert_true(end - s > (ptrdiff_t)strlen(want));
		assert_memory_equal(end - strlen(want), want, strlen(want));
		assert_int_equal(strchr(s, '\n'), s + strlen(s) - 1);
		free(s);
	}
}

static void an_audit_log_that_is_not_an_absolute_path_is_refused(void **state)
{
	struct rs_audit_ev ev;

	(void)state;
	rs_audit_begin(&ev, "sync", NULL);
	assert_int_equal(rs_audit_commit("relative/audit.jsonl", &ev), -EINVAL);
	/* syslog has it all the same. */
	assert_string_equal(logged, "audit: event=sync");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(an_event_is_one_json_line_and_one_syslog_line),
	        T(quotes_backslashes_and_controls_are_escaped),
	        T(an_event_too_long_keeps_its_whole_fields_and_says_truncated),
	        T(a_line_filled_to_the_brim_is_still_one_whole_line),
	        T(an_audit_log_that_is_not_an_absolute_path_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
