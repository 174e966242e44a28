/*
 * The state dir (state_dir, ARCHITECTURE.md, contract §3): the journals (NAME.state) and the
 * account locks (NAME.lock), root's alone.
 */
#ifndef ROTSEC_STATEDIR_H
#define ROTSEC_STATEDIR_H

#include <stddef.h>

/* Open (creating it 0700, and its missing parents 0755, when missing) and check the state
 * dir: an absolute path that rotsec writes (trust.h: walked without following a link,
 * every directory root's and not writable by others), root-owned, no access for group or
 * others. Returns a directory fd or a negative errno with `why`. */
int rs_state_dir_open(const char *path, char *why, size_t whylen);

#endif
