/* Where the ordinary node's proxy takes requests from and where it sends
 * them: a request from a phone (on_sip.c hands over all but REGISTER) or
 * from another node (a "msg" frame) is checked, classified (on_target.c)
 * and given branches: to phones registered here, to the node a Route
 * names, or, for sip:USER@OVERLAY from a phone, to every node the user's
 * record in the DHT names (on_lookup.c). Requests from the overlay go only
 * to local phones or along dialogs we record-routed. A node that moved to
 * another super node is looked up under "user:ACCT@OVERLAY/node" and sent
 * the request again. ACK to a 2xx is forwarded without state. */
#include "on_proxy.h"

#include "log.h"
#include "netlist.h"
#include "record.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_tag.h>

/* A request crosses at most 70 proxies (Max-Forwards' usual start): more
 * Vias than that and its responses are not passed back. */
#define VIAS_MAX 70

/* ---- branches ---- */

/* A branch to a phone here: uri the Request-URI to use (NULL: keep), dest
 * where to send it with its transport tp (NULL: resolve the URI). */
void add_local(struct ptx *x, const char *uri, const char *dest, const char *tp)
{
	struct on_proxy *p = x->p;
	struct branch *b = branch_new(x, BR_PHONE);
	struct on_self self;
	msg_t *m;

	if (b == NULL)
		return;
	if (tp == NULL) /* no binding: the transport the Request-URI names */
		tp = on_uri_tp(uri, sip_object(x->req)->sip_request->rq_url);
	proxy_self(p, &self);
	m = on_msg_forward(&self, x->req, x->method != sip_method_register, x->in_tp, tp);
	if (m != NULL && x->method == sip_method_register && add_path(&self, m) < 0) {
		msg_destroy(m);
		m = NULL;
	}
	if (m != NULL && x->irq == NULL && p->on->gw != NULL)
		on_msg_rr_hide(&self, m); /* no node's own address to the SIP world */
	if (m != NULL && x->irq == NULL) {
		on_media_to_phone(p->on->media, m); /* the far end's offer */
		if (x->up_gateway)
			on_identity_foreign(m, p->on->cfg.overlay);
		else
			on_identity_assert(m, x->up_user, p->on->cfg.overlay);
	}
	if (m == NULL || (uri != NULL && on_msg_set_ruri(m, uri) < 0) ||
	    far_route_apply(p, m) < 0) {
		if (m != NULL)
			msg_destroy(m);
		branch_failed(x, b, 500);
		return;
	}
	b->orq = nta_outgoing_mcreate(p->agent, branch_phone_response, (nta_outgoing_magic_t *)b,
				      (url_string_t *)dest, m, TAG_END());
	if (b->orq == NULL)
		branch_failed(x, b, 503);
}

#ifdef P2PSIP_TEST_HOOKS
/* A hostile node, for the tests of asserted callers only (build/test/
 * ordinarynode; never in the programs built for use): with
 * P2PSIP_SPOOF_FROM=USER, the requests outside a dialog that its phones
 * send over the overlay name USER in From, as a node that does not check
 * its phones would. */
static void spoofed(msg_t *m)
{
	const char *user = getenv("P2PSIP_SPOOF_FROM");
	sip_t *sip = sip_object(m);
	sip_from_t *f;

	if (user == NULL || sip->sip_from == NULL || sip->sip_to == NULL ||
	    sip->sip_to->a_tag != NULL)
		return; /* in dialogs the node speaks as itself */
	f = sip_from_format(msg_home(m), "<sip:%s@%s>%s%s", user, sip->sip_from->a_url->url_host,
			    sip->sip_from->a_tag != NULL ? ";tag=" : "",
			    sip->sip_from->a_tag != NULL ? sip->sip_from->a_tag : "");
	if (f != NULL)
		msg_header_replace(m, (msg_pub_t *)sip, (msg_header_t *)sip->sip_from,
				   (msg_header_t *)f);
}
#endif

/* Only what opens a dialog makes its sender and recipient parties of a
 * call (on_peers.c): a MESSAGE or OPTIONS, which do not, would only fill
 * the table and push real calls out of it. */
static int creates_dialog(const sip_t *sip)
{
	sip_method_t m = sip->sip_request->rq_method;

	return sip->sip_to->a_tag == NULL &&
	       (m == sip_method_invite || m == sip_method_subscribe || m == sip_method_refer);
}

/* The certificate to seal to for node `to`: peer when given, else the one
 * the node sealed with in this call (m: the request as this node knows
 * it), else the node's own. */
