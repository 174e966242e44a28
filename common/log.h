/*
 * Logging for rotsecd and rotsecctl: syslog (authpriv), stderr, or both.
 *
 * The modules do not use this: PAM logs through pam_syslog and NSS logs one line per
 * process with syslog(3) directly, because both live inside somebody else's process.
 * Nothing passed here may contain a secret; callers log names, generations and results.
 */
#ifndef ROTSEC_LOG_H
#define ROTSEC_LOG_H

#include <syslog.h>

enum {
	RS_LOG_STDERR = 1 << 0,
	RS_LOG_SYSLOG = 1 << 1,
};

void rs_log_open(const char *ident, int flags);
void rs_log_set_debug(int on);
void rs_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
