/* ordinarynode: an ordinary node of the overlay (on.h lists its files).
 * Here: main, flags and signals; start-up, which makes every part and
 * wires their callbacks; one certificate per account kept fresh (keepcert)
 * once bootstrapd has said where logind is; and clean-up. */
#include "on.h"

#include "bootc.h"
#include "crl.h"
#include "daemon.h"
#include "identity.h"
#include "keepcert.h"
#include "log.h"
#include "sipev.h"
#include "statusd.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the accounts' certificates ---- */

/* Every account has its certificate: the link may attach. */
static void cert_ready(struct keepcert *kc, void *arg)
{
	struct on *on = arg;
	int all = 1;

	for (int i = 0; i < on->nacc; i++) {
		if (on->acc[i].kc == kc) {
			on_seal_account(on, i); /* SIP sealed to the new certificate opens */
			if (strcmp(on->acc[i].conf->role, ROLE_GATEWAY) == 0)
				on_fed_cert_ready(on->fed);
		}
		all &= keepcert_ready(on->acc[i].kc);
	}
	if (all && on->state == ON_STARTING) {
		log_info("certificates of all %d accounts in place", on->nacc);
		on_link_go(on->lnk);
	}
}

static int start_accounts(struct on *on, char *err, size_t errlen)
{
	for (int i = 0; i < on->cfg.naccounts; i++) {
		struct account *a = &on->acc[i];
		const struct on_account_conf *c = &on->cfg.accounts[i];
		struct keepcert_conf kcf = {
			c->name,      c->password,     c->password_file, a->key_path,
			a->cert_path, on->cfg.ca_cert, c->role,          0,
			a->where,     0};
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
	return 0;
}

/* ---- what bootstrapd says ---- */

static void boot_config(void *arg, const struct bootc_config *c)
{
	struct on *on = arg;

	free(on->logind_url); /* called again when bootstrapd answers after a cached start */
	on->logind_url = strdup(c->logind_url);
	on->renew_before = c->timers.renew_before;
	if (on->keepalive == 0)
		on->keepalive = c->timers.keepalive;
	if (on->keepalive <= 0)
		on->keepalive = 25;
	on_promote_policy(on->promo, c);
}

/* Every part that checks certificates gets the newer CRL. */
static void install_crl(struct on *on, struct crl *c)
{
	crl_free(on->crl);
	on->crl = c;
	tls_ctx_set_crl(on->anon_ctx, c);
	on_lookup_set_crl(on->lookup, c);
	on_seal_set_crl(on, c);
	on_lan_set_crl(on->lan, c);
	for (int i = 0; i < on->nacc; i++)
		keepcert_set_crl(on->acc[i].kc, c);
}

/* The first CRL exchange, whatever came of it, lets the accounts log in. */
static void boot_crl(void *arg, struct crl *c)
{
	struct on *on = arg;

	if (c != NULL)
		install_crl(on, c);
	if (on->logind_url != NULL && !on->booted) {
		on->booted = 1;
		for (int i = 0; i < on->nacc; i++)
			keepcert_start(on->acc[i].kc, on->logind_url, on->renew_before);
	}
}

/* The super nodes heard on the LAN as the reserve, when there are any: 1 if
 * they were given to the link. */
static int lan_offer(struct on *on)
{
	struct sn_addr heard[ON_RESERVE_MAX];
	int n = on_lan_reserve(on->lan, heard, ON_RESERVE_MAX);

	if (n > 0)
		on_link_set_list(on->lnk, heard, n);
	return n > 0;
}

static void boot_list(void *arg, const struct sn_addr *list, int n)
{
	struct on *on = arg;

	if (n == 0 && lan_offer(on))
		return; /* bootstrapd lists none, or is unreachable */
	on_link_set_list(on->lnk, list, n);
}

static const struct on_boot_ops boot_ops = {boot_config, boot_crl, boot_list};

/* ---- what the link says ---- */

/* Attached (again): the records say where we are now; the middlebox is
 * probed against this super node. */
static void link_attached(void *arg)
{
	struct on *on = arg;

	on_publish_all(on->pub);
	on_nat_probe(on->nat);
}

static void frame_to_proxy(struct on *on, const json_t *msg)
{
	if (on->proxy != NULL)
		on_proxy_overlay(on->proxy, msg);
}

static void frame_to_media(struct on *on, const json_t *msg)
{
	on_media_frame(on->media, msg);
}

static const struct {
	const char *t;
	void (*handle)(struct on *on, const json_t *msg);
} frames[] = {
	{"msg", frame_to_proxy},
	{"media", frame_to_media},
	{"relay_gone", frame_to_media},
};

static void link_frame(void *arg, const json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "t"));

	for (size_t i = 0; t != NULL && i < ARRAY_LEN(frames); i++)
		if (strcmp(t, frames[i].t) == 0) {
			frames[i].handle(arg, msg);
			return;
		}
}

