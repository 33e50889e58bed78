/* Unit tests of common/lan.c: the announcement datagram built and parsed,
 * and each reason a receiver refuses one, in a test PKI; the table of super
 * nodes heard, bounded and most recent first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crl.h"
#include "lan.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERLAY "overlay.example"
#define SRC "10.77.0.1"

struct fx {
	struct tu_ca ca, other;
	EVP_PKEY *key;
	X509 *sn_cert, *user_cert, *alien_cert;
	struct lan *lan;
	int64_t now;
	uint64_t ms;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	f->now = time_now();
	f->ms = 1000000;
	if (tu_ca_new(&f->ca) < 0 || tu_other_ca_new(&f->other) < 0)
		return -1;
	f->key = EVP_EC_gen("P-256");
	f->sn_cert = tu_issue(&f->ca, f->key, "supernode", "sn1", f->now - 60, f->now + 3600, 7);
	f->user_cert = tu_issue(&f->ca, f->key, "user", "alice", f->now - 60, f->now + 3600, 8);
	f->alien_cert =
		tu_issue(&f->other, f->key, "supernode", "sn1", f->now - 60, f->now + 3600, 9);
	f->lan = lan_new(OVERLAY, f->ca.cert);
	return f->key && f->sn_cert && f->user_cert && f->alien_cert && f->lan ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lan_free(f->lan);
	X509_free(f->sn_cert);
	X509_free(f->user_cert);
	X509_free(f->alien_cert);
	EVP_PKEY_free(f->key);
	tu_ca_free(&f->ca);
	tu_ca_free(&f->other);
	free(f);
	return 0;
}

/* Genuine fields for cert and key, from SRC, now. */
static void fields(struct fx *f, struct lan_fields *lf, X509 *cert)
{
	memset(lf, 0, sizeof(*lf));
	lf->overlay = OVERLAY;
	assert_int_equal(node_id_from_cert(cert, lf->node_id), 0);
	str_copy(lf->addr[0].host, SRC, sizeof(lf->addr[0].host));
	lf->addr[0].port = 7400;
	str_copy(lf->addr[1].host, SRC, sizeof(lf->addr[1].host));
	lf->addr[1].port = 443;
	lf->naddr = 2;
	lf->time = f->now;
	lf->cert = cert;
}

static enum lan_res take(struct fx *f, const struct lan_fields *lf, const char *src)
{
	uint8_t buf[LAN_DATAGRAM_MAX];
	int n = lan_build(lf, f->key, buf, sizeof(buf));

	assert_true(n > 0);
	return lan_take(f->lan, buf, (size_t)n, src, f->now, f->ms++, NULL, 0);
}

static void test_genuine_is_heard_and_parsed_back(void **state)
{
	struct fx *f = *state;
	struct lan_fields lf;
	struct lan_heard h[4];
	uint8_t buf[LAN_DATAGRAM_MAX];
	struct lan_ann a;
	int n;

	fields(f, &lf, f->sn_cert);
	n = lan_build(&lf, f->key, buf, sizeof(buf));
	assert_int_equal(lan_parse(buf, (size_t)n, &a), LAN_ACCEPTED);
	assert_string_equal(a.overlay, OVERLAY);
	assert_int_equal(a.naddr, 2);
	assert_int_equal(a.addr[1].port, 443);
	assert_int_equal(a.time, f->now);
	assert_int_equal(take(f, &lf, SRC), LAN_ACCEPTED);
	assert_int_equal(lan_heard(f->lan, h, 4, f->ms), 1);
	assert_string_equal(h[0].addr[0].host, SRC);
	assert_int_equal(h[0].addr[0].port, 7400);
	assert_int_equal(lan_stats(f->lan)->res[LAN_ACCEPTED], 1);
}

/* Each forgery is refused for its own reason and leaves the table empty. */
static void expect(struct fx *f, const struct lan_fields *lf, const char *src, enum lan_res res)
{
	struct lan_heard h[1];

	assert_string_equal(lan_res_str(take(f, lf, src)), lan_res_str(res));
	assert_int_equal(lan_stats(f->lan)->res[res], 1);
	assert_int_equal(lan_heard(f->lan, h, 1, f->ms), 0);
}

