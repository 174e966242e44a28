/*
 * rotsecctl — the admin CLI (DESIGN §5). Works with or without rotsecd running: both go
 * through the engine, which takes the account and store locks.
 *
 * Exit status: 0 success; 1 refused or failed (including "no match" from verify and a
 * rotation refused during grace); 2 usage error.
 */
#define _GNU_SOURCE
#include "audit.h"
#include "config.h"
#include "duration.h"
#include "engine.h"
#include "log.h"
#include "paths.h"
#include "safefile.h"
#include "sealed.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
        "usage: rotsecctl [-c FILE] COMMAND [ARGS]\n"
        "\n"
        "  check [--effective NAME]       validate the configuration; --effective: print\n"
        "                                 every setting of account NAME as it takes effect\n"
        "  sync [--dry-run]               create, update and remove accounts as configured\n"
        "                                 (with --dry-run: print what it would do, do none)\n"
        "  status [NAME] [--json]         state of every account, or of NAME\n"
        "  rotate NAME [--grace D] [--revoke-previous]\n"
        "                                 rotate now (--revoke-previous: compromise, no grace)\n"
        "  revoke NAME                    end the previous secret's grace now\n"
        "  deliver NAME                   deliver the current secret to every consumer again\n"
        "  verify NAME                    check a password read from stdin\n"
        "  show NAME                      print the current secret (root, audited)\n"
        "  keygen PREFIX                  make a consumer key pair PREFIX.pub, PREFIX.key\n"
        "  open --key FILE SEALED         decrypt a sealed delivery\n"
        "\n"
        "  -c FILE    configuration (default " RS_DEFAULT_CONFIG ")\n"
        "  --version  print the version\n";

static int usage_error(const char *msg)
{
	if (msg)
		(void)fprintf(stderr, "rotsecctl: %s\n", msg);
	(void)fputs(usage_text, stderr);
	return 2;
}

static void print_diags(const struct rs_config *cfg)
{
	for (size_t i = 0; i < cfg->ndiags; i++)
		(void)fprintf(stderr, "%s%s\n", cfg->diags[i].warning ? "warning: " : "",
		              cfg->diags[i].msg);
}

/* Load the config; on error print every diagnostic and leave everything untouched. */
static int load_config(const char *file, struct rs_config *cfg)
{
	int r = rs_config_load(file, cfg);

	print_diags(cfg);
	if (r == -EINVAL)
		(void)fprintf(stderr, "rotsecctl: %s has %zu error%s; nothing was changed\n", file,
		              cfg->nerrors, cfg->nerrors == 1 ? "" : "s");
	else if (r < 0)
		(void)fprintf(stderr, "rotsecctl: cannot read %s: %s\n", file, strerror(-r));
	return r;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		(void)snprintf(buf, len, "-");
		return;
	}
	localtime_r(&tt, &tm);
	(void)strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* ---- verbs ---- */

/* With `effective`, that account's settings as they take effect, `sshd -T` style. */
static int cmd_check(struct rs_config *cfg, const char *effective)
{
	const struct rs_account_cfg *a;

	if (effective) {
		a = rs_config_account(cfg, effective);
		if (!a) {
			(void)fprintf(stderr, "rotsecctl: %s has no account %s\n", cfg->file,
			              effective);
			return 1;
		}
		if (rs_config_print_account(stdout, a) < 0 || fflush(stdout) != 0) {
			(void)fprintf(stderr, "rotsecctl: cannot write to stdout\n");
			return 1;
		}
		return 0;
	}
	printf("%s: OK, %zu account%s, %zu group%s\n", cfg->file, cfg->naccounts,
	       cfg->naccounts == 1 ? "" : "s", cfg->ngroups, cfg->ngroups == 1 ? "" : "s");
	return 0;
}

static int fail(struct rs_engine *e, int r)
{
	(void)fprintf(stderr, "rotsecctl: %s\n", e->why[0] ? e->why : strerror(-r));
	return 1;
}

