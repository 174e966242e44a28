/*
 * Fleet messages: canonical encoding, sign then seal, open then check (fleet_msg.h).
 *
 * Every buffer that holds a secret (the canonical bytes, the sealed plaintext) is guarded
 * memory, wiped on free. The encoder and decoder share one cursor type whose first error
 * sticks, so that each field is one line and the check happens once.
 */
#define _GNU_SOURCE
#include "fleet_msg.h"
#include "sealed.h"
#include "why.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAGIC     "RSFLEET1"
#define MAGIC_LEN 8
#define SIG_LEN   crypto_sign_BYTES
/* The largest canonical encoding: three names, fixed fields, two secrets. */
#define CANON_MAX                                                                                  \
	(MAGIC_LEN + 3 * (1 + RS_FLEET_NAME_MAX) + 8 + RS_FLEET_VERSION_ID_LEN + 8 +               \
	 2 * (2 + RS_SECRET_MAX) + 1 + 8)

bool rs_fleet_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > RS_FLEET_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

void rs_fleet_version_hex(const unsigned char id[RS_FLEET_VERSION_ID_LEN], char buf[33])
{
	sodium_bin2hex(buf, 33, id, RS_FLEET_VERSION_ID_LEN);
}

/* A cursor over a buffer; the first error sticks (err) and later calls do nothing. */
struct cur {
	unsigned char *p;
	size_t len, pos;
	int err;
};

static void put(struct cur *c, const void *src, size_t n)
{
	if (c->err)
		return;
	if (n > c->len - c->pos) {
		c->err = -EINVAL;
		return;
	}
	memcpy(c->p + c->pos, src, n);
	c->pos += n;
}

static void put_be(struct cur *c, uint64_t v, size_t n)
{
	unsigned char b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	put(c, b, n);
}

static void put_str8(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (n > 255) {
		c->err = -EINVAL;
		return;
	}
	put_be(c, n, 1);
	put(c, s, n);
}

static void put_secret(struct cur *c, const struct rs_secret *s)
{
	if (!s->buf || s->len == 0 || s->len > RS_SECRET_MAX) {
		c->err = -EINVAL;
		return;
	}
	put_be(c, s->len, 2);
	put(c, s->buf, s->len);
}

static const unsigned char *take(struct cur *c, size_t n)
{
	const unsigned char *p;

	if (c->err)
		return NULL;
	if (n > c->len - c->pos) {
		c->err = -EBADMSG;
		return NULL;
	}
	p = c->p + c->pos;
	c->pos += n;
	return p;
}

