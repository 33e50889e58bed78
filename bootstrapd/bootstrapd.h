/* bootstrapd: lists live super nodes, serves the overlay's configuration and
 * CRL, checks that announced super nodes are reachable. Shared state. */
#ifndef P2PSIP_BOOTSTRAPD_H
#define P2PSIP_BOOTSTRAPD_H

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
};

int bootstrapd_config_load(struct bootstrapd_config *cfg, const char *path, char *err,
			   size_t errlen);
void bootstrapd_config_print(const struct bootstrapd_config *cfg);
void bootstrapd_config_free(struct bootstrapd_config *cfg);

struct bootstrapd {
	struct bootstrapd_config cfg;
	struct event_base *base;
	sqlite3 *db;
	X509 *ca_cert;
	char *ca_pem;
	SSL_CTX *server_ctx; /* the HTTPS API */
	SSL_CTX *client_ctx; /* reachability checks and CRL fetches */
	struct httpd *httpd;
	struct crl *crl;
	int64_t crl_fetched;
	int logind_ok;
	struct event *crl_timer;
	struct httpc_call *crl_call; /* a CRL fetch in flight */
	struct event *expire_timer;
	struct announce_job *jobs; /* announcements waiting for their checks */
	uint64_t announces_ok, announces_failed;
};

/* bootstrapd_api.c */
int bootstrapd_api_start(struct bootstrapd *bd, char *err, size_t errlen);
void bootstrapd_api_stop(struct bootstrapd *bd);

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
