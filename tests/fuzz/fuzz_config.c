/*
 * fuzz_config: arbitrary text as rotsec.conf through rs_config_load, the loader and
 * validator rotsecd and rotsecctl share (libconfig's parser, then every rule of
 * rotsec.conf(5)).
 *
 * The scratch directory holds what a config refers to: passwd and group files (the same
 * three users and four groups as the shell tests' rotsec_env), a valid and a broken
 * sealed_to key, and a file for @include. Every "@T@" in the input is replaced by that
 * directory before the config is written, so the seeds can name those files whatever
 * directory this process got.
 *
 * Invariants besides "no crash, no leak, no undefined behaviour":
 *  - 0 means no error diagnostics, -EINVAL means at least one, and every diagnostic is a
 *    non-empty "FILE...: message" line with no newline in it: a value quoted from the
 *    config must not split a message, or forge a "file:line:" of its own
 *    (tests/fuzz/regress/config/diag-newline);
 *  - an @include of something libconfig cannot read as a file (a directory, a FIFO) is
 *    refused with a diagnostic: libconfig 1.5 exits or blocks on one, which would take
 *    rotsecd down on SIGHUP (tests/fuzz/regress/config/include-directory);
 *  - a loaded config is complete: every path set and absolute, every account named,
 *    with a valid name, a uid that is not root, a usable alphabet of at least 64 bits of
 *    entropy and findable through rs_config_account; policy durations ordered as the
 *    validator promises (grace < rotate_every, grace <= max_grace);
 *  - `rotsecctl check --effective` prints every loaded account as one line per setting
 *    (one per delivery), whatever its strings hold.
 */
#define _GNU_SOURCE
#include "config.h"
#include "harness.h"
#include "sealed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[4096], conf[4200];

/*
 * libconfig 1.5 (Debian 12) leaks the token the scanner allocated (a string's buffer, an
 * identifier) when a syntax error comes before the grammar consumed it: its grammar has
 * no %destructor. A few bytes per refused config; in rotsecd, once per SIGHUP with a
 * broken file. Not ours to fix; suppressed by the two scanner functions that allocate
 * them, so that a leak of anything else, ours or a config_destroy forgotten, is still
 * reported.
 */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
	                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	                             "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n";
	static const char group[] = "root:x:0:\ndaemon:x:1:\nbackup:x:34:\nrotsec:x:990:\n";
	static const char bad_key[] = "not a key\n";
	static const char inc[] = "groups = ( { name = \"svc\"; gid = 60000; } );\n";
	char keys[4200], why[256];

	(void)argc;
	(void)argv;
	if (rs_crypto_init() < 0)
		abort();
	fz_subdir("conf", dir, sizeof(dir));
	(void)snprintf(conf, sizeof(conf), "%s/rotsec.conf", dir);
	fz_write_file(dir, "passwd", passwd, sizeof(passwd) - 1, 0644);
	fz_write_file(dir, "group", group, sizeof(group) - 1, 0644);
	fz_write_file(dir, "inc.conf", inc, sizeof(inc) - 1, 0644);
	fz_subdir("conf/keys", keys, sizeof(keys));
	fz_write_file(keys, "bad.pub", bad_key, sizeof(bad_key) - 1, 0644);
	(void)snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "/consumer");
	if (rs_keygen_files(keys, why, sizeof(why)) < 0) {
		(void)fprintf(stderr, "fuzz_config: %s\n", why);
		abort();
	}
	return 0;
}

/* The input with every "@T@" replaced by the scratch directory, NUL-terminated (the
 * input's own NULs are kept: libconfig sees them). */
