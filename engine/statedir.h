/*
 * The state dir (state_dir, DESIGN §3): the journals (NAME.state) and the account locks
 * (NAME.lock), root's alone.
 */
#ifndef ROTSEC_STATEDIR_H
#define ROTSEC_STATEDIR_H

#include <stddef.h>

/* Open (creating 0700 when missing) and check the state dir: an absolute path, safe as
 * rs_open_safe_dir checks it, root-owned, no access for group or others. Returns a
 * directory fd or a negative errno with `why`. */
int rs_state_dir_open(const char *path, char *why, size_t whylen);

#endif
