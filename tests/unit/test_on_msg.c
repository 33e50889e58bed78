/* on_msg: the messages the proxy builds, on requests parsed by sofia-sip:
 * the forwarded copy (our Route entries off, Max-Forwards counted down,
 * Record-Route per transport, one or two entries), the Request-URI, our
 * overlay Via, the responses it makes itself and the CANCEL of an INVITE
 * (with an nta agent that binds no transport). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"
#include "sipev.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tag.h>

#define SELF "00112233445566778899aabbccddeeff"
#define SN "0123456789abcdef0123456789abcdef"
#define OTHER "ffeeddccbbaa99887766554433221100"

static const struct on_self self = {
	SELF, "127.0.0.1:5060", "overlay.example", "alice", SN, "192.0.2.1", 7000, "127.0.0.1:5061",
	0};

static msg_t *parse(const char *text)
{
	msg_t *m = msg_make(sip_default_mclass(), 0, text, strlen(text));

	assert_non_null(m);
	assert_null(sip_object(m)->sip_error);
	return m;
}

static msg_t *invite(const char *to_tag, const char *extra)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "INVITE sip:bob@overlay.example SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
		 "From: <sip:alice@overlay.example>;tag=1\r\n"
		 "To: <sip:bob@overlay.example>%s\r\n"
		 "Call-ID: c1\r\n"
		 "CSeq: 5 INVITE\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 to_tag, extra);
	return parse(buf);
}

/* The value of header h (this one only), in buf. */
static const char *header(msg_t *m, const void *h, char *buf, size_t len)
{
	char *end;

	(void)m;
	assert_non_null(h);
	sip_header_e(buf, len, (sip_header_t const *)h, 0);
	if ((end = strstr(buf, "\r\n")) != NULL)
		*end = '\0';
	assert_int_equal(strncmp(buf, "Record-Route: ", 14), 0);
	return buf + 14;
}

static void test_max_forwards(void **state)
{
	msg_t *m = invite("", "Max-Forwards: 70\r\n"), *f;

	(void)state;
	f = on_msg_forward(&self, m, 0, NULL, NULL);
	assert_int_equal(sip_object(f)->sip_max_forwards->mf_count, 69);
	assert_null(sip_object(f)->sip_record_route);
	msg_destroy(f);
	msg_destroy(m);
	m = invite("", "");
	f = on_msg_forward(&self, m, 0, NULL, NULL);
	assert_int_equal(sip_object(f)->sip_max_forwards->mf_count, 70);
	msg_destroy(f);
	msg_destroy(m);
	m = invite("", "Max-Forwards: 0\r\n");
	f = on_msg_forward(&self, m, 0, NULL, NULL);
	assert_int_equal(sip_object(f)->sip_max_forwards->mf_count, 0);
	msg_destroy(f);
	msg_destroy(m);
}

/* Our entries go (by Node-ID, or by SIP address); the rest stays. */
static void test_routes_off(void **state)
{
	msg_t *m = invite(";tag=2", "Route: <sip:127.0.0.1;lr>, <sip:127.0.0.1:5060;lr;ovl=" SELF
				    ">, <sip:x;lr;ovl=" OTHER ";sn=" SN ">\r\n");
	msg_t *f = on_msg_forward(&self, m, 1, "udp", NULL);
	sip_t *sip = sip_object(f);

	(void)state;
	assert_non_null(sip->sip_route);
	assert_string_equal(sip->sip_route->r_url->url_host, "x");
	assert_null(sip->sip_route->r_next);
	/* in a dialog (To tag): no Record-Route */
	assert_null(sip->sip_record_route);
	msg_destroy(f);
	msg_destroy(m);
}

