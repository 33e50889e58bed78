/* bootstrapd's configuration: the schema and its defaults. */
#include "bootstrapd.h"

#include "conf.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* clang-format off */
#define F(f) offsetof(struct bootstrapd_config, f)
#define S(k, f, d, fl) {"bootstrapd", k, CONF_STRING, F(f), d, 0, 0, fl, ""}
#define I(sec, k, f, d, lo, hi) {sec, k, CONF_INT, F(f), d, lo, hi, 0, ""}
#define D(sec, k, f, d, lo, hi) {sec, k, CONF_DURATION, F(f), d, lo, hi, 0, ""}
/* clang-format on */

static const struct conf_item items[] = {
	S("overlay", overlay, NULL, CONF_REQUIRED),
	S("listen", listen, "0.0.0.0:7443", 0),
	S("status_listen", status_listen, "127.0.0.1:7453", 0),
	S("ca_cert", ca_cert, "/etc/p2psip/ca.crt", 0),
	S("tls_cert", tls_cert, "/etc/p2psip/bootstrapd.crt", 0),
	S("tls_key", tls_key, "/etc/p2psip/bootstrapd.key", 0),
	S("database", database, "/var/lib/p2psip/bootstrapd.db", 0),
	S("logind_url", logind_url, NULL, CONF_REQUIRED),
	S("log_level", log_level, "info", 0),
	D("bootstrapd", "crl_refresh", crl_refresh, "1m", 1, 86400),
	D("bootstrapd", "heartbeat_timeout", heartbeat_timeout, "90s", 1, 86400),
	D("bootstrapd", "check_timeout", check_timeout, "5s", 1, 60),
	I("bootstrapd", "list_default", list_default, "8", 1, 1000),
	I("bootstrapd", "list_max", list_max, "32", 1, 1000),
	{"bootstrapd", "allow_private", CONF_BOOL, F(allow_private), "no", 0, 0, 0, ""},
	I("http", "max_connections", max_connections, "1024", 1, 100000),
	I("http", "max_body", max_body, "8192", 1024, 1 << 20),
	I("http", "max_headers", max_headers, "8192", 1024, 1 << 20),
	D("http", "timeout", timeout, "10s", 1, 3600),
	D("timers", "heartbeat_interval", heartbeat_interval, "30s", 1, 86400),
	D("timers", "stabilize_interval", stabilize_interval, "5s", 1, 3600),
	D("timers", "keepalive_interval", keepalive_interval, "25s", 1, 3600),
	D("timers", "cert_renew_before", cert_renew_before, "2h", 60, 30 * 86400),
	I("limits", "record_value_max", record_value_max, "4096", 64, 65536),
	I("limits", "values_per_resource", values_per_resource, "32", 1, 100000),
	I("limits", "records_per_user", records_per_user, "16", 1, 100000000),
	D("limits", "record_lifetime_max", record_lifetime_max, "1d", 60, 30 * 86400),
	I("limits", "frame_max", frame_max, "131072", 4096, 1 << 20),
	{"promotion", "enable", CONF_BOOL, F(promo_enable), "no", 0, 0, 0, ""},
	I("promotion", "want_supernodes", promo_want, "8", 1, 100000),
	D("promotion", "min_uptime", promo_min_uptime, "1h", 1, 30 * 86400),
	{"promotion", "max_load", CONF_STRING, F(promo_max_load), "0.5", 0, 0, 0, ""},
	D("promotion", "demote_after", promo_demote_after, "10m", 1, 86400),
};

/* [promotion] max_load: the load average per CPU under which a node may
 * become a super node; a decimal, 0.01 to PROMO_LOAD_MAX. */
#define PROMO_LOAD_MAX 100.0

static int promotion_check(struct bootstrapd_config *cfg, const char *path, char *err,
			   size_t errlen)
{
	char *end = NULL;
	double v = strtod(cfg->promo_max_load, &end);

	if (end == cfg->promo_max_load || *end != '\0' || !(v >= 0.01 && v <= PROMO_LOAD_MAX)) {
		err_set(err, errlen, "%s: [promotion] max_load: a number from 0.01 to %g", path,
			PROMO_LOAD_MAX);
		return -1;
	}
	cfg->promo_load = v;
	return 0;
}

int bootstrapd_config_load(struct bootstrapd_config *cfg, const char *path, char *err,
			   size_t errlen)
{
	if (conf_load(items, ARRAY_LEN(items), cfg, path, err, errlen) < 0)
		return -1;
	if (cfg->list_default > cfg->list_max) {
		err_set(err, errlen, "%s: list_default is larger than list_max", path);
		return -1;
	}
	if (cfg->heartbeat_timeout <= cfg->heartbeat_interval) {
		err_set(err, errlen, "%s: heartbeat_timeout must exceed heartbeat_interval", path);
		return -1;
	}
	return promotion_check(cfg, path, err, errlen);
}

void bootstrapd_config_print(const struct bootstrapd_config *cfg)
{
	conf_print(items, ARRAY_LEN(items), cfg, stdout);
}

void bootstrapd_config_free(struct bootstrapd_config *cfg)
{
	conf_free(items, ARRAY_LEN(items), cfg);
}
