/*
 * mkstore: write a store from a plain-text description, for tests that need exact
 * contents (NSS and PAM fixtures, damaged-store cases, fuzz seeds) without going through
 * rotsecctl. Test-only: it takes plaintext passwords on stdin.
 *
 *   mkstore DIR [GID] < SPEC
 *
 * SPEC lines (fields are key=value, separated by spaces; "_" in text fields is a space):
 *   user   name= uid= gid= [gecos=] [home=] [shell=] [groups=G1,G2]
 *   group  name= gid= [members=a,b]
 *   secret name= uid= current=PW [since=T] [gen=N] [previous=PW deadline=T [limit=T]]
 *          [revoked=PW1,PW2] [disabled=1] [argon=1] [legacy=1]
 *   agen N   (accounts.cdb generation)    sgen N   (secrets.cdb generation)
 * T is unix time, or "now", "now+N", "now-N". argon=1 hashes with Argon2id (as a
 * short secret would be), otherwise salted BLAKE2b; all hashes of an account share one
 * salt, as rotsec writes them, unless legacy=1 (a salt each, as rotsec wrote them before;
 * the writer then drops the tripwires). Writes secrets.cdb, then
 * accounts.cdb, each only when the spec has lines for it.
 */
#include "secret.h"
#include "store_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *opt(char **kv, int n, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < n; i++)
		if (strncmp(kv[i], key, kl) == 0 && kv[i][kl] == '=')
			return kv[i] + kl + 1;
	return NULL;
}

static void spaces(char *dst, size_t n, const char *src)
{
	(void)snprintf(dst, n, "%s", src ? src : "");
	for (char *p = dst; *p; p++)
		if (*p == '_')
			*p = ' ';
}

static int64_t when(const char *s, int64_t dflt)
{
	int64_t now = (int64_t)time(NULL);

	if (!s)
		return dflt;
	if (strncmp(s, "now", 3) == 0)
		return now + (s[3] ? strtoll(s + 3, NULL, 10) : 0);
	return strtoll(s, NULL, 10);
}

/* Hashed as rotsec hashes a new secret of the account `like` (its salt kept: secret.h),
 * or with a salt of its own (like NULL), as rotsec did before salts were kept. */
