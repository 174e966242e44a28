/*
 * failinj.so: make system and library calls fail on demand, for the failure-injection
 * tests (tests/sh/t-failinj.sh). Preloaded into a release build of rotsecctl, or of a
 * driver that loads pam_rotsec.so or libnss_rotsec.so.2:
 *
 *   LD_PRELOAD=failinj.so FAILINJ_CALL=open FAILINJ_NTH=7 rotsecctl ...
 *
 *   FAILINJ_CALL=C1,C2   the classes of calls that count (default: all of them):
 *                        malloc  malloc calloc realloc reallocarray
 *                        open    open openat fopen (and their 64 and _2 forms)
 *                        read    read pread (and their _chk forms)
 *                        mmap    mmap
 *                        stat    fstat fstatat lstat stat
 *                        write   write pwrite
 *                        fsync   fsync fdatasync
 *                        rename  rename renameat renameat2
 *   FAILINJ_NTH=N        the Nth counted call fails, and only that one
 *   FAILINJ_EVERY=N      every Nth counted call fails (N, 2N, 3N, ...)
 *   FAILINJ_ERRNO=E      errno of a failure, as a number (default: ENOMEM for malloc and
 *                        mmap, EMFILE for open, EIO for the rest)
 *   FAILINJ_COUNT=FILE   at exit, append "CLASS COUNT" for every class with calls counted,
 *                        and "total COUNT": how a test learns how far to iterate N
 *   FAILINJ_ARM=manual   count nothing until the program calls failinj_arm(1), which a
 *                        driver finds with dlsym(RTLD_DEFAULT, "failinj_arm"), so that
 *                        only the calls made inside the code under test are counted
 *   FAILINJ_PROG=NAME    do nothing in a process whose program is not called NAME: the
 *                        valgrind launcher, say, which runs before the program under test
 *                        with the same LD_PRELOAD
 *   FAILINJ_TRACE=1      say on stderr which call failed, and from which object
 *   FAILINJ_SPARE=libconfig
 *                        count and fail nothing inside libconfig's config_init,
 *                        config_set_include_dir, config_read_file and
 *                        config_read_string (what rotsec parses with): libconfig 1.5
 *                        does not check its allocations there and crashes on the first
 *                        NULL, a limitation of the library that rotsec cannot fix (and
 *                        nothing is changed before the config is loaded)
 *
 * Counting is per process: a child forked by the program starts from its parent's count
 * and does not write FAILINJ_COUNT. Calls the C library makes to itself (fopen's open,
 * printf's write) cannot be interposed and are not counted; its calls to malloc are.
 *
 * Not for the ASan build: the sanitizer runtime interposes the same functions. Under
 * valgrind, --soname-synonyms=somalloc=nouserintercepts lets this malloc run and
 * valgrind's stand in for glibc's behind it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum cls { C_MALLOC, C_OPEN, C_READ, C_MMAP, C_STAT, C_WRITE, C_FSYNC, C_RENAME, C_COUNT };

static const char *const cls_name[C_COUNT] = {
        "malloc", "open", "read", "mmap", "stat", "write", "fsync", "rename",
};

static struct {
	int ready;
	unsigned selected; /* bit per class */
	unsigned long nth, every;
	int err; /* 0: the class's default */
	int trace;
	int armed;
	int spare_libconfig;
	pid_t pid; /* the process that writes FAILINJ_COUNT */
	unsigned long total;
	unsigned long count[C_COUNT];
} st;

/* The glibc entry points of the allocator: calling them needs no dlsym, which itself
 * allocates. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);

/* What this file exports besides the calls <fcntl.h>, <unistd.h> and friends declare: the
 * fortified forms _FORTIFY_SOURCE builds call, and the arming switch for drivers. */
int failinj_arm(int on);
void config_init(void *config);
void config_set_include_dir(void *config, const char *dir);
int config_read_file(void *config, const char *path);
int config_read_string(void *config, const char *str);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);

/* Environment, read without allocating: this runs inside the first intercepted call,
 * which may come from the dynamic loader or another library's constructor. */
static unsigned long env_ul(const char *name)
{
	const char *v = getenv(name);

	return v ? strtoul(v, NULL, 10) : 0;
}

