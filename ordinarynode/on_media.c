/* Media for the ordinary node's phones (docs/operations.md, "Media").
 *
 * Each ordinary node looks after its own side of a call: when its phones
 * need help (it found a NAT, or UDP does not get out, or [media] relay says
 * so), it takes streams of its super node's relay and rewrites SDP where
 * SIP crosses between its phones and the overlay:
 *   - SDP from our phone, going out: every address becomes the relay's, each
 *     media line's port the far-facing port of its stream. The far end sends
 *     to the relay, and sees nothing of our network.
 *   - SDP from the far end, coming in: the relay learns where the far end
 *     wants media (relay_use), and our phone is told to send to the
 *     phone-facing port.
 * The far end's node does the same for its own side, so a call between two
 * NATed sites passes two relays, a call between a NATed and an open site
 * one, and a call between open sites none.
 * A gateway's phones are the SIP world: its streams face it with their far
 * pair (which takes a NATed far end's packets from wherever they come) and
 * the overlay with their near pair (gw_side).
 *
 * Streams are taken from a small pool allocated ahead on the link, so SIP
 * never waits for the relay. A node whose site lets no UDP out (tunnel)
 * gives its phone a local port pair instead and carries the packets over
 * the link as "media" frames; those ports take packets only from the
 * address our phone's SDP names (and, once latched, from that source). Streams are given back at
 * BYE, at the failure or cancellation of the call, and the super node drops streams that stay
 * silent (it says "relay_gone"). */
#include "on.h"

#include "log.h"
#include "sdp.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>

#define POOL_MAX 32
#define BUCKETS 1024
#define CALLS_MAX 20000
#define RETRY_MS 5000
#define PKT_MAX 2048
#define SWEEP_IDLE_MS (10 * 60 * 1000ull) /* a call without live streams */
#define CALL_MAX_MS (24 * 3600 * 1000ull) /* any call */

enum {
	M_AUTO,
	M_ALWAYS,
	M_TUNNEL,
	M_NEVER
};

struct mcall;

struct lstream {
	struct on_media *m;
	struct mcall *c;
	struct lstream *hnext; /* by id */
	uint32_t id;
	uint16_t near, far; /* relay ports (near 0: tunnel) */
	int tunnel;
	/* tunnel: the local port pair our phone sends to */
	evutil_socket_t fd[2];
	struct event *ev[2];
	uint16_t lport;
	struct sockaddr_storage phone[2];
	socklen_t plen[2];
	int latched[2], have_phone[2];
	char far_addr[96];   /* what relay_use said last */
	char phone_addr[96]; /* where our phone's SDP said it receives */
};

struct mcall {
	struct mcall *next;
	struct lstream *s[SDP_MEDIA_MAX];
	uint64_t created;
	char call_id[];
};

struct pooled {
	uint32_t id;
	uint16_t near, far;
	int tunnel;
};

