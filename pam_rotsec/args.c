/*
 * Module options, as written on the stack line:
 *
 *   pam_rotsec.so [store=DIR] [run=DIR] [passwd=FILE] [debug] [nodelay] [no_previous]
 *                 [audit]
 *
 * An unknown option is logged and ignored, as pam_unix does: refusing to work over a
 * typo would lock every user of the stack out, and the options only ever narrow what is
 * accepted (no_previous) or change where files are, never widen it.
 */
#include "pam_rotsec.h"
#include "paths.h"

#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

/* Options libpam's pam_get_authtok reads from the stack line itself. */
static bool authtok_option(const char *a)
{
	return strcmp(a, "use_first_pass") == 0 || strcmp(a, "try_first_pass") == 0 ||
	       strcmp(a, "use_authtok") == 0 || strncmp(a, "authtok_type=", 13) == 0;
}

void rs_pam_parse_args(pam_handle_t *pamh, int argc, const char **argv, struct rs_pam_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->store = RS_DEFAULT_STORE_DIR;
	o->run = RS_DEFAULT_RUN_DIR;
	o->passwd = RS_DEFAULT_PASSWD_FILE;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		struct rs_pam_logtext t;

		if (!a)
			continue;
		if (strncmp(a, "store=", 6) == 0)
			o->store = a + 6;
		else if (strncmp(a, "run=", 4) == 0)
			o->run = a + 4;
		else if (strncmp(a, "passwd=", 7) == 0)
			o->passwd = a + 7;
		else if (strcmp(a, "debug") == 0)
			o->debug = true;
		else if (strcmp(a, "nodelay") == 0)
			o->nodelay = true;
		else if (strcmp(a, "no_previous") == 0)
			o->no_previous = true;
		else if (strcmp(a, "audit") == 0)
			o->audit = true;
		else if (!authtok_option(a))
			pam_syslog(pamh, LOG_WARNING, "unknown option ignored: %s",
			           rs_pam_logtext(a, &t));
	}
}
