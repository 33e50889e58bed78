/* Chord on the super nodes, after RELOAD's topology plugin: joining through
 * the admitting peer, periodic stabilisation, fingers, failure handling and a
 * graceful leave that hands the records over. Above the data (sn_data.c),
 * which it tells when the membership changes. */
#include "supernode.h"

#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define JOIN_TIMEOUT_MS 10000
#define LEAVE_TIMEOUT_MS 5000
#define FINGER_LOOKUPS 4 /* per stabilisation round */

static void membership_changed(struct sn *sn, const char *what)
{
	log_debug("ring: %s", what);
	data_membership_changed(sn);
}

json_t *chord_neighbors(struct sn *sn)
{
	const struct ring *r = &sn->ring;

	return json_pack("{s:o,s:o,s:o}", "node", node_to_json(&r->self), "pred",
			 r->has_pred ? node_to_json(&r->pred) : json_null(), "succs",
			 nodes_to_json(r->succ, r->nsucc));
}

void chord_node_failed(struct sn *sn, const struct rid *id)
{
	struct ring *r = &sn->ring;
	int changed = ring_forget(r, id);

	if (changed == 0)
		return;
	/* The predecessor died: its range is ours now. Our copies of it came
	 * as its replica holder, but a node that joined in front of our
	 * successor just before the death never got them; the successor, a
	 * replica holder, has them (a sync, as after a restart). */
	if (changed & 2)
		sn->need_reconcile = 1;
	/* With every successor gone, the predecessor is the best guess. */
	if (r->nsucc == 0 && r->has_pred)
		ring_set_succs(r, &r->pred, NULL, 0);
	membership_changed(sn, "a neighbour failed");
}

/* ---- stabilisation ---- */

struct stab {
	struct sn *sn;
	struct node succ;
};

static void on_succ_neighbors(json_t *reply, const char *err, void *arg)
{
	struct stab *st = arg;
	struct sn *sn = st->sn;
	struct ring *r = &sn->ring;
	struct node pred, list[SUCC_MAX];
	int n;

	if (reply == NULL) {
		log_info("successor %s:%u: %s", st->succ.host, st->succ.port, err);
		chord_node_failed(sn, &st->succ.id);
		free(st);
		return;
	}
	if (r->nsucc == 0 || !rid_eq(&r->succ[0].id, &st->succ.id) || sn->state != SN_JOINED) {
		free(st);
		return; /* the table moved on meanwhile */
	}
	n = nodes_from_json(json_object_get(reply, "succs"), list, SUCC_MAX);
	if (node_from_json(json_object_get(reply, "pred"), &pred) == 0 &&
	    rid_in_open(&pred.id, &r->self.id, &r->succ[0].id)) {
		/* A node joined between us and our successor. */
		struct node old[SUCC_MAX];
		int k = r->nsucc;
		memcpy(old, r->succ, sizeof(old[0]) * (size_t)k);
		ring_set_succs(r, &pred, old, k);
		membership_changed(sn, "new successor");
	} else if (n >= 0 && ring_set_succs(r, &st->succ, list, n)) {
		membership_changed(sn, "successor list changed");
	}
	peer_send(sn, &r->succ[0], json_pack("{s:s}", "t", "notify"));
	free(st);
}

static void on_pred_neighbors(json_t *reply, const char *err, void *arg)
{
	struct stab *st = arg;
	struct sn *sn = st->sn;
	struct node pp;

	if (reply == NULL) {
		log_info("predecessor %s:%u: %s", st->succ.host, st->succ.port, err);
		chord_node_failed(sn, &st->succ.id);
	} else if (sn->ring.has_pred && rid_eq(&sn->ring.pred.id, &st->succ.id)) {
		if (node_from_json(json_object_get(reply, "pred"), &pp) == 0)
			ring_set_pred2(&sn->ring, &pp);
	}
	free(st);
}

static void ask_neighbors(struct sn *sn, const struct node *n, peer_reply_t cb)
{
	struct stab *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return;
	st->sn = sn;
	st->succ = *n;
	peer_request(sn, n, json_pack("{s:s}", "t", "neighbors"), (int)sn->cfg.request_timeout_ms,
		     cb, st);
}

/* A new predecessor told us its own predecessor: what we hold in between is
 * its range, sent over as on a join (a value it has already is kept once). */
