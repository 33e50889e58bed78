/* The super node's media relay (docs/operations.md, "Media relay").
 *
 * An attached ordinary node asks for streams over its link ("relay_alloc").
 * A stream is two sides, each a pair of UDP ports (RTP, RTCP = RTP + 1)
 * from [relay] ports: the near side faces the node's own phone, the far
 * side the other end of the call. Whatever comes in on one side goes out
 * of the other side's socket (symmetric RTP) to the address that side
 * latched onto: the source of the first packet that came in on it. A side
 * latches only onto packets from the IP address it expects (near: the
 * address the node's link comes from, i.e. its NAT; far: the address the
 * far end's SDP names, set by "relay_use"), so a stranger who sprays the
 * port before the phone speaks takes nothing over. Before the far side has
 * latched, its packets go to the address from the SDP.
 *
 * A node whose site lets no UDP out asks for a tunnel stream: its near side
 * has no sockets here; RTP and RTCP travel over the link as "media" frames.
 *
 * Streams that were never used belong to the link: they go when it closes.
 * A used stream lives while packets flow and goes after [relay]
 * idle_timeout of silence, or when the node frees it ("relay_free", sent at
 * BYE, CANCEL or a failed call). Limits: [relay] max_streams for the super
 * node, max_streams_per_account per account (the name in the certificate:
 * an account may hold several certificates, each a Node-ID of its own).
 *
 * The relay is no proxy into the super node's networks: it never sends to
 * a loopback, unspecified, multicast, broadcast or link-local address, nor
 * to this host's own addresses (but for the relay's own ports: both ends of
 * a call may relay here), and to a private network's address only once a
 * packet came from there, unless [relay] allow_networks says otherwise
 * (sn_relaypol.c); relay_use naming such a place is refused. Until the far
 * end has sent something, at most RELAY_BLIND_MAX packets go towards it;
 * each side of a stream takes at most [relay] max_packet_rate packets a
 * second. What is dropped is counted in /status and /metrics.
 *
 * The frames of attached nodes come through relay_frames() (the frame
 * table, sn_handler.c), read by sn_proto.c; "service:relay" is advertised
 * in the DHT by sn_service.c. */
#include "supernode.h"

#include "log.h"
#include "netlist.h"
#include "prom.h"
#include "sn_relaypol.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams read per wake-up and socket: one. At 50 packets/s a socket
 * rarely holds a second one, and trying costs a system call that returns
 * EAGAIN; epoll (level-triggered) wakes us again if more are waiting. */
#define BATCH 1
#define PKT_MAX 2048    /* larger datagrams are dropped */
#define BUCKETS 4096
/* Packets sent towards a far end that has not sent one itself: a phone
 * answers within a second or two, so 10 s of 50 packets/s is a call's
 * start with room to spare, and all that a relay_use can aim at a victim. */
#define RELAY_BLIND_MAX 500
#define OWN_MAX 64           /* this host's addresses kept */
#define OWN_REFRESH_MS 30000 /* interfaces are read again after this long */

/* Refused relay_use frames are logged within a budget: a flood must not
 * fill the log. */
static struct log_limit refusal_log;

enum { NEAR = 0, FAR = 1 };

struct stream;

struct rsock {
	struct stream *s;
	int side, ch; /* ch 0: RTP, 1: RTCP */
	evutil_socket_t fd;
	struct event *ev;
};

struct side {
	struct rsock sock[2];
	unsigned slot; /* port pair index; unused for a tunnel's near side */
	uint16_t port; /* RTP port (RTCP: + 1); 0: tunnel */
	struct sockaddr_storage peer[2];
	socklen_t plen[2];
	uint8_t latched[2], have_peer[2];
	struct sockaddr_storage want; /* only packets from this IP latch */
	int want_set;
	struct sockaddr_storage alt; /* near: and from the phone's own IP */
	int alt_set;
	uint64_t pkts, bytes; /* came in on this side */
	struct tbucket rate; /* of max_packet_rate, for packets that come in here */
	uint32_t blind; /* sent out of here before anyone here spoke */
};

struct stream {
	uint32_t id;
	struct relay *r;
	struct rid owner;
	char account[NAME_MAX_LEN + 1]; /* of the owner's certificate */
	int tunnel, active;
	uint64_t created_ms, last_ms;
	struct side side[2];
	struct stream *hnext, *prev, *next;
};

