/*
 * rotate NAME [--grace D] [--revoke-previous], and revoke NAME: a new secret now, and the
 * end of the previous one's grace now.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include "duration.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

enum { OPT_GRACE = 256, OPT_REVOKE_PREVIOUS };

static const struct option rotate_options[] = {
        {"grace", required_argument, NULL, OPT_GRACE},
        {"revoke-previous", no_argument, NULL, OPT_REVOKE_PREVIOUS},
        {0},
};

/* Which secrets of NAME the store accepts now, on stderr: said when a rotation or a revoke
 * did not get as far as it should, so that nobody takes a leaked secret for dead. */
static void say_accepted(struct rs_engine *e, const char *name)
{
	struct rs_status *st;
	char until[64];
	size_t n;

	if (rs_engine_status(e, name, &st, &n) < 0 || n != 1) {
		ctl_err("%s: the store cannot be read to say which of its secrets it accepts",
		        name);
		return;
	}
	if (!st->in_store) {
		ctl_err("%s is not in the store: no secret of it is accepted", name);
	} else if (st->previous_valid_until) {
		ctl_fmt_time(st->previous_valid_until, until, sizeof(until));
		ctl_err("%s: still accepted: the current secret (generation %" PRIu64
		        ") and the previous one (generation %" PRIu64 ") until %s",
		        name, st->generation, st->generation - 1, until);
	} else {
		ctl_err("%s: accepted: the current secret (generation %" PRIu64 ") alone", name,
		        st->generation);
	}
	free(st);
}

/* After a rotation or revoke whose delivery or check failed: what that means for logins. */
static void rollout_failed(struct rs_engine *e, const char *name)
{
	const char *what = e->delivery_failures ? "delivery is" : "the check is";
	struct rs_status *st = NULL;
	size_t n;

	(void)fflush(stdout);
	if (rs_engine_status(e, name, &st, &n) == 0 && n == 1 && st->in_store &&
	    !st->previous_valid_until)
		ctl_err("%s; no earlier secret is accepted, so a consumer that lacks generation "
		        "%" PRIu64 " cannot log in until it has it (the %s retried: rotsecctl "
		        "deliver %s)",
		        e->why, st->generation, what, name);
	else
		ctl_err("%s; the previous secret stays valid until max_grace while %s retried "
		        "(rotsecctl deliver %s)",
		        e->why, what, name);
	free(st);
}

/* What the rotation did, and what the previous secret got. */
static void report(struct rs_engine *e, const char *name, const struct rs_rotate_opts *o,
                   const struct rs_account_cfg *acc)
{
	struct rs_status *st;
	size_t n;
	char until[64], asked[32], cap[32];

	if (rs_engine_status(e, name, &st, &n) < 0 || n != 1)
		return;
	ctl_fmt_time(st->previous_valid_until, until, sizeof(until));
	printf("%s %s to generation %" PRIu64, name,
	       e->resumed ? "finished the interrupted rotation" : "rotated", st->generation);
	if (st->previous_valid_until)
		printf("; previous secret valid until %s", until);
	else if (o->compromise)
		printf("; every earlier secret revoked");
	printf("\n");
	/* The engine never lets a deadline pass activation + max_grace: say so rather than
	 * let the admin believe the consumers have the grace they asked for. */
	if (o->grace > acc->pol.max_grace && !o->compromise && !e->resumed) {
		rs_duration_format(o->grace, asked, sizeof(asked));
		rs_duration_format(acc->pol.max_grace, cap, sizeof(cap));
		(void)fflush(stdout);
		ctl_err("--grace %s was capped to max_grace (%s) of %s: the previous secret is "
		        "valid until %s",
		        asked, cap, name, until);
	}
	free(st);
}

static int take_option(struct ctl *c, int o)
{
	int64_t d;
	int r;

	if (o == OPT_REVOKE_PREVIOUS) {
		c->opts.compromise = true;
	} else if (o == OPT_GRACE) {
		if ((r = rs_duration_parse(c->optarg, &d)) == -ERANGE)
			return ctl_usage_error(c, "--grace '%s' is too long", c->optarg);
		if (r < 0)
			return ctl_usage_error(
			        c,
			        "--grace takes a duration like 90s, 15m, 2h or 1h30m, "
			        "not '%s'",
			        c->optarg);
		c->opts.grace = d;
		c->opts.grace_given = true;
	}
	return 0;
}

static int rotate(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	/* Without --grace, the account's own (-1). */
	const struct rs_rotate_opts ro = {.grace = c->opts.grace_given ? c->opts.grace : -1,
	                                  .compromise = c->opts.compromise};
	const struct rs_account_cfg *acc;
	const char *name = c->args[0];
	int r;

	if ((r = rs_engine_rotate(e, name, &ro)) < 0) {
		r = ctl_fail(e, r);
		say_accepted(e, name);
		return r;
	}
	if ((acc = rs_config_account(cfg, name)) != NULL)
		report(e, name, &ro, acc);
	if (e->delivery_failures || e->verify_failures) {
		rollout_failed(e, name);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

static int revoke(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	const char *name = c->args[0];
	struct rs_status *st;
	size_t n;
	int r;

	(void)cfg;
	if ((r = rs_engine_revoke(e, name, "admin", true)) < 0) {
		r = ctl_fail(e, r);
		say_accepted(e, name);
		return r;
	}
	if (rs_engine_status(e, name, &st, &n) == 0 && n == 1) {
		if (e->resumed)
			printf("%s finished the interrupted rotation to generation %" PRIu64
			       "; every earlier secret revoked\n",
			       name, st->generation);
		else
			printf("%s: previous secret revoked; only generation %" PRIu64
			       " is accepted\n",
			       name, st->generation);
		free(st);
	} else {
		printf("%s: previous secret revoked\n", name);
	}
	if (e->delivery_failures || e->verify_failures) {
		rollout_failed(e, name);
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

const struct ctl_verb ctl_rotate = {
        .name = "rotate",
        .synopsis = "NAME [--grace D] [--revoke-previous]",
        .summary = "rotate now (--revoke-previous: compromise, no grace)",
        .help = "      --grace D           keep the replaced secret valid for D (90s, 15m, 2h,\n"
                "                          1h30m) instead of the account's grace; never longer\n"
                "                          than its max_grace (said when capped)\n"
                "      --revoke-previous   compromise: revoke the replaced secret (and one still\n"
                "                          in grace) at once; consumers fail until delivered to\n",
        .options = rotate_options,
        .option = take_option,
        .args = &ctl_account_arg,
        .use = {.root_for = "writes the store, the journal and the deliveries",
                .engine = true,
                .run = rotate},
};

const struct ctl_verb ctl_revoke = {
        .name = "revoke",
        .synopsis = "NAME",
        .summary = "end the previous secret's grace now",
        .args = &ctl_account_arg,
        .use = {.root_for = "writes the store", .engine = true, .run = revoke},
};
