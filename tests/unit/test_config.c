/*
 * rotsec.conf loading and validation (engine/config*.c), and an account printed as
 * `rotsecctl check --effective` prints it.
 *
 * Every test writes a config into a private temporary directory next to a fake passwd and
 * group file, so no test ever depends on the host's accounts. The config body a test
 * writes starts at line 1: the passwd_file/group_file settings pointing at the fakes are
 * appended after it, so the line numbers in the expected messages are the ones visible in
 * the test.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../engine/config.h"
#include "paths.h"

struct env {
	char dir[PATH_MAX];
	char conf[PATH_MAX];
	unsigned char pk[crypto_box_PUBLICKEYBYTES]; /* of DIR/consumer.pub */
	struct rs_config cfg;
	bool loaded;
};

/* Lines 1..6 of passwd and 1..7 of group are referred to by number in messages. */
static const char fake_passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
                                  "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n"
                                  "+nisuser::::::\n"
                                  "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n";
static const char fake_group[] = "root:x:0:\n"
                                 "daemon:x:1:\n"
                                 "www-data:x:33:\n"
                                 "backup:x:34:\n"
                                 "users:x:100:alice\n"
                                 "alice:x:1000:\n"
                                 "ssl-cert:x:110:\n";

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void path_in(const struct env *e, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", e->dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

/* Write a public key file for `pk` in the format of engine/sealed.h. */
static void write_pub(const struct env *e, const char *name, const unsigned char *pk, mode_t mode)
{
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	char line[128], path[PATH_MAX];

	sodium_bin2base64(b64, sizeof(b64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	(void)snprintf(line, sizeof(line), "rotsec-x25519-public %s\n", b64);
	path_in(e, name, path, sizeof(path));
	write_file(path, line, mode);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char path[PATH_MAX];

	if (!e)
		return -1;
	(void)snprintf(e->dir, sizeof(e->dir), "/tmp/rotsec-test-config.XXXXXX");
	if (sodium_init() < 0 || !mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	path_in(e, "rotsec.conf", e->conf, sizeof(e->conf));
	path_in(e, "passwd", path, sizeof(path));
	write_file(path, fake_passwd, 0644);
	path_in(e, "group", path, sizeof(path));
	write_file(path, fake_group, 0644);
	crypto_box_keypair(e->pk, sk);
	write_pub(e, "consumer.pub", e->pk, 0644);
	*state = e;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct env *e = *state;

	rs_config_free(&e->cfg);
	nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

/* Replace every "@DIR@" in `in` with the test directory. */
static void expand(const struct env *e, const char *in, char *out, size_t len)
{
	size_t used = 0;

	while (*in) {
		if (strncmp(in, "@DIR@", 5) == 0) {
			used += (size_t)snprintf(out + used, len - used, "%s", e->dir);
			in += 5;
		} else {
			out[used++] = *in++;
		}
		assert_true(used < len);
	}
	out[used] = '\0';
}

/* Write the config (body first, so its line numbers are the file's) and load it. */
static int load(struct env *e, const char *body)
{
	char text[16384], tail[3 * PATH_MAX];

	expand(e, body, text, sizeof(text));
	if (!strstr(body, "passwd_file")) {
		expand(e, "\npasswd_file = \"@DIR@/passwd\";\n", tail, sizeof(tail));
		strncat(text, tail, sizeof(text) - strlen(text) - 1);
	}
	if (!strstr(body, "group_file")) {
		expand(e, "\ngroup_file = \"@DIR@/group\";\n", tail, sizeof(tail));
		strncat(text, tail, sizeof(text) - strlen(text) - 1);
	}
	write_file(e->conf, text, 0644);
	rs_config_free(&e->cfg);
	return rs_config_load(e->conf, &e->cfg);
}

static void dump_diags(const struct env *e)
{
	for (size_t i = 0; i < e->cfg.ndiags; i++)
		print_message("# diag: %s%s\n", e->cfg.diags[i].msg,
		              e->cfg.diags[i].warning ? " [warning]" : "");
}

/* A diag of the given kind on `line` of the config whose text contains `needle`. */
static void check_diag(const struct env *e, const char *file, int line, const char *needle,
                       bool warning, const char *src, int srcline)
{
	char prefix[PATH_MAX + 32];
	size_t plen;

	(void)snprintf(prefix, sizeof(prefix), "%s:%d: ", file ? file : e->conf, line);
	plen = strlen(prefix);
	for (size_t i = 0; i < e->cfg.ndiags; i++) {
		const struct rs_diag *d = &e->cfg.diags[i];

		if (d->warning == warning && strncmp(d->msg, prefix, plen) == 0 &&
		    strstr(d->msg + plen, needle))
			return;
	}
	print_error("no %s at line %d containing \"%s\"; got:\n", warning ? "warning" : "error",
	            line, needle);
	dump_diags(e);
	_fail(src, srcline);
}

#define expect_error(e, line, needle)   check_diag(e, NULL, line, needle, false, __FILE__, __LINE__)
#define expect_warning(e, line, needle) check_diag(e, NULL, line, needle, true, __FILE__, __LINE__)

/* Exactly `n` errors (and any warnings the test checks by itself). */
static void check_nerrors(const struct env *e, int r, size_t n, const char *src, int srcline)
{
	if ((n ? r == -EINVAL : r == 0) && e->cfg.nerrors == n)
		return;
	print_error("expected %zu errors, got %zu (load returned %d):\n", n, e->cfg.nerrors, r);
	dump_diags(e);
	_fail(src, srcline);
}

#define expect_nerrors(e, r, n) check_nerrors(e, r, n, __FILE__, __LINE__)

static void check_clean(const struct env *e, int r, const char *src, int srcline)
{
	if (r == 0 && e->cfg.ndiags == 0)
		return;
	print_error("expected a clean load, got %d:\n", r);
	dump_diags(e);
	_fail(src, srcline);
}

#define expect_clean(e, r) check_clean(e, r, __FILE__, __LINE__)

/* ---- valid configs ------------------------------------------------------------------ */

static void full_config_with_every_key_loads_with_all_values_resolved(void **state)
{
	struct env *e = *state;
	const struct rs_account_cfg *a, *b;
	const struct rs_delivery *d;
	const struct rs_group_cfg *g;
	int r;

	r = load(
	        e,
	        "store_dir = \"/srv/rotsec\";\n"
	        "state_dir = \"/srv/rotsec/state\";\n"
	        "key_file = \"/etc/rs/host.key\";\n"
	        "run_dir = \"/run/rs\";\n"
	        "audit_log = \"/var/log/rs/audit.jsonl\";\n"
	        "metrics_file = \"/var/lib/node/rotsec.prom\";\n"
	        "lock_timeout = \"1m\";\n"
	        "defaults = {\n"
	        "  rotate_every = \"7d\"; grace = \"2h\"; max_grace = \"12h\"; length = 40;\n"
	        "  alphabet = \"base64url\"; hash_cost = \"moderate\"; window = \"22:00-04:00\";\n"
	        "  jitter = \"30m\"; rotate_after_use = \"1h\"; quiet_revoke = \"10m\";\n"
	        "  tripwire_keep = 5; retry_min = \"1m\"; retry_max = \"2h\";\n"
	        "};\n"
	        "groups = (\n"
	        "  { name = \"svc\"; gid = 60000; },\n"
	        "  { name = \"svc-readers\"; gid = 60010; members = [ \"www-data\", \"svc-db\" ]; "
	        "}\n"
	        ");\n"
	        "accounts = (\n"
	        "  { name = \"svc-backup\"; uid = 60001; group = \"svc\";\n"
	        "    groups = [ \"svc-readers\", \"ssl-cert\" ];\n"
	        "    gecos = \"Backup agent\"; home = \"/var/lib/svc-backup\"; shell = "
	        "\"/bin/false\";\n"
	        "    disabled = true;\n"
	        "    rotate_every = \"1d\"; grace = \"3h\"; max_grace = \"6h\"; length = 24;\n"
	        "    alphabet = \"printable\"; hash_cost = \"interactive\"; window = "
	        "\"01:30-02:45\";\n"
	        "    jitter = \"5m\"; rotate_after_use = \"2h\"; quiet_revoke = \"15m\";\n"
	        "    tripwire_keep = 2; retry_min = \"10s\"; retry_max = \"5m\";\n"
	        "    verify = [ \"/usr/local/bin/check-backup\", \"--quiet\" ];\n"
	        "    deliver = (\n"
	        "      { file = \"/run/rs/svc-backup.pw\"; owner = \"backup\"; group = \"svc\";\n"
	        "        mode = \"0440\"; },\n"
	        "      { command = [ \"/usr/local/libexec/push\", \"svc-backup\" ]; timeout = "
	        "\"45s\";\n"
	        "        user = \"svc-db\"; },\n"
	        "      { sealed_to = \"@DIR@/consumer.pub\"; file = \"/var/lib/rs/out/b.sealed\";\n"
	        "        owner = \"svc-db\"; group = \"users\"; mode = \"0640\"; }\n"
	        "    );\n"
	        "  },\n"
	        "  { name = \"svc-db\"; uid = 60002; group = \"users\"; }\n"
	        ");\n");
	expect_clean(e, r);

	assert_string_equal(e->cfg.file, e->conf);
	assert_string_equal(e->cfg.store_dir, "/srv/rotsec");
	assert_string_equal(e->cfg.state_dir, "/srv/rotsec/state");
	assert_string_equal(e->cfg.key_file, "/etc/rs/host.key");
	assert_string_equal(e->cfg.run_dir, "/run/rs");
	assert_string_equal(e->cfg.audit_log, "/var/log/rs/audit.jsonl");
	assert_string_equal(e->cfg.metrics_file, "/var/lib/node/rotsec.prom");
	assert_int_equal(e->cfg.lock_timeout, 60);

	assert_int_equal(e->cfg.defaults.rotate_every, 7 * 86400);
	assert_int_equal(e->cfg.defaults.grace, 2 * 3600);
	assert_int_equal(e->cfg.defaults.max_grace, 12 * 3600);
	assert_int_equal(e->cfg.defaults.length, 40);
	assert_string_equal(e->cfg.defaults.alphabet_spec, "base64url");
	assert_int_equal(e->cfg.defaults.alphabet.n, 64);
	assert_true(fabs(e->cfg.defaults.entropy_bits - 240.0) < 1e-9);
	assert_int_equal(e->cfg.defaults.hash_cost, RS_COST_MODERATE);
	assert_int_equal(e->cfg.defaults.window_start, 22 * 60);
	assert_int_equal(e->cfg.defaults.window_end, 4 * 60);
	assert_int_equal(e->cfg.defaults.jitter, 1800);
	assert_int_equal(e->cfg.defaults.rotate_after_use, 3600);
	assert_int_equal(e->cfg.defaults.quiet_revoke, 600);
	assert_int_equal(e->cfg.defaults.tripwire_keep, 5);
	assert_int_equal(e->cfg.defaults.retry_min, 60);
	assert_int_equal(e->cfg.defaults.retry_max, 7200);

	assert_int_equal(e->cfg.ngroups, 2);
	g = &e->cfg.groups[0];
	assert_string_equal(g->name, "svc");
	assert_int_equal(g->gid, 60000);
	assert_int_equal(g->nmembers, 0);
	assert_int_equal(g->line, 15);
	g = &e->cfg.groups[1];
	assert_string_equal(g->name, "svc-readers");
	assert_int_equal(g->gid, 60010);
	assert_int_equal(g->nmembers, 3);
	assert_string_equal(g->members[0], "www-data");
	assert_string_equal(g->members[1], "svc-db");
	assert_string_equal(g->members[2], "svc-backup");

	assert_int_equal(e->cfg.naccounts, 2);
	a = rs_config_account(&e->cfg, "svc-backup");
	assert_ptr_equal(a, &e->cfg.accounts[0]);
	assert_int_equal(a->line, 19);
	assert_int_equal(a->uid, 60001);
	assert_string_equal(a->group, "svc");
	assert_int_equal(a->gid, 60000);
	assert_int_equal(a->ngroups, 2);
	assert_string_equal(a->groups[0], "svc-readers");
	assert_string_equal(a->groups[1], "ssl-cert");
	assert_int_equal(a->nsup, 2);
	assert_int_equal(a->sup_gids[0], 60010);
	assert_int_equal(a->sup_gids[1], 110);
	assert_string_equal(a->gecos, "Backup agent");
	assert_string_equal(a->home, "/var/lib/svc-backup");
	assert_string_equal(a->shell, "/bin/false");
	assert_true(a->disabled);
	assert_int_equal(a->pol.rotate_every, 86400);
	assert_int_equal(a->pol.grace, 3 * 3600);
	assert_int_equal(a->pol.max_grace, 6 * 3600);
	assert_int_equal(a->pol.length, 24);
	assert_string_equal(a->pol.alphabet_spec, "printable");
	assert_int_equal(a->pol.alphabet.n, 94);
	assert_true(fabs(a->pol.entropy_bits - 24 * log2(94)) < 1e-9);
	assert_int_equal(a->pol.hash_cost, RS_COST_INTERACTIVE);
	assert_int_equal(a->pol.window_start, 90);
	assert_int_equal(a->pol.window_end, 165);
	assert_int_equal(a->pol.jitter, 300);
	assert_int_equal(a->pol.rotate_after_use, 7200);
	assert_int_equal(a->pol.quiet_revoke, 900);
	assert_int_equal(a->pol.tripwire_keep, 2);
	assert_int_equal(a->pol.retry_min, 10);
	assert_int_equal(a->pol.retry_max, 300);
	assert_non_null(a->verify_argv);
	assert_string_equal(a->verify_argv[0], "/usr/local/bin/check-backup");
	assert_string_equal(a->verify_argv[1], "--quiet");
	assert_null(a->verify_argv[2]);

	assert_int_equal(a->ndeliver, 3);
	d = &a->deliver[0];
	assert_int_equal(d->kind, RS_DELIVER_FILE);
	assert_string_equal(d->file, "/run/rs/svc-backup.pw");
	assert_string_equal(d->owner, "backup");
	assert_string_equal(d->group, "svc");
	assert_int_equal(d->uid, 34);
	assert_int_equal(d->gid, 60000);
	assert_int_equal(d->mode, 0440);
	assert_int_equal(d->line, 29);
	d = &a->deliver[1];
	assert_int_equal(d->kind, RS_DELIVER_COMMAND);
	assert_int_equal(d->argc, 2);
	assert_string_equal(d->argv[0], "/usr/local/libexec/push");
	assert_string_equal(d->argv[1], "svc-backup");
	assert_null(d->argv[2]);
	assert_int_equal(d->timeout, 45);
	assert_string_equal(d->user, "svc-db");
	assert_int_equal(d->run_uid, 60002);
	assert_int_equal(d->run_gid, 100);
	d = &a->deliver[2];
	assert_int_equal(d->kind, RS_DELIVER_SEALED);
	assert_string_equal(d->file, "/var/lib/rs/out/b.sealed");
	assert_non_null(strstr(d->sealed_to, "/consumer.pub"));
	assert_memory_equal(d->sealed_pk, e->pk, 32);
	assert_string_equal(d->owner, "svc-db");
	assert_int_equal(d->uid, 60002);
	assert_string_equal(d->group, "users");
	assert_int_equal(d->gid, 100);
	assert_int_equal(d->mode, 0640);

	/* The second account inherits the defaults section whole. */
	b = rs_config_account(&e->cfg, "svc-db");
	assert_non_null(b);
	assert_int_equal(b->gid, 100);
	assert_int_equal(b->nsup, 1);
	assert_int_equal(b->sup_gids[0], 60010);
	assert_string_equal(b->gecos, "");
	assert_string_equal(b->home, "/nonexistent");
	assert_string_equal(b->shell, "/usr/sbin/nologin");
	assert_false(b->disabled);
	assert_null(b->verify_argv);
	assert_int_equal(b->ndeliver, 0);
	assert_memory_equal(&b->pol, &e->cfg.defaults, sizeof(b->pol));
	assert_null(rs_config_account(&e->cfg, "svc-nope"));
}

static void config_without_settings_gets_the_documented_defaults(void **state)
{
	struct env *e = *state;
	const struct rs_policy_cfg *p = &e->cfg.defaults;
	int r;

	r = load(e, "");
	expect_clean(e, r);
	assert_string_equal(e->cfg.store_dir, RS_DEFAULT_STORE_DIR);
	assert_string_equal(e->cfg.state_dir, RS_DEFAULT_STATE_DIR);
	assert_string_equal(e->cfg.key_file, RS_DEFAULT_KEY_FILE);
	assert_string_equal(e->cfg.run_dir, RS_DEFAULT_RUN_DIR);
	assert_string_equal(e->cfg.audit_log, RS_DEFAULT_AUDIT_LOG);
	assert_string_equal(e->cfg.metrics_file, RS_DEFAULT_METRICS_FILE);
	assert_non_null(strstr(e->cfg.passwd_file, "/passwd"));
	assert_int_equal(e->cfg.lock_timeout, 10);
	assert_int_equal(e->cfg.ngroups, 0);
	assert_int_equal(e->cfg.naccounts, 0);

	assert_int_equal(p->rotate_every, 30 * 86400);
	assert_int_equal(p->grace, 3600);
	assert_int_equal(p->max_grace, 86400);
	assert_int_equal(p->length, 32);
	assert_string_equal(p->alphabet_spec, "alnum");
	assert_int_equal(p->alphabet.n, 62);
	assert_true(fabs(p->entropy_bits - 32 * log2(62)) < 1e-9);
	assert_int_equal(p->hash_cost, RS_COST_INTERACTIVE);
	assert_int_equal(p->window_start, -1);
	assert_int_equal(p->window_end, -1);
	assert_int_equal(p->jitter, 0);
	assert_int_equal(p->rotate_after_use, 0);
	assert_int_equal(p->quiet_revoke, 0);
	assert_int_equal(p->tripwire_keep, 3);
	assert_int_equal(p->retry_min, 30);
	assert_int_equal(p->retry_max, 3600);
}

static void account_policy_overrides_defaults_and_inherits_the_rest(void **state)
{
	struct env *e = *state;
	const struct rs_account_cfg *a;
	int r;

	r = load(e, "defaults = { rotate_every = \"14d\"; grace = \"4h\"; alphabet = "
	            "\"base64url\"; };\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  grace = \"1h\"; length = 43; } );\n");
	expect_clean(e, r);
	a = rs_config_account(&e->cfg, "svc-a");
	assert_non_null(a);
	assert_int_equal(a->pol.rotate_every, 14 * 86400); /* defaults section */
	assert_int_equal(a->pol.grace, 3600);              /* account */
	assert_int_equal(a->pol.max_grace, 86400);         /* built in */
	assert_int_equal(a->pol.length, 43);
	assert_string_equal(a->pol.alphabet_spec, "base64url");
	/* Recomputed from the merged values, not copied from defaults. */
	assert_true(fabs(a->pol.entropy_bits - 43 * 6.0) < 1e-9);
	assert_true(fabs(e->cfg.defaults.entropy_bits - 32 * 6.0) < 1e-9);
}

static void window_wrapping_midnight_is_accepted(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "defaults = { window = \"23:15-1:05\"; };\n");
	expect_clean(e, r);
	assert_int_equal(e->cfg.defaults.window_start, 23 * 60 + 15);
	assert_int_equal(e->cfg.defaults.window_end, 65);
}

static void deliveries_get_their_documented_defaults(void **state)
{
	struct env *e = *state;
	const struct rs_account_cfg *a;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { file = \"/run/a.pw\"; },\n"
	            "  { sealed_to = \"@DIR@/consumer.pub\"; file = \"/out/a.sealed\"; },\n"
	            "  { command = [ \"/usr/bin/push\" ]; },\n"
	            "  { file = \"/run/b.pw\"; owner = \"www-data\"; }\n"
	            "); } );\n");
	expect_clean(e, r);
	a = &e->cfg.accounts[0];
	assert_int_equal(a->ndeliver, 4);
	/* file: root, root's primary group, 0400 */
	assert_string_equal(a->deliver[0].owner, "root");
	assert_int_equal(a->deliver[0].uid, 0);
	assert_string_equal(a->deliver[0].group, "root");
	assert_int_equal(a->deliver[0].gid, 0);
	assert_int_equal(a->deliver[0].mode, 0400);
	assert_int_equal(a->deliver[0].line, 3);
	/* sealed: same owner, but 0644: the sealed file is useless without the consumer key */
	assert_int_equal(a->deliver[1].kind, RS_DELIVER_SEALED);
	assert_string_equal(a->deliver[1].owner, "root");
	assert_int_equal(a->deliver[1].mode, 0644);
	/* command: as root, 30 s */
	assert_int_equal(a->deliver[2].kind, RS_DELIVER_COMMAND);
	assert_int_equal(a->deliver[2].argc, 1);
	assert_int_equal(a->deliver[2].timeout, 30);
	assert_string_equal(a->deliver[2].user, "");
	assert_int_equal(a->deliver[2].run_uid, 0);
	assert_int_equal(a->deliver[2].run_gid, 0);
	/* group defaults to the owner's primary group, named from group_file */
	assert_int_equal(a->deliver[3].uid, 33);
	assert_int_equal(a->deliver[3].gid, 33);
	assert_string_equal(a->deliver[3].group, "www-data");
}

static void delivery_owner_resolves_to_a_config_account_before_passwd_file(void **state)
{
	struct env *e = *state;
	const struct rs_delivery *d;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "    { file = \"/run/a.pw\"; owner = \"svc-b\"; },\n"
	            "    { command = [ \"/usr/bin/push\" ]; user = \"svc-b\"; } ); },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\"; }\n"
	            ");\n");
	expect_clean(e, r);
	d = &e->cfg.accounts[0].deliver[0];
	assert_int_equal(d->uid, 60002);
	assert_int_equal(d->gid, 60000);
	assert_string_equal(d->group, "svc");
	d = &e->cfg.accounts[0].deliver[1];
	assert_int_equal(d->run_uid, 60002);
	assert_int_equal(d->run_gid, 60000);
}

static void sup_gids_combine_groups_and_members_without_primary_or_duplicates(void **state)
{
	struct env *e = *state;
	const struct rs_account_cfg *a, *b;
	int r;

	r = load(e, "groups = (\n"
	            "  { name = \"svc\"; gid = 60000; members = [ \"svc-b\" ]; },\n"
	            "  { name = \"svc-x\"; gid = 60001; members = [ \"svc-a\", \"svc-a\" ]; },\n"
	            "  { name = \"svc-y\"; gid = 60002; }\n"
	            ");\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    groups = [ \"svc\", \"svc-x\", \"svc-y\", \"users\", \"svc-y\" ]; },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc-y\"; }\n"
	            ");\n");
	expect_clean(e, r);
	a = rs_config_account(&e->cfg, "svc-a");
	assert_int_equal(a->gid, 60000);
	assert_int_equal(a->ngroups, 5); /* as written */
	assert_int_equal(a->nsup, 3);
	assert_int_equal(a->sup_gids[0], 60001);
	assert_int_equal(a->sup_gids[1], 60002);
	assert_int_equal(a->sup_gids[2], 100);
	b = rs_config_account(&e->cfg, "svc-b");
	assert_int_equal(b->gid, 60002);
	assert_int_equal(b->nsup, 1); /* member of svc, written on the group's side */
	assert_int_equal(b->sup_gids[0], 60000);
}

static void group_members_are_explicit_members_plus_accounts_listing_the_group(void **state)
{
	struct env *e = *state;
	const struct rs_group_cfg *g;
	int r;

	r = load(e,
	         "groups = (\n"
	         "  { name = \"svc\"; gid = 60000; members = [ \"svc-b\" ]; },\n"
	         "  { name = \"svc-x\"; gid = 60001; members = [ \"svc-a\", \"svc-a\" ]; },\n"
	         "  { name = \"svc-y\"; gid = 60002; }\n"
	         ");\n"
	         "accounts = (\n"
	         "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	         "    groups = [ \"svc-x\", \"svc-y\", \"users\" ]; },\n"
	         "  { name = \"svc-b\"; uid = 60002; group = \"svc-y\"; groups = [ \"svc-x\" ]; }\n"
	         ");\n");
	expect_clean(e, r);
	g = &e->cfg.groups[0];
	assert_int_equal(g->nmembers, 1);
	assert_string_equal(g->members[0], "svc-b");
	g = &e->cfg.groups[1];
	assert_int_equal(g->nmembers, 2);
	assert_string_equal(g->members[0], "svc-a");
	assert_string_equal(g->members[1], "svc-b");
	g = &e->cfg.groups[2];
	assert_int_equal(g->nmembers, 1);
	assert_string_equal(g->members[0], "svc-a");
}

static void group_from_group_file_serves_as_primary_and_supplementary_group(void **state)
{
	struct env *e = *state;
	const struct rs_account_cfg *a;
	int r;

	r = load(e, "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"users\";\n"
	            "  groups = [ \"ssl-cert\" ]; } );\n");
	expect_clean(e, r);
	a = &e->cfg.accounts[0];
	assert_int_equal(a->gid, 100);
	assert_int_equal(a->nsup, 1);
	assert_int_equal(a->sup_gids[0], 110);
}

static void include_is_read_from_the_config_directory_and_reported_with_its_file(void **state)
{
	struct env *e = *state;
	char inc[PATH_MAX];
	int r;

	path_in(e, "groups.conf", inc, sizeof(inc));
	write_file(inc,
	           "groups = ( { name = \"svc\"; gid = 60000; },\n"
	           "  { name = \"svc\"; gid = 60001; } );\n",
	           0644);
	r = load(e, "@include \"groups.conf\"\n");
	expect_nerrors(e, r, 1);
	check_diag(e, inc, 2, "group \"svc\" is already defined at line 1", false, __FILE__,
	           __LINE__);
}

/* ---- refusals ----------------------------------------------------------------------- */

static void missing_config_file_returns_enoent_with_a_diag(void **state)
{
	struct env *e = *state;
	char path[PATH_MAX];
	int r;

	path_in(e, "nope.conf", path, sizeof(path));
	r = rs_config_load(path, &e->cfg);
	assert_int_equal(r, -ENOENT);
	assert_int_equal(e->cfg.ndiags, 1);
	assert_non_null(strstr(e->cfg.diags[0].msg, "No such file"));
	assert_int_equal(strncmp(e->cfg.diags[0].msg, path, strlen(path)), 0);
}

static void syntax_error_is_reported_with_file_and_line(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = ; }\n"
	            ");\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 3, "syntax error");
}

static void unknown_keys_are_refused_at_every_level_with_their_lines(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "colour = \"blue\";\n"
	            "defaults = { grace = \"1h\"; flavour = \"red\"; };\n"
	            "groups = ( { name = \"svc\"; gid = 60000; owner = \"x\"; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; password = \"x\";\n"
	            "    deliver = ( { file = \"/run/a.pw\"; perms = \"0400\"; } ); }\n"
	            ");\n");
	expect_nerrors(e, r, 5);
	expect_error(e, 1, "unknown key \"colour\" at the top level");
	expect_error(e, 2, "unknown key \"flavour\" in defaults");
	expect_error(e, 3, "unknown key \"owner\" in group \"svc\"");
	expect_error(e, 5, "unknown key \"password\" in account \"svc-a\"");
	expect_error(e, 6, "unknown key \"perms\" in a deliver entry of account \"svc-a\"");
}

static void misspelt_key_is_refused_with_a_suggestion(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "stor_dir = \"/x\";\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  rotate_evry = \"7d\"; } );\n");
	expect_nerrors(e, r, 2);
	expect_error(e, 1,
	             "unknown key \"stor_dir\" at the top level: did you mean \"store_dir\"?");
	expect_error(e, 4,
	             "unknown key \"rotate_evry\" in account \"svc-a\": did you mean "
	             "\"rotate_every\"?");
}

static void wrong_types_are_refused_with_their_lines(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "lock_timeout = 10;\n"
	            "groups = ( { name = \"svc\"; gid = \"60000\"; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"users\";\n"
	            "    disabled = \"yes\";\n"
	            "    length = \"32\";\n"
	            "    groups = \"users\";\n"
	            "    deliver = { file = \"/run/x\"; };\n"
	            "    store_dir = \"/x\"; }\n"
	            ");\n"
	            "defaults = ( );\n");
	expect_nerrors(e, r, 8);
	expect_error(e, 1,
	             "lock_timeout must be a duration in quotes such as \"15m\", not an "
	             "integer");
	expect_error(e, 2, "gid must be an integer, not a string");
	expect_error(e, 5, "disabled must be true or false, not a string");
	expect_error(e, 6, "length must be an integer, not a string");
	expect_error(e, 7, "groups must be an array of group names");
	expect_error(e, 8, "deliver must be a list of deliver entries");
	expect_error(e, 9, "unknown key \"store_dir\" in account \"svc-a\"");
	expect_error(e, 11, "defaults must be a group { ... } of policy keys, not a list");
}

