/*
 * etcd client (etcd_call.c): settings, the unary call with failover and authentication, error
 * mapping (etcd.h). The calls themselves are in etcd_kv.c, the watch stream in etcd_watch.c.
 */
#define _GNU_SOURCE
#include "etcd_int.h"
#include "why.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#define PASSWORD_FILE_MAX 1024
/* What an endpoint being tried leaves of the operation's timeout for the next one (at most
 * a quarter of the timeout): see etcd.h, "Deadlines". */
#define FAILOVER_FLOOR_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rs_etcd_op_begin_until(struct rs_etcd *c, int64_t deadline)
{
	/* 0 is "no deadline": one that has passed stays passed rather than becoming none. */
	if (c->op_depth++ == 0)
		c->deadline = deadline > 0 ? deadline : mono_ms() + c->timeout_ms;
}

void rs_etcd_op_begin(struct rs_etcd *c)
{
	rs_etcd_op_begin_until(c, 0);
}

void rs_etcd_op_end(struct rs_etcd *c)
{
	if (c->op_depth > 0 && --c->op_depth == 0)
		c->deadline = 0;
}

int64_t rs_etcd_op_deadline(const struct rs_etcd *c)
{
	return c->deadline;
}

int64_t rs_etcd_op_left(const struct rs_etcd *c)
{
	return c->deadline ? c->deadline - mono_ms() : c->timeout_ms;
}

