/* Middlebox detection of the ordinary node: STUN Binding requests from one
 * UDP socket on the SIP listen address to two super nodes (the one it is
 * attached to and another of bootstrapd's list; STUN answers on the super
 * nodes' listen ports). No answer: UDP does not get out. Our own address
 * in the answer: no NAT. Otherwise a NAT, and whether it maps us alike for
 * both destinations or per destination ("symmetric"). Probed after every
 * attach and every 10 minutes; the user records say whether media needs a
 * relay (any NAT, or no UDP). The link itself is TLS over TCP to the main
 * port: that it is attached says TCP gets out. */
#include "on.h"

#include "log.h"
#include "record.h"
#include "stun.h"
#include "util.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVERS 2
#define RETRANS_MS 500
#define TRIES 4
#define EVERY_MS (10 * 60 * 1000)

struct on_nat {
	struct on *on;
	void (*changed)(void *arg); /* whether media needs a relay changed */
	void *arg;
	evutil_socket_t fd;
	struct sockaddr_storage local;
	struct event *rd, *timer;
	/* the probe in progress */
	int probing, tries, n;
	struct sockaddr_storage dst[SERVERS];
	char dst_name[SERVERS][96];
	uint8_t tid[SERVERS][STUN_TID_LEN];
	int got[SERVERS];
	struct sockaddr_storage mapped[SERVERS];
	/* the last result */
	int done;
	enum stun_nat result;
	struct sockaddr_storage seen[SERVERS];
	char seen_name[SERVERS][96];
	int nseen;
	uint64_t probed_ms, next_ms;
};

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN + 2] = "?", p[8] = "?";

	getnameinfo((const struct sockaddr *)ss,
		    ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					      : sizeof(struct sockaddr_in),
		    h, sizeof(h), p, sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
}

static void send_requests(struct on_nat *t)
{
	uint8_t b[64];

	for (int i = 0; i < t->n; i++) {
		size_t len;
		if (t->got[i])
			continue;
		len = stun_binding_request(b, sizeof(b), t->tid[i]);
		if (sendto(t->fd, b, len, 0, (struct sockaddr *)&t->dst[i],
			   t->dst[i].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							   : sizeof(struct sockaddr_in)) < 0)
			log_debug("STUN to %s: %s", t->dst_name[i], strerror(errno));
	}
}

static void finish(struct on_nat *t)
{
	struct sockaddr_storage m[SERVERS] = {0};
	int k = 0, before = on_nat_needs_relay(t);
	enum stun_nat old = t->result;
	int was_done = t->done;

	for (int i = 0; i < t->n; i++)
		if (t->got[i]) {
			t->seen[k] = t->mapped[i];
			str_copy(t->seen_name[k], t->dst_name[i], sizeof(t->seen_name[k]));
			m[k++] = t->mapped[i];
		}
	t->nseen = k;
	t->result = stun_classify((struct sockaddr *)&t->local, m, k);
	t->done = 1;
	t->probing = 0;
	t->probed_ms = time_mono_ms();
	t->next_ms = t->probed_ms + EVERY_MS;
	if (!was_done || old != t->result)
		log_info("middlebox: %s (%d of %d STUN servers answered)", stun_nat_name(t->result),
			 k, t->n);
	if (before != on_nat_needs_relay(t))
		t->changed(t->arg); /* the records say whether media needs a relay */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct on_nat *t = arg;
	int all = 1;

	(void)fd, (void)what;
	if (!t->probing) {
		if (t->on->state == ON_ATTACHED && time_mono_ms() >= t->next_ms)
			on_nat_probe(t);
		return;
	}
	for (int i = 0; i < t->n; i++)
		all &= t->got[i];
	if (all || ++t->tries >= TRIES) {
		finish(t);
		return;
	}
	send_requests(t);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct on_nat *t = arg;
	uint8_t b[STUN_MSG_MAX];
	struct stun_msg m;

	(void)what;
	for (int k = 0; k < 16; k++) {
		ssize_t n = recv(fd, b, sizeof(b), 0);
		if (n < 0)
			return;
		if (!t->probing || stun_parse(b, (size_t)n, &m) < 0 ||
		    m.type != STUN_BINDING_SUCCESS || !m.has_mapped)
			continue;
		for (int i = 0; i < t->n; i++)
			if (!t->got[i] && memcmp(m.tid, t->tid[i], STUN_TID_LEN) == 0) {
				t->got[i] = 1;
				t->mapped[i] = m.mapped;
			}
	}
}

