/*
 * Store record formats: the strict parsers every reader runs on values taken from a
 * mapped file, and the secret record encoder the writer uses. A value that does not
 * parse exactly is malformed, so these tests are mostly about what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "store_write.h"

#define HASH_A "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
static const char HASH_B[] = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
                             "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
/* BLAKE2b like HASH_A, with another salt (a store written before salts were kept) */
#define HASH_C "$rotsec-b2b$v=1$b3RoZXJvdGhlcm90aGVycw$b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyb3Q"
/* BLAKE2b with HASH_A's salt */
#define HASH_D "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdA$dHJpcHdpcmV0cmlwd2lyZXRyaXB3aXJldHJpcHdpcmU"

/* Build a NUL-separated value from a list of fields. */
static size_t value(char *buf, size_t cap, const char *const *f, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(f[i]) + 1;

		assert_true(len + l <= cap);
		memcpy(buf + len, f[i], l);
		len += l;
	}
	return len;
}

#define VALUE(buf, ...)                                                                            \
	value(buf, sizeof(buf), (const char *const[]){__VA_ARGS__},                                \
	      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void fields_are_split_at_each_nul(void **state)
{
	const char *f[4];
	char v[] = "ab\0\0cd"; /* "ab", "", "cd" plus the implicit final NUL */

	(void)state;
	assert_int_equal(rs_fields(v, sizeof(v), f, 4), 3);
	assert_string_equal(f[0], "ab");
	assert_string_equal(f[1], "");
	assert_string_equal(f[2], "cd");
}

static void a_value_without_final_nul_or_with_too_many_fields_is_malformed(void **state)
{
	const char *f[2];

	(void)state;
	assert_int_equal(rs_fields("abc", 3, f, 2), -EPROTO);
	assert_int_equal(rs_fields("", 0, f, 2), -EPROTO);
	assert_int_equal(rs_fields("a\0b\0c", 6, f, 2), -EPROTO);
	assert_int_equal(rs_fields("a\0b", 4, f, 2), 2);
}

static void unsigned_numbers_are_parsed_strictly(void **state)
{
	static const char *bad[] = {"", "00", "01", "-1", "+1", " 1", "1 ", "1a", "0x1", "1.0"};
	uint64_t v = 0;

	(void)state;
	assert_int_equal(rs_parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rs_parse_u64("10", 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(rs_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(rs_parse_u64("18446744073709551616", UINT64_MAX, &v), -EPROTO);
	assert_int_equal(rs_parse_u64("99999999999999999999999", UINT64_MAX, &v), -EPROTO);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rs_parse_u64(bad[i], UINT64_MAX, &v) != -EPROTO)
			fail_msg("\"%s\" was accepted", bad[i]);
}

static void numbers_above_the_maximum_are_refused_even_single_digits(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(rs_parse_u64("11", 10, &v), -EPROTO);
	assert_int_equal(rs_parse_u64("100", 99, &v), -EPROTO);
	assert_int_equal(rs_parse_u64("17", RS_TRIPWIRE_MAX, &v), -EPROTO);
	/* A single digit larger than the maximum: flags are at most RS_SECRET_DISABLED. */
	v = 42;
	assert_int_equal(rs_parse_u64("2", 1, &v), -EPROTO);
	assert_int_equal(rs_parse_u64("9", 1, &v), -EPROTO);
	assert_int_equal(rs_parse_u64("1", 0, &v), -EPROTO);
	assert_int_equal(v, 42);
	assert_int_equal(rs_parse_u64("1", 1, &v), 0);
	assert_int_equal(v, 1);
}

static void store_headers_are_parsed_and_checked(void **state)
{
	struct rs_meta m;
	char v[1024];
	size_t n;

	(void)state;
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "1", "42", "3", "2");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), 0);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.generation, 42);
	assert_int_equal(m.count[0], 3);
	assert_int_equal(m.count[1], 2);

	/* Versions 1 and 2: one dummy hash, which logins checked twice. */
	n = VALUE(v, RS_SECRETS_MAGIC, "1", "7", "5", HASH_A);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), 0);
	assert_int_equal(m.generation, 7);
	assert_int_equal(m.count[0], 5);
	assert_int_equal(m.costs.n, 2);
	assert_string_equal(m.costs.dummy[0], HASH_A);
	assert_string_equal(m.costs.dummy[1], HASH_A);
	n = VALUE(v, RS_SECRETS_MAGIC, "2", "7", "5", HASH_B);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), 0);
	assert_int_equal(m.costs.n, 2);
	n = VALUE(v, RS_SECRETS_MAGIC, "2", "7", "5", HASH_A, HASH_B);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), -EPROTO);
	/* Version 3: the cost profile, one to RS_COSTS_MAX entries. */
	n = VALUE(v, RS_SECRETS_MAGIC, "3", "8", "5", HASH_A, HASH_B);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), 0);
	assert_int_equal(m.version, 3);
	assert_int_equal(m.costs.n, 2);
	assert_string_equal(m.costs.dummy[0], HASH_A);
	assert_string_equal(m.costs.dummy[1], HASH_B);
	n = VALUE(v, RS_SECRETS_MAGIC, "3", "8", "5", HASH_A);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), 0);
	assert_int_equal(m.costs.n, 1);
	n = VALUE(v, RS_SECRETS_MAGIC, "3", "8", "5", HASH_A, HASH_A, HASH_A, HASH_A, HASH_A,
	          HASH_A, HASH_A, HASH_A);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), 0);
	assert_int_equal(m.costs.n, RS_COSTS_MAX);
	{
		char big[2048];

		n = VALUE(big, RS_SECRETS_MAGIC, "3", "8", "5", HASH_A, HASH_A, HASH_A, HASH_A,
		          HASH_A, HASH_A, HASH_A, HASH_A, HASH_A);
		assert_int_equal(rs_parse_meta(big, n, RS_SECRETS_MAGIC, &m), -EPROTO);
	}
	n = VALUE(v, RS_SECRETS_MAGIC, "3", "8", "5", HASH_A, "$md5$nope");
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_SECRETS_MAGIC, "4", "8", "5", HASH_A);
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), -EPROTO);

	/* Wrong magic, the other file's magic, wrong version, field count, bad dummy. */
	n = VALUE(v, "rotsec-other", "1", "1", "0", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "1", "1", "0", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "2", "1", "0", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "0", "1", "0", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "1", "1", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "1", "1", "0", "0", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_ACCOUNTS_MAGIC, "1", "1", "4294967296", "0");
	assert_int_equal(rs_parse_meta(v, n, RS_ACCOUNTS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_SECRETS_MAGIC, "1", "7", "5", "$md5$nope");
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), -EPROTO);
	n = VALUE(v, RS_SECRETS_MAGIC, "1", "7", "5", "");
	assert_int_equal(rs_parse_meta(v, n, RS_SECRETS_MAGIC, &m), -EPROTO);
}

