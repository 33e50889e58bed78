/* The proxy at the edge of the overlay, where a gateway stands (docs/
 * gateway.md): an ordinary node's calls to other domains go to a gateway
 * found by its proxy-location records, and to the next one when it does
 * not answer; a gateway sends an overlay user's call out, keeps the far
 * side's route set, takes the SIP world's requests in only for users of
 * the overlay, and carries a public address of record's REGISTER out with
 * its Path. on_forward.c calls these; they make branches with its
 * add_local and add_overlay. */
#include "on_proxy.h"

#include "log.h"
#include "record.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>

static void gw_found(void *arg, uint64_t id, int idx, const char *name, const json_t *vals,
		     const char *why);

/* On a gateway, a request in a dialog to a far party goes through the
 * proxies that party's side record-routed (on_proxy.c, far_route): their
 * Route entries go on m. -1 when they cannot. */
int far_route_apply(struct on_proxy *p, msg_t *m)
{
	sip_t *sip = sip_object(m);
	const char *route;

	if (p->on->gw == NULL || sip->sip_to == NULL || sip->sip_to->a_tag == NULL ||
	    sip->sip_call_id == NULL ||
	    (route = on_dialogs_route(p->dlg, sip->sip_call_id->i_id, sip->sip_request->rq_url)) ==
		    NULL)
		return 0;
	while (sip->sip_route != NULL)
		sip_route_remove(m, sip);
	/* the whole list at once: headers inserted one by one are written
	 * out in an order of sofia-sip's own, wrong with two or more (a
	 * peered overlay's gateway and node) */
	return sip_add_make(m, sip, sip_route_class, route) < 0 ? -1 : 0;
}

/* A public address of record's REGISTER leaves a gateway with our Path
 * (RFC 3327): the domain's registrar sends what it has for the address
 * through us, to the node the Contact names (on_target.c). */
int add_path(const struct on_self *self, msg_t *m)
{
	char h[160];
	sip_path_t *path;

	snprintf(h, sizeof(h), "<sip:%s;lr>", self->host);
	path = sip_path_make(msg_home(m), h);
	return path != NULL && msg_header_insert(m, (msg_pub_t *)sip_object(m),
						 (msg_header_t *)path) == 0
		       ? 0
		       : -1;
}

/* The gateways a proxy-location record names, each call starting at the
 * next one (the calls spread over them); 0 when one is out. */
static int gateways_found(struct ptx *x, const char *name, const json_t *vals)
{
	struct on_proxy *p = x->p;
	size_t n = json_array_size(vals), start = n > 0 ? p->gw_turn++ % n : 0;
	json_t *v;

	free(x->gws);
	x->ngw = x->gw_next = 0;
	if (n == 0 || (x->gws = calloc(GW_CANDIDATES_MAX, sizeof(*x->gws))) == NULL)
		return -1;
	for (size_t k = 0; k < n && x->ngw < GW_CANDIDATES_MAX; k++) {
		v = json_array_get(vals, (start + k) % n);
		if (on_lookup_value(p->lk, v, name, &x->gws[x->ngw]) == 0)
			x->ngw++;
	}
	return gateway_next(x) ? 0 : -1;
}

/* The proxy-location records of domain (seed 003), then those of any
 * domain ("proxy:*"): 0 when a fetch is out. */
int gw_lookup(struct ptx *x, const char *domain)
{
	char name[RECORD_NAME_MAX + 1];

	snprintf(name, sizeof(name), "proxy:%s", domain);
	if (on_lookup_fetch(x->p->lk, name, gw_found, x->p, x->id, 0) < 0) {
		x->empty_status = 503;
		return -1;
	}
	return 0;
}

