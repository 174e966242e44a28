/*
 * A command's arguments, the GNU way every admin has in their fingers: getopt_long over
 * them, so --opt=value and --opt value both work, options and the account NAME come in any
 * order, "--" ends the options, and unique abbreviations of long options are taken. A
 * mistake is named in one line and followed by one pointer to --help, not the whole usage
 * (which would push the message itself off the screen).
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ctl_err(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write for the line: concurrent runs do not interleave inside it. */
	(void)fprintf(stderr, "rotsecctl: %s\n", line);
}

int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", c->prog, msg,
	              c->prog);
	return CTL_EXIT_USAGE;
}

void ctl_verb_help(const struct ctl_verb *v)
{
	printf("usage: rotsecctl %s%s%s%s\n\n%s\n\n%s", v->no_config ? "" : "[-c FILE] ", v->name,
	       v->synopsis[0] ? " " : "", v->synopsis, v->summary, v->help ? v->help : "");
	/* Aligned with the options of the help texts: descriptions at column 26. */
	printf("  %-23s print this help and exit\n", "-h, --help");
}

/* The command's options and --help, for getopt_long. */
static void all_options(const struct ctl_verb *v, struct option *out, size_t max)
{
	size_t n = 0;

	for (const struct option *o = v->options; o && o->name && n + 2 < max; o++)
		out[n++] = *o;
	out[n++] = (struct option){"help", no_argument, NULL, 'h'};
	out[n] = (struct option){0};
}

static int add_arg(struct ctl *c, const char *arg)
{
	if (c->nargs == CTL_MAX_ARGS) {
		c->rc = ctl_usage_error(c, "too many arguments, from '%s' on", arg);
		return CTL_STOP;
	}
	c->args[c->nargs++] = arg;
	return 0;
}

/* The next option of the command (getopt_long's value for it; its value, if any, in
 * c->optarg), -1 when there are no more, or CTL_STOP with c->rc the exit status.
 * Positional arguments are collected in c->args as they come. */
static int next_option(struct ctl *c)
{
	struct option opts[32];
	int o;

	all_options(c->verb, opts, sizeof(opts) / sizeof(opts[0]));
	if (!c->parsing) {
		/* getopt_long names the command in its messages by argv[0]. */
		c->argv[0] = c->prog;
		optind = 0; /* glibc: start over, whatever parsed before */
		opterr = 1;
		c->parsing = true;
	}
	/* "-": arguments that are not options come back as 1, in order, also when
	 * POSIXLY_CORRECT is set: `rotate NAME --grace 2h` means what it says either way. */
	while ((o = getopt_long(c->argc, c->argv, "-h", opts, NULL)) != -1) {
		if (o == 1) {
			if (add_arg(c, optarg) < 0)
				return CTL_STOP;
			continue;
		}
		if (o == 'h') {
			ctl_verb_help(c->verb);
			c->rc = CTL_EXIT_OK;
			return CTL_STOP;
		}
		if (o == '?' || o == ':') {
			/* getopt_long has named the option and what is wrong with it. */
			(void)fprintf(stderr, "Try '%s --help' for more information.\n", c->prog);
			c->rc = CTL_EXIT_USAGE;
			return CTL_STOP;
		}
		c->optarg = optarg;
		return o;
	}
	/* After "--": everything left is an argument. */
	for (; optind < c->argc; optind++)
		if (add_arg(c, c->argv[optind]) < 0)
			return CTL_STOP;
	return -1;
}

const struct ctl_args ctl_account_arg = {1, 1, "the account NAME"};

int ctl_parse(struct ctl *c)
{
	static const struct ctl_args none = {0, 0, ""};
	const struct ctl_verb *v = c->verb;
	const struct ctl_args *a = v->args ? v->args : &none;
	int o;

	while ((o = next_option(c)) >= 0) {
		if (v->option && (c->rc = v->option(c, o)) != 0)
			return CTL_STOP;
	}
	if (o == CTL_STOP)
		return CTL_STOP;
	if (c->nargs < a->min)
		c->rc = ctl_usage_error(c, "missing %s", a->missing);
	else if (c->nargs > a->max)
		c->rc = ctl_usage_error(c, "unexpected argument '%s'", c->args[a->max]);
	return c->rc ? CTL_STOP : 0;
}

enum { OPT_JSON = 256 };

const struct option ctl_json_options[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {0},
};

int ctl_json_option(struct ctl *c, int o)
{
	if (o == OPT_JSON)
		c->opts.json = true;
	return 0;
}
