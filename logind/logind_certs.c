/* Issuing certificates, revoking them and keeping the CRL current. */
#include "logind.h"

#include "crl.h"
#include "identity.h"
#include "log.h"
#include "logind_ca.h"
#include "logind_db.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A gateway's account is a user's that carries calls: its certificates
 * live as long, and as many, as a user's. */
static int64_t lifetime_for(const struct logind *ld, const char *role)
{
	if (strcmp(role, ROLE_SUPERNODE) == 0)
		return ld->cfg.supernode_lifetime;
	if (strcmp(role, ROLE_SERVER) == 0)
		return ld->cfg.server_lifetime;
	return ld->cfg.user_lifetime;
}

enum cert_role_ix cert_role_ix(const char *role)
{
	if (strcmp(role, ROLE_SUPERNODE) == 0)
		return ROLE_IX_SUPERNODE;
	if (strcmp(role, ROLE_SERVER) == 0)
		return ROLE_IX_SERVER;
	if (strcmp(role, ROLE_GATEWAY) == 0)
		return ROLE_IX_GATEWAY;
	return ROLE_IX_USER;
}

/* What the certificate for r says; uri (512 bytes) holds its SIP URI. */
static void spec_fill(struct logind *ld, const struct issue_req *r, const char *serial, int64_t now,
		      char *uri, struct cert_spec *s)
{
	s->pubkey = r->pubkey;
	s->serial_hex = serial;
	s->overlay = ld->cfg.overlay;
	s->role = r->role;
	s->name = r->name;
	if (strcmp(r->role, ROLE_SERVER) != 0) {
		snprintf(uri, 512, "sip:%s@%s", r->name, ld->cfg.overlay);
		s->san_uri = uri;
	}
	for (int i = 0; i < r->ndns && i < SAN_MAX; i++)
		s->dns[s->ndns++] = r->dns[i];
	for (int i = 0; i < r->nips && i < SAN_MAX; i++)
		s->ips[s->nips++] = r->ips[i];
	s->not_before = now - CLOCK_SKEW;
	s->not_after = now + lifetime_for(ld, r->role);
	/* Never past the CA's own expiry. */
	if (s->not_after > cert_not_after(ld->ca_cert))
		s->not_after = cert_not_after(ld->ca_cert);
}

/* The certificate exists only once it is recorded: a crash before the
 * commit loses nothing that was handed out. */
static int record(struct logind *ld, const struct cert_spec *s, const uint8_t *nid, int64_t now,
		  struct issued *out)
{
	struct cert_rec rec = {0};

	str_copy(rec.serial, s->serial_hex, sizeof(rec.serial));
	str_copy(rec.name, s->name, sizeof(rec.name));
	str_copy(rec.role, s->role, sizeof(rec.role));
	node_id_hex(nid, rec.node_id);
	rec.not_before = s->not_before;
	rec.not_after = s->not_after;
	rec.issued = now;
	rec.pem = out->pem;
	if (ldb_cert_add(ld->db, &rec) != LDB_OK)
		return -1;
	str_copy(out->serial, s->serial_hex, sizeof(out->serial));
	str_copy(out->node_id, rec.node_id, sizeof(out->node_id));
	out->not_after = s->not_after;
	return 0;
}

/* A certificate and the one it renewed, during the change-over. */
#define LIVE_PER_NODE_ID 2

/* Whether c, in an account's live list walked newest first, goes over the
 * cap: the account's Node-IDs ranked by their newest certificate, ids[]
 * collecting those seen and per[] how many certificates each had. evict:
 * a Node-ID that goes whatever its rank (or NULL). */
static int over_cap(const struct cert_rec *c, const char *evict, int64_t cap, char (*ids)[33],
		    int *per, size_t *nids)
{
	size_t k = 0;

	if (evict != NULL && strcmp(c->node_id, evict) == 0)
		return 1;
	while (k < *nids && strcmp(ids[k], c->node_id) != 0)
		k++;
	if (k == *nids)
		str_copy(ids[(*nids)++], c->node_id, 33);
	per[k]++;
	return (int64_t)k >= cap || per[k] > LIVE_PER_NODE_ID;
}

