/* Verifies signer certificates against the overlay CA, with a cache. */
#include "certcheck.h"

#include "crl.h"
#include "identity.h"
#include "record.h"
#include "util.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096

struct cache_entry {
	uint8_t fp[32];
	int used;
};

struct certcheck {
	X509_STORE *store;
	const struct crl *crl;
	struct cache_entry slots[CACHE_SLOTS];
};

struct certcheck *certcheck_new(X509 *ca)
{
	struct certcheck *cc = calloc(1, sizeof(*cc));

	if (cc == NULL)
		return NULL;
	cc->store = X509_STORE_new();
	if (cc->store == NULL || X509_STORE_add_cert(cc->store, ca) != 1) {
		certcheck_free(cc);
		return NULL;
	}
	return cc;
}

void certcheck_free(struct certcheck *cc)
{
	if (cc == NULL)
		return;
	X509_STORE_free(cc->store);
	free(cc);
}

void certcheck_set_crl(struct certcheck *cc, const struct crl *crl)
{
	cc->crl = crl;
}

static int chain_ok(struct certcheck *cc, X509 *cert, int64_t at, char *err, size_t errlen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	if (ctx != NULL && X509_STORE_CTX_init(ctx, cc->store, cert, NULL) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, (time_t)at);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			err_set(err, errlen, "signer certificate: %s",
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int certcheck_verify(struct certcheck *cc, X509 *cert, char *err, size_t errlen)
{
	return certcheck_verify_at(cc, cert, time_now(), err, errlen);
}

int certcheck_verify_at(struct certcheck *cc, X509 *cert, int64_t at, char *err, size_t errlen)
{
	uint8_t fp[32];
	unsigned int n = 0;
	struct cache_entry *e;

	if (crl_is_revoked(cc->crl, X509_get0_serialNumber(cert))) {
		err_set(err, errlen, "signer certificate revoked");
		return -1;
	}
	/* Validity is checked on every call: a cached chain may have expired. */
	if (cert_not_after(cert) <= at || cert_not_before(cert) > at) {
		err_set(err, errlen, "signer certificate expired or not yet valid");
		return -1;
	}
	if (X509_digest(cert, EVP_sha256(), fp, &n) != 1)
		return -1;
	e = &cc->slots[(fp[0] | fp[1] << 8) % CACHE_SLOTS];
	if (e->used && memcmp(e->fp, fp, sizeof(fp)) == 0)
		return 0;
	if (!chain_ok(cc, cert, at, err, errlen))
		return -1;
	memcpy(e->fp, fp, sizeof(fp));
	e->used = 1;
	return 0;
}

int certcheck_record(struct certcheck *cc, const struct record *r, const char *overlay, char *err,
		     size_t errlen)
{
	if (certcheck_verify_at(cc, r->cert, (int64_t)(r->stored / 1000), err, errlen) < 0 ||
	    record_access_ok(r, overlay, err, errlen) < 0)
		return -1;
	if (!record_sig_ok(r)) {
		err_set(err, errlen, "signature does not verify");
		return -1;
	}
	return 0;
}
