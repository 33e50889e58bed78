/* logind: the overlay's certificate authority. Main, flags, --init, and the
 * start and stop of its parts. */
#include "logind.h"

#include "conf.h"
#include "crl.h"
#include "daemon.h"
#include "db.h"
#include "httpd.h"
#include "identity.h"
#include "log.h"
#include "logind_adhoc.h"
#include "logind_ca.h"
#include "logind_db.h"
#include "logind_x509.h"
#include "tls.h"
#include "util.h"
#include "workq.h"

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TLS_RENEW_BEFORE (30 * 86400)
#define MAX_TLS_NAMES SAN_MAX

/* The names of logind's own certificate: DNS names and IP addresses. */
static int split_names(char *list, struct cert_spec *s, char *err, size_t errlen)
{
	char *names[MAX_TLS_NAMES];
	int n = conf_split_list(list, names, MAX_TLS_NAMES);

	if (n <= 0) {
		err_set(err, errlen, "tls_names: give 1 to %d names", MAX_TLS_NAMES);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (addr_is_ip(names[i]))
			s->ips[s->nips++] = names[i];
		else if (dns_name_is_valid(names[i]))
			s->dns[s->ndns++] = names[i];
		else {
			err_set(err, errlen, "tls_names: '%s' is neither a DNS name nor an address",
				names[i]);
			return -1;
		}
	}
	s->name = names[0];
	return 0;
}

/* Builds logind's TLS certificate for key and records it. */
static X509 *tls_cert_build(struct logind_config *cfg, sqlite3 *db, EVP_PKEY *key, EVP_PKEY *ca_key,
			    X509 *ca_cert, struct ca *ca, char *err, size_t errlen)
{
	char *names = strdup(cfg->tls_names);
	char serial[SERIAL_HEX_LEN + 1];
	struct cert_spec s = {0};
	struct cert_rec rec = {0};
	int64_t now = time_now();
	X509 *cert = NULL;
	char *pem = NULL;

	if (names == NULL || split_names(names, &s, err, errlen) < 0 || x509_serial_new(serial) < 0)
		goto out;
	s.pubkey = key;
	s.serial_hex = serial;
	s.overlay = cfg->overlay;
	s.role = ROLE_SERVER;
	s.not_before = now - CLOCK_SKEW;
	s.not_after = now + cfg->server_lifetime;
	if (s.not_after > cert_not_after(ca_cert))
		s.not_after = cert_not_after(ca_cert);
	cert = ca != NULL ? ca_issue(ca, &s, err, errlen)
			  : x509_build(&s, ca_key, ca_cert, err, errlen);
	pem = cert != NULL ? cert_to_pem(cert) : NULL;
	if (pem == NULL)
		goto fail;
	str_copy(rec.serial, serial, sizeof(rec.serial));
	str_copy(rec.name, s.name, sizeof(rec.name));
	str_copy(rec.role, ROLE_SERVER, sizeof(rec.role));
	uint8_t nid[NODE_ID_LEN];
	node_id_from_key(key, nid);
	node_id_hex(nid, rec.node_id);
	rec.not_before = s.not_before;
	rec.not_after = s.not_after;
	rec.issued = now;
	rec.pem = pem;
	if (ldb_cert_add(db, &rec) != LDB_OK) {
		err_set(err, errlen, "cannot record logind's certificate");
		goto fail;
	}
	goto out;
fail:
	X509_free(cert);
	cert = NULL;
out:
	free(pem);
	free(names);
	return cert;
}

static void fingerprint(X509 *cert, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t pos = 0;

	X509_digest(cert, EVP_sha256(), md, &n);
	out[0] = '\0';
	for (unsigned int i = 0; i < n && pos + 4 < outlen; i++)
		pos += (size_t)snprintf(out + pos, outlen - pos, "%s%02X", i ? ":" : "", md[i]);
}

/* --init never replaces an overlay's CA or database: 1 (logged) if one is
 * there already. */
static int init_would_overwrite(const struct logind_config *cfg)
{
	if (file_exists(cfg->ca_key) || file_exists(cfg->ca_cert)) {
		log_error("%s already exists: refusing to overwrite the overlay CA",
			  file_exists(cfg->ca_key) ? cfg->ca_key : cfg->ca_cert);
		return 1;
	}
	if (file_exists(cfg->database)) {
		log_error("%s already exists: refusing to reuse it for a new CA", cfg->database);
		return 1;
	}
	return 0;
}

/* The overlay's self-signed CA certificate for ca_key. */
static X509 *ca_cert_build(const struct logind_config *cfg, EVP_PKEY *ca_key, char *err,
			   size_t errlen)
{
	char serial[SERIAL_HEX_LEN + 1];
	struct cert_spec s = {0};
	int64_t now = time_now();

	if (x509_serial_new(serial) < 0) {
		err_set(err, errlen, "no random serial number");
		return NULL;
	}
	s.pubkey = ca_key;
	s.serial_hex = serial;
	s.overlay = cfg->overlay;
	s.name = "overlay CA";
	s.is_ca = 1;
	s.not_before = now - CLOCK_SKEW;
	s.not_after = now + cfg->ca_lifetime;
	return x509_build(&s, ca_key, NULL, err, errlen);
}

