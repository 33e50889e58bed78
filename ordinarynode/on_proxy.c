/* The stateful SIP proxy of the ordinary node: its transactions and their
 * branches (on_proxy.h has the structures, on_forward.c where requests
 * come from and where branches go).
 *
 * Phone side: sofia-sip nta transactions (retransmissions, timers, CANCEL
 * matching). Overlay side: the link is reliable, so a hop there has no
 * retransmissions: an overlay branch is a Via of ours whose branch names the
 * proxy transaction and the branch, and responses come back as "msg" frames
 * whose top Via is that one. CANCEL is sent down an overlay branch without
 * expecting an answer; the cancelled INVITE answers 487. ACK for a non-2xx
 * final stays on the phone side (nta sends and absorbs it). When every
 * branch has answered, the best final answer goes upstream (RFC 3261 16.7);
 * every 2xx goes up at once. */
#include "on_proxy.h"

#include "keepcert.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>

#define TIMER_B_MS 32000  /* no final answer to a request (RFC 3261 64*T1) */
#define TIMER_C_MS 180000 /* an INVITE that rings without an answer */
#define LINGER_MS 32000   /* after the final answer of an INVITE: more 2xx */
#define DIALOG_SWEEP_MS 60000
/* A gateway answers an INVITE from the overlay with 100 at once
 * (on_forward.c); none within this (one sweep more, at most): the request
 * goes to the next gateway. A gateway killed after the request reached it
 * costs the call this long, not timer B. */
#define GW_TRYING_MS 3000

/* ---- helpers ---- */

static const char *self_id(struct on_proxy *p)
{
	uint8_t id[NODE_ID_LEN];

	if (p->self_id[0] == '\0' && keepcert_ready(p->on->acc[0].kc) &&
	    node_id_from_key(keepcert_key(p->on->acc[0].kc), id) == 0)
		node_id_hex(id, p->self_id);
	return p->self_id;
}

void proxy_self(struct on_proxy *p, struct on_self *self)
{
	struct on *on = p->on;

	*self = (struct on_self){
		self_id(p),   p->host,      on->cfg.overlay, on->acc[0].conf->name, on->sn_id,
		on->cur.host, on->cur.port, p->tls_host,     on->gw != NULL};
}

static uint64_t fnv(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ull;
	h = (h ^ '|') * 1099511628211ull;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ull;
	return h;
}

int ptx_hide(struct on_proxy *p, msg_t *m)
{
	return ptx_hide_as(p, m, NULL);
}

int ptx_hide_as(struct on_proxy *p, msg_t *m, const char *acct)
{
	struct on_self self;

	proxy_self(p, &self);
	if (acct != NULL && acct[0] != '\0')
		self.acct = acct;
	if (on_topo_out(p->topo, &self, m, time_mono_ms()) == 0)
		return 0;
	log_info("a message of a phone here could not be hidden: not sent to the overlay");
	return -1;
}

/* ---- the table of transactions ---- */

struct ptx *ptx_find(struct on_proxy *p, uint64_t id)
{
	for (struct ptx *x = p->byid[id % BUCKETS]; x != NULL; x = x->hnext)
		if (x->id == id)
			return x;
	return NULL;
}

struct ptx *ptx_find_up(struct on_proxy *p, const char *from, const char *branch)
{
	uint64_t k = fnv(from, branch);

	for (struct ptx *x = p->bykey[k % BUCKETS]; x != NULL; x = x->onext)
		if (x->okey == k && strcmp(x->up, from) == 0 && strcmp(x->up_branch, branch) == 0)
			return x;
	return NULL;
}

struct ptx *ptx_new(struct on_proxy *p, msg_t *req)
{
	struct ptx *x = calloc(1, sizeof(*x));
	sip_t *sip = sip_object(req);

