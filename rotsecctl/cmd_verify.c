/*
 * verify NAME: a password read from stdin, judged as pam_rotsec would judge it.
 */
#define _GNU_SOURCE
#include "rotsecctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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
		char ch;

		n = read(STDIN_FILENO, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || ch == '\n')
			break;
		pw->buf[len++] = ch;
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

static int verdict(const char *name, const struct rs_verify_result *res)
{
	switch (res->verdict) {
	case RS_CURRENT:
		printf("current\n");
		return CTL_EXIT_OK;
	case RS_PREVIOUS:
		printf("previous\n");
		(void)fflush(stdout);
		ctl_err("the previous secret of %s is valid %" PRId64 " more seconds", name,
		        res->remaining);
		return CTL_EXIT_OK;
	case RS_REVOKED:
		printf("revoked\n");
		return CTL_EXIT_FAILED;
	case RS_DISABLED:
		printf("disabled\n");
		return CTL_EXIT_FAILED;
	case RS_UNKNOWN:
		ctl_err("%s is not in the store", name);
		break;
	case RS_NO_MATCH:
	case RS_PREVIOUS_REFUSED:
		break;
	}
	printf("no match\n");
	return CTL_EXIT_FAILED;
}

static int verify(struct ctl *c, struct rs_config *cfg, struct rs_engine *e)
{
	struct rs_verify_result res;
	struct rs_secret pw = {0};
	char why[1024] = "";
	const char *name = c->args[0];
	int r;

	(void)e;
	if (rs_crypto_init() < 0)
		return CTL_EXIT_FAILED;
	r = read_password(&pw);
	if (r == 0)
		r = rs_verify_password(cfg, name, pw.buf, pw.len, &res, why, sizeof(why));
	rs_secret_free(&pw);
	if (r < 0) {
		ctl_err("%s", why[0] ? why : strerror(-r));
		return CTL_EXIT_FAILED;
	}
	return verdict(name, &res);
}

const struct ctl_verb ctl_verify = {
        .name = "verify",
        .synopsis = "NAME",
        .summary = "check a password read from stdin",
        .help = "Prints current, previous, revoked, disabled or no match: what a login as NAME\n"
                "with it would get. Needs root, or membership of group rotsec.\n\n",
        .args = &ctl_account_arg,
        /* No engine: the store is read as pam_rotsec reads it, by whoever it lets. */
        .use = {.run = verify},
};
