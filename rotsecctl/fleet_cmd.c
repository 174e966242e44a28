/*
 * rotsecctl fleet fetch|follow|status, and keygen --sign (fleet.h for exit statuses).
 *
 * Settings come from the `consumer = { ... }` section of the file given with -c, then from
 * the command line, which overrides it. Nothing here is run as a daemon's config: a
 * consumer runs these as whatever user owns its keys.
 */
#define _GNU_SOURCE
#include "fleet_cli.h"
#include "rotsecctl.h"
#include "duration.h"
#include "why.h"
#include "safefile.h"
#include "secret.h"
#include "signkey.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char fleet_usage[] =
        "usage: rotsecctl [-c FILE] fleet fetch  [OPTIONS] HOST ACCOUNT\n"
        "       rotsecctl [-c FILE] fleet follow [OPTIONS] --state DIR HOST ACCOUNT -- CMD "
        "[ARGS...]\n"
        "       rotsecctl [-c FILE] fleet status [OPTIONS] [--json]\n"
        "\n"
        "  --endpoints URL[,URL...]   etcd endpoints\n"
        "  --key FILE                 this consumer's X25519 secret key (C.key)\n"
        "  --consumer NAME            this consumer's name (default: the key file's name)\n"
        "  --trust HOST=FILE          a host's signing public key (repeat for more hosts)\n"
        "  --prefix P                 key prefix (default " RS_FLEET_DEFAULT_PREFIX ")\n"
        "  --cacert FILE, --cert FILE, --keyfile FILE   TLS to etcd\n"
        "  --user NAME, --password-file FILE            etcd authentication\n"
        "  --timeout SECONDS          per etcd operation, failover included (default 5)\n"
        "  --state DIR                generation held (follow: kept there; fetch: replay check)\n"
        "  --cmd-timeout D            follow: kill CMD after D (default 30s)\n"
        "  --check D                  follow: read the key after D of silence (default 30s)\n"
        "  --ack                      follow: write PREFIX/ack/HOST/CONSUMER/ACCOUNT\n"
        "  -h, --help                 print this help and exit\n";

static int usage(const char *msg)
{
	if (msg)
		ctl_err("%s", msg);
	(void)fputs(fleet_usage, stderr);
	return RS_FLEET_EXIT_USAGE;
}

int rs_ctl_keygen_sign(const char *prefix)
{
	char why[512] = "";
	int r;

	if (rs_crypto_init() < 0)
		return 1;
	r = rs_signkey_generate(prefix, why, sizeof(why));
	if (r < 0) {
		ctl_err("%s", why[0] ? why : strerror(-r));
		return 1;
	}
	printf("wrote %s.key (the host's signing key: fleet signing_key) and %s.pub (give it to "
	       "the consumers: --trust HOST=%s.pub)\n",
	       prefix, prefix, prefix);
	return 0;
}

int rs_ctl_fleet_exit(int r)
{
	switch (r) {
	case 0:
		return RS_FLEET_EXIT_OK;
	case -ENOENT:
		return RS_FLEET_EXIT_NOKEY;
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
	case -EAGAIN:
		return RS_FLEET_EXIT_UNREACHABLE;
	case -ENOKEY:
	case -EKEYREJECTED:
		return RS_FLEET_EXIT_UNTRUSTED;
	case -EXDEV:
		return RS_FLEET_EXIT_WRONG_NAME;
	case -ESTALE:
		return RS_FLEET_EXIT_REPLAY;
	case -EACCES:
		return RS_FLEET_EXIT_DENIED;
	case -EBADMSG:
		return RS_FLEET_EXIT_SEALED;
	default:
		return RS_FLEET_EXIT_FAIL;
	}
}

