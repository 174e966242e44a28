/*
 * rotsecd — rotates on schedules and events (ARCHITECTURE.md, contract §3 and §6).
 *
 *   rotsecd [-c FILE] [-f]
 *
 * Start: load the config (refuse to start on an error), take the instance lock (one
 * rotsecd per state dir), sync it into the store, resume whatever the journal says a crash
 * interrupted, tell systemd (or any NOTIFY_SOCKET listener) we are ready. Then loop: one
 * scheduler pass (scheduler.c), metrics, and sleep until the next thing is due, a signal
 * arrives, or the store, the journal or a usage record changes (inotify).
 *
 * What wakes the loop is bounded by who can cause it. The store and the journals change
 * only by root's hand (`rotsecctl rotate` is noticed at once, with a pass over every
 * account). Usage records change on logins, which anyone who can reach a login prompt
 * causes: their changes are collected and looked at in one pass over just those accounts
 * at most once per usage_interval, and the records of failed logins (.dummy.usage) wake
 * nothing. The metrics are rewritten after each pass and at least every metrics_interval,
 * with the time of the rewrite, so that a stale file shows a dead daemon.
 *
 * With a fleet section, the loop also keeps this host's alive key in etcd on its lease
 * (renewed every 20 s; etcd out of reach is retried every few seconds and said once), and
 * a clean stop revokes the lease so the host shows as down at once.
 *
 * SIGHUP reloads (a bad config is logged with file:line and the old one kept), SIGUSR1
 * rotates every account not in grace, SIGTERM/SIGINT stop after the current step.
 */
#define _GNU_SOURCE
#include "audit.h"
#include "config.h"
#include "scheduler.h"
#include "engine.h"
#include "log.h"
#include "owndirs.h"
#include "paths.h"
#include "safefile.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The sd_notify protocol without libsystemd: one datagram to $NOTIFY_SOCKET, a path or,
 * with a leading '@', an abstract socket name. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

static void harden_process(void)
{
	struct rlimit no_core = {0, 0};

	/* Secrets pass through this process: no core dumps, no ptrace by non-root, and
	 * every file it creates private unless a mode says otherwise. */
	umask(077);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &no_core);
}

/* One log line per thing the engine does (rotate, deliver, revoke, hold, degraded ...),
 * with its generation and the previous secret's deadline: a log alone says what is valid
 * until when. Nothing secret is in an event. */
static void log_event(void *arg, const struct rs_event *ev)
{
	char line[1024];
	int prio = LOG_INFO;

	(void)arg;
	rs_event_format(ev, line, sizeof(line));
	if (ev->kind == RS_EV_DEGRADED)
		prio = LOG_ALERT;
	else if (ev->result < 0 || ev->kind == RS_EV_HOLD)
		prio = LOG_WARNING;
	else if (ev->kind == RS_EV_REVOKE || ev->kind == RS_EV_RECOVERED)
		prio = LOG_NOTICE;
	rs_log(prio, "%s", line);
}

static void log_diags(const struct rs_config *cfg)
{
	for (size_t i = 0; i < cfg->ndiags; i++)
		rs_log(cfg->diags[i].warning ? LOG_WARNING : LOG_ERR, "%s%s",
		       cfg->diags[i].warning ? "warning: " : "", cfg->diags[i].msg);
}

static int watch_dirs(int ifd, const struct rs_config *cfg, int wds[3])
{
	const char *dirs[3] = {cfg->store_dir, cfg->state_dir, cfg->run_dir};
	/* IN_MOVED_TO: the store and the journals are replaced by rename. Not IN_CLOSE_WRITE
	 * there: every pass opens the store lock and account locks for writing, and their
	 * close would wake the loop again at once, forever. Usage records in the run dir are
	 * rewritten in place by PAM, so there it is IN_CLOSE_WRITE; nothing of ours is
	 * written there. */
	const uint32_t masks[3] = {IN_MOVED_TO | IN_DELETE | IN_ONLYDIR,
	                           IN_MOVED_TO | IN_DELETE | IN_ONLYDIR,
	                           IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR};

	for (int i = 0; i < 3; i++) {
		if (wds[i] >= 0)
			inotify_rm_watch(ifd, wds[i]);
		wds[i] = inotify_add_watch(ifd, dirs[i], masks[i]);
	}
	return 0;
}

