/* logind's figures: the body of /v1/status on the HTTPS API, and the local
 * status port (plain HTTP, meant for 127.0.0.1) with GET /status (JSON)
 * and GET /metrics (Prometheus text). */
#include "logind.h"

#include "crl.h"
#include "httpd.h"
#include "logind_db.h"
#include "prom.h"
#include "statusd.h"
#include "util.h"
#include "workq.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#define M(name) "p2psip_logind_" name

static const char *const role_names[ROLE_IX_COUNT] = {"user", "supernode", "server", "gateway"};

static uint64_t logins_failed(const struct logind_stats *st)
{
	return st->failed_wrong + st->failed_unknown + st->failed_disabled;
}

json_t *logind_status_json(struct logind *ld)
{
	return json_pack(
		"{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:i}", "service", "logind", "overlay",
		ld->cfg.overlay, "crl_number", (json_int_t)(ld->crl != NULL ? ld->crl->number : -1),
		"logins_ok", (json_int_t)ld->st.logins_ok, "logins_failed",
		(json_int_t)logins_failed(&ld->st), "logins_refused",
		(json_int_t)ld->st.logins_refused, "hash_queue", (json_int_t)workq_pending(ld->wq),
		"connections", httpd_conn_count(ld->httpd));
}

/* Users per role from the database: counted when a page first needs them,
 * then again only after the admin socket added or deleted an account. */
static int users_count(struct logind *ld)
{
	if (!ld->users_known &&
	    ldb_user_count(ld->db, &ld->users[0], &ld->users[1], &ld->users[2]) == 0)
		ld->users_known = 1;
	return ld->users_known ? 0 : -1;
}

/* Seconds since the current CRL's thisUpdate, -1 without a CRL. */
static int64_t crl_age(const struct logind *ld)
{
	return ld->crl != NULL ? time_now() - ld->crl->last_update : -1;
}

static json_t *status_full(void *arg)
{
	struct logind *ld = arg;
	const struct logind_stats *st = &ld->st;
	json_t *j;

	j = logind_status_json(ld);
	json_object_update_new(j, json_pack("{s:{s:I,s:I,s:I},s:I,s:I,s:{s:I},s:I,s:I,s:I,s:I}",
					    "logins_failed_by", "wrong_password",
					    (json_int_t)st->failed_wrong, "unknown_user",
					    (json_int_t)st->failed_unknown, "disabled",
					    (json_int_t)st->failed_disabled, "logins_delayed",
					    (json_int_t)st->logins_delayed, "logins_busy",
					    (json_int_t)st->logins_busy, "lockouts", "address",
					    (json_int_t)st->lockouts_addr, "users_slowed",
					    (json_int_t)st->users_slowed, "ratelimit_keys",
					    (json_int_t)(rl_count(ld->rl) + rl_count(ld->rl_user)),
					    "renewals", (json_int_t)st->renewals,
					    "renewals_refused", (json_int_t)st->renewals_refused));
	json_object_update_new(j, json_pack("{s:{s:I,s:I,s:I,s:I},s:I,s:I,s:i}", "certs_issued",
					    "user", (json_int_t)st->issued[ROLE_IX_USER],
					    "supernode", (json_int_t)st->issued[ROLE_IX_SUPERNODE],
					    "server", (json_int_t)st->issued[ROLE_IX_SERVER],
					    "gateway", (json_int_t)st->issued[ROLE_IX_GATEWAY],
					    "certs_revoked", (json_int_t)st->revoked, "crl_age",
					    (json_int_t)crl_age(ld), "crl_entries",
					    ld->crl != NULL ? ld->crl->count : 0));
	json_object_set_new(j, "certs_superseded", json_integer((json_int_t)st->superseded));
	json_object_set_new(j, "users",
			    users_count(ld) == 0
				    ? json_pack("{s:I,s:I,s:I}", "user", (json_int_t)ld->users[0],
						"supernode", (json_int_t)ld->users[1], "gateway",
						(json_int_t)ld->users[2])
				    : json_null());
	return j;
}

