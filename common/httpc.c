/* A one-shot HTTPS client request on evhttp. */
#include "httpc.h"

#include "identity.h"
#include "tls.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpc_call {
	httpc_done_t cb;
	void *arg;
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	int failed;
	char why[256];
	char where[200];
};

/* Runs before on_done on failures, while the connection still exists (the
 * connection is never marked auto-free: libevent 2.1 would free it before
 * this callback). */
static void on_error(enum evhttp_request_error e, void *arg)
{
	struct httpc_call *c = arg;
	unsigned long ossl = c->bev != NULL ? bufferevent_get_openssl_error(c->bev) : 0;
	int se = EVUTIL_SOCKET_ERROR();
	const char *role_why =
		c->bev != NULL ? tls_role_error(bufferevent_openssl_get_ssl(c->bev)) : NULL;

	c->failed = 1;
	if (role_why != NULL) {
		snprintf(c->why, sizeof(c->why), "%s at %s: not logind or bootstrapd", role_why,
			 c->where);
		return;
	}
	if (ossl > 255) {
		ERR_error_string_n(ossl, c->why, sizeof(c->why));
		return;
	}
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		str_copy(c->why, "timed out", sizeof(c->why));
		break;
	case EVREQ_HTTP_EOF:
		str_copy(c->why, "connection closed", sizeof(c->why));
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		str_copy(c->why, "invalid response", sizeof(c->why));
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		str_copy(c->why, "response too large", sizeof(c->why));
		break;
	default:
		str_copy(c->why, se != 0 ? evutil_socket_error_to_string(se) : "connection failed",
			 sizeof(c->why));
	}
}

/* libevent 2.1.12 touches neither the connection nor the request's link to
 * it after this callback returns (done and fail paths alike), so the
 * connection can be freed here. */
static void on_done(struct evhttp_request *req, void *arg)
{
	struct httpc_call *c = arg;

	if (req == NULL || c->failed || evhttp_request_get_response_code(req) == 0) {
		/* A refused connect reaches here with no error callback and the
		 * socket error already gone. */
		if (c->why[0] == '\0')
			snprintf(c->why, sizeof(c->why), "cannot connect to %s", c->where);
		c->cb(-1, NULL, 0, c->why, c->arg);
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		const uint8_t *p = n > 0 ? evbuffer_pullup(in, (ev_ssize_t)n) : NULL;
		c->cb(evhttp_request_get_response_code(req), p, n, NULL, c->arg);
	}
	evhttp_connection_free(c->conn);
	free(c);
}

/* evhttp writes a request's headers and body as separate TLS records; with
 * Nagle on, the body waits for the server's delayed ACK (40 ms). Without a
 * DNS base, evhttp_make_request has already created and connected the
 * socket when it returns, so the option can be set here. */
static void no_delay(struct httpc_call *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void httpc_cancel(struct httpc_call *c)
{
	if (c == NULL)
		return;
	/* Frees the pending request without calling back. */
	evhttp_connection_free(c->conn);
	free(c);
}

/* A URL taken apart; host points into uri, which frees it. */
struct url_parts {
	struct evhttp_uri *uri;
	const char *host;
	int port;
	char target[2048];
};

static int url_parse(struct url_parts *u, const char *url, int tls, char *err, size_t errlen)
{
	const char *scheme, *path, *query;

	u->uri = evhttp_uri_parse(url);
	if (u->uri == NULL) {
		err_set(err, errlen, "bad URL '%s'", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u->uri);
	u->host = evhttp_uri_get_host(u->uri);
	path = evhttp_uri_get_path(u->uri);
	query = evhttp_uri_get_query(u->uri);
	u->port = evhttp_uri_get_port(u->uri);
	if (scheme == NULL || u->host == NULL || strcmp(scheme, tls ? "https" : "http") != 0) {
		err_set(err, errlen, "bad URL '%s' (want %s://host:port/...)", url,
			tls ? "https" : "http");
		return -1;
	}
	if (u->port < 0)
		u->port = tls ? 443 : 80;
	snprintf(u->target, sizeof(u->target), "%s%s%s", path != NULL && *path ? path : "/",
		 query != NULL ? "?" : "", query != NULL ? query : "");
	return 0;
}

/* The TLS bufferevent (with ssl_ctx) and the evhttp connection over it;
 * on failure the caller frees whichever of c->bev, c->conn exists. */
static int conn_open(struct httpc_call *c, struct event_base *base, SSL_CTX *ssl_ctx,
		     const struct url_parts *u, int timeout_secs, char *err, size_t errlen)
{
	if (ssl_ctx != NULL) {
		SSL *ssl = SSL_new(ssl_ctx);
		/* Our HTTPS servers are logind and bootstrapd, both with server
		 * certificates issued by the overlay CA. */
		if (ssl == NULL || tls_set_host(ssl, u->host) < 0 ||
		    tls_require_role(ssl, ROLE_SERVER) < 0) {
			err_set(err, errlen, "TLS setup failed for %s", u->host);
			SSL_free(ssl);
			return -1;
		}
		c->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							BEV_OPT_CLOSE_ON_FREE |
								BEV_OPT_DEFER_CALLBACKS);
		if (c->bev == NULL) {
			SSL_free(ssl);
			return -1;
		}
		/* ssl is owned by the bufferevent now */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	}
	c->conn = evhttp_connection_base_bufferevent_new(base, NULL, c->bev, u->host,
							 (unsigned short)u->port);
	if (c->conn == NULL)
		return -1;
	evhttp_connection_set_timeout(c->conn, timeout_secs);
	evhttp_connection_set_max_body_size(c->conn, HTTPC_BODY_MAX);
	evhttp_connection_set_retries(c->conn, 0);
	return 0;
}

/* A GET, or a POST of a JSON body, with the callbacks set. */
static struct evhttp_request *request_build(struct httpc_call *c, const char *host,
					    const char *body)
{
	struct evhttp_request *req = evhttp_request_new(on_done, c);

	if (req == NULL)
		return NULL;
	evhttp_request_set_error_cb(req, on_error);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	if (body != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	}
	return req;
}

struct httpc_call *httpc_request(struct event_base *base, SSL_CTX *ssl_ctx, const char *url,
				 const char *body, int timeout_secs, httpc_done_t cb, void *arg,
				 char *err, size_t errlen)
{
	struct httpc_call *c = calloc(1, sizeof(*c));
	struct url_parts u = {0};
	struct evhttp_request *req;

	err_set(err, errlen, "cannot start request to %s", url);
	if (c == NULL) {
		err_set(err, errlen, "bad URL '%s'", url);
		goto fail;
	}
	if (url_parse(&u, url, ssl_ctx != NULL, err, errlen) < 0)
		goto fail;
	c->cb = cb;
	c->arg = arg;
	snprintf(c->where, sizeof(c->where), "%.180s:%d", u.host, u.port);
	if (conn_open(c, base, ssl_ctx, &u, timeout_secs, err, errlen) < 0)
		goto fail;
	req = request_build(c, u.host, body);
	/* evhttp_make_request frees req itself when it fails */
	if (req == NULL ||
	    evhttp_make_request(c->conn, req, body != NULL ? EVHTTP_REQ_POST : EVHTTP_REQ_GET,
				u.target) < 0)
		goto fail;
	no_delay(c);
	evhttp_uri_free(u.uri);
	return c;
fail:
	if (c != NULL && c->conn != NULL)
		evhttp_connection_free(c->conn);
	else if (c != NULL && c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
	if (u.uri != NULL) /* libevent 2.1 does not accept NULL here */
		evhttp_uri_free(u.uri);
	return NULL;
}
