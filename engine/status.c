/*
 * What the engine says without changing anything: the current secret (show, break-glass),
 * the state of every account (status), and a password checked as pam_rotsec would
 * (verify). Status and verify may run without root: they read what they can.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "schedule.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* How long past its due time a rotation may be before status calls it overdue: the
 * daemon's window and jitter are already in the due time, so this is only slack for a
 * busy or restarting daemon (the README's RotsecOverdue alert uses the same hour). */
#define OVERDUE_SLACK 3600

/*
 * secrets.cdb mapped for reading into *m (NULL until it is). unmap_secrets afterwards,
 * whatever this returned. Status and verify run without root: a caller that may not read
 * the file is told what it needs rather than a bare "Permission denied"
 * (ARCHITECTURE.md, contract §2: root, or group rotsec where that group exists).
 */
static int map_secrets(const struct rs_config *cfg, struct rs_store *s, const struct rs_map **m,
                       char *why, size_t whylen)
{
	char what[512];
	int r;

	*m = NULL;
	if ((r = rs_store_init(s, cfg->store_dir, RS_SECRETS_FILE)) < 0)
		return r;
	r = rs_store_acquire(s, m, why, whylen);
	if ((r == -EACCES || r == -EPERM) && geteuid() != 0) {
		gid_t gid = rs_rotsec_gid(cfg);

		(void)snprintf(what, sizeof(what), "%s", why[0] ? why : strerror(-r));
		if (gid != 0 && gid != (gid_t)-1)
			rs_set_why(why, whylen,
			           "cannot read %s/%s: needs root, or membership of group rotsec "
			           "(gid %u) to read it (%s)",
			           cfg->store_dir, RS_SECRETS_FILE, (unsigned)gid, what);
		else
			rs_set_why(
			        why, whylen,
			        "cannot read %s/%s: needs root (there is no group rotsec in %s, so "
			        "it is root's alone) (%s)",
			        cfg->store_dir, RS_SECRETS_FILE, cfg->group_file, what);
	}
	return r;
}

static void unmap_secrets(struct rs_store *s, const struct rs_map *m)
{
	if (m)
		rs_store_release(s, m);
	rs_store_close(s);
}

int rs_engine_show(struct rs_engine *e, const char *name, struct rs_secret *out)
{
	struct rs_secret_rec rec;
	struct rs_journal j;
	struct rs_store s;
	const struct rs_map *m;
	struct rs_audit_ev ev;
	int r, found = 0;

	if (!engine_account(e, name))
		return -ENOENT;
	if ((r = rs_journal_load(e->statefd, name, &j)) < 0) {
		rs_set_why(e->why, sizeof(e->why), "%s has no journaled secret (%s)", name,
		           strerror(-r));
		return r;
	}
	if ((r = map_secrets(e->cfg, &s, &m, e->why, sizeof(e->why))) == 0)
		found = rs_map_secret_by_name(m, name, &rec);
	unmap_secrets(&s, m);
	if (r < 0)
		return r;
	if (found <= 0 || strcmp(rec.current, j.hash) != 0) {
		rs_set_why(e->why, sizeof(e->why),
		           "the journal of %s does not hold the active secret (a rotation is "
		           "unfinished?); run rotsecctl sync",
		           name);
		return -ESTALE;
	}
	r = rs_journal_unseal(e->key, &j, out);
	rs_audit_begin(&ev, "show", name);
	rs_audit_int(&ev, "generation", (int64_t)j.generation);
	rs_audit_str(&ev, "result", r == 0 ? "ok" : "failed");
	rs_audit_prio(&ev, LOG_NOTICE);
	engine_audit(e, &ev);
	if (r < 0)
		rs_set_why(e->why, sizeof(e->why), "cannot unseal the secret of %s%s: %s", name,
		           r == -EBADMSG ? " (host key changed?)" : "", strerror(-r));
	return r;
}