struct on_media {
	struct on *on;
	int mode;
	char host[64];     /* the relay's address (from its last answer) */
	char local_ip[64]; /* tunnel: where our phones send */
	struct pooled pool[POOL_MAX];
	int npool, pool_target;
	int asking;
	struct olink *pool_link;
	uint64_t retry_at;
	struct mcall *calls[BUCKETS];
	struct lstream *byid[BUCKETS];
	int ncalls;
	struct event *tick;
	unsigned ticks;
	struct on_media_stats {
		uint64_t relayed, unavailable, sdp_bad, tunnel_in, tunnel_out, gone;
		uint64_t tunnel_foreign; /* packets to a tunnel port not from our phone */
	} st;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

/* With hide_addresses, auto relays every call even without a NAT: media
 * that went direct would name our phone's own address to the far phone. */
static int needed(const struct on_media *m)
{
	return m->mode == M_ALWAYS || m->mode == M_TUNNEL ||
	       (m->mode == M_AUTO && (m->on->cfg.media_hide || on_nat_needs_relay(m->on->nat)));
}

static int tunnel_needed(const struct on_media *m)
{
	return m->mode == M_TUNNEL || (m->mode != M_NEVER && on_nat_udp_blocked(m->on->nat));
}

/* ---- the pool ---- */

static void refill(struct on_media *m);

static void on_alloc(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct on_media *m = arg;
	json_t *list = reply != NULL ? json_object_get(reply, "streams") : NULL, *v;
	const char *host = reply != NULL ? json_string_value(json_object_get(reply, "host")) : NULL;
	size_t i;

	m->asking = 0;
	if (l != m->on->link || l != m->pool_link)
		return; /* the link changed meanwhile */
	if (!json_is_array(list) || host == NULL) {
		log_info("relay streams not allocated: %s",
			 reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err);
		m->retry_at = time_mono_ms() + RETRY_MS;
		return;
	}
	str_copy(m->host, host, sizeof(m->host));
	json_array_foreach (list, i, v) {
		json_int_t id = json_integer_value(json_object_get(v, "id"));
		json_int_t near = json_integer_value(json_object_get(v, "near"));
		json_int_t far = json_integer_value(json_object_get(v, "far"));
		if (m->npool == POOL_MAX || id <= 0 || id > UINT32_MAX || near < 0 ||
		    near > 65535 || far <= 0 || far > 65535)
			continue;
		m->pool[m->npool++] =
			(struct pooled){(uint32_t)id, (uint16_t)near, (uint16_t)far, near == 0};
	}
}

static void send_free(struct on_media *m, const uint32_t *ids, int n)
{
	json_t *a;

	if (n == 0 || m->on->link == NULL)
		return;
	a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	olink_send(m->on->link, json_pack("{s:s,s:o}", "t", "relay_free", "ids", a));
}

static void refill(struct on_media *m)
{
	struct on *on = m->on;
	int tunnel = tunnel_needed(m);

	if (on->state != ON_ATTACHED || on->link == NULL)
		return;
	if (m->pool_link != on->link) {
		/* A new link (another super node): the old pool went with the old one. */
		m->npool = 0;
		m->pool_link = on->link;
		m->asking = 0;
		m->retry_at = 0;
	}
	if (!needed(m) || m->asking || time_mono_ms() < m->retry_at)
		return;
	if (m->npool > 0 && m->pool[0].tunnel != tunnel) {
		uint32_t ids[POOL_MAX];
		for (int i = 0; i < m->npool; i++)
			ids[i] = m->pool[i].id;
		send_free(m, ids, m->npool);
		m->npool = 0;
	}
	if (m->npool >= m->pool_target)
		return;
	if (olink_request(on->link,
			  json_pack("{s:s,s:i,s:b}", "t", "relay_alloc", "n",
				    m->pool_target - m->npool, "tunnel", tunnel),
			  10000, on_alloc, m) == 0)
		m->asking = 1;
}

static void call_free(struct on_media *m, struct mcall **pp, int tell);

static int call_live(const struct mcall *c)
{
	for (int i = 0; i < SDP_MEDIA_MAX; i++)
		if (c->s[i] != NULL && c->s[i]->id != 0)
			return 1;
	return 0;
}

/* Calls whose BYE never came: once the relay dropped all their streams
 * (idle), and after a day in any case, they are forgotten. */
static void sweep(struct on_media *m)
{
	uint64_t now = time_mono_ms();

	for (int i = 0; i < BUCKETS; i++) {
		struct mcall **pp = &m->calls[i];
		while (*pp != NULL) {
			struct mcall *c = *pp;
			if ((!call_live(c) && now - c->created > SWEEP_IDLE_MS) ||
			    now - c->created > CALL_MAX_MS)
				call_free(m, pp, 1);
			else
				pp = &c->next;
		}
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct on_media *m = arg;

	(void)fd, (void)what;
	refill(m);
	if (++m->ticks % 60 == 0)
		sweep(m);
}

/* ---- tunnel: a local port pair, packets over the link ---- */

/* Same IP address; with port, the same port too. */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b, int port)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr &&
		       (!port || x->sin_port == y->sin_port);
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
		       (!port || x->sin6_port == y->sin6_port);
	}
	return 0;
}

