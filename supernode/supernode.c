/* supernode: a member of the overlay's Chord ring. Main, flags, start-up,
 * graceful leave on SIGTERM and the final clean-up. */
#include "supernode.h"

#include "certcheck.h"
#include "crl.h"
#include "keepcert.h"
#include "daemon.h"
#include "enroll.h"
#include "httpd.h"
#include "identity.h"
#include "log.h"
#include "sn_db.h"
#include "statusd.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAVE_DEADLINE_SECS 15
#define EXPIRE_SECS 10

static void on_left(struct sn *sn)
{
	event_base_loopexit(sn->base, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;

	(void)fd, (void)what;
	log_warn("leave did not finish in %ds: stopping anyway", LEAVE_DEADLINE_SECS);
	event_base_loopexit(sn->base, NULL);
}

/* SIGTERM: hand the records over and leave the ring, then stop. */
static void stop(void *arg)
{
	struct sn *sn = arg;
	struct timeval tv = {LEAVE_DEADLINE_SECS, 0};

	event_base_once(sn->base, -1, EV_TIMEOUT, on_deadline, sn, &tv);
	chord_leave(sn);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;

	(void)fd, (void)what;
	sdb_flush(sn->db);
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	data_expire(arg);
}

static void on_booted(struct sn *sn, const struct node *seeds, int n)
{
	if (chord_start(sn, seeds, n) < 0)
		fatal("cannot start the ring");
}

static int add_timer(struct sn *sn, struct event **ev, int64_t ms,
		     void (*cb)(evutil_socket_t, short, void *))
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	*ev = event_new(sn->base, -1, EV_PERSIST, cb, sn);
	return *ev != NULL && event_add(*ev, &tv) == 0 ? 0 : -1;
}

/* Who handles what: each module's rows of the frame table and of the
 * routed-request table (docs/map-supernode.md lists them), and whom the
 * links and the routing tell about a dead node or a client gone. */