/*
 * One rotsecd per state dir: two would both rotate and deliver on their own schedules.
 * The lock is an flock on STATE_DIR/rotsecd.pid, held for the life of the process (the
 * kernel drops it when the process dies, however it dies), and the file holds the pid of
 * the holder so that a second one can say who it is. Returns the fd to keep open, or -1.
 */
static int instance_lock(const struct rs_engine *e)
{
	char buf[32] = "";
	ssize_t n;
	int fd = rs_lock(e->statefd, "rotsecd.pid", 0);

	if (fd == -ETIMEDOUT) {
		int rfd = openat(e->statefd, "rotsecd.pid", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		n = rfd >= 0 ? read(rfd, buf, sizeof(buf) - 1) : -1;
		if (rfd >= 0)
			close(rfd);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rs_log(LOG_ERR,
		       "another rotsecd (pid %s) is running on the state dir %s; not starting "
		       "a second one",
		       buf[0] ? buf : "unknown", e->cfg->state_dir);
		return -1;
	}
	if (fd < 0) {
		rs_log(LOG_ERR, "cannot lock %s/rotsecd.pid: %s", e->cfg->state_dir, strerror(-fd));
		return -1;
	}
	(void)snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || rs_write_all(fd, buf, strlen(buf)) < 0)
		rs_log(LOG_WARNING, "cannot write the pid to %s/rotsecd.pid", e->cfg->state_dir);
	return fd;
}

/*
 * Usage records whose change waits for the next usage pass: at most one entry per
 * configured account, however many logins there were.
 */
struct usage_batch {
	char (*names)[RS_NAME_MAX + 1];
	size_t n, cap;
	bool all;     /* the event queue overflowed: any record may have changed */
	int64_t at;   /* when the pass is due; 0 = nothing waits */
	int64_t last; /* when the last usage pass ran */
};

static void batch_add(struct usage_batch *b, const struct rs_config *cfg, const char *file,
                      int64_t now)
{
	size_t len = strlen(file);
	char name[RS_NAME_MAX + 1];

	/* NAME.usage of a configured account; dot files (the record of failed logins, temp
	 * files) are nobody's business here. */
	if (file[0] == '.' || len <= 6 || strcmp(file + len - 6, ".usage") != 0 ||
	    len - 6 > RS_NAME_MAX)
		return;
	memcpy(name, file, len - 6);
	name[len - 6] = '\0';
	if (!rs_config_account(cfg, name))
		return;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->names[i], name) == 0)
			goto schedule;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		void *p = realloc(b->names, cap * sizeof(*b->names));

		if (!p) {
			b->all = true; /* look at every account instead */
			goto schedule;
		}
		b->names = p;
		b->cap = cap;
	}
	memcpy(b->names[b->n++], name, len - 6 + 1);
schedule:
	if (!b->at)
		b->at = b->last + cfg->usage_interval > now ? b->last + cfg->usage_interval : now;
}

/*
 * Read every pending inotify event. Returns true when the store or the state dir changed
 * (a pass over every account is due now); usage records go into the batch.
 */
static bool read_events(int ifd, const int wds[3], const struct rs_config *cfg,
                        struct usage_batch *b, int64_t now)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool full = false;
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			if (ev->mask & IN_Q_OVERFLOW) {
				/* Lost events: the store may have changed too. */
				full = true;
				b->all = true;
			} else if (ev->wd == wds[2] && ev->len) {
				batch_add(b, cfg, ev->name, now);
			} else if (ev->wd != wds[2]) {
				full = true;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	if (b->all && !b->at)
		b->at = now;
	return full;
}