/* A packet to a tunnel port from `from`: our phone's, or dropped. Before
 * the stream latched, only the address our phone's SDP names may send
 * (from any port: the first packet latches); after, only the latched
 * source. Anyone else on the LAN would otherwise take the call's media. */
static int from_phone(struct lstream *s, int ch, const struct sockaddr_storage *from, socklen_t fl)
{
	if (!s->have_phone[ch] || !same_addr(from, &s->phone[ch], s->latched[ch])) {
		s->m->st.tunnel_foreign++;
		return 0;
	}
	if (!s->latched[ch]) {
		memcpy(&s->phone[ch], from, fl);
		s->plen[ch] = fl;
		s->latched[ch] = 1;
	}
	return 1;
}

static void on_local(evutil_socket_t fd, short what, void *arg)
{
	struct lstream *s = arg;
	struct on_media *m = s->m;
	int ch = fd == s->fd[1];
	uint8_t b[PKT_MAX];

	(void)what;
	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
		char *p;

		if (n <= 0)
			return;
		if (!from_phone(s, ch, &from, fl))
			continue;
		if (m->on->link == NULL || olink_outbuf(m->on->link) > 256 * 1024 || s->id == 0)
			continue;
		p = b64_encode(b, (size_t)n);
		if (p == NULL)
			continue;
		olink_send(m->on->link, json_pack("{s:s,s:I,s:i,s:s}", "t", "media", "id",
						  (json_int_t)s->id, "c", ch, "p", p));
		free(p);
		m->st.tunnel_out++;
	}
}

static int open_local(struct on_media *m, struct lstream *s)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	for (int tries = 0; tries < 64; tries++) {
		uint16_t r;
		RAND_bytes((unsigned char *)&r, sizeof(r));
		uint16_t port = (uint16_t)(30000 + (r % 15000) * 2);
		int ok = 1;

		for (int c = 0; c < 2 && ok; c++) {
			if (addr_ip_port(m->local_ip, (uint16_t)(port + c), &ss, &sl) < 0)
				return -1;
			s->fd[c] = socket(ss.ss_family, SOCK_DGRAM, 0);
			if (s->fd[c] < 0 || evutil_make_socket_nonblocking(s->fd[c]) < 0 ||
			    bind(s->fd[c], (struct sockaddr *)&ss, sl) < 0)
				ok = 0;
		}
		if (ok) {
			s->lport = port;
			for (int c = 0; c < 2; c++) {
				s->ev[c] = event_new(m->on->base, s->fd[c], EV_READ | EV_PERSIST,
						     on_local, s);
				if (s->ev[c] == NULL || event_add(s->ev[c], NULL) < 0)
					return -1;
			}
			return 0;
		}
		for (int c = 0; c < 2; c++) {
			if (s->fd[c] >= 0)
				close(s->fd[c]);
			s->fd[c] = -1;
		}
		if (errno == EMFILE || errno == ENFILE)
			return -1;
	}
	return -1;
}

/* ---- calls ---- */

static struct mcall **call_slot(struct on_media *m, const char *cid)
{
	struct mcall **pp = &m->calls[hash(cid) % BUCKETS];

