/*
 * rotsecctl fleet follow: keep a watch on PREFIX/sealed/C/H/A and run CMD with the secret
 * on stdin once per new generation (fleet.h).
 *
 * The loop is list-then-watch: read the key (linearizable), act on it if it is newer than
 * what DIR says we hold, then watch from the read's revision + 1. Everything written after
 * the read comes as an event; whatever happened while we were not watching (stopped,
 * disconnected, or a watch canceled because its revision was compacted) is covered by the
 * next read, which sees only the newest value: after missing several rotations, CMD runs
 * once, for the newest. A watch that stays silent for --check is not trusted to be alive:
 * the key is read again, and a failure there (a member cut off from its leader answers
 * no linearizable read) moves to the next endpoint. The watch also carries `hasleader`,
 * so a member that loses its leader cancels it at once.
 *
 * CMD runs as a `command` delivery does (deliver.h): no shell, a clean environment
 * (PATH, ROTSEC_ACCOUNT, ROTSEC_GENERATION), the secret and a newline on stdin, output to
 * /dev/null, its own process group, killed after --cmd-timeout. Only when it exits 0 is
 * the generation recorded in DIR; otherwise it is retried with backoff, or replaced by a
 * newer generation if one arrives first.
 *
 * DIR/state: "rotsec-fleet-state 1\nhost H\naccount A\ngeneration G\nrevision R\n
 * version HEX\n", replaced atomically. R, the key's revision when G was taken, is for the
 * reader: revisions come from the endpoint unauthenticated and decide nothing here.
 */
#define _GNU_SOURCE
#include "fleet_cli.h"
#include "config.h"
#include "deliver.h"
#include "log.h"
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define STATE_FILE  "state"
#define STATE_MAGIC "rotsec-fleet-state 1"
#define BACKOFF_MIN 1
#define BACKOFF_MAX 60
/* Values refused are logged at most REFUSED_LOG_BURST times in REFUSED_LOG_EVERY seconds. */
#define REFUSED_LOG_BURST 3
#define REFUSED_LOG_EVERY 60

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_s(void)
{
	return mono_ms() / 1000;
}

int rs_follow_state_dir(const char *dir, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		int r = -errno;

		(void)snprintf(why, whylen, "state directory %s: %s", dir, strerror(-r));
		return r;
	}
	/* Whoever could write in it could lower the generation held and replay an old
	 * message at us. */
	if (fstat(fd, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 0022)) {
		(void)snprintf(why, whylen,
		               "state directory %s must be owned by this user and writable by "
		               "nobody else",
		               dir);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int rs_follow_state_read(int dirfd, const char *host, const char *account,
                         struct rs_follow_state *st, char *why, size_t whylen)
{
	char buf[1024], h[80] = "", a[80] = "";
	unsigned long long gen = 0;
	long long rev = 0;
	ssize_t n;
	int fd, r;

	memset(st, 0, sizeof(*st));
	fd = openat(dirfd, STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			(void)snprintf(why, whylen, "cannot read the state: %s", strerror(-r));
		return r;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		(void)snprintf(why, whylen, "the state file is empty or unreadable");
		return -EINVAL;
	}
	buf[n] = '\0';
	if (sscanf(buf,
	           STATE_MAGIC "\nhost %79s\naccount %79s\ngeneration %llu\nrevision %lld\n"
	                       "version %32s\n",
	           h, a, &gen, &rev, st->version) != 5 ||
	    rev < 0) {
		(void)snprintf(why, whylen, "the state file is malformed");
		return -EINVAL;
	}
	if (strcmp(h, host) != 0 || strcmp(a, account) != 0) {
		(void)snprintf(why, whylen,
		               "the state directory follows %s of host %s, not %s of %s", a, h,
		               account, host);
		return -EXDEV;
	}
	st->generation = gen;
	st->revision = rev;
	return 0;
}

static int state_write(int dirfd, const char *host, const char *account,
                       const struct rs_follow_state *st)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
	                 STATE_MAGIC "\nhost %s\naccount %s\ngeneration %" PRIu64
	                             "\nrevision %" PRId64 "\nversion %s\n",
	                 host, account, st->generation, st->revision, st->version);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return rs_atomic_replace(dirfd, STATE_FILE, buf, (size_t)n, 0600, geteuid(), getegid());
}

