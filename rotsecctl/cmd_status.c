/*
 * status [NAME] [--json]: every account's state, and a verdict a monitoring system can
 * act on. The exit status is a monitoring plugin's (Nagios, Icinga, Sensu, Zabbix):
 * 0 ok, 1 warning, 2 critical, 3 unknown, the worst of the accounts shown (engine.h,
 * enum rs_health, says what makes each). What stops status from looking at all counts
 * too: a store that does not exist yet shows every account as not synced, one that cannot
 * be read (damaged, unsafe) is critical since the modules refuse every login then; a
 * configuration that cannot be loaded, an unknown account, or a caller without the
 * permission is unknown.
 *
 * The first line of the table output is the verdict (a plugin's status line), the table
 * follows, then one line per account that is not ok.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include "duration.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const upper[] = {
        [RS_HEALTH_OK] = "OK",
        [RS_HEALTH_WARNING] = "WARNING",
        [RS_HEALTH_CRITICAL] = "CRITICAL",
        [RS_HEALTH_UNKNOWN] = "UNKNOWN",
};

static enum rs_health overall(const struct rs_status *st, size_t n)
{
	enum rs_health h = RS_HEALTH_OK;

	for (size_t i = 0; i < n; i++)
		h = rs_health_worst(h, st[i].health);
	return h;
}

/* The verdict with nothing to show: as JSON when asked for, so that a parser always gets
 * one; the message went to stderr. */
static int no_status(bool json, enum rs_health h, const char *why)
{
	if (json) {
		printf("{\"verdict\": \"%s\", \"exit_status\": %d, \"error\": ", rs_health_name(h),
		       (int)h);
		ctl_json_str(why);
		printf(", \"accounts\": []}\n");
	}
	return (int)h;
}

static void status_json(const struct rs_status *st, size_t n)
{
	enum rs_health h = overall(st, n);

	printf("{\"verdict\": \"%s\", \"exit_status\": %d, \"accounts\": [", rs_health_name(h),
	       (int)h);
	/* One account per line, "name" first: the bash completion and line-oriented tools
	 * (grep, sed) rely on it. */
	for (size_t i = 0; i < n; i++) {
		const struct rs_status *x = &st[i];

		printf("%s\n  {\"name\": ", i ? "," : "");
		ctl_json_str(x->name);
		printf(", \"verdict\": \"%s\", \"problems\": [", rs_health_name(x->health));
		for (unsigned k = 0; k < x->nproblems; k++) {
			printf("%s", k ? ", " : "");
			ctl_json_str(x->problems[k]);
		}
		printf("], \"uid\": %u, \"generation\": %" PRIu64 ", ", x->uid, x->generation);
		ctl_json_time("current_since", x->current_since, true);
		ctl_json_time("previous_valid_until", x->previous_valid_until, true);
		ctl_json_time("next_rotation", x->next_rotation, true);
		printf("\"delivery\": ");
		ctl_json_str(x->have_journal || !x->in_store ? x->delivery : "unknown");
		printf(", \"verify\": ");
		ctl_json_str(x->have_journal || !x->in_store ? x->verify : "unknown");
		printf(", \"in_store\": %s, \"disabled\": %s, \"degraded\": %s, \"step\": ",
		       x->in_store ? "true" : "false", x->disabled ? "true" : "false",
		       x->degraded ? "true" : "false");
		ctl_json_str(rs_step_name(x->step));
		printf(", \"current_logins\": %" PRIu64 ", \"previous_logins\": %" PRIu64 ", ",
		       x->have_usage ? x->usage.current_count : 0,
		       x->have_usage ? x->usage.previous_count : 0);
		ctl_json_time("previous_last_used", x->have_usage ? x->usage.previous_last : 0,
		              false);
		printf("}");
	}
	printf("%s]}\n", n ? "\n" : "");
}

/* "rotsec WARNING: svc-b, svc-c (2 of 5 accounts)", or "rotsec OK: 5 accounts". */
static void verdict_line(const struct rs_status *st, size_t n)
{
	enum rs_health h = overall(st, n);
	size_t bad = 0;

	printf("rotsec %s: ", upper[h]);
	for (size_t i = 0; i < n; i++) {
		if (st[i].health == RS_HEALTH_OK)
			continue;
		printf("%s%s", bad ? ", " : "", st[i].name);
		bad++;
	}
	if (bad)
		printf(" (%zu of %zu account%s)\n", bad, n, n == 1 ? "" : "s");
	else
		printf("%zu account%s\n", n, n == 1 ? "" : "s");
}

