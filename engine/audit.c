#define _GNU_SOURCE
#include "audit.h"
#include "safefile.h"

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

static void jput(struct rs_audit_ev *e, const char *s)
{
	size_t n = strlen(s);

	if (e->jlen + n + 3 > sizeof(e->json)) {
		e->overflow = 1;
		return;
	}
	memcpy(e->json + e->jlen, s, n);
	e->jlen += n;
}

/* JSON string body: escape quotes, backslashes and control characters. */
static void jstr(struct rs_audit_ev *e, const char *s)
{
	char esc[8];

	jput(e, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else if (c < 0x20 || c == 0x7f) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		jput(e, esc);
	}
	jput(e, "\"");
}

static void tput(struct rs_audit_ev *e, const char *key, const char *val, int quote)
{
	int n = snprintf(e->text + e->tlen, sizeof(e->text) - e->tlen,
	                 quote ? " %s=\"%s\"" : " %s=%s", key, val);

	if (n > 0 && (size_t)n < sizeof(e->text) - e->tlen)
		e->tlen += (size_t)n;
}

void rs_audit_begin(struct rs_audit_ev *e, const char *event, const char *account)
{
	char ts[32], num[32];
	time_t now = time(NULL);
	struct tm tm;

	memset(e, 0, sizeof(*e));
	e->prio = LOG_INFO;
	gmtime_r(&now, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jput(e, "{\"time\":");
	jstr(e, ts);
	jput(e, ",\"actor\":");
	jstr(e, actor);
	(void)snprintf(num, sizeof(num), ",\"uid\":%u,\"pid\":%d", (unsigned)getuid(),
	               (int)getpid());
	jput(e, num);
	e->tlen = (size_t)snprintf(e->text, sizeof(e->text), "audit:");
	rs_audit_str(e, "event", event);
	if (account)
		rs_audit_str(e, "account", account);
}

void rs_audit_str(struct rs_audit_ev *e, const char *key, const char *val)
{
	jput(e, ",");
	jstr(e, key);
	jput(e, ":");
	jstr(e, val ? val : "");
	tput(e, key, val ? val : "", val && strpbrk(val, " \"=") != NULL);
}

void rs_audit_int(struct rs_audit_ev *e, const char *key, int64_t val)
{
	char num[32];

	(void)snprintf(num, sizeof(num), "%" PRId64, val);
	jput(e, ",");
	jstr(e, key);
	jput(e, ":");
	jput(e, num);
	tput(e, key, num, 0);
}

void rs_audit_prio(struct rs_audit_ev *e, int prio)
{
	e->prio = prio;
}

int rs_audit_commit(const char *path, struct rs_audit_ev *e)
{
	char dir[PATH_MAX], *slash;
	int fd, r;

	if (e->overflow)
		jput(e, ",\"truncated\":true");
	jput(e, "}\n");
	syslog(LOG_AUTHPRIV | e->prio, "%s", e->text);

	if (!path || path[0] != '/')
		return -EINVAL;
	(void)snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)rs_mkdir_p1(dir, 0750);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	/* One write(2) per line with O_APPEND: concurrent writers (daemon and CLI) never
	 * interleave inside a line. */
	r = rs_write_all(fd, e->json, e->jlen);
	close(fd);
	return r;
}
