/*
 * rotsecctl, the admin CLI (DESIGN §5), by concern:
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

struct ctl_verb {
	const char *name;
	const char *synopsis; /* what follows the name: "NAME [--grace D] [--revoke-previous]" */
	const char *summary;  /* rotsecctl --help: one line, or more joined by "\n" */
	/* rotsecctl VERB --help, after the usage line and the summary: the options, one
	 * "  --opt VALUE            what" line each (descriptions at column 26), and notes. */
	const char *help;
	const struct option *options; /* the command's long options, --help added by ctl_getopt */
	bool no_config;               /* keygen, open: no configuration is read */
	int (*run)(struct ctl *c);
};

struct ctl {
	const char *conf; /* -c, --config */
	bool conf_given;  /* -c was given (the fleet consumer has no default config) */
	const struct ctl_verb *verb;
	char prog[64]; /* "rotsecctl rotate": how messages about the command begin */
	int argc;      /* the command's own arguments, argv[0] its name */
	char **argv;
	/* Filled by ctl_getopt: the positional arguments, in order, and the value of the
	 * option it returned. */
	const char *args[CTL_MAX_ARGS];
	int nargs;
	const char *optarg;
	int rc; /* the exit status when ctl_getopt returned CTL_STOP */
	bool parsing;
};

/* The commands; main.c's table lists them in the order of rotsecctl --help. */
extern const struct ctl_verb ctl_check, ctl_sync, ctl_status, ctl_rotate, ctl_revoke, ctl_deliver,
        ctl_verify, ctl_show, ctl_keygen, ctl_open, ctl_fleet;

/* ---- args.c ---- */

#define CTL_STOP (-2)

/* The next option of the command (getopt_long's value for it; its value, if any, in
 * c->optarg), -1 when there are no more, or CTL_STOP with c->rc the exit status: after
 * --help (printed, 0) or an unknown or incomplete option (named, with the pointer to
 * --help, CTL_EXIT_USAGE). Positional arguments, before or after options, are collected
 * in c->args; "--" ends the options. */
int ctl_getopt(struct ctl *c);

/* The positional arguments are between min and max in number; otherwise a usage error
 * naming `missing` (such as "an account NAME") or the first one too many. 0, or
 * CTL_EXIT_USAGE with the message printed. */
int ctl_want_args(struct ctl *c, int min, int max, const char *missing);

/* "rotsecctl VERB: MESSAGE" and "Try 'rotsecctl VERB --help' ..." on stderr; returns
 * CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* "rotsecctl: MESSAGE" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The verb's usage line and help, on stdout. */
void ctl_verb_help(const struct ctl_verb *v);

/* ---- load.c ---- */

/* Load c->conf into cfg, printing every diagnostic; on error also one line saying why
 * and that nothing changed. rs_config_free(cfg) afterwards in any case. */
int ctl_load_config(const struct ctl *c, struct rs_config *cfg);

/* Commands that write (the store, the journal, deliveries) or print a secret run as root
 * only: 0, or CTL_EXIT_FAILED with a message saying what the command needs root for. */
int ctl_need_root(const struct ctl *c, const char *what);

/* rs_engine_open with a message naming the problem on failure. */
int ctl_open_engine(const struct ctl *c, struct rs_engine *e, const struct rs_config *cfg,
                    bool readonly);

/* e->why (or strerror) as "rotsecctl: ..." and CTL_EXIT_FAILED. */
int ctl_fail(const struct rs_engine *e, int r);

/* ---- output.c ---- */

/* A JSON string of s: quotes, backslashes and control characters escaped. */
void ctl_json_str(const char *s);
/* "KEY": T, or null for 0; then ", " if comma. */
void ctl_json_time(const char *key, int64_t t, bool comma);

/* "2026-12-06 14:37:05 CET" (local time, seconds and zone), or "-" for t <= 0. */
void ctl_fmt_time(int64_t t, char *buf, size_t len);

/* The secret and a newline to stdout in one write(2) from its guarded buffer (never
 * through stdio, whose buffer would keep a copy); CTL_EXIT_FAILED with a message when
 * the write fails or is short. */
int ctl_print_secret(struct rs_secret *s);

/* `before`, the secret as a JSON string, `after`, to stdout in one write(2) from guarded
 * memory, as ctl_print_secret. */
int ctl_print_secret_json(const char *before, const struct rs_secret *s, const char *after);

#endif