static void test_other_ca_user_and_node_id(void **state)
{
	struct fx *f = *state;
	struct lan_fields lf;

	fields(f, &lf, f->alien_cert);
	expect(f, &lf, SRC, LAN_CERT);
	fields(f, &lf, f->user_cert);
	expect(f, &lf, SRC, LAN_ROLE);
	fields(f, &lf, f->sn_cert);
	lf.node_id[0] ^= 1;
	expect(f, &lf, SRC, LAN_NODE_ID);
}

static void test_overlay_time_address(void **state)
{
	struct fx *f = *state;
	struct lan_fields lf;

	fields(f, &lf, f->sn_cert);
	lf.overlay = "other.example";
	expect(f, &lf, SRC, LAN_OVERLAY);
	fields(f, &lf, f->sn_cert);
	lf.time = f->now - LAN_SKEW - 1;
	expect(f, &lf, SRC, LAN_TIME);
	fields(f, &lf, f->sn_cert);
	str_copy(lf.addr[1].host, "10.77.0.3", sizeof(lf.addr[1].host));
	expect(f, &lf, SRC, LAN_ADDRESS);
}

static void test_revoked(void **state)
{
	struct fx *f = *state;
	struct lan_fields lf;
	uint64_t serial = 7;
	X509_CRL *x = tu_crl(&f->ca, &serial, 1, 1);
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(x, &der);
	struct crl *crl = crl_parse(der, (size_t)len, f->ca.cert, NULL, 0);

	assert_non_null(crl);
	lan_set_crl(f->lan, crl);
	fields(f, &lf, f->sn_cert);
	expect(f, &lf, SRC, LAN_REVOKED);
	lan_set_crl(f->lan, NULL);
	crl_free(crl);
	OPENSSL_free(der);
	X509_CRL_free(x);
}

static void test_signature_flipped(void **state)
{
	struct fx *f = *state;
	struct lan_fields lf;
	uint8_t buf[LAN_DATAGRAM_MAX];
	int n;
	struct lan_heard h[1];

	fields(f, &lf, f->sn_cert);
	n = lan_build(&lf, f->key, buf, sizeof(buf));
	buf[n - 5] ^= 0x40; /* inside the signature */
	assert_int_equal(lan_take(f->lan, buf, (size_t)n, SRC, f->now, f->ms, NULL, 0),
			 LAN_SIGNATURE);
	buf[n - 5] ^= 0x40;
	buf[30] ^= 1; /* a signed byte: the Node-ID, then refused by its certificate */
	assert_int_not_equal(lan_take(f->lan, buf, (size_t)n, SRC, f->now, f->ms, NULL, 0),
			     LAN_ACCEPTED);
	assert_int_equal(lan_heard(f->lan, h, 1, f->ms), 0);
}

static void test_replay_and_self(void **state)
{
	struct fx *f = *state;
	struct lan_fields lf;
	uint8_t buf[LAN_DATAGRAM_MAX];
	int n;

	fields(f, &lf, f->sn_cert);
	n = lan_build(&lf, f->key, buf, sizeof(buf));
	assert_int_equal(lan_take(f->lan, buf, (size_t)n, SRC, f->now, f->ms, NULL, 0),
			 LAN_ACCEPTED);
	assert_int_equal(lan_take(f->lan, buf, (size_t)n, SRC, f->now, f->ms, NULL, 0), LAN_REPLAY);
	lf.time = f->now + 1;
	assert_int_equal(take(f, &lf, SRC), LAN_ACCEPTED);
	lan_set_self(f->lan, lf.node_id);
	lf.time = f->now + 2;
	assert_int_equal(take(f, &lf, SRC), LAN_SELF);
}

