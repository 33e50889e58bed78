/* The super node's links: the listener, links to other super nodes opened on
 * demand and cached (requests wait in a queue while one is being opened),
 * and links of attached clients. Their frames go to the frame table
 * (sn_handler.c); a node found dead and a client gone are told through
 * sn's on_node_failed and on_client_gone. */
#include "supernode.h"

#include "crl.h"
#include "frame.h"
#include "log.h"
#include "netlist.h"
#include "ratelimit.h"
#include "util.h"

#include <arpa/inet.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_SECS 10

struct queued {
	json_t *msg;
	int timeout_ms;
	int oneway;
	peer_reply_t cb;
	void *arg;
	struct queued *next;
};

struct conn {
	struct sn *sn;
	struct olink *ol; /* NULL once closed */
	enum conn_kind kind;
	int outgoing;
	int ready;
	struct node node; /* peers: Node-ID and listening address */
	struct queued *qh, *qt;
	int refs;
	int inflight;
	uint64_t born_ms; /* accepted at */
	char akey[80];    /* accepted links: the address key (IPv6: /64) */
	struct conn *next;
};

/* A request on its way to a peer: whom to tell about the reply. */
struct reply_wait {
	peer_reply_t cb;
	void *arg;
	struct node node;
	struct sn *sn;
};

static void conn_unlink(struct conn *c)
{
	struct sn *sn = c->sn;

	for (struct conn **pp = &sn->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			sn->nconns--;
			break;
		}
	}
}

void conn_hold(struct conn *c)
{
	c->refs++;
}

void conn_release(struct conn *c)
{
	if (c != NULL && --c->refs == 0)
		free(c);
}

struct conn *conn_of(struct olink *l)
{
	return olink_get_arg(l);
}

struct olink *conn_link(const struct conn *c)
{
	return c->ol;
}

static void fail_queue(struct conn *c, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "unreachable: %s", why);
	while (c->qh != NULL) {
		struct queued *q = c->qh;
		c->qh = q->next;
		json_decref(q->msg);
		if (!q->oneway)
			q->cb(NULL, msg, q->arg);
		free(q);
	}
	c->qt = NULL;
}

static void on_reply(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct reply_wait *w = arg;

	(void)l;
	w->cb(reply, err, w->arg);
	free(w);
}