static void delivery_summary(const struct rs_account_cfg *acc, const struct rs_journal *j,
                             bool have_j, char *buf, size_t len)
{
	size_t ok = 0, failed = 0, n = have_j ? j->ndeliver : 0;

	if (acc->ndeliver == 0) {
		(void)snprintf(buf, len, "none");
		return;
	}
	if (!have_j) {
		(void)snprintf(buf, len, "pending");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ok += j->dlv[i].status == RS_DLV_OK;
		failed += j->dlv[i].status == RS_DLV_FAILED;
	}
	if (ok == n && n == acc->ndeliver)
		(void)snprintf(buf, len, "ok");
	else if (failed)
		(void)snprintf(buf, len, "failed %zu/%zu", failed, acc->ndeliver);
	else
		(void)snprintf(buf, len, "pending %zu/%zu", acc->ndeliver - ok, acc->ndeliver);
}

const char *rs_health_name(enum rs_health h)
{
	switch (h) {
	case RS_HEALTH_OK:
		return "ok";
	case RS_HEALTH_WARNING:
		return "warning";
	case RS_HEALTH_CRITICAL:
		return "critical";
	case RS_HEALTH_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Critical first: a check that cannot see everything must still page for what it sees. */
static int health_rank(enum rs_health h)
{
	static const int rank[] = {[RS_HEALTH_OK] = 0,
	                           [RS_HEALTH_WARNING] = 1,
	                           [RS_HEALTH_UNKNOWN] = 2,
	                           [RS_HEALTH_CRITICAL] = 3};

	return (unsigned)h < sizeof(rank) / sizeof(rank[0]) ? rank[h] : 2;
}

enum rs_health rs_health_worst(enum rs_health a, enum rs_health b)
{
	return health_rank(b) > health_rank(a) ? b : a;
}

static void fmt_when(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	(void)strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

/* x's health becomes at least h, and the sentence is one of its problems. */
static void __attribute__((format(printf, 3, 4)))
problem(struct rs_status *x, enum rs_health h, const char *fmt, ...)
{
	va_list ap;

	x->health = rs_health_worst(x->health, h);
	if (x->nproblems == RS_STATUS_PROBLEMS)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(x->problems[x->nproblems], sizeof(x->problems[0]), fmt, ap);
	va_end(ap);
	x->nproblems++;
}

/* Deliveries and the verify command of j that failed: "delivery failing (failed 1/3)". */
static bool failing(const struct rs_account_cfg *acc, const struct rs_journal *j,
                    const struct rs_status *x, char *what, size_t len)
{
	if (strncmp(x->delivery, "failed", 6) == 0) {
		(void)snprintf(what, len, "delivery failing (%s consumers)", x->delivery);
		return true;
	}
	if (acc->verify_argv && strcmp(x->delivery, "ok") == 0 && j->vfy.status == RS_DLV_FAILED) {
		(void)snprintf(what, len, "the verify command is failing");
		return true;
	}
	return false;
}

/*
 * x->health and x->problems from what status found (rotsecctl(8), EXIT STATUS):
 *   critical  degraded; a delivery or the verify command failing with no previous secret
 *             left to fall back on, or past the grace of the rotation (the previous secret
 *             is only held now, and goes at max_grace)
 *   warning   not in the store yet; a delivery or the verify command failing within the
 *             grace (retried), or pending; the previous secret used by a login since the
 *             rotation and in the second half of its validity (a consumer that has not
 *             switched, with less time left than it has had); a rotation overdue
 *   unknown   the journal cannot be read by the caller (it is root's): the delivery state,
 *             and so a degraded mark, cannot be seen
 */
static void account_health(const struct rs_engine *e, const struct rs_account_cfg *acc,
                           const struct rs_journal *j, struct rs_status *x, int64_t now)
{
	char what[160], when[64];

	x->health = RS_HEALTH_OK;
	x->nproblems = 0;
	if (!x->in_store) {
		problem(x, RS_HEALTH_WARNING, "not in the store yet (rotsecctl sync creates it)");
		return;
	}
	if (!x->have_journal) {
		if (e->statefd < 0)
			problem(x, RS_HEALTH_UNKNOWN,
			        "delivery state unknown: the journal in %s is readable by root "
			        "only",
			        e->cfg->state_dir);
		else
			problem(x, RS_HEALTH_WARNING, "no rotation journal in %s",
			        e->cfg->state_dir);
	} else if (j->degraded) {
		problem(x, RS_HEALTH_CRITICAL,
		        "degraded: max_grace passed while a delivery or the verify command failed, "
		        "so a consumer may hold no valid secret");
	} else if (failing(acc, j, x, what, sizeof(what))) {
		if (!x->previous_valid_until) {
			problem(x, RS_HEALTH_CRITICAL, "%s and no previous secret is valid", what);
		} else if (now > x->current_since + grace_of(acc, j)) {
			fmt_when(x->previous_valid_until, when, sizeof(when));
			problem(x, RS_HEALTH_CRITICAL,
			        "%s past the grace; the previous secret is held only until %s",
			        what, when);
		} else {
			fmt_when(x->previous_valid_until, when, sizeof(when));
			problem(x, RS_HEALTH_WARNING,
			        "%s, retried; the previous secret is valid until %s", what, when);
		}
	} else if (strncmp(x->delivery, "pending", 7) == 0) {
		problem(x, RS_HEALTH_WARNING, "delivery pending (%s consumers)", x->delivery);
	} else if (acc->verify_argv && strcmp(x->delivery, "ok") == 0 &&
	           j->vfy.status != RS_DLV_OK) {
		problem(x, RS_HEALTH_WARNING, "the verify command has not passed yet");
	}
	if (x->previous_valid_until && x->have_usage && x->usage.previous_count &&
	    now >= x->previous_valid_until - (x->previous_valid_until - x->current_since) / 2) {
		char last[64];

		fmt_when(x->usage.previous_last, last, sizeof(last));
		fmt_when(x->previous_valid_until, when, sizeof(when));
		problem(x, RS_HEALTH_WARNING,
		        "the previous secret is still in use (%" PRIu64 " login%s, the last at %s) "
		        "and valid only until %s",
		        x->usage.previous_count, x->usage.previous_count == 1 ? "" : "s", last,
		        when);
	}
	if (!acc->disabled && x->next_rotation > 0 && now > x->next_rotation + OVERDUE_SLACK) {
		fmt_when(x->next_rotation, when, sizeof(when));
		problem(x, RS_HEALTH_WARNING, "rotation overdue since %s (is rotsecd running?)",
		        when);
	}
}

/* acc's status in x, from its record in m (NULL: no store yet), its journal and its usage. */
static void account_status(struct rs_engine *e, const struct rs_account_cfg *acc,
                           const struct rs_map *m, struct rs_status *x)
{
	struct rs_secret_rec rec;
	struct rs_journal j;
	bool have_j;

	(void)snprintf(x->name, sizeof(x->name), "%s", acc->name);
	x->uid = acc->uid;
	x->disabled = acc->disabled;
	/* Matched to the config's consumers: one it adds or changes has not got the secret. */
	have_j = rs_engine_load_journal(e, acc, &j) == 0;
	if (m && rs_map_secret_by_name(m, acc->name, &rec) == 1) {
		x->in_store = true;
		x->generation = rec.generation;
		x->current_since = rec.current_since;
		if (rec.previous[0] && engine_now() < rs_previous_valid_until(&rec))
			x->previous_valid_until = rs_previous_valid_until(&rec);
	}
	if (have_j) {
		x->step = j.step;
		x->degraded = j.degraded;
		x->delivery_failures = j.failures;
		x->verify_failures = j.verify_failures;
	}
	delivery_summary(acc, &j, have_j, x->delivery, sizeof(x->delivery));
	(void)snprintf(x->verify, sizeof(x->verify), "%s",
	               !acc->verify_argv ? "none"
	               : !have_j         ? "pending"
	                                 : rs_dlv_status_name(j.vfy.status));
	x->have_usage = rs_usage_read(e->cfg->run_dir, acc->name, &x->usage) == 0;
	if (x->in_store) {
		/* The daemon's own schedule, jitter and window included. */
		struct rs_policy_cfg pol = acc->pol;
		static const unsigned char nokey[32];

		if (!e->key)
			pol.jitter = 0;
		x->next_rotation = rs_rotation_due(&pol, e->key ? e->key : nokey, &rec,
		                                   x->have_usage ? &x->usage : NULL);
	}
	if (x->have_usage && x->usage.generation != x->generation) {
		/* Counters of an older generation: only the tripwire hits still count. */
		uint64_t hits = x->usage.tripwire_count;

		memset(&x->usage, 0, sizeof(x->usage));
		x->usage.tripwire_count = hits;
	}
	x->have_journal = have_j;
	account_health(e, acc, &j, x, engine_now());
}

/* accounts.cdb can be used, judged as nss_rotsec judges it: a store half of which the
 * modules refuse (no account resolves, so no login either) is no store. */
static int check_accounts(const struct rs_config *cfg, char *why, size_t whylen)
{
	const struct rs_map *m = NULL;
	struct rs_store s;
	int r;

	if ((r = rs_store_init(&s, cfg->store_dir, RS_ACCOUNTS_FILE)) < 0)
		return r;
	r = rs_store_acquire(&s, &m, why, whylen);
	if (m)
		rs_store_release(&s, m);
	rs_store_close(&s);
	return r;
}

int rs_engine_status(struct rs_engine *e, const char *name, struct rs_status **out, size_t *n)
{
	const struct rs_config *cfg = e->cfg;
	const struct rs_map *m;
	struct rs_store s;
	struct rs_status *st = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if (name && !engine_account(e, name))
		return -ENOENT;
	if ((st = calloc(cfg->naccounts + 1, sizeof(*st))) == NULL)
		return -ENOMEM;
	/* No store yet: the accounts are shown as not in it. Once there is one, both of its
	 * files must be usable (secrets.cdb is written first and removed last). */
	if ((r = map_secrets(cfg, &s, &m, e->why, sizeof(e->why))) == -ENOENT)
		r = 0;
	else if (r == 0)
		r = check_accounts(cfg, e->why, sizeof(e->why));
	if (r < 0)
		goto out;
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (!name || strcmp(name, cfg->accounts[i].name) == 0)
			account_status(e, &cfg->accounts[i], m, &st[(*n)++]);
	*out = st;
	st = NULL;
out:
	unmap_secrets(&s, m);
	free(st);
	return r;
}

static int verify_in(const struct rs_config *cfg, const struct rs_map *m, const char *name,
                     const char *pw, size_t len, struct rs_verify_result *res, char *why,
                     size_t whylen)
{
	struct rs_secret_rec rec;
	int found = rs_map_secret_by_name(m, name, &rec), r;

	if (found < 0) {
		rs_set_why(why, whylen, "%s/%s: damaged record for %s", cfg->store_dir,
		           RS_SECRETS_FILE, name);
		return found;
	}
	if ((r = rs_policy_verify(found ? &rec : NULL, &m->meta.costs, pw, len, engine_now(), 0,
	                          res)) < 0)
		rs_set_why(why, whylen, "%s/%s: a hash for %s cannot be checked", cfg->store_dir,
		           RS_SECRETS_FILE, name);
	return r;
}

int rs_verify_password(const struct rs_config *cfg, const char *name, const char *pw, size_t len,
                       struct rs_verify_result *res, char *why, size_t whylen)
{
	const struct rs_map *m;
	struct rs_store s;
	struct rs_audit_ev ev;
	int r;

	/* A store that cannot be read gives no answer, and so no audit of one. */
	if ((r = map_secrets(cfg, &s, &m, why, whylen)) < 0)
		goto out;
	r = verify_in(cfg, m, name, pw, len, res, why, whylen);
	rs_audit_begin(&ev, "verify", name);
	rs_audit_str(&ev, "result", r < 0 ? "error" : rs_verdict_name(res->verdict));
	rs_audit_prio(&ev, r == 0 && res->verdict == RS_REVOKED ? LOG_ALERT : LOG_INFO);
	(void)rs_audit_commit(cfg->audit_log, &ev);
out:
	unmap_secrets(&s, m);
	return r;
}