static void supersede(struct logind *ld, const struct cert_rec *c, int64_t now)
{
	if (ldb_cert_revoke(ld->db, c->serial, REASON_SUPERSEDED, now) != LDB_OK) {
		log_error("cannot revoke certificate %s of %s", c->serial, c->name);
		return;
	}
	ld->st.revoked++;
	ld->st.superseded++;
	log_warn("%s: over its cap of live Node-IDs: revoked certificate %s (Node-ID %s, issued "
		 "%lld) as superseded",
		 c->name, c->serial, c->node_id, (long long)c->issued);
}

/* A renewal to a new key that takes the account over its cap gives up the
 * Node-ID it renewed, rather than another device's: that one goes first. */
static const char *evict_first(const struct cert_rec *c, size_t n, const char *replaces,
			       const char *new_id, int64_t cap)
{
	int64_t distinct = 0;
	int present = 0;

	if (replaces == NULL || strcmp(replaces, new_id) == 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < i && strcmp(c[k].node_id, c[i].node_id) != 0)
			k++;
		distinct += k == i;
		present |= strcmp(c[i].node_id, replaces) == 0;
	}
	return present && distinct > cap ? replaces : NULL;
}

/* Only the certificates of role: a promotable user's supernode certificate
 * counts against max_live_supernode and leaves its user ones alone. */
static size_t keep_role(struct cert_rec *c, size_t n, const char *role)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].role, role) == 0)
			c[k++] = c[i];
	return k;
}

/* Keeps an account at no more than its cap of live Node-IDs, and each at
 * LIVE_PER_NODE_ID certificates: a fresh key is a fresh Node-ID, so
 * otherwise one password would buy any number of ring identities. The
 * oldest Node-ID (by its newest certificate) goes, so that a reinstalled
 * device is never locked out by the one it replaced. */
static void enforce_cap(struct logind *ld, const struct issue_req *r, const char *new_id)
{
	int64_t now = time_now();
	int64_t cap = strcmp(r->role, ROLE_SUPERNODE) == 0 ? ld->cfg.max_live_supernode
							   : ld->cfg.max_live_user;
	struct cert_rec *c = NULL;
	char(*ids)[33] = NULL;
	const char *evict;
	int *per = NULL;
	size_t n = 0, nids = 0;
	int revoked = 0;
	char err[256];

	if (ldb_certs_live(ld->db, r->name, now, &c, &n) < 0 ||
	    (ids = calloc(n + 1, sizeof(*ids))) == NULL ||
	    (per = calloc(n + 1, sizeof(*per))) == NULL) {
		log_error("%s: cannot read live certificates: cap not applied", r->name);
		goto out;
	}
	n = keep_role(c, n, r->role);
	evict = evict_first(c, n, r->replaces, new_id, cap);
	for (size_t i = 0; i < n; i++) {
		if (over_cap(&c[i], evict, cap, ids, per, &nids)) {
			supersede(ld, &c[i], now);
			revoked++;
		}
	}
	if (revoked > 0 && certs_refresh_crl(ld, err, sizeof(err)) < 0)
		log_error("CRL refresh: %s", err);
out:
	free(c);
	free(ids);
	free(per);
}

