/*
 * Test driver for the host side of the fleet: publishes one rotation with
 * rs_fleet_publish as rotsecd will, keeping what it returns (revision and generation) in
 * a file as the journal will, or keeps the alive key for a while.
 *
 *   fleet_publish [etcd options] --host H --sign-key K --rev-file F [--version HEX]
 *                 [--degraded] [--previous-until T] [--rotated-at T]
 *                 ACCOUNT GENERATION CONSUMER=PUB...
 *       stdin: the current secret on line 1, the previous one on line 2 (optional)
 *       --rotated-at: the activation time (default now); the engine's is the journal's,
 *       the same for every retry of a generation, and so must a test's retry be
 *   fleet_publish [etcd options] --host H --sign-key K --alive SECONDS
 *
 * etcd options: --endpoints L --prefix P --user U --password-file F --cacert C.
 * Prints "OUTCOME REVISION VERSION" (written/found/replaced) or "error ERRNO: why" on
 * stderr with exit status 1 (3 for -EEXIST, 4 for unreachable/no leader/timeout,
 * 8 permission denied).
 */
#define _GNU_SOURCE
#include "fleet.h"
#include "sealed.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

static int read_line(struct rs_secret *s)
{
	char buf[RS_SECRET_MAX + 2];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		char c;
		ssize_t k = read(STDIN_FILENO, &c, 1);

		if (k <= 0 || c == '\n')
			break;
		buf[n++] = c;
	}
	if (n == 0)
		return -ENOENT;
	return rs_secret_from(s, buf, n);
}