static void batch_clear(struct usage_batch *b, int64_t now)
{
	b->n = 0;
	b->all = false;
	b->at = 0;
	b->last = now;
}

/*
 * A sync that failed (the store locked by a long rotsecctl run, a store dir briefly
 * unsafe, a full disk) is tried again with backoff, 1 s doubling to 60 s: until it works
 * the accounts added to the config do not exist, and nothing else would ever retry it.
 */
struct sync_retry {
	bool pending;
	int64_t at, delay;
};

static void sync_now(struct rs_engine *e, struct sync_retry *sr, const char *what)
{
	int64_t now = (int64_t)time(NULL);

	if (rs_engine_sync(e) == 0) {
		if (sr->pending)
			rs_log(LOG_NOTICE, "%s: sync succeeded", what);
		sr->pending = false;
		return;
	}
	sr->delay = sr->pending ? sr->delay * 2 : 1;
	if (sr->delay > 60)
		sr->delay = 60;
	sr->pending = true;
	sr->at = now + sr->delay;
	rs_log(LOG_ERR, "%s: sync failed: %s (retrying in %" PRId64 "s)", what, e->why, sr->delay);
}

/* SIGHUP: the new config replaces the old only when it is valid. */
static void reload(const char *file, struct rs_config **cfg, struct rs_engine *e, int ifd,
                   int wds[3], struct sync_retry *sr)
{
	struct rs_config *fresh = calloc(1, sizeof(*fresh));
	char why[RS_WHY_MAX];
	int r;

	notify("RELOADING=1");
	if (!fresh)
		return;
	r = rs_config_load(file, fresh);
	log_diags(fresh);
	if (r < 0) {
		rs_log(LOG_ERR, "reload: %s is not valid; still running on the previous config",
		       file);
		rs_config_free(fresh);
		free(fresh);
		notify("READY=1");
		return;
	}
	/* The state dir and the host key stay open from the start. */
	if (strcmp(fresh->state_dir, (*cfg)->state_dir) != 0 ||
	    strcmp(fresh->key_file, (*cfg)->key_file) != 0)
		rs_log(LOG_WARNING, "reload: state_dir and key_file changes take effect only "
		                    "when rotsecd is restarted");
	/* The directories the new config names: made when missing, and an unsafe one
	 * refuses the config as an error in it would. */
	if (rs_own_dirs_make(fresh, why, sizeof(why)) < 0) {
		rs_log(LOG_ERR, "reload: %s; still running on the previous config", why);
		rs_config_free(fresh);
		free(fresh);
		notify("READY=1");
		return;
	}
	e->cfg = fresh;
	sr->pending = false;
	sync_now(e, sr, "reload");
	if (!sr->pending)
		rs_log(LOG_INFO, "reloaded %s: %zu accounts", file, fresh->naccounts);
	rs_config_free(*cfg);
	free(*cfg);
	*cfg = fresh;
	/* The next publish or alive key opens etcd with the new fleet section. */
	rs_engine_fleet_close(e, false);
	watch_dirs(ifd, fresh, wds);
	notify("READY=1");
}

static const char usage_text[] =
        "usage: rotsecd [-c FILE] [-f] [-d]\n"
        "Rotates the secrets of the accounts in FILE on their schedules and on events.\n"
        "\n"
        "  -c, --config FILE  the configuration (default " RS_DEFAULT_CONFIG ")\n"
        "  -f, --foreground   log to stderr instead of syslog (as under systemd)\n"
        "  -d, --debug        log every pass as well\n"
        "  -h, --help         this text\n"
        "  -V, --version      the version\n"
        "\n"
        "Signals: SIGHUP reloads the configuration, SIGUSR1 rotates every account not in\n"
        "grace, SIGTERM stops after the current step. See rotsecd(8).\n";

