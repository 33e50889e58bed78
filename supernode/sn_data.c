/* The data of the ring: store and fetch at the responsible node, replication
 * to the next successors (batched, acknowledged before the store is), pushes
 * of whole ranges (join transfer, handover, re-replication, reconciliation),
 * expiry and persistence. */
#include "supernode.h"

#include "certcheck.h"
#include "jsonx.h"
#include "log.h"
#include "sn_db.h"
#include "ratelimit.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define REP_BATCH 64  /* values per "rep" frame */
#define PUSH_WINDOW 4 /* "rep" frames in flight per push */

/* Refusals of what peers or clients ask are logged within a budget: a
 * flood must not fill the log. */
static struct log_limit refusal_log;
#define PUSH_RETRIES 10    /* a frame answered "busy" is sent again ... */
#define PUSH_RETRY_MS 1000 /* ... after this long */
#define PEER_SLOTS 256     /* peers whose rates are tracked at once */
/* stores added to a join transfer while it runs: 4 MiB of keys at most */
#define TRANSFER_NOTED_MAX 65536

/* ---- loading and persistence ---- */

static void load_one(struct record *r, void *arg)
{
	struct sn *sn = arg;

	if (store_put(sn->store, r, now_ms(), NULL, NULL) != STORE_OK)
		record_clear(r);
}

int data_load(struct sn *sn)
{
	int n = sdb_load(sn->db, load_one, sn);

	if (n < 0)
		return -1;
	log_info("%zu values loaded from %s", store_values(sn->store), sn->cfg.database);
	if (n > 0)
		sn->need_reconcile = 1;
	return 0;
}

static void forget_expired(const struct record *r, void *arg)
{
	sdb_delete(arg, r);
}

void data_expire(struct sn *sn)
{
	int n = store_expire(sn->store, now_ms(), forget_expired, sn->db);

	if (n > 0)
		log_debug("%d values expired", n);
}

/* The limits a copy from another super node must pass: the same size,
 * lifetime and per-resource limits as a client's store. Only the quota per
 * user is wider: this node holds its own range and replicas of the ranges
 * of up to `replicas` predecessors, each within the quota at its owner. */
static void copy_limits(const struct sn *sn, struct store_limits *lim)
{
	*lim = sn->limits;
	lim->records_per_user *= (int)sn->cfg.replicas + 1;
}

static void transfers_note(struct sn *sn, const struct record *r);

/* Keeps a copy pushed by another super node (replica, transfer, handover,
 * sync). The pusher is a super node of the overlay, but it is checked all
 * the same (DESIGN.md, Trust): a compromised one must not plant values,
 * newer storage times that would lock the owner out, or more and larger
 * values than the overlay allows (it would fill every node's disk). The
 * signer's certificate must have been valid when the value was signed, so
 * that values outlive short-lived certificates across handovers. 1 kept,
 * 0 not newer than what is held, -1 refused. */
static int keep(struct sn *sn, struct record *r)
{
	const struct record *held;
	struct store_limits lim;
	enum store_rc rc;
	char err[256];

	if (certcheck_record(sn->cc, r, sn->cfg.overlay, err, sizeof(err)) < 0) {
		sn->stats.rep_refused++;
		log_debug("copy of %s refused: %s", r->name, err);
		return -1;
	}
	copy_limits(sn, &lim);
	rc = store_put(sn->store, r, now_ms(), &lim, &held);
	if (rc == STORE_TOO_BIG || rc == STORE_TOO_LONG || rc == STORE_FULL || rc == STORE_QUOTA) {
		sn->stats.rep_refused++;
		log_debug("copy of %s refused: %s", r->name, store_rc_str(rc));
		return -1;
	}
	if (rc != STORE_OK)
		return 0;
	sdb_put(sn->db, held);
	transfers_note(sn, held);
	return 1;
}

/* ---- replication of single stores, batched per successor ---- */

struct store_op {
	int waiting; /* replica acknowledgements still to come */
	route_done_t done;
	void *arg;
};

struct repq {
	struct node to;
	json_t *vals;
	struct store_op **ops;
	int n, cap;
	struct repq *next;
};

struct rep_sent {
	struct sn *sn;
	struct store_op **ops;
	int n;
};

