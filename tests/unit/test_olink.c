/* Unit tests of common/olink.c: overlay links between two certificate
 * holders over loopback TLS 1.3 in one event loop. A server side made with
 * olink_accept on an evconnlistener, a client side with olink_connect, and
 * raw TLS or plain TCP peers for hostile input. Covers the hello exchange
 * and peer identity, pipelined and out-of-order requests, error replies,
 * one-way messages, timeouts, the rate limit, frame and output limits,
 * hello and idle timers, olink_free from inside callbacks, and handshakes
 * with certificates of another CA. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "frame.h"
#include "identity.h"
#include "olink.h"
#include "testutil.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64
#define MAX_SERVER_LINKS 16

enum mode { ECHO, HOLD, IGNORE, FREE_ON_MESSAGE };

struct fx;

/* One end of a link and what its callbacks saw. */
struct side {
	struct fx *f;
	struct olink *l;
	enum mode mode;
	int refuse, free_in_ready;
	int ready, closed, messages;
	json_t *hello; /* copy of the peer's hello */
	struct olink_peer peer;
	int peer_cert_ok; /* peer.cert matched the expected certificate */
	X509 *expect_cert;
	char why[256];
	json_t *held[MAX_HELD];
	size_t nheld;
	json_t *last;
};

struct fx {
	/* Built once. */
	char *dir;
	struct tu_ca ca, other;
	EVP_PKEY *skey, *ckey;
	X509 *scert, *ccert;
	SSL_CTX *sctx, *cctx, *foreign_cctx, *foreign_sctx, *report_sctx;
	/* Per test. */
	struct event_base *base;
	struct event *tick;
	struct evconnlistener *lis;
	uint16_t port;
	SSL_CTX *lis_ctx; /* what the listener's links use */
	struct olink_limits slim, clim;
	struct side srv, cli;
	struct olink *sl[MAX_SERVER_LINKS];
	int nsl;
	int seq;
};

/* A request in flight and what its callback saw. */
struct call {
	struct fx *f;
	int n;
	int called;
	int order;
	int free_link;
	json_t *reply;
	char err[128];
};

static char *P(struct fx *f, const char *name)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", f->dir, name);
	return b;
}

/* ---- fixture ---- */

