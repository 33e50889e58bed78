/* Keeping one account's certificate fresh through logind. */
#include "keepcert.h"

#include "crl.h"
#include "enroll.h"
#include "httpc.h"
#include "identity.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_SECS 2
#define CHECK_SECS 60

struct keepcert {
	struct event_base *base;
	struct keepcert_conf conf;
	SSL_CTX *anon_ctx; /* borrowed */
	keepcert_cb cb;
	void *arg;
	EVP_PKEY *key;
	X509 *cert;
	SSL_CTX *client_ctx, *server_ctx;
	const struct crl *crl;
	char *logind_url;
	int64_t renew_before;
	struct httpc_call *call;
	struct event *timer;
	int ready;
};

static void arm(struct keepcert *kc, int secs)
{
	struct timeval tv = {secs, 0};

	event_add(kc->timer, &tv);
}

static int build_contexts(struct keepcert *kc, char *err, size_t errlen)
{
	const struct keepcert_conf *c = &kc->conf;
	SSL_CTX *s = NULL, *cl;

	if (c->server) {
		s = tls_server_ctx_new(c->ca_cert, c->cert_path, c->key_path, TLS_VERIFY_REQUIRE,
				       err, errlen);
		if (s == NULL)
			return -1;
	}
	cl = tls_client_ctx_new(c->ca_cert, c->cert_path, c->key_path, err, errlen);
	if (cl == NULL) {
		SSL_CTX_free(s);
		return -1;
	}
	/* Links already open hold their own reference to the old contexts. */
	SSL_CTX_free(kc->server_ctx);
	SSL_CTX_free(kc->client_ctx);
	kc->server_ctx = s;
	kc->client_ctx = cl;
	if (kc->crl != NULL) {
		if (s != NULL)
			tls_ctx_set_crl(s, kc->crl);
		tls_ctx_set_crl(cl, kc->crl);
	}
	return 0;
}

static int usable(const struct keepcert *kc, X509 *cert, int64_t margin)
{
	return cert != NULL && X509_check_private_key(cert, kc->key) == 1 &&
	       !crl_is_revoked(kc->crl, X509_get0_serialNumber(cert)) &&
	       cert_not_after(cert) - time_now() > margin;
}

static void got(struct keepcert *kc)
{
	log_info("%s: certificate valid until %lld", kc->conf.account,
		 (long long)cert_not_after(kc->cert));
	kc->ready = 1;
	if (kc->cb != NULL)
		kc->cb(kc, kc->arg);
}

static int take(struct keepcert *kc, const char *pem, char *err, size_t errlen)
{
	X509 *cert = cert_from_pem(pem, strlen(pem));
	char role[ROLE_MAX];

	if (cert == NULL || cert_role(cert, role, sizeof(role)) < 0 ||
	    strcmp(role, kc->conf.role) != 0) {
		X509_free(cert);
		err_set(err, errlen, "logind issued no %s certificate (is %s a %s account?)",
			kc->conf.role, kc->conf.account, kc->conf.role);
		return -1;
	}
	if (file_write(kc->conf.cert_path, pem, strlen(pem), 0644, 0, err, errlen) < 0) {
		X509_free(cert);
		return -1;
	}
	X509_free(kc->cert);
	kc->cert = cert;
	return build_contexts(kc, err, errlen);
}

static void on_cert(const char *pem, const char *why, void *arg)
{
	struct keepcert *kc = arg;
	char err[512];

	kc->call = NULL;
	if (pem == NULL) {
		log_warn("%s: certificate: %s", kc->conf.account, why);
		arm(kc, kc->ready ? CHECK_SECS : RETRY_SECS);
		return;
	}
	if (take(kc, pem, err, sizeof(err)) < 0) {
		log_error("%s: certificate: %s", kc->conf.account, err);
		arm(kc, kc->ready ? CHECK_SECS : RETRY_SECS);
		return;
	}
	arm(kc, CHECK_SECS);
	got(kc);
}

