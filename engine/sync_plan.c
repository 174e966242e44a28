/*
 * What a sync changes, worked out before anything is: the accounts it creates, the
 * attributes it updates (which, from what to what), the accounts and groups it removes
 * or adds, the previous secrets past their deadline it revokes, the interrupted rotations
 * it finishes and the consumers it delivers to. The same list is what `sync` tells once it
 * has done it and what `sync --dry-run` prints without doing it (rs_engine_sync_plan), so
 * that the two cannot drift apart: both are made here.
 *
 * A plan only reads: the store's two files (mapped, no lock taken), the journals. It
 * creates no file, takes no lock and writes no audit record.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_int.h"
#include "buf.h"
#include "deliver.h"
#include "store_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void plan_free(struct plan *p)
{
	free(p->it);
	memset(p, 0, sizeof(*p));
}

static struct plan_item *plan_add(struct plan *p, enum rs_event_kind kind, const char *name,
                                  uint64_t generation)
{
	struct plan_item *it;

	if (p->err)
		return NULL;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		void *grown = realloc(p->it, cap * sizeof(*p->it));

		if (!grown) {
			p->err = -ENOMEM;
			return NULL;
		}
		p->it = grown;
		p->cap = cap;
	}
	it = &p->it[p->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	(void)snprintf(it->name, sizeof(it->name), "%s", name);
	it->generation = generation;
	return it;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a,b,c" of n ids, sorted. */
static void put_ids(struct rs_buf *b, const uint32_t *ids, size_t n)
{
	uint32_t *s = n ? malloc(n * sizeof(*s)) : NULL;

	if (n && !s) {
		rs_buf_puts(b, "?");
		return;
	}
	if (n)
		memcpy(s, ids, n * sizeof(*s));
	if (n > 1)
		qsort(s, n, sizeof(*s), u32_cmp);
	for (size_t i = 0; i < n; i++)
		rs_buf_printf(b, "%s%" PRIu32, i ? "," : "", s[i]);
	if (!n)
		rs_buf_puts(b, "none");
	free(s);
}

static bool same_ids(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	uint32_t *x, *y;
	bool same;

	if (na != nb)
		return false;
	if (na == 0)
		return true;
	x = malloc(na * sizeof(*x));
	y = malloc(na * sizeof(*y));
	same = x && y;
	if (same) {
		memcpy(x, a, na * sizeof(*x));
		memcpy(y, b, na * sizeof(*y));
		qsort(x, na, sizeof(*x), u32_cmp);
		qsort(y, na, sizeof(*y), u32_cmp);
		same = memcmp(x, y, na * sizeof(*x)) == 0;
	}
	free(x);
	free(y);
	return same;
}

/* The next attribute of an update: ", " between them. */
static void put_sep(struct rs_buf *b)
{
	if (rs_buf_len(b))
		rs_buf_puts(b, ", ");
}

static void put_text_change(struct rs_buf *b, const char *key, const char *from, size_t flen,
                            const char *to)
{
	if (strlen(to) == flen && memcmp(from, to, flen) == 0)
		return;
	put_sep(b);
	rs_buf_printf(b, "%s \"%.*s\" -> \"%s\"", key, (int)flen, from, to);
}

/* What a sync changes of account a, whose records are pw (NULL: none in accounts.cdb), its
 * supplementary gids (ig, nig) and rec (its secret record). */
static void account_changes(const struct rs_account_cfg *a, const struct rs_pw_view *pw,
                            const uint32_t *ig, size_t nig, const struct rs_secret_rec *rec,
                            struct rs_buf *b)
{
	struct rs_store_account want = {0};