static const char *call_peer(struct on_proxy *p, msg_t *m, const char *to, const char *peer)
{
	const sip_t *sip = sip_object(m);
	const char *c = NULL;

	if (peer != NULL && peer[0] != '\0')
		return peer;
	if (sip->sip_call_id != NULL)
		c = on_peers_cert(p->peers, sip->sip_call_id->i_id, to);
	return c != NULL ? c : to;
}

/* A branch over the overlay to node `to` attached to super node `sn`,
 * sealed to certificate peer (NULL: the one the call's node sealed with). */
void add_overlay(struct ptx *x, const char *to, const char *sn, const char *sna, const char *acct,
		 const char *peer)
{
	struct on_proxy *p = x->p;
	struct on_self self;
	struct branch *b;
	msg_t *m;

	for (int i = 0; i < x->nbr; i++)
		if (x->br[i].kind == BR_OVERLAY && strcasecmp(x->br[i].to, to) == 0)
			return; /* one branch per node */
	b = branch_new(x, BR_OVERLAY);
	if (b == NULL)
		return;
	str_copy(b->to, to, sizeof(b->to));
	str_copy(b->sn, sn, sizeof(b->sn));
	str_copy(b->sna, sna != NULL ? sna : "", sizeof(b->sna));
	str_copy(b->acct, acct != NULL ? acct : "", sizeof(b->acct));
	proxy_self(p, &self);
	m = on_msg_forward(&self, x->req, 1, x->in_tp, NULL);
	if (m != NULL && x->irq != NULL) {
		on_media_to_overlay(p->on->media, m); /* our phone's offer */
		if (x->from_peer[0] != '\0') /* the caller as the peered overlay asserts it */
			on_identity_peer(m, x->from_peer);
		else
			on_identity_strip(
				m); /* who the caller is, the far node learns from the seal */
#ifdef P2PSIP_TEST_HOOKS
		spoofed(m);
#endif
	}
	if (m != NULL) {
		str_copy(b->peer, call_peer(p, x->req, to, peer), sizeof(b->peer));
		if (creates_dialog(sip_object(x->req))) /* the dialog's parties: ours, theirs */
			on_peers_allow(p->peers, sip_object(x->req)->sip_call_id->i_id, to, b->peer,
				       time_mono_ms());
	}
	if (m == NULL || ptx_hide_as(p, m, x->as) < 0 ||
	    on_msg_add_via(&self, m, b->via, sizeof(b->via), x->id, b->idx) < 0 ||
	    ovl_send(p,
		     &(struct ovl_dest){to, sn, sna, b->peer,
					x->as[0] != '\0' ? on_seal_mine(p->on, x->as) : NULL},
		     m, x->id, b->idx) < 0) {
		if (m != NULL)
			msg_destroy(m);
		b->unanswered = 1;
		branch_failed(x, b, 480);
		return;
	}
	if (x->method == sip_method_invite || b->acct[0] != '\0')
		b->sent = m; /* for a CANCEL, or to send it again elsewhere */
	else
		msg_destroy(m);
}

/* ---- a node that moved to another super node ---- */

static void relocated(void *arg, uint64_t id, int idx, const char *name, const json_t *vals,
		      const char *why)
{
	struct on_proxy *p = arg;
	struct ptx *x = ptx_find(p, id);
	struct on_place at;
	struct branch *b;
	json_t *v;
	size_t i;

	(void)why;
	if (x == NULL || idx >= x->nbr)
		return;
	b = &x->br[idx];
	json_array_foreach (vals, i, v) {
		if (b->state == BR_DONE || on_lookup_value(p->lk, v, name, &at) < 0 ||
		    strcasecmp(at.to, b->to) != 0 || strcasecmp(at.sn, b->sn) == 0)
			continue;
		log_info("node %s moved to super node %s: sending again", b->to, at.sn);
		str_copy(b->sn, at.sn, sizeof(b->sn));
		str_copy(b->sna, at.sna, sizeof(b->sna));
		if (ovl_send(p, &(struct ovl_dest){b->to, b->sn, b->sna, b->peer, NULL}, b->sent,
			     x->id, b->idx) == 0)
			return;
	}
	branch_failed(x, b, 480);
}

