/*
 * rotsecctl, the admin CLI (ARCHITECTURE.md, contract §6), by concern:
 *   main.c        the options before the command, the table of commands and the dispatch,
 *                 rotsecctl --help and --version
 *   args.c        what every command shares for its arguments: getopt_long over them, its
 *                 --help, usage errors (named, with a pointer to --help)
 *   load.c        loading the configuration and opening the engine, and the messages for
 *                 what stops them (permissions above all)
 *   output.c      JSON and time formatting, the secret written from guarded memory
 *   cmd_*.c       one file a command (or a few that are one concern)
 *
 * A command is one row of main.c's table: a struct ctl_verb, defined in its own file.
 *
 * Exit status (rotsecctl(8)): 0 success; 1 refused or failed; 2 is used by status alone,
 * for critical; 3 a usage error. status exits as a monitoring plugin does (0 ok,
 * 1 warning, 2 critical, 3 unknown), and a usage error is "unknown" there as in the
 * Nagios plugin guidelines: a mistyped check must not page anyone as critical, nor look
 * like a warning.
 */
#ifndef ROTSEC_ROTSECCTL_H
#define ROTSEC_ROTSECCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "secret.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,   /* status: warning */
	CTL_EXIT_CRITICAL = 2, /* status alone */
	CTL_EXIT_USAGE = 3,    /* status: unknown */
};

#define CTL_MAX_ARGS 8

struct ctl;

/* What a command does with one of its options (getopt_long's value o, its value if any
 * in c->optarg), into c->opts or c->use: 0, or the exit status of a usage error it
 * printed. */
typedef int ctl_option_fn(struct ctl *c, int o);

/* A command's positional arguments: min to max of them, a missing one named by
 * `missing`. */
struct ctl_args {
	int min, max;
	const char *missing;
};

/* NAME, one account: what most commands work on (args.c). */
extern const struct ctl_args ctl_account_arg;

/* How a command works on the configured accounts (ctl_run). */
struct ctl_use {
	/* What the command needs root for ("writes the store"), said to a caller without it:
	 * commands that write (the store, the journal, deliveries) or print a secret run as
	 * root only. NULL: anyone may run it. */
	const char *root_for;
	bool engine;   /* open the engine once the configuration is loaded */
	bool readonly; /* ... read-only: it creates nothing, leaves out what the caller
	                * cannot read, and says so */
	/* The command's own work, with the configuration loaded and the engine open (cfg
	 * and e NULL when the command reads no configuration, e NULL without the engine):
	 * the exit status. */
	int (*run)(struct ctl *c, struct rs_config *cfg, struct rs_engine *e);
	/* The exit status when the work cannot start (why: what stopped it), its message
	 * printed already; NULL: CTL_EXIT_FAILED. status answers in its own format. */
	int (*failed)(struct ctl *c, const char *why);
};

/*
 * A command: one row of main.c's table, defined in its own file. main.c parses its
 * arguments by the row (ctl_parse) and runs it (ctl_run), so that a command's file holds
 * its own work and this description, nothing else.
 */
struct ctl_verb {
	const char *name;
	const char *synopsis; /* what follows the name: "NAME [--grace D] [--revoke-previous]" */
	const char *summary;  /* rotsecctl --help: one line, or more joined by "\n" */
	/* rotsecctl VERB --help, after the usage line and the summary: the options, one
	 * "  --opt VALUE            what" line each (descriptions at column 26), and notes. */
	const char *help;
	const struct option *options; /* the command's long options, --help added by ctl_parse */
	ctl_option_fn *option;        /* what each of them does; NULL without options */
	const struct ctl_args *args;  /* its positional arguments; NULL: none */
	bool no_config; /* keygen, open: no configuration is read, use.run gets no cfg */
	struct ctl_use use;
	/* A command that parses its own arguments and does all its work (fleet, whose
	 * subcommands have their own options): called in place of all of the above. */
	int (*main)(struct ctl *c);
};

/* What the commands' options set, each in its command's option function. */
struct ctl_opts {
	bool json;        /* show, status: --json */
	bool dry_run;     /* sync --dry-run */
	bool sign;        /* keygen --sign */
	bool compromise;  /* rotate --revoke-previous */
	bool grace_given; /* rotate --grace D: D in grace */
	int64_t grace;
	const char *effective; /* check --effective NAME */
	const char *key;       /* open --key FILE */
};

