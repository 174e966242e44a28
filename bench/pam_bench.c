/*
 * pam_bench: authentications per second through the real libpam, for `make bench`.
 *
 *   pam_bench [-m txn|auth|fresh] [-r ROUNDS] [-t MS] CONFDIR CASE...
 *   pam_bench --hash PASSFILE          print a yescrypt hash of the password in PASSFILE
 *
 * CASE is LABEL:SERVICE:USER:PASSFILE:EXPECT, EXPECT one of success, user_unknown,
 * auth_err. Each case is one PAM service of CONFDIR (pam_start_confdir, so the host's
 * /etc/pam.d is never read) answered with the password in PASSFILE (first line).
 *
 * Modes:
 *   txn   what a login costs: pam_start_confdir, pam_authenticate, pam_end for every
 *         attempt, as sshd, su or a server authenticating one client at a time do. libpam
 *         parses the service file and loads the stack's modules each time.
 *   auth  what the modules cost: one handle a case, pam_authenticate repeated.
 *   fresh a login as the first one of a process (sshd's per-connection process, su): each
 *         attempt is a txn in a child forked for it, timed inside the child from
 *         pam_start to pam_end, so the fork is not counted but the loading of every
 *         module (and of what it links) is, every time. The parent never calls libpam.
 *
 * Method: every case is first calibrated to a batch of attempts that lasts about MS
 * milliseconds (at least one attempt), then ROUNDS rounds run one batch of every case,
 * the order rotated each round so that no case always runs first or last. Each batch
 * prints one line "round LABEL NS_PER_ATTEMPT"; bench/run.sh takes medians and pairs
 * cases within a round (a ratio of two batches run side by side cancels most of the
 * noise of a shared machine). An attempt that does not return EXPECT stops everything
 * with exit 1: a benchmark of the wrong path is worse than none.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAX_CASES 16

struct bcase {
	char label[64];
	char service[64];
	char user[64];
	char password[PAM_MAX_RESP_SIZE];
	int expect;
	long batch;
	pam_handle_t *h; /* auth mode only */
};

static const char *confdir;

/*
 * libpam reports every authentication to the kernel's audit log (libaudit's audit_open,
 * then a netlink message). A bench makes hundreds of thousands of them, which would flood
 * the host's audit or kernel log; this definition, exported from the program (see the
 * Makefile), takes the place of libaudit's, and libpam treats its error as "no audit
 * support in this kernel" and goes on silently. The message costs the same for every
 * stack, so leaving it out takes a constant out of every figure and changes no ratio's
 * direction (it makes the ratios to pam_permit slightly larger, not smaller).
 */
