/* Fixtures shared by the unit tests: a temporary directory and a small PKI
 * (an overlay CA and certificates it issues) built in memory. */
#ifndef P2PSIP_TESTUTIL_H
#define P2PSIP_TESTUTIL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR; removed by tu_tmpdir_free. */
char *tu_tmpdir_new(void);
void tu_tmpdir_free(char *dir);
/* dir/name, malloc'd. */
char *tu_path(const char *dir, const char *name);
int tu_write(const char *path, const void *data, size_t len);

struct tu_ca {
	EVP_PKEY *key;
	X509 *cert;
};

/* A self-signed CA for overlay.example (ECDSA P-256). */
int tu_ca_new(struct tu_ca *ca);
/* A self-signed CA of another organisation (O=elsewhere, CN=other CA), whose
 * subject differs from tu_ca_new's, for "wrong CA" cases. */
int tu_other_ca_new(struct tu_ca *ca);
void tu_ca_free(struct tu_ca *ca);
/* A certificate for key, signed by ca, subject O=overlay.example, OU=role,
 * CN=name (role may be NULL), valid from not_before to not_after (epoch
 * seconds), with a SAN DNS "localhost" and IP 127.0.0.1 so that TLS tests can
 * use it as a server certificate. */
X509 *tu_issue(struct tu_ca *ca, EVP_PKEY *key, const char *role, const char *name,
	       int64_t not_before, int64_t not_after, uint64_t serial);
/* A CRL of ca listing the given serials. */
X509_CRL *tu_crl(struct tu_ca *ca, const uint64_t *serials, size_t n, int64_t number);
int tu_write_key(const char *path, EVP_PKEY *key);
/* A TCP port on 127.0.0.1 that was free a moment ago; -1 on error. */
int tu_free_port(void);

/* For test files (they include cmocka.h and, for TU_RUN_UNTIL, event2/event.h
 * and util.h). */
#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (strstr((hay), (needle)) == NULL)                                               \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

/* Runs f->base until cond holds or ms have passed. */
#define RUN_UNTIL(f, cond, ms)                                                                     \
	do {                                                                                       \
		uint64_t end_ = time_mono_ms() + (uint64_t)(ms);                                   \
		while (!(cond) && time_mono_ms() < end_)                                           \
			event_base_loop((f)->base, EVLOOP_ONCE);                                   \
	} while (0)
int tu_write_cert(const char *path, X509 *cert);

#endif
