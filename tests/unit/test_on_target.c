/* on_target: where a request goes, on requests parsed by sofia-sip: users
 * of the overlay, phones registered here, this node itself, foreign
 * domains; Routes of ours (by Node-ID or SIP address, two with RFC 5658)
 * skipped, Routes to other nodes followed, any other Route refused; the
 * stricter rules for what comes from the overlay; From accounts, our Via,
 * Node-IDs. */
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

#define SELF "00112233445566778899aabbccddeeff"
#define PEER "ffeeddccbbaa99887766554433221100"
#define PEER_SN "0123456789abcdef0123456789abcdef"

static const struct on_self self = {SELF,    "127.0.0.1:5060", "overlay.example",
				    "alice", PEER_SN,          "192.0.2.1",
				    7000,    "127.0.0.1:5071", 0};
/* The same node in the gateway mode: its "phones" are the SIP world. */
static const struct on_self gw = {
	SELF, "127.0.0.1:5060", "overlay.example", "gw1", PEER_SN, "192.0.2.1", 7000, "", 1};

/* The registrar as the classifier sees it: bob has a phone at
 * 192.0.2.50:5062 over TCP; alice and bob are accounts. */
static int contacts(void *arg, const char *user, struct on_contact *out, int max)
{
	(void)arg, (void)out, (void)max;
	return strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0 ? 0 : -1;
}

static int find(void *arg, const url_t *u, struct on_contact *out)
{
	(void)arg;
	if (u->url_host == NULL || strcmp(u->url_host, "192.0.2.50") != 0 || u->url_port == NULL ||
	    strcmp(u->url_port, "5062") != 0)
		return -1;
	out->uri = "sip:bob@192.0.2.50:5062;transport=tcp";
	out->dest = "sip:192.0.2.50:5062;transport=tcp";
	out->tp = "tcp";
	return 0;
}

static const struct on_bindings view = {NULL, contacts, find, NULL, NULL};

/* Call c1 was answered through us; bob's phone at 10.0.0.9 is in it. */
static struct on_dialogs *dlgs;