static void missing_required_keys_are_refused_at_their_entry(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = (\n"
	            "  { gid = 60000; },\n"
	            "  { name = \"svc\"; }\n"
	            ");\n"
	            "accounts = (\n"
	            "  { uid = 60001; group = \"users\"; },\n"
	            "  { name = \"svc-a\"; group = \"users\"; },\n"
	            "  { name = \"svc-b\"; uid = 60002; }\n"
	            ");\n");
	expect_nerrors(e, r, 5);
	expect_error(e, 2, "group entry has no name");
	expect_error(e, 3, "group \"svc\" has no gid");
	expect_error(e, 6, "account entry has no name");
	expect_error(e, 7, "account svc-a has no uid");
	expect_error(e, 8, "account svc-b has no group");
}

static void duplicate_names_and_ids_are_refused_naming_the_first_line(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = (\n"
	            "  { name = \"svc\"; gid = 60000; },\n"
	            "  { name = \"svc\"; gid = 60001; },\n"
	            "  { name = \"svc2\"; gid = 60000; }\n"
	            ");\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc2\"; },\n"
	            "  { name = \"svc-a\"; uid = 60002; group = \"svc2\"; },\n"
	            "  { name = \"svc-b\"; uid = 60001; group = \"svc2\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 4);
	expect_error(e, 3, "group \"svc\" is already defined at line 2");
	expect_error(e, 4, "gid 60000 is already used by group \"svc\" at line 2");
	expect_error(e, 8, "account \"svc-a\" is already defined at line 7");
	expect_error(e, 9, "uid 60001 is already used by account \"svc-a\" at line 7");
}

/* One message per repeat, against the first entry: not one per earlier entry, which
 * would grow with the square of the repeats. */
static void key_written_three_times_is_reported_once_per_repeat_against_the_first(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = (\n"
	            "  { name = \"svc\"; gid = 60000; },\n"
	            "  { name = \"svc\"; gid = 60000; },\n"
	            "  { name = \"svc\"; gid = 60000; }\n"
	            ");\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    deliver = ( { file = \"/run/a.pw\"; } ); },\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    deliver = ( { file = \"/run/a.pw\"; } ); },\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    deliver = ( { file = \"/run/a.pw\"; } ); }\n"
	            ");\n");
	expect_nerrors(e, r, 10);
	expect_error(e, 3, "group \"svc\" is already defined at line 2");
	expect_error(e, 4, "group \"svc\" is already defined at line 2");
	expect_error(e, 3, "gid 60000 is already used by group \"svc\" at line 2");
	expect_error(e, 4, "gid 60000 is already used by group \"svc\" at line 2");
	expect_error(e, 9, "account \"svc-a\" is already defined at line 7");
	expect_error(e, 11, "account \"svc-a\" is already defined at line 7");
	expect_error(e, 9, "uid 60001 is already used by account \"svc-a\" at line 7");
	expect_error(e, 11, "uid 60001 is already used by account \"svc-a\" at line 7");
	expect_error(e, 10,
	             "file \"/run/a.pw\" is already the destination of the deliver entry "
	             "at line 8");
	expect_error(e, 12,
	             "file \"/run/a.pw\" is already the destination of the deliver entry "
	             "at line 8");
}

/* Like getpwnam(3) with files: the first line of a name or id is the one that counts. */
static void name_or_id_written_twice_in_a_system_file_is_reported_at_its_first_line(void **state)
{
	struct env *e = *state;
	char path[PATH_MAX], msg[PATH_MAX + 128];
	int r;

	path_in(e, "passwd2", path, sizeof(path));
	write_file(path,
	           "root:x:0:0:root:/root:/bin/bash\n"
	           "carol:x:2000:2000::/:/bin/sh\n"
	           "dave:x:2001:2001::/:/bin/sh\n"
	           "carol:x:2002:2002::/:/bin/sh\n"
	           "erin:x:2001:2001::/:/bin/sh\n",
	           0644);
	r = load(e, "passwd_file = \"@DIR@/passwd2\";\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"carol\"; uid = 60001; group = \"svc\"; },\n"
	            "  { name = \"svc-a\"; uid = 2001; group = \"svc\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 2);
	(void)snprintf(msg, sizeof(msg), "account \"carol\" already exists in %s (line 2)", path);
	expect_error(e, 4, msg);
	(void)snprintf(msg, sizeof(msg), "uid 2001 is already used by user \"dave\" in %s (line 3)",
	               path);
	expect_error(e, 5, msg);
}

static void root_and_out_of_range_ids_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = (\n"
	            "  { name = \"svc\"; gid = 0; },\n"
	            "  { name = \"svc2\"; gid = 65535; }\n"
	            ");\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 0; group = \"users\"; },\n"
	            "  { name = \"svc-b\"; uid = -5; group = \"users\"; },\n"
	            "  { name = \"svc-c\"; uid = 4294967295L; group = \"users\"; },\n"
	            "  { name = \"svc-d\"; uid = 4294967294L; group = \"users\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 5);
	expect_error(e, 2, "gid 0 is root\'s");
	expect_error(e, 3, "gid 65535 is out of range: expected 1 to 4294967294");
	expect_error(e, 6, "uid 0 is root's");
	expect_error(e, 7, "uid -5 is out of range");
	expect_error(e, 8, "uid 4294967295 is out of range");
	assert_int_equal(e->cfg.accounts[3].uid, 4294967294u);
}

static void names_and_ids_present_in_the_system_files_are_refused(void **state)
{
	struct env *e = *state;
	char msg[PATH_MAX + 128];
	int r;

	r = load(e, "groups = (\n"
	            "  { name = \"users\"; gid = 60000; },\n"
	            "  { name = \"svc\"; gid = 33; }\n"
	            ");\n"
	            "accounts = (\n"
	            "  { name = \"backup\"; uid = 60001; group = \"svc\"; },\n"
	            "  { name = \"svc-a\"; uid = 1000; group = \"svc\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 4);
	(void)snprintf(msg, sizeof(msg), "group \"users\" already exists in %s/group (line 5)",
	               e->dir);
	expect_error(e, 2, msg);
	(void)snprintf(msg, sizeof(msg),
	               "gid 33 is already used by group \"www-data\" in %s/group (line 3)", e->dir);
	expect_error(e, 3, msg);
	(void)snprintf(msg, sizeof(msg), "account \"backup\" already exists in %s/passwd (line 4)",
	               e->dir);
	expect_error(e, 6, msg);
	(void)snprintf(msg, sizeof(msg),
	               "uid 1000 is already used by user \"alice\" in %s/passwd (line 6)", e->dir);
	expect_error(e, 7, msg);
}

static void invalid_names_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"Svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"1svc\"; uid = 60001; group = \"users\"; },\n"
	            "  { name = \"a-very-long-service-account-name-x\"; uid = 60002; group = "
	            "\"users\"; },\n"
	            "  { name = \"svc-c\"; uid = 60003; group = \"users\";\n"
	            "    deliver = ( { file = \"/run/c.pw\"; owner = \"no body\"; } ); }\n"
	            ");\n");
	expect_nerrors(e, r, 4);
	expect_error(e, 1, "\"Svc\" is not a valid group name");
	expect_error(e, 3, "\"1svc\" is not a valid account name");
	expect_error(e, 4, "is not a valid account name");
	expect_error(e, 6, "owner \"no body\" is not a usable user or group name");
}

static void unknown_primary_or_supplementary_group_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"nosuch\";\n"
	            "    groups = [ \"users\",\n"
	            "               \"nosuch2\" ]; }\n"
	            ");\n");
	expect_nerrors(e, r, 2);
	expect_error(e, 2, "group \"nosuch\" of account \"svc-a\" does not exist");
	expect_error(e, 4, "supplementary group \"nosuch2\" of account \"svc-a\" does not exist");
}