static int exit_for(int r)
{
	if (r == -EEXIST)
		return 3;
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EAGAIN)
		return 4;
	if (r == -EACCES)
		return 8;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"endpoints", 1, NULL, 'e'},      {"prefix", 1, NULL, 'p'},
	        {"user", 1, NULL, 'u'},           {"password-file", 1, NULL, 'w'},
	        {"cacert", 1, NULL, 'C'},         {"host", 1, NULL, 'H'},
	        {"sign-key", 1, NULL, 'k'},       {"rev-file", 1, NULL, 'r'},
	        {"version", 1, NULL, 'v'},        {"degraded", 0, NULL, 'd'},
	        {"previous-until", 1, NULL, 'P'}, {"alive", 1, NULL, 'a'},
	        {"rotated-at", 1, NULL, 't'},     {NULL, 0, NULL, 0}};
	struct rs_fleet_cfg cfg;
	struct rs_fleet f;
	struct rs_fleet_rotation rot = {0};
	struct rs_fleet_consumer cons[16];
	unsigned char pks[16][32];
	struct rs_secret cur = {0}, prev = {0};
	const char *rev_file = NULL, *vhex = NULL;
	char why[512] = "", vout[33];
	enum rs_fleet_outcome out = 0;
	struct rs_fleet_published last = {0};
	int64_t alive = -1;
	size_t ncons = 0;
	int opt, r, rc = 1;

	if (rs_crypto_init() < 0)
		return 1;
	rs_fleet_cfg_init(&cfg);
	rot.rotated_at = (int64_t)time(NULL);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			r = rs_fleet_cfg_set_endpoints(&cfg, optarg, why, sizeof(why));
			break;
		case 'p':
			r = rs_fleet_cfg_set(&cfg.prefix, optarg);
			break;
		case 'u':
			r = rs_fleet_cfg_set(&cfg.user, optarg);
			break;
		case 'w':
			r = rs_fleet_cfg_set(&cfg.password_file, optarg);
			break;
		case 'C':
			r = rs_fleet_cfg_set(&cfg.cacert, optarg);
			break;
		case 'H':
			r = rs_fleet_cfg_set(&cfg.host, optarg);
			break;
		case 'k':
			r = rs_fleet_cfg_set(&cfg.signing_key, optarg);
			break;
		case 'r':
			rev_file = optarg;
			r = 0;
			break;
		case 'v':
			vhex = optarg;
			r = 0;
			break;
		case 'd':
			rot.degraded = true;
			r = 0;
			break;
		case 'P':
			rot.previous_valid_until = strtoll(optarg, NULL, 10);
			r = 0;
			break;
		case 'a':
			alive = strtoll(optarg, NULL, 10);
			r = 0;
			break;
		case 't':
			rot.rotated_at = strtoll(optarg, NULL, 10);
			r = 0;
			break;
		default:
			rs_fleet_cfg_free(&cfg);
			return 2;
		}
		if (r < 0) {
			(void)fprintf(stderr, "bad option: %s\n", why);
			rs_fleet_cfg_free(&cfg);
			return 2;
		}
	}
	r = rs_fleet_cfg_finish(&cfg, RS_FLEET_HOST, why, sizeof(why));
	if (r < 0) {
		(void)fprintf(stderr, "settings: %s\n", why);
		rs_fleet_cfg_free(&cfg);
		return 2;
	}
	r = rs_fleet_open(&f, &cfg, true);
	if (r < 0) {
		(void)fprintf(stderr, "error %d: %s\n", r, f.why);
		rs_fleet_cfg_free(&cfg);
		return exit_for(r);
	}
	if (alive >= 0) {
		time_t end = time(NULL) + alive;

		while (time(NULL) < end) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			r = rs_fleet_alive_tick(&f, (int64_t)ts.tv_sec, NULL);
			if (r < 0)
				(void)fprintf(stderr, "alive: %s\n", f.why);
			sleep(1);
		}
		rc = 0;
		goto out;
	}
	if (optind + 2 > argc || !rev_file) {
		(void)fprintf(stderr, "usage: see the header of fleet_publish.c\n");
		rc = 2;
		goto out;
	}
	rot.account = argv[optind];
	rot.generation = strtoull(argv[optind + 1], NULL, 10);
	for (int i = optind + 2; i < argc && ncons < 16; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq)
			goto out;
		*eq = '\0';
		if (rs_read_public_key(eq + 1, pks[ncons], why, sizeof(why)) < 0) {
			(void)fprintf(stderr, "%s\n", why);
			goto out;
		}
		cons[ncons] = (struct rs_fleet_consumer){argv[i], pks[ncons], "ok"};
		ncons++;
	}
	if (vhex) {
		if (sodium_hex2bin(rot.version_id, sizeof(rot.version_id), vhex, strlen(vhex), NULL,
		                   NULL, NULL) != 0)
			goto out;
	} else {
		rs_fleet_version_id_new(rot.version_id);
	}
	if (read_line(&cur) < 0)
		goto out;
	rot.current = &cur;
	if (read_line(&prev) == 0)
		rot.previous = &prev;
	else
		rot.previous_valid_until = 0;
	{
		FILE *fp = fopen(rev_file, "r");

		if (fp) {
			if (fscanf(fp, "%" SCNd64 " %" SCNu64, &last.mod_revision,
			           &last.generation) != 2)
				last = (struct rs_fleet_published){0};
			(void)fclose(fp);
		}
	}
	r = rs_fleet_publish(&f, &rot, cons, ncons, NULL, 0, &last, &out);
	if (r < 0) {
		(void)fprintf(stderr, "error %d: %s\n", r, f.why);
		rc = exit_for(r);
		goto out;
	}
	{
		FILE *fp = fopen(rev_file, "w");

		if (!fp ||
		    fprintf(fp, "%" PRId64 " %" PRIu64 "\n", last.mod_revision, last.generation) <
		            0 ||
		    fclose(fp) != 0)
			goto out;
	}
	rs_fleet_version_hex(rot.version_id, vout);
	printf("%s %" PRId64 " %s %u\n",
	       out == RS_FLEET_WRITTEN ? "written"
	       : out == RS_FLEET_FOUND ? "found"
	                               : "replaced",
	       last.mod_revision, vout, f.etcd.calls);
	rc = 0;
out:
	rs_secret_free(&cur);
	rs_secret_free(&prev);
	rs_fleet_close(&f);
	rs_fleet_cfg_free(&cfg);
	return rc;
}
