/* Unit tests of common/enroll.c: key files (created 0600 as P-256, loaded
 * the second time), CSRs that verify with the key, url_join, and login and
 * renewal against a fake logind built on common/httpd.c on loopback: the
 * JSON body it receives, 200 with a certificate, 401 with a reason, answers
 * without the expected fields, an unreachable logind, and a renewal over
 * HTTPS that presents the current certificate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "enroll.h"
#include "httpd.h"
#include "identity.h"
#include "testutil.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum answer { GOOD, NO_CERT_FIELD, NOT_JSON_401, EMPTY_500, LOCKED_429, HUGE_RETRY_429 };

struct fx {
	char *dir;
	struct event_base *base;
	struct event *tick;
	struct httpd *h;
	int port;
	char url[128];
	enum answer answer;
	EVP_PKEY *key; /* the client's key, to compare CSRs with */
	char *issued;  /* PEM the fake hands out */
	/* What the fake saw. */
	int calls;
	char path[64];
	char user[64], password[64];
	size_t nkeys;
	int has_csr, csr_verifies, csr_key_matches;
	char peer_cn[64];
};

struct result {
	int called;
	char *pem;
	char err[512];
	int status;
	long retry_after;
};

/* ---- the fake logind ---- */

static void look_at_csr(struct fx *f, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	EVP_PKEY *pub = req != NULL ? X509_REQ_get0_pubkey(req) : NULL;

	f->has_csr = 1;
	f->csr_verifies = pub != NULL && X509_REQ_verify(req, pub) == 1;
	f->csr_key_matches = pub != NULL && f->key != NULL && EVP_PKEY_eq(pub, f->key) == 1;
	X509_REQ_free(req);
	BIO_free(bio);
}

static void fake(struct evhttp_request *req, void *arg, const char *path)
{
	struct fx *f = arg;
	size_t len = 0;
	uint8_t *body = http_body(req, &len);
	json_t *j = body != NULL ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	const char *s;
	SSL *ssl = http_ssl(req);

	f->calls++;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->nkeys = json_is_object(j) ? json_object_size(j) : 0;
	s = json_string_value(json_object_get(j, "user"));
	snprintf(f->user, sizeof(f->user), "%s", s != NULL ? s : "");
	s = json_string_value(json_object_get(j, "password"));
	snprintf(f->password, sizeof(f->password), "%s", s != NULL ? s : "");
	s = json_string_value(json_object_get(j, "csr"));
	if (s != NULL)
		look_at_csr(f, s);
	if (ssl != NULL) {
		X509 *peer = NULL;
		const char *why = NULL;
		if (tls_peer_check(ssl, &peer, &why) == 0)
			cert_name(peer, f->peer_cn, sizeof(f->peer_cn));
	}
	free(body);
	json_decref(j);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		http_reply_error(req, 405, "POST only");
		return;
	}
	switch (f->answer) {
	case GOOD:
		if (strcmp(path, "/v1/login") == 0 &&
		    (strcmp(f->user, "alice") != 0 || strcmp(f->password, "s3cret") != 0)) {
			http_reply_error(req, 401, "bad user or password");
			return;
		}
		if (!f->csr_verifies) {
			http_reply_error(req, 400, "csr: bad signature");
			return;
		}
		http_reply_json(req, 200, json_pack("{s:s}", "certificate", f->issued));
		return;
	case NO_CERT_FIELD:
		http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
		return;
	case NOT_JSON_401:
		http_reply_bytes(req, 401, "text/plain", "go away", 7);
		return;
	case EMPTY_500:
		http_reply_bytes(req, 500, "text/plain", "", 0);
		return;
	case LOCKED_429:
		http_reply_json(req, 429, json_pack("{s:s,s:i}", "error", "locked", "retry_after", 842));
		return;
	case HUGE_RETRY_429:
		http_reply_json(req, 429, json_pack("{s:s,s:I}", "error", "locked", "retry_after",
						    (json_int_t)1 << 50));
		return;
	}
}

