/*
 * fuzz_journal: arbitrary bytes as a rotation journal (STATE_DIR/NAME.state) through
 * rs_journal_load, then, when it loads, rs_journal_unseal with a fixed host key, and a
 * save-and-load round trip.
 *
 * The input is written under the name its own "account" line gives (the loader checks
 * that the two agree), or svc-fuzz when it has none. The fixed key is the 32 bytes 0..31:
 * tests/fuzz/mkseeds.sh made some seeds with it, so the fuzzer also reaches the code
 * after a successful unseal.
 *
 * Invariants besides "no crash, no leak, no undefined behaviour":
 *  - load: 0, or a negative errno (-EPROTO for anything malformed), never a partial
 *    success: a loaded journal has its name, a generation, a step, a hash and a sealed
 *    secret, and at most RS_MAX_DELIVERIES delivery states;
 *  - unseal: 0 with a NUL-terminated secret, or -EPROTO / -EBADMSG;
 *  - saving a loaded journal succeeds, and loading it back gives the same journal.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "journal.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[4096];
static int dirfd_state = -1;
static unsigned char key[RS_HOSTKEY_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (rs_crypto_init() < 0)
		abort();
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	fz_subdir("state", dir, sizeof(dir));
	dirfd_state = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FZ_CHECK(dirfd_state >= 0);
	return 0;
}

/* The value of the input's first "account " line, if it is a valid name. */
static void name_of(const uint8_t *data, size_t size, char name[RS_NAME_MAX + 1])
{
	static const char tag[] = "\naccount ";
	const uint8_t *p = memmem(data, size, tag, sizeof(tag) - 1);

	(void)snprintf(name, RS_NAME_MAX + 1, "svc-fuzz");
	if (!p)
		return;
	p += sizeof(tag) - 1;
	for (size_t i = 0; i <= RS_NAME_MAX && p + i < data + size; i++) {
		if (p[i] == '\n' || p[i] == '\0') {
			char cand[RS_NAME_MAX + 2];

			memcpy(cand, p, i);
			cand[i] = '\0';
			if (rs_name_valid(cand))
				(void)snprintf(name, RS_NAME_MAX + 1, "%s", cand);
			return;
		}
	}
}

static void same_journal(const struct rs_journal *a, const struct rs_journal *b)
{
	FZ_CHECK(strcmp(a->name, b->name) == 0);
	FZ_CHECK(a->generation == b->generation && a->step == b->step);
	FZ_CHECK(a->created == b->created && a->activated == b->activated);
	FZ_CHECK(strcmp(a->hash, b->hash) == 0 && strcmp(a->sealed, b->sealed) == 0);
	FZ_CHECK(a->compromise == b->compromise && a->grace == b->grace);
	FZ_CHECK(a->held == b->held && a->degraded == b->degraded);
	FZ_CHECK(a->failures == b->failures && a->ndeliver == b->ndeliver);
	for (size_t i = 0; i < a->ndeliver; i++) {
		FZ_CHECK(a->dlv[i].status == b->dlv[i].status);
		FZ_CHECK(a->dlv[i].attempts == b->dlv[i].attempts);
		FZ_CHECK(a->dlv[i].last == b->dlv[i].last && a->dlv[i].next == b->dlv[i].next);
	}
	FZ_CHECK(a->vfy.status == b->vfy.status && a->vfy.attempts == b->vfy.attempts);
	FZ_CHECK(a->vfy.last == b->vfy.last && a->vfy.next == b->vfy.next);
	FZ_CHECK(a->verify_failures == b->verify_failures);
	/* The fleet's part (rollout_fleet.c). */
	FZ_CHECK(a->fleet.prev_generation == b->fleet.prev_generation);
	FZ_CHECK(strcmp(a->fleet.prev_sealed, b->fleet.prev_sealed) == 0);
	FZ_CHECK(a->fleet.version_generation == b->fleet.version_generation);
	FZ_CHECK(memcmp(a->fleet.version, b->fleet.version, sizeof(a->fleet.version)) == 0);
	FZ_CHECK(a->fleet.published_rev == b->fleet.published_rev);
	FZ_CHECK(a->fleet.published_generation == b->fleet.published_generation);
	FZ_CHECK(memcmp(a->fleet.digest, b->fleet.digest, sizeof(a->fleet.digest)) == 0);
	FZ_CHECK(a->fleet.nconsumers == b->fleet.nconsumers);
	for (size_t i = 0; i < a->fleet.nconsumers; i++)
		FZ_CHECK(strcmp(a->fleet.consumers[i], b->fleet.consumers[i]) == 0);
	FZ_CHECK(a->fleet.refresh.status == b->fleet.refresh.status);
	FZ_CHECK(a->fleet.refresh.attempts == b->fleet.refresh.attempts);
	FZ_CHECK(a->fleet.refresh.last == b->fleet.refresh.last);
	FZ_CHECK(a->fleet.refresh.next == b->fleet.refresh.next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[RS_NAME_MAX + 1], file[RS_NAME_MAX + 8];
	struct rs_journal j, back;
	struct rs_secret s = {0};
	int r;

	name_of(data, size, name);
	(void)snprintf(file, sizeof(file), "%s.state", name);
	fz_write_file(dir, file, data, size, 0600);
	r = rs_journal_load(dirfd_state, name, &j);
	FZ_CHECK(r <= 0);
	if (r < 0)
		return 0;
	FZ_CHECK(strcmp(j.name, name) == 0 && j.generation > 0 && j.step != RS_STEP_NONE);
	FZ_CHECK(rs_hash_string_ok(j.hash) && j.sealed[0]);
	FZ_CHECK(j.ndeliver <= RS_MAX_DELIVERIES);

	r = rs_journal_unseal(key, &j, &s);
	FZ_CHECK(r == 0 || r == -EPROTO || r == -EBADMSG);
	if (r == 0) {
		FZ_CHECK(s.buf && s.buf[s.len] == '\0');
		rs_secret_free(&s);
	}

	FZ_CHECK(rs_journal_save(dirfd_state, &j) == 0);
	FZ_CHECK(rs_journal_load(dirfd_state, name, &back) == 0);
	same_journal(&j, &back);
	return 0;
}
