/* The registrar for the phones next to the ordinary node (sofia-sip nta on
 * UDP and TCP, driven by libevent through sipev). A REGISTER for one of the
 * node's accounts adds, refreshes or removes bindings (several contacts per
 * account, each with its own expiry); a REGISTER for any other user gets
 * 403. Whenever an account's bindings change, the node publishes its
 * "user:NAME@OVERLAY" record, signed with that account's key, pointing at
 * this node and its super node; when the last binding goes, it stores a
 * signed deletion. Calls through the overlay come next. */
#include "on.h"

#include "keepcert.h"
#include "log.h"
#include "prom.h"
#include "record.h"
#include "sipev.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/su.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/url.h>

#define BINDINGS_MAX ON_BINDINGS_MAX
#define EXPIRES_DEFAULT 3600
#define EXPIRES_MAX 3600
#define EXPIRES_MIN 60
#define URI_MAX ON_URI_MAX
/* Largest SIP message taken from a phone: a REGISTER or INVITE with SDP is a
 * few KiB; sofia's default would let one TCP peer make it buffer 2 MiB. */
#define SIP_MSG_MAX 65536

#define INSTANCE_MAX ON_INSTANCE_MAX
#define REG_ID_MAX ON_REG_ID_MAX

struct reg {
	struct on_reg g;
	int published;       /* a live record is in the overlay (or on its way) */
	int dirty;           /* changed since the last store */
	int unsaved;         /* changed since the last write to the database */
	uint64_t last_store; /* monotonic ms */
};

struct on_sip {
	struct on *on;
	nta_agent_t *agent;
	nta_leg_t *leg;
	struct reg regs[ON_ACCOUNTS_MAX];
	struct event *sweep;
	struct on_proxy *proxy;
	uint64_t node_published; /* monotonic ms of the last "/node" store */
};

static int account_of(struct on *on, const char *user)
{
	for (int i = 0; i < on->nacc; i++)
		if (user != NULL && strcmp(on->acc[i].conf->name, user) == 0)
			return i;
	return -1;
}

static void on_stored(struct olink *l, json_t *reply, const char *err, void *arg)
{
	char *name = arg;

	(void)l;
	if (reply == NULL || !json_is_true(json_object_get(reply, "ok")))
		log_warn("publishing %s failed: %s", name,
			 reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err);
	else
		log_debug("published %s", name);
	free(name);
}

/* Stores the account's record (or its deletion when it has no binding). */
static void publish(struct on_sip *s, int i)
{
	struct on *on = s->on;
	struct reg *g = &s->regs[i];
	struct account *a = &on->acc[i];
	char name[RECORD_NAME_MAX + 1], hex[NODE_ID_HEX_LEN + 1], sna[96];
	uint8_t id[NODE_ID_LEN];
	uint64_t now = time_mono_ms(), last = 0;
	struct record r;
	char *data = NULL;
	json_t *j;

	if (on->state != ON_ATTACHED || !keepcert_ready(a->kc))
		return; /* published when attached (on_sip_republish) */
	if (g->g.n == 0 && !g->published) {
		g->dirty = 0; /* nothing in the overlay to remove */
		return;
	}
	for (int k = 0; k < g->g.n; k++)
		if (g->g.b[k].expires_ms > last)
			last = g->g.b[k].expires_ms;
	snprintf(name, sizeof(name), "user:%s@%s", a->conf->name, on->cfg.overlay);
	node_id_from_key(keepcert_key(on->acc[0].kc), id);
	node_id_hex(id, hex);
	snprintf(sna, sizeof(sna), strchr(on->cur.host, ':') != NULL ? "[%s]:%u" : "%s:%u",
		 on->cur.host, on->cur.port);
	j = json_pack("{s:s,s:s,s:s,s:i,s:b}", "node", hex, "sn", on->sn_id, "sn_addr", sna,
		      "contacts", g->g.n, "relay", on_nat_needs_relay(on->nat));
	data = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (data == NULL ||
	    record_init(&r, name, "sip", g->g.n > 0 ? data : "", now_ms(),
			g->g.n > 0 ? (uint32_t)((last - now) / 1000 + 1) : EXPIRES_MAX,
			g->g.n == 0) < 0 ||
	    record_sign(&r, keepcert_key(a->kc), keepcert_cert(a->kc)) < 0) {
		free(data);
		log_error("cannot sign the record of %s", name);
		return;
	}
	free(data);
	if (olink_request(on->link, json_pack("{s:s,s:o}", "t", "store", "val", record_to_json(&r)),
			  10000, on_stored, strdup(name)) == 0) {
		g->published = g->g.n > 0;
		g->dirty = 0;
		g->last_store = now;
	}
	record_clear(&r);
}

