/*
 * The consumer's side of a sealed delivery, with no configuration: keygen PREFIX makes
 * its key pair, open --key FILE SEALED decrypts what it received.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include "fleet_cli.h"
#include "sealed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_SIGN = 256, OPT_KEY };

static const struct option keygen_options[] = {
        {"sign", no_argument, NULL, OPT_SIGN},
        {0},
};

static int take_option(struct ctl *c, int o)
{
	if (o == OPT_SIGN)
		c->opts.sign = true;
	else if (o == OPT_KEY)
		c->opts.key = c->optarg;
	return 0;
}

static int keygen(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	char why[512] = "";
	int r;

	(void)cfg;
	(void)e;
	if (c->opts.sign)
		return rs_ctl_keygen_sign(c->args[0]);
	if (rs_crypto_init() < 0)
		return CTL_EXIT_FAILED;
	r = rs_keygen_files(c->args[0], why, sizeof(why));
	if (r < 0) {
		ctl_err("%s", why[0] ? why : strerror(-r));
		return CTL_EXIT_FAILED;
	}
	printf("wrote %s.pub (give it to rotsec: sealed_to) and %s.key (keep it with the "
	       "consumer)\n",
	       c->args[0], c->args[0]);
	return CTL_EXIT_OK;
}

static const struct option open_options[] = {
        {"key", required_argument, NULL, OPT_KEY},
        {0},
};

static int open_sealed(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	struct rs_secret s = {0};
	unsigned char buf[RS_SECRET_MAX + 128];
	const char *keyfile = c->opts.key, *sealed;
	char why[512] = "";
	ssize_t n;
	int fd, r, rc;

	(void)cfg;
	(void)e;
	/* The key is asked for before the file, as the synopsis names them (args: 0 to 1,
	 * checked here). */
	if (!keyfile)
		return ctl_usage_error(c, "missing --key FILE, the consumer's secret key");
	if (c->nargs == 0)
		return ctl_usage_error(c, "missing the SEALED file");
	sealed = c->args[0];
	if (rs_crypto_init() < 0)
		return CTL_EXIT_FAILED;
	fd = open(sealed, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = errno;
		ctl_err("%s: %s%s", sealed, strerror(r),
		        r == EACCES ? " (open it as the consumer that owns it, or as root)" : "");
		return CTL_EXIT_FAILED;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0) {
		ctl_err("%s: empty or unreadable", sealed);
		return CTL_EXIT_FAILED;
	}
	r = rs_unseal(buf, (size_t)n, keyfile, &s, why, sizeof(why));
	if (r < 0) {
		ctl_err("%s: %s", sealed, why[0] ? why : strerror(-r));
		return CTL_EXIT_FAILED;
	}
	rc = ctl_print_secret(&s);
	rs_secret_free(&s);
	return rc;
}

const struct ctl_verb ctl_keygen = {
        .name = "keygen",
        .synopsis = "[--sign] PREFIX",
        .summary = "make a consumer key pair PREFIX.pub, PREFIX.key\n"
                   "(--sign: a fleet host's signing pair)",
        .help = "      --sign              an Ed25519 signing pair for a fleet host (its\n"
                "                          signing_key), not an X25519 consumer pair\n",
        .options = keygen_options,
        .option = take_option,
        .args = &(const struct ctl_args){1, 1, "the file name PREFIX"},
        .no_config = true,
        .use = {.run = keygen},
};

/* The consumer side of the fleet parses its own subcommands and options (fleet_cmd.c). */
static int fleet(struct ctl *c)
{
	return rs_ctl_fleet(c->conf_given ? c->conf : NULL, c->argc, c->argv);
}

const struct ctl_verb ctl_fleet = {
        .name = "fleet",
        .synopsis = "fetch|follow|status ...",
        .summary = "the consumer side of the fleet (fleet --help)",
        .no_config = true,
        .main = fleet,
};

const struct ctl_verb ctl_open = {
        .name = "open",
        .synopsis = "--key FILE SEALED",
        .summary = "decrypt a sealed delivery",
        .help = "      --key FILE          the consumer's secret key, made by keygen\n",
        .options = open_options,
        .option = take_option,
        .args = &(const struct ctl_args){0, 1, ""},
        .no_config = true,
        .use = {.run = open_sealed},
};