static void passwd_records_are_parsed_into_views(void **state)
{
	struct rs_pw_view pw;
	char v[512];
	size_t n;

	(void)state;
	n = VALUE(v, "svc-backup", "60001", "60000", "Backup agent", "/var/lib/svc-backup",
	          "/usr/sbin/nologin");
	assert_int_equal(rs_parse_passwd(v, n, &pw), 0);
	assert_string_equal(pw.name, "svc-backup");
	assert_int_equal(pw.uid, 60001);
	assert_int_equal(pw.gid, 60000);
	assert_string_equal(pw.gecos, "Backup agent");
	assert_string_equal(pw.home, "/var/lib/svc-backup");
	assert_string_equal(pw.shell, "/usr/sbin/nologin");
	assert_int_equal(pw.strbytes, strlen("svc-backup") + strlen("Backup agent") +
	                                      strlen("/var/lib/svc-backup") +
	                                      strlen("/usr/sbin/nologin") + 4);
	/* Pointers into the value itself: nothing is copied. */
	assert_ptr_equal(pw.name, v);

	n = VALUE(v, "a", "4294967294", "0", "", "", "");
	assert_int_equal(rs_parse_passwd(v, n, &pw), 0);
	assert_int_equal(pw.uid, 4294967294u);
}

static void malformed_passwd_records_are_refused(void **state)
{
	struct rs_pw_view pw;
	char v[512];
	size_t n;

	(void)state;
	/* (uid_t)-1 means "no change" to chown(2): never an account's id. */
	n = VALUE(v, "a", "4294967295", "1", "", "/", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "1", "4294967295", "", "/", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "Bad", "1", "1", "", "/", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "1", "1", "x:y", "/", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "1", "1", "", "/home\n/x", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "1", "1", "", "/", "/bin/sh", "extra");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "1", "1", "", "/");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "01", "1", "", "/", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n, &pw), -EPROTO);
	n = VALUE(v, "a", "1", "1", "", "/", "/bin/sh");
	assert_int_equal(rs_parse_passwd(v, n - 1, &pw), -EPROTO);
}