	while (*pp != NULL && strcmp((*pp)->call_id, cid) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void stream_unindex(struct on_media *m, struct lstream *s)
{
	struct lstream **pp = &m->byid[s->id % BUCKETS];

	while (*pp != NULL && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp != NULL)
		*pp = s->hnext;
}

static void stream_free(struct lstream *s)
{
	for (int c = 0; c < 2; c++) {
		if (s->ev[c] != NULL)
			event_free(s->ev[c]);
		if (s->fd[c] >= 0)
			close(s->fd[c]);
	}
	free(s);
}

static void call_free(struct on_media *m, struct mcall **pp, int tell)
{
	struct mcall *c = *pp;
	uint32_t ids[SDP_MEDIA_MAX];
	int n = 0;

	*pp = c->next;
	for (int i = 0; i < SDP_MEDIA_MAX; i++) {
		struct lstream *s = c->s[i];
		if (s == NULL)
			continue;
		if (s->id != 0) {
			ids[n++] = s->id;
			stream_unindex(m, s);
		}
		stream_free(s);
	}
	if (tell)
		send_free(m, ids, n);
	m->ncalls--;
	free(c);
}

static struct mcall *call_get(struct on_media *m, const char *cid)
{
	struct mcall **pp = call_slot(m, cid);
	size_t n = strlen(cid);

	if (*pp != NULL)
		return *pp;
	if (m->ncalls >= CALLS_MAX || (*pp = calloc(1, sizeof(**pp) + n + 1)) == NULL)
		return NULL;
	memcpy((*pp)->call_id, cid, n + 1);
	(*pp)->created = time_mono_ms();
	m->ncalls++;
	m->st.relayed++;
	return *pp;
}

/* The stream of media line i of call c, taken from the pool if new. */
static struct lstream *stream_of(struct on_media *m, struct mcall *c, int i)
{
	struct lstream *s;

	if (c->s[i] != NULL)
		return c->s[i];
	if (m->npool == 0 || m->pool_link != m->on->link || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd[0] = s->fd[1] = -1;
	s->m = m;
	s->c = c;
	m->npool--;
	s->id = m->pool[0].id;
	s->near = m->pool[0].near;
	s->far = m->pool[0].far;
	s->tunnel = m->pool[0].tunnel;
	memmove(&m->pool[0], &m->pool[1], sizeof(m->pool[0]) * (size_t)m->npool);
	if (s->tunnel && open_local(m, s) < 0) {
		log_warn("no local port pair for a tunnelled stream: %s", strerror(errno));
		send_free(m, &s->id, 1);
		stream_free(s);
		return NULL;
	}
	s->hnext = m->byid[s->id % BUCKETS];
	m->byid[s->id % BUCKETS] = s;
	c->s[i] = s;
	return s;
}

/* ---- SDP in SIP messages ---- */

static int set_body(msg_t *msg, const char *b, size_t n)
{
	sip_t *sip = sip_object(msg);
	su_home_t *home = msg_home(msg);
	sip_payload_t *pl = sip_payload_create(home, b, (isize_t)n);
	sip_content_length_t *cl = sip_content_length_create(home, (uint32_t)n);

	if (pl == NULL || cl == NULL)
		return -1;
	if (msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_payload,
			       (msg_header_t *)pl) < 0)
		return -1;
	if (sip->sip_content_length != NULL)
		return msg_header_replace(msg, (msg_pub_t *)sip,
					  (msg_header_t *)sip->sip_content_length,
					  (msg_header_t *)cl);
	return msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)cl);
}

/* The SDP of msg, if it has one; the call's media state (made when media
 * needs the relay). */
static int sdp_of(struct on_media *m, msg_t *msg, struct sdp *d, struct mcall **cp)
{
	sip_t *sip = sip_object(msg);
	char err[128];

	*cp = NULL;
	if (m == NULL || sip == NULL || sip->sip_payload == NULL || sip->sip_call_id == NULL ||
	    sip->sip_payload->pl_len == 0)
		return -1;
	if (sip->sip_content_type != NULL && sip->sip_content_type->c_type != NULL &&
	    strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0)
		return -1;
	*cp = *call_slot(m, sip->sip_call_id->i_id);
	if (*cp == NULL && !needed(m))
		return -1;
	if (sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len, d, err, sizeof(err)) <
	    0) {
		m->st.sdp_bad++;
		log_info("SDP left as it is (call %s): %s", sip->sip_call_id->i_id, err);
		return -1;
	}
	if (*cp == NULL)
		*cp = call_get(m, sip->sip_call_id->i_id);
	return *cp != NULL ? 0 : -1;
}