static char *expand(const uint8_t *data, size_t size, size_t *outlen)
{
	size_t dl = strlen(dir), n = 0, cap = size + 1;
	char *out;

	for (size_t i = 0; i + 3 <= size; i++)
		if (memcmp(data + i, "@T@", 3) == 0)
			cap += dl;
	out = malloc(cap);
	FZ_CHECK(out != NULL);
	for (size_t i = 0; i < size;) {
		if (i + 3 <= size && memcmp(data + i, "@T@", 3) == 0) {
			/* dir and its NUL fit (cap counted dl + 1 for the 3 bytes of "@T@");
			 * the NUL is overwritten by what follows. */
			memcpy(out + n, dir, dl + 1);
			n += dl;
			i += 3;
		} else {
			out[n++] = (char)data[i++];
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

static void check_policy(const struct rs_policy_cfg *p)
{
	FZ_CHECK(p->alphabet.n >= 2 && p->alphabet.n <= sizeof(p->alphabet.chars));
	FZ_CHECK(p->length >= 1 && p->length <= RS_SECRET_MAX);
	FZ_CHECK(p->entropy_bits >= 64.0);
	FZ_CHECK(p->rotate_every > 0 && p->grace >= 0 && p->max_grace >= 0);
	FZ_CHECK(p->grace < p->rotate_every);
	FZ_CHECK(p->grace <= p->max_grace);
	FZ_CHECK(p->tripwire_keep <= RS_TRIPWIRE_MAX);
}

/* The settings of the two tables, counted. */
enum {
#define SETTING(key, ...) SETTING_##key,
	RS_ACCOUNT_FIELDS(SETTING) RS_POLICY_FIELDS(SETTING)
#undef SETTING
	        NSETTINGS
};

/* Lines rs_config_print_account writes for a: one per setting, the deliver setting one
 * per delivery (or one "deliver none"). */
static size_t effective_lines(const struct rs_account_cfg *a)
{
	return NSETTINGS - 1 + (a->ndeliver ? a->ndeliver : 1);
}

static void check_effective(const struct rs_account_cfg *a)
{
	char *buf = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&buf, &len);

	FZ_CHECK(f != NULL);
	FZ_CHECK(rs_config_print_account(f, a) == 0);
	FZ_CHECK(fclose(f) == 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		FZ_CHECK(c != '\0' && (c >= 0x20 || c == '\n') && c != 0x7f);
		lines += c == '\n';
	}
	FZ_CHECK(len > 0 && buf[len - 1] == '\n');
	FZ_CHECK(lines == effective_lines(a));
	FZ_CHECK(strncmp(buf, "name ", 5) == 0 && strncmp(buf + 5, a->name, strlen(a->name)) == 0);
	free(buf);
}

static void check_loaded(const struct rs_config *cfg)
{
	const char *paths[] = {cfg->store_dir,   cfg->state_dir, cfg->key_file,
	                       cfg->run_dir,     cfg->audit_log, cfg->metrics_file,
	                       cfg->passwd_file, cfg->group_file};

	FZ_CHECK(cfg->nerrors == 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		FZ_CHECK(paths[i] && paths[i][0] == '/');
	check_policy(&cfg->defaults);
	for (size_t i = 0; i < cfg->ngroups; i++)
		FZ_CHECK(rs_name_valid(cfg->groups[i].name) && cfg->groups[i].gid != 0);
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];

		FZ_CHECK(rs_name_valid(a->name));
		FZ_CHECK(a->uid != 0);
		FZ_CHECK(a->gecos && a->home && a->shell);
		FZ_CHECK(rs_field_ok(a->gecos) && rs_field_ok(a->home) && rs_field_ok(a->shell));
		check_policy(&a->pol);
		FZ_CHECK(rs_config_account(cfg, a->name) == a);
		check_effective(a);
		for (size_t j = 0; j < a->ndeliver; j++) {
			const struct rs_delivery *d = &a->deliver[j];

			if (d->kind == RS_DELIVER_COMMAND)
				FZ_CHECK(d->argv && d->argv[0] && d->argv[0][0] == '/');
			else
				FZ_CHECK(d->file && d->file[0] == '/');
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rs_config cfg;
	size_t len;
	char *text = expand(data, size, &len);
	int r;

	fz_write_file(dir, "rotsec.conf", text, len, 0600);
	free(text);
	r = rs_config_load(conf, &cfg);
	FZ_CHECK(r == 0 || r == -EINVAL || r == -EIO || r == -ENOMEM);
	FZ_CHECK(r != 0 || cfg.nerrors == 0);
	FZ_CHECK(r != -EINVAL || cfg.nerrors > 0);
	for (size_t i = 0; i < cfg.ndiags; i++) {
		FZ_CHECK(cfg.diags[i].msg[0] != '\0');
		FZ_CHECK(strchr(cfg.diags[i].msg, '\n') == NULL);
	}
	if (r == 0)
		check_loaded(&cfg);
	rs_config_free(&cfg);
	return 0;
}
