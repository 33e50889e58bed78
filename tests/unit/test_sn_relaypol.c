/* sn_relaypol: where the media relay may send: the class of each address
 * (IPv4, IPv6, IPv4-mapped, NAT64, 6to4) and the operator's allow-list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "sn_relaypol.h"
#include "util.h"

#include <netinet/in.h>
#include <string.h>

static struct relay_ip ip_of(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct relay_ip ip;

	assert_int_equal(addr_ip_port(text, 9, &ss, &len), 0);
	assert_int_equal(relay_ip_of((struct sockaddr *)&ss, &ip), 0);
	return ip;
}

static enum relay_addr_class class_of(const char *text)
{
	struct relay_ip ip = ip_of(text);

	return relay_addr_class(&ip);
}

static void special_addresses_are_never_destinations(void **state)
{
	static const char *special[] = {
		"127.0.0.1",
		"127.255.0.9",
		"0.0.0.0",
		"0.1.2.3",
		"224.0.0.1",
		"239.255.255.250",
		"255.255.255.255",
		"240.0.0.1",
		"169.254.1.1",
		"::",
		"::1",
		"::127.0.0.1",
		"ff02::1",
		"fe80::1",
		"::ffff:127.0.0.1",
		"::ffff:0.0.0.0",
		"64:ff9b::7f00:1",
		"2002:7f00:1::1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (class_of(special[i]) != RELAY_ADDR_SPECIAL)
			fail_msg("%s is not special", special[i]);
}

static void private_ranges_are_private(void **state)
{
	static const char *priv[] = {
		"10.0.0.1",       "10.255.255.255", "172.16.0.1",         "172.31.255.254",
		"192.168.1.1",    "100.64.0.1",     "100.127.255.254",    "fc00::1",
		"fd12:3456::1",   "fec0::1",        "::ffff:192.168.0.1", "::ffff:10.1.2.3",
		"64:ff9b::a00:1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		if (class_of(priv[i]) != RELAY_ADDR_PRIVATE)
			fail_msg("%s is not private", priv[i]);
}

static void public_addresses_are_public(void **state)
{
	static const char *pub[] = {
		"8.8.8.8",          "172.15.255.255",  "172.32.0.1",    "100.63.255.255",
		"100.128.0.1",      "192.0.2.1",       "198.51.100.11", "11.0.0.1",
		"223.255.255.255",  "2001:db8::1",     "2a00:1450::1",  "::ffff:8.8.8.8",
		"64:ff9b::808:808", "2002:808:808::1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++)
		if (class_of(pub[i]) != RELAY_ADDR_PUBLIC)
			fail_msg("%s is not public", pub[i]);
}

static void mapped_addresses_are_their_ipv4(void **state)
{
	struct relay_ip a = ip_of("::ffff:192.0.2.7"), b = ip_of("192.0.2.7");

	(void)state;
	assert_true(a.v4);
	assert_true(relay_ip_eq(&a, &b));
	assert_string_not_equal(relay_addr_class_name(RELAY_ADDR_SPECIAL), "");
}

static void allow_list_matches_its_networks(void **state)
{
	struct relay_nets nets;
	char err[160];
	struct relay_ip ip;

	(void)state;
	assert_int_equal(relay_nets_parse("127.0.0.0/8, 10.1.0.0/16,fd00::/8, 192.0.2.5,"
					  " 2001:db8::1, 172.16.0.0/12",
					  &nets, err, sizeof(err)),
			 0);
	assert_int_equal(nets.n, 6);
	ip = ip_of("127.0.0.1");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("::ffff:127.9.9.9");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("10.1.200.3");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("10.2.0.1");
	assert_false(relay_nets_has(&nets, &ip));
	ip = ip_of("fd99::1");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("fe00::1");
	assert_false(relay_nets_has(&nets, &ip));
	ip = ip_of("192.0.2.5");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("192.0.2.6");
	assert_false(relay_nets_has(&nets, &ip));
	ip = ip_of("2001:db8::1");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("172.31.0.1");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("172.32.0.1");
	assert_false(relay_nets_has(&nets, &ip));

	assert_int_equal(relay_nets_parse("", &nets, err, sizeof(err)), 0);
	assert_int_equal(nets.n, 0);
	assert_int_equal(relay_nets_parse(NULL, &nets, err, sizeof(err)), 0);
	assert_int_equal(relay_nets_parse("0.0.0.0/0", &nets, err, sizeof(err)), 0);
	ip = ip_of("8.8.8.8");
	assert_true(relay_nets_has(&nets, &ip));
	ip = ip_of("::1");
	assert_false(relay_nets_has(&nets, &ip)); /* an IPv4 network holds no IPv6 */
}

static void allow_list_refuses_what_is_not_a_network(void **state)
{
	static const char *bad[] = {
		"127.0.0.0/33",        "::/129",       "10.0.0.0/",         "10.0.0.0/x",
		"10.0.0.0/-1",         "10.0.0.0/8/8", "localhost",         "10.0.0",
		"::ffff:10.0.0.0/104", "10.0.0.0/+8",  "1.2.3.4, nonsense",
	};
	struct relay_nets nets;
	char err[160], many[4096] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (relay_nets_parse(bad[i], &nets, err, sizeof(err)) == 0)
			fail_msg("%s taken", bad[i]);
		assert_int_equal(nets.n, 0);
		assert_string_not_equal(err, "");
	}
	for (int i = 0; i <= RELAY_NETS_MAX; i++)
		strcat(many, "10.0.0.0/8,");
	assert_int_equal(relay_nets_parse(many, &nets, err, sizeof(err)), -1);
	memset(many, '1', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	assert_int_equal(relay_nets_parse(many, &nets, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(special_addresses_are_never_destinations),
		cmocka_unit_test(private_ranges_are_private),
		cmocka_unit_test(public_addresses_are_public),
		cmocka_unit_test(mapped_addresses_are_their_ipv4),
		cmocka_unit_test(allow_list_matches_its_networks),
		cmocka_unit_test(allow_list_refuses_what_is_not_a_network),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
