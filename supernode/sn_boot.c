/* A super node's dealings with the stable hosts: the overlay configuration,
 * the CRL and the list of live super nodes from bootstrapd; its certificate
 * from logind (kept fresh by keepcert); then
 * the announcement, heartbeats, CRL refreshes, renewals and the withdrawal. */
#include "supernode.h"

#include "certcheck.h"
#include "crl.h"
#include "enroll.h"
#include "httpc.h"
#include "keepcert.h"
#include "identity.h"
#include "jsonx.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 2000
#define SEEDS_MAX 16

enum boot_step {
	B_CONFIG,
	B_CRL,
	B_CERT,
	B_LIST,
	B_RUNNING
};

struct boot {
	struct sn *sn;
	enum boot_step step;
	void (*ready)(struct sn *sn, const struct node *seeds, int n);
	void (*left)(struct sn *sn);
	char *logind_url;
	int64_t renew_before;
	uint64_t next_heartbeat, next_crl, next_announce;
};

static struct boot *B; /* one super node per process */

static void step(struct boot *b);

static void later(struct boot *b)
{
	struct timeval tv = {RETRY_MS / 1000, 0};

	event_add(b->sn->boot_timer, &tv);
}

static char *bootstrap_url(struct sn *sn, const char *path)
{
	return url_join(sn->cfg.bootstrap_url, path);
}

static int get(struct boot *b, SSL_CTX *ctx, const char *path, const char *body, httpc_done_t cb)
{
	struct sn *sn = b->sn;
	char *url = bootstrap_url(sn, path);
	char err[256];

	if (url == NULL)
		return -1;
	sn->boot_call = httpc_request(sn->base, ctx, url, body, 10, cb, b, err, sizeof(err));
	free(url);
	if (sn->boot_call == NULL) {
		log_error("bootstrapd: %s", err);
		return -1;
	}
	return 0;
}

/* ---- overlay configuration ---- */

static void on_config(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	json_t *j = status == 200 ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *tm = json_object_get(j, "timers"), *lm = json_object_get(j, "limits");
	const char *url = json_string_value(json_object_get(j, "logind_url"));
	const char *ov = json_string_value(json_object_get(j, "overlay"));

	sn->boot_call = NULL;
	if (url == NULL || ov == NULL) {
		log_warn("bootstrapd %s: no configuration (%s); retrying", sn->cfg.bootstrap_url,
			 status < 0 ? err : "bad answer");
		json_decref(j);
		later(b);
		return;
	}
	if (strcmp(ov, sn->cfg.overlay) != 0) {
		fatal("bootstrapd serves overlay %s, configured is %s", ov, sn->cfg.overlay);
	}
	free(b->logind_url);
	b->logind_url = strdup(url);
	sn->heartbeat_interval = json_integer_value(json_object_get(tm, "heartbeat_interval"));
	if (sn->heartbeat_interval <= 0)
		sn->heartbeat_interval = 30;
	b->renew_before = json_integer_value(json_object_get(tm, "cert_renew_before"));
	if (b->renew_before <= 0)
		b->renew_before = 7200;
	if (sn->cfg.stabilize_ms == 0) {
		sn->cfg.stabilize_ms =
			1000 * json_integer_value(json_object_get(tm, "stabilize_interval"));
		if (sn->cfg.stabilize_ms <= 0)
			sn->cfg.stabilize_ms = 1000;
	}
	/* The overlay's limits, unless the configuration sets its own. */
#define LIMIT(field, key)                                                                          \
	if (sn->cfg.field == 0)                                                                    \
		sn->cfg.field = json_integer_value(json_object_get(lm, key));
	LIMIT(value_max, "record_value_max")
	LIMIT(values_per_resource, "values_per_resource")
	LIMIT(records_per_user, "records_per_user")
	LIMIT(lifetime_max, "record_lifetime_max")
#undef LIMIT
	sn->limits.value_max = sn->cfg.value_max > 0 ? (size_t)sn->cfg.value_max : 4096;
	sn->limits.values_per_resource =
		sn->cfg.values_per_resource > 0 ? (int)sn->cfg.values_per_resource : 32;
	sn->limits.records_per_user =
		sn->cfg.records_per_user > 0 ? (int)sn->cfg.records_per_user : 16;
	sn->limits.lifetime_max = sn->cfg.lifetime_max > 0 ? (uint32_t)sn->cfg.lifetime_max : 86400;
	json_decref(j);
	b->step = B_CRL;
	step(b);
}

