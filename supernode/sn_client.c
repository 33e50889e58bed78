/* Attached clients (certificates of role user or gateway: ordinary nodes):
 * their store, fetch, ping, route and neighbours requests go through the
 * ring; their application messages are routed to the super node of the
 * destination and handed down its link. The frames are read by sn_proto.c's
 * client parsers before they get here (client_frames below). */
#include "supernode.h"

#include "log.h"
#include "ratelimit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_INFLIGHT_MAX 1024
#define SENDER_SLOTS 1024 /* senders whose rates are tracked at once */
/* Messages stop being handed to an attached node while this much output
 * waits for it: its link is closed at olink's outbuf_max (32 MiB), and a
 * flood must not get it closed. */
#define DELIVER_OUTBUF_MAX (8u << 20)

/* Refusals of what peers or clients ask are logged within a budget: a
 * flood must not fill the log. */
static struct log_limit refusal_log;

struct creq {
	struct sn *sn;
	struct conn *c;
	json_t *req;
};

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

static void c_store(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct rid res;

	rid_of_name(req->store.name, &res);
	route_for(sn, l, msg, &res, "res",
		  json_pack("{s:s,s:O}", "op", "store", "val", req->store.val), 0);
}

static void fetch_or_trace(struct sn *sn, struct olink *l, json_t *msg, const char *name, int trace)
{
	struct rid res;

	rid_of_name(name, &res);
	route_for(sn, l, msg, &res, "res",
		  trace ? json_pack("{s:s}", "op", "ping")
			: json_pack("{s:s,s:s}", "op", "fetch", "name", name),
		  trace);
}

static void c_fetch(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	fetch_or_trace(sn, l, msg, req->fetch.name, 0);
}

/* "route": the path a fetch of that name would take. */
static void c_trace(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	fetch_or_trace(sn, l, msg, req->fetch.name, 1);
}

/* ping and neighbors: of this super node, or of the one with that Node-ID. */
static void c_node_op(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	const char *op = json_string_value(json_object_get(msg, "t"));

	if (!req->node.has_node) {
		olink_reply(l, msg,
			    strcmp(op, "ping") == 0 ? json_pack("{s:o,s:i}", "node",
								node_to_json(&sn->self), "hops", 0)
						    : chord_neighbors(sn));
		return;
	}
	route_for(sn, l, msg, &req->node.node, "node", json_pack("{s:s}", "op", op), 0);
}

/* Whether key (an account, a Node-ID) may send a message of len bytes now:
 * rate messages and bytes a second, bursts of twice that. */
static int sender_ok(struct rate_table *t[2], const char *key, int64_t rate, int64_t bytes,
		     size_t len)
{
	uint64_t now = now_ms();
	size_t n = strlen(key);

	/* A message refused for its bytes has still used its message token:
	 * strict, and simpler than giving it back. */
	return rate_take(t[0], key, n, (double)rate, 2.0 * (double)rate, 1, now) &&
	       rate_take(t[1], key, n, (double)bytes, 2.0 * (double)bytes, (double)len, now);
}

static void c_send(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	const struct client_send_req *r = &req->send;
	const char *acct = olink_peer(l)->name;
	char hex[RID_HEX_LEN + 1], me[RID_HEX_LEN + 1], self[RID_HEX_LEN + 1], addr[96];
	json_t *inner;

	if (!sender_ok(sn->send_rates, acct, sn->cfg.send_rate, sn->cfg.send_bytes,
		       strlen(r->body))) {
		sn->stats.delivers_refused++;
		if (log_allowed(&refusal_log, LOG_LIMIT_PER_S))
			log_info("client %s: messages over the rate limit, answered busy", acct);
		olink_reply_error(l, msg, "busy", "too many messages: at most %lld a second",
				  (long long)sn->cfg.send_rate);
		return;
	}
	rid_hex(&r->to, hex);
	rid_hex(&olink_peer(l)->id, me);
	rid_hex(&sn->self.id, self);
	snprintf(addr, sizeof(addr), strchr(sn->self.host, ':') ? "[%s]:%u" : "%s:%u",
		 sn->self.host, sn->self.port);
	inner = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op", "deliver", "to", hex, "from", me,
			  "from_sn", self, "from_sn_addr", addr, "body", r->body);
	if (!r->has_at) {
		route_for(sn, l, msg, &r->via, "node", inner, 0);
		return;
	}
	route_for_at(sn, l, msg, &r->via, "node", inner, 0, node_to_json(&r->at));
}

