/* The super node's STUN server (RFC 5389 Binding on UDP), on the same
 * address and port number as its TLS listener unless [stun] listen says
 * otherwise. Anyone may ask (an ordinary node learns its public address
 * and, asking two super nodes, whether its NAT maps per destination);
 * floods are held by a token bucket per source (an IPv4 address or an IPv6
 * /64) and one for the whole server, so the answers never exceed what the
 * operator allows. An answer holds only what the asker needs (the mapped
 * address; FINGERPRINT if the request had one; an error's code and the
 * unknown attributes): at most 1.6 times a request over IPv4, 2.2 over
 * IPv6, for the smallest request (20 bytes; tests/unit/test_stun.c). The
 * server is advertised as "service:stun" (data {"host", "port"}) in the DHT
 * through sn_service.c, so that nodes can find STUN servers. */
#include "supernode.h"

#include "log.h"
#include "stun.h"
#include "util.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUCKETS 4096
#define BATCH 64 /* datagrams per wake-up */

struct stun_srv {
	struct sn *sn;
	evutil_socket_t fd;
	uint16_t port;
	struct event *ev;
	struct tbucket all, per[BUCKETS];
};

/* Two seconds' worth may come at once. */
static int take(struct tbucket *b, double rate, uint64_t now)
{
	return tbucket_take(b, rate, rate * 2 > 1 ? rate * 2 : 1, 1, now);
}

static unsigned source_slot(const struct sockaddr_storage *ss)
{
	uint32_t h = 2166136261u;
	const uint8_t *p;
	size_t n;

	if (ss->ss_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
	} else if (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
		p = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr + 12; /* one IPv4 host */
		n = 4;
	} else {
		p = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		n = 8; /* the /64 */
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % BUCKETS;
}

static void answer(struct stun_srv *s, const uint8_t *b, size_t n, struct sockaddr_storage *from,
		   socklen_t flen)
{
	struct sn *sn = s->sn;
	struct stun_msg m;
	uint8_t out[STUN_MSG_MAX];
	size_t len;
	uint64_t now = now_ms();

	if (!stun_is_stun(b, n)) {
		sn->stats.stun_bad++;
		return; /* not STUN: no answer */
	}
	if (!take(&s->per[source_slot(from)], (double)sn->cfg.stun_rate_per_addr, now) ||
	    !take(&s->all, (double)sn->cfg.stun_rate, now)) {
		sn->stats.stun_dropped++;
		return;
	}
	if (stun_parse(b, n, &m) < 0) {
		sn->stats.stun_bad++;
		return;
	}
	if (m.type != STUN_BINDING_REQUEST)
		return; /* indications, responses: nothing to say */
	sn->stats.stun_requests++;
	/* No reason phrase, no SOFTWARE: the answer stays small (see above). */
	if (m.nunknown > 0)
		len = stun_binding_error(out, sizeof(out), m.tid, 420, "", m.unknown, m.nunknown,
					 m.has_fingerprint);
	else
		len = stun_binding_success(out, sizeof(out), m.tid, (struct sockaddr *)from,
					   m.has_fingerprint);
	if (len > 0 && sendto(s->fd, out, len, 0, (struct sockaddr *)from, flen) < 0 &&
	    errno != EAGAIN && errno != EWOULDBLOCK)
		log_debug("STUN answer not sent: %s", strerror(errno));
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct stun_srv *s = arg;
	uint8_t b[STUN_MSG_MAX + 1];

	(void)what;
	for (int i = 0; i < BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		if ((size_t)n > STUN_MSG_MAX) {
			s->sn->stats.stun_bad++; /* too big for a Binding request */
			continue;
		}
		answer(s, b, (size_t)n, &from, flen);
	}
}

/* The data of service:stun: where to ask. */
static int service_data(struct sn *sn, char *buf, size_t len)
{
	if (sn->stun == NULL)
		return -1;
	return service_stun_data(buf, len, sn->self.host, sn->stun->port);
}

int stun_start(struct sn *sn, char *err, size_t errlen)
{
	struct stun_srv *s;
	char host[64];
	uint16_t port;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *addr = sn->cfg.stun_listen;
	char def[96];

	if (addr != NULL && strcmp(addr, "off") == 0)
		return 0;
	if (addr == NULL || addr[0] == '\0') {
		snprintf(def, sizeof(def), strchr(sn->listen_host, ':') ? "[%s]:%u" : "%s:%u",
			 sn->listen_host, sn->listen_port);
		addr = def;
	}
	if (addr_split(addr, host, sizeof(host), &port) < 0 ||
	    addr_ip_port(host, port, &ss, &sl) < 0) {
		err_set(err, errlen, "[stun] listen: want IP:PORT, got %s", addr);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->sn = sn;
	s->fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (s->fd < 0 || evutil_make_socket_nonblocking(s->fd) < 0 ||
	    bind(s->fd, (struct sockaddr *)&ss, sl) < 0) {
		err_set(err, errlen, "STUN on UDP %s: %s", addr, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return -1;
	}
	s->port = port;
	s->ev = event_new(sn->base, s->fd, EV_READ | EV_PERSIST, on_read, s);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0) {
		err_set(err, errlen, "STUN: event set-up failed");
		if (s->ev != NULL)
			event_free(s->ev);
		close(s->fd);
		free(s);
		return -1;
	}
	sn->stun = s;
	log_info("STUN on UDP %s", addr);
	if (service_add(sn, "service:stun", service_data) < 0) {
		err_set(err, errlen, "STUN: cannot advertise service:stun");
		return -1;
	}
	return 0;
}

void stun_stop(struct sn *sn)
{
	struct stun_srv *s = sn->stun;

	if (s == NULL)
		return;
	event_free(s->ev);
	close(s->fd);
	free(s);
	sn->stun = NULL;
}