static void unknown_delivery_owner_group_or_user_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    deliver = (\n"
	            "      { file = \"/run/a.pw\"; owner = \"ghost\"; },\n"
	            "      { file = \"/run/b.pw\"; owner = \"backup\";\n"
	            "        group = \"phantom\"; },\n"
	            "      { command = [ \"/bin/true\" ]; user = \"nobody-here\"; }\n"
	            "    ); }\n"
	            ");\n");
	expect_nerrors(e, r, 3);
	expect_error(e, 5, "owner \"ghost\" is neither an account here nor a user in");
	expect_error(e, 7, "group \"phantom\" is neither defined in groups nor present in");
	expect_error(e, 8, "user \"nobody-here\" of this command delivery is neither an account");
}

static void grace_not_shorter_than_rotate_every_is_refused_with_its_line(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    grace = \"2h\"; rotate_every = \"1h\"; },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\";\n"
	            "    rotate_every = \"1h\"; grace = \"1h\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 2);
	expect_error(e, 4, "grace (2h) must be shorter than rotate_every (1h)");
	expect_error(e, 6, "grace (1h) must be shorter than rotate_every (1h)");
}

static void grace_longer_than_max_grace_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    max_grace = \"2h\"; grace = \"3h\"; },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\";\n"
	            "    max_grace = \"2h\"; grace = \"2h\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 4, "grace (3h) must be at most max_grace (2h)");
}

