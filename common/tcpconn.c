/* Non-blocking TCP connect with plain failure reasons. */
#include "tcpconn.h"

#include "util.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcpconn {
	evutil_socket_t fd;
	int early_errno; /* connect() failed at once: reported from the loop */
	struct event *ev;
	struct event *timer;
	tcpconn_done_t cb;
	void *arg;
};

static void finish(struct tcpconn *c, evutil_socket_t fd, const char *why)
{
	tcpconn_done_t cb = c->cb;
	void *arg = c->arg;

	if (fd >= 0)
		c->fd = -1; /* handed over */
	tcpconn_cancel(c);
	cb(fd, why, arg);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct tcpconn *c = arg;
	int e = 0;
	socklen_t n = sizeof(e);

	(void)what;
	if (c->early_errno != 0)
		e = c->early_errno;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n) < 0)
		e = errno;
	if (e != 0)
		finish(c, -1, strerror(e));
	else
		finish(c, fd, NULL);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	finish(arg, -1, "connect timed out");
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len,
		   char *why, size_t whylen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	char ps[8];
	int rc;

	snprintf(ps, sizeof(ps), "%u", port);
	if (addr_is_ip(host))
		hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc != 0 || ai == NULL || ai->ai_addrlen > sizeof(*ss)) {
		err_set(why, whylen, "%s: %s", host, rc != 0 ? gai_strerror(rc) : "no address");
		if (ai != NULL)
			freeaddrinfo(ai);
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

struct tcpconn *tcpconn_start(struct event_base *base, const char *host, uint16_t port,
			      int timeout_ms, tcpconn_done_t cb, void *arg, char *why,
			      size_t whylen)
{
	struct tcpconn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int one = 1;

	if (c == NULL)
		return NULL;
	c->fd = -1;
	c->cb = cb;
	c->arg = arg;
	if (resolve(host, port, &ss, &sslen, why, whylen) < 0)
		goto fail;
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err_set(why, whylen, "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS)
		c->early_errno = errno; /* reported from the loop like every outcome */
	c->ev = event_new(base, c->fd, EV_WRITE, on_ready, c);
	c->timer = evtimer_new(base, on_timeout, c);
	if (c->ev == NULL || c->timer == NULL || event_add(c->ev, NULL) < 0 ||
	    evtimer_add(c->timer, &tv) < 0) {
		err_set(why, whylen, "out of memory");
		goto fail;
	}
	return c;
fail:
	tcpconn_cancel(c);
	return NULL;
}

void tcpconn_cancel(struct tcpconn *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