static void group_records_list_their_members(void **state)
{
	struct rs_gr_view gr;
	char v[512];
	const char *p;
	size_t n;

	(void)state;
	n = VALUE(v, "svc", "60000", "svc-backup", "svc-web", "_apt");
	assert_int_equal(rs_parse_group(v, n, &gr), 0);
	assert_string_equal(gr.name, "svc");
	assert_int_equal(gr.gid, 60000);
	assert_int_equal(gr.nmembers, 3);
	p = gr.members;
	assert_string_equal(p, "svc-backup");
	p += strlen(p) + 1;
	assert_string_equal(p, "svc-web");
	p += strlen(p) + 1;
	assert_string_equal(p, "_apt");
	assert_int_equal(gr.strbytes, 4 + 11 + 8 + 5);

	n = VALUE(v, "empty", "5");
	assert_int_equal(rs_parse_group(v, n, &gr), 0);
	assert_int_equal(gr.nmembers, 0);
	assert_int_equal(gr.strbytes, 6);
}

static void malformed_group_records_are_refused(void **state)
{
	struct rs_gr_view gr;
	char v[512];
	size_t n;

	(void)state;
	n = VALUE(v, "svc");
	assert_int_equal(rs_parse_group(v, n, &gr), -EPROTO);
	n = VALUE(v, "svc", "x");
	assert_int_equal(rs_parse_group(v, n, &gr), -EPROTO);
	n = VALUE(v, "svc", "1", "ok", "Not:ok");
	assert_int_equal(rs_parse_group(v, n, &gr), -EPROTO);
	n = VALUE(v, "svc", "1", "");
	assert_int_equal(rs_parse_group(v, n, &gr), -EPROTO);
	n = VALUE(v, "1svc", "1");
	assert_int_equal(rs_parse_group(v, n, &gr), -EPROTO);
	assert_int_equal(rs_parse_group("svc\0"
	                                "1",
	                                5, &gr),
	                 -EPROTO);
	assert_int_equal(rs_parse_group("", 0, &gr), -EPROTO);
}