static void h_login(struct evhttp_request *req, void *arg)
{
	fake(req, arg, "/v1/login");
}

static void h_renew(struct evhttp_request *req, void *arg)
{
	fake(req, arg, "/v1/renew");
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

static const struct httpd_limits limits = {16, 8192, 64 * 1024, 5};

static void start_fake(struct fx *f, SSL_CTX *ctx, const char *url_suffix)
{
	char listen[64], err[256] = "";

	f->port = tu_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", f->port);
	f->h = httpd_new(f->base, ctx, listen, &limits, err, sizeof(err));
	if (f->h == NULL)
		fail_msg("httpd_new: %s", err);
	assert_int_equal(httpd_route(f->h, "/v1/login", h_login, f), 0);
	assert_int_equal(httpd_route(f->h, "/v1/renew", h_renew, f), 0);
	snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d%s", ctx != NULL ? "https" : "http",
		 f->port, url_suffix);
}

/* The directory and the certificate the fake hands out, for all tests. */
static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tu_ca ca;
	EVP_PKEY *k;
	X509 *c;
	int64_t now = (int64_t)time(NULL);

	if (f == NULL || (f->dir = tu_tmpdir_new()) == NULL)
		return -1;
	*state = f;
	if (tu_ca_new(&ca) < 0)
		return -1;
	k = EVP_EC_gen("P-256");
	c = tu_issue(&ca, k, "user", "alice", now - 60, now + 3600, 42);
	f->issued = cert_to_pem(c);
	X509_free(c);
	EVP_PKEY_free(k);
	tu_ca_free(&ca);
	return f->issued != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;

	free(f->issued);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = *state;
	char *dir = f->dir, *issued = f->issued;
	struct timeval tv = {0, 10 * 1000};

	memset(f, 0, sizeof(*f));
	f->dir = dir;
	f->issued = issued;
	f->base = event_base_new();
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(f->tick, &tv);
	return f->base != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* Give the server the chance to close its side. */
	RUN_UNTIL(f, 0, 50);
	httpd_free(f->h);
	f->h = NULL;
	EVP_PKEY_free(f->key);
	f->key = NULL;
	event_free(f->tick);
	event_base_free(f->base);
	return 0;
}

static void on_done(const struct enroll_result *res, void *arg)
{
	struct result *r = arg;

	r->called++;
	free(r->pem);
	r->pem = res->cert_pem != NULL ? strdup(res->cert_pem) : NULL;
	snprintf(r->err, sizeof(r->err), "%s", res->err != NULL ? res->err : "(null)");
	r->status = res->status;
	r->retry_after = res->retry_after;
}

static EVP_PKEY *new_key(struct fx *f)
{
	char err[256] = "";
	char *path = tu_path(f->dir, "node.key");
	EVP_PKEY *k;

	/* Each test creates its own key. */
	unlink(path);
	k = enroll_key_load_or_create(path, err, sizeof(err));

	if (k == NULL)
		fail_msg("key: %s", err);
	free(path);
	f->key = k;
	return k;
}

/* ---- keys and CSRs ---- */

