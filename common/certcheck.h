/* Verifies certificates of the overlay outside TLS (the signers of stored
 * records): chain to the overlay CA, validity now, not revoked. Chains that
 * verified are remembered by fingerprint so that each signer costs one
 * chain check, not one per record. */
#ifndef P2PSIP_CERTCHECK_H
#define P2PSIP_CERTCHECK_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct crl;
struct certcheck;

struct certcheck *certcheck_new(X509 *ca);
void certcheck_free(struct certcheck *cc);
/* The CRL to check serials against (borrowed; NULL for none). */
void certcheck_set_crl(struct certcheck *cc, const struct crl *crl);
/* 0 when cert is valid now and not revoked; -1 with a reason otherwise. */
int certcheck_verify(struct certcheck *cc, X509 *cert, char *err, size_t errlen);
/* The same, with validity judged at time at (seconds since the epoch): for
 * a stored value, the time it was signed, so that a value outlives the
 * short-lived certificate it was signed under. Revocation still counts. */
int certcheck_verify_at(struct certcheck *cc, X509 *cert, int64_t at, char *err, size_t errlen);

/* Everything a stored value's own content must pass, wherever it comes
 * from (a store, a copy from another super node, a fetch): the signer's
 * certificate valid when it signed and not revoked, the access rule of
 * the name in this overlay, the signature. Name, limits and expiry are
 * the caller's. 0, or -1 with a reason. */
struct record;
int certcheck_record(struct certcheck *cc, const struct record *r, const char *overlay, char *err,
		     size_t errlen);

#endif
