/* Routed requests: symmetric recursive routing along the ring. A "route"
 * frame travels hop by hop towards the node responsible for a Resource-ID
 * (or towards a given Node-ID); each hop keeps the request pending and the
 * reply travels back the same way. A failed hop is dropped from the tables
 * and the next best one tried. At the destination the table of routed
 * requests (sn_handler.c) says which module answers. */
#include "supernode.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_TRIES 3

struct route {
	struct sn *sn;
	json_t *env; /* the envelope to pass on: dest, mode, hops, ttl, path, req */
	struct rid dest;
	int node_mode;
	struct rid tried[ROUTE_TRIES];
	int ntried;
	struct node hop;
	int hop_direct; /* the hop came from a client's hint */
	route_done_t done;
	void *arg;
};

static void finish(struct route *rt, json_t *reply)
{
	rt->done(reply, rt->arg);
	json_decref(reply);
	json_decref(rt->env);
	free(rt);
}

static void try_next(struct route *rt);

static void on_hop_reply(json_t *reply, const char *err, void *arg)
{
	struct route *rt = arg;

	if (reply != NULL && !json_is_false(json_object_get(reply, "ok"))) {
		finish(rt, json_incref(reply));
		return;
	}
	if (reply != NULL) {
		const char *code = json_string_value(json_object_get(reply, "err"));
		if (code == NULL || strcmp(code, "joining") != 0 || rt->ntried >= ROUTE_TRIES) {
			finish(rt, json_incref(reply));
			return;
		}
		try_next(rt); /* that hop is still joining: go round it */
		return;
	}
	rt->sn->stats.route_failures++;
	log_debug("route via %s:%u failed: %s", rt->hop.host, rt->hop.port, err);
	/* A direct hop failing proves nothing about the ring: the hint may be
	 * stale or hostile, and re-replication is costly. */
	if (strncmp(err, "unreachable", 11) == 0 && !rt->hop_direct &&
	    rt->sn->on_node_failed != NULL)
		rt->sn->on_node_failed(rt->sn, &rt->hop.id);
	if (rt->ntried < ROUTE_TRIES && rt->sn->state != SN_LEAVING) {
		try_next(rt);
		return;
	}
	finish(rt, route_error(strncmp(err, "timed out", 9) == 0 ? "timeout" : "unreachable",
			       "no route: %s", err));
}

/* The answer of the destination carries the hop count and, when traced,
 * the path. */
static void local_done(json_t *reply, void *arg)
{
	struct route *rt = arg;
	json_t *r = json_deep_copy(reply);

	json_object_set(r, "hops", json_object_get(rt->env, "hops"));
	if (json_object_get(rt->env, "path") != NULL)
		json_object_set(r, "path", json_object_get(rt->env, "path"));
	finish(rt, r);
}

static int joiner_is_pred(struct sn *sn, const json_t *req)
{
	const char *j = json_string_value(json_object_get(req, "joiner"));
	struct rid id;

	return j != NULL && sn->ring.has_pred && rid_parse(j, &id) == 0 &&
	       rid_eq(&id, &sn->ring.pred.id);
}

/* Handles the request here when this node is its destination. */
static int deliver_here(struct route *rt)
{
	struct sn *sn = rt->sn;

	if (rt->node_mode) {
		if (rid_eq(&rt->dest, &sn->self.id))
			goto here;
		if (!ring_responsible(&sn->ring, &rt->dest))
			return 0;
		finish(rt, route_error("not_found", "no super node with that Node-ID"));
		return 1;
	}
	/* Without a known predecessor, a request the previous hop sent here as
	 * to the responsible node is taken: the range's lower end is unknown.
	 * A joiner looking for its successor finds the node that still has it
	 * as predecessor (a restart under the same Node-ID). */
	if (!ring_responsible(&sn->ring, &rt->dest) &&
	    !(!sn->ring.has_pred && json_is_true(json_object_get(rt->env, "final"))) &&
	    !joiner_is_pred(sn, json_object_get(rt->env, "req")))
		return 0;
here:
	sn->stats.routed++;
	handler_op(sn, json_incref(json_object_get(rt->env, "req")), local_done, rt);
	return 1;
}

/* A request the previous hop sent here as to the responsible node, for an
 * ID before our predecessor: the previous hop does not know our predecessor
 * yet (it joined, or it died and we have not noticed). Forwarding by the
 * fingers would send the request round the ring back to that same hop, and
 * again until the hop limit; stepping back to the predecessor instead moves
 * towards the owner, and a dead predecessor is found out and dropped on the
 * way, which makes this node responsible. */
static const struct node *step_back(struct route *rt)
{
	struct ring *r = &rt->sn->ring;

	if (rt->node_mode || !json_is_true(json_object_get(rt->env, "final")) || !r->has_pred ||
	    !rid_in_half(&rt->dest, &r->self.id, &r->pred.id))
		return NULL;
	for (int i = 0; i < rt->ntried; i++)
		if (rid_eq(&rt->tried[i], &r->pred.id))
			return NULL;
	return &r->pred;
}

/* A message to a super node whose address the sender names ("at", set by
 * the client's super node from the callee's record) goes there directly,
 * once: a ring route would take up to log2(N) hops. The address comes from
 * a client, so it is used only when this node already knows that Node-ID
 * (routing table, live links): a client must not make a super node open
 * connections to any HOST:PORT (a port scanner through the ring). Unknown:
 * the ring route, as without a hint. The hint is dropped from the
 * envelope, so that when the direct link fails the ring route does not try
 * it again at every hop; the link's hello proves the Node-ID. */
