/* bootstrapd's HTTPS API: configuration, super node list and CRL for anyone;
 * announce, heartbeat and withdraw for super nodes with their certificate. */
#include "bootstrapd.h"

#include "bootstrapd_check.h"
#include "bootstrapd_db.h"
#include "bootstrapd_proto.h"
#include "crl.h"
#include "httpd.h"
#include "identity.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/http.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A super node's identity, taken from its client certificate. */
struct sn_peer {
	uint8_t node_id[NODE_ID_LEN];
	char node_id_hex[NODE_ID_HEX_LEN + 1];
	char name[NAME_MAX_LEN + 1];
	char serial[SERIAL_HEX_MAX];
	int64_t not_after;
};

struct announce_job {
	struct bootstrapd *bd;
	struct evhttp_request *req;
	struct sn_peer peer;
	struct announce ann;
	struct check *checks[SN_ADDRS_MAX];
	int pending;
	char failure[256];
	struct announce_job *next;
};

static int peer_identify(struct evhttp_request *req, struct sn_peer *p)
{
	SSL *ssl = http_ssl(req);
	X509 *cert = NULL;
	const char *why = "no TLS connection";
	char role[ROLE_MAX];

	if (ssl == NULL || tls_peer_check(ssl, &cert, &why) < 0) {
		http_reply_error(req, 401, "%s", why);
		return -1;
	}
	if (cert_role(cert, role, sizeof(role)) < 0 || strcmp(role, ROLE_SUPERNODE) != 0) {
		http_reply_error(req, 403, "only super node certificates may announce");
		return -1;
	}
	if (node_id_from_cert(cert, p->node_id) < 0 ||
	    cert_name(cert, p->name, sizeof(p->name)) < 0 ||
	    cert_serial_hex(cert, p->serial, sizeof(p->serial)) < 0) {
		http_reply_error(req, 400, "unreadable certificate");
		return -1;
	}
	node_id_hex(p->node_id, p->node_id_hex);
	p->not_after = cert_not_after(cert);
	return 0;
}

static uint8_t *body_or_reply(struct evhttp_request *req, size_t *len)
{
	uint8_t *body = http_body(req, len);

	if (body == NULL && *len != 0)
		http_reply_error(req, 500, "out of memory");
	return body;
}

/* The overlay's policy for self-selected super nodes. */
static json_t *promotion_json(const struct bootstrapd_config *c)
{
	return json_pack("{s:b,s:I,s:I,s:f,s:I}", "enable", c->promo_enable, "want_supernodes",
			 (json_int_t)c->promo_want, "min_uptime", (json_int_t)c->promo_min_uptime,
			 "max_load", c->promo_load, "demote_after",
			 (json_int_t)c->promo_demote_after);
}

static void h_config(struct evhttp_request *req, void *arg)
{
	struct bootstrapd *bd = arg;
	const struct bootstrapd_config *c = &bd->cfg;
	json_t *j;

	if (!http_method_is(req, EVHTTP_REQ_GET))
		return;
	j = json_pack("{s:s,s:s,s:s,s:I,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I}}",
				  "overlay", c->overlay, "logind_url", c->logind_url,
				  "ca_certificate", bd->ca_pem, "crl_number",
				  (json_int_t)(bd->crl ? bd->crl->number : -1), "timers",
				  "heartbeat_interval", (json_int_t)c->heartbeat_interval,
				  "stabilize_interval", (json_int_t)c->stabilize_interval,
				  "keepalive_interval", (json_int_t)c->keepalive_interval,
				  "cert_renew_before", (json_int_t)c->cert_renew_before, "limits",
				  "record_value_max", (json_int_t)c->record_value_max,
				  "values_per_resource", (json_int_t)c->values_per_resource,
				  "records_per_user", (json_int_t)c->records_per_user,
				  "record_lifetime_max", (json_int_t)c->record_lifetime_max,
				  "frame_max", (json_int_t)c->frame_max);
	if (j != NULL)
		json_object_set_new(j, "promotion", promotion_json(c));
	http_reply_json(req, 200, j);
}

static double uniform(void *ctx)
{
	uint64_t r;

	(void)ctx;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint64_t)rand();
	/* (0, 1]: 53 random bits, never zero. */
	return ((double)(r >> 11) + 1.0) / 9007199254740992.0;
}

