/* The registrar for the phones next to the ordinary node: how a REGISTER is
 * handled, and the binding rules. A REGISTER for one of the node's accounts
 * adds, refreshes or removes bindings (several contacts per account, each
 * with its own expiry, matched by +sip.instance and reg-id, else by URI); a
 * REGISTER for any other user gets 403. Expired bindings go within a
 * second; changes are saved (on_db.c) and told to the parent, which has
 * them published (on_publish.c). */
#include "on.h"

#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_tag.h>

#define EXPIRES_DEFAULT 3600

struct account_bindings {
	struct on_reg g;
	int unsaved; /* changed since the last write to the database */
};

struct on_registrar {
	struct on *on;
	void (*changed)(void *arg, int i);
	void *arg;
	struct account_bindings regs[ON_ACCOUNTS_MAX];
	struct event *sweep;
};

static int account_of(const struct on *on, const char *user)
{
	for (int i = 0; i < on->nacc; i++)
		if (user != NULL && strcmp(on->acc[i].conf->name, user) == 0)
			return i;
	return -1;
}

/* ---- the binding rules ---- */

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
 * (a desk phone that registered over UDP may not listen on TCP, a phone on
 * TCP may not listen on UDP), never switched by the size of a message. A
 * phone that registered over TLS is reached over TLS only, whatever its
 * Contact says: its calls are not sent in the clear. */
void on_binding_parse(struct on_binding *b)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	url_t *c = url_hdup(home, (url_t *)url_make(home, b->uri));
	url_t *r = b->src[0] != '\0' ? url_hdup(home, (url_t *)url_make(home, b->src)) : NULL;
	char tp[8] = "";

	str_copy(b->user, c != NULL && c->url_user != NULL ? c->url_user : "", sizeof(b->user));
	str_copy(b->host, c != NULL && c->url_host != NULL ? c->url_host : "", sizeof(b->host));
	str_copy(b->port,
		 c != NULL && c->url_port != NULL       ? c->url_port
		 : c != NULL && c->url_type == url_sips ? "5061"
							: "5060",
		 sizeof(b->port));
	b->nat = r != NULL && (r->url_host == NULL || strcasecmp(b->host, r->url_host) != 0);
	if (r != NULL && strcmp(on_uri_tp(NULL, r), "tls") == 0)
		str_copy(tp, "tls", sizeof(tp)); /* whatever its Contact says */
	else if (!b->nat && c != NULL && c->url_type == url_sips)
		str_copy(tp, "tls", sizeof(tp));
	else if ((b->nat || c == NULL || c->url_params == NULL ||
		  url_param(c->url_params, "transport", tp, sizeof(tp)) <= 0) &&
		 (r == NULL || r->url_params == NULL ||
		  url_param(r->url_params, "transport", tp, sizeof(tp)) <= 0))
		str_copy(tp, "udp", sizeof(tp));
	str_copy(b->tp,
		 strcasecmp(tp, "tls") == 0   ? "tls"
		 : strcasecmp(tp, "tcp") == 0 ? "tcp"
					      : "udp",
		 sizeof(b->tp));
	if (b->nat)
		str_copy(b->dest, b->src, sizeof(b->dest));
	else
		snprintf(b->dest, sizeof(b->dest), "sip:%s:%s;transport=%s", b->host, b->port,
			 b->tp);
	su_home_deinit(home);
}

/* The binding that Contact m refreshes, replaces or removes: the one with
 * the same +sip.instance and reg-id (RFC 5626: a phone that moved its
 * Contact, e.g. to the port it learnt from rport, is the same phone), else
 * the one with the same URI (RFC 3261 10.3); g->n when none. */
int on_binding_find(const struct on_reg *g, const char *uri, const char *inst, const char *reg_id)
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

