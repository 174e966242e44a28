/*
 * What the commands print: JSON values, times for people, and secrets. A secret goes to
 * stdout in one write(2) straight from guarded memory, never through stdio: a copy would
 * stay in stdout's buffer, on the ordinary heap, unwiped until the process is gone
 * (t-secret-memory.sh looks for it). A failed or short write is an error: the caller must
 * not believe it got the secret.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include "safefile.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ctl_deliveries_done(const struct rs_engine *e)
{
	printf("\n");
	if (!e->delivery_failures && !e->verify_failures)
		return CTL_EXIT_OK;
	(void)fflush(stdout);
	ctl_err("%s", e->why);
	return CTL_EXIT_FAILED;
}

void ctl_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void ctl_json_time(const char *key, int64_t t, bool comma)
{
	printf("\"%s\": ", key);
	if (t > 0)
		printf("%" PRId64, t);
	else
		printf("null");
	printf("%s", comma ? ", " : "");
}

void ctl_fmt_time_as(int64_t t, enum ctl_time_form form, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		(void)snprintf(buf, len, "-");
		return;
	}
	localtime_r(&tt, &tm);
	/* Seconds and the zone: a time read off a status in another zone, or compared with
	 * a log line, must not be off by an hour or a minute. A table column of 17 has the
	 * minute only; its --json has the time exact. */
	if (form == CTL_TIME_MINUTE)
		(void)strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
	else
		(void)strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

void ctl_fmt_time(int64_t t, char *buf, size_t len)
{
	ctl_fmt_time_as(t, CTL_TIME_EXACT, buf, len);
}

int ctl_print_secret(struct rs_secret *s)
{
	int r;

	/* Whatever stdio holds goes out first, in order. */
	(void)fflush(stdout);
	/* The guarded buffer has room for the newline where its terminator is. */
	s->buf[s->len] = '\n';
	r = rs_write_all(STDOUT_FILENO, s->buf, s->len + 1);
	s->buf[s->len] = '\0';
	if (r < 0) {
		ctl_err("cannot write the secret: %s", strerror(-r));
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

int ctl_print_secret_json(const char *before, const struct rs_secret *s, const char *after)
{
	struct rs_secret out = {0};
	size_t n = strlen(before) + 2 + strlen(after), k;
	int r;

	/* Generated secrets are printable ASCII (alphabet.c): only '"' and '\' need a
	 * backslash, but anything else is escaped too rather than trusted. */
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->buf[i];

		n += c == '"' || c == '\\' ? 2 : c < 0x20 || c == 0x7f ? 6 : 1;
	}
	if ((r = rs_secret_alloc(&out, n)) < 0) {
		ctl_err("cannot write the secret: %s", strerror(-r));
		return CTL_EXIT_FAILED;
	}
	(void)fflush(stdout);
	k = strlen(before);
	memcpy(out.buf, before, k);
	out.buf[k++] = '"';
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->buf[i];

		if (c == '"' || c == '\\') {
			out.buf[k++] = '\\';
			out.buf[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			static const char hex[] = "0123456789abcdef";

			memcpy(out.buf + k, "\\u00", 4);
			out.buf[k + 4] = hex[c >> 4];
			out.buf[k + 5] = hex[c & 15];
			k += 6;
		} else {
			out.buf[k++] = (char)c;
		}
	}
	out.buf[k++] = '"';
	memcpy(out.buf + k, after, strlen(after));
	k += strlen(after);
	out.len = k;
	r = rs_write_all(STDOUT_FILENO, out.buf, out.len);
	rs_secret_free(&out);
	if (r < 0) {
		ctl_err("cannot write the secret: %s", strerror(-r));
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}