struct relay_stats {
	uint64_t packets, bytes, hijack, foreign, nopeer, toobig, allocated, refused, expired,
		freed, tunnel_in, tunnel_out;
	uint64_t rate, unlatched, forbidden_src; /* dropped */
	uint64_t forbidden;                      /* relay_use refused */
};

struct relay {
	struct sn *sn;
	struct sockaddr_storage ip; /* bind address, port 0 */
	socklen_t iplen;
	char host[64]; /* announced */
	uint16_t lo, hi;
	uint8_t *used; /* per port pair */
	unsigned nslots, cursor;
	struct stream *byid[BUCKETS], *all;
	int count, active;
	uint32_t next_id;
	struct event *sweep;
	struct relay_stats st;
	struct netlist allow;        /* [relay] allow_networks */
	struct netaddr own[OWN_MAX]; /* this host's addresses */
	int nown;
	uint64_t own_ms;
};

static uint64_t loop_ms(struct relay *r)
{
	struct timeval tv;

	event_base_gettimeofday_cached(r->sn->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static int ip_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static int addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (!ip_eq(a, b))
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		       ((const struct sockaddr_in *)b)->sin_port;
	return ((const struct sockaddr_in6 *)a)->sin6_port ==
	       ((const struct sockaddr_in6 *)b)->sin6_port;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* ---- where the relay may send ---- */

static void own_add(struct relay *r, const struct sockaddr *sa)
{
	if (sa != NULL && r->nown < OWN_MAX && netaddr_of_sockaddr(sa, &r->own[r->nown]) == 0)
		r->nown++;
}

static void own_add_host(struct relay *r, const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (host != NULL && addr_ip_port(host, 0, &ss, &len) == 0)
		own_add(r, (struct sockaddr *)&ss);
}

/* This host's addresses: what the super node listens on and announces,
 * and every interface's address and broadcast address, read again now and
 * then (an interface may come or change). */
static void own_refresh(struct relay *r)
{
	struct sn *sn = r->sn;
	uint64_t now = loop_ms(r);
	struct ifaddrs *ifs, *i;

	if (r->own_ms != 0 && now - r->own_ms < OWN_REFRESH_MS)
		return;
	r->own_ms = now != 0 ? now : 1;
	r->nown = 0;
	own_add(r, (struct sockaddr *)&r->ip);
	own_add_host(r, sn->listen_host);
	own_add_host(r, sn->self.host);
	own_add_host(r, sn->cfg.public_host);
	own_add_host(r, sn->cfg.relay_public);
	own_add_host(r, sn->fallback_host);
	own_add_host(r, sn->fallback_public);
	if (getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		own_add(r, i->ifa_addr);
		if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr != NULL)
			own_add(r, i->ifa_broadaddr);
	}
	freeifaddrs(ifs);
}

static int is_own(struct relay *r, const struct netaddr *ip)
{
	own_refresh(r);
	for (int i = 0; i < r->nown; i++)
		if (netaddr_eq(&r->own[i], ip))
			return 1;
	return 0;
}

enum verdict {
	SEND_OK,
	SEND_LATCH_ONLY, /* only once a packet came from there */
	SEND_NEVER
};

/* Whether the relay may send to ss (sn_relaypol.c has the classes); why
 * gets the words for a refusal. The operator's allow_networks come first:
 * a lab on loopback, a LAN deployment. */
static enum verdict dest_check(struct relay *r, const struct sockaddr_storage *ss, const char **why)
{
	struct netaddr ip;
	enum relay_addr_class c;
	uint16_t port = get_port(ss);

	if (netaddr_of_sockaddr((const struct sockaddr *)ss, &ip) < 0) {
		*why = "not an IP address";
		return SEND_NEVER;
	}
	if (netlist_has(&r->allow, &ip))
		return SEND_OK;
	c = relay_addr_class(&ip);
	*why = relay_addr_class_name(c);
	if (c == RELAY_ADDR_SPECIAL)
		return SEND_NEVER;
	if (is_own(r, &ip)) {
		if (port >= r->lo && port <= r->hi + 1)
			return SEND_OK; /* another stream here: both ends of a call relay here */
		*why = "this super node's own address";
		return SEND_NEVER;
	}
	return c == RELAY_ADDR_PRIVATE ? SEND_LATCH_ONLY : SEND_OK;
}

/* A token of side d's max_packet_rate (a second's worth may come at once). */
static int rate_take(struct relay *r, struct side *d, uint64_t now)
{
	double rate = (double)r->sn->cfg.relay_rate;

	return tbucket_take(&d->rate, rate, rate, 1, now);
}

/* ---- forwarding ---- */

static void tunnel_out(struct stream *s, int ch, const uint8_t *b, size_t n)
{
	struct relay *r = s->r;
	struct olink *l = conn_client(r->sn, &s->owner);
	char *p;

	if (l == NULL || olink_outbuf(l) > 256 * 1024) {
		r->st.nopeer++;
		return;
	}
	p = b64_encode(b, n);
	if (p == NULL)
		return;
	olink_send(l, json_pack("{s:s,s:I,s:i,s:s}", "t", "media", "id", (json_int_t)s->id, "c", ch,
				"p", p));
	free(p);
	r->st.tunnel_out++;
	r->st.packets++;
	r->st.bytes += n;
}

/* A packet that came in on side `from` goes out of the other side. */
static void forward(struct stream *s, int from, int ch, const uint8_t *b, size_t n)
{
	struct relay *r = s->r;
	struct side *in = &s->side[from], *out = &s->side[!from];
	uint64_t now = loop_ms(r);

	if (!rate_take(r, in, now)) {
		r->st.rate++;
		return;
	}
	in->pkts++;
	in->bytes += n;
	s->last_ms = now;
	if (!s->active) {
		s->active = 1;
		r->active++;
	}
	if (out->port == 0) {
		tunnel_out(s, ch, b, n);
		return;
	}
	if (!out->have_peer[ch]) {
		r->st.nopeer++;
		return;
	}
	if (!out->latched[0] && !out->latched[1]) {
		if (out->blind >= RELAY_BLIND_MAX) {
			r->st.unlatched++;
			return;
		}
		out->blind++;
	}
	if (sendto(out->sock[ch].fd, b, n, 0, (struct sockaddr *)&out->peer[ch], out->plen[ch]) < 0) {
		r->st.nopeer++;
		return;
	}
	r->st.packets++;
	r->st.bytes += n;
}

/* Latching: the first packet from the expected IP decides where this side
 * is; packets from anywhere else are dropped. A side that expects no IP
 * (a far end that gave a private address) latches only onto a source the
 * relay may send to. */
static int admit(struct stream *s, struct side *in, int ch, const struct sockaddr_storage *from,
		 socklen_t flen)
{
	struct relay *r = s->r;
	const char *why;

	if (in->latched[ch]) {
		if (addr_eq(from, &in->peer[ch]))
			return 1;
		r->st.foreign++;
		return 0;
	}
	if (in->want_set && !ip_eq(from, &in->want) && !(in->alt_set && ip_eq(from, &in->alt))) {
		r->st.hijack++;
		return 0;
	}
	if (!in->want_set && dest_check(r, from, &why) != SEND_OK) {
		r->st.forbidden_src++;
		return 0;
	}
	memcpy(&in->peer[ch], from, flen);
	in->plen[ch] = flen;
	in->latched[ch] = in->have_peer[ch] = 1;
	if (ch == 0 && !in->latched[1]) { /* RTCP goes to the next port until it speaks */
		in->peer[1] = *from;
		set_port(&in->peer[1], (uint16_t)(get_port(from) + 1));
		in->plen[1] = flen;
		in->have_peer[1] = 1;
	}
	return 1;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct rsock *rs = arg;
	struct stream *s = rs->s;
	uint8_t b[PKT_MAX];

	(void)what;
	for (int i = 0; i < BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, b, sizeof(b), MSG_TRUNC, (struct sockaddr *)&from, &flen);

		if (n < 0)
			return;
		if ((size_t)n > sizeof(b)) {
			s->r->st.toobig++;
			continue;
		}
		if (admit(s, &s->side[rs->side], rs->ch, &from, flen))
			forward(s, rs->side, rs->ch, b, (size_t)n);
	}
}