static void setup(void)
{
	const char *calls = getenv("FAILINJ_CALL");
	const char *arm = getenv("FAILINJ_ARM");
	const char *spare = getenv("FAILINJ_SPARE");
	const char *prog = getenv("FAILINJ_PROG");

	if (__atomic_load_n(&st.ready, __ATOMIC_ACQUIRE))
		return;
	st.selected = 0;
	if (!calls || !*calls || strcmp(calls, "all") == 0) {
		st.selected = (1u << C_COUNT) - 1;
	} else {
		for (int c = 0; c < C_COUNT; c++) {
			size_t n = strlen(cls_name[c]);
			const char *p = calls;

			while ((p = strstr(p, cls_name[c])) != NULL) {
				if ((p == calls || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
					st.selected |= 1u << c;
				p += n;
			}
		}
	}
	/* Not the program under test: nothing counts, nothing fails. */
	if (prog && strcmp(prog, program_invocation_short_name) != 0)
		st.selected = 0;
	st.nth = env_ul("FAILINJ_NTH");
	st.every = env_ul("FAILINJ_EVERY");
	st.err = (int)env_ul("FAILINJ_ERRNO");
	st.trace = getenv("FAILINJ_TRACE") != NULL;
	st.armed = !(arm && strcmp(arm, "manual") == 0);
	st.spare_libconfig = spare && strstr(spare, "libconfig");
	st.pid = (pid_t)syscall(SYS_getpid);
	__atomic_store_n(&st.ready, 1, __ATOMIC_RELEASE);
}

/* stderr without stdio (which may be what is failing) and without the write we wrap. */
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)syscall(SYS_write, 2, line,
		              (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
}

/* Set while a spared library function runs (per thread: it is the caller's stack). */
static __thread int spared;

/* Count a call of class `c` by `fn`; true when it must fail. errno is then set. */
static int fail_now(enum cls c, const char *fn, const void *caller)
{
	unsigned long n;
	int fail;

	setup();
	if (!__atomic_load_n(&st.armed, __ATOMIC_RELAXED) || !(st.selected & (1u << c)) || spared)
		return 0;
	__atomic_add_fetch(&st.count[c], 1, __ATOMIC_RELAXED);
	n = __atomic_add_fetch(&st.total, 1, __ATOMIC_RELAXED);
	fail = (st.nth && n == st.nth) || (st.every && n % st.every == 0);
	if (!fail)
		return 0;
	if (st.trace) {
		Dl_info info;
		const char *obj = "?";
		uintptr_t off = 0;

		/* dladdr allocates nothing; it may take the loader lock, which a call from
		 * inside the loader already holds recursively. */
		if (dladdr(caller, &info) && info.dli_fname) {
			obj = info.dli_fname;
			off = (uintptr_t)caller - (uintptr_t)info.dli_fbase;
		}
		say("failinj: call %lu (%s #%lu) fails: %s from %s+%#lx\n", n, cls_name[c],
		    st.count[c], fn, obj, (unsigned long)off);
	}
	if (st.err)
		errno = st.err;
	else if (c == C_MALLOC || c == C_MMAP)
		errno = ENOMEM;
	else if (c == C_OPEN)
		errno = EMFILE;
	else
		errno = EIO;
	return 1;
}

#define CALLER __builtin_return_address(0)

/* The next definition of `name`, looked up once. `args` is a parameter list, which no
 * parentheses may wrap. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define REAL(type, name, args)                                                                     \
	static type(*real_##name) args;                                                            \
	if (!real_##name)                                                                          \
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name);
/* NOLINTEND(bugprone-macro-parentheses) */

EXPORT int failinj_arm(int on)
{
	setup();
	return __atomic_exchange_n(&st.armed, on, __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void failinj_fini(void)
{
	const char *file = getenv("FAILINJ_COUNT");
	char line[64];
	int fd, n;

	if (!file || !st.ready || (pid_t)syscall(SYS_getpid) != st.pid)
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	                  0600);
	if (fd < 0)
		return;
	for (int c = 0; c < C_COUNT; c++) {
		if (!st.count[c])
			continue;
		n = snprintf(line, sizeof(line), "%s %lu\n", cls_name[c], st.count[c]);
		(void)syscall(SYS_write, fd, line, (size_t)n);
	}
	n = snprintf(line, sizeof(line), "total %lu\n", st.total);
	(void)syscall(SYS_write, fd, line, (size_t)n);
	(void)syscall(SYS_close, fd);
}

/* ---- spared library functions ----------------------------------------------------------- */

EXPORT void config_init(void *config)
{
	REAL(void, config_init, (void *))

	setup();
	spared += st.spare_libconfig;
	real_config_init(config);
	spared -= st.spare_libconfig;
}

EXPORT void config_set_include_dir(void *config, const char *dir)
{
	REAL(void, config_set_include_dir, (void *, const char *))

	setup();
	spared += st.spare_libconfig;
	real_config_set_include_dir(config, dir);
	spared -= st.spare_libconfig;
}

EXPORT int config_read_file(void *config, const char *path)
{
	REAL(int, config_read_file, (void *, const char *))
	int r;

	if (!real_config_read_file) {
		errno = ENOSYS;
		return 0; /* CONFIG_FALSE: nobody without libconfig calls this */
	}
	setup();
	spared += st.spare_libconfig;
	r = real_config_read_file(config, path);
	spared -= st.spare_libconfig;
	return r;
}

EXPORT int config_read_string(void *config, const char *str)
{
	REAL(int, config_read_string, (void *, const char *))
	int r;

	if (!real_config_read_string) {
		errno = ENOSYS;
		return 0; /* CONFIG_FALSE: nobody without libconfig calls this */
	}
	setup();
	spared += st.spare_libconfig;
	r = real_config_read_string(config, str);
	spared -= st.spare_libconfig;
	return r;
}

/* ---- malloc ---------------------------------------------------------------------------- */

EXPORT void *malloc(size_t n)
{
	if (fail_now(C_MALLOC, "malloc", CALLER))
		return NULL;
	return __libc_malloc(n);
}

EXPORT void *calloc(size_t n, size_t m)
{
	if (fail_now(C_MALLOC, "calloc", CALLER))
		return NULL;
	return __libc_calloc(n, m);
}

EXPORT void *realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: not an allocation that can fail. */
	if (n && fail_now(C_MALLOC, "realloc", CALLER))
		return NULL;
	return __libc_realloc(p, n);
}

EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, m, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	if (bytes && fail_now(C_MALLOC, "reallocarray", CALLER))
		return NULL;
	return __libc_realloc(p, bytes);
}

/* ---- open ------------------------------------------------------------------------------ */

/* The mode argument is there only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, mode)                                                                      \
	do {                                                                                       \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                           \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			(mode) = va_arg(ap, mode_t);                                               \
			va_end(ap);                                                                \
		}                                                                                  \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	REAL(int, open, (const char *, int, ...))

	MODE_ARG(flags, mode);
	if (fail_now(C_OPEN, "open", CALLER))
		return -1;
	return real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	REAL(int, open64, (const char *, int, ...))

	MODE_ARG(flags, mode);
	if (fail_now(C_OPEN, "open64", CALLER))
		return -1;
	return real_open64(path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	REAL(int, openat, (int, const char *, int, ...))

	MODE_ARG(flags, mode);
	if (fail_now(C_OPEN, "openat", CALLER))
		return -1;
	return real_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	REAL(int, openat64, (int, const char *, int, ...))

	MODE_ARG(flags, mode);
	if (fail_now(C_OPEN, "openat64", CALLER))
		return -1;
	return real_openat64(dirfd, path, flags, mode);
}

/* What _FORTIFY_SOURCE makes of open() whose flags are not a constant. */
EXPORT int __open_2(const char *path, int flags)
{
	REAL(int, __open_2, (const char *, int))

	if (fail_now(C_OPEN, "__open_2", CALLER))
		return -1;
	return real___open_2(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	REAL(int, __open64_2, (const char *, int))

	if (fail_now(C_OPEN, "__open64_2", CALLER))
		return -1;
	return real___open64_2(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	REAL(int, __openat_2, (int, const char *, int))

	if (fail_now(C_OPEN, "__openat_2", CALLER))
		return -1;
	return real___openat_2(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	REAL(int, __openat64_2, (int, const char *, int))

	if (fail_now(C_OPEN, "__openat64_2", CALLER))
		return -1;
	return real___openat64_2(dirfd, path, flags);
}

/* fopen opens its file inside the C library, where open cannot be interposed: the
 * config file and /etc/passwd are read through it. */
EXPORT FILE *fopen(const char *path, const char *mode)
{
	REAL(FILE *, fopen, (const char *, const char *))

	if (fail_now(C_OPEN, "fopen", CALLER))
		return NULL;
	return real_fopen(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	REAL(FILE *, fopen64, (const char *, const char *))

	if (fail_now(C_OPEN, "fopen64", CALLER))
		return NULL;
	return real_fopen64(path, mode);
}

/* ---- read ------------------------------------------------------------------------------ */

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	REAL(ssize_t, read, (int, void *, size_t))

	if (fail_now(C_READ, "read", CALLER))
		return -1;
	return real_read(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	REAL(ssize_t, __read_chk, (int, void *, size_t, size_t))

	if (fail_now(C_READ, "__read_chk", CALLER))
		return -1;
	return real___read_chk(fd, buf, n, buflen);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pread, (int, void *, size_t, off_t))

	if (fail_now(C_READ, "pread", CALLER))
		return -1;
	return real_pread(fd, buf, n, off);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pread64, (int, void *, size_t, off_t))

	if (fail_now(C_READ, "pread64", CALLER))
		return -1;
	return real_pread64(fd, buf, n, off);
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	REAL(ssize_t, __pread_chk, (int, void *, size_t, off_t, size_t))

	if (fail_now(C_READ, "__pread_chk", CALLER))
		return -1;
	return real___pread_chk(fd, buf, n, off, buflen);
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	REAL(ssize_t, __pread64_chk, (int, void *, size_t, off_t, size_t))

	if (fail_now(C_READ, "__pread64_chk", CALLER))
		return -1;
	return real___pread64_chk(fd, buf, n, off, buflen);
}

/* ---- mmap ------------------------------------------------------------------------------ */

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(void *, mmap, (void *, size_t, int, int, int, off_t))

	if (fail_now(C_MMAP, "mmap", CALLER))
		return MAP_FAILED;
	return real_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(void *, mmap64, (void *, size_t, int, int, int, off_t))

	if (fail_now(C_MMAP, "mmap64", CALLER))
		return MAP_FAILED;
	return real_mmap64(addr, len, prot, flags, fd, off);
}

/* ---- stat ------------------------------------------------------------------------------ */

EXPORT int fstat(int fd, struct stat *sb)
{
	REAL(int, fstat, (int, struct stat *))

	if (fail_now(C_STAT, "fstat", CALLER))
		return -1;
	return real_fstat(fd, sb);
}

EXPORT int fstat64(int fd, struct stat64 *sb)
{
	REAL(int, fstat64, (int, struct stat64 *))

	if (fail_now(C_STAT, "fstat64", CALLER))
		return -1;
	return real_fstat64(fd, sb);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *sb, int flags)
{
	REAL(int, fstatat, (int, const char *, struct stat *, int))

	if (fail_now(C_STAT, "fstatat", CALLER))
		return -1;
	return real_fstatat(dirfd, path, sb, flags);
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *sb, int flags)
{
	REAL(int, fstatat64, (int, const char *, struct stat64 *, int))

	if (fail_now(C_STAT, "fstatat64", CALLER))
		return -1;
	return real_fstatat64(dirfd, path, sb, flags);
}

EXPORT int lstat(const char *path, struct stat *sb)
{
	REAL(int, lstat, (const char *, struct stat *))

	if (fail_now(C_STAT, "lstat", CALLER))
		return -1;
	return real_lstat(path, sb);
}

EXPORT int lstat64(const char *path, struct stat64 *sb)
{
	REAL(int, lstat64, (const char *, struct stat64 *))

	if (fail_now(C_STAT, "lstat64", CALLER))
		return -1;
	return real_lstat64(path, sb);
}

EXPORT int stat(const char *path, struct stat *sb)
{
	REAL(int, stat, (const char *, struct stat *))

	if (fail_now(C_STAT, "stat", CALLER))
		return -1;
	return real_stat(path, sb);
}

EXPORT int stat64(const char *path, struct stat64 *sb)
{
	REAL(int, stat64, (const char *, struct stat64 *))

	if (fail_now(C_STAT, "stat64", CALLER))
		return -1;
	return real_stat64(path, sb);
}

/* ---- write ----------------------------------------------------------------------------- */

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t))

	if (fail_now(C_WRITE, "write", CALLER))
		return -1;
	return real_write(fd, buf, n);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t))

	if (fail_now(C_WRITE, "pwrite", CALLER))
		return -1;
	return real_pwrite(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, (int, const void *, size_t, off_t))

	if (fail_now(C_WRITE, "pwrite64", CALLER))
		return -1;
	return real_pwrite64(fd, buf, n, off);
}

/* ---- fsync ----------------------------------------------------------------------------- */

EXPORT int fsync(int fd)
{
	REAL(int, fsync, (int))

	if (fail_now(C_FSYNC, "fsync", CALLER))
		return -1;
	return real_fsync(fd);
}

EXPORT int fdatasync(int fd)
{
	REAL(int, fdatasync, (int))

	if (fail_now(C_FSYNC, "fdatasync", CALLER))
		return -1;
	return real_fdatasync(fd);
}

/* ---- rename ---------------------------------------------------------------------------- */

EXPORT int rename(const char *from, const char *to)
{
	REAL(int, rename, (const char *, const char *))

	if (fail_now(C_RENAME, "rename", CALLER))
		return -1;
	return real_rename(from, to);
}

EXPORT int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	REAL(int, renameat, (int, const char *, int, const char *))

	if (fail_now(C_RENAME, "renameat", CALLER))
		return -1;
	return real_renameat(fromfd, from, tofd, to);
}

EXPORT int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	REAL(int, renameat2, (int, const char *, int, const char *, unsigned))

	if (fail_now(C_RENAME, "renameat2", CALLER))
		return -1;
	return real_renameat2(fromfd, from, tofd, to, flags);
}
