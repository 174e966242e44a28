/*
 * rotsecctl's fleet verbs (fleet_cmd.c, fleet_follow.c): `keygen --sign` on a host, and
 * `fleet fetch|follow|status` on a consumer's machine. Each returns the exit status.
 *
 * Exit status of `fleet fetch` (and of `fleet follow` when it cannot start):
 *   0 the secret was printed        4 etcd unreachable, no leader, or timed out
 *   1 any other failure             5 signature not by the key trusted for the host
 *   2 usage error                   6 the message names another host, account or consumer
 *   3 nothing published there       7 replay: older than the generation held in --state
 *   8 etcd refused access           9 the value does not open with the consumer's key
 * `fleet status`: 0 every account fine, 1 a warning (host not alive, a consumer not
 * switched yet), 2 an account degraded, 3 etcd could not be read.
 */
#ifndef ROTSEC_FLEET_CLI_H
#define ROTSEC_FLEET_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "fleet.h"

enum {
	RS_FLEET_EXIT_OK = 0,
	RS_FLEET_EXIT_FAIL = 1,
	RS_FLEET_EXIT_USAGE = 2,
	RS_FLEET_EXIT_NOKEY = 3,
	RS_FLEET_EXIT_UNREACHABLE = 4,
	RS_FLEET_EXIT_UNTRUSTED = 5,
	RS_FLEET_EXIT_WRONG_NAME = 6,
	RS_FLEET_EXIT_REPLAY = 7,
	RS_FLEET_EXIT_DENIED = 8,
	RS_FLEET_EXIT_SEALED = 9,
};

/* `rotsecctl keygen --sign PREFIX`. */
int rs_ctl_keygen_sign(const char *prefix);

/* `rotsecctl [-c FILE] fleet VERB ...`: argv[0] is "fleet". conf is NULL without -c. */
int rs_ctl_fleet(const char *conf, int argc, char **argv);

/* The exit status for an error of rs_fleet_fetch / rs_fleet_msg_open / etcd. */
int rs_ctl_fleet_exit(int r);

/* What follow needs beyond the shared settings. */
struct rs_follow_opts {
	const char *state_dir;
	char **argv; /* CMD, argv[0] absolute */
	int64_t cmd_timeout;
	int64_t check_interval; /* seconds of a silent watch before a health read */
	int ack;
};

/* fleet_follow.c */
int rs_ctl_fleet_follow(struct rs_fleet *f, const struct rs_fleet_reader *rd, const char *host,
                        const char *account, const struct rs_follow_opts *o);

/* The follower's state in DIR (fleet_follow.c), also read by `fetch --state`. */
struct rs_follow_state {
	uint64_t generation; /* 0: none held */
	int64_t revision;
	char version[33];
};
int rs_follow_state_read(int dirfd, const char *host, const char *account,
                         struct rs_follow_state *st, char *why, size_t whylen);
/* Open DIR: a directory owned by the caller (or root) and writable by nobody else. */
int rs_follow_state_dir(const char *dir, char *why, size_t whylen);

#endif
