/*
 * Delivery of a secret to one consumer: file, command or sealed file (deliver.h, DESIGN §5).
 *
 * Whatever the kind, the plaintext leaves this process through exactly one channel: the
 * bytes of a file created with its final owner and mode, or the stdin pipe of the command.
 * Never argv, the environment, a log line or `why`.
 */
#define _GNU_SOURCE
#include "deliver.h"
#include "safefile.h"
#include "sealed.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_TIMEOUT 30 /* seconds, when the config gave none */

/* The command's whole environment. A fixed PATH rather than the daemon's: what a command
 * finds must not depend on how rotsecd happened to be started. */
static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

static void __attribute__((format(printf, 3, 4)))
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* What the consumer reads: the secret and "\n", in one buffer so that it goes out in one
 * write. The copy lives in guarded memory and is wiped by rs_secret_free. */
static int secret_line(const struct rs_secret *s, struct rs_secret *line)
{
	int r = rs_secret_alloc(line, s->len + 1);

	if (r < 0)
		return r;
	memcpy(line->buf, s->buf, s->len);
	line->buf[s->len] = '\n';
	return 0;
}

/*
 * Replace `path` with `len` bytes owned by uid:gid with `mode`, atomically.
 *
 * The parent directory is opened through rs_open_safe_dir: every ancestor of its resolved
 * path is root-owned and not writable by group or others (sticky ones excepted), and the
 * directory itself is owned by root or by the file's owner and writable by nobody else.
 * Anyone else who could write there could swap the file for their own between deliveries.
 * Links in the directory's path are resolved first (/var/run -> /run is common) and the
 * resolved path is what gets checked; the walk then opens each component with O_NOFOLLOW,
 * so a link swapped in meanwhile makes the path unsafe instead of redirecting us, and the
 * directory fd we create, rename and fsync through is pinned.
 */
static int write_file(const char *path, const void *buf, size_t len, uid_t uid, gid_t gid,
                      mode_t mode, char *why, size_t whylen)
{
	char dir[PATH_MAX];
	const char *slash, *name;
	struct rs_atomic a = {.dirfd = -1, .fd = -1};
	struct stat st;
	bool begun = false;
	int dirfd = -1, r;

	slash = path ? strrchr(path, '/') : NULL;
	name = slash ? slash + 1 : "";
	if (!path || path[0] != '/' || !*name || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) >= sizeof(a.name) ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		set_why(why, whylen, "%s is not an absolute file path", path ? path : "(null)");
		r = -EINVAL;
		goto out;
	}
	if (slash == path) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	r = dirfd = rs_open_safe_dir(dir, uid, why, whylen);
	if (r < 0)
		goto out;

	/* rename() would replace a symlink (or a FIFO, a directory...) at the destination
	 * without writing through it, so this is not what keeps the secret safe. But whoever
	 * put a link there expected writes to go elsewhere: say so instead of silently
	 * breaking their setup. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			set_why(why, whylen, "%s is a symbolic link; refusing to replace it", path);
			r = -EPERM;
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			set_why(why, whylen, "%s is not a regular file; refusing to replace it",
			        path);
			r = -EPERM;
			goto out;
		}
	} else if (errno != ENOENT) {
		r = -errno;
		set_why(why, whylen, "%s: %s", path, strerror(-r));
		goto out;
	}

	begun = true;
	r = rs_atomic_begin(&a, dirfd, name, mode, uid, gid);
	if (r == 0)
		r = rs_atomic_write(&a, buf, len);
	if (r == 0)
		r = rs_atomic_commit(&a);
	if (r < 0)
		set_why(why, whylen, "cannot write %s: %s", path, strerror(-r));
out:
	/* Removes the temp file after any failure; a no-op once committed. */
	if (begun)
		rs_atomic_abort(&a);
	if (dirfd >= 0)
		close(dirfd);
	return r < 0 ? r : 0;
}