/* At most one store per account and second: a burst of REGISTERs (a
 * flood, or many phones of one account) becomes one record; the sweep
 * stores what waited. */
#define STORE_GAP_MS 1000
static void publish_soon(struct on_sip *s, int i)
{
	struct reg *g = &s->regs[i];

	g->dirty = 1;
	g->unsaved = 1;
	if (time_mono_ms() - g->last_store >= STORE_GAP_MS)
		publish(s, i);
}

/* Parses a binding's Contact once, when it is set: requests for the phone
 * match against these, not a parse per message. nat: the REGISTER came
 * from another host than the Contact names, so a NAT is between, and
 * requests go to where it came from (over UDP the NAT's mapping, over TCP
 * the phone's own connection). Otherwise the Contact is used as it is: the
 * host is reachable as it says, a TCP phone listens there while the port
 * it registered from may belong to a connection that is gone, and a
 * REGISTER may come from another program on the phone's host than the one
 * that takes the calls.
 * The transport is the Contact's transport parameter, else (and behind a
 * NAT) the one the REGISTER came over: a phone is reached as it registered
 * (a desk phone
 * that registered over UDP may not listen on TCP, a phone on TCP may not
 * listen on UDP), never switched by the size of a message. */
static void binding_parse(struct on_binding *b)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	url_t *c = url_hdup(home, (url_t *)url_make(home, b->uri));
	url_t *r = b->src[0] != '\0' ? url_hdup(home, (url_t *)url_make(home, b->src)) : NULL;
	char tp[8] = "";

	str_copy(b->user, c != NULL && c->url_user != NULL ? c->url_user : "", sizeof(b->user));
	str_copy(b->host, c != NULL && c->url_host != NULL ? c->url_host : "", sizeof(b->host));
	str_copy(b->port, c != NULL && c->url_port != NULL ? c->url_port : "5060", sizeof(b->port));
	b->nat = r != NULL && (r->url_host == NULL || strcasecmp(b->host, r->url_host) != 0);
	if ((b->nat || c == NULL || c->url_params == NULL ||
	     url_param(c->url_params, "transport", tp, sizeof(tp)) <= 0) &&
	    (r == NULL || r->url_params == NULL ||
	     url_param(r->url_params, "transport", tp, sizeof(tp)) <= 0))
		str_copy(tp, "udp", sizeof(tp));
	str_copy(b->tp, strcasecmp(tp, "tcp") == 0 ? "tcp" : "udp", sizeof(b->tp));
	if (b->nat)
		str_copy(b->dest, b->src, sizeof(b->dest));
	else
		snprintf(b->dest, sizeof(b->dest), "sip:%s:%s;transport=%s", b->host, b->port,
			 b->tp);
	su_home_deinit(home);
}

#define NODE_LIFE (24 * 3600) /* seconds: the "/node" record, renewed at half */
static void publish_node(struct on_sip *s);

/* ---- bindings in the node's SQLite file ---- */

/* Writes the accounts whose bindings changed, in one transaction a second
 * at most: a crash loses at most the last second of REGISTERs. */
static void save_bindings(struct on_sip *s)
{
	struct on_db_account acc[ON_ACCOUNTS_MAX];
	int n = 0;

	for (int i = 0; i < s->on->nacc; i++)
		if (s->regs[i].unsaved)
			acc[n++] = (struct on_db_account){s->on->acc[i].conf->name, &s->regs[i].g};
	if (n == 0 || on_db_bindings_save(s->on->db, acc, n) < 0)
		return;
	for (int i = 0; i < s->on->nacc; i++)
		s->regs[i].unsaved = 0;
}

struct loading {
	struct on_sip *s;
	int total;
};

static void load_one(void *arg, const char *account, const struct on_binding *b)
{
	struct loading *ld = arg;
	struct on_sip *s = ld->s;
	int i = account_of(s->on, account);
	struct reg *g;

	if (i < 0 || s->regs[i].g.n == BINDINGS_MAX)
		return; /* an account no longer configured */
	g = &s->regs[i];
	g->g.b[g->g.n] = *b;
	binding_parse(&g->g.b[g->g.n++]);
	g->dirty = 1;
	ld->total++;
}