static void op_ack(struct store_op *op)
{
	if (--op->waiting > 0)
		return;
	json_t *ok = route_ok(json_pack("{s:b}", "stored", 1));
	op->done(ok, op->arg);
	json_decref(ok);
	free(op);
}

static void on_rep_ack(json_t *reply, const char *err, void *arg)
{
	struct rep_sent *rs = arg;

	/* A lost replica is repaired by the next re-replication; the store is
	 * confirmed either way. */
	if (reply == NULL)
		log_info("replica not acknowledged: %s", err);
	for (int i = 0; i < rs->n; i++)
		op_ack(rs->ops[i]);
	free(rs->ops);
	free(rs);
}

static void rep_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;

	(void)fd, (void)what;
	while (sn->repq != NULL) {
		struct repq *q = sn->repq;
		struct rep_sent *rs = calloc(1, sizeof(*rs));
		sn->repq = q->next;
		if (rs == NULL) {
			for (int i = 0; i < q->n; i++)
				op_ack(q->ops[i]);
			free(q->ops);
			json_decref(q->vals);
			free(q);
			continue;
		}
		rs->sn = sn;
		rs->ops = q->ops;
		rs->n = q->n;
		sn->stats.replicated_out += (uint64_t)q->n;
		peer_request(
			sn, &q->to,
			json_pack("{s:s,s:s,s:o}", "t", "rep", "why", "replica", "vals", q->vals),
			(int)sn->cfg.request_timeout_ms, on_rep_ack, rs);
		free(q);
	}
}

static int enqueue_rep(struct sn *sn, const struct node *to, json_t *val, struct store_op *op)
{
	struct repq *q;

	for (q = sn->repq; q != NULL; q = q->next)
		if (rid_eq(&q->to.id, &to->id) && q->n < REP_BATCH)
			break;
	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return -1;
		q->to = *to;
		q->vals = json_array();
		q->next = sn->repq;
		sn->repq = q;
	}
	if (q->n == q->cap) {
		int cap = q->cap ? 2 * q->cap : 8;
		struct store_op **no = realloc(q->ops, (size_t)cap * sizeof(*no));
		if (no == NULL)
			return -1;
		q->ops = no;
		q->cap = cap;
	}
	json_array_append(q->vals, val);
	q->ops[q->n++] = op;
	op->waiting++;
	/* Everything handled in this turn of the loop leaves in one frame. */
	event_active(sn->rep_flush, EV_TIMEOUT, 0);
	return 0;
}

/* Confirms the store once every live replica holder has it. */
static void replicate(struct sn *sn, json_t *val, route_done_t done, void *arg)
{
	struct store_op *op = calloc(1, sizeof(*op));
	int k = (int)sn->cfg.replicas;

	if (op == NULL) {
		json_t *e = route_error("busy", "out of memory");
		done(e, arg);
		json_decref(e);
		return;
	}
	op->done = done;
	op->arg = arg;
	op->waiting = 1; /* held until every replica is queued */
	for (int i = 0; i < sn->ring.nsucc && i < k; i++)
		enqueue_rep(sn, &sn->ring.succ[i], val, op);
	op_ack(op);
}

/* ---- requests that reached their destination ---- */

static const char *rc_code(enum store_rc rc)
{
	switch (rc) {
	case STORE_STALE:
	case STORE_EXPIRED:
	case STORE_FUTURE:
		return "stale";
	case STORE_NOMEM:
		return "busy";
	default:
		return "limit";
	}
}

static void do_store(struct sn *sn, json_t *inner, route_done_t done, void *arg)
{
	json_t *val = json_object_get(inner, "val");
	struct record r;
	char err[256];
	enum store_rc rc;
	const struct record *held = NULL;
	json_t *e = NULL;

	if (record_from_json(val, &r, err, sizeof(err)) < 0) {
		e = route_error("bad_request", "%s", err);
	} else if (certcheck_verify(sn->cc, r.cert, err, sizeof(err)) < 0 ||
		   record_access_ok(&r, sn->cfg.overlay, err, sizeof(err)) < 0) {
		e = route_error("not_allowed", "%s", err);
	} else if (!record_sig_ok(&r)) {
		e = route_error("not_allowed", "signature does not verify");
	} else if ((rc = store_put(sn->store, &r, now_ms(), &sn->limits, &held)) != STORE_OK) {
		e = route_error(rc_code(rc), "%s", store_rc_str(rc));
	}
	if (e != NULL) {
		sn->stats.store_refused++;
		log_debug("store of %s refused: %s", r.name[0] ? r.name : "?",
			  json_string_value(json_object_get(e, "msg")));
		record_clear(&r);
		done(e, arg);
		json_decref(e);
		return;
	}
	sn->stats.stores++;
	sdb_put(sn->db, held);
	transfers_note(sn, held);
	replicate(sn, val, done, arg);
}

