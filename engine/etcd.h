/*
 * A small etcd v3 client over etcd's JSON gateway (etcd 3.4: POST CLIENT-URL/v3/...), with
 * libcurl for HTTP(S) and jansson for JSON. Only rotsecd and rotsecctl link it: the PAM and
 * NSS modules never include this header.
 *
 * What it speaks (field names as the gateway maps etcdserverpb/rpc.proto):
 *   /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn     unary calls
 *   /v3/watch                                                     a stream of JSON lines
 *   /v3/lease/grant, /v3/lease/keepalive, /v3/kv/lease/revoke     the alive key's lease
 *   /v3/auth/authenticate                                         user/password -> token
 * Keys and values are bytes, base64 in JSON; 64-bit integers are JSON strings.
 *
 * Endpoints: a list of http:// or https:// URLs, tried in turn from the one that answered
 * last. A call moves on to the next endpoint when one cannot be reached or says that it
 * has no leader, lost its leader or timed out (the member may be cut off from the rest);
 * any other answer is final. Calls that were repeated this way must be safe to repeat:
 * puts and deletes are, and so is a txn guarded by a compare (a second apply fails the
 * compare, which the caller reads as "done already" or "someone else wrote").
 *
 * TLS: the CA that signs the members' certificates (cacert), and optionally a client
 * certificate and key. With user/password, the password is read from a file into guarded
 * memory once, and the token etcd hands out is sent on each call and fetched again when
 * etcd says it is no longer valid (simple tokens expire after --auth-token-ttl).
 *
 * Every function returns 0 or a negative errno and, on error, leaves one human sentence in
 * c->why (never a value: values may be sealed secrets):
 *   -EHOSTUNREACH  no endpoint could be reached (connection refused, DNS, TLS handshake)
 *   -ETIMEDOUT     the request timed out (on the wire, or etcd's own "request timed out",
 *                  which is what a member without quorum answers to a write)
 *   -EAGAIN        no leader: quorum lost, or an election in progress
 *   -EACCES        permission denied, or authentication failed
 *   -ESTALE        the revision asked for has been compacted (c->compact_revision says
 *                  which is the oldest one left, when etcd says so)
 *   -ENOENT        (rs_etcd_get) no such key
 *   -ENOSPC        etcd's space quota is exhausted (alarm NOSPACE)
 *   -EPROTO        an answer that is not what the gateway sends
 *   -EINVAL        a request etcd refused as malformed, or a bad setting
 */
#ifndef ROTSEC_ETCD_H
#define ROTSEC_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "secret.h"

#define RS_ETCD_WHY_MAX 512
/* Longest endpoint list and URL accepted. */
#define RS_ETCD_MAX_ENDPOINTS 16
#define RS_ETCD_URL_MAX       512

/* The defaults of an operation's timeout and of one connection's. */
#define RS_ETCD_TIMEOUT_MS 5000
#define RS_ETCD_CONNECT_MS 2000

struct rs_etcd_cfg {
	const char *const *endpoints; /* "https://10.0.0.1:2379", ... */
	size_t nendpoints;
	const char *cacert;        /* PEM CA bundle; NULL: the system's */
	const char *cert, *key;    /* client certificate and key (PEM), both or neither */
	const char *user;          /* etcd user; NULL: no authentication */
	const char *password_file; /* its password, first line; needed with user */
	long timeout_ms;           /* per operation, failover included; 0: RS_ETCD_TIMEOUT_MS */
	long connect_timeout_ms;   /* per endpoint; 0: RS_ETCD_CONNECT_MS */
};

struct rs_etcd {
	void *curl; /* CURL *, reused for keep-alive */
	char **endpoints;
	size_t nendpoints, cur;
	char *cacert, *cert, *key, *user;
	struct rs_secret password;
	char *token; /* from /v3/auth/authenticate, NULL until needed */
	long timeout_ms, connect_timeout_ms;
	int64_t deadline;         /* CLOCK_MONOTONIC ms: the operation's end; 0: none */
	unsigned op_depth;        /* rs_etcd_op_begin calls not yet ended */
	int64_t try_until;        /* the same, for the endpoint being tried */
	int64_t revision;         /* header.revision of the last answer */
	int64_t compact_revision; /* after -ESTALE, when known */
	unsigned calls;           /* HTTP requests made (for benchmarks) */
	char why[RS_ETCD_WHY_MAX];
};