/* The bindings that were live when the node stopped; published once the
 * node is attached. */
static void load_bindings(struct on_sip *s)
{
	struct loading ld = {s, 0};

	on_db_bindings_load(s->on->db, load_one, &ld);
	if (ld.total > 0)
		log_info("%d binding%s kept from before the restart", ld.total,
			 ld.total == 1 ? "" : "s");
}

/* Drops expired bindings; publishes accounts that changed. */
static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct on_sip *s = arg;
	uint64_t now = time_mono_ms();

	(void)fd, (void)what;
	for (int i = 0; i < s->on->nacc; i++) {
		struct reg *g = &s->regs[i];
		int k = 0, before = g->g.n;
		for (int j = 0; j < g->g.n; j++)
			if (g->g.b[j].expires_ms > now)
				g->g.b[k++] = g->g.b[j];
		g->g.n = k;
		if (k != before) {
			log_info("%s: %d binding%s expired", s->on->acc[i].conf->name, before - k,
				 before - k == 1 ? "" : "s");
			g->dirty = 1;
			g->unsaved = 1;
		}
		if (g->dirty && now - g->last_store >= STORE_GAP_MS)
			publish(s, i);
	}
	if (s->node_published != 0 && now - s->node_published >= NODE_LIFE * 1000ull / 2)
		publish_node(s);
	save_bindings(s);
}

static long contact_expires(const sip_contact_t *m, const sip_t *sip)
{
	if (m->m_expires != NULL)
		return strtol(m->m_expires, NULL, 10);
	if (sip->sip_expires != NULL)
		return (long)sip->sip_expires->ex_delta;
	return EXPIRES_DEFAULT;
}

static int reply_bindings(struct on_sip *s, nta_incoming_t *irq, struct reg *g)
{
	char buf[BINDINGS_MAX * (URI_MAX + INSTANCE_MAX + REG_ID_MAX + 48)] = "";
	size_t off = 0;
	uint64_t now = time_mono_ms();

	(void)s;
	for (int k = 0; k < g->g.n; k++) {
		const struct on_binding *b = &g->g.b[k];
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s<%s>;expires=%llu%s%s%s%s",
					k > 0 ? ", " : "", b->uri,
					(unsigned long long)((b->expires_ms - now) / 1000),
					b->instance[0] ? ";+sip.instance=" : "", b->instance,
					b->reg_id[0] ? ";reg-id=" : "", b->reg_id);
	}
	nta_incoming_treply(irq, SIP_200_OK, TAG_IF(g->g.n > 0, SIPTAG_CONTACT_STR(buf)),
			    TAG_END());
	/* Answered here: the transaction is ours to release (nta keeps it for
	 * retransmissions as long as SIP says). Returning 0 without this left
	 * every REGISTER's transaction in nta for the life of the node. */
	nta_incoming_destroy(irq);
	return 0;
}

/* Where a request came from, as a URI nta can send to: phones behind a NAT
 * (relative to this node) are reached at their source address. */
static void source_of(nta_incoming_t *irq, char *buf, size_t len)
{
	msg_t *m = nta_incoming_getrequest(irq);
	su_addrinfo_t *ai = m != NULL ? msg_addrinfo(m) : NULL;
	char ip[64] = "";
	const su_sockaddr_t *su;

	buf[0] = '\0';
	if (ai != NULL && ai->ai_addr != NULL) {
		su = (const su_sockaddr_t *)ai->ai_addr;
		su_inet_ntop(su->su_family, SU_ADDR(su), ip, sizeof(ip));
		snprintf(buf, len,
			 su->su_family == AF_INET6 ? "sip:[%s]:%u;transport=%s"
						   : "sip:%s:%u;transport=%s",
			 ip, ntohs(su->su_port), ai->ai_protocol == IPPROTO_TCP ? "tcp" : "udp");
	}
	if (m != NULL)
		msg_destroy(m);
}

/* The binding that Contact m refreshes, replaces or removes: the one with
 * the same +sip.instance and reg-id (RFC 5626: a phone that moved its
 * Contact, e.g. to the port it learnt from rport, is the same phone), else
 * the one with the same URI (RFC 3261 10.3); g->n when none. */
static int binding_find(const struct on_reg *g, const char *uri, const char *inst,
			const char *reg_id)
{
	int k;

	if (inst[0] != '\0')
		for (k = 0; k < g->n; k++)
			if (strcasecmp(g->b[k].instance, inst) == 0 &&
			    strcmp(g->b[k].reg_id, reg_id) == 0)
				return k;
	for (k = 0; k < g->n && strcmp(g->b[k].uri, uri) != 0; k++)
		;
	return k;
}