/* ---- streams ---- */

static struct stream *find(struct relay *r, uint32_t id)
{
	for (struct stream *s = r->byid[id % BUCKETS]; s != NULL; s = s->hnext)
		if (s->id == id)
			return s;
	return NULL;
}

static void close_socks(struct side *d)
{
	for (int c = 0; c < 2; c++) {
		if (d->sock[c].ev != NULL)
			event_free(d->sock[c].ev);
		if (d->sock[c].fd >= 0)
			close(d->sock[c].fd);
		d->sock[c].ev = NULL;
		d->sock[c].fd = -1;
	}
}

static void close_side(struct relay *r, struct side *d)
{
	close_socks(d);
	if (d->port != 0)
		r->used[d->slot] = 0;
}

static void stream_free(struct stream *s)
{
	struct relay *r = s->r;
	struct stream **pp = &r->byid[s->id % BUCKETS];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		r->all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	close_side(r, &s->side[NEAR]);
	close_side(r, &s->side[FAR]);
	r->count--;
	if (s->active)
		r->active--;
	free(s);
}

/* Binds a free port pair for side d of s. */
static int open_side(struct relay *r, struct stream *s, int which)
{
	struct side *d = &s->side[which];

	for (unsigned tries = 0; tries < r->nslots; tries++) {
		unsigned slot = r->cursor;
		uint16_t port = (uint16_t)(r->lo + 2 * slot);
		int ok = 1;

		r->cursor = (r->cursor + 1) % r->nslots;
		if (r->used[slot])
			continue;
		for (int c = 0; c < 2 && ok; c++) {
			struct sockaddr_storage ss = r->ip;
			int fd = socket(ss.ss_family, SOCK_DGRAM, 0);

			set_port(&ss, (uint16_t)(port + c));
			if (fd < 0 || evutil_make_socket_nonblocking(fd) < 0 ||
			    bind(fd, (struct sockaddr *)&ss, r->iplen) < 0) {
				if (fd >= 0)
					close(fd);
				ok = 0;
				break;
			}
			d->sock[c] = (struct rsock){s, which, c, fd, NULL};
			d->sock[c].ev = event_new(r->sn->base, fd, EV_READ | EV_PERSIST, on_read,
						  &d->sock[c]);
			if (d->sock[c].ev == NULL || event_add(d->sock[c].ev, NULL) < 0)
				ok = 0;
		}
		if (!ok) {
			int e = errno;
			close_socks(d);
			if (e == EMFILE || e == ENFILE || e == ENOMEM)
				return -1;
			continue; /* taken by someone else: the next pair */
		}
		r->used[slot] = 1;
		d->slot = slot;
		d->port = port;
		return 0;
	}
	return -1;
}