static int cmd_fetch(struct rs_fleet *f, const struct rs_fleet_reader *rd, const char *host,
                     const char *account, const char *state_dir)
{
	struct rs_follow_state held = {0};
	struct rs_fleet_msg m;
	char why[512] = "";
	int r, rc;

	if (state_dir) {
		int dirfd = rs_follow_state_dir(state_dir, why, sizeof(why));

		if (dirfd < 0) {
			ctl_err("%s", why);
			return RS_FLEET_EXIT_FAIL;
		}
		r = rs_follow_state_read(dirfd, host, account, &held, why, sizeof(why));
		close(dirfd);
		if (r < 0 && r != -ENOENT) {
			ctl_err("%s", why);
			return RS_FLEET_EXIT_FAIL;
		}
	}
	r = rs_fleet_fetch(f, rd, host, account, held.generation, &m, NULL);
	if (r < 0) {
		ctl_err("%s", f->why[0] ? f->why : strerror(-r));
		return rs_ctl_fleet_exit(r);
	}
	rc = ctl_print_secret(&m.current);
	rs_fleet_msg_free(&m);
	return rc;
}

/* ---- status ---- */

struct host_row {
	struct rs_fleet_status st;
	int64_t mod_revision;
};

static const struct rs_etcd_kv *find_kv(const struct rs_etcd_kvs *kvs, const char *key)
{
	for (size_t i = 0; i < kvs->n; i++)
		if (strcmp(kvs->kv[i].key, key) == 0)
			return &kvs->kv[i];
	return NULL;
}

/* The generation in an ack value, 0 when there is none or it is not one. */
static uint64_t ack_generation(const struct rs_etcd_kv *kv)
{
	json_error_t jerr;
	json_t *o = kv ? json_loadb((const char *)kv->value, kv->value_len, 0, &jerr) : NULL;
	json_t *g = json_object_get(o, "generation");
	uint64_t gen = json_is_integer(g) && json_integer_value(g) > 0
	                       ? (uint64_t)json_integer_value(g)
	                       : 0;

	json_decref(o);
	return gen;
}

/* A key from etcd, any bytes, as printable text for a message. */
static const char *printable(const char *in, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s", in);
	rs_why_printable(buf);
	return buf;
}

