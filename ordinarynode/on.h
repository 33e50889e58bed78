/* The ordinary node: keeps a certificate per configured account and one
 * outbound link to a super node, with the others bootstrapd listed in
 * reserve. (The SIP registrar and proxy for local phones come next.) */
#ifndef P2PSIP_ON_H
#define P2PSIP_ON_H

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
	char *log_level;
	int64_t crl_refresh;
	int64_t keepalive;
	struct on_account_conf *accounts;
	int naccounts;
};

int on_config_load(struct on_config *cfg, const char *path, char *err, size_t errlen);
void on_config_print(const struct on_config *cfg);
void on_config_free(struct on_config *cfg);

#endif
