/* on_auth: digest credentials parsed, responses against the RFC 2617 and RFC
 * 7616 (RFC 8760's SHA-256) examples, and the decisions on parsed requests:
 * challenges (401 for REGISTER, 407 for the rest), nonces that expire
 * (stale) and whose nonce-count must grow, wrong password, realm, uri and
 * user, requests that are not challenged, failures blocking a source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

#include <sofia-sip/sip_header.h>

static int parse(const char *s, struct on_digest *d)
{
	return on_digest_parse((const uint8_t *)s, strlen(s), d);
}

static void test_parse(void **state)
{
	struct on_digest d;

	(void)state;
	assert_int_equal(parse("Digest username=\"alice\",realm=\"o.example\", nonce=\"n1\", "
			       "uri=\"sip:o.example\", response=\"abc\", algorithm=SHA-256, "
			       "qop=auth, nc=00000001, cnonce=\"c\\\"1\", extra=\"x\"",
			       &d),
			 0);
	assert_string_equal(d.username, "alice");
	assert_string_equal(d.realm, "o.example");
	assert_string_equal(d.uri, "sip:o.example");
	assert_string_equal(d.algorithm, "SHA-256");
	assert_string_equal(d.qop, "auth");
	assert_string_equal(d.nc, "00000001");
	assert_string_equal(d.cnonce, "c\"1");
	/* not Digest, a field missing or twice, an open quote, junk */
	assert_int_equal(parse("Basic YWxpY2U6eA==", &d), -1);
	assert_int_equal(parse("Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"", &d),
			 -1);
	assert_int_equal(parse("Digest username=a, username=b, realm=r, nonce=n, uri=u, "
			       "response=r",
			       &d),
			 -1);
	assert_int_equal(parse("Digest username=\"a, realm=r, nonce=n, uri=u, response=r", &d), -1);
	assert_int_equal(parse("Digest username=a realm=r", &d), -1);
	assert_int_equal(parse("Digest =a", &d), -1);
	assert_int_equal(parse("Digest username=a\x01, realm=r, nonce=n, uri=u, response=r", &d),
			 -1);
	assert_int_equal(parse("", &d), -1);
}

static void test_too_long(void **state)
{
	char buf[ON_DIGEST_TEXT_MAX + 64];
	struct on_digest d;

	(void)state;
	snprintf(buf, sizeof(buf),
		 "Digest username=\"%0200d\", realm=r, nonce=n, uri=u, response=r", 0);
	assert_int_equal(parse(buf, &d), -1); /* username over its 128 bytes */
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	memcpy(buf, "Digest ", 7);
	assert_int_equal(parse(buf, &d), -1);
}

