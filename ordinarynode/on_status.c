/* The ordinary node's GET /status (JSON) and GET /metrics (Prometheus text)
 * on status_listen: the accounts, the link, the phones and their
 * authentication, the proxy's counters, the middlebox and media. Reads
 * the parts, changes nothing. */
#include "on.h"

#include "crl.h"
#include "identity.h"
#include "keepcert.h"
#include "prom.h"
#include "statusd.h"
#include "util.h"

#include <event2/buffer.h>
#include <string.h>

static const char *state_name(enum on_state s)
{
	return s == ON_ATTACHED ? "attached" : s == ON_ATTACHING ? "attaching" : "starting";
}

static json_t *accounts_json(const struct on *on)
{
	json_t *accs = json_array();

	for (int i = 0; i < on->nacc; i++) {
		X509 *c = keepcert_cert(on->acc[i].kc);
		uint8_t id[NODE_ID_LEN];
		char hex[NODE_ID_HEX_LEN + 1] = "";
		if (node_id_from_key(keepcert_key(on->acc[i].kc), id) == 0)
			node_id_hex(id, hex);
		json_array_append_new(
			accs,
			json_pack("{s:s,s:s,s:b,s:I,s:I,s:o}", "name", on->acc[i].conf->name,
				  "node_id", hex, "cert", keepcert_ready(on->acc[i].kc),
				  "cert_not_after", (json_int_t)(c != NULL ? cert_not_after(c) : 0),
				  "cert_expires_in", (json_int_t)keepcert_expires_in(on->acc[i].kc),
				  "login", keepcert_status(on->acc[i].kc)));
	}
	return accs;
}

/* What on_auth.c did to the phones' requests (all 0 before it exists). */
static void auth_counts(const struct on *on, struct on_auth_counts *c)
{
	memset(c, 0, sizeof(*c));
	if (on->auth != NULL)
		on_auth_counts(on->auth, c);
}

static json_t *auth_json(const struct on *on)
{
	struct on_auth_counts c;

	auth_counts(on, &c);
	return json_pack("{s:I,s:I,s:I,s:I}", "challenged", (json_int_t)c.challenged, "failed",
			 (json_int_t)c.failed, "blocked", (json_int_t)c.blocked, "refused",
			 (json_int_t)c.refused);
}

/* The phones, their authentication and the proxy's counters. */
static json_t *sip_json(const struct on *on)
{
	struct on_proxy_stats st;
	json_t *j;

	on_proxy_stats(on->proxy, &st);
	j = json_pack("{s:o,s:i,s:i,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "phones",
		      on_registrar_phones(on->reg), "calls_setting_up",
		      on_proxy_calls_setting_up(on->proxy), "calls_answered",
		      on_proxy_calls_answered(on->proxy), "invite_transactions",
		      (json_int_t)st.calls_active, "counters", "requests", (json_int_t)st.requests,
		      "invites", (json_int_t)st.invites, "cancels", (json_int_t)st.cancels, "acks",
		      (json_int_t)st.acks, "responses", (json_int_t)st.responses, "lookups",
		      (json_int_t)st.lookups, "overlay_in", (json_int_t)st.overlay_in,
		      "overlay_out", (json_int_t)st.overlay_out, "overlay_failed",
		      (json_int_t)st.overlay_failed, "stray", (json_int_t)st.stray, "bad",
		      (json_int_t)st.bad);
	/* requests refused for their target (no open relay), and 503s to a
	 * sender over its transaction cap */
	json_object_set_new(json_object_get(j, "counters"), "refused",
			    json_integer((json_int_t)st.refused));
	json_object_set_new(json_object_get(j, "counters"), "busy",
			    json_integer((json_int_t)st.busy));
	json_object_set_new(json_object_get(j, "counters"), "unsealed",
			    json_integer((json_int_t)st.unsealed));
	json_object_set_new(j, "phone_auth", auth_json(on));
	/* SIP sealed between nodes: what was sealed, opened, and refused why */
	json_object_set_new(j, "seal", on_seal_status((struct on *)on));
	return j;
}

/* The gateway mode: its domains and what it carried and refused; null
 * when the node is no gateway. */
static json_t *gateway_json(const struct on *on)
{
	const char *d[GW_DOMAINS_MAX];
	struct on_gw_stats *c;
	json_t *doms;
	int n;

	if (on->gw == NULL)
		return json_null();
	c = on_gw_counts(on->gw);
	n = on_gw_domains(on->gw, d, GW_DOMAINS_MAX);
	doms = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(doms, json_string(d[i]));
	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "domains", doms, "out_calls",
			 (json_int_t)c->out_calls, "in_requests", (json_int_t)c->in_requests,
			 "user_limited", (json_int_t)c->user_limited, "source_limited",
			 (json_int_t)c->source_limited, "relay_denied", (json_int_t)c->relay_denied,
			 "identity_refused", (json_int_t)c->identity_refused, "domain_refused",
			 (json_int_t)c->domain_refused);
}

static json_t *status_base(void *arg)
{
	struct on *on = arg;
	json_t *sn = json_null();

	if (on->state == ON_ATTACHED)
		sn = json_pack("{s:s,s:s,s:s,s:i,s:I}", "node_id", on->sn_id, "name", on->sn_name,
			       "host", on->cur.host, "port", on->cur.port, "attached_ms",
			       (json_int_t)(time_mono_ms() - on->attached_ms));
	return json_pack("{s:s,s:s,s:o,s:i,s:i,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "overlay",
			 on->cfg.overlay, "state", state_name(on->state), "supernode", sn,
			 "attaches", on->attaches, "reserve", on->nreserve - on->next, "accounts",
			 accounts_json(on), "crl_number",
			 (json_int_t)(on->crl != NULL ? on->crl->number : -1), "sip", sip_json(on),
			 "middlebox", on_nat_status(on->nat), "media", on_media_status(on->media),
			 "gateway", gateway_json(on), "lan", on_lan_status(on->lan));
}