static int write_cert(struct fx *f, const char *file, struct tu_ca *ca, EVP_PKEY *key,
		      const char *role, const char *cn, uint64_t serial, X509 **keep)
{
	int64_t now = (int64_t)time(NULL);
	X509 *c = tu_issue(ca, key, role, cn, now - 3600, now + 86400, serial);
	int rc;

	if (c == NULL)
		return -1;
	rc = tu_write_cert(P(f, file), c);
	if (keep != NULL)
		*keep = c;
	else
		X509_free(c);
	return rc;
}

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";
	int rc = 0;

	if (f == NULL || (f->dir = tu_tmpdir_new()) == NULL)
		return -1;
	*state = f;
	if (tu_ca_new(&f->ca) < 0 || tu_other_ca_new(&f->other) < 0)
		return -1;
	f->skey = EVP_EC_gen("P-256");
	f->ckey = EVP_EC_gen("P-256");
	rc |= tu_write_cert(P(f, "ca.pem"), f->ca.cert);
	rc |= tu_write_key(P(f, "sn.key"), f->skey);
	rc |= tu_write_key(P(f, "alice.key"), f->ckey);
	rc |= write_cert(f, "sn.pem", &f->ca, f->skey, "supernode", "sn1", 100, &f->scert);
	rc |= write_cert(f, "alice.pem", &f->ca, f->ckey, "user", "alice", 200, &f->ccert);
	rc |= write_cert(f, "foreign.pem", &f->other, f->ckey, "user", "alice", 300, NULL);
	rc |= write_cert(f, "foreign_sn.pem", &f->other, f->skey, "supernode", "sn1", 301, NULL);
	if (rc != 0)
		return -1;
	f->sctx = tls_server_ctx_new(P(f, "ca.pem"), P(f, "sn.pem"), P(f, "sn.key"),
				     TLS_VERIFY_REQUIRE, err, sizeof(err));
	f->report_sctx = tls_server_ctx_new(P(f, "ca.pem"), P(f, "sn.pem"), P(f, "sn.key"),
					    TLS_VERIFY_REPORT, err, sizeof(err));
	f->foreign_sctx = tls_server_ctx_new(P(f, "ca.pem"), P(f, "foreign_sn.pem"),
					     P(f, "sn.key"), TLS_VERIFY_REQUIRE, err, sizeof(err));
	f->cctx = tls_client_ctx_new(P(f, "ca.pem"), P(f, "alice.pem"), P(f, "alice.key"), err,
				     sizeof(err));
	f->foreign_cctx = tls_client_ctx_new(P(f, "ca.pem"), P(f, "foreign.pem"),
					     P(f, "alice.key"), err, sizeof(err));
	if (f->sctx == NULL || f->cctx == NULL || f->foreign_cctx == NULL ||
	    f->foreign_sctx == NULL || f->report_sctx == NULL) {
		fprintf(stderr, "contexts: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;

	SSL_CTX_free(f->sctx);
	SSL_CTX_free(f->report_sctx);
	SSL_CTX_free(f->foreign_sctx);
	SSL_CTX_free(f->cctx);
	SSL_CTX_free(f->foreign_cctx);
	X509_free(f->scert);
	X509_free(f->ccert);
	EVP_PKEY_free(f->skey);
	EVP_PKEY_free(f->ckey);
	tu_ca_free(&f->ca);
	tu_ca_free(&f->other);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void forget(struct fx *f, struct olink *l)
{
	for (int i = 0; i < f->nsl; i++)
		if (f->sl[i] == l)
			f->sl[i] = NULL;
	if (f->srv.l == l)
		f->srv.l = NULL;
	if (f->cli.l == l)
		f->cli.l = NULL;
}

/* ---- callbacks ---- */

static int cb_ready(struct olink *l, const json_t *hello, void *arg)
{
	struct side *s = arg;
	const struct olink_peer *p = olink_peer(l);

	s->ready++;
	json_decref(s->hello);
	s->hello = json_deep_copy(hello);
	s->peer = *p;
	s->peer.cert = NULL;
	s->peer_cert_ok = p->cert != NULL && s->expect_cert != NULL &&
			  X509_cmp(p->cert, s->expect_cert) == 0;
	if (s->free_in_ready) {
		forget(s->f, l);
		olink_free(l);
		return 0;
	}
	return s->refuse ? -1 : 0;
}

static void cb_message(struct olink *l, json_t *msg, void *arg)
{
	struct side *s = arg;
	json_t *tid = json_object_get(msg, "tid");

	s->messages++;
	json_decref(s->last);
	s->last = json_deep_copy(msg);
	switch (s->mode) {
	case ECHO:
		if (tid != NULL)
			assert_int_equal(olink_reply(l, msg,
						     json_pack("{s:O}", "n",
							       json_object_get(msg, "n"))),
					 0);
		break;
	case HOLD:
		assert_true(s->nheld < MAX_HELD);
		s->held[s->nheld++] = json_incref(msg);
		break;
	case IGNORE:
		break;
	case FREE_ON_MESSAGE:
		forget(s->f, l);
		olink_free(l);
		break;
	}
}

static void cb_closed(struct olink *l, const char *why, void *arg)
{
	struct side *s = arg;

	s->closed++;
	snprintf(s->why, sizeof(s->why), "%s", why != NULL ? why : "(null)");
	forget(s->f, l);
}

static const struct olink_ops ops = {cb_ready, cb_message, cb_closed};

static void on_reply(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct call *c = arg;

	c->called++;
	c->order = ++c->f->seq;
	json_decref(c->reply);
	c->reply = reply != NULL ? json_incref(reply) : NULL;
	snprintf(c->err, sizeof(c->err), "%s", err != NULL ? err : "(null)");
	if (c->free_link) {
		forget(c->f, l);
		olink_free(l);
	}
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct fx *f = arg;
	struct olink *l;

	(void)lis, (void)sa, (void)salen;
	l = olink_accept(f->base, f->lis_ctx, fd, "127.0.0.1",
			 json_pack("{s:s,s:i}", "who", "server", "v", 1), &f->slim, &ops, &f->srv);
	assert_non_null(l);
	assert_true(f->nsl < MAX_SERVER_LINKS);
	f->sl[f->nsl++] = l;
	f->srv.l = l;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

static int setup(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct timeval tv = {0, 10 * 1000};

	f->base = event_base_new();
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(f->tick, &tv);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lis = evconnlistener_new_bind(f->base, on_accept, f,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
					 (struct sockaddr *)&a, sizeof(a));
	if (f->lis == NULL)
		return -1;
	getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&a, &len);
	f->port = ntohs(a.sin_port);
	f->lis_ctx = f->sctx;
	olink_limits_default(&f->slim);
	olink_limits_default(&f->clim);
	f->slim.hello_secs = 5;
	f->clim.hello_secs = 5;
	memset(&f->srv, 0, sizeof(f->srv));
	memset(&f->cli, 0, sizeof(f->cli));
	f->srv.f = f->cli.f = f;
	f->srv.expect_cert = f->ccert;
	f->cli.expect_cert = f->scert;
	f->nsl = 0;
	f->seq = 0;
	return 0;
}

static void side_clear(struct side *s)
{
	json_decref(s->hello);
	json_decref(s->last);
	for (size_t i = 0; i < s->nheld; i++)
		json_decref(s->held[i]);
	s->nheld = 0;
	s->hello = s->last = NULL;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	olink_free(f->cli.l);
	for (int i = 0; i < f->nsl; i++)
		olink_free(f->sl[i]);
	side_clear(&f->srv);
	side_clear(&f->cli);
	evconnlistener_free(f->lis);
	event_free(f->tick);
	event_base_free(f->base);
	f->base = NULL;
	return 0;
}

/* ---- helpers ---- */

static struct olink *connect_client(struct fx *f, SSL_CTX *ctx)
{
	char err[256] = "";

	f->cli.l = olink_connect(f->base, ctx, "127.0.0.1", f->port,
				 json_pack("{s:s}", "who", "client"), &f->clim, &ops, &f->cli, err,
				 sizeof(err));
	if (f->cli.l == NULL)
		fail_msg("olink_connect: %s", err);
	return f->cli.l;
}

static void connect_pair(struct fx *f)
{
	connect_client(f, f->cctx);
	RUN_UNTIL(f, f->cli.ready && f->srv.ready, 10000);
	assert_int_equal(f->cli.ready, 1);
	assert_int_equal(f->srv.ready, 1);
	assert_int_equal(f->cli.closed + f->srv.closed, 0);
}

static int request(struct fx *f, struct olink *l, struct call *c, int n, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->f = f;
	c->n = n;
	return olink_request(l, json_pack("{s:s,s:i}", "t", "echo", "n", n), timeout_ms, on_reply,
			     c);
}

static void call_clear(struct call *c)
{
	json_decref(c->reply);
	c->reply = NULL;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A TCP socket connected to the listener, blocking. */
static int tcp_to(struct fx *f)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(f->port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* A raw TLS client (our client certificate) that sends what a test says. */
struct raw {
	struct bufferevent *bev;
	int connected, ended;
};

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
	struct raw *r = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		r->connected = 1;
	else
		r->ended = 1;
}

static void raw_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void raw_open(struct fx *f, struct raw *r)
{
	int fd = tcp_to(f);

	memset(r, 0, sizeof(*r));
	evutil_make_socket_nonblocking(fd);
	r->bev = bufferevent_openssl_socket_new(f->base, fd, SSL_new(f->cctx),
						BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(r->bev);
	bufferevent_openssl_set_allow_dirty_shutdown(r->bev, 1);
	bufferevent_setcb(r->bev, raw_read, NULL, raw_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	RUN_UNTIL(f, r->connected || r->ended, 5000);
	assert_true(r->connected);
}

static void raw_send(struct raw *r, const void *bytes, size_t len)
{
	assert_int_equal(bufferevent_write(r->bev, bytes, len), 0);
}

static void raw_send_frame(struct raw *r, const char *body)
{
	uint32_t n = (uint32_t)strlen(body);
	uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	raw_send(r, hdr, 4);
	raw_send(r, body, n);
}

static void raw_close(struct raw *r)
{
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	r->bev = NULL;
}

/* ---- tests ---- */

static void test_hello_exchange_makes_both_sides_ready_with_peer_identity(void **state)
{
	struct fx *f = *state;
	uint8_t sid[NODE_ID_LEN], cid[NODE_ID_LEN];
	int marker;

	connect_client(f, f->cctx);
	assert_int_equal(olink_get_state(f->cli.l), OLINK_CONNECTING);
	RUN_UNTIL(f, f->cli.ready && f->srv.ready, 10000);
	assert_int_equal(f->cli.ready, 1);
	assert_int_equal(f->srv.ready, 1);

	/* Each side got the other's hello with "t" added. */
	assert_string_equal(json_string_value(json_object_get(f->cli.hello, "t")), "hello");
	assert_string_equal(json_string_value(json_object_get(f->cli.hello, "who")), "server");
	assert_int_equal(json_integer_value(json_object_get(f->cli.hello, "v")), 1);
	assert_string_equal(json_string_value(json_object_get(f->srv.hello, "t")), "hello");
	assert_string_equal(json_string_value(json_object_get(f->srv.hello, "who")), "client");

	/* The peer as its certificate says. */
	assert_int_equal(node_id_from_cert(f->scert, sid), 0);
	assert_int_equal(node_id_from_cert(f->ccert, cid), 0);
	assert_memory_equal(f->cli.peer.id.b, sid, NODE_ID_LEN);
	assert_string_equal(f->cli.peer.role, "supernode");
	assert_string_equal(f->cli.peer.name, "sn1");
	assert_string_equal(f->cli.peer.addr, "127.0.0.1");
	assert_true(f->cli.peer_cert_ok);
	assert_memory_equal(f->srv.peer.id.b, cid, NODE_ID_LEN);
	assert_string_equal(f->srv.peer.role, "user");
	assert_string_equal(f->srv.peer.name, "alice");
	assert_string_equal(f->srv.peer.addr, "127.0.0.1");
	assert_true(f->srv.peer_cert_ok);

	assert_int_equal(olink_get_state(f->cli.l), OLINK_READY);
	assert_int_equal(olink_get_state(f->srv.l), OLINK_READY);
	assert_int_equal(olink_frames_out(f->cli.l), 1);
	assert_int_equal(olink_frames_in(f->srv.l), 1);
	assert_int_equal(olink_frames_out(f->srv.l), 1);
	assert_int_equal(olink_frames_in(f->cli.l), 1);
	assert_int_equal(olink_pending(f->cli.l), 0);
	assert_ptr_equal(olink_get_arg(f->cli.l), &f->cli);
	olink_set_arg(f->cli.l, &marker);
	assert_ptr_equal(olink_get_arg(f->cli.l), &marker);
	olink_set_arg(f->cli.l, &f->cli);
}

static void test_pipelined_requests_are_all_answered(void **state)
{
	struct fx *f = *state;
	enum { N = 100 };
	struct call c[N];
	int done;

	/* A small frame limit: many frames arrive in one TLS record. */
	f->slim.frame_max = 256;
	f->clim.frame_max = 256;
	connect_pair(f);
	for (int i = 0; i < N; i++)
		assert_int_equal(request(f, f->cli.l, &c[i], i, 5000), 0);
	assert_int_equal(olink_pending(f->cli.l), N);
	RUN_UNTIL(f, f->seq == N, 10000);
	assert_int_equal(f->srv.messages, N);
	done = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(c[i].called, 1);
		assert_non_null(c[i].reply);
		assert_string_equal(c[i].err, "(null)");
		assert_string_equal(json_string_value(json_object_get(c[i].reply, "t")), "r");
		assert_true(json_is_true(json_object_get(c[i].reply, "ok")));
		assert_int_equal(json_integer_value(json_object_get(c[i].reply, "n")), i);
		done++;
		call_clear(&c[i]);
	}
	assert_int_equal(done, N);
	assert_int_equal(olink_pending(f->cli.l), 0);
	assert_int_equal(olink_frames_out(f->cli.l), N + 1);
	assert_int_equal(olink_frames_in(f->cli.l), N + 1);
}

static void test_replies_are_matched_out_of_order(void **state)
{
	struct fx *f = *state;
	enum { N = 20 };
	struct call c[N];
	json_int_t tids[N];

	connect_pair(f);
	f->srv.mode = HOLD;
	for (int i = 0; i < N; i++)
		assert_int_equal(request(f, f->cli.l, &c[i], i, 5000), 0);
	RUN_UNTIL(f, f->srv.nheld == N, 5000);
	assert_int_equal(f->srv.nheld, N);
	/* Each request has its own tid. */
	for (int i = 0; i < N; i++) {
		tids[i] = json_integer_value(json_object_get(f->srv.held[i], "tid"));
		assert_true(tids[i] > 0);
		for (int k = 0; k < i; k++)
			assert_true(tids[k] != tids[i]);
	}
	for (int i = N - 1; i >= 0; i--) {
		json_t *req = f->srv.held[i];
		assert_int_equal(olink_reply(f->srv.l, req,
					     json_pack("{s:O}", "n", json_object_get(req, "n"))),
				 0);
	}
	RUN_UNTIL(f, f->seq == N, 5000);
	for (int i = 0; i < N; i++) {
		assert_int_equal(c[i].called, 1);
		assert_int_equal(json_integer_value(json_object_get(c[i].reply, "n")), i);
		assert_int_equal(json_integer_value(json_object_get(c[i].reply, "tid")), tids[i]);
		/* Answered last first. */
		assert_int_equal(c[i].order, N - i);
		call_clear(&c[i]);
	}
}

static void test_stray_and_duplicate_replies_are_ignored(void **state)
{
	struct fx *f = *state;
	struct call c, probe;
	json_t *req;
	const char *strays[] = {"{\"t\":\"r\",\"tid\":0}",         "{\"t\":\"r\",\"tid\":-1}",
				"{\"t\":\"r\",\"tid\":4294967297}", "{\"t\":\"r\",\"tid\":\"1\"}",
				"{\"t\":\"r\"}",                    "{\"t\":\"r\",\"tid\":999}"};

	connect_pair(f);
	f->srv.mode = HOLD;
	assert_int_equal(request(f, f->cli.l, &c, 7, 5000), 0);
	RUN_UNTIL(f, f->srv.nheld == 1, 5000);
	req = f->srv.held[0];
	for (size_t i = 0; i < sizeof(strays) / sizeof(strays[0]); i++)
		assert_int_equal(olink_send(f->srv.l, json_loads(strays[i], 0, NULL)), 0);
	assert_int_equal(olink_reply(f->srv.l, req, json_pack("{s:i}", "n", 7)), 0);
	assert_int_equal(olink_reply(f->srv.l, req, json_pack("{s:i}", "n", 8)), 0);
	/* A second request answered after all that proves they were read. */
	f->srv.mode = ECHO;
	assert_int_equal(request(f, f->cli.l, &probe, 9, 5000), 0);
	RUN_UNTIL(f, probe.called, 5000);
	assert_int_equal(probe.called, 1);
	assert_int_equal(c.called, 1);
	assert_int_equal(json_integer_value(json_object_get(c.reply, "n")), 7);
	assert_int_equal(olink_get_state(f->cli.l), OLINK_READY);
	assert_int_equal(f->cli.messages, 0); /* replies never reach message() */
	call_clear(&c);
	call_clear(&probe);
}

static void test_reply_error_has_ok_false_code_and_text(void **state)
{
	struct fx *f = *state;
	struct call c;
	json_t *no_tid = json_pack("{s:s}", "t", "x");

	connect_pair(f);
	f->srv.mode = HOLD;
	assert_int_equal(request(f, f->cli.l, &c, 1, 5000), 0);
	RUN_UNTIL(f, f->srv.nheld == 1, 5000);
	assert_int_equal(olink_reply_error(f->srv.l, f->srv.held[0], "not_found", "no %s here (%d)",
					   "record", 42),
			 0);
	RUN_UNTIL(f, c.called, 5000);
	assert_int_equal(c.called, 1);
	assert_non_null(c.reply);
	assert_string_equal(c.err, "(null)"); /* an error reply is still a reply */
	assert_string_equal(json_string_value(json_object_get(c.reply, "t")), "r");
	assert_true(json_is_false(json_object_get(c.reply, "ok")));
	assert_string_equal(json_string_value(json_object_get(c.reply, "err")), "not_found");
	assert_string_equal(json_string_value(json_object_get(c.reply, "msg")), "no record here (42)");
	assert_int_equal(json_integer_value(json_object_get(c.reply, "tid")),
			 json_integer_value(json_object_get(f->srv.held[0], "tid")));
	call_clear(&c);
	/* There is nothing to answer without a tid. */
	assert_int_equal(olink_reply(f->srv.l, no_tid, json_object()), -1);
	assert_int_equal(olink_reply_error(f->srv.l, no_tid, "x", "y"), -1);
	json_decref(no_tid);
}

static void test_one_way_messages_go_both_ways(void **state)
{
	struct fx *f = *state;

	connect_pair(f);
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s,s:i}", "t", "note", "x", 1)), 0);
	RUN_UNTIL(f, f->srv.messages == 1, 5000);
	assert_int_equal(f->srv.messages, 1);
	assert_string_equal(json_string_value(json_object_get(f->srv.last, "t")), "note");
	assert_null(json_object_get(f->srv.last, "tid"));
	assert_int_equal(olink_pending(f->cli.l), 0);

	assert_int_equal(olink_send(f->srv.l, json_pack("{s:s,s:s}", "t", "push", "v", "hi")), 0);
	RUN_UNTIL(f, f->cli.messages == 1, 5000);
	assert_int_equal(f->cli.messages, 1);
	assert_string_equal(json_string_value(json_object_get(f->cli.last, "v")), "hi");
	/* Nobody answered anything. */
	assert_int_equal(f->srv.messages, 1);
}

static void test_request_timeout_reports_timed_out_and_ignores_the_late_reply(void **state)
{
	struct fx *f = *state;
	struct call c, probe;
	uint64_t start;

	connect_pair(f);
	f->srv.mode = HOLD;
	start = time_mono_ms();
	assert_int_equal(request(f, f->cli.l, &c, 1, 200), 0);
	RUN_UNTIL(f, c.called, 5000);
	assert_int_equal(c.called, 1);
	assert_true(time_mono_ms() - start >= 190);
	assert_null(c.reply);
	assert_string_equal(c.err, "timed out");
	assert_int_equal(olink_pending(f->cli.l), 0);
	assert_int_equal(f->srv.nheld, 1);

	/* The answer comes too late. */
	assert_int_equal(olink_reply(f->srv.l, f->srv.held[0], json_pack("{s:i}", "n", 1)), 0);
	f->srv.mode = ECHO;
	assert_int_equal(request(f, f->cli.l, &probe, 2, 5000), 0);
	RUN_UNTIL(f, probe.called, 5000);
	assert_int_equal(probe.called, 1);
	assert_int_equal(json_integer_value(json_object_get(probe.reply, "n")), 2);
	assert_int_equal(c.called, 1);
	assert_null(c.reply);
	assert_int_equal(olink_get_state(f->cli.l), OLINK_READY);
	call_clear(&probe);
}

static void test_rate_limit_answers_busy_beyond_the_burst(void **state)
{
	struct fx *f = *state;
	enum { N = 6 };
	struct call c[N], last;
	int ok = 0, busy = 0;

	f->slim.rate = 1;
	f->slim.burst = 3;
	connect_pair(f);
	for (int i = 0; i < N; i++)
		assert_int_equal(request(f, f->cli.l, &c[i], i, 5000), 0);
	/* One-way messages beyond the burst are dropped without a word. */
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s}", "t", "note")), 0);
	assert_int_equal(request(f, f->cli.l, &last, 99, 5000), 0);
	RUN_UNTIL(f, last.called, 5000);
	for (int i = 0; i < N; i++) {
		assert_int_equal(c[i].called, 1);
		assert_non_null(c[i].reply);
		if (json_is_true(json_object_get(c[i].reply, "ok"))) {
			ok++;
			assert_int_equal(json_integer_value(json_object_get(c[i].reply, "n")), i);
		} else {
			busy++;
			assert_string_equal(json_string_value(json_object_get(c[i].reply, "err")),
					    "busy");
			assert_non_null(json_string_value(json_object_get(c[i].reply, "msg")));
		}
		call_clear(&c[i]);
	}
	assert_int_equal(ok, 3);
	assert_int_equal(busy, 3);
	/* The first three got through. */
	assert_int_equal(f->srv.messages, 3);
	assert_true(json_is_false(json_object_get(last.reply, "ok")));
	call_clear(&last);
	assert_int_equal(olink_get_state(f->cli.l), OLINK_READY);
}

static void test_lowering_the_rate_caps_the_burst_at_once(void **state)
{
	struct fx *f = *state;
	enum { N = 4 };
	struct call c[N];
	int ok = 0;

	f->slim.rate = 100;
	f->slim.burst = 100;
	connect_pair(f);
	olink_set_rate(f->srv.l, 1, 2);
	for (int i = 0; i < N; i++)
		assert_int_equal(request(f, f->cli.l, &c[i], i, 5000), 0);
	RUN_UNTIL(f, f->seq == N, 5000);
	for (int i = 0; i < N; i++) {
		assert_int_equal(c[i].called, 1);
		ok += json_is_true(json_object_get(c[i].reply, "ok"));
		call_clear(&c[i]);
	}
	assert_int_equal(ok, 2);
	assert_int_equal(f->srv.messages, 2);
}

static void test_frame_over_the_limit_closes_the_receiving_link(void **state)
{
	struct fx *f = *state;
	char *big = malloc(2001);

	json_t *exact;
	char *text;

	f->slim.frame_max = 1024;
	connect_pair(f);
	/* A body of exactly frame_max bytes passes. */
	memset(big, 'x', 2000);
	big[1024 - strlen("{\"t\":\"note\",\"pad\":\"\"}")] = '\0';
	exact = json_pack("{s:s,s:s}", "t", "note", "pad", big);
	text = json_dumps(exact, JSON_COMPACT);
	assert_int_equal(strlen(text), 1024);
	free(text);
	assert_int_equal(olink_send(f->cli.l, exact), 0);
	RUN_UNTIL(f, f->srv.messages == 1, 5000);
	assert_int_equal(f->srv.messages, 1);
	assert_int_equal(f->srv.closed, 0);
	/* Anything longer closes the link. */
	memset(big, 'x', 2000);
	big[2000] = '\0';
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s,s:s}", "t", "note", "pad", big)), 0);
	RUN_UNTIL(f, f->srv.closed && f->cli.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_contains(f->srv.why, "out of range");
	assert_contains(f->srv.why, "1024");
	assert_int_equal(f->srv.messages, 1);
	assert_int_equal(f->cli.closed, 1);
	assert_null(f->srv.l);
	assert_null(f->cli.l);
	free(big);
}

static void test_frame_over_the_senders_limit_is_not_sent(void **state)
{
	struct fx *f = *state;
	char *big = malloc(2001);
	struct call c;

	f->clim.frame_max = 1024;
	connect_pair(f);
	memset(big, 'x', 2000);
	big[2000] = '\0';
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s,s:s}", "t", "note", "pad", big)), -1);
	memset(&c, 0, sizeof(c));
	c.f = f;
	assert_int_equal(olink_request(f->cli.l, json_pack("{s:s}", "pad", big), 1000, on_reply, &c),
			 -1);
	assert_int_equal(olink_pending(f->cli.l), 0);
	/* The link carries on. */
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s}", "t", "small")), 0);
	RUN_UNTIL(f, f->srv.messages == 1, 5000);
	assert_int_equal(f->srv.messages, 1);
	assert_string_equal(json_string_value(json_object_get(f->srv.last, "t")), "small");
	assert_int_equal(c.called, 0);
	free(big);
}