int relocate(struct ptx *x, struct branch *b)
{
	char name[RECORD_NAME_MAX + 1];

	snprintf(name, sizeof(name), "user:%s@%s/node", b->acct, x->p->on->cfg.overlay);
	if (on_lookup_fetch(x->p->lk, name, relocated, x->p, x->id, b->idx) < 0)
		return -1;
	b->relocated = 1;
	return 0;
}

/* ---- the callee's lookup ---- */

/* A branch to every node the user's record names, but this one. */
static void add_found(struct ptx *x, const char *name, const json_t *vals)
{
	struct on_proxy *p = x->p;
	struct on_self self;
	struct on_place at;
	int usable = 0;
	json_t *v;
	size_t i;

	proxy_self(p, &self);
	x->state = PTX_ROUTING;
	json_array_foreach (vals, i, v) {
		if (on_lookup_value(p->lk, v, name, &at) < 0)
			continue;
		if (x->only[0] != '\0' && strcasecmp(at.to, x->only) != 0)
			continue; /* a hidden Contact names one node of the user's */
		usable++;
		if (strcasecmp(at.to, self.id) != 0)
			add_overlay(x, at.to, at.sn, at.sna, NULL, at.peer);
	}
	if (x->state == PTX_ROUTING)
		x->state = PTX_WAITING;
	if (x->nbr == 0)
		x->empty_status = usable > 0 ? 480 : 404;
}

static void found(void *arg, uint64_t id, int idx, const char *name, const json_t *vals,
		  const char *why)
{
	struct ptx *x = ptx_find(arg, id);

	(void)idx;
	if (x == NULL)
		return;
	if (x->state == PTX_RESOLVING)
		x->state = PTX_WAITING;
	if (!json_is_array(vals)) {
		log_info("lookup of %s failed: %s", name, why);
		if (x->nbr == 0)
			x->empty_status = 503;
	} else if (x->state != PTX_ANSWERED) {
		add_found(x, name, vals);
	}
	check_done(x);
}

/* 0 when the lookup is out; else the answer without branches is 503. */
static int start_lookup(struct ptx *x, const char *user)
{
	char name[RECORD_NAME_MAX + 1];

	snprintf(name, sizeof(name), "user:%s@%s", user, x->p->on->cfg.overlay);
	if (on_lookup_fetch(x->p->lk, name, found, x->p, x->id, 0) < 0) {
		x->empty_status = 503;
		return -1;
	}
	return 0;
}

/* ---- another domain: through a gateway ---- */

/* ---- where a new transaction goes ---- */

/* The user's phones here and, from a phone, the DHT: 1 when a lookup is
 * out. */
static int route_user(struct ptx *x, const char *user, int from_overlay)
{
	struct on_proxy *p = x->p;
	struct on_contact cs[BRANCHES_MAX];
	int n = p->bind.contacts(p->bind.arg, user, cs, BRANCHES_MAX);

	for (int i = 0; i < n; i++)
		add_local(x, cs[i].uri, cs[i].dest, cs[i].tp);
	if (!from_overlay)
		return start_lookup(x, user) == 0;
	if (n < 0)
		x->empty_status = 404;
	else if (n == 0)
		x->empty_status = 480;
	return 0;
}

/* Branches for a new transaction; answers at once when there is none. */
static void route(struct ptx *x, const struct on_target *t, int from_overlay)
{
	int resolving = 0;

	x->state = PTX_ROUTING;
	switch (t->kind) {
	case ON_T_NODE:
		add_overlay(x, t->to, t->sn, t->sna, t->acct, NULL);
		break;
	case ON_T_LOCAL:
		add_local(x, NULL, t->dest[0] != '\0' ? t->dest : NULL, t->tp[0] ? t->tp : NULL);
		break;
	case ON_T_USER:
		str_copy(x->only, t->to, sizeof(x->only));
		resolving = route_user(x, t->user, from_overlay);
		break;
	case ON_T_FOREIGN:
		if (from_overlay)
			route_out(x, t);
		else
			resolving = gw_lookup(x, t->domain) == 0;
		break;
	default:
		break;
	}
	if (x->state == PTX_ROUTING)
		x->state = resolving ? PTX_RESOLVING : PTX_WAITING;
	check_done(x);
}