static void test_size_parse_rate(void **state)
{
	struct fx *f = *state;
	uint8_t big[LAN_DATAGRAM_MAX + 1] = {0};
	struct lan_fields lf;
	uint8_t buf[LAN_DATAGRAM_MAX];
	int n, rated = 0;
	char why[128];

	assert_int_equal(lan_take(f->lan, big, sizeof(big), "10.0.0.9", f->now, f->ms, NULL, 0),
			 LAN_SIZE);
	assert_int_equal(lan_take(f->lan, big, 0, "10.0.0.9", f->now, f->ms, NULL, 0), LAN_SIZE);
	fields(f, &lf, f->sn_cert);
	n = lan_build(&lf, f->key, buf, sizeof(buf));
	for (int cut = 1; cut < n; cut += 7)
		assert_int_equal(lan_parse(buf, (size_t)cut, &(struct lan_ann){0}), LAN_PARSE);
	assert_int_equal(
		lan_take(f->lan, buf, (size_t)n - 1, "10.0.0.9", f->now, f->ms, why, sizeof(why)),
		LAN_PARSE);
	assert_contains(why, "malformed");
	for (int i = 0; i < 2 * (int)LAN_SOURCE_BURST; i++)
		rated += lan_take(f->lan, big, 4, "10.0.0.8", f->now, f->ms, NULL, 0) == LAN_RATE;
	assert_int_equal(rated, (int)LAN_SOURCE_BURST);
}

/* LAN_HEARD_MAX + 1 super nodes: the least recently heard goes; the most
 * recent comes first. */
static void test_table_bounded_recent_first(void **state)
{
	struct fx *f = *state;
	struct lan_heard h[LAN_HEARD_MAX + 1];
	uint8_t first[NODE_ID_LEN];

	for (int i = 0; i <= LAN_HEARD_MAX; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509 *c = tu_issue(&f->ca, k, "supernode", "snx", f->now - 60, f->now + 3600,
				   100 + (uint64_t)i);
		struct lan_fields lf;
		uint8_t buf[LAN_DATAGRAM_MAX];
		char src[32];
		int n;

		snprintf(src, sizeof(src), "10.1.%d.%d", i / 200, 1 + i % 200);
		fields(f, &lf, c);
		str_copy(lf.addr[0].host, src, sizeof(lf.addr[0].host));
		lf.naddr = 1;
		if (i == 0)
			memcpy(first, lf.node_id, NODE_ID_LEN);
		n = lan_build(&lf, k, buf, sizeof(buf));
		assert_int_equal(lan_take(f->lan, buf, (size_t)n, src, f->now, f->ms++, NULL, 0),
				 LAN_ACCEPTED);
		X509_free(c);
		EVP_PKEY_free(k);
	}
	assert_int_equal(lan_heard(f->lan, h, LAN_HEARD_MAX + 1, f->ms), LAN_HEARD_MAX);
	assert_string_equal(h[0].addr[0].host, "10.1.0.65");
	for (int i = 0; i < LAN_HEARD_MAX; i++)
		assert_memory_not_equal(h[i].node_id, first, NODE_ID_LEN);
	/* silent for LAN_FORGET_SECS: forgotten */
	assert_int_equal(lan_heard(f->lan, h, 4, f->ms + 1000u * LAN_FORGET_SECS), 0);
}

static void test_sock_conf(void **state)
{
	struct lan_sock_conf c;
	char err[128];

	(void)state;
	assert_int_equal(lan_sock_conf(&c, LAN_GROUP_DEFAULT, "", err, sizeof(err)), 0);
	assert_int_equal(c.port, 7409);
	assert_int_equal(lan_sock_conf(&c, "10.0.0.1:7409", "", err, sizeof(err)), -1);
	assert_contains(err, "multicast");
	assert_int_equal(lan_sock_conf(&c, LAN_GROUP_DEFAULT, "eth0", err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_genuine_is_heard_and_parsed_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_ca_user_and_node_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_time_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_flipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_and_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_parse_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_bounded_recent_first, setup, teardown),
		cmocka_unit_test(test_sock_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