int audit_open(void) __attribute__((visibility("default")));
int audit_open(void)
{
	errno = EPROTONOSUPPORT;
	return -1;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const struct bcase *c = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		r[i].resp =
		        strdup(msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? c->password : c->user);
		if (!r[i].resp) {
			for (int k = 0; k < i; k++)
				free(r[k].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)n, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int expect_code(const char *s)
{
	if (strcmp(s, "success") == 0)
		return PAM_SUCCESS;
	if (strcmp(s, "user_unknown") == 0)
		return PAM_USER_UNKNOWN;
	if (strcmp(s, "auth_err") == 0)
		return PAM_AUTH_ERR;
	return -1;
}

static int parse_case(char *spec, struct bcase *c)
{
	char *f[5], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(spec, ":", &save); t && n < 5; t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n != 5)
		return -EINVAL;
	snprintf(c->label, sizeof(c->label), "%s", f[0]);
	snprintf(c->service, sizeof(c->service), "%s", f[1]);
	snprintf(c->user, sizeof(c->user), "%s", f[2]);
	c->expect = expect_code(f[4]);
	if (c->expect < 0 || read_line(f[3], c->password, sizeof(c->password)) < 0)
		return -EINVAL;
	return 0;
}

/* One attempt; in txn mode the whole transaction. The code pam_authenticate returned. */
static int attempt(struct bcase *c, int txn)
{
	struct pam_conv pc = {conv, c};
	pam_handle_t *h = c->h;
	int rv;

	if (txn) {
		rv = pam_start_confdir(c->service, c->user, &pc, confdir, &h);
		if (rv != PAM_SUCCESS)
			return rv == PAM_SUCCESS ? PAM_SYSTEM_ERR : rv;
	}
	rv = pam_authenticate(h, 0);
	if (txn)
		pam_end(h, rv);
	return rv;
}

/* fresh mode: one txn in a forked child; the child's time in ns, or -1 with *rv set. */
static double fresh_attempt(struct bcase *c, int *rv)
{
	int fd[2], st;
	double t = -1;
	pid_t pid;

	*rv = PAM_SYSTEM_ERR;
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		double t0 = now_ns();
		int r = attempt(c, 1);
		double out[2] = {now_ns() - t0, (double)r};

		_exit(write(fd[1], out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 1);
	}
	close(fd[1]);
	if (pid > 0) {
		double in[2];

		if (read(fd[0], in, sizeof(in)) == (ssize_t)sizeof(in)) {
			t = in[0];
			*rv = (int)in[1];
		}
		(void)waitpid(pid, &st, 0);
	}
	close(fd[0]);
	return t;
}

/* A batch of c->batch attempts; its time per attempt in ns, or -1 on a wrong code.
 * mode: 0 auth, 1 txn, 2 fresh. */
static double batch(struct bcase *c, int mode)
{
	double t0 = now_ns(), inside = 0;

	for (long i = 0; i < c->batch; i++) {
		int rv;

		if (mode == 2)
			inside += fresh_attempt(c, &rv);
		else
			rv = attempt(c, mode);
		if (rv != c->expect) {
			fprintf(stderr,
			        "pam_bench: %s: pam_authenticate returned %d (%s), expected %d\n",
			        c->label, rv, pam_strerror(NULL, rv), c->expect);
			return -1;
		}
	}
	return (mode == 2 ? inside : now_ns() - t0) / (double)c->batch;
}

static int hash_mode(const char *passfile)
{
	char pw[PAM_MAX_RESP_SIZE];
	const char *salt, *h;
	struct crypt_data cd;

	memset(&cd, 0, sizeof(cd));
	if (read_line(passfile, pw, sizeof(pw)) < 0)
		return 1;
	/* "$y$" with cost 0: libxcrypt's default yescrypt cost, the one pam_unix and
	 * chpasswd use on Debian 12. */
	salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	h = salt ? crypt_r(pw, salt, &cd) : NULL;
	explicit_bzero(pw, sizeof(pw));
	if (!h || h[0] == '*')
		return 1;
	printf("%s\n", h);
	free((void *)salt);
	return 0;
}

int main(int argc, char **argv)
{
	static struct bcase cases[MAX_CASES];
	int ncases = 0, rounds = 21, mode = 1, opt;
	double target_ms = 20;

	if (argc == 3 && strcmp(argv[1], "--hash") == 0)
		return hash_mode(argv[2]);
	while ((opt = getopt(argc, argv, "m:r:t:")) != -1) {
		if (opt == 'm' && strcmp(optarg, "auth") == 0)
			mode = 0;
		else if (opt == 'm' && strcmp(optarg, "txn") == 0)
			mode = 1;
		else if (opt == 'm' && strcmp(optarg, "fresh") == 0)
			mode = 2;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 't')
			target_ms = atof(optarg);
		else
			goto usage;
	}
	if (argc - optind < 2 || argc - optind - 1 > MAX_CASES || rounds < 1 || target_ms <= 0)
		goto usage;
	confdir = argv[optind];
	for (int i = optind + 1; i < argc; i++) {
		if (parse_case(argv[i], &cases[ncases]) < 0) {
			fprintf(stderr, "pam_bench: bad case '%s'\n", argv[i]);
			return 2;
		}
		ncases++;
	}

	for (int i = 0; i < ncases; i++) {
		struct bcase *c = &cases[i];
		struct pam_conv pc = {conv, c};
		double t;

		if (mode == 0 &&
		    pam_start_confdir(c->service, c->user, &pc, confdir, &c->h) != PAM_SUCCESS) {
			fprintf(stderr, "pam_bench: %s: pam_start_confdir failed\n", c->label);
			return 1;
		}
		/* Calibrate: the first attempts also warm the page cache and the loader. */
		c->batch = 1;
		if (batch(c, mode) < 0)
			return 1;
		t = batch(c, mode);
		if (t < 0)
			return 1;
		c->batch = (long)(target_ms * 1e6 / (t > 1 ? t : 1));
		if (c->batch < 1)
			c->batch = 1;
	}
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < ncases; k++) {
			struct bcase *c = &cases[(k + r) % ncases];
			double t = batch(c, mode);

			if (t < 0)
				return 1;
			printf("%d %s %.0f\n", r, c->label, t);
		}
	}
	for (int i = 0; i < ncases; i++) {
		if (cases[i].h)
			pam_end(cases[i].h, PAM_SUCCESS);
		explicit_bzero(cases[i].password, sizeof(cases[i].password));
	}
	return 0;
usage:
	fprintf(stderr, "usage: pam_bench [-m txn|auth|fresh] [-r ROUNDS] [-t MS] CONFDIR "
	                "LABEL:SERVICE:USER:PASSFILE:EXPECT...\n"
	                "       pam_bench --hash PASSFILE\n");
	return 2;
}
