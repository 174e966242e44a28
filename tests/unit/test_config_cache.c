/*
 * The compiled config (engine/config_cache.c): a config loaded from FILE.cache is the
 * config a full load gives, field for field; any change to what a full load reads (the
 * config, passwd_file, group_file, a sealed_to key, their modes) makes the next load a
 * full one, which refuses a config that has become bad; a damaged, unsafe or foreign
 * cache is never used. Runs as root (only root uses a cache), in a private temp dir.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../engine/config.h"
#include "../../engine/config_cache.h"

struct env {
	char dir[PATH_MAX];
	char conf[PATH_MAX];
	char cache[PATH_MAX];
	char path[PATH_MAX]; /* scratch */
};

static const char *in_dir(struct env *e, const char *name)
{
	int n = snprintf(e->path, sizeof(e->path), "%s/%s", e->dir, name);

	assert_true(n > 0 && (size_t)n < sizeof(e->path));
	return e->path;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void write_pub(struct env *e, const char *name)
{
	unsigned char pk[32], sk[32];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)], line[128];

	crypto_box_keypair(pk, sk);
	sodium_bin2base64(b64, sizeof(b64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	(void)snprintf(line, sizeof(line), "rotsec-x25519-public %s\n", b64);
	write_file(in_dir(e, name), line, 0644);
}

/* A config with a bit of everything the loader fills in: paths, defaults, groups with
 * members, accounts with supplementary groups, own policy values, every kind of delivery,
 * a verify command, and a warning. */
static void write_conf(struct env *e, const char *extra_account)
{
	char text[8192];
	int n = snprintf(
	        text, sizeof(text),
	        "store_dir = \"%1$s/store\"; state_dir = \"%1$s/state\"; key_file = \"%1$s/key\";\n"
	        "run_dir = \"%1$s/run\"; audit_log = \"%1$s/audit\"; metrics_file = \"%1$s/m\";\n"
	        "passwd_file = \"%1$s/passwd\"; group_file = \"%1$s/group\";\n"
	        "lock_timeout = \"3s\";\n"
	        "defaults = { rotate_every = \"7d\"; grace = \"2h\"; max_grace = \"1d\"; };\n"
	        "groups = ( { name = \"svc\"; gid = 60000; members = [ \"alice\" ]; },\n"
	        "           { name = \"extra\"; gid = 60001; } );\n"
	        "accounts = (\n"
	        "  { name = \"svc-a\"; uid = 60001; group = \"svc\"; groups = [ \"extra\" ];\n"
	        "    gecos = \"A service\"; home = \"/var/lib/a\"; shell = \"/bin/false\";\n"
	        "    length = 20; alphabet = \"alnum\"; hash_cost = \"moderate\"; jitter = "
	        "\"1m\";\n"
	        "    window = \"02:00-04:00\"; quiet_revoke = \"10m\"; tripwire_keep = 5;\n"
	        "    verify = [ \"/bin/true\", \"x\" ];\n"
	        "    deliver = ( { file = \"%1$s/out/a.pw\"; owner = \"alice\"; mode = \"0440\"; "
	        "},\n"
	        "                { command = [ \"/bin/cat\", \"-\" ]; timeout = \"5s\"; user = "
	        "\"alice\"; },\n"
	        "                { sealed_to = \"%1$s/c.pub\"; file = \"%1$s/out/a.sealed\"; } ); "
	        "},\n"
	        "  { name = \"svc-b\"; uid = 60002; group = \"svc\"; disabled = true; }%2$s\n"
	        ");\n",
	        e->dir, extra_account ? extra_account : "");

	assert_true(n > 0 && (size_t)n < sizeof(text));
	write_file(e->conf, text, 0644);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	(void)snprintf(e->dir, sizeof(e->dir), "/tmp/rotsec-test-cache.XXXXXX");
	if (sodium_init() < 0 || !mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	(void)snprintf(e->conf, sizeof(e->conf), "%s/rotsec.conf", e->dir);
	(void)snprintf(e->cache, sizeof(e->cache), "%s/rotsec.conf.cache", e->dir);
	write_file(in_dir(e, "passwd"), "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n",
	           0644);
	write_file(in_dir(e, "group"), "root:x:0:\nalice:x:1000:\n", 0644);
	write_pub(e, "c.pub");
	write_conf(e, NULL);
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

	(void)nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

/* ---- comparing two configs field by field ---- */

static void same_str(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void same_strv(char *const *a, char *const *b)
{
	if (!a || !b) {
		assert_ptr_equal(a, b);
		return;
	}
	for (; *a || *b; a++, b++)
		same_str(*a, *b);
}

static void same_policy(const struct rs_policy_cfg *a, const struct rs_policy_cfg *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

static void same_account(const struct rs_account_cfg *x, const struct rs_account_cfg *y)
{
	assert_string_equal(x->name, y->name);
	assert_int_equal(x->uid, y->uid);
	assert_string_equal(x->group, y->group);
	assert_int_equal(x->gid, y->gid);
	same_str(x->gecos, y->gecos);
	same_str(x->home, y->home);
	same_str(x->shell, y->shell);
	assert_int_equal(x->ngroups, y->ngroups);
	for (size_t k = 0; k < x->ngroups; k++)
		assert_string_equal(x->groups[k], y->groups[k]);
	assert_int_equal(x->nsup, y->nsup);
	if (x->nsup)
		assert_memory_equal(x->sup_gids, y->sup_gids, x->nsup * sizeof(*x->sup_gids));
	assert_int_equal(x->disabled, y->disabled);
	same_policy(&x->pol, &y->pol);
	same_strv(x->verify_argv, y->verify_argv);
	assert_int_equal(x->line, y->line);
	assert_int_equal(x->ndeliver, y->ndeliver);
	for (size_t k = 0; k < x->ndeliver; k++) {
		const struct rs_delivery *d = &x->deliver[k], *f = &y->deliver[k];

		assert_int_equal(d->kind, f->kind);
		same_str(d->file, f->file);
		same_strv(d->argv, f->argv);
		assert_int_equal(d->argc, f->argc);
		same_str(d->sealed_to, f->sealed_to);
		assert_memory_equal(d->sealed_pk, f->sealed_pk, sizeof(d->sealed_pk));
		assert_string_equal(d->owner, f->owner);
		assert_string_equal(d->group, f->group);
		assert_int_equal(d->uid, f->uid);
		assert_int_equal(d->gid, f->gid);
		assert_int_equal(d->mode, f->mode);
		assert_int_equal(d->timeout, f->timeout);
		assert_string_equal(d->user, f->user);
		assert_int_equal(d->run_uid, f->run_uid);
		assert_int_equal(d->run_gid, f->run_gid);
		assert_int_equal(d->line, f->line);
	}
}

static void same_config(const struct rs_config *a, const struct rs_config *b)
{
	same_str(a->file, b->file);
	same_str(a->store_dir, b->store_dir);
	same_str(a->state_dir, b->state_dir);
	same_str(a->key_file, b->key_file);
	same_str(a->run_dir, b->run_dir);
	same_str(a->audit_log, b->audit_log);
	same_str(a->metrics_file, b->metrics_file);
	same_str(a->passwd_file, b->passwd_file);
	same_str(a->group_file, b->group_file);
	assert_int_equal(a->lock_timeout, b->lock_timeout);
	same_policy(&a->defaults, &b->defaults);
	assert_int_equal(a->ngroups, b->ngroups);
	for (size_t i = 0; i < a->ngroups; i++) {
		const struct rs_group_cfg *x = &a->groups[i], *y = &b->groups[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->gid, y->gid);
		assert_int_equal(x->line, y->line);
		assert_int_equal(x->nmembers, y->nmembers);
		for (size_t k = 0; k < x->nmembers; k++)
			assert_string_equal(x->members[k], y->members[k]);
	}
	assert_true(a->dummy_bits == b->dummy_bits);
	assert_int_equal(a->dummy_cost, b->dummy_cost);
	assert_int_equal(a->naccounts, b->naccounts);
	for (size_t i = 0; i < a->naccounts; i++)
		same_account(&a->accounts[i], &b->accounts[i]);
	for (size_t i = 0; i < a->naccounts; i++)
		assert_string_equal(a->by_name[i]->name, b->by_name[i]->name);
	assert_int_equal(a->ndiags, b->ndiags);
	assert_int_equal(a->nerrors, b->nerrors);
	for (size_t i = 0; i < a->ndiags; i++) {
		assert_int_equal(a->diags[i].warning, b->diags[i].warning);
		assert_string_equal(a->diags[i].msg, b->diags[i].msg);
	}
}

/* On a failed load, what the loader said. */
static int said(int r, const struct rs_config *c)
{
	for (size_t i = 0; r < 0 && i < c->ndiags; i++)
		print_message("# %s\n", c->diags[i].msg);
	return r;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Load through the cache, expecting `from_cache` (1) or a full load (0), and check the
 * result against a full load. */
static void load_both(struct env *e, struct rs_config *cached, int from_cache)
{
	struct rs_config full;

	assert_int_equal(rs_config_load_cached(e->conf, cached, false), from_cache);
	assert_int_equal(rs_config_load(e->conf, &full), 0);
	same_config(cached, &full);
	rs_config_free(&full);
}

static void a_successful_load_is_cached_root_only(void **state)
{
	struct env *e = *state;
	struct rs_config c;
	struct stat st;

	if (geteuid() != 0)
		skip();
	assert_int_equal(said(rs_config_load_cached(e->conf, &c, false), &c), 0);
	rs_config_free(&c);
	assert_int_equal(stat(e->cache, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
}

static void the_cached_config_is_the_full_load_field_for_field(void **state)
{
	struct env *e = *state;
	struct rs_config c;

	if (geteuid() != 0)
		skip();
	/* svc-a's short secret makes a warning, to be replayed from the cache. */
	write_conf(e, ",\n  { name = \"svc-c\"; uid = 60003; group = \"svc\"; }");
	load_both(e, &c, 0); /* full, writes the cache */
	rs_config_free(&c);
	load_both(e, &c, 1); /* from the cache */
	assert_true(c.ndiags > 0);
	assert_non_null(rs_config_account(&c, "svc-c"));
	assert_null(rs_config_account(&c, "svc-x"));
	rs_config_free(&c);
}

/* A load for one account: from the cache, that account as the full load has it and
 * nothing else, with everything the config has besides its accounts; from a stale cache,
 * the whole config. */
static void a_load_for_one_account_is_that_account_of_the_full_load(void **state)
{
	struct env *e = *state;
	static const char *const absent[] = {"svc-x", "", "a", "zzzz", "svc-", "svc-aa"};
	struct rs_config c, full, rest;

	if (geteuid() != 0)
		skip();
	/* Accounts out of name order in the file, one of them with a short secret. */
	write_conf(e, ",\n  { name = \"svc-0\"; uid = 60004; group = \"svc\"; },\n"
	              "  { name = \"svc-c\"; uid = 60003; group = \"svc\"; length = 12; }");
	assert_int_equal(said(rs_config_load_cached(e->conf, &c, false), &c), 0);
	rs_config_free(&c);
	assert_int_equal(rs_config_load(e->conf, &full), 0);
	assert_true(full.dummy_bits < 128.0);
	for (size_t i = 0; i < full.naccounts; i++) {
		const struct rs_account_cfg *want = &full.accounts[i];

		assert_int_equal(rs_config_load_one(e->conf, want->name, &c), 1);
		assert_true(c.one_account);
		assert_int_equal(c.naccounts, 1);
		same_account(&c.accounts[0], want);
		assert_ptr_equal(rs_config_account(&c, want->name), &c.accounts[0]);
		assert_null(rs_config_account(&c, full.accounts[(i + 1) % full.naccounts].name));
		/* The rest of the config as the full load has it. */
		rest = c;
		rest.naccounts = full.naccounts;
		rest.accounts = full.accounts;
		rest.by_name = full.by_name;
		same_config(&rest, &full);
		rs_config_free(&c);
	}
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		assert_int_equal(rs_config_load_one(e->conf, absent[i], &c), 1);
		assert_true(c.one_account);
		assert_int_equal(c.naccounts, 0);
		assert_null(rs_config_account(&c, absent[i]));
		assert_null(rs_config_account(&c, "svc-a"));
		rs_config_free(&c);
	}
	rs_config_free(&full);
	/* Changed: a full load, of every account. */
	write_conf(e, NULL);
	assert_int_equal(rs_config_load_one(e->conf, "svc-a", &c), 0);
	assert_false(c.one_account);
	assert_int_equal(c.naccounts, 2);
	rs_config_free(&c);
	assert_int_equal(rs_config_load_one(e->conf, "svc-b", &c), 1);
	assert_int_equal(c.naccounts, 1);
	assert_string_equal(c.accounts[0].name, "svc-b");
	/* svc-b's own secret is long; the dummy hash is still made for svc-a's short one. */
	assert_true(c.accounts[0].pol.entropy_bits >= 128.0);
	assert_true(c.dummy_bits < 128.0);
	assert_int_equal(c.dummy_cost, RS_COST_MODERATE);
	rs_config_free(&c);
}

static void a_changed_config_is_loaded_in_full_and_refused_when_bad(void **state)
{
	struct env *e = *state;
	struct rs_config c;

	if (geteuid() != 0)
		skip();
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 0);
	rs_config_free(&c);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 1);
	rs_config_free(&c);
	write_conf(e, ",\n  { name = \"svc-c\"; uid = 60001; group = \"svc\"; }"); /* uid taken */
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), -EINVAL);
	assert_true(c.nerrors > 0);
	rs_config_free(&c);
	/* Back as it was: the cache of that text was never replaced. And a config made
	 * group-writable, whatever the cache says. */
	write_conf(e, NULL);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 1);
	rs_config_free(&c);
	assert_int_equal(chmod(e->conf, 0664), 0);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), -EINVAL);
	rs_config_free(&c);
}

