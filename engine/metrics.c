#define _GNU_SOURCE
#include "metrics.h"
#include "buf.h"
#include "owndirs.h"
#include "safefile.h"
#include "trust.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void head(struct rs_buf *o, const char *name, const char *type, const char *help)
{
	rs_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The value of one per-account metric. */
typedef uint64_t (*metric_get)(const struct rs_status *x);

static uint64_t m_since(const struct rs_status *x)
{
	return (uint64_t)x->current_since;
}
static uint64_t m_next(const struct rs_status *x)
{
	return (uint64_t)x->next_rotation;
}
static uint64_t m_until(const struct rs_status *x)
{
	return (uint64_t)x->previous_valid_until;
}
static uint64_t m_dfail(const struct rs_status *x)
{
	return x->delivery_failures;
}
static uint64_t m_vfail(const struct rs_status *x)
{
	return x->verify_failures;
}
static uint64_t m_degraded(const struct rs_status *x)
{
	return x->degraded;
}
static uint64_t m_generation(const struct rs_status *x)
{
	return x->generation;
}

static uint64_t m_tripwire(const struct rs_status *x)
{
	return x->have_usage ? x->usage.tripwire_count : 0;
}

static uint64_t m_logins_cur(const struct rs_status *x)
{
	return x->have_usage ? x->usage.current_count : 0;
}

static uint64_t m_logins_prev(const struct rs_status *x)
{
	return x->have_usage ? x->usage.previous_count : 0;
}

/*
 * Every per-account family, in the order of the file. Rows of one name follow each other,
 * one per value of their extra label; HELP and TYPE are written once, before the first.
 */
static const struct family {
	const char *name, *type, *help;
	const char *label; /* extra label, "key=\"value\"", or NULL */
	metric_get get;
} families[] = {
        {"rotsec_last_rotation_timestamp_seconds", "gauge",
         "When the current secret was activated.", NULL, m_since},
        {"rotsec_next_rotation_timestamp_seconds", "gauge",
         "When the next scheduled rotation is due.", NULL, m_next},
        {"rotsec_previous_valid_until_timestamp_seconds", "gauge",
         "Deadline of the previous secret, 0 when there is none in grace.", NULL, m_until},
        {"rotsec_logins_total", "counter",
         "Successful logins since the last rotation, by secret (resets at each rotation).",
         "secret=\"current\"", m_logins_cur},
        {"rotsec_logins_total", "counter", NULL, "secret=\"previous\"", m_logins_prev},
        {"rotsec_delivery_failures_total", "counter", "Failed delivery attempts.", NULL, m_dfail},
        {"rotsec_verify_failures_total", "counter", "Failed runs of the account's verify command.",
         NULL, m_vfail},
        {"rotsec_tripwire_hits_total", "counter", "Logins tried with a revoked secret.", NULL,
         m_tripwire},
        {"rotsec_degraded", "gauge",
         "1 when max_grace passed with a delivery or the verify command still failing.", NULL,
         m_degraded},
        {"rotsec_generation", "gauge", "Generation of the current secret.", NULL, m_generation},
};

/* Account names are [a-z0-9_-$]: nothing in them needs escaping in a label value. Within
 * a family, the samples go account by account, each with every value of its label. */
static void per_account(struct rs_buf *o, const struct rs_status *st, size_t n)
{
	size_t f = 0;

	while (f < sizeof(families) / sizeof(families[0])) {
		size_t end = f + 1;

		while (end < sizeof(families) / sizeof(families[0]) &&
		       strcmp(families[end].name, families[f].name) == 0)
			end++;
		head(o, families[f].name, families[f].type, families[f].help);
		for (size_t i = 0; i < n; i++) {
			if (!st[i].in_store)
				continue;
			for (size_t k = f; k < end; k++)
				rs_buf_printf(o, "%s{account=\"%s\"%s%s} %" PRIu64 "\n",
				              families[k].name, st[i].name,
				              families[k].label ? "," : "",
				              families[k].label ? families[k].label : "",
				              families[k].get(&st[i]));
		}
		f = end;
	}
}

int rs_metrics_render(const struct rs_status *st, size_t n, int64_t now, int64_t interval,
                      char **res, size_t *len)
{
	struct rs_buf o;

	rs_buf_init(&o, SIZE_MAX, 0);

	/* No "up" gauge: a daemon killed with SIGKILL cannot set it to 0, and a file that
	 * says 1 for ever is worse than none. The time of the rewrite, with the interval the
	 * daemon keeps, tells a scrape whether anyone still writes this file. */
	head(&o, "rotsec_last_update_timestamp_seconds", "gauge",
	     "When rotsecd last rewrote this file; older than a few intervals: it is not running.");
	rs_buf_printf(&o, "rotsec_last_update_timestamp_seconds %" PRId64 "\n", now);
	head(&o, "rotsec_metrics_interval_seconds", "gauge",
	     "rotsecd rewrites this file at least this often (metrics_interval).");
	rs_buf_printf(&o, "rotsec_metrics_interval_seconds %" PRId64 "\n", interval);
	head(&o, "rotsec_build_info", "gauge", "rotsec version.");
	rs_buf_printf(&o, "rotsec_build_info{version=\"%s\"} 1\n", ROTSEC_VERSION);
	per_account(&o, st, n);
	return rs_buf_take(&o, res, len);
}

/* The directory is a path rotsec writes (trust.h), made when it is rotsec's own
 * (owndirs.h); the file is replaced relative to the directory fd that was checked. */
int rs_metrics_write(const struct rs_config *cfg, const struct rs_status *st, size_t n, int64_t now)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE, .mode = 0755};
	const char *name;
	char *buf;
	size_t len;
	int dirfd, r;

	if (rs_metrics_dir_is_ours(cfg))
		t.flags |= RS_TRUST_MKDIR;
	if ((dirfd = rs_trust_parent(cfg->metrics_file, &t, &name, NULL, 0)) < 0)
		return dirfd;
	if ((r = rs_metrics_render(st, n, now, cfg->metrics_interval, &buf, &len)) < 0)
		goto out;
	r = rs_atomic_replace(dirfd, name, buf, len, 0644, 0, 0);
	free(buf);
out:
	close(dirfd);
	return r;
}