static int cmd_status(struct rs_fleet *f, int json)
{
	struct rs_etcd_kvs sts = {0}, alive = {0}, acks = {0};
	char pfx[RS_FLEET_KEY_MAX];
	json_t *arr = json ? json_array() : NULL;
	int64_t now = (int64_t)time(NULL);
	int worst = 0, r;

	if ((r = rs_fleet_key(f, pfx, sizeof(pfx), "status", NULL, NULL, NULL)) < 0 ||
	    (r = rs_etcd_get_prefix(&f->etcd, pfx, 0, &sts)) < 0 ||
	    (r = rs_fleet_key(f, pfx, sizeof(pfx), "alive", NULL, NULL, NULL)) < 0 ||
	    (r = rs_etcd_get_prefix(&f->etcd, pfx, 0, &alive)) < 0 ||
	    (r = rs_fleet_key(f, pfx, sizeof(pfx), "ack", NULL, NULL, NULL)) < 0 ||
	    (r = rs_etcd_get_prefix(&f->etcd, pfx, 0, &acks)) < 0) {
		ctl_err("%s", f->etcd.why[0] ? f->etcd.why : strerror(-r));
		worst = 3;
		goto out;
	}
	if (!json)
		printf("%-16s %-20s %5s %-8s %-17s %-8s %-9s %s\n", "HOST", "ACCOUNT", "GEN", "AGE",
		       "PREVIOUS UNTIL", "DEGRADED", "SWITCHED", "ALIVE");
	for (size_t i = 0; i < sts.n; i++) {
		struct rs_fleet_status st;
		char key[RS_FLEET_KEY_MAX], age[16] = "-", until[32], sw[16];
		size_t switched = 0;
		bool is_alive;
		json_t *o, *cs;

		if (rs_fleet_status_parse(sts.kv[i].value, sts.kv[i].value_len, &st) < 0) {
			ctl_err("%s is not a rotsec status; skipped",
			        printable(sts.kv[i].key, key, sizeof(key)));
			worst = worst < 1 ? 1 : worst;
			continue;
		}
		/* Whoever may write one host's keys (that host, or anyone without roles)
		 * must not show up as another: a status is only its own key's. */
		if (rs_fleet_key(f, key, sizeof(key), "status", st.host, st.account, NULL) < 0 ||
		    strcmp(key, sts.kv[i].key) != 0) {
			ctl_err("%s holds a status of %s on host %s; skipped",
			        printable(sts.kv[i].key, key, sizeof(key)), st.account, st.host);
			rs_fleet_status_free(&st);
			worst = worst < 1 ? 1 : worst;
			continue;
		}
		is_alive = rs_fleet_key(f, key, sizeof(key), "alive", st.host, NULL, NULL) == 0 &&
		           find_kv(&alive, key);
		cs = json ? json_array() : NULL;
		for (size_t k = 0; k < st.nconsumers; k++) {
			uint64_t g = 0;

			if (rs_fleet_key(f, key, sizeof(key), "ack", st.host, st.consumers[k].name,
			                 st.account) == 0)
				g = ack_generation(find_kv(&acks, key));
			if (g >= st.generation)
				switched++;
			if (cs)
				json_array_append_new(
				        cs,
				        json_pack("{s:s,s:s,s:I,s:b}", "name", st.consumers[k].name,
				                  "state", st.consumers[k].state, "ack_generation",
				                  (json_int_t)g, "switched", g >= st.generation));
		}
		if (st.degraded)
			worst = 2;
		else if ((!is_alive || switched < st.nconsumers) && worst < 1)
			worst = 1;
		if (json) {
			o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:b,s:b,s:o}", "host", st.host,
			              "account", st.account, "generation",
			              (json_int_t)st.generation, "version", st.version,
			              "rotated_at", (json_int_t)st.rotated_at,
			              "previous_valid_until", (json_int_t)st.previous_valid_until,
			              "degraded", st.degraded, "alive", is_alive, "consumers", cs);
			if (o)
				json_array_append_new(arr, o);
		} else {
			if (st.rotated_at > 0)
				rs_duration_format(now - st.rotated_at, age, sizeof(age));
			ctl_fmt_time_as(st.previous_valid_until, CTL_TIME_MINUTE, until,
			                sizeof(until));
			(void)snprintf(sw, sizeof(sw), "%zu/%zu", switched, st.nconsumers);
			printf("%-16s %-20s %5" PRIu64 " %-8s %-17s %-8s %-9s %s\n", st.host,
			       st.account, st.generation, age, until,
			       st.degraded ? "DEGRADED" : "no", sw, is_alive ? "yes" : "NO");
		}
		rs_fleet_status_free(&st);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (s)
			printf("%s\n", s);
		free(s);
	}
out:
	json_decref(arr);
	rs_etcd_kvs_free(&sts);
	rs_etcd_kvs_free(&alive);
	rs_etcd_kvs_free(&acks);
	return worst;
}

/* ---- options ---- */

enum {
	OPT_ENDPOINTS = 256,
	OPT_KEY,
	OPT_CONSUMER,
	OPT_TRUST,
	OPT_PREFIX,
	OPT_CACERT,
	OPT_CERT,
	OPT_KEYFILE,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_TIMEOUT,
	OPT_STATE,
	OPT_JSON,
	OPT_CMD_TIMEOUT,
	OPT_CHECK,
	OPT_ACK,
};