	engine_store_account(a, &want);
	if (!pw) {
		rs_buf_puts(b, "passwd entry (missing from " RS_ACCOUNTS_FILE ")");
	} else {
		if (pw->uid != want.uid) {
			put_sep(b);
			rs_buf_printf(b, "uid %" PRIu32 " -> %" PRIu32, pw->uid, want.uid);
		}
		if (pw->gid != want.gid) {
			put_sep(b);
			rs_buf_printf(b, "gid %" PRIu32 " -> %" PRIu32, pw->gid, want.gid);
		}
		put_text_change(b, "gecos", pw->gecos, pw->gecos_len, want.gecos);
		put_text_change(b, "home", pw->home, pw->home_len, want.home);
		put_text_change(b, "shell", pw->shell, pw->shell_len, want.shell);
		if (!same_ids(ig, nig, a->sup_gids, a->nsup)) {
			put_sep(b);
			rs_buf_puts(b, "groups ");
			put_ids(b, ig, nig);
			rs_buf_puts(b, " -> ");
			put_ids(b, a->sup_gids, a->nsup);
		}
	}
	if (rec->uid != a->uid && (!pw || pw->uid == want.uid)) {
		put_sep(b);
		rs_buf_printf(b, "uid of the secret record %" PRIu32 " -> %" PRIu32, rec->uid,
		              a->uid);
	}
	if (!!(rec->flags & RS_SECRET_DISABLED) != a->disabled) {
		put_sep(b);
		rs_buf_puts(b, a->disabled ? "disabled" : "enabled");
	}
}

/* The supplementary gids of NAME in am, up to max. */
static size_t stored_gids(const struct rs_map *am, const char *name, uint32_t *gids, size_t max)
{
	const char *val;
	size_t len, n = 0;

	if (rs_map_lookup(am, RS_KEY_INITGR, name, &val, &len) != 1 ||
	    rs_parse_gids(val, len, gids, max, &n) < 0)
		return 0;
	return n < max ? n : max;
}

static void plan_account(const struct rs_account_cfg *a, const struct rs_map *am,
                         const struct rs_secret_rec *rec, struct plan *p)
{
	struct rs_pw_view pw;
	const char *val;
	size_t len, nig = 0;
	uint32_t ig[256];
	struct plan_item *it;
	struct rs_buf b;
	char detail[sizeof(it->detail)];
	bool have_pw = am && rs_map_lookup(am, RS_KEY_PWNAM, a->name, &val, &len) == 1 &&
	               rs_parse_passwd(val, len, &pw) == 0;

	if (have_pw)
		nig = stored_gids(am, a->name, ig, sizeof(ig) / sizeof(ig[0]));
	rs_buf_init_fixed(&b, detail, sizeof(detail));
	account_changes(a, have_pw ? &pw : NULL, ig, nig, rec, &b);
	if (rs_buf_len(&b) && (it = plan_add(p, RS_EV_UPDATE, a->name, rec->generation)))
		memcpy(it->detail, detail, sizeof(detail));
}

/* The members of group view g, sorted, as pointers into the mapping. */
static const char **stored_members(const struct rs_gr_view *g)
{
	const char **m = calloc(g->nmembers + 1, sizeof(*m));
	const char *s = g->members;

	if (!m)
		return NULL;
	for (size_t i = 0; i < g->nmembers; i++, s += strlen(s) + 1)
		m[i] = s;
	qsort(m, g->nmembers, sizeof(*m), name_cmp);
	return m;
}

static void put_names(struct rs_buf *b, const char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rs_buf_printf(b, "%s%s", i ? "," : "", names[i]);
	if (!n)
		rs_buf_puts(b, "none");
}

static int plan_group(const struct rs_group_cfg *g, const struct rs_map *am, struct plan *p)
{
	const char **want = calloc(g->nmembers + 1, sizeof(*want)), **have = NULL;
	struct rs_gr_view v;
	struct plan_item *it;
	struct rs_buf b;
	char detail[sizeof(it->detail)];
	const char *val;
	size_t len;
	bool found = am && rs_map_lookup(am, RS_KEY_GRNAM, g->name, &val, &len) == 1 &&
	             rs_parse_group(val, len, &v) == 0;
	int r = 0;

	if (!want || (found && !(have = stored_members(&v)))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->nmembers; i++)
		want[i] = g->members[i];
	qsort(want, g->nmembers, sizeof(*want), name_cmp);
	rs_buf_init_fixed(&b, detail, sizeof(detail));
	if (!found) {
		rs_buf_printf(&b, "gid %" PRIu32 ", members ", g->gid);
		put_names(&b, want, g->nmembers);
	} else {
		bool same = v.nmembers == g->nmembers;

		for (size_t i = 0; same && i < g->nmembers; i++)
			same = strcmp(want[i], have[i]) == 0;
		if (v.gid != g->gid)
			rs_buf_printf(&b, "gid %" PRIu32 " -> %" PRIu32, v.gid, g->gid);
		if (!same) {
			put_sep(&b);
			rs_buf_puts(&b, "members ");
			put_names(&b, have, v.nmembers);
			rs_buf_puts(&b, " -> ");
			put_names(&b, want, g->nmembers);
		}
	}
	if (rs_buf_len(&b) &&
	    (it = plan_add(p, found ? RS_EV_GROUP_UPDATE : RS_EV_GROUP_CREATE, g->name, 0)))
		memcpy(it->detail, detail, sizeof(detail));
out:
	free(want);
	free(have);
	return r;
}

