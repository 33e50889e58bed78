/* TLS 1.3 contexts for the overlay: verification against the overlay CA and
 * revocation checks against the current CRL. */
#ifndef P2PSIP_TLS_H
#define P2PSIP_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct crl;

enum tls_verify {
	TLS_VERIFY_NONE,    /* server: ask for no client certificate */
	TLS_VERIFY_REPORT,  /* server: ask for one, let the handshake finish
			       whatever it is, report through tls_peer_check */
	TLS_VERIFY_REQUIRE, /* a valid, unrevoked peer certificate or no link */
};

/* A server context with its certificate and key; ca_file is the overlay CA. */
SSL_CTX *tls_server_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
			    enum tls_verify mode, char *err, size_t errlen);
/* A client context that verifies servers against ca_file; cert_file and
 * key_file may be NULL for the first contact of a node without identity. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
			    char *err, size_t errlen);
/* Replaces the CRL used for revocation checks of peers (the CRL is copied by
 * reference count; NULL clears it). */
int tls_ctx_set_crl(SSL_CTX *ctx, const struct crl *crl);
/* Client side: SNI and host name (or IP address) verification. */
int tls_set_host(SSL *ssl, const char *host);

/* Client side: the server's certificate must carry this role (its OU, see
 * cert_role), or the handshake fails; tls_role_error then says which role
 * came instead. Call before the handshake. */
int tls_require_role(SSL *ssl, const char *role);
/* After a failed handshake: a sentence naming the wrong role the server
 * presented, or NULL when the role was not the reason. Owned by ssl. */
const char *tls_role_error(SSL *ssl);

/* After a handshake: 0 if the peer presented a valid, unrevoked certificate
 * (borrowed in *cert), -1 with a short reason otherwise. */
int tls_peer_check(SSL *ssl, X509 **cert, const char **why);

/* Last OpenSSL error as text in a caller's buffer; clears the queue. */
const char *tls_error_string(char *buf, size_t len);

#endif
