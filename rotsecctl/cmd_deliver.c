/*
 * deliver NAME: the current secret to every consumer again, then the verify command.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <stdio.h>

static int run(struct ctl *c)
{
	struct rs_config cfg;
	struct rs_engine e;
	const char *name;
	int o, r, rc;

	while ((o = ctl_getopt(c)) >= 0)
		;
	if (o == CTL_STOP)
		return c->rc;
	if ((rc = ctl_want_args(c, 1, 1, "the account NAME")) != 0)
		return rc;
	name = c->args[0];
	rc = CTL_EXIT_FAILED;
	if (ctl_load_config(c, &cfg) < 0)
		goto out;
	if (ctl_need_root(c, "reads the secret from the root-only journal and writes the "
	                     "deliveries") != 0)
		goto out;
	if (ctl_open_engine(c, &e, &cfg, false) < 0)
		goto out;
	if ((r = rs_engine_deliver(&e, name, true)) < 0) {
		rc = ctl_fail(&e, r);
		goto close;
	}
	printf("%s: delivered to %u consumer%s", name, e.delivered, e.delivered == 1 ? "" : "s");
	if (e.delivery_failures)
		printf(", %u FAILED", e.delivery_failures);
	if (e.verify_failures)
		printf(", verify command FAILED");
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

const struct ctl_verb ctl_deliver = {
        .name = "deliver",
        .synopsis = "NAME",
        .summary = "deliver the current secret to every consumer again",
        .run = run,
};
