/*
 * sync [--dry-run]: the store brought in line with the configuration, each change named as
 * it is made (or, with --dry-run, as it would be, with nothing changed).
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <stdio.h>

enum { OPT_DRY_RUN = 256 };

static const struct option sync_options[] = {
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {0},
};

/* One line per thing the engine does, on stdout: what `sync` changes, as it goes. */
static void print_event(void *arg, const struct rs_event *ev)
{
	char line[1024];

	(void)arg;
	rs_event_format(ev, line, sizeof(line));
	printf("%s\n", line);
}

/* --dry-run reads only: it creates nothing, not even the state dir or the host key. */
static int take_option(struct ctl *c, int o)
{
	if (o == OPT_DRY_RUN) {
		c->opts.dry_run = true;
		c->use.readonly = true;
		c->use.root_for = "reads the journals, which only root may read";
	}
	return 0;
}

static int sync_run(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	int r;

	e->on_event = print_event;
	if (c->opts.dry_run) {
		if ((r = rs_engine_sync_plan(e)) < 0)
			return ctl_fail(e, r);
		printf("dry run: nothing was changed\n");
		return CTL_EXIT_OK;
	}
	if ((r = rs_engine_sync(e)) < 0)
		return ctl_fail(e, r);
	printf("synced %zu account%s: %u created, %u removed, %u resumed, %u delivered",
	       cfg->naccounts, cfg->naccounts == 1 ? "" : "s", e->created, e->removed, e->resumed,
	       e->delivered);
	if (e->delivery_failures)
		printf(", %u deliveries FAILED", e->delivery_failures);
	if (e->verify_failures)
		printf(", %u verify commands FAILED", e->verify_failures);
	return ctl_deliveries_done(e);
}

const struct ctl_verb ctl_sync = {
        .name = "sync",
        .synopsis = "[--dry-run]",
        .summary = "create, update and remove accounts as configured\n"
                   "(--dry-run: print what it would do, and do none of it)",
        .help = "      --dry-run           print every change sync would make, and change\n"
                "                          nothing: store, journals, deliveries, audit log\n",
        .options = sync_options,
        .option = take_option,
        .use = {.root_for = "writes the store, the journal and the deliveries",
                .engine = true,
                .run = sync_run},
};
