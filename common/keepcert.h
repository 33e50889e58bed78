/* One account's key and certificate, kept fresh: the key is loaded or made,
 * the certificate file is used while it is valid, matches the key and is
 * not revoked; otherwise it is renewed with the current certificate (no
 * password) or obtained by login with the account's password. Renewal is
 * checked every minute and starts renew_before the end. TLS contexts for the
 * current certificate are rebuilt on each change; links already open keep
 * the context they started with. Super nodes keep one, ordinary nodes one
 * per account. */
#ifndef P2PSIP_KEEPCERT_H
#define P2PSIP_KEEPCERT_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct crl;
struct keepcert;

struct keepcert_conf {
	const char *account;
	const char *password;      /* the password, or NULL and */
	const char *password_file; /* a file holding it (first line) */
	const char *key_path, *cert_path, *ca_cert;
	const char *role; /* what logind must issue: ROLE_SUPERNODE or ROLE_USER */
	int server;       /* also build a server context */
};

/* Called each time a certificate is in place: the first time, and after
 * each renewal or new login. */
typedef void (*keepcert_cb)(struct keepcert *kc, void *arg);

/* Loads or creates the key (the conf's strings must outlive kc). anon_ctx,
 * borrowed, verifies logind for logins. */
struct keepcert *keepcert_new(struct event_base *base, const struct keepcert_conf *conf,
			      SSL_CTX *anon_ctx, keepcert_cb cb, void *arg, char *err,
			      size_t errlen);
/* Starts keeping: at once if the file is good, else through logind
 * (retrying every 2 s). logind_url is copied. */
void keepcert_start(struct keepcert *kc, const char *logind_url, int64_t renew_before);
/* The CRL (borrowed) to check our certificate and peers against. */
void keepcert_set_crl(struct keepcert *kc, const struct crl *crl);

int keepcert_ready(const struct keepcert *kc);
EVP_PKEY *keepcert_key(const struct keepcert *kc);
X509 *keepcert_cert(const struct keepcert *kc);
SSL_CTX *keepcert_client_ctx(const struct keepcert *kc);
SSL_CTX *keepcert_server_ctx(const struct keepcert *kc);
void keepcert_free(struct keepcert *kc);

#endif