static int deliver_file(const struct rs_delivery *d, const struct rs_secret *secret, char *why,
                        size_t whylen)
{
	struct rs_secret line = {0};
	int r;

	if (!d->file) {
		set_why(why, whylen, "file delivery without a file");
		return -EINVAL;
	}
	/* Config validation refuses these too. Checked again here because this is the last
	 * place that can stop a plaintext secret from becoming world-readable. */
	if (d->mode & 0007) {
		set_why(why, whylen,
		        "refusing to write the secret to %s with mode %04o: others could read it",
		        d->file, (unsigned)d->mode);
		return -EPERM;
	}
	if (d->mode & ~(mode_t)0777) {
		set_why(why, whylen, "mode %04o for %s has bits beyond the permissions",
		        (unsigned)d->mode, d->file);
		return -EINVAL;
	}
	r = secret_line(secret, &line);
	if (r < 0) {
		set_why(why, whylen, "out of memory for the secret");
		return r;
	}
	r = write_file(d->file, line.buf, line.len, d->uid, d->gid, d->mode, why, whylen);
	rs_secret_free(&line);
	return r;
}

static int deliver_sealed(const struct rs_delivery *d, const struct rs_secret *secret, char *why,
                          size_t whylen)
{
	unsigned char *box = NULL;
	size_t boxlen = 0;
	int r;

	if (!d->file) {
		set_why(why, whylen, "sealed delivery without a file");
		return -EINVAL;
	}
	/* Ciphertext may be world-readable, but not world-writable: a sealed box does not say
	 * who sealed it, so anyone able to replace the file could hand the consumer a secret
	 * of their choosing. */
	if (d->mode & 0002) {
		set_why(why, whylen, "refusing to write %s with mode %04o: others could replace it",
		        d->file, (unsigned)d->mode);
		return -EPERM;
	}
	if (d->mode & ~(mode_t)0777) {
		set_why(why, whylen, "mode %04o for %s has bits beyond the permissions",
		        (unsigned)d->mode, d->file);
		return -EINVAL;
	}
	r = rs_seal(secret, d->sealed_pk, &box, &boxlen);
	if (r < 0) {
		set_why(why, whylen, "cannot seal the secret to %s: %s",
		        d->sealed_to ? d->sealed_to : "the consumer's key",
		        r == -EINVAL ? "the key is not usable" : strerror(-r));
		goto out;
	}
	r = write_file(d->file, box, boxlen, d->uid, d->gid, d->mode, why, whylen);
out:
	free(box);
	return r;
}

/* ---- command ---- */

/* What the child reports on its error pipe when it cannot reach execve. */
enum child_step { STEP_SETUP, STEP_GROUPS, STEP_GID, STEP_UID, STEP_EXEC };

struct child_failure {
	int step;
	int err;
};

struct child_args {
	char *const *argv;
	char *const *envp;
	int in_fd, null_fd, err_fd;
	bool drop; /* switch to uid/gid/groups before execve */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	long maxfd; /* for the close_range fallback */
};

static void __attribute__((noreturn)) child_fail(int fd, int step, int err)
{
	struct child_failure f = {step, err};

	(void)!write(fd, &f, sizeof(f));
	_exit(127);
}

/*
 * In the forked child. The daemon may have other threads, which may hold locks (malloc,
 * NSS, stdio) at the moment of fork: only async-signal-safe calls from here to execve.
 * Everything that needs more (the user's groups) was computed before the fork.
 */