struct follower {
	struct rs_fleet *f;
	const struct rs_fleet_reader *rd;
	const char *host, *account;
	const struct rs_follow_opts *o;
	char key[RS_FLEET_KEY_MAX];
	int dirfd;
	struct rs_follow_state held;
	/* The value looked at last, by digest: the same bytes again (a check read, a
	 * watch event after a resync) are neither opened nor logged again. Revisions are
	 * not used for this: they come from the endpoint unauthenticated, and a forged
	 * one (or one of a cluster rebuilt since) would keep every later value out. */
	unsigned char seen[crypto_generichash_BYTES_MIN];
	bool seen_any;
	/* Refused values: lines logged in the window that began at refused_window
	 * (monotonic seconds, 0: none yet), and those not logged since the last line. */
	int64_t refused_window;
	unsigned refused_lines;
	uint64_t refused_quiet;
	struct rs_fleet_msg pending;
	int64_t pending_rev;
	bool has_pending;
	int64_t retry_at, backoff;
	struct rs_account_cfg acc; /* what the command delivery needs: the name */
	struct rs_delivery cmd;
};

static void write_ack(struct follower *fw, const struct rs_fleet_msg *m)
{
	char key[RS_FLEET_KEY_MAX], val[160], vhex[33];
	int n;

	rs_fleet_version_hex(m->version_id, vhex);
	n = snprintf(val, sizeof(val),
	             "{\"generation\":%" PRIu64 ",\"version\":\"%s\",\"at\":%lld}", m->generation,
	             vhex, (long long)time(NULL));
	if (rs_fleet_key(fw->f, key, sizeof(key), "ack", fw->host, fw->rd->consumer, fw->account) <
	            0 ||
	    n < 0)
		return;
	if (rs_etcd_put(&fw->f->etcd, key, val, (size_t)n, 0) < 0)
		rs_log(LOG_WARNING, "cannot write %s: %s", key, fw->f->etcd.why);
}

/* Run CMD for the pending message. */
static void run_pending(struct follower *fw)
{
	char why[512] = "";
	int r;

	if (!fw->has_pending)
		return;
	r = rs_deliver_one(&fw->acc, &fw->cmd, &fw->pending.current, fw->pending.generation, why,
	                   sizeof(why));
	if (r < 0) {
		rs_log(LOG_ERR, "%s of %s generation %" PRIu64 ": %s; retrying in %" PRId64 " s",
		       fw->account, fw->host, fw->pending.generation, why, fw->backoff);
		fw->retry_at = mono_s() + fw->backoff;
		fw->backoff = fw->backoff * 2 > 300 ? 300 : fw->backoff * 2;
		return;
	}
	fw->held.generation = fw->pending.generation;
	fw->held.revision = fw->pending_rev;
	rs_fleet_version_hex(fw->pending.version_id, fw->held.version);
	r = state_write(fw->dirfd, fw->host, fw->account, &fw->held);
	if (r < 0)
		rs_log(LOG_ERR, "cannot record generation %" PRIu64 " in the state directory: %s",
		       fw->held.generation, strerror(-r));
	rs_log(LOG_INFO, "%s of %s: generation %" PRIu64 " delivered to %s", fw->account, fw->host,
	       fw->held.generation, fw->o->argv[0]);
	if (fw->o->ack)
		write_ack(fw, &fw->pending);
	rs_fleet_msg_free(&fw->pending);
	fw->has_pending = false;
	fw->backoff = BACKOFF_MIN;
}

/*
 * A value refused: a line, up to REFUSED_LOG_BURST of them in REFUSED_LOG_EVERY seconds,
 * then silence but for a count, given with the next line logged. Whoever can write the key
 * (on an etcd without roles, anyone who reaches it) can write junk as fast as etcd takes
 * it, and a line for each would let them flood this host's log; the first few say what is
 * going on.
 */
static void refused(struct follower *fw, int64_t rev, const char *why)
{
	int64_t now = mono_s();

	if (fw->refused_window == 0 || now - fw->refused_window >= REFUSED_LOG_EVERY) {
		fw->refused_window = now > 0 ? now : 1;
		fw->refused_lines = 0;
	}
	if (fw->refused_lines >= REFUSED_LOG_BURST) {
		fw->refused_quiet++;
		return;
	}
	fw->refused_lines++;
	if (fw->refused_quiet)
		rs_log(LOG_ERR,
		       "refusing the value of %s at revision %" PRId64 ": %s (and %" PRIu64
		       " other values refused, not logged)",
		       fw->key, rev, why, fw->refused_quiet);
	else
		rs_log(LOG_ERR, "refusing the value of %s at revision %" PRId64 ": %s", fw->key,
		       rev, why);
	fw->refused_quiet = 0;
}