/* The CA of a new overlay: a random key, or for an ad-hoc overlay the key
 * and certificate derived from the join code (docs/adhoc.md). */
static int ca_make(const struct logind_config *cfg, EVP_PKEY **key, X509 **cert, char *err,
		   size_t errlen)
{
	if (cfg->join_code_file[0] != '\0')
		return adhoc_ca_from_file(cfg->join_code_file, cfg->overlay, key, cert, err,
					  errlen);
	*key = key_generate();
	if (*key == NULL) {
		err_set(err, errlen, "key generation failed");
		return -1;
	}
	*cert = ca_cert_build(cfg, *key, err, errlen);
	return *cert != NULL ? 0 : -1;
}

/* What --init made, for the operator (the fingerprint to compare). */
static void init_report(const struct logind_config *cfg, X509 *ca_cert)
{
	char fp[128];

	fingerprint(ca_cert, fp, sizeof(fp));
	printf("overlay %s: CA created\n  CA key          %s (mode 0600)\n"
	       "  CA certificate  %s\n  SHA-256         %s\n  logind TLS      %s\n"
	       "  database        %s\n",
	       cfg->overlay, cfg->ca_key, cfg->ca_cert, fp, cfg->tls_cert, cfg->database);
}

/* A failed --init leaves nothing behind: the next one starts afresh. */
static void init_undo(const struct logind_config *cfg, sqlite3 *db)
{
	unlink(cfg->ca_key);
	unlink(cfg->ca_cert);
	if (db != NULL) {
		db_close(db);
		unlink(cfg->database);
	}
}

static int do_init(struct logind_config *cfg)
{
	char err[512];
	EVP_PKEY *ca_key = NULL, *tls_key = NULL;
	X509 *ca_cert = NULL, *tls_cert = NULL;
	sqlite3 *db = NULL;
	int rc = 1;

	if (init_would_overwrite(cfg))
		return 1;
	tls_key = key_generate();
	if (tls_key == NULL) {
		log_error("key generation failed");
		goto out;
	}
	if (ca_make(cfg, &ca_key, &ca_cert, err, sizeof(err)) < 0)
		goto fail;
	/* The key is written first and exclusively: it claims the CA. */
	if (mkdir_parents(cfg->ca_key, 0700, err, sizeof(err)) < 0 ||
	    mkdir_parents(cfg->database, 0700, err, sizeof(err)) < 0 ||
	    key_write_pem(ca_key, cfg->ca_key, err, sizeof(err)) < 0)
		goto fail;
	if (cert_write_pem(ca_cert, cfg->ca_cert, err, sizeof(err)) < 0)
		goto undo;
	db = ldb_open(cfg->database, 1, err, sizeof(err));
	if (db == NULL)
		goto undo;
	tls_cert = tls_cert_build(cfg, db, tls_key, ca_key, ca_cert, NULL, err, sizeof(err));
	if (tls_cert == NULL || cert_write_pem(tls_cert, cfg->tls_cert, err, sizeof(err)) < 0 ||
	    (unlink(cfg->tls_key), key_write_pem(tls_key, cfg->tls_key, err, sizeof(err))) < 0)
		goto undo;
	init_report(cfg, ca_cert);
	rc = 0;
	goto out;
undo:
	init_undo(cfg, db);
	db = NULL;
fail:
	log_error("init: %s", err);
out:
	db_close(db);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(tls_key);
	X509_free(ca_cert);
	X509_free(tls_cert);
	return rc;
}

/* Renews logind's own certificate through the signer when it is near its
 * end, keeping the key. */
static int tls_cert_check(struct logind *ld, char *err, size_t errlen)
{
	X509 *cert = cert_read_pem(ld->cfg.tls_cert, err, errlen);
	EVP_PKEY *key = NULL;
	X509 *fresh = NULL;
	int rc = -1;

	if (cert == NULL)
		return -1;
	if (cert_not_after(cert) - time_now() > TLS_RENEW_BEFORE) {
		X509_free(cert);
		return 0;
	}
	key = key_read_pem(ld->cfg.tls_key, err, errlen);
	if (key != NULL)
		fresh = tls_cert_build(&ld->cfg, ld->db, key, NULL, ld->ca_cert, ld->ca, err,
				       errlen);
	if (fresh != NULL)
		ld->st.issued[ROLE_IX_SERVER]++;
	if (fresh != NULL && cert_write_pem(fresh, ld->cfg.tls_cert, err, errlen) == 0) {
		log_info("renewed logind's TLS certificate (%s)", ld->cfg.tls_cert);
		rc = 0;
	}
	X509_free(cert);
	X509_free(fresh);
	EVP_PKEY_free(key);
	return rc;
}

static void stop_loop(void *arg)
{
	struct logind *ld = arg;

	event_base_loopexit(ld->base, NULL);
}