int certs_issue(struct logind *ld, const struct issue_req *r, struct issued *out, char *err,
		size_t errlen)
{
	struct cert_spec s = {0};
	char serial[SERIAL_HEX_LEN + 1];
	char uri[512];
	uint8_t nid[NODE_ID_LEN];
	int64_t now = time_now();
	X509 *cert = NULL;

	memset(out, 0, sizeof(*out));
	if (x509_serial_new(serial) < 0 || node_id_from_key(r->pubkey, nid) < 0) {
		err_set(err, errlen, "cannot derive serial or Node-ID");
		return -1;
	}
	spec_fill(ld, r, serial, now, uri, &s);
	cert = ca_issue(ld->ca, &s, err, errlen);
	if (cert == NULL)
		return -1;
	out->pem = cert_to_pem(cert);
	X509_free(cert);
	if (out->pem == NULL) {
		err_set(err, errlen, "out of memory");
		return -1;
	}
	if (record(ld, &s, nid, now, out) < 0) {
		err_set(err, errlen, "cannot record certificate");
		issued_free(out);
		return -1;
	}
	ld->st.issued[cert_role_ix(r->role)]++;
	log_info("issued %s certificate %s to %s (Node-ID %s, until %lld)", r->role, serial,
		 r->name, out->node_id, (long long)s.not_after);
	if (strcmp(r->role, ROLE_SERVER) != 0)
		enforce_cap(ld, r, out->node_id);
	return 0;
}

void issued_free(struct issued *is)
{
	free(is->pem);
	is->pem = NULL;
}

static void install_crl(struct logind *ld, struct crl *c)
{
	crl_free(ld->crl);
	ld->crl = c;
	if (ld->ssl_ctx != NULL)
		tls_ctx_set_crl(ld->ssl_ctx, c);
}

int certs_refresh_crl(struct logind *ld, char *err, size_t errlen)
{
	struct crl_entry *e = NULL;
	size_t n = 0;
	int64_t number;
	int64_t now = time_now();
	X509_CRL *x = NULL;
	unsigned char *der = NULL;
	struct crl *c = NULL;
	int len;

	if (ldb_crl_entries(ld->db, now, &e, &n) < 0 || ldb_next_crl_number(ld->db, &number) < 0) {
		err_set(err, errlen, "cannot read revocations from the database");
		goto out;
	}
	x = ca_sign_crl(ld->ca, number, now - CLOCK_SKEW, now + ld->cfg.crl_lifetime, e, n, err,
			errlen);
	if (x == NULL || (len = i2d_X509_CRL(x, &der)) <= 0)
		goto out;
	c = crl_parse(der, (size_t)len, ld->ca_cert, err, errlen);
	if (c == NULL)
		goto out;
	install_crl(ld, c);
	log_info("CRL %lld: %zu revoked certificates", (long long)number, n);
out:
	OPENSSL_free(der);
	X509_CRL_free(x);
	free(e);
	return c != NULL ? 0 : -1;
}

int certs_revoke(struct logind *ld, const char *serial, int reason, char *err, size_t errlen)
{
	enum ldb_rc rc = ldb_cert_revoke(ld->db, serial, reason, time_now());

	switch (rc) {
	case LDB_OK:
		break;
	case LDB_NOT_FOUND:
		err_set(err, errlen, "no certificate with serial %s", serial);
		return -1;
	case LDB_EXISTS:
		err_set(err, errlen, "certificate %s is already revoked", serial);
		return -1;
	default:
		err_set(err, errlen, "database error");
		return -1;
	}
	ld->st.revoked++;
	log_info("revoked certificate %s (%s)", serial, crl_reason_name(reason));
	return certs_refresh_crl(ld, err, errlen);
}

/* The CRL is re-signed when half its lifetime has passed, so that a copy
 * cached by bootstrapd is never stale. */
static void crl_tick(evutil_socket_t fd, short what, void *arg)
{
	struct logind *ld = arg;
	char err[256];

	(void)fd, (void)what;
	if (ld->crl == NULL || ld->crl->next_update - time_now() < ld->cfg.crl_lifetime / 2) {
		if (certs_refresh_crl(ld, err, sizeof(err)) < 0)
			log_error("CRL refresh: %s", err);
	}
}

int certs_start_crl_timer(struct logind *ld)
{
	struct timeval tv = {60, 0};

	ld->crl_timer = event_new(ld->base, -1, EV_PERSIST, crl_tick, ld);
	return ld->crl_timer != NULL && event_add(ld->crl_timer, &tv) == 0 ? 0 : -1;
}
