/* A super node's dealings with the stable hosts: the overlay configuration,
 * the CRL and the list of live super nodes from bootstrapd (asked through
 * common/bootc.c); its certificate from logind (kept fresh by keepcert); then
 * the announcement, heartbeats, CRL refreshes, renewals and the withdrawal.
 * With no bootstrap_url, step_local: logind_url and the LAN (sn_lan.c). */
#include "supernode.h"

#include "bootc.h"
#include "certcheck.h"
#include "crl.h"
#include "keepcert.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 2000
#define SEEDS_MAX 16
#define LAN_POLL_MS 200 /* how often a super node with no bootstrapd looks at what it heard */
#define ANNOUNCE_RETRY_MAX_MS 60000
#define CONFIG_RETRY_MS 30000 /* on a cached configuration: asking bootstrapd again */

enum boot_step {
	B_CONFIG,
	B_CRL,
	B_CERT,
	B_LIST,
	B_RUNNING
};

struct boot {
	struct sn *sn;
	struct bootc *bc; /* one exchange with bootstrapd at a time */
	enum boot_step step;
	void (*ready)(struct sn *sn, const struct node *seeds, int n);
	void (*left)(struct sn *sn);
	char logind_url[BOOTC_URL_MAX + 1];
	int64_t renew_before;
	uint64_t next_heartbeat, next_crl, next_announce;
	uint64_t lan_until; /* with no bootstrapd: listen to the LAN until then */
	int config_cached;    /* running on the cached configuration */
	int announce_fails;   /* in a row */
	uint64_t next_config; /* then: when to ask bootstrapd for it again */
};

static void step(struct boot *b);
static int boot_from_cache(struct boot *b, enum bootc_res res, const char *err);

static void later(struct boot *b)
{
	struct timeval tv = {RETRY_MS / 1000, 0};

	event_add(b->sn->boot_timer, &tv);
}

/* A super node's POST, with its own certificate. */
static int post(struct boot *b, const char *path, const char *body, httpc_done_t cb)
{
	char err[256];

	if (bootc_post(b->bc, b->sn->client_ctx, path, body, cb, b, err, sizeof(err)) == 0)
		return 0;
	log_error("bootstrapd: %s", err);
	return -1;
}

/* ---- overlay configuration ---- */

/* The overlay's limits, unless the configuration sets its own. */
static void take_limits(struct sn *sn, const struct bootc_config *oc)
{
	struct sn_config *c = &sn->cfg;

	if (c->value_max == 0)
		c->value_max = oc->limits.value_max;
	if (c->values_per_resource == 0)
		c->values_per_resource = oc->limits.values_per_resource;
	if (c->records_per_user == 0)
		c->records_per_user = oc->limits.records_per_user;
	if (c->lifetime_max == 0)
		c->lifetime_max = oc->limits.lifetime_max;
	sn->limits.value_max = c->value_max > 0 ? (size_t)c->value_max : 4096;
	sn->limits.values_per_resource =
		c->values_per_resource > 0 ? (int)c->values_per_resource : 32;
	sn->limits.records_per_user = c->records_per_user > 0 ? (int)c->records_per_user : 16;
	sn->limits.lifetime_max = c->lifetime_max > 0 ? (uint32_t)c->lifetime_max : 86400;
}

static void take_config(struct boot *b, const struct bootc_config *oc)
{
	struct sn *sn = b->sn;

	str_copy(b->logind_url, oc->logind_url, sizeof(b->logind_url));
	sn->heartbeat_interval = oc->timers.heartbeat;
	b->renew_before = oc->timers.renew_before;
	if (sn->cfg.stabilize_ms == 0)
		sn->cfg.stabilize_ms = 1000 * oc->timers.stabilize;
	take_limits(sn, oc);
}

static void on_config(enum bootc_res res, const struct bootc_config *oc, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;

	if (res == BOOTC_WRONG_OVERLAY)
		fatal("%s", err);
	if (res != BOOTC_OK) {
		if (boot_from_cache(b, res, err) == 0)
			return;
		later(b);
		return;
	}
	cache_config_save(sn, oc);
	take_config(b, oc);
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
	sn_lan_set_crl(sn, c);
	tls_ctx_set_crl(sn->anon_ctx, c);
	conn_drop_revoked(sn);
}

/* bootstrapd answered something: an announce backed off (bootstrapd was
 * unreachable) goes at once. */