static long contact_expires(const sip_contact_t *m, const sip_t *sip)
{
	if (m->m_expires != NULL)
		return strtol(m->m_expires, NULL, 10);
	if (sip->sip_expires != NULL)
		return (long)sip->sip_expires->ex_delta;
	return EXPIRES_DEFAULT;
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

/* One Contact of a REGISTER: 0, or the status to refuse the REGISTER with. */
static int apply_contact(struct on_reg *g, const sip_contact_t *m, const sip_t *sip,
			 const char *src, uint64_t now)
{
	long ex = contact_expires(m, sip);
	char uri[ON_URI_MAX], inst[ON_INSTANCE_MAX], reg_id[ON_REG_ID_MAX];
	struct on_binding *b;
	/* url_e returns the whole length and leaves a URI that does not fit
	 * unterminated: its length, not strlen, says it is too long. */
	issize_t len = url_e(uri, sizeof(uri), m->m_url);
	int k;

	if (len < 0 || (size_t)len >= sizeof(uri) - 1 ||
	    contact_param(m, "+sip.instance=", inst, sizeof(inst)) < 0 ||
	    contact_param(m, "reg-id=", reg_id, sizeof(reg_id)) < 0)
		return 400;
	if (ex > 0 && ex < ON_EXPIRES_MIN)
		return 423;
	if (ex > ON_EXPIRES_MAX)
		ex = ON_EXPIRES_MAX;
	k = on_binding_find(g, uri, inst, reg_id);
	if (ex <= 0) {
		if (k < g->n)
			g->b[k] = g->b[--g->n];
		return 0;
	}
	if (k == g->n) {
		if (g->n == ON_BINDINGS_MAX)
			return 503;
		g->n++;
	}
	b = &g->b[k];
	str_copy(b->uri, uri, sizeof(b->uri));
	str_copy(b->src, src, sizeof(b->src));
	str_copy(b->instance, inst, sizeof(b->instance));
	str_copy(b->reg_id, reg_id, sizeof(b->reg_id));
	on_binding_parse(b);
	str_copy(b->call_id, sip->sip_call_id != NULL ? sip->sip_call_id->i_id : "",
		 sizeof(b->call_id));
	b->cseq = sip->sip_cseq != NULL ? sip->sip_cseq->cs_seq : 0;
	b->expires_ms = now + 1000u * (uint64_t)ex;
	return 0;
}

int on_reg_apply(struct on_reg *g, const sip_t *sip, const char *src, uint64_t now)
{
	if (sip->sip_contact->m_url->url_type == url_any) {
		if (sip->sip_expires == NULL || sip->sip_expires->ex_delta != 0 ||
		    sip->sip_contact->m_next != NULL)
			return 400;
		g->n = 0;
		return 0;
	}
	for (const sip_contact_t *m = sip->sip_contact; m != NULL; m = m->m_next) {
		int st = apply_contact(g, m, sip, src, now);
		if (st != 0)
			return st;
	}
	return 0;
}

/* ---- REGISTER ---- */

static int reply_bindings(nta_incoming_t *irq, const struct on_reg *g)
{
	char buf[ON_BINDINGS_MAX * (ON_URI_MAX + ON_INSTANCE_MAX + ON_REG_ID_MAX + 48)] = "";
	size_t off = 0;
	uint64_t now = time_mono_ms();

	for (int k = 0; k < g->n; k++) {
		const struct on_binding *b = &g->b[k];
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s<%s>;expires=%llu%s%s%s%s",
					k > 0 ? ", " : "", b->uri,
					(unsigned long long)((b->expires_ms - now) / 1000),
					b->instance[0] ? ";+sip.instance=" : "", b->instance,
					b->reg_id[0] ? ";reg-id=" : "", b->reg_id);
	}
	nta_incoming_treply(irq, SIP_200_OK, TAG_IF(g->n > 0, SIPTAG_CONTACT_STR(buf)), TAG_END());
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
			 ip, ntohs(su->su_port), on_incoming_tp(irq));
	}
	if (m != NULL)
		msg_destroy(m);
}

int on_registrar_request(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
	struct on_registrar *r = arg;
	const char *user = sip->sip_to != NULL ? sip->sip_to->a_url->url_user : NULL;
	int i = account_of(r->on, user), st;
	struct account_bindings *a;
	char src[160];

	if (i < 0) {
		log_info("REGISTER for %s refused: not an account of this node",
			 user != NULL ? user : "(no user)");
		return 403;
	}
	a = &r->regs[i];
	source_of(irq, src, sizeof(src));
	if (sip->sip_contact == NULL)
		return reply_bindings(irq, &a->g); /* a query */
	st = on_reg_apply(&a->g, sip, src, time_mono_ms());
	if (st == 423) {
		nta_incoming_treply(irq, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR("60"),
				    TAG_END());
		nta_incoming_destroy(irq);
		return 0;
	}
	if (st != 0)
		return st;
	if (sip->sip_contact->m_url->url_type == url_any)
		log_info("%s: all bindings removed", user);
	else
		log_info("%s: %d binding%s", user, a->g.n, a->g.n == 1 ? "" : "s");
	/* Refreshes store too: the record's lifetime follows the bindings. */
	a->unsaved = 1;
	r->changed(r->arg, i);
	return reply_bindings(irq, &a->g);
}

/* ---- what the proxy and the publisher read ---- */

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

static int view_contacts(void *arg, const char *user, struct on_contact *out, int max)
{
	struct on_registrar *r = arg;
	int i = account_of(r->on, user), n = 0;
	uint64_t now = time_mono_ms();
	const struct on_reg *g;

	if (i < 0)
		return -1;
	g = &r->regs[i].g;
	for (int k = 0; k < g->n && n < max; k++)
		if (g->b[k].expires_ms > now && out != NULL)
			contact_of(&g->b[k], &out[n++]);
	return n;
}