/* A Contact parameter's value ("" when absent): -1 when it is too long. */
static int contact_param(const sip_contact_t *m, const char *name, char *out, size_t len)
{
	const char *v = msg_params_find(m->m_params, name);

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (strlen(v) >= len)
		return -1;
	str_copy(out, v, len);
	return 0;
}

static int do_register(struct on_sip *s, nta_incoming_t *irq, const sip_t *sip)
{
	struct on *on = s->on;
	const char *user = sip->sip_to != NULL ? sip->sip_to->a_url->url_user : NULL;
	int i = account_of(on, user);
	struct reg *g;
	uint64_t now = time_mono_ms();
	char src[160];

	if (i < 0) {
		log_info("REGISTER for %s refused: not an account of this node",
			 user != NULL ? user : "(no user)");
		return 403;
	}
	g = &s->regs[i];
	source_of(irq, src, sizeof(src));
	if (sip->sip_contact == NULL)
		return reply_bindings(s, irq, g); /* a query */
	if (sip->sip_contact->m_url->url_type == url_any) {
		if (sip->sip_expires == NULL || sip->sip_expires->ex_delta != 0 ||
		    sip->sip_contact->m_next != NULL)
			return 400;
		g->g.n = 0;
		log_info("%s: all bindings removed", user);
	} else {
		for (const sip_contact_t *m = sip->sip_contact; m != NULL; m = m->m_next) {
			long ex = contact_expires(m, sip);
			char uri[URI_MAX], inst[INSTANCE_MAX], reg_id[REG_ID_MAX];
			int k;

			if (url_e(uri, sizeof(uri), m->m_url) < 0 ||
			    strlen(uri) >= sizeof(uri) - 1 ||
			    contact_param(m, "+sip.instance=", inst, sizeof(inst)) < 0 ||
			    contact_param(m, "reg-id=", reg_id, sizeof(reg_id)) < 0)
				return 400;
			if (ex > 0 && ex < EXPIRES_MIN) {
				nta_incoming_treply(irq, SIP_423_INTERVAL_TOO_BRIEF,
						    SIPTAG_MIN_EXPIRES_STR("60"), TAG_END());
				nta_incoming_destroy(irq);
				return 0;
			}
			if (ex > EXPIRES_MAX)
				ex = EXPIRES_MAX;
			k = binding_find(&g->g, uri, inst, reg_id);
			if (ex <= 0) {
				if (k < g->g.n)
					g->g.b[k] = g->g.b[--g->g.n];
				continue;
			}
			if (k == g->g.n) {
				if (g->g.n == BINDINGS_MAX)
					return 503;
				g->g.n++;
			}
			str_copy(g->g.b[k].uri, uri, sizeof(g->g.b[k].uri));
			str_copy(g->g.b[k].src, src, sizeof(g->g.b[k].src));
			str_copy(g->g.b[k].instance, inst, sizeof(g->g.b[k].instance));
			str_copy(g->g.b[k].reg_id, reg_id, sizeof(g->g.b[k].reg_id));
			binding_parse(&g->g.b[k]);
			str_copy(g->g.b[k].call_id,
				 sip->sip_call_id != NULL ? sip->sip_call_id->i_id : "",
				 sizeof(g->g.b[k].call_id));
			g->g.b[k].cseq = sip->sip_cseq != NULL ? sip->sip_cseq->cs_seq : 0;
			g->g.b[k].expires_ms = now + 1000u * (uint64_t)ex;
		}
		log_info("%s: %d binding%s", user, g->g.n, g->g.n == 1 ? "" : "s");
	}
	/* Refreshes store too: the record's lifetime follows the bindings. */
	publish_soon(s, i);
	return reply_bindings(s, irq, g);
}

static int on_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
	struct on_sip *s = (struct on_sip *)magic;

	(void)leg;
	if (sip->sip_request->rq_method == sip_method_register)
		return do_register(s, irq, sip);
	return on_proxy_request(s->proxy, irq, sip);
}

static int same_port(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "5060", b != NULL ? b : "5060") == 0;
}

static void contact_of(const struct on_binding *b, struct on_contact *c)
{
	c->uri = b->uri;
	c->dest = b->dest;
	c->tp = b->tp;
}