struct rs_etcd_kv {
	char *key; /* NUL-terminated (keys are text here; a key with a NUL is refused) */
	unsigned char *value;
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

struct rs_etcd_kvs {
	struct rs_etcd_kv *kv;
	size_t n;
	int64_t revision; /* header revision of the answer */
	bool more;
};

/* An endpoint is http:// or https://, a host and an optional port: no path (the gateway
 * paths are appended), no user:password@ (credentials never go in a URL, where they would
 * show up in logs and error messages), nothing that is not printable. */
bool rs_etcd_endpoint_valid(const char *url);

/* Whether endpoint `url` must be refused as http:// in a list that says TLS: TLS files
 * are configured (`tls`), or another endpoint of the list is https://. A client fails over
 * from one endpoint to the next with the same password and token, so one http:// endpoint
 * among https:// ones would send them (and every value) in the clear to whoever answers
 * there. */
bool rs_etcd_endpoint_plain_in_tls(const char *url, const char *const *all, size_t n, bool tls);

/* Check the settings (URLs, TLS files given in pairs, password file readable) and read
 * the password. Nothing is sent yet. */
int rs_etcd_open(struct rs_etcd *c, const struct rs_etcd_cfg *cfg);
void rs_etcd_close(struct rs_etcd *c);

/*
 * Deadlines. One operation (a call with its failover across endpoints, or the calls
 * between rs_etcd_op_begin and rs_etcd_op_end) ends within timeout_ms: each endpoint gets
 * what is left of it, never more. While another endpoint remains to be tried, the one
 * being tried gets all but a floor of min(1 s, timeout_ms / 4), kept for the next: a live
 * member answers in milliseconds, so an endpoint that accepts the connection and then
 * says nothing must not take the whole timeout from a live one after it. Once the
 * deadline has passed, no further endpoint is tried (-ETIMEDOUT, or the last endpoint's
 * failure), and the next call starts with the first one not tried.
 */
/* Begin an operation of several calls: all of them share one deadline, timeout_ms from
 * now. Without it, each call is an operation of its own. Operations nest: one begun
 * inside another ends at the outer one's deadline, and only the outermost end ends it. */
void rs_etcd_op_begin(struct rs_etcd *c);
/* The same, ending at `deadline` (CLOCK_MONOTONIC ms, rs_etcd_op_deadline of an earlier
 * operation), which may have passed already: what is left of a budget shared by several
 * operations. */
void rs_etcd_op_begin_until(struct rs_etcd *c, int64_t deadline);
void rs_etcd_op_end(struct rs_etcd *c);
/* The deadline of the operation in progress, 0 when there is none. */
int64_t rs_etcd_op_deadline(const struct rs_etcd *c);
/* Milliseconds left of the operation in progress (timeout_ms when there is none); 0 or
 * less when its deadline has passed. */
int64_t rs_etcd_op_left(const struct rs_etcd *c);

/* The endpoint the next call starts with. */
const char *rs_etcd_endpoint(const struct rs_etcd *c);
/* Move to the next endpoint (after a watch broke, say). */
void rs_etcd_next_endpoint(struct rs_etcd *c);

/* One key, linearizable read. -ENOENT when absent (c->revision still set). */
int rs_etcd_get(struct rs_etcd *c, const char *key, struct rs_etcd_kv *out);
/* Every key with `prefix`, in key order, at most `limit` (0: all). */
int rs_etcd_get_prefix(struct rs_etcd *c, const char *prefix, int64_t limit,
                       struct rs_etcd_kvs *out);
int rs_etcd_put(struct rs_etcd *c, const char *key, const void *value, size_t len, int64_t lease);
/* Delete `key`, or with `prefix` every key under it; *deleted how many (may be NULL). */
int rs_etcd_delete(struct rs_etcd *c, const char *key, bool prefix, int64_t *deleted);

void rs_etcd_kv_free(struct rs_etcd_kv *kv);
void rs_etcd_kvs_free(struct rs_etcd_kvs *kvs);

/* The first key after every key that starts with `prefix` (etcd's range_end for a prefix
 * scan): the prefix with its last byte incremented, trailing 0xff bytes dropped. */
int rs_etcd_prefix_end(const char *prefix, char **out);

/*
 * Transactions: compares, then the success or the failure branch, all at one revision.
 * Build with the rs_etcd_txn_* calls (errors stick and surface at commit), then commit.
 */
enum rs_etcd_cmp_result { RS_ETCD_EQUAL = 0, RS_ETCD_GREATER, RS_ETCD_LESS, RS_ETCD_NOT_EQUAL };

struct rs_etcd_txn {
	void *compare, *success, *failure; /* json_t arrays */
	int err;
};

struct rs_etcd_txn_result {
	bool succeeded;
	int64_t revision;        /* header revision: the mod_revision of every put done */
	struct rs_etcd_kvs gets; /* what the branch's gets found, in order, flattened */
};

void rs_etcd_txn_init(struct rs_etcd_txn *t);
void rs_etcd_txn_free(struct rs_etcd_txn *t);
/* Compare key's mod_revision / version with `value`. version 0 = the key does not exist. */
void rs_etcd_txn_cmp_mod(struct rs_etcd_txn *t, const char *key, enum rs_etcd_cmp_result op,
                         int64_t value);
void rs_etcd_txn_cmp_version(struct rs_etcd_txn *t, const char *key, enum rs_etcd_cmp_result op,
                             int64_t value);
/* Operations, on the success branch (on_failure false) or the failure one. */
void rs_etcd_txn_put(struct rs_etcd_txn *t, bool on_failure, const char *key, const void *value,
                     size_t len, int64_t lease);
void rs_etcd_txn_get(struct rs_etcd_txn *t, bool on_failure, const char *key);
void rs_etcd_txn_delete(struct rs_etcd_txn *t, bool on_failure, const char *key);
int rs_etcd_txn_commit(struct rs_etcd *c, struct rs_etcd_txn *t, struct rs_etcd_txn_result *res);
void rs_etcd_txn_result_free(struct rs_etcd_txn_result *res);

/* A lease of `ttl` seconds; *id its id, *granted_ttl what etcd granted (may be NULL). */
int rs_etcd_lease_grant(struct rs_etcd *c, int64_t ttl, int64_t *id, int64_t *granted_ttl);
/* Renew a lease once. -ENOENT when it has expired (etcd answers TTL 0). */
int rs_etcd_lease_keepalive(struct rs_etcd *c, int64_t id, int64_t *ttl);
/* End a lease now: the keys attached to it go at once. */
int rs_etcd_lease_revoke(struct rs_etcd *c, int64_t id);

/*
 * Watch: one streaming POST to /v3/watch on the current endpoint. With `progress_notify`,
 * etcd sends an empty answer now and then (--experimental-watch-progress-notify-interval,
 * 10 minutes by default) that carries the current revision. The request carries the
 * `hasleader` metadata, so a member that loses its leader cancels the watch ("no leader")
 * instead of keeping it open and silent while the cluster goes on without it.
 */
enum rs_etcd_watch_flags { RS_ETCD_WATCH_PREFIX = 1, RS_ETCD_WATCH_PROGRESS = 2 };

struct rs_etcd_watch {
	struct rs_etcd *c;
	void *multi, *easy, *headers; /* CURLM *, CURL *, struct curl_slist * */
	struct rs_buf in;             /* received bytes not yet parsed */
	bool running;
	int64_t watch_id;
	char *body;
};

enum rs_etcd_event_type { RS_ETCD_PUT = 0, RS_ETCD_DELETE = 1 };

struct rs_etcd_event {
	enum rs_etcd_event_type type;
	struct rs_etcd_kv kv;
};

struct rs_etcd_watch_msg {
	int64_t revision; /* header revision */
	bool created;
	bool canceled; /* the watch is over; compact_revision says why when set */
	int64_t compact_revision;
	struct rs_etcd_event *events;
	size_t nevents;
};

int rs_etcd_watch_open(struct rs_etcd *c, struct rs_etcd_watch *w, const char *key,
                       int64_t start_revision, unsigned flags);
/* Wait up to timeout_ms for the next answer: 1 and *m filled, 0 when nothing came in
 * time, or a negative errno when the stream broke (why in w->c->why). A canceled watch is
 * returned once as a message (m->canceled); after that, -ECANCELED. */
int rs_etcd_watch_next(struct rs_etcd_watch *w, int timeout_ms, struct rs_etcd_watch_msg *m);
void rs_etcd_watch_msg_free(struct rs_etcd_watch_msg *m);
void rs_etcd_watch_close(struct rs_etcd_watch *w);

#endif
