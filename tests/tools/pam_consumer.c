/*
 * pam_consumer: a program that logs in as a rotsec account through the real libpam, over
 * and over, with the secret rotsecd delivered to it, the way a service consumes a rotated
 * password. The soak (t-soak.sh) runs several at once while rotsecd rotates; the fault
 * tests (t-sys-faults.sh) run it once to ask "does this secret log in, and if not, what
 * does PAM say".
 *
 *   pam_consumer [-l MS] [-n N | -S STOPFILE] [-p MS] [-r N] [-o FAILLOG] \
 *                CONFDIR SERVICE USER SECRETFILE
 *
 * Each login is pam_authenticate then pam_acct_mgmt on a handle from pam_start_confdir
 * (the service file is CONFDIR/SERVICE, so no /etc/pam.d is needed); the conversation
 * answers the password prompt with the secret held.
 *
 *   -l MS   re-read SECRETFILE once the copy held is MS old: the consumer's lag behind a
 *           delivery. 0 (default): before every login. -1: read it once, never again
 *           (the soak's negative control, which must fail after the first deadline).
 *   -n N    N logins, then exit (default 1)
 *   -S FILE log in until FILE exists instead
 *   -p MS   pause between logins (default 0)
 *   -r N    a new PAM handle every N logins (default 100): long-lived handles keep the
 *           module loaded, so its store mapping must follow each replacement of the
 *           store; fresh ones load it again
 *   -o FILE append "fail START_MS END_MS CODE" for each failed login (wall clock, ms)
 *
 * At exit it prints one line:
 *   logins N ok N failed N elapsed_ms N first_fail_start_ms N first_fail_end_ms N
 *   last_ok_start_ms N rereads N last CODE
 * (times 0 when there was none). Exit status: 0 when every login succeeded, 1 when one
 * failed, 2 on bad usage or when SECRETFILE cannot be read at the start.
 */
#include <security/pam_appl.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
        {"PAM_SYSTEM_ERR", PAM_SYSTEM_ERR},
        {"PAM_SERVICE_ERR", PAM_SERVICE_ERR},
        {"PAM_BUF_ERR", PAM_BUF_ERR},
        {"PAM_CRED_ERR", PAM_CRED_ERR},
        {"PAM_ABORT", PAM_ABORT},
};

static const char *code_name(int code)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	(void)snprintf(buf, sizeof(buf), "PAM_CODE_%d", code);
	return buf;
}

/*
 * libpam reports every transaction to the kernel audit log: a soak of a few hundred
 * thousand logins would flood the host's. An audit_open that fails as on a kernel without
 * audit makes libpam skip it and change no return code. The linker exports it because
 * libpam refers to it.
 */
__attribute__((visibility("default"))) int audit_open(void);
__attribute__((visibility("default"))) int audit_open(void)
{
	errno = EPROTONOSUPPORT;
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The secret as delivered: the file's first line, without its newline. */
static int read_secret(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return n > 0 ? 0 : -ENODATA;
}

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
			continue; /* errors and info are not answered */
		r[i].resp = strdup(data);
		if (!r[i].resp) {
			while (i-- > 0)
				free(r[i].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void usage(void)
{
	(void)fprintf(stderr, "usage: pam_consumer [-l MS] [-n N | -S STOPFILE] [-p MS] [-r N] "
	                      "[-o FAILLOG] CONFDIR SERVICE USER SECRETFILE\n");
}

int main(int argc, char **argv)
{
	char secret[4096];
	struct pam_conv conv = {converse, secret};
	const char *stopfile = NULL, *faillog = NULL, *confdir, *service, *user, *file;
	long lag = 0, pause = 0, renew = 100, count = 1;
	uint64_t logins = 0, ok = 0, failed = 0, rereads = 0;
	int64_t start, read_at, first_fail_start = 0, first_fail_end = 0, last_ok = 0;
	pam_handle_t *pamh = NULL;
	FILE *flog = NULL;
	int c, rv = PAM_SUCCESS;

	while ((c = getopt(argc, argv, "l:n:S:p:r:o:")) != -1) {
		switch (c) {
		case 'l':
			lag = strtol(optarg, NULL, 10);
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'S':
			stopfile = optarg;
			break;
		case 'p':
			pause = strtol(optarg, NULL, 10);
			break;
		case 'r':
			renew = strtol(optarg, NULL, 10);
			break;
		case 'o':
			faillog = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 4 || renew < 1 || count < 1) {
		usage();
		return 2;
	}
	confdir = argv[optind];
	service = argv[optind + 1];
	user = argv[optind + 2];
	file = argv[optind + 3];
	c = read_secret(file, secret, sizeof(secret));
	if (c < 0) {
		(void)fprintf(stderr, "pam_consumer: cannot read %s: %s\n", file, strerror(-c));
		return 2;
	}
	if (faillog) {
		flog = fopen(faillog, "ae");
		if (!flog) {
			(void)fprintf(stderr, "pam_consumer: %s: %s\n", faillog, strerror(errno));
			return 2;
		}
		(void)setvbuf(flog, NULL, _IOLBF, 0);
	}

	start = read_at = now_ms();
	for (;;) {
		int64_t t0;

		if (stopfile ? access(stopfile, F_OK) == 0 : (long)logins >= count)
			break;
		/* A consumer behind by `lag`: it picks up a new delivery at its next refresh.
		 * A failed re-read (never expected: deliveries are renamed into place) keeps
		 * the copy held. */
		if (lag >= 0 && now_ms() - read_at >= lag) {
			if (read_secret(file, secret, sizeof(secret)) == 0)
				rereads++;
			read_at = now_ms();
		}
		t0 = now_ms();
		if (!pamh) {
			rv = pam_start_confdir(service, user, &conv, confdir, &pamh);
			if (rv != PAM_SUCCESS) {
				pamh = NULL;
				(void)fprintf(stderr, "pam_consumer: pam_start_confdir: %s\n",
				              code_name(rv));
				return 2;
			}
		}
		/* libpam clears PAM_AUTHTOK after each pam_authenticate; so do we, so that
		 * every login goes through the conversation. */
		(void)pam_set_item(pamh, PAM_AUTHTOK, NULL);
		rv = pam_authenticate(pamh, 0);
		if (rv == PAM_SUCCESS)
			rv = pam_acct_mgmt(pamh, 0);
		logins++;
		if (rv == PAM_SUCCESS) {
			ok++;
			last_ok = t0;
		} else {
			int64_t t1 = now_ms();

			if (!failed) {
				first_fail_start = t0;
				first_fail_end = t1;
			}
			failed++;
			if (flog)
				(void)fprintf(flog, "fail %" PRId64 " %" PRId64 " %s\n", t0, t1,
				              code_name(rv));
		}
		if (logins % (uint64_t)renew == 0) {
			pam_end(pamh, rv);
			pamh = NULL;
		}
		if (pause > 0)
			pause_ms(pause);
	}
	if (pamh)
		pam_end(pamh, rv);
	explicit_bzero(secret, sizeof(secret));
	if (flog)
		(void)fclose(flog);
	printf("logins %" PRIu64 " ok %" PRIu64 " failed %" PRIu64 " elapsed_ms %" PRId64
	       " first_fail_start_ms %" PRId64 " first_fail_end_ms %" PRId64
	       " last_ok_start_ms %" PRId64 " rereads %" PRIu64 " last %s\n",
	       logins, ok, failed, now_ms() - start, first_fail_start, first_fail_end, last_ok,
	       rereads, code_name(rv));
	return failed ? 1 : 0;
}