static void send_now(struct conn *c, json_t *msg, int timeout_ms, int oneway, peer_reply_t cb,
		     void *arg)
{
	struct reply_wait *w;

	if (oneway) {
		olink_send(c->ol, msg);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		json_decref(msg);
		cb(NULL, "out of memory", arg);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	if (olink_request(c->ol, msg, timeout_ms, on_reply, w) < 0) {
		free(w);
		cb(NULL, "unreachable: link unusable", arg);
	}
}

static void flush_queue(struct conn *c)
{
	while (c->qh != NULL && c->ol != NULL) {
		struct queued *q = c->qh;
		c->qh = q->next;
		if (c->qh == NULL)
			c->qt = NULL;
		send_now(c, q->msg, q->timeout_ms, q->oneway, q->cb, q->arg);
		free(q);
	}
}

/* ---- olink callbacks ---- */

static int peer_ready(struct conn *c, const json_t *hello)
{
	const struct olink_peer *p = olink_peer(c->ol);
	struct node n;

	if (node_from_json(json_object_get(hello, "node"), &n) < 0 || !rid_eq(&n.id, &p->id)) {
		log_warn("link %s: super node hello without a matching node", p->addr);
		return -1;
	}
	if (c->outgoing && !rid_eq(&n.id, &c->node.id)) {
		log_warn("link %s:%u: another node answers there", c->node.host, c->node.port);
		return -1;
	}
	c->node = n;
	c->kind = CONN_PEER;
	c->ready = 1;
	flush_queue(c);
	return 0;
}

static int on_ready(struct olink *l, const json_t *hello, void *arg)
{
	struct conn *c = arg;
	const struct olink_peer *p = olink_peer(l);

	if (strcmp(p->role, ROLE_SUPERNODE) == 0)
		return peer_ready(c, hello);
	/* A gateway is a client like a user's node (relays, STUN, store and
	 * fetch under the client limits), never a ring member. */
	if ((strcmp(p->role, ROLE_USER) == 0 || strcmp(p->role, ROLE_GATEWAY) == 0) &&
	    !c->outgoing) {
		char hex[RID_HEX_LEN + 1];
		c->kind = CONN_CLIENT;
		c->ready = 1;
		olink_set_rate(l, (int)c->sn->cfg.client_rate, 2 * (int)c->sn->cfg.client_rate);
		rid_hex(&p->id, hex);
		log_info("client %s (%s) attached from %s (Node-ID %s)", p->name, p->role, p->addr,
			 hex);
		return 0;
	}
	log_info("link %s: role %s not accepted", p->addr, p->role);
	return -1;
}

/* Who handles which frame is the frame table's business (sn_handler.c). */
static void on_message(struct olink *l, json_t *msg, void *arg)
{
	struct conn *c = arg;

	handler_frame(c->sn, l, msg, c->kind == CONN_CLIENT ? SN_FROM_CLIENT : SN_FROM_PEER);
}

static void on_closed(struct olink *l, const char *why, void *arg)
{
	struct conn *c = arg;
	struct sn *sn = c->sn;
	int was_peer = c->kind == CONN_PEER && c->ready;
	struct node n = c->node;

	(void)l;
	if (c->kind == CONN_CLIENT) {
		log_info("client %s (%s) detached: %s", olink_peer(l)->name, olink_peer(l)->addr,
			 why);
	} else
		log_debug("link %s:%u closed: %s", c->node.host, c->node.port, why);
	c->ol = NULL;
	fail_queue(c, why);
	conn_unlink(c);
	/* Relay streams that carried nothing go with the node's last link. */
	if (c->kind == CONN_CLIENT && conn_client(sn, &olink_peer(l)->id) == NULL &&
	    sn->on_client_gone != NULL)
		sn->on_client_gone(sn, &olink_peer(l)->id);
	conn_release(c);
	/* A closed link to a neighbour may mean it died: check at once. */
	if (was_peer && sn->state != SN_LEAVING && ring_find(&sn->ring, &n.id) != NULL)
		peer_request(sn, &n, json_pack("{s:s}", "t", "ping"), 2000, NULL, NULL);
}

static const struct olink_ops ops = {on_ready, on_message, on_closed};

/* ---- opening and accepting ---- */

static json_t *our_hello(struct sn *sn)
{
	return json_pack("{s:o}", "node", node_to_json(&sn->self));
}

static void limits_for(struct sn *sn, struct olink_limits *lim, int peer)
{
	olink_limits_default(lim);
	lim->frame_max = FRAME_MAX;
	lim->rate = (int)(peer ? sn->cfg.peer_rate : sn->cfg.client_rate);
	lim->burst = lim->rate * 2;
	lim->idle_secs = (int)sn->cfg.idle_timeout;
	lim->hello_secs = HELLO_SECS;
}

static struct conn *conn_new(struct sn *sn, enum conn_kind kind)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->sn = sn;
	c->kind = kind;
	c->refs = 1;
	c->next = sn->conns;
	sn->conns = c;
	sn->nconns++;
	return c;
}

static struct conn *peer_conn(struct sn *sn, const struct node *n)
{
	struct conn *best = NULL;
	struct olink_limits lim;
	char err[256];

	for (struct conn *c = sn->conns; c != NULL; c = c->next) {
		if (c->ol == NULL || c->kind != CONN_PEER || !rid_eq(&c->node.id, &n->id))
			continue;
		if (c->ready)
			return c;
		best = c;
	}
	if (best != NULL)
		return best;
	best = conn_new(sn, CONN_PEER);
	if (best == NULL)
		return NULL;
	best->outgoing = 1;
	best->node = *n;
	limits_for(sn, &lim, 1);
	best->ol = olink_connect(sn->base, sn->client_ctx, n->host, n->port, our_hello(sn), &lim,
				 &ops, best, err, sizeof(err));
	if (best->ol == NULL) {
		log_debug("cannot connect to %s:%u: %s", n->host, n->port, err);
		conn_unlink(best);
		conn_release(best);
		return NULL;
	}
	return best;
}

static void enqueue(struct sn *sn, const struct node *n, json_t *msg, int timeout_ms, int oneway,
		    peer_reply_t cb, void *arg)
{
	struct conn *c;
	struct queued *q;

	if (rid_eq(&n->id, &sn->self.id) || sn->closing) {
		json_decref(msg);
		if (!oneway)
			cb(NULL, sn->closing ? "shutting down" : "unreachable: that is this node",
			   arg);
		return;
	}
	c = peer_conn(sn, n);
	if (c == NULL) {
		json_decref(msg);
		if (!oneway)
			cb(NULL, "unreachable: cannot connect", arg);
		return;
	}
	if (c->ready) {
		send_now(c, msg, timeout_ms, oneway, cb, arg);
		return;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		json_decref(msg);
		if (!oneway)
			cb(NULL, "out of memory", arg);
		return;
	}
	*q = (struct queued){msg, timeout_ms, oneway, cb, arg, NULL};
	if (c->qt != NULL)
		c->qt->next = q;
	else
		c->qh = q;
	c->qt = q;
}