static const struct option long_opts[] = {
        {"endpoints", required_argument, NULL, OPT_ENDPOINTS},
        {"key", required_argument, NULL, OPT_KEY},
        {"consumer", required_argument, NULL, OPT_CONSUMER},
        {"trust", required_argument, NULL, OPT_TRUST},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"cert", required_argument, NULL, OPT_CERT},
        {"keyfile", required_argument, NULL, OPT_KEYFILE},
        {"user", required_argument, NULL, OPT_USER},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"state", required_argument, NULL, OPT_STATE},
        {"json", no_argument, NULL, OPT_JSON},
        {"cmd-timeout", required_argument, NULL, OPT_CMD_TIMEOUT},
        {"check", required_argument, NULL, OPT_CHECK},
        {"ack", no_argument, NULL, OPT_ACK},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

struct cli {
	struct rs_fleet_cfg cfg;
	struct rs_follow_opts follow;
	int json;
	char why[512];
};

/* The setting an option of one path or word sets, or NULL for the other options. */
static char **string_setting(struct rs_fleet_cfg *cfg, int opt)
{
	switch (opt) {
	case OPT_KEY:
		return &cfg->key_file;
	case OPT_CONSUMER:
		return &cfg->name;
	case OPT_PREFIX:
		return &cfg->prefix;
	case OPT_CACERT:
		return &cfg->cacert;
	case OPT_CERT:
		return &cfg->cert;
	case OPT_KEYFILE:
		return &cfg->key;
	case OPT_USER:
		return &cfg->user;
	case OPT_PASSWORD_FILE:
		return &cfg->password_file;
	default:
		return NULL;
	}
}

/* One of the other options into cli: 0, -errno with c->why, or an exit status. */
static int take_other(struct cli *c, int opt, const char *arg)
{
	int64_t d;
	int r = 0;

	switch (opt) {
	case OPT_ENDPOINTS:
		r = rs_fleet_cfg_set_endpoints(&c->cfg, arg, c->why, sizeof(c->why));
		break;
	case OPT_TRUST:
		r = rs_fleet_cfg_add_trust(&c->cfg, arg, c->why, sizeof(c->why));
		break;
	case OPT_TIMEOUT: {
		char *end;
		long t = strtol(arg, &end, 10);

		/* Whole seconds, or a duration such as 2s. */
		if (*end) {
			if (rs_duration_parse(arg, &d) < 0)
				return usage("--timeout takes 1 to 600 seconds");
			t = (long)d;
		}
		if (t <= 0 || t > 600)
			return usage("--timeout takes 1 to 600 seconds");
		c->cfg.timeout_ms = (int64_t)t * 1000;
		break;
	}
	case OPT_STATE:
		c->follow.state_dir = arg;
		break;
	case OPT_JSON:
		c->json = 1;
		break;
	case OPT_CMD_TIMEOUT:
		if (rs_duration_parse(arg, &d) < 0 || d <= 0)
			return usage("--cmd-timeout takes a duration like 30s or 5m");
		c->follow.cmd_timeout = d;
		break;
	case OPT_CHECK:
		if (rs_duration_parse(arg, &d) < 0 || d <= 0)
			return usage("--check takes a duration like 30s or 5m");
		c->follow.check_interval = d;
		break;
	case OPT_ACK:
		c->follow.ack = 1;
		break;
	default:
		return usage(NULL);
	}
	return r;
}

/* One option into cli: 0, or an exit status. */
static int take_option(struct cli *c, int opt, const char *arg)
{
	char **field = string_setting(&c->cfg, opt);
	int r = field ? rs_fleet_cfg_set(field, arg) : take_other(c, opt, arg);

	if (r == -ENOMEM) {
		ctl_err("out of memory");
		return RS_FLEET_EXIT_FAIL;
	}
	if (r < 0)
		return usage(c->why);
	return r;
}

