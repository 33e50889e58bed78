/* The super node's configuration: the schema and its defaults. */
#include "supernode.h"

#include "conf.h"
#include "lan.h"
#include "netlist.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>

/* clang-format off */
#define F(f) offsetof(struct sn_config, f)
#define S(k, f, d, fl) {"supernode", k, CONF_STRING, F(f), d, 0, 0, fl, ""}
#define I(sec, k, f, d, lo, hi) {sec, k, CONF_INT, F(f), d, lo, hi, 0, ""}
#define D(sec, k, f, d, lo, hi) {sec, k, CONF_DURATION, F(f), d, lo, hi, 0, ""}
/* clang-format on */

static const struct conf_item items[] = {
	S("overlay", overlay, NULL, CONF_REQUIRED),
	S("bootstrap_url", bootstrap_url, "", 0),
	S("logind_url", logind_url, "", 0),
	S("ca_cert", ca_cert, "/var/lib/p2psip/ca.crt", 0),
	S("account", account, NULL, CONF_REQUIRED),
	S("password", password, NULL, CONF_SECRET),
	S("password_file", password_file, NULL, 0),
	{"supernode", "promoted", CONF_BOOL, F(promoted), "no", 0, 0, 0, ""},
	S("key", key, "/var/lib/p2psip/supernode/node.key", 0),
	S("cert", cert, "/var/lib/p2psip/supernode/node.crt", 0),
	S("database", database, "/var/lib/p2psip/supernode/records.db", 0),
	S("listen", listen, "0.0.0.0:7400", 0),
	S("public_host", public_host, NULL, 0),
	S("fallback_listen", fallback_listen, NULL, 0),
	S("status_listen", status_listen, "127.0.0.1:7480", 0),
	S("log_level", log_level, "info", 0),
	D("supernode", "crl_refresh", crl_refresh, "1m", 1, 86400),
	I("ring", "successors", successors, "4", 1, SUCC_MAX),
	I("ring", "replicas", replicas, "2", 0, 4),
	I("ring", "stabilize_ms", stabilize_ms, "0", 0, 600000),
	I("ring", "push_delay_ms", push_delay_ms, "200", 0, 600000),
	I("ring", "request_timeout_ms", request_timeout_ms, "5000", 100, 60000),
	I("limits", "max_links", max_links, "4096", 16, 1000000),
	I("limits", "max_links_per_addr", max_links_per_addr, "256", 1, 1000000),
	I("limits", "max_handshakes", max_handshakes, "256", 1, 1000000),
	I("limits", "max_handshakes_per_addr", max_handshakes_per_addr, "16", 1, 1000000),
	D("limits", "handshake_timeout", handshake_timeout, "5s", 1, 60),
	I("limits", "copy_rate", copy_rate, "5000", 1, 10000000),
	D("limits", "sync_interval", sync_interval, "10s", 1, 3600),
	I("limits", "deliver_rate", deliver_rate, "50", 1, 1000000),
	I("limits", "deliver_bytes", deliver_bytes, "524288", 65536, 1000000000),
	I("limits", "send_rate", send_rate, "200", 1, 1000000),
	I("limits", "send_bytes", send_bytes, "2097152", 65536, 1000000000),
	I("limits", "client_rate", client_rate, "2000", 1, 10000000),
	I("limits", "peer_rate", peer_rate, "200000", 1, 10000000),
	D("limits", "idle_timeout", idle_timeout, "120s", 5, 86400),
	I("limits", "flush_ms", flush_ms, "20", 1, 10000),
	I("limits", "value_max", value_max, "0", 0, RECORD_DATA_HARD_MAX),
	I("limits", "values_per_resource", values_per_resource, "0", 0, 100000),
	I("limits", "records_per_user", records_per_user, "0", 0, 100000000),
	D("limits", "lifetime_max", lifetime_max, "0", 0, 366 * 86400),
	{"relay", "listen", CONF_STRING, F(relay_listen), "", 0, 0, 0, ""},
	{"relay", "public", CONF_STRING, F(relay_public), "", 0, 0, 0, ""},
	{"relay", "ports", CONF_STRING, F(relay_ports), "40000-49999", 0, 0, 0, ""},
	D("relay", "idle_timeout", relay_idle, "60s", 5, 86400),
	I("relay", "max_streams", relay_max, "2500", 0, 100000),
	I("relay", "max_streams_per_account", relay_max_per_account, "64", 1, 100000),
	I("relay", "max_streams_per_node", relay_max_per_node, "0", 0, 100000),
	I("relay", "max_packet_rate", relay_rate, "500", 10, 1000000),
	{"relay", "allow_networks", CONF_STRING, F(relay_allow), "", 0, 0, 0, ""},
	{"stun", "listen", CONF_STRING, F(stun_listen), "", 0, 0, 0, ""},
	I("stun", "rate", stun_rate, "20000", 1, 10000000),
	I("stun", "rate_per_addr", stun_rate_per_addr, "50", 1, 10000000),
	{"lan", "announce", CONF_BOOL, F(lan_announce), "no", 0, 0, 0, "yes: announce this super node on the LAN"},
	{"lan", "discover", CONF_BOOL, F(lan_discover), "yes", 0, 0, 0, "listen to super nodes' announcements"},
	{"lan", "group", CONF_STRING, F(lan_group), LAN_GROUP_DEFAULT, 0, 0, 0, "IPv4 multicast ADDRESS:PORT"},
	{"lan", "interface", CONF_STRING, F(lan_iface), "", 0, 0, 0, "IPv4 address; empty: public_host's or listen's"},
	D("lan", "interval", lan_interval, "5s", 1, 3600),
	D("lan", "wait", lan_wait, "11s", 0, 600),
};

