/* sn_relaypol: where the media relay may send: the class of each address
 * (IPv4, IPv6, IPv4-mapped, NAT64, 6to4). The allow-list is test_netlist.c's. */
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

static enum relay_addr_class class_of(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct netaddr ip;

	assert_int_equal(addr_ip_port(text, 9, &ss, &len), 0);
	assert_int_equal(netaddr_of_sockaddr((struct sockaddr *)&ss, &ip), 0);

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

static void class_names_are_words(void **state)
{
	(void)state;
	assert_string_not_equal(relay_addr_class_name(RELAY_ADDR_SPECIAL), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(special_addresses_are_never_destinations),
		cmocka_unit_test(private_ranges_are_private),
		cmocka_unit_test(public_addresses_are_public),
		cmocka_unit_test(class_names_are_words),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