static void bad_pair_inherited_from_defaults_is_reported_once_at_defaults(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "defaults = { rotate_every = \"1h\"; grace = \"2h\"; };\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\"; },\n"
	            "  { name = \"svc-c\"; uid = 60003; group = \"svc\"; grace = \"3h\"; },\n"
	            "  { name = \"svc-d\"; uid = 60004; group = \"svc\"; grace = \"30m\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 2);
	expect_error(e, 1, "grace (2h) must be shorter than rotate_every (1h)");
	expect_error(e, 6, "grace (3h) must be shorter than rotate_every (1h, from defaults)");
}

static void retry_bounds_out_of_order_or_zero_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "defaults = {\n"
	            "  retry_min = \"2h\";\n"
	            "};\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  retry_min = \"0\"; jitter = \"30d\"; } );\n");
	expect_nerrors(e, r, 3);
	expect_error(e, 2, "retry_min (2h) must be at most retry_max (1h, the default)");
	expect_error(e, 6, "retry_min must be at least 1s");
	expect_error(e, 6, "jitter (30d) must be shorter than rotate_every (30d, the default)");
}

static void lock_timeout_out_of_range_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "lock_timeout = \"0\";\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; } );\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 1, "lock_timeout must be from 1s to 1h");
	r = load(e, "lock_timeout = \"30d\";\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; } );\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 1, "lock_timeout must be from 1s to 1h");
}