static void h_supernodes(struct evhttp_request *req, void *arg)
{
	struct bootstrapd *bd = arg;
	struct sn_rec *all = NULL;
	size_t n = 0, got, *idx = NULL;
	int64_t want = bd->cfg.list_default;
	char q[16];
	json_t *list;

	if (!http_method_is(req, EVHTTP_REQ_GET))
		return;
	if (http_query_param(req, "count", q, sizeof(q)) == 0) {
		char *end;
		want = strtoll(q, &end, 10);
		if (*end != '\0' || want < 1) {
			http_reply_error(req, 400, "count: expected a positive integer");
			return;
		}
		if (want > bd->cfg.list_max)
			want = bd->cfg.list_max;
	}
	bootstrapd_expire(bd);
	if (bdb_sn_all(bd->db, &all, &n) < 0) {
		http_reply_error(req, 500, "database error");
		return;
	}
	list = json_array();
	idx = malloc((n ? n : 1) * sizeof(*idx));
	got = idx != NULL ? sn_select(n, (size_t)want, uniform, NULL, idx) : 0;
	for (size_t k = 0; k < got; k++) {
		struct sn_rec *r = &all[idx[k]];
		json_t *addrs = json_loads(r->addresses, 0, NULL);
		json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:I,s:I}", "node_id",
						      r->node_id, "name", r->name, "addresses",
						      addrs != NULL ? addrs : json_array(), "load",
						      (json_int_t)r->load, "last_seen",
						      (json_int_t)r->last_seen));
	}
	free(idx);
	bdb_sn_free(all, n);
	http_reply_json(req, 200,
			json_pack("{s:s,s:o}", "overlay", bd->cfg.overlay, "supernodes", list));
}

static void h_crl(struct evhttp_request *req, void *arg)
{
	struct bootstrapd *bd = arg;
	const char *uri = evhttp_request_get_uri(req);
	char *pem;

	if (!http_method_is(req, EVHTTP_REQ_GET))
		return;
	if (bd->crl == NULL) {
		http_reply_error(req, 503, "no CRL yet (logind not reached)");
		return;
	}
	if (strstr(uri, ".pem") == NULL) {
		http_reply_bytes(req, 200, "application/pkix-crl", bd->crl->der, bd->crl->der_len);
		return;
	}
	pem = crl_to_pem(bd->crl);
	if (pem == NULL) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	http_reply_bytes(req, 200, "application/x-pem-file", pem, strlen(pem));
	free(pem);
}