static struct stream *stream_new(struct relay *r, const struct olink_peer *owner, int tunnel,
				 const struct sockaddr_storage *near_ip)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	for (int d = 0; d < 2; d++)
		for (int c = 0; c < 2; c++)
			s->side[d].sock[c].fd = -1;
	s->r = r;
	s->owner = owner->id;
	str_copy(s->account, owner->name, sizeof(s->account));
	s->tunnel = tunnel;
	if (near_ip != NULL) {
		s->side[NEAR].want = *near_ip;
		s->side[NEAR].want_set = 1;
	}
	if ((!tunnel && open_side(r, s, NEAR) < 0) || open_side(r, s, FAR) < 0) {
		close_side(r, &s->side[NEAR]);
		close_side(r, &s->side[FAR]);
		free(s);
		return NULL;
	}
	do
		s->id = ++r->next_id;
	while (s->id == 0 || find(r, s->id) != NULL);
	s->created_ms = s->last_ms = loop_ms(r);
	s->hnext = r->byid[s->id % BUCKETS];
	r->byid[s->id % BUCKETS] = s;
	s->next = r->all;
	if (r->all != NULL)
		r->all->prev = s;
	r->all = s;
	r->count++;
	return s;
}

/* Streams of an account, whichever of its certificates asked. */
static int owned(struct relay *r, const char *account)
{
	int n = 0;

	for (struct stream *s = r->all; s != NULL; s = s->next)
		n += strcmp(s->account, account) == 0;
	return n;
}

/* ---- requests of attached nodes (read by sn_proto.c's relay parsers) ---- */

/* Frees the streams listed so far when a relay_alloc cannot be completed. */
static void undo_alloc(struct relay *r, json_t *list)
{
	size_t k;
	json_t *v;

	json_array_foreach(list, k, v) {
		struct stream *o = find(r, (uint32_t)json_integer_value(json_object_get(v, "id")));
		if (o != NULL)
			stream_free(o);
	}
	json_decref(list);
}

