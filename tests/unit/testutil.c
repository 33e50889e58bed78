/* Fixtures shared by the unit tests. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

char *tu_tmpdir_new(void)
{
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char *dir = malloc(strlen(base) + 32);

	if (dir == NULL)
		return NULL;
	sprintf(dir, "%s/p2psip-unit.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

void tu_tmpdir_free(char *dir)
{
	char cmd[1024];

	if (dir == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(dir);
}

char *tu_path(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);

	if (p != NULL)
		sprintf(p, "%s/%s", dir, name);
	return p;
}

int tu_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (f == NULL)
		return -1;
	rc = fwrite(data, 1, len, f) == len ? 0 : -1;
	fclose(f);
	return rc;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	rc = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static X509 *build(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *role,
		   const char *name, int64_t nb, int64_t na, uint64_t serial, int is_ca)
{
	X509 *c = X509_new();
	X509_NAME *n;

	if (c == NULL)
		return NULL;
	X509_set_version(c, X509_VERSION_3);
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(c), serial);
	ASN1_TIME_set(X509_getm_notBefore(c), (time_t)nb);
	ASN1_TIME_set(X509_getm_notAfter(c), (time_t)na);
	X509_set_pubkey(c, key);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"overlay.example",
				   -1, -1, 0);
	if (role != NULL)
		X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)role, -1,
					   -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : n);
	if (is_ca) {
		add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(c, c, NID_subject_key_identifier, "hash");
	} else {
		add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c, issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
		add_ext(c, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
	}
	if (X509_sign(c, signer, EVP_sha256()) <= 0) {
		X509_free(c);
		return NULL;
	}
	return c;
}

int tu_ca_new(struct tu_ca *ca)
{
	time_t now = time(NULL);

	ca->key = EVP_EC_gen("P-256");
	if (ca->key == NULL)
		return -1;
	ca->cert = build(ca->key, ca->key, NULL, NULL, "test CA", now - 3600, now + 86400, 1, 1);
	return ca->cert != NULL ? 0 : -1;
}

int tu_other_ca_new(struct tu_ca *ca)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *n;

	ca->key = EVP_EC_gen("P-256");
	ca->cert = X509_new();
	if (ca->key == NULL || ca->cert == NULL)
		return -1;
	X509_set_version(ca->cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(ca->cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(ca->cert), 86400);
	X509_set_pubkey(ca->cert, ca->key);
	n = X509_get_subject_name(ca->cert);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"elsewhere", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"other CA", -1,
				   -1, 0);
	X509_set_issuer_name(ca->cert, n);
	X509V3_set_ctx(&v3, ca->cert, ca->cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(ca->cert, ext, -1);
	X509_EXTENSION_free(ext);
	return X509_sign(ca->cert, ca->key, EVP_sha256()) > 0 ? 0 : -1;
}

int tu_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

void tu_ca_free(struct tu_ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	ca->key = NULL;
	ca->cert = NULL;
}

X509 *tu_issue(struct tu_ca *ca, EVP_PKEY *key, const char *role, const char *name,
	       int64_t not_before, int64_t not_after, uint64_t serial)
{
	return build(key, ca->key, ca->cert, role, name, not_before, not_after, serial, 0);
}

X509_CRL *tu_crl(struct tu_ca *ca, const uint64_t *serials, size_t n, int64_t number)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL) - 60);
	ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 3600);
	ASN1_INTEGER *num = ASN1_INTEGER_new();

	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert));
	X509_CRL_set1_lastUpdate(crl, t);
	X509_CRL_set1_nextUpdate(crl, next);
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set_uint64(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	ASN1_INTEGER_set_int64(num, number);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, ca->key, EVP_sha256());
	ASN1_TIME_free(t);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	return crl;
}

int tu_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -1;
	fclose(f);
	return rc;
}

int tu_write_cert(const char *path, X509 *cert)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = PEM_write_X509(f, cert) == 1 ? 0 : -1;
	fclose(f);
	return rc;
}
