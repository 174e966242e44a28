/*
 * memscan: run a program to its end and look for a secret in all the memory it still has
 * when it exits, for t-secret-memory.sh ("secrets are wiped after use", issue 7).
 *
 *   memscan NEEDLE_FILE PROGRAM [ARG...]
 *
 * The first line of NEEDLE_FILE is looked for in every readable mapping of PROGRAM -
 * heap, stacks, libraries' data, anonymous maps - at the moment it exits: PROGRAM runs
 * under ptrace with PTRACE_O_TRACEEXIT, which stops it after its atexit handlers and
 * destructors ran and before the kernel takes its memory away. NEEDLE_FILE is read then,
 * so it may be what PROGRAM itself wrote: the secret a rotation just delivered. That is what a core
 * dump, a swapped-out page or a later bug reading stale memory would show. Memory that was wiped,
 * or unmapped (sodium_free does both), holds nothing.
 *
 * Not only the whole line is looked for but every 16 bytes of it that start at a multiple
 * of 8 (0-15, 8-23, 16-31, ... of a 32-byte secret): a fragment is a leak too, and
 * libsodium's decryption leaves exactly such a fragment behind (sealed.h, rs_wipe_stack).
 *
 * PROGRAM keeps memscan's stdin and stdout. On stderr: "memscan: pid N" first, for a test
 * that signals PROGRAM, then every hit as
 * "memscan: found in MAPPING at +OFFSET (bytes A-B of the secret)".
 * Exit status: 0 when PROGRAM exited 0 and the needle is nowhere, 1 when it was found,
 * 2 when PROGRAM failed (non-zero exit or a signal), 3 on memscan's own errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define PIECE 16 /* the shortest fragment looked for */
#define STEP  8

static char needle[1024];
static size_t nlen;

static int read_needle(const char *file)
{
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	if (!fgets(needle, sizeof(needle), f)) {
		(void)fclose(f);
		return -1;
	}
	(void)fclose(f);
	nlen = strcspn(needle, "\n");
	needle[nlen] = '\0';
	return nlen >= 8 ? 0 : -1; /* shorter needles would match by chance */
}

/* Hits of the needle's fragments in [start, end) of the process behind memfd. */
static int scan_range(int memfd, unsigned long start, unsigned long end, const char *name,
                      char *buf)
{
	size_t piece = nlen < PIECE ? nlen : PIECE;
	unsigned long at = start;
	int hits = 0;

	while (at < end) {
		size_t want = end - at > CHUNK ? CHUNK : end - at;
		ssize_t n = pread(memfd, buf, want, (off_t)at);

		if (n <= 0)
			break; /* [vvar] and such: not readable through /proc/PID/mem */
		for (size_t off = 0; off + piece <= nlen; off += STEP) {
			const char *p = buf;

			while ((p = memmem(p, (size_t)n - (size_t)(p - buf), needle + off,
			                   piece))) {
				(void)fprintf(stderr,
				              "memscan: found in %s at +%#lx (bytes %zu-%zu of the "
				              "secret)\n",
				              name, at + (unsigned long)(p - buf) - start, off,
				              off + piece - 1);
				hits++;
				p++;
			}
		}
		if ((size_t)n < want || at + (size_t)n >= end)
			break;
		/* Overlap the chunks so that a fragment across their border is seen too. */
		at += (size_t)n - (piece - 1);
	}
	return hits;
}

static int scan(pid_t pid, const char *needle_file)
{
	char path[64], line[1024];
	char *buf;
	FILE *maps;
	int memfd, hits = 0;

	if (read_needle(needle_file) < 0) {
		(void)fprintf(stderr, "memscan: no needle of 8 bytes or more in %s\n", needle_file);
		return -1;
	}
	buf = malloc(CHUNK);
	(void)snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	(void)snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || !maps || memfd < 0) {
		(void)fprintf(stderr, "memscan: cannot read the memory of %d: %s\n", (int)pid,
		              strerror(errno));
		free(buf);
		if (maps)
			(void)fclose(maps);
		if (memfd >= 0)
			close(memfd);
		return -1;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[8], name[512] = "";

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511[^\n]", &start, &end, perms, name) <
		    3)
			continue;
		if (perms[0] != 'r')
			continue; /* guard pages (PROT_NONE) */
		hits += scan_range(memfd, start, end, name[0] ? name : "[anonymous]", buf);
	}
	free(buf);
	(void)fclose(maps);
	close(memfd);
	return hits;
}

int main(int argc, char **argv)
{
	int status, hits = 0, first = 1;
	pid_t pid;

	if (argc < 3) {
		(void)fprintf(stderr, "usage: memscan NEEDLE_FILE PROGRAM [ARG...]\n");
		return 3;
	}
	pid = fork();
	if (pid < 0)
		return 3;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(127);
		execv(argv[2], argv + 2);
		_exit(127);
	}
	(void)fprintf(stderr, "memscan: pid %d\n", (int)pid);
	for (;;) {
		int sig = 0;

		if (waitpid(pid, &status, 0) < 0) {
			(void)fprintf(stderr, "memscan: waitpid: %s\n", strerror(errno));
			return 3;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (!WIFSTOPPED(status))
			continue;
		if (first && WSTOPSIG(status) == SIGTRAP) {
			/* Stopped right after execv: from here on, stop it once more at exit. */
			first = 0;
			if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACEEXIT) < 0) {
				(void)fprintf(stderr, "memscan: PTRACE_SETOPTIONS: %s\n",
				              strerror(errno));
				(void)kill(pid, SIGKILL);
				return 3;
			}
		} else if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			int r = scan(pid, argv[1]);

			if (r < 0) {
				(void)kill(pid, SIGKILL);
				return 3;
			}
			hits += r;
		} else {
			sig = WSTOPSIG(status); /* a signal for the program: pass it on */
		}
		(void)ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	if (hits)
		return 1;
	if (WIFSIGNALED(status)) {
		(void)fprintf(stderr, "memscan: %s died of signal %d\n", argv[2], WTERMSIG(status));
		return 2;
	}
	if (WEXITSTATUS(status) != 0) {
		(void)fprintf(stderr, "memscan: %s exited %d\n", argv[2], WEXITSTATUS(status));
		return 2;
	}
	return 0;
}