	if (x == NULL)
		return NULL;
	x->p = p;
	x->id = ++p->next_id;
	x->req = req;
	x->method = sip->sip_request->rq_method;
	x->state = PTX_ROUTING;
	x->created = time_mono_ms();
	x->hnext = p->byid[x->id % BUCKETS];
	p->byid[x->id % BUCKETS] = x;
	x->next = p->all;
	if (p->all != NULL)
		p->all->prev = x;
	p->all = x;
	p->count++;
	if (x->method == sip_method_invite)
		p->st.calls_active++;
	return x;
}

void ptx_index_up(struct ptx *x)
{
	struct on_proxy *p = x->p;

	x->okey = fnv(x->up, x->up_branch);
	x->onext = p->bykey[x->okey % BUCKETS];
	p->bykey[x->okey % BUCKETS] = x;
}

static void ptx_unlink(struct ptx *x)
{
	struct on_proxy *p = x->p;
	struct ptx **pp;

	for (pp = &p->byid[x->id % BUCKETS]; *pp != x; pp = &(*pp)->hnext)
		;
	*pp = x->hnext;
	if (x->up[0] != '\0') {
		for (pp = &p->bykey[x->okey % BUCKETS]; *pp != NULL && *pp != x; pp = &(*pp)->onext)
			;
		if (*pp == x)
			*pp = x->onext;
	}
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		p->all = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	p->count--;
	if (x->method == sip_method_invite)
		p->st.calls_active--;
}

/* ---- transactions per sender ---- */

static struct sender **sender_slot(struct on_proxy *p, const char *key)
{
	struct sender **s = &p->senders[fnv(key, "") % BUCKETS];

	while (*s != NULL && strcmp((*s)->key, key) != 0)
		s = &(*s)->next;
	return s;
}

int ptx_sender_busy(struct on_proxy *p, const char *key, int max)
{
	struct sender *s = *sender_slot(p, key);

	return s != NULL && s->n >= max;
}

void ptx_sender(struct ptx *x, const char *key)
{
	struct sender **s = sender_slot(x->p, key);

	if (*s == NULL) {
		if ((*s = calloc(1, sizeof(**s))) == NULL)
			return; /* not counted: the global PTX_MAX still holds */
		str_copy((*s)->key, key, sizeof((*s)->key));
	}
	(*s)->n++;
	x->snd = *s;
}

/* x no longer counts against its sender: it was answered (or freed). */
static void sender_release(struct ptx *x)
{
	struct sender *s = x->snd, **pp;

	if (s == NULL)
		return;
	x->snd = NULL;
	if (--s->n > 0)
		return;
	pp = sender_slot(x->p, s->key);
	*pp = s->next;
	free(s);
}

static void ptx_free(struct ptx *x)
{
	ptx_unlink(x);
	sender_release(x);
	for (int i = 0; i < x->nbr; i++) {
		if (x->br[i].orq != NULL)
			nta_outgoing_destroy(x->br[i].orq);
		if (x->br[i].sent != NULL)
			msg_destroy(x->br[i].sent);
	}
	if (x->irq != NULL)
		nta_incoming_destroy(x->irq);
	if (x->best != NULL)
		msg_destroy(x->best);
	if (x->req != NULL)
		msg_destroy(x->req);
	free(x->gws);
	free(x);
}

/* ---- sending over the overlay ---- */

struct sent {
	struct on_proxy *p;
	uint64_t id; /* the transaction; 0: nobody waits for the answer */
	int idx;     /* its branch */
};

static void on_sent(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct sent *st = arg;
	struct ptx *x;
	const char *why;

	(void)l;
	if (reply != NULL && json_is_true(json_object_get(reply, "ok"))) {
		free(st);
		return;
	}
	why = reply != NULL ? json_string_value(json_object_get(reply, "err")) : err;
	st->p->st.overlay_failed++;
	log_info("overlay delivery failed: %s", why != NULL ? why : "?");
	if (st->id != 0 && (x = ptx_find(st->p, st->id)) != NULL && st->idx < x->nbr) {
		struct branch *b = &x->br[st->idx];
		/* A node named by a Route whose super node is gone: where is it now? */
		if (b->acct[0] != '\0' && !b->relocated && b->sent != NULL && b->state != BR_DONE &&
		    relocate(x, b) == 0) {
			free(st);
			return;
		}
		b->unanswered = 1;
		branch_failed(x, b, why != NULL && strcmp(why, "timeout") == 0 ? 408 : 480);
	}
	free(st);
}

