/* The ordinary node's records in the overlay. Whenever an account's
 * bindings change, the node stores its "user:NAME@OVERLAY" record, signed
 * with that account's key, pointing at this node and its super node; when
 * the last binding goes, it stores a signed deletion. "user:ACC0@OVERLAY/node"
 * says where the node itself is attached; a gateway also stores where it
 * serves (publish_gateway). Bindings are read through the
 * view the parent gives; records go over the link. */
#include "on.h"

#include "keepcert.h"
#include "log.h"
#include "record.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most one store per account and second: a burst of REGISTERs (a
 * flood, or many phones of one account) becomes one record; the timer
 * stores what waited. */
#define STORE_GAP_MS 1000
#define NODE_LIFE (24 * 3600) /* seconds: the "/node" record, renewed at half */
#define GW_RECORD_LIFE 300    /* seconds: a gateway's records, renewed at half */

struct account_pub {
	int published;       /* a live record is in the overlay (or on its way) */
	int dirty;           /* changed since the last store */
	uint64_t last_store; /* monotonic ms */
};

struct on_publish {
	struct on *on;
	struct on_bindings view;
	struct account_pub acc[ON_ACCOUNTS_MAX];
	struct event *timer;
	uint64_t node_published; /* monotonic ms of the last "/node" store */
	uint64_t gw_published;   /* and of the gateway's records */
};

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

/* Stores r over the link: 0 when the store went out. */
static int store(struct on *on, struct record *r)
{
	return olink_request(on->link,
			     json_pack("{s:s,s:o}", "t", "store", "val", record_to_json(r)), 10000,
			     on_stored, strdup(r->name));
}

/* What a record says of where we are: {"node", "sn", "sn_addr"} and, for a
 * user record, how many contacts and whether media needs a relay (n < 0:
 * a node record). */
static char *location(struct on *on, int n)
{
	char hex[NODE_ID_HEX_LEN + 1], sna[96];
	uint8_t id[NODE_ID_LEN];
	char *data;
	json_t *j;

	node_id_from_key(keepcert_key(on->acc[0].kc), id);
	node_id_hex(id, hex);
	snprintf(sna, sizeof(sna), strchr(on->cur.host, ':') != NULL ? "[%s]:%u" : "%s:%u",
		 on->cur.host, on->cur.port);
	if (n >= 0)
		j = json_pack("{s:s,s:s,s:s,s:i,s:b}", "node", hex, "sn", on->sn_id, "sn_addr", sna,
			      "contacts", n, "relay", on_nat_needs_relay(on->nat));
	else
		j = json_pack("{s:s,s:s,s:s}", "node", hex, "sn", on->sn_id, "sn_addr", sna);
	data = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return data;
}

/* Stores the account's record (or its deletion when it has no binding). */
static void publish(struct on_publish *p, int i)
{
	struct on *on = p->on;
	struct account_pub *g = &p->acc[i];
	struct account *a = &on->acc[i];
	char name[RECORD_NAME_MAX + 1];
	uint64_t now = time_mono_ms(), last;
	int n;
	struct record r;
	char *data;

	if (on->state != ON_ATTACHED || !keepcert_ready(a->kc))
		return; /* published when attached (on_publish_all) */
	n = p->view.count(p->view.arg, i, &last);
	if (n == 0 && !g->published) {
		g->dirty = 0; /* nothing in the overlay to remove */
		return;
	}
	snprintf(name, sizeof(name), "user:%s@%s", a->conf->name, on->cfg.overlay);
	data = location(on, n);
	if (data == NULL ||
	    record_init(&r, name, "sip", n > 0 ? data : "", now_ms(),
			n > 0 ? (uint32_t)((last - now) / 1000 + 1) : ON_EXPIRES_MAX, n == 0) < 0 ||
	    record_sign(&r, keepcert_key(a->kc), keepcert_cert(a->kc)) < 0) {
		free(data);
		log_error("cannot sign the record of %s", name);
		return;
	}
	free(data);
	if (store(on, &r) == 0) {
		g->published = n > 0;
		g->dirty = 0;
		g->last_store = now;
	}
	record_clear(&r);
}

/* "user:ACC0@OVERLAY/node": where this node is attached now, signed by its
 * first account (the identity of its link). A Record-Route of ours names
 * ACC0, so a node whose in-dialog request finds our old super node gone
 * looks us up here and sends again. */
