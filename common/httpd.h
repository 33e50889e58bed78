/* An HTTPS (or plain HTTP, for local status ports) JSON server on evhttp,
 * with limits on connections, header and body sizes, and idle time. */
#ifndef P2PSIP_HTTPD_H
#define P2PSIP_HTTPD_H

#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct httpd;

struct httpd_limits {
	int max_conns;      /* concurrent connections; new ones wait in the backlog */
	size_t max_headers; /* bytes of request line and headers */
	size_t max_body;    /* bytes of request body */
	int timeout_secs;   /* idle and read timeout per connection */
};

typedef void (*httpd_handler_t)(struct evhttp_request *req, void *arg);

/* Listens on "host:port". ssl_ctx NULL means plain HTTP, meant for local
 * status ports: max_conns applies to TLS listeners only. */
struct httpd *httpd_new(struct event_base *base, SSL_CTX *ssl_ctx, const char *listen,
			const struct httpd_limits *lim, char *err, size_t errlen);
int httpd_route(struct httpd *h, const char *path, httpd_handler_t cb, void *arg);
void httpd_free(struct httpd *h);
int httpd_conn_count(const struct httpd *h);

/* Replies; json is consumed. Adds Content-Type and Cache-Control. */
void http_reply_json(struct evhttp_request *req, int code, json_t *json);
void http_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void http_reply_bytes(struct evhttp_request *req, int code, const char *content_type,
		      const void *data, size_t len);
/* Sends what body holds (evhttp drains it; the caller still frees body). */
void http_reply_buffer(struct evhttp_request *req, int code, const char *content_type,
		       struct evbuffer *body);
/* Copies the body out (NUL-terminated, not counted in *len); NULL if empty
 * or if out of memory. The size limit is enforced by evhttp already. */
uint8_t *http_body(struct evhttp_request *req, size_t *len);
/* The request's TLS connection, or NULL on plain HTTP. */
SSL *http_ssl(struct evhttp_request *req);
/* Peer address as text ("1.2.3.4"). */
void http_peer_addr(struct evhttp_request *req, char *out, size_t outlen);
/* Whether the method is the given one; if not, answers 405 and returns 0. */
int http_method_is(struct evhttp_request *req, enum evhttp_cmd_type m);
/* Value of a query parameter of the request URI, copied; 0 or -1 if absent. */
int http_query_param(struct evhttp_request *req, const char *key, char *out, size_t outlen);

#endif
