/*
 * passwd_file and group_file for the config loader (config_sysdb.h).
 */
#include "config_sysdb.h"
#include "trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void sysdb_free(struct sysdb *db)
{
	for (size_t i = 0; i < db->n; i++)
		free(db->e[i].name);
	free(db->e);
	free(db->by_name);
	free(db->by_id);
	memset(db, 0, sizeof(*db));
}

/* Every account, group and delivery owner is looked up here, by name and by id. Ties keep
 * file order: a name written twice answers with its first line, as getpwnam(3) would. */
static int sysdb_index(struct sysdb *db)
{
	size_t cap = db->n ? db->n : 1;

	db->by_name = malloc(cap * sizeof(*db->by_name));
	db->by_id = malloc(cap * sizeof(*db->by_id));
	if (!db->by_name || !db->by_id)
		return -ENOMEM;
	for (size_t i = 0; i < db->n; i++) {
		db->by_name[i] = (struct key_ref){db->e[i].name, 0, i};
		db->by_id[i] = (struct key_ref){NULL, db->e[i].id, i};
	}
	cfg_index_sort(db->by_name, db->n);
	cfg_index_sort(db->by_id, db->n);
	return 0;
}

/* Digits only, fits in 32 bits: what shadow-utils writes. */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * Lines that do not parse are skipped, not refused: the file belongs to the system, and
 * its own tools decide what is valid in it. "+"/"-" lines are NIS compat markers, not
 * local names.
 */
int sysdb_load(const char *path, bool with_gid, struct sysdb *db, char *why, size_t whylen)
{
	struct rs_trust t = {.flags = RS_TRUST_SELF};
	FILE *f = NULL;
	char *buf = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	unsigned lineno = 0;
	int r = 0;

	/* By the trust rule (trust.h): whoever could edit it could hide a collision with a
	 * local account, or make one up. */
	if ((r = rs_trust_stream(rs_trust_file(path, &t, why, whylen), path, &f, why, whylen)) < 0)
		goto out;
	errno = 0;
	while ((len = getline(&buf, &cap, f)) != -1) {
		char *field[4] = {NULL}, *p = buf;
		struct sys_entry e = {0};
		size_t nf = 0;

		lineno++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[len - 1] = '\0';
		if (buf[0] == '\0' || buf[0] == '#' || buf[0] == '+' || buf[0] == '-')
			continue;
		while (nf < 4) {
			field[nf++] = p;
			p = strchr(p, ':');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (nf < (with_gid ? 4u : 3u) || !field[0][0] || parse_id(field[2], &e.id) < 0)
			continue;
		if (with_gid && parse_id(field[3], &e.gid) < 0)
			continue;
		if (db->n == alloc) {
			size_t ncap = alloc ? alloc * 2 : 64;
			struct sys_entry *ne = realloc(db->e, ncap * sizeof(*ne));

			if (!ne) {
				r = -ENOMEM;
				goto out;
			}
			db->e = ne;
			alloc = ncap;
		}
		e.name = strdup(field[0]);
		if (!e.name) {
			r = -ENOMEM;
			goto out;
		}
		e.line = lineno;
		db->e[db->n++] = e;
	}
	/* getline says -1 at the end of the file and when it cannot grow its buffer (ENOMEM,
	 * without ferror): a file read halfway would hide the names and ids that collide. */
	if (ferror(f) || !feof(f))
		r = errno ? -errno : -EIO;
	else
		r = sysdb_index(db);
out:
	free(buf);
	if (f)
		(void)fclose(f);
	if (r < 0)
		sysdb_free(db);
	return r;
}

const struct sys_entry *sysdb_by_name(const struct sysdb *db, const char *name)
{
	const struct key_ref *k = cfg_index_find(db->by_name, db->n, name, 0);

	return k ? &db->e[k->pos] : NULL;
}

const struct sys_entry *sysdb_by_id(const struct sysdb *db, uint32_t id)
{
	const struct key_ref *k = cfg_index_find(db->by_id, db->n, NULL, id);

	return k ? &db->e[k->pos] : NULL;
}
