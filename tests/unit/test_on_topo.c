/* on_topo: what leaves for the overlay names no phone of ours: Vias gone
 * from requests, Contacts sealed into tokens that only this node opens,
 * Call-IDs hidden and mapped back, foreign Routes and revealing headers
 * dropped; the Call-ID table expires with the dialogs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>

#define SELF "00112233445566778899AABBCCDDEEFF"
#define PEER "FFEEDDCCBBAA99887766554433221100"
#define PHONE "10.0.0.5"

static const struct on_self self = {
	SELF, "127.0.0.1:5060", "overlay.example", "alice", PEER, "192.0.2.1", 7000, "", 0};

static int contacts(void *arg, const char *user, struct on_contact *out, int max)
{
	(void)arg, (void)user, (void)out, (void)max;
	return -1;
}

static int find(void *arg, const url_t *u, struct on_contact *out)
{
	(void)arg, (void)u, (void)out;
	return -1;
}

static const struct on_bindings view = {NULL, contacts, find, NULL, NULL};

static msg_t *parse(const char *text)
{
	msg_t *m = msg_make(sip_default_mclass(), 0, text, strlen(text));

	assert_non_null(m);
	assert_null(sip_object(m)->sip_error);
	return m;
}

/* m as text (owned by m). */
static const char *text(msg_t *m)
{
	size_t len;
	char *s = on_msg_text(m, &len);

	assert_non_null(s);
	return s;
}

static const char invite[] =
	"INVITE sip:bob@overlay.example SIP/2.0\r\n"
	"Via: SIP/2.0/UDP " PHONE ":5062;branch=z9hG4bK1;rport=5062;received=" PHONE "\r\n"
	"Via: SIP/2.0/UDP 10.0.0.77;branch=z9hG4bK0\r\n"
	"Max-Forwards: 70\r\n"
	"Record-Route: <sip:10.0.0.77;lr>\r\n"
	"Record-Route: <sip:127.0.0.1:5060;lr;ovl=" SELF ";sn=" PEER ">\r\n"
	"Route: <sip:127.0.0.1:6060;lr;ovl=" PEER ";sn=" PEER ">, <sip:10.0.0.9;lr>\r\n"
	"From: \"Alice\" <sip:alice@overlay.example>;tag=1\r\n"
	"To: <sip:bob@overlay.example>\r\n"
	"Call-ID: 1-4242@" PHONE "\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: \"Alice\" <sip:alice@" PHONE
	":5062;transport=tcp>;expires=60;+sip.instance=\"<urn:x>\"\r\n"
	"Proxy-Authorization: Digest username=\"alice\", realm=\"overlay.example\", nonce=\"n\", "
	"uri=\"sip:bob@overlay.example\", response=\"0123\"\r\n"
	"Reply-To: <sip:alice@" PHONE ">\r\n"
	"Warning: 399 [2001:db8::1] \"hello\"\r\n"
	"X-Where: alice-laptop.lan\r\n"
	"X-Net: 10.0.0.5\r\n"
	"Subject: lunch at 12:30:00\r\n"
	"User-Agent: phone 1.2.3.4\r\n"
	"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
	"Content-Length: 0\r\n\r\n";

static void test_request_out(void **state)
{
	struct on_topo *t = on_topo_new();
	msg_t *m = parse(invite);
	const char *s;
	sip_t *sip;

	(void)state;
	assert_int_equal(on_topo_out(t, &self, m, 1000), 0);
	sip = sip_object(m);
	s = text(m);
	assert_null(strstr(s, PHONE));
	assert_null(strstr(s, "10.0.0.77"));
	assert_null(strstr(s, "10.0.0.9"));
	assert_null(sip->sip_via); /* ours is added by the caller */
	assert_null(sip->sip_proxy_authorization);
	assert_null(strstr(s, "Reply-To"));
	assert_null(strstr(s, "Warning"));
	assert_null(strstr(s, "X-Net"));
	assert_non_null(strstr(s, "X-Where")); /* a name, not the phone's */
	assert_non_null(strstr(s, "Subject: lunch at 12:30:00"));
	assert_non_null(strstr(s, "User-Agent: phone 1.2.3.4"));
	assert_non_null(strstr(s, "Date:"));
	/* the Routes and Record-Routes that name nodes stay */
	assert_non_null(sip->sip_route);
	assert_null(sip->sip_route->r_next);
	assert_non_null(sip->sip_record_route);
	assert_null(sip->sip_record_route->r_next);
	assert_string_equal(sip->sip_record_route->r_url->url_host, "127.0.0.1");
	/* the Contact names the node and the account */
	assert_non_null(sip->sip_contact);
	assert_string_equal(sip->sip_contact->m_display, "\"Alice\"");
	assert_string_equal(sip->sip_contact->m_url->url_user, "alice");
	assert_string_equal(sip->sip_contact->m_url->url_host, "overlay.example");
	assert_non_null(strstr(sip->sip_contact->m_url->url_params, "ovl=" SELF ";ph="));
	assert_null(sip->sip_contact->m_params);
	assert_true(on_topo_call_id_is_hidden(sip->sip_call_id->i_id));
	assert_int_equal(on_topo_count(t), 1);
	msg_destroy(m);
	on_topo_free(t);
}