/* The loop's clocks: what is due when. */
struct loop {
	int64_t next_pass;   /* the next full pass (the scheduler's earliest due time) */
	bool full;           /* a full pass is due now (start, root's change, signal) */
	int64_t metrics_due; /* the next rewrite of the metrics even with nothing changed */
	bool metrics_now;    /* a pass ran: rewrite them */
};

static int64_t min_due(int64_t a, int64_t b)
{
	return b && b < a ? b : a;
}

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The alive key of the fleet (engine.h): its failure said once, its return too. Returns
 * how many ms until it needs the loop again (-1: no fleet). */
static int fleet_alive(struct rs_engine *e, bool *failing)
{
	int64_t now = mono_now(), next = now;
	int r;

	if (!e->cfg->fleet)
		return -1;
	r = rs_engine_fleet_alive(e, now, &next);
	if (r < 0 && r != -EALREADY) {
		rs_log(LOG_WARNING, "fleet: %s", e->why);
		*failing = true;
	} else if (r == 0 && *failing) {
		rs_log(LOG_NOTICE, "fleet: the alive key is kept again");
		*failing = false;
	}
	return next > now ? (int)((next - now) * 1000) : 0;
}

/* One turn: the passes that are due, then the metrics and the status line if a pass ran
 * or the heartbeat is due. */
static void run_due(struct rs_daemon *d, struct loop *l, struct usage_batch *b,
                    struct sync_retry *sr)
{
	const struct rs_config *cfg = d->e->cfg;
	int64_t now = (int64_t)time(NULL), wake;

	if (l->full || now >= l->next_pass || (b->at && b->all && now >= b->at)) {
		rs_daemon_tick(d, now, &l->next_pass);
		/* A full pass read every usage record. */
		batch_clear(b, now);
		l->full = false;
		l->metrics_now = true;
	} else if (b->at && now >= b->at) {
		rs_daemon_tick_usage(d, now, (const char(*)[RS_NAME_MAX + 1]) b->names, b->n,
		                     &wake);
		l->next_pass = wake < l->next_pass ? wake : l->next_pass;
		batch_clear(b, now);
		l->metrics_now = true;
	}
	if (sr->pending && sr->at < l->next_pass)
		l->next_pass = sr->at;
	if (l->metrics_now || now >= l->metrics_due) {
		char status[256];

		rs_daemon_metrics(d, status, sizeof(status));
		if (!sr->pending)
			notify(status);
		l->metrics_due = now + cfg->metrics_interval;
		l->metrics_now = false;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
	        {"debug", no_argument, NULL, 'd'},        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *file = RS_DEFAULT_CONFIG;
	struct rs_config *cfg;
	struct rs_engine e;
	struct rs_daemon d = {0};
	struct sync_retry sr = {0};
	struct usage_batch batch = {0};
	struct loop l = {0};
	sigset_t mask;
	int foreground = 0, debug = 0, opt, r, sfd, ifd, lockfd, wds[3] = {-1, -1, -1};
	bool alive_failing = false;

	while ((opt = getopt_long(argc, argv, "c:fdhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'V':
			printf("rotsecd %s\n", ROTSEC_VERSION);
			return 0;
		case 'h':
			(void)fputs(usage_text, stdout);
			return 0;
		default:
			/* getopt_long has named the option. */
			(void)fprintf(stderr, "Try 'rotsecd --help' for more information.\n");
			return 2;
		}
	}
	if (optind < argc) {
		(void)fprintf(stderr,
		              "rotsecd: unexpected argument '%s'\n"
		              "Try 'rotsecd --help' for more information.\n",
		              argv[optind]);
		return 2;
	}
	harden_process();
	rs_log_open("rotsecd", foreground ? RS_LOG_STDERR : RS_LOG_SYSLOG);
	rs_log_set_debug(debug);
	rs_audit_set_actor("rotsecd");
	openlog("rotsecd", LOG_PID, LOG_AUTHPRIV);

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return 1;
	r = rs_config_load(file, cfg);
	log_diags(cfg);
	if (r < 0) {
		rs_log(LOG_ERR, "%s is not valid; not starting", file);
		goto fail_cfg;
	}
	r = rs_engine_open(&e, cfg, false);
	if (r < 0) {
		rs_log(LOG_ERR, "%s", e.why);
		goto fail_cfg;
	}
	if (e.warning[0])
		rs_log(LOG_ERR, "%s; not used until it is fixed", e.warning);
	e.on_event = log_event;
	lockfd = instance_lock(&e);
	if (lockfd < 0) {
		rs_engine_close(&e);
		goto fail_cfg;
	}
	/* Signals are read from a signalfd in the loop, never handled asynchronously:
	 * a SIGTERM in the middle of a store write must wait for the step to finish. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (sfd < 0 || ifd < 0) {
		rs_log(LOG_ERR, "cannot set up signalfd/inotify: %s", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		if (ifd >= 0)
			close(ifd);
		close(lockfd);
		rs_engine_close(&e);
		goto fail_cfg;
	}

	/* rs_engine_open made the directories rotsec owns, the run dir among them. */
	sync_now(&e, &sr, "start-up");
	watch_dirs(ifd, cfg, wds);
	d.e = &e;
	rs_log(LOG_INFO, "rotsecd %s started: %zu accounts", ROTSEC_VERSION, cfg->naccounts);
	/* Ready even when the sync failed: the daemon runs, retries it, and rotates what the
	 * store already has; systemd's status says what is wrong. */
	notify(sr.pending ? "READY=1\nSTATUS=start-up sync failed, retrying" : "READY=1");
	l.full = true;

	while (!d.stop) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0}, {ifd, POLLIN, 0}};
		struct signalfd_siginfo si;
		int64_t now = (int64_t)time(NULL), wake;
		int timeout, alive_ms;