static void secret_under_64_bits_is_an_error_and_under_128_bits_a_warning(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "defaults = { length = 16; };\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; length = 10; },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\";\n"
	            "    alphabet = \"0123456789\"; length = 30; },\n"
	            "  { name = \"svc-c\"; uid = 60003; group = \"svc\"; }\n"
	            ");\n");
	expect_nerrors(e, r, 1);
	assert_int_equal(e->cfg.ndiags, 3);
	expect_warning(e, 1, "16 characters from alphabet \"alnum\" (62 characters) has 95 bits");
	expect_warning(e, 1, "22 characters would reach 128 bits");
	expect_error(e, 4, "has 60 bits of entropy; at least 64 are required");
	expect_warning(e, 6, "has 100 bits of entropy, under 128");
}

static void warnings_alone_let_the_config_load(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; members = [ \"ghost\" ]; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  length = 20; } );\n");
	assert_int_equal(r, 0);
	assert_int_equal(e->cfg.nerrors, 0);
	assert_int_equal(e->cfg.ndiags, 2);
	assert_true(e->cfg.diags[0].warning && e->cfg.diags[1].warning);
	expect_warning(e, 3, "has 119 bits of entropy");
	expect_warning(e, 1,
	               "member \"ghost\" of group \"svc\" is neither an account here nor a "
	               "user in");
	/* The flag alone marks a warning: rotsecctl prints its own "warning: " before it. */
	assert_null(strstr(e->cfg.diags[0].msg, "warning"));
	assert_null(strstr(e->cfg.diags[1].msg, "warning"));
}

static void relative_paths_are_refused_everywhere(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "store_dir = \"var/lib/rotsec\";\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    home = \"home/svc\";\n"
	            "    shell = \"nologin\";\n"
	            "    verify = [ \"check\" ];\n"
	            "    deliver = (\n"
	            "      { file = \"run/a.pw\"; },\n"
	            "      { command = [ \"push\", \"arg\" ]; },\n"
	            "      { sealed_to = \"keys/x.pub\"; file = \"/out/x.sealed\"; }\n"
	            "    ); }\n"
	            ");\n");
	expect_nerrors(e, r, 7);
	expect_error(e, 1, "store_dir \"var/lib/rotsec\" must be an absolute path");
	expect_error(e, 5, "home \"home/svc\" must be an absolute path");
	expect_error(e, 6, "shell \"nologin\" must be an absolute path");
	expect_error(e, 7, "verify program \"check\" must be an absolute path");
	expect_error(e, 9, "file \"run/a.pw\" must be an absolute path");
	expect_error(e, 10, "command program \"push\" must be an absolute path");
	expect_error(e, 11, "sealed_to \"keys/x.pub\" must be an absolute path");
}

static void every_top_level_path_must_be_absolute(void **state)
{
	static const char *const keys[] = {"store_dir",   "state_dir", "key_file",
	                                   "run_dir",     "audit_log", "metrics_file",
	                                   "passwd_file", "group_file"};
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char body[128], msg[128];
		int r;

		(void)snprintf(body, sizeof(body), "%s = \"relative\";\n", keys[i]);
		(void)snprintf(msg, sizeof(msg), "%s \"relative\" must be an absolute path",
		               keys[i]);
		r = load(e, body);
		expect_nerrors(e, r, 1);
		expect_error(e, 1, msg);
	}
}

