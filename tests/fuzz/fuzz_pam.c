/*
 * fuzz_pam: pam_sm_authenticate end to end, through the real libpam. Each input is a user
 * name, a password, where the login comes from, and the bytes of secrets.cdb; the
 * fuzzer writes the store into its scratch store directory, starts a PAM transaction with
 * pam_start_confdir on a service whose stack is pam_rotsec (store= that directory,
 * nodelay), answers the conversation with the password, and runs pam_authenticate,
 * pam_setcred and pam_acct_mgmt (and pam_chauthtok when asked).
 *
 * The module is the instrumented $(O)/fuzz/pam_rotsec.so (or $FUZZ_PAM_MODULE), opened
 * once here with RTLD_NODELETE so that libpam's dlclose at pam_end keeps it, its store
 * cache and its coverage counters loaded, as in a long-lived sshd.
 *
 * Input layout (a short input leaves the later fields empty):
 *   byte 0     flags, below
 *   byte 1     user name length U       byte 2  rhost length R
 *   byte 3-4   password length P (little endian; up to 64 KiB)
 *   U, R, P bytes, then the rest: secrets.cdb
 * Flags:
 *   0x01 service with no_previous       0x02 service with debug and audit
 *   0x04 no user at pam_start: the module asks for it through the conversation
 *   0x08 the conversation fails         0x10 it answers NULL for the password
 *   0x20 store group-writable (unsafe)  0x40 no store file at all
 *   0x80 pam_chauthtok too
 *
 * Invariants (the rows of DESIGN §4) besides "no crash, no leak, no undefined behaviour":
 *  - auth never returns PAM_IGNORE or a code outside the documented set;
 *  - a store that is missing, unsafe or fails the reader's checks gives
 *    PAM_AUTHINFO_UNAVAIL, never "not ours" (fail closed);
 *  - PAM_SUCCESS only for a record of that name, not disabled, a password of 1 to
 *    PAM_MAX_RESP_SIZE bytes that the current hash, or the previous one in grace and
 *    without no_previous, accepts; and the current secret always succeeds;
 *  - account: PAM_ACCT_EXPIRED exactly for a disabled account;
 *  - no log line contains the password (checked for passwords of 16 bytes or more that
 *    are not also part of the user name or rhost).
 */
#define _GNU_SOURCE
#include "harness.h"
#include "policy.h"
#include "record.h"
#include "secret.h"
#include "store_read.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <security/pam_ext.h>

#define F_NO_PREVIOUS  0x01
#define F_DEBUG        0x02
#define F_ASK_USER     0x04
#define F_CONV_FAILS   0x08
#define F_CONV_NULL_PW 0x10
#define F_UNSAFE_STORE 0x20
#define F_NO_STORE     0x40
#define F_CHAUTHTOK    0x80

#define EXPORTED __attribute__((visibility("default")))

static char store_dir[4096], run_dir[4200], confdir[4096];

/* What the log must not contain in this run (NULL: nothing checked). */
static const char *secret_pw;

EXPORTED void pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list args)
{
	char line[2048];

	(void)pamh;
	(void)priority;
	(void)vsnprintf(line, sizeof(line), fmt, args);
	if (secret_pw)
		FZ_CHECK(strstr(line, secret_pw) == NULL);
}

EXPORTED void pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

/*
 * libpam reports every transaction to the kernel audit log, and libaudit turns PAM_RHOST
 * into an address with getaddrinfo: with fuzzed host names, a DNS query and its 5 s
 * timeout per input, and the host's audit log flooded. An audit_open that fails as on a
 * kernel without audit makes libpam skip both (and change no return code).
 */
EXPORTED int audit_open(void);
EXPORTED int audit_open(void)
{
	errno = EPROTONOSUPPORT;
	return -1;
}

struct answers {
	const char *user, *pw;
	unsigned flags;
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const struct answers *a = data;
	struct pam_response *r;

