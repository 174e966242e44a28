/*
 * Strings that come from the caller (the user name typed at a login prompt, PAM_RHOST,
 * PAM_RUSER, module options) go to syslog only through here: a name with a newline could
 * otherwise forge a second log line, and a non-UTF-8 name could break log parsers.
 */
#include "pam_rotsec.h"

#include <stdio.h>
#include <string.h>

#include <security/pam_ext.h>

const char *rs_pam_logtext(const char *in, struct rs_pam_logtext *out)
{
	size_t i, o = 0;

	if (!in)
		return strcpy(out->s, "-");
	for (i = 0; in[i]; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i == RS_PAM_LOGTEXT_MAX) {
			memcpy(out->s + o, "...", 3);
			o += 3;
			break;
		}
		if (c > 0x20 && c < 0x7f && c != '\\') {
			out->s[o++] = (char)c;
		} else {
			(void)snprintf(out->s + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out->s[o] = '\0';
	if (o == 0)
		strcpy(out->s, "\"\"");
	return out->s;
}

const char *rs_pam_item_logtext(pam_handle_t *pamh, int item, struct rs_pam_logtext *out)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS)
		v = NULL;
	return rs_pam_logtext((const char *)v, out);
}
