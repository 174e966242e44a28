/*
 * deliver NAME: the current secret to every consumer again, then the verify command.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <stdio.h>

static int deliver(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	const char *name = c->args[0];
	int r;

	(void)cfg;
	if ((r = rs_engine_deliver(e, name, true)) < 0)
		return ctl_fail(e, r);
	printf("%s: delivered to %u consumer%s", name, e->delivered, e->delivered == 1 ? "" : "s");
	if (e->delivery_failures)
		printf(", %u FAILED", e->delivery_failures);
	if (e->verify_failures)
		printf(", verify command FAILED");
	return ctl_deliveries_done(e);
}

const struct ctl_verb ctl_deliver = {
        .name = "deliver",
        .synopsis = "NAME",
        .summary = "deliver the current secret to every consumer again",
        .args = &ctl_account_arg,
        .use = {.root_for = "reads the secret from the root-only journal and writes the "
                            "deliveries",
                .engine = true,
                .run = deliver},
};