static int rewrite(struct on_media *m, msg_t *msg, const char *host, const uint16_t *ports, int n)
{
	sip_t *sip = sip_object(msg);
	size_t len;
	char *b = sdp_rewrite(sip->sip_payload->pl_data, sip->sip_payload->pl_len, host, ports, n,
			      &len);
	int rc;

	if (b == NULL) {
		m->st.sdp_bad++;
		return -1;
	}
	rc = set_body(msg, b, len);
	free(b);
	return rc;
}

/* A stream for every media line of d that is not disabled: 0, or -1 when
 * the pool ran dry (the message then passes unchanged). */
static int take_streams(struct on_media *m, struct mcall *c, const struct sdp *d, msg_t *msg)
{
	for (int i = 0; i < d->nmedia; i++)
		if (d->m[i].port != 0 && stream_of(m, c, i) == NULL) {
			m->st.unavailable++;
			log_warn("no relay stream free: media of call %s goes direct",
				 sip_object(msg)->sip_call_id->i_id);
			refill(m);
			return -1;
		}
	return 0;
}

/* "IP:PORT", or "[IP]:PORT" for IPv6. */
static void hostport(char *buf, size_t len, const char *ip, uint16_t port)
{
	snprintf(buf, len, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip, port);
}

static int is_ip(const char *a)
{
	unsigned char ip[16];

	return inet_pton(AF_INET, a, ip) == 1 || inet_pton(AF_INET6, a, ip) == 1;
}

/* Tells the relay where our phone receives (its SDP): the near side sends
 * there before the phone speaks, which a DTLS server never does first.
 * moved: a re-offer from another port, latched anew. */
static void tell_near(struct on_media *m, const struct lstream *s, const struct sdp_media *d,
		      int moved)
{
	char near[96], rtcp[96];
	const char *ra = d->rtcp_addr[0] != '\0' ? d->rtcp_addr : d->addr;
	json_t *use;

	if (s->tunnel || m->on->link == NULL)
		return;
	if (!is_ip(d->addr)) {
		/* A host name: nothing the relay could send to; a move still counts. */
		if (moved)
			olink_send(m->on->link, json_pack("{s:s,s:I,s:b}", "t", "relay_use", "id",
							  (json_int_t)s->id, "near_reset", 1));
		return;
	}
	hostport(near, sizeof(near), d->addr, d->port);
	use = json_pack("{s:s,s:I,s:s}", "t", "relay_use", "id", (json_int_t)s->id, "near", near);
	if (d->rtcp_port != 0 && is_ip(ra)) {
		hostport(rtcp, sizeof(rtcp), ra, d->rtcp_port);
		json_object_set_new(use, "near_rtcp", json_string(rtcp));
	}
	if (moved)
		json_object_set_new(use, "near_reset", json_true());
	olink_send(m->on->link, use);
}

/* On a gateway the "phones" are the SIP world, anywhere on the Internet:
 * they face each stream's far pair, which takes packets only from the IP
 * their SDP names or, when that is private (a far end behind a NAT that
 * named its own address), from the first public source, and answers where
 * they come from. The near pair takes packets only from our link's
 * address and the one it was told: it faces the overlay's side (its relay,
 * or a node's phone that does not hide). */
static int gw_side(const struct on_media *m, const struct lstream *s)
{
	return m->on->gw != NULL && !s->tunnel;
}

/* The near pair's peer: where SDP media line d receives (our phone's, or
 * on a gateway the overlay's side). */
static void near_peer(struct on_media *m, struct lstream *s, const struct sdp_media *d)
{
	char pa[96];

	hostport(pa, sizeof(pa), d->addr, d->port);
	if (strcmp(pa, s->phone_addr) != 0) {
		/* A re-offer from another port: the relay latches anew. */
		int moved = s->phone_addr[0] != '\0';
		if (moved)
			s->latched[0] = s->latched[1] = 0;
		tell_near(m, s, d, moved);
	}
	str_copy(s->phone_addr, pa, sizeof(s->phone_addr));
}

