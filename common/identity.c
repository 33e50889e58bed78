/* Identities: keys and certificates, Node-IDs, role and name. */
#include "identity.h"

#include "util.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void id_of_spki(const unsigned char *der, size_t n, uint8_t out[NODE_ID_LEN])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(der, n, md);
	memcpy(out, md, NODE_ID_LEN);
}

/* DER SubjectPublicKeyInfo of the two accepted key types: a fixed header
 * (algorithm, curve, bit string) followed by the raw public key. */
static const unsigned char SPKI_P256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
					  0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
					  0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const unsigned char SPKI_ED25519[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					     0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/* In OpenSSL 3.0 i2d_PUBKEY goes through the provider encoders and costs
 * about 60 us; the two key types of the overlay are encoded here instead
 * (the unit tests check that both give the same bytes). */
int node_id_from_key(EVP_PKEY *key, uint8_t out[NODE_ID_LEN])
{
	unsigned char der[sizeof(SPKI_P256) + 65];
	unsigned char *enc = NULL;
	size_t n = 0;
	int len;

	if (key_is_allowed(key) && EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					    der + sizeof(SPKI_P256), 65, &n) == 1 &&
	    n == 65) {
		memcpy(der, SPKI_P256, sizeof(SPKI_P256));
		id_of_spki(der, sizeof(der), out);
		return 0;
	}
	if (EVP_PKEY_is_a(key, "ED25519") &&
	    EVP_PKEY_get_raw_public_key(key, der + sizeof(SPKI_ED25519), &(size_t){32}) == 1) {
		memcpy(der, SPKI_ED25519, sizeof(SPKI_ED25519));
		id_of_spki(der, sizeof(SPKI_ED25519) + 32, out);
		return 0;
	}
	ERR_clear_error();
	len = i2d_PUBKEY(key, &enc);
	if (len <= 0)
		return -1;
	id_of_spki(enc, (size_t)len, out);
	OPENSSL_free(enc);
	return 0;
}

/* The certificate keeps its SubjectPublicKeyInfo: re-emitting it is cheap. */
int node_id_from_cert(X509 *cert, uint8_t out[NODE_ID_LEN])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);

	if (n <= 0)
		return -1;
	id_of_spki(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

void node_id_hex(const uint8_t id[NODE_ID_LEN], char out[NODE_ID_HEX_LEN + 1])
{
	hex_encode(id, NODE_ID_LEN, out);
}

static int subject_field(X509 *cert, int nid, char *out, size_t outlen)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int n;

	if (idx < 0 || X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
		return -1; /* absent, or present twice */
	e = X509_NAME_get_entry(name, idx);
	s = X509_NAME_ENTRY_get_data(e);
	n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return -1;
	if ((size_t)n >= outlen || memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_free(utf8);
		return -1;
	}
	memcpy(out, utf8, (size_t)n);
	out[n] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

int cert_role(X509 *cert, char *out, size_t outlen)
{
	return subject_field(cert, NID_organizationalUnitName, out, outlen);
}

int cert_name(X509 *cert, char *out, size_t outlen)
{
	return subject_field(cert, NID_commonName, out, outlen);
}

int cert_overlay(X509 *cert, char *out, size_t outlen)
{
	return subject_field(cert, NID_organizationName, out, outlen);
}

int cert_serial_hex(X509 *cert, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex;
	int rc = -1;

	if (bn == NULL)
		return -1;
	hex = BN_bn2hex(bn);
	if (hex != NULL && strlen(hex) < outlen) {
		str_copy(out, hex, outlen);
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

static int64_t asn1_time_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

int64_t cert_not_after(X509 *cert)
{
	return asn1_time_epoch(X509_get0_notAfter(cert));
}

int64_t cert_not_before(X509 *cert)
{
	return asn1_time_epoch(X509_get0_notBefore(cert));
}

int key_is_allowed(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(key, "ED25519"))
		return 1;
	if (!EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   &glen) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

const char *key_type_name(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519"))
		return "Ed25519";
	if (EVP_PKEY_is_a(key, "EC"))
		return key_is_allowed(key) ? "ECDSA P-256" : "ECDSA (other curve)";
	if (EVP_PKEY_is_a(key, "RSA"))
		return "RSA";
	return "unknown";
}

EVP_PKEY *key_generate(void)
{
	return EVP_EC_gen("P-256");
}

EVP_PKEY *key_read_pem(const char *path, char *err, size_t errlen)
{
	size_t len;
	char *pem = file_read(path, KEY_PEM_MAX, &len, err, errlen);
	BIO *bio;
	EVP_PKEY *key;

	if (pem == NULL)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (key == NULL)
		err_set(err, errlen, "%s: not a PEM private key", path);
	ERR_clear_error();
	return key;
}

int key_write_pem(EVP_PKEY *key, const char *path, char *err, size_t errlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		err_set(err, errlen, "%s: cannot encode key", path);
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	rc = file_write(path, data, (size_t)n, 0600, 1, err, errlen);
out:
	BIO_free(bio);
	return rc;
}

X509 *cert_from_pem(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	ERR_clear_error();
	return cert;
}

X509 *cert_read_pem(const char *path, char *err, size_t errlen)
{
	size_t len;
	char *pem = file_read(path, CERT_PEM_MAX, &len, err, errlen);
	X509 *cert;

	if (pem == NULL)
		return NULL;
	cert = cert_from_pem(pem, len);
	free(pem);
	if (cert == NULL)
		err_set(err, errlen, "%s: not a PEM certificate", path);
	return cert;
}

char *bio_mem_string(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;

	if (out != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	return out;
}

char *cert_to_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (bio != NULL && PEM_write_bio_X509(bio, cert) == 1)
		out = bio_mem_string(bio);
	BIO_free(bio);
	return out;
}

int cert_write_pem(X509 *cert, const char *path, char *err, size_t errlen)
{
	char *pem = cert_to_pem(cert);
	int rc;

	if (pem == NULL) {
		err_set(err, errlen, "%s: cannot encode certificate", path);
		return -1;
	}
	rc = file_write(path, pem, strlen(pem), 0644, 0, err, errlen);
	free(pem);
	return rc;
}

int identity_load(struct identity *id, const char *key_file, const char *cert_file, char *err,
		  size_t errlen)
{
	memset(id, 0, sizeof(*id));
	id->key = key_read_pem(key_file, err, errlen);
	if (id->key == NULL)
		goto fail;
	id->cert = cert_read_pem(cert_file, err, errlen);
	if (id->cert == NULL)
		goto fail;
	if (X509_check_private_key(id->cert, id->key) != 1) {
		err_set(err, errlen, "%s does not belong to the key in %s", cert_file, key_file);
		goto fail;
	}
	if (node_id_from_cert(id->cert, id->node_id) < 0) {
		err_set(err, errlen, "%s: cannot derive Node-ID", cert_file);
		goto fail;
	}
	node_id_hex(id->node_id, id->node_id_hex);
	/* Role and name are optional here: the CA's own certificate has none. */
	cert_role(id->cert, id->role, sizeof(id->role));
	cert_name(id->cert, id->name, sizeof(id->name));
	cert_overlay(id->cert, id->overlay, sizeof(id->overlay));
	ERR_clear_error();
	return 0;
fail:
	ERR_clear_error();
	identity_free(id);
	return -1;
}

void identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	id->key = NULL;
	id->cert = NULL;
}