static void test_record_route(void **state)
{
	msg_t *m = invite("", "Max-Forwards: 70\r\n"), *f;
	const sip_record_route_t *rr;
	char buf[512];

	(void)state;
	/* a UDP phone to the overlay: the default transport goes unsaid */
	f = on_msg_forward(&self, m, 1, "udp", NULL);
	rr = sip_object(f)->sip_record_route;
	assert_string_equal(header(f, rr, buf, sizeof(buf)),
			    "<sip:127.0.0.1:5060;lr;ovl=" SELF ";sn=" SN
			    ";sna=192.0.2.1:7000;acct=alice>");
	assert_null(rr->r_next);
	msg_destroy(f);
	/* from the overlay to a TCP phone */
	f = on_msg_forward(&self, m, 1, NULL, "tcp");
	rr = sip_object(f)->sip_record_route;
	assert_string_equal(header(f, rr, buf, sizeof(buf)),
			    "<sip:127.0.0.1:5060;transport=tcp;lr;ovl=" SELF ";sn=" SN
			    ";sna=192.0.2.1:7000;acct=alice>");
	msg_destroy(f);
	/* UDP phone to TCP phone: two entries, the callee's on top (RFC 5658) */
	f = on_msg_forward(&self, m, 1, "udp", "tcp");
	rr = sip_object(f)->sip_record_route;
	assert_non_null(rr->r_next);
	assert_non_null(strstr(header(f, rr, buf, sizeof(buf)), ";transport=tcp;"));
	assert_non_null(strstr(header(f, rr->r_next, buf, sizeof(buf)), ";transport=udp;"));
	msg_destroy(f);
	msg_destroy(m);
}

/* A TLS phone is given our TLS address with transport=tls, so that its ACK
 * and BYE do not come back in the clear to the UDP/TCP address. */
static void test_record_route_tls(void **state)
{
	struct on_self none = self;
	msg_t *m = invite("", ""), *f;
	const sip_record_route_t *rr;
	char buf[512];

	(void)state;
	/* a TLS phone to the overlay */
	f = on_msg_forward(&self, m, 1, "tls", NULL);
	rr = sip_object(f)->sip_record_route;
	assert_string_equal(header(f, rr, buf, sizeof(buf)),
			    "<sip:127.0.0.1:5061;transport=tls;lr;ovl=" SELF ";sn=" SN
			    ";sna=192.0.2.1:7000;acct=alice>");
	assert_null(rr->r_next);
	msg_destroy(f);
	/* a UDP phone calls a TLS phone: the callee's entry (on top) is TLS */
	f = on_msg_forward(&self, m, 1, "udp", "tls");
	rr = sip_object(f)->sip_record_route;
	assert_non_null(
		strstr(header(f, rr, buf, sizeof(buf)), "<sip:127.0.0.1:5061;transport=tls;lr;"));
	assert_non_null(rr->r_next);
	assert_non_null(strstr(header(f, rr->r_next, buf, sizeof(buf)),
			       "<sip:127.0.0.1:5060;transport=udp;lr;"));
	assert_null(rr->r_next->r_next);
	msg_destroy(f);
	/* both on TLS: one entry */
	f = on_msg_forward(&self, m, 1, "tls", "tls");
	rr = sip_object(f)->sip_record_route;
	assert_non_null(strstr(header(f, rr, buf, sizeof(buf)), "127.0.0.1:5061;transport=tls;"));
	assert_null(rr->r_next);
	msg_destroy(f);
	/* our own TLS entries are taken off the Route as the UDP ones are */
	msg_destroy(m);
	m = invite(";tag=9", "Route: <sip:127.0.0.1:5061;transport=tls;lr>, <sip:x;lr>\r\n");
	f = on_msg_forward(&self, m, 1, "tls", "udp");
	assert_string_equal(sip_object(f)->sip_route->r_url->url_host, "x");
	msg_destroy(f);
	msg_destroy(m);
	/* no TLS listener (no TLS phone either): the SIP address stands in */
	none.tls_host = "";
	m = invite("", "");
	f = on_msg_forward(&none, m, 1, "tls", NULL);
	assert_non_null(strstr(header(f, sip_object(f)->sip_record_route, buf, sizeof(buf)),
			       "<sip:127.0.0.1:5060;transport=tls;lr;"));
	msg_destroy(f);
	msg_destroy(m);
}

