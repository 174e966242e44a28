#define _GNU_SOURCE
#include "journal.h"
#include "dirscan.h"
#include "safefile.h"
#include "sealed.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The deliveries' lines, two sealed secrets and the fleet consumers' names fit. */
#define JOURNAL_MAX 12288

/* The names of the steps and of the states of a delivery: what the journal writes and
 * reads back, and what status shows. */
static const char *const step_names[] = {
        [RS_STEP_NONE] = "none",
        [RS_STEP_GENERATED] = "generated",
        [RS_STEP_ACTIVATED] = "activated",
        [RS_STEP_DELIVERED] = "delivered",
};
static const char *const dlv_names[] = {
        [RS_DLV_PENDING] = "pending",
        [RS_DLV_OK] = "ok",
        [RS_DLV_FAILED] = "failed",
};
#define NNAMES(names) (sizeof(names) / sizeof((names)[0]))

/* The index of s in names, or -1. */
static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *rs_step_name(enum rs_step s)
{
	return (size_t)s < NNAMES(step_names) ? step_names[s] : "none";
}

const char *rs_dlv_status_name(enum rs_dlv_status s)
{
	return (size_t)s < NNAMES(dlv_names) ? dlv_names[s] : "pending";
}

static int file_name(char *buf, size_t len, const char *name, const char *ext)
{
	if (!rs_name_valid(name))
		return -EINVAL;
	(void)snprintf(buf, len, "%s.%s", name, ext);
	return 0;
}

int rs_account_lock(int statefd, const char *name, int timeout_ms)
{
	char file[RS_NAME_MAX + 8];
	int r = file_name(file, sizeof(file), name, "lock");

	return r < 0 ? r : rs_lock(statefd, file, timeout_ms);
}

/* A journal is at a step once generated: "none" is no step to read back. */
static int parse_step(const char *s, enum rs_step *out)
{
	int i = name_index(step_names, NNAMES(step_names), s);

	if (i <= (int)RS_STEP_NONE)
		return -EPROTO;
	*out = (enum rs_step)i;
	return 0;
}

static bool digest_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == RS_DLV_DIGEST_HEX && s[n] == '\0';
}

/* "STATUS ATTEMPTS LAST NEXT" into d, and a DIGEST after them for a delivery. Without
 * one (a journal of an older rotsec) the digest stays "", which matches no consumer. */
static int parse_dlv_state(const char *v, struct rs_dlv_state *d, bool delivery)
{
	char status[16], digest[RS_DLV_DIGEST_HEX + 2] = "";
	unsigned attempts;
	int64_t last, next;
	int i, n;

	n = sscanf(v, "%15s %u %" SCNd64 " %" SCNd64 " %17s", status, &attempts, &last, &next,
	           digest);
	if (n < 4 || (n == 5 && (!delivery || !digest_ok(digest))))
		return -EPROTO;
	if ((i = name_index(dlv_names, NNAMES(dlv_names), status)) < 0)
		return -EPROTO;
	d->status = (enum rs_dlv_status)i;
	d->attempts = attempts;
	d->last = last;
	d->next = next;
	(void)snprintf(d->digest, sizeof(d->digest), "%s", n == 5 ? digest : "");
	return 0;
}

static int parse_dlv(const char *v, struct rs_journal *j)
{
	unsigned idx;
	int skip = 0, r;

	if (sscanf(v, "%u %n", &idx, &skip) != 1 || skip == 0 || idx >= RS_MAX_DELIVERIES)
		return -EPROTO;
	if ((r = parse_dlv_state(v + skip, &j->dlv[idx], true)) < 0)
		return r;
	if (idx + 1 > j->ndeliver)
		j->ndeliver = idx + 1;
	return 0;
}

static int parse_i64(const char *v, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -EPROTO;
	*out = x;
	return 0;
}

/* ---- the fleet's lines (journal.h) ---- */