static msg_t *parse(const char *method, const char *ruri, const char *from, const char *extra)
{
	char buf[4096];
	msg_t *m;

	snprintf(buf, sizeof(buf),
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <%s>;tag=1\r\n"
		 "To: <%s>\r\n"
		 "Call-ID: c1\r\n"
		 "CSeq: 1 %s\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 method, ruri, from, ruri, method, extra);
	m = msg_make(sip_default_mclass(), 0, buf, strlen(buf));
	assert_non_null(m);
	assert_null(sip_object(m)->sip_error);
	return m;
}

/* The target of a request; its kind, and t filled. */
static enum on_target_kind target(const char *ruri, const char *extra, int from_overlay,
				  struct on_target *t)
{
	msg_t *m = parse("INVITE", ruri, "sip:alice@overlay.example", extra);

	on_target_of(&self, &view, dlgs, sip_object(m), from_overlay, t);
	msg_destroy(m);
	return t->kind;
}

static void test_user(void **state)
{
	struct on_target t;
	char ruri[300];

	(void)state;
	assert_int_equal(target("sip:bob@overlay.example", "", 0, &t), ON_T_USER);
	assert_string_equal(t.user, "bob");
	assert_int_equal(target("sip:carol@OVERLAY.example", "", 1, &t), ON_T_USER);
	assert_int_equal(target("sip:overlay.example", "", 0, &t), ON_T_ERROR);
	assert_int_equal(t.status, 404);
	memset(ruri, 0, sizeof(ruri));
	strcpy(ruri, "sip:");
	memset(ruri + 4, 'u', 130);
	strcat(ruri, "@overlay.example");
	assert_int_equal(target(ruri, "", 0, &t), ON_T_ERROR);
	assert_int_equal(t.status, 404);
}

static void test_local_phone(void **state)
{
	struct on_target t;

	(void)state;
	assert_int_equal(target("sip:bob@192.0.2.50:5062", "", 1, &t), ON_T_LOCAL);
	assert_string_equal(t.dest, "sip:192.0.2.50:5062;transport=tcp");
	assert_string_equal(t.tp, "tcp");
	/* not registered: a foreign domain, through a gateway (on_gateway.c) */
	assert_int_equal(target("sip:bob@192.0.2.50:5064", "", 0, &t), ON_T_FOREIGN);
	assert_string_equal(t.domain, "192.0.2.50");
	assert_int_equal(target("sip:bob@Example.COM", "", 0, &t), ON_T_FOREIGN);
	assert_string_equal(t.domain, "example.com");
	/* from the overlay, an ordinary node carries nothing out */
	assert_int_equal(target("sip:bob@example.com", "", 1, &t), ON_T_ERROR);
	assert_int_equal(t.status, 404);
	assert_int_equal(target("tel:+15551234", "", 0, &t), ON_T_ERROR);
	assert_int_equal(t.status, 403);
}

/* The gateway mode: out only for what comes from the overlay; from the
 * SIP world only to users of the overlay (never back out: no open relay);
 * a node's hidden Contact (a public address of record's binding) goes to
 * that node only. */
static void test_gateway(void **state)
{
	struct on_target t;
	msg_t *m;

	(void)state;
	m = parse("INVITE", "sip:carol@example.net", "sip:alice@overlay.example", "");
	on_target_of(&gw, &view, dlgs, sip_object(m), 1, &t);
	assert_int_equal(t.kind, ON_T_FOREIGN);
	assert_string_equal(t.domain, "example.net");
	on_target_of(&gw, &view, dlgs, sip_object(m), 0, &t);
	assert_int_equal(t.kind, ON_T_ERROR);
	assert_int_equal(t.status, 403);
	assert_string_equal(t.phrase, "Relaying Denied");
	msg_destroy(m);
	m = parse("INVITE", "sip:alice@overlay.example", "sip:bob@example.net", "");
	on_target_of(&gw, &view, dlgs, sip_object(m), 0, &t);
	assert_int_equal(t.kind, ON_T_USER);
	assert_string_equal(t.user, "alice");
	assert_string_equal(t.to, "");
	msg_destroy(m);
	m = parse("INVITE", "sip:alice@overlay.example;ovl=" PEER ";ph=abcd", "sip:bob@example.net",
		  "");
	on_target_of(&gw, &view, dlgs, sip_object(m), 0, &t);
	assert_int_equal(t.kind, ON_T_USER);
	assert_string_equal(t.to, PEER);
	on_target_of(&self, &view, dlgs, sip_object(m), 0, &t); /* not a gateway */
	assert_int_equal(t.status, 404);
	msg_destroy(m);
	/* a token naming the gateway itself, or no node at all */
	m = parse("INVITE", "sip:alice@overlay.example;ovl=" SELF ";ph=abcd", "sip:b@example.net",
		  "");
	on_target_of(&gw, &view, dlgs, sip_object(m), 0, &t);
	assert_int_equal(t.status, 404);
	msg_destroy(m);
	m = parse("INVITE", "sip:alice@overlay.example;ovl=xyz;ph=abcd", "sip:b@example.net", "");
	on_target_of(&gw, &view, dlgs, sip_object(m), 0, &t);
	assert_int_equal(t.status, 404);
	msg_destroy(m);
}

static void test_self(void **state)
{
	struct on_target t;

	(void)state;
	assert_int_equal(target("sip:127.0.0.1:5060", "", 0, &t), ON_T_SELF);
	assert_int_equal(target("sip:127.0.0.1", "", 1, &t), ON_T_SELF);
	/* not us: another domain, for a gateway to judge */
	assert_int_equal(target("sip:127.0.0.1:5061", "", 0, &t), ON_T_FOREIGN);
	assert_int_equal(target("sip:x@127.0.0.1:5060", "", 0, &t), ON_T_FOREIGN);
	/* our SIP over TLS address */
	assert_int_equal(target("sip:127.0.0.1:5071;transport=tls", "", 0, &t), ON_T_SELF);
	assert_int_equal(target("sips:127.0.0.1:5071", "", 0, &t), ON_T_SELF);
	assert_int_equal(target("sips:127.0.0.1", "", 0, &t), ON_T_FOREIGN); /* 5061 */
}

/* In a dialog we record-routed: our entries go, the next names the node. */
static void test_routes(void **state)
{
	struct on_target t;

	(void)state;
	assert_int_equal(target("sip:bob@10.0.0.9:5060",
				"Route: <sip:127.0.0.1:5060;lr;ovl=" SELF ";sn=" PEER_SN ">, "
				"<sip:127.0.0.1:5080;lr;ovl=" PEER ";sn=" PEER_SN
				";sna=192.0.2.2:7001;acct=bob>\r\n",
				0, &t),
			 ON_T_NODE);
	assert_string_equal(t.to, PEER);
	assert_string_equal(t.sn, PEER_SN);
	assert_string_equal(t.sna, "192.0.2.2:7001");
	assert_string_equal(t.acct, "bob");
	/* only ours (two of them: RFC 5658): our phone in the dialog, at the
	 * Contact it gave, whatever the Request-URI's parameters say */
	assert_int_equal(target("sip:bob@10.0.0.9;maddr=127.0.0.1;transport=tcp",
				"Route: <sip:127.0.0.1:5060;transport=tcp;lr;ovl=" SELF ">\r\n"
				"Route: <sip:127.0.0.1:5060;transport=udp;lr;ovl=" SELF ">\r\n",
				1, &t),
			 ON_T_LOCAL);
	assert_string_equal(t.dest, "sip:10.0.0.9:5060;transport=udp");
	assert_string_equal(t.tp, "udp");
	/* a phone's pre-loaded outbound proxy route: our SIP address */
	assert_int_equal(target("sip:bob@overlay.example", "Route: <sip:127.0.0.1;lr>\r\n", 0, &t),
			 ON_T_USER);
	/* or our SIP over TLS address */
	assert_int_equal(target("sip:bob@overlay.example",
				"Route: <sip:127.0.0.1:5071;transport=tls;lr>\r\n", 0, &t),
			 ON_T_USER);
	assert_int_equal(
		target("sip:bob@overlay.example", "Route: <sip:127.0.0.1:5072;lr>\r\n", 0, &t),
		ON_T_ERROR);
	/* straight to another node, from a phone */
	assert_int_equal(target("sip:bob@overlay.example",
				"Route: <sip:x;lr;ovl=" PEER ";sn=" PEER_SN ">\r\n", 0, &t),
			 ON_T_NODE);
	assert_string_equal(t.sna, "");
	assert_string_equal(t.acct, "");
}

static void test_routes_refused(void **state)
{
	struct on_target t;

	(void)state;
	/* not an open relay */
	assert_int_equal(target("sip:bob@overlay.example", "Route: <sip:192.0.2.9;lr>\r\n", 0, &t),
			 ON_T_ERROR);
	assert_int_equal(t.status, 403);
	assert_string_equal(t.phrase, "Route Outside The Overlay");
	assert_int_equal(target("sip:bob@overlay.example",
				"Route: <sip:x;lr;ovl=" PEER "00;sn=" PEER_SN ">\r\n", 0, &t),
			 ON_T_ERROR);
	assert_int_equal(
		target("sip:bob@overlay.example", "Route: <sip:x;lr;ovl=" PEER ">\r\n", 0, &t),
		ON_T_ERROR);
	/* from the overlay, the first Route must be ours */
	assert_int_equal(target("sip:bob@overlay.example",
				"Route: <sip:x;lr;ovl=" PEER ";sn=" PEER_SN ">\r\n", 1, &t),
			 ON_T_ERROR);
	assert_string_equal(t.phrase, "Route Does Not Name This Node");
}

/* A BYE in call call_id to ruri with our Route, from the overlay, and
 * dialogs d. */
static enum on_target_kind bye(const struct on_dialogs *d, const char *call_id, const char *ruri,
			       struct on_target *t)
{
	msg_t *m = parse("BYE", ruri, "sip:eve@overlay.example",
			 "Route: <sip:127.0.0.1:5060;lr;ovl=" SELF ">\r\n");
	sip_call_id_t *c = sip_call_id_make(msg_home(m), call_id);

	assert_non_null(c);
	msg_header_replace(m, NULL, (msg_header_t *)sip_object(m)->sip_call_id, (msg_header_t *)c);
	on_target_of(&self, &view, d, sip_object(m), 1, t);
	msg_destroy(m);
	return t->kind;
}

/* Our Route is no passport: with it, a request from the overlay or from a
 * phone reaches only our phones in the dialog, never a host it names. */
static void test_no_open_relay(void **state)
{
	static const char *const rr = "Route: <sip:127.0.0.1:5060;lr;ovl=" SELF ">\r\n";
	static const char *const hosts[] = {"sip:x@127.0.0.1:5555;transport=tcp",
					    "sip:x@127.0.0.1:5555",
					    "sip:x@192.0.2.99",
					    "sip:bob@10.0.0.9:5061",
					    "sip:eve@10.0.0.9:5060",
					    "sip:x@127.0.0.1:5060"};
	struct on_target t;

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		assert_int_equal(target(hosts[i], rr, 1, &t), ON_T_ERROR);
		assert_int_equal(t.status, 403);
		assert_string_equal(t.phrase, "Not A Dialog Of This Node");
		/* from a phone (its outbound proxy's Route): through a
		 * gateway, as without the Route, never to the host itself */
		assert_int_equal(target(hosts[i], rr, 0, &t), ON_T_FOREIGN);
	}
	assert_int_equal(bye(dlgs, "c1", "sip:bob@10.0.0.9", &t), ON_T_LOCAL);
	assert_int_equal(bye(dlgs, "c2", "sip:bob@10.0.0.9", &t), ON_T_ERROR); /* not its call */
	assert_int_equal(bye(NULL, "c1", "sip:bob@10.0.0.9", &t), ON_T_ERROR);
	/* our own address with our Route: this node, not its registrar */
	assert_int_equal(target("sip:127.0.0.1:5060", rr, 1, &t), ON_T_SELF);
	/* from the overlay, nothing goes past us to another Route */
	assert_int_equal(target("sip:bob@10.0.0.9:5060",
				"Route: <sip:127.0.0.1:5060;lr;ovl=" SELF ">, "
				"<sip:x;lr;ovl=" PEER ";sn=" PEER_SN ">\r\n",
				1, &t),
			 ON_T_ERROR);
	assert_string_equal(t.phrase, "Route Beyond This Node");
	/* a phone registered here is still reached with our Route on */
	assert_int_equal(target("sip:bob@192.0.2.50:5062", rr, 1, &t), ON_T_LOCAL);
	assert_string_equal(t.dest, "sip:192.0.2.50:5062;transport=tcp");
}

