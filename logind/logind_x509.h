/* Building and signing the overlay's certificates and CRLs. No I/O: the
 * signing process and "logind --init" both call these. */
#ifndef P2PSIP_LOGIND_X509_H
#define P2PSIP_LOGIND_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "logind_auth.h"

#define SAN_MAX 8      /* DNS names or addresses in a server certificate */
#define CLOCK_SKEW 300 /* notBefore is set this far in the past */

struct cert_spec {
	EVP_PKEY *pubkey;
	const char *serial_hex;
	const char *overlay; /* subject O */
	const char *role;    /* subject OU; NULL for the CA */
	const char *name;    /* subject CN */
	const char *san_uri; /* e.g. sip:alice@overlay.example, or NULL */
	const char *dns[SAN_MAX];
	int ndns;
	const char *ips[SAN_MAX];
	int nips;
	int64_t not_before, not_after;
	int is_ca;
};

/* Signs with ca_key; ca_cert NULL means self-signed (the CA itself). */
X509 *x509_build(const struct cert_spec *s, EVP_PKEY *ca_key, X509 *ca_cert, char *err,
		 size_t errlen);

struct crl_entry {
	char serial[SERIAL_HEX_LEN + 1];
	int64_t revoked;
	int reason; /* RFC 5280 CRLReason */
};

X509_CRL *x509_build_crl(EVP_PKEY *ca_key, X509 *ca_cert, int64_t number, int64_t last,
			 int64_t next, const struct crl_entry *e, size_t n, char *err,
			 size_t errlen);

/* A fresh random serial: 126 random bits, always 32 hex digits. */
int x509_serial_new(char out[SERIAL_HEX_LEN + 1]);
/* Accepts a serial in any case, with or without colons; writes the form the
 * database uses (uppercase hex, no leading zero bytes). */
int serial_normalize(const char *in, char *out, size_t outlen);

/* CRLReason names used by the admin interface. -1 for an unknown name. */
int crl_reason_parse(const char *s);
const char *crl_reason_name(int reason);

/* A DNS name as accepted in server certificates. */
int dns_name_is_valid(const char *s);

#endif
