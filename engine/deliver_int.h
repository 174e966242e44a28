/*
 * What the delivery kinds share behind rs_deliver_one (deliver.h): one file a kind,
 *   deliver_file.c     file: the secret written to a file, atomically, and the writing of
 *                      a destination file that the sealed kind shares
 *   deliver_command.c  command: the secret on a program's stdin; also the verify command
 *   deliver_sealed.c   sealed: the secret sealed to the consumer's key, written as a file
 * and deliver.c, the dispatch. Each returns what rs_deliver_one does.
 */
#ifndef ROTSEC_DELIVER_INT_H
#define ROTSEC_DELIVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "secret.h"

/* What the consumer reads: the secret and "\n", in one buffer so that it goes out in one
 * write. The copy lives in guarded memory and is wiped by rs_secret_free. */
int deliver_secret_line(const struct rs_secret *s, struct rs_secret *line, char *why,
                        size_t whylen);

/* d's destination, checked before anything is made: a file path, and a mode of permission
 * bits only that others cannot abuse (read a plaintext, replace a sealed box). */
int deliver_dest_ok(const struct rs_delivery *d, char *why, size_t whylen);
/* Replace d->file with `len` bytes of buf, owned and moded as d says, atomically. */
int deliver_write(const struct rs_delivery *d, const void *buf, size_t len, char *why,
                  size_t whylen);

int deliver_file(const struct rs_delivery *d, const struct rs_secret *secret, char *why,
                 size_t whylen);
int deliver_sealed(const struct rs_delivery *d, const struct rs_secret *secret, char *why,
                   size_t whylen);
/* secret NULL: stdin on /dev/null (the verify command). What the command wrote to stderr
 * goes into why when it fails, with secret (or else redact, may be NULL) redacted. */
int deliver_command(const struct rs_account_cfg *acc, const struct rs_delivery *d,
                    const struct rs_secret *secret, const struct rs_secret *redact,
                    uint64_t generation, char *why, size_t whylen);

#endif