static void c_alloc(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct relay *r = sn->relay;
	const struct olink_peer *peer = olink_peer(l);
	int n = req->alloc.n;
	struct sockaddr_storage want;
	socklen_t wl;
	json_t *list;

	if (r->count + n > sn->cfg.relay_max ||
	    owned(r, peer->name) + n > sn->cfg.relay_max_per_account) {
		r->st.refused++;
		olink_reply_error(l, msg, "busy",
				  "relay streams exhausted (%d here, limit %lld per account)",
				  r->count, (long long)sn->cfg.relay_max_per_account);
		return;
	}
	if (addr_ip_port(peer->addr, 0, &want, &wl) < 0) {
		olink_reply_error(l, msg, "bad_request", "link address unknown");
		return;
	}
	list = json_array();
	for (int i = 0; i < n; i++) {
		struct stream *s = stream_new(r, peer, req->alloc.tunnel, &want);
		if (s == NULL) {
			undo_alloc(r, list);
			r->st.refused++;
			olink_reply_error(l, msg, "busy", "no relay ports free");
			return;
		}
		r->st.allocated++;
		json_array_append_new(list, json_pack("{s:I,s:i,s:i}", "id", (json_int_t)s->id,
						      "near", s->side[NEAR].port, "far",
						      s->side[FAR].port));
	}
	olink_reply(l, msg, json_pack("{s:b,s:s,s:o}", "ok", 1, "host", r->host, "streams", list));
}

/* This node's stream with that id, or NULL. */
static struct stream *owned_stream(struct relay *r, struct olink *l, uint32_t id)
{
	struct stream *s = id != 0 ? find(r, id) : NULL;

	if (s == NULL || !rid_eq(&s->owner, &olink_peer(l)->id))
		return NULL;
	return s;
}

/* The far end's address from its SDP: where to send before it speaks, and
 * the only IP its packets are taken from. */
static void use_far(struct side *d, const struct relay_use_req *u, int latch_only, int rtcp_ok)
{
	struct sockaddr_storage rtcp = u->rtcp;
	socklen_t rtcp_len = u->rtcp_len;

	if (latch_only) {
		/* A far end behind a NAT that gave its private address: nothing
		 * to send to, nothing to check against; the first packet decides. */
		d->want_set = 0;
		d->have_peer[0] &= d->latched[0];
		d->have_peer[1] &= d->latched[1];
		return;
	}
	if (!u->has_rtcp || !rtcp_ok) {
		rtcp = u->far;
		rtcp_len = u->far_len;
		set_port(&rtcp, (uint16_t)(get_port(&u->far) + 1));
	}
	if (!d->want_set || !ip_eq(&d->want, &u->far)) {
		d->latched[0] = d->latched[1] = 0; /* another far end: latch anew */
		d->want = u->far;
		d->want_set = 1;
	}
	for (int c = 0; c < 2; c++)
		if (!d->latched[c]) {
			d->peer[c] = c == 0 ? u->far : rtcp;
			d->plen[c] = c == 0 ? u->far_len : rtcp_len;
			d->have_peer[c] = 1;
		}
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	snprintf(buf, len, ss->ss_family == AF_INET ? "%s:%u" : "[%s]:%u", ip, get_port(ss));
}

/* Where relay_use may aim a side: the verdict for addr and, if rtcp is
 * not NULL, for its RTCP (*rtcp_ok: that one may be sent to); a SEND_NEVER
 * names the address at fault in *bad and why. */
static enum verdict pair_check(struct relay *r, const struct sockaddr_storage *addr,
			       const struct sockaddr_storage *rtcp, int *rtcp_ok,
			       const struct sockaddr_storage **bad, const char **why)
{
	enum verdict v = dest_check(r, addr, why);

	*bad = addr;
	*rtcp_ok = 1;
	if (v != SEND_NEVER && rtcp != NULL) {
		enum verdict vr = dest_check(r, rtcp, why);
		*rtcp_ok = vr == SEND_OK;
		if (vr == SEND_NEVER) {
			v = SEND_NEVER;
			*bad = rtcp;
		}
	}
	return v;
}

/* Whether relay_use may aim the far side at its addresses: SEND_NEVER
 * (refused, answered and logged), SEND_LATCH_ONLY (a private address:
 * nothing is sent until the far end speaks) or SEND_OK. An RTCP address
 * that may not be used is left out: RTCP goes to the RTP port + 1. */
static enum verdict use_check(struct relay *r, struct olink *l, json_t *msg,
			      const struct relay_use_req *u, int *rtcp_ok)
{
	const struct olink_peer *peer = olink_peer(l);
	const char *why = "";
	const struct sockaddr_storage *bad;
	enum verdict v = pair_check(r, &u->far, u->has_rtcp ? &u->rtcp : NULL, rtcp_ok, &bad, &why);
	char at[80];

	if (v != SEND_NEVER)
		return v;
	r->st.forbidden++;
	addr_text(bad, at, sizeof(at));
	if (log_allowed(&refusal_log, LOG_LIMIT_PER_S))
		log_info("relay_use of %s (%s) refused: %s is %s", peer->name, peer->addr, at,
			 why);
	if (json_object_get(msg, "tid") != NULL)
		olink_reply_error(l, msg, "not_allowed", "%s is %s: this relay does not send there",
				  at, why);
	return SEND_NEVER;
}