static void test_peer_that_never_says_hello_is_closed(void **state)
{
	struct fx *f = *state;
	struct raw r;
	int plain;
	uint64_t start;

	f->slim.hello_secs = 1;
	start = time_mono_ms();
	raw_open(f, &r);   /* TLS done, then silence */
	plain = tcp_to(f); /* not even TLS */
	RUN_UNTIL(f, f->srv.closed == 2, 5000);
	assert_int_equal(f->srv.closed, 2);
	assert_int_equal(f->srv.ready, 0);
	assert_string_equal(f->srv.why, "handshake or hello timed out");
	assert_true(time_mono_ms() - start >= 900);
	RUN_UNTIL(f, r.ended, 2000);
	assert_true(r.ended);
	raw_close(&r);
	close(plain);
}

static void expect_first_frame_closes(struct fx *f, const void *bytes, size_t len,
				      const char *want)
{
	struct raw r;

	memset(&f->srv, 0, sizeof(f->srv));
	f->srv.f = f;
	raw_open(f, &r);
	raw_send(&r, bytes, len);
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_int_equal(f->srv.ready, 0);
	assert_int_equal(f->srv.messages, 0);
	assert_contains(f->srv.why, want);
	raw_close(&r);
}

static void test_hostile_first_frames_close_the_link(void **state)
{
	struct fx *f = *state;
	struct {
		const char *body;
		const char *why;
	} cases[] = {
		{"{\"t\":\"req\",\"tid\":1}", "expected hello"},
		{"{\"hello\":1}", "frame without a type"},
		{"{\"t\":5}", "frame without a type"},
		{"{\"t\":", "bad JSON"},
		{"[\"hello\"]", "not a JSON object"},
		{"{\"t\":\"hello\",\"t\":\"hello\"}", "duplicate"},
		{"{\"t\":\"hello\"}", "another protocol version"},
		{"{\"t\":\"hello\",\"v\":2}", "another protocol version"},
	};
	uint8_t zero[4] = {0, 0, 0, 0};
	uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t n = (uint32_t)strlen(cases[i].body);
		uint8_t buf[128] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
				    (uint8_t)n};
		memcpy(buf + 4, cases[i].body, n);
		expect_first_frame_closes(f, buf, 4 + n, cases[i].why);
	}
	expect_first_frame_closes(f, zero, 4, "frame length 0");
	/* Only a header, announcing 2 GB. */
	expect_first_frame_closes(f, huge, 4, "out of range");
}