/* [relay]: max_streams_per_node, the key's name before limits were per
 * account, is still read as max_streams_per_account; allow_networks must
 * parse. */
static int relay_config_check(struct sn_config *cfg, const char *path, char *err, size_t errlen)
{
	struct netlist nets;
	char why[160];

	if (cfg->relay_max_per_node > 0)
		cfg->relay_max_per_account = cfg->relay_max_per_node;
	if (netlist_parse(cfg->relay_allow, &nets, why, sizeof(why)) < 0) {
		err_set(err, errlen, "%s: [relay] allow_networks: %s", path, why);
		return -1;
	}
	return 0;
}

/* [lan] group and interface must parse (sn_lan.c opens them). */
static int lan_check(const struct sn_config *cfg, const char *path, char *err, size_t errlen)
{
	struct lan_sock_conf lsc;
	char why[160];

	if (lan_sock_conf(&lsc, cfg->lan_group, cfg->lan_iface, why, sizeof(why)) < 0) {
		err_set(err, errlen, "%s: [lan] %s", path, why);
		return -1;
	}
	return 0;
}

int sn_config_load(struct sn_config *cfg, const char *path, char *err, size_t errlen)
{
	if (conf_load(items, ARRAY_LEN(items), cfg, path, err, errlen) < 0)
		return -1;
	if (cfg->password == NULL && cfg->password_file == NULL) {
		err_set(err, errlen, "%s: give password or password_file for the account", path);
		return -1;
	}
	if (relay_config_check(cfg, path, err, errlen) < 0)
		return -1;
	if (cfg->bootstrap_url[0] == '\0' && cfg->logind_url[0] == '\0') {
		err_set(err, errlen, "%s: give bootstrap_url, or logind_url for an overlay with no bootstrapd",
			path);
		return -1;
	}
	if (lan_check(cfg, path, err, errlen) < 0)
		return -1;
	if (cfg->replicas >= cfg->successors + 1) {
		err_set(err, errlen, "%s: [ring] replicas must be at most successors", path);
		return -1;
	}
	return 0;
}

void sn_config_print(const struct sn_config *cfg)
{
	conf_print(items, ARRAY_LEN(items), cfg, stdout);
}

void sn_config_free(struct sn_config *cfg)
{
	conf_free(items, ARRAY_LEN(items), cfg);
}