/* One line per thing the engine does, on stdout: what `sync` changes, as it goes. */
static void print_event(void *arg, const struct rs_event *ev)
{
	char line[1024];

	(void)arg;
	rs_event_format(ev, line, sizeof(line));
	printf("%s\n", line);
}

/* Which secrets of NAME the store accepts now, on stderr: said when a rotation or a revoke
 * did not get as far as it should, so that nobody takes a leaked secret for dead. */
static void say_accepted(struct rs_engine *e, const char *name)
{
	struct rs_status *st;
	size_t n;

	if (rs_engine_status(e, name, &st, &n) < 0 || n != 1) {
		(void)fprintf(stderr,
		              "rotsecctl: %s: the store cannot be read to say which of its "
		              "secrets it accepts\n",
		              name);
		return;
	}
	if (!st->in_store) {
		(void)fprintf(stderr,
		              "rotsecctl: %s is not in the store: no secret of it is "
		              "accepted\n",
		              name);
	} else if (st->previous_valid_until) {
		char until[64];
		time_t t = (time_t)st->previous_valid_until;
		struct tm tm;

		localtime_r(&t, &tm);
		(void)strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S %Z", &tm);
		(void)fprintf(
		        stderr,
		        "rotsecctl: %s: still accepted: the current secret (generation %" PRIu64
		        ") and the previous one (generation %" PRIu64 ") until %s\n",
		        name, st->generation, st->generation - 1, until);
	} else {
		(void)fprintf(stderr,
		              "rotsecctl: %s: accepted: the current secret (generation %" PRIu64
		              ") alone\n",
		              name, st->generation);
	}
	free(st);
}

static int cmd_sync(struct rs_engine *e, int dry_run)
{
	int r;

	e->on_event = print_event;
	if (dry_run) {
		if ((r = rs_engine_sync_plan(e)) < 0)
			return fail(e, r);
		printf("dry run: nothing was changed\n");
		return 0;
	}
	if ((r = rs_engine_sync(e)) < 0)
		return fail(e, r);
	printf("synced %zu account%s: %u created, %u removed, %u resumed, %u delivered",
	       e->cfg->naccounts, e->cfg->naccounts == 1 ? "" : "s", e->created, e->removed,
	       e->resumed, e->delivered);
	if (e->delivery_failures || e->verify_failures) {
		if (e->delivery_failures)
			printf(", %u deliveries FAILED", e->delivery_failures);
		if (e->verify_failures)
			printf(", %u verify commands FAILED", e->verify_failures);
		printf("\n");
		(void)fprintf(stderr, "rotsecctl: %s\n", e->why);
		return 1;
	}
	printf("\n");
	return 0;
}

/* After a rotation or revoke whose delivery or check failed: what that means for logins. */
static int rollout_failed(struct rs_engine *e, const char *name, const struct rs_status *st)
{
	const char *what = e->delivery_failures ? "delivery is" : "the check is";

	if (st && st->in_store && !st->previous_valid_until)
		(void)fprintf(stderr,
		              "rotsecctl: %s; no earlier secret is accepted, so a consumer that "
		              "lacks generation %" PRIu64 " cannot log in until it has it (the %s "
		              "retried: rotsecctl deliver %s)\n",
		              e->why, st->generation, what, name);
	else
		(void)fprintf(stderr,
		              "rotsecctl: %s; the previous secret stays valid until max_grace "
		              "while %s retried (rotsecctl deliver %s)\n",
		              e->why, what, name);
	return 1;
}