/* The certificate d->peer, or the node's own (its first account's Node-ID
 * is the node's). */
static const char *peer_of(const struct ovl_dest *d)
{
	return d->peer != NULL && d->peer[0] != '\0' ? d->peer : d->to;
}

/* Ours to seal with: d->mine, or the account whose user the message is from. */
static X509 *mine_of(struct on_proxy *p, const struct ovl_dest *d, const sip_t *sip)
{
	const sip_addr_t *a = sip->sip_request != NULL ? sip->sip_from : sip->sip_to;

	if (d->mine != NULL)
		return d->mine;
	return on_seal_mine(p->on, a != NULL ? a->a_url->url_user : NULL);
}

int ovl_send(struct on_proxy *p, const struct ovl_dest *d, msg_t *m, uint64_t id, int idx)
{
	static struct log_limit lim;
	struct on *on = p->on;
	const sip_t *sip = sip_object(m);
	const char *peer = peer_of(d);
	struct sent *st;
	size_t len = 0;
	char *txt, err[200] = "not UTF-8 text, or no memory";
	json_t *j, *body = NULL;

	if (on->state != ON_ATTACHED || on->link == NULL)
		return -1;
	txt = on_msg_text(m, &len);
	if (txt != NULL)
		body = on_seal_wrap(on, mine_of(p, d, sip), peer, d->to, txt, len, err,
				    sizeof(err));
	if (body == NULL) {
		if (log_allowed(&lim, LOG_LIMIT_PER_S))
			log_info("SIP for node %s not sent: %s", d->to, err);
		return -1;
	}
	j = json_pack("{s:s,s:s,s:s,s:o}", "t", "send", "to", d->to, "sn", d->sn, "body", body);
	if (d->sna != NULL && d->sna[0] != '\0')
		json_object_set_new(j, "sn_addr", json_string(d->sna));
	st = malloc(sizeof(*st));
	if (st == NULL) {
		json_decref(j);
		return -1;
	}
	*st = (struct sent){p, id, idx};
	p->st.overlay_out++;
	if (olink_request(on->link, j, SEND_TIMEOUT_MS, on_sent, st) < 0) {
		free(st);
		return -1;
	}
	return 0;
}

/* ---- answering upstream ---- */

/* An INVITE that opened no dialog (failed, cancelled): its media goes.
 * Not for one refused before any branch: it never touched media, and its
 * Call-ID may be another call's (a third node's INVITE with it). */
static void invite_ended(struct ptx *x, int status)
{
	const sip_t *rq = x->req != NULL ? sip_object(x->req) : NULL;

	if (status >= 300 && x->method == sip_method_invite && x->nbr > 0 && rq != NULL &&
	    rq->sip_to->a_tag == NULL && rq->sip_call_id != NULL)
		on_media_release(x->p->on->media, rq->sip_call_id->i_id);
}

void ptx_answered(struct ptx *x, int status)
{
	sender_release(x); /* what lingers now is cheap, and no longer the sender's */
	x->state = PTX_ANSWERED;
	x->final = status;
	x->final_at = time_mono_ms();
	invite_ended(x, status);
}

