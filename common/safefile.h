/*
 * Safe file access: the checks every reader applies before trusting a store file, and the
 * crash-safe write recipe every writer uses.
 *
 * The path checks are the trust rule of trust.h, the one rule for every path that decides
 * what root reads, runs or writes: the file is a regular file owned by root and not
 * writable by group or others, in a directory, under ancestors, that are root's and not
 * writable by group or others (sticky directories such as /tmp excepted for ancestors,
 * when the entry below is root's), reached through no symbolic link that anyone but root
 * could have planted.
 *
 * All functions return 0 or a negative errno. Where a `why` buffer is passed it receives
 * one human sentence for the log ("/var/lib/rotsec/secrets.cdb is writable by group or
 * others (mode 0664): chmod go-w /var/lib/rotsec/secrets.cdb").
 */
#ifndef ROTSEC_SAFEFILE_H
#define ROTSEC_SAFEFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "why.h"

/*
 * Open directory `path` with O_DIRECTORY|O_CLOEXEC after checking it and every ancestor
 * by the trust rule (rs_trust_dir, following only links the rule allows). Returns the fd
 * (>= 0) or a negative errno:
 * -ENOENT missing, -EACCES permission, -EPERM unsafe (why says which part).
 * `owner` is the uid the final directory may be owned by besides root (pass 0 for root only).
 */
int rs_open_safe_dir(const char *path, uid_t owner, char *why, size_t whylen);

/*
 * Open `name` inside the pinned directory `dirfd` read-only with O_NOFOLLOW|O_CLOEXEC and
 * check that it is a regular root-owned file, not writable by group or others, and not
 * larger than `max_size`. On success *st holds its fstat. -ENOENT, -EACCES, -EPERM
 * (unsafe), -EFBIG (too large) otherwise. `label` names the file in `why`.
 */
int rs_open_safe_file(int dirfd, const char *name, const char *label, off_t max_size,
                      struct stat *st, char *why, size_t whylen);

/* Exclusive lock on `name` in `dirfd` (created 0600), waiting up to timeout_ms.
 * Returns the lock fd, or -ETIMEDOUT, or another negative errno. Close the fd to unlock. */
int rs_lock(int dirfd, const char *name, int timeout_ms);

/*
 * Atomic replacement of one file in a pinned directory:
 *   begin  - temp file ".NAME.XXXXXX" with O_EXCL|O_NOFOLLOW|O_CLOEXEC, owner and mode set
 *            before any content is written, so the secret never exists with a wider mode;
 *   write  - every write checked, short writes continued, EINTR retried;
 *   commit - fsync the file, rename over NAME, fsync the directory;
 *   abort  - unlink the temp file.
 * After a failed begin/write/commit call abort; after commit succeeds abort is a no-op.
 * A crash at any point leaves either the old file or the new one under NAME, never a
 * partial one; a stale temp file may remain after SIGKILL and is harmless (dotfile, not
 * read by anything; the next writer removes stale temp files of the same NAME).
 */
struct rs_atomic {
	int dirfd;
	int fd;
	char name[256];
	char tmp[280];
	int committed;
	int nodirsync; /* RS_ATOMIC_NODIRSYNC */
};

int rs_atomic_begin(struct rs_atomic *a, int dirfd, const char *name, mode_t mode, uid_t uid,
                    gid_t gid);
int rs_atomic_write(struct rs_atomic *a, const void *buf, size_t len);
int rs_atomic_commit(struct rs_atomic *a);
void rs_atomic_abort(struct rs_atomic *a);

/* Remove temp files that a killed writer of dirfd/NAME left behind. The caller must hold
 * whatever lock serializes writers of NAME, or it could remove a live writer's file. */
void rs_atomic_cleanup(int dirfd, const char *name);

/* Write a whole buffer to fd: short writes continued, EINTR retried. 0 or -errno. */
int rs_write_all(int fd, const void *buf, size_t len);

/* Convenience: replace dirfd/name with `len` bytes atomically, in one call. */
int rs_atomic_replace(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                      uid_t uid, gid_t gid);

/* rs_atomic_replace without the rs_atomic_cleanup scan of the whole directory, for a
 * caller that has already removed the stale temp files of NAME (under the same lock) in
 * this operation: a scan per write makes writing one file for each of N accounts in a
 * directory of N files quadratic. */
int rs_atomic_replace_noscan(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                             uid_t uid, gid_t gid);

/* Flags of rs_atomic_replace_flags. */
enum {
	/* No rs_atomic_cleanup scan (rs_atomic_replace_noscan). */
	RS_ATOMIC_NOSCAN = 1,
	/* The caller holds the lock that every writer of NAME takes (a journal under its
	 * account's lock): the temp file has the one name ".NAME.locked", and a file of that
	 * name left by a killed writer is removed first, instead of scanning the directory
	 * for random ones. */
	RS_ATOMIC_LOCKED = 2,
	/* No fsync of the directory after the rename. The new content is on disk before the
	 * rename (the file is fsync'ed), so a crash leaves NAME whole, old or new; but the
	 * rename itself may be undone. Only for a file whose previous content the caller can
	 * resume from as well (the journal's bookkeeping after deliveries, which are redone). */
	RS_ATOMIC_NODIRSYNC = 4,
};
#define RS_ATOMIC_LOCKED_SUFFIX "locked"

/* rs_atomic_replace with RS_ATOMIC_* flags. */
int rs_atomic_replace_flags(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                            uid_t uid, gid_t gid, unsigned flags);

#endif