/* The far pair's peer: where the far end wants media (its SDP line d). */
static void far_peer(struct on_media *m, struct lstream *s, const struct sdp_media *d)
{
	char far[96], rtcp[96];
	const char *ra;
	json_t *use;

	hostport(far, sizeof(far), d->addr, d->port);
	if (strcmp(far, s->far_addr) == 0 || m->on->link == NULL)
		return;
	str_copy(s->far_addr, far, sizeof(s->far_addr));
	use = json_pack("{s:s,s:I,s:s}", "t", "relay_use", "id", (json_int_t)s->id, "far", far);
	if (d->rtcp_port != 0) {
		ra = d->rtcp_addr[0] != '\0' ? d->rtcp_addr : d->addr;
		hostport(rtcp, sizeof(rtcp), ra, d->rtcp_port);
		json_object_set_new(use, "far_rtcp", json_string(rtcp));
	}
	olink_send(m->on->link, use);
}

/* A tunnelled stream: our phone is on our LAN, its SDP address is
 * reachable; the local ports send there until it speaks. */
static void tunnel_phone(struct lstream *s, const struct sdp_media *d)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (s->latched[0] || addr_ip_port(d->addr, d->port, &ss, &sl) < 0)
		return;
	s->phone[0] = ss;
	s->plen[0] = sl;
	s->have_phone[0] = 1;
	if (addr_ip_port(d->addr, (uint16_t)(d->port + 1), &ss, &sl) == 0) {
		s->phone[1] = ss;
		s->plen[1] = sl;
		s->have_phone[1] = 1;
	}
}

void on_media_to_overlay(struct on_media *m, msg_t *msg)
{
	struct sdp d;
	struct mcall *c;
	uint16_t ports[SDP_MEDIA_MAX] = {0};

	if (sdp_of(m, msg, &d, &c) < 0 || take_streams(m, c, &d, msg) < 0)
		return;
	for (int i = 0; i < d.nmedia; i++) {
		struct lstream *s = c->s[i];
		if (d.m[i].port == 0)
			continue;
		if (gw_side(m, s)) { /* from the SIP world */
			ports[i] = s->near;
			far_peer(m, s, &d.m[i]);
			continue;
		}
		ports[i] = s->far;
		near_peer(m, s, &d.m[i]);
		if (s->tunnel)
			tunnel_phone(s, &d.m[i]);
	}
	rewrite(m, msg, m->host, ports, d.nmedia);
	refill(m);
}

void on_media_to_phone(struct on_media *m, msg_t *msg)
{
	struct sdp d;
	struct mcall *c;
	uint16_t ports[SDP_MEDIA_MAX] = {0};
	int tunnel = 0;

	if (sdp_of(m, msg, &d, &c) < 0 || take_streams(m, c, &d, msg) < 0)
		return;
	for (int i = 0; i < d.nmedia; i++) {
		struct lstream *s = c->s[i];
		if (d.m[i].port == 0)
			continue;
		if (gw_side(m, s)) { /* from the overlay, to the SIP world */
			ports[i] = s->far;
			near_peer(m, s, &d.m[i]);
			continue;
		}
		tunnel |= s->tunnel;
		ports[i] = s->tunnel ? s->lport : s->near;
		far_peer(m, s, &d.m[i]);
	}
	rewrite(m, msg, tunnel ? m->local_ip : m->host, ports, d.nmedia);
	refill(m);
}

void on_media_release(struct on_media *m, const char *call_id)
{
	struct mcall **pp;

	if (m == NULL || call_id == NULL)
		return;
	pp = call_slot(m, call_id);
	if (*pp != NULL)
		call_free(m, pp, 1);
}