/* A value of the key at revision `rev`: act on it when it is new. */
static void take_value(struct follower *fw, const unsigned char *value, size_t len, int64_t rev)
{
	struct rs_fleet_msg m;
	uint64_t floor;
	unsigned char digest[sizeof(fw->seen)];
	char why[512] = "";
	int r;

	crypto_generichash(digest, sizeof(digest), value, len, NULL, 0);
	if (fw->seen_any && sodium_memcmp(digest, fw->seen, sizeof(digest)) == 0)
		return;
	memcpy(fw->seen, digest, sizeof(digest));
	fw->seen_any = true;
	/* The replay floor: what we hold, or what is waiting to be run. */
	floor = fw->held.generation;
	if (fw->has_pending && fw->pending.generation > floor)
		floor = fw->pending.generation;
	r = rs_fleet_reader_open_value(fw->rd, fw->host, fw->account, floor, value, len, &m, why,
	                               sizeof(why));
	if (r < 0) {
		refused(fw, rev, why);
		return;
	}
	if (m.generation <= fw->held.generation ||
	    (fw->has_pending && m.generation <= fw->pending.generation)) {
		/* The same generation again (its status changed): nothing to run. */
		rs_fleet_msg_free(&m);
		return;
	}
	if (fw->has_pending)
		rs_fleet_msg_free(&fw->pending);
	fw->pending = m;
	fw->pending_rev = rev;
	fw->has_pending = true;
	fw->backoff = BACKOFF_MIN;
	run_pending(fw);
}

/* Read the key and act on it; *next is where the watch starts. */
static int resync(struct follower *fw, int64_t *next)
{
	struct rs_etcd_kv kv;
	int r = rs_etcd_get(&fw->f->etcd, fw->key, &kv);
	int64_t h = fw->f->etcd.revision;

	/* The answer's revision comes from the endpoint: one that cannot be followed means
	 * a watch from now (0), never an overflow. */
	*next = h > 0 && h < INT64_MAX ? h + 1 : 0;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	take_value(fw, kv.value, kv.value_len, kv.mod_revision);
	rs_etcd_kv_free(&kv);
	return 0;
}

static void sleep_s(int64_t s)
{
	for (int64_t i = 0; i < s * 10 && !stop_signal; i++) {
		struct timespec ts = {0, 100L * 1000 * 1000};

		(void)nanosleep(&ts, NULL);
	}
}

/* One watch until it breaks: 0 to resync (compacted, silent, canceled), <0 an error. */
static int watch_once(struct follower *fw, int64_t from)
{
	struct rs_etcd_watch w;
	int64_t last = mono_s();
	int r;

	r = rs_etcd_watch_open(&fw->f->etcd, &w, fw->key, from, RS_ETCD_WATCH_PROGRESS);
	if (r < 0)
		return r;
	rs_log(LOG_DEBUG, "watching %s from revision %" PRId64 " at %s", fw->key, from,
	       rs_etcd_endpoint(&fw->f->etcd));
	while (!stop_signal) {
		struct rs_etcd_watch_msg m;
		int64_t now = mono_s(), wait = fw->o->check_interval - (now - last);

		if (fw->has_pending && fw->retry_at - now < wait)
			wait = fw->retry_at - now;
		r = rs_etcd_watch_next(&w, wait > 0 ? (int)(wait * 1000) : 0, &m);
		if (stop_signal) {
			if (r == 1)
				rs_etcd_watch_msg_free(&m);
			break;
		}
		if (r < 0)
			break;
		now = mono_s();
		if (fw->has_pending && now >= fw->retry_at)
			run_pending(fw);
		if (r == 0) {
			if (now - last < fw->o->check_interval)
				continue;
			/* Silent too long: is this member still part of the cluster? A read
			 * that has to fail over means the watch's member is not. */
			size_t ep = fw->f->etcd.cur;
			struct rs_etcd_kv kv;

			r = rs_etcd_get(&fw->f->etcd, fw->key, &kv);
			if (r == 0) {
				take_value(fw, kv.value, kv.value_len, kv.mod_revision);
				rs_etcd_kv_free(&kv);
			}
			if ((r < 0 && r != -ENOENT) || fw->f->etcd.cur != ep) {
				rs_log(LOG_WARNING, "the watch at %s went silent and the read %s",
				       rs_etcd_endpoint(&fw->f->etcd),
				       r < 0 ? fw->f->etcd.why : "moved to another endpoint");
				r = r < 0 && r != -ENOENT ? r : 0;
				break;
			}
			last = now;
			continue;
		}
		last = now;
		if (m.canceled) {
			rs_log(LOG_WARNING, "%s; reading %s again", fw->f->etcd.why, fw->key);
			rs_etcd_watch_msg_free(&m);
			r = 0;
			break;
		}
		/* Only the newest value of a batch matters. */
		for (size_t i = m.nevents; i-- > 0;) {
			struct rs_etcd_event *e = &m.events[i];

			if (strcmp(e->kv.key, fw->key) != 0)
				continue;
			if (e->type == RS_ETCD_DELETE) {
				rs_log(LOG_WARNING, "%s was deleted; keeping generation %" PRIu64,
				       fw->key, fw->held.generation);
				break;
			}
			take_value(fw, e->kv.value, e->kv.value_len, e->kv.mod_revision);
			break;
		}
		rs_etcd_watch_msg_free(&m);
	}
	rs_etcd_watch_close(&w);
	return r;
}

