/*
 * nss_rotsec internals (ARCHITECTURE.md, contract §2, issue 4).
 *
 * The module is loaded into every process on the host that resolves a user, so it keeps
 * very little state: two store handles (accounts.cdb, secrets.cdb) whose read-only
 * "mappings" (copies of the files in memory, store_read.h: a file copied over in place
 * must not kill the process with SIGBUS) live across calls, one enumeration cursor per map, and a
 * bit set of failures already logged. The exported entry points (nss_rotsec.c) are thin: check the
 * name, call one function from nss_lookup.c, turn its result into an enum nss_status.
 *
 * Every internal function returns 1 found, 0 absent, or a negative errno:
 *   -ERANGE   the caller's buffer is too small   -> TRYAGAIN, *errnop = ERANGE
 *   -ENOMEM                                       -> TRYAGAIN, *errnop = ENOMEM
 *   other     store missing, unreadable, unsafe or malformed -> UNAVAIL, already logged
 */
#ifndef NSS_ROTSEC_H
#define NSS_ROTSEC_H

#include <grp.h>
#include <pthread.h>
#include <stdbool.h>
#include <pwd.h>
#include <shadow.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store_read.h"

/* The two store files. */
enum nss_file { NSS_ACCOUNTS = 0, NSS_SECRETS = 1 };

/* The three enumerable maps. */
enum nss_db { NSS_DB_PASSWD = 0, NSS_DB_GROUP, NSS_DB_SHADOW, NSS_DB_COUNT };

/*
 * getpwent(3) and friends keep their position between calls. One cursor per map, under
 * its own mutex: glibc serialises setXXent/getXXent/endXXent per database, but other
 * callers (nss_wrapper, programs that dlopen us) need not, and getpwent_r(3) NOTES ask
 * for a module that stays consistent either way. The cursor holds a reference to the
 * mapping it started on, so an enumeration is one snapshot of the store: a replacement
 * in the middle can neither skip nor repeat an entry.
 */
struct nss_cursor {
	pthread_mutex_t lock;
	const struct rs_map *map; /* NULL until the first call after set/end */
	uint32_t next;            /* index of the next entry to return */
	uint32_t hint;            /* where in `map` to look for it (rs_map_find_index) */
};

/* nss_store.c: store handles, failure log, cursors, fork handlers. */
int nss_store_acquire(enum nss_file f, const struct rs_map **m);
/* nss_store_acquire before a lookup of `key` (rs_store_acquire_for). */
int nss_store_acquire_for(enum nss_file f, const char *key, size_t klen, const struct rs_map **m);
void nss_store_release(enum nss_file f, const struct rs_map *m);
/* Log (once per process and kind) that a record of `f` under `key` is malformed. */
void nss_store_malformed(enum nss_file f, const char *key);
/* Lock the cursor and make sure it holds a mapping; unlock with nss_cursor_unlock. */
int nss_cursor_lock(enum nss_db db, struct nss_cursor **out);
void nss_cursor_unlock(struct nss_cursor *c);
/* Rewind the cursor and drop its snapshot (endXXent); with `snapshot`, take a new one
 * at once (setXXent), so an unusable store is reported there. */
int nss_cursor_rewind(enum nss_db db, bool snapshot);

/* nss_pack.c: records into the caller's struct and buffer. 1, or -ERANGE with the buffer
 * untouched. */
int nss_pack_passwd(const struct rs_pw_view *v, struct passwd *pw, char *buf, size_t len);
int nss_pack_group(const struct rs_gr_view *v, struct group *gr, char *buf, size_t len);
int nss_pack_shadow(const struct rs_secret_rec *s, struct spwd *sp, char *buf, size_t len);
/* Append `gid` to a glibc initgroups array unless it is `skip` or already there, growing
 * it within `limit`. 1 added, 0 not added (duplicate, or the limit is reached), -ENOMEM. */
int nss_add_gid(gid_t gid, gid_t skip, long *start, long *size, gid_t **groupsp, long limit);

/* nss_lookup.c: the lookups behind the entry points. */
int nss_getpw_name(const char *name, struct passwd *pw, char *buf, size_t len);
int nss_getpw_uid(uid_t uid, struct passwd *pw, char *buf, size_t len);
int nss_getpw_next(struct passwd *pw, char *buf, size_t len);
int nss_getgr_name(const char *name, struct group *gr, char *buf, size_t len);
int nss_getgr_gid(gid_t gid, struct group *gr, char *buf, size_t len);
int nss_getgr_next(struct group *gr, char *buf, size_t len);
int nss_getsp_name(const char *name, struct spwd *sp, char *buf, size_t len);
int nss_getsp_next(struct spwd *sp, char *buf, size_t len);
int nss_initgroups(const char *user, gid_t skip, long *start, long *size, gid_t **groupsp,
                   long limit);

#endif