static void do_fetch(struct sn *sn, json_t *inner, route_done_t done, void *arg)
{
	const char *name = NULL;
	struct rid res;
	const struct record *v;
	json_t *vals = json_array();
	json_t *reply;
	uint64_t now = now_ms();
	int n;

	if (jx_str(inner, "name", RECORD_NAME_MAX, JX_REQUIRED, &name, NULL, 0) < 0) {
		json_decref(vals);
		reply = route_error("bad_request", "fetch needs a name");
		done(reply, arg);
		json_decref(reply);
		return;
	}
	sn->stats.fetches++;
	rid_of_name(name, &res);
	v = store_get(sn->store, &res, &n);
	for (int i = 0; i < n; i++)
		if (!v[i].deleted && !record_is_expired(&v[i], now) && strcmp(v[i].name, name) == 0)
			json_array_append_new(vals, record_to_json(&v[i]));
	reply = route_ok(json_pack("{s:o}", "vals", vals));
	done(reply, arg);
	json_decref(reply);
}

const struct sn_op data_ops[] = {
	{"store", do_store},
	{"fetch", do_fetch},
	{NULL, NULL},
};

/* ---- whole ranges ---- */

struct key {
	struct rid res, owner;
};

struct push {
	struct sn *sn;
	struct node to;
	char why[16];
	struct key *keys;
	size_t n, next, cap;
	int inflight, failed;
	void (*done)(void *arg, int ok);
	void *arg;
	struct rid lo, hi;          /* a transfer: the range (lo, hi] */
	struct push *next_transfer; /* in sn->transfers while under way */
	size_t noted;               /* stores added to it while under way */
};

static void collect(const struct record *r, void *arg)
{
	struct push *p = arg;

	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct key *nk = realloc(p->keys, cap * sizeof(*nk));
		if (nk == NULL)
			return;
		p->keys = nk;
		p->cap = cap;
	}
	p->keys[p->n].res = r->res;
	p->keys[p->n].owner = r->owner;
	p->n++;
}

static void push_pump(struct push *p);

/* A join transfer sends what we held when it started; a store into the
 * joiner's range that lands here before the transfer is done (we are
 * still responsible until then) would reach neither the joiner nor, later,
 * a fetch routed to it. It joins the transfer's list instead. */
static void transfers_note(struct sn *sn, const struct record *r)
{
	for (struct push *p = sn->transfers; p != NULL; p = p->next_transfer) {
		if (!rid_in_half(&r->res, &p->lo, &p->hi))
			continue;
		/* Bounded: stores into the range faster than the joiner takes
		 * copies ([limits] copy_rate) would keep the transfer from ever
		 * ending and its list growing. Past the bound the joiner misses
		 * them until their owners store them again. */
		if (p->noted++ == TRANSFER_NOTED_MAX)
			log_warn("transfer to %s:%u: over %d stores into its range while it"
				 " runs; the others are left to their owners' next store",
				 p->to.host, p->to.port, TRANSFER_NOTED_MAX);
		if (p->noted <= TRANSFER_NOTED_MAX)
			collect(r, p);
	}
}

static void transfer_done(struct push *p)
{
	for (struct push **pp = &p->sn->transfers; *pp != NULL; pp = &(*pp)->next_transfer)
		if (*pp == p) {
			*pp = p->next_transfer;
			return;
		}
}

/* One "rep" frame of a push, kept until acknowledged: a receiver that
 * limits the copies it takes per second answers "busy", and the frame is
 * sent again a little later. */
struct push_frame {
	struct push *p;
	json_t *vals;
	int tries;
};

static void push_send(struct push_frame *f);

