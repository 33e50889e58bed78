/* Overlay links: framed JSON over mutually authenticated TLS. */
#include "olink.h"

#include "frame.h"
#include "log.h"
#include "tcpconn.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct pending {
	uint32_t tid;
	olink_reply_t cb;
	void *arg;
	struct event *timer;
	struct olink *link;
	struct pending *next; /* hash chain */
};

struct olink {
	struct event_base *base;
	SSL_CTX *ctx;
	enum olink_state state;
	int outgoing;
	struct tcpconn *tc;
	struct bufferevent *bev;
	struct event *hello_timer;
	struct event *close_ev; /* a close decided while sending, run from the loop */
	char close_why[96];
	struct olink_limits lim;
	const struct olink_ops *ops;
	void *arg;
	json_t *hello; /* ours, until sent */
	struct olink_peer peer;
	uint32_t next_tid;
	struct pending **buckets;
	size_t nbuckets, npending;
	struct tbucket rate; /* of lim.rate frames a second */
	uint64_t frames_in, frames_out;
	int busy; /* callbacks running: defer the free */
	int freed;
};

void olink_limits_default(struct olink_limits *lim)
{
	lim->frame_max = FRAME_MAX;
	lim->rate = 0;
	lim->burst = 0;
	lim->idle_secs = 0;
	lim->hello_secs = 10;
	lim->outbuf_max = 32u << 20;
}

/* ---- pending requests ---- */

static struct pending **slot(struct olink *l, uint32_t tid)
{
	return &l->buckets[tid & (l->nbuckets - 1)];
}

static int pend_grow(struct olink *l)
{
	size_t n = l->nbuckets ? l->nbuckets * 2 : 16;
	struct pending **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (size_t i = 0; i < l->nbuckets; i++) {
		struct pending *p = l->buckets[i];
		while (p != NULL) {
			struct pending *next = p->next;
			p->next = nb[p->tid & (n - 1)];
			nb[p->tid & (n - 1)] = p;
			p = next;
		}
	}
	free(l->buckets);
	l->buckets = nb;
	l->nbuckets = n;
	return 0;
}

static struct pending *pend_take(struct olink *l, uint32_t tid)
{
	struct pending **pp;

	if (l->nbuckets == 0)
		return NULL;
	for (pp = slot(l, tid); *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->tid == tid) {
			struct pending *p = *pp;
			*pp = p->next;
			l->npending--;
			return p;
		}
	}
	return NULL;
}

static void pend_done(struct pending *p, json_t *reply, const char *err)
{
	struct olink *l = p->link;

	if (p->timer != NULL)
		event_free(p->timer);
	l->busy++;
	p->cb(l, reply, err, p->arg);
	l->busy--;
	free(p);
}

static void release(struct olink *l);

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct olink *l = p->link;

	(void)fd, (void)what;
	l->busy++;
	if (pend_take(l, p->tid) == p)
		pend_done(p, NULL, "timed out");
	l->busy--;
	release(l); /* the callback may have freed the link */
}

static void fail_all(struct olink *l, const char *why)
{
	for (size_t i = 0; i < l->nbuckets; i++) {
		while (l->buckets[i] != NULL) {
			struct pending *p = l->buckets[i];
			l->buckets[i] = p->next;
			l->npending--;
			pend_done(p, NULL, why);
		}
	}
}

/* ---- life cycle ---- */

static void destroy(struct olink *l)
{
	tcpconn_cancel(l->tc);
	if (l->bev != NULL)
		bufferevent_free(l->bev);
	if (l->hello_timer != NULL)
		event_free(l->hello_timer);
	if (l->close_ev != NULL)
		event_free(l->close_ev);
	json_decref(l->hello);
	X509_free(l->peer.cert);
	free(l->buckets);
	free(l);
}

