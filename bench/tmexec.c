/*
 * tmexec: run a command once and print how long it took, in nanoseconds, for `make bench`.
 *
 *   tmexec [-i FILE] CMD [ARG...]
 *
 * Measures from just before fork(2) to the return of waitpid(2) (CLOCK_MONOTONIC), so the
 * figure covers the whole command, exec and exit included, and none of the calling
 * shell's own work. stdin comes from FILE (default /dev/null), stdout goes to /dev/null,
 * stderr is kept. Exit status: the command's, or 127 when it could not be run.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *in = "/dev/null";
	int argi = 1, status, fd, out;
	double t0, t1;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "-i") == 0) {
		in = argv[2];
		argi = 3;
	}
	if (argi >= argc) {
		fprintf(stderr, "usage: tmexec [-i FILE] CMD [ARG...]\n");
		return 2;
	}
	/* Opened before the clock starts: only the command is timed. */
	fd = open(in, O_RDONLY | O_CLOEXEC);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || out < 0) {
		perror(in);
		return 127;
	}
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		if (dup2(fd, 0) < 0 || dup2(out, 1) < 0)
			_exit(127);
		execvp(argv[argi], argv + argi);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 127;
	t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "tmexec: %s failed (status 0x%x)\n", argv[argi], status);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
	}
	printf("%.0f\n", t1 - t0);
	return 0;
}
