/*
 * The trust rule's walk (trust.h says the rule). Linked into the NSS module as well: libc
 * only, and no lookup of user names (getpwuid could recurse into NSS, into this module).
 */
#define _GNU_SOURCE
#include "trust.h"
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

/* As the kernel's own limits: 40 links in one lookup, 4 interpreters in a row. */
#define MAX_LINKS        40
#define MAX_INTERPRETERS 4
#define FUSE_MAGIC       0x65735546

enum want { WANT_DIR, WANT_FILE, WANT_EXEC };

struct walk {
	unsigned flags;
	uid_t last_owner;
	enum want want;
	int fd;              /* O_PATH: the directory reached, checked */
	struct stat st;      /* its fstat */
	char at[PATH_MAX];   /* its path, for messages */
	char rest[PATH_MAX]; /* what is left to walk */
	unsigned links;
};

static bool trusted(const struct walk *w, uid_t uid)
{
	return uid == 0 || ((w->flags & RS_TRUST_SELF) && uid == geteuid());
}

static bool others_write(const struct stat *st)
{
	return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/*
 * "; an ACL lets uid 1000 write it" when a POSIX ACL is why the group bits show write:
 * with an ACL those bits are its mask, and `ls -l` shows the group's own permission
 * nowhere. Best effort, for the message only: the mode alone already decides (a named
 * entry writes only through the mask). The ACL is read through /proc, as an O_PATH
 * descriptor has no xattr calls; without /proc the note is left out.
 */
static void acl_note(int fd, char *note, size_t len)
{
	unsigned char buf[8 * 32 + 4];
	char proc[64];
	ssize_t n;

	note[0] = '\0';
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = getxattr(proc, "system.posix_acl_access", buf, sizeof(buf));
	if (n < 4)
		return;
	/* Little-endian: a version word, then entries of tag (16 bits), permissions (16)
	 * and id (32). ACL_USER is 0x02, ACL_GROUP 0x08; write is 2. */
	for (ssize_t i = 4; i + 8 <= n; i += 8) {
		unsigned tag = buf[i] | (unsigned)buf[i + 1] << 8;
		unsigned perm = buf[i + 2] | (unsigned)buf[i + 3] << 8;
		uint32_t id = buf[i + 4] | (uint32_t)buf[i + 5] << 8 | (uint32_t)buf[i + 6] << 16 |
		              (uint32_t)buf[i + 7] << 24;

		if ((tag == 0x02 || tag == 0x08) && (perm & 2)) {
			(void)snprintf(note, len, "; an ACL lets %s %u write it",
			               tag == 0x02 ? "uid" : "gid", (unsigned)id);
			return;
		}
	}
}

static int refuse_writable(int fd, const struct stat *st, const char *path, char *why,
                           size_t whylen)
{
	char note[64];

	acl_note(fd, note, sizeof(note));
	rs_set_why(why, whylen, "%s is writable by group or others (mode %04o%s): chmod go-w %s",
	           path, (unsigned)(st->st_mode & 07777), note, path);
	return -EPERM;
}

static int refuse_owner(const struct stat *st, const char *path, char *why, size_t whylen)
{
	rs_set_why(why, whylen, "%s is not owned by root (uid %u): chown %sroot %s", path,
	           (unsigned)st->st_uid, S_ISLNK(st->st_mode) ? "-h " : "", path);
	return -EPERM;
}

/* A directory the walk passes through: root's, and not writable by others unless
 * sticky (the entry below is then checked by entry_ok). */
static int check_ancestor(const struct walk *w, int fd, const struct stat *st, const char *path,
                          char *why, size_t whylen)
{
	if (!S_ISDIR(st->st_mode)) {
		rs_set_why(why, whylen, "%s is not a directory", path);
		return -ENOTDIR;
	}
	if (!trusted(w, st->st_uid))
		return refuse_owner(st, path, why, whylen);
	if (others_write(st) && !(st->st_mode & S_ISVTX))
		return refuse_writable(fd, st, path, why, whylen);
	return 0;
}

/* The directory the path names: root's (or last_owner's), writable by nobody else,
 * sticky or not: anything rotsec reads from it or writes into it is named there. */
static int check_last_dir(const struct walk *w, const char *path, char *why, size_t whylen)
{
	const struct stat *st = &w->st;

	if (!S_ISDIR(st->st_mode)) {
		rs_set_why(why, whylen, "%s is not a directory", path);
		return -ENOTDIR;
	}
	if (!trusted(w, st->st_uid) && !(w->last_owner && st->st_uid == w->last_owner))
		return refuse_owner(st, path, why, whylen);
	if (others_write(st))
		return refuse_writable(w->fd, st, path, why, whylen);
	return 0;
}

/* An entry in a directory others may write (sticky, or check_ancestor refused it): only
 * an entry of root's is out of their reach. `dir_last` says the entry is the last
 * directory of the path, which may be last_owner's. */
static int entry_ok(const struct walk *w, const struct stat *st, bool dir_last, const char *path,
                    char *why, size_t whylen)
{
	if (!others_write(&w->st))
		return 0;
	/* A second name for a file of root's, made here by someone else (where
	 * fs.protected_hardlinks is off): root's content, but their choice of which. */
	if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
		rs_set_why(why, whylen,
		           "%s has %lu hard links and is in %s, which others can write: anyone "
		           "could have linked it there; copy it to a directory of root's",
		           path, (unsigned long)st->st_nlink, w->at);
		return -EPERM;
	}
	if (trusted(w, st->st_uid))
		return 0;
	if (dir_last && w->last_owner && st->st_uid == w->last_owner)
		return 0;
	refuse_owner(st, path, why, whylen);
	/* Say why an owner matters here: the directory is one others may write. */
	if (why && whylen > strlen(why) + 1) {
		size_t n = strlen(why);

		(void)snprintf(why + n, whylen - n, " (it is in %s, which others can write)",
		               w->at);
	}
	return -EPERM;
}