static void on_new_pred_neighbors(json_t *reply, const char *err, void *arg)
{
	struct stab *st = arg;
	struct sn *sn = st->sn;
	struct ring *r = &sn->ring;
	struct node pp;

	if (reply == NULL) {
		log_info("new predecessor %s:%u: %s", st->succ.host, st->succ.port, err);
		chord_node_failed(sn, &st->succ.id);
	} else if (r->has_pred && rid_eq(&r->pred.id, &st->succ.id) && sn->state == SN_JOINED) {
		if (node_from_json(json_object_get(reply, "pred"), &pp) == 0 &&
		    !rid_eq(&pp.id, &r->pred.id)) {
			ring_set_pred2(r, &pp);
			data_push(sn, &r->pred, &pp.id, &r->pred.id, "transfer", NULL, NULL);
		} else if (r->has_pred2) {
			data_push(sn, &r->pred, &r->pred2.id, &r->pred.id, "transfer", NULL, NULL);
		}
	}
	free(st);
}

struct finger_lookup {
	struct sn *sn;
	int i;
};

static void on_finger(json_t *reply, void *arg)
{
	struct finger_lookup *fl = arg;
	struct node n;

	if (json_is_true(json_object_get(reply, "ok")) &&
	    node_from_json(json_object_get(json_object_get(reply, "res"), "node"), &n) == 0)
		ring_set_finger(&fl->sn->ring, fl->i, &n);
	free(fl);
}

/* Fingers whose start lies within the successor's range are the successor;
 * the others are looked up a few at a time. */
static void fix_fingers(struct sn *sn)
{
	struct ring *r = &sn->ring;
	int lookups = 0;

	if (r->nsucc == 0)
		return;
	for (int k = 0; k < FINGERS && lookups < FINGER_LOOKUPS; k++) {
		int i = (sn->next_finger + k) % FINGERS;
		struct finger_lookup *fl;
		struct rid start;

		if (!ring_finger_needs_lookup(r, i)) {
			ring_set_finger(r, i, &r->succ[0]);
			continue;
		}
		fl = calloc(1, sizeof(*fl));
		if (fl == NULL)
			break;
		fl->sn = sn;
		fl->i = i;
		ring_finger_start(r, i, &start);
		route_start(sn, &start, "res", json_pack("{s:s}", "op", "find"), 0, NULL, on_finger,
			    fl);
		lookups++;
		sn->next_finger = (i + 1) % FINGERS;
	}
}

static void on_stabilize(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;
	struct ring *r = &sn->ring;

	(void)fd, (void)what;
	if (sn->state != SN_JOINED)
		return;
	if (sn->need_reconcile)
		data_reconcile(sn); /* a refused sync is tried again */
	if (r->nsucc > 0)
		ask_neighbors(sn, &r->succ[0], on_succ_neighbors);
	if (r->has_pred)
		ask_neighbors(sn, &r->pred, on_pred_neighbors);
	fix_fingers(sn);
}

static int stabilize_start(struct sn *sn)
{
	struct timeval tv = {sn->cfg.stabilize_ms / 1000, (sn->cfg.stabilize_ms % 1000) * 1000};

	sn->stabilize_timer = event_new(sn->base, -1, EV_PERSIST, on_stabilize, sn);
	return sn->stabilize_timer != NULL && event_add(sn->stabilize_timer, &tv) == 0 ? 0 : -1;
}

/* ---- messages from other super nodes ---- */

static void got_neighbors(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)req;
	olink_reply(l, msg, chord_neighbors(sn));
}

static void got_ping(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)req;
	olink_reply(l, msg, json_pack("{s:o}", "node", node_to_json(&sn->self)));
}

static void got_notify(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct ring *r = &sn->ring;
	struct node n;
	int changed = 0;

	(void)msg, (void)req;
	if (conn_of(l) == NULL || sn->state != SN_JOINED)
		return;
	if (conn_peer_node(l, &n) < 0)
		return;
	if (ring_offer_pred(r, &n)) {
		changed = 1;
		log_info("new predecessor %s:%u", n.host, n.port);
		/* It sits inside the range we answered for (it joined in front
		 * of our old predecessor, which then died): values for its range
		 * that nodes not yet aware of it stored with us are its to hold,
		 * and a fetch routed to it would miss them. Where its range
		 * starts, it says itself: our own pred2 may be unknown (the old
		 * predecessor died before we asked it) or stale. */
		ask_neighbors(sn, &r->pred, on_new_pred_neighbors);
	}
	/* A node between us and our successor is our new successor. */
	if (r->nsucc == 0 || rid_in_open(&n.id, &r->self.id, &r->succ[0].id)) {
		struct node old[SUCC_MAX];
		int k = r->nsucc;
		memcpy(old, r->succ, sizeof(old[0]) * (size_t)k);
		ring_set_succs(r, &n, old, k);
		changed = 1;
		log_info("new successor %s:%u", n.host, n.port);
	}
	if (changed)
		membership_changed(sn, "notify");
}

