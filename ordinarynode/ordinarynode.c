/* ordinarynode: an ordinary node of the overlay. The SIP registrar is in
 * on_sip.c; here: the overlay
 * configuration and CRL from bootstrapd, one certificate per account kept
 * fresh, and one link to a super node with the others bootstrapd listed in
 * reserve: when the link breaks it moves to the next one at once, asking
 * bootstrapd again when the reserve is used up; a ping every keepalive
 * interval keeps a quiet link open. GET /status on status_listen. */
#include "on.h"

#include "crl.h"
#include "daemon.h"
#include "enroll.h"
#include "httpc.h"
#include "httpd.h"
#include "identity.h"
#include "keepcert.h"
#include "log.h"
#include "olink.h"
#include "record.h"
#include "sipev.h"
#include "ringid.h"
#include "statusd.h"
#include "tls.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 500
#define RETRY_MS 1000

static void attach_next(struct on *on);

static uint64_t now(void)
{
	return time_mono_ms();
}

static int bs_get(struct on *on, const char *path, httpc_done_t cb)
{
	char *url = url_join(on->cfg.bootstrap_url, path);
	char err[256];

	if (url == NULL)
		return -1;
	on->call = httpc_request(on->base, on->anon_ctx, url, NULL, 10, cb, on, err, sizeof(err));
	free(url);
	if (on->call == NULL) {
		log_warn("bootstrapd: %s", err);
		return -1;
	}
	return 0;
}

/* ---- the super node list and the link ---- */

static void on_list(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct on *on = arg;
	json_t *j = status == 200 ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *v;
	size_t i;

	on->call = NULL;
	on->nreserve = on->next = 0;
	/* Each super node's main address, then its fall-back one (a firewall
	 * that lets only 443 out costs one failed attempt per super node). */
	json_array_foreach (json_object_get(j, "supernodes"), i, v) {
		for (size_t k = 0; k < 2; k++) {
			json_t *a = json_array_get(json_object_get(v, "addresses"), k);
			const char *h = json_string_value(json_object_get(a, "host"));
			json_int_t p = json_integer_value(json_object_get(a, "port"));
			if (h != NULL && p > 0 && p < 65536 && on->nreserve < ON_RESERVE_MAX &&
			    addr_is_ip(h)) {
				struct sn_addr *r = &on->reserve[on->nreserve++];
				str_copy(r->host, h, sizeof(r->host));
				r->port = (uint16_t)p;
				r->fallback = k > 0;
			}
		}
	}
	json_decref(j);
	if (on->nreserve == 0) {
		log_warn("bootstrapd lists no super node (%s); asking again",
			 status < 0 ? err : "empty list");
		on->next_list = now() + RETRY_MS;
		return;
	}
	attach_next(on);
}

/* The super nodes this node was last attached to go first in the reserve:
 * the next start tries them before bootstrapd's list. */
static void load_sns(struct on *on)
{
	on->nreserve = on_db_sn_load(on->db, on->reserve, ON_RESERVE_MAX);
	if (on->nreserve > 0)
		log_info("%d super node%s from the last run to try first", on->nreserve,
			 on->nreserve == 1 ? "" : "s");
}

static int link_ready(struct olink *l, const json_t *hello, void *arg)
{
	struct on *on = arg;
	const struct olink_peer *p = olink_peer(l);

	(void)hello; /* olink checked the protocol version */
	if (strcmp(p->role, ROLE_SUPERNODE) != 0) {
		log_warn("%s:%u is not a super node (role %s)", on->cur.host, on->cur.port,
			 p->role);
		return -1;
	}
	rid_hex(&p->id, on->sn_id);
	str_copy(on->sn_name, p->name, sizeof(on->sn_name));
	on->state = ON_ATTACHED;
	on->attached_ms = now();
	on->attaches++;
	on->next_ping = now() + 1000u * (uint64_t)on->keepalive;
	log_info("attached to super node %s at %s:%u%s", on->sn_name, on->cur.host, on->cur.port,
		 on->cur.fallback ? " (its fall-back port)" : "");
	on_db_sn_remember(on->db, on->cur.host, on->cur.port, on->sn_id);
	on_publish_all(on->pub);
	on_nat_probe(on->nat);
	return 0;
}

