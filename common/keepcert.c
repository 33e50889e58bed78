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
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_SECS 60
#define REFUSED_FIRST 30
#define REFUSED_MAX 1800
#define LOCKED_MIN 60
#define ERROR_FIRST 2
#define ERROR_MAX 60

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
	int renewing; /* the call in flight renews (else it logs in) */
	/* The back-off: what failed, how often in a row, when to try next. */
	enum keepcert_fail fail;
	int fails;
	int64_t next_try;
	char err[256];
	int64_t next_warn; /* renewal failing: the next expiry warning (wall s) */
	/* SHA-256 of the password of the login in flight, and of the one
	 * logind refused (to see a password_file being mended). */
	unsigned char tried_pw[32], refused_pw[32];
};

int64_t keepcert_backoff(enum keepcert_fail kind, int fails, int64_t retry_after)
{
	int64_t d;
	int n = fails < 1 ? 0 : fails > 20 ? 19 : fails - 1;

	switch (kind) {
	case KC_REFUSED:
		d = (int64_t)REFUSED_FIRST << n;
		return d < REFUSED_MAX ? d : REFUSED_MAX;
	case KC_LOCKED:
		return retry_after > LOCKED_MIN ? (retry_after < 86400 ? retry_after : 86400)
						: LOCKED_MIN;
	case KC_ERROR:
		d = (int64_t)ERROR_FIRST << n;
		return d < ERROR_MAX ? d : ERROR_MAX;
	case KC_OK:
		break;
	}
	return CHECK_SECS;
}

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