void rs_etcd_set_why(struct rs_etcd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	/* What an endpoint says (an error's message, a watch's cancel reason) ends up in
	 * rotsecd's log and audit and on a consumer's terminal: a line break of its making
	 * would forge a log line, an escape would drive the terminal. */
	rs_why_printable(c->why);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

/* curl_global_init is not thread-safe and must run once before any handle exists. */
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s || !*s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

bool rs_etcd_endpoint_valid(const char *url)
{
	const char *p;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return false;
	if (!*p || *p == '/' || strlen(url) >= RS_ETCD_URL_MAX)
		return false;
	for (; *p; p++) {
		if (*p == '/' && p[1] == '\0')
			break; /* one trailing slash is fine */
		if (*p == '/' || *p == '@' || *p == '?' || *p == '#' || !isgraph((unsigned char)*p))
			return false;
	}
	return true;
}

bool rs_etcd_endpoint_plain_in_tls(const char *url, const char *const *all, size_t n, bool tls)
{
	if (strncmp(url, "https://", 8) == 0)
		return false;
	for (size_t i = 0; i < n && !tls; i++)
		tls = all[i] && strncmp(all[i], "https://", 8) == 0;
	return tls;
}

/* The first line of the password file, into guarded memory. The file must not be readable
 * by others nor writable by group or others. */
static int read_password(struct rs_etcd *c, const char *path)
{
	char buf[PASSWORD_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		rs_etcd_set_why(c, "%s: %s", path, strerror(-r));
		return r;
	}
	r = -EPERM;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rs_etcd_set_why(c, "%s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 0027) {
		rs_etcd_set_why(c,
		                "%s is readable by others or writable by group (mode %04o); it "
		                "must be 0600 or 0640",
		                path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			rs_etcd_set_why(c, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = -EINVAL;
	if (len > PASSWORD_FILE_MAX) {
		rs_etcd_set_why(c, "%s is too large to be a password file", path);
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			len = i;
			break;
		}
		if (buf[i] == '\0') {
			rs_etcd_set_why(c, "%s holds a NUL byte", path);
			goto out;
		}
	}
	if (len == 0) {
		rs_etcd_set_why(c, "%s holds no password", path);
		goto out;
	}
	r = rs_secret_from(&c->password, buf, len);
	if (r < 0)
		rs_etcd_set_why(c, "out of memory for the etcd password");
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}

int rs_etcd_open(struct rs_etcd *c, const struct rs_etcd_cfg *cfg)
{
	int r = 0;

	memset(c, 0, sizeof(*c));
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc < 0) {
		rs_etcd_set_why(c, "cannot initialise libcurl");
		return curl_init_rc;
	}
	if (!cfg->nendpoints || !cfg->endpoints || cfg->nendpoints > RS_ETCD_MAX_ENDPOINTS) {
		rs_etcd_set_why(c, "etcd needs between 1 and %d endpoints", RS_ETCD_MAX_ENDPOINTS);
		return -EINVAL;
	}
	if (!!cfg->cert != !!cfg->key) {
		rs_etcd_set_why(c, "a client certificate needs its key, and a key its certificate");
		return -EINVAL;
	}
	if (cfg->user && !cfg->password_file) {
		rs_etcd_set_why(c, "etcd user %s needs a password file", cfg->user);
		return -EINVAL;
	}
	c->endpoints = calloc(cfg->nendpoints, sizeof(*c->endpoints));
	if (!c->endpoints)
		goto nomem;
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const char *u = cfg->endpoints[i];
		size_t n;

		if (!u || !rs_etcd_endpoint_valid(u)) {
			rs_etcd_set_why(c,
			                "etcd endpoint \"%s\" is not an http:// or https:// URL of "
			                "a host and port",
			                u ? u : "");
			r = -EINVAL;
			goto fail;
		}
		if (rs_etcd_endpoint_plain_in_tls(u, cfg->endpoints, cfg->nendpoints,
		                                  cfg->cacert || cfg->cert)) {
			rs_etcd_set_why(c,
			                "etcd endpoint %s is not https:// but %s: the password, "
			                "the token and the values would go to it in the clear",
			                u,
			                cfg->cacert || cfg->cert ? "TLS is configured"
			                                         : "other endpoints are");
			r = -EINVAL;
			goto fail;
		}
		c->endpoints[i] = strdup(u);
		if (!c->endpoints[i])
			goto nomem;
		n = strlen(c->endpoints[i]);
		if (n && c->endpoints[i][n - 1] == '/')
			c->endpoints[i][n - 1] = '\0';
		c->nendpoints++;
	}
	c->cacert = dup_or_null(cfg->cacert, &r);
	c->cert = dup_or_null(cfg->cert, &r);
	c->key = dup_or_null(cfg->key, &r);
	c->user = dup_or_null(cfg->user, &r);
	if (r < 0)
		goto nomem;
	if (c->user && (r = read_password(c, cfg->password_file)) < 0)
		goto fail;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : RS_ETCD_TIMEOUT_MS;
	c->connect_timeout_ms =
	        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : RS_ETCD_CONNECT_MS;
	c->curl = curl_easy_init();
	if (!c->curl)
		goto nomem;
	return 0;
nomem:
	rs_etcd_set_why(c, "out of memory");
	r = -ENOMEM;
fail : {
	char why[RS_ETCD_WHY_MAX];

	memcpy(why, c->why, sizeof(why));
	rs_etcd_close(c);
	memcpy(c->why, why, sizeof(why));
}
	return r;
}

void rs_etcd_drop_token(struct rs_etcd *c)
{
	if (c->token) {
		sodium_memzero(c->token, strlen(c->token));
		free(c->token);
	}
	c->token = NULL;
}

void rs_etcd_close(struct rs_etcd *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	for (size_t i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	rs_etcd_drop_token(c);
	rs_secret_free(&c->password);
	memset(c, 0, sizeof(*c));
}

const char *rs_etcd_endpoint(const struct rs_etcd *c)
{
	return c->nendpoints ? c->endpoints[c->cur % c->nendpoints] : "";
}

void rs_etcd_next_endpoint(struct rs_etcd *c)
{
	if (c->nendpoints)
		c->cur = (c->cur + 1) % c->nendpoints;
	/* A simple token may be known to the member that issued it only. */
	rs_etcd_drop_token(c);
}

int rs_etcd_curl_setup(struct rs_etcd *c, void *easy, bool stream)
{
	CURL *h = easy;
	CURLcode e = CURLE_OK;

	/* Only HTTP(S), never a redirect: an endpoint that sends us elsewhere is wrong. */
	e |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	e |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	/* No SIGALRM for DNS timeouts: rotsecd has signal handlers of its own. */
	e |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	e |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, stream ? 0L : c->timeout_ms);
	/* No proxy from the environment: the endpoints are what the admin configured. */
	e |= curl_easy_setopt(h, CURLOPT_PROXY, "");
	e |= curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	e |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	e |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cacert)
		e |= curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->cert) {
		e |= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
		e |= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	}
	if (e != CURLE_OK) {
		rs_etcd_set_why(c, "cannot set up libcurl (too old for these options?)");
		return -EINVAL;
	}
	return 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct rs_buf *b = arg;

	rs_buf_put(b, data, size * n);
	return rs_buf_err(b) ? 0 : size * n; /* 0 aborts the transfer */
}