/* RFC 2617 3.5 and RFC 7616 3.9.1. */
static void test_vectors(void **state)
{
	struct on_digest d = {.username = "Mufasa",
			      .realm = "testrealm@host.com",
			      .nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093",
			      .uri = "/dir/index.html",
			      .cnonce = "0a4f113b",
			      .qop = "auth",
			      .nc = "00000001"};
	char out[ON_DIGEST_HEX_MAX];

	(void)state;
	assert_int_equal(on_digest_expected(ON_DIGEST_MD5, "Circle Of Life", "GET", &d, out), 0);
	assert_string_equal(out, "6629fae49393a05397450978507c4ef1");

	strcpy(d.realm, "http-auth@example.org");
	strcpy(d.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	strcpy(d.cnonce, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
	assert_int_equal(on_digest_expected(ON_DIGEST_MD5, "Circle of Life", "GET", &d, out), 0);
	assert_string_equal(out, "8ca523f5e9506fed4657c9700eebdbec");
	assert_int_equal(on_digest_expected(ON_DIGEST_SHA256, "Circle of Life", "GET", &d, out), 0);
	assert_string_equal(out,
			    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* ---- decisions on parsed requests ---- */

#define REALM "overlay.example"
#define IP "192.0.2.9"
#define T0 1000000

static struct on_auth *table(void)
{
	struct on_auth_params p = {REALM, 3, {ON_DIGEST_SHA256, ON_DIGEST_MD5}, 2, 300, 600,
				   600,   3};
	struct on_auth_user u[2] = {{"alice", "alice-pw"}, {"bob", "bob-pw"}};

	return on_auth_new(&p, u, 2);
}

/* A fresh nonce, as a challenge gives it. */
static void nonce_of(struct on_auth *a, uint64_t now, char *nonce)
{
	char ch[2][ON_CHALLENGE_MAX];
	const char *p;

	assert_int_equal(on_auth_challenges(a, 0, now, ch, 2), 2);
	assert_non_null(strstr(ch[0], "algorithm=SHA-256"));
	assert_non_null(strstr(ch[1], "algorithm=MD5"));
	assert_non_null(strstr(ch[0], "qop=\"auth\""));
	p = strstr(ch[0], "nonce=\"");
	assert_non_null(p);
	sscanf(p + 7, "%39[^\"]", nonce);
}

struct req {
	const char *method, *ruri, *from, *to, *call_id;
	const char *user, *pw, *realm, *uri, *nonce, *nc, *alg;
};

/* The request, with credentials when r->user is set. */
static msg_t *build(const struct req *r)
{
	char buf[8192], cred[2048] = "", resp[ON_DIGEST_HEX_MAX];
	enum on_digest_alg alg = ON_DIGEST_MD5;
	int reg = strcmp(r->method, "REGISTER") == 0;
	msg_t *m;

	if (r->user != NULL) {
		struct on_digest d = {0};
		snprintf(d.username, sizeof(d.username), "%s", r->user);
		snprintf(d.realm, sizeof(d.realm), "%s", r->realm ? r->realm : REALM);
		snprintf(d.nonce, sizeof(d.nonce), "%s", r->nonce);
		snprintf(d.uri, sizeof(d.uri), "%s", r->uri ? r->uri : r->ruri);
		snprintf(d.nc, sizeof(d.nc), "%s", r->nc ? r->nc : "00000001");
		strcpy(d.cnonce, "c0ffee");
		strcpy(d.qop, "auth");
		if (r->alg != NULL)
			on_digest_alg_parse(r->alg, &alg);
		on_digest_expected(alg, r->pw, r->method, &d, resp);
		snprintf(cred, sizeof(cred),
			 "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=%s, qop=auth, nc=%s, cnonce=\"%s\"\r\n",
			 reg ? "Authorization" : "Proxy-Authorization", d.username, d.realm,
			 d.nonce, d.uri, resp, on_digest_alg_name(alg), d.nc, d.cnonce);
	}
	snprintf(buf, sizeof(buf),
		 "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP " IP ":5070;branch=z9hG4bK1\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:%s@" REALM ">;tag=1\r\nTo: <sip:%s@" REALM ">\r\n"
		 "Call-ID: %s\r\nCSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n",
		 r->method, r->ruri, r->from, r->to, r->call_id ? r->call_id : "c1", r->method,
		 cred);
	m = msg_make(sip_default_mclass(), 0, buf, strlen(buf));
	assert_non_null(m);
	assert_null(sip_object(m)->sip_error);
	return m;
}

static int check(struct on_auth *a, const struct req *r, uint64_t now, struct on_auth_result *res)
{
	msg_t *m = build(r);
	int st = on_auth_check(a, sip_object(m), IP, now, res);

	msg_destroy(m);
	return st;
}

static uint64_t failures(struct on_auth *a)
{
	struct on_auth_counts c;

	on_auth_counts(a, &c);
	return c.failed;
}

static void test_register(void **state)
{
	struct on_auth *a = table();
	struct on_auth_result res;
	char nonce[ON_NONCE_BUF];
	struct req r = {.method = "REGISTER",
			.ruri = "sip:" REALM,
			.from = "alice",
			.to = "alice",
			.pw = "alice-pw"};

	(void)state;
	assert_int_equal(check(a, &r, T0, &res), 401); /* no credentials */
	assert_false(res.stale);
	nonce_of(a, T0, nonce);
	r.user = "alice", r.nonce = nonce;
	assert_int_equal(check(a, &r, T0, &res), 0);
	assert_string_equal(res.user, "alice");
	/* the same nonce-count again: a replay */
	assert_int_equal(check(a, &r, T0 + 1, &res), 401);
	assert_int_equal(failures(a), 1);
	r.nc = "00000002", r.alg = "SHA-256";
	assert_int_equal(check(a, &r, T0 + 2, &res), 0);
	/* an old nonce with the right password: stale */
	r.nc = "00000003";
	assert_int_equal(check(a, &r, T0 + 301 * 1000, &res), 401);
	assert_true(res.stale);
	/* a nonce we never gave, right password: stale too */
	r.nonce = "0001deadbeefdeadbeefdeadbeefdeadbeef";
	assert_int_equal(check(a, &r, T0 + 3, &res), 401);
	assert_true(res.stale);
	assert_int_equal(failures(a), 1);
	on_auth_free(a);
}

static void test_refusals(void **state)
{
	struct on_auth *a = table();
	struct on_auth_result res;
	char nonce[ON_NONCE_BUF];
	struct req r = {.method = "REGISTER",
			.ruri = "sip:" REALM,
			.from = "alice",
			.to = "alice",
			.user = "alice",
			.pw = "wrong"};

	(void)state;
	nonce_of(a, T0, nonce);
	r.nonce = nonce;
	assert_int_equal(check(a, &r, T0, &res), 403); /* wrong password */
	r.pw = "alice-pw", r.realm = "other.example";
	assert_int_equal(check(a, &r, T0, &res), 401); /* not our realm: a challenge */
	r.realm = NULL, r.uri = "sip:elsewhere.example";
	assert_int_equal(check(a, &r, T0, &res), 403); /* not the Request-URI */
	r.uri = NULL, r.to = "bob", r.from = "bob";
	assert_int_equal(check(a, &r, T0, &res), 403); /* alice registering bob */
	assert_int_equal(failures(a), 3);
	on_auth_free(a);
	a = table();
	nonce_of(a, T0, nonce);
	/* alice calling as bob; then as herself */
	struct req inv = {.method = "INVITE",
			  .ruri = "sip:carol@" REALM,
			  .from = "bob",
			  .to = "carol",
			  .call_id = "c2",
			  .user = "alice",
			  .pw = "alice-pw",
			  .nonce = nonce};
	assert_int_equal(check(a, &inv, T0, &res), 403);
	inv.from = "alice", inv.nc = "00000002";
	assert_int_equal(check(a, &inv, T0, &res), 0);
	/* a user that is not an account */
	inv.user = "mallory", inv.from = "mallory", inv.nc = "00000003";
	assert_int_equal(check(a, &inv, T0, &res), 403);
	on_auth_free(a);
}

static void test_not_challenged(void **state)
{
	struct on_auth *a = table();
	struct on_auth_result res;
	struct req r = {.method = "INVITE",
			.ruri = "sip:bob@" REALM,
			.from = "alice",
			.to = "bob",
			.call_id = "dlg1"};

	(void)state;
	assert_int_equal(check(a, &r, T0, &res), 407);
	r.method = "ACK";
	assert_int_equal(check(a, &r, T0, &res), 0);
	r.method = "CANCEL";
	assert_int_equal(check(a, &r, T0, &res), 0);
	/* a To tag does not make a request part of a dialog we know */
	msg_t *m = build(&(struct req){.method = "BYE",
				       .ruri = "sip:bob@" REALM,
				       .from = "alice",
				       .to = "bob",
				       .call_id = "dlg1"});
	sip_to_tag(msg_home(m), sip_object(m)->sip_to, "9");
	assert_int_equal(on_auth_check(a, sip_object(m), IP, T0, &res), 407);
	on_auth_dialog_add(a, "dlg1");
	assert_int_equal(on_auth_check(a, sip_object(m), IP, T0, &res), 0);
	msg_destroy(m);
	on_auth_free(a);
}

static void test_blocking(void **state)
{
	struct on_auth *a = table();
	struct on_auth_result res;
	char nonce[ON_NONCE_BUF];
	struct req r = {.method = "REGISTER",
			.ruri = "sip:" REALM,
			.from = "alice",
			.to = "alice",
			.user = "alice",
			.pw = "bad"};

	(void)state;
	nonce_of(a, T0, nonce);
	r.nonce = nonce;
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(a, &r, T0 + (uint64_t)i, &res), 403);
	assert_true(on_auth_is_blocked(a, IP, T0 + 10));
	assert_false(on_auth_is_blocked(a, "192.0.2.10", T0 + 10));
	r.pw = "alice-pw";
	assert_int_equal(check(a, &r, T0 + 10, &res), 403); /* right, but blocked */
	struct on_auth_counts c;
	on_auth_counts(a, &c);
	assert_int_equal(c.challenged, 1); /* nonce_of's */
	assert_int_equal(c.failed, 3);
	assert_int_equal(c.blocked, 1);
	assert_int_equal(c.refused, 1);
	assert_false(on_auth_is_blocked(a, IP, T0 + 601 * 1000));
	r.nc = "00000002";
	nonce_of(a, T0 + 601 * 1000, nonce);
	assert_int_equal(check(a, &r, T0 + 601 * 1000, &res), 0);
	/* IPv6: one /64 is one source */
	for (int i = 0; i < 3; i++)
		on_auth_failed(a, i ? "2001:db8::1" : "2001:db8::2", "x", "test", T0);
	assert_true(on_auth_is_blocked(a, "2001:db8::ffff", T0 + 1));
	assert_false(on_auth_is_blocked(a, "2001:db8:0:1::1", T0 + 1));
	on_auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),    cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_vectors),  cmocka_unit_test(test_register),
		cmocka_unit_test(test_refusals), cmocka_unit_test(test_not_challenged),
		cmocka_unit_test(test_blocking),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
