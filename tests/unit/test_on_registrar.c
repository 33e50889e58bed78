/* on_registrar: the binding rules on REGISTERs parsed by sofia-sip (expiry
 * limits, refresh and removal, +sip.instance/reg-id matching, the wildcard,
 * the per-account limit, oversized values), how a binding's Contact and
 * source become where the phone is reached, and what the proxy and the
 * publisher read after a restart (bindings loaded from the database,
 * expired within a second). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "on.h"
#include "testutil.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su.h>

#define NOW 1000000ull /* monotonic ms */
#define FROM_PHONE "sip:192.0.2.5:5062;transport=udp"

static msg_t *parse(const char *contacts, const char *extra)
{
	char buf[8192];
	msg_t *m;

	snprintf(buf, sizeof(buf),
		 "REGISTER sip:overlay.example SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.5:5062;branch=z9hG4bK1\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@overlay.example>;tag=1\r\n"
		 "To: <sip:alice@overlay.example>\r\n"
		 "Call-ID: reg-1\r\n"
		 "CSeq: 7 REGISTER\r\n"
		 "%s%s"
		 "Content-Length: 0\r\n\r\n",
		 contacts, extra);
	m = msg_make(sip_default_mclass(), 0, buf, strlen(buf));
	assert_non_null(m);
	assert_null(sip_object(m)->sip_error);
	return m;
}

/* Applies one REGISTER to g: its status (0: applied). */
static int reg(struct on_reg *g, const char *contacts, const char *extra)
{
	msg_t *m = parse(contacts, extra);
	int st = on_reg_apply(g, sip_object(m), FROM_PHONE, NOW);

	msg_destroy(m);
	return st;
}

static void test_add_refresh_remove(void **state)
{
	static struct on_reg g;

	(void)state;
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5:5062>;expires=600\r\n", ""), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.b[0].uri, "sip:alice@192.0.2.5:5062");
	assert_string_equal(g.b[0].src, FROM_PHONE);
	assert_string_equal(g.b[0].call_id, "reg-1");
	assert_int_equal(g.b[0].cseq, 7);
	assert_true(g.b[0].expires_ms == NOW + 600 * 1000);
	/* the same URI refreshes it; Expires applies to a Contact without its own */
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5:5062>\r\n", "Expires: 1200\r\n"),
			 0);
	assert_int_equal(g.n, 1);
	assert_true(g.b[0].expires_ms == NOW + 1200 * 1000);
	/* another URI is another binding; no Expires at all: an hour */
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.6>\r\n", ""), 0);
	assert_int_equal(g.n, 2);
	assert_true(g.b[1].expires_ms == NOW + 3600 * 1000);
	/* expires=0 removes just that one */
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5:5062>;expires=0\r\n", ""), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.b[0].uri, "sip:alice@192.0.2.6");
	/* removing one that is not there changes nothing */
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.9>;expires=0\r\n", ""), 0);
	assert_int_equal(g.n, 1);
}

static void test_expiry_limits(void **state)
{
	static struct on_reg g;

	(void)state;
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5>;expires=59\r\n", ""), 423);
	assert_int_equal(g.n, 0);
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5>;expires=60\r\n", ""), 0);
	assert_true(g.b[0].expires_ms == NOW + 60 * 1000);
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5>;expires=86400\r\n", ""), 0);
	assert_true(g.b[0].expires_ms == NOW + ON_EXPIRES_MAX * 1000ull);
	assert_int_equal(g.n, 1);
}

/* RFC 5626: a phone that moved its Contact (same instance and reg-id) is
 * the same phone; another reg-id is another flow. */
