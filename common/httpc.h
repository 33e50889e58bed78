/* A one-shot HTTPS client request on evhttp, for daemons talking to
 * bootstrapd and logind. */
#ifndef P2PSIP_HTTPC_H
#define P2PSIP_HTTPC_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define HTTPC_BODY_MAX (4 * 1024 * 1024)

/* status: the HTTP status, or -1 when no response came (err says why).
 * body is only valid during the call. */
typedef void (*httpc_done_t)(int status, const uint8_t *body, size_t len, const char *err,
			     void *arg);

struct httpc_call;

/* Starts a request to an https:// URL (http:// if ssl_ctx is NULL). body may
 * be NULL (then GET) or a JSON text (then POST). Returns the call, or NULL
 * with err filled if it could not even start (then cb is never called).
 * The call is freed after cb returns: forget it in cb. */
struct httpc_call *httpc_request(struct event_base *base, SSL_CTX *ssl_ctx, const char *url,
				 const char *body, int timeout_secs, httpc_done_t cb, void *arg,
				 char *err, size_t errlen);
/* Abandons a call in flight: cb is not called. Accepts NULL. */
void httpc_cancel(struct httpc_call *c);

#endif
