/*
 * record_use: write a usage record the way pam_rotsec does after a login, so that the
 * daemon tests can make "a login happened" without a PAM stack.
 *
 *   record_use RUN_DIR NAME GENERATION current|previous|tripwire [UNIX_TIME]
 *
 * GENERATION is the store's current generation of NAME (what pam_rotsec records);
 * UNIX_TIME defaults to now.
 */
#include "usage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	uint64_t gen;
	int64_t now = (int64_t)time(NULL);
	char *end;
	int r;

	if (argc != 5 && argc != 6) {
		(void)fprintf(stderr, "usage: record_use RUN_DIR NAME GENERATION "
		                      "current|previous|tripwire [UNIX_TIME]\n");
		return 2;
	}
	errno = 0;
	gen = strtoull(argv[3], &end, 10);
	if (errno || *end || end == argv[3]) {
		(void)fprintf(stderr, "record_use: bad generation %s\n", argv[3]);
		return 2;
	}
	if (argc == 6) {
		now = (int64_t)strtoll(argv[5], &end, 10);
		if (*end || end == argv[5]) {
			(void)fprintf(stderr, "record_use: bad time %s\n", argv[5]);
			return 2;
		}
	}
	if (strcmp(argv[4], "current") == 0 || strcmp(argv[4], "previous") == 0)
		r = rs_usage_record(argv[1], argv[2], gen, strcmp(argv[4], "previous") == 0, now,
		                    "record_use", "-", "-");
	else if (strcmp(argv[4], "tripwire") == 0)
		r = rs_usage_tripwire(argv[1], argv[2], gen, now, "record_use", "-", "-");
	else {
		(void)fprintf(stderr, "record_use: kind must be current, previous or tripwire\n");
		return 2;
	}
	if (r < 0) {
		(void)fprintf(stderr, "record_use: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
