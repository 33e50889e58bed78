/* The return reachability test of announced super nodes. */
#include "bootstrapd_check.h"

#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum check_state {
	CHECK_CONNECTING,
	CHECK_HANDSHAKE,
	CHECK_DONE
};

struct check {
	evutil_socket_t fd;
	struct event *conn_ev;
	SSL_CTX *ctx;
	struct bufferevent *bev;
	struct event *timer;
	enum check_state state;
	uint8_t node_id[NODE_ID_LEN];
	char where[96];
	check_done_t cb;
	void *arg;
};

static void release(struct check *c)
{
	if (c->conn_ev != NULL)
		event_free(c->conn_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev); /* closes fd */
	else if (c->fd >= 0)
		evutil_closesocket(c->fd);
	if (c->timer != NULL)
		event_free(c->timer);
	c->conn_ev = NULL;
	c->bev = NULL;
	c->timer = NULL;
	c->fd = -1;
}

static void finish(struct check *c, int ok, const char *why)
{
	char msg[256];

	c->state = CHECK_DONE;
	snprintf(msg, sizeof(msg), "%s: %s", c->where, why);
	release(c);
	c->cb(c, ok, msg, c->arg);
	free(c);
}

/* What the peer presented, once the handshake is through. */
static void judge(struct check *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
	uint8_t nid[NODE_ID_LEN];
	char role[ROLE_MAX];

	if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
		finish(c, 0, "no valid certificate presented");
		return;
	}
	if (cert_role(peer, role, sizeof(role)) < 0 || strcmp(role, ROLE_SUPERNODE) != 0) {
		finish(c, 0, "certificate there is not a super node's");
		return;
	}
	if (node_id_from_cert(peer, nid) < 0 || memcmp(nid, c->node_id, NODE_ID_LEN) != 0) {
		finish(c, 0, "a different node answers there (Node-ID mismatch)");
		return;
	}
	finish(c, 1, "reachable");
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct check *c = arg;
	unsigned long e;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		judge(c);
		return;
	}
	/* Small values are SSL_get_error() codes that libevent records when
	 * the queue was empty: the peer closed during the handshake. */
	e = bufferevent_get_openssl_error(bev);
	if (e > 255) {
		ERR_error_string_n(e, buf, sizeof(buf));
		finish(c, 0, buf);
	} else {
		finish(c, 0, "TLS handshake failed (connection closed by peer)");
	}
}

/* The TCP connection is up or failed; on success, TLS starts on it. */
static void on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct check *c = arg;
	SSL *ssl;
	int e = 0;
	socklen_t n = sizeof(e);

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n) < 0)
		e = errno;
	if (e != 0) {
		finish(c, 0, strerror(e));
		return;
	}
	event_free(c->conn_ev);
	c->conn_ev = NULL;
	ssl = SSL_new(c->ctx);
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(
			event_get_base(c->timer), fd, ssl, BUFFEREVENT_SSL_CONNECTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		finish(c, 0, "out of memory");
		return;
	}
	c->state = CHECK_HANDSHAKE;
	bufferevent_setcb(c->bev, NULL, NULL, on_tls_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct check *c = arg;

	(void)fd, (void)what;
	finish(c, 0,
	       c->state == CHECK_CONNECTING ? "connect timed out" : "TLS handshake timed out");
}

static int make_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

struct check *check_start(struct event_base *base, SSL_CTX *ctx, const char *host, uint16_t port,
			  const uint8_t node_id[NODE_ID_LEN], int timeout_secs, check_done_t cb,
			  void *arg)
{
	struct check *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	struct timeval tv = {timeout_secs, 0};
	socklen_t sslen;

	if (c == NULL)
		return NULL;
	c->fd = -1;
	if (make_sockaddr(host, port, &ss, &sslen) < 0)
		goto fail;
	memcpy(c->node_id, node_id, NODE_ID_LEN);
	snprintf(c->where, sizeof(c->where), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	c->cb = cb;
	c->arg = arg;
	c->ctx = ctx;
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	if (connect(c->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS)
		goto fail;
	/* Even an immediate result is reported from the loop, never from here. */
	c->conn_ev = event_new(base, c->fd, EV_WRITE, on_connected, c);
	c->timer = evtimer_new(base, on_timeout, c);
	if (c->conn_ev == NULL || c->timer == NULL || event_add(c->conn_ev, NULL) < 0 ||
	    evtimer_add(c->timer, &tv) < 0)
		goto fail;
	return c;
fail:
	check_cancel(c);
	return NULL;
}

void check_cancel(struct check *c)
{
	if (c == NULL)
		return;
	release(c);
	free(c);
}
