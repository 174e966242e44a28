/*
 * Writing the store: only rotsecd and rotsecctl do this, always under the store lock,
 * always by atomic replacement (safefile.h), one file at a time.
 *
 * Order (ARCHITECTURE.md, contract §2): adding an account writes secrets.cdb before accounts.cdb,
 * so an account is never visible without its secret; removing one writes accounts.cdb first.
 * The engine decides the order; this file writes what it is given.
 */
#ifndef ROTSEC_STORE_WRITE_H
#define ROTSEC_STORE_WRITE_H

#include <stdint.h>
#include <sys/types.h>

#include "record.h"
#include "safefile.h"
#include "store_read.h"

struct rs_store_account {
	char name[RS_NAME_MAX + 1];
	uint32_t uid, gid;
	char gecos[RS_FIELD_MAX], home[RS_FIELD_MAX], shell[RS_FIELD_MAX];
	uint32_t *sup_gids; /* supplementary groups (initgroups), primary excluded */
	size_t nsup;
};

struct rs_store_group {
	char name[RS_NAME_MAX + 1];
	uint32_t gid;
	char (*members)[RS_NAME_MAX + 1];
	size_t nmembers;
};

struct rs_accounts_data {
	struct rs_store_account *acc;
	size_t nacc;
	struct rs_store_group *grp;
	size_t ngrp;
};

struct rs_secrets_data {
	struct rs_secret_rec *rec;
	size_t n;
};

/* The store directory, pinned and locked for writing. */
struct rs_store_w {
	int dirfd;
	int lockfd;
};

/* Check the directory like a reader would, then take the store lock (timeout_ms).
 * -ETIMEDOUT when another writer holds it that long. */
int rs_store_w_open(const char *dir, int timeout_ms, struct rs_store_w *w, char *why,
                    size_t whylen);
void rs_store_w_close(struct rs_store_w *w);

/* Replace accounts.cdb / secrets.cdb with `d`, stamped with `generation`.
 * secrets.cdb gets mode 0640 and group `gid` when gid != 0, else 0600 root:root, and in
 * its header the cost profile of its records (hashes.h); a tripwire whose salt no
 * computation of a login covers (a store written before salts were kept) is dropped. */
int rs_store_write_accounts(struct rs_store_w *w, const struct rs_accounts_data *d,
                            uint64_t generation);
int rs_store_write_secrets(struct rs_store_w *w, const struct rs_secrets_data *d,
                           uint64_t generation, gid_t gid);

/*
 * A secrets.cdb that differs from the one read in `old` only in the records named in
 * `changed` (each must be in `old`, else -ENOENT), stamped with `generation` and the cost
 * profile of its records: untouched records are copied as they are, each checked as
 * readers parse it (-EPROTO for a damaged one, which is never carried over), so the cost
 * is a copy of the file, not a decoding and encoding of every account (only a record
 * with a tripwire to drop, as rs_store_write_secrets drops it, is encoded anew). The
 * file is left in
 * `staged`, a temp file written but not yet synced: rs_atomic_commit puts it in place,
 * rs_atomic_abort drops it. In between the caller may make what must precede it durable
 * (a rotation's journal). On error nothing is left behind.
 */
int rs_store_stage_secrets(struct rs_store_w *w, const struct rs_map *old,
                           const struct rs_secret_rec *changed, size_t nchanged,
                           uint64_t generation, gid_t gid, struct rs_atomic *staged);

/* Read every secret record of DIR (n = 0 when the file does not exist yet) and the
 * file's generation. Free with rs_secrets_data_free. */
int rs_store_load_secrets(const char *dir, struct rs_secrets_data *out, uint64_t *generation,
                          char *why, size_t whylen);
/* Generation of accounts.cdb, 0 when it does not exist. */
int rs_store_accounts_generation(const char *dir, uint64_t *generation, char *why, size_t whylen);
void rs_secrets_data_free(struct rs_secrets_data *d);

/* Encode a secret record (for tests and the writer). Returns the length, -ENOSPC, or
 * -EINVAL for a record readers would refuse (bad name or hash, negative time, unknown
 * flag, more than RS_TRIPWIRE_MAX tripwires). The writers refuse such data the same way:
 * rs_store_write_* return -EINVAL and leave the old file in place. */
int rs_encode_secret(const struct rs_secret_rec *r, char *buf, size_t len);

#endif