static void test_record_route_v6(void **state)
{
	struct on_self s6 = self;
	msg_t *m = invite("", ""), *f;
	char buf[512];

	(void)state;
	s6.sn_host = "2001:db8::1";
	f = on_msg_forward(&s6, m, 1, "udp", NULL);
	assert_non_null(strstr(header(f, sip_object(f)->sip_record_route, buf, sizeof(buf)),
			       ";sna=[2001:db8::1]:7000;"));
	msg_destroy(f);
	msg_destroy(m);
}

static void test_ruri_via_text(void **state)
{
	msg_t *m = invite("", "");
	char branch[64], buf[512];
	const sip_via_t *v;
	size_t len = 0;
	char *txt;

	(void)state;
	assert_int_equal(on_msg_set_ruri(m, "sip:bob@192.0.2.50:5062;transport=tcp"), 0);
	assert_string_equal(sip_object(m)->sip_request->rq_url->url_host, "192.0.2.50");
	assert_int_equal(on_msg_add_via(&self, m, branch, sizeof(branch), 0x2a, 3), 0);
	assert_int_equal(strncmp(branch, ON_P2P_BRANCH "2a.3.", strlen(ON_P2P_BRANCH) + 5), 0);
	assert_int_equal(strlen(branch), strlen(ON_P2P_BRANCH) + 5 + 8);
	v = sip_object(m)->sip_via;
	assert_string_equal(v->v_host, SELF ".invalid");
	assert_string_equal(v->v_branch, branch);
	assert_string_equal(v->v_protocol, "SIP/2.0/TLS");
	assert_non_null(v->v_next);
	txt = on_msg_text(m, &len);
	assert_non_null(txt);
	assert_int_equal(
		strncmp(txt, "INVITE sip:bob@192.0.2.50:5062;transport=tcp SIP/2.0\r\n", 52), 0);
	snprintf(buf, sizeof(buf), "Via: SIP/2.0/TLS %s.invalid;branch=%s\r\n", SELF, branch);
	assert_non_null(strstr(txt, buf));
	msg_destroy(m);
}

static void test_uri_tp(void **state)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};

	(void)state;
	assert_string_equal(on_uri_tp("sip:a@b;transport=TCP", NULL), "tcp");
	assert_string_equal(on_uri_tp("sip:a@b", NULL), "udp");
	assert_string_equal(on_uri_tp("sip:a@b;transport=sctp", NULL), "udp");
	assert_string_equal(
		on_uri_tp(NULL, url_hdup(home, (url_t *)url_make(home, "sip:a@b;transport=tcp"))),
		"tcp");
	assert_string_equal(on_uri_tp(NULL, NULL), "udp");
	assert_string_equal(on_uri_tp("sip:a@b;transport=TLS", NULL), "tls");
	assert_string_equal(on_uri_tp("sips:a@b", NULL), "tls");
	assert_string_equal(on_uri_tp("sips:a@b;transport=tcp", NULL), "tls");
	su_home_deinit(home);
}

/* ---- with an nta agent ---- */