/* Forwards a response (consumed; our Via already removed) to x's upstream. */
static void send_up(struct ptx *x, msg_t *r)
{
	struct on_proxy *p = x->p;
	int status = sip_object(r)->sip_status->st_status;

	if (status >= 200 && x->state != PTX_ANSWERED)
		ptx_answered(x, status);
	if (status >= 200 && status < 300 && x->method == sip_method_invite && x->req != NULL &&
	    sip_object(x->req)->sip_to->a_tag == NULL && sip_object(r)->sip_call_id != NULL)
		on_dialogs_add(p->dlg, sip_object(r)->sip_call_id->i_id, time_mono_ms());
	if (x->irq != NULL && p->on->gw != NULL) {
		struct on_self self;
		proxy_self(p, &self);
		on_msg_rr_hide(&self, r); /* the SIP world learns no node's address */
	}
	if (x->irq != NULL) {
		if (x->as[0] != '\0' && status >= 200 && status < 300 && x->req != NULL)
			p->bind.learn(p->bind.arg, x->as, x->irq, sip_object(x->req));
		nta_incoming_mreply(x->irq, r);
		return;
	}
	if (x->up[0] != '\0' && ptx_hide(p, r) == 0 &&
	    ovl_send(p,
		     &(struct ovl_dest){x->up, x->up_sn, x->up_sna, x->up_cert,
					on_seal_mine_by_id(p->on, x->up_mine)},
		     r, 0, 0) < 0)
		log_info("response %d for %s lost: not attached", status, x->up);
	msg_destroy(r);
}

void reply_up(struct ptx *x, int status, const char *phrase)
{
	msg_t *r;

	if (x->state == PTX_ANSWERED)
		return;
	if (x->irq != NULL) {
		ptx_answered(x, status);
		nta_incoming_treply(x->irq, status, phrase, TAG_END());
		return;
	}
	r = on_msg_response(x->p->agent, x->req, status, phrase);
	if (r != NULL) {
		send_up(x, r);
		return;
	}
	sender_release(x);
	x->state = PTX_ANSWERED; /* nothing went: the sweep lets it go */
	x->final = status;
}

/* ---- branches ---- */

static int response_rank(int status)
{
	if (status >= 600)
		return 0;
	if (status >= 200 && status < 300)
		return 0;
	return status / 100; /* 3, 4, 5: the lowest class wins */
}

struct branch *branch_new(struct ptx *x, enum branch_kind kind)
{
	struct branch *b;

	if (x->nbr == BRANCHES_MAX)
		return NULL;
	b = &x->br[x->nbr];
	memset(b, 0, sizeof(*b));
	b->x = x;
	b->idx = x->nbr++;
	b->kind = kind;
	b->state = BR_SENT;
	b->started = time_mono_ms();
	x->p->st.branches++;
	return b;
}

static void cancel_branch(struct ptx *x, struct branch *b)
{
	msg_t *c;

	if (b->state != BR_SENT)
		return;
	b->state = BR_CANCELED;
	if (b->kind == BR_PHONE) {
		if (b->orq != NULL)
			nta_outgoing_cancel(b->orq);
		return;
	}
	if (b->sent == NULL)
		return;
	c = on_msg_cancel(x->p->agent, b->sent);
	if (c == NULL ||
	    ovl_send(x->p, &(struct ovl_dest){b->to, b->sn, b->sna, b->peer, NULL}, c, 0, 0) < 0)
		log_info("CANCEL towards %s could not be sent", b->to);
	if (c != NULL)
		msg_destroy(c);
}

void cancel_all(struct ptx *x)
{
	for (int i = 0; i < x->nbr; i++)
		cancel_branch(x, &x->br[i]);
}

/* No branch gave a final answer worth passing on: the proxy answers. */
static void reply_verdict(struct ptx *x)
{
	if (x->nbr == 0) {
		int st = x->empty_status != 0 ? x->empty_status : 404;
		reply_up(x, st,
			 st == 404   ? "Not Found"
			 : st == 503 ? "Service Unavailable"
				     : "Temporarily Unavailable");
	} else if (x->best_status == 408)
		reply_up(x, 408, "Request Timeout");
	else if (x->best_status == 487 || x->canceled)
		reply_up(x, 487, "Request Terminated");
	else
		reply_up(x, x->best_status >= 300 ? x->best_status : 480,
			 x->best_status == 503 ? "Service Unavailable" : "Temporarily Unavailable");
}