int rs_ctl_fleet_follow(struct rs_fleet *f, const struct rs_fleet_reader *rd, const char *host,
                        const char *account, const struct rs_follow_opts *o)
{
	struct follower fw = {.f = f, .rd = rd, .host = host, .account = account, .o = o};
	struct sigaction sa = {.sa_handler = on_stop};
	char why[512] = "";
	int64_t backoff = BACKOFF_MIN;
	unsigned short_watches = 0;
	int r, rc = 0;

	fw.backoff = BACKOFF_MIN;
	fw.dirfd = rs_follow_state_dir(o->state_dir, why, sizeof(why));
	if (fw.dirfd < 0) {
		rs_log(LOG_ERR, "%s", why);
		return RS_FLEET_EXIT_FAIL;
	}
	r = rs_follow_state_read(fw.dirfd, host, account, &fw.held, why, sizeof(why));
	if (r < 0 && r != -ENOENT) {
		rs_log(LOG_ERR, "%s/%s: %s", o->state_dir, STATE_FILE, why);
		close(fw.dirfd);
		return RS_FLEET_EXIT_FAIL;
	}
	if (rs_fleet_key(f, fw.key, sizeof(fw.key), "sealed", rd->consumer, host, account) < 0) {
		close(fw.dirfd);
		return RS_FLEET_EXIT_FAIL;
	}
	(void)snprintf(fw.acc.name, sizeof(fw.acc.name), "%s", account);
	fw.cmd.kind = RS_DELIVER_COMMAND;
	fw.cmd.argv = o->argv;
	fw.cmd.timeout = o->cmd_timeout;

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	rs_log(LOG_INFO, "following %s (holding generation %" PRIu64 ")", fw.key,
	       fw.held.generation);
	while (!stop_signal) {
		int64_t from = 0, started = mono_ms();

		r = resync(&fw, &from);
		if (r == 0)
			r = watch_once(&fw, from);
		if (stop_signal)
			break;
		if (r == 0 && mono_ms() - started >= (int64_t)BACKOFF_MIN * 1000) {
			backoff = BACKOFF_MIN;
			short_watches = 0;
			continue;
		}
		/* A watch canceled as soon as it was made: once is a compacted revision, which
		 * the read just done has moved past; again at once is an endpoint that does
		 * not work (or lies), and a read, a watch and a log line as fast as the
		 * network carries them would only load it and flood the log. */
		if (r == 0 && short_watches++ == 0)
			continue;
		if (r == 0)
			rs_log(LOG_WARNING,
			       "every watch at %s is canceled at once; trying again in "
			       "%" PRId64 " s",
			       rs_etcd_endpoint(&f->etcd), backoff);
		else
			rs_log(LOG_WARNING, "%s; trying again in %" PRId64 " s", f->etcd.why,
			       backoff);
		if (r == -EACCES) {
			/* Refused by etcd: no other endpoint will think otherwise, but the
			 * admin may fix the role; keep trying, slowly. */
			backoff = BACKOFF_MAX;
		}
		rs_etcd_next_endpoint(&f->etcd);
		sleep_s(backoff);
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	rs_log(LOG_INFO, "stopping (signal %d), holding generation %" PRIu64, (int)stop_signal,
	       fw.held.generation);
	if (fw.has_pending)
		rs_fleet_msg_free(&fw.pending);
	close(fw.dirfd);
	return rc;
}
