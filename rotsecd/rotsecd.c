/*
 * rotsecd — rotates on schedules and events (DESIGN §3, §5).
 *
 *   rotsecd [-c FILE] [-f]
 *
 * Start: load the config (refuse to start on an error), sync it into the store, resume
 * whatever the journal says a crash interrupted, tell systemd (or any NOTIFY_SOCKET
 * listener) we are ready. Then loop: one scheduler pass (daemon.c), metrics, and sleep
 * until the next thing is due, a signal arrives, or the store, the journal or a usage
 * record changes (inotify: `rotsecctl rotate` and PAM logins are noticed at once).
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
#include "paths.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
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

static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
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
	(void)mkdir(fresh->run_dir, 0700);
	e->cfg = fresh;
	sr->pending = false;
	sync_now(e, sr, "reload");
	if (!sr->pending)
		rs_log(LOG_INFO, "reloaded %s: %zu accounts", file, fresh->naccounts);
	rs_config_free(*cfg);
	free(*cfg);
	*cfg = fresh;
	watch_dirs(ifd, fresh, wds);
	notify("READY=1");
}

int main(int argc, char **argv)
{
	const char *file = RS_DEFAULT_CONFIG;
	struct rs_config *cfg;
	struct rs_engine e;
	struct rs_daemon d = {0};
	struct sync_retry sr = {0};
	sigset_t mask;
	int foreground = 0, opt, r, sfd, ifd, wds[3] = {-1, -1, -1};

	while ((opt = getopt(argc, argv, "c:fhV")) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'V':
			printf("rotsecd %s\n", ROTSEC_VERSION);
			return 0;
		default:
			(void)fprintf(stderr, "usage: rotsecd [-c FILE] [-f]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	harden_process();
	rs_log_open("rotsecd", foreground ? RS_LOG_STDERR : RS_LOG_SYSLOG);
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
		rs_engine_close(&e);
		goto fail_cfg;
	}

	(void)mkdir(cfg->run_dir, 0700);
	sync_now(&e, &sr, "start-up");
	watch_dirs(ifd, cfg, wds);
	d.e = &e;
	rs_log(LOG_INFO, "rotsecd %s started: %zu accounts", ROTSEC_VERSION, cfg->naccounts);
	/* Ready even when the sync failed: the daemon runs, retries it, and rotates what the
	 * store already has; systemd's status says what is wrong. */
	notify(sr.pending ? "READY=1\nSTATUS=start-up sync failed, retrying"
	                  : "READY=1\nSTATUS=rotating");

	while (!d.stop) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0}, {ifd, POLLIN, 0}};
		struct signalfd_siginfo si;
		int64_t now = (int64_t)time(NULL), wake;
		int timeout;

		drain(ifd);
		if (sr.pending && now >= sr.at) {
			sync_now(&e, &sr, "retry");
			if (!sr.pending) {
				/* The store dir may only exist now. */
				watch_dirs(ifd, cfg, wds);
				notify("STATUS=rotating");
			}
		}
		rs_daemon_tick(&d, now, &wake);
		if (sr.pending && sr.at < wake)
			wake = sr.at;
		rs_daemon_metrics(&d, true);
		if (d.stop)
			break;
		now = (int64_t)time(NULL);
		timeout = wake > now ? (int)((wake - now) * 1000) : 0;
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
				break;
			case SIGUSR1:
				rs_log(LOG_INFO, "SIGUSR1: rotating every account not in grace");
				d.rotate_all = true;
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
	rs_daemon_metrics(&d, false);
	rs_log(LOG_INFO, "rotsecd stopping");
	free(d.retry_after);
	rs_engine_close(&e);
	rs_config_free(cfg);
	free(cfg);
	close(sfd);
	close(ifd);
	return 0;
fail_cfg:
	rs_config_free(cfg);
	free(cfg);
	return 1;
}
