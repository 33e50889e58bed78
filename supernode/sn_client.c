/* Attached clients (certificates of role user, the future ordinary nodes):
 * their store, fetch, ping, route and neighbours requests go through the
 * ring; their application messages are routed to the super node of the
 * destination and handed down its link. */
#include "supernode.h"

#include "jsonx.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define CLIENT_INFLIGHT_MAX 1024
#define BODY_MAX (96 * 1024)

struct creq {
	struct sn *sn;
	struct conn *c;
	json_t *req;
};

int client_ready(struct sn *sn, struct olink *l)
{
	char hex[RID_HEX_LEN + 1];

	rid_hex(&olink_peer(l)->id, hex);
	log_info("client %s attached from %s (Node-ID %s)", olink_peer(l)->name, olink_peer(l)->addr,
		 hex);
	(void)sn;
	return 0;
}

/* Turns a route reply into the client's answer: the destination's fields,
 * plus hops and path. */
static void answer(json_t *reply, void *arg)
{
	struct creq *cr = arg;
	struct olink *l = conn_link(cr->c);
	json_t *out;

	if (l != NULL) {
		if (json_is_true(json_object_get(reply, "ok"))) {
			out = json_deep_copy(json_object_get(reply, "res"));
			if (!json_is_object(out)) {
				json_decref(out);
				out = json_object();
			}
			json_object_set_new(out, "ok", json_true());
		} else {
			out = json_pack("{s:b,s:O?,s:O?}", "ok", 0, "err",
					json_object_get(reply, "err"), "msg",
					json_object_get(reply, "msg"));
		}
		if (json_object_get(reply, "hops") != NULL) {
			json_object_set(out, "hops", json_object_get(reply, "hops"));
			cr->sn->stats.hops_total +=
				(uint64_t)json_integer_value(json_object_get(reply, "hops"));
		}
		if (json_object_get(reply, "path") != NULL)
			json_object_set(out, "path", json_object_get(reply, "path"));
		olink_reply(l, cr->req, out);
	}
	conn_inflight(cr->c, -1);
	conn_release(cr->c);
	json_decref(cr->req);
	free(cr);
}

static void route_for_at(struct sn *sn, struct olink *l, json_t *msg, const struct rid *dest,
			 const char *mode, json_t *inner, int trace, json_t *at)
{
	struct creq *cr;
	struct conn *c = conn_of(l);

	if (conn_inflight(c, 0) >= CLIENT_INFLIGHT_MAX) {
		json_decref(inner);
		json_decref(at);
		olink_reply_error(l, msg, "busy", "too many requests in flight");
		return;
	}
	cr = calloc(1, sizeof(*cr));
	if (cr == NULL) {
		json_decref(inner);
		json_decref(at);
		olink_reply_error(l, msg, "busy", "out of memory");
		return;
	}
	cr->sn = sn;
	cr->c = c;
	conn_hold(c);
	conn_inflight(c, 1);
	cr->req = json_incref(msg);
	route_start(sn, dest, mode, inner, trace, at, answer, cr);
}

static void route_for(struct sn *sn, struct olink *l, json_t *msg, const struct rid *dest,
		      const char *mode, json_t *inner, int trace)
{
	route_for_at(sn, l, msg, dest, mode, inner, trace, NULL);
}

static int node_arg(const json_t *msg, const char *key, struct rid *id, char *err, size_t errlen)
{
	const char *hex;

	if (jx_str(msg, key, RID_HEX_LEN, JX_REQUIRED, &hex, err, errlen) < 0)
		return -1;
	if (rid_parse(hex, id) < 0) {
		err_set(err, errlen, "%s: expected 32 hex digits", key);
		return -1;
	}
	return 0;
}

static void c_store(struct sn *sn, struct olink *l, json_t *msg)
{
	json_t *val = json_object_get(msg, "val");
	const char *name;
	struct rid res;

	if (!json_is_object(val) ||
	    jx_str(val, "name", RECORD_NAME_MAX, JX_REQUIRED, &name, NULL, 0) < 0) {
		olink_reply_error(l, msg, "bad_request", "store needs a value with a name");
		return;
	}
	rid_of_name(name, &res);
	route_for(sn, l, msg, &res, "res", json_pack("{s:s,s:O}", "op", "store", "val", val), 0);
}