static const char *delivery_column(const struct rs_status *x)
{
	if (!x->in_store)
		return "not synced";
	if (!x->have_journal)
		return "unknown";
	/* Delivered but not verified yet: the rotation is not done either. */
	if (strcmp(x->delivery, "ok") == 0 && strcmp(x->verify, "failed") == 0)
		return "verify failed";
	if (strcmp(x->delivery, "ok") == 0 && strcmp(x->verify, "pending") == 0)
		return "verifying";
	return x->delivery;
}

static void status_table(const struct rs_status *st, size_t n)
{
	int64_t now = (int64_t)time(NULL);

	verdict_line(st, n);
	printf("%-20s %7s %4s %-8s %-23s %-23s %-13s %s\n", "ACCOUNT", "UID", "GEN", "AGE",
	       "PREVIOUS UNTIL", "NEXT ROTATION", "DELIVERY", "PREVIOUS USED");
	for (size_t i = 0; i < n; i++) {
		const struct rs_status *x = &st[i];
		char age[16] = "-", until[64], next[64], used[96] = "-", gen[24];

		if (x->in_store)
			rs_duration_format(now - x->current_since, age, sizeof(age));
		ctl_fmt_time(x->previous_valid_until, until, sizeof(until));
		ctl_fmt_time(x->next_rotation, next, sizeof(next));
		(void)snprintf(gen, sizeof(gen), "%" PRIu64, x->generation);
		if (x->have_usage && x->usage.previous_count) {
			char ago[16];

			rs_duration_format(now - x->usage.previous_last, ago, sizeof(ago));
			(void)snprintf(used, sizeof(used), "%" PRIu64 "x, last %s ago by %s",
			               x->usage.previous_count, ago, x->usage.service);
		}
		printf("%-20s %7u %4s %-8s %-23s %-23s %-13s %s%s%s\n", x->name, x->uid,
		       x->in_store ? gen : "-", age, until, next, delivery_column(x), used,
		       x->degraded ? "  DEGRADED" : "", x->disabled ? "  disabled" : "");
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < st[i].nproblems; k++)
			printf("%s: %s: %s\n", st[i].name, upper[st[i].health], st[i].problems[k]);
}

static int status(struct rs_engine *e, const char *name, bool json)
{
	struct rs_status *st;
	size_t n;
	int r = rs_engine_status(e, name, &st, &n);
	enum rs_health h;

	if (r < 0) {
		const char *why = e->why[0] ? e->why : strerror(-r);

		ctl_err("%s", why);
		/* Not an account, no permission, no memory: this check cannot tell. Anything
		 * else is a store pam_rotsec cannot use either. */
		h = r == -ENOENT || r == -EACCES || r == -EPERM || r == -ENOMEM
		            ? RS_HEALTH_UNKNOWN
		            : RS_HEALTH_CRITICAL;
		return no_status(json, h, why);
	}
	if (json)
		status_json(st, n);
	else
		status_table(st, n);
	h = overall(st, n);
	free(st);
	if (fflush(stdout) != 0) {
		ctl_err("cannot write to stdout");
		return RS_HEALTH_UNKNOWN;
	}
	return (int)h;
}

static int status_run(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	(void)cfg;
	return status(e, c->nargs ? c->args[0] : NULL, c->opts.json);
}

/* A configuration that cannot be loaded, an engine that cannot be opened: unknown. */
static int status_failed(struct ctl *c, const char *why)
{
	return no_status(c->opts.json, RS_HEALTH_UNKNOWN, why);
}

const struct ctl_verb ctl_status = {
        .name = "status",
        .synopsis = "[NAME] [--json]",
        .summary = "state of every account, or of NAME; exits 0 ok,\n"
                   "1 warning, 2 critical, 3 unknown",
        .help = "The first line is the verdict; then a table, then why each account that is not\n"
                "ok is not. Exit status as a monitoring plugin: 0 ok, 1 warning, 2 critical,\n"
                "3 unknown. Run as root: the delivery state is in the root-only journal.\n"
                "\n"
                "      --json              as JSON: the verdict, and each account with its own\n",
        .options = ctl_json_options,
        .option = ctl_json_option,
        .args = &(const struct ctl_args){0, 1, ""},
        /* Read-only: without root, what the caller cannot read (the journal, the host
         * key) is left out, and said so. */
        .use = {.engine = true, .readonly = true, .run = status_run, .failed = status_failed},
};
