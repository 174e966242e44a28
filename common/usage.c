#define _GNU_SOURCE
#include "usage.h"
#include "fault.h"
#include "names.h"
#include "safefile.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USAGE_MAX 1024

static void clean_field(char *dst, const char *src)
{
	size_t i = 0;

	for (; src && *src && i < RS_USAGE_FIELD - 1; src++) {
		unsigned char c = (unsigned char)*src;

		dst[i++] = (c <= 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	if (i == 0)
		dst[i++] = '-';
	dst[i] = '\0';
}

static int parse(const char *buf, struct rs_usage *u)
{
	int n, end = -1;

	memset(u, 0, sizeof(*u));
	n = sscanf(buf,
	           "rotsec-usage 1\ngeneration %" SCNu64 "\ncurrent %" SCNu64 " %" SCNd64
	           " %" SCNd64 "\nprevious %" SCNu64 " %" SCNd64 " %" SCNd64 "\ntripwire %" SCNu64
	           " %" SCNd64 "\nlast %15s %" SCNd64 " %63s %63s %63s\n%n",
	           &u->generation, &u->current_count, &u->current_first, &u->current_last,
	           &u->previous_count, &u->previous_first, &u->previous_last, &u->tripwire_count,
	           &u->tripwire_last, u->last_secret, &u->last_time, u->service, u->rhost, u->ruser,
	           &end);
	/* The whole record, nothing after it: %63s stops after 63 bytes without needing a
	 * space, so a longer (damaged) field would otherwise spill into the next one. */
	return n == 14 && end >= 0 && buf[end] == '\0' ? 0 : -EPROTO;
}

/*
 * The record is rewritten in place by root (pam_rotsec inside sshd, su...), so where it
 * lives must be out of other users' reach: in a directory they could write to, a hard
 * link or a FIFO planted under NAME.usage would make that root process truncate some
 * other file or hang. The run dir is therefore a path rotsec writes (trust.h: walked
 * without following links, every directory root's, or ours, and not writable by group or
 * others), and the record a regular file with a single link.
 */
static int open_record(const char *run_dir, const char *file, int flags, int *dirfd_out)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_SELF};
	struct stat st;
	int dirfd, fd = -1, r;

	*dirfd_out = -1;
	dirfd = rs_trust_dir(run_dir, &t, NULL, 0);
	if (dirfd < 0)
		return dirfd;
	/* O_NONBLOCK: opening a FIFO must not block; it is refused below. */
	fd = openat(dirfd, file, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		r = -EPERM;
		goto out;
	}
	/* Both descriptors are the caller's now. */
	*dirfd_out = dirfd;
	dirfd = -1;
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* NAME.usage for an account name, the only names a record may have but the dummy's. */
static int record_file(const char *name, char file[RS_NAME_MAX + 8])
{
	if (!rs_name_valid(name))
		return -EINVAL;
	(void)snprintf(file, RS_NAME_MAX + 8, "%s.usage", name);
	return 0;
}

enum use_kind { USE_CURRENT, USE_PREVIOUS, USE_TRIPWIRE };

/*
 * How long a login waits for the record's lock before giving up on recording. Never
 * block for good: a flock belongs to the open file, and a process that forked while
 * one of its threads held it leaves the child sharing that open file, so the lock can
 * outlive the thread for as long as the child lives. The child's own next login would
 * then wait on itself forever, and a stuck reader would hang every login. Losing one
 * usage record is the price, as recording never decides a login.
 */
#define USAGE_LOCK_WAIT_MS 250

static int lock_bounded(int fd, int op)
{
	const struct timespec pause = {0, 5L * 1000 * 1000};
	int waited = 0;

	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (waited >= USAGE_LOCK_WAIT_MS)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
		waited += 5;
	}
	return 0;
}

/* The same bound for readers: rotsecd and `rotsecctl status` must not hang on a lock
 * that a forked child of some login inherited. */
int rs_usage_read(const char *run_dir, const char *name, struct rs_usage *u)
{
	char buf[USAGE_MAX + 1], file[RS_NAME_MAX + 8];
	ssize_t n;
	int dirfd, fd, r;

	if ((r = record_file(name, file)) < 0)
		return r;
	if ((fd = open_record(run_dir, file, O_RDONLY, &dirfd)) < 0)
		return fd;
	if ((r = lock_bounded(fd, LOCK_SH)) < 0)
		goto out;
	if ((n = pread(fd, buf, USAGE_MAX, 0)) < 0) {
		r = -errno;
		goto out;
	}
	buf[n] = '\0';
	r = parse(buf, u);
out:
	close(fd);
	close(dirfd);
	return r;
}

/*
 * Every login that reaches a verdict rewrites one record, so this is on the path of every
 * login: a few system calls on a tmpfs, no more. The run dir is made only when opening it
 * says it is missing, and the record is overwritten in place, cut only when it shrank:
 * truncating to 0 first would free the file's page and allocate a new one every time
 * (and on ext4 would flush the file at close, auto_da_alloc). Readers take the shared
 * lock, so they never see a record half rewritten.
 */