static void c_unknown(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)sn, (void)req;
	olink_reply_error(l, msg, "bad_request", "unknown operation");
}

/* The parsers of sn_proto.c, as the frame table calls them. */
static int p_store(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return client_store_parse(msg, &req->store, err, errlen);
}

static int p_fetch(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return client_fetch_parse(msg, &req->fetch, err, errlen);
}

static int p_node(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return client_node_parse(msg, &req->node, err, errlen);
}

static int p_send(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return client_send_parse(msg, &req->send, err, errlen);
}

#define REQ (SN_NEEDS_TID | SN_NEEDS_JOINED) /* requests only, once in the ring */

const struct sn_handler client_frames[] = {
	{"store", SN_FROM_CLIENT, REQ, p_store, c_store},
	{"fetch", SN_FROM_CLIENT, REQ, p_fetch, c_fetch},
	{"route", SN_FROM_CLIENT, REQ, p_fetch, c_trace},
	{"ping", SN_FROM_CLIENT, REQ, p_node, c_node_op},
	{"neighbors", SN_FROM_CLIENT, REQ, p_node, c_node_op},
	{"send", SN_FROM_CLIENT, REQ, p_send, c_send},
	{"*", SN_FROM_CLIENT, REQ, NULL, c_unknown},
	{NULL, 0, 0, NULL, NULL},
};

/* ---- routed to this super node: a message for one of its clients ---- */

#ifdef P2PSIP_TEST_HOOKS
/* A super node that meddles with what it carries, for the tests of sealed
 * SIP only (build/test/supernode; never in the programs that are built
 * for use). The file named by P2PSIP_TAMPER says how, read at each
 * message: "flip" changes one character inside the sealed part of each
 * body; "replay" hands down, before each message, the one handed down
 * before it on the same link once more. */
#define TAMPER_LINKS 8
static struct {
	const struct olink *l;
	json_t *last;
} kept[TAMPER_LINKS];

static void tamper_mode(char *mode, size_t len)
{
	const char *path = getenv("P2PSIP_TAMPER");
	FILE *f = path != NULL ? fopen(path, "r") : NULL;

	mode[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(mode, (int)len, f) == NULL)
		mode[0] = '\0';
	mode[strcspn(mode, "\n")] = '\0';
	fclose(f);
}

static void tamper_replay(struct olink *l, const json_t *m)
{
	int i, free_slot = -1;

	for (i = 0; i < TAMPER_LINKS && kept[i].l != l; i++)
		if (kept[i].l == NULL && free_slot < 0)
			free_slot = i;
	if (i == TAMPER_LINKS && (i = free_slot) < 0)
		i = 0;
	if (kept[i].l == l && kept[i].last != NULL)
		olink_send(l, json_deep_copy(kept[i].last));
	json_decref(kept[i].last);
	kept[i].l = l;
	kept[i].last = json_deep_copy(m);
}

static int tampered(struct olink *l, json_t *m)
{
	const char *body = json_string_value(json_object_get(m, "body"));
	char mode[16], *copy, *ct;

	tamper_mode(mode, sizeof(mode));
	if (strcmp(mode, "replay") == 0)
		tamper_replay(l, m);
	if (strcmp(mode, "flip") != 0 || body == NULL || (copy = strdup(body)) == NULL)
		return olink_send(l, m);
	if ((ct = strstr(copy, "\"ct\":\"")) != NULL && strlen(ct) > 16)
		ct[12] = ct[12] == 'A' ? 'B' : 'A';
	json_object_set_new(m, "body", json_string(copy));
	free(copy);
	return olink_send(l, m);
}
#endif

