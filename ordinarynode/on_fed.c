/* Federation (docs/federation.md): a gateway's SIP-over-TLS listener for
 * the gateways of peered overlays ([gateway] tls_listen, [peer DOMAIN]),
 * with the gateway account's own overlay certificate, both sides verified
 * against the peers' CAs; and which requests came over it. */
#include "on.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/su_strlst.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

struct on_fed {
	struct on *on;
	int acct;      /* the gateway account, whose certificate we show */
	int up;        /* the listener is there */
	uint16_t port; /* its port */
	char host[64];
};

/* Every peer's CA certificate, then our own (our gateways call each other
 * too), one after the other: cafile.pem. NULL with err. */
static char *cafile(const struct on_config *c, size_t *len, char *err, size_t errlen)
{
	char *all = NULL, *one, *grown;
	size_t n = 0, k;

	for (int i = 0; i <= c->npeers; i++) {
		const char *path = i < c->npeers ? c->peers[i].ca_cert : c->ca_cert;
		if ((one = file_read(path, ON_TLS_FILE_MAX, &k, err, errlen)) == NULL) {
			free(all);
			return NULL;
		}
		if (strstr(one, "-----BEGIN CERTIFICATE-----") == NULL ||
		    (grown = realloc(all, n + k + 2)) == NULL) {
			err_set(err, errlen, "%s: not a PEM certificate", path);
			free(one);
			free(all);
			return NULL;
		}
		all = grown;
		memcpy(all + n, one, k);
		all[n + k] = '\n';
		n += k + 1;
		free(one);
	}
	*len = n;
	return all;
}

/* state_dir/fed-tls: agent.pem (the gateway account's key and
 * certificate, as keepcert keeps them) and cafile.pem, as sofia-sip
 * takes them. */
static int write_dir(struct on_fed *f, char *dir, size_t len, char *err, size_t errlen)
{
	const struct account *a = &f->on->acc[f->acct];
	size_t nca = 0;
	char *ca;
	int rc;

	snprintf(dir, len, "%s/fed-tls", f->on->cfg.state_dir);
	if ((ca = cafile(&f->on->cfg, &nca, err, errlen)) == NULL)
		return -1;
	rc = on_tls_dir(dir, a->key_path, a->cert_path, ca, nca, err, errlen);
	free(ca);
	return rc;
}

struct on_fed *on_fed_new(struct on *on, char *err, size_t errlen)
{
	struct on_fed *f;
	size_t n;
	char *ca;

	err[0] = '\0';
	if (on->gw == NULL || on->cfg.npeers == 0)
		return NULL;                                  /* no federation: not an error */
	if ((ca = cafile(&on->cfg, &n, err, errlen)) == NULL) /* the files are there */
		return NULL;
	free(ca);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	f->on = on;
	f->acct = -1;
	for (int i = 0; i < on->nacc && f->acct < 0; i++)
		if (strcmp(on->acc[i].conf->role, ROLE_GATEWAY) == 0)
			f->acct = i;
	if (f->acct < 0 ||
	    addr_split(on->cfg.gw_tls_listen, f->host, sizeof(f->host), &f->port) < 0 ||
	    !addr_is_ip(f->host)) {
		err_set(err, errlen,
			"[peer] needs an [account] with role = gateway and "
			"[gateway] tls_listen = IP:PORT");
		free(f);
		return NULL;
	}
	return f;
}

/* The gateway account's certificate is in place (at start, or renewed):
 * the listener opens on the first. sofia-sip 1.12 cannot load a renewed
 * certificate into a listener (no tport_reload_tls): connections keep
 * showing the first until the gateway restarts (docs/federation.md). */
