/* The CRL cached from logind: fetched periodically, verified against the CA,
 * kept in SQLite so that it is still served while logind is down. */
#include "bootstrapd.h"

#include "bootstrapd_db.h"
#include "crl.h"
#include "httpc.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void install(struct bootstrapd *bd, struct crl *c)
{
	int dropped;

	crl_free(bd->crl);
	bd->crl = c;
	tls_ctx_set_crl(bd->server_ctx, c);
	tls_ctx_set_crl(bd->client_ctx, c);
	dropped = bdb_sn_drop_revoked(bd->db, c);
	if (dropped > 0) {
		bd->st.dropped_revoked += (uint64_t)dropped;
		log_info("CRL %lld: %d super nodes dropped", (long long)c->number, dropped);
	}
}

int crl_cache_offer(struct bootstrapd *bd, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct crl *c = crl_parse(buf, len, bd->ca_cert, err, errlen);

	if (c == NULL)
		return -1;
	if (bd->crl != NULL && c->number <= bd->crl->number) {
		if (c->number < bd->crl->number)
			log_warn("logind served CRL %lld, older than the cached %lld; kept ours",
				 (long long)c->number, (long long)bd->crl->number);
		crl_free(c);
		return 0;
	}
	if (bdb_crl_put(bd->db, c->der, c->der_len, c->number, time_now()) < 0) {
		err_set(err, errlen, "cannot store the CRL");
		crl_free(c);
		return -1;
	}
	log_info("CRL %lld from logind: %d revoked certificates", (long long)c->number, c->count);
	install(bd, c);
	return 0;
}

int crl_cache_load(struct bootstrapd *bd)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int64_t fetched = 0;
	char err[256];
	struct crl *c;

	if (bdb_crl_get(bd->db, &der, &len, &fetched) != BDB_OK)
		return 0;
	c = crl_parse(der, len, bd->ca_cert, err, sizeof(err));
	free(der);
	if (c == NULL) {
		log_warn("cached CRL ignored: %s", err);
		return 0;
	}
	bd->crl_fetched = fetched;
	install(bd, c);
	log_info("cached CRL %lld loaded", (long long)c->number);
	return 0;
}

static void on_fetched(int status, const uint8_t *body, size_t len, const char *why, void *arg)
{
	struct bootstrapd *bd = arg;
	char err[256];

	bd->crl_call = NULL;
	if (status != 200) {
		bd->st.crl_fetch_failures++;
		if (status >= 0)
			snprintf(err, sizeof(err), "HTTP status %d", status);
		if (bd->logind_ok != 0)
			log_warn("CRL fetch from %s failed: %s; serving the cached CRL",
				 bd->cfg.logind_url, status < 0 ? why : err);
		bd->logind_ok = 0;
		return;
	}
	if (crl_cache_offer(bd, body, len, err, sizeof(err)) < 0) {
		bd->st.crl_fetch_failures++;
		log_error("CRL from logind rejected: %s", err);
		return;
	}
	if (bd->logind_ok != 1)
		log_info("logind reachable at %s", bd->cfg.logind_url);
	bd->logind_ok = 1;
	bd->crl_fetched = time_now();
}

static void fetch(struct bootstrapd *bd)
{
	char url[1024];
	char err[256];
	size_t n = strlen(bd->cfg.logind_url);

	snprintf(url, sizeof(url), "%s%s", bd->cfg.logind_url,
		 n > 0 && bd->cfg.logind_url[n - 1] == '/' ? "v1/crl" : "/v1/crl");
	if (bd->crl_call != NULL)
		return; /* the previous fetch is still under way */
	bd->crl_call = httpc_request(bd->base, bd->client_ctx, url, NULL, 10, on_fetched, bd, err,
				     sizeof(err));
	if (bd->crl_call == NULL)
		log_error("CRL fetch: %s", err);
}

void crl_cache_refresh_now(void *bd)
{
	fetch(bd);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	fetch(arg);
}

int crl_cache_start(struct bootstrapd *bd)
{
	struct timeval tv = {bd->cfg.crl_refresh, 0};

	bd->logind_ok = -1; /* not known yet: the first result is logged */
	bd->crl_timer = event_new(bd->base, -1, EV_PERSIST, on_timer, bd);
	if (bd->crl_timer == NULL || event_add(bd->crl_timer, &tv) < 0)
		return -1;
	fetch(bd);
	return 0;
}

void crl_cache_stop(struct bootstrapd *bd)
{
	httpc_cancel(bd->crl_call);
	bd->crl_call = NULL;
	if (bd->crl_timer != NULL)
		event_free(bd->crl_timer);
	bd->crl_timer = NULL;
}
