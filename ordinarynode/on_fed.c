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

#include <openssl/crypto.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

/* A PEM key, certificate or CA file. */
#define FED_PEM_MAX (256 * 1024)

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
		if ((one = file_read(path, FED_PEM_MAX, &k, err, errlen)) == NULL) {
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
	char path[700];
	size_t nk = 0, nc = 0, nca = 0;
	char *key = NULL, *cert = NULL, *both = NULL, *ca = NULL;
	int rc = -1;

	snprintf(dir, len, "%s/fed-tls", f->on->cfg.state_dir);
	snprintf(path, sizeof(path), "%s/agent.pem", dir);
	if (mkdir_parents(path, 0700, err, errlen) < 0 ||
	    (key = file_read(a->key_path, FED_PEM_MAX, &nk, err, errlen)) == NULL ||
	    (cert = file_read(a->cert_path, FED_PEM_MAX, &nc, err, errlen)) == NULL ||
	    (ca = cafile(&f->on->cfg, &nca, err, errlen)) == NULL ||
	    (both = malloc(nk + nc + 2)) == NULL)
		goto out;
	memcpy(both, key, nk);
	both[nk] = '\n';
	memcpy(both + nk + 1, cert, nc);
	if (file_write(path, both, nk + 1 + nc, 0600, 0, err, errlen) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/cafile.pem", dir);
	rc = file_write(path, ca, nca, 0600, 0, err, errlen);
out:
	if (key != NULL)
		OPENSSL_cleanse(key, nk);
	if (both != NULL)
		OPENSSL_cleanse(both, nk + nc + 2);
	free(key);
	free(cert);
	free(both);
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
		return NULL; /* no federation: not an error */
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
	if (f->acct < 0 || addr_split(on->cfg.gw_tls_listen, f->host, sizeof(f->host), &f->port) < 0 ||
	    !addr_is_ip(f->host)) {
		err_set(err, errlen, "[peer] needs an [account] with role = gateway and "
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
				TPTAG_CERTIFICATE(dir),
				TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_ALL), TAG_END()) < 0) {
		log_error("cannot listen for SIP over TLS on %s ([gateway] tls_listen)",
			  f->on->cfg.gw_tls_listen);
		return;
	}
	f->up = 1;
	log_info("federation: SIP over TLS for %d peered overlays on %s", f->on->cfg.npeers,
		 f->on->cfg.gw_tls_listen);
}

/* tp (a reference, dropped here) is a TLS connection of the federation
 * listener whose far side's chain verified. All connections there are
 * verified or closed (TPTLS_VERIFY_ALL); asked again all the same. */
static int verified(struct on_fed *f, tport_t *tp)
{
	tport_t *pri = tport_parent(tp);
	const tp_name_t *name = pri != NULL ? tport_name(pri) : NULL;
	int ok = tport_has_tls(tp) && tport_is_verified(tp) && name != NULL &&
		 name->tpn_port != NULL && (uint16_t)atoi(name->tpn_port) == f->port;

	log_info("fed check: tls %d verified %d port %s", tport_has_tls(tp), tport_is_verified(tp), name && name->tpn_port ? name->tpn_port : "-");

	tport_unref(tp);
	return ok;
}

int on_fed_verified(struct on_fed *f, nta_incoming_t *irq)
{
	tport_t *tp;

	if (f == NULL || !f->up ||
	    (tp = nta_incoming_transport(on_sip_agent(f->on->sip), irq, NULL)) == NULL)
		return 0;
	return verified(f, tp);
}

int on_fed_verified_out(struct on_fed *f, nta_outgoing_t *orq)
{
	tport_t *tp;

	if (f == NULL || !f->up || (tp = nta_outgoing_transport(orq)) == NULL)
		return 0;
	return verified(f, tp);
}

void on_fed_free(struct on_fed *f)
{
	free(f);
}
