/* The ordinary node's configuration: [ordinarynode] and one [account NAME]
 * section per account it serves. */
#include "on.h"

#include "conf.h"
#include "lan.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <string.h>

/* clang-format off */
#define F(f) offsetof(struct on_config, f)
static const struct conf_item items[] = {
	{"ordinarynode", "overlay", CONF_STRING, F(overlay), NULL, 0, 0, CONF_REQUIRED, ""},
	{"ordinarynode", "bootstrap_url", CONF_STRING, F(bootstrap_url), "", 0, 0, 0, "empty: none (logind_url, the LAN)"},
	{"ordinarynode", "logind_url", CONF_STRING, F(logind_url), "", 0, 0, 0, "used when no bootstrapd configuration can be had"},
	{"ordinarynode", "ca_cert", CONF_STRING, F(ca_cert), "/var/lib/p2psip/ca.crt", 0, 0, 0, ""},
	{"ordinarynode", "state_dir", CONF_STRING, F(state_dir), "/var/lib/p2psip/ordinarynode", 0, 0, 0, ""},
	{"ordinarynode", "status_listen", CONF_STRING, F(status_listen), "127.0.0.1:7490", 0, 0, 0, ""},
	{"ordinarynode", "sip_listen", CONF_STRING, F(sip_listen), "127.0.0.1:5060", 0, 0, 0, "UDP and TCP for the phones"},
	{"ordinarynode", "log_level", CONF_STRING, F(log_level), "info", 0, 0, 0, ""},
	{"ordinarynode", "crl_refresh", CONF_DURATION, F(crl_refresh), "1m", 1, 86400, 0, ""},
	{"ordinarynode", "keepalive", CONF_DURATION, F(keepalive), "0", 0, 3600, 0, "0: bootstrapd's"},
	{"ordinarynode", "digest_algorithms", CONF_STRING, F(digest_algorithms), "SHA-256 MD5", 0, 0, 0, "challenges offered, in order"},
	{"ordinarynode", "auth_nonce_lifetime", CONF_DURATION, F(auth_nonce_lifetime), "5m", 10, 3600, 0, "then stale=true"},
	{"ordinarynode", "auth_fail_max", CONF_INT, F(auth_fail_max), "5", 1, 1000, 0, "failures per source within auth_fail_window"},
	{"ordinarynode", "auth_fail_window", CONF_DURATION, F(auth_fail_window), "10m", 1, 86400, 0, ""},
	{"ordinarynode", "auth_block_time", CONF_DURATION, F(auth_block_time), "10m", 1, 86400, 0, "a source over the limit gets 403"},
	{"ordinarynode", "phone_networks", CONF_STRING, F(phone_networks), "", 0, 0, 0, "IP[/BITS] list; empty: any"},
	{"ordinarynode", "sip_tls_listen", CONF_STRING, F(sip_tls_listen), "", 0, 0, 0, "SIP over TLS for the phones; empty: none"},
	{"ordinarynode", "sip_tls_cert", CONF_STRING, F(sip_tls_cert), "", 0, 0, 0, "PEM, the chain after it"},
	{"ordinarynode", "sip_tls_key", CONF_STRING, F(sip_tls_key), "", 0, 0, 0, "PEM"},
	{"ordinarynode", "plain_sip", CONF_BOOL, F(plain_sip), "no", 0, 0, 0, "yes: SIP between nodes unsealed (benchmarks only)"},
	{"gateway", "enable", CONF_BOOL, F(gw_enable), "no", 0, 0, 0, "yes: the overlay's gateway to other SIP domains"},
	{"gateway", "domains", CONF_STRING, F(gw_domains), "*", 0, 0, 0, "domains it carries calls out to; *: any"},
	{"gateway", "routes", CONF_STRING, F(gw_routes), "", 0, 0, 0, "DOMAIN=HOST:PORT[/tcp] next hops instead of DNS"},
	{"gateway", "user_requests_per_minute", CONF_INT, F(gw_user_requests), "30", 1, 100000, 0, "requests out of dialogs per overlay user"},
	{"gateway", "source_rate", CONF_INT, F(gw_source_rate), "50", 1, 1000000, 0, "requests per second per foreign address"},
	{"gateway", "source_burst", CONF_INT, F(gw_source_burst), "200", 1, 1000000, 0, ""},
	{"gateway", "tls_listen", CONF_STRING, F(gw_tls_listen), "", 0, 0, 0, "IP:PORT: SIP over TLS for peered overlays; required with [peer]"},
	{"lan", "discover", CONF_BOOL, F(lan_discover), "yes", 0, 0, 0, "hear super nodes' announcements on the LAN"},
	{"lan", "group", CONF_STRING, F(lan_group), LAN_GROUP_DEFAULT, 0, 0, 0, "IPv4 multicast ADDRESS:PORT"},
	{"lan", "interface", CONF_STRING, F(lan_iface), "", 0, 0, 0, "IPv4 address; empty: the kernel's choice"},
	{"media", "relay", CONF_STRING, F(media_relay), "auto", 0, 0, 0, "auto, always, tunnel, never"},
	{"media", "pool", CONF_INT, F(media_pool), "4", 1, 32, 0, "relay streams kept ready"},
	{"media", "hide_addresses", CONF_BOOL, F(media_hide), "yes", 0, 0, 0, "relay = auto relays every call"},
	{"promotion", "allow", CONF_BOOL, F(promo_allow), "no", 0, 0, 0, "yes: this machine may run a super node when the overlay wants one"},
	{"promotion", "listen", CONF_STRING, F(promo_listen), "0.0.0.0:7400", 0, 0, 0, "IP:PORT of that super node's TLS listener"},
	{"promotion", "public_host", CONF_STRING, F(promo_public_host), "", 0, 0, 0, "its address as others reach it; empty: listen's"},
	{"promotion", "status_listen", CONF_STRING, F(promo_status_listen), "127.0.0.1:7480", 0, 0, 0, "its status port"},
	{"promotion", "supernode_path", CONF_STRING, F(promo_supernode_path), "", 0, 0, 0, "empty: next to ordinarynode, then the install path"},
	{"promotion", "check_interval", CONF_DURATION, F(promo_check_interval), "1m", 1, 3600, 0, "how often to see whether to step up or down"},
};
#define A(f) offsetof(struct on_account_conf, f)
static const struct conf_item account_items[] = {
	{"", "password", CONF_STRING, A(password), NULL, 0, 0, CONF_SECRET, ""},
	{"", "password_file", CONF_STRING, A(password_file), NULL, 0, 0, 0, ""},
	{"", "sip_password", CONF_STRING, A(sip_password), NULL, 0, 0, CONF_SECRET, "its phones' digest password"},
	{"", "sip_password_file", CONF_STRING, A(sip_password_file), NULL, 0, 0, 0, ""},
	{"", "role", CONF_STRING, A(role), "user", 0, 0, 0, "user, or gateway: the certificate asked of logind"},
	{"", "public_aors", CONF_STRING, A(public_aors), "", 0, 0, 0, "USER@DOMAIN list registered through a gateway"},
};
#define P(f) offsetof(struct on_peer_conf, f)
static const struct conf_item peer_items[] = {
	{"", "ca_cert", CONF_STRING, P(ca_cert), NULL, 0, 0, CONF_REQUIRED, "the peer overlay's CA certificate (PEM)"},
	{"", "route", CONF_STRING, P(route), "", 0, 0, 0, "HOST:PORT of its gateways' TLS listener; empty: DNS"},
	{"", "gateways", CONF_STRING, P(gateways), "", 0, 0, 0, "its gateways' account names; empty: any certificate of its CA"},
};
static const struct conf_group groups[] = {
	{"account", account_items, ARRAY_LEN(account_items), sizeof(struct on_account_conf),
	 F(accounts), F(naccounts), A(name), 1, ON_ACCOUNTS_MAX},
	{"peer", peer_items, ARRAY_LEN(peer_items), sizeof(struct on_peer_conf),
	 F(peers), F(npeers), P(name), 0, ON_PEERS_MAX},
};
/* clang-format on */