static void answered(struct boot *b)
{
	if (b->announce_fails > 0) {
		b->announce_fails = 0;
		b->next_announce = 0;
	}
}

static void on_crl(enum bootc_res res, struct crl *c, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;

	if (res != BOOTC_UNREACHABLE)
		answered(b);

	if (c == NULL) {
		if (b->step == B_CRL)
			log_warn("CRL from bootstrapd: %s; going on without",
				 res == BOOTC_REFUSED ? "no CRL yet" : err);
	} else if (bootc_crl_is_newer(sn->crl, c)) {
		log_info("CRL %lld: %d revoked certificates", (long long)c->number, c->count);
		cache_crl_save(sn, c);
		install_crl(sn, c);
		c = NULL;
	}
	crl_free(c);
	if (b->step == B_CRL) {
		b->step = B_CERT;
		step(b);
	}
}

/* ---- bootstrapd down: what the last run kept ---- */

/* With no answer from bootstrapd, a node that has run before goes on with
 * the configuration and CRL it kept; its certificate file (keepcert) and
 * the ring members it kept do the rest. 0 if it goes on, -1 to retry. */
static int boot_from_cache(struct boot *b, enum bootc_res res, const char *err)
{
	struct sn *sn = b->sn;
	struct bootc_config oc;
	struct crl *c;

	if (cache_config_load(sn, &oc) < 0) {
		log_warn("bootstrapd %s: no configuration (%s%s), none kept from an earlier run; "
			 "retrying",
			 sn->cfg.bootstrap_url,
			 res == BOOTC_UNREACHABLE ? "" : "bad answer: ", err);
		return -1;
	}
	log_warn("bootstrapd %s: no configuration (%s%s): going on with the cached one, "
		 "asking again every %ds",
		 sn->cfg.bootstrap_url, res == BOOTC_UNREACHABLE ? "" : "bad answer: ", err,
		 CONFIG_RETRY_MS / 1000);
	take_config(b, &oc);
	b->config_cached = 1;
	b->next_config = now_ms() + CONFIG_RETRY_MS;
	c = cache_crl_load(sn);
	if (c != NULL && bootc_crl_is_newer(sn->crl, c))
		install_crl(sn, c);
	else
		crl_free(c);
	b->step = B_CERT;
	step(b);
	return 0;
}

/* The ring members the last run saw, when bootstrapd's list cannot be had. */
static int seeds_from_cache(struct boot *b, struct node *seeds)
{
	int n = cache_seeds(b->sn, seeds, SEEDS_MAX);

	if (n > 0)
		log_warn("rejoining from %d cached ring member%s", n, n == 1 ? "" : "s");
	return n;
}

/* bootstrapd answers again while the node runs on its cached configuration. */
static void on_config_again(enum bootc_res res, const struct bootc_config *oc, const char *err,
			    void *arg)
{
	struct boot *b = arg;

	if (res != BOOTC_OK) {
		log_debug("bootstrapd: still no configuration (%s)", err);
		return;
	}
	log_info("bootstrapd answers again: overlay configuration refreshed");
	answered(b);
	cache_config_save(b->sn, oc);
	take_config(b, oc);
	b->config_cached = 0;
	keepcert_start(b->sn->kc, b->logind_url, b->renew_before);
}

/* ---- certificate ---- */

/* The account's certificate is in place (first time or renewed): links
 * opened from now on use it. */
void boot_cert_ready(struct keepcert *kc, void *arg)
{
	struct sn *sn = arg;
	struct boot *b = sn->boot;

	sn->cert = keepcert_cert(kc);
	sn->client_ctx = keepcert_client_ctx(kc);
	sn->server_ctx = keepcert_server_ctx(kc);
	if (b != NULL && b->step == B_CERT) {
		b->step = B_LIST;
		step(b);
	}
}

/* ---- seeds ---- */

/* The main address of each listed super node but this one. */
static int seeds_of(const struct sn *sn, const struct bootc_list *list, struct node *seeds)
{
	int n = 0;

	for (int i = 0; i < list->n && n < SEEDS_MAX; i++) {
		const struct bootc_sn *s = &list->sn[i];
		if (!s->has_id || s->addr[0].port == 0 || rid_eq(&s->id, &sn->self.id))
			continue;
		seeds[n].id = s->id;
		str_copy(seeds[n].host, s->addr[0].host, sizeof(seeds[n].host));
		seeds[n].port = s->addr[0].port;
		n++;
	}
	return n;
}