static bool config_has_group(const struct rs_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (strcmp(cfg->groups[i].name, name) == 0)
			return true;
	return false;
}

int plan_store(struct rs_engine *e, const struct rs_map *am, struct rs_secrets_data *d, int64_t now,
               struct plan *p)
{
	const struct rs_config *cfg = e->cfg;
	struct plan_item *it;
	int r;

	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *a = &cfg->accounts[i];
		const struct rs_secret_rec *rec = secrets_find(d->rec, d->n, a->name);

		if (!rec) {
			if ((it = plan_add(p, RS_EV_CREATE, a->name, 1)))
				(void)snprintf(it->detail, sizeof(it->detail),
				               "uid %" PRIu32 ", gid %" PRIu32 "%s", a->uid, a->gid,
				               a->disabled ? ", disabled" : "");
		} else {
			plan_account(a, am, rec, p);
		}
	}
	for (size_t i = 0; i < d->n; i++)
		if (!rs_config_account(cfg, d->rec[i].name))
			(void)plan_add(p, RS_EV_REMOVE, d->rec[i].name, d->rec[i].generation);
	for (size_t i = 0; i < cfg->ngroups; i++)
		if ((r = plan_group(&cfg->groups[i], am, p)) < 0)
			return r;
	for (uint32_t i = 0; am && i < am->meta.count[1]; i++) {
		const char *val;
		size_t len;
		struct rs_gr_view v;
		char key[RS_KEY_MAX], idx[16];

		(void)snprintf(idx, sizeof(idx), "%" PRIu32, i);
		if (rs_map_key(key, RS_KEY_GRIDX, idx) == 0 ||
		    rs_map_find(am, key, strlen(key), &val, &len) != 1 ||
		    rs_parse_group(val, len, &v) < 0)
			continue;
		if (!config_has_group(cfg, v.name))
			(void)plan_add(p, RS_EV_GROUP_REMOVE, v.name, 0);
	}
	/* The sweep: previous secrets past their deadline, of accounts that stay. */
	for (size_t i = 0; i < d->n; i++)
		if (rs_config_account(cfg, d->rec[i].name) && sweep_due(&d->rec[i], now) &&
		    (it = plan_add(p, RS_EV_REVOKE, d->rec[i].name, d->rec[i].generation - 1)))
			(void)snprintf(it->detail, sizeof(it->detail), "its deadline passed");
	return p->err;
}

/* The audit records of what a sync changed that no other step audits. */
static void audit_item(struct rs_engine *e, const struct plan_item *it)
{
	struct rs_audit_ev ev;
	bool group = it->kind == RS_EV_GROUP_CREATE || it->kind == RS_EV_GROUP_UPDATE ||
	             it->kind == RS_EV_GROUP_REMOVE;

	if (it->kind != RS_EV_UPDATE && !group)
		return;
	rs_audit_begin(&ev, group ? "group" : "update", group ? NULL : it->name);
	if (group) {
		rs_audit_str(&ev, "group", it->name);
		rs_audit_str(&ev, "action",
		             it->kind == RS_EV_GROUP_CREATE   ? "create"
		             : it->kind == RS_EV_GROUP_UPDATE ? "update"
		                                              : "remove");
	}
	if (it->detail[0])
		rs_audit_str(&ev, "changes", it->detail);
	engine_audit(e, &ev);
}

void plan_emit(struct rs_engine *e, const struct plan *p, int result)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_item *it = &p->it[i];
		struct rs_event ev = {.kind = it->kind,
		                      .name = it->name,
		                      .generation = it->generation,
		                      .detail = it->detail,
		                      .result = result};

		if (result > 0)
			audit_item(e, it);
		engine_event(e, &ev);
	}
}

/* The deliveries (and the verify command) a sync would make for acc, whose journal is j
 * (NULL: a new account, whose first secret goes to every consumer). */