/* A request with the Contact and Call-ID of m (hidden), as the far phone
 * sends it back over the overlay. */
static msg_t *back(msg_t *m, const char *method)
{
	sip_t *sip = sip_object(m);
	char ruri[1024], buf[4096];

	assert_true(url_e(ruri, sizeof(ruri), sip->sip_contact->m_url) > 0);
	snprintf(buf, sizeof(buf),
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/TLS " PEER ".invalid;branch=z9hG4bKp2p1.0.1\r\n"
		 "Route: <sip:127.0.0.1:5060;lr;ovl=" SELF ";sn=" PEER ">\r\n"
		 "From: <sip:bob@overlay.example>;tag=2\r\n"
		 "To: <sip:alice@overlay.example>;tag=1\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, ruri, sip->sip_call_id->i_id, method);
	return parse(buf);
}

static void test_back_in(void **state)
{
	struct on_topo *t = on_topo_new(), *other = on_topo_new();
	struct on_dialogs *dlg = on_dialogs_new();
	msg_t *m = parse(invite), *b;
	struct on_self them = self;
	struct on_target tg;
	char uri[512];
	sip_t *bs;

	(void)state;
	assert_int_equal(on_topo_out(t, &self, m, 1000), 0);
	b = back(m, "BYE");
	on_topo_in(t, &self, b, 2000);
	bs = sip_object(b);
	assert_string_equal(bs->sip_call_id->i_id, "1-4242@" PHONE);
	assert_true(url_e(uri, sizeof(uri), bs->sip_request->rq_url) > 0);
	assert_string_equal(uri, "sip:alice@" PHONE ":5062;transport=tcp");
	/* and the classifier sees our phone in the dialog, as before */
	on_dialogs_learn(dlg, "1-4242@" PHONE, "sip:alice@" PHONE ":5062;transport=tcp",
			 "sip:" PHONE ":5062;transport=tcp", 1000);
	on_target_of(&self, &view, dlg, bs, 1, &tg);
	assert_int_equal(tg.kind, ON_T_LOCAL);
	msg_destroy(b);

	/* another node's secret opens nothing: the token stays and is refused */
	b = back(m, "BYE");
	on_topo_in(other, &self, b, 2000);
	bs = sip_object(b);
	assert_string_not_equal(bs->sip_call_id->i_id, "1-4242@" PHONE);
	assert_non_null(strstr(bs->sip_request->rq_url->url_params, "ph="));
	on_target_of(&self, &view, dlg, bs, 1, &tg);
	assert_int_equal(tg.kind, ON_T_ERROR);
	assert_int_equal(tg.status, 404);
	msg_destroy(b);

	/* a token for another node is not ours to open */
	them.id = PEER;
	b = back(m, "BYE");
	on_topo_in(t, &them, b, 2000);
	assert_non_null(strstr(sip_object(b)->sip_request->rq_url->url_params, "ph="));
	msg_destroy(b);
	msg_destroy(m);
	on_dialogs_free(dlg);
	on_topo_free(other);
	on_topo_free(t);
}

static void test_response_out(void **state)
{
	struct on_topo *t = on_topo_new();
	msg_t *m = parse("SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/TLS " PEER ".invalid;branch=z9hG4bKp2p1.0.1\r\n"
			 "From: <sip:carol@overlay.example>;tag=1\r\n"
			 "To: <sip:bob@overlay.example>;tag=2\r\n"
			 "Call-ID: 0123456789abcdef0123456789ABCDEF\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Contact: <sip:bob@" PHONE ">\r\n"
			 "Content-Length: 0\r\n\r\n");
	sip_t *sip = sip_object(m);

	(void)state;
	assert_int_equal(on_topo_out(t, &self, m, 1000), 0);
	assert_non_null(sip->sip_via); /* the far node's, kept */
	assert_string_equal(sip->sip_contact->m_url->url_user, "bob");
	/* a Call-ID that came from the overlay goes back as it came */
	assert_string_equal(sip->sip_call_id->i_id, "0123456789abcdef0123456789ABCDEF");
	assert_int_equal(on_topo_count(t), 0);
	assert_null(strstr(text(m), PHONE));
	msg_destroy(m);
	on_topo_free(t);
}

static void test_call_ids(void **state)
{
	struct on_topo *t = on_topo_new();
	struct on_dialogs *dlg = on_dialogs_new();
	char buf[1024], first[64];
	msg_t *m;

	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf),
			 "MESSAGE sip:bob@overlay.example SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP " PHONE ";branch=z9hG4bK1\r\n"
			 "From: <sip:alice@overlay.example>;tag=1\r\n"
			 "To: <sip:bob@overlay.example>\r\n"
			 "Call-ID: call%d@" PHONE "\r\n"
			 "CSeq: 1 MESSAGE\r\n"
			 "Content-Length: 0\r\n\r\n",
			 i == 2 ? 0 : i);
		m = parse(buf);
		assert_int_equal(on_topo_out(t, &self, m, 1000), 0);
		if (i == 0)
			snprintf(first, sizeof(first), "%s", sip_object(m)->sip_call_id->i_id);
		if (i == 2) /* the same Call-ID again: the same hidden one */
			assert_string_equal(sip_object(m)->sip_call_id->i_id, first);
		msg_destroy(m);
	}
	assert_int_equal(on_topo_count(t), 2);
	on_dialogs_add(dlg, "call1@" PHONE, 1000);
	on_topo_expire(t, dlg, 1000 + 63000, 0);
	assert_int_equal(on_topo_count(t), 2); /* answers may still come */
	on_topo_expire(t, dlg, 1000 + 65000, 0);
	assert_int_equal(on_topo_count(t), 1); /* the call that is answered stays */
	on_dialogs_del(dlg, "call1@" PHONE);
	on_topo_expire(t, dlg, 1000 + 65000, 0);
	assert_int_equal(on_topo_count(t), 0);
	assert_true(on_topo_call_id_is_hidden(first));
	assert_false(on_topo_call_id_is_hidden("0123456789abcdef0123456789abcde"));
	assert_false(on_topo_call_id_is_hidden("0123456789abcdef0123456789abcdeg"));
	on_dialogs_free(dlg);
	on_topo_free(t);
}