static void c_fetch(struct sn *sn, struct olink *l, json_t *msg, int trace)
{
	const char *name;
	struct rid res;
	char err[128];

	if (jx_str(msg, "name", RECORD_NAME_MAX, JX_REQUIRED, &name, err, sizeof(err)) < 0) {
		olink_reply_error(l, msg, "bad_request", "%s", err);
		return;
	}
	rid_of_name(name, &res);
	route_for(sn, l, msg, &res, "res",
		  trace ? json_pack("{s:s}", "op", "ping")
			: json_pack("{s:s,s:s}", "op", "fetch", "name", name),
		  trace);
}

static void c_node_op(struct sn *sn, struct olink *l, json_t *msg, const char *op)
{
	struct rid id;
	char err[128];

	if (json_object_get(msg, "node") == NULL) {
		/* About this super node itself. */
		olink_reply(l, msg,
			    strcmp(op, "ping") == 0
				    ? json_pack("{s:o,s:i}", "node", node_to_json(&sn->self), "hops", 0)
				    : chord_neighbors(sn));
		return;
	}
	if (node_arg(msg, "node", &id, err, sizeof(err)) < 0) {
		olink_reply_error(l, msg, "bad_request", "%s", err);
		return;
	}
	route_for(sn, l, msg, &id, "node", json_pack("{s:s}", "op", op), 0);
}

static void c_send(struct sn *sn, struct olink *l, json_t *msg)
{
	struct rid to, via;
	struct node at;
	const char *body, *sna = NULL;
	char err[128], hex[RID_HEX_LEN + 1], me[RID_HEX_LEN + 1], self[RID_HEX_LEN + 1], addr[96];
	json_t *inner;

	if (node_arg(msg, "to", &to, err, sizeof(err)) < 0 ||
	    jx_str(msg, "body", BODY_MAX, JX_REQUIRED, &body, err, sizeof(err)) < 0 ||
	    (json_object_get(msg, "sn") != NULL && node_arg(msg, "sn", &via, err, sizeof(err)) < 0)) {
		olink_reply_error(l, msg, "bad_request", "%s", err);
		return;
	}
	if (json_object_get(msg, "sn") == NULL)
		via = to; /* addressed to a super node itself */
	if (json_object_get(msg, "sn_addr") != NULL &&
	    (jx_str(msg, "sn_addr", 128, JX_REQUIRED, &sna, err, sizeof(err)) < 0 ||
	     addr_split(sna, at.host, sizeof(at.host), &at.port) < 0)) {
		olink_reply_error(l, msg, "bad_request", "sn_addr: want HOST:PORT");
		return;
	}
	rid_hex(&to, hex);
	rid_hex(&olink_peer(l)->id, me);
	rid_hex(&sn->self.id, self);
	snprintf(addr, sizeof(addr), strchr(sn->self.host, ':') ? "[%s]:%u" : "%s:%u",
		 sn->self.host, sn->self.port);
	inner = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op", "deliver", "to", hex, "from", me,
			  "from_sn", self, "from_sn_addr", addr, "body", body);
	if (sna == NULL) {
		route_for(sn, l, msg, &via, "node", inner, 0);
		return;
	}
	at.id = via;
	route_for_at(sn, l, msg, &via, "node", inner, 0, node_to_json(&at));
}

void client_message(struct sn *sn, struct olink *l, json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "t"));

	if (relay_client_message(sn, l, msg))
		return;
	if (json_object_get(msg, "tid") == NULL)
		return; /* clients send requests only (and media) */
	if (sn->state != SN_JOINED) {
		olink_reply_error(l, msg, "busy", "super node not ready");
		return;
	}
	if (strcmp(t, "store") == 0)
		c_store(sn, l, msg);
	else if (strcmp(t, "fetch") == 0)
		c_fetch(sn, l, msg, 0);
	else if (strcmp(t, "route") == 0)
		c_fetch(sn, l, msg, 1);
	else if (strcmp(t, "ping") == 0 || strcmp(t, "neighbors") == 0)
		c_node_op(sn, l, msg, t);
	else if (strcmp(t, "send") == 0)
		c_send(sn, l, msg);
	else
		olink_reply_error(l, msg, "bad_request", "unknown operation");
}

int client_deliver(struct sn *sn, const struct rid *to, json_t *inner)
{
	struct olink *l = conn_client(sn, to);

	if (l == NULL)
		return -1;
	sn->stats.delivered++;
	json_t *m = json_pack("{s:s,s:O,s:O,s:O}", "t", "msg", "from", json_object_get(inner, "from"),
			      "from_sn", json_object_get(inner, "from_sn"), "body",
			      json_object_get(inner, "body"));
	json_t *sna = json_object_get(inner, "from_sn_addr");

	if (json_is_string(sna))
		json_object_set(m, "from_sn_addr", sna);
	return olink_send(l, m);
}
