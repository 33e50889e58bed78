/* logind's configuration: the schema and its defaults. */
#include "logind.h"

#include "conf.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>

/* clang-format off */
#define S(k, f, d, fl, h) {"logind", k, CONF_STRING, offsetof(struct logind_config, f), d, 0, 0, fl, h}
#define I(sec, k, f, d, lo, hi, h) {sec, k, CONF_INT, offsetof(struct logind_config, f), d, lo, hi, 0, h}
#define D(sec, k, f, d, lo, hi, h) {sec, k, CONF_DURATION, offsetof(struct logind_config, f), d, lo, hi, 0, h}
#define B(sec, k, f, d, h) {sec, k, CONF_BOOL, offsetof(struct logind_config, f), d, 0, 0, 0, h}
/* clang-format on */

static const struct conf_item items[] = {
	S("overlay", overlay, NULL, CONF_REQUIRED, "overlay name, e.g. overlay.example"),
	S("listen", listen, "127.0.0.1:7444", 0, "HTTPS API address"),
	S("status_listen", status_listen, "127.0.0.1:7454", 0,
	  "plain HTTP GET /status and /metrics; keep it local; empty: off"),
	S("admin_socket", admin_socket, "/run/p2psip/logind.sock", 0, "admin Unix socket"),
	S("database", database, "/var/lib/p2psip/logind.db", 0, "SQLite database"),
	S("ca_key", ca_key, "/var/lib/p2psip/ca.key", 0, "CA private key (0600)"),
	S("ca_cert", ca_cert, "/var/lib/p2psip/ca.crt", 0, "CA certificate"),
	S("join_code_file", join_code_file, "", 0,
	  "ad-hoc overlay: --init derives the CA from the join code in it"),
	S("tls_key", tls_key, "/var/lib/p2psip/logind.key", 0, "logind's own TLS key"),
	S("tls_cert", tls_cert, "/var/lib/p2psip/logind.crt", 0, "logind's own TLS certificate"),
	S("tls_names", tls_names, "localhost, 127.0.0.1", 0, "names and addresses in it"),
	S("log_level", log_level, "info", 0, "error, warn, info or debug"),
	I("logind", "workers", workers, "2", 1, 64, "password hashing threads"),
	D("certs", "user_lifetime", user_lifetime, "24h", 1, 366 * 86400, ""),
	D("certs", "supernode_lifetime", supernode_lifetime, "7d", 1, 366 * 86400, ""),
	D("certs", "server_lifetime", server_lifetime, "365d", 1, 3 * 366 * 86400, ""),
	D("certs", "ca_lifetime", ca_lifetime, "3650d", 86400, 30 * 366 * 86400LL, ""),
	D("certs", "crl_lifetime", crl_lifetime, "1d", 60, 30 * 86400, "CRL nextUpdate"),
	I("certs", "max_live_user", max_live_user, "3", 1, 1000,
	  "live Node-IDs (keys) per user account; the oldest is revoked beyond"),
	I("certs", "max_live_supernode", max_live_supernode, "3", 1, 1000,
	  "live Node-IDs (keys) per supernode account; the oldest is revoked beyond"),
	B("certs", "allow_ed25519", allow_ed25519, "yes", "accept Ed25519 CSRs"),
	I("passwords", "scrypt_n", scrypt_n, "131072", 2, 1 << 22, "power of two"),
	I("passwords", "scrypt_r", scrypt_r, "8", 1, 64, ""),
	I("passwords", "scrypt_p", scrypt_p, "1", 1, 64, ""),
	I("passwords", "min_length", password_min, "8", 1, PASSWORD_MAX, ""),
	I("limits", "max_connections", max_connections, "256", 1, 100000, ""),
	I("limits", "max_body", max_body, "16384", 1024, 1 << 20, "bytes"),
	I("limits", "max_headers", max_headers, "8192", 1024, 1 << 20, "bytes"),
	D("limits", "timeout", timeout, "10s", 1, 3600, "per-connection idle timeout"),
	I("limits", "queue", queue, "64", 1, 100000, "logins waiting for a hash worker"),
	I("ratelimit", "slow_after", rl_slow_after, "3", 1, 1000, "failures before delays"),
	I("ratelimit", "lockout_after", rl_lockout_after, "10", 1, 1000, "failures before 429"),
	D("ratelimit", "window", rl_window, "15m", 1, 86400, "failures older are forgotten"),
	D("ratelimit", "lockout", rl_lockout, "15m", 1, 86400, "how long 429 lasts"),
	D("ratelimit", "max_delay", rl_max_delay, "8s", 0, 60, "longest delay"),
};

int logind_config_load(struct logind_config *cfg, const char *path, char *err, size_t errlen)
{
	if (conf_load(items, ARRAY_LEN(items), cfg, path, err, errlen) < 0)
		return -1;
	if ((cfg->scrypt_n & (cfg->scrypt_n - 1)) != 0) {
		err_set(err, errlen, "%s: [passwords] scrypt_n must be a power of two", path);
		return -1;
	}
	if (cfg->rl_lockout_after < cfg->rl_slow_after) {
		err_set(err, errlen, "%s: [ratelimit] lockout_after < slow_after", path);
		return -1;
	}
	return 0;
}

void logind_config_print(const struct logind_config *cfg)
{
	conf_print(items, ARRAY_LEN(items), cfg, stdout);
}

void logind_config_free(struct logind_config *cfg)
{
	conf_free(items, ARRAY_LEN(items), cfg);
}
