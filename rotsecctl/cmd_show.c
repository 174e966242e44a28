/*
 * show NAME [--json]: the current secret (break-glass), root only and audited. With
 * --json, beside it what `vault read` and LAPS show beside a password: its generation,
 * since when it is current, until when the previous one is still valid, and when the next
 * rotation is due.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

enum { OPT_JSON = 256 };

static const struct option options[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {0},
};

/* The JSON around the secret: everything but the secret itself, which only
 * ctl_print_secret_json puts into guarded memory beside it. */
static void json_frame(const struct rs_status *st, char *before, size_t blen, char *after,
                       size_t alen)
{
	char prev[24] = "null", next[24] = "null";

	if (st->previous_valid_until > 0)
		(void)snprintf(prev, sizeof(prev), "%" PRId64, st->previous_valid_until);
	if (st->next_rotation > 0)
		(void)snprintf(next, sizeof(next), "%" PRId64, st->next_rotation);
	/* Account names are [a-z_][a-z0-9_-]* (names.h): nothing in them needs escaping. */
	(void)snprintf(before, blen, "{\"name\": \"%s\", \"secret\": ", st->name);
	(void)snprintf(after, alen,
	               ", \"generation\": %" PRIu64 ", \"current_since\": %" PRId64
	               ", \"previous_valid_until\": %s, \"next_rotation\": %s}\n",
	               st->generation, st->current_since, prev, next);
}

/*
 * The secret and the status of the same generation: the status read before and after
 * the secret names one generation, or a rotation came in between and it is read again.
 * Generations only grow, and show hands out the store's current secret alone.
 */
static int show(struct rs_engine *e, const char *name, bool json)
{
	struct rs_status *st = NULL, *st2 = NULL;
	struct rs_secret s = {0};
	char before[128], after[256];
	size_t n;
	int r, rc = CTL_EXIT_FAILED;

	for (int tries = 0; tries < 5; tries++) {
		free(st);
		free(st2);
		st = st2 = NULL;
		rs_secret_free(&s);
		if (json && (r = rs_engine_status(e, name, &st, &n)) < 0)
			return ctl_fail(e, r);
		if ((r = rs_engine_show(e, name, &s)) < 0) {
			rc = ctl_fail(e, r);
			goto out;
		}
		if (!json) {
			rc = ctl_print_secret(&s);
			goto out;
		}
		if ((r = rs_engine_status(e, name, &st2, &n)) < 0) {
			rc = ctl_fail(e, r);
			goto out;
		}
		if (st->generation == st2->generation) {
			json_frame(st2, before, sizeof(before), after, sizeof(after));
			rc = ctl_print_secret_json(before, &s, after);
			goto out;
		}
	}
	ctl_err("%s rotated while it was read; try again", name);
out:
	rs_secret_free(&s);
	free(st);
	free(st2);
	return rc;
}

static int run(struct ctl *c)
{
	struct rs_config cfg;
	struct rs_engine e;
	bool json = false;
	int o, rc;

	while ((o = ctl_getopt(c)) >= 0)
		if (o == OPT_JSON)
			json = true;
	if (o == CTL_STOP)
		return c->rc;
	if ((rc = ctl_want_args(c, 1, 1, "the account NAME")) != 0)
		return rc;
	rc = CTL_EXIT_FAILED;
	if (ctl_load_config(c, &cfg) < 0)
		goto out;
	if (ctl_need_root(c, "decrypts the secret from the root-only journal (break-glass, "
	                     "audited)") != 0)
		goto out;
	if (ctl_open_engine(c, &e, &cfg, false) < 0)
		goto out;
	rc = show(&e, c->args[0], json);
	rs_engine_close(&e);
out:
	rs_config_free(&cfg);
	return rc;
}

const struct ctl_verb ctl_show = {
        .name = "show",
        .synopsis = "NAME [--json]",
        .summary = "print the current secret (root, audited)",
        .help = "      --json              as JSON, with its generation, current_since,\n"
                "                          previous_valid_until and next_rotation\n",
        .options = options,
        .run = run,
};
