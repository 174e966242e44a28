/*
 * The store's record formats (ARCHITECTURE.md, contract §2), shared by the writer and every reader.
 *
 * Both store files are CDB files. Every value is a sequence of fields, each terminated
 * by a NUL byte, so `cdb -d` shows them and a reader can hand out pointers into the
 * read-only mapping without copying. Readers check every field: a record that does not
 * parse exactly is "malformed" and the whole lookup fails closed.
 *
 * accounts.cdb (0644 root)
 *   "!meta"       "rotsec-accounts" version generation npasswd ngroups
 *   "pn:NAME"  "pu:UID"  "p#INDEX"   passwd: name uid gid gecos home shell
 *   "gn:NAME"  "gg:GID"  "g#INDEX"   group:  name gid member...
 *   "ig:NAME"                        supplementary gids of user NAME, for initgroups_dyn
 * secrets.cdb (0640 root:rotsec, or 0600 root:root)
 *   "!meta"       "rotsec-secrets" version generation naccounts dummy_hash...
 *   "sn:NAME"                        secret record, see struct rs_secret_rec
 *   "s#INDEX"                        version 2 and 3: NAME; version 1: the record again
 *
 * A rotation rewrites secrets.cdb whole, so its size is what a rotation writes and
 * fsyncs: since version 2 each secret record is kept once, under "sn:", and enumeration
 * goes from "s#INDEX" to it. Version 3 lists the store's cost profile in the header, one
 * dummy hash per computation a login does (hashes.h), where versions 1 and 2 had one
 * dummy hash; its records keep one salt per account and class (a tripwire with another
 * salt is dropped when the record is written). Readers take every version; writers write
 * version 3.
 *
 * The INDEX keys give enumeration (getpwent and friends) a stable order from 0 to n-1.
 * The writer adds each kind's INDEX records in index order and close together: "p#" and
 * "g#" back to back after the other records of accounts and of groups, "s#" each right
 * before its "sn:" (version 1: right after; earlier writers put an account's "pn:", "pu:", "p#",
 * "ig:" together, and a group's "gn:", "gg:", "g#"). Readers enumerate by walking the data section
 * in file order from one INDEX record to the next (rs_map_find_index) and need the hash tables only
 * for the first. That is a property of the layout, not of the format: a file ordered otherwise is
 * read the same, through the hash tables, so neither layout needs a new version.
 */
#ifndef ROTSEC_RECORD_H
#define ROTSEC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashes.h"
#include "names.h"

#define RS_FORMAT_VERSION 1 /* accounts.cdb */
/* secrets.cdb: 2 since "s#INDEX" holds the name instead of a copy of the record, 3 since
 * the header holds the cost profile; 1 and 2 are still read. */
#define RS_SECRETS_VERSION 3
#define RS_ACCOUNTS_FILE   "accounts.cdb"
#define RS_SECRETS_FILE    "secrets.cdb"
#define RS_ACCOUNTS_MAGIC  "rotsec-accounts"
#define RS_SECRETS_MAGIC   "rotsec-secrets"
#define RS_STORE_LOCK      ".rotsec.lock"
/* Much more than any host has service accounts; a bigger file is refused as unsafe. */
#define RS_STORE_MAX_SIZE ((long)64 << 20)
/* Revoked hashes kept per account as tripwires. */
#define RS_TRIPWIRE_MAX 16
/* Longest gecos, home or shell accepted in a passwd record. */
#define RS_FIELD_MAX 1024
#define RS_KEY_MAX   48

#define RS_KEY_META   "!meta"
#define RS_KEY_PWNAM  "pn:"
#define RS_KEY_PWUID  "pu:"
#define RS_KEY_PWIDX  "p#"
#define RS_KEY_GRNAM  "gn:"
#define RS_KEY_GRGID  "gg:"
#define RS_KEY_GRIDX  "g#"
#define RS_KEY_INITGR "ig:"
#define RS_KEY_SECNAM "sn:"
#define RS_KEY_SECIDX "s#"