		if (read_events(ifd, wds, cfg, &batch, now))
			l.full = true;
		if (sr.pending && now >= sr.at) {
			sync_now(&e, &sr, "retry");
			if (!sr.pending) {
				/* The store dir may only exist now. */
				watch_dirs(ifd, cfg, wds);
				l.full = true;
			}
		}
		run_due(&d, &l, &batch, &sr);
		if (d.stop)
			break;
		alive_ms = fleet_alive(&e, &alive_failing);
		now = (int64_t)time(NULL);
		wake = min_due(min_due(l.next_pass, batch.at), l.metrics_due);
		timeout = wake > now ? (int)((wake - now) * 1000) : 0;
		if (alive_ms >= 0 && alive_ms < timeout)
			timeout = alive_ms;
		r = poll(pfd, 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGHUP:
				reload(file, &cfg, &e, ifd, wds, &sr);
				/* Backoffs are per account index, and the indexes may have
				 * changed. */
				free(d.retry_after);
				d.retry_after = NULL;
				d.nretry = 0;
				batch_clear(&batch, batch.last);
				l.full = true;
				break;
			case SIGUSR1:
				rs_log(LOG_INFO, "SIGUSR1: rotating every account not in grace");
				d.rotate_all = true;
				l.full = true;
				break;
			default:
				d.stop = true;
			}
		}
		if (pfd[1].revents & POLLIN) {
			/* Let a burst of changes (a store write is several renames) settle. */
			struct timespec settle = {0, 50L * 1000 * 1000};

			nanosleep(&settle, NULL);
		}
	}
	notify("STOPPING=1");
	rs_engine_fleet_close(&e, true);
	rs_daemon_metrics(&d, NULL, 0);
	rs_log(LOG_INFO, "rotsecd stopping");
	free(d.retry_after);
	free(batch.names);
	rs_engine_close(&e);
	rs_config_free(cfg);
	free(cfg);
	close(sfd);
	close(ifd);
	close(lockfd);
	return 0;
fail_cfg:
	rs_config_free(cfg);
	free(cfg);
	return 1;
}
