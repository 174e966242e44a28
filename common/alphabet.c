/*
 * Alphabets of generated secrets and the entropy they give. Only rotsecd and rotsecctl
 * need this: it is a file of its own so that the PAM module, which only verifies, does
 * not link it, nor libm for its log2 (one library less to load at every pam_start).
 */
#include "secret.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int rs_alphabet_parse(const char *spec, struct rs_alphabet *out)
{
	static const char alnum[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static const char b64url[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	bool seen[128] = {false};
	size_t i;

	memset(out, 0, sizeof(*out));
	if (strcmp(spec, "alnum") == 0) {
		spec = alnum;
	} else if (strcmp(spec, "base64url") == 0) {
		spec = b64url;
	} else if (strcmp(spec, "printable") == 0) {
		for (i = 0x21; i <= 0x7e; i++)
			out->chars[out->n++] = (char)i;
		return 0;
	}
	for (i = 0; spec[i]; i++) {
		unsigned char c = (unsigned char)spec[i];

		/* A repeated character would be drawn twice as often: refuse, do not dedupe
		 * silently, because the admin's entropy estimate would be wrong. */
		if (c < 0x21 || c > 0x7e || seen[c] || out->n >= sizeof(out->chars))
			return -EINVAL;
		seen[c] = true;
		out->chars[out->n++] = (char)c;
	}
	return out->n >= 2 ? 0 : -EINVAL;
}

double rs_entropy_bits(const struct rs_alphabet *a, size_t length)
{
	return a->n < 2 ? 0.0 : (double)length * log2((double)a->n);
}