static void test_key_is_created_0600_then_loaded(void **state)
{
	struct fx *f = *state;
	char *path = tu_path(f->dir, "a/b/node.key");
	char *parent = tu_path(f->dir, "a/b");
	char err[256] = "";
	char group[64] = "";
	size_t glen = 0;
	struct stat st;
	EVP_PKEY *k1, *k2;

	k1 = enroll_key_load_or_create(path, err, sizeof(err));
	assert_non_null(k1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(parent, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0077, 0);
	assert_true(EVP_PKEY_is_a(k1, "EC"));
	assert_int_equal(EVP_PKEY_get_utf8_string_param(k1, "group", group, sizeof(group), &glen),
			 1);
	assert_string_equal(group, "prime256v1");

	k2 = enroll_key_load_or_create(path, err, sizeof(err));
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k1, k2), 1);
	/* Loaded, not replaced: still the same file. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	free(parent);
	free(path);
}

static void test_key_file_that_is_not_a_key_is_an_error(void **state)
{
	struct fx *f = *state;
	char *path = tu_path(f->dir, "junk.key");
	char *under_file = tu_path(f->dir, "junk.key/x.key");
	char err[256] = "";

	assert_int_equal(tu_write(path, "not a key\n", 10), 0);
	assert_null(enroll_key_load_or_create(path, err, sizeof(err)));
	assert_contains(err, path);
	/* The garbage is left alone. */
	{
		size_t len = 0;
		char *text = file_read(path, 100, &len, NULL, 0);
		assert_non_null(text);
		assert_string_equal(text, "not a key\n");
		free(text);
	}
	err[0] = '\0';
	assert_null(enroll_key_load_or_create(under_file, err, sizeof(err)));
	assert_true(err[0] != '\0');
	free(under_file);
	free(path);
}

static void test_csr_verifies_with_the_key(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	EVP_PKEY *other = EVP_EC_gen("P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *pem = enroll_csr_pem(k);
	BIO *bio;
	X509_REQ *req;

	assert_non_null(pem);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	bio = BIO_new_mem_buf(pem, -1);
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k), 1);
	assert_true(X509_REQ_verify(req, other) <= 0);
	X509_REQ_free(req);
	BIO_free(bio);
	free(pem);

	/* Ed25519 keys are allowed in the overlay too. */
	pem = enroll_csr_pem(ed);
	assert_non_null(pem);
	bio = BIO_new_mem_buf(pem, -1);
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, ed), 1);
	X509_REQ_free(req);
	BIO_free(bio);
	free(pem);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(other);
}

static void expect_join(const char *base, const char *path, const char *want)
{
	char *got = url_join(base, path);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_url_join_never_doubles_the_slash(void **state)
{
	(void)state;
	expect_join("https://h:8443", "/v1/login", "https://h:8443/v1/login");
	expect_join("https://h:8443/", "/v1/login", "https://h:8443/v1/login");
	expect_join("https://h:8443///", "/v1/login", "https://h:8443/v1/login");
	expect_join("https://h:8443", "v1/login", "https://h:8443/v1/login");
	expect_join("https://h:8443/", "v1/login", "https://h:8443/v1/login");
	expect_join("https://h/logind/", "/v1/renew", "https://h/logind/v1/renew");
	expect_join("https://h/logind", "/v1/renew", "https://h/logind/v1/renew");
	expect_join("", "/v1/login", "/v1/login");
	expect_join("https://h", "", "https://h/");
}

/* ---- login and renewal ---- */

static void test_login_posts_user_password_and_csr_and_gets_the_certificate(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "");
	assert_non_null(enroll_login(f->base, NULL, f->url, "alice", "s3cret", k, on_done, &r, err,
				     sizeof(err)));
	assert_int_equal(r.called, 0);
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_string_equal(r.err, "(null)");
	assert_non_null(r.pem);
	assert_string_equal(r.pem, f->issued);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->path, "/v1/login");
	assert_int_equal(f->nkeys, 3);
	assert_string_equal(f->user, "alice");
	assert_string_equal(f->password, "s3cret");
	assert_true(f->has_csr);
	assert_true(f->csr_verifies);
	assert_true(f->csr_key_matches);
	free(r.pem);
}

