/* The CA signing process. logind forks it before serving anything; only it
 * loads the CA private key, so a memory disclosure in the network-facing
 * process cannot reveal the key. The two talk in frames over a socketpair. */
#ifndef P2PSIP_LOGIND_CA_H
#define P2PSIP_LOGIND_CA_H

#include "logind_x509.h"

struct ca;

/* Starts the signer with the key and certificate files; returns once the
 * signer has loaded and checked them. */
struct ca *ca_start(const char *key_path, const char *cert_path, char *err, size_t errlen);
/* Signs a certificate for s (s->pubkey is the subject's public key). */
X509 *ca_issue(struct ca *ca, const struct cert_spec *s, char *err, size_t errlen);
X509_CRL *ca_sign_crl(struct ca *ca, int64_t number, int64_t last, int64_t next,
		      const struct crl_entry *e, size_t n, char *err, size_t errlen);
/* Closes the link and reaps the process. Accepts NULL. */
void ca_stop(struct ca *ca);

#endif