int on_sip_contacts(struct on_sip *s, const char *user, struct on_contact *out, int max)
{
	int i = account_of(s->on, user), n = 0;
	uint64_t now = time_mono_ms();
	struct reg *g;

	if (i < 0)
		return -1;
	g = &s->regs[i];
	for (int k = 0; k < g->g.n && n < max; k++)
		if (g->g.b[k].expires_ms > now && out != NULL)
			contact_of(&g->g.b[k], &out[n++]);
	return n;
}

int on_sip_find(struct on_sip *s, const url_t *uri, struct on_contact *out)
{
	if (uri->url_host == NULL)
		return -1;
	for (int i = 0; i < s->on->nacc; i++) {
		struct reg *g = &s->regs[i];
		for (int k = 0; k < g->g.n; k++) {
			const struct on_binding *b = &g->g.b[k];
			if (strcasecmp(b->host, uri->url_host) == 0 &&
			    same_port(b->port, uri->url_port) &&
			    strcmp(b->user, uri->url_user != NULL ? uri->url_user : "") == 0) {
				contact_of(b, out);
				return 0;
			}
		}
	}
	return -1;
}

json_t *on_sip_status(struct on_sip *s)
{
	json_t *phones = json_array();
	const struct on_proxy_stats *st = on_proxy_stats(s->proxy);
	uint64_t now = time_mono_ms();

	for (int i = 0; i < s->on->nacc; i++) {
		struct reg *g = &s->regs[i];
		for (int k = 0; k < g->g.n; k++)
			json_array_append_new(
				phones,
				json_pack("{s:s,s:s,s:s,s:I}", "account", s->on->acc[i].conf->name,
					  "contact", g->g.b[k].uri, "source", g->g.b[k].src,
					  "expires",
					  (json_int_t)((g->g.b[k].expires_ms - now) / 1000)));
	}
	return json_pack(
		"{s:o,s:i,s:i,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "phones",
		phones, "calls_setting_up", on_proxy_calls_setting_up(s->proxy), "calls_answered",
		on_proxy_calls_answered(s->proxy), "invite_transactions",
		(json_int_t)st->calls_active, "counters", "requests", (json_int_t)st->requests,
		"invites", (json_int_t)st->invites, "cancels", (json_int_t)st->cancels, "acks",
		(json_int_t)st->acks, "responses", (json_int_t)st->responses, "lookups",
		(json_int_t)st->lookups, "overlay_in", (json_int_t)st->overlay_in, "overlay_out",
		(json_int_t)st->overlay_out, "overlay_failed", (json_int_t)st->overlay_failed,
		"stray", (json_int_t)st->stray, "bad", (json_int_t)st->bad);
}

void on_sip_metrics(struct on_sip *s, struct evbuffer *out)
{
	const struct on_proxy_stats *st = on_proxy_stats(s->proxy);
	int phones = 0;

	for (int i = 0; i < s->on->nacc; i++)
		phones += s->regs[i].g.n;
	prom_gauge(out, "p2psip_on_phones", NULL, phones);
	prom_gauge(out, "p2psip_on_calls_setting_up", NULL, on_proxy_calls_setting_up(s->proxy));
	prom_gauge(out, "p2psip_on_calls_answered", NULL, on_proxy_calls_answered(s->proxy));
	prom_counter(out, "p2psip_on_sip_requests_total", NULL, st->requests);
	prom_counter(out, "p2psip_on_invites_total", NULL, st->invites);
	prom_counter(out, "p2psip_on_cancels_total", NULL, st->cancels);
	prom_counter(out, "p2psip_on_lookups_total", NULL, st->lookups);
	prom_counter(out, "p2psip_on_overlay_in_total", NULL, st->overlay_in);
	prom_counter(out, "p2psip_on_overlay_out_total", NULL, st->overlay_out);
	prom_counter(out, "p2psip_on_overlay_failed_total", NULL, st->overlay_failed);
	prom_counter(out, "p2psip_on_bad_sip_total", NULL, st->bad);
}

void on_sip_set_crl(struct on_sip *s, const struct crl *crl)
{
	if (s != NULL)
		on_proxy_set_crl(s->proxy, crl);
}

void on_sip_overlay(struct on_sip *s, const json_t *frame)
{
	if (s != NULL)
		on_proxy_overlay(s->proxy, frame);
}

struct on_sip *on_sip_new(struct on *on, char *err, size_t errlen)
{
	struct on_sip *s = calloc(1, sizeof(*s));
	char host[64], url[128];
	uint16_t port;
	struct timeval tv = {1, 0};