struct ctl {
	const char *conf; /* -c, --config */
	bool conf_given;  /* -c was given (the fleet consumer has no default config) */
	const struct ctl_verb *verb;
	char prog[64]; /* "rotsecctl rotate": how messages about the command begin */
	int argc;      /* the command's own arguments, argv[0] its name */
	char **argv;
	/* Filled by ctl_parse: the positional arguments, in order, the value of the option
	 * being taken, and what the options set: c->opts, and c->use, the verb's, which an
	 * option may change (sync --dry-run reads only). */
	const char *args[CTL_MAX_ARGS];
	int nargs;
	const char *optarg;
	struct ctl_opts opts;
	struct ctl_use use;
	int rc; /* the exit status when ctl_parse returned CTL_STOP */
	bool parsing;
};

/* The commands; main.c's table lists them in the order of rotsecctl --help. */
extern const struct ctl_verb ctl_check, ctl_sync, ctl_status, ctl_rotate, ctl_revoke, ctl_deliver,
        ctl_verify, ctl_show, ctl_keygen, ctl_open, ctl_fleet;

/* ---- args.c ---- */

#define CTL_STOP (-2)

/*
 * The command's arguments by its row, the one way every command reads them: each option
 * to verb->option, the positional ones, before or after options, into c->args ("--" ends
 * the options), then as many as the row allows. 0, or CTL_STOP with c->rc the exit
 * status: after --help (printed, 0), or a usage error (named, with the pointer to --help,
 * CTL_EXIT_USAGE).
 */
int ctl_parse(struct ctl *c);

/* --json, the one option of show and status: its table and what it sets. */
extern const struct option ctl_json_options[];
int ctl_json_option(struct ctl *c, int o);

/* "rotsecctl VERB: MESSAGE" and "Try 'rotsecctl VERB --help' ..." on stderr; returns
 * CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* "rotsecctl: MESSAGE" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The verb's usage line and help, on stdout. */
void ctl_verb_help(const struct ctl_verb *v);

/* ---- load.c ---- */

/*
 * What every command that works on the configured accounts does around its own work, in
 * one place: load c->conf (every diagnostic printed, and on error one line saying why and
 * that nothing changed; `check` also looks at what the config refers to), refuse a
 * caller without root when c->use.root_for says why it is needed, open the engine, run
 * c->use.run, close. Returns the exit status.
 */
int ctl_run(struct ctl *c);

/* e->why (or strerror) as "rotsecctl: ..." and CTL_EXIT_FAILED. */
int ctl_fail(const struct rs_engine *e, int r);

/* ---- output.c ---- */

/* The end of a summary line about deliveries (its counts of failures printed by the
 * caller): the newline, then e->why on stderr when a delivery or verify command failed.
 * CTL_EXIT_FAILED then, CTL_EXIT_OK otherwise. */
int ctl_deliveries_done(const struct rs_engine *e);

/* A JSON string of s: quotes, backslashes and control characters escaped. */
void ctl_json_str(const char *s);
/* "KEY": T, or null for 0; then ", " if comma. */
void ctl_json_time(const char *key, int64_t t, bool comma);

/* "2026-12-06 14:37:05 CET" (local time, seconds and zone), or "-" for t <= 0. */
void ctl_fmt_time(int64_t t, char *buf, size_t len);
/* The same to the minute ("2026-12-06 14:37", a table column of 17) or exact. */
enum ctl_time_form { CTL_TIME_EXACT, CTL_TIME_MINUTE };
void ctl_fmt_time_as(int64_t t, enum ctl_time_form form, char *buf, size_t len);

/* The secret and a newline to stdout in one write(2) from its guarded buffer (never
 * through stdio, whose buffer would keep a copy); CTL_EXIT_FAILED with a message when
 * the write fails or is short. */
int ctl_print_secret(struct rs_secret *s);

/* `before`, the secret as a JSON string, `after`, to stdout in one write(2) from guarded
 * memory, as ctl_print_secret. */
int ctl_print_secret_json(const char *before, const struct rs_secret *s, const char *after);

#endif