struct ping_check {
	struct sn *sn;
	struct node node;
};

static void on_ping(json_t *reply, const char *err, void *arg)
{
	struct ping_check *pc = arg;

	if (reply == NULL) {
		log_info("super node %s:%u is gone (%s)", pc->node.host, pc->node.port, err);
		if (pc->sn->on_node_failed != NULL)
			pc->sn->on_node_failed(pc->sn, &pc->node.id);
	}
	free(pc);
}

void peer_request(struct sn *sn, const struct node *n, json_t *msg, int timeout_ms, peer_reply_t cb,
		  void *arg)
{
	/* cb NULL: a liveness check whose failure marks the node failed. */
	if (cb == NULL) {
		struct ping_check *pc = calloc(1, sizeof(*pc));
		if (pc == NULL) {
			json_decref(msg);
			return;
		}
		pc->sn = sn;
		pc->node = *n;
		cb = on_ping;
		arg = pc;
	}
	enqueue(sn, n, msg, timeout_ms, 0, cb, arg);
}

void peer_send(struct sn *sn, const struct node *n, json_t *msg)
{
	enqueue(sn, n, msg, 0, 1, NULL, NULL);
}

/* An accepted link still in its TLS handshake or hello. */
static int in_handshake(const struct conn *c)
{
	return c->ol != NULL && !c->outgoing && !c->ready;
}

/* Accepted links past their handshake from the address key akey (NULL:
 * from anywhere), and handshakes in progress. */
static void count_links(struct sn *sn, const char *akey, int *links, int *hs)
{
	*links = *hs = 0;
	for (struct conn *c = sn->conns; c != NULL; c = c->next) {
		if (c->ol == NULL || c->outgoing || (akey != NULL && strcmp(c->akey, akey) != 0))
			continue;
		if (in_handshake(c))
			(*hs)++;
		else
			(*links)++;
	}
}

static void conn_drop(struct conn *c, const char *why)
{
	struct olink *ol = c->ol;

	c->ol = NULL;
	fail_queue(c, why);
	conn_unlink(c);
	olink_free(ol);
	conn_release(c);
}

/* Makes room for a new handshake by closing the oldest one (from akey, or
 * from anywhere): a flood of connections that never finish TLS then ages
 * out of the way of real nodes, instead of locking them out. */
static void drop_oldest_handshake(struct sn *sn, const char *akey)
{
	struct conn *old = NULL;

	for (struct conn *c = sn->conns; c != NULL; c = c->next)
		if (in_handshake(c) && (akey == NULL || strcmp(c->akey, akey) == 0) &&
		    (old == NULL || c->born_ms < old->born_ms))
			old = c;
	if (old != NULL) {
		log_debug("handshake from %s dropped: too many in progress", old->akey);
		conn_drop(old, "too many handshakes");
	}
}

/* Whether a link from this address key may be accepted; makes room among
 * the handshakes in progress when their caps are reached. */
static int accept_ok(struct sn *sn, const char *akey, const char **why)
{
	int links, hs, all_links, all_hs;

	count_links(sn, akey, &links, &hs);
	count_links(sn, NULL, &all_links, &all_hs);
	*why = sn->state == SN_LEAVING ? "leaving" : "too many links";
	if (sn->state == SN_LEAVING || sn->nconns - all_hs >= sn->cfg.max_links ||
	    links >= sn->cfg.max_links_per_addr)
		return 0;
	if (hs >= sn->cfg.max_handshakes_per_addr)
		drop_oldest_handshake(sn, akey);
	else if (all_hs >= sn->cfg.max_handshakes)
		drop_oldest_handshake(sn, NULL);
	return 1;
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct sn *sn = arg;
	char addr[64] = "?", akey[80];
	const char *why;
	struct olink_limits lim;
	struct conn *c;

	(void)lis, (void)salen;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
	addr_limit_key(addr, akey, sizeof(akey));
	if (!accept_ok(sn, akey, &why)) {
		static struct log_limit refused; /* a flood of connections must not fill the log */
		if (log_allowed(&refused, LOG_LIMIT_PER_S))
			log_warn("link from %s refused: %s", addr, why);
		evutil_closesocket(fd);
		return;
	}
	c = conn_new(sn, CONN_PROBE);
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->born_ms = now_ms();
	str_copy(c->akey, akey, sizeof(c->akey));
	limits_for(sn, &lim, 1);
	lim.hello_secs = (int)sn->cfg.handshake_timeout;
	c->ol = olink_accept(sn->base, sn->server_ctx, fd, addr, our_hello(sn), &lim, &ops, c);
	if (c->ol == NULL) {
		conn_unlink(c);
		conn_release(c);
	}
}

