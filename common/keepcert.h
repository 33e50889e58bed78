/* One account's key and certificate, kept fresh: the key is loaded or made,
 * the certificate file is used while it is valid, matches the key and is
 * not revoked; otherwise it is renewed with the current certificate (no
 * password) or obtained by login with the account's password. Renewal is
 * checked every minute and starts renew_before the end; a certificate still
 * valid serves meanwhile, and each failed renewal is logged, with a warning
 * saying the time left every KEEPCERT_WARN_EVERY. TLS contexts for the
 * current certificate are rebuilt on each change; links already open keep
 * the context they started with. Super nodes keep one, ordinary nodes one
 * per account.
 *
 * Failed logins back off so that a wrong password never locks the account
 * (logind locks a user, and an address, after a number of failures): see
 * keepcert_backoff. A password_file that changes while the password is
 * refused is tried again within KEEPCERT_PW_POLL seconds. */
#ifndef P2PSIP_KEEPCERT_H
#define P2PSIP_KEEPCERT_H

#include <jansson.h>
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
	const char *password_file; /* a file holding it (trailing newlines removed) */
	const char *key_path, *cert_path, *ca_cert;
	const char *role;  /* what logind must issue: a ROLE_ of identity.h */
	int server;        /* also build a server context */
	const char *where; /* where the password is set, for the log: "[account
			    * alice] in /etc/p2psip/ordinarynode.conf" */
	int ask_role;      /* say role in the login: a promotable user's super node */
};

/* What the last attempt to get a certificate ended in. */
enum keepcert_fail {
	KC_OK,      /* nothing failed (or a certificate came) */
	KC_REFUSED, /* logind refused the password (401) */
	KC_LOCKED,  /* logind refused this source address for a while (429) */
	KC_ERROR    /* anything else: logind unreachable or failing, no password file */
};

#define KEEPCERT_PW_POLL 10 /* seconds between looks at a refused password_file */
/* Seconds between warnings that a certificate in place could not be renewed
 * (the first comes with the first failure). */
#define KEEPCERT_WARN_EVERY 600

/* Seconds to wait before the next attempt after fails failures in a row
 * (fails >= 1) of kind; retry_after is what logind asked for (KC_LOCKED).
 * KC_REFUSED: 30 s doubling to 30 min, so the gaps outgrow logind's default
 * failure window (15 min) after six tries, below its lockout (10).
 * KC_LOCKED: what logind asked, at least a minute. KC_ERROR: 2 s doubling
 * to a minute. */
int64_t keepcert_backoff(enum keepcert_fail kind, int fails, int64_t retry_after);

/* Called each time a certificate is in place: the first time, and after
 * each renewal or new login. */
typedef void (*keepcert_cb)(struct keepcert *kc, void *arg);

/* Loads or creates the key (the conf's strings must outlive kc). anon_ctx,
 * borrowed, verifies logind for logins. */
struct keepcert *keepcert_new(struct event_base *base, const struct keepcert_conf *conf,
			      SSL_CTX *anon_ctx, keepcert_cb cb, void *arg, char *err,
			      size_t errlen);
/* Starts keeping: at once if the file is good, else through logind
 * (retrying with back-off). logind_url is copied. */
void keepcert_start(struct keepcert *kc, const char *logind_url, int64_t renew_before);
/* The CRL (borrowed) to check our certificate and peers against. */
void keepcert_set_crl(struct keepcert *kc, const struct crl *crl);

int keepcert_ready(const struct keepcert *kc);
/* Seconds until the certificate in place ends (0: none, or ended). */
int64_t keepcert_expires_in(const struct keepcert *kc);
/* Attempts to get a certificate that failed in a row (0 after a success). */
int keepcert_failures(const struct keepcert *kc);
/* The login state for status pages (new reference): {"state": "ok",
 * "refused", "locked" or "error", and after a failure "failures" (in a row),
 * "next_try_in" (seconds), "error"}; null for a NULL kc. */
json_t *keepcert_status(const struct keepcert *kc);
EVP_PKEY *keepcert_key(const struct keepcert *kc);
X509 *keepcert_cert(const struct keepcert *kc);
SSL_CTX *keepcert_client_ctx(const struct keepcert *kc);
SSL_CTX *keepcert_server_ctx(const struct keepcert *kc);
void keepcert_free(struct keepcert *kc);

#endif
