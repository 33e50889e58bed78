/* Certificate revocation lists of the overlay CA: parse, verify, look up. */
#ifndef P2PSIP_CRL_H
#define P2PSIP_CRL_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#define CRL_MAX (4 * 1024 * 1024)

struct crl {
	X509_CRL *x;
	uint8_t *der;
	size_t der_len;
	int64_t last_update;
	int64_t next_update; /* -1 when absent */
	int64_t number;      /* CRL number extension, -1 when absent */
	int count;           /* revoked entries */
};

/* Parses a DER or PEM CRL and verifies its signature with the CA certificate.
 * NULL with err filled when it is malformed or not signed by ca. */
struct crl *crl_parse(const uint8_t *buf, size_t len, X509 *ca, char *err, size_t errlen);
void crl_free(struct crl *c);
/* 1 if the serial is on the list. */
int crl_is_revoked(const struct crl *c, const ASN1_INTEGER *serial);
int crl_is_revoked_hex(const struct crl *c, const char *serial_hex);
/* malloc'd PEM text. */
char *crl_to_pem(const struct crl *c);

#endif