static const struct node *direct_hop(struct route *rt, struct node *n)
{
	json_t *at = json_object_get(rt->env, "at");
	struct node hint;
	int ok;

	if (at == NULL)
		return NULL;
	ok = rt->node_mode && node_from_json(at, &hint) == 0 && rid_eq(&hint.id, &rt->dest) &&
	     !rid_eq(&hint.id, &rt->sn->self.id) && conn_known_node(rt->sn, &hint.id, n) == 0;
	if (ok && (strcmp(hint.host, n->host) != 0 || hint.port != n->port))
		log_debug("direct hop: %s:%u named, %s:%u known for that Node-ID", hint.host,
			  hint.port, n->host, n->port);
	json_object_del(rt->env, "at");
	return ok ? n : NULL;
}

static void try_next(struct route *rt)
{
	struct sn *sn = rt->sn;
	const struct node *hop;
	struct node direct;
	json_t *fwd;
	int back;

	/* A failed hop may have made this node responsible. */
	if (rt->ntried > 0 && deliver_here(rt))
		return;
	hop = step_back(rt);
	back = hop != NULL;
	if (back)
		sn->stats.stepped_back++;
	if (!back)
		hop = direct_hop(rt, &direct);
	rt->hop_direct = hop != NULL && !back;
	if (!back && hop == NULL)
		hop = ring_next_hop(&sn->ring, &rt->dest, rt->tried, rt->ntried);

	if (hop == NULL) {
		/* Every candidate failed: perhaps this node is now responsible. */
		if (!deliver_here(rt))
			finish(rt, route_error("unreachable", "no live super node on the way"));
		return;
	}
	rt->hop = *hop;
	rt->tried[rt->ntried++] = hop->id;
	fwd = json_deep_copy(rt->env);
	json_object_set_new(fwd, "t", json_string("route"));
	json_object_set_new(fwd, "final",
			    json_boolean(back || ring_owner_known(&sn->ring, &rt->dest, hop)));
	sn->stats.forwarded++;
	peer_request(sn, &rt->hop, fwd, (int)sn->cfg.request_timeout_ms, on_hop_reply, rt);
}

/* Takes over env (consumed) and runs the request from this hop on. */
static void route_run(struct sn *sn, json_t *env, route_done_t done, void *arg)
{
	struct route *rt = calloc(1, sizeof(*rt));
	const char *dest = json_string_value(json_object_get(env, "dest"));
	const char *mode = json_string_value(json_object_get(env, "mode"));
	json_int_t ttl = json_integer_value(json_object_get(env, "ttl"));
	json_t *path = json_object_get(env, "path");

	if (rt == NULL) {
		json_decref(env);
		json_t *e = route_error("busy", "out of memory");
		done(e, arg);
		json_decref(e);
		return;
	}
	rt->sn = sn;
	rt->env = env;
	rt->done = done;
	rt->arg = arg;
	rid_parse(dest, &rt->dest);
	rt->node_mode = strcmp(mode, "node") == 0;
	if (json_is_array(path)) {
		char hex[RID_HEX_LEN + 1];
		rid_hex(&sn->self.id, hex);
		json_array_append_new(path, json_string(hex));
	}
	if (deliver_here(rt))
		return;
	if (ttl <= 0) {
		finish(rt, route_error("loop", "hop limit reached"));
		return;
	}
	json_object_set_new(env, "ttl", json_integer(ttl - 1));
	json_object_set_new(env, "hops",
			    json_integer(json_integer_value(json_object_get(env, "hops")) + 1));
	try_next(rt);
}

void route_start(struct sn *sn, const struct rid *dest, const char *mode, json_t *inner,
		 int trace, json_t *at, route_done_t done, void *arg)
{
	char hex[RID_HEX_LEN + 1];
	json_t *env;

	rid_hex(dest, hex);
	env = json_pack("{s:s,s:s,s:i,s:i,s:o}", "dest", hex, "mode", mode, "hops", 0, "ttl",
			ROUTE_TTL, "req", inner);
	if (trace)
		json_object_set_new(env, "path", json_array());
	if (at != NULL)
		json_object_set_new(env, "at", at);
	sn->stats.lookups++;
	route_run(sn, env, done, arg);
}

/* ---- a route frame from a peer ---- */

struct incoming {
	struct conn *c;
	json_t *req; /* for the tid of the answer */
};

static void answer(json_t *reply, void *arg)
{
	struct incoming *in = arg;
	struct olink *l = conn_link(in->c);

	if (l != NULL)
		olink_reply(l, in->req, json_deep_copy(reply));
	conn_release(in->c);
	json_decref(in->req);
	free(in);
}

static int route_parse(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	(void)req; /* the envelope travels on as it is */
	return route_envelope_check(msg, err, errlen);
}

/* A "route" frame from a peer, its envelope checked. */
static void route_incoming(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct incoming *in;
	json_t *env;

	(void)req;
	in = calloc(1, sizeof(*in));
	if (in == NULL) {
		olink_reply_error(l, msg, "busy", "out of memory");
		return;
	}
	in->c = conn_of(l);
	conn_hold(in->c);
	in->req = json_incref(msg);
	env = json_deep_copy(msg);
	json_object_del(env, "t");
	json_object_del(env, "tid");
	if (sn->state != SN_JOINED) {
		/* A node still joining (or restarting under its old Node-ID) knows
		 * no range yet: the sender skips it and tries the next hop. */
		json_decref(env);
		olink_reply(l, msg, route_error("joining", "this super node is joining"));
		conn_release(in->c);
		json_decref(in->req);
		free(in);
		return;
	}
	route_run(sn, env, answer, in);
}

const struct sn_handler route_frames[] = {
	{"route", SN_FROM_PEER, 0, route_parse, route_incoming},
	{NULL, 0, 0, NULL, NULL},
};
