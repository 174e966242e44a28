/*
 * sync: the store brought in line with the configuration, each change counted.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <stdio.h>

static int run(struct ctl *c)
{
	struct rs_config cfg;
	struct rs_engine e;
	int o, r, rc = CTL_EXIT_FAILED;

	while ((o = ctl_getopt(c)) >= 0)
		;
	if (o == CTL_STOP)
		return c->rc;
	if ((rc = ctl_want_args(c, 0, 0, "")) != 0)
		return rc;
	rc = CTL_EXIT_FAILED;
	if (ctl_load_config(c, &cfg) < 0)
		goto out;
	if (ctl_need_root(c, "writes the store, the journal and the deliveries") != 0)
		goto out;
	if (ctl_open_engine(c, &e, &cfg, false) < 0)
		goto out;
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
        .synopsis = "",
        .summary = "create, update and remove accounts as configured",
        .run = run,
};