static void file_delivery_mode_with_any_access_for_others_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { file = \"/run/a.pw\"; mode = \"0404\"; },\n"
	            "  { file = \"/run/b.pw\"; mode = \"0401\"; },\n"
	            "  { file = \"/run/c.pw\"; mode = \"0640\"; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 2);
	expect_error(e, 3, "mode 0404 gives other users access to the secret");
	expect_error(e, 4, "mode 0401 gives other users access to the secret");
	assert_int_equal(e->cfg.accounts[0].deliver[2].mode, 0640);
}

static void sealed_delivery_mode_writable_by_group_or_others_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { sealed_to = \"@DIR@/consumer.pub\"; file = \"/o/d.sealed\"; mode = "
	            "\"0664\"; },\n"
	            "  { sealed_to = \"@DIR@/consumer.pub\"; file = \"/o/e.sealed\"; mode = "
	            "\"0646\"; },\n"
	            "  { sealed_to = \"@DIR@/consumer.pub\"; file = \"/o/f.sealed\"; mode = "
	            "\"0444\"; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 2);
	expect_error(e, 3, "mode 0664 lets group or others write the sealed file");
	expect_error(e, 4, "mode 0646 lets group or others write the sealed file");
}

static void mode_that_is_not_an_octal_string_up_to_07777_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { file = \"/run/a.pw\"; mode = \"0489\"; },\n"
	            "  { file = \"/run/b.pw\"; mode = \"17777\"; },\n"
	            "  { file = \"/run/c.pw\"; mode = \"\"; },\n"
	            "  { file = \"/run/d.pw\"; mode = 400; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 4);
	expect_error(e, 3, "mode \"0489\" is not valid: expected an octal mode up to 07777");
	expect_error(e, 4, "mode \"17777\" is not valid");
	expect_error(e, 5, "mode \"\" is not valid");
	expect_error(e, 6, "mode must be an octal string such as \"0400\", not an integer");
}

static void missing_or_invalid_sealed_key_is_refused(void **state)
{
	struct env *e = *state;
	unsigned char zero[32] = {0};
	char path[PATH_MAX];
	int r;

	write_pub(e, "low-order.pub", zero, 0644);
	write_pub(e, "writable.pub", e->pk, 0666);
	path_in(e, "garbage.pub", path, sizeof(path));
	write_file(path, "ssh-ed25519 AAAA not a rotsec key\n", 0644);

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { sealed_to = \"@DIR@/missing.pub\"; file = \"/o/a.sealed\"; },\n"
	            "  { sealed_to = \"@DIR@/garbage.pub\"; file = \"/o/b.sealed\"; },\n"
	            "  { sealed_to = \"@DIR@/low-order.pub\"; file = \"/o/c.sealed\"; },\n"
	            "  { sealed_to = \"@DIR@/writable.pub\"; file = \"/o/d.sealed\"; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 4);
	expect_error(e, 3, "cannot read sealed_to key");
	expect_error(e, 3, "No such file or directory");
	expect_error(e, 4, "sealed_to key refused");
	expect_error(e, 4, "garbage.pub");
	expect_error(e, 5, "sealed_to key refused");
	expect_error(e, 5, "low-order");
	expect_error(e, 6, "writable by group or others");
}

static void bad_duration_window_alphabet_and_hash_cost_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "defaults = { rotate_every = \"7 days\"; };\n"
	            "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  grace = \"1x\";\n"
	            "  window = \"25:00-02:00\";\n"
	            "  alphabet = \"aab\";\n"
	            "  hash_cost = \"extreme\";\n"
	            "  jitter = \"999999w\";\n"
	            "  quiet_revoke = \"\";\n"
	            "  retry_max = 3600;\n"
	            "} );\n");
	expect_nerrors(e, r, 8);
	expect_error(e, 1,
	             "rotate_every \"7 days\" is not a duration: expected numbers with units");
	expect_error(e, 4, "grace \"1x\" is not a duration");
	expect_error(e, 5, "window \"25:00-02:00\" is not valid: expected \"HH:MM-HH:MM\"");
	expect_error(e, 6, "alphabet \"aab\" is not valid");
	expect_error(e, 7,
	             "hash_cost \"extreme\" is not valid: expected \"interactive\" or "
	             "\"moderate\"");
	expect_error(e, 8, "jitter \"999999w\" is too long: the limit is 100 years");
	expect_error(e, 9, "quiet_revoke \"\" is not a duration");
	expect_error(e, 10, "retry_max must be a duration in quotes");
	/* The invalid alphabet left the inherited one whole. */
	assert_string_equal(e->cfg.accounts[0].pol.alphabet_spec, "alnum");
	assert_int_equal(e->cfg.accounts[0].pol.alphabet.n, 62);
}

static void window_with_equal_start_and_end_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "defaults = {\n"
	            "  window = \"03:00-03:00\";\n"
	            "};\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 2, "window \"03:00-03:00\" starts and ends at the same time");
}

static void deliver_entry_with_no_kind_or_two_kinds_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { owner = \"root\"; },\n"
	            "  { file = \"/run/a.pw\"; command = [ \"/bin/true\" ]; },\n"
	            "  { sealed_to = \"@DIR@/consumer.pub\";\n"
	            "    command = [ \"/bin/true\" ]; },\n"
	            "  \"/run/b.pw\" ); } );\n");
	expect_nerrors(e, r, 4);
	expect_error(e, 3,
	             "a deliver entry needs one of file = \"/path\", command = [ \"/prog\" ] "
	             "or sealed_to");
	expect_error(e, 4,
	             "a deliver entry must be exactly one kind: file, command, sealed_to or "
	             "fleet; this one has command and file");
	expect_error(e, 5, "this one has command and sealed_to");
	expect_error(e, 7, "deliver entry 4 must be a group { ... }, not a string");
}

static void sealed_to_without_file_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { owner = \"root\";\n"
	            "    sealed_to = \"@DIR@/consumer.pub\"; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 4, "sealed_to needs file = \"/path\"");
}

static void empty_command_or_verify_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  verify = [ ];\n"
	            "  deliver = (\n"
	            "    { command = [ ]; },\n"
	            "    { command = \"/bin/push\"; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 3);
	expect_error(e, 3, "verify is empty: expected [ \"/absolute/program\"");
	expect_error(e, 5, "command is empty");
	expect_error(e, 6, "command must be an array of strings");
}

static void options_of_another_delivery_kind_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; deliver = (\n"
	            "  { file = \"/run/a.pw\"; timeout = \"5s\"; },\n"
	            "  { command = [ \"/bin/push\" ]; mode = \"0400\"; },\n"
	            "  { command = [ \"/bin/push\" ]; timeout = \"0\"; }\n"
	            "); } );\n");
	expect_nerrors(e, r, 3);
	expect_error(e, 3, "timeout does not apply to a file delivery");
	expect_error(e, 4, "mode does not apply to a command delivery");
	expect_error(e, 5, "timeout must be at least 1s");
}

static void two_deliveries_into_one_file_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "    deliver = ( { file = \"/run/shared.pw\"; } ); },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\"; deliver = (\n"
	            "    { sealed_to = \"@DIR@/consumer.pub\";\n"
	            "      file = \"/run/shared.pw\"; }\n"
	            "  ); }\n"
	            ");\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 7,
	             "file \"/run/shared.pw\" is already the destination of the deliver "
	             "entry at line 4");
}

static void tripwire_keep_and_length_out_of_range_are_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; tripwire_keep = 17; },\n"
	            "  { name = \"svc-b\"; uid = 60002; group = \"svc\"; tripwire_keep = -1; },\n"
	            "  { name = \"svc-c\"; uid = 60003; group = \"svc\"; length = 0; },\n"
	            "  { name = \"svc-d\"; uid = 60004; group = \"svc\"; length = 513; },\n"
	            "  { name = \"svc-e\"; uid = 60005; group = \"svc\"; length = 512;\n"
	            "    tripwire_keep = 0; }\n"
	            ");\n");
	expect_nerrors(e, r, 4);
	expect_error(e, 3, "tripwire_keep 17 is out of range: expected 0 to 16");
	expect_error(e, 4, "tripwire_keep -1 is out of range");
	expect_error(e, 5, "length 0 is out of range: expected 1 to 512");
	expect_error(e, 6, "length 513 is out of range");
	assert_int_equal(e->cfg.accounts[4].pol.length, 512);
	assert_int_equal(e->cfg.accounts[4].pol.tripwire_keep, 0);
}

static void gecos_with_a_colon_or_newline_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"users\";\n"
	            "  gecos = \"Backup:agent\"; } );\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 2, "gecos must not contain ':'");
}

static void unreadable_passwd_file_is_refused(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "passwd_file = \"@DIR@/no-passwd\";\n");
	expect_nerrors(e, r, 1);
	expect_error(e, 1, "cannot read passwd_file");
	expect_error(e, 1, "No such file or directory");
}