struct fx {
	struct event_base *base;
	struct sipev *sev;
	nta_agent_t *agent;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	f->base = event_base_new();
	f->sev = sipev_new(f->base, err, sizeof(err));
	if (f->sev == NULL)
		return -1;
	/* (url_string_t *)-1: no transport (sofia's NONE) */
	f->agent = nta_agent_create(sipev_root(f->sev), (url_string_t *)-1, NULL, NULL, TAG_END());
	if (f->agent == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nta_agent_destroy(f->agent);
	sipev_free(f->sev);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void test_response(void **state)
{
	struct fx *f = *state;
	msg_t *m = invite("", ""), *r, *r2;
	sip_t *rs;

	r = on_msg_response(f->agent, m, 480, "Temporarily Unavailable");
	assert_non_null(r);
	rs = sip_object(r);
	assert_int_equal(rs->sip_status->st_status, 480);
	assert_string_equal(rs->sip_status->st_phrase, "Temporarily Unavailable");
	assert_string_equal(rs->sip_via->v_branch, "z9hG4bK1");
	assert_string_equal(rs->sip_call_id->i_id, "c1");
	assert_int_equal(rs->sip_cseq->cs_seq, 5);
	assert_non_null(rs->sip_to->a_tag);
	assert_int_equal(strlen(rs->sip_to->a_tag), 12);
	r2 = on_msg_response(f->agent, m, 480, "Temporarily Unavailable");
	assert_string_not_equal(sip_object(r2)->sip_to->a_tag, rs->sip_to->a_tag);
	msg_destroy(r2);
	msg_destroy(r);
	msg_destroy(m);
	/* a To tag that is there stays */
	m = invite(";tag=abc", "");
	r = on_msg_response(f->agent, m, 200, "OK");
	assert_string_equal(sip_object(r)->sip_to->a_tag, "abc");
	msg_destroy(r);
	msg_destroy(m);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	msg_t *m = invite("", "Route: <sip:x;lr;ovl=" OTHER ";sn=" SN ">\r\n"), *c;
	char branch[64];
	sip_t *cs;

	assert_int_equal(on_msg_add_via(&self, m, branch, sizeof(branch), 1, 0), 0);
	c = on_msg_cancel(f->agent, m);
	assert_non_null(c);
	cs = sip_object(c);
	assert_int_equal(cs->sip_request->rq_method, sip_method_cancel);
	assert_string_equal(cs->sip_request->rq_url->url_user, "bob");
	assert_string_equal(cs->sip_via->v_branch, branch);
	assert_null(cs->sip_via->v_next);
	assert_int_equal(cs->sip_cseq->cs_seq, 5);
	assert_int_equal(cs->sip_cseq->cs_method, sip_method_cancel);
	assert_string_equal(cs->sip_call_id->i_id, "c1");
	assert_string_equal(cs->sip_route->r_url->url_host, "x");
	assert_int_equal(cs->sip_max_forwards->mf_count, 70);
	msg_destroy(c);
	msg_destroy(m);
}

/* A gateway hides the other nodes' own addresses in Record-Route from the
 * SIP world, keeps ours and foreign ones, and puts them back on the way in. */
static void test_rr_hide_restore(void **state)
{
	msg_t *m = invite("", "Record-Route: <sip:10.0.0.7:5080;lr;ovl=" OTHER ";sn=" SN
			      ";acct=bob>, <sip:127.0.0.1:5060;lr;ovl=" SELF ";sn=" SN
			      ">, <sip:192.0.2.40;lr;ftag=x>\r\n");
	msg_t *orig = invite("", "Record-Route: <sip:10.0.0.7:5080;lr;ovl=" OTHER ";sn=" SN
				 ";acct=bob>\r\n");
	char buf[600];
	size_t len = 0;
	char *txt;

	(void)state;
	on_msg_rr_hide(&self, m);
	txt = on_msg_text(m, &len);
	assert_non_null(txt);
	assert_null(strstr(txt, "10.0.0.7"));
	assert_non_null(strstr(txt, "<sip:" OTHER ".invalid;lr;ovl=" OTHER));
	assert_non_null(strstr(txt, "<sip:127.0.0.1:5060;lr;ovl=" SELF)); /* ours */
	assert_non_null(strstr(txt, "<sip:192.0.2.40;lr;ftag=x>"));       /* foreign */
	on_msg_rr_restore(&self, m, sip_object(orig));
	snprintf(buf, sizeof(buf), "%s", on_msg_text(m, &len));
	assert_non_null(strstr(buf, "<sip:10.0.0.7:5080;lr;ovl=" OTHER ";sn=" SN ";acct=bob>"));
	msg_destroy(m);
	msg_destroy(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_forwards),
		cmocka_unit_test(test_routes_off),
		cmocka_unit_test(test_record_route),
		cmocka_unit_test(test_rr_hide_restore),
		cmocka_unit_test(test_record_route_tls),
		cmocka_unit_test(test_record_route_v6),
		cmocka_unit_test(test_ruri_via_text),
		cmocka_unit_test(test_uri_tp),
		cmocka_unit_test_setup_teardown(test_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