static int start(struct logind *ld, char *err, size_t errlen)
{
	/* The signer is forked first, while this process holds nothing else. */
	ld->ca = ca_start(ld->cfg.ca_key, ld->cfg.ca_cert, err, errlen);
	if (ld->ca == NULL)
		return -1;
	ld->ca_cert = cert_read_pem(ld->cfg.ca_cert, err, errlen);
	if (ld->ca_cert == NULL || (ld->ca_pem = cert_to_pem(ld->ca_cert)) == NULL)
		return -1;
	if (!file_exists(ld->cfg.database)) {
		err_set(err, errlen, "%s does not exist (run logind --init first)",
			ld->cfg.database);
		return -1;
	}
	ld->db = ldb_open(ld->cfg.database, 0, err, errlen);
	if (ld->db == NULL || tls_cert_check(ld, err, errlen) < 0)
		return -1;
	ld->pw.n = (uint64_t)ld->cfg.scrypt_n;
	ld->pw.r = (uint32_t)ld->cfg.scrypt_r;
	ld->pw.p = (uint32_t)ld->cfg.scrypt_p;
	if (pw_hash("no such user", 12, &ld->pw, ld->dummy_hash, sizeof(ld->dummy_hash)) < 0) {
		err_set(err, errlen, "scrypt failed (n=%llu r=%u p=%u)",
			(unsigned long long)ld->pw.n, ld->pw.r, ld->pw.p);
		return -1;
	}
	ld->base = event_base_new();
	if (ld->base == NULL)
		return -1;
	ld->wq = workq_new(ld->base, (int)ld->cfg.workers, (size_t)ld->cfg.queue);
	struct rl_policy pol = {(int)ld->cfg.rl_slow_after, (int)ld->cfg.rl_lockout_after,
				ld->cfg.rl_window, ld->cfg.rl_lockout, ld->cfg.rl_max_delay};
	ld->rl = rl_new(&pol, RL_TABLE_MAX);
	/* A user name is only ever slowed: anyone can fail as anyone, and a
	 * lock on the name would lock the real user out with the attacker. */
	pol.lockout_after = INT_MAX;
	ld->rl_user = rl_new(&pol, RL_TABLE_MAX);
	ld->ssl_ctx = tls_server_ctx_new(ld->cfg.ca_cert, ld->cfg.tls_cert, ld->cfg.tls_key,
					 TLS_VERIFY_REPORT, err, errlen);
	if (ld->wq == NULL || ld->rl == NULL || ld->rl_user == NULL || ld->ssl_ctx == NULL)
		return -1;
	if (certs_refresh_crl(ld, err, errlen) < 0 || certs_start_crl_timer(ld) < 0)
		return -1;
	if (logind_api_start(ld, err, errlen) < 0 || logind_status_start(ld, err, errlen) < 0)
		return -1;
	ld->admin = admin_start(ld, err, errlen);
	return ld->admin != NULL ? 0 : -1;
}

static void stop(struct logind *ld)
{
	/* Jobs first: their callbacks answer requests and sessions that the
	 * later steps free. */
	workq_free(ld->wq);
	logind_api_stop(ld);
	logind_status_stop(ld);
	admin_stop(ld->admin);
	if (ld->crl_timer != NULL)
		event_free(ld->crl_timer);
	SSL_CTX_free(ld->ssl_ctx);
	rl_free(ld->rl);
	rl_free(ld->rl_user);
	crl_free(ld->crl);
	db_close(ld->db);
	ca_stop(ld->ca);
	X509_free(ld->ca_cert);
	free(ld->ca_pem);
	if (ld->base != NULL)
		event_base_free(ld->base);
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	struct logind ld;
	struct daemon_signals *sig = NULL;
	char err[512];
	enum log_level lvl;
	int rc = 1;

	memset(&ld, 0, sizeof(ld));
	daemon_parse_args(argc, argv, "logind",
			  "The overlay's certificate authority and login server.",
			  "/etc/p2psip/logind.conf",
			  "create the CA, logind's certificate and the database", &args);
	log_init("logind", LOG_LVL_INFO);
	if (logind_config_load(&ld.cfg, args.conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "logind: %s\n", err);
		logind_config_free(&ld.cfg);
		return 1;
	}
	if (log_level_parse(ld.cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "logind: log_level: expected error, warn, info or debug\n");
		logind_config_free(&ld.cfg);
		return 1;
	}
	if (args.check_only) {
		logind_config_print(&ld.cfg);
		logind_config_free(&ld.cfg);
		return 0;
	}
	log_set_level(args.debug ? LOG_LVL_DEBUG : lvl);
	if (args.init) {
		rc = do_init(&ld.cfg);
		logind_config_free(&ld.cfg);
		return rc;
	}
	if (start(&ld, err, sizeof(err)) < 0) {
		log_error("%s", err[0] != '\0' ? err : "start-up failed");
		goto out;
	}
	sig = daemon_signals_new(ld.base, stop_loop, NULL, &ld);
	if (sig == NULL)
		goto out;
	log_info("overlay %s: serving on %s, admin socket %s", ld.cfg.overlay, ld.cfg.listen,
		 ld.cfg.admin_socket);
	event_base_dispatch(ld.base);
	rc = 0;
out:
	daemon_signals_free(sig);
	stop(&ld);
	logind_config_free(&ld.cfg);
	return rc;
}
