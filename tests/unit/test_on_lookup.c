/* on_lookup: the check of each value a DHT fetch brings, with records
 * signed in a test PKI: the user's own record names a node and its super
 * node; another name, a deletion, an expired value, a value signed by
 * another user, by a revoked certificate, or without node and sn is
 * refused. A fetch needs the link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crl.h"
#include "identity.h"
#include "log.h"
#include "on.h"
#include "record.h"
#include "testutil.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALICE "user:alice@overlay.example"
#define NODE "00112233445566778899aabbccddeeff"
#define SN "0123456789abcdef0123456789abcdef"

struct fx {
	struct tu_ca ca;
	EVP_PKEY *alice_key, *bob_key;
	X509 *alice, *bob;
	struct on on;
	struct on_lookup *lk;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	time_t now = time(NULL);
	char err[256];

	log_init("test", LOG_LVL_ERROR);
	if (f == NULL || tu_ca_new(&f->ca) < 0)
		return -1;
	f->alice_key = key_generate();
	f->bob_key = key_generate();
	f->alice = tu_issue(&f->ca, f->alice_key, "user", "alice", now - 60, now + 3600, 10);
	f->bob = tu_issue(&f->ca, f->bob_key, "user", "bob", now - 60, now + 3600, 11);
	f->on.ca = f->ca.cert;
	f->on.cfg.overlay = "overlay.example";
	f->lk = on_lookup_new(&f->on, err, sizeof(err));
	if (f->alice == NULL || f->bob == NULL || f->lk == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	on_lookup_free(f->lk);
	X509_free(f->alice);
	X509_free(f->bob);
	EVP_PKEY_free(f->alice_key);
	EVP_PKEY_free(f->bob_key);
	tu_ca_free(&f->ca);
	free(f);
	return 0;
}

/* A value as a super node hands it out. */
static json_t *value(EVP_PKEY *key, X509 *cert, const char *name, const char *data, uint64_t stored,
		     uint32_t life, int deleted)
{
	struct record r;
	json_t *j;

	assert_int_equal(record_init(&r, name, "sip", data, stored, life, deleted), 0);
	assert_int_equal(record_sign(&r, key, cert), 0);
	j = record_to_json(&r);
	record_clear(&r);
	return j;
}

static int check(struct fx *f, json_t *v, const char *name, struct on_place *at)
{
	int rc = on_lookup_value(f->lk, v, name, at);

	json_decref(v);
	return rc;
}

static void test_good(void **state)
{
	struct fx *f = *state;
	struct on_place at;
	json_t *v;

	v = value(f->alice_key, f->alice, ALICE,
		  "{\"node\":\"" NODE "\",\"sn\":\"" SN "\",\"sn_addr\":\"192.0.2.1:7000\"}",
		  now_ms(), 3600, 0);
	assert_int_equal(check(f, v, ALICE, &at), 0);
	assert_string_equal(at.to, NODE);
	assert_string_equal(at.sn, SN);
	assert_string_equal(at.sna, "192.0.2.1:7000");
	/* sn_addr is optional, and dropped when too long */
	v = value(f->alice_key, f->alice, ALICE, "{\"node\":\"" NODE "\",\"sn\":\"" SN "\"}",
		  now_ms(), 3600, 0);
	assert_int_equal(check(f, v, ALICE, &at), 0);
	assert_string_equal(at.sna, "");
	v = value(f->alice_key, f->alice, ALICE,
		  "{\"node\":\"" NODE "\",\"sn\":\"" SN "\",\"sn_addr\":\"" NODE NODE NODE "\"}",
		  now_ms(), 3600, 0);
	assert_int_equal(check(f, v, ALICE, &at), 0);
	assert_string_equal(at.sna, "");
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	const char *data = "{\"node\":\"" NODE "\",\"sn\":\"" SN "\"}";
	struct on_place at;

	/* asked for another name */
	assert_int_equal(check(f, value(f->alice_key, f->alice, ALICE, data, now_ms(), 3600, 0),
			       "user:alice@overlay.example/node", &at),
			 -1);
	/* a deletion */
	assert_int_equal(
		check(f, value(f->alice_key, f->alice, ALICE, "", now_ms(), 3600, 1), ALICE, &at),
		-1);
	/* expired */
	assert_int_equal(check(f,
			       value(f->alice_key, f->alice, ALICE, data, now_ms() - 7200 * 1000ull,
				     3600, 0),
			       ALICE, &at),
			 -1);
	/* bob may not store alice's location */
	assert_int_equal(
		check(f, value(f->bob_key, f->bob, ALICE, data, now_ms(), 3600, 0), ALICE, &at),
		-1);
	/* no node, or not a Node-ID */
	assert_int_equal(check(f,
			       value(f->alice_key, f->alice, ALICE, "{\"sn\":\"" SN "\"}", now_ms(),
				     3600, 0),
			       ALICE, &at),
			 -1);
	assert_int_equal(check(f,
			       value(f->alice_key, f->alice, ALICE,
				     "{\"node\":\"x\",\"sn\":\"" SN "\"}", now_ms(), 3600, 0),
			       ALICE, &at),
			 -1);
	/* not a record at all */
	assert_int_equal(check(f, json_pack("{s:s}", "name", ALICE), ALICE, &at), -1);
}

static void test_revoked(void **state)
{
	struct fx *f = *state;
	const char *data = "{\"node\":\"" NODE "\",\"sn\":\"" SN "\"}";
	uint64_t serial = 10;
	X509_CRL *x = tu_crl(&f->ca, &serial, 1, 2);
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(x, &der);
	char why[256];
	struct crl *c = crl_parse(der, (size_t)len, f->ca.cert, why, sizeof(why));
	struct on_place at;

	assert_non_null(c);
	on_lookup_set_crl(f->lk, c);
	assert_int_equal(
		check(f, value(f->alice_key, f->alice, ALICE, data, now_ms(), 3600, 0), ALICE, &at),
		-1);
	on_lookup_set_crl(f->lk, NULL);
	assert_int_equal(
		check(f, value(f->alice_key, f->alice, ALICE, data, now_ms(), 3600, 0), ALICE, &at),
		0);
	crl_free(c);
	OPENSSL_free(der);
	X509_CRL_free(x);
}

static void never(void *arg, uint64_t id, int idx, const char *name, const json_t *vals,
		  const char *why)
{
	(void)arg, (void)id, (void)idx, (void)name, (void)vals, (void)why;
	fail_msg("a fetch that did not go called back");
}

static void test_fetch_needs_link(void **state)
{
	struct fx *f = *state;

	f->on.state = ON_ATTACHING;
	assert_int_equal(on_lookup_fetch(f->lk, ALICE, never, NULL, 1, 0), -1);
	f->on.state = ON_ATTACHED; /* but no link */
	assert_int_equal(on_lookup_fetch(f->lk, ALICE, never, NULL, 1, 0), -1);
	assert_int_equal(on_lookup_count(f->lk), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_needs_link, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
