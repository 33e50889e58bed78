/* The return reachability test for an attached node that wants to become a
 * super node (self-selected super nodes), and the ring size it asks about.
 * The test connects back to the link's own peer address only, never to an
 * address the request names, at most once a minute per node. */
#include "supernode.h"

#include "certcheck.h"
#include "jsonx.h"
#include "log.h"
#include "tlsprobe.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define REACH_INTERVAL_SECS 60 /* one check per node a minute */
#define REACH_TIMEOUT_SECS 5   /* connect and TLS handshake */
#define REACH_INFLIGHT_MAX 16  /* checks under way at once, all links */
#define REACH_SLOTS 1024       /* nodes whose last check is remembered */

struct reach {
	struct sn *sn;
	struct conn *c; /* held: the link may close while we check */
	json_t *req;
	char account[NAME_MAX_LEN + 1];
	struct tlsprobe *probe; /* NULL once it called back */
};

static struct {
	struct rid id;
	int64_t at;
} last_check[REACH_SLOTS];
static int inflight;

/* 0 if the node may have a check now (and it is counted), else the seconds
 * to wait. The oldest slot is reused: a node pushed out only gets its check
 * sooner, and that needs REACH_SLOTS other nodes checked within a minute. */
static int64_t reach_allowed(const struct rid *id, int64_t now)
{
	int oldest = 0;

	for (int i = 0; i < REACH_SLOTS; i++) {
		if (rid_eq(&last_check[i].id, id)) {
			if (now - last_check[i].at < REACH_INTERVAL_SECS)
				return REACH_INTERVAL_SECS - (now - last_check[i].at);
			last_check[i].at = now;
			return 0;
		}
		if (last_check[i].at < last_check[oldest].at)
			oldest = i;
	}
	last_check[oldest].id = *id;
	last_check[oldest].at = now;
	return 0;
}

int ring_size_known(const struct sn *sn)
{
	return ring_count(&sn->ring);
}

static void reach_free(struct reach *r)
{
	tlsprobe_cancel(r->probe);
	json_decref(r->req);
	conn_release(r->c);
	inflight--;
	free(r);
}

static void reach_finish(struct reach *r, int ok, const char *why)
{
	struct olink *l = conn_link(r->c);

	log_info("reachability check of %s: %s", r->account, why);
	r->sn->stats.reach_checks++;
	r->sn->stats.reach_ok += ok != 0;
	if (l != NULL)
		olink_reply(l, r->req,
			    json_pack("{s:b,s:b,s:s,s:i}", "ok", 1, "reachable", ok, "why", why,
				      "ring_size", ring_size_known(r->sn)));
	reach_free(r);
}

/* What answered (NULL: why says what failed before): a valid super node
 * certificate of the link's account. */
static void reach_judge(X509 *peer, const char *why, void *arg)
{
	struct reach *r = arg;
	char role[ROLE_MAX], name[NAME_MAX_LEN + 1], cwhy[256];

	r->probe = NULL; /* freed by tlsprobe when we return */
	if (peer == NULL)
		reach_finish(r, 0, why);
	else if (certcheck_verify(r->sn->cc, peer, cwhy, sizeof(cwhy)) < 0)
		reach_finish(r, 0, cwhy);
	else if (cert_role(peer, role, sizeof(role)) < 0 || strcmp(role, ROLE_SUPERNODE) != 0)
		reach_finish(r, 0, "the certificate there is not a super node's");
	else if (cert_name(peer, name, sizeof(name)) < 0 || strcmp(name, r->account) != 0)
		reach_finish(r, 0, "the certificate there is another account's");
	else
		reach_finish(r, 1, "reachable");
}

/* {"t":"reach_check","port":P}: any other field (a "host") is ignored. */
static void c_reach(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	const struct olink_peer *p = olink_peer(l);
	struct reach *r;
	int64_t port = 0, wait;
	char err[128];

	(void)req;
	if (jx_int(msg, "port", 1, 65535, JX_REQUIRED, &port, err, sizeof(err)) < 0) {
		olink_reply_error(l, msg, "bad_request", "%s", err);
		return;
	}
	if (inflight >= REACH_INFLIGHT_MAX) {
		olink_reply_error(l, msg, "busy", "too many reachability checks under way");
		return;
	}
	if ((wait = reach_allowed(&p->id, time_now())) > 0) {
		sn->stats.reach_refused++;
		olink_reply_error(l, msg, "busy",
				  "one reachability check a minute: try again in %llds",
				  (long long)wait);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		olink_reply_error(l, msg, "busy", "out of memory");
		return;
	}
	inflight++;
	r->sn = sn;
	r->c = conn_of(l);
	conn_hold(r->c);
	r->req = json_incref(msg);
	str_copy(r->account, p->name, sizeof(r->account));
	log_info("reachability check of %s: connecting back to %s port %lld", p->name, p->addr,
		 (long long)port);
	/* the link's own peer address: never one a frame names */
	r->probe = tlsprobe_start(sn->base, sn->client_ctx, p->addr, (uint16_t)port,
				  REACH_TIMEOUT_SECS, reach_judge, r);
	if (r->probe == NULL)
		reach_finish(r, 0, "cannot connect");
}

/* {"t":"ring_size"}: the cheap question of the periodic demotion check. */
static void c_ring_size(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)req;
	olink_reply(l, msg, json_pack("{s:b,s:i}", "ok", 1, "ring_size", ring_size_known(sn)));
}

#define REQ (SN_NEEDS_TID | SN_NEEDS_JOINED)

const struct sn_handler reach_frames[] = {
	{"reach_check", SN_FROM_CLIENT, REQ, NULL, c_reach},
	{"ring_size", SN_FROM_CLIENT, REQ, NULL, c_ring_size},
	{NULL, 0, 0, NULL, NULL},
};
