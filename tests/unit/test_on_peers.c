/* on_peers: the nodes and certificates that may speak in a call: only the
 * pairs recorded, the latest certificate of a node, the first parties kept
 * when a call has too many, forgotten after a day idle, all at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include <stdio.h>

#define DAY_MS (24ull * 3600 * 1000)
#define NODE_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define NODE_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define CERT_1 "11111111111111111111111111111111"
#define CERT_2 "22222222222222222222222222222222"

static void test_parties(void **state)
{
	struct on_peers *t = on_peers_new();

	(void)state;
	assert_non_null(t);
	assert_int_equal(on_peers_ok(t, "c1", NODE_A, CERT_1, 1000), 0);
	assert_int_equal(on_peers_known(t, "c1"), 0);
	assert_null(on_peers_cert(t, "c1", NODE_A));
	on_peers_allow(t, "c1", NODE_A, CERT_1, 1000);
	on_peers_allow(t, "c1", NODE_A, CERT_1, 1000); /* once */
	assert_int_equal(on_peers_count(t), 1);
	assert_int_equal(on_peers_known(t, "c1"), 1);
	assert_int_equal(on_peers_known(t, "c2"), 0);
	assert_int_equal(on_peers_ok(t, "c1", NODE_A, CERT_1, 1000), 1);
	assert_int_equal(on_peers_ok(t, "c1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CERT_1, 1000), 1);
	/* the right node with another certificate, another node, another call */
	assert_int_equal(on_peers_ok(t, "c1", NODE_A, CERT_2, 1000), 0);
	assert_int_equal(on_peers_ok(t, "c1", NODE_B, CERT_1, 1000), 0);
	assert_int_equal(on_peers_ok(t, "c2", NODE_A, CERT_1, 1000), 0);
	assert_string_equal(on_peers_cert(t, "c1", NODE_A), CERT_1);
	on_peers_allow(t, "c1", NODE_A, CERT_2, 2000); /* its key was renewed */
	assert_string_equal(on_peers_cert(t, "c1", NODE_A), CERT_2);
	assert_int_equal(on_peers_ok(t, "c1", NODE_A, CERT_1, 1000), 1);
	on_peers_free(t);
	on_peers_free(NULL);
}

static void test_full_call(void **state)
{
	struct on_peers *t = on_peers_new();
	char node[40];

	(void)state;
	on_peers_allow(t, "c", NODE_A, CERT_1, 1000); /* the caller */
	for (int i = 0; i < 20; i++) {
		snprintf(node, sizeof(node), "%032d", i);
		on_peers_allow(t, "c", node, CERT_2, 1000);
	}
	assert_int_equal(on_peers_ok(t, "c", NODE_A, CERT_1, 1000), 1);
	assert_int_equal(on_peers_ok(t, "c", "00000000000000000000000000000000", CERT_2, 1000), 1);
	assert_int_equal(on_peers_ok(t, "c", "00000000000000000000000000000019", CERT_2, 1000), 1);
	assert_int_equal(on_peers_ok(t, "c", "00000000000000000000000000000010", CERT_2, 1000), 0);
	on_peers_free(t);
}

static void test_expire(void **state)
{
	struct on_peers *t = on_peers_new();
	char id[32];

	(void)state;
	on_peers_allow(t, "old", NODE_A, CERT_1, 1000);
	on_peers_allow(t, "used", NODE_A, CERT_1, 1000);
	on_peers_allow(t, "used", NODE_B, CERT_2, DAY_MS); /* used again later */
	on_peers_expire(t, 1000 + DAY_MS, 0);
	assert_int_equal(on_peers_ok(t, "old", NODE_A, CERT_1, 1000), 0);
	assert_int_equal(on_peers_ok(t, "used", NODE_A, CERT_1, 1000), 1);
	assert_int_equal(on_peers_count(t), 1);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "call-%d", i);
		on_peers_allow(t, id, NODE_A, CERT_1, DAY_MS + (uint64_t)i);
	}
	assert_int_equal(on_peers_count(t), 1001);
	on_peers_expire(t, 0, 1);
	assert_int_equal(on_peers_count(t), 0);
	on_peers_allow(t, "after", NODE_A, CERT_1, 5);
	on_peers_free(t); /* frees what is left (valgrind) */
}

/* A full table drops the least recently used call: one whose party was
 * just heard from stays, the oldest untouched one goes. */
static void test_full_table_keeps_calls_in_use(void **state)
{
	struct on_peers *t = on_peers_new();
	char id[32];

	(void)state;
	on_peers_allow(t, "in-use", NODE_A, CERT_1, 1);
	on_peers_allow(t, "idle", NODE_A, CERT_1, 2);
	for (int i = 2; i < 100000; i++) { /* PEERS_MAX */
		snprintf(id, sizeof(id), "flood-%d", i);
		on_peers_allow(t, id, NODE_B, CERT_2, 3);
	}
	assert_int_equal(on_peers_ok(t, "in-use", NODE_A, CERT_1, 4), 1);
	on_peers_allow(t, "one-more", NODE_B, CERT_2, 5);
	on_peers_allow(t, "and-another", NODE_B, CERT_2, 5);
	assert_int_equal(on_peers_count(t), 100000);
	assert_int_equal(on_peers_known(t, "in-use"), 1);
	assert_int_equal(on_peers_known(t, "idle"), 0);
	assert_int_equal(on_peers_known(t, "flood-2"), 0);
	assert_int_equal(on_peers_known(t, "flood-3"), 1);
	on_peers_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parties),
		cmocka_unit_test(test_full_call),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_full_table_keeps_calls_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