/* Classes of failure: which ones make the next endpoint worth a try. */
static bool retryable(int r)
{
	return r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EAGAIN;
}

static int map_curl(struct rs_etcd *c, const char *url, CURLcode e, const char *errbuf)
{
	const char *what = errbuf[0] ? errbuf : curl_easy_strerror(e);

	switch (e) {
	case CURLE_OPERATION_TIMEDOUT:
		rs_etcd_set_why(c, "etcd at %s did not answer in time: %s", url, what);
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		rs_etcd_set_why(c, "TLS with etcd at %s failed: %s", url, what);
		return -EHOSTUNREACH;
	default:
		rs_etcd_set_why(c, "etcd at %s is unreachable: %s", url, what);
		return -EHOSTUNREACH;
	}
}

int rs_etcd_map_error(struct rs_etcd *c, long http, json_t *body)
{
	json_t *err = json_object_get(body, "error");
	const char *msg = NULL;
	json_int_t code = -1;

	if (json_is_object(err)) { /* a stream's error */
		msg = json_string_value(json_object_get(err, "message"));
		code = json_integer_value(json_object_get(err, "grpc_code"));
	} else {
		msg = json_string_value(json_object_get(body, "message"));
		if (!msg)
			msg = json_string_value(err);
		if (json_is_integer(json_object_get(body, "code")))
			code = json_integer_value(json_object_get(body, "code"));
	}
	if (!msg)
		msg = "";
	c->compact_revision = 0;
	if (strstr(msg, "no leader") || strstr(msg, "leader changed")) {
		rs_etcd_set_why(c, "etcd at %s has no leader (quorum lost?): %s",
		                rs_etcd_endpoint(c), msg);
		return -EAGAIN;
	}
	if (strstr(msg, "timed out")) {
		rs_etcd_set_why(c, "etcd at %s timed out (quorum lost?): %s", rs_etcd_endpoint(c),
		                msg);
		return -ETIMEDOUT;
	}
	if (strstr(msg, "invalid auth token") || strstr(msg, "revision of auth store is old")) {
		rs_etcd_set_why(c, "etcd at %s: %s", rs_etcd_endpoint(c), msg);
		return -EKEYEXPIRED; /* internal: authenticate again */
	}
	if (strstr(msg, "permission denied") || strstr(msg, "authentication failed") ||
	    strstr(msg, "user name is empty") || strstr(msg, "user name not found") || code == 7 ||
	    code == 16) {
		rs_etcd_set_why(c, "etcd at %s refused it: %s", rs_etcd_endpoint(c), msg);
		return -EACCES;
	}
	if (strstr(msg, "compacted")) {
		rs_etcd_set_why(c, "etcd at %s: %s", rs_etcd_endpoint(c), msg);
		return -ESTALE;
	}
	if (strstr(msg, "space exceeded")) {
		rs_etcd_set_why(c, "etcd at %s is out of space: %s", rs_etcd_endpoint(c), msg);
		return -ENOSPC;
	}
	if (strstr(msg, "lease not found")) {
		rs_etcd_set_why(c, "etcd at %s: %s", rs_etcd_endpoint(c), msg);
		return -ENOENT;
	}
	if (strstr(msg, "too many requests") || code == 14 || http == 503) {
		rs_etcd_set_why(c, "etcd at %s is unavailable: %s", rs_etcd_endpoint(c), msg);
		return -EAGAIN;
	}
	if (code == 3 || http == 400) {
		rs_etcd_set_why(c, "etcd at %s refused the request: %s", rs_etcd_endpoint(c), msg);
		return -EINVAL;
	}
	rs_etcd_set_why(c, "etcd at %s answered HTTP %ld: %s", rs_etcd_endpoint(c), http,
	                *msg ? msg : "(no message)");
	return -EPROTO;
}

/* One POST to the current endpoint, its answer `max` bytes at most. 0 and *resp, or
 * -errno with why. */