void on_fed_cert_ready(struct on_fed *f)
{
	char dir[600], url[128], err[300];

	if (f == NULL || f->up)
		return;
	if (write_dir(f, dir, sizeof(dir), err, sizeof(err)) < 0) {
		log_error("federation TLS not opened: %s", err);
		return;
	}
	snprintf(url, sizeof(url), strchr(f->host, ':') ? "sips:[%s]:%u" : "sips:%s:%u", f->host,
		 f->port);
	/* VERIFY_ALL: a peer's gateway shows a certificate of a CA in
	 * cafile.pem or gets no connection, and so does the one we call. */
	if (nta_agent_add_tport(on_sip_agent(f->on->sip), (url_string_t *)url,
				TPTAG_CERTIFICATE(dir), TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_ALL),
				TAG_END()) < 0) {
		log_error("cannot listen for SIP over TLS on %s ([gateway] tls_listen)",
			  f->on->cfg.gw_tls_listen);
		return;
	}
	f->up = 1;
	log_info("federation: SIP over TLS for %d peered overlays on %s", f->on->cfg.npeers,
		 f->on->cfg.gw_tls_listen);
}

/* The peered overlay a subject of the far side's certificate names: our
 * certificates carry the account's SIP URI, sip:ACCOUNT@OVERLAY, as a
 * subjectAltName, and sofia-sip gives those (not O or OU). Its name into
 * dom; 0 when no subject names a peer (or, where [peer] lists its
 * gateways, one of them). */
static int peer_named(struct on_fed *f, const su_strlst_t *subj, char *dom, size_t len)
{
	usize_t n = subj != NULL ? su_strlst_len(subj) : 0;

	for (usize_t i = 0; i < n; i++) {
		const char *s = su_strlst_item(subj, i), *at, *peer;
		char acct[NAME_MAX_LEN + 1];
		if (s == NULL || strncasecmp(s, "sip:", 4) != 0 || (at = strchr(s, '@')) == NULL ||
		    (size_t)(at - s - 4) >= sizeof(acct))
			continue;
		memcpy(acct, s + 4, (size_t)(at - s - 4));
		acct[at - s - 4] = '\0';
		if ((peer = on_gw_peer(f->on->gw, at + 1)) != NULL &&
		    on_gw_peer_gateway(f->on->gw, peer, acct)) {
			str_copy(dom, peer, len);
			return 1;
		}
	}
	return 0;
}

/* tp (a reference, dropped here) is a TLS connection of the federation
 * listener whose far side's chain verified (all are, or sofia-sip closed
 * them: TPTLS_VERIFY_ALL; asked again all the same), and m the message it
 * is delivering now: the peer its certificate names into dom. */
static int verified(struct on_fed *f, tport_t *tp, msg_t *m, char *dom, size_t len)
{
	tport_t *pri = tport_parent(tp);
	const tp_name_t *name = pri != NULL ? tport_name(pri) : NULL;
	int ok = tport_has_tls(tp) && tport_is_verified(tp) && name != NULL &&
		 name->tpn_port != NULL && (uint16_t)atoi(name->tpn_port) == f->port &&
		 peer_named(f, tport_delivered_from_subjects(tp, m), dom, len);

	tport_unref(tp);
	if (m != NULL)
		msg_destroy(m); /* a reference */
	return ok;
}

int on_fed_peer(struct on_fed *f, nta_incoming_t *irq, char *dom, size_t len)
{
	tport_t *tp;

	dom[0] = '\0';
	if (f == NULL || !f->up ||
	    (tp = nta_incoming_transport(on_sip_agent(f->on->sip), irq, NULL)) == NULL)
		return 0;
	return verified(f, tp, nta_incoming_getrequest(irq), dom, len);
}

int on_fed_peer_out(struct on_fed *f, nta_outgoing_t *orq, char *dom, size_t len)
{
	tport_t *tp;

	dom[0] = '\0';
	if (f == NULL || !f->up || (tp = nta_outgoing_transport(orq)) == NULL)
		return 0;
	return verified(f, tp, nta_outgoing_getresponse(orq), dom, len);
}

void on_fed_free(struct on_fed *f)
{
	free(f);
}