	if (a->flags & F_CONV_FAILS)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *ans = NULL;

		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && !(a->flags & F_CONV_NULL_PW))
			ans = a->pw;
		else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			ans = a->user;
		if (ans && !(r[i].resp = strdup(ans))) {
			for (int k = 0; k < i; k++)
				free(r[k].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void service(const char *name, const char *module, const char *opts)
{
	char text[16384];
	int n = snprintf(text, sizeof(text),
	                 "auth     required %s store=%s run=%s nodelay %s\n"
	                 "account  required %s store=%s run=%s %s\n"
	                 "password required %s store=%s run=%s %s\n",
	                 module, store_dir, run_dir, opts, module, store_dir, run_dir, opts, module,
	                 store_dir, run_dir, opts);

	FZ_CHECK(n > 0 && (size_t)n < sizeof(text));
	fz_write_file(confdir, name, text, (size_t)n, 0644);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char self[4096], module[4200];
	const char *env = getenv("FUZZ_PAM_MODULE");
	ssize_t n;

	(void)argc;
	(void)argv;
	if (rs_crypto_init() < 0)
		abort();
	if (env) {
		(void)snprintf(module, sizeof(module), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		FZ_CHECK(n > 0);
		self[n] = '\0';
		(void)snprintf(module, sizeof(module), "%s/pam_rotsec.so", dirname(self));
	}
	if (!dlopen(module, RTLD_NOW | RTLD_NODELETE)) {
		(void)fprintf(stderr, "fuzz_pam: %s\n", dlerror());
		abort();
	}
	fz_subdir("store", store_dir, sizeof(store_dir));
	fz_subdir("pam.d", confdir, sizeof(confdir));
	/* Not made here: the module creates the run dir (0700) itself on the first success. */
	(void)snprintf(run_dir, sizeof(run_dir), "%s/run", fz_scratch());
	service("fuzz", module, "");
	service("fuzz-np", module, "no_previous");
	service("fuzz-dbg", module, "debug audit");
	return 0;
}

/* What the reader makes of the store bytes, independently of the module. */
struct expect {
	bool store_ok;            /* the module can use the store */
	bool found;               /* it has a record of that name */
	struct rs_secret_rec rec; /* when found */
	int cur, prev;            /* rs_hash_verify of the current / previous (or dummy) hash */
};

static void predict(const uint8_t *store, size_t len, unsigned flags, const char *user,
                    const char *pw, struct expect *e)
{
	struct rs_map *m;
	char why[RS_WHY_MAX];
	size_t pwlen = strnlen(pw, RS_SECRET_MAX + 1);

	memset(e, 0, sizeof(*e));
	if ((flags & (F_UNSAFE_STORE | F_NO_STORE)) ||
	    rs_map_open_mem(store, len, RS_SECRETS_MAGIC, &m, why, sizeof(why)) < 0)
		return;
	e->store_ok = true;
	e->found = rs_name_valid(user) && rs_map_secret_by_name(m, user, &e->rec) == 1;
	if (e->found && pwlen >= 1 && pwlen <= RS_SECRET_MAX) {
		e->cur = rs_hash_verify(e->rec.current, pw, pwlen);
		e->prev = rs_hash_verify(e->rec.previous[0] ? e->rec.previous : m->meta.dummy, pw,
		                         pwlen);
	}
	rs_map_close_mem(m);
}

static void check_auth(int rv, const struct expect *e, unsigned flags, const char *pw,
                       bool got_user)
{
	size_t pwlen = strnlen(pw, RS_SECRET_MAX + 1);
	bool conv_ok = !(flags & (F_CONV_FAILS | F_CONV_NULL_PW));

	FZ_CHECK(rv == PAM_SUCCESS || rv == PAM_AUTH_ERR || rv == PAM_USER_UNKNOWN ||
	         rv == PAM_AUTHINFO_UNAVAIL || rv == PAM_BUF_ERR || rv == PAM_CONV_ERR ||
	         rv == PAM_SYSTEM_ERR);
	if (!got_user)
		return;
	if (!e->store_ok)
		FZ_CHECK(rv == PAM_AUTHINFO_UNAVAIL);
	if (rv == PAM_SUCCESS) {
		bool in_grace = e->rec.previous[0] && time(NULL) < rs_previous_valid_until(&e->rec);

		FZ_CHECK(e->found && !(e->rec.flags & RS_SECRET_DISABLED));
		FZ_CHECK(pwlen >= 1 && pwlen <= RS_SECRET_MAX);
		FZ_CHECK(e->cur == 1 || (e->prev == 1 && e->rec.previous[0] && in_grace &&
		                         !(flags & F_NO_PREVIOUS)));
	}
	if (e->found && conv_ok && !(e->rec.flags & RS_SECRET_DISABLED) && e->cur == 1 &&
	    e->prev >= 0)
		FZ_CHECK(rv == PAM_SUCCESS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *services[] = {"fuzz", "fuzz-np", "fuzz-dbg", "fuzz-dbg"};
	struct fz_in in = {data, size};
	unsigned flags = fz_u8(&in);
	size_t ulen = fz_u8(&in), rlen = fz_u8(&in), plen = fz_u16(&in), got;
	char *user, *rhost, *pw;
	const uint8_t *store;
	struct pam_conv pc = {conv, NULL};
	struct answers a;
	struct expect e;
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	bool got_user;
	int rv;

	user = fz_strndup(fz_bytes(&in, ulen, &got), got);
	rhost = fz_strndup(fz_bytes(&in, rlen, &got), got);
	pw = fz_strndup(fz_bytes(&in, plen, &got), got);
	store = fz_bytes(&in, in.left, &got);

	if (flags & F_NO_STORE) {
		char path[4200];

		(void)snprintf(path, sizeof(path), "%s/%s", store_dir, RS_SECRETS_FILE);
		(void)unlink(path);
	} else {
		fz_write_file(store_dir, RS_SECRETS_FILE, store, got,
		              (flags & F_UNSAFE_STORE) ? 0660 : 0600);
	}
	predict(store, got, flags, user, pw, &e);

	a = (struct answers){user, pw, flags};
	pc.appdata_ptr = &a;
	rv = pam_start_confdir(services[flags & 3], (flags & F_ASK_USER) ? NULL : user, &pc,
	                       confdir, &pamh);
	FZ_CHECK(rv == PAM_SUCCESS);
	(void)pam_set_item(pamh, PAM_RHOST, rhost);
	(void)pam_set_item(pamh, PAM_RUSER, "fuzz");

	secret_pw = strlen(pw) >= 16 && !strstr(user, pw) && !strstr(rhost, pw) ? pw : NULL;
	rv = pam_authenticate(pamh, 0);
	/* Whether the module got a non-empty user name: by pam_start, or by asking. */
	got_user = pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item &&
	           *(const char *)item && strcmp(item, user) == 0;
	check_auth(rv, &e, flags, pw, got_user);

	rv = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	FZ_CHECK(rv != PAM_IGNORE || !got_user);
	rv = pam_acct_mgmt(pamh, 0);
	if (got_user && e.found)
		FZ_CHECK((rv == PAM_ACCT_EXPIRED) == !!(e.rec.flags & RS_SECRET_DISABLED));
	if (got_user && !e.store_ok)
		FZ_CHECK(rv == PAM_AUTHINFO_UNAVAIL);
	if (flags & F_CHAUTHTOK) {
		rv = pam_chauthtok(pamh, 0);
		if (got_user && e.found)
			FZ_CHECK(rv != PAM_SUCCESS);
	}
	secret_pw = NULL;
	pam_end(pamh, PAM_SUCCESS);
	free(user);
	free(rhost);
	free(pw);
	return 0;
}