/* The super nodes heard on the LAN, when bootstrapd's list has none (a
 * ring of one would split the overlay) or cannot be had. */
static int seeds_from_lan(struct sn *sn, struct node *seeds, const char *why)
{
	int n = sn_lan_seeds(sn, seeds, SEEDS_MAX);

	if (n > 0)
		log_info("%s: joining through %d super node%s heard on the LAN", why, n,
			 n == 1 ? "" : "s");
	return n;
}

static void on_list(enum bootc_res res, const struct bootc_list *list, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	struct node seeds[SEEDS_MAX];
	int n;
	char lerr[256];

	if (res != BOOTC_OK) {
		log_warn("bootstrapd: no super node list (%s%s)",
			 res == BOOTC_UNREACHABLE ? "" : "bad answer: ", err);
		/* live ones heard on the LAN first, then those of the last run */
		n = seeds_from_lan(sn, seeds, err);
		if (n == 0)
			n = seeds_from_cache(b, seeds);
		if (n == 0) {
			log_warn("no super node heard on the LAN and no ring members kept"
				 " from an earlier run; retrying");
			later(b);
			return;
		}
	} else {
		n = seeds_of(sn, list, seeds);
		if (n == 0)
			n = seeds_from_lan(sn, seeds, "bootstrapd lists none");
	}
	if (conn_listen(sn, lerr, sizeof(lerr)) < 0)
		fatal("%s", lerr);
	b->step = B_RUNNING;
	b->ready(sn, seeds, n);
}

/* ---- no bootstrapd: the configuration's own keys and the LAN ---- */

/* The overlay's configuration as bootc's defaults, logind from [supernode]
 * logind_url; no CRL to fetch; the seeds are the super nodes heard on the
 * LAN within [lan] wait, as soon as one is heard, else a ring of one. */
static void step_local(struct boot *b)
{
	struct sn *sn = b->sn;
	struct bootc_config oc = {.crl_number = -1,
				  .timers = {BOOTC_HEARTBEAT_DEFAULT, BOOTC_STABILIZE_DEFAULT,
					     BOOTC_KEEPALIVE_DEFAULT, BOOTC_RENEW_BEFORE_DEFAULT}};
	struct node seeds[SEEDS_MAX];
	struct timeval tv = {0, LAN_POLL_MS * 1000};
	char lerr[256];
	int n;

	if (b->step == B_CONFIG) {
		str_copy(oc.overlay, sn->cfg.overlay, sizeof(oc.overlay));
		str_copy(oc.logind_url, sn->cfg.logind_url, sizeof(oc.logind_url));
		log_info("no bootstrap_url: logind at %s, super nodes from the LAN", oc.logind_url);
		on_config(BOOTC_OK, &oc, NULL, b); /* then B_CRL, back here */
	} else if (b->step == B_CRL) {
		b->step = B_CERT;
		step(b);
	} else if (b->step == B_LIST) {
		n = sn_lan_seeds(sn, seeds, SEEDS_MAX);
		if (n == 0 && now_ms() < b->lan_until) {
			event_add(sn->boot_timer, &tv);
			return;
		}
		log_info("%d super node%s heard on the LAN", n, n == 1 ? "" : "s");
		if (n == 0)
			n = seeds_from_cache(b, seeds);
		if (conn_listen(sn, lerr, sizeof(lerr)) < 0)
			fatal("%s", lerr);
		b->step = B_RUNNING;
		b->ready(sn, seeds, n);
	} else if (b->step == B_CERT)
		keepcert_start(sn->kc, b->logind_url, b->renew_before);
}

