/* on_gateway: the gateway mode's policy: domains served ("*" is any name,
 * never an address), static next hops, bad configuration refused, and the
 * limits per overlay user and per foreign address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include <string.h>

static struct on_gw *gw(const char *domains, const char *routes, char *err, size_t errlen)
{
	struct on_config c;

	memset(&c, 0, sizeof(c));
	c.gw_enable = 1;
	c.gw_domains = (char *)domains;
	c.gw_routes = (char *)routes;
	c.gw_user_requests = 3;
	c.gw_source_rate = 2;
	c.gw_source_burst = 4;
	return on_gw_new(&c, err, errlen);
}

static void test_domains(void **state)
{
	char err[200];
	struct on_gw *g = gw("*", "", err, sizeof(err));
	const char *d[4];

	(void)state;
	assert_non_null(g);
	assert_true(on_gw_domain_ok(g, "example.net"));
	assert_false(on_gw_domain_ok(g, "127.0.0.1")); /* "*" is no address */
	assert_false(on_gw_domain_ok(g, "[::1]"));
	assert_int_equal(on_gw_domains(g, d, 4), 1);
	assert_string_equal(d[0], "*");
	assert_null(on_gw_next_hop(g, "example.net"));
	on_gw_free(g);
	g = gw("Example.NET, other.example 192.0.2.7", "", err, sizeof(err));
	assert_non_null(g);
	assert_true(on_gw_domain_ok(g, "example.net"));
	assert_true(on_gw_domain_ok(g, "OTHER.example"));
	assert_true(on_gw_domain_ok(g, "192.0.2.7")); /* listed: served */
	assert_false(on_gw_domain_ok(g, "evil.example"));
	assert_int_equal(on_gw_domains(g, d, 4), 3);
	on_gw_free(g);
}

static void test_routes(void **state)
{
	char err[200];
	struct on_gw *g = gw("*",
			     "example.net=127.0.0.40:5060 other.example=gw.other.example:5061/tls "
			     "x.example=[2001:db8::1]:5060/tcp",
			     err, sizeof(err));

	(void)state;
	assert_non_null(g);
	assert_string_equal(on_gw_next_hop(g, "example.net"), "sip:127.0.0.40:5060;transport=udp");
	assert_string_equal(on_gw_next_hop(g, "other.example"),
			    "sips:gw.other.example:5061;transport=tls");
	assert_string_equal(on_gw_next_hop(g, "x.example"), "sip:[2001:db8::1]:5060;transport=tcp");
	assert_null(on_gw_next_hop(g, "y.example"));
	on_gw_free(g);
}

static void test_bad_config(void **state)
{
	static const char *const bad_domains[] = {"exa mple..net", "-x.example", "x.example.",
						  "a_b.example", "x/y"};
	static const char *const bad_routes[] = {"example.net",
						 "example.net=",
						 "=1.2.3.4:5060",
						 "*=1.2.3.4:5060",
						 "example.net=1.2.3.4:5060/sctp",
						 "example.net=1.2.3.4"};
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		assert_null(gw(bad_domains[i], "", err, sizeof(err)));
		assert_non_null(strstr(err, "domains"));
	}
	for (size_t i = 0; i < sizeof(bad_routes) / sizeof(bad_routes[0]); i++) {
		assert_null(gw("*", bad_routes[i], err, sizeof(err)));
		assert_non_null(strstr(err, "routes"));
	}
}

static void test_limits(void **state)
{
	char err[200];
	struct on_gw *g = gw("*", "", err, sizeof(err));

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_true(on_gw_user_ok(g, "alice", 1000));
	assert_false(on_gw_user_ok(g, "alice", 1000));
	assert_true(on_gw_user_ok(g, "bob", 1000));           /* each user his own */
	assert_true(on_gw_user_ok(g, "alice", 1000 + 20000)); /* 3 a minute: one per 20 s */
	for (int i = 0; i < 4; i++)
		assert_true(on_gw_source_ok(g, "192.0.2.9", 1000));
	assert_false(on_gw_source_ok(g, "192.0.2.9", 1000));
	assert_true(on_gw_source_ok(g, "192.0.2.10", 1000));
	/* IPv6 by its /64 */
	for (int i = 0; i < 4; i++)
		assert_true(on_gw_source_ok(g, "2001:db8::1", 1000));
	assert_false(on_gw_source_ok(g, "2001:db8::2", 1000));
	assert_int_equal(on_gw_counts(g)->user_limited, 1);
	assert_int_equal(on_gw_counts(g)->source_limited, 2);
	on_gw_free(g);
}

/* [peer DOMAIN] sections (federation): served, reached only by sips:,
 * published, their gateways' accounts; our own overlay, an address or *
 * refused as a peer. */
static struct on_gw *peers(struct on_peer_conf *pc, int n, const char *tls, char *err,
			   size_t errlen)
{
	struct on_config c;

	memset(&c, 0, sizeof(c));
	c.overlay = "overlay.example";
	c.gw_enable = 1;
	c.gw_domains = "example.net";
	c.gw_routes = "other.example=127.0.0.9:5060";
	c.gw_user_requests = c.gw_source_rate = c.gw_source_burst = 1;
	c.gw_tls_listen = (char *)tls;
	c.peers = pc;
	c.npeers = n;
	return on_gw_new(&c, err, errlen);
}

static void test_peers(void **state)
{
	char err[200];
	struct on_peer_conf pc[2] = {{"Other.Example", "ca.crt", "", "gw1, gw2"},
				     {"third.example", "ca3.crt", "192.0.2.9:5061", ""}};
	struct on_gw *g = peers(pc, 2, "127.0.0.1:5061", err, sizeof(err));
	const char *d[8];

	(void)state;
	assert_non_null(g);
	assert_true(on_gw_domain_ok(g, "other.example")); /* not in domains: a peer */
	assert_string_equal(on_gw_peer(g, "OTHER.example"), "other.example");
	assert_null(on_gw_peer(g, "example.net"));
	/* TLS only, whatever routes says */
	assert_string_equal(on_gw_next_hop(g, "other.example"), "sips:other.example");
	assert_string_equal(on_gw_next_hop(g, "third.example"),
			    "sips:192.0.2.9:5061;transport=tls");
	assert_int_equal(on_gw_domains(g, d, 8), 3); /* example.net and both peers */
	assert_true(on_gw_peer_gateway(g, "other.example", "gw2"));
	assert_false(on_gw_peer_gateway(g, "other.example", "alice"));
	assert_true(on_gw_peer_gateway(g, "third.example", "anyone")); /* no list */
	assert_false(on_gw_peer_gateway(g, "example.net", "gw1"));
	on_gw_free(g);

	pc[0].name = "overlay.example"; /* ourselves */
	assert_null(peers(pc, 1, "127.0.0.1:5061", err, sizeof(err)));
	pc[0].name = "192.0.2.1";
	assert_null(peers(pc, 1, "127.0.0.1:5061", err, sizeof(err)));
	pc[0].name = "*";
	assert_null(peers(pc, 1, "127.0.0.1:5061", err, sizeof(err)));
	pc[0].name = "other.example";
	pc[0].route = "gw.other.example"; /* no port */
	assert_null(peers(pc, 1, "127.0.0.1:5061", err, sizeof(err)));
	pc[0].route = "";
	assert_null(peers(pc, 1, "gw.example:5061", err, sizeof(err))); /* not an IP */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domains),    cmocka_unit_test(test_routes),
		cmocka_unit_test(test_bad_config), cmocka_unit_test(test_limits),
		cmocka_unit_test(test_peers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
