/*
 * An account's settings as they take effect, for `rotsecctl check --effective NAME`: one
 * "key value" line per setting of config_fields.h, in its order, as `sshd -T` prints its
 * own. Values are written in the config's syntax, so that a line can be read back as the
 * setting it shows: durations as "1d12h", lists as [ "a", "b" ], a string that would not
 * survive on a line of its own in quotes. "none" stands for a setting that is not set
 * (window, verify) or a list of no deliveries.
 */
#include "config.h"
#include "config_load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Exact, largest units first: 90061 is "1d1h1m1s", 0 is "0s". Weeks are left to the
 * reader: "14d" reads as written far more often than "2w". */
static void put_duration(FILE *out, int64_t secs)
{
	static const struct {
		int64_t len;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};

	if (secs == 0) {
		(void)fputs("0s", out);
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs >= units[i].len) {
			(void)fprintf(out, "%" PRId64 "%c", secs / units[i].len, units[i].unit);
			secs %= units[i].len;
		}
	}
}

/* A string in quotes, with libconfig's escapes where a character needs one. */
static void put_quoted(FILE *out, const char *s)
{
	(void)fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			(void)fprintf(out, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			(void)fprintf(out, "\\x%02x", *c);
		else
			(void)fputc(*c, out);
	}
	(void)fputc('"', out);
}

/* As it is, unless the line would not show it whole: empty, spaces at either end, a
 * quote or a control character (which could start a line of its own). */
static void put_text(FILE *out, const char *s)
{
	size_t n = strlen(s);
	bool plain = n > 0 && s[0] != ' ' && s[n - 1] != ' ' && s[0] != '"';

	for (const unsigned char *c = (const unsigned char *)s; plain && *c; c++)
		plain = *c >= 0x20 && *c != 0x7f;
	if (plain)
		(void)fputs(s, out);
	else
		put_quoted(out, s);
}

/* A list in the config's syntax, [ "a", "b" ]: what goes before element i, and after
 * the last of n. */
static void put_item(FILE *out, size_t i, const char *s)
{
	(void)fputs(i ? ", " : "[ ", out);
	put_quoted(out, s);
}

static void put_end(FILE *out, size_t n)
{
	(void)fputs(n ? " ]" : "[]", out);
}

static void put_argv(FILE *out, char *const *argv)
{
	size_t n = 0;

	for (; argv[n]; n++)
		put_item(out, n, argv[n]);
	put_end(out, n);
}

static void put_hhmm(FILE *out, int minutes)
{
	(void)fprintf(out, "%02d:%02d", minutes / 60, minutes % 60);
}

/* " key value" of a delivery's line; NULL is shown as "". */
static void put_pair(FILE *out, const char *key, const char *value)
{
	(void)fprintf(out, " %s ", key);
	put_text(out, value ? value : "");
}

/* One delivery on a line: its kind and target first, then the settings of that kind. */
static void put_delivery(FILE *out, const struct rs_delivery *d)
{
	if (d->kind == RS_DELIVER_COMMAND) {
		(void)fputs(" command ", out);
		put_argv(out, d->argv);
		(void)fputs(" timeout ", out);
		put_duration(out, d->timeout);
		put_pair(out, "user", d->user[0] ? d->user : "root");
		return;
	}
	if (d->kind == RS_DELIVER_FLEET) {
		put_pair(out, "fleet", d->fleet);
		put_pair(out, "sealed_to", d->sealed_to);
		return;
	}
	if (d->kind == RS_DELIVER_SEALED)
		put_pair(out, "sealed_to", d->sealed_to);
	put_pair(out, "file", d->file);
	put_pair(out, "owner", d->owner);
	put_pair(out, "group", d->group);
	(void)fprintf(out, " mode %04o", (unsigned)(d->mode & 07777));
}

static void put_account_field(FILE *out, const struct field *f, const struct rs_account_cfg *a)
{
	const void *field = field_at_c(a, f);
	size_t n = f->off2 ? *(const size_t *)field2_at_c(a, f) : 0;
	char *const *argv;

	if (f->kind == FK_DELIVER) {
		if (n == 0)
			(void)fprintf(out, "%s none\n", f->key);
		for (size_t i = 0; i < n; i++) {
			(void)fputs(f->key, out);
			put_delivery(out, &(*(struct rs_delivery *const *)field)[i]);
			(void)fputc('\n', out);
		}
		return;
	}
	(void)fprintf(out, "%s ", f->key);
	switch (f->kind) {
	case FK_NAME:
	case FK_GROUP:
		put_text(out, field);
		break;
	case FK_ID:
		(void)fprintf(out, "%" PRIu32, *(const uint32_t *)field);
		break;
	case FK_GROUPS:
		for (size_t i = 0; i < n; i++)
			put_item(out, i, (*(const char(*const *)[RS_NAME_MAX + 1]) field)[i]);
		put_end(out, n);
		break;
	case FK_TEXT:
	case FK_PATH:
		put_text(out, *(char *const *)field);
		break;
	case FK_BOOL:
		(void)fputs(*(const bool *)field ? "true" : "false", out);
		break;
	case FK_COMMAND:
		argv = *(char **const *)field;
		if (argv)
			put_argv(out, argv);
		else
			(void)fputs("none", out);
		break;
	default:
		break;
	}
	(void)fputc('\n', out);
}

static void put_policy_field(FILE *out, const struct field *f, const struct rs_policy_cfg *p)
{
	const void *field = field_at_c(p, f);
	int end;

	(void)fprintf(out, "%s ", f->key);
	switch (f->kind) {
	case FK_DURATION:
		put_duration(out, *(const int64_t *)field);
		break;
	case FK_INT:
		(void)fprintf(out, "%llu", field_uint(field, f->size));
		break;
	case FK_ALPHABET:
		put_text(out, field2_at_c(p, f));
		break;
	case FK_COST:
		(void)fputs(cfg_cost_names[*(const enum rs_hash_cost *)field], out);
		break;
	case FK_WINDOW:
		end = *(const int *)field2_at_c(p, f);
		if (*(const int *)field < 0) {
			(void)fputs("none", out);
			break;
		}
		put_hhmm(out, *(const int *)field);
		(void)fputc('-', out);
		put_hhmm(out, end);
		break;
	default:
		break;
	}
	(void)fputc('\n', out);
}

int rs_config_print_account(FILE *out, const struct rs_account_cfg *a)
{
	for (int k = 0; k < ACC_N; k++)
		put_account_field(out, &acc_fields[k], a);
	for (int k = 0; k < POL_N; k++)
		put_policy_field(out, &pol_fields[k], &a->pol);
	return ferror(out) ? -EIO : 0;
}
