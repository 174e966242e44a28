/*
 * The trust rule (ARCHITECTURE.md, contract §5), in one place: whether a path can decide what root
 * runs, reads or writes. Every input of that kind (the store the modules read, the config
 * and its @includes, passwd_file, group_file, key_file, sealed_to keys, the programs of
 * `command` and `verify`, the fleet's signing_key, its TLS files and password_file) and
 * every directory rotsec writes into is walked here, and nowhere else.
 *
 * The rule, as OpenSSH's StrictModes judges a path:
 *   - the file is root's and not writable by group or others (a POSIX ACL that grants
 *     write to someone else shows as group write: the mode's group bits are the ACL mask);
 *   - so is every directory above it, except that a sticky directory such as /tmp may be
 *     writable by others when the entry below it is root's: the sticky bit keeps others
 *     from renaming or removing an entry they do not own;
 *   - a symbolic link is followed only out of a directory that passes the rule (its
 *     target is then walked by the same rule): nobody but root can have put it there.
 *     A path rotsec writes (RS_TRUST_WRITE) has no symbolic link at all.
 *
 * The walk starts at "/" and opens one component at a time with O_NOFOLLOW, checking each
 * on the descriptor it holds (fstat), so what is checked is what is used: a caller reads,
 * creates or renames relative to the descriptor returned, never through the path again,
 * and a component swapped after the check cannot redirect it.
 *
 * Every function returns a descriptor or 0, or a negative errno: -EPERM unsafe, -ENOENT
 * missing, -EACCES no permission, -ENOTDIR, -EISDIR (not a regular file), -ELOOP, -EINVAL not
 * absolute. `why` receives one sentence naming the path at fault and, for an unsafe one, the fix:
 * "/etc/rotsec/keys is writable by group or others (mode 0775): chmod go-w
 * /etc/rotsec/keys".
 */
#ifndef ROTSEC_TRUST_H
#define ROTSEC_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "why.h"

enum {
	/* A path rotsec writes: a symbolic link anywhere on it is refused, not followed. */
	RS_TRUST_WRITE = 1,
	/* Files and directories of the caller's own uid are trusted like root's: an
	 * unprivileged `rotsecctl check` of a config of its own can do nothing root could
	 * not. The same as without it when the caller is root. */
	RS_TRUST_SELF = 2,
	/* With RS_TRUST_WRITE, for a directory: make the missing directories of the path,
	 * root's, the last one with rs_trust.mode and those above it 0755. */
	RS_TRUST_MKDIR = 4,
};

struct rs_trust {
	unsigned flags;   /* RS_TRUST_* */
	uid_t last_owner; /* the last directory may be this uid's too (a delivery's owner;
	                   * 0: root's only) */
	mode_t mode;      /* RS_TRUST_MKDIR: of the last directory when it is made */
	struct stat st;   /* out: of what was opened */
	bool made;        /* out: RS_TRUST_MKDIR made the last directory */
};

/* Directory `path`, opened O_RDONLY|O_DIRECTORY|O_CLOEXEC. The last directory is never
 * writable by group or others, sticky or not. */
int rs_trust_dir(const char *path, struct rs_trust *t, char *why, size_t whylen);

/* The directory of the file `path` (as rs_trust_dir), and in *name the file's name,
 * which points into `path`: a file rotsec makes or replaces there, relative to the fd. */
int rs_trust_parent(const char *path, struct rs_trust *t, const char **name, char *why,
                    size_t whylen);

/* Regular file `path`, an input, opened O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC. */
int rs_trust_file(const char *path, struct rs_trust *t, char *why, size_t whylen);

/* What a file of the rule must be, for a caller that opened it itself (the store reader,
 * with O_NOFOLLOW in a directory rs_trust_dir opened): a regular file (-EISDIR otherwise)
 * of root's, not writable by group or others. `fd` (any kind, O_PATH too) and its fstat. */
int rs_trust_file_ok(int fd, const struct stat *st, unsigned flags, const char *path, char *why,
                     size_t whylen);

/* The regular file `path` alone by the rule (rs_trust_file_ok), opened as rs_trust_file
 * opens one, its directories not walked and a symbolic link followed: for a file a user
 * keeps for a command it runs itself (the fleet consumer's settings), in directories that
 * are that user's business. Never for an input of root's. */
int rs_trust_file_only(const char *path, unsigned flags, char *why, size_t whylen);

/* A descriptor of rs_trust_file's (or one its caller checked with rs_trust_file_ok) as a
 * stdio stream for reading, which then owns it: 0 and *f, or -errno with why and fd
 * closed. A negative fd is returned as it is, with the why its opener wrote:
 * rs_trust_stream(rs_trust_file(path, ...), path, &f, ...) reads a file of the rule. */
int rs_trust_stream(int fd, const char *path, FILE **f, char *why, size_t whylen);

/* The program `path` as execve(2) would run it: a regular file that someone may execute,
 * and for a script the interpreter of its "#!" line, by the same rule. 0 when it is
 * safe to run; -EACCES when it is not executable. */
int rs_trust_exec(const char *path, unsigned flags, char *why, size_t whylen);

#endif
