/* bootstrapd: main, flags, start and stop of its parts. */
#include "bootstrapd.h"

#include "bootstrapd_db.h"
#include "crl.h"
#include "daemon.h"
#include "db.h"
#include "httpd.h"
#include "identity.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void stop_loop(void *arg)
{
	struct bootstrapd *bd = arg;

	event_base_loopexit(bd->base, NULL);
}

/* Silent super nodes are dropped every few seconds. */
static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	bootstrapd_expire(arg);
}

static int start(struct bootstrapd *bd, char *err, size_t errlen)
{
	struct timeval tv = {5, 0};

	bd->ca_cert = cert_read_pem(bd->cfg.ca_cert, err, errlen);
	if (bd->ca_cert == NULL || (bd->ca_pem = cert_to_pem(bd->ca_cert)) == NULL)
		return -1;
	if (mkdir_parents(bd->cfg.database, 0700, err, errlen) < 0)
		return -1;
	bd->db = bdb_open(bd->cfg.database, err, errlen);
	if (bd->db == NULL)
		return -1;
	bd->server_ctx = tls_server_ctx_new(bd->cfg.ca_cert, bd->cfg.tls_cert, bd->cfg.tls_key,
					    TLS_VERIFY_REPORT, err, errlen);
	if (bd->server_ctx == NULL)
		return -1;
	/* bootstrapd shows its own certificate when it tests a super node:
	 * super nodes accept mutually authenticated links only. */
	bd->client_ctx =
		tls_client_ctx_new(bd->cfg.ca_cert, bd->cfg.tls_cert, bd->cfg.tls_key, err, errlen);
	if (bd->client_ctx == NULL)
		return -1;
	bd->base = event_base_new();
	if (bd->base == NULL)
		return -1;
	crl_cache_load(bd);
	if (bootstrapd_api_start(bd, err, errlen) < 0 ||
	    bootstrapd_status_start(bd, err, errlen) < 0)
		return -1;
	bd->expire_timer = event_new(bd->base, -1, EV_PERSIST, on_expire, bd);
	if (bd->expire_timer == NULL || event_add(bd->expire_timer, &tv) < 0)
		return -1;
	return crl_cache_start(bd);
}

static void stop(struct bootstrapd *bd)
{
	if (bd->httpd != NULL || bd->jobs != NULL)
		bootstrapd_api_stop(bd);
	bootstrapd_status_stop(bd);
	crl_cache_stop(bd);
	if (bd->expire_timer != NULL)
		event_free(bd->expire_timer);
	SSL_CTX_free(bd->server_ctx);
	SSL_CTX_free(bd->client_ctx);
	crl_free(bd->crl);
	db_close(bd->db);
	X509_free(bd->ca_cert);
	free(bd->ca_pem);
	if (bd->base != NULL)
		event_base_free(bd->base);
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	struct bootstrapd bd;
	struct daemon_signals *sig = NULL;
	char err[512] = "";
	enum log_level lvl;
	int rc = 1;

	memset(&bd, 0, sizeof(bd));
	daemon_parse_args(argc, argv, "bootstrapd",
			  "Lists live super nodes and serves the overlay's configuration and CRL.",
			  "/etc/p2psip/bootstrapd.conf", NULL, &args);
	log_init("bootstrapd", LOG_LVL_INFO);
	if (bootstrapd_config_load(&bd.cfg, args.conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "bootstrapd: %s\n", err);
		bootstrapd_config_free(&bd.cfg);
		return 1;
	}
	if (log_level_parse(bd.cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "bootstrapd: log_level: expected error, warn, info or debug\n");
		bootstrapd_config_free(&bd.cfg);
		return 1;
	}
	if (args.check_only) {
		bootstrapd_config_print(&bd.cfg);
		bootstrapd_config_free(&bd.cfg);
		return 0;
	}
	log_set_level(args.debug ? LOG_LVL_DEBUG : lvl);
	if (start(&bd, err, sizeof(err)) < 0) {
		log_error("%s", err[0] != '\0' ? err : "start-up failed");
		goto out;
	}
	sig = daemon_signals_new(bd.base, stop_loop, crl_cache_refresh_now, &bd);
	if (sig == NULL)
		goto out;
	log_info("overlay %s: serving on %s", bd.cfg.overlay, bd.cfg.listen);
	event_base_dispatch(bd.base);
	rc = 0;
out:
	daemon_signals_free(sig);
	stop(&bd);
	bootstrapd_config_free(&bd.cfg);
	return rc;
}