static struct evconnlistener *listen_on(struct sn *sn, const char *host, uint16_t port, char *err,
					size_t errlen)
{
	struct sockaddr_storage ss;
	struct evconnlistener *lis;
	socklen_t len;

	if (addr_ip_port(host, port, &ss, &len) < 0) {
		err_set(err, errlen, "listen: %s is not an IP address", host);
		return NULL;
	}
	lis = evconnlistener_new_bind(sn->base, on_accept, sn,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					      LEV_OPT_CLOSE_ON_EXEC,
				      128, (struct sockaddr *)&ss, (int)len);
	if (lis == NULL)
		err_set(err, errlen, "cannot listen on %s:%u", host, port);
	return lis;
}

/* The main listener, and the fall-back one ([supernode] fallback_listen,
 * e.g. port 443) for nodes behind firewalls that let little else out. */
int conn_listen(struct sn *sn, char *err, size_t errlen)
{
	sn->lis = listen_on(sn, sn->listen_host, sn->listen_port, err, errlen);
	if (sn->lis == NULL)
		return -1;
	if (sn->fallback_port != 0) {
		sn->lis2 = listen_on(sn, sn->fallback_host, sn->fallback_port, err, errlen);
		if (sn->lis2 == NULL)
			return -1;
	}
	return 0;
}

void conn_close_all(struct sn *sn)
{
	sn->closing = 1;
	while (sn->conns != NULL) {
		struct conn *c = sn->conns;
		struct olink *ol = c->ol;
		c->ol = NULL;
		fail_queue(c, "shutting down");
		conn_unlink(c);
		olink_free(ol);
		conn_release(c);
	}
	if (sn->lis != NULL)
		evconnlistener_free(sn->lis);
	sn->lis = NULL;
	if (sn->lis2 != NULL)
		evconnlistener_free(sn->lis2);
	sn->lis2 = NULL;
}

void conn_drop_revoked(struct sn *sn)
{
	struct conn *c = sn->conns;

	while (c != NULL) {
		struct conn *next = c->next;
		X509 *cert = c->ol != NULL ? olink_peer(c->ol)->cert : NULL;
		if (cert != NULL && crl_is_revoked(sn->crl, X509_get0_serialNumber(cert))) {
			log_info("closing link of %s: certificate revoked",
				 olink_peer(c->ol)->name);
			conn_drop(c, "certificate revoked");
		}
		c = next;
	}
}

int conn_count(const struct sn *sn, enum conn_kind kind)
{
	int n = 0;

	for (const struct conn *c = sn->conns; c != NULL; c = c->next)
		n += c->ol != NULL && c->ready && c->kind == kind;
	return n;
}

struct olink *conn_client(struct sn *sn, const struct rid *id)
{
	for (struct conn *c = sn->conns; c != NULL; c = c->next)
		if (c->ol != NULL && c->kind == CONN_CLIENT && rid_eq(&olink_peer(c->ol)->id, id))
			return c->ol;
	return NULL;
}

int conn_known_node(struct sn *sn, const struct rid *id, struct node *out)
{
	const struct node *n = ring_find(&sn->ring, id);

	if (n != NULL) {
		*out = *n;
		return 0;
	}
	for (struct conn *c = sn->conns; c != NULL; c = c->next) {
		if (c->ol != NULL && c->kind == CONN_PEER && c->ready && rid_eq(&c->node.id, id)) {
			*out = c->node;
			return 0;
		}
	}
	return -1;
}

int conn_peer_node(struct olink *l, struct node *n)
{
	struct conn *c = conn_of(l);

	if (c == NULL || c->kind != CONN_PEER || !c->ready)
		return -1;
	*n = c->node;
	return 0;
}

int conn_inflight(struct conn *c, int delta)
{
	c->inflight += delta;
	return c->inflight;
}
