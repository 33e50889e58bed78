/* The super node's local status port: GET /status (JSON) and GET /metrics
 * (Prometheus text), plain HTTP, meant for 127.0.0.1. */
#include "supernode.h"

#include "crl.h"
#include "httpd.h"
#include "keepcert.h"
#include "prom.h"
#include "statusd.h"
#include "util.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_name(enum sn_state s)
{
	switch (s) {
	case SN_STARTING:
		return "starting";
	case SN_JOINING:
		return "joining";
	case SN_JOINED:
		return "joined";
	case SN_LEAVING:
		return "leaving";
	}
	return "?";
}

/* The counters of the limits on copies, syncs and deliveries. */
static void limit_stats(struct sn *sn, json_t *stats)
{
	json_object_set_new(stats, "copies_busy", json_integer((json_int_t)sn->stats.copies_busy));
	json_object_set_new(stats, "syncs_refused",
			    json_integer((json_int_t)sn->stats.syncs_refused));
	json_object_set_new(stats, "delivers_refused",
			    json_integer((json_int_t)sn->stats.delivers_refused));
}

json_t *status_json(struct sn *sn)
{
	struct ring *r = &sn->ring;
	char hex[RID_HEX_LEN + 1];
	json_t *j;

	rid_hex(&sn->self.id, hex);
	j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:i,s:I,s:I,s:i,s:i,s:I}", "node_id", hex, "state",
		      state_name(sn->state), "overlay", sn->cfg.overlay, "self",
		      node_to_json(&sn->self), "predecessor",
		      r->has_pred ? node_to_json(&r->pred) : json_null(), "successors",
		      nodes_to_json(r->succ, r->nsucc), "fingers_in_use", ring_fingers_in_use(r),
		      "values", (json_int_t)store_values(sn->store), "resources",
		      (json_int_t)store_resources(sn->store), "clients", conn_count(sn, CONN_CLIENT),
		      "peer_links", conn_count(sn, CONN_PEER), "uptime_ms",
		      (json_int_t)(now_ms() - sn->started_ms));
	json_object_set_new(j, "crl_number", json_integer(sn->crl != NULL ? sn->crl->number : -1));
	json_object_set_new(j, "ring_size", json_integer(ring_size_known(sn)));
	json_object_set_new(j, "reach_checks",
			    json_pack("{s:I,s:I,s:I}", "done", (json_int_t)sn->stats.reach_checks,
				      "reachable", (json_int_t)sn->stats.reach_ok, "refused",
				      (json_int_t)sn->stats.reach_refused));
	json_object_set_new(j, "stats",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "stores",
				      (json_int_t)sn->stats.stores, "store_refused",
				      (json_int_t)sn->stats.store_refused, "fetches",
				      (json_int_t)sn->stats.fetches, "lookups",
				      (json_int_t)sn->stats.lookups, "hops_total",
				      (json_int_t)sn->stats.hops_total, "forwarded",
				      (json_int_t)sn->stats.forwarded, "route_failures",
				      (json_int_t)sn->stats.route_failures, "replicated_out",
				      (json_int_t)sn->stats.replicated_out, "replicated_in",
				      (json_int_t)sn->stats.replicated_in, "replicas_refused",
				      (json_int_t)sn->stats.rep_refused, "delivered",
				      (json_int_t)sn->stats.delivered));
	json_object_set_new(j, "stun",
			    json_pack("{s:b,s:I,s:I,s:I}", "on", sn->stun != NULL, "requests",
				      (json_int_t)sn->stats.stun_requests, "dropped",
				      (json_int_t)sn->stats.stun_dropped, "bad",
				      (json_int_t)sn->stats.stun_bad));
	json_object_set_new(j, "relay", relay_status(sn));
	json_object_set_new(j, "login", keepcert_status(sn->kc));
	json_object_set_new(j, "cert_expires_in", json_integer(keepcert_expires_in(sn->kc)));
	json_object_set_new(json_object_get(j, "stats"), "stepped_back",
			    json_integer((json_int_t)sn->stats.stepped_back));
	limit_stats(sn, json_object_get(j, "stats"));
	json_object_set_new(j, "lan", sn_lan_status(sn));
	return j;
}

static json_t *status_of(void *arg)
{
	return status_json(arg);
}

static void metrics(void *arg, struct evbuffer *out)
{
	struct sn *sn = arg;

	prom_gauge(out, "p2psip_sn_values", "Values held (own range and replicas).",
		   (int64_t)store_values(sn->store));
	prom_gauge(out, "p2psip_sn_resources", NULL, (int64_t)store_resources(sn->store));
	prom_gauge(out, "p2psip_sn_login_failures",
		   "Failed attempts in a row to get the node's certificate (0: fine).",
		   keepcert_failures(sn->kc));
	prom_gauge(out, "p2psip_sn_cert_expiry_seconds",
		   "Seconds until the node's certificate ends (0: none).",
		   keepcert_expires_in(sn->kc));
	prom_gauge(out, "p2psip_sn_clients", NULL, conn_count(sn, CONN_CLIENT));
	prom_gauge(out, "p2psip_sn_peer_links", NULL, conn_count(sn, CONN_PEER));
	prom_gauge(out, "p2psip_sn_successors", NULL, sn->ring.nsucc);
	prom_gauge(out, "p2psip_sn_fingers_in_use", NULL, ring_fingers_in_use(&sn->ring));
	prom_gauge(out, "p2psip_sn_joined", NULL, sn->state == SN_JOINED);
	prom_counter(out, "p2psip_sn_stores_total", NULL, sn->stats.stores);
	prom_counter(out, "p2psip_sn_stores_refused_total", NULL, sn->stats.store_refused);
	prom_counter(out, "p2psip_sn_fetches_total", NULL, sn->stats.fetches);
	prom_counter(out, "p2psip_sn_lookups_total", NULL, sn->stats.lookups);
	prom_counter(out, "p2psip_sn_lookup_hops_total", NULL, sn->stats.hops_total);
	prom_counter(out, "p2psip_sn_forwarded_total", NULL, sn->stats.forwarded);
	prom_counter(out, "p2psip_sn_route_failures_total", NULL, sn->stats.route_failures);
	prom_counter(out, "p2psip_sn_replicated_out_total", NULL, sn->stats.replicated_out);
	prom_counter(out, "p2psip_sn_replicated_in_total", NULL, sn->stats.replicated_in);
	prom_counter(out, "p2psip_sn_replicas_refused_total", NULL, sn->stats.rep_refused);
	prom_counter(out, "p2psip_sn_delivered_total", NULL, sn->stats.delivered);
	prom_counter(out, "p2psip_sn_copies_busy_total", NULL, sn->stats.copies_busy);
	prom_counter(out, "p2psip_sn_syncs_refused_total", NULL, sn->stats.syncs_refused);
	prom_counter(out, "p2psip_sn_delivers_refused_total", NULL, sn->stats.delivers_refused);
	prom_counter(out, "p2psip_sn_stun_requests_total", NULL, sn->stats.stun_requests);
	prom_counter(out, "p2psip_sn_stun_dropped_total", NULL, sn->stats.stun_dropped);
	prom_counter(out, "p2psip_sn_stun_bad_total", NULL, sn->stats.stun_bad);
	relay_metrics(sn, out);
	sn_lan_metrics(sn, out);
}

int status_start(struct sn *sn, char *err, size_t errlen)
{
	return statusd_start(sn->base, sn->cfg.status_listen, status_of, metrics, sn, &sn->status,
			     err, errlen);
}