static void test_hostile_frames_after_hello_close_the_link(void **state)
{
	struct fx *f = *state;
	struct raw r;

	f->srv.mode = IGNORE;
	raw_open(f, &r);
	raw_send_frame(&r, "{\"t\":\"hello\",\"v\":1}");
	RUN_UNTIL(f, f->srv.ready, 5000);
	assert_int_equal(f->srv.ready, 1);
	/* A request without a tid is a one-way message; fine. */
	raw_send_frame(&r, "{\"t\":\"x\"}");
	RUN_UNTIL(f, f->srv.messages == 1, 5000);
	assert_int_equal(f->srv.messages, 1);
	raw_send_frame(&r, "{\"no\":\"type\"}");
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_string_equal(f->srv.why, "frame without a type");
	raw_close(&r);
}

static void test_garbage_instead_of_tls_closes_the_link(void **state)
{
	struct fx *f = *state;
	int fd = tcp_to(f);
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	assert_int_equal(write(fd, http, strlen(http)), (ssize_t)strlen(http));
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_int_equal(f->srv.ready, 0);
	assert_true(f->srv.why[0] != '\0');
	close(fd);
}

static void test_free_inside_message_callback_is_safe(void **state)
{
	struct fx *f = *state;
	struct call c;

	connect_pair(f);
	f->srv.mode = FREE_ON_MESSAGE;
	/* Three frames likely read at once: the two after the free are dropped. */
	assert_int_equal(request(f, f->cli.l, &c, 1, 5000), 0);
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s}", "t", "a")), 0);
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s}", "t", "b")), 0);
	RUN_UNTIL(f, f->cli.closed, 5000);
	assert_int_equal(f->srv.messages, 1);
	assert_int_equal(f->srv.closed, 0); /* never after olink_free */
	assert_int_equal(f->cli.closed, 1);
	/* The client's request failed with the link. */
	assert_int_equal(c.called, 1);
	assert_null(c.reply);
	assert_true(c.err[0] != '\0');
}

