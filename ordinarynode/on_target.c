/* Where a call's target is decided: the classification of a request by its
 * Route and Request-URI, a pure function of the SIP message, of who this
 * node is (struct on_self) and of the registrar's bindings (read through
 * struct on_bindings). No I/O, so it is unit-tested on parsed text.
 *
 * Routes first: our own entries (a Record-Route we put in, or a phone's
 * pre-loaded outbound proxy route) are skipped; the next one must name a
 * node of the overlay (ovl= and sn=), as the proxy is no open relay. Then
 * the Request-URI: a user of the overlay's domain, a phone registered
 * here, our phone in a dialog we record-routed (on_dialog.c), or this node
 * itself. A Route of ours is no passport: with it, a request reaches no
 * host but our own phones. */
#include "on.h"

#include "util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int on_is_hex_id(const char *s)
{
	if (s == NULL || strlen(s) != NODE_ID_HEX_LEN)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

int on_url_param(const url_t *u, const char *name, char *buf, size_t len)
{
	isize_t n;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (u == NULL || u->url_params == NULL)
		return 0;
	/* url_param returns the value's length + 1 even when it does not fit
	 * in buf, and then copies nothing: such a value is not there. */
	n = url_param(u->url_params, name, buf, len);
	return n > 0 && (size_t)n <= len;
}

/* host:port (the default port of u's scheme when it has none) is our SIP
 * address, or our SIP over TLS address. */
static int hostport_is_ours(const struct on_self *self, const url_t *u)
{
	char hp[128];

	snprintf(hp, sizeof(hp), "%s:%s", u->url_host,
		 u->url_port != NULL       ? u->url_port
		 : u->url_type == url_sips ? "5061"
					   : "5060");
	return strcasecmp(hp, self->host) == 0 ||
	       (self->tls_host != NULL && self->tls_host[0] != '\0' &&
		strcasecmp(hp, self->tls_host) == 0);
}

/* A Route entry that names this node: our ovl= Node-ID, or, without ovl,
 * our SIP address (a phone's pre-loaded outbound proxy route). */
int on_route_is_ours(const struct on_self *self, const sip_route_t *r)
{
	char v[NODE_ID_HEX_LEN + 1];

	/* An ovl= too long to be a Node-ID names no node, and surely not us:
	 * it must not fall through to the SIP address test below. */
	if (r->r_url->url_params != NULL && url_has_param(r->r_url, "ovl"))
		return on_url_param(r->r_url, "ovl", v, sizeof(v)) && strcasecmp(v, self->id) == 0;
	return r->r_url->url_host != NULL && hostport_is_ours(self, r->r_url);
}

int on_via_is_ours(const struct on_self *self, const sip_via_t *v)
{
	char host[NODE_ID_HEX_LEN + 16];

	snprintf(host, sizeof(host), "%s.invalid", self->id);
	return v->v_host != NULL && strcasecmp(v->v_host, host) == 0;
}

static void target_error(struct on_target *t, int status, const char *phrase)
{
	t->kind = ON_T_ERROR;
	t->status = status;
	t->phrase = phrase;
}

static int url_is_self(const struct on_self *self, const url_t *u)
{
	if (u->url_host == NULL || (u->url_user != NULL && u->url_user[0] != '\0'))
		return 0;
	return hostport_is_ours(self, u);
}

/* The first Route that is not ours: another node (ON_T_NODE) or a refusal.
 * Returns 1 when the Route decided, 0 when the Request-URI decides. */
static int by_route(const sip_route_t *r, struct on_target *t)
{
	if (r == NULL)
		return 0;
	if (on_url_param(r->r_url, "ovl", t->to, sizeof(t->to)) &&
	    on_url_param(r->r_url, "sn", t->sn, sizeof(t->sn)) && on_is_hex_id(t->to) &&
	    on_is_hex_id(t->sn)) {
		if (!on_url_param(r->r_url, "sna", t->sna, sizeof(t->sna)))
			t->sna[0] = '\0';
		if (!on_url_param(r->r_url, "acct", t->acct, sizeof(t->acct)))
			t->acct[0] = '\0';
		t->kind = ON_T_NODE;
		return 1;
	}
	/* Not an open relay: routes lead only to overlay nodes. */
	target_error(t, 403, "Route Outside The Overlay");
	return 1;
}

/* A request that came with our Route (a dialog we record-routed) to none
 * of the phones registered here: only to one of ours in that dialog, where
 * it is reached, whatever the Request-URI's parameters say. */
static int by_dialog(const struct on_dialogs *dlg, const sip_t *sip, struct on_target *t)
{
	const char *c =
		on_dialogs_phone(dlg, sip->sip_call_id != NULL ? sip->sip_call_id->i_id : NULL,
				 sip->sip_request->rq_url);

	if (c == NULL || strlen(c) >= sizeof(t->dest))
		return 0;
	t->kind = ON_T_LOCAL;
	str_copy(t->dest, c, sizeof(t->dest));
	str_copy(t->tp, on_uri_tp(c, NULL), sizeof(t->tp));
	return 1;
}

/* On a gateway, from the SIP world: a node's hidden Contact (on_topo.c),
 * as a public address of record's registration names it through our Path.
 * It goes to that node only, which opens it. 1 when it decided. */
static int by_hidden_contact(const struct on_self *self, const url_t *u, int from_overlay,
			     struct on_target *t)
{
	char ovl[NODE_ID_HEX_LEN + 2];

	if (!self->gateway || from_overlay || u->url_user == NULL || u->url_user[0] == '\0' ||
	    strlen(u->url_user) >= sizeof(t->user) || !on_url_param(u, "ovl", ovl, sizeof(ovl)) ||
	    !on_is_hex_id(ovl) || strcasecmp(ovl, self->id) == 0)
		return 0;
	str_copy(t->user, u->url_user, sizeof(t->user));
	str_copy(t->to, ovl, sizeof(t->to));
	t->kind = ON_T_USER;
	return 1;
}

/* A domain that is not the overlay's: a phone's call goes to a gateway,
 * and a gateway carries an overlay user's call out; a gateway never takes
 * one from the SIP world back out to it (not an open relay). */
static void by_domain(const struct on_self *self, const url_t *u, int from_overlay,
		      struct on_target *t)
{
	const char *h = u->url_host;
	size_t i;

	if (h == NULL || (u->url_type != url_sip && u->url_type != url_sips) ||
	    strlen(h) >= sizeof(t->domain) || from_overlay != self->gateway) {
		if (self->gateway && !from_overlay)
			target_error(t, 403, "Relaying Denied");
		else
			target_error(t, from_overlay ? 404 : 403,
				     from_overlay ? "Not Found" : "Domain Not Served");
		return;
	}
	for (i = 0; h[i] != '\0'; i++)
		t->domain[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
	t->domain[i] = '\0';
	t->kind = ON_T_FOREIGN;
}

/* The Request-URI, once no Route decided; popped: we were on the Route. */
static void by_uri(const struct on_self *self, const struct on_bindings *bind,
		   const struct on_dialogs *dlg, const sip_t *sip, int from_overlay, int popped,
		   struct on_target *t)
{
	const url_t *u = sip->sip_request->rq_url;
	struct on_contact c;

	if (u->url_host != NULL && strcasecmp(u->url_host, self->overlay) == 0) {
		if (u->url_params != NULL && url_has_param(u, "ph")) {
			/* a phone's hidden Contact (on_topo.c) that we could
			 * not open: not the user's other phones */
			if (!by_hidden_contact(self, u, from_overlay, t))
				target_error(t, 404, "No Such Phone Here");
			return;
		}
		if (u->url_user == NULL || u->url_user[0] == '\0' ||
		    strlen(u->url_user) >= sizeof(t->user)) {
			target_error(t, 404, "Not Found");
			return;
		}
		str_copy(t->user, u->url_user, sizeof(t->user));
		t->kind = ON_T_USER;
	} else if (bind->find(bind->arg, u, &c) == 0) {
		t->kind = ON_T_LOCAL; /* a phone registered here */
		str_copy(t->dest, c.dest, sizeof(t->dest));
		str_copy(t->tp, c.tp, sizeof(t->tp));
	} else if (popped && by_dialog(dlg, sip, t)) {
		return; /* ours in a dialog we record-routed */
	} else if (url_is_self(self, u)) {
		t->kind = ON_T_SELF;
	} else if (popped && from_overlay) {
		/* Our Route is no passport: not an open relay. */
		target_error(t, 403, "Not A Dialog Of This Node");
	} else {
		/* A phone's preloaded Route to us (its outbound proxy) changes
		 * nothing: another domain goes through a gateway, as without it. */
		by_domain(self, u, from_overlay, t);
	}
}

void on_target_of(const struct on_self *self, const struct on_bindings *bind,
		  const struct on_dialogs *dlg, const sip_t *sip, int from_overlay,
		  struct on_target *t)
{
	const sip_route_t *r = sip->sip_route;
	int popped = 0;

	memset(t, 0, sizeof(*t));
	if (r != NULL && on_route_is_ours(self, r)) {
		while (r != NULL && on_route_is_ours(self, r)) /* two with RFC 5658 */
			r = r->r_next;
		popped = 1;
	} else if (r != NULL && from_overlay) {
		target_error(t, 403, "Route Does Not Name This Node");
		return;
	}
	if (r != NULL && from_overlay) {
		/* Nodes talk to each other directly: nothing from the overlay
		 * goes on past us into it again. */
		target_error(t, 403, "Route Beyond This Node");
		return;
	}
	if (!by_route(r, t))
		by_uri(self, bind, dlg, sip, from_overlay, popped, t);
}

int on_target_from_account(const struct on_self *self, const struct on_bindings *bind,
			   const sip_t *sip)
{
	const url_t *u = sip->sip_from != NULL ? sip->sip_from->a_url : NULL;

	return u != NULL && u->url_user != NULL && u->url_host != NULL &&
	       strcasecmp(u->url_host, self->overlay) == 0 &&
	       bind->contacts(bind->arg, u->url_user, NULL, 0) >= 0;
}