/* Whether the cache records the config as settled: the first word of its body, after the
 * key's length, the key and the body's hash (config_cache.c). */
static uint32_t cache_says_settled(struct env *e)
{
	static char data[1 << 16];
	FILE *f = fopen(e->cache, "re");
	uint32_t klen, settled;
	size_t len;

	assert_non_null(f);
	len = fread(data, 1, sizeof(data), f);
	assert_int_equal(fclose(f), 0);
	assert_true(len >= 4);
	memcpy(&klen, data, 4);
	assert_true(len >= 4 + (size_t)klen + 32 + 4);
	memcpy(&settled, data + 4 + klen + 32, 4);
	return settled;
}

/* Overwrite the byte at `at` of `path` with `c`, keeping the file's modification time: its
 * change time alone says that it changed. */
static void poke_keeping_mtime(const char *path, long at, int c)
{
	struct stat st;
	struct timespec times[2];
	FILE *f;

	assert_int_equal(stat(path, &st), 0);
	f = fopen(path, "r+e");
	assert_non_null(f);
	assert_int_equal(fseek(f, at, SEEK_SET), 0);
	assert_int_equal(fputc(c, f), c);
	assert_int_equal(fclose(f), 0);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* A config that had settled when it was compiled is known by its identity, without its
 * bytes hashed again: any change to it, even one that keeps its size and modification
 * time, is seen all the same (its change time moves), and one that changes nothing is
 * still a hit, through the bytes. */
static void a_settled_config_is_known_by_its_identity_and_any_change_seen(void **state)
{
	struct env *e = *state;
	struct rs_config c;
	const char *svc = NULL;
	char text[8192];
	size_t n;
	FILE *f;

	if (geteuid() != 0)
		skip();
	assert_int_equal(rs_config_load_cached(e->conf, &c, true), 0);
	rs_config_free(&c);
	assert_int_equal(cache_says_settled(e), 0); /* just written */
	(void)sleep(RS_CONFIG_SETTLED + 1);
	assert_int_equal(rs_config_load_cached(e->conf, &c, true), 0);
	rs_config_free(&c);
	assert_int_equal(cache_says_settled(e), 1);
	load_both(e, &c, 1);
	rs_config_free(&c);
	/* "A service" becomes "B service": same size, same mtime. */
	f = fopen(e->conf, "re");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	assert_int_equal(fclose(f), 0);
	text[n] = '\0';
	svc = strstr(text, "A service");
	assert_non_null(svc);
	poke_keeping_mtime(e->conf, svc - text, 'B');
	load_both(e, &c, 0);
	assert_string_equal(rs_config_account(&c, "svc-a")->gecos, "B service");
	rs_config_free(&c);
	assert_int_equal(cache_says_settled(e), 0); /* compiled from a file just changed */
	assert_int_equal(rs_config_load_one(e->conf, "svc-a", &c), 1);
	assert_string_equal(c.accounts[0].gecos, "B service");
	rs_config_free(&c);
	/* Touched, bytes unchanged: a hit. */
	poke_keeping_mtime(e->conf, svc - text, 'B');
	load_both(e, &c, 1);
	rs_config_free(&c);
}

static void a_changed_input_file_means_a_full_load(void **state)
{
	struct env *e = *state;
	struct rs_config c;

	if (geteuid() != 0)
		skip();
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 0);
	rs_config_free(&c);
	/* svc-a's uid now belongs to a local user: a collision a full load refuses. */
	write_file(in_dir(e, "passwd"),
	           "root:x:0:0::/root:/bin/sh\nalice:x:60001:1000::/:/bin/sh\n", 0644);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), -EINVAL);
	rs_config_free(&c);
	write_file(in_dir(e, "passwd"), "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n",
	           0644);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 1);
	rs_config_free(&c);
	/* The group file: group svc's gid taken. */
	write_file(in_dir(e, "group"), "root:x:0:\nalice:x:1000:\nother:x:60000:\n", 0644);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), -EINVAL);
	rs_config_free(&c);
	write_file(in_dir(e, "group"), "root:x:0:\nalice:x:1000:\n", 0644);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 1);
	rs_config_free(&c);
	/* A sealed_to key replaced: the new key, not the cached one. */
	write_pub(e, "c.pub");
	load_both(e, &c, 0);
	rs_config_free(&c);
	load_both(e, &c, 1);
	rs_config_free(&c);
	/* ... or made writable by others: refused. */
	assert_int_equal(chmod(in_dir(e, "c.pub"), 0666), 0);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), -EINVAL);
	rs_config_free(&c);
}