/* Where the node's own phone receives, from its SDP: the near side sends
 * there until the phone speaks, and latches onto the phone's IP as well
 * as the node's. Without it a phone that is a DTLS server (a=setup:passive
 * or the offerer's actpass) never hears the ClientHello, since it sends
 * nothing first. Used only where the relay may send freely (a public
 * address, or [relay] allow_networks): a phone behind a NAT has to speak
 * first, as before. */
static void use_near(struct relay *r, struct side *d, const struct relay_use_req *u)
{
	const struct sockaddr_storage *bad;
	const char *why = "";
	struct sockaddr_storage rtcp = u->near;
	socklen_t rtcp_len = u->near_len;
	int rtcp_ok;

	if (d->port == 0 || pair_check(r, &u->near, u->has_near_rtcp ? &u->near_rtcp : NULL,
				       &rtcp_ok, &bad, &why) != SEND_OK)
		return; /* (a tunnel's near side has no sockets here) */
	if (u->has_near_rtcp && rtcp_ok) {
		rtcp = u->near_rtcp;
		rtcp_len = u->near_rtcp_len;
	} else
		set_port(&rtcp, (uint16_t)(get_port(&u->near) + 1));
	d->alt = u->near;
	d->alt_set = 1;
	for (int c = 0; c < 2; c++)
		if (!d->latched[c]) {
			d->peer[c] = c == 0 ? u->near : rtcp;
			d->plen[c] = c == 0 ? u->near_len : rtcp_len;
			d->have_peer[c] = 1;
		}
}

/* relay_use may come as a request or as a one-way message. */
static void c_use(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct relay *r = sn->relay;
	struct stream *s = owned_stream(r, l, req->use.id);
	enum verdict v = SEND_OK;
	int rtcp_ok = 1;

	if (s == NULL) {
		if (json_object_get(msg, "tid") != NULL)
			olink_reply_error(l, msg, "not_found", "no such relay stream");
		else
			log_debug("relay_use refused: no such relay stream");
		return;
	}
	if (req->use.has_far && (v = use_check(r, l, msg, &req->use, &rtcp_ok)) == SEND_NEVER)
		return;
	s->last_ms = loop_ms(r);
	if (!s->active) {
		s->active = 1;
		r->active++;
	}
	if (req->use.near_reset) {
		/* The node's phone moved to another port (a re-INVITE): latch anew,
		 * still only from the node's address. */
		s->side[NEAR].latched[0] = s->side[NEAR].latched[1] = 0;
		s->side[NEAR].have_peer[0] = s->side[NEAR].have_peer[1] = 0;
	}
	if (req->use.has_near)
		use_near(r, &s->side[NEAR], &req->use);
	if (req->use.has_far)
		use_far(&s->side[FAR], &req->use, v == SEND_LATCH_ONLY, rtcp_ok);
	if (json_object_get(msg, "tid") != NULL)
		olink_reply(l, msg, json_pack("{s:b}", "ok", 1));
}

static void c_free(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct relay *r = sn->relay;
	int n = 0;

	for (int i = 0; i < req->free.n; i++) {
		struct stream *s = owned_stream(r, l, req->free.ids[i]);
		if (s != NULL) {
			stream_free(s);
			r->st.freed++;
			n++;
		}
	}
	if (json_object_get(msg, "tid") != NULL)
		olink_reply(l, msg, json_pack("{s:b,s:i}", "ok", 1, "freed", n));
}

/* A media frame from a node whose site lets no UDP out. Nothing is
 * answered: a frame that cannot be used is counted as dropped. */
static void c_media(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct relay *r = sn->relay;
	struct media_frame f;
	enum media_rc rc = media_frame_parse(msg, &f, NULL, 0);
	struct stream *s = rc != MEDIA_BAD ? owned_stream(r, l, f.id) : NULL;

	(void)req;
	if (s == NULL || !s->tunnel) {
		r->st.nopeer++;
		return;
	}
	if (rc == MEDIA_TOO_BIG) {
		r->st.toobig++;
		return;
	}
	r->st.tunnel_in++;
	forward(s, NEAR, f.ch, f.pkt, f.len);
}

static void c_unknown(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)sn, (void)req;
	olink_reply_error(l, msg, "bad_request", "unknown operation");
}