static uint64_t take_be(struct cur *c, size_t n)
{
	const unsigned char *b = take(c, n);
	uint64_t v = 0;

	for (size_t i = 0; b && i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static void take_str8(struct cur *c, char *dst, size_t max)
{
	size_t n = (size_t)take_be(c, 1);
	const unsigned char *b = take(c, n);

	dst[0] = '\0';
	if (!b)
		return;
	if (n == 0 || n > max || memchr(b, '\0', n)) {
		c->err = -EBADMSG;
		return;
	}
	memcpy(dst, b, n);
	dst[n] = '\0';
}

static void take_secret(struct cur *c, struct rs_secret *s)
{
	size_t n = (size_t)take_be(c, 2);
	const unsigned char *b = take(c, n);

	if (!b)
		return;
	if (n == 0 || n > RS_SECRET_MAX) {
		c->err = -EBADMSG;
		return;
	}
	if (rs_secret_from(s, (const char *)b, n) < 0)
		c->err = -ENOMEM;
}

static int check_fields(const struct rs_fleet_msg *m, char *why, size_t whylen)
{
	if (!rs_fleet_name_valid(m->host) || !rs_fleet_name_valid(m->consumer)) {
		rs_set_why(why, whylen, "host and consumer names are 1 to %d of A-Z a-z 0-9 . _ -",
		           RS_FLEET_NAME_MAX);
		return -EINVAL;
	}
	if (!rs_name_valid(m->account)) {
		rs_set_why(why, whylen, "\"%s\" is not a valid account name", m->account);
		return -EINVAL;
	}
	if (m->generation == 0) {
		rs_set_why(why, whylen, "generation 0 is never published");
		return -EINVAL;
	}
	return 0;
}

/* The canonical encoding of m into guarded memory (s->len its length). */
static int encode(const struct rs_fleet_msg *m, struct rs_secret *s)
{
	struct cur c;
	int r = rs_secret_alloc(s, CANON_MAX);

	if (r < 0)
		return r;
	c = (struct cur){.p = (unsigned char *)s->buf, .len = CANON_MAX};
	put(&c, MAGIC, MAGIC_LEN);
	put_str8(&c, m->host);
	put_str8(&c, m->consumer);
	put_str8(&c, m->account);
	put_be(&c, m->generation, 8);
	put(&c, m->version_id, RS_FLEET_VERSION_ID_LEN);
	put_be(&c, (uint64_t)m->rotated_at, 8);
	put_secret(&c, &m->current);
	put_be(&c, m->previous.buf ? 1 : 0, 1);
	if (m->previous.buf) {
		put_secret(&c, &m->previous);
		put_be(&c, (uint64_t)m->previous_valid_until, 8);
	}
	if (c.err) {
		rs_secret_free(s);
		return c.err;
	}
	s->len = c.pos;
	return 0;
}

static int decode(const unsigned char *buf, size_t len, struct rs_fleet_msg *m)
{
	struct cur c = {.p = (unsigned char *)buf, .len = len};
	const unsigned char *magic = take(&c, MAGIC_LEN), *vid;
	uint64_t has_prev;

	if (!magic || memcmp(magic, MAGIC, MAGIC_LEN) != 0)
		return -EBADMSG;
	take_str8(&c, m->host, RS_FLEET_NAME_MAX);
	take_str8(&c, m->consumer, RS_FLEET_NAME_MAX);
	take_str8(&c, m->account, RS_NAME_MAX);
	m->generation = take_be(&c, 8);
	vid = take(&c, RS_FLEET_VERSION_ID_LEN);
	if (vid)
		memcpy(m->version_id, vid, RS_FLEET_VERSION_ID_LEN);
	m->rotated_at = (int64_t)take_be(&c, 8);
	take_secret(&c, &m->current);
	has_prev = take_be(&c, 1);
	if (has_prev > 1)
		c.err = c.err ? c.err : -EBADMSG;
	if (has_prev == 1) {
		take_secret(&c, &m->previous);
		m->previous_valid_until = (int64_t)take_be(&c, 8);
	}
	/* Canonical means exactly one encoding per message: nothing may follow. */
	if (!c.err && c.pos != c.len)
		c.err = -EBADMSG;
	if (!c.err && (!rs_fleet_name_valid(m->host) || !rs_fleet_name_valid(m->consumer) ||
	               !rs_name_valid(m->account) || m->generation == 0))
		c.err = -EBADMSG;
	return c.err;
}

int rs_fleet_msg_seal(const struct rs_fleet_msg *m, const unsigned char *sign_sk,
                      const unsigned char consumer_pk[32], unsigned char **out, size_t *outlen,
                      char *why, size_t whylen)
{
	struct rs_secret canon = {0}, plain = {0};
	int r;

	*out = NULL;
	*outlen = 0;
	r = check_fields(m, why, whylen);
	if (r < 0)
		return r;
	r = encode(m, &canon);
	if (r < 0) {
		if (r == -EINVAL)
			rs_set_why(why, whylen, "a secret is empty or longer than %d bytes",
			           RS_SECRET_MAX);
		else
			rs_set_why(why, whylen, "out of memory");
		return r;
	}
	r = rs_secret_alloc(&plain, SIG_LEN + canon.len);
	if (r < 0) {
		rs_set_why(why, whylen, "out of memory");
		goto out;
	}
	crypto_sign_detached((unsigned char *)plain.buf, NULL, (const unsigned char *)canon.buf,
	                     canon.len, sign_sk);
	memcpy(plain.buf + SIG_LEN, canon.buf, canon.len);
	r = rs_seal(&plain, consumer_pk, out, outlen);
	if (r < 0)
		rs_set_why(why, whylen, "cannot seal to the key of consumer %s: %s", m->consumer,
		           r == -EINVAL ? "the key is not usable" : strerror(-r));
out:
	rs_secret_free(&canon);
	rs_secret_free(&plain);
	return r;
}

static const struct rs_fleet_trust *find_trust(const struct rs_fleet_trust *t, size_t n,
                                               const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].host, host) == 0)
			return &t[i];
	return NULL;
}