int rs_ctl_fleet(const char *conf, int argc, char **argv)
{
	struct cli c = {.follow = {.cmd_timeout = 30, .check_interval = 30}};
	struct rs_fleet f;
	struct rs_fleet_reader rd;
	const char *verb, *host = NULL, *account = NULL;
	bool need_reader;
	int nopts = argc, opt, rc, r;

	if (argc < 2)
		return usage(NULL);
	verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		(void)fputs(fleet_usage, stdout);
		return 0;
	}
	if (strcmp(verb, "fetch") != 0 && strcmp(verb, "follow") != 0 &&
	    strcmp(verb, "status") != 0)
		return usage("unknown fleet command");
	if (rs_crypto_init() < 0)
		return RS_FLEET_EXIT_FAIL;
	rs_fleet_cfg_init(&c.cfg);
	if (conf && rs_fleet_cfg_load(&c.cfg, conf, "consumer", c.why, sizeof(c.why)) < 0) {
		ctl_err("%s", c.why);
		rc = RS_FLEET_EXIT_FAIL;
		goto out_cfg;
	}
	/* CMD follows "--" and is not ours to parse. */
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			nopts = i;
			c.follow.argv = argv + i + 1;
			break;
		}
	}
	optind = 2;
	opterr = 1;
	while ((opt = getopt_long(nopts, argv, "h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			(void)fputs(fleet_usage, stdout);
			rc = 0;
			goto out_cfg;
		}
		rc = take_option(&c, opt, optarg);
		if (rc)
			goto out_cfg;
	}
	for (int i = optind; i < nopts; i++) {
		if (!host)
			host = argv[i];
		else if (!account)
			account = argv[i];
		else {
			rc = usage("too many arguments");
			goto out_cfg;
		}
	}
	if (strcmp(verb, "status") == 0 && host) {
		rc = usage("fleet status takes no HOST or ACCOUNT");
		goto out_cfg;
	}
	if (strcmp(verb, "status") != 0 && (!host || !account)) {
		rc = usage("fetch and follow need HOST ACCOUNT");
		goto out_cfg;
	}
	if (strcmp(verb, "follow") == 0 &&
	    (!c.follow.state_dir || !c.follow.argv || !c.follow.argv[0])) {
		rc = usage("follow needs --state DIR and -- CMD [ARGS...]");
		goto out_cfg;
	}
	if (strcmp(verb, "follow") == 0 && c.follow.argv[0][0] != '/') {
		rc = usage(
		        "CMD must be an absolute path (it is run without a shell or PATH search)");
		goto out_cfg;
	}
	/* status reads public values only: it needs no consumer key. */
	need_reader = strcmp(verb, "status") != 0;
	r = rs_fleet_cfg_finish(&c.cfg, need_reader ? RS_FLEET_CONSUMER : RS_FLEET_OBSERVER, c.why,
	                        sizeof(c.why));
	if (r < 0) {
		rc = r == -ENOMEM ? RS_FLEET_EXIT_FAIL : usage(c.why);
		goto out_cfg;
	}
	if (need_reader && (!rs_fleet_name_valid(host) || !rs_name_valid(account))) {
		rc = usage("HOST is 1 to 64 of A-Z a-z 0-9 . _ -, ACCOUNT a user name");
		goto out_cfg;
	}
	r = rs_fleet_open(&f, &c.cfg, false);
	if (r < 0) {
		ctl_err("%s", f.why);
		rc = RS_FLEET_EXIT_FAIL;
		goto out_cfg;
	}
	if (!need_reader) {
		rc = cmd_status(&f, c.json);
		goto out_fleet;
	}
	r = rs_fleet_reader_open(&rd, &c.cfg, c.why, sizeof(c.why));
	if (r < 0) {
		ctl_err("%s", c.why);
		rc = RS_FLEET_EXIT_FAIL;
		goto out_fleet;
	}
	if (strcmp(verb, "fetch") == 0)
		rc = cmd_fetch(&f, &rd, host, account, c.follow.state_dir);
	else
		rc = rs_ctl_fleet_follow(&f, &rd, host, account, &c.follow);
	rs_fleet_reader_close(&rd);
out_fleet:
	rs_fleet_close(&f);
out_cfg:
	rs_fleet_cfg_free(&c.cfg);
	return rc;
}