static void push_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	push_send(arg);
}

static int is_busy(const json_t *reply)
{
	const char *code = json_string_value(json_object_get(reply, "err"));

	return code != NULL && strcmp(code, "busy") == 0;
}

static void on_push_ack(json_t *reply, const char *err, void *arg)
{
	struct push_frame *f = arg;
	struct push *p = f->p;
	struct timeval tv = {PUSH_RETRY_MS / 1000, (PUSH_RETRY_MS % 1000) * 1000};

	if (reply != NULL && is_busy(reply) && f->tries < PUSH_RETRIES && !p->failed &&
	    event_base_once(p->sn->base, -1, EV_TIMEOUT, push_retry, f, &tv) == 0)
		return;
	p->inflight--;
	if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
		log_info("push to %s:%u failed: %s", p->to.host, p->to.port,
			 reply != NULL ? "refused" : err);
		p->failed = 1;
	}
	json_decref(f->vals);
	free(f);
	push_pump(p);
}

static void push_send(struct push_frame *f)
{
	struct push *p = f->p;

	f->tries++;
	peer_request(p->sn, &p->to,
		     json_pack("{s:s,s:s,s:O}", "t", "rep", "why", p->why, "vals", f->vals),
		     (int)p->sn->cfg.request_timeout_ms, on_push_ack, f);
}

/* The next frame's worth of values that still exist. */
static json_t *next_frame(struct push *p)
{
	json_t *vals = json_array();
	uint64_t now = now_ms();

	while (p->next < p->n && json_array_size(vals) < REP_BATCH) {
		const struct key *k = &p->keys[p->next++];
		const struct record *v;
		int n;
		v = store_get(p->sn->store, &k->res, &n);
		for (int i = 0; i < n; i++)
			if (rid_eq(&v[i].owner, &k->owner) && !record_is_expired(&v[i], now))
				json_array_append_new(vals, record_to_json(&v[i]));
	}
	return vals;
}

static void push_pump(struct push *p)
{
	while (!p->failed && p->inflight < PUSH_WINDOW && p->next < p->n) {
		json_t *vals = next_frame(p);
		struct push_frame *f;
		if (json_array_size(vals) == 0 || (f = calloc(1, sizeof(*f))) == NULL) {
			p->failed = json_array_size(vals) != 0;
			json_decref(vals);
			continue;
		}
		f->p = p;
		f->vals = vals;
		p->inflight++;
		push_send(f);
	}
	if (p->inflight == 0 && (p->failed || p->next >= p->n)) {
		transfer_done(p);
		if (p->done != NULL)
			p->done(p->arg, !p->failed);
		free(p->keys);
		free(p);
	}
}

void data_push(struct sn *sn, const struct node *n, const struct rid *from, const struct rid *to,
	       const char *why, void (*done)(void *arg, int ok), void *arg)
{
	struct push *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		if (done != NULL)
			done(arg, 0);
		return;
	}
	p->sn = sn;
	p->to = *n;
	str_copy(p->why, why, sizeof(p->why));
	p->done = done;
	p->arg = arg;
	store_each_in(sn->store, from, to, collect, p);
	if (strcmp(why, "transfer") == 0) {
		p->lo = *from;
		p->hi = *to;
		p->next_transfer = sn->transfers;
		sn->transfers = p;
	}
	log_debug("pushing %zu values (%s) to %s:%u", p->n, why, n->host, n->port);
	push_pump(p);
}

/* Re-replication: our range to each replica holder, once per change of the
 * predecessor or of the first successors. */
static void on_push_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;
	struct ring *r = &sn->ring;
	char sig[sizeof(sn->pushed_sig)];
	size_t pos = 0;
	int k = (int)sn->cfg.replicas;

	(void)fd, (void)what;
	if (sn->state != SN_JOINED || !r->has_pred)
		return;
	rid_hex(&r->pred.id, sig);
	pos = RID_HEX_LEN;
	for (int i = 0; i < r->nsucc && i < k; i++) {
		rid_hex(&r->succ[i].id, sig + pos);
		pos += RID_HEX_LEN;
	}
	sig[pos] = '\0';
	if (strcmp(sig, sn->pushed_sig) == 0)
		return;
	str_copy(sn->pushed_sig, sig, sizeof(sn->pushed_sig));
	for (int i = 0; i < r->nsucc && i < k; i++)
		data_push(sn, &r->succ[i], &r->pred.id, &r->self.id, "replica", NULL, NULL);
}