static void link_message(struct olink *l, json_t *msg, void *arg)
{
	struct on *on = arg;
	const char *t = json_string_value(json_object_get(msg, "t"));

	(void)l;
	if (on != NULL && t != NULL && strcmp(t, "msg") == 0) {
		if (on->proxy != NULL)
			on_proxy_overlay(on->proxy, msg);
	} else if (on != NULL && t != NULL &&
		   (strcmp(t, "media") == 0 || strcmp(t, "relay_gone") == 0))
		on_media_frame(on->media, msg);
}

static void link_closed(struct olink *l, const char *why, void *arg)
{
	struct on *on = arg;

	(void)l;
	if (on->state == ON_ATTACHED)
		log_warn("link to super node %s:%u lost: %s", on->cur.host, on->cur.port, why);
	else
		log_info("super node %s:%u: %s", on->cur.host, on->cur.port, why);
	/* A lost link may ask bootstrapd at once; failed attempts wait. */
	if (on->state == ON_ATTACHED)
		on->next_list = 0;
	on->link = NULL;
	on->state = ON_ATTACHING;
	/* Not from inside the link's own callback: on the next turn. */
	event_active(on->tick, EV_TIMEOUT, 0);
}

static const struct olink_ops link_ops = {link_ready, link_message, link_closed};

/* The link uses the first account's certificate; every account's
 * certificate signs its own records. */
static void attach_next(struct on *on)
{
	struct olink_limits lim;
	char err[256];

	on->state = ON_ATTACHING;
	while (on->next < on->nreserve) {
		on->cur = on->reserve[on->next++];
		olink_limits_default(&lim);
		lim.hello_secs = 3;
		on->link = olink_connect(on->base, keepcert_client_ctx(on->acc[0].kc), on->cur.host,
					 on->cur.port, json_object(), &lim, &link_ops, on, err,
					 sizeof(err));
		if (on->link != NULL)
			return;
		log_info("super node %s:%u: %s", on->cur.host, on->cur.port, err);
	}
	/* Reserve used up: a fresh list from bootstrapd, not at once: bootstrapd
	 * may still list dead super nodes for a while. */
	on->next_list = now() + RETRY_MS;
}

static void on_pong(struct olink *l, json_t *reply, const char *err, void *arg)
{
	(void)l, (void)reply, (void)err, (void)arg; /* a dead link shows in link_closed */
}

/* ---- the stable hosts ---- */

static void install_crl(struct on *on, struct crl *c)
{
	crl_free(on->crl);
	on->crl = c;
	tls_ctx_set_crl(on->anon_ctx, c);
	on_proxy_set_crl(on->proxy, c);
	for (int i = 0; i < on->nacc; i++)
		keepcert_set_crl(on->acc[i].kc, c);
}

static void on_crl(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct on *on = arg;
	char why[256];
	struct crl *c = status == 200 ? crl_parse(body, len, on->ca, why, sizeof(why)) : NULL;

	on->call = NULL;
	if (c == NULL)
		log_info("CRL from bootstrapd: %s", status == 200 ? why
						    : status < 0  ? err
								  : "none");
	else if (on->crl == NULL || c->number > on->crl->number) {
		log_info("CRL %lld: %d revoked certificates", (long long)c->number, c->count);
		install_crl(on, c);
		c = NULL;
	}
	crl_free(c);
	if (on->logind_url != NULL && !on->booted) {
		on->booted = 1;
		for (int i = 0; i < on->nacc; i++)
			keepcert_start(on->acc[i].kc, on->logind_url, on->renew_before);
	}
}

static void on_config(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct on *on = arg;
	json_t *j = status == 200 ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *tm = json_object_get(j, "timers");
	const char *url = json_string_value(json_object_get(j, "logind_url"));
	const char *ov = json_string_value(json_object_get(j, "overlay"));

	on->call = NULL;
	if (url == NULL || ov == NULL) {
		log_warn("bootstrapd %s: no configuration (%s); retrying", on->cfg.bootstrap_url,
			 status < 0 ? err : "bad answer");
		json_decref(j);
		return;
	}
	if (strcmp(ov, on->cfg.overlay) != 0)
		fatal("bootstrapd serves overlay %s, configured is %s", ov, on->cfg.overlay);
	on->logind_url = strdup(url);
	on->renew_before = json_integer_value(json_object_get(tm, "cert_renew_before"));
	if (on->keepalive == 0)
		on->keepalive = json_integer_value(json_object_get(tm, "keepalive_interval"));
	if (on->keepalive <= 0)
		on->keepalive = 25;
	json_decref(j);
	on->next_crl = 0;
}