static int cmd_rotate(struct rs_engine *e, const char *name, const struct rs_rotate_opts *o)
{
	struct rs_status *st = NULL;
	size_t n;
	int r = rs_engine_rotate(e, name, o), rc = 0;

	if (r < 0) {
		rc = fail(e, r);
		say_accepted(e, name);
		return rc;
	}
	if (rs_engine_status(e, name, &st, &n) == 0 && n == 1) {
		char until[32];
		time_t t = (time_t)st->previous_valid_until;
		struct tm tm;

		localtime_r(&t, &tm);
		(void)strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%s %s to generation %" PRIu64, name,
		       e->resumed ? "finished the interrupted rotation" : "rotated",
		       st->generation);
		if (st->previous_valid_until)
			printf("; previous secret valid until %s", until);
		else if (o->compromise)
			printf("; every earlier secret revoked");
		printf("\n");
	} else if (st) {
		free(st);
		st = NULL;
	}
	if (e->delivery_failures || e->verify_failures)
		rc = rollout_failed(e, name, st);
	free(st);
	return rc;
}

static int cmd_revoke(struct rs_engine *e, const char *name)
{
	struct rs_status *st = NULL;
	size_t n;
	int r = rs_engine_revoke(e, name, "admin", true), rc = 0;

	if (r < 0) {
		rc = fail(e, r);
		say_accepted(e, name);
		return rc;
	}
	if (rs_engine_status(e, name, &st, &n) == 0 && n == 1) {
		if (e->resumed)
			printf("%s finished the interrupted rotation to generation %" PRIu64
			       "; every earlier secret revoked\n",
			       name, st->generation);
		else
			printf("%s: previous secret revoked; only generation %" PRIu64
			       " is accepted\n",
			       name, st->generation);
	} else {
		free(st);
		st = NULL;
		printf("%s: previous secret revoked\n", name);
	}
	if (e->delivery_failures || e->verify_failures)
		rc = rollout_failed(e, name, st);
	free(st);
	return rc;
}

static int cmd_deliver(struct rs_engine *e, const char *name)
{
	int r = rs_engine_deliver(e, name, true);

	if (r < 0)
		return fail(e, r);
	printf("%s: delivered to %u consumer%s", name, e->delivered, e->delivered == 1 ? "" : "s");
	if (e->delivery_failures || e->verify_failures) {
		if (e->delivery_failures)
			printf(", %u FAILED", e->delivery_failures);
		if (e->verify_failures)
			printf(", verify command FAILED");
		printf("\n");
		(void)fprintf(stderr, "rotsecctl: %s\n", e->why);
		return 1;
	}
	printf("\n");
	return 0;
}

/* One line from stdin into guarded memory; without echo when stdin is a terminal. */
static int read_password(struct rs_secret *pw)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	size_t len = 0;
	ssize_t n;
	int r;

	r = rs_secret_alloc(pw, RS_SECRET_MAX + 2);
	if (r < 0)
		return r;
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		(void)fputs("Password: ", stderr);
	} else {
		tty = 0;
	}
	/* Byte by byte up to the newline: nothing after the first line is consumed, and an
	 * over-long line is still read whole so that it is judged as too long. */
	while (len < RS_SECRET_MAX + 2) {
		char c;

		n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		pw->buf[len++] = c;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		(void)fputs("\n", stderr);
	}
	if (len > 0 && pw->buf[len - 1] == '\r')
		len--;
	pw->len = len;
	pw->buf[len < RS_SECRET_MAX + 2 ? len : RS_SECRET_MAX + 1] = '\0';
	return 0;
}

static int cmd_verify(struct rs_config *cfg, const char *name)
{
	struct rs_verify_result res;
	struct rs_secret pw = {0};
	char why[512] = "";
	int r;

	if (rs_crypto_init() < 0)
		return 1;
	r = read_password(&pw);
	if (r == 0)
		r = rs_verify_password(cfg, name, pw.buf, pw.len, &res, why, sizeof(why));
	rs_secret_free(&pw);
	if (r < 0) {
		(void)fprintf(stderr, "rotsecctl: %s\n", why[0] ? why : strerror(-r));
		return 1;
	}
	switch (res.verdict) {
	case RS_CURRENT:
		printf("current\n");
		return 0;
	case RS_PREVIOUS:
		printf("previous\n");
		(void)fprintf(stderr,
		              "rotsecctl: the previous secret of %s is valid %" PRId64
		              " more seconds\n",
		              name, res.remaining);
		return 0;
	case RS_REVOKED:
		printf("revoked\n");
		return 1;
	case RS_DISABLED:
		printf("disabled\n");
		return 1;
	case RS_UNKNOWN:
		(void)fprintf(stderr, "rotsecctl: %s is not in the store\n", name);
		printf("no match\n");
		return 1;
	case RS_NO_MATCH:
	case RS_PREVIOUS_REFUSED:
		break;
	}
	printf("no match\n");
	return 1;
}