/* ---- CRL ---- */

static void install_crl(struct sn *sn, struct crl *c)
{
	crl_free(sn->crl);
	sn->crl = c;
	certcheck_set_crl(sn->cc, c);
	keepcert_set_crl(sn->kc, c);
	tls_ctx_set_crl(sn->anon_ctx, c);
	conn_drop_revoked(sn);
}

static void on_crl(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	char why[256];
	struct crl *c = NULL;

	sn->boot_call = NULL;
	if (status == 200)
		c = crl_parse(body, len, sn->ca, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", status < 0 ? err : "no CRL yet");
	if (c == NULL) {
		if (b->step == B_CRL)
			log_warn("CRL from bootstrapd: %s; going on without", why);
	} else if (sn->crl == NULL || c->number > sn->crl->number) {
		log_info("CRL %lld: %d revoked certificates", (long long)c->number, c->count);
		install_crl(sn, c);
		c = NULL;
	}
	crl_free(c);
	if (b->step == B_CRL) {
		b->step = B_CERT;
		step(b);
	}
}

/* ---- certificate ---- */

/* The account's certificate is in place (first time or renewed): links
 * opened from now on use it. */
void boot_cert_ready(struct keepcert *kc, void *arg)
{
	struct sn *sn = arg;

	sn->cert = keepcert_cert(kc);
	sn->client_ctx = keepcert_client_ctx(kc);
	sn->server_ctx = keepcert_server_ctx(kc);
	if (B != NULL && B->step == B_CERT) {
		B->step = B_LIST;
		step(B);
	}
}

/* ---- seeds ---- */

static void on_list(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	json_t *j = status == 200 ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *list = json_object_get(j, "supernodes"), *v;
	struct node seeds[SEEDS_MAX];
	int n = 0;
	size_t i;
	char lerr[256];

	sn->boot_call = NULL;
	if (!json_is_array(list)) {
		log_warn("bootstrapd: no super node list (%s); retrying",
			 status < 0 ? err : "bad answer");
		json_decref(j);
		later(b);
		return;
	}
	json_array_foreach (list, i, v) {
		struct node nd;
		json_t *a = json_array_get(json_object_get(v, "addresses"), 0);
		json_t *d =
			json_pack("{s:O,s:O,s:O}", "id", json_object_get(v, "node_id"), "host",
				  json_object_get(a, "host"), "port", json_object_get(a, "port"));
		if (d != NULL && node_from_json(d, &nd) == 0 && !rid_eq(&nd.id, &sn->self.id) &&
		    n < SEEDS_MAX)
			seeds[n++] = nd;
		json_decref(d);
	}
	json_decref(j);
	if (conn_listen(sn, lerr, sizeof(lerr)) < 0)
		fatal("%s", lerr);
	b->step = B_RUNNING;
	b->ready(sn, seeds, n);
}

static void step(struct boot *b)
{
	int rc = 0;

	switch (b->step) {
	case B_CONFIG:
		rc = get(b, b->sn->anon_ctx, "/v1/config", NULL, on_config);
		break;
	case B_CRL:
		rc = get(b, b->sn->anon_ctx, "/v1/crl", NULL, on_crl);
		break;
	case B_CERT:
		keepcert_start(b->sn->kc, b->logind_url, b->renew_before);
		return;
	case B_LIST:
		rc = get(b, b->sn->anon_ctx, "/v1/supernodes?count=16", NULL, on_list);
		break;
	case B_RUNNING:
		return;
	}
	if (rc < 0)
		later(b);
}

/* ---- running: announce, heartbeat, CRL, renewal ---- */

static json_t *announcement(struct sn *sn)
{
	json_t *a = json_pack("{s:[{s:s,s:i}],s:i}", "addresses", "host", sn->self.host, "port",
			      sn->self.port, "load", conn_count(sn, CONN_CLIENT));

	if (sn->fallback_port != 0)
		json_array_append_new(json_object_get(a, "addresses"),
				      json_pack("{s:s,s:i}", "host", sn->fallback_public, "port",
						sn->fallback_port));
	return a;
}

static void on_announce(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	json_t *j = body != NULL ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(j, "error"));

	sn->boot_call = NULL;
	if (status == 200) {
		if (!sn->announced)
			log_info("announced to bootstrapd");
		sn->announced = 1;
		b->next_heartbeat = now_ms() + 1000u * (uint64_t)sn->heartbeat_interval;
	} else {
		log_warn("announce to bootstrapd failed: %s", status < 0 ? err : e ? e : "refused");
		sn->announced = 0;
		b->next_announce = now_ms() + RETRY_MS;
	}
	json_decref(j);
}