static void link_want_list(void *arg)
{
	struct on *on = arg;

	/* No bootstrapd, or none that answered yet: the LAN's. Not while a
	 * list request may be out, whose answer would replace the link. */
	if (on_boot_want_list(on->boot) < 0 &&
	    (on->cfg.bootstrap_url[0] == '\0' || on->logind_url == NULL))
		lan_offer(on);
}

static const struct on_link_ops link_ops = {link_attached, link_frame, link_want_list};

/* ---- what the SIP side says ---- */

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

/* ---- start and stop ---- */

/* The SIP side: the listener, the registrar, the publisher of its
 * bindings, the lookup and the proxy that reads them. */
static int start_sip(struct on *on, char *err, size_t errlen)
{
	struct on_bindings view;

	on->auth = on_auth_from_config(&on->cfg, err, errlen);
	if (on->auth == NULL)
		return -1;
	if (on->cfg.gw_enable && (on->gw = on_gw_new(&on->cfg, err, errlen)) == NULL)
		return -1;
	on->sip = on_sip_new(on, err, errlen);
	if (on->sip == NULL)
		return -1;
	if ((on->fed = on_fed_new(on, err, errlen)) == NULL && err[0] != '\0')
		return -1;
	for (int i = 0; on->fed != NULL && i < on->nacc; i++)
		if (strcmp(on->acc[i].conf->role, ROLE_GATEWAY) == 0 &&
		    keepcert_ready(on->acc[i].kc))
			on_fed_cert_ready(on->fed); /* a certificate kept from before */
	on->reg = on_registrar_new(on, bindings_changed, on, err, errlen);
	if (on->reg == NULL)
		return -1;
	on_registrar_view(on->reg, &view);
	on->pub = on_publish_new(on, &view, err, errlen);
	if (on->pub == NULL)
		return -1;
	on->lookup = on_lookup_new(on, err, errlen);
	if (on->lookup == NULL)
		return -1;
	on->proxy = on_proxy_new(on, on_sip_agent(on->sip), &view, on->lookup, err, errlen);
	if (on->proxy == NULL)
		return -1;
	on_registrar_load(on->reg);
	on_sip_handlers(on->sip, on_registrar_request, on->reg, on_proxy_request, on->proxy);
	return 0;
}

static int start(struct on *on, char *err, size_t errlen)
{
	char path[600];

	on->base = event_base_new();
	on->ca = cert_read_pem(on->cfg.ca_cert, err, errlen);
	on->anon_ctx = tls_client_ctx_new(on->cfg.ca_cert, NULL, NULL, err, errlen);
	if (on->base == NULL || on->ca == NULL || on->anon_ctx == NULL ||
	    on_seal_start(on, err, errlen) < 0)
		return -1;
	if (mkdir_parents(on->cfg.state_dir, 0700, err, errlen) < 0)
		return -1;
	on->keepalive = on->cfg.keepalive;
	if (start_accounts(on, err, errlen) < 0 || on_status_start(on, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ordinarynode.db", on->cfg.state_dir);
	if ((on->lan = on_lan_new(on, err, errlen)) == NULL && err[0] != '\0')
		return -1;
	if ((on->db = on_db_open(path, err, errlen)) == NULL ||
	    (on->lnk = on_link_new(on, &link_ops, on, err, errlen)) == NULL ||
	    (on->nat = on_nat_new(on, relay_changed, on, err, errlen)) == NULL ||
	    (on->sev = sipev_new(on->base, err, errlen)) == NULL ||
	    (on->media = on_media_new(on, err, errlen)) == NULL || start_sip(on, err, errlen) < 0)
		return -1;
	if ((on->promo = on_promote_new(on, err, errlen)) == NULL)
		return -1;
	on->boot = on_boot_new(on, &boot_ops, on, err, errlen);
	return on->boot != NULL ? 0 : -1;
}

static void stop(void *arg)
{
	struct on *on = arg;

	log_info("stopping");
	event_base_loopexit(on->base, NULL);
}

static void cleanup(struct on *on)
{
	on_promote_stop(on->promo); /* our super node hands over while we still serve */
	on_link_free(on->lnk); /* first: the link's pending requests fail into live parts */
	on_boot_free(on->boot);
	on_lan_free(on->lan);
	statusd_free(on->status);
	on_publish_free(on->pub);
	on_registrar_free(on->reg); /* saves the bindings */
	on_proxy_free(on->proxy);
	on_lookup_free(on->lookup);
	on_seal_free(on);
	on_sip_free(on->sip);
	on_auth_free(on->auth);
	on_fed_free(on->fed);
	on_gw_free(on->gw);
	on_media_free(on->media);
	on_nat_free(on->nat);
	on_promote_free(on->promo);
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