static void publish_node(struct on_publish *p)
{
	struct on *on = p->on;
	struct account *a = &on->acc[0];
	char name[RECORD_NAME_MAX + 1];
	struct record r;
	char *data;

	if (on->state != ON_ATTACHED || !keepcert_ready(a->kc))
		return;
	snprintf(name, sizeof(name), "user:%s@%s/node", a->conf->name, on->cfg.overlay);
	data = location(on, -1);
	if (data == NULL || record_init(&r, name, "node", data, now_ms(), NODE_LIFE, 0) < 0 ||
	    record_sign(&r, keepcert_key(a->kc), keepcert_cert(a->kc)) < 0) {
		free(data);
		log_error("cannot sign %s", name);
		return;
	}
	free(data);
	if (store(on, &r) == 0)
		p->node_published = time_mono_ms();
	record_clear(&r);
}

/* A gateway's records: "proxy:DOMAIN" for each domain it serves ("*":
 * any), the proxy-location records of seed 003 by which nodes find it,
 * and "service:gateway". Short-lived, so that a gateway that died drops
 * out of them within minutes; nodes try the next one meanwhile. */
static void publish_gateway(struct on_publish *p)
{
	struct on *on = p->on;
	struct account *a = &on->acc[0];
	const char *doms[GW_DOMAINS_MAX + ON_PEERS_MAX + 1];
	char name[RECORD_NAME_MAX + 1];
	int n;
	char *data;

	if (on->gw == NULL || on->state != ON_ATTACHED || !keepcert_ready(a->kc) ||
	    (data = location(on, -1)) == NULL)
		return;
	n = on_gw_domains(on->gw, doms, GW_DOMAINS_MAX + ON_PEERS_MAX);
	doms[n++] = NULL; /* service:gateway */
	for (int i = 0; i < n; i++) {
		struct record r;
		if (doms[i] != NULL)
			snprintf(name, sizeof(name), "proxy:%s", doms[i]);
		else
			str_copy(name, "service:gateway", sizeof(name));
		if (record_init(&r, name, "gateway", data, now_ms(), GW_RECORD_LIFE, 0) < 0 ||
		    record_sign(&r, keepcert_key(a->kc), keepcert_cert(a->kc)) < 0) {
			log_error("cannot sign %s", name);
			continue;
		}
		store(on, &r);
		record_clear(&r);
	}
	free(data);
	p->gw_published = time_mono_ms();
}

void on_publish_soon(struct on_publish *p, int i)
{
	if (p == NULL)
		return;
	p->acc[i].dirty = 1;
	if (time_mono_ms() - p->acc[i].last_store >= STORE_GAP_MS)
		publish(p, i);
}

void on_publish_all(struct on_publish *p)
{
	uint64_t last;

	if (p == NULL)
		return;
	publish_node(p);
	publish_gateway(p);
	for (int i = 0; i < p->on->nacc; i++)
		if (p->view.count(p->view.arg, i, &last) > 0)
			publish(p, i);
}

/* Every second: what waited for its gap, and the node record at half its
 * life. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct on_publish *p = arg;
	uint64_t now = time_mono_ms();

	(void)fd, (void)what;
	for (int i = 0; i < p->on->nacc; i++)
		if (p->acc[i].dirty && now - p->acc[i].last_store >= STORE_GAP_MS)
			publish(p, i);
	if (p->node_published != 0 && now - p->node_published >= NODE_LIFE * 1000ull / 2)
		publish_node(p);
	if (p->gw_published != 0 && now - p->gw_published >= GW_RECORD_LIFE * 1000ull / 2)
		publish_gateway(p);
}

struct on_publish *on_publish_new(struct on *on, const struct on_bindings *view, char *err,
				  size_t errlen)
{
	struct on_publish *p = calloc(1, sizeof(*p));
	struct timeval tv = {1, 0};

	if (p == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	p->on = on;
	p->view = *view;
	p->timer = event_new(on->base, -1, EV_PERSIST, on_timer, p);
	if (p->timer == NULL || event_add(p->timer, &tv) < 0) {
		err_set(err, errlen, "SIP set-up failed");
		on_publish_free(p);
		return NULL;
	}
	return p;
}

void on_publish_free(struct on_publish *p)
{
	if (p == NULL)
		return;
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}