/* [gateway]: the domains, routes and peers parse (on_gateway.c). */
static int gateway_check(const struct on_config *cfg, const char *path, char *err, size_t errlen)
{
	char why[200];
	struct on_gw *g;

	if (!cfg->gw_enable) {
		if (cfg->npeers == 0)
			return 0;
		err_set(err, errlen, "%s: [peer] sections need [gateway] enable = yes", path);
		return -1;
	}
	if (cfg->npeers > 0 && cfg->sip_tls_listen[0] != '\0') {
		err_set(err, errlen,
			"%s: a gateway with [peer] sections takes TLS on [gateway] "
			"tls_listen, not sip_tls_listen",
			path);
		return -1;
	}
	if (cfg->npeers > 0 && cfg->gw_tls_listen[0] == '\0') {
		err_set(err, errlen, "%s: [peer] sections need [gateway] tls_listen", path);
		return -1;
	}
	if ((g = on_gw_new(cfg, why, sizeof(why))) == NULL) {
		err_set(err, errlen, "%s: %s", path, why);
		return -1;
	}
	on_gw_free(g);
	return 0;
}

/* [promotion]: the listeners of a super node of ours must parse. */
static int promotion_check(const struct on_config *cfg, const char *path, char *err,
			   size_t errlen)
{
	char host[64];
	uint16_t port;

	if (addr_split(cfg->promo_listen, host, sizeof(host), &port) < 0 || !addr_is_ip(host)) {
		err_set(err, errlen, "%s: [promotion] listen: want IP:PORT, got %s", path,
			cfg->promo_listen);
		return -1;
	}
	if (addr_split(cfg->promo_status_listen, host, sizeof(host), &port) < 0) {
		err_set(err, errlen, "%s: [promotion] status_listen: want IP:PORT, got %s", path,
			cfg->promo_status_listen);
		return -1;
	}
	return 0;
}

