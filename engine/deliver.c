/*
 * Delivery of a secret to one consumer: the dispatch to its kind (deliver_int.h), and the
 * name status and audit give a consumer (deliver.h, ARCHITECTURE.md, contract §6).
 *
 * Whatever the kind, the plaintext leaves this process through exactly one channel: the
 * bytes of a file created with its final owner and mode, or the stdin pipe of the command.
 * Never argv, the environment, a log line or `why`.
 */
#include "deliver.h"
#include "deliver_int.h"
#include "journal.h"
#include "safefile.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int deliver_secret_line(const struct rs_secret *s, struct rs_secret *line, char *why, size_t whylen)
{
	int r = rs_secret_alloc(line, s->len + 1);

	if (r < 0) {
		rs_set_why(why, whylen, "out of memory for the secret");
		return r;
	}
	memcpy(line->buf, s->buf, s->len);
	line->buf[s->len] = '\n';
	return 0;
}

int rs_deliver_one(const struct rs_account_cfg *acc, const struct rs_delivery *d,
                   const struct rs_secret *secret, uint64_t generation, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!acc || !d || !secret || !secret->buf) {
		rs_set_why(why, whylen,
		           "delivery called without an account, a consumer or a secret");
		return -EINVAL;
	}
	switch (d->kind) {
	case RS_DELIVER_FILE:
		return deliver_file(d, secret, why, whylen);
	case RS_DELIVER_COMMAND:
		return deliver_command(acc, d, secret, NULL, generation, why, whylen);
	case RS_DELIVER_SEALED:
		return deliver_sealed(d, secret, why, whylen);
	case RS_DELIVER_FLEET:
		/* All of an account's fleet consumers are published together, with its status,
		 * by the engine (rollout_fleet.c), not one by one. */
		rs_set_why(why, whylen, "a fleet delivery is published by the engine");
		return -EINVAL;
	}
	rs_set_why(why, whylen, "unknown delivery kind %d", (int)d->kind);
	return -EINVAL;
}

void rs_delivery_label(const struct rs_delivery *d, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	switch (d ? (int)d->kind : -1) {
	case RS_DELIVER_FILE:
		(void)snprintf(buf, len, "file %s", d->file ? d->file : "?");
		break;
	case RS_DELIVER_COMMAND:
		(void)snprintf(buf, len, "command %s", d->argv && d->argv[0] ? d->argv[0] : "?");
		break;
	case RS_DELIVER_SEALED:
		(void)snprintf(buf, len, "sealed %s", d->file ? d->file : "?");
		break;
	case RS_DELIVER_FLEET:
		(void)snprintf(buf, len, "fleet %s", d->fleet ? d->fleet : "?");
		break;
	default:
		(void)snprintf(buf, len, "unknown delivery");
		break;
	}
}

/* One field into the digest, its length first: no two different settings hash alike by
 * moving bytes from one field to the next. */
static void digest_field(crypto_generichash_state *st, const void *p, size_t len)
{
	uint64_t n = len;

	crypto_generichash_update(st, (const unsigned char *)&n, sizeof(n));
	if (len)
		crypto_generichash_update(st, p, len);
}

static void digest_str(crypto_generichash_state *st, const char *s)
{
	digest_field(st, s ? s : "", s ? strlen(s) + 1 : 0);
}

void rs_delivery_digest(const struct rs_delivery *d, char *out)
{
	crypto_generichash_state st;
	unsigned char h[RS_DLV_DIGEST_HEX / 2];
	uint64_t ids[6] = {(uint64_t)d->kind, d->uid, d->gid, d->mode, d->run_uid, d->argc};

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	digest_str(&st, "rotsec delivery 1");
	digest_field(&st, ids, sizeof(ids));
	digest_str(&st, d->file);
	for (size_t i = 0; d->argv && i < d->argc; i++)
		digest_str(&st, d->argv[i]);
	digest_str(&st, d->sealed_to);
	/* A sealed or fleet consumer whose key changed is another consumer. */
	digest_field(
	        &st,
	        d->kind == RS_DELIVER_SEALED || d->kind == RS_DELIVER_FLEET ? d->sealed_pk : NULL,
	        d->kind == RS_DELIVER_SEALED || d->kind == RS_DELIVER_FLEET ? sizeof(d->sealed_pk)
	                                                                    : 0);
	digest_str(&st, d->fleet);
	digest_str(&st, d->user);
	crypto_generichash_final(&st, h, sizeof(h));
	(void)sodium_bin2hex(out, RS_DLV_DIGEST_HEX + 1, h, sizeof(h));
}