void on_nat_probe(struct on_nat *t)
{
	struct on *on;
	uint16_t main_port;

	if (t == NULL || t->probing || t->on->state != ON_ATTACHED)
		return;
	on = t->on;
	t->n = 0;
	/* STUN answers on the main port number, also of a super node we
	 * reached on its fall-back port (the entry before it in the list). */
	main_port = on->cur.port;
	for (int i = 1; i < on->nreserve && on->cur.fallback; i++)
		if (on->reserve[i].fallback && on->reserve[i].port == on->cur.port &&
		    strcmp(on->reserve[i].host, on->cur.host) == 0 && !on->reserve[i - 1].fallback)
			main_port = on->reserve[i - 1].port;
	if (addr_ip_port(on->cur.host, main_port, &t->dst[0], NULL) == 0) {
		snprintf(t->dst_name[0], sizeof(t->dst_name[0]), "%s:%u", on->cur.host, main_port);
		t->n = 1;
	}
	for (int i = 0; i < on->nreserve && t->n < SERVERS; i++) {
		const struct sn_addr *a = &on->reserve[i];
		if (a->fallback || (strcmp(a->host, on->cur.host) == 0 && a->port == main_port) ||
		    addr_ip_port(a->host, a->port, &t->dst[t->n], NULL) < 0)
			continue;
		snprintf(t->dst_name[t->n], sizeof(t->dst_name[0]), "%s:%u", a->host, a->port);
		t->n++;
	}
	memset(t->got, 0, sizeof(t->got));
	for (int i = 0; i < t->n; i++)
		RAND_bytes(t->tid[i], STUN_TID_LEN);
	t->tries = 0;
	t->probing = 1;
	send_requests(t);
}

struct on_nat *on_nat_new(struct on *on, void (*changed)(void *arg), void *arg, char *err,
			  size_t errlen)
{
	struct on_nat *t = calloc(1, sizeof(*t));
	char host[64];
	uint16_t port;
	socklen_t sl = sizeof(t->local);
	struct timeval tv = {0, RETRANS_MS * 1000};

	if (t == NULL)
		return NULL;
	t->on = on;
	t->changed = changed;
	t->arg = arg;
	if (addr_split(on->cfg.sip_listen, host, sizeof(host), &port) < 0 ||
	    addr_ip_port(host, 0, &t->local, NULL) < 0) {
		err_set(err, errlen, "sip_listen: want IP:PORT, got %s", on->cfg.sip_listen);
		free(t);
		return NULL;
	}
	t->fd = socket(t->local.ss_family, SOCK_DGRAM, 0);
	if (t->fd < 0 || evutil_make_socket_nonblocking(t->fd) < 0 ||
	    bind(t->fd, (struct sockaddr *)&t->local,
		 t->local.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						: sizeof(struct sockaddr_in)) < 0 ||
	    getsockname(t->fd, (struct sockaddr *)&t->local, &sl) < 0) {
		err_set(err, errlen, "middlebox detection: UDP socket on %s: %s", host,
			strerror(errno));
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	t->rd = event_new(on->base, t->fd, EV_READ | EV_PERSIST, on_read, t);
	t->timer = event_new(on->base, -1, EV_PERSIST, on_timer, t);
	if (t->rd == NULL || t->timer == NULL || event_add(t->rd, NULL) < 0 ||
	    event_add(t->timer, &tv) < 0) {
		err_set(err, errlen, "middlebox detection: event set-up failed");
		on_nat_free(t);
		return NULL;
	}
	return t;
}

int on_nat_needs_relay(const struct on_nat *t)
{
	return t != NULL && t->done && t->result != STUN_NAT_NONE;
}

int on_nat_udp_blocked(const struct on_nat *t)
{
	return t != NULL && t->done && t->result == STUN_NAT_NO_ANSWER;
}

json_t *on_nat_status(const struct on_nat *t)
{
	json_t *seen;
	char local[128], buf[128];

	if (t == NULL || !t->done)
		return json_pack("{s:s}", "result", "not probed yet");
	seen = json_array();
	for (int i = 0; i < t->nseen; i++) {
		addr_text(&t->seen[i], buf, sizeof(buf));
		json_array_append_new(
			seen, json_pack("{s:s,s:s}", "server", t->seen_name[i], "mapped", buf));
	}
	addr_text(&t->local, local, sizeof(local));
	return json_pack("{s:s,s:b,s:b,s:b,s:s,s:o,s:i,s:I}", "result", stun_nat_name(t->result),
			 "udp", t->result != STUN_NAT_NO_ANSWER, "tcp_main_port",
			 t->on->state == ON_ATTACHED && !t->on->cur.fallback, "tcp_fallback_port",
			 t->on->state == ON_ATTACHED && t->on->cur.fallback, "local", local,
			 "answers", seen, "asked", t->n, "probed_ms_ago",
			 (json_int_t)(time_mono_ms() - t->probed_ms));
}

void on_nat_free(struct on_nat *t)
{
	if (t == NULL)
		return;
	if (t->rd != NULL)
		event_free(t->rd);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}