struct admission {
	struct sn *sn;
	struct conn *c;
	json_t *msg;
	struct node joiner;
	struct node pred; /* what the joiner's predecessor will be */
	int has_pred;
};

static void admit_reply(struct admission *a)
{
	struct ring *r = &a->sn->ring;
	struct olink *l = conn_link(a->c);
	struct node list[SUCC_MAX + 1];

	list[0] = r->self;
	memcpy(list + 1, r->succ, sizeof(list[0]) * (size_t)r->nsucc);
	if (l != NULL)
		olink_reply(l, a->msg,
			    json_pack("{s:o,s:o}", "pred",
				      a->has_pred ? node_to_json(&a->pred) : json_null(), "succs",
				      nodes_to_json(list, r->nsucc + 1)));
	conn_release(a->c);
	json_decref(a->msg);
	free(a);
}

/* The joiner has its range: it becomes our predecessor, then hears back. */
static void transferred(void *arg, int ok)
{
	struct admission *a = arg;
	struct sn *sn = a->sn;
	struct ring *r = &sn->ring;

	if (!ok || conn_link(a->c) == NULL) {
		log_warn("admission of %s:%u failed: transfer %s", a->joiner.host, a->joiner.port,
			 ok ? "link lost" : "failed");
		if (conn_link(a->c) != NULL)
			olink_reply_error(conn_link(a->c), a->msg, "unreachable", "transfer failed");
		conn_release(a->c);
		json_decref(a->msg);
		free(a);
		return;
	}
	ring_set_pred(r, &a->joiner);
	if (r->nsucc == 0)
		ring_set_succs(r, &a->joiner, NULL, 0);
	log_info("admitted %s:%u", a->joiner.host, a->joiner.port);
	admit_reply(a);
	membership_changed(sn, "admitted a joiner");
}

static void got_join(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct ring *r = &sn->ring;
	struct admission *a;
	int rejoin;

	(void)req;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		olink_reply_error(l, msg, "busy", "out of memory");
		return;
	}
	if (sn->state != SN_JOINED || conn_peer_node(l, &a->joiner) < 0) {
		free(a);
		olink_reply_error(l, msg, "joining", "not ready to admit");
		return;
	}
	rejoin = r->has_pred && rid_eq(&a->joiner.id, &r->pred.id);
	if (!rejoin && !ring_responsible(r, &a->joiner.id)) {
		/* Another node joined in front of us meanwhile: point there. */
		free(a);
		olink_reply(l, msg,
			    json_pack("{s:b,s:s,s:s,s:o}", "ok", 0, "err", "not_responsible", "msg",
				      "not the successor of that Node-ID", "hint",
				      r->has_pred ? node_to_json(&r->pred) : json_null()));
		return;
	}
	a->sn = sn;
	a->c = conn_of(l);
	conn_hold(a->c);
	a->msg = json_incref(msg);
	if (rejoin) {
		/* A node back under its old Node-ID kept its records and pulls
		 * what changed itself; its predecessor is the one before it. */
		a->pred = r->pred2;
		a->has_pred = r->has_pred2;
		log_info("readmitted %s:%u", a->joiner.host, a->joiner.port);
		admit_reply(a);
		return;
	}
	/* The joiner's range is (our predecessor, joiner]; alone, (us, joiner]. */
	a->pred = r->has_pred ? r->pred : r->self;
	a->has_pred = 1;
	data_push(sn, &a->joiner, &a->pred.id, &a->joiner.id, "transfer", transferred, a);
}