static void job_unlink(struct announce_job *j)
{
	for (struct announce_job **pp = &j->bd->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

static void job_free(struct announce_job *j)
{
	for (int i = 0; i < SN_ADDRS_MAX; i++)
		check_cancel(j->checks[i]);
	free(j);
}

static void announce_commit(struct announce_job *j)
{
	struct bootstrapd *bd = j->bd;
	struct sn_rec r = {0};
	enum bdb_rc rc;

	str_copy(r.node_id, j->peer.node_id_hex, sizeof(r.node_id));
	str_copy(r.name, j->peer.name, sizeof(r.name));
	str_copy(r.serial, j->peer.serial, sizeof(r.serial));
	r.addresses = announce_addrs_json(&j->ann);
	r.load = j->ann.load;
	r.cert_expires = j->peer.not_after;
	rc = r.addresses != NULL ? bdb_sn_put(bd->db, &r, time_now()) : BDB_ERROR;
	if (rc != BDB_OK) {
		bd->st.ann_error++;
		http_reply_error(j->req, 500, "database error");
	} else {
		bd->st.announces_ok++;
		log_info("super node %s (%s) listed at %s", r.node_id, r.name, r.addresses);
		http_reply_json(
			j->req, 200,
			json_pack("{s:s,s:I,s:I}", "node_id", r.node_id, "heartbeat_interval",
				  (json_int_t)bd->cfg.heartbeat_interval, "heartbeat_timeout",
				  (json_int_t)bd->cfg.heartbeat_timeout));
	}
	free(r.addresses);
}

static void on_check(struct check *c, int ok, const char *why, void *arg)
{
	struct announce_job *j = arg;

	for (int i = 0; i < SN_ADDRS_MAX; i++)
		if (j->checks[i] == c)
			j->checks[i] = NULL;
	j->pending--;
	j->bd->st.checks++;
	j->bd->st.checks_failed += !ok;
	if (!ok && j->failure[0] == '\0')
		str_copy(j->failure, why, sizeof(j->failure));
	if (j->pending > 0)
		return;
	job_unlink(j);
	if (j->failure[0] != '\0') {
		j->bd->st.ann_unreachable++;
		log_warn("super node %s (%s) not listed: %s", j->peer.node_id_hex, j->peer.name,
			 j->failure);
		http_reply_error(j->req, 422, "reachability check failed: %s", j->failure);
	} else {
		announce_commit(j);
	}
	job_free(j);
}

static void h_announce(struct evhttp_request *req, void *arg)
{
	struct bootstrapd *bd = arg;
	struct announce_job *j;
	char err[256];
	uint8_t *body;
	size_t len;
	int rc;

	if (!http_method_is(req, EVHTTP_REQ_POST))
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		bd->st.ann_error++;
		http_reply_error(req, 500, "out of memory");
		return;
	}
	if (peer_identify(req, &j->peer) < 0) {
		bd->st.ann_cert++;
		free(j);
		return;
	}
	body = body_or_reply(req, &len);
	rc = announce_parse(body, len, bd->cfg.allow_private, &j->ann, err, sizeof(err));
	free(body);
	if (rc < 0) {
		bd->st.ann_bad++;
		http_reply_error(req, 400, "%s", err);
		free(j);
		return;
	}
	j->bd = bd;
	j->req = req;
	for (int i = 0; i < j->ann.naddrs; i++) {
		j->checks[i] = check_start(bd->base, bd->client_ctx, j->ann.addrs[i].host,
					   j->ann.addrs[i].port, j->peer.node_id,
					   (int)bd->cfg.check_timeout, on_check, j);
		if (j->checks[i] == NULL) {
			bd->st.ann_error++;
			http_reply_error(req, 500, "cannot start reachability check");
			job_free(j);
			return;
		}
		j->pending++;
	}
	j->next = bd->jobs;
	bd->jobs = j;
}

static void h_heartbeat(struct evhttp_request *req, void *arg)
{
	struct bootstrapd *bd = arg;
	struct sn_peer p;
	char err[256];
	uint8_t *body;
	size_t len;
	int64_t load;
	int rc;

	if (!http_method_is(req, EVHTTP_REQ_POST))
		return;
	if (peer_identify(req, &p) < 0) {
		bd->st.hb_cert++;
		return;
	}
	body = body_or_reply(req, &len);
	rc = heartbeat_parse(body, len, &load, err, sizeof(err));
	free(body);
	if (rc < 0) {
		bd->st.hb_bad++;
		http_reply_error(req, 400, "%s", err);
		return;
	}
	switch (bdb_sn_heartbeat(bd->db, p.node_id_hex, p.serial, p.not_after, load, time_now())) {
	case BDB_OK:
		bd->st.heartbeats_ok++;
		http_reply_json(req, 200, json_pack("{s:s}", "node_id", p.node_id_hex));
		break;
	case BDB_NOT_FOUND:
		bd->st.hb_not_listed++;
		http_reply_error(req, 404, "not announced (or dropped): announce again");
		break;
	default:
		bd->st.hb_error++;
		http_reply_error(req, 500, "database error");
	}
}

static void h_withdraw(struct evhttp_request *req, void *arg)
{
	struct bootstrapd *bd = arg;
	struct sn_peer p;

	if (!http_method_is(req, EVHTTP_REQ_POST) || peer_identify(req, &p) < 0)
		return;
	if (bdb_sn_delete(bd->db, p.node_id_hex) == BDB_ERROR) {
		http_reply_error(req, 500, "database error");
		return;
	}
	bd->st.withdrawals++;
	log_info("super node %s (%s) withdrew", p.node_id_hex, p.name);
	http_reply_json(req, 200, json_pack("{s:s}", "node_id", p.node_id_hex));
}

static void h_status(struct evhttp_request *req, void *arg)
{
	if (http_method_is(req, EVHTTP_REQ_GET))
		http_reply_json(req, 200, bootstrapd_status_json(arg));
}

int bootstrapd_expire(struct bootstrapd *bd)
{
	int n = bdb_sn_expire(bd->db, time_now(), bd->cfg.heartbeat_timeout);

	if (n > 0) {
		bd->st.dropped_expired += (uint64_t)n;
		log_info("%d super nodes dropped: no heartbeat for %llds, or certificate ended", n,
			 (long long)bd->cfg.heartbeat_timeout);
	}
	return n;
}

int bootstrapd_api_start(struct bootstrapd *bd, char *err, size_t errlen)
{
	struct httpd_limits lim = {
		.max_conns = (int)bd->cfg.max_connections,
		.max_headers = (size_t)bd->cfg.max_headers,
		.max_body = (size_t)bd->cfg.max_body,
		.timeout_secs = (int)bd->cfg.timeout,
	};

	bd->httpd = httpd_new(bd->base, bd->server_ctx, bd->cfg.listen, &lim, err, errlen);
	if (bd->httpd == NULL)
		return -1;
	httpd_route(bd->httpd, "/v1/config", h_config, bd);
	httpd_route(bd->httpd, "/v1/supernodes", h_supernodes, bd);
	httpd_route(bd->httpd, "/v1/crl", h_crl, bd);
	httpd_route(bd->httpd, "/v1/crl.pem", h_crl, bd);
	httpd_route(bd->httpd, "/v1/announce", h_announce, bd);
	httpd_route(bd->httpd, "/v1/heartbeat", h_heartbeat, bd);
	httpd_route(bd->httpd, "/v1/withdraw", h_withdraw, bd);
	httpd_route(bd->httpd, "/v1/status", h_status, bd);
	return 0;
}

void bootstrapd_api_stop(struct bootstrapd *bd)
{
	while (bd->jobs != NULL) {
		struct announce_job *j = bd->jobs;
		bd->jobs = j->next;
		http_reply_error(j->req, 503, "shutting down");
		job_free(j);
	}
	httpd_free(bd->httpd);
	bd->httpd = NULL;
}