static void step(struct boot *b)
{
	SSL_CTX *anon = b->sn->anon_ctx;
	char err[256];
	int rc = 0;

	if (b->bc == NULL) {
		step_local(b);
		return;
	}
	switch (b->step) {
	case B_CONFIG:
		rc = bootc_get_config(b->bc, anon, on_config, b, err, sizeof(err));
		break;
	case B_CRL:
		rc = bootc_get_crl(b->bc, anon, on_crl, b, err, sizeof(err));
		break;
	case B_CERT:
		keepcert_start(b->sn->kc, b->logind_url, b->renew_before);
		return;
	case B_LIST:
		rc = bootc_get_list(b->bc, anon, SEEDS_MAX, on_list, b, err, sizeof(err));
		break;
	case B_RUNNING:
		return;
	}
	if (rc < 0) {
		log_error("bootstrapd: %s", err);
		later(b);
	}
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

/* bootstrapd down for long (the node runs on what it kept) is asked less
 * and less often: 2 s doubling to ANNOUNCE_RETRY_MAX_MS. A refusal is
 * retried as before. */
static uint64_t announce_backoff(struct boot *b)
{
	uint64_t d = (uint64_t)RETRY_MS << (b->announce_fails < 5 ? b->announce_fails : 5);

	b->announce_fails++;
	return d < ANNOUNCE_RETRY_MAX_MS ? d : ANNOUNCE_RETRY_MAX_MS;
}

static void on_announce(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;
	json_t *j = body != NULL ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(j, "error"));

	if (status == 200) {
		if (!sn->announced)
			log_info("announced to bootstrapd");
		b->announce_fails = 0;
		sn->announced = 1;
		b->next_heartbeat = now_ms() + 1000u * (uint64_t)sn->heartbeat_interval;
	} else {
		log_warn("announce to bootstrapd failed: %s", status < 0 ? err : e ? e : "refused");
		sn->announced = 0;
		b->next_announce = now_ms() + (status < 0 ? announce_backoff(b) : RETRY_MS);
	}
	json_decref(j);
}

static void on_heartbeat(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;
	struct sn *sn = b->sn;

	(void)body, (void)len;
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
	char *body, err[256];
	struct timeval tv = {1, 0};

	(void)fd, (void)what;
	if (b->step != B_RUNNING) {
		step(b);
		return;
	}
	event_add(sn->boot_timer, &tv);
	if (b->bc == NULL || bootc_busy(b->bc) || sn->state == SN_LEAVING)
		return; /* one exchange at a time */
	if (sn->state == SN_JOINED && !sn->announced && now >= b->next_announce) {
		json_t *a = announcement(sn);
		body = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		if (post(b, "/v1/announce", body, on_announce) < 0)
			b->next_announce = now + RETRY_MS;
		free(body);
	} else if (sn->announced && now >= b->next_heartbeat) {
		char load[64];
		snprintf(load, sizeof(load), "{\"load\":%d}", conn_count(sn, CONN_CLIENT));
		if (post(b, "/v1/heartbeat", load, on_heartbeat) < 0)
			b->next_heartbeat = now + RETRY_MS;
	} else if (b->config_cached && now >= b->next_config) {
		b->next_config = now + CONFIG_RETRY_MS;
		if (bootc_get_config(b->bc, sn->anon_ctx, on_config_again, b, err, sizeof(err)) < 0)
			log_error("bootstrapd: %s", err);
	} else if (now >= b->next_crl) {
		b->next_crl = now + 1000u * (uint64_t)sn->cfg.crl_refresh;
		if (bootc_get_crl(b->bc, sn->anon_ctx, on_crl, b, err, sizeof(err)) < 0)
			log_error("bootstrapd: %s", err);
	}
}

int boot_start(struct sn *sn, void (*ready)(struct sn *sn, const struct node *seeds, int n))
{
	struct boot *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	sn->boot = b;
	b->sn = sn;
	b->ready = ready;
	if (sn->cfg.bootstrap_url[0] != '\0' &&
	    (b->bc = bootc_new(sn->base, sn->cfg.bootstrap_url, sn->cfg.overlay, sn->ca,
			       BOOTC_TIMEOUT_SECS)) == NULL)
		return -1;
	b->next_crl = now_ms() + 1000u * (uint64_t)sn->cfg.crl_refresh;
	b->lan_until = now_ms() + 1000u * (uint64_t)sn->cfg.lan_wait;
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

	sn->boot->next_announce = 0;
	event_add(sn->boot_timer, &tv);
}

static void on_withdrawn(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct boot *b = arg;

	(void)body, (void)len;
	if (status != 200)
		log_info("withdraw from bootstrapd: %s", status < 0 ? err : "refused");
	b->left(b->sn);
}

void boot_leave(struct sn *sn, void (*done)(struct sn *sn))
{
	struct boot *b = sn->boot;

	b->left = done;
	cache_ring_save(sn);
	if (b->bc == NULL) {
		done(sn);
		return;
	}
	bootc_cancel(b->bc);
	if (!sn->announced || post(b, "/v1/withdraw", "{}", on_withdrawn) < 0)
		done(sn);
}

void boot_stop(struct sn *sn)
{
	if (sn->boot == NULL)
		return;
	bootc_free(sn->boot->bc);
	free(sn->boot);
	sn->boot = NULL;
}
