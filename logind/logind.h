/* logind: the overlay's certificate authority and login server. Shared
 * state of the daemon and the interfaces between its files. */
#ifndef P2PSIP_LOGIND_H
#define P2PSIP_LOGIND_H

#include <jansson.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <stdint.h>

#include "logind_auth.h"
#include "logind_ratelimit.h"

struct event_base;
struct event;
struct httpd;
struct workq;
struct crl;
struct ca;
struct admin_server;
struct login_job;

struct logind_config {
	char *overlay;
	char *listen;
	char *status_listen; /* "" turns the local status port off */
	char *admin_socket;
	char *database;
	char *ca_key;
	char *ca_cert;
	char *join_code_file; /* "": a random CA at --init; else derived (ad hoc) */
	char *tls_key;
	char *tls_cert;
	char *tls_names;
	char *log_level;
	int64_t workers;
	int64_t user_lifetime;
	int64_t supernode_lifetime;
	int64_t server_lifetime;
	int64_t ca_lifetime;
	int64_t crl_lifetime;
	int64_t max_live_user; /* live Node-IDs per account of each role */
	int64_t max_live_supernode;
	int allow_ed25519;
	int64_t scrypt_n;
	int64_t scrypt_r;
	int64_t scrypt_p;
	int64_t password_min;
	int64_t max_connections;
	int64_t max_body;
	int64_t max_headers;
	int64_t timeout;
	int64_t queue;
	int64_t rl_slow_after;
	int64_t rl_lockout_after;
	int64_t rl_window;
	int64_t rl_lockout;
	int64_t rl_max_delay;
};

int logind_config_load(struct logind_config *cfg, const char *path, char *err, size_t errlen);
void logind_config_print(const struct logind_config *cfg);
void logind_config_free(struct logind_config *cfg);

/* Counters since start, for the status pages. */
enum cert_role_ix {
	ROLE_IX_USER,
	ROLE_IX_SUPERNODE,
	ROLE_IX_SERVER,
	ROLE_IX_GATEWAY,
	ROLE_IX_COUNT
};

struct logind_stats {
	uint64_t logins_ok;
	uint64_t failed_wrong, failed_unknown, failed_disabled; /* answered 401 */
	uint64_t logins_refused; /* 429: the source address is locked */
	uint64_t logins_delayed; /* answers the rate limit held back */
	uint64_t logins_busy;    /* 503: the hash queue was full */
	uint64_t lockouts_addr;
	uint64_t users_slowed; /* a user name reached slow_after failures */
	uint64_t renewals, renewals_refused;
	uint64_t issued[ROLE_IX_COUNT];
	uint64_t revoked;
	uint64_t superseded; /* of those, revoked to keep an account within its cap */
};

struct logind {
	struct logind_config cfg;
	struct event_base *base;
	sqlite3 *db;
	struct ca *ca; /* the signing process */
	X509 *ca_cert;
	char *ca_pem;
	struct crl *crl; /* current CRL, served and used for TLS */
	struct event *crl_timer;
	struct httpd *httpd;
	struct statusd *status; /* the local status port, or NULL */
	struct admin_server *admin;
	struct workq *wq;
	struct ratelimit *rl;      /* failed logins per source (address, IPv6 /64) */
	struct ratelimit *rl_user; /* failed logins per user name: slowed, never locked */
	struct pw_params pw;
	char dummy_hash[PW_HASH_MAX]; /* verified for unknown users */
	void *ssl_ctx;                /* SSL_CTX of the HTTPS API */
	struct login_job *delayed;    /* logins waiting out a rate-limit delay */
	struct logind_stats st;
	/* Users per role, counted in the database when a status page needs
	 * them and again only after the admin socket added or deleted one. */
	int64_t users[3]; /* user, supernode, gateway */
	int users_known;
};

/* logind_certs.c: issuing, revoking and the CRL. */
struct issue_req {
	const char *name;
	const char *role;
	EVP_PKEY *pubkey;
	const char *const *dns; /* server certificates only */
	int ndns;
	const char *const *ips;
	int nips;
	/* Renewal: the Node-ID (hex) of the certificate presented; if the new
	 * key differs, its certificates are superseded. NULL for a login. */
	const char *replaces;
};

struct issued {
	char *pem;
	char serial[SERIAL_HEX_LEN + 1];
	int64_t not_after;
	char node_id[33];
};

int certs_issue(struct logind *ld, const struct issue_req *r, struct issued *out, char *err,
		size_t errlen);
void issued_free(struct issued *is);
/* The index of a role in logind_stats.issued. */
enum cert_role_ix cert_role_ix(const char *role);
/* Builds and signs a fresh CRL from the database and installs it. */
int certs_refresh_crl(struct logind *ld, char *err, size_t errlen);
int certs_start_crl_timer(struct logind *ld);
/* Revocations followed by a CRL refresh. */
int certs_revoke(struct logind *ld, const char *serial, int reason, char *err, size_t errlen);

/* logind_api.c: the HTTPS API. logind_api_stop answers logins still waiting for a
 * delay, then closes the listener; call it after workq_free. */
int logind_api_start(struct logind *ld, char *err, size_t errlen);
void logind_api_stop(struct logind *ld);

/* logind_status.c: the local status port (GET /status, GET /metrics), and
 * the body of /v1/status, which the HTTPS API serves too. */
int logind_status_start(struct logind *ld, char *err, size_t errlen);
void logind_status_stop(struct logind *ld);
json_t *logind_status_json(struct logind *ld);

/* logind_admin.c: the admin socket. */
struct admin_server *admin_start(struct logind *ld, char *err, size_t errlen);
void admin_stop(struct admin_server *a);

#endif