/* ACK to a 2xx: its own transaction, forwarded without state. m consumed. */
static void forward_ack(struct on_proxy *p, msg_t *m, int from_overlay)
{
	struct on_self self;
	struct on_target t;
	msg_t *f;
	char branch[64];

	proxy_self(p, &self);
	on_target_of(&self, &p->bind, p->dlg, sip_object(m), from_overlay, &t);
	if (t.kind != ON_T_NODE && t.kind != ON_T_LOCAL) {
		msg_destroy(m);
		return; /* nowhere to go: dropped, as SIP has no answer to an ACK */
	}
	f = on_msg_forward(&self, m, 0, NULL, NULL);
	msg_destroy(m);
	if (f == NULL)
		return;
	p->st.acks++;
	if (t.kind == ON_T_NODE && !from_overlay)
		on_media_to_overlay(p->on->media, f); /* an answer in the ACK */
	else if (t.kind == ON_T_LOCAL && from_overlay)
		on_media_to_phone(p->on->media, f);
	on_identity_strip(f);
	if (t.kind == ON_T_NODE) {
		const char *peer = call_peer(p, f, t.to, NULL); /* before f is hidden */

		if (ptx_hide(p, f) < 0 ||
		    on_msg_add_via(&self, f, branch, sizeof(branch), 0, 0) < 0 ||
		    ovl_send(p, &(struct ovl_dest){t.to, t.sn, t.sna, peer, NULL}, f, 0, 0) < 0)
			log_info("ACK towards %s not sent", t.to);
		msg_destroy(f);
	} else if (far_route_apply(p, f) == 0) {
		nta_outgoing_t *o = nta_outgoing_mcreate(
			p->agent, NULL, NULL, t.dest[0] != '\0' ? (url_string_t *)t.dest : NULL, f,
			TAG_END());
		if (o != NULL)
			nta_outgoing_destroy(o);
	} else {
		msg_destroy(f);
	}
}

/* A BYE: the call is no longer answered, its media streams go back. */
static void call_ended(struct on_proxy *p, const char *call_id)
{
	on_dialogs_del(p->dlg, call_id);
	on_media_release(p->on->media, call_id);
}

/* A request refused by its target (a relay through us, a REGISTER from
 * the overlay): counted and logged, so the attempt can be seen; the log
 * within a budget, so a flood does not fill it. */
void refused(struct on_proxy *p, const char *node, const sip_t *sip, int status, const char *why)
{
	static struct log_limit lim;
	const url_t *u = sip->sip_request->rq_url;

	p->st.refused++;
	if (!log_allowed(&lim, LOG_LIMIT_PER_S))
		return;
	log_info("%s %s%s%s from %s%s refused %d: %s", sip->sip_request->rq_method_name,
		 u->url_user != NULL ? u->url_user : "", u->url_user != NULL ? "@" : "",
		 u->url_host != NULL ? u->url_host : "", node != NULL ? "node " : "a phone",
		 node != NULL ? node : "", status, why);
}

/* ---- requests from phones ---- */

/* The phone's source address as a sender key; IPv6 by its /64, as one
 * host there has them all. */
static void phone_key(msg_t *m, char *key, size_t len)
{
	su_addrinfo_t *ai = msg_addrinfo(m);
	char ip[INET6_ADDRSTRLEN] = "";
	const su_sockaddr_t *su;

	str_copy(key, "?", len);
	if (ai == NULL || ai->ai_addr == NULL)
		return;
	su = (const su_sockaddr_t *)ai->ai_addr;
	if (su_inet_ntop(su->su_family, SU_ADDR(su), ip, sizeof(ip)) != NULL)
		addr_limit_key(ip, key, len); /* IPv6 by its /64, mapped IPv4 as IPv4 */
}

/* 1 when the phone's address holds PTX_PER_PHONE_MAX transactions: the
 * request is answered 503 with Retry-After here. Else its key. */
static int phone_busy(struct on_proxy *p, nta_incoming_t *irq, char *key, size_t len)
{
	msg_t *m = nta_incoming_getrequest(irq);

	phone_key(m, key, len);
	msg_destroy(m); /* a reference */
	if (!ptx_sender_busy(p, key, PTX_PER_PHONE_MAX))
		return 0;
	if (p->st.busy++ % 100 == 0)
		log_warn("phone at %s holds %d transactions: 503 (%llu so far)", key,
			 PTX_PER_PHONE_MAX, (unsigned long long)p->st.busy);
	nta_incoming_treply(irq, 503, "Too Many Transactions",
			    SIPTAG_RETRY_AFTER_STR(PTX_BUSY_RETRY_AFTER), TAG_END());
	nta_incoming_destroy(irq);
	return 1;
}

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
	if (x->state != PTX_ANSWERED)
		ptx_answered(x, 487);
	return 0;
}

