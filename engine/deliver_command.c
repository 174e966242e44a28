/*
 * Command delivery (DESIGN §5), and the account's verify command, which runs the same way
 * without a secret. fork + execve(argv) with no shell, a clean environment (PATH,
 * ROTSEC_ACCOUNT, ROTSEC_GENERATION only), the secret and "\n" on stdin and nowhere else,
 * stdout to /dev/null, stderr to a pipe of ours, in its own process group, killed (SIGKILL
 * to the group) after the timeout; exit status 0 = delivered. Optionally as `user`.
 *
 * When it fails, the end of what it wrote to stderr goes into `why`, the secret redacted
 * (deliver_stderr.h): the admin reads "connection refused" in the error, the log line and
 * the audit event, not just "exited with status 1".
 */
#define _GNU_SOURCE
#include "deliver.h"
#include "deliver_int.h"
#include "deliver_stderr.h"
#include "fault.h"
#include "trust.h"
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
	int in_fd, null_fd, err_fd, stderr_fd;
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

	/* The secret arrives on stdin and only there. Standard output goes to /dev/null;
	 * stderr to us, who keep its end, the secret redacted, to say why it failed. */
	if (dup2(c->in_fd, STDIN_FILENO) < 0 || dup2(c->null_fd, STDOUT_FILENO) < 0 ||
	    dup2(c->stderr_fd, STDERR_FILENO) < 0)
		child_fail(c->err_fd, STEP_SETUP, errno);

	if (c->drop) {
		/* Groups and gid first: changing them needs the root we give up with setuid. */
		if (setgroups(c->ngroups, c->groups) < 0)
			child_fail(c->err_fd, STEP_GROUPS, errno);
		if (setgid(c->gid) < 0)
			child_fail(c->err_fd, STEP_GID, errno);
		if (setuid(c->uid) < 0)
			child_fail(c->err_fd, STEP_UID, errno);
		/* From here the user may signal it, SIGSTOP included, before execve. */
		RS_FAULT_STOP("command.dropped");
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

/* Whatever the command has written to stderr so far, into the tail; false at EOF or on an
 * error (the pipe is then of no more use). Non-blocking: never waits for more. What was
 * read may hold the secret (a command that echoes its stdin): the buffer is wiped, the
 * tail keeps its copy in guarded memory. */
static bool drain_stderr(int fd, struct rs_stderr_tail *tail)
{
	char buf[4096];
	bool more = true;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			rs_stderr_tail_add(tail, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		more = n < 0 && errno == EAGAIN;
		break;
	}
	explicit_bzero(buf, sizeof(buf));
	return more;
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The command's side of the run: its pid and pidfd, the pipe of its stdin with what is
 * left to write, the pipe of its stderr with what it wrote. */
struct run {
	pid_t pid;
	int pidfd;
	int in_fd; /* -1 once everything is written, or the command closed its end */
	const char *p;
	size_t left;
	int err_fd; /* -1 at EOF */
	struct rs_stderr_tail *tail;
	int status;
	/* Reaped, or waitpid failed: then the child is no longer ours to reap (someone else
	 * collected it), and its pid may already be reused, so it must not be signalled. */
	bool gone;
};

/*
 * Write what is left of the secret line, as much as the pipe takes now. 0, or -errno.
 *
 * A command may exit without reading its stdin; it did its job if it exits 0, so EPIPE is
 * not a failure here (the caller blocks SIGPIPE and swallows the one we cause). The pipe
 * is non-blocking so that a command that never reads cannot hold us past the deadline,
 * whatever the secret's length.
 */
static int feed_some(struct run *x, bool *broken)
{
	while (x->left > 0) {
		ssize_t w = write(x->in_fd, x->p, x->left);

		if (w > 0) {
			x->p += w;
			x->left -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0 && errno == EPIPE) {
			*broken = true;
			break;
		}
		return w < 0 ? -errno : -EIO;
	}
	/* Done, or nobody reads: EOF for the command, it must not wait for more. */
	close_fd(&x->in_fd);
	return 0;
}

/*
 * Feed the command its stdin, collect its stderr and wait for it to exit, all before the
 * deadline, in one loop: a command that writes much to stderr before it reads its stdin
 * (or before it exits) would otherwise block on a full pipe while we block on it.
 * 0 with x->status when it exited, -ETIMEDOUT, or -errno (x->pid is then still ours to
 * kill). Once it has exited, what is in the stderr pipe is read without waiting for EOF:
 * something it started in the background may keep the pipe open for ever.
 *
 * SIGPIPE, which a write to a command that closed its stdin raises and whose default
 * action kills the daemon, is blocked in this thread for the loop and the one we caused
 * is swallowed, leaving the process-wide disposition (other threads may rely on it) alone.
 */
static int run_child(struct run *x, int64_t deadline)
{
	sigset_t pipe_set, old, pending;
	bool was_pending, broken = false;
	int r = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;

	if ((x->in_fd >= 0 && (r = set_nonblock(x->in_fd)) < 0) ||
	    (x->err_fd >= 0 && (r = set_nonblock(x->err_fd)) < 0))
		goto out;
	for (;;) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		pid_t w;
		int left;

		if (x->in_fd >= 0 && (r = feed_some(x, &broken)) < 0)
			break;
		if (x->err_fd >= 0 && !drain_stderr(x->err_fd, x->tail))
			close_fd(&x->err_fd);
		w = waitpid(x->pid, &x->status, WNOHANG);
		if (w == x->pid) {
			x->gone = true;
			if (x->err_fd >= 0)
				(void)drain_stderr(x->err_fd, x->tail);
			r = 0;
			break;
		}
		if (w < 0 && errno != EINTR) {
			r = -errno;
			x->gone = true;
			break;
		}
		if ((left = ms_left(deadline)) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (x->in_fd >= 0)
			pfd[n++] = (struct pollfd){.fd = x->in_fd, .events = POLLOUT};
		if (x->err_fd >= 0)
			pfd[n++] = (struct pollfd){.fd = x->err_fd, .events = POLLIN};
		if (x->pidfd >= 0)
			pfd[n++] = (struct pollfd){.fd = x->pidfd, .events = POLLIN};
		/* Without a pidfd (old kernel) nothing wakes us at the exit: look every 20 ms. */
		(void)poll(pfd, n, x->pidfd >= 0 ? left : (left < 20 ? left : 20));
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
 * when the child reported a failure, 0 when it exec'ed, -ETIMEDOUT when neither happened
 * by the deadline: once it switched to its user, that user may stop it (SIGSTOP) short of
 * execve, and a read without a deadline would hang the daemon for good. */
static int exec_result(int fd, struct child_failure *f, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;
	int k;

	while ((k = poll(&p, 1, ms_left(deadline))) < 0 && errno == EINTR)
		;
	if (k == 0)
		return -ETIMEDOUT;
	if (k < 0)
		return -errno;
	do
		n = read(fd, f, sizeof(*f));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*f))
		return 1;
	return 0;
}

/* The descriptors the child is given, all CLOEXEC and above stdio: in, the pipe of the
 * secret (only when there is one to feed), err, its error pipe, out, the pipe of its
 * stderr, and /dev/null. */
static int open_channels(bool feed, int in[2], int err[2], int out[2], int *null_fd)
{
	int r;

	if (feed && pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if ((*null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (feed && (r = above_stdio(&in[0])) < 0)
		return r;
	if ((r = above_stdio(null_fd)) < 0 || (r = above_stdio(&out[1])) < 0)
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

/* why, and then what the command said on stderr, if anything. */
static void add_stderr(const struct rs_stderr_tail *tail, char *why, size_t whylen)
{
	char text[RS_STDERR_KEEP + 16];
	size_t n = why ? strlen(why) : 0;

	rs_stderr_tail_text(tail, text, sizeof(text));
	if (text[0] && why && n < whylen)
		(void)snprintf(why + n, whylen - n, "; stderr: %s", text);
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
                    const struct rs_secret *secret, const struct rs_secret *redact,
                    uint64_t generation, char *why, size_t whylen)
{
	char env_account[sizeof("ROTSEC_ACCOUNT=") + RS_NAME_MAX];
	char env_gen[sizeof("ROTSEC_GENERATION=") + 20];
	char *envp[] = {env_path, env_account, env_gen, NULL};
	struct child_args c = {.in_fd = -1, .null_fd = -1, .err_fd = -1, .stderr_fd = -1};
	struct rs_secret line = {0};
	struct rs_stderr_tail tail = {0};
	struct run x = {.pidfd = -1, .in_fd = -1, .err_fd = -1, .tail = &tail};
	struct child_failure f = {0, 0};
	int in[2] = {-1, -1}, err[2] = {-1, -1}, out[2] = {-1, -1}, null_fd = -1;
	gid_t *groups = NULL;
	size_t ngroups = 0;
	int64_t timeout = d->timeout > 0 ? d->timeout : DEFAULT_TIMEOUT, deadline;
	bool reaped = false;
	int r;

	x.pid = -1;
	if (!d->argv || !d->argv[0] || d->argv[0][0] != '/') {
		rs_set_why(why, whylen, "a command needs an absolute program path");
		r = -EINVAL;
		goto out;
	}
	/* Checked when the config was loaded, and again now: a program whose file or
	 * directories someone else can change runs their code as root (trust.h). One that
	 * is missing or not executable is left to execve, which says so. */
	if ((r = rs_trust_exec(d->argv[0], RS_TRUST_SELF, why, whylen)) == -EPERM)
		goto out;
	(void)snprintf(env_account, sizeof(env_account), "ROTSEC_ACCOUNT=%s", acc->name);
	(void)snprintf(env_gen, sizeof(env_gen), "ROTSEC_GENERATION=%" PRIu64, generation);
	if (d->user[0] && (r = user_groups(d->user, d->run_gid, &groups, &ngroups)) < 0) {
		rs_set_why(why, whylen, "cannot look up the groups of user %s", d->user);
		goto out;
	}
	/* What is kept of its stderr must never show the secret it was given, nor the one
	 * it is checked against (a verify command that reads a delivered file). */
	if ((r = rs_stderr_tail_init(&tail, secret ? secret : redact)) < 0) {
		rs_set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}
	/* Without a secret (a verify command) stdin is /dev/null: nothing to feed. */
	if (secret && (r = deliver_secret_line(secret, &line, why, whylen)) < 0)
		goto out;
	if ((r = open_channels(secret != NULL, in, err, out, &null_fd)) < 0) {
		rs_set_why(why, whylen, "cannot prepare command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}

	c.argv = d->argv;
	c.envp = envp;
	c.in_fd = secret ? in[0] : null_fd;
	c.null_fd = null_fd;
	c.err_fd = err[1];
	c.stderr_fd = out[1];
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
	if ((x.pid = fork()) < 0) {
		r = -errno;
		rs_set_why(why, whylen, "cannot start command %s: %s", d->argv[0], strerror(-r));
		goto out;
	}
	if (x.pid == 0)
		child_exec(&c);

	/* Set the group from this side too: whichever of us runs first, it exists before
	 * kill_group can be called. (Fails harmlessly once the child has exec'ed.) */
	(void)setpgid(x.pid, x.pid);
	x.pidfd = (int)syscall(SYS_pidfd_open, x.pid, 0);
	close_fd(&in[0]);
	close_fd(&err[1]);
	close_fd(&out[1]);

	if ((r = exec_result(err[0], &f, deadline)) != 0) {
		if (r == 1)
			r = child_failed(d, &f, why, whylen);
		else if (r == -ETIMEDOUT)
			rs_set_why(why, whylen,
			           "command %s did not start within %" PRId64 " s and was killed",
			           d->argv[0], timeout);
		else
			rs_set_why(why, whylen, "cannot start command %s: %s", d->argv[0],
			           strerror(-r));
		goto out;
	}

	if (secret) {
		x.in_fd = in[1];
		in[1] = -1;
		x.p = line.buf;
		x.left = line.len;
	}
	x.err_fd = out[0];
	out[0] = -1;
	r = run_child(&x, deadline);
	/* A run that failed on our side, or timed out, leaves it running: killed below. */
	reaped = x.gone;
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
	r = exit_result(d->argv[0], x.status, why, whylen);
out:
	if (x.pid > 0 && !reaped) {
		/* Timeout or an error on our side: nothing of this delivery may outlive it. The
		 * group is killed before the reap, while the leader's pid still pins the group id.
		 */
		kill_group(x.pid);
		while (waitpid(x.pid, NULL, 0) < 0 && errno == EINTR)
			;
		/* What it wrote until then, without waiting for an EOF that whatever it left
		 * behind outside its group could withhold. */
		if (x.err_fd >= 0)
			(void)drain_stderr(x.err_fd, &tail);
	}
	if (r < 0 && x.pid > 0)
		add_stderr(&tail, why, whylen);
	close_fd(&x.pidfd);
	close_fd(&x.in_fd);
	close_fd(&x.err_fd);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&null_fd);
	free(groups);
	rs_secret_free(&line);
	rs_stderr_tail_free(&tail);
	return r;
}

int rs_run_verify(const struct rs_account_cfg *acc, uint64_t generation,
                  const struct rs_secret *redact, char *why, size_t whylen)
{
	struct rs_delivery d = {.kind = RS_DELIVER_COMMAND, .timeout = RS_VERIFY_TIMEOUT};

	if (why && whylen)
		why[0] = '\0';
	if (!acc || !acc->verify_argv) {
		rs_set_why(why, whylen, "no verify command");
		return -EINVAL;
	}
	d.argv = acc->verify_argv;
	return deliver_command(acc, &d, NULL, redact, generation, why, whylen);
}