/* "media" and "relay_gone" frames from the super node. */
void on_media_frame(struct on_media *m, const json_t *f)
{
	const char *t = json_string_value(json_object_get(f, "t"));

	if (m == NULL || t == NULL)
		return;
	if (strcmp(t, "media") == 0) {
		json_int_t id = json_integer_value(json_object_get(f, "id"));
		json_int_t ch = json_integer_value(json_object_get(f, "c"));
		const char *p = json_string_value(json_object_get(f, "p"));
		struct lstream *s;
		uint8_t *b;
		size_t n;

		for (s = m->byid[(uint64_t)id % BUCKETS]; s != NULL && s->id != (uint32_t)id;
		     s = s->hnext)
			;
		if (s == NULL || !s->tunnel || p == NULL || (ch != 0 && ch != 1) ||
		    !s->have_phone[ch])
			return;
		b = b64_decode(p, PKT_MAX, &n);
		if (b != NULL && n > 0 &&
		    sendto(s->fd[ch], b, n, 0, (struct sockaddr *)&s->phone[ch], s->plen[ch]) >= 0)
			m->st.tunnel_in++;
		free(b);
		return;
	}
	if (strcmp(t, "relay_gone") == 0) {
		json_t *ids = json_object_get(f, "ids"), *v;
		size_t i;

		json_array_foreach (ids, i, v) {
			uint32_t id = (uint32_t)json_integer_value(v);
			struct lstream *s;
			for (s = m->byid[id % BUCKETS]; s != NULL && s->id != id; s = s->hnext)
				;
			if (s == NULL)
				continue;
			m->st.gone++;
			stream_unindex(m, s);
			s->id = 0; /* the call keeps its slot; its media stays off */
		}
	}
}

json_t *on_media_status(const struct on_media *m)
{
	static const char *modes[] = {"auto", "always", "tunnel", "never"};

	return json_pack("{s:s,s:b,s:b,s:b,s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "relay",
			 modes[m->mode], "hide_addresses", m->on->cfg.media_hide, "needed",
			 needed(m), "tunnel", tunnel_needed(m), "relay_host", m->host, "pool",
			 m->npool, "calls", m->ncalls, "relayed", (json_int_t)m->st.relayed,
			 "unavailable", (json_int_t)m->st.unavailable, "sdp_bad",
			 (json_int_t)m->st.sdp_bad, "tunnelled_in", (json_int_t)m->st.tunnel_in,
			 "tunnelled_out", (json_int_t)m->st.tunnel_out, "streams_gone",
			 (json_int_t)m->st.gone, "tunnel_foreign_dropped",
			 (json_int_t)m->st.tunnel_foreign);
}

struct on_media *on_media_new(struct on *on, char *err, size_t errlen)
{
	struct on_media *m = calloc(1, sizeof(*m));
	const char *mode = on->cfg.media_relay;
	char host[64];
	uint16_t port;

	if (m == NULL)
		return NULL;
	m->on = on;
	if (strcmp(mode, "auto") == 0)
		m->mode = M_AUTO;
	else if (strcmp(mode, "always") == 0)
		m->mode = M_ALWAYS;
	else if (strcmp(mode, "tunnel") == 0)
		m->mode = M_TUNNEL;
	else if (strcmp(mode, "never") == 0)
		m->mode = M_NEVER;
	else {
		err_set(err, errlen, "[media] relay: auto, always, tunnel or never, not %s", mode);
		free(m);
		return NULL;
	}
	m->pool_target = (int)on->cfg.media_pool;
	if (addr_split(on->cfg.sip_listen, host, sizeof(host), &port) < 0) {
		err_set(err, errlen, "sip_listen: want IP:PORT");
		free(m);
		return NULL;
	}
	str_copy(m->local_ip, host, sizeof(m->local_ip));
	m->tick = event_new(on->base, -1, EV_PERSIST, on_tick, m);
	if (m->tick == NULL || event_add(m->tick, &(struct timeval){1, 0}) < 0) {
		err_set(err, errlen, "media: event set-up failed");
		if (m->tick != NULL)
			event_free(m->tick);
		free(m);
		return NULL;
	}
	return m;
}

void on_media_free(struct on_media *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < BUCKETS; i++)
		while (m->calls[i] != NULL)
			call_free(m, &m->calls[i], 0);
	event_free(m->tick);
	free(m);
}
