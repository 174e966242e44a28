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

static int show_run(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	(void)cfg;
	return show(e, c->args[0], c->opts.json);
}

const struct ctl_verb ctl_show = {
        .name = "show",
        .synopsis = "NAME [--json]",
        .summary = "print the current secret (root, audited)",
        .help = "      --json              as JSON, with its generation, current_since,\n"
                "                          previous_valid_until and next_rotation\n",
        .options = ctl_json_options,
        .option = ctl_json_option,
        .args = &ctl_account_arg,
        .use = {.root_for = "decrypts the secret from the root-only journal (break-glass, "
                            "audited)",
                .engine = true,
                .run = show_run},
};