static void gw_found(void *arg, uint64_t id, int idx, const char *name, const json_t *vals,
		     const char *why)
{
	struct ptx *x = ptx_find(arg, id);

	(void)idx;
	if (x == NULL || x->state == PTX_ANSWERED)
		return;
	if (!json_is_array(vals))
		log_info("lookup of %s failed: %s", name, why);
	x->state = PTX_ROUTING;
	if (gateways_found(x, name, vals) < 0) {
		if (strcmp(name, "proxy:*") != 0 && gw_lookup(x, "*") == 0) {
			x->state = PTX_RESOLVING;
			return;
		}
		x->empty_status = json_is_array(vals) ? 404 : 503;
	}
	if (x->state == PTX_ROUTING)
		x->state = PTX_WAITING;
	check_done(x);
}

int gateway_next(struct ptx *x)
{
	const struct on_place *g;

	if (x->gws == NULL || x->gw_next >= x->ngw || x->canceled || x->state == PTX_ANSWERED)
		return 0;
	for (int i = 0; i < x->nbr; i++)
		if (!x->br[i].unanswered)
			return 0; /* a gateway answered: its answer stands */
	if (x->nbr > 0)
		log_info("gateway %s did not answer: trying the next one", x->br[x->nbr - 1].to);
	while (x->gw_next < x->ngw && x->nbr < BRANCHES_MAX) {
		enum ptx_state was = x->state;
		int nbr = x->nbr;
		g = &x->gws[x->gw_next++];
		x->state = PTX_ROUTING;
		add_overlay(x, g->to, g->sn, g->sna, NULL, g->peer);
		x->state = was;
		if (x->nbr > nbr && x->br[x->nbr - 1].state != BR_DONE)
			return 1;
	}
	return 0;
}

/* From the overlay to our gateway: an overlay user's call out, within
 * the gateway's domains and the user's rate; then to the domain's static
 * next hop, or where DNS says (RFC 3263, sofia-sip's resolver). */
void route_out(struct ptx *x, const struct on_target *t)
{
	struct on_gw *gw = x->p->on->gw;
	const sip_t *sip = sip_object(x->req);
	const char *hop;

	if (x->up_gateway) {
		/* a caller from outside, sent in by a gateway: never out again */
		on_gw_counts(gw)->relay_denied++;
		reply_up(x, 403, "Relaying Denied");
		return;
	}
	if (!on_gw_domain_ok(gw, t->domain)) {
		on_gw_counts(gw)->domain_refused++;
		reply_up(x, 403, "Domain Not Served By This Gateway");
		return;
	}
	/* every request outside a dialog (a call, a MESSAGE, a REGISTER)
	 * costs the user: none of them is sent out for free */
	if (sip->sip_to->a_tag == NULL && !on_gw_user_ok(gw, x->up_user, time_mono_ms())) {
		reply_up(x, 503, "Requests Out Over This User's Limit");
		return;
	}
	if (sip->sip_to->a_tag == NULL && x->method == sip_method_invite)
		on_gw_counts(gw)->out_calls++;
	hop = on_gw_next_hop(gw, t->domain);
	add_local(x, NULL, hop, hop != NULL ? on_uri_tp(hop, NULL) : NULL);
}

/* A request from the SIP world to a gateway: nobody outside speaks as a
 * user of the overlay (its From names no user of ours; identity headers
 * it brings are dropped on the way in). 0, or -1 when answered here. */
int public_check(struct on_proxy *p, nta_incoming_t *irq, const sip_t *sip,
		 const struct on_target *t)
{
	const url_t *f = sip->sip_from->a_url;

	if (t->kind == ON_T_USER && sip->sip_to->a_tag == NULL && f->url_host != NULL &&
	    strcasecmp(f->url_host, p->on->cfg.overlay) == 0) {
		on_gw_counts(p->on->gw)->identity_refused++;
		refused(p, NULL, sip, 403, "a user of the overlay in From, from outside");
		return answer(irq, 403, "Overlay Identity From Outside");
	}
	if (sip->sip_to->a_tag == NULL && t->kind == ON_T_USER)
		on_gw_counts(p->on->gw)->in_requests++;
	return 0;
}

/* "<uri>" of each Record-Route of list at the end of buf (used so far);
 * -1 when it does not fit. */