static void metrics_logins(struct evbuffer *out, const struct logind *ld)
{
	const struct logind_stats *st = &ld->st;

	prom_counter(out, M("logins_ok_total"), "Logins answered with a certificate.",
		     st->logins_ok);
	prom_head(out, M("logins_failed_total"), PROM_COUNTER,
		  "Logins answered 401, by the reason logged (the client sees one answer).");
	prom_count(out, M("logins_failed_total"), "why", "wrong_password", st->failed_wrong);
	prom_count(out, M("logins_failed_total"), "why", "unknown_user", st->failed_unknown);
	prom_count(out, M("logins_failed_total"), "why", "disabled", st->failed_disabled);
	prom_counter(out, M("logins_refused_total"),
		     "Logins answered 429: the source address (IPv6: its /64) was locked out.",
		     st->logins_refused);
	prom_counter(out, M("logins_delayed_total"),
		     "Login answers the rate limit held back (user name or address slowed "
		     "after failures), whatever the outcome.",
		     st->logins_delayed);
	prom_counter(out, M("logins_busy_total"), "Logins answered 503: the hash queue was full.",
		     st->logins_busy);
	prom_head(out, M("lockouts_total"), PROM_COUNTER,
		  "Lockouts started: a client address (IPv6: its /64) reached lockout_after "
		  "failures. User names are never locked.");
	prom_count(out, M("lockouts_total"), "key", "address", st->lockouts_addr);
	prom_counter(out, M("users_slowed_total"),
		     "A user name reached slow_after failures: its answers are delayed, its "
		     "logins never refused.",
		     st->users_slowed);
	prom_gauge(out, M("ratelimit_keys"),
		   "User names and addresses with recent failures held by the rate limit.",
		   (int64_t)(rl_count(ld->rl) + rl_count(ld->rl_user)));
	prom_counter(out, M("renewals_total"), "Renewals answered with a certificate.",
		     st->renewals);
	prom_counter(out, M("renewals_refused_total"),
		     "Renewals refused: certificate unknown, revoked or expired, account "
		     "changed, or a bad request.",
		     st->renewals_refused);
}

static void metrics_certs(struct evbuffer *out, struct logind *ld)
{
	prom_head(out, M("certs_issued_total"), PROM_COUNTER,
		  "Certificates issued (logins, renewals, cert issue-server, logind's own), "
		  "by role.");
	for (int i = 0; i < ROLE_IX_COUNT; i++)
		prom_count(out, M("certs_issued_total"), "role", role_names[i], ld->st.issued[i]);
	prom_counter(out, M("certs_revoked_total"),
		     "Certificates revoked (cert revoke, user disable and del, and over an "
		     "account's cap).",
		     ld->st.revoked);
	prom_counter(out, M("certs_superseded_total"),
		     "Certificates revoked because their account went over max_live_user or "
		     "max_live_supernode Node-IDs (a subset of certs_revoked_total).",
		     ld->st.superseded);
	if (ld->crl != NULL) {
		prom_gauge(out, M("crl_number"), "CRL number of the current CRL.", ld->crl->number);
		prom_gauge(out, M("crl_age_seconds"),
			   "Seconds since the current CRL's thisUpdate (set 5 minutes back for "
			   "clock skew).",
			   crl_age(ld));
		prom_gauge(out, M("crl_entries"), "Certificates listed on the current CRL.",
			   ld->crl->count);
	}
	if (users_count(ld) == 0) {
		prom_head(out, M("users"), PROM_GAUGE,
			  "Accounts, disabled ones included, by role.");
		prom_value(out, M("users"), "role", "user", ld->users[0]);
		prom_value(out, M("users"), "role", "supernode", ld->users[1]);
		prom_value(out, M("users"), "role", "gateway", ld->users[2]);
	}
}

static void metrics(void *arg, struct evbuffer *out)
{
	struct logind *ld = arg;

	metrics_logins(out, ld);
	metrics_certs(out, ld);
	prom_gauge(out, M("hash_queue"),
		   "Password hashes waiting or running (logins and admin password changes).",
		   (int64_t)workq_pending(ld->wq));
	prom_gauge(out, M("connections"), "Open connections to the HTTPS API.",
		   httpd_conn_count(ld->httpd));
}

int logind_status_start(struct logind *ld, char *err, size_t errlen)
{
	return statusd_start(ld->base, ld->cfg.status_listen, status_full, metrics, ld, &ld->status,
			     err, errlen);
}

void logind_status_stop(struct logind *ld)
{
	statusd_free(ld->status);
	ld->status = NULL;
}
