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

/* Account names are [a-z0-9_-$]: nothing in them needs escaping in a label value. */
static void per_account(struct rs_buf *o, const struct rs_status *st, size_t n, const char *name,
                        const char *type, const char *help, int which)
{
	head(o, name, type, help);
	for (size_t i = 0; i < n; i++) {
		const struct rs_status *x = &st[i];
		uint64_t v = 0;

		if (!x->in_store)
			continue;
		switch (which) {
		case 0:
			v = (uint64_t)x->current_since;
			break;
		case 1:
			v = (uint64_t)x->next_rotation;
			break;
		case 2:
			v = (uint64_t)x->previous_valid_until;
			break;
		case 3:
			v = x->delivery_failures;
			break;
		case 4:
			v = x->have_usage ? x->usage.tripwire_count : 0;
			break;
		case 5:
			v = x->degraded;
			break;
		case 6:
			v = x->generation;
			break;
		case 7:
			v = x->verify_failures;
			break;
		}
		rs_buf_printf(o, "%s{account=\"%s\"} %" PRIu64 "\n", name, x->name, v);
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
	per_account(&o, st, n, "rotsec_last_rotation_timestamp_seconds", "gauge",
	            "When the current secret was activated.", 0);
	per_account(&o, st, n, "rotsec_next_rotation_timestamp_seconds", "gauge",
	            "When the next scheduled rotation is due.", 1);
	per_account(&o, st, n, "rotsec_previous_valid_until_timestamp_seconds", "gauge",
	            "Deadline of the previous secret, 0 when there is none in grace.", 2);
	head(&o, "rotsec_logins_total", "counter",
	     "Successful logins since the last rotation, by secret (resets at each rotation).");
	for (size_t i = 0; i < n; i++) {
		const struct rs_status *x = &st[i];

		if (!x->in_store)
			continue;
		rs_buf_printf(
		        &o, "rotsec_logins_total{account=\"%s\",secret=\"current\"} %" PRIu64 "\n",
		        x->name, x->have_usage ? x->usage.current_count : 0);
		rs_buf_printf(
		        &o, "rotsec_logins_total{account=\"%s\",secret=\"previous\"} %" PRIu64 "\n",
		        x->name, x->have_usage ? x->usage.previous_count : 0);
	}
	per_account(&o, st, n, "rotsec_delivery_failures_total", "counter",
	            "Failed delivery attempts.", 3);
	per_account(&o, st, n, "rotsec_verify_failures_total", "counter",
	            "Failed runs of the account's verify command.", 7);
	per_account(&o, st, n, "rotsec_tripwire_hits_total", "counter",
	            "Logins tried with a revoked secret.", 4);
	per_account(&o, st, n, "rotsec_degraded", "gauge",
	            "1 when max_grace passed with a delivery or the verify command still failing.",
	            5);
	per_account(&o, st, n, "rotsec_generation", "gauge", "Generation of the current secret.",
	            6);
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
