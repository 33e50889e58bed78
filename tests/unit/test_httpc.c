/* Unit tests of common/httpc.c: one-shot requests against a bare evhttp
 * server on 127.0.0.1 in the same event loop: GET and POST, status and body
 * passed through, the target with its query, refused URLs, a closed port,
 * a server that closes or never answers (timeout), a response over
 * HTTPC_BODY_MAX, and HTTPS against contexts of the test PKI, including a
 * server certificate of another CA. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "httpc.h"
#include "testutil.h"
#include "tls.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fx {
	struct event_base *base;
	struct evhttp *http;
	int port;
	char url[128];
	/* What the server saw of the last request. */
	char method[8], uri[256], ctype[64], host[64], conn_hdr[32], body[256];
	char *dir;
	SSL_CTX *sctx, *cctx, *twin_sctx;
	struct evhttp_request *stalled;
};

struct result {
	int called;
	int status;
	size_t len;
	char body[256];
	char err[256];
};

/* Server side */

static void copy_hdr(struct evhttp_request *req, const char *name, char *out, size_t outlen)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);

	snprintf(out, outlen, "%s", v != NULL ? v : "");
}

static void s_record(struct evhttp_request *req, void *arg)
{
	struct fx *f = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	struct evbuffer *out = evbuffer_new();

	snprintf(f->method, sizeof(f->method), "%s",
		 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET");
	snprintf(f->uri, sizeof(f->uri), "%s", evhttp_request_get_uri(req));
	copy_hdr(req, "Content-Type", f->ctype, sizeof(f->ctype));
	copy_hdr(req, "Host", f->host, sizeof(f->host));
	copy_hdr(req, "Connection", f->conn_hdr, sizeof(f->conn_hdr));
	if (n >= sizeof(f->body))
		n = sizeof(f->body) - 1;
	evbuffer_copyout(in, f->body, n);
	f->body[n] = '\0';
	evbuffer_add_printf(out, "{\"ok\":true}");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void s_status(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_reply(req, 503, "Busy", NULL);
}

static void s_notfound(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();

	(void)arg;
	evbuffer_add_printf(out, "{\"error\":\"no such resource\"}");
	evhttp_send_reply(req, 404, "Not Found", out);
	evbuffer_free(out);
}

static void s_stall(struct evhttp_request *req, void *arg)
{
	struct fx *f = arg;

	f->stalled = req; /* never answered; evhttp_free cleans it up */
}

static void s_huge(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();
	char *blob = calloc(1, HTTPC_BODY_MAX + 1);

	(void)arg;
	memset(blob, 'z', HTTPC_BODY_MAX + 1);
	evbuffer_add(out, blob, HTTPC_BODY_MAX + 1);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	free(blob);
}

static struct bufferevent *make_ssl_bev(struct event_base *base, void *arg)
{
	SSL_CTX *ctx = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(ctx), BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void start_server(struct fx *f, SSL_CTX *ssl_ctx)
{
	f->port = tu_free_port();
	f->http = evhttp_new(f->base);
	assert_non_null(f->http);
	if (ssl_ctx != NULL)
		evhttp_set_bevcb(f->http, make_ssl_bev, ssl_ctx);
	evhttp_set_cb(f->http, "/rec", s_record, f);
	evhttp_set_cb(f->http, "/busy", s_status, f);
	evhttp_set_cb(f->http, "/stall", s_stall, f);
	evhttp_set_cb(f->http, "/huge", s_huge, f);
	evhttp_set_gencb(f->http, s_notfound, f);
	assert_int_equal(evhttp_bind_socket(f->http, "127.0.0.1", (ev_uint16_t)f->port), 0);
	snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d", ssl_ctx != NULL ? "https" : "http",
		 f->port);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->base = event_base_new();
	*state = f;
	start_server(f, NULL);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->http != NULL)
		evhttp_free(f->http);
	SSL_CTX_free(f->sctx);
	SSL_CTX_free(f->cctx);
	SSL_CTX_free(f->twin_sctx);
	event_base_free(f->base);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* Client side */

static void on_done(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct result *r = arg;
	size_t n = len < sizeof(r->body) - 1 ? len : sizeof(r->body) - 1;

	r->called++;
	r->status = status;
	r->len = len;
	if (body != NULL)
		memcpy(r->body, body, n);
	r->body[body != NULL ? n : 0] = '\0';
	snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "(null)");
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	*(int *)arg = 1;
}

static int loop_until_called(struct fx *f, struct result *r, int ms)
{
	int timed_out = 0;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *t = evtimer_new(f->base, on_timeout, &timed_out);

	evtimer_add(t, &tv);
	while (r->called == 0 && !timed_out)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
	return r->called;
}

/* Runs one request to f->url + path; fails the test if cb does not come. */
static void run(struct fx *f, SSL_CTX *ctx, const char *path, const char *body, int timeout,
		struct result *r)
{
	char url[384];
	char err[256] = "";

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", f->url, path);
	if (httpc_request(f->base, ctx, url, body, timeout, on_done, r, err, sizeof(err)) == NULL)
		fail_msg("httpc_request(%s): %s", url, err);
	if (!loop_until_called(f, r, (timeout + 5) * 1000))
		fail_msg("no callback for %s", url);
	/* Let the connection's own clean-up run. */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(r->called, 1);
}

static void test_get_returns_status_and_body(void **state)
{
	struct fx *f = *state;
	struct result r;

	run(f, NULL, "/rec", NULL, 5, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"ok\":true}");
	assert_int_equal(r.len, 11);
	assert_string_equal(r.err, "(null)");
	assert_string_equal(f->method, "GET");
	assert_string_equal(f->uri, "/rec");
	assert_string_equal(f->host, "127.0.0.1");
	assert_string_equal(f->conn_hdr, "close");
}

static void test_post_sends_the_json_body(void **state)
{
	struct fx *f = *state;
	struct result r;

	run(f, NULL, "/rec", "{\"a\":1}", 5, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(f->method, "POST");
	assert_string_equal(f->ctype, "application/json");
	assert_string_equal(f->body, "{\"a\":1}");
}

static void test_query_string_is_part_of_the_target(void **state)
{
	struct fx *f = *state;
	struct result r;

	run(f, NULL, "/rec?name=alice&x=%20y", NULL, 5, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(f->uri, "/rec?name=alice&x=%20y");
}

static void test_error_statuses_are_passed_through(void **state)
{
	struct fx *f = *state;
	struct result r;

	run(f, NULL, "/nope", NULL, 5, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"error\":\"no such resource\"}");
	run(f, NULL, "/busy", NULL, 5, &r);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.len, 0);
	/* No path at all means "/". */
	run(f, NULL, "", NULL, 5, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(f->uri, "");
}

static void test_bad_urls_fail_at_once_without_callback(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {"ftp://127.0.0.1/x", "https://127.0.0.1/", "//127.0.0.1/",
					  "", "/rec"};
	struct result r;
	char err[256];

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (httpc_request(f->base, NULL, bad[i], NULL, 5, on_done, &r, err, sizeof(err)) !=
		    NULL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_contains(err, "bad URL");
	}
	err[0] = '\0';
	assert_null(httpc_request(f->base, NULL, "https://127.0.0.1/", NULL, 5, on_done, &r, err,
				  sizeof(err)));
	assert_contains(err, "want http://");
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(r.called, 0);
}

static void test_unparsable_url_fails_without_crashing(void **state)
{
	struct fx *f = *state;
	struct result r;
	char err[256] = "";

	memset(&r, 0, sizeof(r));
	/* Regression (fixed): common/httpc.c:161 calls evhttp_uri_free(uri) on the failure
	 * path even when evhttp_uri_parse returned NULL (a URL with a space or
	 * another character it refuses), and libevent 2.1's evhttp_uri_free
	 * dereferences its argument: a segmentation fault instead of "bad
	 * URL". bootstrapd passes its configured logind_url here
	 * (bootstrapd_crl.c:112), so a typo in the configuration such as a
	 * missing scheme ("127.0.0.1:8443") crashes it. */
	assert_null(httpc_request(f->base, NULL, "127.0.0.1:8443", NULL, 5, on_done, &r, err,
				  sizeof(err)));
	assert_contains(err, "bad URL");
	assert_null(httpc_request(f->base, NULL, "http://bad host/x", NULL, 5, on_done, &r, err,
				  sizeof(err)));
	assert_contains(err, "bad URL");
	assert_int_equal(r.called, 0);
}

static void test_closed_port_reports_minus_one_with_a_reason(void **state)
{
	struct fx *f = *state;
	struct result r;
	char err[256] = "";
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/rec", tu_free_port());
	memset(&r, 0, sizeof(r));
	assert_non_null(httpc_request(f->base, NULL, url, NULL, 5, on_done, &r, err, sizeof(err)));
	assert_true(loop_until_called(f, &r, 5000));
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(r.called, 1);
	assert_int_equal(r.status, -1);
	assert_int_equal(r.len, 0);
	/* libevent reports a refused connect without an error code, so the
	 * reason is generic, but there is one. */
	assert_string_not_equal(r.err, "(null)");
	assert_true(strlen(r.err) > 0);
}

/* Accepts and closes at once, before reading the request. */
static void slam(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		 void *arg)
{
	(void)l, (void)sa, (void)len, (void)arg;
	close(fd);
}

static void test_server_closing_without_answer_reports_minus_one(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	struct evconnlistener *l;
	struct result r;
	int port = tu_free_port();
	char url[64];
	char err[256];

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(f->base, slam, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
				    16, (struct sockaddr *)&a, sizeof(a));
	assert_non_null(l);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/rec", port);
	memset(&r, 0, sizeof(r));
	assert_non_null(httpc_request(f->base, NULL, url, NULL, 5, on_done, &r, err, sizeof(err)));
	assert_true(loop_until_called(f, &r, 5000));
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(r.status, -1);
	assert_true(strlen(r.err) > 0);
	evconnlistener_free(l);
}

static void test_server_that_never_answers_times_out(void **state)
{
	struct fx *f = *state;
	struct result r;

	run(f, NULL, "/stall", NULL, 1, &r);
	assert_non_null(f->stalled);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.err, "timed out");
}

static void test_response_over_the_body_limit_is_refused(void **state)
{
	struct fx *f = *state;
	struct result r;

	run(f, NULL, "/huge", NULL, 10, &r);
	assert_int_equal(r.status, -1);
	assert_string_equal(r.err, "response too large");
}

static void test_cancel_in_flight_never_calls_back(void **state)
{
	struct fx *f = *state;
	struct httpc_call *c;
	struct result r, idle;
	char url[256];
	char err[256];

	/* Cancelled before anything happened. */
	snprintf(url, sizeof(url), "%s/rec", f->url);
	memset(&r, 0, sizeof(r));
	c = httpc_request(f->base, NULL, url, NULL, 5, on_done, &r, err, sizeof(err));
	assert_non_null(c);
	httpc_cancel(c);
	/* Cancelled while the server sits on the request. */
	snprintf(url, sizeof(url), "%s/stall", f->url);
	c = httpc_request(f->base, NULL, url, NULL, 5, on_done, &r, err, sizeof(err));
	assert_non_null(c);
	memset(&idle, 0, sizeof(idle));
	loop_until_called(f, &idle, 300); /* nothing sets idle: just runs the loop */
	assert_non_null(f->stalled);
	httpc_cancel(c);
	loop_until_called(f, &idle, 100);
	assert_int_equal(r.called, 0);
	httpc_cancel(NULL);
}

/* HTTPS */

static int setup_tls(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tu_ca ca, twin;
	EVP_PKEY *sk = EVP_EC_gen("P-256");
	X509 *sc, *tc;
	char err[256] = "";
	char *p[4];
	int64_t now = (int64_t)time(NULL);

	if (f == NULL || tu_ca_new(&ca) < 0 || tu_ca_new(&twin) < 0)
		return -1;
	*state = f;
	f->base = event_base_new();
	f->dir = tu_tmpdir_new();
	p[0] = tu_path(f->dir, "ca.pem");
	p[1] = tu_path(f->dir, "s.pem");
	p[2] = tu_path(f->dir, "s.key");
	p[3] = tu_path(f->dir, "twin.pem");
	sc = tu_issue(&ca, sk, "server", "localhost", now - 60, now + 3600, 10);
	tc = tu_issue(&twin, sk, "server", "localhost", now - 60, now + 3600, 10);
	tu_write_cert(p[0], ca.cert);
	tu_write_cert(p[1], sc);
	tu_write_key(p[2], sk);
	tu_write_cert(p[3], tc);
	f->sctx = tls_server_ctx_new(p[0], p[1], p[2], TLS_VERIFY_NONE, err, sizeof(err));
	f->twin_sctx = tls_server_ctx_new(p[0], p[3], p[2], TLS_VERIFY_NONE, err, sizeof(err));
	f->cctx = tls_client_ctx_new(p[0], NULL, NULL, err, sizeof(err));
	X509_free(sc);
	X509_free(tc);
	EVP_PKEY_free(sk);
	tu_ca_free(&ca);
	tu_ca_free(&twin);
	for (int i = 0; i < 4; i++)
		free(p[i]);
	return f->sctx != NULL && f->twin_sctx != NULL && f->cctx != NULL ? 0 : -1;
}

static int localhost_is_127(void)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int ok = 0;

	if (getaddrinfo("localhost", "80", &hints, &ai) == 0 && ai->ai_family == AF_INET)
		ok = ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	if (ai != NULL)
		freeaddrinfo(ai);
	return ok;
}

static void test_https_request_to_a_server_of_the_overlay(void **state)
{
	struct fx *f = *state;
	struct result r;

	start_server(f, f->sctx);
	run(f, f->cctx, "/rec", "{\"tls\":1}", 5, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"ok\":true}");
	assert_string_equal(f->body, "{\"tls\":1}");
	/* By name too ("localhost" is in the certificate), where the name
	 * leads to the server's 127.0.0.1 first: minimal chroots have no
	 * /etc/hosts, and some systems list ::1 first. */
	if (localhost_is_127()) {
		snprintf(f->url, sizeof(f->url), "https://localhost:%d", f->port);
		run(f, f->cctx, "/rec", NULL, 5, &r);
		assert_int_equal(r.status, 200);
	}
}

static void test_https_refuses_a_server_of_another_ca(void **state)
{
	struct fx *f = *state;
	struct result r;

	start_server(f, f->twin_sctx);
	run(f, f->cctx, "/rec", NULL, 5, &r);
	assert_int_equal(r.status, -1);
	assert_contains(r.err, "certificate verify failed");
	assert_string_equal(f->uri, ""); /* the request never got there */
}

static void test_https_url_needs_a_context_and_plain_url_refuses_one(void **state)
{
	struct fx *f = *state;
	struct result r;
	char err[256] = "";

	memset(&r, 0, sizeof(r));
	assert_null(httpc_request(f->base, f->cctx, "http://127.0.0.1:1/", NULL, 5, on_done, &r,
				  err, sizeof(err)));
	assert_contains(err, "want https://");
	assert_int_equal(r.called, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define S(fn) cmocka_unit_test_setup_teardown(fn, setup_tls, teardown)
	const struct CMUnitTest tests[] = {
		T(test_get_returns_status_and_body),
		T(test_post_sends_the_json_body),
		T(test_query_string_is_part_of_the_target),
		T(test_error_statuses_are_passed_through),
		T(test_bad_urls_fail_at_once_without_callback),
		T(test_unparsable_url_fails_without_crashing),
		T(test_closed_port_reports_minus_one_with_a_reason),
		T(test_server_closing_without_answer_reports_minus_one),
		T(test_server_that_never_answers_times_out),
		T(test_response_over_the_body_limit_is_refused),
		T(test_cancel_in_flight_never_calls_back),
		S(test_https_request_to_a_server_of_the_overlay),
		S(test_https_refuses_a_server_of_another_ca),
		S(test_https_url_needs_a_context_and_plain_url_refuses_one),
	};
#undef T
#undef S

	/* As the daemons do (daemon_signals_new): a peer that hangs up must
	 * not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
