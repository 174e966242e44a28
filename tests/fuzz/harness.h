/*
 * Helpers shared by the libFuzzer targets in tests/fuzz/ (built by `make fuzz`, run
 * briefly by tests/sh/t-fuzz.sh).
 *
 * The targets run as root, like the rest of the test suite, because the store reader
 * refuses files that root does not own. Their scratch files live in one private
 * directory per process, under $FUZZ_TMPDIR, /dev/shm or /tmp (the first that exists),
 * removed at exit: tmpfs keeps the per-input writes (and the fsyncs of the journal
 * writer) off the disk.
 */
#ifndef ROTSEC_FUZZ_HARNESS_H
#define ROTSEC_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every target defines these two (libFuzzer's interface). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a crash libFuzzer records, with the input) when `cond` is false. Invariants of
 * the code under test are checked this way, not with assert(), so they hold in every
 * build. */
#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(#cond, __FILE__, __LINE__);                                        \
	} while (0)
__attribute__((noreturn)) void fz_fail(const char *what, const char *file, int line);

/* The process's scratch directory (mode 0700, root-owned), made on first use. A
 * subdirectory `name` of it (mode 0755), made if missing; the path is returned in a
 * static buffer per call site's `buf`. Exit on failure: nothing can be fuzzed without. */
const char *fz_scratch(void);
void fz_subdir(const char *name, char *buf, size_t len);

/* Replace DIR/NAME with exactly these bytes (temp file + rename, owner root, `mode`), as
 * the store writer does: the old file, still mapped by a reader, keeps its inode, so the
 * new one never looks the same to the reader's cache check. Exit on failure. */
void fz_write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode);

/* A NUL-terminated malloc'ed copy of `len` bytes (NULs inside are kept, so C string
 * functions see the part before the first). Never NULL: exits when out of memory. */
char *fz_strndup(const void *data, size_t len);

/* A copy of `len` bytes whose last byte is the last one before an inaccessible page, so
 * that reading one byte too far faults even in code that ASan does not instrument
 * (tinycdb, libsodium). Valid until the next call. Inputs above 64 MiB get a plain
 * copy. */
const uint8_t *fz_guarded(const void *data, size_t len);

/* A cursor over the input, for targets that split it into several fields. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
/* `n` bytes (fewer at the end of the input), *got set to how many. */
const uint8_t *fz_bytes(struct fz_in *in, size_t n, size_t *got);

#endif
