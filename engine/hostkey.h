/*
 * The host key: 32 random bytes in key_file (0600 root) under which the journals seal the
 * newest secret of each account (journal.h), and from which the schedule derives its
 * jitter (schedule.h). Lose it and the journaled secrets cannot be delivered again; let
 * someone read it and every journaled secret is theirs.
 */
#ifndef ROTSEC_HOSTKEY_H
#define ROTSEC_HOSTKEY_H

#include <stddef.h>

#define RS_HOSTKEY_LEN 32

/* Load the key from `path`. With create, a missing key is made (O_EXCL, mode before
 * content, fsync). A key that is not a regular root-owned file, or that is readable by
 * others, is refused (-EPERM); one of the wrong size is damaged (-EPROTO). 0, or a
 * negative errno with `why`. */
int rs_hostkey_load(const char *path, int create, unsigned char key[RS_HOSTKEY_LEN], char *why,
                    size_t whylen);

#endif