int rs_fleet_msg_open(const unsigned char *in, size_t inlen, const unsigned char consumer_pk[32],
                      const unsigned char *consumer_sk, const struct rs_fleet_trust *trust,
                      size_t ntrust, const struct rs_fleet_expect *want, struct rs_fleet_msg *out,
                      char *why, size_t whylen)
{
	struct rs_secret plain = {0};
	const struct rs_fleet_trust *t;
	const unsigned char *canon;
	size_t canon_len;
	int r;

	memset(out, 0, sizeof(*out));
	r = -EBADMSG;
	if (inlen < crypto_box_SEALBYTES + SIG_LEN + MAGIC_LEN ||
	    inlen > crypto_box_SEALBYTES + SIG_LEN + CANON_MAX) {
		rs_set_why(why, whylen, "the value is not a fleet message (wrong size)");
		return r;
	}
	r = rs_secret_alloc(&plain, inlen - crypto_box_SEALBYTES);
	if (r < 0) {
		rs_set_why(why, whylen, "out of memory");
		return r;
	}
	r = crypto_box_seal_open((unsigned char *)plain.buf, in, inlen, consumer_pk, consumer_sk);
	rs_wipe_stack();
	if (r != 0) {
		rs_set_why(why, whylen, "the value does not open with this consumer's key");
		r = -EBADMSG;
		goto out;
	}
	canon = (const unsigned char *)plain.buf + SIG_LEN;
	canon_len = plain.len - SIG_LEN;
	/* Decoded before the signature is checked only to learn whose key to check it with;
	 * nothing in it is used unless the signature holds. */
	r = decode(canon, canon_len, out);
	if (r < 0) {
		rs_set_why(why, whylen, "the value opens but is not a well-formed fleet message");
		goto out;
	}
	t = find_trust(trust, ntrust, out->host);
	if (!t) {
		rs_set_why(why, whylen,
		           "the message says it is from host %s, whose key is not trusted",
		           out->host);
		r = -ENOKEY;
		goto out;
	}
	if (crypto_sign_verify_detached((const unsigned char *)plain.buf, canon, canon_len,
	                                t->pk) != 0) {
		rs_set_why(why, whylen,
		           "the signature is not by the key trusted for host %s: forged, or the "
		           "host's "
		           "signing key changed",
		           out->host);
		r = -EKEYREJECTED;
		goto out;
	}
	if (strcmp(out->host, want->host) != 0 || strcmp(out->account, want->account) != 0 ||
	    strcmp(out->consumer, want->consumer) != 0) {
		rs_set_why(why, whylen,
		           "the message is for %s of host %s (consumer %s), not for %s of host %s "
		           "(consumer %s): moved from another key",
		           out->account, out->host, out->consumer, want->account, want->host,
		           want->consumer);
		r = -EXDEV;
		goto out;
	}
	if (out->generation < want->held_generation) {
		rs_set_why(why, whylen,
		           "the message holds generation %llu, older than generation %llu held "
		           "already: "
		           "a replay",
		           (unsigned long long)out->generation,
		           (unsigned long long)want->held_generation);
		r = -ESTALE;
		goto out;
	}
	r = 0;
out:
	rs_secret_free(&plain);
	if (r < 0)
		rs_fleet_msg_free(out);
	return r;
}

void rs_fleet_msg_free(struct rs_fleet_msg *m)
{
	rs_secret_free(&m->current);
	rs_secret_free(&m->previous);
	sodium_memzero(m, sizeof(*m));
}
