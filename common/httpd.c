/* An HTTPS JSON server on evhttp with limits. */
#include "httpd.h"

#include "log.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>

/* Connections are counted through the SSL object, which evhttp frees with
 * the connection: its ex_data free callback is the only close hook 2.1 has.
 * At the limit the listener pauses; the kernel backlog holds new clients.
 * evhttp may free connections after httpd_free (at the next loop turn), so
 * each SSL holds a reference to a small tracker that outlives the server. */
struct conn_tracker {
	struct httpd *h; /* NULL once the server is gone */
	int refs;
};

struct httpd {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	SSL_CTX *ssl_ctx;
	struct httpd_limits lim;
	struct conn_tracker *tracker;
	int conns;
	int paused;
};

static int conn_idx = -1;

static void tracker_unref(struct conn_tracker *t)
{
	if (--t->refs == 0)
		free(t);
}

static void conn_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn_tracker *t = ptr;
	struct httpd *h;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (t == NULL)
		return;
	h = t->h;
	tracker_unref(t);
	if (h == NULL)
		return;
	h->conns--;
	if (h->paused && h->conns < h->lim.max_conns && h->sock != NULL) {
		evconnlistener_enable(evhttp_bound_socket_get_listener(h->sock));
		h->paused = 0;
	}
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
	struct httpd *h = arg;
	SSL *ssl = SSL_new(h->ssl_ctx);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	SSL_set_ex_data(ssl, conn_idx, h->tracker);
	h->tracker->refs++;
	h->conns++;
	if (h->conns >= h->lim.max_conns && !h->paused) {
		evconnlistener_disable(evhttp_bound_socket_get_listener(h->sock));
		h->paused = 1;
		log_warn("https: %d connections open; pausing accept", h->conns);
	}
	return bev;
}

static void not_found(struct evhttp_request *req, void *arg)
{
	(void)arg;
	http_reply_error(req, HTTP_NOTFOUND, "no such resource");
}

struct httpd *httpd_new(struct event_base *base, SSL_CTX *ssl_ctx, const char *listen,
			const struct httpd_limits *lim, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof(*h));
	char host[256];
	uint16_t port;

	if (h == NULL)
		return NULL;
	if (addr_split(listen, host, sizeof(host), &port) < 0) {
		err_set(err, errlen, "bad listen address '%s' (want host:port)", listen);
		goto fail;
	}
	if (conn_idx < 0)
		conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_gone);
	h->base = base;
	h->ssl_ctx = ssl_ctx;
	h->lim = *lim;
	h->tracker = calloc(1, sizeof(*h->tracker));
	if (h->tracker == NULL)
		goto fail;
	h->tracker->h = h;
	h->tracker->refs = 1;
	h->http = evhttp_new(base);
	if (h->http == NULL)
		goto fail;
	evhttp_set_max_headers_size(h->http, (ev_ssize_t)lim->max_headers);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)lim->max_body);
	evhttp_set_timeout(h->http, lim->timeout_secs);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_default_content_type(h->http, "application/json");
	evhttp_set_gencb(h->http, not_found, h);
	if (ssl_ctx != NULL)
		evhttp_set_bevcb(h->http, make_bev, h);
	h->sock = evhttp_bind_socket_with_handle(h->http, host, port);
	if (h->sock == NULL) {
		err_set(err, errlen, "cannot listen on %s", listen);
		goto fail;
	}
	return h;
fail:
	httpd_free(h);
	return NULL;
}

int httpd_route(struct httpd *h, const char *path, httpd_handler_t cb, void *arg)
{
	return evhttp_set_cb(h->http, path, cb, arg) == 0 ? 0 : -1;
}

int httpd_conn_count(const struct httpd *h)
{
	return h->conns;
}

void httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->tracker != NULL) {
		h->tracker->h = NULL;
		tracker_unref(h->tracker);
	}
	if (h->http != NULL)
		evhttp_free(h->http);
	free(h);
}

static void add_headers(struct evhttp_request *req, const char *ctype)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", ctype);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_add_header(hdr, "X-Content-Type-Options", "nosniff");
}

/* evhttp writes the headers and the body as two TLS records; with Nagle on,
 * the body waits for the client's delayed ACK of the headers (40 ms). */
static void no_delay(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void http_reply_buffer(struct evhttp_request *req, int code, const char *content_type,
		       struct evbuffer *body)
{
	add_headers(req, content_type);
	no_delay(req);
	evhttp_send_reply(req, code, NULL, body);
}

void http_reply_bytes(struct evhttp_request *req, int code, const char *content_type,
		      const void *data, size_t len)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL || evbuffer_add(buf, data, len) < 0) {
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	http_reply_buffer(req, code, content_type, buf);
	evbuffer_free(buf);
}

void http_reply_json(struct evhttp_request *req, int code, json_t *json)
{
	char *s = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(json);
	if (s == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* The trailing newline keeps curl's output readable in a terminal. */
	n = strlen(s);
	s[n] = '\n';
	http_reply_bytes(req, code, "application/json", s, n + 1);
	free(s);
}

void http_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

uint8_t *http_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	uint8_t *buf;

	*len = 0;
	if (n == 0)
		return NULL;
	buf = malloc(n + 1);
	if (buf == NULL)
		return NULL;
	evbuffer_copyout(in, buf, n);
	buf[n] = '\0';
	*len = n;
	return buf;
}

SSL *http_ssl(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;

	return bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
}

void http_peer_addr(struct evhttp_request *req, char *out, size_t outlen)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	str_copy(out, "?", outlen);
	if (c == NULL)
		return;
	evhttp_connection_get_peer(c, &addr, &port);
	if (addr != NULL)
		str_copy(out, addr, outlen);
}

int http_method_is(struct evhttp_request *req, enum evhttp_cmd_type m)
{
	enum evhttp_cmd_type got = evhttp_request_get_command(req);

	if (got == m || (m == EVHTTP_REQ_GET && got == EVHTTP_REQ_HEAD))
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
			  m == EVHTTP_REQ_GET ? "GET, HEAD" : "POST");
	http_reply_error(req, 405, "method not allowed");
	return 0;
}

int http_query_param(struct evhttp_request *req, const char *key, char *out, size_t outlen)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq params;
	const char *v;
	int rc = -1;

	if (q == NULL)
		return -1;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) < 0)
		return -1;
	v = evhttp_find_header(&params, key);
	if (v != NULL && strlen(v) < outlen) {
		str_copy(out, v, outlen);
		rc = 0;
	}
	evhttp_clear_headers(&params);
	return rc;
}
