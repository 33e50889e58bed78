/* bootstrapd's figures: the body of /v1/status on the HTTPS API, and the
 * local status port (plain HTTP, meant for 127.0.0.1) with GET /status
 * (JSON) and GET /metrics (Prometheus text). */
#include "bootstrapd.h"

#include "bootstrapd_db.h"
#include "crl.h"
#include "httpd.h"
#include "prom.h"
#include "statusd.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#define M(name) "p2psip_bootstrapd_" name

/* Super nodes listed now: the silent ones are dropped first, as for
 * GET /v1/supernodes, rather than at the next sweep. */
static int listed(struct bootstrapd *bd)
{
	bootstrapd_expire(bd);
	return bdb_sn_count(bd->db);
}

/* Seconds since the held CRL's thisUpdate, -1 without a CRL. */
static int64_t crl_age(const struct bootstrapd *bd)
{
	return bd->crl != NULL ? time_now() - bd->crl->last_update : -1;
}

json_t *bootstrapd_status_json(struct bootstrapd *bd)
{
	return json_pack("{s:s,s:s,s:i,s:I,s:I,s:b,s:I,s:I,s:i}", "service", "bootstrapd",
			 "overlay", bd->cfg.overlay, "supernodes", listed(bd), "crl_number",
			 (json_int_t)(bd->crl ? bd->crl->number : -1), "crl_fetched",
			 (json_int_t)bd->crl_fetched, "logind_reachable", bd->logind_ok == 1,
			 "announces_ok", (json_int_t)bd->st.announces_ok, "announces_failed",
			 (json_int_t)bd->st.ann_unreachable, "connections",
			 httpd_conn_count(bd->httpd));
}

static json_t *status_full(void *arg)
{
	struct bootstrapd *bd = arg;
	const struct bootstrapd_stats *st = &bd->st;
	json_t *j;

	j = bootstrapd_status_json(bd);
	json_object_update_new(
		j,
		json_pack("{s:{s:I,s:I,s:I,s:I},s:{s:I,s:{s:I,s:I,s:I,s:I}},s:I}",
			  "announces_refused", "unreachable", (json_int_t)st->ann_unreachable,
			  "bad_request", (json_int_t)st->ann_bad, "certificate",
			  (json_int_t)st->ann_cert, "error", (json_int_t)st->ann_error,
			  "heartbeats", "accepted", (json_int_t)st->heartbeats_ok, "refused",
			  "not_listed", (json_int_t)st->hb_not_listed, "bad_request",
			  (json_int_t)st->hb_bad, "certificate", (json_int_t)st->hb_cert, "error",
			  (json_int_t)st->hb_error, "withdrawals", (json_int_t)st->withdrawals));
	json_object_update_new(
		j, json_pack("{s:{s:I,s:I},s:{s:I,s:I},s:I,s:I}", "checks", "done",
			     (json_int_t)st->checks, "failed", (json_int_t)st->checks_failed,
			     "dropped", "expired", (json_int_t)st->dropped_expired, "revoked",
			     (json_int_t)st->dropped_revoked, "crl_age", (json_int_t)crl_age(bd),
			     "crl_fetch_failures", (json_int_t)st->crl_fetch_failures));
	return j;
}

static void metrics_requests(struct evbuffer *out, const struct bootstrapd_stats *st)
{
	prom_counter(out, M("announces_accepted_total"),
		     "Announcements accepted: every address passed the reachability check.",
		     st->announces_ok);
	prom_head(out, M("announces_refused_total"), PROM_COUNTER,
		  "Announcements refused: a reachability check failed (422), a bad body "
		  "(400), no valid super node certificate (401, 403), bootstrapd's own "
		  "failure (500).");
	prom_count(out, M("announces_refused_total"), "why", "unreachable", st->ann_unreachable);
	prom_count(out, M("announces_refused_total"), "why", "bad_request", st->ann_bad);
	prom_count(out, M("announces_refused_total"), "why", "certificate", st->ann_cert);
	prom_count(out, M("announces_refused_total"), "why", "error", st->ann_error);
	prom_counter(out, M("heartbeats_accepted_total"), "Heartbeats of listed super nodes.",
		     st->heartbeats_ok);
	prom_head(out, M("heartbeats_refused_total"), PROM_COUNTER,
		  "Heartbeats refused: the super node is not listed (404), a bad body (400), "
		  "no valid super node certificate (401, 403), bootstrapd's own failure (500).");
	prom_count(out, M("heartbeats_refused_total"), "why", "not_listed", st->hb_not_listed);
	prom_count(out, M("heartbeats_refused_total"), "why", "bad_request", st->hb_bad);
	prom_count(out, M("heartbeats_refused_total"), "why", "certificate", st->hb_cert);
	prom_count(out, M("heartbeats_refused_total"), "why", "error", st->hb_error);
	prom_counter(out, M("withdrawals_total"), "Super nodes that withdrew.", st->withdrawals);
	prom_counter(out, M("checks_total"),
		     "Reachability checks finished, one per announced address.", st->checks);
	prom_counter(out, M("checks_failed_total"),
		     "Reachability checks failed: no connection, no TLS, or not the announcing "
		     "super node there.",
		     st->checks_failed);
}

static void metrics(void *arg, struct evbuffer *out)
{
	struct bootstrapd *bd = arg;
	const struct bootstrapd_stats *st = &bd->st;

	prom_gauge(out, M("supernodes"), "Super nodes listed now.", listed(bd));
	metrics_requests(out, st);
	prom_head(out, M("supernodes_dropped_total"), PROM_COUNTER,
		  "Super nodes dropped from the list: silent for heartbeat_timeout or "
		  "certificate ended (expired), certificate on the CRL (revoked).");
	prom_count(out, M("supernodes_dropped_total"), "why", "expired", st->dropped_expired);
	prom_count(out, M("supernodes_dropped_total"), "why", "revoked", st->dropped_revoked);
	if (bd->crl != NULL) {
		prom_gauge(out, M("crl_number"), "CRL number of the CRL held.", bd->crl->number);
		prom_gauge(out, M("crl_age_seconds"),
			   "Seconds since the held CRL's thisUpdate (logind sets it 5 minutes "
			   "back for clock skew).",
			   crl_age(bd));
	}
	prom_counter(out, M("crl_fetch_failures_total"),
		     "CRL fetches from logind that brought no CRL: no answer, an HTTP error, "
		     "or a CRL that did not verify.",
		     st->crl_fetch_failures);
	prom_gauge(out, M("logind_reachable"), "1 if logind answered the last CRL fetch.",
		   bd->logind_ok == 1);
	prom_gauge(out, M("connections"), "Open connections to the HTTPS API.",
		   httpd_conn_count(bd->httpd));
}

int bootstrapd_status_start(struct bootstrapd *bd, char *err, size_t errlen)
{
	return statusd_start(bd->base, bd->cfg.status_listen, status_full, metrics, bd,
			     &bd->status, err, errlen);
}

void bootstrapd_status_stop(struct bootstrapd *bd)
{
	statusd_free(bd->status);
	bd->status = NULL;
}