static void hash(const char *pw, int argon, const struct rs_secret_rec *like, char out[RS_HASH_MAX])
{
	if (rs_hash_secret_like(pw, strlen(pw), argon ? 60.0 : 190.0, RS_COST_INTERACTIVE, like,
	                        out) < 0) {
		(void)fprintf(stderr, "mkstore: hash failed\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct rs_accounts_data ad = {0};
	struct rs_secrets_data sd = {0};
	struct rs_store_w w;
	uint64_t agen = 1, sgen = 1;
	char line[4096], why[RS_WHY_MAX];
	int r, rc = 1, want_accounts = 0;
	gid_t gid = argc > 2 ? (gid_t)atoi(argv[2]) : 0;

	if (argc < 2 || rs_crypto_init() < 0) {
		(void)fprintf(stderr, "usage: mkstore DIR [GID] < SPEC\n");
		return 2;
	}
	ad.acc = calloc(4096, sizeof(*ad.acc));
	ad.grp = calloc(4096, sizeof(*ad.grp));
	sd.rec = calloc(4096, sizeof(*sd.rec));
	if (!ad.acc || !ad.grp || !sd.rec) {
		free(ad.acc);
		free(ad.grp);
		free(sd.rec);
		return 1;
	}

	while (fgets(line, sizeof(line), stdin)) {
		char *kv[64], *tok, *save = NULL;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		tok = strtok_r(line, " ", &save);
		if (!tok || tok[0] == '#')
			continue;
		while (n < 64 && (kv[n] = strtok_r(NULL, " ", &save)) != NULL)
			n++;
		if (strcmp(tok, "user") == 0 && ad.nacc < 4096) {
			struct rs_store_account *a = &ad.acc[ad.nacc++];
			const char *g = opt(kv, n, "groups");

			want_accounts = 1;
			(void)snprintf(a->name, sizeof(a->name), "%s", opt(kv, n, "name"));
			a->uid = (uint32_t)strtoul(opt(kv, n, "uid"), NULL, 10);
			a->gid = (uint32_t)strtoul(opt(kv, n, "gid"), NULL, 10);
			spaces(a->gecos, sizeof(a->gecos), opt(kv, n, "gecos"));
			spaces(a->home, sizeof(a->home),
			       opt(kv, n, "home") ? opt(kv, n, "home") : "/nonexistent");
			spaces(a->shell, sizeof(a->shell),
			       opt(kv, n, "shell") ? opt(kv, n, "shell") : "/usr/sbin/nologin");
			a->sup_gids = calloc(64, sizeof(uint32_t));
			for (const char *p = g; p && *p && a->nsup < 64;) {
				a->sup_gids[a->nsup++] = (uint32_t)strtoul(p, (char **)&p, 10);
				if (*p == ',')
					p++;
			}
		} else if (strcmp(tok, "group") == 0 && ad.ngrp < 4096) {
			struct rs_store_group *g = &ad.grp[ad.ngrp++];
			const char *m = opt(kv, n, "members");

			want_accounts = 1;
			(void)snprintf(g->name, sizeof(g->name), "%s", opt(kv, n, "name"));
			g->gid = (uint32_t)strtoul(opt(kv, n, "gid"), NULL, 10);
			g->members = calloc(1024, sizeof(*g->members));
			while (m && *m && g->nmembers < 1024) {
				size_t l = strcspn(m, ",");

				(void)snprintf(g->members[g->nmembers++], RS_NAME_MAX + 1, "%.*s",
				               (int)l, m);
				m += l + (m[l] == ',');
			}
		} else if (strcmp(tok, "secret") == 0 && sd.n < 4096) {
			struct rs_secret_rec *s = &sd.rec[sd.n++];
			int argon = opt(kv, n, "argon") != NULL;
			const struct rs_secret_rec *like = opt(kv, n, "legacy") ? NULL : s;
			const char *rev = opt(kv, n, "revoked");
			int64_t now = (int64_t)time(NULL);

			(void)snprintf(s->name, sizeof(s->name), "%s", opt(kv, n, "name"));
			s->uid = (uint32_t)strtoul(opt(kv, n, "uid"), NULL, 10);
			s->generation =
			        opt(kv, n, "gen") ? strtoull(opt(kv, n, "gen"), NULL, 10) : 1;
			s->flags = opt(kv, n, "disabled") ? RS_SECRET_DISABLED : 0;
			hash(opt(kv, n, "current"), argon, like, s->current);
			s->current_since = when(opt(kv, n, "since"), now);
			if (opt(kv, n, "previous")) {
				hash(opt(kv, n, "previous"), argon, like, s->previous);
				s->previous_deadline = when(opt(kv, n, "deadline"), now + 3600);
				s->previous_limit = when(opt(kv, n, "limit"), s->previous_deadline);
			}
			while (rev && *rev && s->nrevoked < RS_TRIPWIRE_MAX) {
				char pw[512];
				size_t l = strcspn(rev, ",");

				(void)snprintf(pw, sizeof(pw), "%.*s", (int)l, rev);
				hash(pw, argon, like, s->revoked[s->nrevoked]);
				s->nrevoked++;
				rev += l + (rev[l] == ',');
			}
		} else if (strcmp(tok, "agen") == 0 && n == 1) {
			agen = strtoull(kv[0], NULL, 10);
		} else if (strcmp(tok, "sgen") == 0 && n == 1) {
			sgen = strtoull(kv[0], NULL, 10);
		} else {
			(void)fprintf(stderr, "mkstore: bad line starting with '%s'\n", tok);
			rc = 2;
			goto out;
		}
	}

	r = rs_store_w_open(argv[1], 5000, &w, why, sizeof(why));
	if (r < 0) {
		(void)fprintf(stderr, "mkstore: %s\n", why);
		goto out;
	}
	if (sd.n || !want_accounts)
		r = rs_store_write_secrets(&w, &sd, sgen, gid);
	if (r == 0 && want_accounts)
		r = rs_store_write_accounts(&w, &ad, agen);
	rs_store_w_close(&w);
	if (r < 0) {
		(void)fprintf(stderr, "mkstore: write failed: %s\n", strerror(-r));
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < ad.nacc; i++)
		free(ad.acc[i].sup_gids);
	for (size_t i = 0; i < ad.ngrp; i++)
		free(ad.grp[i].members);
	free(ad.acc);
	free(ad.grp);
	free(sd.rec);
	return rc;
}