int answer(nta_incoming_t *irq, int status, const char *phrase)
{
	nta_incoming_treply(irq, status, phrase, TAG_END());
	nta_incoming_destroy(irq);
	return -1;
}

/* Where a phone's request goes: 0 with t filled, a status for nta to
 * answer with, or -1 when it was answered here. */
static int phone_target(struct on_proxy *p, nta_incoming_t *irq, const sip_t *sip,
			struct on_target *t)
{
	struct on_self self;

	proxy_self(p, &self);
	for (const sip_via_t *v = sip->sip_via; v != NULL; v = v->v_next)
		if (on_via_is_ours(&self, v))
			return 482;
	on_target_of(&self, &p->bind, p->dlg, sip, 0, t);
	if (t->kind == ON_T_SELF)
		return sip->sip_request->rq_method == sip_method_options ? 200 : 405;
	if (sip->sip_max_forwards != NULL && sip->sip_max_forwards->mf_count == 0)
		return 483;
	if (t->kind == ON_T_ERROR) {
		if (p->on->gw != NULL && strcmp(t->phrase, "Relaying Denied") == 0)
			on_gw_counts(p->on->gw)->relay_denied++;
		refused(p, NULL, sip, t->status, t->phrase);
		return answer(irq, t->status, t->phrase);
	}
	if (p->on->gw != NULL)
		return public_check(p, irq, sip, t);
	if (sip->sip_request->rq_method == sip_method_register)
		/* only a public address of record's comes here (on_sip.c) */
		return t->kind == ON_T_FOREIGN ? 0
					       : answer(irq, 403, "Not A Public Address Of Record");
	if ((t->kind == ON_T_USER || t->kind == ON_T_FOREIGN) && sip->sip_to->a_tag == NULL &&
	    !on_target_from_account(&self, &p->bind, sip))
		return answer(irq, 403, "From Is Not An Account Of This Node");
	return 0;
}

int on_proxy_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
	struct on_proxy *p = arg;
	sip_method_t method = sip->sip_request->rq_method;
	char key[SENDER_KEY_MAX];
	struct on_target t;
	struct ptx *x;
	int st;

	p->st.requests++;
	if (method == sip_method_ack) {
		forward_ack(p, nta_incoming_getrequest(irq), 0);
		nta_incoming_destroy(irq);
		return 0;
	}
	if (method == sip_method_cancel)
		return 481; /* nta matched none of our INVITEs */
	if ((st = phone_target(p, irq, sip, &t)) != 0)
		return st < 0 ? 0 : st;
	if (phone_busy(p, irq, key, sizeof(key)))
		return 0;
	/* after its target was found in the dialog */
	if (method == sip_method_bye && sip->sip_call_id != NULL)
		call_ended(p, sip->sip_call_id->i_id);
	if (p->count >= PTX_MAX || (x = ptx_new(p, nta_incoming_getrequest(irq))) == NULL)
		return 503;
	ptx_sender(x, key);
	x->irq = irq;
	x->in_tp = on_incoming_tp(irq);
	if (method == sip_method_register) {
		int a = on_config_public_aor(&p->on->cfg, sip->sip_to->a_url);
		str_copy(x->as, a >= 0 ? p->on->cfg.accounts[a].name : "", sizeof(x->as));
	}
	on_fed_peer(p->on->fed, irq, x->from_peer, sizeof(x->from_peer));
	if (method == sip_method_invite) {
		p->st.invites++;
		nta_incoming_bind(irq, on_cancel, (nta_incoming_magic_t *)x);
		nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
	}
	route(x, &t, 0);
	return 0;
}

/* ---- SIP from the overlay ---- */

/* The Vias of list on top of m, in their order. Each goes in by itself,
 * last first: a list added at once (sip_add_dup) is written out last
 * first, which a far proxy with two Vias (a peered overlay's gateway)
 * cannot match. */
static int vias_insert(msg_t *m, const sip_via_t *list)
{
	int n = 0;

	for (const sip_via_t *v = list; v != NULL; v = v->v_next)
		if (++n > VIAS_MAX)
			return -1;
	while (n-- > 0) {
		const sip_via_t *v = list;
		sip_via_t *one;
		char *txt;
		for (int i = 0; i < n; i++)
			v = v->v_next;
		txt = sip_header_as_string(msg_home(m), (const sip_header_t *)v);
		one = txt != NULL ? sip_via_make(msg_home(m), txt) : NULL;
		if (one == NULL ||
		    msg_header_insert(m, (msg_pub_t *)sip_object(m), (msg_header_t *)one) < 0)
			return -1;
	}
	return 0;
}

