/*
 * Metrics in the Prometheus text format, for node_exporter's textfile collector
 * (`metrics_file`, default in Debian's collector directory). The file is replaced
 * atomically, 0644: it holds names, times and counters, never a secret. When its
 * directory does not exist (node_exporter not installed) nothing is written, unless it is
 * rotsec's own (owndirs.h), which is made. The directory must pass the trust rule for a
 * path rotsec writes (trust.h).
 */
#ifndef ROTSEC_METRICS_H
#define ROTSEC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"

/* Render the metrics of `st` into a malloc'ed buffer (for tests and the writer). */
int rs_metrics_render(const struct rs_status *st, size_t n, int64_t now, int64_t interval,
                      char **out, size_t *len);

/* Render and replace cfg->metrics_file. -ENOENT when its directory is missing, -EPERM when
 * it is unsafe. */
int rs_metrics_write(const struct rs_config *cfg, const struct rs_status *st, size_t n,
                     int64_t now);

#endif