static int wire(struct sn *sn)
{
	const struct sn_handler *frames[] = {route_frames,  chord_frames,     data_frames,
					     client_frames, relay_frames(sn), reach_frames};
	const struct sn_op *ops[] = {data_ops, chord_ops, client_ops};

	sn->on_node_failed = chord_node_failed;
	sn->on_client_gone = relay_client_gone;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		if (handler_add_frames(&sn->handlers, frames[i]) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (handler_add_ops(&sn->handlers, ops[i]) < 0)
			return -1;
	return 0;
}

static int addresses(struct sn *sn, char *err, size_t errlen)
{
	if (addr_split(sn->cfg.listen, sn->listen_host, sizeof(sn->listen_host), &sn->listen_port) <
		    0 ||
	    !addr_is_ip(sn->listen_host)) {
		err_set(err, errlen, "listen: want IP:port, got %s", sn->cfg.listen);
		return -1;
	}
	if (sn->cfg.public_host != NULL)
		str_copy(sn->self.host, sn->cfg.public_host, sizeof(sn->self.host));
	else if (strcmp(sn->listen_host, "0.0.0.0") != 0 && strcmp(sn->listen_host, "::") != 0)
		str_copy(sn->self.host, sn->listen_host, sizeof(sn->self.host));
	else {
		err_set(err, errlen, "listening on %s: set public_host to the address others reach",
			sn->listen_host);
		return -1;
	}
	if (!addr_is_ip(sn->self.host)) {
		err_set(err, errlen, "public_host: want an IP address, got %s", sn->self.host);
		return -1;
	}
	sn->self.port = sn->listen_port;
	if (sn->cfg.fallback_listen != NULL && sn->cfg.fallback_listen[0] != '\0') {
		if (addr_split(sn->cfg.fallback_listen, sn->fallback_host, sizeof(sn->fallback_host),
			       &sn->fallback_port) < 0 ||
		    !addr_is_ip(sn->fallback_host) || sn->fallback_port == 0) {
			err_set(err, errlen, "fallback_listen: want IP:port, got %s",
				sn->cfg.fallback_listen);
			return -1;
		}
		str_copy(sn->fallback_public,
			 strcmp(sn->fallback_host, "0.0.0.0") == 0 || strcmp(sn->fallback_host, "::") == 0
				 ? sn->self.host
				 : sn->fallback_host,
			 sizeof(sn->fallback_public));
	}
	return 0;
}

static int start(struct sn *sn, char *err, size_t errlen)
{
	uint8_t nid[NODE_ID_LEN];
	char hex[RID_HEX_LEN + 1];

	sn->started_ms = now_ms();
	if (addresses(sn, err, errlen) < 0)
		return -1;
	sn->ca = cert_read_pem(sn->cfg.ca_cert, err, errlen);
	if (sn->ca == NULL)
		return -1;
	sn->base = event_base_new();
	sn->anon_ctx = tls_client_ctx_new(sn->cfg.ca_cert, NULL, NULL, err, errlen);
	if (sn->base == NULL || sn->anon_ctx == NULL)
		return -1;
	snprintf(sn->kc_where, sizeof(sn->kc_where), "[supernode] in %s", sn->conf_path);
	struct keepcert_conf kcf = {
		sn->cfg.account, sn->cfg.password, sn->cfg.password_file, sn->cfg.key,
		sn->cfg.cert,    sn->cfg.ca_cert,  ROLE_SUPERNODE,        1,
		sn->kc_where,    sn->cfg.promoted};
	sn->kc = keepcert_new(sn->base, &kcf, sn->anon_ctx, boot_cert_ready, sn, err, errlen);
	if (sn->kc == NULL)
		return -1;
	sn->key = keepcert_key(sn->kc);
	if (node_id_from_key(sn->key, nid) < 0)
		return -1;
	rid_from_bytes(nid, &sn->self.id);
	rid_hex(&sn->self.id, hex);
	log_info("Node-ID %s, reachable at %s:%u", hex, sn->self.host, sn->self.port);
	sn->cc = certcheck_new(sn->ca);
	sn->store = store_new();
	if (sn->cc == NULL || sn->store == NULL)
		return -1;
	sn->db = sdb_open(sn->cfg.database, err, errlen);
	if (sn->db == NULL || data_load(sn) < 0)
		return -1;
	ring_init(&sn->ring, &sn->self, (int)sn->cfg.successors);
	if (data_start(sn) < 0 || client_start(sn) < 0 || add_timer(sn, &sn->flush_timer, sn->cfg.flush_ms, on_flush) < 0 ||
	    add_timer(sn, &sn->expire_timer, EXPIRE_SECS * 1000, on_expire) < 0)
		return -1;
	if (status_start(sn, err, errlen) < 0 || service_start(sn) < 0 ||
	    stun_start(sn, err, errlen) < 0 || relay_start(sn, err, errlen) < 0 || wire(sn) < 0)
		return -1;
	if (sn_lan_start(sn, err, errlen) < 0)
		return -1;
	sn->on_left = on_left;
	if (cache_start(sn) < 0)
		return -1;
	return boot_start(sn, on_booted);
}

static void cleanup(struct sn *sn)
{
	conn_close_all(sn);
	if (sn->base != NULL)
		data_stop(sn);
	client_stop(sn);
	boot_stop(sn);
	cache_stop(sn);
	if (sn->stabilize_timer != NULL)
		event_free(sn->stabilize_timer);
	if (sn->flush_timer != NULL)
		event_free(sn->flush_timer);
	if (sn->expire_timer != NULL)
		event_free(sn->expire_timer);
	if (sn->boot_timer != NULL)
		event_free(sn->boot_timer);
	statusd_free(sn->status);
	service_stop(sn);
	stun_stop(sn);
	relay_stop(sn);
	sn_lan_stop(sn);
	sdb_close(sn->db);
	store_free(sn->store);
	certcheck_free(sn->cc);
	crl_free(sn->crl);
	keepcert_free(sn->kc);
	SSL_CTX_free(sn->anon_ctx);
	X509_free(sn->ca);
	if (sn->base != NULL)
		event_base_free(sn->base);
	record_cert_cache_clear();
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	struct sn sn;
	struct daemon_signals *sig = NULL;
	char err[512] = "";
	enum log_level lvl;
	int rc = 1;

	memset(&sn, 0, sizeof(sn));
	daemon_parse_args(
		argc, argv, "supernode",
		"A super node of the overlay: Chord ring, replicated records, message routing.",
		"/etc/p2psip/supernode.conf", NULL, &args);
	log_init("supernode", LOG_LVL_INFO);
	if (sn_config_load(&sn.cfg, args.conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "supernode: %s\n", err);
		sn_config_free(&sn.cfg);
		return 1;
	}
	if (log_level_parse(sn.cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "supernode: log_level: expected error, warn, info or debug\n");
		sn_config_free(&sn.cfg);
		return 1;
	}
	if (args.check_only) {
		sn_config_print(&sn.cfg);
		sn_config_free(&sn.cfg);
		return 0;
	}
	log_set_level(args.debug ? LOG_LVL_DEBUG : lvl);
	sn.conf_path = args.conf_path;
	if (start(&sn, err, sizeof(err)) < 0) {
		log_error("%s", err[0] != '\0' ? err : "start-up failed");
		goto out;
	}
	sig = daemon_signals_new(sn.base, stop, NULL, &sn);
	if (sig == NULL)
		goto out;
	event_base_dispatch(sn.base);
	rc = 0;
out:
	daemon_signals_free(sig);
	cleanup(&sn);
	sn_config_free(&sn.cfg);
	return rc;
}