/* Flags of a secret record. */
#define RS_SECRET_DISABLED 0x1u

struct rs_meta {
	unsigned version;
	uint64_t generation;
	uint32_t count[2]; /* accounts: npasswd, ngroups; secrets: naccounts, 0 */
	/* secrets only: what a login computes (hashes.h). Versions 1 and 2 had one dummy
	 * hash and logins checked two hashes: their profile is that dummy twice. */
	struct rs_costs costs;
};

/* A passwd record, pointing into the record it was parsed from. */
struct rs_pw_view {
	const char *name, *gecos, *home, *shell;
	size_t name_len, gecos_len, home_len, shell_len; /* strlen of each */
	uint32_t uid, gid;
	size_t strbytes; /* bytes the four strings need, NULs included */
};

struct rs_gr_view {
	const char *name;
	uint32_t gid;
	const char *members; /* nmembers consecutive NUL-terminated names */
	size_t nmembers;
	size_t strbytes; /* name and members, NULs included */
};

/* A secret record, copied out (it is small and PAM wants it stable). */
struct rs_secret_rec {
	char name[RS_NAME_MAX + 1];
	uint32_t uid;
	uint64_t generation; /* of the current secret: 1 at creation, +1 per rotation */
	unsigned flags;      /* RS_SECRET_* */
	char current[RS_HASH_MAX];
	int64_t current_since;      /* activation of the current secret (unix time) */
	char previous[RS_HASH_MAX]; /* "" when there is none */
	int64_t previous_deadline;  /* previous accepted while now < deadline */
	int64_t previous_limit;     /* activation + max_grace: no deadline may pass it */
	size_t nrevoked;
	char revoked[RS_TRIPWIRE_MAX][RS_HASH_MAX]; /* newest first */
};

/* Split a value into NUL-terminated fields. Returns the number of fields, or -EPROTO when
 * the value does not end in NUL or has more than `max` fields. */
int rs_fields(const char *val, size_t len, const char **fields, size_t max);

/* Strict unsigned decimal: no sign, no leading zeros, no trailing bytes, <= max. */
int rs_parse_u64(const char *s, uint64_t max, uint64_t *out);

int rs_parse_meta(const char *val, size_t len, const char *magic, struct rs_meta *out);
int rs_parse_passwd(const char *val, size_t len, struct rs_pw_view *out);
int rs_parse_group(const char *val, size_t len, struct rs_gr_view *out);
int rs_parse_secret(const char *val, size_t len, struct rs_secret_rec *out);
/* The checks of rs_parse_secret alone, nothing copied: 0 when it would parse. */
int rs_check_secret(const char *val, size_t len);
/* Supplementary gid list; *n set to the count, gids copied up to `max`. */
int rs_parse_gids(const char *val, size_t len, uint32_t *gids, size_t max, size_t *n);

/*
 * For the writer: rs_check_secret, and the record's hashes added to the cost profile
 * being made (-E2BIG when the store would need more than RS_COSTS_MAX computations per
 * login). *foreign is set when the record keeps a tripwire with a salt no computation
 * covers (rs_hash_groups): such a record must be written again without it.
 */
int rs_check_secret_costs(const char *val, size_t len, struct rs_costs_tally *t, bool *foreign);
/* Drop the tripwires of `r` that no computation of a login covers (rs_hash_groups), as the
 * writer does before writing a record. The number dropped, or -EPROTO for a bad hash. */
int rs_secret_drop_foreign(struct rs_secret_rec *r);
/* The hashes of r as rs_hash_groups takes them; the count. */
size_t rs_secret_hashes(const struct rs_secret_rec *r, const char *hashes[RS_HASHES_MAX]);

/* A text field safe to show in passwd/group/shadow output: no ':' or newline, printable
 * or UTF-8, at most RS_FIELD_MAX - 1 bytes (so it fits a char[RS_FIELD_MAX]). */
bool rs_field_ok(const char *s);

#endif