/* 32 hex digits into id. */
static int parse_id(const char *hex, unsigned char id[RS_JOURNAL_FLEET_ID_LEN])
{
	size_t n = 0;
	const char *end = NULL;

	if (strlen(hex) != (size_t)2 * RS_JOURNAL_FLEET_ID_LEN ||
	    sodium_hex2bin(id, RS_JOURNAL_FLEET_ID_LEN, hex, strlen(hex), NULL, &n, &end) != 0 ||
	    n != RS_JOURNAL_FLEET_ID_LEN || *end)
		return -EPROTO;
	return 0;
}

static int parse_fleet_line(const char *key, const char *v, struct rs_journal_fleet *fl)
{
	char a[RS_SEALED_B64_MAX + 1], b[2 * RS_JOURNAL_FLEET_ID_LEN + 2];
	unsigned long long g;
	long long rev;

	if (strcmp(key, "previous_sealed") == 0) {
		if (sscanf(v, "%llu %1024s", &g, a) != 2 || g < 1 || strlen(a) >= RS_SEALED_B64_MAX)
			return -EPROTO;
		fl->prev_generation = g;
		(void)snprintf(fl->prev_sealed, sizeof(fl->prev_sealed), "%s", a);
	} else if (strcmp(key, "fleet_version") == 0) {
		if (sscanf(v, "%llu %33s", &g, b) != 2 || g < 1 || parse_id(b, fl->version) < 0)
			return -EPROTO;
		fl->version_generation = g;
	} else if (strcmp(key, "fleet_published") == 0) {
		if (sscanf(v, "%lld %llu %33s", &rev, &g, b) != 3 || rev < 1 || g < 1 ||
		    parse_id(b, fl->digest) < 0)
			return -EPROTO;
		fl->published_rev = rev;
		fl->published_generation = g;
	} else if (strcmp(key, "fleet_consumer") == 0) {
		/* A part of etcd keys: fleet_msg.h's rule for names. */
		if (fl->nconsumers >= RS_MAX_DELIVERIES || !v[0] ||
		    strlen(v) > RS_JOURNAL_FLEET_NAME_MAX ||
		    strspn(v,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		            strlen(v) ||
		    strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
			return -EPROTO;
		(void)snprintf(fl->consumers[fl->nconsumers++], RS_JOURNAL_FLEET_NAME_MAX + 1, "%s",
		               v);
	} else if (strcmp(key, "fleet_refresh") == 0) {
		return parse_dlv_state(v, &fl->refresh, false);
	}
	return 0;
}

/* The fleet's lines after buf[*len], only those with something to say. */
static int save_fleet_lines(const struct rs_journal_fleet *fl, char *buf, size_t cap, size_t *len)
{
	char hex[2 * RS_JOURNAL_FLEET_ID_LEN + 1];
	int n = 0;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		n = snprintf(buf + *len, cap - *len, __VA_ARGS__);                                 \
		if (n < 0 || (size_t)n >= cap - *len)                                              \
			return -EOVERFLOW;                                                         \
		*len += (size_t)n;                                                                 \
	} while (0)
	if (fl->prev_sealed[0])
		PUT("previous_sealed %" PRIu64 " %s\n", fl->prev_generation, fl->prev_sealed);
	if (fl->version_generation) {
		sodium_bin2hex(hex, sizeof(hex), fl->version, sizeof(fl->version));
		PUT("fleet_version %" PRIu64 " %s\n", fl->version_generation, hex);
	}
	if (fl->published_rev) {
		sodium_bin2hex(hex, sizeof(hex), fl->digest, sizeof(fl->digest));
		PUT("fleet_published %" PRId64 " %" PRIu64 " %s\n", fl->published_rev,
		    fl->published_generation, hex);
	}
	for (size_t i = 0; i < fl->nconsumers && i < RS_MAX_DELIVERIES; i++)
		PUT("fleet_consumer %s\n", fl->consumers[i]);
	if (fl->refresh.status != RS_DLV_PENDING || fl->refresh.attempts || fl->refresh.last ||
	    fl->refresh.next)
		PUT("fleet_refresh %s %u %" PRId64 " %" PRId64 "\n",
		    rs_dlv_status_name(fl->refresh.status), fl->refresh.attempts, fl->refresh.last,
		    fl->refresh.next);
#undef PUT
	return 0;
}

static int parse_line(char *line, struct rs_journal *j)
{
	char *v = strchr(line, ' ');
	int64_t x;

	if (!v)
		return -EPROTO;
	*v++ = '\0';
	if (strcmp(line, "account") == 0) {
		if (!rs_name_valid(v))
			return -EPROTO;
		(void)snprintf(j->name, sizeof(j->name), "%s", v);
	} else if (strcmp(line, "generation") == 0) {
		if (parse_i64(v, &x) < 0 || x < 1)
			return -EPROTO;
		j->generation = (uint64_t)x;
	} else if (strcmp(line, "step") == 0) {
		return parse_step(v, &j->step);
	} else if (strcmp(line, "created") == 0) {
		return parse_i64(v, &j->created);
	} else if (strcmp(line, "activated") == 0) {
		return parse_i64(v, &j->activated);
	} else if (strcmp(line, "compromise") == 0) {
		j->compromise = strcmp(v, "1") == 0;
	} else if (strcmp(line, "grace") == 0) {
		return parse_i64(v, &j->grace);
	} else if (strcmp(line, "held") == 0) {
		j->held = strcmp(v, "1") == 0;
	} else if (strcmp(line, "failures") == 0) {
		if (parse_i64(v, &x) < 0 || x < 0)
			return -EPROTO;
		j->failures = (uint64_t)x;
	} else if (strcmp(line, "degraded") == 0) {
		j->degraded = strcmp(v, "1") == 0;
	} else if (strcmp(line, "hash") == 0) {
		if (!rs_hash_string_ok(v))
			return -EPROTO;
		(void)snprintf(j->hash, sizeof(j->hash), "%s", v);
	} else if (strcmp(line, "sealed") == 0) {
		if (strlen(v) >= sizeof(j->sealed))
			return -EPROTO;
		(void)snprintf(j->sealed, sizeof(j->sealed), "%s", v);
	} else if (strcmp(line, "delivery") == 0) {
		return parse_dlv(v, j);
	} else if (strcmp(line, "verify") == 0) {
		return parse_dlv_state(v, &j->vfy, false);
	} else if (strcmp(line, "verify_failures") == 0) {
		if (parse_i64(v, &x) < 0 || x < 0)
			return -EPROTO;
		j->verify_failures = (uint64_t)x;
	} else if (strncmp(line, "fleet_", 6) == 0 || strcmp(line, "previous_sealed") == 0) {
		return parse_fleet_line(line, v, &j->fleet);
	}
	/* Unknown keys are ignored so that a newer rotsec's journal can be read back after a
	 * downgrade; the ones that matter are checked below. */
	return 0;
}

int rs_journal_load(int statefd, const char *name, struct rs_journal *j)
{
	char file[RS_NAME_MAX + 8], buf[JOURNAL_MAX + 1], *line, *save = NULL;
	struct stat st;
	ssize_t n;
	int fd, r;

	memset(j, 0, sizeof(*j));
	j->grace = -1;
	if ((r = file_name(file, sizeof(file), name, "state")) < 0)
		return r;
	fd = openat(statefd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0077)) {
		r = -EPERM;
		goto out;
	}
	if ((n = read(fd, buf, JOURNAL_MAX)) < 0) {
		r = -errno;
		goto out;
	}
	buf[n] = '\0';
	line = strtok_r(buf, "\n", &save);
	if (!line || strcmp(line, "rotsec-state 1") != 0) {
		r = -EPROTO;
		goto out;
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		if ((r = parse_line(line, j)) < 0)
			goto out;
	if (strcmp(j->name, name) != 0 || j->generation == 0 || j->step == RS_STEP_NONE ||
	    !j->hash[0] || !j->sealed[0])
		r = -EPROTO;
out:
	close(fd);
	return r;
}

static int journal_save(int statefd, const struct rs_journal *j, unsigned flags)
{
	char file[RS_NAME_MAX + 8], buf[JOURNAL_MAX];
	size_t len = 0, i;
	int r, n;

	if ((r = file_name(file, sizeof(file), j->name, "state")) < 0)
		return r;
	n = snprintf(
	        buf, sizeof(buf),
	        "rotsec-state 1\naccount %s\ngeneration %" PRIu64 "\nstep %s\n"
	        "created %" PRId64 "\nactivated %" PRId64 "\nhash %s\nsealed %s\n"
	        "compromise %d\ngrace %" PRId64 "\nheld %d\ndegraded %d\nfailures %" PRIu64 "\n",
	        j->name, j->generation, rs_step_name(j->step), j->created, j->activated, j->hash,
	        j->sealed, j->compromise, j->grace, j->held, j->degraded, j->failures);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EOVERFLOW;
	len = (size_t)n;
	for (i = 0; i < j->ndeliver && i < RS_MAX_DELIVERIES; i++) {
		const struct rs_dlv_state *d = &j->dlv[i];

		n = snprintf(buf + len, sizeof(buf) - len,
		             "delivery %zu %s %u %" PRId64 " %" PRId64 "%s%s\n", i,
		             rs_dlv_status_name(d->status), d->attempts, d->last, d->next,
		             d->digest[0] ? " " : "", d->digest);
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			return -EOVERFLOW;
		len += (size_t)n;
	}
	n = snprintf(buf + len, sizeof(buf) - len,
	             "verify %s %u %" PRId64 " %" PRId64 "\nverify_failures %" PRIu64 "\n",
	             rs_dlv_status_name(j->vfy.status), j->vfy.attempts, j->vfy.last, j->vfy.next,
	             j->verify_failures);
	if (n < 0 || (size_t)n >= sizeof(buf) - len)
		return -EOVERFLOW;
	len += (size_t)n;
	if ((r = save_fleet_lines(&j->fleet, buf, sizeof(buf), &len)) < 0)
		return r;
	/* Every writer of a journal holds its account's lock (rs_account_lock). */
	return rs_atomic_replace_flags(statefd, file, buf, len, 0600, 0, 0,
	                               RS_ATOMIC_LOCKED | flags);
}

int rs_journal_save(int statefd, const struct rs_journal *j)
{
	return journal_save(statefd, j, 0);
}

int rs_journal_save_lazy(int statefd, const struct rs_journal *j)
{
	return journal_save(statefd, j, RS_ATOMIC_NODIRSYNC);
}

int rs_journal_remove(int statefd, const char *name)
{
	char file[RS_NAME_MAX + 8];
	int r = file_name(file, sizeof(file), name, "state");

	if (r < 0)
		return r;
	if (unlinkat(statefd, file, 0) < 0 && errno != ENOENT)
		return -errno;
	if (file_name(file, sizeof(file), name, "lock") == 0)
		(void)unlinkat(statefd, file, 0);
	return fsync(statefd) < 0 ? -errno : 0;
}

struct cleanup {
	int statefd;
	bool (*is_account)(const char *name, const void *arg);
	const void *arg;
	int timeout_ms;
};

static int remove_stale_temps(const char *entry, void *arg)
{
	const struct cleanup *c = arg;
	char name[RS_NAME_MAX + 1], file[RS_NAME_MAX + 8];
	const char *dot = strstr(entry, ".state.");
	size_t n = dot ? (size_t)(dot - entry) - 1 : 0;
	int lockfd;

	if (entry[0] != '.' || !dot || n == 0 || n > RS_NAME_MAX ||
	    strlen(dot) != strlen(".state.") + 6)
		return 0;
	memcpy(name, entry + 1, n);
	name[n] = '\0';
	if (!c->is_account(name, c->arg))
		return 0;
	if ((lockfd = rs_account_lock(c->statefd, name, c->timeout_ms)) < 0)
		return 0;
	if (file_name(file, sizeof(file), name, "state") == 0)
		rs_atomic_cleanup(c->statefd, file);
	close(lockfd);
	return 0;
}

void rs_journal_cleanup(int statefd, bool (*is_account)(const char *name, const void *arg),
                        const void *arg, int timeout_ms)
{
	struct cleanup c = {statefd, is_account, arg, timeout_ms};

	(void)rs_dir_scan(statefd, remove_stale_temps, &c);
}

bool rs_journal_delivered(const struct rs_journal *j, size_t ndeliver)
{
	if (j->ndeliver != ndeliver)
		return false;
	for (size_t i = 0; i < j->ndeliver; i++)
		if (j->dlv[i].status != RS_DLV_OK)
			return false;
	return true;
}

bool rs_journal_outstanding(const struct rs_journal *j, size_t ndeliver, bool verify)
{
	return !rs_journal_delivered(j, ndeliver) || (verify && j->vfy.status != RS_DLV_OK);
}

/* "NAME\nG\n": binds a sealed secret to its account and generation, so that a journal
 * file copied over another account's cannot hand out the wrong secret. */
static int binding(const struct rs_journal *j, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s\n%" PRIu64 "\n", j->name, j->generation);

	return (n < 0 || (size_t)n >= len) ? -EOVERFLOW : n;
}

int rs_journal_seal(const unsigned char key[RS_HOSTKEY_LEN], struct rs_journal *j,
                    const struct rs_secret *s)
{
	unsigned char *msg, *box;
	char bind[RS_NAME_MAX + 32];
	size_t mlen, blen;
	int n = binding(j, bind, sizeof(bind)), r = 0;

	if (n < 0)
		return n;
	mlen = (size_t)n + s->len;
	blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
	if (sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL) > sizeof(j->sealed))
		return -E2BIG;
	msg = sodium_malloc(mlen);
	box = malloc(blen);
	if (!msg || !box) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(msg, bind, (size_t)n);
	memcpy(msg + n, s->buf, s->len);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, msg, mlen, box, key);
	sodium_bin2base64(j->sealed, sizeof(j->sealed), box, blen, sodium_base64_VARIANT_ORIGINAL);
out:
	if (msg)
		sodium_free(msg);
	free(box);
	return r;
}

int rs_journal_unseal(const unsigned char key[RS_HOSTKEY_LEN], const struct rs_journal *j,
                      struct rs_secret *out)
{
	unsigned char box[RS_SEALED_B64_MAX], *msg = NULL;
	char bind[RS_NAME_MAX + 32];
	size_t blen, mlen;
	int n = binding(j, bind, sizeof(bind)), r, opened;

	if (n < 0)
		return n;
	if (sodium_base642bin(box, sizeof(box), j->sealed, strlen(j->sealed), NULL, &blen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + (size_t)n + 1)
		return -EPROTO;
	mlen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	msg = sodium_malloc(mlen);
	if (!msg)
		return -ENOMEM;
	opened = crypto_secretbox_open_easy(msg, box + crypto_secretbox_NONCEBYTES,
	                                    blen - crypto_secretbox_NONCEBYTES, box, key) == 0;
	rs_wipe_stack();
	r = -EBADMSG;
	if (!opened || memcmp(msg, bind, (size_t)n) != 0)
		goto out;
	r = rs_secret_from(out, (const char *)msg + n, mlen - (size_t)n);
out:
	sodium_free(msg);
	return r;
}