static int rr_text(const sip_record_route_t *list, char *buf, size_t len, size_t *used)
{
	for (const sip_record_route_t *r = list; r != NULL; r = r->r_next) {
		issize_t w;
		if (*used + 4 >= len)
			return -1;
		if (*used > 0)
			buf[(*used)++] = ',';
		buf[(*used)++] = '<';
		w = url_e(buf + *used, (isize_t)(len - *used - 2), r->r_url);
		if (w <= 0 || *used + (size_t)w + 2 >= len)
			return -1;
		*used += (size_t)w;
		buf[(*used)++] = '>';
		buf[*used] = '\0';
	}
	return 0;
}

/* On a gateway, a response going out to the far side: the far side's
 * Record-Route entries, which never went into the overlay (on_topo.c),
 * after ours again, as its request brought them (RFC 3261 16.7); a
 * peered overlay's gateway finds its own there. -1 when they do not fit. */
#define FAR_RR_TEXT_MAX 4096
int far_rr_restore(struct ptx *x, msg_t *m)
{
	msg_t *rq = nta_incoming_getrequest(x->irq);
	sip_t *sip = sip_object(m);
	char *buf = NULL;
	size_t used = 0;
	int rc = 0;

	if (rq == NULL || sip_object(rq)->sip_record_route == NULL)
		goto out;
	rc = -1;
	if ((buf = malloc(FAR_RR_TEXT_MAX)) == NULL ||
	    rr_text(sip->sip_record_route, buf, FAR_RR_TEXT_MAX, &used) < 0 ||
	    rr_text(sip_object(rq)->sip_record_route, buf, FAR_RR_TEXT_MAX, &used) < 0)
		goto out;
	while (sip->sip_record_route != NULL)
		sip_header_remove(m, sip, (sip_header_t *)sip->sip_record_route);
	/* the whole list at once, so that it is written out in its order */
	rc = sip_add_make(m, sip, sip_record_route_class, buf) < 0 ? -1 : 0;
out:
	free(buf);
	if (rq != NULL)
		msg_destroy(rq); /* a reference */
	return rc;
}

/* A REGISTER from the overlay: only to a gateway, from a user (not
 * another gateway), for an address of record of another domain (From and
 * To the same), binding only the sender's own Contacts (its node's hidden
 * ones, on_topo.c) or removing all ("*"). Who owns that address is the
 * domain's registrar's to check, by its digest; the user can bind it to
 * nothing but itself. 0, or 403 with the phrase in *why. */
int public_register_check(struct on_proxy *p, const struct on_sender *who, const sip_t *sip,
			  const char **why)
{
	const url_t *f = sip->sip_from->a_url, *t = sip->sip_to->a_url;
	char ovl[NODE_ID_HEX_LEN + 2];

	*why = "REGISTER Comes Only From Phones";
	if (p->on->gw == NULL || who->plain || who->gateway)
		return 403;
	*why = "Not A Public Address Of Record";
	if (f->url_user == NULL || t->url_user == NULL || f->url_host == NULL ||
	    t->url_host == NULL || strcmp(f->url_user, t->url_user) != 0 ||
	    strcasecmp(f->url_host, t->url_host) != 0 ||
	    strcasecmp(t->url_host, p->on->cfg.overlay) == 0)
		return 403;
	*why = "Contact Is Not The Sender's";
	for (const sip_contact_t *c = sip->sip_contact; c != NULL; c = c->m_next) {
		const url_t *u = c->m_url;
		if (u->url_type == url_any)
			continue;
		if (u->url_user == NULL || strcmp(u->url_user, who->user) != 0 ||
		    u->url_host == NULL || strcasecmp(u->url_host, p->on->cfg.overlay) != 0 ||
		    !on_url_param(u, "ovl", ovl, sizeof(ovl)) || strcasecmp(ovl, who->node) != 0 ||
		    !url_has_param(u, "ph"))
			return 403;
	}
	return 0;
}
