/*
 * pamtest_rotsec: one scripted PAM conversation through libpamtest, for the shell tests
 * (t-pam-wrapper.sh) that run it under pam_wrapper.
 *
 *   pamtest_rotsec SERVICE USER OP=CODE... [-- ANSWER...]
 *
 * OP is auth, setcred, account, open_session, close_session or chauthtok; CODE a PAM
 * return code by name (PAM_SUCCESS, PAM_AUTH_ERR, ...). The operations run in order on
 * one handle. Each ANSWER answers one password (echo-off) prompt, in order; a prompt with
 * no answer left fails the conversation, so a stack that asks twice is caught. Error and
 * info messages the modules send are printed as "error: TEXT" and "info: TEXT".
 *
 * Exit status: 0 when every operation returned its CODE, 1 when one did not (it says
 * which), 2 on bad usage.
 */
#include <libpamtest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS  8
#define MAX_ANS  8
#define MAX_MSGS 8

static const struct {
	const char *name;
	int code;
} codes[] = {
        {"PAM_SUCCESS", PAM_SUCCESS},
        {"PAM_AUTH_ERR", PAM_AUTH_ERR},
        {"PAM_USER_UNKNOWN", PAM_USER_UNKNOWN},
        {"PAM_AUTHINFO_UNAVAIL", PAM_AUTHINFO_UNAVAIL},
        {"PAM_ACCT_EXPIRED", PAM_ACCT_EXPIRED},
        {"PAM_PERM_DENIED", PAM_PERM_DENIED},
        {"PAM_IGNORE", PAM_IGNORE},
        {"PAM_CONV_ERR", PAM_CONV_ERR},
        {"PAM_AUTHTOK_ERR", PAM_AUTHTOK_ERR},
        {"PAM_SYSTEM_ERR", PAM_SYSTEM_ERR},
        {"PAM_SERVICE_ERR", PAM_SERVICE_ERR},
        {"PAM_BUF_ERR", PAM_BUF_ERR},
        {"PAM_CRED_ERR", PAM_CRED_ERR},
        {"PAM_ABORT", PAM_ABORT},
};

static const struct {
	const char *name;
	enum pamtest_ops op;
} ops[] = {
        {"auth", PAMTEST_AUTHENTICATE},
        {"setcred", PAMTEST_SETCRED},
        {"account", PAMTEST_ACCOUNT},
        {"open_session", PAMTEST_OPEN_SESSION},
        {"close_session", PAMTEST_CLOSE_SESSION},
        {"chauthtok", PAMTEST_CHAUTHTOK},
};

static const char *code_name(int code)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	(void)snprintf(buf, sizeof(buf), "PAM code %d", code);
	return buf;
}

static int parse_case(const char *arg, struct pam_testcase *tc)
{
	const char *eq = strchr(arg, '=');
	size_t i, oplen;

	if (!eq)
		return -1;
	oplen = (size_t)(eq - arg);
	memset(tc, 0, sizeof(*tc));
	tc->pam_operation = (enum pamtest_ops) - 1;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == oplen && strncmp(arg, ops[i].name, oplen) == 0)
			tc->pam_operation = ops[i].op;
	if (tc->pam_operation == (enum pamtest_ops) - 1)
		return -1;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(eq + 1, codes[i].name) == 0) {
			tc->expected_rv = codes[i].code;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	struct pam_testcase tc[MAX_OPS];
	const char *answers[MAX_ANS + 1] = {NULL};
	char *err[MAX_MSGS + 1] = {NULL}, *info[MAX_MSGS + 1] = {NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers, .out_err = err, .out_info = info};
	enum pamtest_err perr;
	size_t ncase = 0, nans = 0, i;
	int a;

	if (argc < 4) {
		(void)fprintf(stderr,
		              "usage: pamtest_rotsec SERVICE USER OP=CODE... [-- ANSWER...]\n");
		return 2;
	}
	for (a = 3; a < argc && strcmp(argv[a], "--") != 0; a++) {
		if (ncase == MAX_OPS || parse_case(argv[a], &tc[ncase]) < 0) {
			(void)fprintf(stderr, "pamtest_rotsec: bad operation '%s'\n", argv[a]);
			return 2;
		}
		ncase++;
	}
	for (a++; a < argc && nans < MAX_ANS; a++)
		answers[nans++] = argv[a];
	/* libpamtest copies each message into the buffers it is given */
	for (i = 0; i < MAX_MSGS; i++) {
		err[i] = calloc(1, PAM_MAX_MSG_SIZE);
		info[i] = calloc(1, PAM_MAX_MSG_SIZE);
	}
	for (i = 0; i < MAX_MSGS; i++)
		if (!err[i] || !info[i])
			abort(); /* a test tool out of memory */

	perr = _pamtest(argv[1], argv[2], &conv, tc, ncase, NULL);

	for (i = 0; i < MAX_MSGS; i++) {
		if (err[i][0])
			printf("error: %s\n", err[i]);
		if (info[i][0])
			printf("info: %s\n", info[i]);
		free(err[i]);
		free(info[i]);
	}
	for (i = 0; i < ncase; i++)
		printf("%s: %s\n", argv[3 + i], code_name(tc[i].op_rv));
	if (perr == PAMTEST_ERR_CASE) {
		const struct pam_testcase *f = _pamtest_failed_case(tc, ncase);

		printf("FAILED: %s returned %s\n", argv[3 + (f - tc)], code_name(f->op_rv));
		return 1;
	}
	if (perr != PAMTEST_ERR_OK) {
		printf("FAILED: %s\n", pamtest_strerror(perr));
		return 1;
	}
	return 0;
}