static void on_heartbeat(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;

	(void)body, (void)len;
	sn->boot_call = NULL;
	if (status == 200) {
		b->next_heartbeat = now_ms() + 1000u * (uint64_t)sn->heartbeat_interval;
		return;
	}
	log_info("heartbeat: %s; announcing again", status < 0 ? err : "not listed");
	sn->announced = 0;
	b->next_announce = now_ms() + (status < 0 ? RETRY_MS : 0);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	uint64_t now = now_ms();
	char *body;
	struct timeval tv = {1, 0};

	(void)fd, (void)what;
	if (b->step != B_RUNNING) {
		step(b);
		return;
	}
	event_add(sn->boot_timer, &tv);
	if (sn->boot_call != NULL || sn->state == SN_LEAVING)
		return; /* one exchange at a time */
	if (sn->state == SN_JOINED && !sn->announced && now >= b->next_announce) {
		json_t *a = announcement(sn);
		body = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		if (get(b, sn->client_ctx, "/v1/announce", body, on_announce) < 0)
			b->next_announce = now + RETRY_MS;
		free(body);
	} else if (sn->announced && now >= b->next_heartbeat) {
		char load[64];
		snprintf(load, sizeof(load), "{\"load\":%d}", conn_count(sn, CONN_CLIENT));
		if (get(b, sn->client_ctx, "/v1/heartbeat", load, on_heartbeat) < 0)
			b->next_heartbeat = now + RETRY_MS;
	} else if (now >= b->next_crl) {
		b->next_crl = now + 1000u * (uint64_t)sn->cfg.crl_refresh;
		get(b, sn->anon_ctx, "/v1/crl", NULL, on_crl);
	}
}

int boot_start(struct sn *sn, void (*ready)(struct sn *sn, const struct node *seeds, int n))
{
	struct boot *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	B = b;
	b->sn = sn;
	b->ready = ready;
	b->next_crl = now_ms() + 1000u * (uint64_t)sn->cfg.crl_refresh;
	sn->boot_timer = evtimer_new(sn->base, on_tick, b);
	if (sn->boot_timer == NULL)
		return -1;
	b->step = B_CONFIG;
	step(b);
	return 0;
}

void boot_joined(struct sn *sn)
{
	struct timeval tv = {0, 1000};

	(void)sn;
	B->next_announce = 0;
	event_add(sn->boot_timer, &tv);
}

static void on_withdrawn(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;

	(void)body, (void)len;
	b->sn->boot_call = NULL;
	if (status != 200)
		log_info("withdraw from bootstrapd: %s", status < 0 ? err : "refused");
	b->left(b->sn);
}

void boot_leave(struct sn *sn, void (*done)(struct sn *sn))
{
	struct boot *b = B;

	b->left = done;
	httpc_cancel(sn->boot_call);
	sn->boot_call = NULL;
	if (!sn->announced || get(b, sn->client_ctx, "/v1/withdraw", "{}", on_withdrawn) < 0)
		done(sn);
}

void boot_stop(struct sn *sn)
{
	httpc_cancel(sn->boot_call);
	sn->boot_call = NULL;
	if (B != NULL) {
		free(B->logind_url);
		free(B);
		B = NULL;
	}
}