static void test_instance(void **state)
{
	static struct on_reg g;
	const char *inst = ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\"";
	char c[512];

	(void)state;
	snprintf(c, sizeof(c), "Contact: <sip:alice@192.0.2.5:5062>%s;reg-id=1\r\n", inst);
	assert_int_equal(reg(&g, c, ""), 0);
	assert_string_equal(g.b[0].instance, "\"<urn:uuid:00000000-0000-0000-0000-000000000001>\"");
	assert_string_equal(g.b[0].reg_id, "1");
	snprintf(c, sizeof(c), "Contact: <sip:alice@192.0.2.5:40000>%s;reg-id=1\r\n", inst);
	assert_int_equal(reg(&g, c, ""), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.b[0].uri, "sip:alice@192.0.2.5:40000");
	snprintf(c, sizeof(c), "Contact: <sip:alice@192.0.2.5:40002>%s;reg-id=2\r\n", inst);
	assert_int_equal(reg(&g, c, ""), 0);
	assert_int_equal(g.n, 2);
	/* without an instance, the URI decides */
	assert_int_equal(on_binding_find(&g, "sip:alice@192.0.2.5:40002", "", ""), 1);
	assert_int_equal(on_binding_find(&g, "sip:alice@192.0.2.5:1", "", ""), 2);
	assert_int_equal(on_binding_find(&g, "sip:x@y", g.b[0].instance, "1"), 0);
	assert_int_equal(on_binding_find(&g, "sip:x@y", g.b[0].instance, "3"), 2);
}

static void test_oversized(void **state)
{
	static struct on_reg g;
	char c[1024], big[300];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(c, sizeof(c), "Contact: <sip:alice@192.0.2.5>;+sip.instance=\"<%s>\"\r\n", big);
	assert_int_equal(reg(&g, c, ""), 400);
	snprintf(c, sizeof(c), "Contact: <sip:alice@192.0.2.5>;reg-id=1234567890123\r\n");
	assert_int_equal(reg(&g, c, ""), 400);
	/* a Contact URI longer than a binding holds (it was read past its end) */
	snprintf(c, sizeof(c), "Contact: <sip:%s@192.0.2.5>\r\n", big);
	assert_int_equal(reg(&g, c, ""), 400);
	assert_int_equal(g.n, 0);
}

static void test_wildcard(void **state)
{
	static struct on_reg g;

	(void)state;
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.5>, <sip:alice@192.0.2.6>\r\n", ""),
			 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(reg(&g, "Contact: *\r\n", ""), 400);
	assert_int_equal(reg(&g, "Contact: *\r\n", "Expires: 60\r\n"), 400);
	assert_int_equal(g.n, 2);
	assert_int_equal(reg(&g, "Contact: *\r\n", "Expires: 0\r\n"), 0);
	assert_int_equal(g.n, 0);
}

/* Eight bindings per account; the ninth is refused with 503. */
static void test_limit(void **state)
{
	static struct on_reg g;
	char c[128];

	(void)state;
	for (int i = 0; i < ON_BINDINGS_MAX; i++) {
		snprintf(c, sizeof(c), "Contact: <sip:alice@192.0.2.%d>\r\n", i + 1);
		assert_int_equal(reg(&g, c, ""), 0);
	}
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.99>\r\n", ""), 503);
	assert_int_equal(g.n, ON_BINDINGS_MAX);
	/* a refresh of one of them still goes */
	assert_int_equal(reg(&g, "Contact: <sip:alice@192.0.2.3>;expires=120\r\n", ""), 0);
}

static void parsed(struct on_binding *b, const char *uri, const char *src)
{
	memset(b, 0, sizeof(*b));
	str_copy(b->uri, uri, sizeof(b->uri));
	str_copy(b->src, src, sizeof(b->src));
	on_binding_parse(b);
}

/* Where a phone is reached: its Contact as it says when the REGISTER came
 * from that host, else (a NAT between) where the REGISTER came from; over
 * the Contact's transport, else the one it registered over. */