/* Ends the link; closed() unless the owner freed it. */
static void shut(struct olink *l, const char *why, int notify)
{
	if (l->state == OLINK_DEAD)
		return;
	l->state = OLINK_DEAD;
	if (l->bev != NULL) {
		bufferevent_disable(l->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(l->bev, NULL, NULL, NULL, NULL);
	}
	l->busy++;
	fail_all(l, why);
	if (notify && l->ops->closed != NULL)
		l->ops->closed(l, why, l->arg);
	l->busy--;
}

static void release(struct olink *l)
{
	if (l->freed && l->busy == 0)
		destroy(l);
}

void olink_free(struct olink *l)
{
	if (l == NULL || l->freed)
		return;
	/* A close_notify tells the peer this is an orderly end. */
	if (l->bev != NULL && (l->state == OLINK_READY || l->state == OLINK_HELLO)) {
		SSL *ssl = bufferevent_openssl_get_ssl(l->bev);
		if (ssl != NULL && SSL_shutdown(ssl) < 0)
			ERR_clear_error();
	}
	shut(l, "link closed", 0);
	l->freed = 1;
	release(l);
}

/* Closes on our side because of an error or the peer; the owner hears of
 * it through closed() and must not use the link afterwards. */
static void close_link(struct olink *l, const char *why)
{
	shut(l, why, 1);
	l->freed = 1;
	release(l);
}

/* ---- sending ---- */

static void on_deferred_close(evutil_socket_t fd, short what, void *arg)
{
	struct olink *l = arg;

	(void)fd, (void)what;
	l->busy++;
	close_link(l, l->close_why);
	l->busy--;
	release(l);
}

static int write_frame(struct olink *l, json_t *msg)
{
	int rc = -1;

	if ((l->state != OLINK_READY && l->state != OLINK_HELLO) || l->close_why[0] != '\0') {
		json_decref(msg);
		return -1;
	}
	if (frame_write(bufferevent_get_output(l->bev), msg, l->lim.frame_max) == 0) {
		rc = 0;
		l->frames_out++;
	} else {
		log_warn("link %s: frame too large to send", l->peer.addr);
	}
	json_decref(msg);
	if (olink_outbuf(l) > l->lim.outbuf_max) {
		str_copy(l->close_why, "peer does not read (output backlog)", sizeof(l->close_why));
		event_active(l->close_ev, EV_TIMEOUT, 0);
		return -1;
	}
	return rc;
}

int olink_request(struct olink *l, json_t *msg, int timeout_ms, olink_reply_t cb, void *arg)
{
	struct pending *p;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	if (l->state != OLINK_READY || (l->npending >= 2 * l->nbuckets && pend_grow(l) < 0)) {
		json_decref(msg);
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		json_decref(msg);
		return -1;
	}
	p->tid = ++l->next_tid;
	json_object_set_new(msg, "tid", json_integer(p->tid));
	/* Written first, filed after: a failed write leaves nothing pending. */
	if (write_frame(l, msg) < 0) {
		free(p);
		return -1;
	}
	p->cb = cb;
	p->arg = arg;
	p->link = l;
	p->timer = evtimer_new(l->base, on_req_timeout, p);
	if (p->timer == NULL || evtimer_add(p->timer, &tv) < 0) {
		if (p->timer != NULL)
			event_free(p->timer);
		free(p);
		return -1; /* the frame is out; a reply to it will be ignored */
	}
	p->next = *slot(l, p->tid);
	*slot(l, p->tid) = p;
	l->npending++;
	return 0;
}

int olink_reply(struct olink *l, const json_t *req, json_t *msg)
{
	json_t *tid = json_object_get(req, "tid");

	if (!json_is_integer(tid)) {
		json_decref(msg);
		return -1;
	}
	json_object_set_new(msg, "t", json_string("r"));
	json_object_set(msg, "tid", tid);
	if (json_object_get(msg, "ok") == NULL)
		json_object_set_new(msg, "ok", json_true());
	return write_frame(l, msg);
}

int olink_reply_error(struct olink *l, const json_t *req, const char *code, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return olink_reply(l, req, json_pack("{s:b,s:s,s:s}", "ok", 0, "err", code, "msg", text));
}

int olink_send(struct olink *l, json_t *msg)
{
	return write_frame(l, msg);
}

/* ---- receiving ---- */

static int rate_ok(struct olink *l)
{
	return l->lim.rate <= 0 ||
	       tbucket_take(&l->rate, l->lim.rate, l->lim.burst, 1, time_mono_ms());
}

static void got_reply(struct olink *l, json_t *msg)
{
	json_int_t tid = json_integer_value(json_object_get(msg, "tid"));
	struct pending *p = tid > 0 && tid <= UINT32_MAX ? pend_take(l, (uint32_t)tid) : NULL;

	if (p != NULL)
		pend_done(p, msg, NULL);
}

static void got_hello(struct olink *l, json_t *msg)
{
	int rc;

	/* One check for every kind of link, before the owner sees the peer. */
	if (json_integer_value(json_object_get(msg, "v")) != OLINK_VERSION) {
		close_link(l, "peer speaks another protocol version");
		return;
	}
	if (!l->outgoing && write_frame(l, json_incref(l->hello)) < 0)
		return;
	json_decref(l->hello);
	l->hello = NULL;
	if (l->hello_timer != NULL)
		event_del(l->hello_timer);
	l->state = OLINK_READY;
	rc = l->ops->ready != NULL ? l->ops->ready(l, msg, l->arg) : 0;
	if (rc < 0 && l->state != OLINK_DEAD)
		close_link(l, "peer refused");
}

static void dispatch(struct olink *l, json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "t"));

	l->frames_in++;
	if (t == NULL) {
		close_link(l, "frame without a type");
		return;
	}
	if (l->state == OLINK_HELLO) {
		if (strcmp(t, "hello") != 0) {
			close_link(l, "expected hello");
			return;
		}
		got_hello(l, msg);
		return;
	}
	if (strcmp(t, "r") == 0) {
		got_reply(l, msg);
		return;
	}
	if (!rate_ok(l)) {
		if (json_object_get(msg, "tid") != NULL)
			olink_reply_error(l, msg, "busy", "too many requests; slow down");
		return;
	}
	l->ops->message(l, msg, l->arg);
}