/* A response for our phone came with our Via only (its Vias never left
 * this node): the phone's, from its request, in their order. Each Via is
 * inserted on top, so the last goes first: sip_add_dup of the list would
 * turn it upside down, and a proxy before us (a gateway's far side, as
 * Kamailio) would find its phone's Via above its own. */
static int phone_vias(struct ptx *x, msg_t *m)
{
	msg_t *rq = x->irq != NULL ? nta_incoming_getrequest(x->irq) : NULL;
	int r = -1;

	if (rq != NULL && sip_object(rq)->sip_via != NULL)
		r = vias_insert(m, sip_object(rq)->sip_via);
	if (rq != NULL)
		msg_destroy(rq); /* a reference */
	return r;
}

static void ovl_response(struct on_proxy *p, const struct on_sender *who, msg_t *m)
{
	sip_t *sip = sip_object(m);
	const char *br = sip->sip_via->v_branch;
	unsigned long long id;
	int idx;
	struct ptx *x;
	struct branch *b;

	if (br == NULL || strncmp(br, ON_P2P_BRANCH, strlen(ON_P2P_BRANCH)) != 0 ||
	    sscanf(br + strlen(ON_P2P_BRANCH), "%llx.%d.", &id, &idx) != 2 ||
	    (x = ptx_find(p, id)) == NULL || idx < 0 || idx >= x->nbr) {
		p->st.stray++;
		msg_destroy(m);
		return;
	}
	b = &x->br[idx];
	/* Only the node and certificate the request went to may answer it. */
	if (b->kind != BR_OVERLAY || strcmp(b->via, br) != 0 || strcasecmp(b->to, who->node) != 0 ||
	    (!who->plain && strcasecmp(b->peer, who->cert) != 0)) {
		p->st.stray++;
		msg_destroy(m);
		return;
	}
	sip_header_remove(m, sip, (sip_header_t *)sip->sip_via);
	if (sip->sip_via == NULL && phone_vias(x, m) < 0) {
		msg_destroy(m);
		return;
	}
	if (x->irq != NULL && p->on->gw != NULL && far_rr_restore(x, m) < 0) {
		msg_destroy(m);
		return;
	}
	if (x->irq != NULL) {
		on_media_to_phone(p->on->media, m); /* the far end's answer */
		if (who->gateway)
			on_identity_foreign(m, p->on->cfg.overlay);
		else
			on_identity_assert(m, who->user, p->on->cfg.overlay);
	}
	branch_response(x, b, m);
}

/* The top Via is the sender's own: its responses are matched by it. */
static int via_is_sender(const sip_t *sip, const char *from, size_t branch_max)
{
	const char *br = sip->sip_via->v_branch;
	char host[NODE_ID_HEX_LEN + 16];

	snprintf(host, sizeof(host), "%s.invalid", from);
	return br != NULL && strlen(br) < branch_max && sip->sip_via->v_host != NULL &&
	       strcasecmp(sip->sip_via->v_host, host) == 0;
}

static void ovl_cancel(struct on_proxy *p, const struct on_sender *who, const char *br)
{
	struct ptx *x = ptx_find_up(p, who->node, br);

	if (x != NULL && x->method == sip_method_invite && x->state != PTX_ANSWERED &&
	    (who->plain || strcasecmp(x->up_cert, who->cert) == 0)) {
		p->st.cancels++;
		x->canceled = 1;
		cancel_all(x);
		check_done(x);
	}
}

/* The upstream of a request from who (frame f). */
static void ovl_upstream(struct ptx *x, const json_t *f, const struct on_sender *who,
			 const char *br)
{
	const char *from = who->node;
	const char *sn = json_string_value(json_object_get(f, "from_sn"));
	const char *sna = json_string_value(json_object_get(f, "from_sn_addr"));

	str_copy(x->up, from, sizeof(x->up));
	str_copy(x->up_sn, sn, sizeof(x->up_sn));
	str_copy(x->up_sna, sna != NULL && strlen(sna) < sizeof(x->up_sna) ? sna : "",
		 sizeof(x->up_sna));
	str_copy(x->up_branch, br, sizeof(x->up_branch));
	str_copy(x->up_cert, who->cert, sizeof(x->up_cert));
	str_copy(x->up_mine, who->mine, sizeof(x->up_mine));
	str_copy(x->up_user, who->user, sizeof(x->up_user));
	x->up_gateway = who->gateway;
	ptx_index_up(x);
}