/* Each account's certificate: seconds until it ends, for an alert well
 * before (logind down means no renewal). */
static void cert_metrics(const struct on *on, struct evbuffer *out)
{
	prom_head(out, "p2psip_on_cert_expiry_seconds", PROM_GAUGE,
		  "Seconds until the account's certificate ends (0: none).");
	for (int i = 0; i < on->nacc; i++)
		prom_value(out, "p2psip_on_cert_expiry_seconds", "account", on->acc[i].conf->name,
			   keepcert_expires_in(on->acc[i].kc));
}

static void sip_metrics(const struct on *on, struct evbuffer *out)
{
	struct on_proxy_stats st;

	on_proxy_stats(on->proxy, &st);
	prom_gauge(out, "p2psip_on_phones", NULL, on_registrar_count(on->reg));
	cert_metrics(on, out);
	prom_gauge(out, "p2psip_on_calls_setting_up", NULL, on_proxy_calls_setting_up(on->proxy));
	prom_gauge(out, "p2psip_on_calls_answered", NULL, on_proxy_calls_answered(on->proxy));
	prom_counter(out, "p2psip_on_sip_requests_total", NULL, st.requests);
	prom_counter(out, "p2psip_on_invites_total", NULL, st.invites);
	prom_counter(out, "p2psip_on_cancels_total", NULL, st.cancels);
	prom_counter(out, "p2psip_on_lookups_total", NULL, st.lookups);
	prom_counter(out, "p2psip_on_overlay_in_total", NULL, st.overlay_in);
	prom_counter(out, "p2psip_on_overlay_out_total", NULL, st.overlay_out);
	prom_counter(out, "p2psip_on_overlay_failed_total", NULL, st.overlay_failed);
	prom_counter(out, "p2psip_on_bad_sip_total", NULL, st.bad);
	prom_counter(out, "p2psip_on_sip_refused_total", NULL, st.refused);
	prom_counter(out, "p2psip_on_sip_busy_total", NULL, st.busy);
	prom_counter(out, "p2psip_on_sip_unsealed_total",
		     "Frames from other nodes whose SIP could not be opened (status: seal).",
		     st.unsealed);
	if (on->gw != NULL) {
		const struct on_gw_stats *c = on_gw_counts(on->gw);
		prom_counter(out, "p2psip_on_gateway_out_calls_total",
			     "Calls of overlay users carried out to other domains.", c->out_calls);
		prom_counter(out, "p2psip_on_gateway_in_requests_total",
			     "Requests from other domains taken into the overlay.", c->in_requests);
		prom_head(out, "p2psip_on_gateway_limited_total", PROM_COUNTER,
			  "Requests over a gateway's limits, by whose limit.");
		prom_count(out, "p2psip_on_gateway_limited_total", "by", "user", c->user_limited);
		prom_count(out, "p2psip_on_gateway_limited_total", "by", "source",
			   c->source_limited);
		prom_head(out, "p2psip_on_gateway_refused_total", PROM_COUNTER,
			  "Requests a gateway refused, by why.");
		prom_count(out, "p2psip_on_gateway_refused_total", "why", "relay", c->relay_denied);
		prom_count(out, "p2psip_on_gateway_refused_total", "why", "identity",
			   c->identity_refused);
		prom_count(out, "p2psip_on_gateway_refused_total", "why", "domain",
			   c->domain_refused);
	}
}

static void auth_metrics(const struct on *on, struct evbuffer *out)
{
	struct on_auth_counts c;

	auth_counts(on, &c);
	prom_counter(out, "p2psip_on_phone_auth_challenges_total",
		     "401/407 digest challenges sent to phones.", c.challenged);
	prom_counter(out, "p2psip_on_phone_auth_failures_total",
		     "Failed phone authentications (each logged for fail2ban).", c.failed);
	prom_counter(out, "p2psip_on_phone_auth_blocks_total",
		     "Times a source was blocked after auth_fail_max failures.", c.blocked);
	prom_counter(out, "p2psip_on_phone_auth_refused_total",
		     "Phone requests refused because their source was blocked.", c.refused);
}

static void metrics(void *arg, struct evbuffer *out)
{
	struct on *on = arg;

	prom_gauge(out, "p2psip_on_attached", NULL, on->state == ON_ATTACHED);
	prom_counter(out, "p2psip_on_attaches_total", NULL, (uint64_t)on->attaches);
	prom_gauge(out, "p2psip_on_promotion_state",
		   "Self-selected super node: 0 ordinary, 1 checking, 2 running one.",
		   on_promote_state(on->promo));
	prom_head(out, "p2psip_on_login_failures", PROM_GAUGE,
		  "Failed attempts in a row to get the account's certificate (0: fine).");
	for (int i = 0; i < on->nacc; i++)
		prom_value(out, "p2psip_on_login_failures", "account", on->acc[i].conf->name,
			   keepcert_failures(on->acc[i].kc));
	sip_metrics(on, out);
	auth_metrics(on, out);
	on_lan_metrics(on->lan, out);
}

/* The parts that came later each add their object here. */
static json_t *status_json(void *arg)
{
	struct on *on = arg;
	json_t *j = status_base(arg);

	if (j != NULL)
		json_object_set_new(j, "promotion", on_promote_status(on->promo));
	return j;
}

int on_status_start(struct on *on, char *err, size_t errlen)
{
	return statusd_start(on->base, on->cfg.status_listen, status_json, metrics, on, &on->status,
			     err, errlen);
}