static void test_login_with_a_trailing_slash_in_the_url_reaches_the_route(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "/");
	assert_non_null(enroll_login(f->base, NULL, f->url, "alice", "s3cret", k, on_done, &r, err,
				     sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_non_null(r.pem);
	assert_string_equal(f->path, "/v1/login");
	free(r.pem);
}

static void test_wrong_password_gives_the_401_reason(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "");
	assert_non_null(enroll_login(f->base, NULL, f->url, "alice", "wrong", k, on_done, &r, err,
				     sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_null(r.pem);
	assert_string_equal(r.err, "logind answered 401: bad user or password");
	assert_int_equal(r.status, 401);
	assert_int_equal(r.retry_after, 0);
	assert_string_equal(f->password, "wrong");
}

/* A locked account: the status and how long logind asks to wait reach the
 * caller; an absurd wait is capped at a day. */
static void test_a_lock_gives_status_and_retry_after(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "");
	f->answer = LOCKED_429;
	assert_non_null(enroll_login(f->base, NULL, f->url, "alice", "s3cret", k, on_done, &r, err,
				     sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_null(r.pem);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after, 842);
	f->answer = HUGE_RETRY_429;
	assert_non_null(enroll_login(f->base, NULL, f->url, "alice", "s3cret", k, on_done, &r, err,
				     sizeof(err)));
	RUN_UNTIL(f, r.called == 2, 5000);
	assert_int_equal(r.retry_after, 86400);
	free(r.pem);
}

static void test_password_with_json_specials_arrives_intact(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "");
	assert_non_null(enroll_login(f->base, NULL, f->url, "al\"ice", "p\\w\"d\n\xc3\xa9", k,
				     on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_string_equal(f->user, "al\"ice");
	assert_string_equal(f->password, "p\\w\"d\n\xc3\xa9");
	assert_contains(r.err, "logind answered 401");
}

static void test_answers_without_the_expected_fields_are_errors(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "");
	f->answer = NO_CERT_FIELD;
	assert_non_null(enroll_login(f->base, NULL, f->url, "alice", "s3cret", k, on_done, &r, err,
				     sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_null(r.pem);
	assert_string_equal(r.err, "logind answered 200: no reason given");

	memset(&r, 0, sizeof(r));
	f->answer = NOT_JSON_401;
	assert_non_null(enroll_renew(f->base, NULL, f->url, k, on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_null(r.pem);
	assert_string_equal(r.err, "logind answered 401: no reason given");

	memset(&r, 0, sizeof(r));
	f->answer = EMPTY_500;
	assert_non_null(enroll_renew(f->base, NULL, f->url, k, on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_null(r.pem);
	assert_string_equal(r.err, "logind answered 500: no reason given");
}

static void test_renew_posts_only_a_csr(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	start_fake(f, NULL, "");
	assert_non_null(enroll_renew(f->base, NULL, f->url, k, on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_string_equal(r.err, "(null)");
	assert_string_equal(r.pem, f->issued);
	assert_string_equal(f->path, "/v1/renew");
	assert_int_equal(f->nkeys, 1);
	assert_true(f->csr_verifies);
	assert_true(f->csr_key_matches);
	free(r.pem);
}

static void test_renew_over_https_presents_the_current_certificate(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";
	struct tu_ca ca;
	EVP_PKEY *skey = EVP_EC_gen("P-256");
	int64_t now = (int64_t)time(NULL);
	X509 *scert, *ccert;
	char *ca_pem = tu_path(f->dir, "ca.pem"), *s_pem = tu_path(f->dir, "s.pem"),
	     *s_key = tu_path(f->dir, "s.key"), *c_pem = tu_path(f->dir, "c.pem"),
	     *c_key = tu_path(f->dir, "node.key");
	SSL_CTX *sctx, *cctx;

	assert_int_equal(tu_ca_new(&ca), 0);
	scert = tu_issue(&ca, skey, "server", "localhost", now - 60, now + 3600, 1);
	ccert = tu_issue(&ca, k, "user", "alice", now - 60, now + 3600, 2);
	assert_int_equal(tu_write_cert(ca_pem, ca.cert), 0);
	assert_int_equal(tu_write_cert(s_pem, scert), 0);
	assert_int_equal(tu_write_key(s_key, skey), 0);
	assert_int_equal(tu_write_cert(c_pem, ccert), 0);
	sctx = tls_server_ctx_new(ca_pem, s_pem, s_key, TLS_VERIFY_REPORT, err, sizeof(err));
	assert_non_null(sctx);
	cctx = tls_client_ctx_new(ca_pem, c_pem, c_key, err, sizeof(err));
	assert_non_null(cctx);

	start_fake(f, sctx, "");
	assert_non_null(enroll_renew(f->base, cctx, f->url, k, on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 10000);
	assert_int_equal(r.called, 1);
	assert_string_equal(r.err, "(null)");
	assert_string_equal(r.pem, f->issued);
	assert_string_equal(f->peer_cn, "alice");
	assert_true(f->csr_key_matches);
	free(r.pem);

	RUN_UNTIL(f, 0, 50);
	httpd_free(f->h);
	f->h = NULL;
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	X509_free(scert);
	X509_free(ccert);
	EVP_PKEY_free(skey);
	tu_ca_free(&ca);
	free(ca_pem);
	free(s_pem);
	free(s_key);
	free(c_pem);
	free(c_key);
}

static void test_unreachable_logind_is_reported(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "", url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", tu_free_port());
	assert_non_null(
		enroll_login(f->base, NULL, url, "alice", "s3cret", k, on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_null(r.pem);
	assert_true(strncmp(r.err, "logind unreachable: ", 20) == 0);
	assert_true(strlen(r.err) > 20);

	memset(&r, 0, sizeof(r));
	assert_non_null(enroll_renew(f->base, NULL, url, k, on_done, &r, err, sizeof(err)));
	RUN_UNTIL(f, r.called, 5000);
	assert_int_equal(r.called, 1);
	assert_true(strncmp(r.err, "logind unreachable: ", 20) == 0);
}

static void test_bad_url_fails_at_once(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";

	assert_null(enroll_login(f->base, NULL, "not a url", "alice", "s3cret", k, on_done, &r,
				 err, sizeof(err)));
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_null(enroll_renew(f->base, NULL, "ftp://127.0.0.1:1", k, on_done, &r, err,
				 sizeof(err)));
	assert_true(err[0] != '\0');
	RUN_UNTIL(f, 0, 20);
	assert_int_equal(r.called, 0);
}

static void test_password_that_is_not_utf8_is_refused_with_a_true_reason(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(f);
	struct result r = {0};
	char err[256] = "";
	struct httpc_call *call;

	/* Regression (fixed): common/enroll.c:140 builds the body with json_pack, which fails
	 * on a string that is not UTF-8 (a password typed in a Latin-1
	 * terminal: "p\xe9"); post() (enroll.c:110-112) then reports "out of
	 * memory", which sends the user looking in the wrong place. */
	start_fake(f, NULL, "");
	call = enroll_login(f->base, NULL, f->url, "alice", "p\xe9", k, on_done, &r, err,
			    sizeof(err));
	if (call != NULL) {
		/* Sending it some other way would be fine too. */
		RUN_UNTIL(f, r.called, 5000);
		assert_int_equal(r.called, 1);
		return;
	}
	assert_true(err[0] != '\0');
	if (strstr(err, "out of memory") != NULL)
		fail_msg("a non-UTF-8 password is reported as '%s'", err);
	assert_int_equal(r.called, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_key_is_created_0600_then_loaded),
		T(test_key_file_that_is_not_a_key_is_an_error),
		T(test_csr_verifies_with_the_key),
		T(test_url_join_never_doubles_the_slash),
		T(test_login_posts_user_password_and_csr_and_gets_the_certificate),
		T(test_login_with_a_trailing_slash_in_the_url_reaches_the_route),
		T(test_wrong_password_gives_the_401_reason),
		T(test_a_lock_gives_status_and_retry_after),
		T(test_password_with_json_specials_arrives_intact),
		T(test_password_that_is_not_utf8_is_refused_with_a_true_reason),
		T(test_answers_without_the_expected_fields_are_errors),
		T(test_renew_posts_only_a_csr),
		T(test_renew_over_https_presents_the_current_certificate),
		T(test_unreachable_logind_is_reported),
		T(test_bad_url_fails_at_once),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
