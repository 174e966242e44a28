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
	if (matches("ROTSEC_FAULT", point))
		kill(getpid(), SIGKILL);
	if (matches("ROTSEC_FAULT_FAIL", point))
		return -EIO;
	return 0;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int rs_fault_unused;
#endif
