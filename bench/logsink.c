/*
 * logsink: a syslog socket that reads and drops every message, for `make bench`.
 *
 *   logsink PATH READYFILE
 *
 * Binds an AF_UNIX datagram socket at PATH (the /dev/log of a private mount namespace
 * whose /dev is an overlay, never the host's), creates READYFILE once it listens, and
 * reads until SIGTERM. Without a reader at /dev/log, glibc's syslog(3) retries the
 * connection at every message and, with LOG_CONS as libpam opens it, writes to
 * /dev/console instead: the bench would time that, and litter the console. With it, a
 * log line costs what it costs on a host running journald or rsyslogd: one send(2).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction act = {0};
	char buf[8192];
	int fd, ready;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: logsink PATH READYFILE\n");
		return 2;
	}
	act.sa_handler = on_term;
	sigaction(SIGTERM, &act, NULL); /* no SA_RESTART: recv returns EINTR */
	sigaction(SIGINT, &act, NULL);
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	(void)unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("logsink");
		return 1;
	}
	ready = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (ready >= 0)
		close(ready);
	while (!stop)
		(void)recv(fd, buf, sizeof(buf), 0);
	close(fd);
	(void)unlink(argv[1]);
	return 0;
}
