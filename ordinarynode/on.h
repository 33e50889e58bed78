/* The ordinary node: keeps a certificate per configured account, one
 * outbound link to a super node with the others bootstrapd listed in
 * reserve, and a SIP registrar for the local phones that publishes their
 * accounts into the overlay. */
#ifndef P2PSIP_ON_H
#define P2PSIP_ON_H

#include "identity.h"
#include "olink.h"
#include "ringid.h"

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdint.h>

#define ON_ACCOUNTS_MAX 64
#define ON_RESERVE_MAX 16

struct on_account_conf {
	char *name;
	char *password;
	char *password_file;
};

struct on_config {
	char *overlay;
	char *bootstrap_url;
	char *ca_cert;
	char *state_dir;
	char *status_listen;
	char *sip_listen;
	char *log_level;
	int64_t crl_refresh;
	int64_t keepalive;
	struct on_account_conf *accounts;
	int naccounts;
};

enum on_state {
	ON_STARTING,
	ON_ATTACHING,
	ON_ATTACHED
};

struct sn_addr {
	char host[64];
	uint16_t port;
};

struct account {
	const struct on_account_conf *conf;
	struct keepcert *kc;
	char key_path[512], cert_path[512];
};

struct on {
	struct on_config cfg;
	struct event_base *base;
	SSL_CTX *anon_ctx;
	X509 *ca;
	struct crl *crl;
	struct account acc[ON_ACCOUNTS_MAX];
	int nacc;
	char *logind_url;
	int64_t renew_before, keepalive;
	enum on_state state;
	int booted; /* config, CRL and certificates are there */
	struct httpc_call *call;
	struct event *tick;
	uint64_t next_crl, next_list, next_ping;
	/* the link and the reserve */
	struct olink *link;
	struct sn_addr reserve[ON_RESERVE_MAX];
	int nreserve, next;
	struct sn_addr cur;
	char sn_id[NODE_ID_HEX_LEN + 1], sn_name[64];
	uint64_t attached_ms;
	int attaches;
	struct httpd *status;
	struct sipev *sev;
	struct on_sip *sip;
};

int on_config_load(struct on_config *cfg, const char *path, char *err, size_t errlen);
void on_config_print(const struct on_config *cfg);
void on_config_free(struct on_config *cfg);

/* ---- on_sip.c: the registrar for the local phones ---- */
struct on_sip;
struct on_sip *on_sip_new(struct on *on, char *err, size_t errlen);
/* Attached (again): every account with live bindings is published anew. */
void on_sip_republish(struct on_sip *s);
void on_sip_free(struct on_sip *s);

#endif
