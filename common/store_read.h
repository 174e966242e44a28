/*
 * Reading a store file: one read-only copy per file (the file read into private memory,
 * not mapped: a file truncated in place must not take pages away from under a reader,
 * store_read.c), kept across calls and shared by threads, revalidated with one lstat(2)
 * per call and replaced when the writer renamed a new file into place (dev, ino, size,
 * mtime or ctime differ). "Mapping" below means that copy.
 *
 * Made to live inside other processes (NSS in every process, PAM in sshd):
 *  - the fd is closed right after the file is read, so nothing leaks across exec or
 *    shows in /proc/self/fd;
 *  - a mapping is reference-counted: a thread still reading an old mapping keeps it
 *    alive while another thread maps the new file, so a lookup racing a store
 *    replacement sees the old data or the new, never an unmapped page;
 *  - the only state is the struct rs_store the caller owns; the caller's pthread_atfork
 *    handlers take and release its mutex so a child never inherits it locked.
 *
 * Errors (negative errno) from rs_store_acquire:
 *   -ENOENT store missing   -EACCES unreadable (e.g. not in group rotsec)
 *   -EPERM unsafe (ownership, mode, link, type)   -EPROTO malformed   -EFBIG too large
 * with one sentence saying why in s->why.
 */
#ifndef ROTSEC_STORE_READ_H
#define ROTSEC_STORE_READ_H

#include <cdb.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>

#include "record.h"
#include "safefile.h"

struct rs_map {
	struct cdb cdb; /* over `copy`, or the caller's memory (rs_map_open_mem) */
	void *copy;     /* the file's bytes, read into private memory (store_read.c says why) */
	size_t copy_len;
	struct rs_meta meta;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	unsigned long refs;
	int retired;
};

struct rs_store {
	pthread_mutex_t lock;
	char dir[PATH_MAX];
	char path[PATH_MAX];
	char file[32];
	const char *magic;
	struct rs_map *cur;
	int err; /* last error, 0 after success */
	char why[RS_WHY_MAX];
};

/* Set up a handle for DIR/FILE (FILE is RS_ACCOUNTS_FILE or RS_SECRETS_FILE).
 * -ENAMETOOLONG or -EINVAL for a relative dir. Nothing is opened yet. */
int rs_store_init(struct rs_store *s, const char *dir, const char *file);

/* Current mapping with a reference taken; release it with rs_store_release.
 * On error `why` (if given) receives the reason; s->err keeps the code. */
int rs_store_acquire(struct rs_store *s, const struct rs_map **out, char *why, size_t whylen);
/* rs_store_acquire before a lookup of `key` (rs_map_key; none when klen is 0): the
 * memory that lookup reads first is fetched while the file is checked (one system call),
 * rather than after. */
int rs_store_acquire_for(struct rs_store *s, const char *key, size_t klen,
                         const struct rs_map **out, char *why, size_t whylen);
void rs_store_release(struct rs_store *s, const struct rs_map *m);

/* Drop the mapping (at module unload). No reference may be held. */
void rs_store_close(struct rs_store *s);

/*
 * For the fuzz targets: a mapping of `len` bytes at `mem` (which must outlive it), put
 * through exactly the checks rs_store_acquire applies to a file's contents (layout,
 * header with `magic`, counts), so the lookups below can be driven without writing a file
 * per input. The checks of the file itself (path, owner, mode) are not involved.
 * Free with rs_map_close_mem, never with rs_store_release.
 */
int rs_map_open_mem(const void *mem, size_t len, const char *magic, struct rs_map **out, char *why,
                    size_t whylen);
void rs_map_close_mem(struct rs_map *m);

/* Look `key` up: 1 and the value (pointing into the mapping) when found, 0 when absent,
 * -EPROTO when the file is damaged. Thread-safe: works on a private copy of the cdb. */
int rs_map_find(const struct rs_map *m, const char *key, size_t klen, const char **val,
                size_t *vlen);

/* PREFIX + K as a store key, NUL-terminated: its length, or 0 when it is longer than any
 * key the writer makes (RS_KEY_MAX), which is then no record's. */
size_t rs_map_key(char key[RS_KEY_MAX], const char *prefix, const char *k);
/* rs_map_find of the key PREFIX + K (e.g. RS_KEY_PWNAM, "svc-backup"). */
int rs_map_lookup(const struct rs_map *m, const char *prefix, const char *k, const char **val,
                  size_t *vlen);

/*
 * The enumeration record PREFIX + IDX (RS_KEY_PWIDX, RS_KEY_GRIDX, RS_KEY_SECIDX), as
 * rs_map_find finds it, but read in file order when the caller walks the indexes in turn.
 * The writer adds the index records in index order (record.h), so record IDX + 1 lies a
 * few records after record IDX: with `hint` (0 before the first call, then left as this
 * function sets it) an enumeration reads the data section sequentially, every record
 * bounds-checked, instead of probing the hash tables twice per entry. Where the record is
 * not within a few records of the hint (the first call, a file laid out otherwise), the
 * hash tables answer, so the result never depends on the layout. hint may be NULL.
 */
int rs_map_find_index(const struct rs_map *m, const char *prefix, uint32_t idx, uint32_t *hint,
                      const char **val, size_t *vlen);

/* Secret records: 1 found (rec filled), 0 absent, -EPROTO damaged. _at_index walks with a
 * hint as rs_map_find_index does. */
int rs_map_secret_by_name(const struct rs_map *m, const char *name, struct rs_secret_rec *rec);
int rs_map_secret_by_index(const struct rs_map *m, uint32_t idx, struct rs_secret_rec *rec);
int rs_map_secret_at_index(const struct rs_map *m, uint32_t idx, uint32_t *hint,
                           struct rs_secret_rec *rec);
/* The bytes of secret record IDX, unparsed: 1, 0 absent, -EPROTO when the index entry is
 * damaged, names no record, or leads to a record of another name. Enumeration takes the
 * record the index leads to in file order; with by_name (the store writer, which must
 * carry forward what PAM accepts) it is always the one a lookup by name finds, even in a
 * file that holds a name twice. */
int rs_map_secret_raw_at_index(const struct rs_map *m, uint32_t idx, uint32_t *hint, bool by_name,
                               const char **val, size_t *vlen);

#endif