static void cert_ready(struct keepcert *kc, void *arg)
{
	struct on *on = arg;
	int all = 1;

	(void)kc;
	for (int i = 0; i < on->nacc; i++)
		all &= keepcert_ready(on->acc[i].kc);
	if (all && on->state == ON_STARTING) {
		log_info("certificates of all %d accounts in place", on->nacc);
		on->state = ON_ATTACHING;
		on->next_list = 0;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct on *on = arg;
	uint64_t t = now();
	struct timeval tv = {0, TICK_MS * 1000};

	(void)fd, (void)what;
	event_add(on->tick, &tv);
	if (on->state == ON_ATTACHED && t >= on->next_ping) {
		on->next_ping = t + 1000u * (uint64_t)on->keepalive;
		olink_request(on->link, json_pack("{s:s}", "t", "ping"), 10000, on_pong, NULL);
	}
	if (on->call != NULL)
		return; /* one exchange with bootstrapd at a time */
	if (on->logind_url == NULL) {
		bs_get(on, "/v1/config", on_config);
	} else if (t >= on->next_crl) {
		on->next_crl = t + 1000u * (uint64_t)on->cfg.crl_refresh;
		bs_get(on, "/v1/crl", on_crl);
	} else if (on->state == ON_ATTACHING && on->link == NULL) {
		if (on->next < on->nreserve)
			attach_next(on);
		else if (t >= on->next_list)
			bs_get(on, "/v1/supernodes?count=16", on_list);
	}
}

/* ---- the parts ---- */

/* The bindings of account i changed (the registrar says): publish them. */
static void bindings_changed(void *arg, int i)
{
	struct on *on = arg;

	on_publish_soon(on->pub, i);
}

/* Whether media needs a relay changed (the middlebox probe says): the
 * records say it. */
static void relay_changed(void *arg)
{
	struct on *on = arg;

	on_publish_all(on->pub);
}

/* The SIP side: the listener, the registrar, the publisher of its
 * bindings, the proxy that reads them. */
static int start_sip(struct on *on, char *err, size_t errlen)
{
	struct on_bindings view;

	on->sip = on_sip_new(on, err, errlen);
	if (on->sip == NULL)
		return -1;
	on->reg = on_registrar_new(on, bindings_changed, on, err, errlen);
	if (on->reg == NULL)
		return -1;
	on_registrar_view(on->reg, &view);
	on->pub = on_publish_new(on, &view, err, errlen);
	if (on->pub == NULL)
		return -1;
	on->proxy = on_proxy_new(on, on_sip_agent(on->sip), &view, err, errlen);
	if (on->proxy == NULL)
		return -1;
	on_registrar_load(on->reg);
	on_sip_handlers(on->sip, on_registrar_request, on->reg, on_proxy_request, on->proxy);
	return 0;
}

/* ---- start and stop ---- */

static int start(struct on *on, char *err, size_t errlen)
{
	struct timeval tv = {0, 1000};
	char path[600];

	on->base = event_base_new();
	on->ca = cert_read_pem(on->cfg.ca_cert, err, errlen);
	on->anon_ctx = tls_client_ctx_new(on->cfg.ca_cert, NULL, NULL, err, errlen);
	if (on->base == NULL || on->ca == NULL || on->anon_ctx == NULL)
		return -1;
	if (mkdir_parents(on->cfg.state_dir, 0700, err, errlen) < 0)
		return -1;
	on->keepalive = on->cfg.keepalive;
	for (int i = 0; i < on->cfg.naccounts; i++) {
		struct account *a = &on->acc[i];
		const struct on_account_conf *c = &on->cfg.accounts[i];
		struct keepcert_conf kcf = {
			c->name,      c->password,     c->password_file, a->key_path,
			a->cert_path, on->cfg.ca_cert, ROLE_USER,        0,
			a->where};
		a->conf = c;
		snprintf(a->where, sizeof(a->where), "[account %s] in %s", c->name, on->conf_path);
		snprintf(a->key_path, sizeof(a->key_path), "%s/%s.key", on->cfg.state_dir, c->name);
		snprintf(a->cert_path, sizeof(a->cert_path), "%s/%s.crt", on->cfg.state_dir,
			 c->name);
		a->kc = keepcert_new(on->base, &kcf, on->anon_ctx, cert_ready, on, err, errlen);
		if (a->kc == NULL)
			return -1;
		on->nacc++;
	}
	if (on_status_start(on, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ordinarynode.db", on->cfg.state_dir);
	on->db = on_db_open(path, err, errlen);
	if (on->db == NULL)
		return -1;
	load_sns(on);
	on->nat = on_nat_new(on, relay_changed, on, err, errlen);
	if (on->nat == NULL)
		return -1;
	on->sev = sipev_new(on->base, err, errlen);
	if (on->sev == NULL)
		return -1;
	on->media = on_media_new(on, err, errlen);
	if (on->media == NULL)
		return -1;
	if (start_sip(on, err, errlen) < 0)
		return -1;
	on->tick = event_new(on->base, -1, 0, on_tick, on);
	if (on->tick == NULL)
		return -1;
	event_add(on->tick, &tv);
	return 0;
}

static void stop(void *arg)
{
	struct on *on = arg;

	log_info("stopping");
	event_base_loopexit(on->base, NULL);
}

static void cleanup(struct on *on)
{
	if (on->link != NULL) {
		struct olink *l = on->link;
		on->state = ON_STARTING;
		olink_set_arg(l, NULL);
		on->link = NULL;
		olink_free(l);
	}
	if (on->call != NULL)
		httpc_cancel(on->call);
	if (on->tick != NULL)
		event_free(on->tick);
	statusd_free(on->status);
	on_publish_free(on->pub);
	on_registrar_free(on->reg); /* saves the bindings */
	on_proxy_free(on->proxy);
	on_sip_free(on->sip);
	on_media_free(on->media);
	on_nat_free(on->nat);
	sipev_free(on->sev);
	on_db_close(on->db);
	for (int i = 0; i < on->nacc; i++)
		keepcert_free(on->acc[i].kc);
	crl_free(on->crl);
	SSL_CTX_free(on->anon_ctx);
	X509_free(on->ca);
	free(on->logind_url);
	if (on->base != NULL)
		event_base_free(on->base);
}

int main(int argc, char **argv)
{
	struct daemon_args args;
	static struct on on;
	struct daemon_signals *sig = NULL;
	char err[512] = "";
	enum log_level lvl;
	int rc = 1;

	daemon_parse_args(
		argc, argv, "ordinarynode",
		"An ordinary node of the overlay: SIP registrar and proxy for its phones,\n"
		"attached to a super node.",
		"/etc/p2psip/ordinarynode.conf", NULL, &args);
	log_init("ordinarynode", LOG_LVL_INFO);
	if (on_config_load(&on.cfg, args.conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "ordinarynode: %s\n", err);
		on_config_free(&on.cfg);
		return 1;
	}
	if (log_level_parse(on.cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "ordinarynode: log_level: expected error, warn, info or debug\n");
		on_config_free(&on.cfg);
		return 1;
	}
	if (args.check_only) {
		on_config_print(&on.cfg);
		on_config_free(&on.cfg);
		return 0;
	}
	log_set_level(args.debug ? LOG_LVL_DEBUG : lvl);
	on.conf_path = args.conf_path;
	if (start(&on, err, sizeof(err)) < 0) {
		log_error("%s", err[0] != '\0' ? err : "start-up failed");
		goto out;
	}
	sig = daemon_signals_new(on.base, stop, NULL, &on);
	if (sig == NULL)
		goto out;
	event_base_dispatch(on.base);
	rc = 0;
out:
	daemon_signals_free(sig);
	cleanup(&on);
	on_config_free(&on.cfg);
	return rc;
}
