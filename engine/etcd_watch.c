/*
 * etcd watch over the JSON gateway (etcd.h): one POST to /v3/watch whose answer never ends
 * by itself; each WatchResponse comes as one line {"result": {...}} (or {"error": {...}}
 * when the stream fails). Driven with curl's multi interface, so that the caller waits
 * with a timeout and can do other calls on its unary handle in between.
 */
#define _GNU_SOURCE
#include "etcd_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

/* A line longer than this is not a watch answer of ours (a value is a few hundred bytes,
 * a batch of events a few KiB), and parsed it could take some 45 times its size
 * (etcd_int.h). A longer one ends the watch: its caller reads the key again, which
 * answers the newest value whatever the batch held. */
#define LINE_MAX_BYTES RS_ETCD_CALL_MAX

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct rs_etcd_watch *w = arg;

	rs_buf_put(&w->in, data, size * n);
	return rs_buf_err(&w->in) ? 0 : size * n; /* 0 aborts the transfer */
}

void rs_etcd_watch_close(struct rs_etcd_watch *w)
{
	if (w->multi && w->easy)
		curl_multi_remove_handle(w->multi, w->easy);
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->headers);
	rs_buf_free(&w->in);
	free(w->body);
	memset(w, 0, sizeof(*w));
}

static int build_body(struct rs_etcd_watch *w, const char *key, int64_t start, unsigned flags)
{
	json_t *req = json_object(), *cr = json_object();
	char *k64 = rs_etcd_b64(key, strlen(key)), *end = NULL, *e64 = NULL;
	int r = -ENOMEM;

	if (!req || !cr || !k64)
		goto out;
	if (flags & RS_ETCD_WATCH_PREFIX) {
		r = rs_etcd_prefix_end(key, &end);
		if (r < 0)
			goto out;
		r = -ENOMEM;
		e64 = rs_etcd_b64(end, strlen(end));
		if (!e64 || json_object_set_new(cr, "range_end", json_string(e64)) < 0)
			goto out;
	}
	if (json_object_set_new(cr, "key", json_string(k64)) < 0 ||
	    (start > 0 && json_object_set_new(cr, "start_revision", rs_etcd_jint(start)) < 0) ||
	    ((flags & RS_ETCD_WATCH_PROGRESS) &&
	     json_object_set_new(cr, "progress_notify", json_true()) < 0) ||
	    json_object_set(req, "create_request", cr) < 0)
		goto out;
	w->body = json_dumps(req, JSON_COMPACT);
	r = w->body ? 0 : -ENOMEM;
out:
	json_decref(cr);
	json_decref(req);
	free(k64);
	free(end);
	free(e64);
	return r;
}

int rs_etcd_watch_open(struct rs_etcd *c, struct rs_etcd_watch *w, const char *key,
                       int64_t start_revision, unsigned flags)
{
	char url[RS_ETCD_URL_MAX + 64];
	char *auth = NULL;
	struct curl_slist *h;
	int r;

	memset(w, 0, sizeof(*w));
	rs_buf_init(&w->in, LINE_MAX_BYTES, 0);
	w->c = c;
	/* The token is fetched with a unary call first (failing over like any other). */
	r = rs_etcd_ensure_token(c);
	if (r < 0)
		return r == -EKEYEXPIRED ? -EACCES : r;
	r = build_body(w, key, start_revision, flags);
	if (r < 0)
		goto nomem;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (!w->multi || !w->easy)
		goto nomem;
	r = rs_etcd_curl_setup(c, w->easy, true);
	if (r < 0)
		goto fail;
	/* hasleader: the member cancels the watch when it loses its leader, rather than
	 * keeping it open while it cannot see what the others write. grpc-gateway turns
	 * Grpc-Metadata-* headers into gRPC metadata. */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	w->headers = h;
	if (h)
		w->headers = h = curl_slist_append(h, "Grpc-Metadata-hasleader: true");
	if (h && c->token) {
		if (asprintf(&auth, "Authorization: %s", c->token) < 0)
			auth = NULL;
		w->headers = h = auth ? curl_slist_append(h, auth) : NULL;
		if (auth) {
			sodium_memzero(auth, strlen(auth));
			free(auth);
		}
	}
	if (!h)
		goto nomem;
	(void)snprintf(url, sizeof(url), "%s/v3/watch", rs_etcd_endpoint(c));
	(void)curl_easy_setopt(w->easy, CURLOPT_URL, url);
	(void)curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
	(void)curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body);
	(void)curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_data);
	(void)curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	/* TCP keepalive: a member that vanished without a FIN (power loss, a cut cable) is
	 * noticed by the kernel within a minute, not after two hours. */
	(void)curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPIDLE, 20L);
	(void)curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPINTVL, 10L);
	if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK)
		goto nomem;
	w->running = true;
	c->calls++;
	return 0;
