/* Building and signing the overlay's certificates and CRLs. */
#include "logind_x509.h"

#include "util.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <strings.h>

static const EVP_MD *sign_md(EVP_PKEY *key)
{
	return EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
}

static ASN1_INTEGER *serial_asn1(const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;

	if (BN_hex2bn(&bn, hex) > 0)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

static int add_name(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1,
					  -1, 0) == 1
		       ? 0
		       : -1;
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int rc;

	if (ext == NULL)
		return -1;
	rc = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static int push_name(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME *g = NULL;
	ASN1_IA5STRING *s;

	if (type == GEN_IPADD) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(value);
		if (ip == NULL)
			return -1;
		g = GENERAL_NAME_new();
		if (g == NULL) {
			ASN1_OCTET_STRING_free(ip);
			return -1;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
	} else {
		s = ASN1_IA5STRING_new();
		if (s == NULL || ASN1_STRING_set(s, value, -1) != 1) {
			ASN1_IA5STRING_free(s);
			return -1;
		}
		g = GENERAL_NAME_new();
		if (g == NULL) {
			ASN1_IA5STRING_free(s);
			return -1;
		}
		GENERAL_NAME_set0_value(g, type, s);
	}
	if (sk_GENERAL_NAME_push(gens, g) <= 0) {
		GENERAL_NAME_free(g);
		return -1;
	}
	return 0;
}

/* Subject alternative names are built as structures, never from a text
 * that a name could inject into. */
static int add_san(X509 *cert, const struct cert_spec *s)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc = -1;

	if (gens == NULL)
		return -1;
	if (s->san_uri != NULL && push_name(gens, GEN_URI, s->san_uri) < 0)
		goto out;
	for (int i = 0; i < s->ndns; i++)
		if (push_name(gens, GEN_DNS, s->dns[i]) < 0)
			goto out;
	for (int i = 0; i < s->nips; i++)
		if (push_name(gens, GEN_IPADD, s->ips[i]) < 0)
			goto out;
	if (sk_GENERAL_NAME_num(gens) == 0 ||
	    X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int set_subject(X509 *cert, const struct cert_spec *s)
{
	X509_NAME *n = X509_get_subject_name(cert);

	if (add_name(n, "O", s->overlay) < 0)
		return -1;
	if (s->role != NULL && add_name(n, "OU", s->role) < 0)
		return -1;
	return add_name(n, "CN", s->name);
}

static int set_extensions(X509 *cert, X509 *issuer, const struct cert_spec *s)
{
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if (add_ext(cert, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always") < 0)
		return -1;
	if (s->is_ca)
		return add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") <
					       0 ||
				       add_ext(cert, &ctx, NID_key_usage,
					       "critical,keyCertSign,cRLSign") < 0
			       ? -1
			       : 0;
	if (add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") < 0)
		return -1;
	return add_san(cert, s);
}

X509 *x509_build(const struct cert_spec *s, EVP_PKEY *ca_key, X509 *ca_cert, char *err,
		 size_t errlen)
{
	X509 *cert = X509_new();
	ASN1_INTEGER *serial = serial_asn1(s->serial_hex);

	if (cert == NULL || serial == NULL) {
		err_set(err, errlen, "bad serial or out of memory");
		goto fail;
	}
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(cert, serial) != 1 || X509_set_pubkey(cert, s->pubkey) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)s->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)s->not_after) == NULL ||
	    set_subject(cert, s) < 0) {
		err_set(err, errlen, "cannot fill certificate fields");
		goto fail;
	}
	if (X509_set_issuer_name(cert, ca_cert != NULL ? X509_get_subject_name(ca_cert)
						       : X509_get_subject_name(cert)) != 1 ||
	    set_extensions(cert, ca_cert != NULL ? ca_cert : cert, s) < 0) {
		err_set(err, errlen, "cannot add certificate extensions");
		goto fail;
	}
	if (X509_sign(cert, ca_key, sign_md(ca_key)) <= 0) {
		err_set(err, errlen, "signing failed");
		goto fail;
	}
	ASN1_INTEGER_free(serial);
	ERR_clear_error();
	return cert;
fail:
	ASN1_INTEGER_free(serial);
	X509_free(cert);
	ERR_clear_error();
	return NULL;
}

static int add_revoked(X509_CRL *crl, const struct crl_entry *e)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_INTEGER *serial = serial_asn1(e->serial);
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)e->revoked);
	ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
	int rc = -1;

	if (rev == NULL || serial == NULL || t == NULL || reason == NULL)
		goto out;
	if (X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, t) != 1)
		goto out;
	if (e->reason > 0 && (ASN1_ENUMERATED_set(reason, e->reason) != 1 ||
			      X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1))
		goto out;
	if (X509_CRL_add0_revoked(crl, rev) == 1) {
		rev = NULL;
		rc = 0;
	}