static int update(const char *run_dir, const char *file, uint64_t generation, enum use_kind kind,
                  int64_t now, const char *service, const char *rhost, const char *ruser)
{
	struct rs_usage u;
	struct rlimit fsize;
	char buf[USAGE_MAX + 1];
	ssize_t n;
	int dirfd, fd, r, len;

	/* The caller's RLIMIT_FSIZE (whoever starts su sets it, and may ignore SIGXFSZ)
	 * would cut the rewrite short: a torn record, or none. Refused before anything is
	 * touched, so that the caller can tell (auth.c) and the record stays whole. */
	if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
	    fsize.rlim_cur < USAGE_MAX)
		return -EFBIG;
	fd = open_record(run_dir, file, O_RDWR | O_CREAT, &dirfd);
	if (fd == -ENOENT) {
		struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_SELF | RS_TRUST_MKDIR,
		                     .mode = 0700};

		if ((r = rs_trust_dir(run_dir, &t, NULL, 0)) < 0)
			return r;
		close(r);
		fd = open_record(run_dir, file, O_RDWR | O_CREAT, &dirfd);
	}
	if (fd < 0)
		return fd;
	if ((r = lock_bounded(fd, LOCK_EX)) < 0)
		goto out;
	/* Where a test stops a login holding the lock, as a user stopping it could. */
	RS_FAULT_STOP("usage.locked");
	n = pread(fd, buf, USAGE_MAX, 0);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	buf[n] = '\0';
	/* A damaged record starts over, and a new generation restarts the login counters: they
	 * are "since the last rotation". Tripwire hits are kept across rotations. Losing
	 * statistics never matters more than the login. */
	if (parse(buf, &u) < 0) {
		memset(&u, 0, sizeof(u));
		u.generation = generation;
	} else if (u.generation != generation) {
		uint64_t hits = u.tripwire_count;
		int64_t hit_last = u.tripwire_last;

		memset(&u, 0, sizeof(u));
		u.generation = generation;
		u.tripwire_count = hits;
		u.tripwire_last = hit_last;
	}
	switch (kind) {
	case USE_PREVIOUS:
		u.previous_count++;
		u.previous_first = u.previous_first ? u.previous_first : now;
		u.previous_last = now;
		break;
	case USE_CURRENT:
		u.current_count++;
		u.current_first = u.current_first ? u.current_first : now;
		u.current_last = now;
		break;
	case USE_TRIPWIRE:
		u.tripwire_count++;
		u.tripwire_last = now;
		break;
	}
	(void)snprintf(u.last_secret, sizeof(u.last_secret), "%s",
	               kind == USE_PREVIOUS  ? "previous"
	               : kind == USE_CURRENT ? "current"
	                                     : "revoked");
	u.last_time = now;
	clean_field(u.service, service);
	clean_field(u.rhost, rhost);
	clean_field(u.ruser, ruser);
	len = snprintf(buf, sizeof(buf),
	               "rotsec-usage 1\ngeneration %" PRIu64 "\ncurrent %" PRIu64 " %" PRId64
	               " %" PRId64 "\nprevious %" PRIu64 " %" PRId64 " %" PRId64
	               "\ntripwire %" PRIu64 " %" PRId64 "\nlast %s %" PRId64 " %s %s %s\n",
	               u.generation, u.current_count, u.current_first, u.current_last,
	               u.previous_count, u.previous_first, u.previous_last, u.tripwire_count,
	               u.tripwire_last, u.last_secret, u.last_time, u.service, u.rhost, u.ruser);
	if (len < 0 || len >= (int)sizeof(buf)) {
		r = -EOVERFLOW;
		goto out;
	}
	/* pread left the offset at 0: the new record over the old one, then cut what is
	 * left of the old one when the new one is shorter (a new generation). */
	if ((r = rs_write_all(fd, buf, (size_t)len)) < 0)
		goto out;
	if (n > len && ftruncate(fd, len) < 0)
		r = -errno;
out:
	close(fd);
	close(dirfd);
	return r;
}

int rs_usage_record(const char *run_dir, const char *name, uint64_t generation, int previous,
                    int64_t now, const char *service, const char *rhost, const char *ruser)
{
	char file[RS_NAME_MAX + 8];
	int r;

	if ((r = record_file(name, file)) < 0)
		return r;
	return update(run_dir, file, generation, previous ? USE_PREVIOUS : USE_CURRENT, now,
	              service, rhost, ruser);
}

int rs_usage_tripwire(const char *run_dir, const char *name, uint64_t generation, int64_t now,
                      const char *service, const char *rhost, const char *ruser)
{
	char file[RS_NAME_MAX + 8];
	int r;

	if ((r = record_file(name, file)) < 0)
		return r;
	return update(run_dir, file, generation, USE_TRIPWIRE, now, service, rhost, ruser);
}

int rs_usage_dummy(const char *run_dir, int64_t now, const char *service, const char *rhost,
                   const char *ruser)
{
	/* Exactly the update of an account's record, counters and all, of a file that no
	 * account name can clash with (names never start with a dot). */
	return update(run_dir, RS_USAGE_DUMMY_FILE, 1, USE_CURRENT, now, service, rhost, ruser);
}

int rs_usage_remove(const char *run_dir, const char *name)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | RS_TRUST_SELF};
	char file[RS_NAME_MAX + 8];
	int dirfd, r;

	if ((r = record_file(name, file)) < 0)
		return r;
	if ((dirfd = rs_trust_dir(run_dir, &t, NULL, 0)) < 0)
		return dirfd;
	r = unlinkat(dirfd, file, 0) < 0 && errno != ENOENT ? -errno : 0;
	close(dirfd);
	return r;
}