static void test_parse(void **state)
{
	struct on_binding b;

	(void)state;
	parsed(&b, "sip:alice@192.0.2.5:5062", "sip:192.0.2.5:40000;transport=udp");
	assert_string_equal(b.user, "alice");
	assert_string_equal(b.host, "192.0.2.5");
	assert_string_equal(b.port, "5062");
	assert_int_equal(b.nat, 0);
	assert_string_equal(b.tp, "udp");
	assert_string_equal(b.dest, "sip:192.0.2.5:5062;transport=udp");
	parsed(&b, "sip:alice@192.0.2.5", "sip:192.0.2.5:40000;transport=tcp");
	assert_string_equal(b.port, "5060");
	assert_string_equal(b.tp, "tcp");
	assert_string_equal(b.dest, "sip:192.0.2.5:5060;transport=tcp");
	parsed(&b, "sip:alice@192.0.2.5:5062;transport=TCP", "sip:192.0.2.5:40000;transport=udp");
	assert_string_equal(b.tp, "tcp");
	parsed(&b, "sip:alice@10.0.0.5:5062;transport=tcp", "sip:198.51.100.7:4000;transport=udp");
	assert_int_equal(b.nat, 1);
	assert_string_equal(b.tp, "udp");
	assert_string_equal(b.dest, "sip:198.51.100.7:4000;transport=udp");
	parsed(&b, "sip:alice@192.0.2.5:5062", "");
	assert_int_equal(b.nat, 0);
	assert_string_equal(b.tp, "udp");
}

/* A phone that registered over TLS is reached over TLS: at its Contact
 * (its own source port, for the node to reuse its connection), or where
 * it registered from behind a NAT; never in the clear, whatever its
 * Contact's transport says. A sips: Contact asks for TLS too. */
static void test_parse_tls(void **state)
{
	struct on_binding b;

	(void)state;
	parsed(&b, "sip:alice@192.0.2.5:40001;transport=tls", "sip:192.0.2.5:40001;transport=tls");
	assert_int_equal(b.nat, 0);
	assert_string_equal(b.tp, "tls");
	assert_string_equal(b.dest, "sip:192.0.2.5:40001;transport=tls");
	parsed(&b, "sip:alice@192.0.2.5:40001", "sip:192.0.2.5:40001;transport=tls");
	assert_string_equal(b.tp, "tls");
	assert_string_equal(b.dest, "sip:192.0.2.5:40001;transport=tls");
	parsed(&b, "sip:alice@192.0.2.5:5062;transport=udp", "sip:192.0.2.5:40001;transport=tls");
	assert_string_equal(b.tp, "tls");
	assert_string_equal(b.dest, "sip:192.0.2.5:5062;transport=tls");
	parsed(&b, "sip:alice@10.0.0.5:5062;transport=tcp", "sip:198.51.100.7:4000;transport=tls");
	assert_int_equal(b.nat, 1);
	assert_string_equal(b.tp, "tls");
	assert_string_equal(b.dest, "sip:198.51.100.7:4000;transport=tls");
	parsed(&b, "sips:alice@192.0.2.5", "sip:192.0.2.5:40001;transport=tcp");
	assert_string_equal(b.tp, "tls");
	assert_string_equal(b.dest, "sip:192.0.2.5:5061;transport=tls");
	parsed(&b, "sip:alice@192.0.2.5:5062;transport=TLS", "sip:192.0.2.5:5062;transport=udp");
	assert_string_equal(b.tp, "tls");
}

/* ---- the registrar over a database ---- */

struct fx {
	char *dir;
	struct on on;
	struct on_account_conf conf[2];
	struct on_registrar *r;
	int changed[2];
};

