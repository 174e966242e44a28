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
 *   0x20 store group-writable (unsafe)  0x40 no secrets.cdb (accounts.cdb is there)
 *   0x80 pam_chauthtok too
 *
 * The store directory always has an accounts.cdb (with it the store exists: pam_rotsec.h);
 * the stacks read a passwd file of root alone (passwd=). This program's getpwnam_r
 * resolves the names of the fuzzed secrets.cdb to the uid their records hold, as
 * nss_rotsec would, and no other name.
 *
 * Invariants (ARCHITECTURE.md, contract §4) besides "no crash, no leak, no undefined behaviour":
 *  - auth never returns PAM_IGNORE or a code outside the documented set;
 *  - root, a local account, is PAM_USER_UNKNOWN in auth and account whatever the store;
 *  - for any other name, a store without secrets.cdb, unsafe or failing the reader's
 *    checks gives PAM_AUTHINFO_UNAVAIL, never "not ours" (fail closed);
 *  - auth succeeds exactly when rs_policy_verify, on what the reader makes of the store,
 *    says current (or previous without no_previous) for an account that is not disabled;
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
#include "store_write.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <pwd.h>
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

static char store_dir[4096], run_dir[4200], confdir[4096], passwd_file[4200];

/* The records of this run's secrets.cdb, for getpwnam_r (NULL: none). */
static struct rs_map *names_map;

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
/* The name service of a host whose nsswitch.conf has rotsec: the store's names resolve to
 * the uid their records hold; nothing else resolves. */
EXPORTED int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                        struct passwd **res)
{
	struct rs_secret_rec rec;

	*res = NULL;
	if (!names_map || !rs_name_valid(name) || rs_map_secret_by_name(names_map, name, &rec) != 1)
		return 0;
	if (len < strlen(name) + 1)
		return ERANGE;
	memset(pw, 0, sizeof(*pw));
	memcpy(buf, name, strlen(name) + 1);
	pw->pw_name = buf;
	pw->pw_passwd = pw->pw_gecos = pw->pw_dir = pw->pw_shell = buf + strlen(name);
	pw->pw_uid = rec.uid;
	*res = pw;
	return 0;
}

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
	                 "auth     required %s store=%s run=%s passwd=%s nodelay %s\n"
	                 "account  required %s store=%s run=%s passwd=%s %s\n"
	                 "password required %s store=%s run=%s passwd=%s %s\n",
	                 module, store_dir, run_dir, passwd_file, opts, module, store_dir, run_dir,
	                 passwd_file, opts, module, store_dir, run_dir, passwd_file, opts);

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
	/* accounts.cdb: its presence is what matters to the module, not its records */
	{
		struct rs_accounts_data ad = {0};
		struct rs_store_w w;

		FZ_CHECK(rs_store_w_open(store_dir, 1000, &w, NULL, 0) == 0);
		FZ_CHECK(rs_store_write_accounts(&w, &ad, 1) == 0);
		rs_store_w_close(&w);
	}
	(void)snprintf(passwd_file, sizeof(passwd_file), "%s/passwd", fz_scratch());
	fz_write_file(fz_scratch(), "passwd", "root:x:0:0:root:/root:/bin/sh\n", 30, 0644);
	/* Not made here: the module creates the run dir (0700) itself on the first success. */
	(void)snprintf(run_dir, sizeof(run_dir), "%s/run", fz_scratch());
	service("fuzz", module, "");
	service("fuzz-np", module, "no_previous");
	service("fuzz-dbg", module, "debug audit");
	return 0;
}

/* What the reader makes of the store bytes, independently of the module. */
struct expect {
	bool local;               /* root: the passwd file's */
	bool store_ok;            /* the module can use the store */
	bool found;               /* it has a record of that name */
	struct rs_secret_rec rec; /* when found */
	int r;                    /* rs_policy_verify's return, and its verdict */
	struct rs_verify_result res;
};

static void predict(const struct rs_map *m, unsigned flags, const char *user, const char *pw,
                    struct expect *e)
{
	memset(e, 0, sizeof(*e));
	e->local = strcmp(user, "root") == 0;
	if ((flags & (F_UNSAFE_STORE | F_NO_STORE)) || !m)
		return;
	e->store_ok = true;
	e->found = rs_name_valid(user) && rs_map_secret_by_name(m, user, &e->rec) == 1;
	e->r = rs_policy_verify(e->found ? &e->rec : NULL, &m->meta.costs, pw,
	                        strnlen(pw, RS_SECRET_MAX + 1), (int64_t)time(NULL),
	                        (flags & F_NO_PREVIOUS) ? RS_POLICY_NO_PREVIOUS : 0, &e->res);
}

static void check_auth(int rv, const struct expect *e, unsigned flags, bool got_user)
{
	bool conv_ok = !(flags & (F_CONV_FAILS | F_CONV_NULL_PW));
	bool accepted = e->found && e->r == 0 &&
	                (e->res.verdict == RS_CURRENT || e->res.verdict == RS_PREVIOUS);

	FZ_CHECK(rv == PAM_SUCCESS || rv == PAM_AUTH_ERR || rv == PAM_USER_UNKNOWN ||
	         rv == PAM_AUTHINFO_UNAVAIL || rv == PAM_BUF_ERR || rv == PAM_CONV_ERR ||
	         rv == PAM_SYSTEM_ERR);
	if (!got_user)
		return;
	if (e->local) {
		FZ_CHECK(rv == PAM_USER_UNKNOWN);
		return;
	}
	if (!e->store_ok)
		FZ_CHECK(rv == PAM_AUTHINFO_UNAVAIL);
	if (rv == PAM_SUCCESS)
		FZ_CHECK(accepted && conv_ok);
	if (accepted && conv_ok)
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
	char why[RS_WHY_MAX];
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
	if (rs_map_open_mem(store, got, RS_SECRETS_MAGIC, &names_map, why, sizeof(why)) < 0)
		names_map = NULL;
	predict(names_map, flags, user, pw, &e);

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
	check_auth(rv, &e, flags, got_user);

	rv = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	FZ_CHECK(rv != PAM_IGNORE || !got_user);
	rv = pam_acct_mgmt(pamh, 0);
	if (got_user && e.local)
		FZ_CHECK(rv == PAM_USER_UNKNOWN);
	if (got_user && e.found && !e.local)
		FZ_CHECK((rv == PAM_ACCT_EXPIRED) == !!(e.rec.flags & RS_SECRET_DISABLED));
	if (got_user && !e.store_ok && !e.local)
		FZ_CHECK(rv == PAM_AUTHINFO_UNAVAIL);
	if (flags & F_CHAUTHTOK) {
		rv = pam_chauthtok(pamh, 0);
		if (got_user && e.found)
			FZ_CHECK(rv != PAM_SUCCESS);
	}
	secret_pw = NULL;
	pam_end(pamh, PAM_SUCCESS);
	if (names_map)
		rs_map_close_mem(names_map);
	names_map = NULL;
	free(user);
	free(rhost);
	free(pw);
	return 0;
}
