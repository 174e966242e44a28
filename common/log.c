#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int log_flags = RS_LOG_STDERR;
static int log_debug;
static const char *log_ident = "rotsec";

void rs_log_open(const char *ident, int flags)
{
	log_ident = ident;
	log_flags = flags;
	if (flags & RS_LOG_SYSLOG)
		openlog(ident, LOG_PID, LOG_AUTHPRIV);
}

void rs_log_set_debug(int on)
{
	log_debug = on;
}

void rs_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_debug)
		return;
	if (log_flags & RS_LOG_SYSLOG) {
		va_start(ap, fmt);
		vsyslog(LOG_AUTHPRIV | prio, fmt, ap);
		va_end(ap);
	}
	if (log_flags & RS_LOG_STDERR) {
		char line[4096]; /* a failed command's stderr fits (engine/deliver_stderr.h) */

		va_start(ap, fmt);
		(void)vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		/* One write per line so that concurrent writers do not interleave. */
		(void)fprintf(stderr, "%s: %s\n", log_ident, line);
	}
}