/* A FUSE file system says whatever its server wants about owners and modes, and its
 * server may be any user who could mount one on a directory of their own. */
static int not_fuse(int fd, const struct stat *parent, const struct stat *st, const char *path,
                    char *why, size_t whylen)
{
	struct statfs sfs;

	if (parent->st_dev == st->st_dev)
		return 0;
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == FUSE_MAGIC) {
		rs_set_why(why, whylen,
		           "%s is on a FUSE file system, whose owners and modes its server makes "
		           "up",
		           path);
		return -EPERM;
	}
	return 0;
}

/* dir/name into out. */
static int join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int enter_root(struct walk *w, char *why, size_t whylen)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	(void)snprintf(w->at, sizeof(w->at), "/");
	if (fstat(fd, &w->st) < 0)
		return -errno;
	return check_ancestor(w, fd, &w->st, "/", why, whylen);
}

/* Make directory `name` in the walk's directory: root's, `mode` exactly, whatever the
 * umask or a setgid parent would give it. Made 0700 first, so it is never wider. */
static int make_dir(struct walk *w, const char *name, mode_t mode, bool *made)
{
	int fd, r = 0;

	*made = false;
	if (mkdirat(w->fd, name, 0700) < 0)
		return errno == EEXIST ? 0 : -errno; /* made meanwhile: checked as found */
	*made = true;
	fd = openat(w->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((geteuid() == 0 && fchown(fd, 0, 0) < 0) || fchmod(fd, mode) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Put the target of the link before what is left of the path. */
static int splice_link(struct walk *w, int lfd, const char *left, const char *path, char *why,
                       size_t whylen)
{
	char target[PATH_MAX], joined[PATH_MAX];
	ssize_t n;
	int len;

	if (++w->links > MAX_LINKS) {
		rs_set_why(why, whylen, "%s: too many levels of symbolic links", path);
		return -ELOOP;
	}
	n = readlinkat(lfd, "", target, sizeof(target));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target) || n == 0)
		return -ENAMETOOLONG;
	target[n] = '\0';
	len = snprintf(joined, sizeof(joined), "%s/%s", target, left);
	if (len < 0 || (size_t)len >= sizeof(joined))
		return -ENAMETOOLONG;
	memcpy(w->rest, joined, (size_t)len + 1);
	if (target[0] == '/')
		return enter_root(w, why, whylen);
	return 0;
}

/*
 * Walk `path`. For WANT_DIR the walk's own fd is the result (w->fd, w->st); for a file,
 * *out is an O_PATH fd of it and w->fd its directory. `mkmode` > 0: RS_TRUST_MKDIR for the
 * last directory, *made says whether it was made.
 */
static int walk(struct walk *w, const char *path, mode_t mkmode, int *out, bool *made, char *why,
                size_t whylen)
{
	char *p, here[PATH_MAX];
	int r;

	*out = -1;
	*made = false;
	if (!path || path[0] != '/') {
		rs_set_why(why, whylen, "%s is not an absolute path", path ? path : "(null)");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(w->rest)) {
		rs_set_why(why, whylen, "%.64s...: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(w->rest, path, strlen(path) + 1);
	if ((r = enter_root(w, why, whylen)) < 0)
		return r;

	for (p = w->rest;;) {
		char comp[NAME_MAX + 1];
		struct stat st;
		size_t clen;
		bool last;
		int nfd;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		clen = strcspn(p, "/");
		if (clen > NAME_MAX) {
			rs_set_why(why, whylen, "%s: a name longer than %d bytes", path, NAME_MAX);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		p += clen;
		last = p[strspn(p, "/")] == '\0';
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash;

			if (w->flags & RS_TRUST_WRITE) {
				rs_set_why(why, whylen,
				           "%s: a path rotsec writes must not contain \"..\"",
				           path);
				return -EINVAL;
			}
			nfd = openat(w->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (nfd < 0)
				return -errno;
			close(w->fd);
			w->fd = nfd;
			slash = strrchr(w->at, '/');
			if (slash && slash != w->at)
				*slash = '\0';
			else
				(void)snprintf(w->at, sizeof(w->at), "/");
			if (fstat(nfd, &w->st) < 0)
				return -errno;
			if ((r = check_ancestor(w, nfd, &w->st, w->at, why, whylen)) < 0)
				return r;
			continue;
		}
		if ((r = join(here, sizeof(here), w->at, comp)) < 0) {
			rs_set_why(why, whylen, "%s: path too long", path);
			return r;
		}

		nfd = openat(w->fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && (w->flags & RS_TRUST_MKDIR) &&
		    (w->flags & RS_TRUST_WRITE) && w->want == WANT_DIR) {
			bool mine;

			if ((r = make_dir(w, comp, last ? mkmode : 0755, &mine)) < 0) {
				rs_set_why(why, whylen, "cannot create %s: %s", here, strerror(-r));
				return r;
			}
			*made = last && mine;
			nfd = openat(w->fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			r = -errno;
			rs_set_why(why, whylen, "%s: %s", here, strerror(-r));
			return r;
		}
		if (fstat(nfd, &st) < 0) {
			r = -errno;
			close(nfd);
			return r;
		}
		r = entry_ok(w, &st, last && w->want == WANT_DIR && S_ISDIR(st.st_mode), here, why,
		             whylen);
		if (r == 0 && S_ISLNK(st.st_mode) && (w->flags & RS_TRUST_WRITE)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(nfd, "", target, sizeof(target) - 1);

			target[n > 0 ? n : 0] = '\0';
			rs_set_why(why, whylen,
			           "%s is a symbolic link (to %s): a path rotsec writes is not "
			           "followed through links; name the real directory",
			           here, target);
			r = -EPERM;
		}
		if (r == 0 && S_ISLNK(st.st_mode)) {
			/* Out of a directory that passed: its target is walked the same way. */
			r = splice_link(w, nfd, p, here, why, whylen);
			close(nfd);
			if (r < 0)
				return r;
			p = w->rest;
			continue;
		}
		if (r == 0)
			r = not_fuse(nfd, &w->st, &st, here, why, whylen);
		if (r == 0 && S_ISDIR(st.st_mode) && (!last || w->want == WANT_DIR)) {
			/* The last directory gets the stricter check below, once the path
			 * is used up (a trailing "." or ".." may still follow). */
			if (!last)
				r = check_ancestor(w, nfd, &st, here, why, whylen);
			if (r == 0) {
				close(w->fd);
				w->fd = nfd;
				w->st = st;
				memcpy(w->at, here, strlen(here) + 1);
				continue;
			}
		}
		if (r == 0 && (!last || w->want == WANT_DIR)) {
			rs_set_why(why, whylen, "%s is not a directory", here);
			r = -ENOTDIR;
		}
		if (r < 0) {
			close(nfd);
			return r;
		}
		/* The last component, and a file is wanted. */
		*out = nfd;
		w->st = st;
		memcpy(w->at, here, strlen(here) + 1);
		return 0;
	}
	if (w->want != WANT_DIR) {
		rs_set_why(why, whylen, "%s is a directory", w->at);
		return -EISDIR;
	}
	return check_last_dir(w, w->at, why, whylen);
}

static void walk_init(struct walk *w, const struct rs_trust *t, enum want want)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->want = want;
	w->flags = t ? t->flags : 0;
	w->last_owner = t ? t->last_owner : 0;
}

/* "trust.walked:PATH": where a test stops a writer (ROTSEC_FAULT_STOP) between the
 * check and the use, to swap a component under it as another user could. */
static void stop_walked(const char *path)
{
#ifdef ROTSEC_FAULTS
	char point[PATH_MAX + 16];

	(void)snprintf(point, sizeof(point), "trust.walked:%s", path);
	RS_FAULT_STOP(point);
#else
	(void)path;
#endif
}

int rs_trust_dir(const char *path, struct rs_trust *t, char *why, size_t whylen)
{
	struct walk w;
	bool made = false;
	int out, fd = -1, r;

	walk_init(&w, t, WANT_DIR);
	r = walk(&w, path, t ? t->mode : 0, &out, &made, why, whylen);
	if (r == 0 && t && (t->flags & RS_TRUST_WRITE))
		stop_walked(path);
	/* O_PATH descriptors cannot be read, fsync'ed or locked: reopen the pinned one. */
	if (r == 0 && (fd = openat(w.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
	}
	if (t) {
		t->st = w.st;
		t->made = made;
	}
	if (w.fd >= 0)
		close(w.fd);
	return r < 0 ? r : fd;
}

int rs_trust_parent(const char *path, struct rs_trust *t, const char **name, char *why,
                    size_t whylen)
{
	char dir[PATH_MAX];
	const char *slash = path ? strrchr(path, '/') : NULL;

	*name = NULL;
	if (!slash || path[0] != '/' || !slash[1] || strcmp(slash + 1, ".") == 0 ||
	    strcmp(slash + 1, "..") == 0 || strlen(slash + 1) > NAME_MAX) {
		rs_set_why(why, whylen, "%s is not an absolute file path", path ? path : "(null)");
		return -EINVAL;
	}
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*name = slash + 1;
	return rs_trust_dir(dir[0] ? dir : "/", t, why, whylen);
}

int rs_trust_file_ok(int fd, const struct stat *st, unsigned flags, const char *path, char *why,
                     size_t whylen)
{
	struct walk w = {.flags = flags};

	if (!S_ISREG(st->st_mode)) {
		rs_set_why(why, whylen, "%s is not a regular file", path);
		return -EISDIR;
	}
	if (!trusted(&w, st->st_uid))
		return refuse_owner(st, path, why, whylen);
	if (others_write(st))
		return refuse_writable(fd, st, path, why, whylen);
	return 0;
}

/* The file the walk found. */
static int check_file(const struct walk *w, int fd, char *why, size_t whylen)
{
	return rs_trust_file_ok(fd, &w->st, w->flags, w->at, why, whylen);
}

/* Open for reading what the walk found, and make sure it is what was checked: the
 * directory is root's, so only root could have swapped it, but say so if it happened. */
static int reopen(const struct walk *w, char *why, size_t whylen)
{
	const char *name = strrchr(w->at, '/') + 1;
	struct stat st;
	int fd, r;

	fd = openat(w->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		rs_set_why(why, whylen, "%s: %s", w->at, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != w->st.st_dev || st.st_ino != w->st.st_ino) {
		close(fd);
		rs_set_why(why, whylen, "%s changed while it was checked", w->at);
		return -EAGAIN;
	}
	return fd;
}

int rs_trust_file_only(const char *path, unsigned flags, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), r;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((r = rs_trust_file_ok(fd, &st, flags, path, why, whylen)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int rs_trust_stream(int fd, const char *path, FILE **f, char *why, size_t whylen)
{
	int r;

	*f = NULL;
	if (fd < 0)
		return fd;
	*f = fdopen(fd, "re");
	if (!*f) {
		r = -errno;
		close(fd);
		rs_set_why(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

int rs_trust_file(const char *path, struct rs_trust *t, char *why, size_t whylen)
{
	struct walk w;
	bool made;
	int pfd = -1, r;

	walk_init(&w, t, WANT_FILE);
	if ((r = walk(&w, path, 0, &pfd, &made, why, whylen)) < 0)
		goto out;
	if ((r = check_file(&w, pfd, why, whylen)) < 0)
		goto out;
	r = reopen(&w, why, whylen);
	if (r >= 0 && t)
		t->st = w.st;
out:
	if (pfd >= 0)
		close(pfd);
	if (w.fd >= 0)
		close(w.fd);
	return r;
}

/* The interpreter of a "#!" script in buf (n bytes), into interp; "" when it is none. */
static void interpreter(const char *buf, size_t n, char *interp, size_t len)
{
	size_t i = 2, j = 0;

	interp[0] = '\0';
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	while (i < n && j + 1 < len && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
	       buf[i] != '\0')
		interp[j++] = buf[i++];
	interp[j] = '\0';
}

static int exec_check(const char *path, unsigned flags, int depth, char *why, size_t whylen)
{
	struct rs_trust t = {.flags = flags & RS_TRUST_SELF};
	char buf[256], interp[PATH_MAX];
	struct walk w;
	bool made;
	ssize_t n;
	int pfd = -1, fd = -1, r;

	walk_init(&w, &t, WANT_EXEC);
	if ((r = walk(&w, path, 0, &pfd, &made, why, whylen)) < 0)
		goto out;
	if ((r = check_file(&w, pfd, why, whylen)) < 0)
		goto out;
	if (!(w.st.st_mode & 0111)) {
		rs_set_why(why, whylen, "%s is not executable (mode %04o): chmod +x %s", w.at,
		           (unsigned)(w.st.st_mode & 07777), w.at);
		r = -EACCES;
		goto out;
	}
	/* A script runs its interpreter with root's powers just as well. A program this
	 * caller cannot read (mode 0711, an unprivileged check) is judged by itself. */
	fd = reopen(&w, why, whylen);
	if (fd == -EACCES) {
		rs_set_why(why, whylen, "%s", "");
		r = 0;
		goto out;
	}
	if ((r = fd) < 0)
		goto out;
	n = read(fd, buf, sizeof(buf));
	interpreter(buf, n > 0 ? (size_t)n : 0, interp, sizeof(interp));
	r = 0;
	if (!interp[0])
		goto out;
	if (depth >= MAX_INTERPRETERS) {
		rs_set_why(why, whylen, "%s: too many levels of interpreters", path);
		r = -ELOOP;
	} else if (interp[0] != '/') {
		rs_set_why(why, whylen, "%s: its interpreter \"%s\" is not an absolute path", w.at,
		           interp);
		r = -EPERM;
	} else {
		r = exec_check(interp, flags, depth + 1, why, whylen);
		if (r < 0 && why && whylen > strlen(why) + 1) {
			size_t len = strlen(why);

			(void)snprintf(why + len, whylen - len, " (the interpreter of %s)", w.at);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	if (w.fd >= 0)
		close(w.fd);
	return r;
}

int rs_trust_exec(const char *path, unsigned flags, char *why, size_t whylen)
{
	return exec_check(path, flags, 0, why, whylen);
}