static void plan_rollout(struct rs_engine *e, const struct rs_account_cfg *acc,
                         struct rs_journal *j)
{
	struct rs_journal fresh = {0};
	bool any = false;

	if (!j) {
		fresh.generation = 1;
		fresh.step = RS_STEP_GENERATED;
		(void)rs_journal_follow_config(acc, &fresh);
		for (size_t i = 0; i < fresh.ndeliver; i++)
			fresh.dlv[i].fresh = false;
		j = &fresh;
	}
	for (size_t i = 0; i < j->ndeliver; i++) {
		struct rs_event ev = {
		        .kind = RS_EV_DELIVER, .name = acc->name, .generation = j->generation};
		char label[256], rbuf[64];

		if (j->dlv[i].status == RS_DLV_OK)
			continue;
		rs_delivery_label(&acc->deliver[i], label, sizeof(label));
		ev.detail = label;
		ev.reason = deliver_reason(&j->dlv[i], rbuf, sizeof(rbuf));
		engine_event(e, &ev);
		any = true;
	}
	if (acc->verify_argv &&
	    (any || (j->step != RS_STEP_DELIVERED && j->vfy.status != RS_DLV_OK))) {
		struct rs_event ev = {
		        .kind = RS_EV_VERIFY, .name = acc->name, .generation = j->generation};

		engine_event(e, &ev);
	}
}

/* What resuming acc's journal would do (rollout.c's resume_locked, for a sync: every
 * delivery not done, whatever its backoff). rec: acc's record in the store. */
static void plan_resume(struct rs_engine *e, const struct rs_account_cfg *acc,
                        const struct rs_secret_rec *rec)
{
	struct rs_journal j;

	if (rs_engine_load_journal(e, acc, &j) < 0)
		return;
	if (j.step == RS_STEP_GENERATED) {
		bool active = rec->generation == j.generation && strcmp(rec->current, j.hash) == 0;

		/* One that does not follow the store is refused by the sync, which says so. */
		if (!active && rec->generation + 1 != j.generation)
			return;
		if (j.generation > 1) {
			struct rs_event ev = {.kind = RS_EV_FINISH,
			                      .name = acc->name,
			                      .generation = j.generation};

			engine_event(e, &ev);
		}
		plan_rollout(e, acc, &j);
		return;
	}
	if (j.step == RS_STEP_ACTIVATED ||
	    rs_journal_outstanding(&j, acc->ndeliver, acc->verify_argv != NULL))
		plan_rollout(e, acc, &j);
}

int rs_engine_sync_plan(struct rs_engine *e)
{
	const struct rs_config *cfg = e->cfg;
	struct rs_secrets_data d;
	struct rs_store as;
	const struct rs_map *am = NULL;
	struct plan p = {0};
	struct stat st;
	uint64_t gen;
	int r;

	/* Without the journals the plan would leave out every delivery still to be made:
	 * only a state dir that does not exist yet (a first sync) means that there are none. */
	if (e->statefd < 0 && lstat(cfg->state_dir, &st) == 0) {
		rs_set_why(e->why, sizeof(e->why),
		           "cannot read the journals in %s, which say what is left to deliver: "
		           "sync --dry-run needs root",
		           cfg->state_dir);
		return -EACCES;
	}
	if ((r = rs_store_load_secrets(cfg->store_dir, &d, &gen, e->why, sizeof(e->why))) < 0)
		return r;
	secrets_sort(&d);
	if ((r = rs_store_init(&as, cfg->store_dir, RS_ACCOUNTS_FILE)) < 0)
		goto out;
	r = rs_store_acquire(&as, &am, e->why, sizeof(e->why));
	if (r == -ENOENT) {
		am = NULL;
		e->why[0] = '\0';
		r = 0;
	}
	if (r < 0) {
		am = NULL;
		goto close;
	}
	if ((r = plan_store(e, am, &d, engine_now(), &p)) < 0)
		goto close;
	plan_emit(e, &p, 0);
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct rs_account_cfg *acc = &cfg->accounts[i];
		const struct rs_secret_rec *rec = secrets_find(d.rec, d.n, acc->name);

		if (rec)
			plan_resume(e, acc, rec);
		else
			plan_rollout(e, acc, NULL);
	}
close:
	if (am)
		rs_store_release(&as, am);
	rs_store_close(&as);
out:
	plan_free(&p);
	rs_secrets_data_free(&d);
	return r;
}