static void pw_digest(const char *pw, unsigned char out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(pw, strlen(pw), out, &n, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

/* Up to a tenth more, so that nodes refused together do not come back
 * together. */
static int64_t jitter(int64_t secs)
{
	uint32_t r = 0;

	if (secs < 10 || RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return secs;
	return secs + (int64_t)(r % (uint32_t)(secs / 10 + 1));
}

static void ok(struct keepcert *kc)
{
	if (kc->fail != KC_OK && kc->fails > 0)
		log_info("%s: certificate obtained after %d failed attempt%s", kc->conf.account,
			 kc->fails, kc->fails == 1 ? "" : "s");
	kc->fail = KC_OK;
	kc->fails = 0;
	kc->next_try = 0;
	kc->next_warn = 0;
	kc->err[0] = '\0';
}

static void log_refused(const struct keepcert *kc, const char *in)
{
	const struct keepcert_conf *c = &kc->conf;
	const char *where = c->where != NULL ? c->where : "the configuration";

	if (kc->fails > 1) {
		log_info("%s: password still refused (%d times); next try in %s", c->account,
			 kc->fails, in);
		return;
	}
	if (c->password == NULL && c->password_file != NULL)
		log_error("%s: logind refused the password (%s): put the right one in %s "
			  "(password_file of %s); tried again within %ds of a change, "
			  "else in %s and then less and less often",
			  c->account, kc->err, c->password_file, where, KEEPCERT_PW_POLL, in);
	else
		log_error("%s: logind refused the password (%s): correct it in %s and "
			  "restart; next try in %s, then less and less often",
			  c->account, kc->err, where, in);
}

/* A certificate in place that cannot be renewed: the operator hears of it
 * from the first failure on, every KEEPCERT_WARN_EVERY, with the time left. */
static void warn_expiry(struct keepcert *kc, const char *why)
{
	int64_t t = time_now(), left = keepcert_expires_in(kc);
	time_t end = (time_t)cert_not_after(kc->cert);
	char at[32] = "?";
	struct tm tm;

	if (t < kc->next_warn)
		return;
	kc->next_warn = t + KEEPCERT_WARN_EVERY;
	if (gmtime_r(&end, &tm) != NULL)
		strftime(at, sizeof(at), "%Y-%m-%d %H:%M UTC", &tm);
	log_warn("%s: certificate ends in %lldh%02lldm (%s) and renewal failed (%s); the node "
		 "stops serving this account then unless logind answers before",
		 kc->conf.account, (long long)(left / 3600), (long long)(left % 3600 / 60), at,
		 why);
}

/* Records a failure and schedules the next attempt. */
static void failed(struct keepcert *kc, enum keepcert_fail kind, int64_t retry_after,
		   const char *why)
{
	int64_t delay, first;
	char in[32];

	if (kind != kc->fail)
		kc->fails = 0;
	kc->fail = kind;
	kc->fails++;
	str_copy(kc->err, why, sizeof(kc->err));
	delay = jitter(keepcert_backoff(kind, kc->fails, retry_after));
	if (kc->ready && delay < CHECK_SECS)
		delay = CHECK_SECS;
	kc->next_try = time_now() + delay;
	duration_format(delay, in, sizeof(in));
	first = delay;
	switch (kind) {
	case KC_REFUSED:
		memcpy(kc->refused_pw, kc->tried_pw, sizeof(kc->refused_pw));
		log_refused(kc, in);
		if (kc->conf.password == NULL && first > KEEPCERT_PW_POLL)
			first = KEEPCERT_PW_POLL;
		break;
	case KC_LOCKED:
		log_error("%s: logind locked this address out (%s); next try in %s",
			  kc->conf.account, why, in);
		break;
	default:
		if (kc->ready)
			log_info("%s: certificate: %s; next try in %s", kc->conf.account, why, in);
		else
			log_warn("%s: certificate: %s; next try in %s", kc->conf.account, why, in);
		break;
	}
	if (kc->ready)
		warn_expiry(kc, why);
	arm(kc, (int)first);
}

static void on_cert(const struct enroll_result *res, void *arg)
{
	struct keepcert *kc = arg;
	char err[512];

	kc->call = NULL;
	if (res->cert_pem == NULL) {
		if (!kc->renewing && res->status == 401)
			failed(kc, KC_REFUSED, 0, res->err);
		else if (res->status == 429)
			failed(kc, KC_LOCKED, res->retry_after, res->err);
		else
			failed(kc, KC_ERROR, 0, res->err);
		return;
	}
	if (take(kc, res->cert_pem, err, sizeof(err)) < 0) {
		failed(kc, KC_ERROR, 0, err);
		return;
	}
	ok(kc);
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

	kc->renewing = usable(kc, kc->cert, 60) && kc->client_ctx != NULL;
	if (kc->renewing) {
		log_info("%s: certificate near its end: renewing", kc->conf.account);
		kc->call = enroll_renew(kc->base, kc->client_ctx, kc->logind_url, kc->key, on_cert,
					kc, err, sizeof(err));
	} else {
		pw = password(kc, err, sizeof(err));
		if (pw == NULL) {
			failed(kc, KC_ERROR, 0, err);
			return;
		}
		pw_digest(pw, kc->tried_pw);
		log_info("logging in to %s as %s", kc->logind_url, kc->conf.account);
		kc->call = enroll_login_as(kc->base, kc->anon_ctx, kc->logind_url,
					   kc->conf.account, pw,
					   kc->conf.ask_role ? kc->conf.role : NULL, kc->key,
					   on_cert, kc, err, sizeof(err));
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	if (kc->call == NULL)
		failed(kc, KC_ERROR, 0, err);
}

/* While the password is refused: has the password_file changed since? */
static int password_mended(struct keepcert *kc)
{
	unsigned char d[32];
	char err[256];
	char *pw;

	if (kc->conf.password != NULL || (pw = password(kc, err, sizeof(err))) == NULL)
		return 0;
	pw_digest(pw, d);
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
	return memcmp(d, kc->refused_pw, sizeof(d)) != 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct keepcert *kc = arg;
	int64_t left = kc->next_try - time_now();

	(void)fd, (void)what;
	if (kc->call != NULL)
		return;
	if (kc->ready && usable(kc, kc->cert, kc->renew_before)) {
		arm(kc, CHECK_SECS);
		return;
	}
	if (kc->fail == KC_REFUSED && left > 0) {
		if (password_mended(kc)) {
			log_info("%s: %s changed: logging in again", kc->conf.account,
				 kc->conf.password_file);
			fetch(kc);
		} else {
			/* A password in the configuration cannot change: no polling. */
			arm(kc, (int)(kc->conf.password != NULL || left < KEEPCERT_PW_POLL
					      ? left
					      : KEEPCERT_PW_POLL));
		}
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
	/* A certificate that is still valid serves while it is renewed (without
	 * the password): logind may be down at this start. */
	if (usable(kc, kc->cert, 60) && build_contexts(kc, err, sizeof(err)) == 0)
		got(kc);
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

int64_t keepcert_expires_in(const struct keepcert *kc)
{
	int64_t left;

	if (kc == NULL || kc->cert == NULL)
		return 0;
	left = cert_not_after(kc->cert) - time_now();
	return left > 0 ? left : 0;
}

int keepcert_failures(const struct keepcert *kc)
{
	return kc != NULL && kc->fail != KC_OK ? kc->fails : 0;
}

json_t *keepcert_status(const struct keepcert *kc)
{
	static const char *const names[] = {"ok", "refused", "locked", "error"};
	int64_t left;

	if (kc == NULL)
		return json_null();
	left = kc->next_try - time_now();
	if (kc->fail == KC_OK)
		return json_pack("{s:s}", "state", "ok");
	return json_pack("{s:s,s:i,s:I,s:s}", "state", names[kc->fail], "failures", kc->fails,
			 "next_try_in", (json_int_t)(left > 0 ? left : 0), "error", kc->err);
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
