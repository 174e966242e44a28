/*
 * Command delivery (DESIGN §5), and the account's verify command, which runs the same way
 * without a secret. fork + execve(argv) with no shell, a clean environment (PATH,
 * ROTSEC_ACCOUNT, ROTSEC_GENERATION only), the secret and "\n" on stdin and nowhere else,
 * stdout and stderr to /dev/null, in its own process group, killed (SIGKILL to the group)
 * after the timeout; exit status 0 = delivered. Optionally as `user`.
 */
#define _GNU_SOURCE
#include "deliver.h"
#include "deliver_int.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	int cap = 64, got = cap, r = 0;
	gid_t *g = malloc(sizeof(*g) * (size_t)cap), *bigger;

	if (!g)
		return -ENOMEM;
	if (getgrouplist(user, gid, g, &got) < 0) {
		/* got now holds the number needed. */
		if (got <= cap || !(bigger = realloc(g, sizeof(*g) * (size_t)got))) {
			r = -ENOMEM;
			goto out;
		}
		g = bigger;
		if (getgrouplist(user, gid, g, &got) < 0) {
			r = -EINVAL;
			goto out;
		}
	}
	*out = g;
	*n = (size_t)got;
	g = NULL;
out:
	free(g);
	return r;
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

/* The descriptors the child is given, all CLOEXEC and above stdio: in, the pipe of the
 * secret (only when there is one to feed), err, its error pipe, and /dev/null. */
static int open_channels(bool feed, int in[2], int err[2], int *null_fd)
{
	int r;

	if (feed && pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	if ((*null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (feed && (r = above_stdio(&in[0])) < 0)
		return r;
	if ((r = above_stdio(null_fd)) < 0)
		return r;
	return above_stdio(&err[1]);
}

/* The failure a child reported on its error pipe, as an errno and a why. */
static int child_failed(const struct rs_delivery *d, const struct child_failure *f, char *why,
                        size_t whylen)
{
	int r = f->err > 0 ? -f->err : -EIO;

	if (f->step == STEP_EXEC)
		rs_set_why(why, whylen, "cannot execute %s: %s", d->argv[0], strerror(-r));
	else if (f->step == STEP_SETUP)
		rs_set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0], strerror(-r));
	else
		rs_set_why(why, whylen, "cannot run command %s as user %s: %s", d->argv[0], d->user,
		           strerror(-r));
	return r;
}

/* 0 for a command that exited 0; -ECHILD and why for any other end. */
static int exit_result(const char *prog, int status, char *why, size_t whylen)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		rs_set_why(why, whylen, "command %s exited with status %d", prog,
		           WEXITSTATUS(status));
	else
		rs_set_why(why, whylen, "command %s was killed by signal %d", prog,
		           WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -ECHILD;
}

/*
 * Run the command with the secret on its stdin. Why no shell: argv goes to execve as the
 * admin wrote it, so no quoting, globbing or variable in the config can ever be
 * interpreted, and the secret cannot end up in a command line that `ps` shows.
 *
 * The caller must not reap children with waitpid(-1) or set SIGCHLD to SIG_IGN, or the
 * exit status is lost (-ECHILD from waitpid).
 */
int deliver_command(const struct rs_account_cfg *acc, const struct rs_delivery *d,
                    const struct rs_secret *secret, uint64_t generation, char *why, size_t whylen)
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
		rs_set_why(why, whylen, "a command needs an absolute program path");
		r = -EINVAL;
		goto out;
	}
	(void)snprintf(env_account, sizeof(env_account), "ROTSEC_ACCOUNT=%s", acc->name);
	(void)snprintf(env_gen, sizeof(env_gen), "ROTSEC_GENERATION=%" PRIu64, generation);
	if (d->user[0] && (r = user_groups(d->user, d->run_gid, &groups, &ngroups)) < 0) {
		rs_set_why(why, whylen, "cannot look up the groups of user %s", d->user);
		goto out;
	}
	/* Without a secret (a verify command) stdin is /dev/null: nothing to feed. */
	if (secret && (r = deliver_secret_line(secret, &line, why, whylen)) < 0)
		goto out;
	if ((r = open_channels(secret != NULL, in, err, &null_fd)) < 0) {
		rs_set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0], strerror(-r));
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
	if ((pid = fork()) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot start command %s: %s", d->argv[0], strerror(-r));
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
		r = child_failed(d, &f, why, whylen);
		goto out;
	}

	r = secret ? feed_stdin(in[1], &line, deadline) : 0;
	/* EOF for the command: it must not wait for more input than the one line. */
	close_fd(&in[1]);
	if (r == 0) {
		r = wait_child(pid, pidfd, deadline, &status);
		/* Reaped, or waitpid failed: then the child is no longer ours to reap (someone
		 * else collected it), and its pid may already be reused, so it must not be
		 * signalled. A feed that failed leaves it running: it is killed below. */
		reaped = r != -ETIMEDOUT;
	}
	if (r == -ETIMEDOUT) {
		rs_set_why(why, whylen,
		           "command %s did not finish within %" PRId64 " s and was killed",
		           d->argv[0], timeout);
		goto out;
	}
	if (r < 0) {
		rs_set_why(why, whylen, "command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}
	r = exit_result(d->argv[0], status, why, whylen);
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

int rs_run_verify(const struct rs_account_cfg *acc, uint64_t generation, char *why, size_t whylen)
{
	struct rs_delivery d = {.kind = RS_DELIVER_COMMAND, .timeout = RS_VERIFY_TIMEOUT};

	if (why && whylen)
		why[0] = '\0';
	if (!acc || !acc->verify_argv) {
		rs_set_why(why, whylen, "no verify command");
		return -EINVAL;
	}
	d.argv = acc->verify_argv;
	return deliver_command(acc, &d, NULL, generation, why, whylen);
}
