/*
 * The directories rotsec owns (README, rotsec.conf(5)): the store (0755), the state dir
 * (0700), the run dir (0700), the audit log's directory (0750), and the metrics file's
 * directory when it lies inside the store, state or run dir (0755). Any other metrics directory
 * belongs to the metrics collector (Debian's node_exporter textfile directory by default): rotsec
 * never makes it, and writes no metrics while it is missing.
 *
 * rotsecctl and rotsecd make every one that is missing, and its missing parents (root,
 * 0755), and refuse an existing one that breaks the trust rule for a path rotsec writes
 * (trust.h): a link anywhere on it, a directory on it of another owner or writable by
 * group or others. A directory that exists keeps its mode: only a state dir open to group
 * or others is refused for it (statedir.h).
 */
#ifndef ROTSEC_OWNDIRS_H
#define ROTSEC_OWNDIRS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define RS_OWN_DIRS 5

struct rs_own_dir {
	const char *setting; /* the config setting it comes from: "store_dir", "audit_log"... */
	char path[PATH_MAX];
	mode_t mode; /* when rotsec makes it */
	bool ours;   /* false: the metrics directory of a collector, never made */
};

/* The directories of cfg, in the order they are made (a parent before what is in it).
 * Returns how many were filled (a path too long to hold is left out). */
size_t rs_own_dirs(const struct rs_config *cfg, struct rs_own_dir out[RS_OWN_DIRS]);

/* Whether the metrics file's directory is rotsec's own (inside the store, state or run
 * dir). */
bool rs_metrics_dir_is_ours(const struct rs_config *cfg);

/* Make the missing ones and check them all, every one whatever the others: 0, or the
 * first failure with `why` naming the setting and the path at fault. A collector's
 * metrics directory is left out (its writer and rotsecctl check judge it). */
int rs_own_dirs_make(const struct rs_config *cfg, char *why, size_t whylen);

#endif