static void test_tokens(void **state)
{
	struct on_topo *t = on_topo_new();
	char tok[1024], uri[ON_TOPO_CONTACT_MAX + 1], big[ON_TOPO_CONTACT_MAX + 2];

	(void)state;
	assert_int_equal(on_topo_token(t, "sip:a@10.0.0.1", tok, sizeof(tok)), 0);
	assert_int_equal(on_topo_untoken(t, tok, uri, sizeof(uri)), 0);
	assert_string_equal(uri, "sip:a@10.0.0.1");
	tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == '0' ? '1' : '0'; /* the tag */
	assert_int_equal(on_topo_untoken(t, tok, uri, sizeof(uri)), -1);
	tok[30] = tok[30] == '0' ? '1' : '0'; /* the sealed text */
	assert_int_equal(on_topo_untoken(t, tok, uri, sizeof(uri)), -1);
	assert_int_equal(on_topo_untoken(t, "", uri, sizeof(uri)), -1);
	assert_int_equal(on_topo_untoken(t, "zz", uri, sizeof(uri)), -1);
	assert_int_equal(on_topo_untoken(t, "00112233445566778899aabbccddeeff00112233445566778",
					 uri, sizeof(uri)),
			 -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(on_topo_token(t, big, tok, sizeof(tok)), -1);
	assert_int_equal(on_topo_token(t, "sip:a@b", tok, 10), -1);
	on_topo_free(t);
}

static void test_reveals(void **state)
{
	const char *hosts[] = {"alice-pc.lan"};

	(void)state;
	assert_true(on_topo_text_reveals("<sip:x@10.1.2.3:5060>", NULL, 0));
	assert_true(on_topo_text_reveals("399 [2001:db8::1] x", NULL, 0));
	assert_true(on_topo_text_reveals("fe80:0:0:0:1:2:3:4", NULL, 0));
	assert_true(on_topo_text_reveals("::1", NULL, 0));
	assert_true(on_topo_text_reveals("at ALICE-PC.lan", hosts, 1));
	assert_false(on_topo_text_reveals("23:29:00 GMT", NULL, 0));
	assert_false(on_topo_text_reveals("version 1.2.3.4.5", NULL, 0));
	assert_false(on_topo_text_reveals("v1.2.3.4", NULL, 0));
	assert_false(on_topo_text_reveals("1.2.3", NULL, 0));
	assert_false(on_topo_text_reveals("1234.1.1.1", NULL, 0));
	assert_false(on_topo_text_reveals("hello", hosts, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_out),  cmocka_unit_test(test_back_in),
		cmocka_unit_test(test_response_out), cmocka_unit_test(test_call_ids),
		cmocka_unit_test(test_tokens),       cmocka_unit_test(test_reveals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