void data_membership_changed(struct sn *sn)
{
	struct timeval tv = {sn->cfg.push_delay_ms / 1000, (sn->cfg.push_delay_ms % 1000) * 1000};

	if (sn->need_reconcile && sn->ring.has_pred && sn->state == SN_JOINED)
		data_reconcile(sn);
	if (sn->push_timer != NULL)
		event_add(sn->push_timer, &tv);
}

/* ---- reconciliation after a restart ---- */

static void on_sync(json_t *reply, const char *err, void *arg)
{
	struct sn *sn = arg;

	if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
		log_info("reconciliation with the successor failed: %s",
			 reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err);
		/* The successor may not see us as its predecessor yet, or its
		 * view of where our range starts is older than ours: again at
		 * the next change of the ring or stabilisation. */
		sn->need_reconcile = 1;
	} else
		log_info("reconciled with the successor");
}

void data_reconcile(struct sn *sn)
{
	struct ring *r = &sn->ring;
	char from[RID_HEX_LEN + 1], to[RID_HEX_LEN + 1];

	if (!sn->need_reconcile || r->nsucc == 0)
		return;
	if (!r->has_pred)
		return; /* once the predecessor is known */
	sn->need_reconcile = 0;
	rid_hex(&r->pred.id, from);
	rid_hex(&r->self.id, to);
	/* The successor held our range as a replica while we were away: it
	 * pushes its copies and keeping the newer of each settles it. */
	peer_request(sn, &r->succ[0],
		     json_pack("{s:s,s:s,s:s}", "t", "sync", "from", from, "to", to), 60000,
		     on_sync, sn);
}

/* ---- graceful leave ---- */

struct handover {
	struct sn *sn;
	void (*done)(struct sn *sn);
};

static void handed_over(void *arg, int ok)
{
	struct handover *h = arg;

	log_info("handover to the successor %s", ok ? "done" : "failed (replicas remain)");
	h->done(h->sn);
	free(h);
}

void data_handover(struct sn *sn, void (*done)(struct sn *sn))
{
	struct ring *r = &sn->ring;
	struct handover *h;

	if (r->nsucc == 0) {
		done(sn);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		done(sn);
		return;
	}
	h->sn = sn;
	h->done = done;
	data_push(sn, &r->succ[0], r->has_pred ? &r->pred.id : &r->self.id, &r->self.id, "handover",
		  handed_over, h);
}

/* ---- frames from other super nodes ---- */

/* Whether the peer on l may push n more copies now ([limits] copy_rate
 * values per second per super node): checking signatures costs, and a
 * rogue super node must not keep this node busy with it. */
static int copies_allowed(struct sn *sn, struct olink *l, size_t n)
{
	const struct rid *id = &olink_peer(l)->id;
	double rate = (double)sn->cfg.copy_rate;

	return rate_take(sn->copy_rates, id->b, sizeof(id->b), rate, 2 * rate, (double)n, now_ms());
}

static void got_rep(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	json_t *vals = json_object_get(msg, "vals");
	json_t *v;
	size_t i;
	int kept = 0, refused = 0, rc;

	(void)req;
	if (!json_is_array(vals)) {
		olink_reply_error(l, msg, "bad_request", "vals: expected a list");
		return;
	}
	if (!copies_allowed(sn, l, json_array_size(vals))) {
		sn->stats.copies_busy++;
		if (log_allowed(&refusal_log, LOG_LIMIT_PER_S))
			log_info("super node %s: copies over the rate limit, answered busy",
				 olink_peer(l)->name);
		olink_reply_error(l, msg, "busy", "too many copies: at most %lld a second",
				  (long long)sn->cfg.copy_rate);
		return;
	}
	json_array_foreach (vals, i, v) {
		struct record r;
		if (record_from_json(v, &r, NULL, 0) < 0) {
			refused++;
			continue;
		}
		rc = keep(sn, &r);
		kept += rc > 0;
		refused += rc < 0;
		if (rc <= 0)
			record_clear(&r);
	}
	if (refused > 0 && log_allowed(&refusal_log, LOG_LIMIT_PER_S))
		log_warn("super node %s: %d of %zu copies refused (checks or limits)",
			 olink_peer(l)->name, refused, json_array_size(vals));
	sn->stats.replicated_in += (uint64_t)kept;
	olink_reply(l, msg, json_pack("{s:i,s:i}", "kept", kept, "refused", refused));
}

