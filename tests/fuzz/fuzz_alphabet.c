/*
 * fuzz_alphabet: rs_alphabet_parse on arbitrary text (a named set or an explicit one) and
 * rs_entropy_bits over it; for an accepted alphabet, a generated secret.
 *
 * Input: byte 0 and 1 are a length (little endian, for the entropy and the secret), the
 * rest up to the first NUL is the alphabet spec.
 *
 * Invariants:
 *  - accepted: 2 <= n <= 94 distinct characters, all printable ASCII without space, and
 *    an explicit spec is exactly its own characters in order;
 *  - refused: -EINVAL;
 *  - entropy is length * log2(n): finite, >= 0, monotonic in the length;
 *  - a generated secret has the asked length, only characters of the alphabet, and a
 *    length outside 1..RS_SECRET_MAX is refused.
 */
#include "harness.h"
#include "secret.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (rs_crypto_init() < 0)
		abort();
	return 0;
}

static void check_alphabet(const char *spec, const struct rs_alphabet *a)
{
	bool seen[128] = {false};

	FZ_CHECK(a->n >= 2 && a->n <= 94);
	for (size_t i = 0; i < a->n; i++) {
		unsigned char c = (unsigned char)a->chars[i];

		FZ_CHECK(c >= 0x21 && c <= 0x7e && !seen[c]);
		seen[c] = true;
	}
	if (strcmp(spec, "alnum") != 0 && strcmp(spec, "base64url") != 0 &&
	    strcmp(spec, "printable") != 0)
		FZ_CHECK(strlen(spec) == a->n && memcmp(spec, a->chars, a->n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	size_t length = fz_u16(&in);
	char *spec = fz_strndup(in.p, in.left);
	struct rs_alphabet a;
	struct rs_secret s = {0};
	double e, e1;
	int r = rs_alphabet_parse(spec, &a);

	FZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0)
		goto out;
	check_alphabet(spec, &a);
	e = rs_entropy_bits(&a, length);
	e1 = rs_entropy_bits(&a, length + 1);
	FZ_CHECK(isfinite(e) && e >= 0.0 && e1 > e);
	FZ_CHECK(fabs(e - (double)length * log2((double)a.n)) < 1e-6);
	r = rs_secret_generate(&a, length, &s);
	if (length == 0 || length > RS_SECRET_MAX) {
		FZ_CHECK(r == -EINVAL);
		goto out;
	}
	FZ_CHECK(r == 0 && s.len == length && s.buf[length] == '\0');
	for (size_t i = 0; i < length; i++)
		FZ_CHECK(memchr(a.chars, s.buf[i], a.n) != NULL);
	rs_secret_free(&s);
out:
	free(spec);
	return 0;
}
