/*
 * etcd calls: range, put, deleterange, txn, lease grant and keepalive (etcd.h).
 */
#define _GNU_SOURCE
#include "etcd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Set a member, stealing the reference; errors stick in *err. */
static void put_member(json_t *o, const char *name, json_t *v, int *err)
{
	if (!v || json_object_set_new(o, name, v) < 0)
		*err = -ENOMEM;
}

static json_t *b64_string(const void *buf, size_t len)
{
	char *s = rs_etcd_b64(buf, len);
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

int rs_etcd_prefix_end(const char *prefix, char **out)
{
	size_t n = strlen(prefix);
	char *e = strdup(prefix);

	*out = NULL;
	if (!e)
		return -ENOMEM;
	while (n > 0) {
		if ((unsigned char)e[n - 1] < 0xff) {
			e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
			e[n] = '\0';
			*out = e;
			return 0;
		}
		n--;
	}
	/* All 0xff (or empty): every key. etcd's "\0" range_end means "to the end". */
	free(e);
	return -EINVAL;
}

static json_t *range_request(const char *key, bool prefix, int64_t limit, int *err)
{
	json_t *req = json_object();
	char *end = NULL;

	if (!req) {
		*err = -ENOMEM;
		return NULL;
	}
	put_member(req, "key", b64_string(key, strlen(key)), err);
	if (prefix) {
		int r = rs_etcd_prefix_end(key, &end);

		if (r < 0)
			*err = r;
		else
			put_member(req, "range_end", b64_string(end, strlen(end)), err);
		free(end);
	}
	if (limit > 0)
		put_member(req, "limit", rs_etcd_jint(limit), err);
	return req;
}

/* A put of key = value, bound to the lease unless it is 0: alone or in a transaction. */
static json_t *put_request(const char *key, const void *value, size_t len, int64_t lease, int *err)
{
	json_t *req = json_object();

	if (!req) {
		*err = -ENOMEM;
		return NULL;
	}
	put_member(req, "key", b64_string(key, strlen(key)), err);
	put_member(req, "value", b64_string(value, len), err);
	if (lease)
		put_member(req, "lease", rs_etcd_jint(lease), err);
	return req;
}

/* {"NAME": v}: what the lease calls send. */
static json_t *int_request(const char *name, int64_t v, int *err)
{
	json_t *req = json_object();

	if (!req)
		*err = -ENOMEM;
	else
		put_member(req, name, rs_etcd_jint(v), err);
	return req;
}

/* The call of a request built with error err (0: whole), which it consumes: the request
 * goes only when it was built whole. */
/* The request (freed here) sent unless building it failed (err), its answer `max` bytes
 * at most. */
static int send_request_max(struct rs_etcd *c, const char *path, json_t *req, int err, size_t max,
                            json_t **resp)
{
	int r = err;

	*resp = NULL;
	if (r == 0)
		r = rs_etcd_call_max(c, path, req, max, resp);
	else
		rs_etcd_set_why(c, "out of memory");
	json_decref(req);
	return r;
}

static int send_request(struct rs_etcd *c, const char *path, json_t *req, int err, json_t **resp)
{
	return send_request_max(c, path, req, err, RS_ETCD_CALL_MAX, resp);
}

static int do_range(struct rs_etcd *c, const char *key, bool prefix, int64_t limit,
                    struct rs_etcd_kvs *out)
{
	json_t *req, *resp;
	int r = 0;

	memset(out, 0, sizeof(*out));
	req = range_request(key, prefix, limit, &r);
	/* Only a prefix listing (every status of a fleet) may be large. */
	if ((r = send_request_max(c, "kv/range", req, r,
	                          prefix ? RS_ETCD_RESP_MAX : RS_ETCD_CALL_MAX, &resp)) < 0)
		return r;
	out->revision = c->revision;
	r = rs_etcd_parse_kvs(resp, out);
	json_decref(resp);
	if (r < 0) {
		rs_etcd_kvs_free(out);
		rs_etcd_set_why(c, "etcd at %s sent a malformed range answer", rs_etcd_endpoint(c));
	}
	return r;
}

int rs_etcd_get(struct rs_etcd *c, const char *key, struct rs_etcd_kv *out)
{
	struct rs_etcd_kvs kvs;
	int r;

	memset(out, 0, sizeof(*out));
	r = do_range(c, key, false, 0, &kvs);
	if (r < 0)
		return r;
	if (kvs.n == 0 || strcmp(kvs.kv[0].key, key) != 0) {
		rs_etcd_kvs_free(&kvs);
		rs_etcd_set_why(c, "%s: no such key in etcd", key);
		return -ENOENT;
	}
	*out = kvs.kv[0];
	memset(&kvs.kv[0], 0, sizeof(kvs.kv[0]));
	rs_etcd_kvs_free(&kvs);
	return 0;
}

int rs_etcd_get_prefix(struct rs_etcd *c, const char *prefix, int64_t limit,
                       struct rs_etcd_kvs *out)
{
	return do_range(c, prefix, true, limit, out);
}

int rs_etcd_put(struct rs_etcd *c, const char *key, const void *value, size_t len, int64_t lease)
{
	json_t *req, *resp;
	int r = 0;

	req = put_request(key, value, len, lease, &r);
	r = send_request(c, "kv/put", req, r, &resp);
	json_decref(resp);
	return r;
}

int rs_etcd_delete(struct rs_etcd *c, const char *key, bool prefix, int64_t *deleted)
{
	json_t *req, *resp;
	int64_t n = 0;
	int r = 0;

	req = range_request(key, prefix, 0, &r);
	r = send_request(c, "kv/deleterange", req, r, &resp);
	if (r == 0 && rs_etcd_int(resp, "deleted", &n) < 0)
		r = -EPROTO;
	if (deleted)
		*deleted = n;
	json_decref(resp);
	return r;
}

/* ---- transactions ---- */

void rs_etcd_txn_init(struct rs_etcd_txn *t)
{
	t->compare = json_array();
	t->success = json_array();
	t->failure = json_array();
	t->err = t->compare && t->success && t->failure ? 0 : -ENOMEM;
}

void rs_etcd_txn_free(struct rs_etcd_txn *t)
{
	json_decref(t->compare);
	json_decref(t->success);
	json_decref(t->failure);
	memset(t, 0, sizeof(*t));
}

static const char *const cmp_names[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};

static void add_cmp(struct rs_etcd_txn *t, const char *key, enum rs_etcd_cmp_result op,
                    const char *target, const char *field, int64_t value)
{
	json_t *c = json_object();

	if (!c || (unsigned)op > RS_ETCD_NOT_EQUAL) {
		json_decref(c);
		t->err = t->err ? t->err : (c ? -EINVAL : -ENOMEM);
		return;
	}
	put_member(c, "result", json_string(cmp_names[op]), &t->err);
	put_member(c, "target", json_string(target), &t->err);
	put_member(c, "key", b64_string(key, strlen(key)), &t->err);
	put_member(c, field, rs_etcd_jint(value), &t->err);
	if (json_array_append_new(t->compare, c) < 0)
		t->err = -ENOMEM;
}

void rs_etcd_txn_cmp_mod(struct rs_etcd_txn *t, const char *key, enum rs_etcd_cmp_result op,
                         int64_t value)
{
	add_cmp(t, key, op, "MOD", "mod_revision", value);
}

void rs_etcd_txn_cmp_version(struct rs_etcd_txn *t, const char *key, enum rs_etcd_cmp_result op,
                             int64_t value)
{
	add_cmp(t, key, op, "VERSION", "version", value);
}

/* One operation of the transaction, req built with error err (0: whole). */
static void add_op(struct rs_etcd_txn *t, bool on_failure, const char *kind, json_t *req, int err)
{
	json_t *op = json_object();

	if (err)
		t->err = t->err ? t->err : err;
	if (!op || !req) {
		json_decref(op);
		json_decref(req);
		t->err = -ENOMEM;
		return;
	}
	put_member(op, kind, req, &t->err);
	if (json_array_append_new(on_failure ? t->failure : t->success, op) < 0)
		t->err = -ENOMEM;
}

void rs_etcd_txn_put(struct rs_etcd_txn *t, bool on_failure, const char *key, const void *value,
                     size_t len, int64_t lease)
{
	int err = 0;
	json_t *p = put_request(key, value, len, lease, &err);

	add_op(t, on_failure, "request_put", p, err);
}

void rs_etcd_txn_delete(struct rs_etcd_txn *t, bool on_failure, const char *key)
{
	int err = 0;
	json_t *d = range_request(key, false, 0, &err);

	add_op(t, on_failure, "request_delete_range", d, err);
}

void rs_etcd_txn_get(struct rs_etcd_txn *t, bool on_failure, const char *key)
{
	int err = 0;
	json_t *g = range_request(key, false, 0, &err);

	add_op(t, on_failure, "request_range", g, err);
}

int rs_etcd_txn_commit(struct rs_etcd *c, struct rs_etcd_txn *t, struct rs_etcd_txn_result *res)
{
	json_t *req = NULL, *resp = NULL, *arr, *x;
	size_t i;
	int r = t->err;

	memset(res, 0, sizeof(*res));
	if (r == 0 && !(req = json_object()))
		r = -ENOMEM;
	if (r == 0) {
		json_object_set(req, "compare", t->compare);
		json_object_set(req, "success", t->success);
		json_object_set(req, "failure", t->failure);
	}
	if (r < 0) {
		rs_etcd_set_why(c, "cannot build the etcd transaction: %s", strerror(-r));
		json_decref(req);
		return r;
	}
	r = rs_etcd_call(c, "kv/txn", req, &resp);
	json_decref(req);
	if (r < 0)
		return r;
	res->succeeded = json_is_true(json_object_get(resp, "succeeded"));
	res->revision = c->revision;
	res->gets.revision = c->revision;
	arr = json_object_get(resp, "responses");
	json_array_foreach(arr, i, x)
	{
		json_t *rr = json_object_get(x, "response_range");

		if (rr && (r = rs_etcd_parse_kvs(rr, &res->gets)) < 0) {
			rs_etcd_set_why(c, "etcd at %s sent a malformed txn answer",
			                rs_etcd_endpoint(c));
			rs_etcd_txn_result_free(res);
			break;
		}
	}
	json_decref(resp);
	return r;
}

void rs_etcd_txn_result_free(struct rs_etcd_txn_result *res)
{
	rs_etcd_kvs_free(&res->gets);
	memset(res, 0, sizeof(*res));
}

/* ---- leases ---- */

int rs_etcd_lease_grant(struct rs_etcd *c, int64_t ttl, int64_t *id, int64_t *granted_ttl)
{
	json_t *req, *resp;
	int64_t got = 0;
	int r = 0;

	*id = 0;
	req = int_request("TTL", ttl, &r);
	r = send_request(c, "lease/grant", req, r, &resp);
	if (r == 0 &&
	    (rs_etcd_int(resp, "ID", id) < 0 || rs_etcd_int(resp, "TTL", &got) < 0 || *id == 0)) {
		rs_etcd_set_why(c, "etcd at %s sent a malformed lease answer", rs_etcd_endpoint(c));
		r = -EPROTO;
	}
	if (granted_ttl)
		*granted_ttl = got;
	json_decref(resp);
	return r;
}

int rs_etcd_lease_keepalive(struct rs_etcd *c, int64_t id, int64_t *ttl)
{
	json_t *req, *resp, *result;
	int64_t got = 0;
	int r = 0;

	/* A stream on the gateway: one request in the body, one {"result": ...} back, and
	 * the stream ends with the body. */
	req = int_request("ID", id, &r);
	r = send_request(c, "lease/keepalive", req, r, &resp);
	if (r == 0) {
		result = json_object_get(resp, "result");
		if (!json_is_object(result) || rs_etcd_int(result, "TTL", &got) < 0) {
			rs_etcd_set_why(c, "etcd at %s sent a malformed keepalive answer",
			                rs_etcd_endpoint(c));
			r = -EPROTO;
		} else if (got <= 0) {
			rs_etcd_set_why(c, "lease %llx has expired", (unsigned long long)id);
			r = -ENOENT;
		}
	}
	if (ttl)
		*ttl = got;
	json_decref(resp);
	return r;
}

int rs_etcd_lease_revoke(struct rs_etcd *c, int64_t id)
{
	json_t *req, *resp;
	int r = 0;

	req = int_request("ID", id, &r);
	r = send_request(c, "kv/lease/revoke", req, r, &resp);
	json_decref(resp);
	return r;
}
