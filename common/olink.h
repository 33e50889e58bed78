/* Overlay links: framed JSON (frame.h) over a mutually authenticated TLS 1.3
 * connection between two certificate holders of the overlay. A link starts
 * with a hello each way, then carries requests (with a "tid"), replies
 * ({"t":"r","tid":...}) and one-way messages. Limits: frame size, incoming
 * requests per second (token bucket), idle time, output backlog. Both hellos
 * carry the protocol version "v" (OLINK_VERSION); a peer with another one is
 * refused before the owner's ready callback. */
#ifndef P2PSIP_OLINK_H
#define P2PSIP_OLINK_H

#include <event2/util.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stddef.h>

#define OLINK_VERSION 1
#include <stdint.h>

#include "identity.h"
#include "ringid.h"
#include "util.h"

struct event_base;
struct olink;

enum olink_state { OLINK_CONNECTING, OLINK_HANDSHAKE, OLINK_HELLO, OLINK_READY, OLINK_DEAD };

struct olink_peer {
	struct rid id; /* Node-ID of the peer's certificate */
	char role[ROLE_MAX];
	char name[NAME_MAX_LEN + 1];
	char addr[64]; /* remote IP address */
	X509 *cert;
};

struct olink_limits {
	size_t frame_max;  /* largest frame accepted */
	int rate;          /* requests per second accepted, 0: no limit */
	int burst;         /* bucket size */
	int idle_secs;     /* close after this long without traffic, 0: never */
	int hello_secs;    /* TLS handshake and hello must finish within this */
	size_t outbuf_max; /* close when this much output is waiting */
};

struct olink_ops {
	/* Both hellos are through; hello is the peer's (borrowed). Returning -1
	 * refuses the peer: the link is closed and closed() is called. */
	int (*ready)(struct olink *l, const json_t *hello, void *arg);
	/* A request (it has "tid") or a one-way message; msg is borrowed. */
	void (*message)(struct olink *l, json_t *msg, void *arg);
	/* The link ended by itself or on error (never after olink_free). */
	void (*closed)(struct olink *l, const char *why, void *arg);
};

/* reply is NULL when the request failed (timeout, link closed): err says why.
 * A reply with "ok": false is passed as it is. */
typedef void (*olink_reply_t)(struct olink *l, json_t *reply, const char *err, void *arg);

void olink_limits_default(struct olink_limits *lim);

/* Connects; hello is what we say first (consumed; "t":"hello" and "v" are
 * added). */
struct olink *olink_connect(struct event_base *base, SSL_CTX *ctx, const char *host,
			    uint16_t port, json_t *hello, const struct olink_limits *lim,
			    const struct olink_ops *ops, void *arg, char *err, size_t errlen);
/* Takes an accepted socket; hello is our answer to the peer's (consumed). */
struct olink *olink_accept(struct event_base *base, SSL_CTX *ctx, evutil_socket_t fd,
			   const char *peer_addr, json_t *hello, const struct olink_limits *lim,
			   const struct olink_ops *ops, void *arg);

/* Sends a request (msg consumed; a "tid" is added). On 0, cb runs exactly
 * once, later (olink_free makes it run with reply NULL); on -1 it never
 * runs. Sending never calls back into the owner: a link found unusable
 * while sending is closed from the event loop afterwards. */
int olink_request(struct olink *l, json_t *msg, int timeout_ms, olink_reply_t cb, void *arg);
/* Answers the request req (msg consumed; "t":"r" and req's "tid" added). */
int olink_reply(struct olink *l, const json_t *req, json_t *msg);
/* Answers with {"ok": false, "err": code, "msg": text}. */
int olink_reply_error(struct olink *l, const json_t *req, const char *code, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));
/* A one-way message (msg consumed). */
int olink_send(struct olink *l, json_t *msg);
/* Closes at once; pending requests fail with "link closed". Safe inside the
 * link's own callbacks (the memory goes when they return). Accepts NULL. */
void olink_free(struct olink *l);

/* Changes the request rate limit (e.g. once the peer's role is known). */
void olink_set_rate(struct olink *l, int rate, int burst);
enum olink_state olink_get_state(const struct olink *l);
const struct olink_peer *olink_peer(const struct olink *l);
size_t olink_pending(const struct olink *l);
size_t olink_outbuf(const struct olink *l);
void olink_set_arg(struct olink *l, void *arg);
void *olink_get_arg(const struct olink *l);
uint64_t olink_frames_in(const struct olink *l);
uint64_t olink_frames_out(const struct olink *l);

#endif
