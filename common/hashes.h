/*
 * Hash strings as the store holds them, taken apart without computing anything: their
 * cost class (BLAKE2b, or Argon2id with its memory and passes), salt and tag; the salt
 * groups of one account; and the cost profile of a whole secrets.cdb. libc only: the NSS
 * module links it (through the store header), the PAM module and the writer too.
 *
 * Why this exists (issue 13, ARCHITECTURE.md, contract §2): a login must cost the same whatever its
 * verdict, and a failed one no more than a successful one. So every hash of an account that shares
 * a cost class also shares its salt, and one computation of the candidate per class is
 * compared, in constant time, with all of them: current, previous and every tripwire.
 * The header lists the store's profile, one entry per computation a verdict does (a
 * class present in several accounts counts once), each a dummy hash string of that class;
 * a verdict computes one hash per entry, on the account's own salt where it has hashes of
 * that class and on the dummy's elsewhere (policy.h).
 *
 *   $rotsec-b2b$v=1$SALT$TAG                  BLAKE2b-256 keyed with the salt
 *   $argon2id$v=19$m=KIB,t=PASSES,p=1$SALT$TAG   Argon2id, one lane
 *
 * SALT is 16 bytes, TAG 32, both base64 without padding (URL-safe for BLAKE2b, standard
 * for Argon2id, as libsodium writes them), in canonical form (unused bits zero), so two
 * salts are equal exactly when their text is.
 */
#ifndef ROTSEC_HASHES_H
#define ROTSEC_HASHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A hash string: Argon2id strings are at most crypto_pwhash_STRBYTES (128) with NUL. */
#define RS_HASH_MAX 128

#define RS_HASH_SALT_BYTES 16
#define RS_HASH_TAG_BYTES  32
#define RS_HASH_SALT_B64   22 /* characters */
#define RS_HASH_TAG_B64    43

/* Highest Argon2id costs a hash string may ask for: crypto_pwhash's moderate ones, the
 * most rotsec writes (secret.c checks that the two agree); the lowest memory libsodium
 * computes with. A damaged or planted string asking for more would be obeyed by every
 * login of the account (tests/fuzz/regress/pam/). */
#define RS_ARGON2_MAX_MEM_KIB 262144u
#define RS_ARGON2_MIN_MEM_KIB 8u
#define RS_ARGON2_MAX_PASSES  3u

/* Entries of a store's cost profile: one per class, twice for a class where some account
 * has a current and a previous hash with different salts (a store written before salts
 * were kept, until its previous secrets leave their grace). Real stores have one or two. */
#define RS_COSTS_MAX 8

/* Hashes of one account: current, previous and RS_TRIPWIRE_MAX (record.h) tripwires. */
#define RS_HASHES_MAX 18

enum rs_hash_kind {
	RS_HASH_B2B = 1,
	RS_HASH_ARGON2ID,
};

/* What one computation costs: BLAKE2b, or Argon2id at mem_kib and passes (0 for BLAKE2b). */
struct rs_hash_class {
	enum rs_hash_kind kind;
	uint32_t mem_kib, passes;
};

/* A hash string, taken apart; salt and tag point into it. */
struct rs_hash_view {
	struct rs_hash_class cls;
	const char *salt; /* RS_HASH_SALT_B64 characters */
	const char *tag;  /* RS_HASH_TAG_B64 characters, then the string's NUL */
};

/* 0 and *v filled for a hash string as rotsec writes them, -EPROTO for anything else. */
int rs_hash_view(const char *s, struct rs_hash_view *v);
/* The bytes of a view's salt (RS_HASH_SALT_BYTES) or tag (RS_HASH_TAG_BYTES), decoded;
 * rs_hash_view has checked the text. Not constant time: the stored strings are not what
 * a login must not leak (the candidate's tag is compared in constant time, secret.c). */
void rs_hash_salt_bytes(const struct rs_hash_view *v, unsigned char out[RS_HASH_SALT_BYTES]);
void rs_hash_tag_bytes(const struct rs_hash_view *v, unsigned char out[RS_HASH_TAG_BYTES]);
bool rs_hash_string_ok(const char *s);
bool rs_hash_same_class(const struct rs_hash_class *a, const struct rs_hash_class *b);
/* Same class and same salt: one computation serves both. */
bool rs_hash_same_salt(const struct rs_hash_view *a, const struct rs_hash_view *b);

/*
 * The salt groups of one account's hashes, hashes[0] its current one, hashes[1] its
 * previous one ("" or NULL when none), the rest its tripwires, newest first. A group is
 * one class and salt; group[i] says which group hash i belongs to, -1 for an absent
 * previous hash and for a tripwire that no computation covers: one whose class already
 * has a group with another salt (a store written before salts were kept). groups[] must
 * hold n entries; primary[g] says whether group g holds the current or the previous hash.
 * Returns the number of groups, or -EPROTO when a hash does not parse.
 */
int rs_hash_groups(const char *const *hashes, size_t n, struct rs_hash_view *groups, bool *primary,
                   int *group);
/* The same from views parsed already: views[i] for hash i, absent[i] for an absent
 * previous hash. Never fails. */
int rs_hash_groups_of(const struct rs_hash_view *views, const bool *absent, size_t n,
                      struct rs_hash_view *groups, bool *primary, int *group);

/* The cost profile of a store, as its header lists it: a dummy hash string per entry. */
struct rs_costs {
	size_t n;
	char dummy[RS_COSTS_MAX][RS_HASH_MAX];
};

/* The profile being made by the writer, one record at a time. */
struct rs_costs_tally {
	size_t n;
	struct rs_hash_class cls[RS_COSTS_MAX];
	unsigned count[RS_COSTS_MAX]; /* most groups of that class in one record */
};

/* Add the groups of one record's hashes (as rs_hash_groups takes them). -E2BIG when the
 * profile would need more than RS_COSTS_MAX computations, -EPROTO for a bad hash. */
int rs_costs_tally_add(struct rs_costs_tally *t, const char *const *hashes, size_t n);
/* The same from the groups rs_hash_groups_of made. */
int rs_costs_tally_groups(struct rs_costs_tally *t, const struct rs_hash_view *groups, int ng);
/* The profile of the tally: one dummy per computation, in a fixed order, BLAKE2b alone
 * for an empty store (an unknown user still costs one computation). */
void rs_costs_from_tally(const struct rs_costs_tally *t, struct rs_costs *out);

#endif