static void __attribute__((noreturn)) child_exec(const struct child_args *c)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int sig;

	/* A disposition of SIG_IGN and the signal mask survive execve: a daemon that ignores
	 * SIGPIPE or blocks SIGTERM for a signalfd must not hand that to the command. */
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fail(c->err_fd, STEP_SETUP, errno);

	/* Its own process group, so that the timeout can kill whatever the command started
	 * along with it, and a terminal's signals aimed at the daemon do not reach it. */
	if (setpgid(0, 0) < 0)
		child_fail(c->err_fd, STEP_SETUP, errno);

	/* The secret arrives on stdin and only there. Output goes to /dev/null: a command
	 * that echoes its input must not put the secret into our logs. */
	if (dup2(c->in_fd, STDIN_FILENO) < 0 || dup2(c->null_fd, STDOUT_FILENO) < 0 ||
	    dup2(c->null_fd, STDERR_FILENO) < 0)
		child_fail(c->err_fd, STEP_SETUP, errno);

	if (c->drop) {
		/* Groups and gid first: changing them needs the root we give up with setuid. */
		if (setgroups(c->ngroups, c->groups) < 0)
			child_fail(c->err_fd, STEP_GROUPS, errno);
		if (setgid(c->gid) < 0)
			child_fail(c->err_fd, STEP_GID, errno);
		if (setuid(c->uid) < 0)
			child_fail(c->err_fd, STEP_UID, errno);
	}

	/* Every descriptor the daemon had open (store, state, lock, other deliveries) closes
	 * on execve; CLOEXEC rather than closing keeps our error pipe usable until then. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (long fd = 3; fd < c->maxfd; fd++)
			(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
	/* The daemon's cwd may be anything, and not accessible to the user we became. */
	if (chdir("/") < 0)
		child_fail(c->err_fd, STEP_SETUP, errno);

	execve(c->argv[0], c->argv, c->envp);
	child_fail(c->err_fd, STEP_EXEC, errno);
}

/* Supplementary groups of `user` (plus `gid`), looked up before the fork: NSS is not
 * async-signal-safe, so initgroups() in the child could deadlock a threaded daemon. */
static int user_groups(const char *user, gid_t gid, gid_t **out, size_t *n)
{
	int cap = 64, got = cap;
	gid_t *g = malloc(sizeof(*g) * (size_t)cap);

	if (!g)
		return -ENOMEM;
	if (getgrouplist(user, gid, g, &got) < 0) {
		/* got now holds the number needed. */
		gid_t *bigger = got > cap ? realloc(g, sizeof(*g) * (size_t)got) : NULL;

		if (!bigger) {
			free(g);
			return -ENOMEM;
		}
		g = bigger;
		if (getgrouplist(user, gid, g, &got) < 0) {
			free(g);
			return -EINVAL;
		}
	}
	*out = g;
	*n = (size_t)got;
	return 0;
}

/* Keep pipe and /dev/null descriptors off 0-2: if the daemon runs with stdin closed, a
 * new pipe can get fd 0, and the dup2 dance in the child would then clobber it. */
static int above_stdio(int *fd)
{
	int nfd;

	if (*fd > STDERR_FILENO)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Write the secret line to the command's stdin before the deadline.
 *
 * A command may exit without reading its stdin; it did its job if it exits 0, so EPIPE is
 * not a failure here. But the write would also raise SIGPIPE, whose default action kills
 * the daemon. It is blocked in this thread for the write and the one we caused is
 * swallowed, leaving the process-wide disposition (which other threads may rely on) alone.
 * The pipe is non-blocking so that a command that never reads cannot hold us past the
 * deadline, whatever the secret's length.
 */
static int feed_stdin(int fd, const struct rs_secret *line, int64_t deadline)
{
	const char *p = line->buf;
	size_t left = line->len;
	sigset_t pipe_set, old, pending;
	bool was_pending, broken = false;
	int flags, r = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = -errno;
		goto out;
	}
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};

		if (w > 0) {
			p += w;
			left -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EPIPE) {
			broken = true;
			break;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			r = -errno;
			break;
		}
		if (ms_left(deadline) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		/* POLLERR when the reader is gone: the next write reports EPIPE. */
		(void)poll(&pfd, 1, ms_left(deadline));
	}
out:
	if (broken && !was_pending) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Wait for `pid` until the deadline: 0 with *status, -ETIMEDOUT, or -errno. A pidfd wakes
 * us the moment the child exits; without one (old kernel) we poll every 20 ms. */
static int wait_child(pid_t pid, int pidfd, int64_t deadline, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		int left;

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		left = ms_left(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		if (pidfd >= 0) {
			struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

			(void)poll(&pfd, 1, left);
		} else {
			struct timespec ts = {0, 20L * 1000 * 1000};

			(void)nanosleep(&ts, NULL);
		}
	}
}