/* Handles every whole frame in the input buffer. */
static void drain(struct olink *l)
{
	struct evbuffer *in = bufferevent_get_input(l->bev);

	while (l->state == OLINK_HELLO || l->state == OLINK_READY) {
		json_t *msg = NULL;
		char err[256];
		enum frame_rc rc = frame_read(in, l->lim.frame_max, &msg, err, sizeof(err));

		if (rc == FRAME_NEED_MORE)
			break;
		if (rc != FRAME_OK) {
			log_info("link %s (%s): %s", l->peer.addr, l->peer.name, err);
			close_link(l, err);
			break;
		}
		dispatch(l, msg);
		json_decref(msg);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct olink *l = arg;

	(void)bev;
	l->busy++;
	drain(l);
	l->busy--;
	release(l);
}

static int take_identity(struct olink *l)
{
	SSL *ssl = bufferevent_openssl_get_ssl(l->bev);
	X509 *cert = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	uint8_t nid[NODE_ID_LEN];

	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
	    node_id_from_cert(cert, nid) < 0 || cert_role(cert, l->peer.role, ROLE_MAX) < 0) {
		X509_free(cert);
		return -1;
	}
	cert_name(cert, l->peer.name, sizeof(l->peer.name));
	rid_from_bytes(nid, &l->peer.id);
	l->peer.cert = cert;
	return 0;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct olink *l = arg;
	char why[256] = "connection closed";
	unsigned long e;

	l->busy++;
	if (what & BEV_EVENT_CONNECTED) {
		if (take_identity(l) < 0) {
			close_link(l, "peer certificate unusable");
		} else {
			l->state = OLINK_HELLO;
			if (l->outgoing)
				write_frame(l, json_incref(l->hello));
			/* The peer's first frame can be read before this event. */
			drain(l);
		}
	} else {
		e = bufferevent_get_openssl_error(bev);
		if (what & BEV_EVENT_EOF)
			str_copy(why, "connection closed", sizeof(why));
		else if (e > 255 && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			str_copy(why, "connection closed", sizeof(why));
		else if (e > 255)
			ERR_error_string_n(e, why, sizeof(why));
		else if (what & BEV_EVENT_TIMEOUT)
			str_copy(why, "idle timeout", sizeof(why));
		else if ((what & BEV_EVENT_ERROR) && l->state == OLINK_HANDSHAKE)
			str_copy(why, "TLS handshake failed", sizeof(why));
		close_link(l, why);
	}
	l->busy--;
	release(l);
}

static void on_hello_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct olink *l = arg;

	(void)fd, (void)what;
	l->busy++;
	close_link(l, "handshake or hello timed out");
	l->busy--;
	release(l);
}

/* TLS runs as a filter over a plain socket bufferevent: the records of all
 * the frames queued in one turn of the loop leave in one write, where the
 * OpenSSL socket bufferevent makes one record and one system call per chunk
 * of its output buffer. */