static int view_find(void *arg, const url_t *uri, struct on_contact *out)
{
	struct on_registrar *r = arg;

	if (uri->url_host == NULL)
		return -1;
	for (int i = 0; i < r->on->nacc; i++) {
		const struct on_reg *g = &r->regs[i].g;
		for (int k = 0; k < g->n; k++) {
			const struct on_binding *b = &g->b[k];
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

static int view_count(void *arg, int i, uint64_t *last_expiry)
{
	struct on_registrar *r = arg;
	const struct on_reg *g = &r->regs[i].g;

	*last_expiry = 0;
	for (int k = 0; k < g->n; k++)
		if (g->b[k].expires_ms > *last_expiry)
			*last_expiry = g->b[k].expires_ms;
	return g->n;
}

static void view_learn(void *arg, const char *acct, nta_incoming_t *irq, const sip_t *sip)
{
	struct on_registrar *r = arg;
	int i = account_of(r->on, acct);
	char src[160];

	if (i < 0 || sip->sip_contact == NULL)
		return;
	source_of(irq, src, sizeof(src));
	if (on_reg_apply(&r->regs[i].g, sip, src, time_mono_ms()) != 0)
		return;
	log_info("%s: %d binding%s (with a public address of record)", acct, r->regs[i].g.n,
		 r->regs[i].g.n == 1 ? "" : "s");
	r->regs[i].unsaved = 1;
	r->changed(r->arg, i);
}

void on_registrar_view(struct on_registrar *r, struct on_bindings *view)
{
	*view = (struct on_bindings){r, view_contacts, view_find, view_count, view_learn};
}

json_t *on_registrar_phones(const struct on_registrar *r)
{
	json_t *phones = json_array();
	uint64_t now = time_mono_ms();

	for (int i = 0; i < r->on->nacc; i++) {
		const struct on_reg *g = &r->regs[i].g;
		for (int k = 0; k < g->n; k++)
			json_array_append_new(
				phones,
				json_pack("{s:s,s:s,s:s,s:I}", "account", r->on->acc[i].conf->name,
					  "contact", g->b[k].uri, "source", g->b[k].src, "expires",
					  (json_int_t)((g->b[k].expires_ms - now) / 1000)));
	}
	return phones;
}

int on_registrar_count(const struct on_registrar *r)
{
	int phones = 0;

	for (int i = 0; i < r->on->nacc; i++)
		phones += r->regs[i].g.n;
	return phones;
}

/* ---- the bindings in the node's SQLite file ---- */

/* Writes the accounts whose bindings changed, in one transaction a second
 * at most: a crash loses at most the last second of REGISTERs. */
static void save_bindings(struct on_registrar *r)
{
	struct on_db_account acc[ON_ACCOUNTS_MAX];
	int n = 0;

	for (int i = 0; i < r->on->nacc; i++)
		if (r->regs[i].unsaved)
			acc[n++] = (struct on_db_account){r->on->acc[i].conf->name, &r->regs[i].g};
	if (n == 0 || on_db_bindings_save(r->on->db, acc, n) < 0)
		return;
	for (int i = 0; i < r->on->nacc; i++)
		r->regs[i].unsaved = 0;
}

struct loading {
	struct on_registrar *r;
	int total;
};

static void load_one(void *arg, const char *account, const struct on_binding *b)
{
	struct loading *ld = arg;
	struct on_registrar *r = ld->r;
	int i = account_of(r->on, account);
	struct on_reg *g;

	if (i < 0 || r->regs[i].g.n == ON_BINDINGS_MAX)
		return; /* an account no longer configured */
	g = &r->regs[i].g;
	g->b[g->n] = *b;
	on_binding_parse(&g->b[g->n++]);
	r->changed(r->arg, i);
	ld->total++;
}

void on_registrar_load(struct on_registrar *r)
{
	struct loading ld = {r, 0};

	on_db_bindings_load(r->on->db, load_one, &ld);
	if (ld.total > 0)
		log_info("%d binding%s kept from before the restart", ld.total,
			 ld.total == 1 ? "" : "s");
}

/* ---- expiry ---- */

static void expire(struct on_registrar *r, int i, uint64_t now)
{
	struct account_bindings *a = &r->regs[i];
	int k = 0, before = a->g.n;

	for (int j = 0; j < a->g.n; j++)
		if (a->g.b[j].expires_ms > now)
			a->g.b[k++] = a->g.b[j];
	a->g.n = k;
	if (k != before) {
		log_info("%s: %d binding%s expired", r->on->acc[i].conf->name, before - k,
			 before - k == 1 ? "" : "s");
		a->unsaved = 1;
		r->changed(r->arg, i);
	}
}

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	struct on_registrar *r = arg;
	uint64_t now = time_mono_ms();

	(void)fd, (void)what;
	for (int i = 0; i < r->on->nacc; i++)
		expire(r, i, now);
	save_bindings(r);
}

struct on_registrar *on_registrar_new(struct on *on, void (*changed)(void *arg, int i), void *arg,
				      char *err, size_t errlen)
{
	struct on_registrar *r = calloc(1, sizeof(*r));
	struct timeval tv = {1, 0};

	if (r == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	r->on = on;
	r->changed = changed;
	r->arg = arg;
	r->sweep = event_new(on->base, -1, EV_PERSIST, sweep, r);
	if (r->sweep == NULL || event_add(r->sweep, &tv) < 0) {
		err_set(err, errlen, "SIP set-up failed");
		on_registrar_free(r);
		return NULL;
	}
	return r;
}

void on_registrar_free(struct on_registrar *r)
{
	if (r == NULL)
		return;
	save_bindings(r);
	if (r->sweep != NULL)
		event_free(r->sweep);
	free(r);
}
