/* Getting and keeping a certificate: key files, CSRs, login with a password
 * or renewal with the current certificate through logind's HTTPS API. */
#ifndef P2PSIP_ENROLL_H
#define P2PSIP_ENROLL_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stddef.h>

struct event_base;
struct httpc_call;

/* Loads the key at path, or creates a P-256 key there (mode 0600). */
EVP_PKEY *enroll_key_load_or_create(const char *path, char *err, size_t errlen);
/* A PEM CSR signed by key (malloc'd); logind ignores its subject. */
char *enroll_csr_pem(EVP_PKEY *key);

/* What logind answered; the strings are valid during the call only. */
struct enroll_result {
	const char *cert_pem; /* the new certificate, or NULL and: */
	const char *err;      /* why not */
	int status;           /* logind's HTTP status, -1 when it was not reached */
	long retry_after;     /* seconds logind asked to wait (a locked account), or 0 */
};
typedef void (*enroll_done_t)(const struct enroll_result *res, void *arg);

/* POST /v1/login with user, password and a CSR for key; ctx verifies logind
 * against the overlay CA. */
struct httpc_call *enroll_login(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
				const char *user, const char *password, EVP_PKEY *key,
				enroll_done_t cb, void *arg, char *err, size_t errlen);
/* The same, asking for a certificate of role (NULL: the account's own);
 * logind answers 403 when the account may not hold one. */
struct httpc_call *enroll_login_as(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
				   const char *user, const char *password, const char *role,
				   EVP_PKEY *key, enroll_done_t cb, void *arg, char *err,
				   size_t errlen);
/* POST /v1/renew; ctx must present the current certificate. */
struct httpc_call *enroll_renew(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
				EVP_PKEY *key, enroll_done_t cb, void *arg, char *err,
				size_t errlen);
/* base + path, without a doubled slash (malloc'd). */
char *url_join(const char *base, const char *path);

#endif
