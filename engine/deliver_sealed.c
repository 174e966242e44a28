/*
 * Sealed delivery (ARCHITECTURE.md, contract §6): the secret sealed (crypto_box_seal) to the
 * consumer's X25519 key, and the box written to the destination file as a file delivery writes its
 * secret. Only the holder of the consumer's secret key can open it (rotsecctl open).
 */
#include "deliver.h"
#include "deliver_int.h"
#include "safefile.h"
#include "sealed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int deliver_sealed(const struct rs_delivery *d, const struct rs_secret *secret, char *why,
                   size_t whylen)
{
	unsigned char *box = NULL;
	size_t boxlen = 0;
	int r;

	if ((r = deliver_dest_ok(d, why, whylen)) < 0)
		goto out;
	if ((r = rs_seal(secret, d->sealed_pk, &box, &boxlen)) < 0) {
		rs_set_why(why, whylen, "cannot seal the secret to %s: %s",
		           d->sealed_to ? d->sealed_to : "the consumer's key",
		           r == -EINVAL ? "the key is not usable" : strerror(-r));
		goto out;
	}
	r = deliver_write(d, box, boxlen, why, whylen);
out:
	free(box);
	return r;
}
