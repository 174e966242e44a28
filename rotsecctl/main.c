/*
 * rotsecctl — the admin CLI (ARCHITECTURE.md, contract §6). Works with or without rotsecd running:
 * both go through the engine, which takes the account and store locks.
 *
 *   rotsecctl [-c FILE] COMMAND [ARGS]      rotsecctl COMMAND --help
 *
 * The options before the command are parsed here, the command's own by its row (args.c).
 * A command is one row of the table below, its struct ctl_verb in its own file: the table
 * is the dispatch and rotsecctl --help both. Exit statuses: rotsecctl.h.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include "audit.h"
#include "log.h"
#include "paths.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static const struct ctl_verb *const verbs[] = {
        &ctl_check,  &ctl_sync, &ctl_status, &ctl_rotate, &ctl_revoke, &ctl_deliver,
        &ctl_verify, &ctl_show, &ctl_keygen, &ctl_open,   &ctl_fleet,
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* Where the descriptions of commands and options start in rotsecctl --help. The bash
 * completion reads this text: a command is a line "  VERB SYNOPSIS  description" (the
 * synopsis ends at two spaces), an option before the command "  -x, --long VALUE  ...";
 * continuation lines are indented further and never start with "-". */
#define DESC_COL 33

static void help(void)
{
	printf("usage: rotsecctl [-c FILE] COMMAND [ARGS]\n"
	       "       rotsecctl COMMAND --help\n\n");
	for (size_t i = 0; i < NVERBS; i++) {
		const struct ctl_verb *v = verbs[i];
		char syn[256];
		const char *line = v->summary, *nl;
		int n = snprintf(syn, sizeof(syn), "%s%s%s", v->name, v->synopsis[0] ? " " : "",
		                 v->synopsis);

		/* A synopsis too long for its column gets the description on the next line. */
		if (n > DESC_COL - 4)
			printf("  %s\n%*s", syn, DESC_COL, "");
		else
			printf("  %-*s", DESC_COL - 2, syn);
		while ((nl = strchr(line, '\n')) != NULL) {
			printf("%.*s\n%*s", (int)(nl - line), line, DESC_COL, "");
			line = nl + 1;
		}
		printf("%s\n", line);
	}
	printf("\n"
	       "  -c, --config FILE  configuration (default " RS_DEFAULT_CONFIG ")\n"
	       "  -h, --help         print this help and exit\n"
	       "  -V, --version      print the version and exit\n"
	       "\n"
	       "Exit status: 0 success; 1 failed or refused; 3 usage error. status exits as a\n"
	       "monitoring plugin: 0 ok, 1 warning, 2 critical, 3 unknown. See rotsecctl(8).\n");
}

/* The edit distance of a and b, up to a small limit: enough to catch a typo. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32], prev, tmp;

	if (la >= 31 || lb >= 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static int unknown_command(const char *name)
{
	const char *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < NVERBS; i++) {
		size_t d = distance(name, verbs[i]->name);

		if (d < bestd || strncmp(name, verbs[i]->name, strlen(name)) == 0) {
			best = verbs[i]->name;
			bestd = d < bestd ? d : bestd;
		}
	}
	if (best && name[0])
		(void)fprintf(stderr, "rotsecctl: unknown command '%s'; did you mean '%s'?\n", name,
		              best);
	else
		(void)fprintf(stderr, "rotsecctl: unknown command '%s'\n", name);
	(void)fprintf(stderr, "Try 'rotsecctl --help' for more information.\n");
	return CTL_EXIT_USAGE;
}

/* The command by its row: its arguments, then its work, with the configuration and the
 * engine unless it reads none. */
static int run(struct ctl *c)
{
	const struct ctl_verb *v = c->verb;

	if (v->main)
		return v->main(c);
	c->use = v->use;
	if (ctl_parse(c) < 0)
		return c->rc;
	if (v->no_config)
		return c->use.run(c, NULL, NULL);
	return ctl_run(c);
}

/* A secret may sit in this process's memory: keep it out of core dumps and ptrace by
 * other users, and create every file private unless a mode says otherwise. */
static void harden_process(void)
{
	struct rlimit no_core = {0, 0};

	umask(077);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &no_core);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {0},
	};
	struct ctl c = {.conf = RS_DEFAULT_CONFIG};
	const char *name;
	int o;

	harden_process();
	rs_log_open("rotsecctl", RS_LOG_STDERR);
	rs_audit_set_actor("rotsecctl");
	openlog("rotsecctl", LOG_PID, LOG_AUTHPRIV);

	/* getopt_long names us by argv[0] in its messages: by our name, not our path. */
	argv[0] = (char *)"rotsecctl";
	/* "+": the options before the command only; the command's own are its business. */
	while ((o = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			c.conf = optarg;
			c.conf_given = true;
			break;
		case 'h':
			help();
			return CTL_EXIT_OK;
		case 'V':
			printf("rotsecctl %s\n", ROTSEC_VERSION);
			return CTL_EXIT_OK;
		default:
			/* getopt_long has named the option. */
			(void)fprintf(stderr, "Try 'rotsecctl --help' for more information.\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		(void)fprintf(stderr, "rotsecctl: missing COMMAND\n"
		                      "Try 'rotsecctl --help' for more information.\n");
		return CTL_EXIT_USAGE;
	}
	name = argv[optind];
	for (size_t i = 0; i < NVERBS && !c.verb; i++)
		if (strcmp(name, verbs[i]->name) == 0)
			c.verb = verbs[i];
	if (!c.verb)
		return unknown_command(name);
	(void)snprintf(c.prog, sizeof(c.prog), "rotsecctl %s", c.verb->name);
	c.argc = argc - optind;
	c.argv = argv + optind;
	return run(&c);
}