static void config_writable_by_group_or_others_is_refused(void **state)
{
	struct env *e = *state;
	char prefix[PATH_MAX + 8];
	int r;

	r = load(e, "");
	expect_clean(e, r);
	assert_int_equal(chmod(e->conf, 0664), 0);
	rs_config_free(&e->cfg);
	r = rs_config_load(e->conf, &e->cfg);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(e->cfg.nerrors, 1);
	(void)snprintf(prefix, sizeof(prefix), "%s: ", e->conf);
	assert_int_equal(strncmp(e->cfg.diags[0].msg, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(e->cfg.diags[0].msg, "writable by group or others (mode 0664)"));
}

static void config_that_is_a_directory_cannot_be_read(void **state)
{
	struct env *e = *state;
	int r;

	r = rs_config_load(e->dir, &e->cfg);
	assert_true(r < 0 && r != -EINVAL);
	assert_int_equal(e->cfg.ndiags, 1);
	assert_non_null(strstr(e->cfg.diags[0].msg, "not a regular file"));
}

static void all_errors_are_collected_not_just_the_first(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "run_dir = \"run\";\n"
	            "defaults = { length = 4; };\n"
	            "groups = ( { name = \"svc\"; gid = 0; } );\n"
	            "accounts = (\n"
	            "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; grace = \"40d\"; },\n"
	            "  { name = \"svc-b\"; uid = 60001; group = \"nope\"; },\n"
	            "  { name = \"svc-c\"; uid = 60003; group = \"svc\"; colour = 1; }\n"
	            ");\n");
	expect_nerrors(e, r, 8);
	expect_error(e, 1, "run_dir \"run\" must be an absolute path");
	expect_error(e, 2, "at least 64 are required");
	expect_error(e, 3, "gid 0 is root's");
	expect_error(e, 5, "grace (40d) must be shorter than rotate_every (30d, the default)");
	expect_error(e, 5, "grace (40d) must be at most max_grace (1d, the default)");
	expect_error(e, 6, "uid 60001 is already used by account \"svc-a\" at line 5");
	expect_error(e, 6, "group \"nope\" of account \"svc-b\" does not exist");
	expect_error(e, 7, "unknown key \"colour\"");
}

/* The load is read-only: nothing in the directory changes, the config included. */
static void loading_writes_nothing(void **state)
{
	struct env *e = *state;
	char before[4096] = "", after[4096] = "";
	struct stat st_before, st_after;

	for (int pass = 0; pass < 2; pass++) {
		char *list = pass ? after : before;
		DIR *d;
		struct dirent *de;

		if (pass == 0) {
			(void)load(
			        e,
			        "groups = ( { name = \"svc\"; gid = 60000; } );\n"
			        "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
			        "  deliver = ( { file = \"@DIR@/out.pw\"; },\n"
			        "    { sealed_to = \"@DIR@/consumer.pub\";\n"
			        "      file = \"@DIR@/out.sealed\"; } ); } );\n");
			rs_config_free(&e->cfg);
			assert_int_equal(stat(e->conf, &st_before), 0);
		} else {
			assert_int_equal(rs_config_load(e->conf, &e->cfg), 0);
			assert_int_equal(stat(e->conf, &st_after), 0);
		}
		d = opendir(e->dir);
		assert_non_null(d);
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				strncat(list, de->d_name, 4095 - strlen(list));
				strncat(list, "\n", 4095 - strlen(list));
			}
		closedir(d);
	}
	/* readdir order is stable for an unchanged directory */
	assert_string_equal(before, after);
	assert_int_equal(st_before.st_mtim.tv_sec, st_after.st_mtim.tv_sec);
	assert_int_equal(st_before.st_mtim.tv_nsec, st_after.st_mtim.tv_nsec);
	assert_int_equal(st_before.st_size, st_after.st_size);
}

/*
 * Every "which entry has this name or id" question of the load goes through a sorted
 * index, so that a large config or passwd file does not make the load quadratic. 20,000
 * accounts and as many system users, every account with a delivery, in a group by its own
 * `groups` and listed in another's `members`: all of it resolved as in a small config.
 */
static void twenty_thousand_accounts_and_system_users_resolve_correctly(void **state)
{
	struct env *e = *state;
	const size_t n = 20000;
	char path[PATH_MAX];
	struct timespec t0, t1;
	double secs;
	FILE *f;
	int r;

	path_in(e, "passwd-big", path, sizeof(path));
	f = fopen(path, "we");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		(void)fprintf(f, "user%zu:x:%zu:%zu::/home/user%zu:/bin/sh\n", i, 200000 + i,
		              200000 + i, i);
	/* Write errors stick to the stream: one check for all of them. */
	assert_false(ferror(f));
	assert_int_equal(fclose(f), 0);

	f = fopen(e->conf, "we");
	assert_non_null(f);
	(void)fprintf(f, "passwd_file = \"%s\";\ngroup_file = \"%s/group\";\n", path, e->dir);
	(void)fprintf(f, "groups = ( { name = \"svc\"; gid = 60000; },\n"
	                 "  { name = \"svc-in\"; gid = 60001; },\n"
	                 "  { name = \"svc-listed\"; gid = 60002; members = [ ");
	for (size_t i = 0; i < n; i++)
		(void)fprintf(f, "%s\"svc-%zu\"", i ? ", " : "", i);
	(void)fprintf(f, " ]; } );\naccounts = (\n");
	for (size_t i = 0; i < n; i++)
		(void)fprintf(
		        f,
		        "  { name = \"svc-%zu\"; uid = %zu; group = \"svc\";\n"
		        "    groups = [ \"svc-in\" ];\n"
		        "    deliver = ( { file = \"/run/svc-%zu.pw\"; owner = \"user%zu\"; } ); "
		        "}%s\n",
		        i, 100000 + i, i, i, i + 1 < n ? "," : "");
	(void)fprintf(f, ");\n");
	assert_false(ferror(f));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(e->conf, 0644), 0);

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	r = rs_config_load(e->conf, &e->cfg);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("# loaded %zu accounts in %.2fs of CPU\n", n, secs);
	expect_clean(e, r);
	assert_int_equal(e->cfg.naccounts, n);
	for (size_t i = 0; i < n; i += n / 10) {
		const struct rs_account_cfg *a = &e->cfg.accounts[i];

		assert_int_equal(a->nsup, 2);
		assert_int_equal(a->sup_gids[0], 60001);
		assert_int_equal(a->sup_gids[1], 60002);
		assert_int_equal(a->deliver[0].uid, 200000 + i);
	}
	assert_int_equal(e->cfg.groups[1].nmembers, n);
	assert_int_equal(e->cfg.groups[2].nmembers, n);
	/* The time is printed, not asserted: tests check behaviour, make bench measures
	 * speed; a quadratic loader stands out in it. */
}

static void config_free_is_safe_after_failure_and_twice(void **state)
{
	struct env *e = *state;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; members = [ \"svc-a\" ]; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\"; groups = [ "
	            "\"x\" ];\n"
	            "  verify = [ \"/bin/v\", \"x\" ];\n"
	            "  deliver = ( { command = [ \"/bin/x\", \"y\" ]; }, { file = \"rel\"; } ); } "
	            ");\n");
	assert_int_equal(r, -EINVAL);
	rs_config_free(&e->cfg);
	assert_null(e->cfg.accounts);
	assert_int_equal(e->cfg.ndiags, 0);
	rs_config_free(&e->cfg);
	rs_config_free(NULL);
}

/* ---- check --effective -------------------------------------------------------------------- */

