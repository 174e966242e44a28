/*
 * Work that must not be held up by the user who started the calling program.
 *
 * A set-user-ID program (su, passwd, chsh) runs as root with the real uid of whoever
 * started it, and the kernel lets that user signal it: SIGSTOP, at any moment, for as long
 * as they like. A usage record is rewritten under a lock (usage.h); a caller stopped while
 * it held that lock kept every later login of the account from being recorded (the wait
 * for the lock is bounded, and recording never decides a login), so a break-glass secret
 * could be used again and again without rotate_after_use ever seeing it.
 *
 * So when the caller's real or saved uid is not root, the work runs in a child that makes
 * itself root in all three uids and leaves the terminal's session: no user can signal it,
 * nor can a key on the terminal (^Z, ^C) reach it. The login waits for the child; stopping
 * the login then holds nothing. (The freezer of a cgroup the user owns still reaches it;
 * pam_rotsec(8) says what that leaves.) Callers whose three uids are root (sshd, login, a root
 * daemon) can only be signalled by root and do the work themselves, without the fork, as
 * do callers that are not root at all (they cannot write the records anyway).
 */
#define _GNU_SOURCE
#include "pam_rotsec.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int rs_pam_shielded(int (*work)(void *), void *arg)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
	uid_t ruid, euid, suid;
	pid_t pid, w;
	int status, r;

	if (getresuid(&ruid, &euid, &suid) < 0)
		return -errno;
	/* Only a caller that is root by its effective uid alone needs the shield; one that is
	 * not root at all could not become root in the child either, and does the work (or
	 * fails at it, as it would anyway) itself. */
	if (euid != 0 || (ruid == 0 && suid == 0))
		return work(arg);
	/* A caller that ignores SIGCHLD would have the child reaped for it, and the wait
	 * below would lose its status; pam_unix does the same around its helper. */
	if (sigaction(SIGCHLD, &dfl, &old) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		(void)setsid();
		if (setresuid(0, 0, 0) < 0)
			_exit(EPERM);
		r = work(arg);
		/* _exit: the caller's atexit handlers and stdio buffers are its own. */
		_exit(r < 0 && -r < 256 ? -r : r < 0 ? EIO : 0);
	}
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		r = -errno;
	else if (WIFEXITED(status))
		r = -WEXITSTATUS(status);
	else
		r = -ECHILD; /* killed: by the caller's own limits (RLIMIT_CPU) or the OOM killer */
out:
	(void)sigaction(SIGCHLD, &old, NULL);
	return r;
}