static char *password(const struct keepcert *kc, char *err, size_t errlen)
{
	char *pw;
	size_t n;

	if (kc->conf.password != NULL)
		return strdup(kc->conf.password);
	if (kc->conf.password_file == NULL) {
		err_set(err, errlen, "no password or password_file for account %s",
			kc->conf.account);
		return NULL;
	}
	pw = file_read(kc->conf.password_file, 1024, &n, err, errlen);
	while (pw != NULL && n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	return pw;
}

/* Renews with the current certificate while it is still good, else logs
 * in with the password. */
static void fetch(struct keepcert *kc)
{
	char err[512];
	char *pw;

	if (usable(kc, kc->cert, 60) && kc->client_ctx != NULL) {
		log_info("%s: certificate near its end: renewing", kc->conf.account);
		kc->call = enroll_renew(kc->base, kc->client_ctx, kc->logind_url, kc->key, on_cert,
					kc, err, sizeof(err));
	} else {
		pw = password(kc, err, sizeof(err));
		if (pw == NULL) {
			log_error("%s: %s", kc->conf.account, err);
			arm(kc, RETRY_SECS);
			return;
		}
		log_info("logging in to %s as %s", kc->logind_url, kc->conf.account);
		kc->call = enroll_login(kc->base, kc->anon_ctx, kc->logind_url, kc->conf.account,
					pw, kc->key, on_cert, kc, err, sizeof(err));
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	if (kc->call == NULL) {
		log_error("%s: logind: %s", kc->conf.account, err);
		arm(kc, RETRY_SECS);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct keepcert *kc = arg;

	(void)fd, (void)what;
	if (kc->call != NULL)
		return;
	if (kc->ready && usable(kc, kc->cert, kc->renew_before)) {
		arm(kc, CHECK_SECS);
		return;
	}
	fetch(kc);
}

struct keepcert *keepcert_new(struct event_base *base, const struct keepcert_conf *conf,
			      SSL_CTX *anon_ctx, keepcert_cb cb, void *arg, char *err,
			      size_t errlen)
{
	struct keepcert *kc = calloc(1, sizeof(*kc));

	if (kc == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	kc->base = base;
	kc->conf = *conf;
	kc->anon_ctx = anon_ctx;
	kc->cb = cb;
	kc->arg = arg;
	kc->key = enroll_key_load_or_create(conf->key_path, err, errlen);
	kc->timer = evtimer_new(base, on_timer, kc);
	if (kc->key == NULL || kc->timer == NULL) {
		keepcert_free(kc);
		return NULL;
	}
	return kc;
}

void keepcert_start(struct keepcert *kc, const char *logind_url, int64_t renew_before)
{
	char err[512];

	free(kc->logind_url);
	kc->logind_url = strdup(logind_url);
	kc->renew_before = renew_before > 0 ? renew_before : 7200;
	if (kc->ready || kc->call != NULL)
		return;
	X509_free(kc->cert);
	kc->cert = file_exists(kc->conf.cert_path)
			   ? cert_read_pem(kc->conf.cert_path, err, sizeof(err))
			   : NULL;
	if (usable(kc, kc->cert, kc->renew_before) && build_contexts(kc, err, sizeof(err)) == 0) {
		arm(kc, CHECK_SECS);
		got(kc);
		return;
	}
	/* A certificate that is still valid renews without the password. */
	if (usable(kc, kc->cert, 60))
		build_contexts(kc, err, sizeof(err));
	fetch(kc);
}

void keepcert_set_crl(struct keepcert *kc, const struct crl *crl)
{
	kc->crl = crl;
	if (kc->server_ctx != NULL)
		tls_ctx_set_crl(kc->server_ctx, crl);
	if (kc->client_ctx != NULL)
		tls_ctx_set_crl(kc->client_ctx, crl);
}

int keepcert_ready(const struct keepcert *kc)
{
	return kc->ready;
}

EVP_PKEY *keepcert_key(const struct keepcert *kc)
{
	return kc->key;
}

X509 *keepcert_cert(const struct keepcert *kc)
{
	return kc->cert;
}

SSL_CTX *keepcert_client_ctx(const struct keepcert *kc)
{
	return kc->client_ctx;
}

SSL_CTX *keepcert_server_ctx(const struct keepcert *kc)
{
	return kc->server_ctx;
}

void keepcert_free(struct keepcert *kc)
{
	if (kc == NULL)
		return;
	if (kc->call != NULL)
		httpc_cancel(kc->call);
	if (kc->timer != NULL)
		event_free(kc->timer);
	SSL_CTX_free(kc->client_ctx);
	SSL_CTX_free(kc->server_ctx);
	X509_free(kc->cert);
	EVP_PKEY_free(kc->key);
	free(kc->logind_url);
	free(kc);
}