static void supplementary_gid_lists_are_counted_beyond_the_buffer(void **state)
{
	uint32_t g[2] = {0, 0};
	size_t n = 99;
	char v[128];
	size_t len;

	(void)state;
	assert_int_equal(rs_parse_gids("", 0, g, 2, &n), 0);
	assert_int_equal(n, 0);
	len = VALUE(v, "10", "20", "30");
	assert_int_equal(rs_parse_gids(v, len, g, 2, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(g[0], 10);
	assert_int_equal(g[1], 20);
	len = VALUE(v, "10", "x");
	assert_int_equal(rs_parse_gids(v, len, g, 2, &n), -EPROTO);
	len = VALUE(v, "10", "4294967295");
	assert_int_equal(rs_parse_gids(v, len, g, 2, &n), -EPROTO);
	assert_int_equal(rs_parse_gids("10", 2, g, 2, &n), -EPROTO);
}

static void sample_secret(struct rs_secret_rec *r)
{
	memset(r, 0, sizeof(*r));
	(void)snprintf(r->name, sizeof(r->name), "svc-backup");
	r->uid = 60001;
	r->generation = 3;
	r->flags = 0;
	(void)snprintf(r->current, sizeof(r->current), "%s", HASH_A);
	r->current_since = 1700000000;
	(void)snprintf(r->previous, sizeof(r->previous), "%s", HASH_B);
	r->previous_deadline = 1700003600;
	r->previous_limit = 1700086400;
	r->nrevoked = 2;
	(void)snprintf(r->revoked[0], sizeof(r->revoked[0]), "%s", HASH_C);
	(void)snprintf(r->revoked[1], sizeof(r->revoked[1]), "%s", HASH_A);
}

static void secret_records_survive_an_encode_parse_round_trip(void **state)
{
	struct rs_secret_rec in, out;
	char buf[8192];
	int n;

	(void)state;
	sample_secret(&in);
	n = rs_encode_secret(&in, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(rs_parse_secret(buf, (size_t)n, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));

	/* No previous secret, disabled, every tripwire slot used. */
	memset(in.previous, 0, sizeof(in.previous));
	in.previous_deadline = in.previous_limit = 0;
	in.flags = RS_SECRET_DISABLED;
	in.nrevoked = RS_TRIPWIRE_MAX;
	memset(in.revoked, 0, sizeof(in.revoked));
	for (size_t i = 0; i < RS_TRIPWIRE_MAX; i++)
		(void)snprintf(in.revoked[i], sizeof(in.revoked[i]), "%s", i % 2 ? HASH_B : HASH_C);
	n = rs_encode_secret(&in, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(rs_parse_secret(buf, (size_t)n, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void encoding_a_secret_into_a_short_buffer_fails_with_enospc(void **state)
{
	struct rs_secret_rec in;
	char buf[64];

	(void)state;
	sample_secret(&in);
	assert_int_equal(rs_encode_secret(&in, buf, sizeof(buf)), -ENOSPC);
}

/* Encode the sample, then replace field `idx` by `with` and parse. */
static int parse_with_field(size_t idx, const char *with)
{
	struct rs_secret_rec in, out;
	char enc[8192], v[8192];
	const char *f[40];
	size_t len = 0;
	int n, nf;

	sample_secret(&in);
	n = rs_encode_secret(&in, enc, sizeof(enc));
	assert_true(n > 0);
	nf = rs_fields(enc, (size_t)n, f, 40);
	assert_true(nf > 0 && idx < (size_t)nf);
	for (int i = 0; i < nf; i++) {
		const char *s = (size_t)i == idx ? with : f[i];
		size_t l = strlen(s) + 1;

		memcpy(v + len, s, l);
		len += l;
	}
	return rs_parse_secret(v, len, &out);
}

static void malformed_secret_records_are_refused(void **state)
{
	struct rs_secret_rec in, out;
	char enc[8192];
	int n;

	(void)state;
	assert_int_equal(parse_with_field(0, "Not-a-name"), -EPROTO);
	assert_int_equal(parse_with_field(1, "4294967295"), -EPROTO);
	assert_int_equal(parse_with_field(2, "-1"), -EPROTO);
	assert_int_equal(parse_with_field(3, "2"), -EPROTO); /* unknown flag */
	assert_int_equal(parse_with_field(3, "3"), -EPROTO);
	assert_int_equal(parse_with_field(4, ""), -EPROTO); /* a current hash is required */
	assert_int_equal(parse_with_field(4, "$1$salt$md5crypt"), -EPROTO);
	assert_int_equal(parse_with_field(5, "253402300800"), -EPROTO); /* after year 9999 */
	assert_int_equal(parse_with_field(6, "plaintext"), -EPROTO);
	assert_int_equal(parse_with_field(7, "1e9"), -EPROTO);
	assert_int_equal(parse_with_field(8, ""), -EPROTO);
	assert_int_equal(parse_with_field(9, "3"), -EPROTO); /* count does not match */
	assert_int_equal(parse_with_field(9, "1"), -EPROTO);
	assert_int_equal(parse_with_field(10, "$rotsec-b2b$ bad"), -EPROTO);
	assert_int_equal(parse_with_field(5, "253402300799"), 0);

	/* Truncated anywhere: never accepted. */
	sample_secret(&in);
	n = rs_encode_secret(&in, enc, sizeof(enc));
	assert_true(n > 0);
	for (int cut = 0; cut < n; cut++)
		if (rs_parse_secret(enc, (size_t)cut, &out) == 0)
			fail_msg("record cut at %d of %d bytes was accepted", cut, n);
}

static void records_readers_would_refuse_are_not_encoded(void **state)
{
	struct rs_secret_rec in;
	char enc[8192];

	(void)state;
	sample_secret(&in);
	in.nrevoked = RS_TRIPWIRE_MAX + 1;
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	in.previous_deadline = -1;
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	in.current_since = INT64_MIN;
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	in.flags = 2;
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	in.uid = UINT32_MAX;
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	(void)snprintf(in.name, sizeof(in.name), "Bad name");
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	memset(in.name, 'a', sizeof(in.name)); /* not terminated */
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	in.current[0] = '\0';
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	(void)snprintf(in.previous, sizeof(in.previous), "plaintext");
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
	sample_secret(&in);
	(void)snprintf(in.revoked[1], sizeof(in.revoked[1]), "$rotsec-b2b$:");
	assert_int_equal(rs_encode_secret(&in, enc, sizeof(enc)), -EINVAL);
}

static void text_fields_refuse_colons_controls_and_overlong_values(void **state)
{
	char big[RS_FIELD_MAX + 2];

	(void)state;
	assert_true(rs_field_ok(""));
	assert_true(rs_field_ok("Backup agent, room 4"));
	assert_true(rs_field_ok("J\xc3\xbcrgen")); /* UTF-8 */
	assert_false(rs_field_ok("a:b"));
	assert_false(rs_field_ok("a\nb"));
	assert_false(rs_field_ok("a\tb"));
	assert_false(rs_field_ok("a\x7f"));
	assert_false(rs_field_ok("\x1b[31m"));
	memset(big, 'x', sizeof(big));
	big[RS_FIELD_MAX - 1] = '\0';
	assert_true(rs_field_ok(big));
	big[RS_FIELD_MAX - 1] = 'x';
	big[RS_FIELD_MAX] = '\0';
	assert_false(rs_field_ok(big));
}

static void hash_strings_must_be_rotsec_or_argon2id_within_costs_and_exact(void **state)
{
	static const char *const bad[] = {
	        "",
	        "$argon2i$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	        "$6$salt$sha512crypt",
	        "$rotsec-b2b$v=1$a b$c",
	        "$rotsec-b2b$v=1$a:b$c",
	        "$rotsec-b2b$v=1$a\nb$c",
	        /* salt or tag of another length */
	        "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2Fs$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	        "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2",
	        "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdA$"
	        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2gA",
	        /* not canonical: bits beyond the data set in the last character */
	        "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdB$"
	        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	        "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2FsdA$"
	        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2h",
	        /* the other alphabet */
	        "$rotsec-b2b$v=1$c2FsdHNhbHRzYWx0c2Fsd/"
	        "$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	        "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2Fsd_$"
	        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	};
	static const char *const costs[] = {
	        "m=262145,t=3", "m=4194304,t=2",
	        "m=65536,t=4",  "m=065536,t=2",
	        "m=0,t=2",      "m=7,t=1",
	        "m=65536,t=0",  "m=,t=2",
	        "t=2,m=65536",  "m=99999999999999999999999,t=2",
	};
	char h[256];
	struct rs_hash_view v;

	(void)state;
	assert_true(rs_hash_string_ok(HASH_A));
	assert_true(rs_hash_string_ok(HASH_B));
	assert_true(rs_hash_string_ok(HASH_C));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rs_hash_string_ok(bad[i]))
			fail_msg("accepted: %s", bad[i]);

	/* Argon2id: the costs rotsec writes, at most the moderate ones, with one lane. */
	assert_true(rs_hash_string_ok("$argon2id$v=19$m=262144,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	                              "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	assert_true(rs_hash_string_ok("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	                              "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
		(void)snprintf(h, sizeof(h),
		               "$argon2id$v=19$%s,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		               "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		               costs[i]);
		if (rs_hash_string_ok(h))
			fail_msg("accepted: %s", h);
	}
	assert_false(rs_hash_string_ok("$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0c2FsdA$"
	                               "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));
	assert_false(rs_hash_string_ok("$argon2id$v=18$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	                               "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"));

	/* The parts, pointing into the string. */
	assert_int_equal(rs_hash_view(HASH_B, &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_ARGON2ID);
	assert_int_equal(v.cls.mem_kib, 65536);
	assert_int_equal(v.cls.passes, 2);
	assert_memory_equal(v.salt, "c2FsdHNhbHRzYWx0c2FsdA", RS_HASH_SALT_B64);
	assert_string_equal(v.tag, "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g");
	assert_int_equal(rs_hash_view(HASH_A, &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_B2B);
	assert_int_equal(v.cls.mem_kib, 0);
}

/* ---- salt groups and the cost profile (hashes.h) ------------------------------------- */

static void hashes_of_one_salt_and_class_make_one_group(void **state)
{
	const char *h[] = {HASH_A, HASH_D, HASH_D, HASH_A};
	struct rs_hash_view g[RS_HASHES_MAX];
	bool primary[RS_HASHES_MAX];
	int group[RS_HASHES_MAX];

	(void)state;
	assert_int_equal(rs_hash_groups(h, 4, g, primary, group), 1);
	assert_true(primary[0]);
	for (int i = 0; i < 4; i++)
		assert_int_equal(group[i], 0);
	/* No previous hash: -1 for it, the tripwires still in the current's group. */
	h[1] = "";
	assert_int_equal(rs_hash_groups(h, 4, g, primary, group), 1);
	assert_int_equal(group[1], -1);
	assert_int_equal(group[2], 0);
	h[1] = NULL;
	assert_int_equal(rs_hash_groups(h, 4, g, primary, group), 1);
}

static void
a_class_gets_a_group_per_salt_of_current_and_previous_but_tripwires_add_none(void **state)
{
	/* current A (BLAKE2b), previous C (BLAKE2b, another salt), tripwires C, B (Argon2id,
	 * a class of its own), D (A's salt), and one of a third BLAKE2b salt. */
	static const char third[] = "$rotsec-b2b$v=1$dGhpcmR0aGlyZHRoaXJkdA$"
	                            "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
	const char *h[] = {HASH_A, HASH_C, HASH_C, HASH_B, HASH_D, third};
	struct rs_hash_view g[RS_HASHES_MAX];
	bool primary[RS_HASHES_MAX];
	int group[RS_HASHES_MAX];

	(void)state;
	assert_int_equal(rs_hash_groups(h, 6, g, primary, group), 3);
	assert_int_equal(group[0], 0);
	assert_int_equal(group[1], 1);
	assert_int_equal(group[2], 1);
	assert_int_equal(group[3], 2); /* a class no current or previous hash has */
	assert_false(primary[2]);
	assert_int_equal(group[4], 0);
	assert_int_equal(group[5], -1); /* a third salt: covered by no computation */
	h[3] = "$md5$";
	assert_int_equal(rs_hash_groups(h, 6, g, primary, group), -EPROTO);
}

static void the_profile_counts_the_most_groups_of_each_class_in_one_record(void **state)
{
	const char *fresh[] = {HASH_A, HASH_D, HASH_D};
	const char *legacy[] = {HASH_A, HASH_C, HASH_D};
	const char *argon[] = {HASH_B, ""};
	struct rs_costs_tally t = {0};
	struct rs_costs c;
	struct rs_hash_view v;

	(void)state;
	rs_costs_from_tally(&t, &c);
	assert_int_equal(c.n, 1); /* an empty store: BLAKE2b once */
	assert_int_equal(rs_hash_view(c.dummy[0], &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_B2B);

	assert_int_equal(rs_costs_tally_add(&t, argon, 2), 0);
	assert_int_equal(rs_costs_tally_add(&t, fresh, 3), 0);
	rs_costs_from_tally(&t, &c);
	assert_int_equal(c.n, 2);
	/* Sorted by class whatever the order of records: BLAKE2b first. */
	assert_int_equal(rs_hash_view(c.dummy[0], &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_B2B);
	assert_int_equal(rs_hash_view(c.dummy[1], &v), 0);
	assert_int_equal(v.cls.kind, RS_HASH_ARGON2ID);
	assert_int_equal(v.cls.mem_kib, 65536);
	assert_int_equal(v.cls.passes, 2);

	/* A current and a previous hash of two salts: the class twice, for everyone. */
	assert_int_equal(rs_costs_tally_add(&t, legacy, 3), 0);
	rs_costs_from_tally(&t, &c);
	assert_int_equal(c.n, 3);
	for (size_t i = 0; i < c.n; i++)
		assert_true(rs_hash_string_ok(c.dummy[i]));
}

static void a_profile_beyond_its_maximum_is_refused(void **state)
{
	struct rs_costs_tally t = {0};
	char h[RS_COSTS_MAX + 1][RS_HASH_MAX];
	const char *rec[2];
	int r = 0;

	(void)state;
	/* Argon2id at five costs, each twice (two salts): ten computations. */
	for (unsigned i = 0; i < 5 && r == 0; i++) {
		(void)snprintf(h[0], RS_HASH_MAX,
		               "$argon2id$v=19$m=%u,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		               "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		               8 + i);
		(void)snprintf(h[1], RS_HASH_MAX,
		               "$argon2id$v=19$m=%u,t=1,p=1$b3RoZXJvdGhlcm90aGVycw$"
		               "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		               8 + i);
		rec[0] = h[0];
		rec[1] = h[1];
		r = rs_costs_tally_add(&t, rec, 2);
	}
	assert_int_equal(r, -E2BIG);
}

static void the_writer_drops_only_the_tripwires_no_computation_covers(void **state)
{
	struct rs_secret_rec r;
	struct rs_costs_tally t = {0};
	char buf[4096];
	bool foreign;
	int n;

	(void)state;
	sample_secret(&r); /* current A, previous B, tripwires C (foreign) and A */
	n = rs_encode_secret(&r, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(rs_check_secret_costs(buf, (size_t)n, &t, &foreign), 0);
	assert_true(foreign);
	assert_int_equal(rs_secret_drop_foreign(&r), 1);
	assert_int_equal(r.nrevoked, 1);
	assert_string_equal(r.revoked[0], HASH_A);
	n = rs_encode_secret(&r, buf, sizeof(buf));
	assert_int_equal(rs_check_secret_costs(buf, (size_t)n, &t, &foreign), 0);
	assert_false(foreign);
	assert_int_equal(rs_secret_drop_foreign(&r), 0);
	/* Order kept: newest first. */
	sample_secret(&r);
	(void)snprintf(r.revoked[0], RS_HASH_MAX, "%s", HASH_D);
	(void)snprintf(r.revoked[1], RS_HASH_MAX, "%s", HASH_C);
	(void)snprintf(r.revoked[2], RS_HASH_MAX, "%s", HASH_A);
	r.nrevoked = 3;
	assert_int_equal(rs_secret_drop_foreign(&r), 1);
	assert_int_equal(r.nrevoked, 2);
	assert_string_equal(r.revoked[0], HASH_D);
	assert_string_equal(r.revoked[1], HASH_A);
}

/* ---- the fast passwd parser against the rules it implements -------------------------- */

/* rs_field_ok as the rules say it: every byte >= 0x20, not ':' nor DEL, at most
 * RS_FIELD_MAX - 1 of them. */
static bool ref_field_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= RS_FIELD_MAX - 1 || c == ':' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* rs_parse_passwd as the rules say it: six fields, a valid name, two ids, three text
 * fields. */
static int ref_parse_passwd(const char *val, size_t len, struct rs_pw_view *out)
{
	const char *f[7];
	uint64_t uid, gid;
	int n = rs_fields(val, len, f, 7);

	if (n != 6 || !rs_name_valid(f[0]) || rs_parse_u64(f[1], UINT32_MAX - 1, &uid) < 0 ||
	    rs_parse_u64(f[2], UINT32_MAX - 1, &gid) < 0 || !ref_field_ok(f[3]) ||
	    !ref_field_ok(f[4]) || !ref_field_ok(f[5]))
		return -EPROTO;
	out->name = f[0];
	out->uid = (uint32_t)uid;
	out->gid = (uint32_t)gid;
	out->gecos = f[3];
	out->home = f[4];
	out->shell = f[5];
	out->strbytes = strlen(f[0]) + strlen(f[3]) + strlen(f[4]) + strlen(f[5]) + 4;
	return 0;
}

static uint64_t rnd_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* The bytes that decide: every class boundary of the rules. */
static char interesting_byte(void)
{
	static const char b[] = {'\0', ':', 0x1f, 0x20, 0x7f, (char)0x80, (char)0xff, 'a',
	                         'z',  '0', '9',  '_',  '-',  '$',        '/',        ' '};

	return b[rnd() % sizeof(b)];
}

static void passwd_records_are_parsed_exactly_as_the_rules_say(void **state)
{
	static const char *const names[] = {"svc-a", "a", "_x$",
	                                    "abcdefghijklmnopqrstuvwxyz012345"};
	static const char *const ids[] = {"0", "1", "60001", "4294967294", "4294967295", "01", ""};
	char val[3 * RS_FIELD_MAX + 256];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		struct rs_pw_view got, want;
		size_t len = 0, flen;
		int r, w;

		/* six fields, text fields of 0 to ~1030 bytes around the size limit */
		for (int f = 0; f < 6; f++) {
			const char *src = f == 0 ? names[rnd() % 4] : f < 3 ? ids[rnd() % 7] : NULL;

			if (src) {
				flen = strlen(src);
				memcpy(val + len, src, flen);
			} else {
				flen = rnd() % 4 == 0 ? RS_FIELD_MAX - 3 + rnd() % 6 : rnd() % 40;
				for (size_t i = 0; i < flen; i++)
					val[len + i] = (char)('A' + rnd() % 26);
			}
			len += flen;
			val[len++] = '\0';
		}
		/* then a few bytes changed, sometimes a field more or less, or the end cut */
		for (int k = (int)(rnd() % 3); k > 0; k--)
			val[rnd() % len] = interesting_byte();
		if (rnd() % 16 == 0)
			val[len++] = '\0';
		if (rnd() % 16 == 0)
			len -= rnd() % len;
		memset(&got, 0, sizeof(got));
		r = rs_parse_passwd(val, len, &got);
		w = ref_parse_passwd(val, len, &want);
		if (r != w)
			fail_msg("iteration %d: rs_parse_passwd %d, the rules %d", iter, r, w);
		if (r < 0)
			continue;
		assert_ptr_equal(got.name, want.name);
		assert_ptr_equal(got.gecos, want.gecos);
		assert_ptr_equal(got.home, want.home);
		assert_ptr_equal(got.shell, want.shell);
		assert_int_equal(got.uid, want.uid);
		assert_int_equal(got.gid, want.gid);
		assert_int_equal(got.strbytes, want.strbytes);
		assert_int_equal(got.name_len, strlen(want.name));
		assert_int_equal(got.gecos_len, strlen(want.gecos));
		assert_int_equal(got.home_len, strlen(want.home));
		assert_int_equal(got.shell_len, strlen(want.shell));
	}
}

static void text_fields_are_checked_exactly_as_the_rules_say(void **state)
{
	char s[RS_FIELD_MAX + 40];

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		size_t n = rnd() % 3 == 0 ? RS_FIELD_MAX - 4 + rnd() % 8 : rnd() % 64;

		for (size_t i = 0; i < n; i++)
			s[i] = rnd() % 8 == 0 ? interesting_byte() : (char)(' ' + rnd() % 95);
		s[n] = '\0';
		if (rs_field_ok(s) != ref_field_ok(s))
			fail_msg("iteration %d: rs_field_ok disagrees on a %zu-byte field", iter,
			         strlen(s));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(fields_are_split_at_each_nul),
	        cmocka_unit_test(a_value_without_final_nul_or_with_too_many_fields_is_malformed),
	        cmocka_unit_test(unsigned_numbers_are_parsed_strictly),
	        cmocka_unit_test(numbers_above_the_maximum_are_refused_even_single_digits),
	        cmocka_unit_test(store_headers_are_parsed_and_checked),
	        cmocka_unit_test(passwd_records_are_parsed_into_views),
	        cmocka_unit_test(malformed_passwd_records_are_refused),
	        cmocka_unit_test(group_records_list_their_members),
	        cmocka_unit_test(malformed_group_records_are_refused),
	        cmocka_unit_test(supplementary_gid_lists_are_counted_beyond_the_buffer),
	        cmocka_unit_test(secret_records_survive_an_encode_parse_round_trip),
	        cmocka_unit_test(encoding_a_secret_into_a_short_buffer_fails_with_enospc),
	        cmocka_unit_test(malformed_secret_records_are_refused),
	        cmocka_unit_test(records_readers_would_refuse_are_not_encoded),
	        cmocka_unit_test(text_fields_refuse_colons_controls_and_overlong_values),
	        cmocka_unit_test(passwd_records_are_parsed_exactly_as_the_rules_say),
	        cmocka_unit_test(text_fields_are_checked_exactly_as_the_rules_say),
	        cmocka_unit_test(hash_strings_must_be_rotsec_or_argon2id_within_costs_and_exact),
	        cmocka_unit_test(hashes_of_one_salt_and_class_make_one_group),
	        cmocka_unit_test(
	                a_class_gets_a_group_per_salt_of_current_and_previous_but_tripwires_add_none),
	        cmocka_unit_test(the_profile_counts_the_most_groups_of_each_class_in_one_record),
	        cmocka_unit_test(a_profile_beyond_its_maximum_is_refused),
	        cmocka_unit_test(the_writer_drops_only_the_tripwires_no_computation_covers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