void check_done(struct ptx *x)
{
	msg_t *r;

	if (x->state != PTX_WAITING)
		return;
	for (int i = 0; i < x->nbr; i++)
		if (x->br[i].state != BR_DONE)
			return;
	if (x->best == NULL && gateway_next(x))
		return;
	if (x->best == NULL) {
		reply_verdict(x);
		return;
	}
	r = x->best;
	x->best = NULL;
	if (x->best_status == 503) {
		/* 16.7.6: a 503 from downstream goes up as 500 */
		sip_t *rs = sip_object(r);
		msg_header_replace(r, (msg_pub_t *)rs, (msg_header_t *)rs->sip_status,
				   (msg_header_t *)sip_status_create(
					   msg_home(r), 500, "Server Internal Error", NULL));
	}
	send_up(x, r);
}

void branch_failed(struct ptx *x, struct branch *b, int status)
{
	if (b->state == BR_DONE)
		return;
	b->state = BR_DONE;
	b->status = status;
	if (x->best == NULL &&
	    (x->best_status == 0 || response_rank(status) < response_rank(x->best_status) ||
	     (status == 408 && x->best_status == 480)))
		x->best_status = status;
	check_done(x);
}

/* A provisional answer: a new highest status, passed on unless a 100. */
static void branch_provisional(struct ptx *x, struct branch *b, msg_t *r, int status)
{
	if (b->state != BR_DONE && status > b->status)
		b->status = status;
	if (status > 100 && x->state != PTX_ANSWERED)
		send_up(x, r);
	else
		msg_destroy(r);
}

/* The Contact URI of m as text: 0, or -1 when none fits. */
static int contact_text(const sip_contact_t *m, char *buf, size_t len)
{
	issize_t n;

	if (m == NULL)
		return -1;
	n = url_e(buf, (isize_t)len, m->m_url);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* On a gateway, the far party's side of the Record-Route of m (a request
 * from it, or a 2xx of it to ours): the Route of requests to it (RFC 3261
 * 12.1), the order a request brought it, reversed in a response. Into
 * out as "<uri>,<uri>", the first hop's URI into first; 0 when there is
 * one, -1 when none (or none fits). */
#define FAR_ROUTE_MAX 8
static int far_route(struct on_proxy *p, const sip_t *m, char *out, size_t len, char *first,
		     size_t flen)
{
	const sip_record_route_t *v[FAR_ROUTE_MAX];
	int n = 0, resp = m->sip_status != NULL;
	struct on_self self;
	size_t used = 0;

	proxy_self(p, &self);
	for (const sip_record_route_t *r = m->sip_record_route; r != NULL && n < FAR_ROUTE_MAX;
	     r = r->r_next) {
		if (on_route_is_ours(&self, r))
			break; /* what follows in a response is the overlay's side */
		v[n++] = r;
	}
	out[0] = '\0';
	for (int k = 0; k < n; k++) {
		const sip_record_route_t *r = v[resp ? n - 1 - k : k];
		issize_t w;
		if (used + 4 >= len)
			return -1;
		out[used++] = k > 0 ? ',' : '<';
		if (k > 0)
			out[used++] = '<';
		w = url_e(out + used, (isize_t)(len - used - 2), r->r_url);
		if (w <= 0 || used + (size_t)w + 2 >= len)
			return -1;
		if (k == 0 && url_e(first, (isize_t)flen, r->r_url) <= 0)
			return -1;
		used += (size_t)w;
		out[used++] = '>';
		out[used] = '\0';
	}
	return n > 0 ? 0 : -1;
}