	if (s == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	s->on = on;
	if (addr_split(on->cfg.sip_listen, host, sizeof(host), &port) < 0 || !addr_is_ip(host)) {
		err_set(err, errlen, "sip_listen: want IP:PORT, got %s", on->cfg.sip_listen);
		free(s);
		return NULL;
	}
	snprintf(url, sizeof(url), strchr(host, ':') ? "sip:[%s]:%u" : "sip:%s:%u", host, port);
	/* NTATAG_UDP_MTU: nta would send a request over 1300 bytes by TCP
	 * (RFC 3261 18.1.1) even to a phone that registered over UDP, and
	 * many desk phones do not listen on TCP. Phones are reached over the
	 * transport they registered with, whatever the size (binding_parse). */
	s->agent = nta_agent_create(sipev_root(on->sev), (url_string_t *)url, NULL, NULL,
				    NTATAG_SERVER_RPORT(2), NTATAG_MAXSIZE(SIP_MSG_MAX),
				    NTATAG_UDP_MTU(65535), TAG_END());
	if (s->agent == NULL) {
		err_set(err, errlen, "cannot listen for SIP on %s (UDP and TCP)",
			on->cfg.sip_listen);
		free(s);
		return NULL;
	}
	s->leg = nta_leg_tcreate(s->agent, on_request, (nta_leg_magic_t *)s, NTATAG_NO_DIALOG(1),
				 TAG_END());
	s->sweep = event_new(on->base, -1, EV_PERSIST, sweep, s);
	if (s->leg != NULL)
		s->proxy = on_proxy_new(on, s, s->agent, err, errlen);
	if (s->leg == NULL || s->sweep == NULL || s->proxy == NULL) {
		err_set(err, errlen, "SIP set-up failed");
		on_sip_free(s);
		return NULL;
	}
	load_bindings(s);
	event_add(s->sweep, &tv);
	sipev_kick(on->sev);
	log_info("SIP registrar and proxy on %s (UDP and TCP)", on->cfg.sip_listen);
	return s;
}

/* "user:ACC0@OVERLAY/node": where this node is attached now, signed by its
 * first account (the identity of its link). A Record-Route of ours names
 * ACC0, so a node whose in-dialog request finds our old super node gone
 * looks us up here and sends again. */
static void publish_node(struct on_sip *s)
{
	struct on *on = s->on;
	struct account *a = &on->acc[0];
	char name[RECORD_NAME_MAX + 1], hex[NODE_ID_HEX_LEN + 1], sna[96];
	uint8_t id[NODE_ID_LEN];
	struct record r;
	char *data;
	json_t *j;

	if (on->state != ON_ATTACHED || !keepcert_ready(a->kc))
		return;
	snprintf(name, sizeof(name), "user:%s@%s/node", a->conf->name, on->cfg.overlay);
	node_id_from_key(keepcert_key(a->kc), id);
	node_id_hex(id, hex);
	snprintf(sna, sizeof(sna), strchr(on->cur.host, ':') != NULL ? "[%s]:%u" : "%s:%u",
		 on->cur.host, on->cur.port);
	j = json_pack("{s:s,s:s,s:s}", "node", hex, "sn", on->sn_id, "sn_addr", sna);
	data = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (data == NULL || record_init(&r, name, "node", data, now_ms(), NODE_LIFE, 0) < 0 ||
	    record_sign(&r, keepcert_key(a->kc), keepcert_cert(a->kc)) < 0) {
		free(data);
		log_error("cannot sign %s", name);
		return;
	}
	free(data);
	if (olink_request(on->link, json_pack("{s:s,s:o}", "t", "store", "val", record_to_json(&r)),
			  10000, on_stored, strdup(name)) == 0)
		s->node_published = time_mono_ms();
	record_clear(&r);
}

void on_sip_republish(struct on_sip *s)
{
	if (s == NULL)
		return;
	publish_node(s);
	for (int i = 0; i < s->on->nacc; i++)
		if (s->regs[i].g.n > 0)
			publish(s, i);
}

void on_sip_free(struct on_sip *s)
{
	if (s == NULL)
		return;
	save_bindings(s);
	if (s->sweep != NULL)
		event_free(s->sweep);
	on_proxy_free(s->proxy);
	if (s->leg != NULL)
		nta_leg_destroy(s->leg);
	if (s->agent != NULL)
		nta_agent_destroy(s->agent);
	free(s);
}