/* SIGKILL the command and everything it started that stayed in its process group. */
static void kill_group(pid_t pid)
{
	/* kill(0) or kill(-1) would signal our own group or every process we may signal. */
	if (pid <= 1)
		return;
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL); /* in case it moved to a group of its own (setsid) */
}

/* The error pipe: EOF means execve succeeded (the write end was CLOEXEC). 1 and *f filled
 * when the child reported a failure, 0 when it exec'ed. */
static int exec_result(int fd, struct child_failure *f)
{
	ssize_t n;

	do
		n = read(fd, f, sizeof(*f));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*f))
		return 1;
	return 0;
}

/*
 * Run the command with the secret on its stdin. Why no shell: argv goes to execve as the
 * admin wrote it, so no quoting, globbing or variable in the config can ever be
 * interpreted, and the secret cannot end up in a command line that `ps` shows.
 *
 * The caller must not reap children with waitpid(-1) or set SIGCHLD to SIG_IGN, or the
 * exit status is lost (-ECHILD from waitpid).
 */
static int deliver_command(const struct rs_account_cfg *acc, const struct rs_delivery *d,
                           const struct rs_secret *secret, uint64_t generation, char *why,
                           size_t whylen)
{
	char env_account[sizeof("ROTSEC_ACCOUNT=") + RS_NAME_MAX];
	char env_gen[sizeof("ROTSEC_GENERATION=") + 20];
	char *envp[] = {env_path, env_account, env_gen, NULL};
	struct child_args c = {.in_fd = -1, .null_fd = -1, .err_fd = -1};
	struct rs_secret line = {0};
	struct child_failure f;
	int in[2] = {-1, -1}, err[2] = {-1, -1}, null_fd = -1, pidfd = -1;
	gid_t *groups = NULL;
	size_t ngroups = 0;
	int64_t timeout = d->timeout > 0 ? d->timeout : DEFAULT_TIMEOUT, deadline;
	pid_t pid = -1;
	bool reaped = false;
	int status = 0, r;

	if (!d->argv || !d->argv[0] || d->argv[0][0] != '/') {
		set_why(why, whylen, "a command needs an absolute program path");
		r = -EINVAL;
		goto out;
	}
	(void)snprintf(env_account, sizeof(env_account), "ROTSEC_ACCOUNT=%s", acc->name);
	(void)snprintf(env_gen, sizeof(env_gen), "ROTSEC_GENERATION=%" PRIu64, generation);
	if (d->user[0]) {
		r = user_groups(d->user, d->run_gid, &groups, &ngroups);
		if (r < 0) {
			set_why(why, whylen, "cannot look up the groups of user %s", d->user);
			goto out;
		}
	}
	/* Without a secret (a verify command) stdin is /dev/null: nothing to feed. */
	if (secret) {
		r = secret_line(secret, &line);
		if (r < 0) {
			set_why(why, whylen, "out of memory for the secret");
			goto out;
		}
		if (pipe2(in, O_CLOEXEC) < 0) {
			r = -errno;
			set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0],
			        strerror(-r));
			goto out;
		}
	}
	if (pipe2(err, O_CLOEXEC) < 0 || (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		r = -errno;
		set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}
	if ((secret && (r = above_stdio(&in[0])) < 0) || (r = above_stdio(&null_fd)) < 0 ||
	    (r = above_stdio(&err[1])) < 0) {
		set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}

	c.argv = d->argv;
	c.envp = envp;
	c.in_fd = secret ? in[0] : null_fd;
	c.null_fd = null_fd;
	c.err_fd = err[1];
	c.drop = d->user[0] != '\0';
	c.uid = d->run_uid;
	c.gid = d->run_gid;
	c.groups = groups;
	c.ngroups = ngroups;
	c.maxfd = sysconf(_SC_OPEN_MAX) > 0 ? sysconf(_SC_OPEN_MAX) : 1024;

	/* Clamped only so that the arithmetic cannot overflow: about 292 million years. */
	if (timeout > INT64_MAX / 2000)
		timeout = INT64_MAX / 2000;
	deadline = now_ms() + timeout * 1000;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		set_why(why, whylen, "cannot start command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}
	if (pid == 0)
		child_exec(&c);

	/* Set the group from this side too: whichever of us runs first, it exists before
	 * kill_group can be called. (Fails harmlessly once the child has exec'ed.) */
	(void)setpgid(pid, pid);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	close_fd(&in[0]);
	close_fd(&err[1]);

	if (exec_result(err[0], &f)) {
		r = f.err > 0 ? -f.err : -EIO;
		if (f.step == STEP_EXEC)
			set_why(why, whylen, "cannot execute %s: %s", d->argv[0], strerror(-r));
		else if (f.step == STEP_SETUP)
			set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0],
			        strerror(-r));
		else
			set_why(why, whylen, "cannot run command %s as user %s: %s", d->argv[0],
			        d->user, strerror(-r));
		goto out;
	}

	r = secret ? feed_stdin(in[1], &line, deadline) : 0;
	/* EOF for the command: it must not wait for more input than the one line. */
	close_fd(&in[1]);
	if (r == 0)
		r = wait_child(pid, pidfd, deadline, &status);
	if (r == -ETIMEDOUT) {
		set_why(why, whylen,
		        "command %s did not finish within %" PRId64 " s and was killed", d->argv[0],
		        timeout);
		goto out;
	}
	reaped = true;
	if (r < 0) {
		/* waitpid failed: the child is no longer ours to reap (someone else collected
		 * it), and its pid may already be reused, so it must not be signalled. */
		set_why(why, whylen, "command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		r = 0;
	} else if (WIFEXITED(status)) {
		set_why(why, whylen, "command %s exited with status %d", d->argv[0],
		        WEXITSTATUS(status));
		r = -ECHILD;
	} else {
		set_why(why, whylen, "command %s was killed by signal %d", d->argv[0],
		        WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		r = -ECHILD;
	}
out:
	if (pid > 0 && !reaped) {
		/* Timeout or an error on our side: nothing of this delivery may outlive it. The
		 * group is killed before the reap, while the leader's pid still pins the group id.
		 */
		kill_group(pid);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&pidfd);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&null_fd);
	free(groups);
	rs_secret_free(&line);
	return r;
}