/* Node `from` holds PTX_PER_NODE_MAX transactions: 503 with Retry-After,
 * sent without a transaction of its own. m consumed. */
static void ovl_busy(struct on_proxy *p, const json_t *f, const struct on_sender *who, msg_t *m)
{
	const char *from = who->node;
	const char *sn = json_string_value(json_object_get(f, "from_sn"));
	const char *sna = json_string_value(json_object_get(f, "from_sn_addr"));
	msg_t *r = on_msg_response(p->agent, m, 503, "Too Many Transactions");

	if (p->st.busy++ % 100 == 0)
		log_warn("node %s holds %d transactions: 503 (%llu so far)", from, PTX_PER_NODE_MAX,
			 (unsigned long long)p->st.busy);
	if (r != NULL) {
		sip_add_tl(r, sip_object(r), SIPTAG_RETRY_AFTER_STR(PTX_BUSY_RETRY_AFTER),
			   TAG_END());
		struct ovl_dest d = {from, sn, sna != NULL && strlen(sna) < 96 ? sna : "",
				     who->cert, on_seal_mine_by_id(p->on, who->mine)};
		if (ptx_hide(p, r) == 0 && ovl_send(p, &d, r, 0, 0) < 0)
			log_info("503 for %s not sent: not attached", from);
		msg_destroy(r);
	}
	msg_destroy(m);
}

/* Loops, hops and the target of a request from the overlay. */
static void ovl_route(struct on_proxy *p, struct ptx *x, const sip_t *sip)
{
	struct on_self self;
	struct on_target t;

	proxy_self(p, &self);
	for (const sip_via_t *v = sip->sip_via; v != NULL; v = v->v_next)
		if (on_via_is_ours(&self, v)) {
			reply_up(x, 482, "Loop Detected");
			return;
		}
	if (sip->sip_max_forwards != NULL && sip->sip_max_forwards->mf_count == 0) {
		reply_up(x, 483, "Too Many Hops");
		return;
	}
	on_target_of(&self, &p->bind, p->dlg, sip, 1, &t);
	if (t.kind == ON_T_SELF) {
		if (x->method == sip_method_options)
			reply_up(x, 200, "OK");
		else
			reply_up(x, 405, "Method Not Allowed");
		return;
	}
	if (t.kind == ON_T_ERROR) {
		refused(p, x->up, sip, t.status, t.phrase);
		reply_up(x, t.status, t.phrase);
		return;
	}
	if (x->method == sip_method_bye) {
		/* after its target (and a gateway's Route to it) was found in
		 * the dialog; the transaction outlives this */
		route(x, &t, 1);
		call_ended(p, sip->sip_call_id->i_id);
		return;
	}
	route(x, &t, 1);
}

/* Whether who may send this request: 0, or 403 with the phrase in *why.
 * The From of every request names the user who sends it, in both
 * directions of a dialog; a request inside a dialog comes only from a
 * node and certificate that took part in creating it (on_peers.c). */
static int sender_check(struct on_proxy *p, const struct on_sender *who, const sip_t *sip,
			const char **why)
{
	const url_t *f = sip->sip_from->a_url;

	if (who->plain)
		return 0; /* plain_sip: nobody vouches for anything */
	if (who->gateway) {
		/* A gateway speaks for callers outside, never for a user of ours. */
		if (f->url_host == NULL || strcasecmp(f->url_host, p->on->cfg.overlay) == 0) {
			*why = "A Gateway Speaks Only For Callers Outside";
			return 403;
		}
	} else if (f->url_user == NULL || strcmp(f->url_user, who->user) != 0 ||
		   f->url_host == NULL || strcasecmp(f->url_host, p->on->cfg.overlay) != 0) {
		*why = "From Is Not The Sender";
		return 403;
	}
	/* Inside a dialog: a party of it. Outside: a Call-ID of another's call
	 * would make the sender a party of that call (and able to end it). */
	if (sip->sip_to->a_tag != NULL || on_peers_known(p->peers, sip->sip_call_id->i_id)) {
		if (!on_peers_ok(p->peers, sip->sip_call_id->i_id, who->node, who->cert,
				 time_mono_ms())) {
			*why = "Not A Party To This Call";
			return 403;
		}
	}
	return 0;
}

/* ACK and CANCEL, which get no transaction here: 1 when m was one
 * (consumed). An ACK from someone not a party is dropped (it has no
 * answer); a CANCEL counts only from the INVITE's own sender. */