/* Our phone that sent m over transport tp with Contact c is in call
 * call_id. It is reached at its Contact's host, port and transport when the
 * Contact names the address m came from, else at that address (as the
 * registrar does behind a NAT): a phone's Contact cannot lead the node to
 * another host, and no maddr or other parameter of it is followed. A phone
 * on TLS stays on TLS. */
static void phone_learn(struct on_proxy *p, const char *call_id, msg_t *m, const char *tp,
			const sip_contact_t *c)
{
	su_addrinfo_t *ai = m != NULL ? msg_addrinfo(m) : NULL;
	char uri[ON_URI_MAX], dest[ON_URI_MAX], ip[64], port[8], host[80], route[1024];

	if (ai == NULL || ai->ai_addr == NULL || contact_text(c, uri, sizeof(uri)) < 0 ||
	    getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, ip, sizeof(ip), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	str_copy(host, c->m_url->url_host != NULL ? c->m_url->url_host : "", sizeof(host));
	if (host[0] == '[' && strlen(host) > 2) { /* an IPv6 reference */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (strcasecmp(host, ip) == 0) {
		str_copy(port,
			 c->m_url->url_port != NULL && strlen(c->m_url->url_port) < sizeof(port)
				 ? c->m_url->url_port
				 : "5060",
			 sizeof(port));
		if (strcmp(tp, "tls") != 0)
			tp = on_uri_tp(NULL, c->m_url);
	}
	snprintf(dest, sizeof(dest),
		 strchr(ip, ':') != NULL ? "sip:[%s]:%s;transport=%s" : "sip:%s:%s;transport=%s",
		 ip, port, tp);
	if (p->on->gw != NULL &&
	    far_route(p, sip_object(m), route, sizeof(route), dest, sizeof(dest)) == 0) {
		/* a gateway's far party: through the proxies it came by */
		on_dialogs_learn(p->dlg, call_id, uri, dest, time_mono_ms());
		on_dialogs_set_route(p->dlg, call_id, uri, route);
		return;
	}
	on_dialogs_learn(p->dlg, call_id, uri, dest, time_mono_ms());
}

/* A 2xx to an INVITE outside a dialog: our phones in the call (the caller
 * if it is ours, the callee that answered if it is ours), so that
 * in-dialog requests can reach them and nothing else (on_dialog.c). */
static void dialog_learn(struct ptx *x, const struct branch *b, msg_t *r)
{
	const sip_t *rq = x->req != NULL ? sip_object(x->req) : NULL;
	const sip_t *rs = sip_object(r);
	msg_t *got;

	if (x->method != sip_method_invite || rq == NULL || rq->sip_to->a_tag != NULL ||
	    rs->sip_call_id == NULL)
		return;
	if (x->irq != NULL)
		phone_learn(x->p, rs->sip_call_id->i_id, x->req, x->in_tp, rq->sip_contact);
	if (b->kind == BR_PHONE && b->orq != NULL &&
	    (got = nta_outgoing_getresponse(b->orq)) != NULL) {
		/* nta's copy: it knows where the 2xx came from */
		phone_learn(x->p, rs->sip_call_id->i_id, got, on_outgoing_tp(b->orq),
			    rs->sip_contact);
		msg_destroy(got);
	}
}

void branch_response(struct ptx *x, struct branch *b, msg_t *r)
{
	int status = sip_object(r)->sip_status->st_status;

	x->p->st.responses++;
	if (status < 200) {
		branch_provisional(x, b, r, status);
		return;
	}
	b->state = BR_DONE;
	b->status = status;
	if (status < 300) {
		/* Every 2xx goes up (a forked INVITE may be answered twice). */
		if (x->method == sip_method_invite)
			cancel_all(x);
		dialog_learn(x, b, r);
		send_up(x, r);
		return;
	}
	if (x->state == PTX_ANSWERED) {
		msg_destroy(r);
		return;
	}
	if (x->best == NULL || response_rank(status) < response_rank(x->best_status)) {
		if (x->best != NULL)
			msg_destroy(x->best);
		x->best = r;
		x->best_status = status;
	} else {
		msg_destroy(r);
	}
	if (status >= 600 && x->method == sip_method_invite)
		cancel_all(x);
	check_done(x);
}

/* nta marks the answers it makes itself (no phone there: 503; none in time:
 * 408) with this message flag (NTA_INTERNAL_MSG, nta_internal.h). */
#define NTA_OWN_ANSWER (1 << 15)

int branch_phone_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
	struct branch *b = (struct branch *)magic;
	struct ptx *x = b->x;
	char peer[GW_DOMAIN_MAX + 1];
	msg_t *ref, *r;
	sip_t *rs;

	if (sip == NULL || (sip->sip_flags & NTA_OWN_ANSWER) != 0) {
		int st = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status
								: nta_outgoing_status(orq);
		branch_failed(x, b, st == 503 ? 480 : st < 300 ? 408 : st);
		return 0;
	}
	ref = nta_outgoing_getresponse(orq);
	if (ref == NULL)
		return 0;
	/* A copy: nta keeps the original for its own retransmission logic. */
	r = msg_dup(ref);
	msg_destroy(ref);
	rs = r != NULL ? sip_object(r) : NULL;
	if (rs == NULL || rs->sip_status == NULL || rs->sip_via == NULL) {
		if (r != NULL)
			msg_destroy(r);
		return 0;
	}
	sip_header_remove(r, rs, (sip_header_t *)rs->sip_via); /* nta's own */
	if (rs->sip_via == NULL) {
		branch_failed(x, b, rs->sip_status->st_status);
		msg_destroy(r);
		return 0;
	}
	if (x->irq == NULL && x->p->on->gw != NULL && x->req != NULL) {
		struct on_self self;
		proxy_self(x->p, &self);
		on_msg_rr_restore(&self, r, sip_object(x->req)); /* as the node sent them */
	}
	if (x->irq == NULL) {
		on_media_to_overlay(x->p->on->media, r); /* our phone's answer */
		if (on_fed_peer_out(x->p->on->fed, orq, peer, sizeof(peer)))
			on_identity_peer(r, peer); /* a peered overlay's callee */
		else
			on_identity_strip(r); /* who answered, the far node learns from the seal */
	}
	branch_response(x, b, r);
	return 0;
}

/* ---- timers ---- */

/* After the final answer an INVITE transaction stays for 32 s only to pass
 * on more 2xx: the copies of the request it kept go now (at 500 calls/s,
 * 16,000 transactions linger). */
static void trim(struct ptx *x)
{
	for (int i = 0; i < x->nbr; i++)
		if (x->br[i].sent != NULL) {
			msg_destroy(x->br[i].sent);
			x->br[i].sent = NULL;
		}
	if (x->req != NULL) {
		msg_destroy(x->req);
		x->req = NULL;
	}
}

/* An answered transaction: gone once it lingered and its branches ended
 * (or timer B ran out for them). */
static void sweep_answered(struct ptx *x, uint64_t now)
{
	int live = 0;

	trim(x);
	for (int i = 0; i < x->nbr; i++)
		live += x->br[i].state != BR_DONE;
	if (now - x->final_at >= (x->method == sip_method_invite ? LINGER_MS : 0) &&
	    (live == 0 || now - x->final_at >= TIMER_B_MS))
		ptx_free(x);
}

/* Branches without an answer in time end with 408; a transaction that
 * never ended is answered 500. */
static void sweep_open(struct ptx *x, uint64_t now)
{
	for (int i = 0; i < x->nbr; i++) {
		struct branch *b = &x->br[i];
		uint64_t age = now - b->started;
		if (b->state == BR_DONE)
			continue;
		if (b->kind == BR_OVERLAY && x->gws != NULL && b->status < 100 &&
		    age >= GW_TRYING_MS) {
			/* a gateway that took no INVITE in time: the next one */
			b->unanswered = 1;
			cancel_branch(x, b);
			branch_failed(x, b, 408);
			continue;
		}
		if ((b->kind == BR_OVERLAY && b->status < 100 && age >= TIMER_B_MS) ||
		    (x->method == sip_method_invite && age >= TIMER_C_MS)) {
			b->unanswered = b->status < 100;
			cancel_branch(x, b);
			branch_failed(x, b, 408);
		}
	}
	if (x->state != PTX_ANSWERED && now - x->created >= TIMER_C_MS + 60000) {
		log_warn("transaction %llu never ended: answered 500", (unsigned long long)x->id);
		reply_up(x, 500, "Server Internal Error");
	}
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct on_proxy *p = arg;
	uint64_t now = time_mono_ms();
	struct ptx *x, *next;

	(void)fd, (void)what;
	if (now >= p->next_dlg_sweep) {
		p->next_dlg_sweep = now + DIALOG_SWEEP_MS;
		on_dialogs_expire(p->dlg, now, 0);
		on_peers_expire(p->peers, now, 0);
		on_topo_expire(p->topo, p->dlg, now, 0);
	}
	for (x = p->all; x != NULL; x = next) {
		next = x->next;
		if (x->state == PTX_ANSWERED)
			sweep_answered(x, now);
		else
			sweep_open(x, now);
	}
}

/* ---- set-up ---- */

struct on_proxy *on_proxy_new(struct on *on, nta_agent_t *agent, const struct on_bindings *view,
			      struct on_lookup *lk, char *err, size_t errlen)
{
	struct on_proxy *p = calloc(1, sizeof(*p));
	struct timeval tv = {1, 0};
	char host[64];
	const char *tls;
	uint16_t port;

	if (p == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	p->on = on;
	p->bind = *view;
	p->lk = lk;
	p->agent = agent;
	p->dlg = on_dialogs_new();
	p->peers = on_peers_new();
	p->topo = on_topo_new();
	p->sweep = event_new(on->base, -1, EV_PERSIST, sweep, p);
	if (p->dlg == NULL || p->peers == NULL || p->topo == NULL || p->sweep == NULL ||
	    addr_split(on->cfg.sip_listen, host, sizeof(host), &port) < 0) {
		err_set(err, errlen, "SIP proxy set-up failed");
		on_proxy_free(p);
		return NULL;
	}
	snprintf(p->host, sizeof(p->host), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	/* a gateway's TLS is its federation listener (it has no phones) */
	tls = on->cfg.sip_tls_listen != NULL && on->cfg.sip_tls_listen[0] != '\0'
		      ? on->cfg.sip_tls_listen
	      : on->gw != NULL ? on->cfg.gw_tls_listen
			       : NULL;
	if (tls != NULL && tls[0] != '\0' && addr_split(tls, host, sizeof(host), &port) == 0)
		snprintf(p->tls_host, sizeof(p->tls_host), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
			 host, port);
	event_add(p->sweep, &tv);
	return p;
}

void on_proxy_stats(const struct on_proxy *p, struct on_proxy_stats *out)
{
	*out = p->st;
	out->lookups = on_lookup_count(p->lk);
}

int on_proxy_calls_answered(const struct on_proxy *p)
{
	return on_dialogs_count(p->dlg);
}

int on_proxy_calls_setting_up(const struct on_proxy *p)
{
	int n = 0;

	for (const struct ptx *x = p->all; x != NULL; x = x->next)
		n += x->method == sip_method_invite && x->state != PTX_ANSWERED;
	return n;
}

void on_proxy_free(struct on_proxy *p)
{
	if (p == NULL)
		return;
	while (p->all != NULL)
		ptx_free(p->all);
	on_dialogs_free(p->dlg);
	on_peers_free(p->peers);
	on_topo_free(p->topo);
	if (p->sweep != NULL)
		event_free(p->sweep);
	free(p);
}
