/* The SIP messages the ordinary node's proxy builds: a request as it goes
 * on (our Route entries off, Max-Forwards down, our Record-Route on), our
 * Via on an overlay hop, responses the proxy answers with itself, and the
 * CANCEL of an INVITE sent over the overlay. No state and no I/O.
 *
 * Our Record-Route entry is a URI that a phone can reach (the SIP listen
 * address, with the transport of the phone side) and that names the node
 * on the overlay (ovl=Node-ID, sn=super node, sna=its address, acct=our
 * first account, under which "/node" says where we moved), so in-dialog
 * requests come back the same way. */
#include "on.h"

#include "util.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>

char *on_msg_text(msg_t *m, size_t *len)
{
	if (msg_serialize(m, (msg_pub_t *)sip_object(m)) < 0)
		return NULL;
	return msg_as_string(msg_home(m), m, NULL, 0, len);
}

msg_t *on_msg_response(nta_agent_t *agent, msg_t *req, int status, const char *phrase)
{
	msg_t *r = nta_msg_create(agent, 0);
	sip_t *rs, *rq = sip_object(req);
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

/* RFC 3261 9.1: same Request-URI, Call-ID, From, To, CSeq number, our Via
 * only, the same Route. */
msg_t *on_msg_cancel(nta_agent_t *agent, msg_t *sent)
{
	sip_t *s = sip_object(sent);
	msg_t *c = nta_msg_create(agent, 0);
	sip_t *cs;
	sip_request_t *rq;
	sip_cseq_t *cseq;
	sip_via_t *v;

	if (c == NULL)
		return NULL;
	cs = sip_object(c);
	rq = sip_request_create(msg_home(c), sip_method_cancel, "CANCEL",
				(url_string_t *)s->sip_request->rq_url, NULL);
	cseq = sip_cseq_create(msg_home(c), s->sip_cseq->cs_seq, sip_method_cancel, "CANCEL");
	v = sip_via_dup(msg_home(c), s->sip_via);
	if (v != NULL)
		v->v_next = NULL;
	if (rq == NULL || cseq == NULL || v == NULL ||
	    sip_add_tl(c, cs, SIPTAG_REQUEST(rq), SIPTAG_VIA(v), SIPTAG_FROM(s->sip_from),
		       SIPTAG_TO(s->sip_to), SIPTAG_CALL_ID(s->sip_call_id), SIPTAG_CSEQ(cseq),
		       SIPTAG_ROUTE(s->sip_route), SIPTAG_MAX_FORWARDS_STR("70"), TAG_END()) < 0 ||
	    sip_complete_message(c) < 0) {
		msg_destroy(c);
		return NULL;
	}
	return c;
}

/* Our Record-Route entry for a phone on transport tp: UDP is the default
 * and goes without the parameter unless explicit (two entries). A phone on
 * TLS is given our TLS address, so that its ACK and BYE come back over TLS,
 * not in the clear to sip_listen. */
static void own_rr(const struct on_self *self, char *buf, size_t len, const char *tp, int explicit)
{
	int tls = tp != NULL && strcmp(tp, "tls") == 0 && self->tls_host != NULL &&
		  self->tls_host[0] != '\0';
	char tpp[24] = "";

	if (tp != NULL && (explicit || strcmp(tp, "udp") != 0))
		snprintf(tpp, sizeof(tpp), ";transport=%s", tp);
	snprintf(buf, len,
		 strchr(self->sn_host, ':') != NULL
			 ? "<sip:%s%s;lr;ovl=%s;sn=%s;sna=[%s]:%u;acct=%s>"
			 : "<sip:%s%s;lr;ovl=%s;sn=%s;sna=%s:%u;acct=%s>",
		 tls ? self->tls_host : self->host, tpp, self->id, self->sn_id, self->sn_host,
		 self->sn_port, self->acct);
}

static int insert_rr(const struct on_self *self, msg_t *m, const char *tp, int explicit)
{
	char rr[512];
	sip_record_route_t *h;

	own_rr(self, rr, sizeof(rr), tp, explicit);
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
static int add_rr(const struct on_self *self, msg_t *m, const char *in_tp, const char *out_tp)
{
	if (in_tp != NULL && out_tp != NULL && strcmp(in_tp, out_tp) != 0)
		return insert_rr(self, m, in_tp, 1) < 0 ? -1 : insert_rr(self, m, out_tp, 1);
	return insert_rr(self, m, in_tp != NULL ? in_tp : out_tp, 0);
}

msg_t *on_msg_forward(const struct on_self *self, msg_t *req, int record_route, const char *in_tp,
		      const char *out_tp)
{
	msg_t *m = msg_dup(req);
	sip_t *sip;

	if (m == NULL)
		return NULL;
	sip = sip_object(m);
	while (sip->sip_route != NULL && on_route_is_ours(self, sip->sip_route))
		sip_route_remove(m, sip);
	if (sip->sip_max_forwards != NULL) {
		if (sip->sip_max_forwards->mf_count > 0)
			sip->sip_max_forwards->mf_count--;
		msg_fragment_clear(sip->sip_max_forwards->mf_common);
	} else {
		sip_add_tl(m, sip, SIPTAG_MAX_FORWARDS_STR("70"), TAG_END());
	}
	if (record_route && sip->sip_to != NULL && sip->sip_to->a_tag == NULL &&
	    add_rr(self, m, in_tp, out_tp) < 0) {
		msg_destroy(m);
		return NULL;
	}
	return m;
}

int on_msg_set_ruri(msg_t *m, const char *uri)
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

int on_msg_add_via(const struct on_self *self, msg_t *m, char *branch, size_t len, uint64_t id,
		   int idx)
{
	unsigned char rnd[4];
	char v[200];
	sip_via_t *h;

	RAND_bytes(rnd, sizeof(rnd));
	snprintf(branch, len, ON_P2P_BRANCH "%llx.%d.%02x%02x%02x%02x", (unsigned long long)id, idx,
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(v, sizeof(v), "SIP/2.0/TLS %s.invalid;branch=%s", self->id, branch);
	h = sip_via_make(msg_home(m), v);
	if (h == NULL)
		return -1;
	return msg_header_insert(m, (msg_pub_t *)sip_object(m), (msg_header_t *)h);
}

/* A tport's transport; tp is released. msg_addrinfo cannot tell: TLS is
 * IPPROTO_TCP there. */
static const char *transport_of(tport_t *tp)
{
	const char *s = tport_has_tls(tp) ? "tls" : tport_is_tcp(tp) ? "tcp" : "udp";

	if (tp != NULL)
		tport_unref(tp);
	return s;
}

const char *on_incoming_tp(nta_incoming_t *irq)
{
	return transport_of(irq != NULL ? nta_incoming_transport(NULL, irq, NULL) : NULL);
}

const char *on_outgoing_tp(nta_outgoing_t *orq)
{
	return transport_of(nta_outgoing_transport(orq));
}

const char *on_uri_tp(const char *text, const url_t *u)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	char tp[8] = "";

	if (text != NULL)
		u = url_hdup(home, (url_t *)url_make(home, text));
	if (u != NULL && u->url_type == url_sips)
		str_copy(tp, "tls", sizeof(tp));
	else if (u != NULL && u->url_params != NULL)
		url_param(u->url_params, "transport", tp, sizeof(tp));
	su_home_deinit(home);
	return strcasecmp(tp, "tls") == 0 ? "tls" : strcasecmp(tp, "tcp") == 0 ? "tcp" : "udp";
}

/* A Record-Route entry of another overlay node: it has ovl=, not ours. */
static int others_rr(const struct on_self *self, const sip_record_route_t *r, char *ovl, size_t len)
{
	return r->r_url->url_params != NULL && on_url_param(r->r_url, "ovl", ovl, len) &&
	       on_is_hex_id(ovl) && strcasecmp(ovl, self->id) != 0;
}

void on_msg_rr_hide(const struct on_self *self, msg_t *m)
{
	sip_t *sip = sip_object(m);
	char ovl[NODE_ID_HEX_LEN + 2];

	for (sip_record_route_t *r = sip->sip_record_route; r != NULL; r = r->r_next) {
		char *host;
		if (!others_rr(self, r, ovl, sizeof(ovl)) ||
		    (host = su_sprintf(msg_home(m), "%s.invalid", ovl)) == NULL)
			continue;
		r->r_url->url_host = host;
		r->r_url->url_port = NULL;
		msg_fragment_clear(r->r_common);
	}
}

void on_msg_rr_restore(const struct on_self *self, msg_t *m, const sip_t *orig)
{
	sip_t *sip = sip_object(m);
	char ovl[NODE_ID_HEX_LEN + 2], o2[NODE_ID_HEX_LEN + 2];

	for (sip_record_route_t *r = sip->sip_record_route; r != NULL; r = r->r_next) {
		if (!others_rr(self, r, ovl, sizeof(ovl)))
			continue;
		for (const sip_record_route_t *o = orig->sip_record_route; o != NULL; o = o->r_next)
			if (others_rr(self, o, o2, sizeof(o2)) && strcasecmp(ovl, o2) == 0) {
				url_t *u = url_hdup(msg_home(m), o->r_url);
				if (u != NULL) {
					*r->r_url = *u;
					msg_fragment_clear(r->r_common);
				}
				break;
			}
	}
}
