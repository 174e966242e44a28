/*
 * The public status value PREFIX/status/H/A (fleet.h): JSON, written by the host in the
 * publish transaction, read back by its retries and by `rotsecctl fleet status`.
 *
 *   {"host": "web1", "account": "svc-backup", "generation": 7,
 *    "version": "<32 hex digits>", "rotated_at": 1767000000,
 *    "previous_valid_until": 1767003600, "degraded": false,
 *    "consumers": [{"name": "backup1", "state": "ok"}]}
 *
 * Deterministic (fixed member order, no time of writing): a retry compares the bytes it
 * would write with what is there to know whether anything changed. Anyone who can write
 * etcd may have written what is read back: the names must be names (fleet_msg.h), the
 * rest words, or it is not a status.
 */
#define _GNU_SOURCE
#include "fleet.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rs_fleet_status_encode(const struct rs_fleet_status *st, char **out)
{
	json_t *o = json_object(), *cs = json_array();
	int bad = !o || !cs;

	*out = NULL;
	for (size_t i = 0; !bad && i < st->nconsumers; i++) {
		json_t *c = json_object();

		bad |= !c || json_object_set_new(c, "name", json_string(st->consumers[i].name)) ||
		       json_object_set_new(c, "state", json_string(st->consumers[i].state)) ||
		       json_array_append_new(cs, c);
	}
	bad = bad || json_object_set_new(o, "host", json_string(st->host)) ||
	      json_object_set_new(o, "account", json_string(st->account)) ||
	      json_object_set_new(o, "generation", json_integer((json_int_t)st->generation)) ||
	      json_object_set_new(o, "version", json_string(st->version)) ||
	      json_object_set_new(o, "rotated_at", json_integer(st->rotated_at)) ||
	      json_object_set_new(o, "previous_valid_until",
	                          json_integer(st->previous_valid_until)) ||
	      json_object_set_new(o, "degraded", json_boolean(st->degraded)) ||
	      json_object_set(o, "consumers", cs);
	if (!bad)
		*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(cs);
	json_decref(o);
	return *out ? 0 : -ENOMEM;
}

static int copy_str(json_t *o, const char *name, char *dst, size_t len)
{
	const char *s = json_string_value(json_object_get(o, name));

	if (!s || strlen(s) >= len)
		return -EBADMSG;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* A consumer's delivery state ("ok", "pending", ...) or a version id: letters, digits and
 * '-' only, so that nothing a writer of etcd puts there drives a terminal. */
static bool word_valid(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

int rs_fleet_status_parse(const unsigned char *buf, size_t len, struct rs_fleet_status *st)
{
	json_error_t jerr;
	json_t *o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr), *cs, *c;
	json_t *gen, *rot, *prev;
	size_t i;
	int r = -EBADMSG;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(o))
		goto out;
	gen = json_object_get(o, "generation");
	rot = json_object_get(o, "rotated_at");
	prev = json_object_get(o, "previous_valid_until");
	cs = json_object_get(o, "consumers");
	if (copy_str(o, "host", st->host, sizeof(st->host)) < 0 ||
	    copy_str(o, "account", st->account, sizeof(st->account)) < 0 ||
	    copy_str(o, "version", st->version, sizeof(st->version)) < 0 || !json_is_integer(gen) ||
	    json_integer_value(gen) < 1 || !json_is_integer(rot) ||
	    (prev && !json_is_integer(prev)) || !json_is_boolean(json_object_get(o, "degraded")) ||
	    (cs && !json_is_array(cs)) || !rs_fleet_name_valid(st->host) ||
	    !rs_name_valid(st->account) || !word_valid(st->version))
		goto out;
	st->generation = (uint64_t)json_integer_value(gen);
	st->rotated_at = json_integer_value(rot);
	st->previous_valid_until = prev ? json_integer_value(prev) : 0;
	st->degraded = json_is_true(json_object_get(o, "degraded"));
	if (cs && json_array_size(cs)) {
		st->consumers = calloc(json_array_size(cs), sizeof(*st->consumers));
		if (!st->consumers) {
			r = -ENOMEM;
			goto out;
		}
		json_array_foreach(cs, i, c)
		{
			if (copy_str(c, "name", st->consumers[i].name,
			             sizeof(st->consumers[i].name)) < 0 ||
			    copy_str(c, "state", st->consumers[i].state,
			             sizeof(st->consumers[i].state)) < 0 ||
			    !rs_fleet_name_valid(st->consumers[i].name) ||
			    !word_valid(st->consumers[i].state))
				goto out;
			st->nconsumers++;
		}
	}
	r = 0;
out:
	json_decref(o);
	if (r < 0)
		rs_fleet_status_free(st);
	return r;
}

void rs_fleet_status_free(struct rs_fleet_status *st)
{
	free(st->consumers);
	memset(st, 0, sizeof(*st));
}