static void test_free_inside_reply_callback_fails_the_other_requests(void **state)
{
	struct fx *f = *state;
	struct call c[3];

	connect_pair(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(request(f, f->cli.l, &c[i], i, 5000), 0);
	c[0].free_link = 1;
	RUN_UNTIL(f, c[0].called && c[1].called && c[2].called, 5000);
	assert_int_equal(c[0].called, 1);
	assert_non_null(c[0].reply);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(c[i].called, 1);
		assert_null(c[i].reply);
		assert_string_equal(c[i].err, "link closed");
	}
	assert_null(f->cli.l);
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_int_equal(f->cli.closed, 0);
	call_clear(&c[0]);
}

static void test_free_inside_ready_callback_is_safe(void **state)
{
	struct fx *f = *state;

	f->cli.free_in_ready = 1;
	connect_client(f, f->cctx);
	RUN_UNTIL(f, f->cli.ready && f->srv.closed, 5000);
	assert_int_equal(f->cli.ready, 1);
	assert_null(f->cli.l);
	assert_int_equal(f->cli.closed, 0);
	assert_int_equal(f->srv.closed, 1);
}

static void test_free_inside_timeout_callback_releases_the_link(void **state)
{
	struct fx *f = *state;
	struct call c;
	int before = open_fds();

	/* Regression (fixed): common/olink.c:124-132 (on_req_timeout) runs the reply callback
	 * through pend_done (olink.c:112), which raises and lowers l->busy,
	 * but never calls release(l) afterwards. An olink_free from inside a "timed out"
	 * callback therefore only marks the link freed (busy was 1): the
	 * struct, its bufferevent and its socket are never released. Every
	 * other callback path (on_read, on_event, on_tcp, on_hello_timeout,
	 * on_deferred_close) ends with release(l). */
	connect_pair(f);
	f->srv.mode = HOLD;
	assert_int_equal(request(f, f->cli.l, &c, 1, 100), 0);
	c.free_link = 1;
	RUN_UNTIL(f, c.called, 5000);
	assert_int_equal(c.called, 1);
	assert_string_equal(c.err, "timed out");
	assert_null(f->cli.l);
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	/* Let libevent finalise the freed bufferevents. */
	RUN_UNTIL(f, 0, 100);
	assert_int_equal(open_fds(), before);
}