nomem:
	rs_etcd_set_why(c, "out of memory");
	r = -ENOMEM;
fail:
	rs_etcd_watch_close(w);
	w->c = c;
	return r;
}

void rs_etcd_watch_msg_free(struct rs_etcd_watch_msg *m)
{
	for (size_t i = 0; i < m->nevents; i++)
		rs_etcd_kv_free(&m->events[i].kv);
	free(m->events);
	memset(m, 0, sizeof(*m));
}

static int parse_result(struct rs_etcd_watch *w, json_t *res, struct rs_etcd_watch_msg *m)
{
	struct rs_etcd *c = w->c;
	json_t *evs = json_object_get(res, "events"), *e;
	size_t i;
	int r;

	if (!json_is_object(res))
		return -EPROTO;
	if ((r = rs_etcd_int(json_object_get(res, "header"), "revision", &m->revision)) < 0 ||
	    (r = rs_etcd_int(res, "compact_revision", &m->compact_revision)) < 0 ||
	    (r = rs_etcd_int(res, "watch_id", &w->watch_id)) < 0)
		return r;
	m->created = json_is_true(json_object_get(res, "created"));
	m->canceled = json_is_true(json_object_get(res, "canceled"));
	if (m->canceled) {
		const char *why = json_string_value(json_object_get(res, "cancel_reason"));

		if (m->compact_revision)
			rs_etcd_set_why(c,
			                "the watch at %s was canceled: revision compacted (oldest "
			                "left %lld)",
			                rs_etcd_endpoint(c), (long long)m->compact_revision);
		else
			rs_etcd_set_why(c, "the watch at %s was canceled: %s", rs_etcd_endpoint(c),
			                why && *why ? why : "(no reason given)");
	}
	if (!evs)
		return 0;
	if (!json_is_array(evs))
		return -EPROTO;
	m->events = calloc(json_array_size(evs) + 1, sizeof(*m->events));
	if (!m->events)
		return -ENOMEM;
	json_array_foreach(evs, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));

		/* PUT is the enum's zero value, which the gateway leaves out. */
		if (!type || strcmp(type, "PUT") == 0)
			m->events[m->nevents].type = RS_ETCD_PUT;
		else if (strcmp(type, "DELETE") == 0)
			m->events[m->nevents].type = RS_ETCD_DELETE;
		else
			return -EPROTO;
		r = rs_etcd_parse_kv(json_object_get(e, "kv"), &m->events[m->nevents].kv);
		if (r < 0)
			return r;
		m->nevents++;
	}
	return 0;
}