static int start_tls(struct olink *l, evutil_socket_t fd, enum bufferevent_ssl_state st)
{
	SSL *ssl = SSL_new(l->ctx);
	struct bufferevent *sock;
	struct timeval idle = {l->lim.idle_secs, 0};
	int one = 1;

	if (ssl == NULL)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sock = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (sock == NULL) {
		SSL_free(ssl);
		return -1;
	}
	l->bev = bufferevent_openssl_filter_new(l->base, sock, ssl, st, BEV_OPT_CLOSE_ON_FREE);
	if (l->bev == NULL) {
		SSL_free(ssl);
		bufferevent_setfd(sock, -1); /* the caller still owns fd */
		bufferevent_free(sock);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
	bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
	bufferevent_setwatermark(l->bev, EV_READ, 0, l->lim.frame_max + FRAME_HDR_LEN);
	if (l->lim.idle_secs > 0)
		bufferevent_set_timeouts(l->bev, &idle, NULL);
	l->state = OLINK_HANDSHAKE;
	/* The socket under the filter reads on its own account (a new
	 * bufferevent only writes). */
	if (bufferevent_enable(sock, EV_READ | EV_WRITE) < 0 ||
	    bufferevent_enable(l->bev, EV_READ | EV_WRITE) < 0)
		return -1;
	/* A filter starts its handshake from the socket's callbacks, and a
	 * connected idle socket has none to give: the client speaks first. */
	if (st == BUFFEREVENT_SSL_CONNECTING)
		bufferevent_trigger(sock, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
	return 0;
}

static struct olink *link_new(struct event_base *base, SSL_CTX *ctx, json_t *hello,
			      const struct olink_limits *lim, const struct olink_ops *ops,
			      void *arg)
{
	struct olink *l = calloc(1, sizeof(*l));
	struct timeval tv = {lim->hello_secs, 0};

	if (l == NULL) {
		json_decref(hello);
		return NULL;
	}
	l->base = base;
	l->ctx = ctx;
	l->lim = *lim;
	l->ops = ops;
	l->arg = arg;
	l->hello = hello;
	json_object_set_new(l->hello, "t", json_string("hello"));
	json_object_set_new(l->hello, "v", json_integer(OLINK_VERSION));
	l->hello_timer = evtimer_new(base, on_hello_timeout, l);
	l->close_ev = event_new(base, -1, 0, on_deferred_close, l);
	if (l->hello == NULL || l->hello_timer == NULL || l->close_ev == NULL ||
	    evtimer_add(l->hello_timer, &tv) < 0 || pend_grow(l) < 0) {
		l->freed = 1;
		destroy(l);
		return NULL;
	}
	return l;
}

static void on_tcp(evutil_socket_t fd, const char *why, void *arg)
{
	struct olink *l = arg;

	l->tc = NULL;
	l->busy++;
	if (fd < 0)
		close_link(l, why);
	else if (start_tls(l, fd, BUFFEREVENT_SSL_CONNECTING) < 0) {
		evutil_closesocket(fd);
		close_link(l, "TLS setup failed");
	}
	l->busy--;
	release(l);
}

struct olink *olink_connect(struct event_base *base, SSL_CTX *ctx, const char *host, uint16_t port,
			    json_t *hello, const struct olink_limits *lim,
			    const struct olink_ops *ops, void *arg, char *err, size_t errlen)
{
	struct olink *l = link_new(base, ctx, hello, lim, ops, arg);

	if (l == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	l->outgoing = 1;
	snprintf(l->peer.addr, sizeof(l->peer.addr), "%s", host);
	l->state = OLINK_CONNECTING;
	l->tc = tcpconn_start(base, host, port, lim->hello_secs * 1000, on_tcp, l, err, errlen);
	if (l->tc == NULL) {
		l->freed = 1;
		destroy(l);
		return NULL;
	}
	return l;
}

struct olink *olink_accept(struct event_base *base, SSL_CTX *ctx, evutil_socket_t fd,
			   const char *peer_addr, json_t *hello, const struct olink_limits *lim,
			   const struct olink_ops *ops, void *arg)
{
	struct olink *l = link_new(base, ctx, hello, lim, ops, arg);

	if (l == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	str_copy(l->peer.addr, peer_addr, sizeof(l->peer.addr));
	if (start_tls(l, fd, BUFFEREVENT_SSL_ACCEPTING) < 0) {
		evutil_closesocket(fd);
		l->freed = 1;
		destroy(l);
		return NULL;
	}
	return l;
}

void olink_set_rate(struct olink *l, int rate, int burst)
{
	l->lim.rate = rate;
	l->lim.burst = burst; /* the bucket holds no more from its next take */
}

enum olink_state olink_get_state(const struct olink *l)
{
	return l->state;
}

const struct olink_peer *olink_peer(const struct olink *l)
{
	return &l->peer;
}

size_t olink_pending(const struct olink *l)
{
	return l->npending;
}

/* Frames waiting for TLS plus records waiting for the socket. */
size_t olink_outbuf(const struct olink *l)
{
	struct bufferevent *sock;
	size_t n;

	if (l->bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(l->bev));
	sock = bufferevent_get_underlying(l->bev);
	if (sock != NULL)
		n += evbuffer_get_length(bufferevent_get_output(sock));
	return n;
}

void olink_set_arg(struct olink *l, void *arg)
{
	l->arg = arg;
}

void *olink_get_arg(const struct olink *l)
{
	return l->arg;
}

uint64_t olink_frames_in(const struct olink *l)
{
	return l->frames_in;
}

uint64_t olink_frames_out(const struct olink *l)
{
	return l->frames_out;
}
