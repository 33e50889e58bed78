/* The stateful SIP proxy of the ordinary node.
 *
 * A request from a local phone for sip:USER@OVERLAY is resolved through the
 * DHT (the user's record names, per device node, the ordinary node and its
 * super node) and sent over the overlay link, as SIP text in a "send"
 * frame, to each of those nodes; the callee's ordinary node hands it to the
 * phones registered there. Requests from the overlay go only to local
 * phones. Both nodes Record-Route with a URI that a phone can reach (the
 * SIP listen address) and that names the node on the overlay (ovl=Node-ID,
 * sn=super node, sna=its address), so in-dialog requests come back the same
 * way.
 *
 * Phone side: sofia-sip nta transactions (retransmissions, timers, CANCEL
 * matching). Overlay side: the link is reliable, so a hop there has no
 * retransmissions: an overlay branch is a Via of ours whose branch names the
 * proxy transaction and the branch, and responses come back as "msg" frames
 * whose top Via is that one. CANCEL is sent down an overlay branch without
 * expecting an answer; the cancelled INVITE answers 487. ACK for a non-2xx
 * final stays on the phone side (nta sends and absorbs it). */
#include "on.h"

#include "certcheck.h"
#include "keepcert.h"
#include "log.h"
#include "record.h"
#include "util.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/url.h>

#define P2P_BRANCH "z9hG4bKp2p"
#define BRANCHES_MAX 16
#define BUCKETS 4096
#define TIMER_B_MS 32000  /* no final answer to a request (RFC 3261 64*T1) */
#define TIMER_C_MS 180000 /* an INVITE that rings without an answer */
#define LINGER_MS 32000   /* after the final answer of an INVITE: more 2xx */
#define SEND_TIMEOUT_MS 10000
#define PTX_MAX 20000 /* transactions in progress; beyond: 503 */

struct branch {
	struct ptx *x;
	int idx;
	int local;
	nta_outgoing_t *orq;          /* local: towards a phone */
	char via[64];                 /* overlay: our Via branch */
	char to[NODE_ID_HEX_LEN + 1]; /* overlay: the node, its super node */
	char sn[NODE_ID_HEX_LEN + 1];
	char sna[96];
	char acct[64];  /* the node's first account (from its Record-Route) */
	int relocating; /* looking up where the node is attached now */
	msg_t *sent;    /* overlay INVITE as sent (for a CANCEL), or any request
			 * to a node named by a Route (to send it again) */
	int status;     /* highest seen; >= 200 final */
	int done;       /* final seen (or failed) */
	int canceled;
	uint64_t started; /* monotonic ms */
};

struct ptx {
	struct on_proxy *p;
	uint64_t id;
	struct ptx *hnext, *onext; /* by id; overlay transactions by upstream key */
	struct ptx *prev, *next;   /* all, for the sweep */
	uint64_t okey;
	sip_method_t method;
	msg_t *req; /* the request as received */
	/* upstream: a phone's transaction, or a node on the overlay */
	nta_incoming_t *irq;
	const char *in_tp; /* the phone's transport ("udp", "tcp"), NULL from the overlay */
	char up[NODE_ID_HEX_LEN + 1], up_sn[NODE_ID_HEX_LEN + 1], up_sna[96], up_branch[128];
	struct branch br[BRANCHES_MAX];
	int nbr;
	int resolving;    /* a DHT fetch is out */
	int adding;       /* branches being added: no verdict yet */
	int empty_status; /* the answer when no branch could be made */
	int final;        /* final status sent upstream; 0: none yet */
	int canceled;
	msg_t *best; /* best final so far (our Via removed), or NULL */
	int best_status;
	uint64_t created, final_at;
};

/* A call that was answered and not yet hung up, by Call-ID: only for the
 * status page (the proxy keeps no dialog state for routing). */
struct dlg {
	struct dlg *next;
	uint64_t since; /* monotonic ms */
	char call_id[];
};

#define DIALOGS_MAX 100000
#define DIALOG_MAX_MS (24ull * 3600 * 1000) /* a call longer than a day is forgotten */

struct on_proxy {
	struct on *on;
	struct on_bindings bind; /* the registrar's, read only */
	nta_agent_t *agent;
	struct certcheck *cc;
	struct ptx *byid[BUCKETS], *bykey[BUCKETS];
	struct ptx *all;
	int count;
	struct dlg *dlg[BUCKETS];
	int ndlg;
	uint64_t next_dlg_sweep;
	uint64_t next_id;
	struct event *sweep;
	char self[NODE_ID_HEX_LEN + 1];
	char host[80]; /* our SIP host[:port] as phones reach it */
	struct on_proxy_stats st;
};

/* ---- helpers ---- */

static const char *self_id(struct on_proxy *p)
{
	uint8_t id[NODE_ID_LEN];

	if (p->self[0] == '\0' && keepcert_ready(p->on->acc[0].kc) &&
	    node_id_from_key(keepcert_key(p->on->acc[0].kc), id) == 0)
		node_id_hex(id, p->self);
	return p->self;
}