/* Take one complete line off the buffer and decode it: 1 message, 0 none complete yet. */
static int take_line(struct rs_etcd_watch *w, struct rs_etcd_watch_msg *m)
{
	struct rs_etcd *c = w->c;
	const char *buf, *nl;
	json_error_t jerr;
	json_t *j;
	size_t linelen;
	int r;

	for (;;) {
		buf = rs_buf_str(&w->in);
		nl = memchr(buf, '\n', rs_buf_len(&w->in));
		if (!nl)
			return 0;
		linelen = (size_t)(nl - buf);
		j = linelen ? json_loadb(buf, linelen, 0, &jerr) : NULL;
		rs_buf_drop(&w->in, linelen + 1);
		if (linelen == 0)
			continue;
		break;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		rs_etcd_set_why(c, "etcd at %s sent a watch answer that is not JSON",
		                rs_etcd_endpoint(c));
		return -EPROTO;
	}
	if (json_object_get(j, "error")) {
		r = rs_etcd_map_error(c, 200, j);
		json_decref(j);
		return r == -EKEYEXPIRED ? -EACCES : r;
	}
	r = parse_result(w, json_object_get(j, "result"), m);
	json_decref(j);
	if (r < 0) {
		rs_etcd_watch_msg_free(m);
		if (r == -EPROTO)
			rs_etcd_set_why(c, "etcd at %s sent a malformed watch answer",
			                rs_etcd_endpoint(c));
		return r;
	}
	return 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rs_etcd_watch_next(struct rs_etcd_watch *w, int timeout_ms, struct rs_etcd_watch_msg *m)
{
	struct rs_etcd *c = w->c;
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int r;

	memset(m, 0, sizeof(*m));
	if (!w->easy)
		return -ECANCELED;
	for (;;) {
		int still = 0, left;
		CURLMsg *msg;

		r = take_line(w, m);
		if (r != 0) {
			if (r == 1 && m->canceled)
				w->running = false; /* no more after this one */
			return r;
		}
		if (!w->running) {
			/* The answer ended (or was canceled) and every line has been read. */
			return -ECANCELED;
		}
		if (curl_multi_perform(w->multi, &still) != CURLM_OK) {
			rs_etcd_set_why(c, "the watch at %s failed in libcurl",
			                rs_etcd_endpoint(c));
			return -EIO;
		}
		while ((msg = curl_multi_info_read(w->multi, &still)) != NULL) {
			long http = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			w->running = false;
			(void)curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &http);
			if (rs_buf_err(&w->in) == -ENOSPC) {
				rs_etcd_set_why(c, "etcd at %s sent an over-long watch answer",
				                rs_etcd_endpoint(c));
				return -EPROTO;
			}
			if (msg->data.result != CURLE_OK) {
				rs_etcd_set_why(c, "the watch at %s broke: %s", rs_etcd_endpoint(c),
				                curl_easy_strerror(msg->data.result));
				return msg->data.result == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
				                                                    : -EHOSTUNREACH;
			}
			if (http != 200) {
				json_error_t jerr;
				json_t *j = rs_buf_len(&w->in)
				                    ? json_loadb(rs_buf_str(&w->in),
				                                 rs_buf_len(&w->in), 0, &jerr)
				                    : NULL;

				r = j ? rs_etcd_map_error(c, http, j) : -EPROTO;
				if (!j)
					rs_etcd_set_why(
					        c, "etcd at %s answered the watch with HTTP %ld",
					        rs_etcd_endpoint(c), http);
				json_decref(j);
				return r == -EKEYEXPIRED ? -EACCES : r;
			}
			/* A complete last line without its newline. */
			if (rs_buf_len(&w->in)) {
				rs_buf_put(&w->in, "\n", 1);
				if (rs_buf_err(&w->in))
					return -ENOMEM;
			}
		}
		if (!w->running)
			continue; /* drain what is left, then -ECANCELED */
		r = take_line(w, m);
		if (r != 0) {
			if (r == 1 && m->canceled)
				w->running = false;
			return r;
		}
		left = (int)(deadline - now_ms());
		if (left <= 0)
			return 0;
		if (curl_multi_poll(w->multi, NULL, 0, left > 1000 ? 1000 : left, NULL) !=
		    CURLM_OK) {
			rs_etcd_set_why(c, "the watch at %s failed in libcurl",
			                rs_etcd_endpoint(c));
			return -EIO;
		}
	}
}
