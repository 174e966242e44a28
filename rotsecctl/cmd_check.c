/*
 * check [--effective NAME]: the configuration validated, as `sshd -t` and `visudo -c`
 * do; with --effective, one account's settings as they take effect, `sshd -T` style.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <stdio.h>

enum { OPT_EFFECTIVE = 256 };

static const struct option options[] = {
        {"effective", required_argument, NULL, OPT_EFFECTIVE},
        {0},
};

static int print_effective(const struct rs_config *cfg, const char *name)
{
	const struct rs_account_cfg *a = rs_config_account(cfg, name);

	if (!a) {
		ctl_err("%s has no account %s", cfg->file, name);
		return CTL_EXIT_FAILED;
	}
	if (rs_config_print_account(stdout, a) < 0 || fflush(stdout) != 0) {
		ctl_err("cannot write to stdout");
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

static int check(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	(void)e;
	if (c->opts.effective)
		return print_effective(cfg, c->opts.effective);
	printf("%s: OK, %zu account%s, %zu group%s\n", cfg->file, cfg->naccounts,
	       cfg->naccounts == 1 ? "" : "s", cfg->ngroups, cfg->ngroups == 1 ? "" : "s");
	return CTL_EXIT_OK;
}

static int take_option(struct ctl *c, int o)
{
	if (o == OPT_EFFECTIVE)
		c->opts.effective = c->optarg;
	return 0;
}

const struct ctl_verb ctl_check = {
        .name = "check",
        .synopsis = "[--effective NAME]",
        .summary = "validate the configuration; --effective: print\n"
                   "every setting of account NAME as it takes effect",
        .help = "Validate the configuration and everything it refers to; nothing is changed.\n"
                "\n"
                "      --effective NAME   print every setting of account NAME as it takes\n"
                "                         effect, its own, inherited or built in (sshd -T)\n",
        .options = options,
        .option = take_option,
        .use = {.run = check},
};
