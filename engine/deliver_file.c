/*
 * File delivery (ARCHITECTURE.md, contract §6): the secret and "\n" replace the destination file
 * atomically, by the recipe of the store (temp file in the same directory with owner and mode set
 * before content, fsync, rename, fsync of the directory). The sealed kind writes its box
 * the same way (deliver_write).
 */
#define _GNU_SOURCE
#include "deliver.h"
#include "deliver_int.h"
#include "safefile.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Replace `path` with `len` bytes owned by uid:gid with `mode`, atomically.
 *
 * The directory is a path rotsec writes (trust.h): walked from / one component at a time
 * without following any link, every directory above it root's and not writable by group
 * or others (sticky ones excepted, over an entry of root's), and the directory itself
 * owned by root or by the file's owner and writable by nobody else. Anyone else who could
 * write there could swap the file for their own between deliveries. The temp file is
 * made, renamed and fsync'ed relative to the directory fd the walk checked, never through
 * the path again: a component swapped for a link after the check (by the owner of the
 * directory, say) changes nothing about where the secret goes.
 */
static int write_file(const char *path, const void *buf, size_t len, uid_t uid, gid_t gid,
                      mode_t mode, char *why, size_t whylen)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE, .last_owner = uid};
	struct rs_atomic a = {.dirfd = -1, .fd = -1};
	const char *name;
	struct stat st;
	bool begun = false;
	int dirfd = -1, r;

	if ((r = dirfd = rs_trust_parent(path, &t, &name, why, whylen)) < 0)
		goto out;

	/* rename() would replace a symlink (or a FIFO, a directory...) at the destination
	 * without writing through it, so this is not what keeps the secret safe. But whoever
	 * put a link there expected writes to go elsewhere: say so instead of silently
	 * breaking their setup. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			rs_set_why(why, whylen, "%s is a symbolic link; refusing to replace it",
			           path);
			r = -EPERM;
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			rs_set_why(why, whylen, "%s is not a regular file; refusing to replace it",
			           path);
			r = -EPERM;
			goto out;
		}
	} else if (errno != ENOENT) {
		r = -errno;
		rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
		goto out;
	}

	begun = true;
	if ((r = rs_atomic_begin(&a, dirfd, name, mode, uid, gid)) < 0)
		goto out;
	if ((r = rs_atomic_write(&a, buf, len)) < 0)
		goto out;
	r = rs_atomic_commit(&a);
out:
	if (begun) {
		if (r < 0)
			rs_set_why(why, whylen, "cannot write %s: %s", path, strerror(-r));
		/* Removes the temp file after any failure; a no-op once committed. */
		rs_atomic_abort(&a);
	}
	if (dirfd >= 0)
		close(dirfd);
	return r < 0 ? r : 0;
}

/* Checked again here, though config validation refuses the same, because this is the last
 * place that can stop a secret from going where others can reach it. */
int deliver_dest_ok(const struct rs_delivery *d, char *why, size_t whylen)
{
	bool sealed = d->kind == RS_DELIVER_SEALED;

	if (!d->file) {
		rs_set_why(why, whylen, "%s delivery without a file", sealed ? "sealed" : "file");
		return -EINVAL;
	}
	/* A plaintext must not be readable by others. A sealed box may be world-readable,
	 * but not writable by group or others: it does not say who sealed it, so anyone able
	 * to replace the file could hand the consumer a secret of their choosing. */
	if (!sealed && (d->mode & 0007)) {
		rs_set_why(
		        why, whylen,
		        "refusing to write the secret to %s with mode %04o: others could read it",
		        d->file, (unsigned)d->mode);
		return -EPERM;
	}
	if (sealed && (d->mode & 0022)) {
		rs_set_why(why, whylen,
		           "refusing to write %s with mode %04o: group or others could replace it",
		           d->file, (unsigned)d->mode);
		return -EPERM;
	}
	if (d->mode & ~(mode_t)0777) {
		rs_set_why(why, whylen, "mode %04o for %s has bits beyond the permissions",
		           (unsigned)d->mode, d->file);
		return -EINVAL;
	}
	return 0;
}

int deliver_write(const struct rs_delivery *d, const void *buf, size_t len, char *why,
                  size_t whylen)
{
	return write_file(d->file, buf, len, d->uid, d->gid, d->mode, why, whylen);
}

int deliver_file(const struct rs_delivery *d, const struct rs_secret *secret, char *why,
                 size_t whylen)
{
	struct rs_secret line = {0};
	int r;

	if ((r = deliver_dest_ok(d, why, whylen)) < 0)
		goto out;
	if ((r = deliver_secret_line(secret, &line, why, whylen)) < 0)
		goto out;
	r = deliver_write(d, line.buf, line.len, why, whylen);
out:
	rs_secret_free(&line);
	return r;
}