static int is_hex_id(const char *s)
{
	if (s == NULL || strlen(s) != NODE_ID_HEX_LEN)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
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

static int url_param_get(const url_t *u, const char *name, char *buf, size_t len)
{
	if (u == NULL || u->url_params == NULL)
		return 0;
	return url_param(u->url_params, name, buf, len) > 0;
}

/* A Route entry that names this node: our ovl= Node-ID, or, without ovl,
 * our SIP address (a phone's pre-loaded outbound proxy route). */
static int route_is_ours(struct on_proxy *p, const sip_route_t *r)
{
	char v[80];
	char hp[80];

	if (url_param_get(r->r_url, "ovl", v, sizeof(v)))
		return strcasecmp(v, self_id(p)) == 0;
	if (r->r_url->url_host == NULL)
		return 0;
	snprintf(hp, sizeof(hp), "%s:%s", r->r_url->url_host,
		 r->r_url->url_port != NULL ? r->r_url->url_port : "5060");
	return strcasecmp(hp, p->host) == 0;
}

static int via_is_ours(struct on_proxy *p, const sip_via_t *v)
{
	char host[NODE_ID_HEX_LEN + 16];

	snprintf(host, sizeof(host), "%s.invalid", self_id(p));
	return v->v_host != NULL && strcasecmp(v->v_host, host) == 0;
}

static char *msg_text(msg_t *m, size_t *len)
{
	if (msg_serialize(m, (msg_pub_t *)sip_object(m)) < 0)
		return NULL;
	return msg_as_string(msg_home(m), m, NULL, 0, len);
}

/* ---- answered calls, for the status ---- */

static struct dlg **dlg_slot(struct on_proxy *p, const char *call_id)
{
	struct dlg **d = &p->dlg[fnv(call_id, "") % BUCKETS];

	while (*d != NULL && strcmp((*d)->call_id, call_id) != 0)
		d = &(*d)->next;
	return d;
}

static void dlg_add(struct on_proxy *p, const char *call_id)
{
	struct dlg **d = dlg_slot(p, call_id);
	size_t n = strlen(call_id) + 1;

	if (*d != NULL || p->ndlg >= DIALOGS_MAX || (*d = malloc(sizeof(**d) + n)) == NULL)
		return;
	(*d)->next = NULL;
	(*d)->since = time_mono_ms();
	memcpy((*d)->call_id, call_id, n);
	p->ndlg++;
}

static void dlg_del(struct on_proxy *p, const char *call_id)
{
	struct dlg **d = dlg_slot(p, call_id), *x = *d;

	if (x == NULL)
		return;
	*d = x->next;
	free(x);
	p->ndlg--;
}

static void dlg_expire(struct on_proxy *p, uint64_t now, int all)
{
	for (int i = 0; i < BUCKETS; i++)
		for (struct dlg **d = &p->dlg[i]; *d != NULL;) {
			struct dlg *x = *d;
			if (all || now - x->since >= DIALOG_MAX_MS) {
				*d = x->next;
				free(x);
				p->ndlg--;
			} else {
				d = &x->next;
			}
		}
}

/* ---- the table of transactions ---- */

static struct ptx *ptx_find(struct on_proxy *p, uint64_t id)
{
	for (struct ptx *x = p->byid[id % BUCKETS]; x != NULL; x = x->hnext)
		if (x->id == id)
			return x;
	return NULL;
}

static struct ptx *ptx_find_up(struct on_proxy *p, const char *from, const char *branch)
{
	uint64_t k = fnv(from, branch);

	for (struct ptx *x = p->bykey[k % BUCKETS]; x != NULL; x = x->onext)
		if (x->okey == k && strcmp(x->up, from) == 0 && strcmp(x->up_branch, branch) == 0)
			return x;
	return NULL;
}

static struct ptx *ptx_new(struct on_proxy *p, msg_t *req)
{
	struct ptx *x = calloc(1, sizeof(*x));
	sip_t *sip = sip_object(req);

	if (x == NULL)
		return NULL;
	x->p = p;
	x->id = ++p->next_id;
	x->req = req;
	x->method = sip->sip_request->rq_method;
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

static void ptx_index_up(struct ptx *x)
{
	struct on_proxy *p = x->p;

	x->okey = fnv(x->up, x->up_branch);
	x->onext = p->bykey[x->okey % BUCKETS];
	p->bykey[x->okey % BUCKETS] = x;
}

static void ptx_free(struct ptx *x)
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
	free(x);
}

/* ---- sending over the overlay ---- */

struct sent {
	struct on_proxy *p;
	uint64_t id; /* the transaction; 0: nobody waits for the answer */
	int idx;     /* its branch */
};

static void on_sent(struct olink *l, json_t *reply, const char *err, void *arg);

/* Sends SIP text to node `to` at super node `sn` (address sna, may be "").
 * A failure to deliver ends branch idx of transaction id (id 0: nothing
 * waits; failures are logged). */
static int ovl_send(struct on_proxy *p, const char *to, const char *sn, const char *sna, msg_t *m,
		    uint64_t id, int idx)
{
	struct sent *st;
	struct on *on = p->on;
	size_t len = 0;
	char *txt;
	json_t *j, *body;

	if (on->state != ON_ATTACHED || on->link == NULL)
		return -1;
	txt = msg_text(m, &len);
	body = txt != NULL ? json_stringn(txt, len) : NULL;
	if (body == NULL) {
		log_info("a SIP message that is not UTF-8 text cannot cross the overlay");
		return -1;
	}
	j = json_pack("{s:s,s:s,s:s,s:o}", "t", "send", "to", to, "sn", sn, "body", body);
	if (sna != NULL && sna[0] != '\0')
		json_object_set_new(j, "sn_addr", json_string(sna));
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

/* A response to the request of x, built here (no branch gave one). */
static msg_t *make_response(struct ptx *x, int status, const char *phrase)
{
	msg_t *r = nta_msg_create(x->p->agent, 0);
	sip_t *rs, *rq = sip_object(x->req);
	unsigned char rnd[6];
	char tag[16];

	if (r == NULL)
		return NULL;
	rs = sip_object(r);
	RAND_bytes(rnd, sizeof(rnd));
	snprintf(tag, sizeof(tag), "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5]);
	if (sip_add_tl(
		    r, rs,
		    SIPTAG_STATUS(sip_status_create(msg_home(r), (unsigned)status, phrase, NULL)),
		    SIPTAG_VIA(rq->sip_via), SIPTAG_FROM(rq->sip_from), SIPTAG_TO(rq->sip_to),
		    SIPTAG_CALL_ID(rq->sip_call_id), SIPTAG_CSEQ(rq->sip_cseq), TAG_END()) < 0 ||
	    (rs->sip_to != NULL && rs->sip_to->a_tag == NULL &&
	     sip_to_tag(msg_home(r), rs->sip_to, tag) < 0) ||
	    sip_complete_message(r) < 0) {
		msg_destroy(r);
		return NULL;
	}
	return r;
}

/* An INVITE that opened no dialog (failed, cancelled): its media goes. */
static void invite_ended(struct ptx *x, int status)
{
	const sip_t *rq = x->req != NULL ? sip_object(x->req) : NULL;

	if (status >= 300 && x->method == sip_method_invite && rq != NULL &&
	    rq->sip_to->a_tag == NULL && rq->sip_call_id != NULL)
		on_media_release(x->p->on->media, rq->sip_call_id->i_id);
}

/* Forwards a response (consumed; our Via already removed) to x's upstream. */
static void send_up(struct ptx *x, msg_t *r)
{
	struct on_proxy *p = x->p;
	int status = sip_object(r)->sip_status->st_status;

	if (status >= 200 && x->final == 0) {
		x->final = status;
		x->final_at = time_mono_ms();
		invite_ended(x, status);
	}
	if (status >= 200 && status < 300 && x->method == sip_method_invite && x->req != NULL &&
	    sip_object(x->req)->sip_to->a_tag == NULL && sip_object(r)->sip_call_id != NULL)
		dlg_add(p, sip_object(r)->sip_call_id->i_id);
	if (x->irq != NULL) {
		nta_incoming_mreply(x->irq, r);
		return;
	}
	if (x->up[0] != '\0' && ovl_send(p, x->up, x->up_sn, x->up_sna, r, 0, 0) < 0)
		log_info("response %d for %s lost: not attached", status, x->up);
	msg_destroy(r);
}

static void reply_up(struct ptx *x, int status, const char *phrase)
{
	msg_t *r;

	if (x->final != 0)
		return;
	if (x->irq != NULL) {
		x->final = status;
		x->final_at = time_mono_ms();
		invite_ended(x, status);
		nta_incoming_treply(x->irq, status, phrase, TAG_END());
		return;
	}
	r = make_response(x, status, phrase);
	if (r != NULL)
		send_up(x, r);
	else
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

static void cancel_branch(struct ptx *x, struct branch *b)
{
	struct on_proxy *p = x->p;

	if (b->done || b->canceled)
		return;
	b->canceled = 1;
	if (b->local) {
		if (b->orq != NULL)
			nta_outgoing_cancel(b->orq);
		return;
	}
	if (b->sent != NULL) {
		/* RFC 3261 9.1: same Request-URI, Call-ID, From, To, CSeq number,
		 * our Via only, the same Route. */
		sip_t *s = sip_object(b->sent);
		msg_t *c = nta_msg_create(p->agent, 0);
		sip_t *cs = sip_object(c);
		sip_request_t *rq =
			sip_request_create(msg_home(c), sip_method_cancel, "CANCEL",
					   (url_string_t *)s->sip_request->rq_url, NULL);
		sip_cseq_t *cseq = sip_cseq_create(msg_home(c), s->sip_cseq->cs_seq,
						   sip_method_cancel, "CANCEL");
		sip_via_t *v = sip_via_dup(msg_home(c), s->sip_via);

		if (v != NULL)
			v->v_next = NULL;
		if (c == NULL || rq == NULL || cseq == NULL || v == NULL ||
		    sip_add_tl(c, cs, SIPTAG_REQUEST(rq), SIPTAG_VIA(v), SIPTAG_FROM(s->sip_from),
			       SIPTAG_TO(s->sip_to), SIPTAG_CALL_ID(s->sip_call_id),
			       SIPTAG_CSEQ(cseq), SIPTAG_ROUTE(s->sip_route),
			       SIPTAG_MAX_FORWARDS_STR("70"), TAG_END()) < 0 ||
		    sip_complete_message(c) < 0 || ovl_send(p, b->to, b->sn, b->sna, c, 0, 0) < 0)
			log_info("CANCEL towards %s could not be sent", b->to);
		if (c != NULL)
			msg_destroy(c);
	}
}

static void cancel_all(struct ptx *x)
{
	for (int i = 0; i < x->nbr; i++)
		cancel_branch(x, &x->br[i]);
}

/* Every branch answered: the best final goes upstream (RFC 3261 16.7). */
static void check_done(struct ptx *x)
{
	msg_t *r;

	if (x->resolving || x->adding || x->final != 0)
		return;
	for (int i = 0; i < x->nbr; i++)
		if (!x->br[i].done)
			return;
	if (x->best != NULL) {
		r = x->best;
		x->best = NULL;
		if (x->best_status == 503) {
			/* 16.7.6: a 503 from downstream goes up as 500 */
			sip_t *rs = sip_object(r);
			msg_header_replace(
				r, (msg_pub_t *)rs, (msg_header_t *)rs->sip_status,
				(msg_header_t *)sip_status_create(msg_home(r), 500,
								  "Server Internal Error", NULL));
		}
		send_up(x, r);
		return;
	}
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

/* A branch ended without a response of its own (send failed, timeout). */
static void branch_failed(struct ptx *x, struct branch *b, int status)
{
	if (b->done)
		return;
	b->done = 1;
	b->status = status;
	if (x->best == NULL &&
	    (x->best_status == 0 || response_rank(status) < response_rank(x->best_status) ||
	     (status == 408 && x->best_status == 480)))
		x->best_status = status;
	check_done(x);
}

/* A response from a branch (r consumed, our Via on it removed already). */
static void branch_response(struct ptx *x, struct branch *b, msg_t *r)
{
	int status = sip_object(r)->sip_status->st_status;

	x->p->st.responses++;
	if (status < 200) {
		if (!b->done && status > b->status)
			b->status = status;
		if (status > 100 && x->final == 0) {
			send_up(x, r);
			return;
		}
		msg_destroy(r);
		return;
	}
	b->done = 1;
	b->status = status;
	if (status < 300) {
		/* Every 2xx goes up (a forked INVITE may be answered twice). */
		if (x->method == sip_method_invite)
			cancel_all(x);
		send_up(x, r);
		return;
	}
	if (x->final != 0) {
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

static int local_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip)
{
	struct branch *b = (struct branch *)magic;
	struct ptx *x = b->x;
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
	if (x->irq == NULL)
		on_media_to_overlay(x->p->on->media, r); /* our phone's answer */
	branch_response(x, b, r);
	return 0;
}

static int relocate(struct ptx *x, struct branch *b);

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
		if (b->acct[0] != '\0' && !b->relocating && b->sent != NULL && !b->done &&
		    relocate(x, b) == 0) {
			free(st);
			return;
		}
		branch_failed(x, b, why != NULL && strcmp(why, "timeout") == 0 ? 408 : 480);
	}
	free(st);
}

/* ---- forwarding ---- */

/* The transport a request came over from a phone. */
static const char *msg_tp(msg_t *m)
{
	su_addrinfo_t *ai = msg_addrinfo(m);

	return ai != NULL && ai->ai_protocol == IPPROTO_TCP ? "tcp" : "udp";
}

/* "tcp" when the URI (text, or else parsed) says transport=tcp, else "udp". */
static const char *uri_tp(const char *text, const url_t *u)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	char tp[8] = "";

	if (text != NULL)
		u = url_hdup(home, (url_t *)url_make(home, text));
	if (u != NULL && u->url_params != NULL)
		url_param(u->url_params, "transport", tp, sizeof(tp));
	su_home_deinit(home);
	return strcasecmp(tp, "tcp") == 0 ? "tcp" : "udp";
}

/* Our Record-Route entry for a phone on transport tp: UDP is the default
 * and goes without the parameter unless explicit (two entries). */
static void own_rr(struct on_proxy *p, char *buf, size_t len, const char *tp, int explicit)
{
	struct on *on = p->on;
	char tpp[24] = "";

	if (tp != NULL && (explicit || strcmp(tp, "udp") != 0))
		snprintf(tpp, sizeof(tpp), ";transport=%s", tp);
	snprintf(buf, len,
		 strchr(on->cur.host, ':') != NULL
			 ? "<sip:%s%s;lr;ovl=%s;sn=%s;sna=[%s]:%u;acct=%s>"
			 : "<sip:%s%s;lr;ovl=%s;sn=%s;sna=%s:%u;acct=%s>",
		 p->host, tpp, self_id(p), on->sn_id, on->cur.host, on->cur.port,
		 on->acc[0].conf->name);
}

static int insert_rr(struct on_proxy *p, msg_t *m, const char *tp, int explicit)
{
	char rr[512];
	sip_record_route_t *h;

	own_rr(p, rr, sizeof(rr), tp, explicit);
	h = sip_record_route_make(msg_home(m), rr);
	return h != NULL && msg_header_insert(m, (msg_pub_t *)sip_object(m), (msg_header_t *)h) == 0
		       ? 0
		       : -1;
}

/* Our Record-Route for a request that came from a phone over in_tp, or from
 * the overlay (NULL), and goes to a phone over out_tp, or to the overlay
 * (NULL). Each phone must reach us back over its own transport: a phone
 * that speaks only TCP loses ACK and BYE sent to a URI without
 * ";transport=tcp". So the entry carries the transport of the phone side;
 * from a phone to a phone over another transport there are two entries
 * (RFC 5658), the one facing the callee on top. */
static int add_rr(struct on_proxy *p, msg_t *m, const char *in_tp, const char *out_tp)
{
	if (in_tp != NULL && out_tp != NULL && strcmp(in_tp, out_tp) != 0)
		return insert_rr(p, m, in_tp, 1) < 0 ? -1 : insert_rr(p, m, out_tp, 1);
	return insert_rr(p, m, in_tp != NULL ? in_tp : out_tp, 0);
}

/* The request as it goes on: our own Route entries off, Max-Forwards
 * counted down, our Record-Route on a request outside a dialog (with
 * record_route; in_tp and out_tp as for add_rr). */
static msg_t *fwd_copy(struct on_proxy *p, msg_t *req, int record_route, const char *in_tp,
		       const char *out_tp)
{
	msg_t *m = msg_dup(req);
	sip_t *sip;

	if (m == NULL)
		return NULL;
	sip = sip_object(m);
	while (sip->sip_route != NULL && route_is_ours(p, sip->sip_route))
		sip_route_remove(m, sip);
	if (sip->sip_max_forwards != NULL) {
		if (sip->sip_max_forwards->mf_count > 0)
			sip->sip_max_forwards->mf_count--;
		msg_fragment_clear(sip->sip_max_forwards->mf_common);
	} else {
		sip_add_tl(m, sip, SIPTAG_MAX_FORWARDS_STR("70"), TAG_END());
	}
	if (record_route && sip->sip_to != NULL && sip->sip_to->a_tag == NULL &&
	    add_rr(p, m, in_tp, out_tp) < 0) {
		msg_destroy(m);
		return NULL;
	}
	return m;
}

static int set_ruri(msg_t *m, const char *uri)
{
	sip_t *sip = sip_object(m);
	sip_request_t *rq =
		sip_request_create(msg_home(m), sip->sip_request->rq_method,
				   sip->sip_request->rq_method_name, (url_string_t *)uri, NULL);

	if (rq == NULL)
		return -1;
	return msg_header_replace(m, (msg_pub_t *)sip, (msg_header_t *)sip->sip_request,
				  (msg_header_t *)rq);
}

static int add_via(struct on_proxy *p, msg_t *m, char *branch, size_t len, uint64_t id, int idx)
{
	unsigned char rnd[4];
	char v[200];
	sip_via_t *h;

	RAND_bytes(rnd, sizeof(rnd));
	snprintf(branch, len, P2P_BRANCH "%llx.%d.%02x%02x%02x%02x", (unsigned long long)id, idx,
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(v, sizeof(v), "SIP/2.0/TLS %s.invalid;branch=%s", self_id(p), branch);
	h = sip_via_make(msg_home(m), v);
	if (h == NULL)
		return -1;
	return msg_header_insert(m, (msg_pub_t *)sip_object(m), (msg_header_t *)h);
}

static struct branch *branch_new(struct ptx *x, int local)
{
	struct branch *b;

	if (x->nbr == BRANCHES_MAX)
		return NULL;
	b = &x->br[x->nbr];
	memset(b, 0, sizeof(*b));
	b->x = x;
	b->idx = x->nbr++;
	b->local = local;
	b->started = time_mono_ms();
	x->p->st.branches++;
	return b;
}

/* A branch to a phone here: uri the Request-URI to use (NULL: keep), dest
 * where to send it with its transport tp (NULL: resolve the URI). */
static void add_local(struct ptx *x, const char *uri, const char *dest, const char *tp)
{
	struct on_proxy *p = x->p;
	struct branch *b = branch_new(x, 1);
	msg_t *m;

	if (b == NULL)
		return;
	if (tp == NULL) /* no binding: the transport the Request-URI names */
		tp = uri_tp(uri, sip_object(x->req)->sip_request->rq_url);
	m = fwd_copy(p, x->req, 1, x->in_tp, tp);
	if (m != NULL && x->irq == NULL)
		on_media_to_phone(p->on->media, m); /* the far end's offer */
	if (m == NULL || (uri != NULL && set_ruri(m, uri) < 0)) {
		if (m != NULL)
			msg_destroy(m);
		branch_failed(x, b, 500);
		return;
	}
	b->orq = nta_outgoing_mcreate(p->agent, local_response, (nta_outgoing_magic_t *)b,
				      (url_string_t *)dest, m, TAG_END());
	if (b->orq == NULL)
		branch_failed(x, b, 503);
}

/* A branch over the overlay to node `to` attached to super node `sn`. */
static void add_overlay(struct ptx *x, const char *to, const char *sn, const char *sna,
			const char *acct)
{
	struct on_proxy *p = x->p;
	struct branch *b;
	msg_t *m;

	for (int i = 0; i < x->nbr; i++)
		if (!x->br[i].local && strcasecmp(x->br[i].to, to) == 0)
			return; /* one branch per node */
	b = branch_new(x, 0);
	if (b == NULL)
		return;
	str_copy(b->to, to, sizeof(b->to));
	str_copy(b->sn, sn, sizeof(b->sn));
	str_copy(b->sna, sna != NULL ? sna : "", sizeof(b->sna));
	str_copy(b->acct, acct != NULL ? acct : "", sizeof(b->acct));
	m = fwd_copy(p, x->req, 1, x->in_tp, NULL);
	if (m != NULL && x->irq != NULL)
		on_media_to_overlay(p->on->media, m); /* our phone's offer */
	if (m == NULL || add_via(p, m, b->via, sizeof(b->via), x->id, b->idx) < 0 ||
	    ovl_send(p, to, sn, sna, m, x->id, b->idx) < 0) {
		if (m != NULL)
			msg_destroy(m);
		branch_failed(x, b, 480);
		return;
	}
	if (x->method == sip_method_invite || b->acct[0] != '\0')
		b->sent = m; /* for a CANCEL, or to send it again elsewhere */
	else
		msg_destroy(m);
}

/* ---- a node that moved to another super node ---- */

static int use_value(struct on_proxy *p, const json_t *v, const char *name, char *to, char *sn,
		     char *sna, size_t snalen);

struct reloc {
	struct on_proxy *p;
	uint64_t id;
	int idx;
	char name[RECORD_NAME_MAX + 1];
};

static void on_relocated(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct reloc *rl = arg;
	struct ptx *x = ptx_find(rl->p, rl->id);
	json_t *vals = reply != NULL ? json_object_get(reply, "vals") : NULL, *v;
	struct branch *b;
	size_t i;

	(void)l, (void)err;
	if (x == NULL || rl->idx >= x->nbr) {
		free(rl);
		return;
	}
	b = &x->br[rl->idx];
	json_array_foreach (vals, i, v) {
		char to[NODE_ID_HEX_LEN + 1], sn[NODE_ID_HEX_LEN + 1], sna[96];
		if (b->done || use_value(rl->p, v, rl->name, to, sn, sna, sizeof(sna)) < 0 ||
		    strcasecmp(to, b->to) != 0 || strcasecmp(sn, b->sn) == 0)
			continue;
		log_info("node %s moved to super node %s: sending again", b->to, sn);
		str_copy(b->sn, sn, sizeof(b->sn));
		str_copy(b->sna, sna, sizeof(b->sna));
		if (ovl_send(rl->p, b->to, b->sn, b->sna, b->sent, x->id, b->idx) == 0) {
			free(rl);
			return;
		}
	}
	free(rl);
	branch_failed(x, b, 480);
}

/* Looks up "user:ACCT@OVERLAY/node" for branch b; 0 when the lookup is out. */
static int relocate(struct ptx *x, struct branch *b)
{
	struct on_proxy *p = x->p;
	struct reloc *rl;

	if (p->on->state != ON_ATTACHED || p->on->link == NULL ||
	    (rl = calloc(1, sizeof(*rl))) == NULL)
		return -1;
	*rl = (struct reloc){p, x->id, b->idx, ""};
	snprintf(rl->name, sizeof(rl->name), "user:%s@%s/node", b->acct, p->on->cfg.overlay);
	b->relocating = 1;
	p->st.lookups++;
	if (olink_request(p->on->link, json_pack("{s:s,s:s}", "t", "fetch", "name", rl->name),
			  SEND_TIMEOUT_MS, on_relocated, rl) < 0) {
		free(rl);
		return -1;
	}
	return 0;
}

/* ---- where a request goes ---- */

enum target_kind {
	T_ERROR,
	T_SELF,
	T_USER,
	T_NODE,
	T_LOCAL
};

struct target {
	enum target_kind kind;
	int status;
	const char *phrase;
	char user[128];
	char to[NODE_ID_HEX_LEN + 1], sn[NODE_ID_HEX_LEN + 1], sna[96];
	char acct[64];
	char dest[300]; /* T_LOCAL: where the phone is reached, or "" (its URI) */
	char tp[4];
};

static void target_error(struct target *t, int status, const char *phrase)
{
	t->kind = T_ERROR;
	t->status = status;
	t->phrase = phrase;
}

static int url_is_self(struct on_proxy *p, const url_t *u)
{
	char hp[128];

	if (u->url_host == NULL || (u->url_user != NULL && u->url_user[0] != '\0'))
		return 0;
	snprintf(hp, sizeof(hp), "%s:%s", u->url_host, u->url_port != NULL ? u->url_port : "5060");
	return strcasecmp(hp, p->host) == 0;
}

static void target_of(struct on_proxy *p, const sip_t *sip, int from_overlay, struct target *t)
{
	const sip_route_t *r = sip->sip_route;
	const url_t *u = sip->sip_request->rq_url;
	struct on_contact c;
	int popped = 0;

	memset(t, 0, sizeof(*t));
	if (r != NULL && route_is_ours(p, r)) {
		while (r != NULL && route_is_ours(p, r)) /* two with RFC 5658 */
			r = r->r_next;
		popped = 1;
	} else if (r != NULL && from_overlay) {
		target_error(t, 403, "Route Does Not Name This Node");
		return;
	}
	if (r != NULL) {
		if (url_param_get(r->r_url, "ovl", t->to, sizeof(t->to)) &&
		    url_param_get(r->r_url, "sn", t->sn, sizeof(t->sn)) && is_hex_id(t->to) &&
		    is_hex_id(t->sn)) {
			if (!url_param_get(r->r_url, "sna", t->sna, sizeof(t->sna)))
				t->sna[0] = '\0';
			if (!url_param_get(r->r_url, "acct", t->acct, sizeof(t->acct)))
				t->acct[0] = '\0';
			t->kind = T_NODE;
			return;
		}
		/* Not an open relay: routes lead only to overlay nodes. */
		target_error(t, 403, "Route Outside The Overlay");
		return;
	}
	if (u->url_host != NULL && strcasecmp(u->url_host, p->on->cfg.overlay) == 0) {
		if (u->url_user == NULL || u->url_user[0] == '\0' ||
		    strlen(u->url_user) >= sizeof(t->user)) {
			target_error(t, 404, "Not Found");
			return;
		}
		str_copy(t->user, u->url_user, sizeof(t->user));
		t->kind = T_USER;
		return;
	}
	if (p->bind.find(p->bind.arg, u, &c) == 0) {
		t->kind = T_LOCAL; /* a phone registered here */
		str_copy(t->dest, c.dest, sizeof(t->dest));
		str_copy(t->tp, c.tp, sizeof(t->tp));
		return;
	}
	if (popped) {
		t->kind = T_LOCAL; /* in a dialog we record-routed: the phone's contact */
		return;
	}
	if (url_is_self(p, u)) {
		t->kind = T_SELF;
		return;
	}
	target_error(t, from_overlay ? 404 : 403, from_overlay ? "Not Found" : "Domain Not Served");
}

/* ---- DHT lookup ---- */

struct lookup {
	struct on_proxy *p;
	uint64_t id;
	char name[RECORD_NAME_MAX + 1];
};

/* One value of a user record: checked like the super nodes check it, then
 * its data {"node", "sn", "sn_addr"?}. */
static int use_value(struct on_proxy *p, const json_t *v, const char *name, char *to, char *sn,
		     char *sna, size_t snalen)
{
	struct record r;
	char why[256];
	json_t *d = NULL;
	const char *a, *b, *c;
	int ok = -1;

	if (record_from_json(v, &r, why, sizeof(why)) < 0) {
		log_info("%s: bad value: %s", name, why);
		return -1;
	}
	str_copy(why, "not for this name, a deletion, or expired", sizeof(why));
	if (strcmp(r.name, name) != 0 || r.deleted || record_is_expired(&r, now_ms()) ||
	    certcheck_record(p->cc, &r, p->on->cfg.overlay, why, sizeof(why)) < 0)
		goto out;
	d = json_loadb(r.data, r.data_len, 0, NULL);
	a = json_string_value(json_object_get(d, "node"));
	b = json_string_value(json_object_get(d, "sn"));
	c = json_string_value(json_object_get(d, "sn_addr"));
	snprintf(why, sizeof(why), "data without node and sn: %.100s", r.data);
	if (!is_hex_id(a) || !is_hex_id(b))
		goto out;
	str_copy(to, a, NODE_ID_HEX_LEN + 1);
	str_copy(sn, b, NODE_ID_HEX_LEN + 1);
	str_copy(sna, c != NULL && strlen(c) < snalen ? c : "", snalen);
	ok = 0;
out:
	if (ok < 0)
		log_info("%s: a value refused: %s", name, why);
	json_decref(d);
	record_clear(&r);
	return ok;
}

static void on_fetched(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct lookup *lk = arg;
	struct on_proxy *p = lk->p;
	struct ptx *x = ptx_find(p, lk->id);
	json_t *vals = reply != NULL ? json_object_get(reply, "vals") : NULL;
	size_t i;
	json_t *v;
	int usable = 0;

	(void)l;
	if (x == NULL) {
		free(lk);
		return;
	}
	x->resolving = 0;
	if (!json_is_array(vals)) {
		log_info("lookup of %s failed: %s", lk->name,
			 reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err);
		if (x->nbr == 0)
			x->empty_status = 503;
	} else if (x->final == 0) {
		x->adding = 1;
		json_array_foreach (vals, i, v) {
			char to[NODE_ID_HEX_LEN + 1], sn[NODE_ID_HEX_LEN + 1], sna[96];

			if (use_value(p, v, lk->name, to, sn, sna, sizeof(sna)) < 0)
				continue;
			usable++;
			if (strcasecmp(to, self_id(p)) != 0)
				add_overlay(x, to, sn, sna, NULL);
		}
		x->adding = 0;
		if (x->nbr == 0)
			x->empty_status = usable > 0 ? 480 : 404;
	}
	free(lk);
	check_done(x);
}

static void start_lookup(struct ptx *x, const char *user)
{
	struct on_proxy *p = x->p;
	struct on *on = p->on;
	struct lookup *lk;

	if (on->state != ON_ATTACHED || on->link == NULL) {
		x->empty_status = 503;
		return;
	}
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL) {
		x->empty_status = 503;
		return;
	}
	lk->p = p;
	lk->id = x->id;
	snprintf(lk->name, sizeof(lk->name), "user:%s@%s", user, on->cfg.overlay);
	p->st.lookups++;
	if (olink_request(on->link, json_pack("{s:s,s:s}", "t", "fetch", "name", lk->name),
			  SEND_TIMEOUT_MS, on_fetched, lk) < 0) {
		free(lk);
		x->empty_status = 503;
		return;
	}
	x->resolving = 1;
}

/* Branches for a new transaction; answers at once when there is none. */
static void route(struct ptx *x, const struct target *t, int from_overlay)
{
	struct on_proxy *p = x->p;
	struct on_contact cs[BRANCHES_MAX];
	int n;

	x->adding = 1;
	switch (t->kind) {
	case T_NODE:
		add_overlay(x, t->to, t->sn, t->sna, t->acct);
		break;
	case T_LOCAL:
		add_local(x, NULL, t->dest[0] != '\0' ? t->dest : NULL, t->tp[0] ? t->tp : NULL);
		break;
	case T_USER:
		n = p->bind.contacts(p->bind.arg, t->user, cs, BRANCHES_MAX);
		for (int i = 0; i < n; i++)
			add_local(x, cs[i].uri, cs[i].dest, cs[i].tp);
		if (!from_overlay)
			start_lookup(x, t->user);
		else if (n < 0)
			x->empty_status = 404;
		else if (n == 0)
			x->empty_status = 480;
		break;
	default:
		break;
	}
	x->adding = 0;
	check_done(x);
}

/* ACK to a 2xx: its own transaction, forwarded without state. m consumed. */
static void forward_ack(struct on_proxy *p, msg_t *m, int from_overlay)
{
	struct target t;
	msg_t *f;
	char branch[64];

	target_of(p, sip_object(m), from_overlay, &t);
	if (t.kind != T_NODE && t.kind != T_LOCAL) {
		msg_destroy(m);
		return; /* nowhere to go: dropped, as SIP has no answer to an ACK */
	}
	f = fwd_copy(p, m, 0, NULL, NULL);
	msg_destroy(m);
	if (f == NULL)
		return;
	p->st.acks++;
	if (t.kind == T_NODE && !from_overlay)
		on_media_to_overlay(p->on->media, f); /* an answer in the ACK */
	else if (t.kind == T_LOCAL && from_overlay)
		on_media_to_phone(p->on->media, f);
	if (t.kind == T_NODE) {
		if (add_via(p, f, branch, sizeof(branch), 0, 0) < 0 ||
		    ovl_send(p, t.to, t.sn, t.sna, f, 0, 0) < 0)
			log_info("ACK towards %s not sent", t.to);
		msg_destroy(f);
	} else {
		nta_outgoing_t *o = nta_outgoing_mcreate(
			p->agent, NULL, NULL, t.dest[0] != '\0' ? (url_string_t *)t.dest : NULL, f,
			TAG_END());
		if (o != NULL)
			nta_outgoing_destroy(o);
	}
}

/* ---- requests from phones ---- */

static int on_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq, const sip_t *sip)
{
	struct ptx *x = (struct ptx *)magic;

	(void)irq;
	if (sip == NULL || sip->sip_request == NULL ||
	    sip->sip_request->rq_method != sip_method_cancel)
		return 0; /* an ACK to our non-2xx, or the end of the transaction */
	x->canceled = 1;
	x->p->st.cancels++;
	cancel_all(x);
	/* nta answers 487 itself when this returns */
	if (x->final == 0) {
		x->final = 487;
		x->final_at = time_mono_ms();
		invite_ended(x, 487);
	}
	return 0;
}

static int from_is_account(struct on_proxy *p, const sip_t *sip)
{
	const url_t *u = sip->sip_from != NULL ? sip->sip_from->a_url : NULL;

	return u != NULL && u->url_user != NULL && u->url_host != NULL &&
	       strcasecmp(u->url_host, p->on->cfg.overlay) == 0 &&
	       p->bind.contacts(p->bind.arg, u->url_user, NULL, 0) >= 0;
}

int on_proxy_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
	struct on_proxy *p = arg;
	sip_method_t method = sip->sip_request->rq_method;
	struct target t;
	struct ptx *x;

	p->st.requests++;
	if (method == sip_method_bye && sip->sip_call_id != NULL) {
		dlg_del(p, sip->sip_call_id->i_id);
		on_media_release(p->on->media, sip->sip_call_id->i_id);
	}
	if (method == sip_method_ack) {
		forward_ack(p, nta_incoming_getrequest(irq), 0);
		nta_incoming_destroy(irq);
		return 0;
	}
	if (method == sip_method_cancel)
		return 481; /* nta matched none of our INVITEs */
	for (const sip_via_t *v = sip->sip_via; v != NULL; v = v->v_next)
		if (via_is_ours(p, v))
			return 482;
	target_of(p, sip, 0, &t);
	if (t.kind == T_SELF)
		return method == sip_method_options ? 200 : 405;
	if (sip->sip_max_forwards != NULL && sip->sip_max_forwards->mf_count == 0)
		return 483;
	if (t.kind == T_ERROR) {
		nta_incoming_treply(irq, t.status, t.phrase, TAG_END());
		nta_incoming_destroy(irq);
		return 0;
	}
	if (t.kind == T_USER && sip->sip_to->a_tag == NULL && !from_is_account(p, sip)) {
		nta_incoming_treply(irq, 403, "From Is Not An Account Of This Node", TAG_END());
		nta_incoming_destroy(irq);
		return 0;
	}
	if (p->count >= PTX_MAX)
		return 503;
	x = ptx_new(p, nta_incoming_getrequest(irq));
	if (x == NULL)
		return 503;
	x->irq = irq;
	x->in_tp = msg_tp(x->req);
	if (method == sip_method_invite) {
		p->st.invites++;
		nta_incoming_bind(irq, on_cancel, (nta_incoming_magic_t *)x);
		nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
	}
	route(x, &t, 0);
	return 0;
}

/* ---- SIP from the overlay ---- */

static void ovl_response(struct on_proxy *p, const char *from, msg_t *m)
{
	sip_t *sip = sip_object(m);
	const char *br = sip->sip_via->v_branch;
	unsigned long long id;
	int idx;
	struct ptx *x;
	struct branch *b;

	if (br == NULL || strncmp(br, P2P_BRANCH, strlen(P2P_BRANCH)) != 0 ||
	    sscanf(br + strlen(P2P_BRANCH), "%llx.%d.", &id, &idx) != 2 ||
	    (x = ptx_find(p, id)) == NULL || idx < 0 || idx >= x->nbr) {
		p->st.stray++;
		msg_destroy(m);
		return;
	}
	b = &x->br[idx];
	if (b->local || strcmp(b->via, br) != 0 || strcasecmp(b->to, from) != 0) {
		p->st.stray++;
		msg_destroy(m);
		return;
	}
	sip_header_remove(m, sip, (sip_header_t *)sip->sip_via);
	if (sip->sip_via == NULL) {
		msg_destroy(m);
		return;
	}
	if (x->irq != NULL)
		on_media_to_phone(p->on->media, m); /* the far end's answer */
	branch_response(x, b, m);
}

static void ovl_request(struct on_proxy *p, const json_t *f, const char *from, msg_t *m)
{
	sip_t *sip = sip_object(m);
	sip_method_t method = sip->sip_request->rq_method;
	const char *br = sip->sip_via->v_branch;
	char host[NODE_ID_HEX_LEN + 16];
	const char *sn = json_string_value(json_object_get(f, "from_sn"));
	const char *sna = json_string_value(json_object_get(f, "from_sn_addr"));
	struct target t;
	struct ptx *x;

	/* The top Via is the sender's own: its responses are matched by it. */
	snprintf(host, sizeof(host), "%s.invalid", from);
	if (br == NULL || strlen(br) >= sizeof(x->up_branch) || sip->sip_via->v_host == NULL ||
	    strcasecmp(sip->sip_via->v_host, host) != 0) {
		p->st.bad++;
		log_info("request from %s without its own Via: dropped", from);
		msg_destroy(m);
		return;
	}
	if (method == sip_method_cancel) {
		x = ptx_find_up(p, from, br);
		if (x != NULL && x->method == sip_method_invite && x->final == 0) {
			p->st.cancels++;
			x->canceled = 1;
			cancel_all(x);
			check_done(x);
		}
		msg_destroy(m);
		return;
	}
	if (method == sip_method_ack) {
		forward_ack(p, m, 1);
		return;
	}
	if (method == sip_method_bye) {
		dlg_del(p, sip->sip_call_id->i_id);
		on_media_release(p->on->media, sip->sip_call_id->i_id);
	}
	if (ptx_find_up(p, from, br) != NULL) {
		msg_destroy(m); /* a copy of one in progress */
		return;
	}
	x = p->count < PTX_MAX ? ptx_new(p, m) : NULL;
	if (x == NULL) {
		msg_destroy(m);
		return;
	}
	str_copy(x->up, from, sizeof(x->up));
	str_copy(x->up_sn, sn, sizeof(x->up_sn));
	str_copy(x->up_sna, sna != NULL && strlen(sna) < sizeof(x->up_sna) ? sna : "",
		 sizeof(x->up_sna));
	str_copy(x->up_branch, br, sizeof(x->up_branch));
	ptx_index_up(x);
	if (method == sip_method_invite)
		p->st.invites++;
	for (const sip_via_t *v = sip->sip_via; v != NULL; v = v->v_next)
		if (via_is_ours(p, v)) {
			reply_up(x, 482, "Loop Detected");
			return;
		}
	if (sip->sip_max_forwards != NULL && sip->sip_max_forwards->mf_count == 0) {
		reply_up(x, 483, "Too Many Hops");
		return;
	}
	target_of(p, sip, 1, &t);
	if (t.kind == T_ERROR || t.kind == T_SELF) {
		reply_up(x, t.kind == T_SELF ? 200 : t.status, t.kind == T_SELF ? "OK" : t.phrase);
		return;
	}
	route(x, &t, 1);
}

void on_proxy_overlay(struct on_proxy *p, const json_t *frame)
{
	const char *from = json_string_value(json_object_get(frame, "from"));
	const char *sn = json_string_value(json_object_get(frame, "from_sn"));
	json_t *body = json_object_get(frame, "body");
	msg_t *m;
	sip_t *sip;

	p->st.overlay_in++;
	if (!is_hex_id(from) || !is_hex_id(sn) || !json_is_string(body)) {
		p->st.bad++;
		return;
	}
	m = msg_make(sip_default_mclass(), 0, json_string_value(body), json_string_length(body));
	sip = m != NULL ? sip_object(m) : NULL;
	if (sip == NULL || sip->sip_error != NULL || sip->sip_via == NULL ||
	    sip->sip_cseq == NULL || sip->sip_call_id == NULL || sip->sip_from == NULL ||
	    sip->sip_to == NULL || (sip->sip_request == NULL) == (sip->sip_status == NULL)) {
		p->st.bad++;
		log_info("malformed SIP from node %s: dropped", from);
		if (m != NULL)
			msg_destroy(m);
		return;
	}
	if (sip->sip_status != NULL)
		ovl_response(p, from, m);
	else
		ovl_request(p, frame, from, m);
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

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct on_proxy *p = arg;
	uint64_t now = time_mono_ms();
	struct ptx *x, *next;

	(void)fd, (void)what;
	if (now >= p->next_dlg_sweep) {
		p->next_dlg_sweep = now + 60000;
		dlg_expire(p, now, 0);
	}
	for (x = p->all; x != NULL; x = next) {
		next = x->next;
		if (x->final != 0) {
			int live = 0;
			trim(x);
			for (int i = 0; i < x->nbr; i++)
				live += !x->br[i].done;
			if (now - x->final_at >= (x->method == sip_method_invite ? LINGER_MS : 0) &&
			    (live == 0 || now - x->final_at >= TIMER_B_MS)) {
				ptx_free(x);
			}
			continue;
		}
		for (int i = 0; i < x->nbr; i++) {
			struct branch *b = &x->br[i];
			uint64_t age = now - b->started;
			if (b->done)
				continue;
			if ((!b->local && b->status < 100 && age >= TIMER_B_MS) ||
			    (x->method == sip_method_invite && age >= TIMER_C_MS)) {
				cancel_branch(x, b);
				branch_failed(x, b, 408);
			}
		}
		if (x->final == 0 && now - x->created >= TIMER_C_MS + 60000) {
			log_warn("transaction %llu never ended: answered 500",
				 (unsigned long long)x->id);
			reply_up(x, 500, "Server Internal Error");
		}
	}
}

/* ---- set-up ---- */

struct on_proxy *on_proxy_new(struct on *on, nta_agent_t *agent, const struct on_bindings *view,
			      char *err, size_t errlen)
{
	struct on_proxy *p = calloc(1, sizeof(*p));
	struct timeval tv = {1, 0};
	char host[64];
	uint16_t port;

	if (p == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	p->on = on;
	p->bind = *view;
	p->agent = agent;
	p->cc = certcheck_new(on->ca);
	p->sweep = event_new(on->base, -1, EV_PERSIST, sweep, p);
	if (p->cc == NULL || p->sweep == NULL ||
	    addr_split(on->cfg.sip_listen, host, sizeof(host), &port) < 0) {
		err_set(err, errlen, "SIP proxy set-up failed");
		on_proxy_free(p);
		return NULL;
	}
	snprintf(p->host, sizeof(p->host), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	certcheck_set_crl(p->cc, on->crl);
	event_add(p->sweep, &tv);
	return p;
}

void on_proxy_set_crl(struct on_proxy *p, const struct crl *crl)
{
	if (p != NULL)
		certcheck_set_crl(p->cc, crl);
}

void on_proxy_stats(const struct on_proxy *p, struct on_proxy_stats *out)
{
	*out = p->st;
}

int on_proxy_calls_answered(const struct on_proxy *p)
{
	return p->ndlg;
}

int on_proxy_calls_setting_up(const struct on_proxy *p)
{
	int n = 0;

	for (const struct ptx *x = p->all; x != NULL; x = x->next)
		n += x->method == sip_method_invite && x->final == 0;
	return n;
}

void on_proxy_free(struct on_proxy *p)
{
	if (p == NULL)
		return;
	while (p->all != NULL)
		ptx_free(p->all);
	dlg_expire(p, 0, 1);
	if (p->sweep != NULL)
		event_free(p->sweep);
	certcheck_free(p->cc);
	free(p);
}