/* ovl=, sn=, sna= values longer than their buffers: url_param copies
 * nothing then, so they must count as absent, never as what the buffer
 * held before (valgrind: no uninitialised read). */
static void test_long_params(void **state)
{
	struct on_target t;
	char extra[600], longv[200];
	url_t *u;
	su_home_t home[1] = {SU_HOME_INIT(home)};
	char buf[8];

	(void)state;
	memset(longv, 'a', 120);
	longv[120] = '\0';
	/* at our SIP address, but with an ovl= that is no Node-ID: not ours */
	snprintf(extra, sizeof(extra), "Route: <sip:127.0.0.1:5060;lr;ovl=%s>\r\n", longv);
	assert_int_equal(target("sip:bob@overlay.example", extra, 1, &t), ON_T_ERROR);
	assert_string_equal(t.phrase, "Route Does Not Name This Node");
	assert_int_equal(target("sip:bob@overlay.example", extra, 0, &t), ON_T_ERROR);
	assert_string_equal(t.phrase, "Route Outside The Overlay");
	snprintf(extra, sizeof(extra),
		 "Route: <sip:x;lr;ovl=" PEER ";sn=" PEER_SN ";sna=%s;acct=%s>\r\n", longv, longv);
	assert_int_equal(target("sip:bob@overlay.example", extra, 0, &t), ON_T_NODE);
	assert_string_equal(t.sna, "");
	assert_string_equal(t.acct, "");
	u = url_hdup(home, (url_t *)url_make(home, "sip:h;ovl=12345678;a=1234567"));
	assert_non_null(u);
	assert_false(on_url_param(u, "ovl", buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_true(on_url_param(u, "a", buf, sizeof(buf)));
	assert_string_equal(buf, "1234567");
	assert_false(on_url_param(u, "b", buf, sizeof(buf)));
	assert_false(on_url_param(NULL, "a", buf, sizeof(buf)));
	su_home_deinit(home);
}

static void test_from_account(void **state)
{
	msg_t *m;

	(void)state;
	m = parse("INVITE", "sip:bob@overlay.example", "sip:alice@overlay.example", "");
	assert_true(on_target_from_account(&self, &view, sip_object(m)));
	msg_destroy(m);
	m = parse("INVITE", "sip:bob@overlay.example", "sip:carol@overlay.example", "");
	assert_false(on_target_from_account(&self, &view, sip_object(m)));
	msg_destroy(m);
	m = parse("INVITE", "sip:bob@overlay.example", "sip:alice@example.com", "");
	assert_false(on_target_from_account(&self, &view, sip_object(m)));
	msg_destroy(m);
}

static void test_ids(void **state)
{
	msg_t *m;
	const sip_via_t *v;

	(void)state;
	assert_true(on_is_hex_id(SELF));
	assert_true(on_is_hex_id("00112233445566778899AABBCCDDEEFF"));
	assert_false(on_is_hex_id("00112233445566778899aabbccddeefg"));
	assert_false(on_is_hex_id("00112233445566778899aabbccddeef"));
	assert_false(on_is_hex_id(NULL));
	m = parse("INVITE", "sip:bob@overlay.example", "sip:alice@overlay.example",
		  "Via: SIP/2.0/TLS "
		  "00112233445566778899AABBCCDDEEFF.invalid;branch=z9hG4bKp2p1.0.0\r\n");
	v = sip_object(m)->sip_via;
	assert_false(on_via_is_ours(&self, v));
	assert_true(on_via_is_ours(&self, v->v_next));
	msg_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user),         cmocka_unit_test(test_local_phone),
		cmocka_unit_test(test_gateway),      cmocka_unit_test(test_self),
		cmocka_unit_test(test_routes),       cmocka_unit_test(test_routes_refused),
		cmocka_unit_test(test_long_params),  cmocka_unit_test(test_no_open_relay),
		cmocka_unit_test(test_from_account), cmocka_unit_test(test_ids),
	};

	int rc;

	dlgs = on_dialogs_new();
	on_dialogs_learn(dlgs, "c1", "sip:bob@10.0.0.9:5060", "sip:10.0.0.9:5060;transport=udp",
			 1000);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	on_dialogs_free(dlgs);
	return rc;
}