struct sync_req {
	struct conn *c;
	json_t *msg;
};

static void synced(void *arg, int ok)
{
	struct sync_req *s = arg;
	struct olink *l = conn_link(s->c);

	if (l != NULL) {
		if (ok)
			olink_reply(l, s->msg, json_object());
		else
			olink_reply_error(l, s->msg, "unreachable", "push failed");
	}
	conn_release(s->c);
	json_decref(s->msg);
	free(s);
}

/* A sync is answered for the asker's own range or the replicas it holds
 * of ours (ring_sync_allowed), at most once per [limits] sync_interval per
 * super node (a burst of two): a push of a range is costly, and nobody has
 * a use for someone else's range. */
static int sync_check(struct sn *sn, const struct node *n, const struct rid *from,
		      const struct rid *to, char *err, size_t errlen)
{
	double every = (double)sn->cfg.sync_interval;

	if (!ring_sync_allowed(&sn->ring, &n->id, from, to, (int)sn->cfg.replicas)) {
		err_set(err, errlen, "not a range this super node holds");
		return -1;
	}
	if (!rate_take(sn->sync_rates, n->id.b, sizeof(n->id.b), 1.0 / every, 2, 1, now_ms())) {
		err_set(err, errlen, "at most one sync every %.0f s", every);
		return -2;
	}
	return 0;
}

static void got_sync(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	struct rid from, to;
	struct node n;
	struct sync_req *s;
	const char *f = json_string_value(json_object_get(msg, "from"));
	const char *t = json_string_value(json_object_get(msg, "to"));
	char err[128];
	int rc;

	(void)req;
	if (f == NULL || t == NULL || rid_parse(f, &from) < 0 || rid_parse(t, &to) < 0 ||
	    conn_peer_node(l, &n) < 0) {
		olink_reply_error(l, msg, "bad_request", "sync needs from and to");
		return;
	}
	if ((rc = sync_check(sn, &n, &from, &to, err, sizeof(err))) < 0) {
		sn->stats.syncs_refused++;
		if (log_allowed(&refusal_log, LOG_LIMIT_PER_S))
			log_warn("sync of (%s, %s] by %s:%u refused: %s", f, t, n.host, n.port,
				 err);
		olink_reply_error(l, msg, rc == -1 ? "not_allowed" : "busy", "%s", err);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		olink_reply_error(l, msg, "busy", "out of memory");
		return;
	}
	s->c = conn_of(l);
	conn_hold(s->c);
	s->msg = json_incref(msg);
	data_push(sn, &n, &from, &to, "sync", synced, s);
}

const struct sn_handler data_frames[] = {
	{"rep", SN_FROM_PEER, 0, NULL, got_rep},
	{"sync", SN_FROM_PEER, 0, NULL, got_sync},
	{NULL, 0, 0, NULL, NULL},
};

int data_start(struct sn *sn)
{
	sn->push_timer = evtimer_new(sn->base, on_push_timer, sn);
	sn->rep_flush = event_new(sn->base, -1, 0, rep_flush, sn);
	sn->copy_rates = rate_table_new(PEER_SLOTS);
	sn->sync_rates = rate_table_new(PEER_SLOTS);
	return sn->push_timer != NULL && sn->rep_flush != NULL && sn->copy_rates != NULL &&
			       sn->sync_rates != NULL
		       ? 0
		       : -1;
}

void data_stop(struct sn *sn)
{
	rep_flush(-1, 0, sn);
	if (sn->push_timer != NULL)
		event_free(sn->push_timer);
	if (sn->rep_flush != NULL)
		event_free(sn->rep_flush);
	sn->push_timer = sn->rep_flush = NULL;
	rate_table_free(sn->copy_rates);
	rate_table_free(sn->sync_rates);
	sn->copy_rates = sn->sync_rates = NULL;
}