/*
 * A secret and a newline to stdout with one write(2), straight from its guarded buffer
 * (which has room for the newline where its terminator is): through stdio, a copy would
 * stay in stdout's buffer, on the ordinary heap, unwiped until the process is gone
 * (t-secret-memory.sh looks for it). A failed or short write is an error: the caller
 * must not believe it got the secret.
 */
static int print_secret(struct rs_secret *s)
{
	int r;

	s->buf[s->len] = '\n';
	r = rs_write_all(STDOUT_FILENO, s->buf, s->len + 1);
	s->buf[s->len] = '\0';
	if (r < 0) {
		(void)fprintf(stderr, "rotsecctl: cannot write the secret: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_show(struct rs_engine *e, const char *name)
{
	struct rs_secret s = {0};
	int r;

	if (geteuid() != 0) {
		(void)fprintf(stderr, "rotsecctl: show is for root only\n");
		return 1;
	}
	r = rs_engine_show(e, name, &s);
	if (r < 0)
		return fail(e, r);
	r = print_secret(&s);
	rs_secret_free(&s);
	return r;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_time(const char *key, int64_t t, int comma)
{
	printf("\"%s\": ", key);
	if (t > 0)
		printf("%" PRId64, t);
	else
		printf("null");
	printf("%s", comma ? ", " : "");
}

static void status_json(const struct rs_status *st, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct rs_status *x = &st[i];

		printf("%s\n  {\"name\": ", i ? "," : "");
		json_str(x->name);
		printf(", \"uid\": %u, \"generation\": %" PRIu64 ", ", x->uid, x->generation);
		json_time("current_since", x->current_since, 1);
		json_time("previous_valid_until", x->previous_valid_until, 1);
		json_time("next_rotation", x->next_rotation, 1);
		printf("\"delivery\": ");
		json_str(x->delivery);
		printf(", \"verify\": ");
		json_str(x->verify);
		printf(", \"in_store\": %s, \"disabled\": %s, \"degraded\": %s, \"step\": ",
		       x->in_store ? "true" : "false", x->disabled ? "true" : "false",
		       x->degraded ? "true" : "false");
		json_str(rs_step_name(x->step));
		printf(", \"current_logins\": %" PRIu64 ", \"previous_logins\": %" PRIu64 ", ",
		       x->have_usage ? x->usage.current_count : 0,
		       x->have_usage ? x->usage.previous_count : 0);
		json_time("previous_last_used", x->have_usage ? x->usage.previous_last : 0, 0);
		printf("}");
	}
	printf("%s]\n", n ? "\n" : "");
}

static void status_table(const struct rs_status *st, size_t n)
{
	int64_t now = (int64_t)time(NULL);

	printf("%-20s %7s %4s %-8s %-17s %-17s %-13s %s\n", "ACCOUNT", "UID", "GEN", "AGE",
	       "PREVIOUS UNTIL", "NEXT ROTATION", "DELIVERY", "PREVIOUS USED");
	for (size_t i = 0; i < n; i++) {
		const struct rs_status *x = &st[i];
		char age[16] = "-", until[32], next[32], used[64] = "-", gen[24];
		const char *dlv = x->in_store ? x->delivery : "not synced";

		if (x->in_store)
			rs_duration_format(now - x->current_since, age, sizeof(age));
		fmt_time(x->previous_valid_until, until, sizeof(until));
		fmt_time(x->next_rotation, next, sizeof(next));
		(void)snprintf(gen, sizeof(gen), "%" PRIu64, x->generation);
		if (x->have_usage && x->usage.previous_count) {
			char ago[16];

			rs_duration_format(now - x->usage.previous_last, ago, sizeof(ago));
			(void)snprintf(used, sizeof(used), "%" PRIu64 "x, last %s ago by %s",
			               x->usage.previous_count, ago, x->usage.service);
		}
		/* Delivered but not verified yet: the rotation is not done either. */
		if (x->in_store && strcmp(x->delivery, "ok") == 0 &&
		    strcmp(x->verify, "failed") == 0)
			dlv = "verify failed";
		else if (x->in_store && strcmp(x->delivery, "ok") == 0 &&
		         strcmp(x->verify, "pending") == 0)
			dlv = "verifying";
		printf("%-20s %7u %4s %-8s %-17s %-17s %-13s %s%s%s\n", x->name, x->uid,
		       x->in_store ? gen : "-", age, until, next, dlv, used,
		       x->degraded ? "  DEGRADED" : "", x->disabled ? "  disabled" : "");
	}
}

static int cmd_status(struct rs_engine *e, const char *name, int json)
{
	struct rs_status *st;
	size_t n;
	int r = rs_engine_status(e, name, &st, &n);

	if (r < 0)
		return fail(e, r);
	if (json)
		status_json(st, n);
	else
		status_table(st, n);
	free(st);
	return 0;
}

static int cmd_keygen(const char *prefix)
{
	char why[512] = "";
	int r;

	if (rs_crypto_init() < 0)
		return 1;
	r = rs_keygen_files(prefix, why, sizeof(why));
	if (r < 0) {
		(void)fprintf(stderr, "rotsecctl: %s\n", why[0] ? why : strerror(-r));
		return 1;
	}
	printf("wrote %s.pub (give it to rotsec: sealed_to) and %s.key (keep it with the "
	       "consumer)\n",
	       prefix, prefix);
	return 0;
}

static int cmd_open(const char *keyfile, const char *sealed)
{
	struct rs_secret s = {0};
	unsigned char buf[RS_SECRET_MAX + 128];
	char why[512] = "";
	ssize_t n;
	int fd, r;

	if (rs_crypto_init() < 0)
		return 1;
	fd = open(sealed, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		(void)fprintf(stderr, "rotsecctl: %s: %s\n", sealed, strerror(errno));
		return 1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0) {
		(void)fprintf(stderr, "rotsecctl: %s: empty or unreadable\n", sealed);
		return 1;
	}
	r = rs_unseal(buf, (size_t)n, keyfile, &s, why, sizeof(why));
	if (r < 0) {
		(void)fprintf(stderr, "rotsecctl: %s: %s\n", sealed, why[0] ? why : strerror(-r));
		return 1;
	}
	r = print_secret(&s);
	rs_secret_free(&s);
	return r;
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
	const char *conf = RS_DEFAULT_CONFIG, *verb, *name = NULL, *keyfile = NULL;
	const char *effective = NULL;
	struct rs_rotate_opts ropts = {.grace = -1, .compromise = false};
	struct rs_config cfg;
	struct rs_engine e;
	int json = 0, dry_run = 0, rc, r, readonly;
	int64_t d;

	harden_process();
	rs_log_open("rotsecctl", RS_LOG_STDERR);
	rs_audit_set_actor("rotsecctl");
	openlog("rotsecctl", LOG_PID, LOG_AUTHPRIV);

	/* Options before the verb: -c FILE. */
	while (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
		if (strcmp(argv[1], "-c") == 0 && argc > 2) {
			conf = argv[2];
			argc -= 2;
			argv += 2;
		} else if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			(void)fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(argv[1], "--version") == 0) {
			printf("rotsecctl %s\n", ROTSEC_VERSION);
			return 0;
		} else {
			return usage_error("unknown option");
		}
	}
	if (argc < 2)
		return usage_error(NULL);
	verb = argv[1];
	argc--;
	argv++;

	/* Verb arguments: NAME and the verb's options, in any order. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry_run = 1;
		} else if (strcmp(argv[i], "--revoke-previous") == 0) {
			ropts.compromise = true;
		} else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc) {
			if (rs_duration_parse(argv[++i], &d) < 0)
				return usage_error("--grace takes a duration like 90s, 15m, 2h");
			ropts.grace = d;
		} else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
			keyfile = argv[++i];
		} else if (strcmp(argv[i], "--effective") == 0 && i + 1 < argc) {
			effective = argv[++i];
		} else if (strcmp(argv[i], "--effective") == 0) {
			return usage_error("--effective needs an account NAME");
		} else if (argv[i][0] == '-') {
			return usage_error("unknown option");
		} else if (!name) {
			name = argv[i];
		} else {
			return usage_error("too many arguments");
		}
	}

	if (effective && strcmp(verb, "check") != 0)
		return usage_error("--effective applies to check only");
	if (dry_run && strcmp(verb, "sync") != 0)
		return usage_error("--dry-run applies to sync only");
	/* Verbs that need no configuration. */
	if (strcmp(verb, "keygen") == 0)
		return name ? cmd_keygen(name) : usage_error("keygen needs PREFIX");
	if (strcmp(verb, "open") == 0)
		return name && keyfile ? cmd_open(keyfile, name)
		                       : usage_error("open needs --key FILE and SEALED");

	if (strcmp(verb, "check") != 0 && strcmp(verb, "sync") != 0 &&
	    strcmp(verb, "status") != 0 && strcmp(verb, "rotate") != 0 &&
	    strcmp(verb, "revoke") != 0 && strcmp(verb, "deliver") != 0 &&
	    strcmp(verb, "verify") != 0 && strcmp(verb, "show") != 0)
		return usage_error("unknown command");
	if (!name && (strcmp(verb, "rotate") == 0 || strcmp(verb, "revoke") == 0 ||
	              strcmp(verb, "deliver") == 0 || strcmp(verb, "verify") == 0 ||
	              strcmp(verb, "show") == 0))
		return usage_error("this command needs an account NAME");

	r = load_config(conf, &cfg);
	if (r < 0) {
		rs_config_free(&cfg);
		return 1;
	}
	if (strcmp(verb, "check") == 0) {
		rc = cmd_check(&cfg, effective);
		rs_config_free(&cfg);
		return rc;
	}
	if (strcmp(verb, "verify") == 0) {
		rc = cmd_verify(&cfg, name);
		rs_config_free(&cfg);
		return rc;
	}

	/* A dry run creates nothing, not even the state dir or the host key. */
	readonly = strcmp(verb, "status") == 0 || (strcmp(verb, "sync") == 0 && dry_run);
	r = rs_engine_open(&e, &cfg, readonly);
	if (r < 0) {
		(void)fprintf(stderr, "rotsecctl: %s\n", e.why[0] ? e.why : strerror(-r));
		rs_config_free(&cfg);
		return 1;
	}
	if (strcmp(verb, "sync") == 0)
		rc = cmd_sync(&e, dry_run);
	else if (strcmp(verb, "status") == 0)
		rc = cmd_status(&e, name, json);
	else if (strcmp(verb, "rotate") == 0)
		rc = cmd_rotate(&e, name, &ropts);
	else if (strcmp(verb, "revoke") == 0)
		rc = cmd_revoke(&e, name);
	else if (strcmp(verb, "deliver") == 0)
		rc = cmd_deliver(&e, name);
	else
		rc = cmd_show(&e, name);
	rs_engine_close(&e);
	rs_config_free(&cfg);
	return rc;
}
