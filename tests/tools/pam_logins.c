/*
 * pam_logins: PAM steps on one handle through the real libpam, one result line each, for
 * the failure-injection and valgrind tests (t-failinj.sh, t-valgrind.sh).
 *
 *   pam_logins CONFDIR SERVICE STEP...
 *
 * STEP is auth:USER:PASSWORD (pam_authenticate, the password answering every prompt),
 * authfile:USER:FILE (the same with the first line of FILE as the password, for a secret
 * that must not be put on a command line: one rotsec generated) or account:USER
 * (pam_acct_mgmt). The service file CONFDIR/SERVICE names the module. All
 * steps run on one handle, as a long-lived server (sshd's monitor, a web service) would
 * run them, so that the module's store cache is kept from one step to the next; each
 * step sets PAM_USER first (libpam itself drops PAM_AUTHTOK after each pam_authenticate, so
 * every auth step prompts again). Prints "STEP-KIND USER PAM_CODE".
 *
 * Under failinj.so with FAILINJ_ARM=manual, only the calls made inside the PAM steps are
 * counted and failed: the driver arms the shim around each pam_authenticate and
 * pam_acct_mgmt, and never around its own work, pam_start or pam_end.
 *
 * Each password is wiped from this program's memory (its argument, its copy) once its
 * step is done, so that t-secret-memory.sh can tell whether libpam or the module kept a
 * copy of it.
 *
 * Exit status: 0 when every step ran (whatever it returned), 2 bad usage, 3 pam_start
 * failed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#define EXPORTED __attribute__((visibility("default")))

/* An audit_open that fails as on a kernel without audit: libpam then skips its audit
 * records (and changes no return code), so hundreds of injected failures do not flood
 * the host's audit log. This program's definition comes first in the lookup scope. */
EXPORTED int audit_open(void);
EXPORTED int audit_open(void)
{
	errno = EPROTONOSUPPORT;
	return -1;
}

static const struct {
	const char *name;
	int code;
} codes[] = {
        {"PAM_SUCCESS", PAM_SUCCESS},
        {"PAM_OPEN_ERR", PAM_OPEN_ERR},
        {"PAM_SYMBOL_ERR", PAM_SYMBOL_ERR},
        {"PAM_SERVICE_ERR", PAM_SERVICE_ERR},
        {"PAM_SYSTEM_ERR", PAM_SYSTEM_ERR},
        {"PAM_BUF_ERR", PAM_BUF_ERR},
        {"PAM_PERM_DENIED", PAM_PERM_DENIED},
        {"PAM_AUTH_ERR", PAM_AUTH_ERR},
        {"PAM_CRED_INSUFFICIENT", PAM_CRED_INSUFFICIENT},
        {"PAM_AUTHINFO_UNAVAIL", PAM_AUTHINFO_UNAVAIL},
        {"PAM_USER_UNKNOWN", PAM_USER_UNKNOWN},
        {"PAM_MAXTRIES", PAM_MAXTRIES},
        {"PAM_NEW_AUTHTOK_REQD", PAM_NEW_AUTHTOK_REQD},
        {"PAM_ACCT_EXPIRED", PAM_ACCT_EXPIRED},
        {"PAM_CONV_ERR", PAM_CONV_ERR},
        {"PAM_ABORT", PAM_ABORT},
        {"PAM_IGNORE", PAM_IGNORE},
        {"PAM_INCOMPLETE", PAM_INCOMPLETE},
};

static const char *code_name(int code)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	(void)snprintf(buf, sizeof(buf), "PAM_CODE_%d", code);
	return buf;
}

/* Answers every echo-off prompt with the password of the current step; shows nothing. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const char *pw = *(const char **)data;
	struct pam_response *r;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF || !pw)
			continue;
		r[i].resp = strdup(pw);
		if (!r[i].resp) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* The first line of `file`, without its newline, into buf. */
static int read_line(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	int r = -1;

	if (!f)
		return -1;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		r = 0;
	}
	(void)fclose(f);
	return r;
}

int main(int argc, char **argv)
{
	const char *pw = NULL;
	struct pam_conv pc = {conv, &pw};
	int (*arm)(int) = NULL;
	pam_handle_t *h = NULL;
	int rv;

	if (argc < 4) {
		(void)fprintf(stderr,
		              "usage: pam_logins CONFDIR SERVICE auth:USER:PW|account:USER...\n");
		return 2;
	}
	*(void **)&arm = dlsym(RTLD_DEFAULT, "failinj_arm");
	/* The name service set up outside the steps (nsswitch.conf read, each of its modules
	 * loaded, which glibc does once and for good), as in a long-lived server that has
	 * looked users up before: pam_rotsec resolves the names it is asked about, and the
	 * failures under test are in the lookups, not in glibc's loading of a module. */
	for (int i = 3; i < argc; i++) {
		char name[256];
		const char *u = strchr(argv[i], ':');
		struct passwd *unused;

		(void)snprintf(name, sizeof(name), "%s", u ? u + 1 : "");
		name[strcspn(name, ":")] = '\0';
		unused = getpwnam(name);
		(void)unused;
	}
	rv = pam_start_confdir(argv[2], NULL, &pc, argv[1], &h);
	if (rv != PAM_SUCCESS) {
		(void)fprintf(stderr, "pam_logins: pam_start: %s\n", code_name(rv));
		return 3;
	}
	for (int i = 3; i < argc; i++) {
		char step[1024], line[1024], *user, *sep;
		int auth, fromfile;

		(void)snprintf(step, sizeof(step), "%s", argv[i]);
		fromfile = strncmp(step, "authfile:", 9) == 0;
		auth = fromfile || strncmp(step, "auth:", 5) == 0;
		if (!auth && strncmp(step, "account:", 8) != 0) {
			(void)fprintf(stderr, "pam_logins: bad step '%s'\n", argv[i]);
			pam_end(h, PAM_SUCCESS);
			return 2;
		}
		user = step + (fromfile ? 9 : auth ? 5 : 8);
		sep = strchr(user, ':');
		if (sep)
			*sep = '\0';
		pw = sep ? sep + 1 : NULL;
		if (fromfile && (!pw || read_line(pw, line, sizeof(line)) < 0)) {
			(void)fprintf(stderr, "pam_logins: cannot read a password from '%s'\n",
			              pw ? pw : "");
			pam_end(h, PAM_SUCCESS);
			return 2;
		}
		if (fromfile)
			pw = line;
		if (pam_set_item(h, PAM_USER, user) != PAM_SUCCESS) {
			(void)fprintf(stderr, "pam_logins: pam_set_item failed\n");
			pam_end(h, PAM_SUCCESS);
			return 3;
		}
		if (arm)
			arm(1);
		rv = auth ? pam_authenticate(h, 0) : pam_acct_mgmt(h, 0);
		if (arm)
			arm(0);
		printf("%s %s %s\n", auth ? "auth" : "account", user, code_name(rv));
		explicit_bzero(step, sizeof(step));
		explicit_bzero(line, sizeof(line));
		explicit_bzero(argv[i], strlen(argv[i]));
		pw = NULL;
	}
	pam_end(h, PAM_SUCCESS);
	return 0;
}