out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(reason);
	return rc;
}

X509_CRL *x509_build_crl(EVP_PKEY *ca_key, X509 *ca_cert, int64_t number, int64_t last,
			 int64_t next, const struct crl_entry *e, size_t n, char *err,
			 size_t errlen)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *tl = ASN1_TIME_set(NULL, (time_t)last);
	ASN1_TIME *tn = ASN1_TIME_set(NULL, (time_t)next);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509V3_CTX ctx;
	X509_EXTENSION *akid = NULL;

	if (crl == NULL || tl == NULL || tn == NULL || num == NULL ||
	    ASN1_INTEGER_set_int64(num, number) != 1)
		goto fail;
	if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, tl) != 1 || X509_CRL_set1_nextUpdate(crl, tn) != 1)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (add_revoked(crl, &e[i]) < 0)
			goto fail;
	X509V3_set_ctx(&ctx, ca_cert, NULL, NULL, crl, 0);
	akid = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (akid == NULL || X509_CRL_add_ext(crl, akid, -1) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto fail;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, ca_key, sign_md(ca_key)) <= 0)
		goto fail;
	X509_EXTENSION_free(akid);
	ASN1_TIME_free(tl);
	ASN1_TIME_free(tn);
	ASN1_INTEGER_free(num);
	ERR_clear_error();
	return crl;
fail:
	err_set(err, errlen, "cannot build CRL");
	X509_EXTENSION_free(akid);
	ASN1_TIME_free(tl);
	ASN1_TIME_free(tn);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	ERR_clear_error();
	return NULL;
}

int x509_serial_new(char out[SERIAL_HEX_LEN + 1])
{
	uint8_t b[SERIAL_HEX_LEN / 2];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	/* Positive, and a fixed length so that the text form never changes. */
	b[0] = (uint8_t)((b[0] & 0x3f) | 0x40);
	hex_encode(b, sizeof(b), out);
	return 0;
}

int serial_normalize(const char *in, char *out, size_t outlen)
{
	char buf[3 * SERIAL_HEX_LEN + 8];
	size_t j = 0;
	BIGNUM *bn = NULL;
	char *hex;
	int rc = -1;

	for (size_t i = 0; in[i] != '\0'; i++) {
		if (in[i] == ':')
			continue;
		if (!isxdigit((unsigned char)in[i]) || j + 1 >= sizeof(buf))
			return -1;
		buf[j++] = (char)toupper((unsigned char)in[i]);
	}
	buf[j] = '\0';
	if (j == 0 || j > 40 || BN_hex2bn(&bn, buf) != (int)j)
		goto out;
	hex = BN_bn2hex(bn);
	if (hex != NULL && strlen(hex) < outlen) {
		str_copy(out, hex, outlen);
		rc = 0;
	}
	OPENSSL_free(hex);
out:
	BN_free(bn);
	return rc;
}

static const char *const reasons[] = {
	"unspecified", "keyCompromise",        "cACompromise",    "affiliationChanged",
	"superseded",  "cessationOfOperation", "certificateHold",
};

int crl_reason_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
		if (strcasecmp(s, reasons[i]) == 0)
			return (int)i;
	return -1;
}

const char *crl_reason_name(int reason)
{
	if (reason < 0 || (size_t)reason >= ARRAY_LEN(reasons))
		return "unspecified";
	return reasons[reason];
}

int dns_name_is_valid(const char *s)
{
	size_t n = strlen(s);
	size_t label = 0;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}