static void a_damaged_or_unsafe_cache_is_never_used(void **state)
{
	struct env *e = *state;
	struct rs_config c;
	struct stat st;
	FILE *f;
	long size;

	if (geteuid() != 0)
		skip();
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 0);
	rs_config_free(&c);
	assert_int_equal(stat(e->cache, &st), 0);
	size = (long)st.st_size;
	/* Every truncation, and a flipped byte at many places: always a full load, never a
	 * crash or a config that differs from the file's. */
	for (long cut = 0; cut < size; cut += size / 37 + 1) {
		assert_int_equal(truncate(e->cache, cut), 0);
		assert_int_equal(rs_config_load_one(e->conf, "svc-b", &c), 0);
		assert_int_equal(c.naccounts, 2);
		rs_config_free(&c);
		assert_int_equal(truncate(e->cache, cut), 0);
		load_both(e, &c, 0);
		rs_config_free(&c);
	}
	for (long at = 0; at < size; at += size / 53 + 1) {
		int b;

		/* A fresh cache each time (the previous load rewrote it). */
		load_both(e, &c, 1);
		rs_config_free(&c);
		f = fopen(e->cache, "r+e");
		assert_non_null(f);
		assert_int_equal(fseek(f, at, SEEK_SET), 0);
		b = fgetc(f);
		assert_int_equal(fseek(f, at, SEEK_SET), 0);
		assert_int_equal(fputc(b ^ 0x5a, f), b ^ 0x5a);
		assert_int_equal(fclose(f), 0);
		/* A load for one account reads a part of it: a full load all the same. */
		assert_int_equal(rs_config_load_one(e->conf, "svc-a", &c), 0);
		assert_int_equal(c.naccounts, 2);
		rs_config_free(&c);
	}
	/* Unsafe (writable by the group, not root's, readable by others): a full load,
	 * which puts a cache of its own in its place. */
	load_both(e, &c, 1);
	rs_config_free(&c);
	assert_int_equal(chmod(e->cache, 0620), 0);
	load_both(e, &c, 0);
	rs_config_free(&c);
	load_both(e, &c, 1);
	rs_config_free(&c);
	assert_int_equal(chown(e->cache, 12345, 0), 0);
	load_both(e, &c, 0);
	rs_config_free(&c);
	assert_int_equal(chmod(e->cache, 0644), 0);
	load_both(e, &c, 0);
	rs_config_free(&c);
	load_both(e, &c, 1);
	rs_config_free(&c);
}

