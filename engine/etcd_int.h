/*
 * What etcd_call.c, etcd_kv.c and etcd_watch.c share and nobody else needs: the unary call with
 * failover, error mapping, curl setup, and JSON <-> bytes helpers.
 */
#ifndef ROTSEC_ETCD_INT_H
#define ROTSEC_ETCD_INT_H

#include <jansson.h>

#include "etcd.h"

/* Largest answer accepted from etcd: a prefix listing of every status of a large fleet
 * fits; an endless or hostile answer does not fill the memory. Every other answer (one
 * key, a transaction, a lease, a line of a watch) is a few KiB and may be no more than
 * RS_ETCD_CALL_MAX: an answer's JSON takes up to some 45 times its size once parsed (a
 * body of tiny arrays, each a node of its own), so a hostile endpoint could otherwise
 * make rotsecd allocate gigabytes per call. */
#define RS_ETCD_RESP_MAX (64u << 20)
#define RS_ETCD_CALL_MAX (1u << 20)

void rs_etcd_set_why(struct rs_etcd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* POST `req` to CLIENT-URL/v3/`path` with failover and authentication; *resp is the
 * answer's JSON object (json_decref it). Steals no reference to req. */
int rs_etcd_call(struct rs_etcd *c, const char *path, json_t *req, json_t **resp);
/* The same, for an answer of up to `max` bytes (RS_ETCD_RESP_MAX at most) rather than
 * RS_ETCD_CALL_MAX. */
int rs_etcd_call_max(struct rs_etcd *c, const char *path, json_t *req, size_t max, json_t **resp);

/* Apply the client's TLS, timeout and protocol settings to a curl easy handle. */
int rs_etcd_curl_setup(struct rs_etcd *c, void *easy, bool stream);

/* Map an error answer ({"error": ..., "code": N, "message": ...}, or a watch stream's
 * {"error": {"grpc_code": N, "message": ...}}) to -errno, with why set. */
int rs_etcd_map_error(struct rs_etcd *c, long http, json_t *body);

/* Make sure a token is held when a user is set (authenticating at the current endpoint). */
int rs_etcd_ensure_token(struct rs_etcd *c);
void rs_etcd_drop_token(struct rs_etcd *c);

/* Base64 (standard, padded) of bytes, malloc'ed; NULL when out of memory. */
char *rs_etcd_b64(const void *buf, size_t len);
/* Decode a base64 JSON string member; a missing member is empty. -EPROTO if malformed. */
int rs_etcd_unb64(json_t *s, unsigned char **out, size_t *len);
/* An int64 member, sent as a string by the gateway (or a number); absent = 0. */
int rs_etcd_int(json_t *obj, const char *name, int64_t *out);
/* A JSON string holding an int64 (how the gateway wants them). */
json_t *rs_etcd_jint(int64_t v);
/* Fill kv from a mvccpb.KeyValue object. */
int rs_etcd_parse_kv(json_t *o, struct rs_etcd_kv *kv);
/* Append the "kvs" of a RangeResponse to out. */
int rs_etcd_parse_kvs(json_t *o, struct rs_etcd_kvs *out);

#endif