/* A super node without a relay says so to whoever asks. */
static void c_off(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)sn, (void)req;
	olink_reply_error(l, msg, "not_found", "this super node relays no media");
}

static int p_alloc(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return relay_alloc_parse(msg, &req->alloc, err, errlen);
}

static int p_use(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return relay_use_parse(msg, &req->use, err, errlen);
}

static int p_free(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return relay_free_parse(msg, &req->free, err, errlen);
}

/* Taken whether or not the super node has joined: calls in progress keep
 * their media. */
static const struct sn_handler relay_on[] = {
	{"relay_alloc", SN_FROM_CLIENT, SN_NEEDS_TID, p_alloc, c_alloc},
	{"relay_use", SN_FROM_CLIENT, 0, p_use, c_use},
	{"relay_free", SN_FROM_CLIENT, 0, p_free, c_free},
	{"media", SN_FROM_CLIENT, 0, NULL, c_media},
	{"relay_*", SN_FROM_CLIENT, SN_NEEDS_TID, NULL, c_unknown},
	{NULL, 0, 0, NULL, NULL},
};

static const struct sn_handler relay_off[] = {
	{"relay_*", SN_FROM_CLIENT, 0, NULL, c_off},
	{"media", SN_FROM_CLIENT, 0, NULL, c_off},
	{NULL, 0, 0, NULL, NULL},
};

const struct sn_handler *relay_frames(struct sn *sn)
{
	return sn->relay != NULL ? relay_on : relay_off;
}

void relay_client_gone(struct sn *sn, const struct rid *id)
{
	struct relay *r = sn->relay;
	struct stream *s, *nx;

	if (r == NULL)
		return;
	for (s = r->all; s != NULL; s = nx) {
		nx = s->next;
		if (rid_eq(&s->owner, id) && (!s->active || s->tunnel))
			stream_free(s);
	}
}

/* ---- expiry and advertisement ---- */

/* The data of service:relay: where to ask, and how much room is left. */
static int service_data(struct sn *sn, char *buf, size_t len)
{
	struct relay *r = sn->relay;

	if (r == NULL)
		return -1;
	return service_relay_data(buf, len, r->host, r->lo, r->hi,
				  (long long)(sn->cfg.relay_max - r->count));
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct sn *sn = r->sn;
	uint64_t now = loop_ms(r), idle = (uint64_t)sn->cfg.relay_idle * 1000;
	struct stream *s, *nx;

	(void)fd, (void)what;
	for (s = r->all; s != NULL; s = nx) {
		nx = s->next;
		if (!s->active || now - s->last_ms < idle)
			continue;
		struct olink *l = conn_client(sn, &s->owner);
		if (l != NULL)
			olink_send(l, json_pack("{s:s,s:[I]}", "t", "relay_gone", "ids",
						(json_int_t)s->id));
		log_debug("relay stream %u idle for %llds: released", s->id,
			  (long long)sn->cfg.relay_idle);
		r->st.expired++;
		stream_free(s);
	}
}

/* Four sockets per stream: as many descriptors as we are allowed. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The relay's addresses from the configuration: where it binds, whom it
 * may send to besides the public Internet, what it announces. */
static int relay_addresses(struct relay *r, const char *ip, char *err, size_t errlen)
{
	struct sn *sn = r->sn;

	if (addr_ip_port(ip, 0, &r->ip, &r->iplen) < 0) {
		err_set(err, errlen, "[relay] listen: want an IP address, got %s", ip);
		return -1;
	}
	if (netlist_parse(sn->cfg.relay_allow, &r->allow, err, errlen) < 0)
		return -1; /* (sn_config.c checked it: cannot happen) */
	str_copy(r->host,
		 sn->cfg.relay_public != NULL && sn->cfg.relay_public[0] != '\0'
			 ? sn->cfg.relay_public
			 : sn->self.host,
		 sizeof(r->host));
	return 0;
}

