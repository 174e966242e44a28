#define _GNU_SOURCE
#include "store_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int rs_store_init(struct rs_store *s, const char *dir, const char *file)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	if (!dir || dir[0] != '/')
		return -EINVAL;
	if (strlen(file) >= sizeof(s->file) ||
	    snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir) ||
	    snprintf(s->path, sizeof(s->path), "%s/%s", dir, file) >= (int)sizeof(s->path))
		return -ENAMETOOLONG;
	memcpy(s->file, file, strlen(file) + 1);
	s->magic = strcmp(file, RS_SECRETS_FILE) == 0 ? RS_SECRETS_MAGIC : RS_ACCOUNTS_MAGIC;
	return 0;
}

static void map_free(struct rs_map *m)
{
	/* Not cdb_free: the memory is the copy read_copy made, never a mapping of the file. */
	if (m->copy)
		(void)munmap(m->copy, m->copy_len);
	free(m);
}

/* Called with the lock held: the current mapping is no longer the file on disk. */
static void retire_current(struct rs_store *s)
{
	struct rs_map *m = s->cur;

	s->cur = NULL;
	if (!m)
		return;
	m->retired = 1;
	if (m->refs == 0)
		map_free(m);
}

static int same_file(const struct rs_map *m, const struct stat *st)
{
	return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
	       m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       m->ctime.tv_sec == st->st_ctim.tv_sec && m->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/*
 * The layout cdb_make writes: a 2048-byte table of contents of 256 (position, slots)
 * pairs, the records, then the 256 hash tables back to back up to the end of the file.
 * tinycdb checks offsets lazily, one lookup at a time, so a truncated file whose header
 * still resolves would otherwise be served with some keys missing; checking the table
 * of contents once turns truncation and most garbage into a refusal of the whole file.
 */
static int cdb_layout_ok(const struct cdb *c)
{
	uint64_t size = c->cdb_fsize, dend, tables = 0;
	unsigned i;

	if (size < 2048)
		return 0;
	dend = cdb_unpack(c->cdb_mem);
	if (dend < 2048 || dend > size)
		return 0;
	for (i = 0; i < 256; i++) {
		uint64_t pos = cdb_unpack(c->cdb_mem + (size_t)8 * i);
		uint64_t slots = cdb_unpack(c->cdb_mem + (size_t)8 * i + 4);

		if (pos < dend || pos > size || slots > (size - pos) / 8)
			return 0;
		tables += slots * 8;
	}
	return tables == size - dend;
}

/*
 * What every mapping must pass before anyone reads from it, whether it came from a file
 * (map_new) or from a buffer (rs_map_open_mem, for the fuzz targets): the CDB layout, a
 * header of the expected kind and format, and record counts the size can hold. `label`
 * names the data in `why`.
 */
static int map_check(struct rs_map *m, const char *magic, const char *label, char *why,
                     size_t whylen)
{
	const char *val;
	size_t vlen;
	int r;

	if (!cdb_layout_ok(&m->cdb)) {
		(void)snprintf(why, whylen, "%s is not a valid store file", label);
		return -EPROTO;
	}
	r = rs_map_find(m, RS_KEY_META, strlen(RS_KEY_META), &val, &vlen);
	if (r == 1)
		r = rs_parse_meta(val, vlen, magic, &m->meta);
	else if (r == 0)
		r = -EPROTO;
	if (r < 0) {
		(void)snprintf(why, whylen, "%s has no valid header (format %d expected)", label,
		               strcmp(magic, RS_SECRETS_MAGIC) == 0 ? RS_SECRETS_VERSION
		                                                    : RS_FORMAT_VERSION);
		return -EPROTO;
	}
	/* The header's counts size allocations (rs_store_load_secrets) and bound enumeration
	 * loops. Every counted entry is several CDB records of well over 16 bytes each, so a
	 * count the file cannot hold is a damaged header, not a reason to allocate
	 * gigabytes. */
	if ((uint64_t)m->meta.count[0] + m->meta.count[1] > (uint64_t)m->cdb.cdb_fsize / 16) {
		(void)snprintf(why, whylen, "%s has a damaged header (record counts)", label);
		return -EPROTO;
	}
	return 0;
}

/* Whether the bytes of the file behind fd are still those fstat described before it was
 * read: its size and mtime. Not its ctime, which the writer's rename of a new file over
 * this one changes (the link count drops) without touching a byte of it. */
static bool unchanged(int fd, const struct stat *before)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_size == before->st_size &&
	       st.st_mtim.tv_sec == before->st_mtim.tv_sec &&
	       st.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

/*
 * The file's bytes, read into private memory: 0 and m->copy, or a negative errno.
 *
 * Why a copy and not a mapping (issue 13): a file truncated in place (root copying a
 * backup over it with cp, instead of renaming one into place as the writer does) takes the
 * pages of every mapping of it away, and the next read of one raises SIGBUS, which kills
 * the process it happens in: sshd, cron, su, any program that looks up a user. The lstat
 * of every call notices such a change, but not one made between that check and the reads
 * of a lookup, nor under an enumeration that holds its snapshot across calls. A private
 * copy cannot be taken away. It costs one read of the file per process and version of the
 * file (bench/README.md has the figures), and memory of its size in every process that
 * reads it; a lookup then costs what it cost in a mapping.
 */
static int read_copy(struct rs_store *s, int fd, const struct stat *st, struct rs_map *m)
{
	size_t len = (size_t)st->st_size, got = 0;
	void *p;

	if (st->st_size < 2048) {
		(void)snprintf(s->why, sizeof(s->why), "%s is not a valid store file", s->path);
		return -EPROTO;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		(void)snprintf(s->why, sizeof(s->why), "cannot read %s: %s", s->path,
		               strerror(errno));
		return errno == ENOMEM ? -ENOMEM : -EIO;
	}
	/* Large copies in 2 MiB pages where the system allows it: fewer page faults while
	 * reading, and lookups in a large store miss the TLB less. Advice only. */
	if (len >= ((size_t)2 << 20))
		(void)madvise(p, len, MADV_HUGEPAGE);
	while (got < len) {
		ssize_t n = read(fd, (char *)p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* A file that shrank or changed while it was read is being written in place: not a
	 * store to trust, and not one to keep (the next call reads it again). */
	if (got != len || !unchanged(fd, st)) {
		(void)munmap(p, len);
		(void)snprintf(s->why, sizeof(s->why),
		               "%s changed while it was read (written in place rather than "
		               "replaced)",
		               s->path);
		return -EPROTO;
	}
	(void)mprotect(p, len, PROT_READ);
	m->copy = p;
	m->copy_len = len;
	/* The fields cdb_init would set for a file of these bytes. */
	m->cdb.cdb_fd = -1;
	m->cdb.cdb_fsize = (unsigned)len;
	m->cdb.cdb_mem = p;
	m->cdb.cdb_dend = cdb_unpack(p);
	if (m->cdb.cdb_dend < 2048 || m->cdb.cdb_dend > len)
		m->cdb.cdb_dend = m->cdb.cdb_dend < 2048 ? 2048 : (unsigned)len;
	return 0;
}

static int map_new(struct rs_store *s, struct rs_map **out)
{
	struct rs_map *m;
	struct stat st;
	int dirfd, fd, r;

	dirfd = rs_open_safe_dir(s->dir, 0, s->why, sizeof(s->why));
	if (dirfd < 0)
		return dirfd;
	fd = rs_open_safe_file(dirfd, s->file, s->path, RS_STORE_MAX_SIZE, &st, s->why,
	                       sizeof(s->why));
	close(dirfd);
	if (fd < 0)
		return fd;
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	r = read_copy(s, fd, &st, m);
	close(fd);
	if (r < 0) {
		free(m);
		return r;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	m->ctime = st.st_ctim;
	r = map_check(m, s->magic, s->path, s->why, sizeof(s->why));
	if (r < 0) {
		map_free(m);
		return r;
	}
	*out = m;
	return 0;
}

int rs_map_open_mem(const void *mem, size_t len, const char *magic, struct rs_map **out, char *why,
                    size_t whylen)
{
	struct rs_map *m;
	unsigned dend;
	int r;

	*out = NULL;
	/* What rs_open_safe_file and cdb_init refuse before map_check ever runs. */
	if (len > (size_t)RS_STORE_MAX_SIZE) {
		(void)snprintf(why, whylen, "buffer is too large");
		return -EFBIG;
	}
	if (len < 2048) {
		(void)snprintf(why, whylen, "buffer is not a valid store file");
		return -EPROTO;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* The fields cdb_init would set for a file of these bytes. */
	m->cdb.cdb_fd = -1;
	m->cdb.cdb_fsize = (unsigned)len;
	m->cdb.cdb_mem = mem;
	dend = cdb_unpack(mem);
	m->cdb.cdb_dend = dend < 2048 ? 2048 : dend >= len ? (unsigned)len : dend;
	m->size = (off_t)len;
	r = map_check(m, magic, "buffer", why, whylen);
	if (r < 0) {
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

void rs_map_close_mem(struct rs_map *m)
{
	/* Not cdb_free: the memory is the caller's, never mapped here. */
	free(m);
}

/* Without snprintf: every lookup makes a key, and parsing a format is no small part of
 * a path this short (bench/README.md). */
size_t rs_map_key(char key[RS_KEY_MAX], const char *prefix, const char *k)
{
	size_t p = strnlen(prefix, RS_KEY_MAX), n = strnlen(k, RS_KEY_MAX);

	if (p + n >= RS_KEY_MAX)
		return 0;
	memcpy(key, prefix, p);
	memcpy(key + p, k, n);
	key[p + n] = '\0';
	return p + n;
}

/*
 * Ask for the hash table slot that a lookup of `key` in m reads first (as cdb_find
 * finds it): in a large store it is a random place of the file, seldom in the CPU's
 * caches, and fetching it from memory takes as long as the check of the file
 * (bench/README.md). Started before that check, the two overlap. A hint only: nothing is
 * read here but the header, whose bounds map_new checked; a slot out of the file is not
 * asked for.
 */
static void prefetch_slot(const struct rs_map *m, const char *key, size_t klen)
{
	const unsigned char *mem = m->cdb.cdb_mem;
	unsigned h = cdb_hash(key, (unsigned)klen), pos, n;

	pos = cdb_unpack(mem + ((h << 3) & 2047));
	n = cdb_unpack(mem + ((h << 3) & 2047) + 4);
	if (n && pos < m->cdb.cdb_fsize && ((h >> 8) % n) < (m->cdb.cdb_fsize - pos) / 8)
		__builtin_prefetch(mem + pos + (size_t)((h >> 8) % n) * 8);
}

int rs_store_acquire(struct rs_store *s, const struct rs_map **out, char *why, size_t whylen)
{
	return rs_store_acquire_for(s, NULL, 0, out, why, whylen);
}

int rs_store_acquire_for(struct rs_store *s, const char *key, size_t klen,
                         const struct rs_map **out, char *why, size_t whylen)
{
	struct rs_map *m = NULL;
	struct stat st;
	int r = 0, saved = errno;

	pthread_mutex_lock(&s->lock);
	if (s->cur && key && klen)
		prefetch_slot(s->cur, key, klen);
	/* The one system call of the fast path. lstat: a symlink put in place of the file
	 * differs from the mapped file and is then refused by map_new. */
	if (s->cur && lstat(s->path, &st) == 0 && same_file(s->cur, &st)) {
		m = s->cur;
	} else {
		retire_current(s);
		r = map_new(s, &m);
		if (r == 0)
			s->cur = m;
	}
	s->err = r;
	if (r == 0) {
		m->refs++;
		*out = m;
	} else if (why && whylen) {
		(void)snprintf(why, whylen, "%s", s->why);
	}
	pthread_mutex_unlock(&s->lock);
	errno = saved;
	return r;
}

void rs_store_release(struct rs_store *s, const struct rs_map *cm)
{
	struct rs_map *m = (struct rs_map *)cm;

	if (!m)
		return;
	pthread_mutex_lock(&s->lock);
	if (--m->refs == 0 && m->retired)
		map_free(m);
	pthread_mutex_unlock(&s->lock);
}

void rs_store_close(struct rs_store *s)
{
	pthread_mutex_lock(&s->lock);
	retire_current(s);
	pthread_mutex_unlock(&s->lock);
}

/* The hash tables' answer for key: 1 with its value and, when end is not NULL, the offset
 * just past the value in *end; 0 when it is not there; -EPROTO when the file is damaged. */
static int hash_find(const struct rs_map *m, const char *key, size_t klen, const char **val,
                     size_t *vlen, uint32_t *end)
{
	/* cdb_find stores its result in the struct: use a private copy so that threads
	 * sharing the mapping never write to shared memory. */
	struct cdb c = m->cdb;
	int r = cdb_find(&c, key, (unsigned)klen);

	if (r < 0)
		return -EPROTO;
	if (r == 0)
		return 0;
	*val = cdb_get(&c, cdb_datalen(&c), cdb_datapos(&c));
	if (!*val)
		return -EPROTO;
	*vlen = cdb_datalen(&c);
	if (end)
		*end = cdb_datapos(&c) + cdb_datalen(&c);
	return 1;
}

int rs_map_find(const struct rs_map *m, const char *key, size_t klen, const char **val,
                size_t *vlen)
{
	return hash_find(m, key, klen, val, vlen, NULL);
}

int rs_map_lookup(const struct rs_map *m, const char *prefix, const char *k, const char **val,
                  size_t *vlen)
{
	char key[RS_KEY_MAX];
	size_t n = rs_map_key(key, prefix, k);

	if (n == 0)
		return 0; /* longer than any key the writer makes: not there */
	return rs_map_find(m, key, n, val, vlen);
}

/* PREFIX followed by IDX in decimal, as the writer's keys are: the length, or 0 when it
 * does not fit. Without snprintf: an enumeration makes one key per entry. */
static size_t index_key(char key[RS_KEY_MAX], const char *prefix, uint32_t idx)
{
	char digits[10];
	size_t plen = strlen(prefix), n = 0, i;

	do {
		digits[n++] = (char)('0' + idx % 10);
		idx /= 10;
	} while (idx);
	if (plen + n >= RS_KEY_MAX)
		return 0;
	memcpy(key, prefix, plen);
	for (i = 0; i < n; i++)
		key[plen + i] = digits[n - 1 - i];
	key[plen + n] = '\0';
	return plen + n;
}

/* cdb_unpack, inlined: the walk reads two of these per record. */
static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The record at byte `pos` of the data section, bounds-checked against its end: 1 with
 * its key, value and the offset just past it; 0 when `pos` is not the start of a whole
 * record inside the data section (the walk then stops and the hash tables answer).
 */
static int record_at(const struct rs_map *m, uint64_t pos, const char **key, size_t *klen,
                     const char **val, size_t *vlen, uint64_t *next)
{
	const unsigned char *mem = m->cdb.cdb_mem;
	uint64_t dend = m->cdb.cdb_dend < m->cdb.cdb_fsize ? m->cdb.cdb_dend : m->cdb.cdb_fsize;
	uint64_t kl, vl;

	if (pos < 2048 || pos > dend || dend - pos < 8)
		return 0;
	kl = le32(mem + pos);
	vl = le32(mem + pos + 4);
	if (kl > dend - pos - 8 || vl > dend - pos - 8 - kl)
		return 0;
	*key = (const char *)mem + pos + 8;
	*klen = (size_t)kl;
	*val = *key + kl;
	*vlen = (size_t)vl;
	*next = pos + 8 + kl + vl;
	return 1;
}

/* Records looked at from the hint before the hash tables are asked instead: the writer
 * puts consecutive index records next to each other, or (secrets, and stores of earlier
 * writers) at most three records apart (record.h). */
#define WALK_MAX 8

int rs_map_find_index(const struct rs_map *m, const char *prefix, uint32_t idx, uint32_t *hint,
                      const char **val, size_t *vlen)
{
	char key[RS_KEY_MAX];
	size_t n = index_key(key, prefix, idx), kl;
	uint64_t pos = hint ? *hint : 0, next;
	const char *k;
	int i;

	if (n == 0)
		return 0;
	for (i = 0; pos && i < WALK_MAX && record_at(m, pos, &k, &kl, val, vlen, &next); i++) {
		if (kl == n && memcmp(k, key, n) == 0) {
			*hint = (uint32_t)next;
			return 1;
		}
		pos = next;
	}
	/* Not where the writer's order puts it (the first entry, or a file laid out some
	 * other way): the hash tables, then the walk goes on from the record found. */
	return hash_find(m, key, n, val, vlen, hint);
}

int rs_map_secret_by_name(const struct rs_map *m, const char *name, struct rs_secret_rec *rec)
{
	const char *val;
	size_t vlen;
	int r = rs_map_lookup(m, RS_KEY_SECNAM, name, &val, &vlen);

	if (r <= 0)
		return r;
	if (rs_parse_secret(val, vlen, rec) < 0 || strcmp(rec->name, name) != 0)
		return -EPROTO;
	return 1;
}

int rs_map_secret_raw_at_index(const struct rs_map *m, uint32_t idx, uint32_t *hint, bool by_name,
                               const char **val, size_t *vlen)
{
	char key[RS_KEY_MAX];
	const char *ival, *k;
	size_t ilen, namelen, kl;
	uint64_t next;
	uint32_t h = hint ? *hint : 0;
	int r = rs_map_find_index(m, RS_KEY_SECIDX, idx, &h, &ival, &ilen);

	if (r <= 0)
		return r;
	/* The account's name: version 2's index entry is the name, version 1's a copy of
	 * the record, whose first field is the name. Either way NUL-terminated and valid. */
	namelen = strnlen(ival, ilen);
	if (namelen == ilen || (m->meta.version != 1 && namelen + 1 != ilen) ||
	    !rs_name_valid(ival) || namelen + sizeof(RS_KEY_SECNAM) > sizeof(key))
		return -EPROTO;
	memcpy(key, RS_KEY_SECNAM, sizeof(RS_KEY_SECNAM) - 1);
	memcpy(key + sizeof(RS_KEY_SECNAM) - 1, ival, namelen);
	kl = sizeof(RS_KEY_SECNAM) - 1 + namelen;
	if (!by_name && m->meta.version == 1) {
		*val = ival;
		*vlen = ilen;
	} else if (!by_name && h && record_at(m, h, &k, &ilen, val, vlen, &next) && ilen == kl &&
	           memcmp(k, key, kl) == 0) {
		/* Version 2 as the writer lays it out: the record right after its entry. */
		h = (uint32_t)next;
	} else {
		r = rs_map_find(m, key, kl, val, vlen);
		if (r == 0)
			return -EPROTO; /* an index entry naming no account */
		if (r < 0)
			return r;
	}
	/* Whichever way it was found, the record must be the named account's: never one
	 * account's record handed out, or copied forward, as another's. */
	if (*vlen <= namelen || memcmp(*val, key + sizeof(RS_KEY_SECNAM) - 1, namelen) != 0 ||
	    (*val)[namelen] != '\0')
		return -EPROTO;
	if (hint)
		*hint = h;
	return 1;
}

int rs_map_secret_at_index(const struct rs_map *m, uint32_t idx, uint32_t *hint,
                           struct rs_secret_rec *rec)
{
	const char *val;
	size_t vlen;
	int r = rs_map_secret_raw_at_index(m, idx, hint, false, &val, &vlen);

	if (r <= 0)
		return r;
	return rs_parse_secret(val, vlen, rec) < 0 ? -EPROTO : 1;
}

int rs_map_secret_by_index(const struct rs_map *m, uint32_t idx, struct rs_secret_rec *rec)
{
	return rs_map_secret_at_index(m, idx, NULL, rec);
}