/* What rs_config_print_account writes for account `name`, malloc'ed. */
static char *effective(const struct env *e, const char *name)
{
	const struct rs_account_cfg *a = rs_config_account(&e->cfg, name);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(a);
	assert_non_null(f);
	assert_int_equal(rs_config_print_account(f, a), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void effective_settings_print_every_setting_once_inherited_or_own(void **state)
{
	struct env *e = *state;
	char expected[4096], *out;
	int r;

	r = load(e,
	         "defaults = { grace = \"2h\"; jitter = \"1h30m\"; window = \"22:00-04:00\"; };\n"
	         "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	         "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	         "  groups = [ \"users\" ]; gecos = \"Service A\"; rotate_every = \"7d\";\n"
	         "  hash_cost = \"moderate\"; tripwire_keep = 5; verify = [ \"/bin/check\" ];\n"
	         "  deliver = ( { file = \"@DIR@/a.pw\"; owner = \"backup\"; mode = \"0440\"; },\n"
	         "    { command = [ \"/bin/push\", \"two words\", \"a \\\"quote\\\"\" ];\n"
	         "      timeout = \"90s\"; user = \"daemon\"; } ); },\n"
	         "  { name = \"svc-b\"; uid = 60002; group = \"svc\"; } );\n");
	expect_clean(e, r);

	/* Every setting of the tables, in their order: the account's own (rotate_every,
	 * hash_cost, tripwire_keep), the defaults section's (grace, jitter, window) and the
	 * built-in ones (max_grace, length, ...). */
	(void)snprintf(expected, sizeof(expected),
	               "name svc-a\n"
	               "uid 60001\n"
	               "group svc\n"
	               "groups [ \"users\" ]\n"
	               "gecos Service A\n"
	               "home /nonexistent\n"
	               "shell /usr/sbin/nologin\n"
	               "disabled false\n"
	               "deliver file %s/a.pw owner backup group backup mode 0440\n"
	               "deliver command [ \"/bin/push\", \"two words\", \"a \\\"quote\\\"\" ] "
	               "timeout 1m30s user daemon\n"
	               "verify [ \"/bin/check\" ]\n"
	               "rotate_every 7d\n"
	               "grace 2h\n"
	               "max_grace 1d\n"
	               "length 32\n"
	               "alphabet alnum\n"
	               "hash_cost moderate\n"
	               "window 22:00-04:00\n"
	               "jitter 1h30m\n"
	               "rotate_after_use 0s\n"
	               "quiet_revoke 0s\n"
	               "tripwire_keep 5\n"
	               "retry_min 30s\n"
	               "retry_max 1h\n",
	               e->dir);
	out = effective(e, "svc-a");
	assert_string_equal(out, expected);
	free(out);

	/* What is not set, or empty, says so. */
	out = effective(e, "svc-b");
	assert_string_equal(out, "name svc-b\n"
	                         "uid 60002\n"
	                         "group svc\n"
	                         "groups []\n"
	                         "gecos \"\"\n"
	                         "home /nonexistent\n"
	                         "shell /usr/sbin/nologin\n"
	                         "disabled false\n"
	                         "deliver none\n"
	                         "verify none\n"
	                         "rotate_every 30d\n"
	                         "grace 2h\n"
	                         "max_grace 1d\n"
	                         "length 32\n"
	                         "alphabet alnum\n"
	                         "hash_cost interactive\n"
	                         "window 22:00-04:00\n"
	                         "jitter 1h30m\n"
	                         "rotate_after_use 0s\n"
	                         "quiet_revoke 0s\n"
	                         "tripwire_keep 3\n"
	                         "retry_min 30s\n"
	                         "retry_max 1h\n");
	free(out);
}

/* Each policy line of `printed` as a setting of an account entry: a value that is a
 * number stays one, "none" is left out, everything else is a string. */
static void policy_as_config(const char *printed, char *out, size_t len)
{
	const char *line = strstr(printed, "rotate_every ");
	size_t used = 0;

	assert_non_null(line);
	while (*line) {
		const char *sp = strchr(line, ' '), *nl = strchr(line, '\n');
		int klen = (int)(sp - line), vlen = (int)(nl - sp - 1);
		bool number = strspn(sp + 1, "0123456789") == (size_t)vlen;

		if (strncmp(sp + 1, "none\n", 5) != 0)
			used += (size_t)snprintf(out + used, len - used,
			                         number ? " %.*s = %.*s;" : " %.*s = \"%.*s\";",
			                         klen, line, vlen, sp + 1);
		assert_true(used < len);
		line = nl + 1;
	}
}

static void effective_policy_read_back_as_a_config_is_the_same_policy(void **state)
{
	struct env *e = *state;
	struct rs_policy_cfg first;
	char body[4096], settings[2048], *out, *again;
	int r;

	r = load(e, "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	            "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";\n"
	            "  rotate_every = \"2w3d4h5m6s\"; grace = \"90061s\"; max_grace = \"3d\";\n"
	            "  length = 40; alphabet = \"abcdefghijkmnpqrstuvwxyz23456789!#%\";\n"
	            "  hash_cost = \"moderate\"; window = \"00:05-23:59\"; jitter = \"59m\";\n"
	            "  rotate_after_use = \"36h\"; quiet_revoke = \"45m\"; tripwire_keep = 0;\n"
	            "  retry_min = \"1s\"; retry_max = \"100m\"; } );\n");
	expect_clean(e, r);
	first = rs_config_account(&e->cfg, "svc-a")->pol;
	out = effective(e, "svc-a");
	assert_non_null(strstr(out, "rotate_every 17d4h5m6s\n"));
	assert_non_null(strstr(out, "grace 1d1h1m1s\n"));

	policy_as_config(out, settings, sizeof(settings));
	(void)snprintf(body, sizeof(body),
	               "groups = ( { name = \"svc\"; gid = 60000; } );\n"
	               "accounts = ( { name = \"svc-a\"; uid = 60001; group = \"svc\";%s } );\n",
	               settings);
	r = load(e, body);
	expect_clean(e, r);
	assert_memory_equal(&rs_config_account(&e->cfg, "svc-a")->pol, &first, sizeof(first));
	again = effective(e, "svc-a");
	assert_string_equal(again, out);
	free(again);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	        T(full_config_with_every_key_loads_with_all_values_resolved),
	        T(config_without_settings_gets_the_documented_defaults),
	        T(account_policy_overrides_defaults_and_inherits_the_rest),
	        T(window_wrapping_midnight_is_accepted),
	        T(deliveries_get_their_documented_defaults),
	        T(delivery_owner_resolves_to_a_config_account_before_passwd_file),
	        T(sup_gids_combine_groups_and_members_without_primary_or_duplicates),
	        T(group_members_are_explicit_members_plus_accounts_listing_the_group),
	        T(group_from_group_file_serves_as_primary_and_supplementary_group),
	        T(include_is_read_from_the_config_directory_and_reported_with_its_file),
	        T(missing_config_file_returns_enoent_with_a_diag),
	        T(syntax_error_is_reported_with_file_and_line),
	        T(unknown_keys_are_refused_at_every_level_with_their_lines),
	        T(misspelt_key_is_refused_with_a_suggestion),
	        T(wrong_types_are_refused_with_their_lines),
	        T(missing_required_keys_are_refused_at_their_entry),
	        T(duplicate_names_and_ids_are_refused_naming_the_first_line),
	        T(key_written_three_times_is_reported_once_per_repeat_against_the_first),
	        T(name_or_id_written_twice_in_a_system_file_is_reported_at_its_first_line),
	        T(root_and_out_of_range_ids_are_refused),
	        T(names_and_ids_present_in_the_system_files_are_refused),
	        T(invalid_names_are_refused),
	        T(unknown_primary_or_supplementary_group_is_refused),
	        T(unknown_delivery_owner_group_or_user_is_refused),
	        T(grace_not_shorter_than_rotate_every_is_refused_with_its_line),
	        T(grace_longer_than_max_grace_is_refused),
	        T(bad_pair_inherited_from_defaults_is_reported_once_at_defaults),
	        T(retry_bounds_out_of_order_or_zero_are_refused),
	        T(lock_timeout_out_of_range_is_refused),
	        T(secret_under_64_bits_is_an_error_and_under_128_bits_a_warning),
	        T(warnings_alone_let_the_config_load),
	        T(relative_paths_are_refused_everywhere),
	        T(every_top_level_path_must_be_absolute),
	        T(file_delivery_mode_with_any_access_for_others_is_refused),
	        T(sealed_delivery_mode_writable_by_group_or_others_is_refused),
	        T(mode_that_is_not_an_octal_string_up_to_07777_is_refused),
	        T(missing_or_invalid_sealed_key_is_refused),
	        T(bad_duration_window_alphabet_and_hash_cost_are_refused),
	        T(window_with_equal_start_and_end_is_refused),
	        T(deliver_entry_with_no_kind_or_two_kinds_is_refused),
	        T(sealed_to_without_file_is_refused),
	        T(empty_command_or_verify_is_refused),
	        T(options_of_another_delivery_kind_are_refused),
	        T(two_deliveries_into_one_file_are_refused),
	        T(tripwire_keep_and_length_out_of_range_are_refused),
	        T(gecos_with_a_colon_or_newline_is_refused),
	        T(unreadable_passwd_file_is_refused),
	        T(config_writable_by_group_or_others_is_refused),
	        T(config_that_is_a_directory_cannot_be_read),
	        T(all_errors_are_collected_not_just_the_first),
	        T(loading_writes_nothing),
	        T(config_free_is_safe_after_failure_and_twice),
	        T(twenty_thousand_accounts_and_system_users_resolve_correctly),
	        T(effective_settings_print_every_setting_once_inherited_or_own),
	        T(effective_policy_read_back_as_a_config_is_the_same_policy),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
