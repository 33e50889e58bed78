/* bootstrapd: lists live super nodes, serves the overlay's configuration and
 * CRL, checks that announced super nodes are reachable. Shared state. */
#ifndef P2PSIP_BOOTSTRAPD_H
#define P2PSIP_BOOTSTRAPD_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <stdint.h>

struct event_base;
struct event;
struct httpd;
struct crl;
struct announce_job;
struct httpc_call;

struct bootstrapd_config {
	char *overlay;
	char *listen;
	char *status_listen; /* "" turns the local status port off */
	char *ca_cert;
	char *tls_cert;
	char *tls_key;
	char *database;
	char *logind_url;
	char *log_level;
	int64_t crl_refresh;
	int64_t heartbeat_timeout;
	int64_t check_timeout;
	int64_t list_default;
	int64_t list_max;
	int allow_private;
	int64_t max_connections;
	int64_t max_body;
	int64_t max_headers;
	int64_t timeout;
	/* Served to nodes in /v1/config. */
	int64_t heartbeat_interval;
	int64_t stabilize_interval;
	int64_t keepalive_interval;
	int64_t cert_renew_before;
	int64_t record_value_max;
	int64_t values_per_resource;
	int64_t records_per_user;
	int64_t record_lifetime_max;
	int64_t frame_max;
	/* [promotion]: self-selected super nodes, served as "promotion". */
	int promo_enable;
	int64_t promo_want;
	int64_t promo_min_uptime;
	char *promo_max_load; /* a decimal number, read into promo_load */
	double promo_load;
	int64_t promo_demote_after;
};

int bootstrapd_config_load(struct bootstrapd_config *cfg, const char *path, char *err,
			   size_t errlen);
void bootstrapd_config_print(const struct bootstrapd_config *cfg);
void bootstrapd_config_free(struct bootstrapd_config *cfg);

/* Counters since start, for the status pages. */
struct bootstrapd_stats {
	uint64_t announces_ok;
	/* refused: a reachability check failed, the body, the certificate, or
	 * bootstrapd's own failure (database, memory) */
	uint64_t ann_unreachable, ann_bad, ann_cert, ann_error;
	uint64_t heartbeats_ok;
	uint64_t hb_not_listed, hb_bad, hb_cert, hb_error;
	uint64_t withdrawals;
	uint64_t checks, checks_failed; /* reachability checks, one per address */
	uint64_t dropped_expired, dropped_revoked;
	uint64_t crl_fetch_failures;
};

struct bootstrapd {
	struct bootstrapd_config cfg;
	struct event_base *base;
	sqlite3 *db;
	X509 *ca_cert;
	char *ca_pem;
	SSL_CTX *server_ctx; /* the HTTPS API */
	SSL_CTX *client_ctx; /* reachability checks and CRL fetches */
	struct httpd *httpd;
	struct statusd *status; /* the local status port, or NULL */
	struct crl *crl;
	int64_t crl_fetched;
	int logind_ok; /* whether the last CRL fetch got an answer; -1 before the first */
	struct event *crl_timer;
	struct httpc_call *crl_call; /* a CRL fetch in flight */
	struct event *expire_timer;
	struct announce_job *jobs; /* announcements waiting for their checks */
	struct bootstrapd_stats st;
};

/* bootstrapd_api.c */
int bootstrapd_api_start(struct bootstrapd *bd, char *err, size_t errlen);
void bootstrapd_api_stop(struct bootstrapd *bd);
/* Drops super nodes silent for heartbeat_timeout or whose certificate
 * ended, counts and logs them; returns how many, or -1. */
int bootstrapd_expire(struct bootstrapd *bd);

/* bootstrapd_status.c: the local status port (GET /status, GET /metrics),
 * and the body of /v1/status, which the HTTPS API serves too. */
int bootstrapd_status_start(struct bootstrapd *bd, char *err, size_t errlen);
void bootstrapd_status_stop(struct bootstrapd *bd);
json_t *bootstrapd_status_json(struct bootstrapd *bd);

/* bootstrapd_crl.c: the CRL cached from logind. */
int crl_cache_load(struct bootstrapd *bd);
int crl_cache_start(struct bootstrapd *bd);
void crl_cache_stop(struct bootstrapd *bd);
/* Fetches the CRL at once (SIGHUP), e.g. right after a revocation. */
void crl_cache_refresh_now(void *bd);
/* Takes a CRL (DER or PEM) if it verifies and is newer than the one held. */
int crl_cache_offer(struct bootstrapd *bd, const uint8_t *buf, size_t len, char *err,
		    size_t errlen);

#endif