int relay_start(struct sn *sn, char *err, size_t errlen)
{
	struct relay *r;
	const char *ip = sn->cfg.relay_listen;
	unsigned lo, hi;
	char extra;

	if (ip != NULL && strcmp(ip, "off") == 0)
		return 0;
	if (ip == NULL || ip[0] == '\0')
		ip = sn->listen_host;
	if (sscanf(sn->cfg.relay_ports, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 ||
	    hi > 65535 || hi < lo + 3) {
		err_set(err, errlen, "[relay] ports: want LOW-HIGH within 1024-65535, got %s",
			sn->cfg.relay_ports);
		return -1;
	}
	raise_fd_limit();
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->sn = sn;
	if (relay_addresses(r, ip, err, errlen) < 0) {
		free(r);
		return -1;
	}
	r->lo = (uint16_t)(lo + (lo & 1));
	r->hi = (uint16_t)hi;
	r->nslots = (unsigned)(r->hi - r->lo + 1) / 2;
	r->used = calloc(r->nslots, 1);
	r->sweep = event_new(sn->base, -1, EV_PERSIST, on_sweep, r);
	if (r->used == NULL || r->sweep == NULL || event_add(r->sweep, &(struct timeval){1, 0}) < 0) {
		err_set(err, errlen, "relay: out of memory");
		if (r->sweep != NULL)
			event_free(r->sweep);
		free(r->used);
		free(r);
		return -1;
	}
	sn->relay = r;
	log_info("media relay on %s ports %u-%u, announced as %s%s%s", ip, r->lo, r->hi, r->host,
		 r->allow.n > 0 ? "; may send to " : "", r->allow.n > 0 ? sn->cfg.relay_allow : "");
	if (service_add(sn, "service:relay", service_data) < 0) {
		err_set(err, errlen, "relay: cannot advertise service:relay");
		return -1;
	}
	return 0;
}

void relay_stop(struct sn *sn)
{
	struct relay *r = sn->relay;

	if (r == NULL)
		return;
	while (r->all != NULL)
		stream_free(r->all);
	event_free(r->sweep);
	free(r->used);
	free(r);
	sn->relay = NULL;
}

json_t *relay_status(struct sn *sn)
{
	struct relay *r = sn->relay;
	char ports[32];
	json_t *dropped;

	if (r == NULL)
		return json_pack("{s:b}", "on", 0);
	snprintf(ports, sizeof(ports), "%u-%u", r->lo, r->hi);
	dropped = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "hijack", (json_int_t)r->st.hijack,
			    "foreign", (json_int_t)r->st.foreign, "no_peer",
			    (json_int_t)r->st.nopeer, "too_big", (json_int_t)r->st.toobig, "rate",
			    (json_int_t)r->st.rate, "unlatched", (json_int_t)r->st.unlatched,
			    "forbidden", (json_int_t)r->st.forbidden_src);
	return json_pack("{s:b,s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:I}", "on", 1,
			 "host", r->host, "ports", ports, "streams", r->count, "active", r->active,
			 "allocated", (json_int_t)r->st.allocated, "packets",
			 (json_int_t)r->st.packets, "bytes", (json_int_t)r->st.bytes, "dropped",
			 dropped, "refused", (json_int_t)r->st.refused, "forbidden",
			 (json_int_t)r->st.forbidden, "expired", (json_int_t)r->st.expired, "freed",
			 (json_int_t)r->st.freed, "tunnelled",
			 (json_int_t)(r->st.tunnel_in + r->st.tunnel_out));
}

void relay_metrics(struct sn *sn, struct evbuffer *out)
{
	static const char drops[] = "p2psip_sn_relay_dropped_total";
	struct relay *r = sn->relay;

	if (r == NULL) {
		prom_gauge(out, "p2psip_sn_relay_streams", NULL, 0);
		return;
	}
	prom_gauge(out, "p2psip_sn_relay_streams", NULL, r->count);
	prom_gauge(out, "p2psip_sn_relay_streams_active", NULL, r->active);
	prom_counter(out, "p2psip_sn_relay_packets_total", NULL, r->st.packets);
	prom_counter(out, "p2psip_sn_relay_bytes_total", NULL, r->st.bytes);
	prom_head(out, drops, PROM_COUNTER, NULL);
	prom_count(out, drops, "why", "hijack", r->st.hijack);
	prom_count(out, drops, "why", "foreign", r->st.foreign);
	prom_count(out, drops, "why", "no_peer", r->st.nopeer);
	prom_count(out, drops, "why", "too_big", r->st.toobig);
	prom_count(out, drops, "why", "rate", r->st.rate);
	prom_count(out, drops, "why", "unlatched", r->st.unlatched);
	prom_count(out, drops, "why", "forbidden", r->st.forbidden_src);
	prom_counter(out, "p2psip_sn_relay_refused_total", NULL, r->st.refused);
	prom_counter(out, "p2psip_sn_relay_forbidden_total", NULL, r->st.forbidden);
	prom_counter(out, "p2psip_sn_relay_expired_total", NULL, r->st.expired);
}