static void got_leave(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct ring *r = &sn->ring;
	struct node n, pred, list[SUCC_MAX];
	int k;

	(void)req;
	if (conn_peer_node(l, &n) < 0)
		return;
	log_info("%s:%u leaves the ring", n.host, n.port);
	if (r->has_pred && rid_eq(&r->pred.id, &n.id)) {
		if (node_from_json(json_object_get(msg, "pred"), &pred) == 0)
			ring_set_pred(r, &pred);
		else
			ring_set_pred(r, NULL);
	}
	if (r->nsucc > 0 && rid_eq(&r->succ[0].id, &n.id)) {
		k = nodes_from_json(json_object_get(msg, "succs"), list, SUCC_MAX);
		if (k > 0)
			ring_set_succs(r, &list[0], list + 1, k - 1);
	}
	ring_forget(r, &n.id);
	if (r->nsucc == 0 && r->has_pred)
		ring_set_succs(r, &r->pred, NULL, 0);
	membership_changed(sn, "a neighbour left");
}

const struct sn_handler chord_frames[] = {
	{"neighbors", SN_FROM_PEER, 0, NULL, got_neighbors},
	{"ping", SN_FROM_PEER, 0, NULL, got_ping},
	{"notify", SN_FROM_PEER, 0, NULL, got_notify},
	{"join", SN_FROM_PEER, 0, NULL, got_join},
	{"leave", SN_FROM_PEER, 0, NULL, got_leave},
	{NULL, 0, 0, NULL, NULL},
};

/* ---- routed requests for this node ---- */

static void answer_now(json_t *reply, route_done_t done, void *arg)
{
	done(reply, arg);
	json_decref(reply);
}

/* "find" (a lookup: who is responsible) and "ping" both name this node. */
static void op_find(struct sn *sn, json_t *inner, route_done_t done, void *arg)
{
	(void)inner;
	answer_now(route_ok(json_pack("{s:o}", "node", node_to_json(&sn->self))), done, arg);
}

static void op_neighbors(struct sn *sn, json_t *inner, route_done_t done, void *arg)
{
	(void)inner;
	answer_now(route_ok(chord_neighbors(sn)), done, arg);
}

const struct sn_op chord_ops[] = {
	{"find", op_find},
	{"ping", op_find},
	{"neighbors", op_neighbors},
	{NULL, NULL},
};

/* ---- joining ---- */

#define JOIN_HINTS 8     /* refusals followed to the node they point at */
#define JOIN_ROUNDS 30   /* passes over the seeds before giving up */
#define JOIN_RETRY_MS 500

struct join {
	struct sn *sn;
	struct node seeds[16];
	int nseeds, next;
	int rounds;
	int hints;
	int reachable; /* some seed answered in this pass */
	struct node ap; /* the admitting peer */
};

static void join_next_seed(struct join *j);
static void ask_join(struct join *j);

static void joined(struct join *j)
{
	struct sn *sn = j->sn;

	sn->state = SN_JOINED;
	log_info("joined the ring: successor %s:%u%s", sn->ring.succ[0].host,
		 sn->ring.succ[0].port, sn->ring.has_pred ? "" : ", predecessor not yet known");
	if (sn->ring.has_pred)
		peer_send(sn, &sn->ring.pred, json_pack("{s:s}", "t", "notify"));
	free(j);
	data_reconcile(sn);
	data_membership_changed(sn);
	boot_joined(sn);
}

static void on_join_reply(json_t *reply, const char *err, void *arg)
{
	struct join *j = arg;
	struct sn *sn = j->sn;
	struct node pred, list[SUCC_MAX + 1];
	int n;

	if (reply != NULL && !json_is_true(json_object_get(reply, "ok"))) {
		struct node hint;
		j->reachable = 1;
		/* Someone joined just before us: the refusal names our successor. */
		if (node_from_json(json_object_get(reply, "hint"), &hint) == 0 &&
		    !rid_eq(&hint.id, &sn->self.id) && j->hints++ < JOIN_HINTS &&
		    !rid_eq(&hint.id, &j->ap.id)) {
			j->ap = hint;
			log_info("join: trying %s:%u instead", hint.host, hint.port);
			ask_join(j);
			return;
		}
		log_info("join through %s:%u refused: %s", j->ap.host, j->ap.port,
			 json_string_value(json_object_get(reply, "msg")));
		join_next_seed(j);
		return;
	}
	if (reply == NULL) {
		log_info("join through %s:%u failed: %s", j->ap.host, j->ap.port, err);
		join_next_seed(j);
		return;
	}
	n = nodes_from_json(json_object_get(reply, "succs"), list, SUCC_MAX + 1);
	if (n <= 0) {
		join_next_seed(j);
		return;
	}
	ring_set_succs(&sn->ring, &list[0], list + 1, n - 1);
	if (node_from_json(json_object_get(reply, "pred"), &pred) == 0)
		ring_set_pred(&sn->ring, &pred);
	joined(j);
}