static void include_and_relative_paths_are_never_cached(void **state)
{
	struct env *e = *state;
	struct rs_config c;
	char text[512], cwd[PATH_MAX];

	if (geteuid() != 0)
		skip();
	(void)snprintf(text, sizeof(text),
	               "@include \"more.conf\"\npasswd_file = \"%1$s/passwd\";\n"
	               "group_file = \"%1$s/group\";\n",
	               e->dir);
	write_file(in_dir(e, "more.conf"), "accounts = ();\n", 0644);
	write_file(e->conf, text, 0644);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 0);
	rs_config_free(&c);
	assert_false(exists(e->cache));
	/* A relative config path depends on the working directory. */
	write_conf(e, NULL);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(e->dir), 0);
	assert_int_equal(rs_config_load_cached("rotsec.conf", &c, false), 0);
	rs_config_free(&c);
	assert_int_equal(chdir(cwd), 0);
	assert_false(exists(e->cache));
}

static void a_full_load_is_asked_for_by_check_and_sync(void **state)
{
	struct env *e = *state;
	struct rs_config c;
	struct stat a, b;

	if (geteuid() != 0)
		skip();
	assert_int_equal(rs_config_load_cached(e->conf, &c, true), 0);
	rs_config_free(&c);
	assert_int_equal(stat(e->cache, &a), 0);
	assert_int_equal(rs_config_load_cached(e->conf, &c, false), 1);
	rs_config_free(&c);
	/* Same result: the cache is left as it is, not rewritten at every check. */
	assert_int_equal(rs_config_load_cached(e->conf, &c, true), 0);
	rs_config_free(&c);
	assert_int_equal(stat(e->cache, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(a_successful_load_is_cached_root_only, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(the_cached_config_is_the_full_load_field_for_field,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_load_for_one_account_is_that_account_of_the_full_load, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_changed_config_is_loaded_in_full_and_refused_when_bad, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_settled_config_is_known_by_its_identity_and_any_change_seen, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(a_changed_input_file_means_a_full_load, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(a_damaged_or_unsafe_cache_is_never_used, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(include_and_relative_paths_are_never_cached, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(a_full_load_is_asked_for_by_check_and_sync, setup,
	                                        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
