#define _GNU_SOURCE
#include "audit.h"
#include "safefile.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *actor = "rotsec";

void rs_audit_set_actor(const char *a)
{
	actor = a;
}

/* The end of a JSON line, after a mark when a field did not fit. The buffer j stops short
 * of the array by the longer one, so that either always fits after the last whole field. */
#define JSON_END           "}\n"
#define JSON_END_TRUNCATED ",\"truncated\":true}\n"

/* A JSON string: quotes, backslashes and control characters escaped. */
static void jstr(struct rs_buf *b, const char *s)
{
	rs_buf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			rs_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			rs_buf_printf(b, "\\u%04x", c);
		else
			rs_buf_put(b, s, 1);
	}
	rs_buf_put(b, "\"", 1);
}

/* ,"KEY": before a value, and the mark after it of where the whole fields end. */
static void jkey(struct rs_audit_ev *e, const char *key)
{
	rs_buf_put(&e->j, ",", 1);
	jstr(&e->j, key);
	rs_buf_put(&e->j, ":", 1);
}

static void jdone(struct rs_audit_ev *e)
{
	if (rs_buf_err(&e->j) == 0)
		e->jfields = rs_buf_len(&e->j);
}

void rs_audit_begin(struct rs_audit_ev *e, const char *event, const char *account)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	memset(e, 0, sizeof(*e));
	e->prio = LOG_INFO;
	rs_buf_init_fixed(&e->j, e->json, sizeof(e->json) - (sizeof(JSON_END_TRUNCATED) - 1));
	rs_buf_init_fixed(&e->t, e->text, sizeof(e->text));
	gmtime_r(&now, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rs_buf_puts(&e->j, "{\"time\":");
	jstr(&e->j, ts);
	rs_buf_puts(&e->j, ",\"actor\":");
	jstr(&e->j, actor);
	rs_buf_printf(&e->j, ",\"uid\":%u,\"pid\":%d", (unsigned)getuid(), (int)getpid());
	jdone(e);
	rs_buf_puts(&e->t, "audit:");
	rs_audit_str(e, "event", event);
	if (account)
		rs_audit_str(e, "account", account);
}

void rs_audit_str(struct rs_audit_ev *e, const char *key, const char *val)
{
	const char *v = val ? val : "";

	jkey(e, key);
	jstr(&e->j, v);
	jdone(e);
	if (strpbrk(v, " \"="))
		rs_buf_printf(&e->t, " %s=\"%s\"", key, v);
	else
		rs_buf_printf(&e->t, " %s=%s", key, v);
}

void rs_audit_int(struct rs_audit_ev *e, const char *key, int64_t val)
{
	jkey(e, key);
	rs_buf_printf(&e->j, "%" PRId64, val);
	jdone(e);
	rs_buf_printf(&e->t, " %s=%" PRId64, key, val);
}

void rs_audit_prio(struct rs_audit_ev *e, int prio)
{
	e->prio = prio;
}

/*
 * The log's directory is a path rotsec writes (trust.h), made 0750 when missing, and the
 * log is appended to relative to the directory fd that was checked. The file itself must
 * be a regular file of root's with one link and not writable by others: root appends to
 * whatever is there, and a hard link to another file, had anyone been able to make one,
 * would have root write into that file.
 */
int rs_audit_commit(const char *path, struct rs_audit_ev *e)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_MKDIR, .mode = 0750};
	const char *end = rs_buf_err(&e->j) ? JSON_END_TRUNCATED : JSON_END;
	size_t n = rs_buf_err(&e->j) ? e->jfields : rs_buf_len(&e->j);
	const char *name;
	struct stat st;
	int dirfd, fd, r;

	/* Into the room the buffer left at the end of the array (rs_audit_begin). */
	memcpy(e->json + n, end, strlen(end));
	n += strlen(end);
	syslog(LOG_AUTHPRIV | e->prio, "%s", rs_buf_str(&e->t));

	if ((dirfd = rs_trust_parent(path, &t, &name, NULL, 0)) < 0)
		return dirfd;
	fd = openat(dirfd, name,
	            O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
	            0600);
	r = fd < 0 ? -errno : 0;
	close(dirfd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (rs_trust_file_ok(fd, &st, 0, path, NULL, 0) < 0 || st.st_nlink != 1)
		r = -EPERM;
	/* One write(2) per line with O_APPEND: concurrent writers (daemon and CLI) never
	 * interleave inside a line. */
	if (r == 0)
		r = rs_write_all(fd, e->json, n);
	close(fd);
	return r;
}