static int deliver(struct olink *l, json_t *inner)
{
	json_t *m = json_pack(
		"{s:s,s:O,s:O,s:O}", "t", "msg", "from", json_object_get(inner, "from"), "from_sn",
		json_object_get(inner, "from_sn"), "body", json_object_get(inner, "body"));
	json_t *sna = json_object_get(inner, "from_sn_addr");

	if (json_is_string(sna))
		json_object_set(m, "from_sn_addr", sna);
#ifdef P2PSIP_TEST_HOOKS
	return tampered(l, m);
#endif
	return olink_send(l, m);
}

/* Why a message for an attached node is not handed down its link l: too
 * large, too many from that sender ([limits] deliver_rate, deliver_bytes
 * per sending Node-ID), or too much already waiting for the node. NULL if
 * it may go. The sender hears it; the recipient's link stays up. */
static json_t *deliver_refusal(struct sn *sn, struct olink *l, const char *from, size_t len)
{
	if (len > CLIENT_BODY_MAX)
		return route_error("too_large", "a message body is at most %d bytes",
				   CLIENT_BODY_MAX);
	if (!sender_ok(sn->deliver_rates, from, sn->cfg.deliver_rate, sn->cfg.deliver_bytes, len))
		return route_error("busy",
				   "too many messages from that node: at most %lld a second",
				   (long long)sn->cfg.deliver_rate);
	if (olink_outbuf(l) + len > DELIVER_OUTBUF_MAX)
		return route_error("busy", "the recipient is not reading its messages");
	return NULL;
}

static void op_deliver(struct sn *sn, json_t *inner, route_done_t done, void *arg)
{
	const char *to = json_string_value(json_object_get(inner, "to"));
	const char *from = json_string_value(json_object_get(inner, "from"));
	const char *body = json_string_value(json_object_get(inner, "body"));
	struct olink *l = NULL;
	struct rid id;
	json_t *reply;

	if (to == NULL || rid_parse(to, &id) < 0 || from == NULL || body == NULL)
		reply = route_error("bad_request", "deliver needs to, from and body");
	else if ((l = conn_client(sn, &id)) == NULL)
		reply = route_error("not_attached", "that node is not attached here");
	else if ((reply = deliver_refusal(sn, l, from, strlen(body))) != NULL) {
		sn->stats.delivers_refused++;
		if (log_allowed(&refusal_log, LOG_LIMIT_PER_S))
			log_info("message from %s to %s refused: %s", from, to,
				 json_string_value(json_object_get(reply, "msg")));
	} else if (deliver(l, inner) < 0) {
		reply = route_error("not_attached", "that node's link is closing");
	} else {
		sn->stats.delivered++;
		reply = route_ok(json_pack("{s:b}", "delivered", 1));
	}
	done(reply, arg);
	json_decref(reply);
}

/* The buckets per sender: accounts here, sending Node-IDs at delivery. */
int client_start(struct sn *sn)
{
	for (int i = 0; i < 2; i++) {
		sn->send_rates[i] = rate_table_new(SENDER_SLOTS);
		sn->deliver_rates[i] = rate_table_new(SENDER_SLOTS);
		if (sn->send_rates[i] == NULL || sn->deliver_rates[i] == NULL)
			return -1;
	}
	return 0;
}

void client_stop(struct sn *sn)
{
	for (int i = 0; i < 2; i++) {
		rate_table_free(sn->send_rates[i]);
		rate_table_free(sn->deliver_rates[i]);
		sn->send_rates[i] = sn->deliver_rates[i] = NULL;
	}
}

const struct sn_op client_ops[] = {
	{"deliver", op_deliver},
	{NULL, NULL},
};
