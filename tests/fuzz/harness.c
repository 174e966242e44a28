#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for the largest store the reader accepts (RS_STORE_MAX_SIZE). */
#define GUARD_ROOM ((size_t)64 << 20)

static char scratch[4096];
static pid_t scratch_owner;

static void die(const char *what)
{
	(void)fprintf(stderr, "fuzz: %s: %s\n", what, strerror(errno));
	exit(2);
}

void fz_fail(const char *what, const char *file, int line)
{
	(void)fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line, what);
	abort();
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void scratch_remove(void)
{
	/* A child that forked (a delivery command, say) must not remove the parent's. */
	if (scratch[0] && getpid() == scratch_owner)
		(void)nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_scratch(void)
{
	const char *bases[] = {getenv("FUZZ_TMPDIR"), "/dev/shm", "/tmp"};
	struct stat st;

	if (scratch[0])
		return scratch;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (!bases[i] || !*bases[i] || stat(bases[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		(void)snprintf(scratch, sizeof(scratch), "%s/rotsec-fuzz.XXXXXX", bases[i]);
		if (mkdtemp(scratch))
			break;
		scratch[0] = '\0';
	}
	if (!scratch[0])
		die("cannot make a scratch directory");
	scratch_owner = getpid();
	if (atexit(scratch_remove) != 0)
		die("atexit");
	return scratch;
}

void fz_subdir(const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", fz_scratch(), name) >= len)
		die("scratch path too long");
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die(buf);
	/* Explicit: the umask must not decide whether the store checks pass. */
	if (chmod(buf, 0755) < 0)
		die(buf);
}

void fz_write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[4096], path[4096];
	const char *p = data;
	int fd;

	(void)snprintf(tmp, sizeof(tmp), "%s/.%s.fuzz", dir, name);
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, mode) < 0)
		die(tmp);
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(tmp);
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		die(path);
}

char *fz_strndup(const void *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		die("malloc");
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

const uint8_t *fz_guarded(const void *data, size_t len)
{
	static uint8_t *room;
	static uint8_t *plain;
	long page = sysconf(_SC_PAGESIZE);

	if (!room) {
		room = mmap(NULL, GUARD_ROOM + (size_t)page, PROT_READ | PROT_WRITE,
		            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (room == MAP_FAILED || mprotect(room + GUARD_ROOM, (size_t)page, PROT_NONE) < 0)
			die("mmap");
	}
	free(plain);
	plain = NULL;
	if (len > GUARD_ROOM) {
		plain = (uint8_t *)fz_strndup(data, len);
		return plain;
	}
	if (len)
		memcpy(room + GUARD_ROOM - len, data, len);
	return room + GUARD_ROOM - len;
}

uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = in->p[0];
		in->p++;
		in->left--;
	}
	return v;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | (uint16_t)(fz_u8(in) << 8));
}

const uint8_t *fz_bytes(struct fz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;

	if (n > in->left)
		n = in->left;
	in->p += n;
	in->left -= n;
	*got = n;
	return p;
}
