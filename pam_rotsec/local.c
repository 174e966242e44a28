/*
 * The local account files, read directly (issue 13): a name that /etc/passwd defines is
 * never a rotsec account. `rotsecctl sync` refuses any rotsec account whose name or uid
 * /etc/passwd already has, so a name found here is root's, a local user's, or one created
 * after the store (files come first in nsswitch.conf, so it is the account the system
 * resolves): either way pam_unix's to decide. This answer is given before the store is
 * touched, so that no state of the store, missing, unsafe or malformed, can lock a local
 * account out of a stack where pam_rotsec comes first.
 *
 * Read, not through NSS: a name service that fails or is misconfigured must not make root
 * look like a rotsec account, and NSS would also find rotsec's own accounts. Read, not
 * mapped: a file truncated in place while mapped raises SIGBUS (store_read.c).
 */
#include "pam_rotsec.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Where a line's first field is being compared with the name. */
struct scan {
	const char *name;
	size_t len;
	size_t col; /* bytes of the current line seen */
	bool skip;  /* the line cannot match: wait for its end */
	bool found;
};

/* Feed n bytes of the file to the scan; true once the name was found. */
static bool scan_bytes(struct scan *sc, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end && !sc->found) {
		if (sc->skip) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			if (!nl)
				return false;
			p = nl + 1;
			sc->skip = false;
			sc->col = 0;
			continue;
		}
		if (sc->col < sc->len) {
			if (*p != sc->name[sc->col]) {
				sc->skip = *p != '\n';
				sc->col = 0;
			} else {
				sc->col++;
			}
		} else {
			/* The whole name matched: a line of that account if the field ends. */
			sc->found = *p == ':';
			sc->skip = *p != '\n';
			sc->col = 0;
		}
		p++;
	}
	return sc->found;
}

int rs_pam_local_user(const char *path, const char *name)
{
	struct scan sc = {name, strlen(name), 0, false, false};
	char buf[8192];
	ssize_t n;
	int fd, r = 0;

	/* An empty name, or one with a ':' or a newline, is no line's first field. */
	if (sc.len == 0 || strpbrk(name, ":\n"))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (!sc.found) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		(void)scan_bytes(&sc, buf, (size_t)n);
	}
	close(fd);
	return r < 0 ? r : sc.found;
}