static void changed(void *arg, int i)
{
	struct fx *f = arg;

	f->changed[i]++;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *path, err[256];

	log_init("test", LOG_LVL_ERROR);
	if (f == NULL || (f->dir = tu_tmpdir_new()) == NULL)
		return -1;
	f->on.base = event_base_new();
	f->conf[0].name = "alice";
	f->conf[1].name = "bob";
	f->on.acc[0].conf = &f->conf[0];
	f->on.acc[1].conf = &f->conf[1];
	f->on.nacc = 2;
	path = tu_path(f->dir, "ordinarynode.db");
	f->on.db = on_db_open(path, err, sizeof(err));
	free(path);
	if (f->on.db == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	on_registrar_free(f->r);
	on_db_close(f->on.db);
	event_base_free(f->on.base);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* Saves alice's and carol's bindings as a node that stopped, then starts a
 * registrar on the same database (carol is no longer configured). */
static void restart_with(struct fx *f, uint64_t alice_life_ms)
{
	static struct on_reg alice, carol;
	struct on_db_account acc[2] = {{"alice", &alice}, {"carol", &carol}};
	char err[256];

	memset(&alice, 0, sizeof(alice));
	parsed(&alice.b[0], "sip:alice@192.0.2.5:5062", "sip:192.0.2.5:5062;transport=udp");
	parsed(&alice.b[1], "sip:alice@10.0.0.7:5060;transport=tcp",
	       "sip:198.51.100.7:4000;transport=tcp");
	alice.b[0].expires_ms = time_mono_ms() + 600000;
	alice.b[1].expires_ms = time_mono_ms() + alice_life_ms;
	alice.n = 2;
	parsed(&carol.b[0], "sip:carol@192.0.2.8", "sip:192.0.2.8:5060;transport=udp");
	carol.b[0].expires_ms = time_mono_ms() + 600000;
	carol.n = 1;
	assert_int_equal(on_db_bindings_save(f->on.db, acc, 2), 0);
	f->r = on_registrar_new(&f->on, changed, f, err, sizeof(err));
	assert_non_null(f->r);
	on_registrar_load(f->r);
}

static void test_view(void **state)
{
	struct fx *f = *state;
	struct on_bindings v;
	struct on_contact c[4];
	su_home_t home[1] = {SU_HOME_INIT(home)};
	uint64_t last;
	json_t *phones;

	restart_with(f, 300000);
	assert_int_equal(f->changed[0], 2);
	assert_int_equal(f->changed[1], 0);
	on_registrar_view(f->r, &v);
	assert_int_equal(v.contacts(v.arg, "alice", c, 4), 2);
	assert_string_equal(c[0].uri, "sip:alice@192.0.2.5:5062");
	assert_string_equal(c[1].dest, "sip:198.51.100.7:4000;transport=tcp");
	assert_string_equal(c[1].tp, "tcp");
	assert_int_equal(v.contacts(v.arg, "alice", NULL, 0), 0);
	assert_int_equal(v.contacts(v.arg, "bob", c, 4), 0);
	assert_int_equal(v.contacts(v.arg, "carol", c, 4), -1);
	assert_int_equal(v.count(v.arg, 0, &last), 2);
	assert_true(last > time_mono_ms() + 590000);
	assert_int_equal(v.count(v.arg, 1, &last), 0);
	/* a Request-URI that names a registered Contact (port 5060 implied) */
	assert_int_equal(
		v.find(v.arg, url_hdup(home, (url_t *)url_make(home, "sip:alice@10.0.0.7")), &c[0]),
		0);
	assert_string_equal(c[0].dest, "sip:198.51.100.7:4000;transport=tcp");
	assert_int_equal(
		v.find(v.arg, url_hdup(home, (url_t *)url_make(home, "sip:bob@10.0.0.7")), &c[0]),
		-1);
	assert_int_equal(v.find(v.arg,
				url_hdup(home, (url_t *)url_make(home, "sip:alice@192.0.2.5:5063")),
				&c[0]),
			 -1);
	assert_int_equal(on_registrar_count(f->r), 2);
	phones = on_registrar_phones(f->r);
	assert_int_equal(json_array_size(phones), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(phones, 0), "account")), "alice");
	json_decref(phones);
	su_home_deinit(home);
}

/* A binding that runs out goes within a second, is told, and is gone from
 * the database too. */
static void test_expiry(void **state)
{
	struct fx *f = *state;
	struct on_bindings v;
	struct on_contact c[4];

	restart_with(f, 300);
	on_registrar_view(f->r, &v);
	assert_int_equal(f->changed[0], 2);
	RUN_UNTIL(&f->on, f->changed[0] == 3, 3000);
	assert_int_equal(f->changed[0], 3);
	assert_int_equal(v.contacts(v.arg, "alice", c, 4), 1);
	on_registrar_free(f->r);
	f->r = NULL;
	f->changed[0] = 0;
	{
		char err[256];
		f->r = on_registrar_new(&f->on, changed, f, err, sizeof(err));
	}
	on_registrar_load(f->r);
	assert_int_equal(f->changed[0], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_refresh_remove),
		cmocka_unit_test(test_expiry_limits),
		cmocka_unit_test(test_instance),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_tls),
		cmocka_unit_test_setup_teardown(test_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	};

	su_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
