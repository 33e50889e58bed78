/* Certificate revocation lists of the overlay CA. */
#include "crl.h"

#include "identity.h"
#include "util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t t_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

static X509_CRL *decode(const uint8_t *buf, size_t len)
{
	const unsigned char *p = buf;
	X509_CRL *x;
	BIO *bio;

	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		bio = BIO_new_mem_buf(buf, (int)len);
		x = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		return x;
	}
	x = d2i_X509_CRL(NULL, &p, (long)len);
	if (x != NULL && p != buf + len) {
		X509_CRL_free(x); /* trailing bytes */
		return NULL;
	}
	return x;
}

static int64_t crl_number(X509_CRL *x)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(x, NID_crl_number, NULL, NULL);
	int64_t v = -1;

	if (num != NULL && ASN1_INTEGER_get_int64(&v, num) != 1)
		v = -1;
	ASN1_INTEGER_free(num);
	return v;
}

struct crl *crl_parse(const uint8_t *buf, size_t len, X509 *ca, char *err, size_t errlen)
{
	struct crl *c = NULL;
	X509_CRL *x;
	unsigned char *der = NULL;
	int n;

	if (len == 0 || len > CRL_MAX) {
		err_set(err, errlen, "CRL size out of range");
		return NULL;
	}
	x = decode(buf, len);
	if (x == NULL) {
		err_set(err, errlen, "not a CRL");
		goto fail;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(x), X509_get_subject_name(ca)) != 0 ||
	    X509_CRL_verify(x, X509_get0_pubkey(ca)) != 1) {
		err_set(err, errlen, "CRL is not signed by the overlay CA");
		goto fail;
	}
	c = calloc(1, sizeof(*c));
	n = i2d_X509_CRL(x, &der);
	if (c == NULL || n <= 0) {
		err_set(err, errlen, "out of memory");
		goto fail;
	}
	c->der = malloc((size_t)n);
	if (c->der == NULL)
		goto fail;
	memcpy(c->der, der, (size_t)n);
	OPENSSL_free(der);
	c->der_len = (size_t)n;
	c->x = x;
	c->last_update = t_epoch(X509_CRL_get0_lastUpdate(x));
	c->next_update = t_epoch(X509_CRL_get0_nextUpdate(x));
	c->number = crl_number(x);
	/* An empty list is absent from the CRL: OpenSSL counts it as -1. */
	c->count = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(x));
	if (c->count < 0)
		c->count = 0;
	ERR_clear_error();
	return c;
fail:
	OPENSSL_free(der);
	if (c != NULL)
		free(c->der);
	free(c);
	X509_CRL_free(x);
	ERR_clear_error();
	return NULL;
}

void crl_free(struct crl *c)
{
	if (c == NULL)
		return;
	X509_CRL_free(c->x);
	free(c->der);
	free(c);
}

int crl_is_revoked(const struct crl *c, const ASN1_INTEGER *serial)
{
	X509_REVOKED *rev = NULL;

	if (c == NULL)
		return 0;
	/* X509_CRL_get0_by_serial sorts the list on first use; the cast is
	 * what its prototype needs. */
	return X509_CRL_get0_by_serial(c->x, &rev, (ASN1_INTEGER *)serial) == 1;
}

int crl_is_revoked_hex(const struct crl *c, const char *serial_hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int r = 0;

	/* The whole string must be hex: "5zz" is not serial 5. */
	if (c == NULL || BN_hex2bn(&bn, serial_hex) != (int)strlen(serial_hex) ||
	    serial_hex[0] == '\0')
		goto out;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (ai != NULL)
		r = crl_is_revoked(c, ai);
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return r;
}

char *crl_to_pem(const struct crl *c)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (bio != NULL && PEM_write_bio_X509_CRL(bio, c->x) == 1)
		out = bio_mem_string(bio);
	BIO_free(bio);
	return out;
}
