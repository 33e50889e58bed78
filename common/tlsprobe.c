/* A TLS probe of an address: connect, handshake, the certificate presented
 * (tlsprobe.h). */
#include "tlsprobe.h"

#include "util.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct tlsprobe {
	evutil_socket_t fd;
	struct event *conn_ev, *timer;
	struct bufferevent *bev;
	SSL_CTX *ctx;
	int handshaking;
	tlsprobe_done_t cb;
	void *arg;
};

void tlsprobe_cancel(struct tlsprobe *p)
{
	if (p == NULL)
		return;
	if (p->conn_ev != NULL)
		event_free(p->conn_ev);
	if (p->bev != NULL)
		bufferevent_free(p->bev); /* closes fd */
	else if (p->fd >= 0)
		evutil_closesocket(p->fd);
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

static void finish(struct tlsprobe *p, X509 *peer, const char *why)
{
	p->cb(peer, why, p->arg);
	tlsprobe_cancel(p);
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct tlsprobe *p = arg;
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
	unsigned long e;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
			finish(p, NULL, "no valid certificate presented");
		else
			finish(p, peer, NULL);
		return;
	}
	/* Small values are SSL_get_error() codes that libevent records when
	 * the queue was empty: the peer closed during the handshake. */
	e = bufferevent_get_openssl_error(bev);
	if (e > 255) {
		ERR_error_string_n(e, buf, sizeof(buf));
		finish(p, NULL, buf);
	} else {
		finish(p, NULL, "TLS handshake failed (connection closed by peer)");
	}
}

/* The TCP connection is up or failed; on success, TLS starts on it. */
static void on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct tlsprobe *p = arg;
	SSL *ssl;
	int e = 0;
	socklen_t n = sizeof(e);

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n) < 0)
		e = errno;
	if (e != 0) {
		finish(p, NULL, strerror(e));
		return;
	}
	event_free(p->conn_ev);
	p->conn_ev = NULL;
	ssl = SSL_new(p->ctx);
	if (ssl != NULL)
		p->bev = bufferevent_openssl_socket_new(
			event_get_base(p->timer), fd, ssl, BUFFEREVENT_SSL_CONNECTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (p->bev == NULL) {
		SSL_free(ssl);
		finish(p, NULL, "out of memory");
		return;
	}
	p->handshaking = 1;
	bufferevent_setcb(p->bev, NULL, NULL, on_tls_event, p);
	bufferevent_enable(p->bev, EV_READ);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tlsprobe *p = arg;

	(void)fd, (void)what;
	finish(p, NULL, p->handshaking ? "TLS handshake timed out" : "connect timed out");
}

struct tlsprobe *tlsprobe_start(struct event_base *base, SSL_CTX *ctx, const char *host,
				uint16_t port, int timeout_secs, tlsprobe_done_t cb, void *arg)
{
	struct tlsprobe *p = calloc(1, sizeof(*p));
	struct sockaddr_storage ss;
	struct timeval tv = {timeout_secs, 0};
	socklen_t len;

	if (p == NULL)
		return NULL;
	p->fd = -1;
	p->ctx = ctx;
	p->cb = cb;
	p->arg = arg;
	if (addr_ip_port(host, port, &ss, &len) < 0)
		goto fail;
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || (connect(p->fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS))
		goto fail;
	/* Even an immediate result is reported from the loop, never from here. */
	p->conn_ev = event_new(base, p->fd, EV_WRITE, on_connected, p);
	p->timer = evtimer_new(base, on_timeout, p);
	if (p->conn_ev == NULL || p->timer == NULL || event_add(p->conn_ev, NULL) < 0 ||
	    evtimer_add(p->timer, &tv) < 0)
		goto fail;
	return p;
fail:
	tlsprobe_cancel(p);
	return NULL;
}