static int account_ok(const char *path, const struct on_account_conf *a, char *err, size_t errlen)
{
	if ((a->password == NULL) == (a->password_file == NULL)) {
		err_set(err, errlen, "%s: [account %s]: give password or password_file", path,
			a->name);
		return -1;
	}
	/* Secure by default: a phone never gets in without a password. */
	if ((a->sip_password == NULL) == (a->sip_password_file == NULL)) {
		err_set(err, errlen,
			"%s: [account %s]: give sip_password or sip_password_file (what "
			"its "
			"phones authenticate with; not the overlay password)",
			path, a->name);
		return -1;
	}
	if (!name_is_valid(a->name)) {
		err_set(err, errlen, "%s: [account %s]: not a valid account name", path, a->name);
		return -1;
	}
	if (strcmp(a->role, ROLE_USER) != 0 && strcmp(a->role, ROLE_GATEWAY) != 0) {
		err_set(err, errlen, "%s: [account %s]: role: want user or gateway, got %s", path,
			a->name, a->role);
		return -1;
	}
	return 0;
}

int on_config_load(struct on_config *cfg, const char *path, char *err, size_t errlen)
{
	if (conf_load_groups(items, ARRAY_LEN(items), groups, ARRAY_LEN(groups), cfg, path, err,
			     errlen) < 0)
		return -1;
	for (int i = 0; i < cfg->naccounts; i++)
		if (account_ok(path, &cfg->accounts[i], err, errlen) < 0)
			return -1;
	if (cfg->bootstrap_url[0] == '\0' && cfg->logind_url[0] == '\0') {
		err_set(err, errlen,
			"%s: give bootstrap_url, or logind_url for an overlay with no bootstrapd", path);
		return -1;
	}
	struct lan_sock_conf lsc;
	char lwhy[160];
	if (lan_sock_conf(&lsc, cfg->lan_group, cfg->lan_iface, lwhy, sizeof(lwhy)) < 0) {
		err_set(err, errlen, "%s: [lan] %s", path, lwhy);
		return -1;
	}
	struct on_auth_params ap;
	char why[160];
	if (cfg->sip_tls_listen[0] != '\0' &&
	    (cfg->sip_tls_cert[0] == '\0' || cfg->sip_tls_key[0] == '\0')) {
		err_set(err, errlen, "%s: sip_tls_listen needs sip_tls_cert and sip_tls_key", path);
		return -1;
	}
	if (on_auth_algs_parse(cfg->digest_algorithms, &ap) < 0) {
		err_set(err, errlen, "%s: digest_algorithms: want SHA-256 and/or MD5, got %s", path,
			cfg->digest_algorithms);
		return -1;
	}
	if (netlist_parse(cfg->phone_networks, &cfg->phone_nets, why, sizeof(why)) < 0) {
		err_set(err, errlen, "%s: phone_networks: %s", path, why);
		return -1;
	}
	if (promotion_check(cfg, path, err, errlen) < 0)
		return -1;
	return gateway_check(cfg, path, err, errlen);
}

int on_config_public_aor(const struct on_config *cfg, const url_t *aor)
{
	char want[256];
	size_t n;

	if (aor == NULL || aor->url_user == NULL || aor->url_host == NULL || cfg->overlay == NULL ||
	    strcasecmp(aor->url_host, cfg->overlay) == 0 ||
	    (size_t)snprintf(want, sizeof(want), "%s@%s", aor->url_user, aor->url_host) >=
		    sizeof(want))
		return -1;
	n = strlen(want);
	for (int i = 0; i < cfg->naccounts; i++) {
		const char *l = cfg->accounts[i].public_aors;
		while (l != NULL && *l != '\0') {
			size_t k;
			l += strspn(l, " ,\t");
			k = strcspn(l, " ,\t");
			/* the user part as given, the domain without case */
			if (k == n && strncmp(l, want, strchr(want, '@') - want) == 0 &&
			    strncasecmp(l, want, n) == 0)
				return i;
			l += k;
		}
	}
	return -1;
}

void on_config_print(const struct on_config *cfg)
{
	conf_print_groups(items, ARRAY_LEN(items), groups, ARRAY_LEN(groups), cfg, stdout);
}

void on_config_free(struct on_config *cfg)
{
	conf_free_groups(items, ARRAY_LEN(items), groups, ARRAY_LEN(groups), cfg);
}