static int post(struct rs_etcd *c, const char *path, const char *body, size_t bodylen,
                bool with_token, size_t max, json_t **resp)
{
	char url[RS_ETCD_URL_MAX + 64], errbuf[CURL_ERROR_SIZE] = "";
	struct rs_buf b;
	struct curl_slist *hdr = NULL, *h2;
	char *auth = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	long http = 0;
	int64_t left;
	CURLcode e;
	int r;

	*resp = NULL;
	rs_buf_init(&b, max, 0);
	(void)snprintf(url, sizeof(url), "%s/v3/%s", rs_etcd_endpoint(c), path);
	/* The endpoint's share of the operation's deadline (a call outside one, such as a
	 * watch's authentication, has its own timeout). */
	left = c->try_until ? c->try_until - mono_ms() : c->timeout_ms;
	if (left <= 0) {
		rs_etcd_set_why(c, "etcd at %s: no time left of the %ld ms timeout",
		                rs_etcd_endpoint(c), c->timeout_ms);
		return -ETIMEDOUT;
	}
	curl_easy_reset(c->curl);
	r = rs_etcd_curl_setup(c, c->curl, false);
	if (r < 0)
		return r;
	(void)curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)left);
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (hdr && with_token && c->token) {
		if (asprintf(&auth, "Authorization: %s", c->token) < 0) {
			auth = NULL;
		} else if ((h2 = curl_slist_append(hdr, auth))) {
			hdr = h2;
		} else {
			curl_slist_free_all(hdr);
			hdr = NULL;
		}
	}
	if (!hdr || (with_token && c->token && !auth)) {
		rs_etcd_set_why(c, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	(void)curl_easy_setopt(c->curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdr);
	(void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
	(void)curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	(void)curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
	(void)curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	c->calls++;
	e = curl_easy_perform(c->curl);
	if (rs_buf_err(&b) == -ENOSPC) {
		rs_etcd_set_why(c, "etcd at %s sent an answer larger than %zu KiB", url, max >> 10);
		r = -EPROTO;
		goto out;
	}
	if (e != CURLE_OK) {
		r = map_curl(c, rs_etcd_endpoint(c), e, errbuf);
		goto out;
	}
	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
	j = rs_buf_len(&b)
	            ? json_loadb(rs_buf_str(&b), rs_buf_len(&b), JSON_REJECT_DUPLICATES, &jerr)
	            : NULL;
	if (!json_is_object(j)) {
		rs_etcd_set_why(c, "etcd at %s answered HTTP %ld with no JSON object (not etcd?)",
		                rs_etcd_endpoint(c), http);
		r = http == 503 ? -EAGAIN : -EPROTO;
		goto out;
	}
	if (http != 200 || json_object_get(j, "error")) {
		r = rs_etcd_map_error(c, http, j);
		goto out;
	}
	*resp = j;
	j = NULL;
	r = 0;
out:
	json_decref(j);
	curl_slist_free_all(hdr);
	if (auth) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
	rs_buf_free(&b);
	return r;
}

/* JSON string escaping of the password, straight into guarded memory. */
static int auth_body(const struct rs_etcd *c, struct rs_secret *body)
{
	size_t cap = 64 + 2 * strlen(c->user) * 6 + c->password.len * 6, n = 0;
	const char *parts[2] = {c->user, c->password.buf};
	size_t lens[2] = {strlen(c->user), c->password.len};
	int r = rs_secret_alloc(body, cap);

	if (r < 0)
		return r;
	for (int k = 0; k < 2; k++) {
		n += (size_t)snprintf(body->buf + n, cap - n,
		                      k ? ",\"password\":\"" : "{\"name\":\"");
		for (size_t i = 0; i < lens[k]; i++) {
			unsigned char ch = (unsigned char)parts[k][i];

			if (ch == '"' || ch == '\\')
				n += (size_t)snprintf(body->buf + n, cap - n, "\\%c", ch);
			else if (ch < 0x20)
				n += (size_t)snprintf(body->buf + n, cap - n, "\\u%04x", ch);
			else
				body->buf[n++] = (char)ch;
		}
		body->buf[n++] = '"';
	}
	body->buf[n++] = '}';
	body->buf[n] = '\0';
	body->len = n;
	return 0;
}

int rs_etcd_ensure_token(struct rs_etcd *c)
{
	struct rs_secret body = {0};
	json_t *resp = NULL;
	const char *tok;
	int r;

	if (!c->user || c->token)
		return 0;
	r = auth_body(c, &body);
	if (r < 0) {
		rs_etcd_set_why(c, "out of memory");
		return r;
	}
	r = post(c, "auth/authenticate", body.buf, body.len, false, RS_ETCD_CALL_MAX, &resp);
	rs_secret_free(&body);
	if (r == -EINVAL || r == -EKEYEXPIRED) {
		rs_etcd_set_why(c, "etcd at %s refused user %s: %s", rs_etcd_endpoint(c), c->user,
		                c->why);
		r = -EACCES;
	}
	if (r < 0)
		return r;
	tok = json_string_value(json_object_get(resp, "token"));
	if (!tok || !*tok || strchr(tok, '\r') || strchr(tok, '\n')) {
		rs_etcd_set_why(c, "etcd at %s gave no usable token (is authentication enabled?)",
		                rs_etcd_endpoint(c));
		json_decref(resp);
		return -EPROTO;
	}
	c->token = strdup(tok);
	json_decref(resp);
	if (!c->token) {
		rs_etcd_set_why(c, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int rs_etcd_call(struct rs_etcd *c, const char *path, json_t *req, json_t **resp)
{
	return rs_etcd_call_max(c, path, req, RS_ETCD_CALL_MAX, resp);
}

/* How long the endpoint about to be tried may take, of `left` ms of the operation, with
 * `more` endpoints after it (etcd.h, "Deadlines"). */
static int64_t endpoint_share(const struct rs_etcd *c, int64_t left, size_t more)
{
	int64_t keep =
	        c->timeout_ms / 4 < FAILOVER_FLOOR_MS ? c->timeout_ms / 4 : FAILOVER_FLOOR_MS;

	return more && left > 2 * keep ? left - keep : left;
}

int rs_etcd_call_max(struct rs_etcd *c, const char *path, json_t *req, size_t max, json_t **resp)
{
	char *body = json_dumps(req, JSON_COMPACT);
	const bool own = c->deadline == 0;
	size_t tries = 0;
	bool reauthed = false, late = false;
	int r = -EHOSTUNREACH;

	*resp = NULL;
	if (!body) {
		rs_etcd_set_why(c, "out of memory");
		return -ENOMEM;
	}
	c->why[0] = '\0';
	/* One deadline for the call and its failover, or the operation's it is part of: the
	 * caller may hold an account's lock meanwhile, and an endpoint that accepts and never
	 * answers took one whole timeout per endpoint. */
	if (own)
		rs_etcd_op_begin(c);
	while (tries < c->nendpoints) {
		int64_t left = c->deadline - mono_ms();
		json_t *rev;

		if (left <= 0) {
			if (tries == 0) {
				rs_etcd_set_why(c,
				                "the %ld ms timeout of this etcd operation ran out "
				                "before %s was tried",
				                c->timeout_ms, rs_etcd_endpoint(c));
				r = -ETIMEDOUT;
			}
			late = true;
			break;
		}
		c->try_until = mono_ms() + endpoint_share(c, left, c->nendpoints - tries - 1);
		r = rs_etcd_ensure_token(c);
		if (r == 0)
			r = post(c, path, body, strlen(body), true,
			         max < RS_ETCD_RESP_MAX ? max : RS_ETCD_RESP_MAX, resp);
		if (r == -EKEYEXPIRED && !reauthed) {
			/* The token expired or the member does not know it: once more, with a
			 * new one, at the same endpoint. */
			rs_etcd_drop_token(c);
			reauthed = true;
			continue;
		}
		if (r == -EKEYEXPIRED)
			r = -EACCES;
		if (r == 0) {
			rev = json_object_get(json_object_get(*resp, "header"), "revision");
			c->revision = 0;
			if (rev)
				(void)rs_etcd_int(json_object_get(*resp, "header"), "revision",
				                  &c->revision);
			break;
		}
		if (!retryable(r))
			break;
		tries++;
		/* Also when the deadline leaves no time for it: the next call starts there
		 * rather than at the endpoint that just failed. */
		if (tries < c->nendpoints)
			rs_etcd_next_endpoint(c);
	}
	c->try_until = 0;
	if (own)
		rs_etcd_op_end(c);
	if (r < 0 && retryable(r) && late && tries > 0) {
		char why[RS_ETCD_WHY_MAX];

		memcpy(why, c->why, sizeof(why));
		rs_etcd_set_why(c,
		                "no etcd endpoint answered within the %ld ms timeout (%zu of %zu "
		                "tried; last: %s)",
		                c->timeout_ms, tries, c->nendpoints, why);
	} else if (r < 0 && retryable(r) && c->nendpoints > 1 && tries > 0) {
		char why[RS_ETCD_WHY_MAX];

		memcpy(why, c->why, sizeof(why));
		rs_etcd_set_why(c, "no etcd endpoint answered (of %zu; last: %s)", c->nendpoints,
		                why);
	}
	/* Values in the body are sealed, but wipe it anyway: it is gone either way. */
	sodium_memzero(body, strlen(body));
	free(body);
	return r;
}

/* ---- JSON helpers ---- */

char *rs_etcd_b64(const void *buf, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);

	if (s)
		sodium_bin2base64(s, n, buf, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int rs_etcd_unb64(json_t *s, unsigned char **out, size_t *len)
{
	const char *str, *end = NULL;
	size_t slen, binlen = 0;
	unsigned char *bin;

	*out = NULL;
	*len = 0;
	if (!s) {
		*out = calloc(1, 1);
		return *out ? 0 : -ENOMEM;
	}
	str = json_string_value(s);
	if (!str)
		return -EPROTO;
	slen = json_string_length(s);
	bin = malloc(slen / 4 * 3 + 4);
	if (!bin)
		return -ENOMEM;
	if (sodium_base642bin(bin, slen / 4 * 3 + 3, str, slen, NULL, &binlen, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != str + slen) {
		free(bin);
		return -EPROTO;
	}
	bin[binlen] = '\0';
	*out = bin;
	*len = binlen;
	return 0;
}

int rs_etcd_int(json_t *obj, const char *name, int64_t *out)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	char *end;
	long long x;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (!s || !*s)
		return -EPROTO;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EPROTO;
	*out = (int64_t)x;
	return 0;
}

json_t *rs_etcd_jint(int64_t v)
{
	char s[24];

	(void)snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_string(s);
}

int rs_etcd_parse_kv(json_t *o, struct rs_etcd_kv *kv)
{
	unsigned char *k = NULL;
	size_t klen = 0;
	int r;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return -EPROTO;
	r = rs_etcd_unb64(json_object_get(o, "key"), &k, &klen);
	if (r < 0)
		return r;
	if (klen == 0 || memchr(k, '\0', klen)) {
		free(k);
		return -EPROTO;
	}
	kv->key = (char *)k;
	r = rs_etcd_unb64(json_object_get(o, "value"), &kv->value, &kv->value_len);
	if (r == 0)
		r = rs_etcd_int(o, "create_revision", &kv->create_revision);
	if (r == 0)
		r = rs_etcd_int(o, "mod_revision", &kv->mod_revision);
	if (r == 0)
		r = rs_etcd_int(o, "version", &kv->version);
	if (r == 0)
		r = rs_etcd_int(o, "lease", &kv->lease);
	if (r < 0)
		rs_etcd_kv_free(kv);
	return r;
}

int rs_etcd_parse_kvs(json_t *o, struct rs_etcd_kvs *out)
{
	json_t *arr = json_object_get(o, "kvs"), *x;
	struct rs_etcd_kv *grown;
	size_t i;
	int r;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return -EPROTO;
	grown = realloc(out->kv, sizeof(*grown) * (out->n + json_array_size(arr) + 1));
	if (!grown)
		return -ENOMEM;
	out->kv = grown;
	json_array_foreach(arr, i, x)
	{
		r = rs_etcd_parse_kv(x, &out->kv[out->n]);
		if (r < 0)
			return r;
		out->n++;
	}
	if (json_is_true(json_object_get(o, "more")))
		out->more = true;
	return 0;
}

void rs_etcd_kv_free(struct rs_etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	if (kv->value)
		sodium_memzero(kv->value, kv->value_len);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void rs_etcd_kvs_free(struct rs_etcd_kvs *kvs)
{
	if (!kvs)
		return;
	for (size_t i = 0; i < kvs->n; i++)
		rs_etcd_kv_free(&kvs->kv[i]);
	free(kvs->kv);
	memset(kvs, 0, sizeof(*kvs));
}