static int ovl_ack_cancel(struct on_proxy *p, const struct on_sender *who, msg_t *m)
{
	sip_t *sip = sip_object(m);
	const char *why = NULL;
	int refuse;

	if (sip->sip_request->rq_method == sip_method_cancel) {
		ovl_cancel(p, who, sip->sip_via->v_branch);
		msg_destroy(m);
		return 1;
	}
	if (sip->sip_request->rq_method != sip_method_ack)
		return 0;
	if ((refuse = sender_check(p, who, sip, &why)) != 0) {
		refused(p, who->node, sip, refuse, why);
		msg_destroy(m);
	} else {
		forward_ack(p, m, 1);
	}
	return 1;
}

/* Whether who may send this request (x): 1, else 0 with it answered. */
static int ovl_admitted(struct on_proxy *p, struct ptx *x, const struct on_sender *who,
			const sip_t *sip)
{
	const char *why = NULL;
	int refuse;

	if (sip->sip_request->rq_method == sip_method_register)
		/* Phones register at their node, over sip_listen; what comes
		 * over the overlay is a public address of record's REGISTER,
		 * which only a gateway carries on. */
		refuse = public_register_check(p, who, sip, &why);
	else
		refuse = sender_check(p, who, sip, &why);
	if (refuse == 0)
		return 1;
	refused(p, who->node, sip, refuse, why);
	reply_up(x, refuse, why);
	return 0;
}

static void ovl_request(struct on_proxy *p, const json_t *f, const struct on_sender *who, msg_t *m)
{
	sip_t *sip = sip_object(m);
	sip_method_t method = sip->sip_request->rq_method;
	const char *br = sip->sip_via->v_branch, *from = who->node;
	struct ptx *x;

	if (!via_is_sender(sip, from, sizeof(x->up_branch))) {
		p->st.bad++;
		log_info("request from %s without its own Via: dropped", from);
		msg_destroy(m);
		return;
	}
	if (ovl_ack_cancel(p, who, m))
		return;
	if (ptx_find_up(p, from, br) != NULL) {
		msg_destroy(m); /* a copy of one in progress */
		return;
	}
	if (ptx_sender_busy(p, from, PTX_PER_NODE_MAX)) {
		ovl_busy(p, f, who, m);
		return;
	}
	x = p->count < PTX_MAX ? ptx_new(p, m) : NULL;
	if (x == NULL) {
		msg_destroy(m);
		return;
	}
	ptx_sender(x, from);
	ovl_upstream(x, f, who, br);
	if (!ovl_admitted(p, x, who, sip))
		return;
	if (creates_dialog(sip) && !who->plain)
		on_peers_allow(p->peers, sip->sip_call_id->i_id, who->node, who->cert,
			       time_mono_ms());
	/* Our phone's requests in this dialog (its BYE) are not challenged. */
	on_auth_dialog_add(p->on->auth, sip->sip_call_id->i_id);
	if (method == sip_method_invite)
		p->st.invites++;
	if (method == sip_method_invite && p->on->gw != NULL)
		reply_up(x, 100, "Trying"); /* the caller's node knows we have it */
	ovl_route(p, x, sip);
}

/* What the far node hid of our phones is theirs again: from here on the
 * node knows a call by its phone-side Call-ID only (on_topo.c). */
static void hide_undo(struct on_proxy *p, msg_t *m)
{
	struct on_self self;

	proxy_self(p, &self);
	on_topo_in(p->topo, &self, m, time_mono_ms());
}

void on_proxy_overlay(struct on_proxy *p, const json_t *frame)
{
	const char *from = json_string_value(json_object_get(frame, "from"));
	const char *sn = json_string_value(json_object_get(frame, "from_sn"));
	struct on_sender who;
	size_t len = 0;
	char *txt;
	msg_t *m;
	sip_t *sip;

	p->st.overlay_in++;
	if (!on_is_hex_id(from) || !on_is_hex_id(sn)) {
		p->st.bad++;
		return;
	}
	if ((txt = on_seal_unwrap(p->on, frame, from, &len, &who)) == NULL) {
		p->st.unsealed++;
		return;
	}
	m = msg_make(sip_default_mclass(), 0, txt, len);
	free(txt);
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
	hide_undo(p, m);
	if (sip->sip_status != NULL)
		ovl_response(p, &who, m);
	else
		ovl_request(p, frame, &who, m);
}
