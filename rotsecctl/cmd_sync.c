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

static int run(struct ctl *c)
{
	struct rs_config cfg;
	struct rs_engine e;
	bool dry_run = false;
	int o, r, rc = CTL_EXIT_FAILED;

	while ((o = ctl_getopt(c)) >= 0)
		if (o == OPT_DRY_RUN)
			dry_run = true;
	if (o == CTL_STOP)
		return c->rc;
	if ((rc = ctl_want_args(c, 0, 0, "")) != 0)
		return rc;
	rc = CTL_EXIT_FAILED;
	if (ctl_load_config(c, &cfg) < 0)
		goto out;
	if (ctl_need_root(c, dry_run ? "reads the journals, which only root may read"
	                             : "writes the store, the journal and the deliveries") != 0)
		goto out;
	/* A dry run creates nothing, not even the state dir or the host key. */
	if (ctl_open_engine(c, &e, &cfg, dry_run) < 0)
		goto out;
	e.on_event = print_event;
	if (dry_run) {
		if ((r = rs_engine_sync_plan(&e)) < 0) {
			rc = ctl_fail(&e, r);
			goto close;
		}
		printf("dry run: nothing was changed\n");
		rc = CTL_EXIT_OK;
		goto close;
	}
	if ((r = rs_engine_sync(&e)) < 0) {
		rc = ctl_fail(&e, r);
		goto close;
	}
	printf("synced %zu account%s: %u created, %u removed, %u resumed, %u delivered",
	       cfg.naccounts, cfg.naccounts == 1 ? "" : "s", e.created, e.removed, e.resumed,
	       e.delivered);
	if (e.delivery_failures)
		printf(", %u deliveries FAILED", e.delivery_failures);
	if (e.verify_failures)
		printf(", %u verify commands FAILED", e.verify_failures);
	printf("\n");
	if (e.delivery_failures || e.verify_failures) {
		(void)fflush(stdout);
		ctl_err("%s", e.why);
		goto close;
	}
	rc = CTL_EXIT_OK;
close:
	rs_engine_close(&e);
out:
	rs_config_free(&cfg);
	return rc;
}

const struct ctl_verb ctl_sync = {
        .name = "sync",
        .synopsis = "[--dry-run]",
        .summary = "create, update and remove accounts as configured\n"
                   "(--dry-run: print what it would do, and do none of it)",
        .help = "      --dry-run           print every change sync would make, and change\n"
                "                          nothing: store, journals, deliveries, audit log\n",
        .options = sync_options,
        .run = run,
};