static void on_found(json_t *reply, const char *err, void *arg)
{
	struct join *j = arg;
	struct sn *sn = j->sn;
	json_t *res = reply != NULL ? json_object_get(reply, "res") : NULL;

	if (reply != NULL)
		j->reachable = 1;
	if (reply == NULL || !json_is_true(json_object_get(reply, "ok")) ||
	    node_from_json(json_object_get(res, "node"), &j->ap) < 0) {
		log_info("finding our successor through a seed failed: %s",
			 reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err);
		join_next_seed(j);
		return;
	}
	if (rid_eq(&j->ap.id, &sn->self.id)) {
		join_next_seed(j);
		return;
	}
	j->reachable = 1;
	j->hints = 0;
	ask_join(j);
}

static void ask_join(struct join *j)
{
	log_info("joining through %s:%u", j->ap.host, j->ap.port);
	peer_request(j->sn, &j->ap, json_pack("{s:s}", "t", "join"), JOIN_TIMEOUT_MS,
		     on_join_reply, j);
}

static void on_join_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	join_next_seed(arg);
}

static void join_next_seed(struct join *j)
{
	struct sn *sn = j->sn;
	char hex[RID_HEX_LEN + 1];
	json_t *route;

	while (j->next < j->nseeds && rid_eq(&j->seeds[j->next].id, &sn->self.id))
		j->next++;
	if (j->next >= j->nseeds) {
		/* A ring of one only when no seed could be reached at all; a ring
		 * that refused us (others joining at the same time) is retried. */
		if (!j->reachable || ++j->rounds >= JOIN_ROUNDS) {
			log_warn("%s: forming a ring of one",
				 j->reachable ? "no seed admitted us" : "no seed reachable");
			sn->state = SN_JOINED;
			free(j);
			boot_joined(sn);
			return;
		}
		struct timeval tv = {0, JOIN_RETRY_MS * 1000};
		j->next = 0;
		j->reachable = 0;
		event_base_once(sn->base, -1, EV_TIMEOUT, on_join_retry, j, &tv);
		return;
	}
	rid_hex(&sn->self.id, hex);
	/* The seed routes "find" for our own Node-ID; the answer is the node
	 * that is (or still thinks it is) our successor. */
	route = json_pack("{s:s,s:s,s:s,s:i,s:i,s:{s:s,s:s}}", "t", "route", "dest", hex, "mode",
			  "res", "hops", 0, "ttl", ROUTE_TTL, "req", "op", "find", "joiner", hex);
	peer_request(sn, &j->seeds[j->next++], route, JOIN_TIMEOUT_MS, on_found, j);
}

int chord_start(struct sn *sn, const struct node *seeds, int nseeds)
{
	struct join *j;

	if (stabilize_start(sn) < 0)
		return -1;
	if (nseeds == 0) {
		log_info("no other super node: forming a ring of one");
		sn->state = SN_JOINED;
		boot_joined(sn);
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return -1;
	j->sn = sn;
	j->nseeds = nseeds < 16 ? nseeds : 16;
	memcpy(j->seeds, seeds, sizeof(seeds[0]) * (size_t)j->nseeds);
	sn->state = SN_JOINING;
	join_next_seed(j);
	return 0;
}

/* ---- leaving ---- */

static void left(struct sn *sn)
{
	struct ring *r = &sn->ring;

	if (r->has_pred)
		peer_send(sn, &r->pred,
			  json_pack("{s:s,s:o}", "t", "leave", "succs",
				    nodes_to_json(r->succ, r->nsucc)));
	if (r->nsucc > 0)
		peer_send(sn, &r->succ[0],
			  json_pack("{s:s,s:o}", "t", "leave", "pred",
				    r->has_pred ? node_to_json(&r->pred) : json_null()));
	log_info("left the ring");
	boot_leave(sn, sn->on_left);
}

void chord_leave(struct sn *sn)
{
	if (sn->state != SN_JOINED) {
		sn->state = SN_LEAVING;
		boot_leave(sn, sn->on_left);
		return;
	}
	sn->state = SN_LEAVING;
	if (sn->stabilize_timer != NULL)
		event_del(sn->stabilize_timer);
	data_handover(sn, left);
}
