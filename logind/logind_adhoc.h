/* The CA of an ad-hoc overlay (docs/adhoc.md): key and self-signed
 * certificate derived from the join code, alike on every machine. */
#ifndef P2PSIP_LOGIND_ADHOC_H
#define P2PSIP_LOGIND_ADHOC_H

#include "adhoc.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

/* Fixed validity, so that every machine builds the same certificate:
 * 2025-01-01 to RFC 5280's "no well-defined expiration" (9999-12-31). */
#define ADHOC_CA_NOT_BEFORE 1735689600LL
#define ADHOC_CA_NOT_AFTER 253402300799LL

/* The CA key and certificate (subject O = overlay) for the join code in
 * code (as typed: dashes and case do not matter). 0 with *key and *cert
 * the caller's, or -1 with err saying why. */
int adhoc_ca_derive(const char *code, const char *overlay, EVP_PKEY **key, X509 **cert, char *err,
		    size_t errlen);
/* The same, the code read from the first line of the file at path. */
int adhoc_ca_from_file(const char *path, const char *overlay, EVP_PKEY **key, X509 **cert,
		       char *err, size_t errlen);

#endif
