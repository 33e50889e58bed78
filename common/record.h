/* Values stored in the overlay: a resource name, a kind, opaque data, the
 * signer's storage time and lifetime, the signer's certificate and an ECDSA
 * signature over a canonical byte string. A resource holds one value per
 * signer Node-ID (its dictionary key). */
#ifndef P2PSIP_RECORD_H
#define P2PSIP_RECORD_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "ringid.h"
#include "sig.h"

#define RECORD_NAME_MAX 256
#define RECORD_KIND_MAX 32
#define RECORD_DATA_HARD_MAX (96 * 1024) /* whatever the configured limit */
#define RECORD_CERT_MAX 4096             /* DER */
#define RECORD_SKEW_MS (300 * 1000)      /* storage times this far ahead pass */

struct record {
	char name[RECORD_NAME_MAX + 1];
	struct rid res;   /* Resource-ID of name */
	char kind[RECORD_KIND_MAX + 1];
	char *data;       /* UTF-8, no NUL; "" for a deletion */
	size_t data_len;
	uint64_t stored;  /* signer's clock, ms since the epoch */
	uint32_t life;    /* seconds from stored */
	int deleted;      /* a signed tombstone */
	struct rid owner; /* Node-ID of cert: the dictionary key */
	X509 *cert;
	uint8_t sig[SIG_MAX];
	size_t sig_len;
};

/* Parses the wire form {"name","kind","data","stored","life","del"?,"cert",
 * "sig"}: structure and limits only, no signature check. */
int record_from_json(const json_t *j, struct record *r, char *err, size_t errlen);
json_t *record_to_json(const struct record *r);
void record_clear(struct record *r);
/* Deep copy (the certificate is shared by reference count). */
int record_copy(struct record *dst, const struct record *src);

/* Fills name, kind, data, stored, life, deleted; then record_sign. */
int record_init(struct record *r, const char *name, const char *kind, const char *data,
		uint64_t stored_ms, uint32_t life, int deleted);
/* Sets owner, cert and signature from the signer's key and certificate. */
int record_sign(struct record *r, EVP_PKEY *key, X509 *cert);
/* 1 if the signature verifies with the certificate's key. */
int record_sig_ok(const struct record *r);

/* Gateways' names: "service:gateway", where the overlay's gateways are
 * found, and "proxy:DOMAIN" (a proxy-location record: this gateway
 * carries calls to DOMAIN, "*" for any). */
#define GATEWAY_SERVICE "gateway"
#define PROXY_PREFIX "proxy:"
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63

/* The access rule for r's name, against the signer certificate:
 * "user:NAME@OVERLAY" and "user:NAME@OVERLAY/..." only by a user or
 * gateway certificate of NAME; "service:gateway" and "proxy:DOMAIN" only
 * by a gateway certificate, DOMAIN passing record_proxy_domain_ok; other
 * "service:..." only by a supernode certificate (its own Node-ID is the
 * key by construction). 0, or -1 with the reason. */
int record_access_ok(const struct record *r, const char *overlay, char *err, size_t errlen);
/* 1 if d is "*" or a lower-case DNS name: labels of 1 to 63 letters,
 * digits and inner hyphens, joined by single dots, no trailing dot, 253
 * characters at most. One spelling per domain, one resource. */
int record_proxy_domain_ok(const char *d);

/* record_from_json keeps recently seen signer certificates parsed; this
 * drops them (at exit, so that leak checkers see a clean heap). */
void record_cert_cache_clear(void);

uint64_t record_expires_ms(const struct record *r);
int record_is_expired(const struct record *r, uint64_t now_ms);
uint64_t now_ms(void);

#endif
