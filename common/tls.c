/* TLS 1.3 contexts for the overlay. */
#include "tls.h"

#include "crl.h"
#include "identity.h"
#include "util.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

struct tls_extra {
	enum tls_verify mode;
	X509_CRL *crl;
};

static int extra_idx = -1;

/* Per connection (client side): the role the peer's certificate must carry,
 * and why it did not, for the caller's error message. */
struct tls_want {
	char role[ROLE_MAX];
	char why[160];
};

static int want_idx = -1;

static void extra_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct tls_extra *x = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (x == NULL)
		return;
	X509_CRL_free(x->crl);
	OPENSSL_free(x);
}

static void want_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	OPENSSL_free(ptr);
}

static struct tls_want *want_get(SSL *ssl)
{
	return want_idx < 0 || ssl == NULL ? NULL : SSL_get_ex_data(ssl, want_idx);
}

/* The leaf's role (OU) against the wanted one; a user's or a super node's
 * certificate from the same CA must never pass for a server's. */
static int role_ok(struct tls_want *w, X509 *cert)
{
	char role[ROLE_MAX];

	if (cert_role(cert, role, sizeof(role)) < 0)
		str_copy(role, "none", sizeof(role));
	if (strcmp(role, w->role) == 0)
		return 1;
	snprintf(w->why, sizeof(w->why), "server certificate has role '%s', not '%s'", role,
		 w->role);
	return 0;
}

/* The role is checked on the CA's own leaf: when the chain verified, or
 * when only the name did not match (a user's certificate names no server,
 * and the role is the clearer reason to give). */
static int role_checked(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	int e = X509_STORE_CTX_get_error(sctx);

	if (want_get(ssl) == NULL || X509_STORE_CTX_get_current_cert(sctx) == NULL ||
	    X509_STORE_CTX_get_error_depth(sctx) != 0)
		return 0;
	return ok || e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH;
}

static struct tls_extra *extra_get(SSL_CTX *ctx)
{
	return extra_idx < 0 ? NULL : SSL_CTX_get_ex_data(ctx, extra_idx);
}

static int extra_attach(SSL_CTX *ctx, enum tls_verify mode)
{
	struct tls_extra *x;

	if (extra_idx < 0) {
		extra_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, extra_free);
		if (extra_idx < 0)
			return -1;
	}
	x = OPENSSL_zalloc(sizeof(*x));
	if (x == NULL)
		return -1;
	x->mode = mode;
	if (SSL_CTX_set_ex_data(ctx, extra_idx, x) != 1) {
		OPENSSL_free(x);
		return -1;
	}
	return 0;
}

/* Adds the revocation check to OpenSSL's own chain verification. In REPORT
 * mode every failure is recorded in the verify result but the handshake
 * goes on, so that an HTTP API can answer with a readable reason. */
static int verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_extra *x = ssl != NULL ? extra_get(SSL_get_SSL_CTX(ssl)) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);
	X509_REVOKED *rev = NULL;

	if (ok && x != NULL && x->crl != NULL && cert != NULL &&
	    X509_STORE_CTX_get_error_depth(sctx) == 0 &&
	    X509_CRL_get0_by_serial(x->crl, &rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert)) ==
		    1) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REVOKED);
		ok = 0;
	}
	if (role_checked(ok, sctx) && !role_ok(want_get(ssl), cert)) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		ok = 0;
	}
	if (x != NULL && x->mode == TLS_VERIFY_REPORT)
		return 1;
	return ok;
}

static SSL_CTX *ctx_common(const SSL_METHOD *method, const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		err_set(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (ca_file != NULL && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		err_set(err, errlen, "%s: cannot load CA certificate", ca_file);
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	return ctx;
}

static int load_identity(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err,
			 size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		err_set(err, errlen, "%s: cannot load certificate", cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		err_set(err, errlen, "%s: cannot load private key", key_file);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		err_set(err, errlen, "%s does not match %s", key_file, cert_file);
		return -1;
	}
	return 0;
}

SSL_CTX *tls_server_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
			    enum tls_verify mode, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_common(TLS_server_method(), ca_file, err, errlen);
	int vflags = SSL_VERIFY_NONE;

	if (ctx == NULL)
		return NULL;
	if (load_identity(ctx, cert_file, key_file, err, errlen) < 0 || extra_attach(ctx, mode) < 0)
		goto fail;
	if (mode == TLS_VERIFY_REPORT)
		vflags = SSL_VERIFY_PEER;
	else if (mode == TLS_VERIFY_REQUIRE)
		vflags = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, vflags, verify_cb);
	/* Session tickets would let a revoked client resume without a new
	 * certificate check: full handshakes only. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
			    char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_common(TLS_client_method(), ca_file, err, errlen);

	if (ctx == NULL)
		return NULL;
	if (cert_file != NULL && load_identity(ctx, cert_file, key_file, err, errlen) < 0)
		goto fail;
	if (extra_attach(ctx, TLS_VERIFY_REQUIRE) < 0)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

int tls_ctx_set_crl(SSL_CTX *ctx, const struct crl *crl)
{
	struct tls_extra *x = extra_get(ctx);

	if (x == NULL)
		return -1;
	if (crl != NULL && X509_CRL_up_ref(crl->x) != 1)
		return -1;
	X509_CRL_free(x->crl);
	x->crl = crl != NULL ? crl->x : NULL;
	return 0;
}

int tls_set_host(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

	/* A name counts only in a subjectAltName: a CN is a user's account
	 * name, and an account called "localhost" must not match. */
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (addr_is_ip(host)) {
		/* No SNI for addresses (RFC 6066). */
		return X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1 ? 0 : -1;
	}
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

int tls_require_role(SSL *ssl, const char *role)
{
	struct tls_want *w;

	if (want_idx < 0) {
		want_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, want_free);
		if (want_idx < 0)
			return -1;
	}
	w = OPENSSL_zalloc(sizeof(*w));
	if (w == NULL)
		return -1;
	str_copy(w->role, role, sizeof(w->role));
	if (SSL_set_ex_data(ssl, want_idx, w) != 1) {
		OPENSSL_free(w);
		return -1;
	}
	return 0;
}

const char *tls_role_error(SSL *ssl)
{
	struct tls_want *w = want_get(ssl);

	return w != NULL && w->why[0] != '\0' ? w->why : NULL;
}

int tls_peer_check(SSL *ssl, X509 **cert, const char **why)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);

	*cert = NULL;
	if (peer == NULL) {
		*why = "no client certificate";
		return -1;
	}
	switch (vr) {
	case X509_V_OK:
		*cert = peer;
		return 0;
	case X509_V_ERR_CERT_REVOKED:
		*why = "certificate revoked";
		return -1;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		*why = "certificate expired";
		return -1;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		*why = "certificate not yet valid";
		return -1;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		*why = "certificate not issued by the overlay CA";
		return -1;
	default:
		*why = X509_verify_cert_error_string(vr);
		return -1;
	}
}

const char *tls_error_string(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		str_copy(buf, "no TLS error", len);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}