static void test_free_fails_pending_requests_with_null_reply(void **state)
{
	struct fx *f = *state;
	struct call c[3];
	struct olink *l;

	connect_pair(f);
	f->srv.mode = HOLD;
	for (int i = 0; i < 3; i++)
		assert_int_equal(request(f, f->cli.l, &c[i], i, 5000), 0);
	RUN_UNTIL(f, f->srv.nheld == 3, 5000);
	l = f->cli.l;
	f->cli.l = NULL;
	olink_free(l);
	/* At once, from inside olink_free. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i].called, 1);
		assert_null(c[i].reply);
		assert_string_equal(c[i].err, "link closed");
	}
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_string_equal(f->srv.why, "connection closed");
	assert_int_equal(f->cli.closed, 0);
	/* The server's answers have nowhere to go. */
	olink_free(NULL);
}

static void test_client_of_another_ca_fails_the_handshake(void **state)
{
	struct fx *f = *state;

	connect_client(f, f->foreign_cctx);
	RUN_UNTIL(f, f->cli.closed && f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_int_equal(f->cli.closed, 1);
	assert_int_equal(f->srv.ready, 0);
	assert_int_equal(f->cli.ready, 0);
	assert_true(f->srv.why[0] != '\0');
	assert_true(f->cli.why[0] != '\0');
}

static void test_report_mode_server_refuses_a_client_of_another_ca(void **state)
{
	struct fx *f = *state;

	/* The handshake completes, the verify result does not pass. */
	f->lis_ctx = f->report_sctx;
	connect_client(f, f->foreign_cctx);
	RUN_UNTIL(f, f->cli.closed && f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_int_equal(f->srv.ready, 0);
	assert_string_equal(f->srv.why, "peer certificate unusable");
	assert_int_equal(f->cli.ready, 0);
}

static void test_client_refuses_a_server_of_another_ca(void **state)
{
	struct fx *f = *state;

	f->lis_ctx = f->foreign_sctx;
	connect_client(f, f->cctx);
	RUN_UNTIL(f, f->cli.closed && f->srv.closed, 5000);
	assert_int_equal(f->cli.closed, 1);
	assert_int_equal(f->cli.ready, 0);
	assert_int_equal(f->srv.ready, 0);
	assert_contains(f->cli.why, "certificate verify failed");
}

static void test_ready_returning_minus_one_refuses_the_peer(void **state)
{
	struct fx *f = *state;

	f->srv.refuse = 1;
	connect_client(f, f->cctx);
	RUN_UNTIL(f, f->srv.closed && f->cli.closed, 5000);
	assert_int_equal(f->srv.ready, 1);
	assert_int_equal(f->srv.closed, 1);
	assert_string_equal(f->srv.why, "peer refused");
	assert_int_equal(f->cli.closed, 1);
}

static void test_output_backlog_closes_from_the_loop(void **state)
{
	struct fx *f = *state;
	char *big = malloc(8001);
	struct call c;

	/* Above a hello (whose record may still wait for the socket), below
	 * the frame sent next. */
	f->clim.outbuf_max = 4096;
	connect_pair(f);
	memset(big, 'x', 8000);
	big[8000] = '\0';
	memset(&c, 0, sizeof(c));
	c.f = f;
	assert_int_equal(olink_request(f->cli.l, json_pack("{s:s}", "pad", big), 1000, on_reply, &c),
			 -1);
	/* Not from inside the send. */
	assert_int_equal(f->cli.closed, 0);
	assert_int_equal(olink_pending(f->cli.l), 0);
	assert_int_equal(olink_send(f->cli.l, json_pack("{s:s}", "t", "x")), -1);
	RUN_UNTIL(f, f->cli.closed, 5000);
	assert_int_equal(f->cli.closed, 1);
	assert_string_equal(f->cli.why, "peer does not read (output backlog)");
	RUN_UNTIL(f, 0, 100);
	assert_int_equal(c.called, 0);
	free(big);
}

static void test_idle_link_is_closed(void **state)
{
	struct fx *f = *state;
	uint64_t start;

	f->slim.idle_secs = 1;
	connect_pair(f);
	start = time_mono_ms();
	RUN_UNTIL(f, f->srv.closed, 5000);
	assert_int_equal(f->srv.closed, 1);
	assert_string_equal(f->srv.why, "idle timeout");
	assert_true(time_mono_ms() - start >= 500);
	RUN_UNTIL(f, f->cli.closed, 5000);
	assert_int_equal(f->cli.closed, 1);
}

static void test_connect_failures_are_reported(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	uint16_t port;
	struct olink *l;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);

	/* A bad host name fails at once, and the hello is not leaked. */
	l = olink_connect(f->base, f->cctx, "bad host!", port, json_object(), &f->clim, &ops,
			  &f->cli, err, sizeof(err));
	assert_null(l);
	assert_contains(err, "bad host!");

	/* A closed port is reported through closed(). */
	f->cli.l = olink_connect(f->base, f->cctx, "127.0.0.1", port, json_object(), &f->clim,
				 &ops, &f->cli, err, sizeof(err));
	assert_non_null(f->cli.l);
	/* Nothing can be sent yet. */
	assert_int_equal(olink_send(f->cli.l, json_object()), -1);
	assert_int_equal(olink_request(f->cli.l, json_object(), 1000, on_reply, NULL), -1);
	assert_int_equal(olink_outbuf(f->cli.l), 0);
	RUN_UNTIL(f, f->cli.closed, 5000);
	assert_int_equal(f->cli.closed, 1);
	assert_string_equal(f->cli.why, "Connection refused");
	assert_int_equal(f->cli.ready, 0);
}

static void test_free_while_connecting_calls_nothing_back(void **state)
{
	struct fx *f = *state;
	struct olink *l = connect_client(f, f->cctx);

	f->cli.l = NULL;
	olink_free(l);
	RUN_UNTIL(f, 0, 200);
	assert_int_equal(f->cli.ready + f->cli.closed, 0);
	/* The server saw at most a connection that went away. */
	assert_int_equal(f->srv.ready, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hello_exchange_makes_both_sides_ready_with_peer_identity),
		T(test_pipelined_requests_are_all_answered),
		T(test_replies_are_matched_out_of_order),
		T(test_stray_and_duplicate_replies_are_ignored),
		T(test_reply_error_has_ok_false_code_and_text),
		T(test_one_way_messages_go_both_ways),
		T(test_request_timeout_reports_timed_out_and_ignores_the_late_reply),
		T(test_rate_limit_answers_busy_beyond_the_burst),
		T(test_lowering_the_rate_caps_the_burst_at_once),
		T(test_frame_over_the_limit_closes_the_receiving_link),
		T(test_frame_over_the_senders_limit_is_not_sent),
		T(test_peer_that_never_says_hello_is_closed),
		T(test_hostile_first_frames_close_the_link),
		T(test_hostile_frames_after_hello_close_the_link),
		T(test_garbage_instead_of_tls_closes_the_link),
		T(test_free_inside_message_callback_is_safe),
		T(test_free_inside_reply_callback_fails_the_other_requests),
		T(test_free_inside_ready_callback_is_safe),
		T(test_free_inside_timeout_callback_releases_the_link),
		T(test_free_fails_pending_requests_with_null_reply),
		T(test_client_of_another_ca_fails_the_handshake),
		T(test_report_mode_server_refuses_a_client_of_another_ca),
		T(test_client_refuses_a_server_of_another_ca),
		T(test_ready_returning_minus_one_refuses_the_peer),
		T(test_output_backlog_closes_from_the_loop),
		T(test_idle_link_is_closed),
		T(test_connect_failures_are_reported),
		T(test_free_while_connecting_calls_nothing_back),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
