#include "fault.h"

#ifdef ROTSEC_FAULTS
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int matches(const char *var, const char *point)
{
	const char *v = getenv(var);
	return v && strcmp(v, point) == 0;
}

/* ROTSEC_FAULT=NAME@N: the Nth time NAME is reached. A rotation passes some points many
 * times (the journal is written after each step), and each of those is a step to crash
 * at. The count is per process: one value of ROTSEC_FAULT names one point. */
static int kill_here(const char *point)
{
	static unsigned long hits;
	const char *v = getenv("ROTSEC_FAULT"), *at;
	size_t n = strlen(point);
	char *end;
	unsigned long want;

	if (!v)
		return 0;
	if (strcmp(v, point) == 0)
		return 1;
	at = strrchr(v, '@');
	if (!at || (size_t)(at - v) != n || strncmp(v, point, n) != 0)
		return 0;
	want = strtoul(at + 1, &end, 10);
	return *end == '\0' && ++hits == want;
}

int rs_fault(const char *point)
{
	const char *logf = getenv("ROTSEC_FAULT_LOG");

	if (logf) {
		int fd = open(logf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0) {
			size_t n = strlen(point);
			/* Best effort: the log only tells the tests which points exist. */
			if (write(fd, point, n) == (ssize_t)n)
				(void)!write(fd, "\n", 1);
			close(fd);
		}
	}
	if (kill_here(point))
		kill(getpid(), SIGKILL);
	if (matches("ROTSEC_FAULT_FAIL", point))
		return -EIO;
	return 0;
}

void rs_fault_stop(const char *point)
{
	if (matches("ROTSEC_FAULT_STOP", point))
		kill(getpid(), SIGSTOP);
}
#else
/* ISO C forbids an empty translation unit. */
typedef int rs_fault_unused;
#endif