int rs_deliver_one(const struct rs_account_cfg *acc, const struct rs_delivery *d,
                   const struct rs_secret *secret, uint64_t generation, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!acc || !d || !secret || !secret->buf) {
		set_why(why, whylen, "delivery called without an account, a consumer or a secret");
		return -EINVAL;
	}
	switch (d->kind) {
	case RS_DELIVER_FILE:
		return deliver_file(d, secret, why, whylen);
	case RS_DELIVER_COMMAND:
		return deliver_command(acc, d, secret, generation, why, whylen);
	case RS_DELIVER_SEALED:
		return deliver_sealed(d, secret, why, whylen);
	}
	set_why(why, whylen, "unknown delivery kind %d", (int)d->kind);
	return -EINVAL;
}

int rs_run_verify(const struct rs_account_cfg *acc, uint64_t generation, char *why, size_t whylen)
{
	struct rs_delivery d = {.kind = RS_DELIVER_COMMAND, .timeout = RS_VERIFY_TIMEOUT};

	if (why && whylen)
		why[0] = '\0';
	if (!acc || !acc->verify_argv) {
		set_why(why, whylen, "no verify command");
		return -EINVAL;
	}
	d.argv = acc->verify_argv;
	return deliver_command(acc, &d, NULL, generation, why, whylen);
}

void rs_delivery_label(const struct rs_delivery *d, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	switch (d ? (int)d->kind : -1) {
	case RS_DELIVER_FILE:
		(void)snprintf(buf, len, "file %s", d->file ? d->file : "?");
		break;
	case RS_DELIVER_COMMAND:
		(void)snprintf(buf, len, "command %s", d->argv && d->argv[0] ? d->argv[0] : "?");
		break;
	case RS_DELIVER_SEALED:
		(void)snprintf(buf, len, "sealed %s", d->file ? d->file : "?");
		break;
	default:
		(void)snprintf(buf, len, "unknown delivery");
		break;
	}
}
