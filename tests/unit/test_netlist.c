/* netlist: lists of networks (allow_networks, phone_networks) matched
 * against addresses given as socket addresses or text, IPv4-mapped IPv6 as
 * IPv4, what is not a list refused, and the key of an address's limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "netlist.h"
#include "util.h"

#include <netinet/in.h>
#include <string.h>

static struct netaddr ip_of(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct netaddr ip, same;

	assert_int_equal(addr_ip_port(text, 9, &ss, &len), 0);
	assert_int_equal(netaddr_of_sockaddr((struct sockaddr *)&ss, &ip), 0);
	assert_int_equal(netaddr_parse(text, &same), 0);
	assert_true(netaddr_eq(&ip, &same));
	return ip;
}

static void mapped_addresses_are_their_ipv4(void **state)
{
	struct netaddr a = ip_of("::ffff:192.0.2.7"), b = ip_of("192.0.2.7");
	struct sockaddr_storage un = {.ss_family = AF_UNIX};

	(void)state;
	assert_true(a.v4);
	assert_true(netaddr_eq(&a, &b));
	b = ip_of("::192.0.2.7"); /* IPv4-compatible: an IPv6 address */
	assert_false(b.v4);
	assert_int_equal(netaddr_of_sockaddr((struct sockaddr *)&un, &a), -1);
	assert_int_equal(netaddr_parse("localhost", &a), -1);
}

static void allow_list_matches_its_networks(void **state)
{
	struct netlist nets;
	char err[160];
	struct netaddr ip;

	(void)state;
	assert_int_equal(netlist_parse("127.0.0.0/8, 10.1.0.0/16,fd00::/8, 192.0.2.5,"
				       " 2001:db8::1, 172.16.0.0/12",
				       &nets, err, sizeof(err)),
			 0);
	assert_int_equal(nets.n, 6);
	ip = ip_of("127.0.0.1");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("::ffff:127.9.9.9");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("10.1.200.3");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("10.2.0.1");
	assert_false(netlist_has(&nets, &ip));
	ip = ip_of("fd99::1");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("fe00::1");
	assert_false(netlist_has(&nets, &ip));
	ip = ip_of("192.0.2.5");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("192.0.2.6");
	assert_false(netlist_has(&nets, &ip));
	ip = ip_of("2001:db8::1");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("172.31.0.1");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("172.32.0.1");
	assert_false(netlist_has(&nets, &ip));

	assert_int_equal(netlist_parse("", &nets, err, sizeof(err)), 0);
	assert_int_equal(nets.n, 0);
	ip = ip_of("127.0.0.1");
	assert_false(netlist_has(&nets, &ip)); /* an empty list holds nothing */
	assert_int_equal(netlist_parse(NULL, &nets, err, sizeof(err)), 0);
	assert_int_equal(netlist_parse("0.0.0.0/0", &nets, err, sizeof(err)), 0);
	ip = ip_of("8.8.8.8");
	assert_true(netlist_has(&nets, &ip));
	ip = ip_of("::1");
	assert_false(netlist_has(&nets, &ip)); /* an IPv4 network holds no IPv6 */
}

/* Addresses as text, as a phone's source is; white space between items. */
static void allow_list_matches_text(void **state)
{
	struct netlist nets;
	char err[160];

	(void)state;
	assert_int_equal(
		netlist_parse("192.168.1.0/24, 10.0.0.1 fd00::/8", &nets, err, sizeof(err)), 0);
	assert_int_equal(nets.n, 3);
	assert_true(netlist_has_text(&nets, "192.168.1.77"));
	assert_false(netlist_has_text(&nets, "192.168.2.1"));
	assert_true(netlist_has_text(&nets, "10.0.0.1"));
	assert_false(netlist_has_text(&nets, "10.0.0.2"));
	assert_true(netlist_has_text(&nets, "fd12::1"));
	assert_false(netlist_has_text(&nets, "fe80::1"));
	assert_false(netlist_has_text(&nets, "garbage"));
	assert_false(netlist_has_text(&nets, ""));
	/* a phone reaching a dual-stack socket over IPv4 */
	assert_true(netlist_has_text(&nets, "::ffff:192.168.1.77"));
	assert_false(netlist_has_text(&nets, "::ffff:192.168.2.1"));
	assert_int_equal(netlist_parse("\t192.0.2.0/25\n", &nets, err, sizeof(err)), 0);
	assert_true(netlist_has_text(&nets, "192.0.2.127"));
	assert_false(netlist_has_text(&nets, "192.0.2.128"));
}

static void allow_list_refuses_what_is_not_a_network(void **state)
{
	static const char *bad[] = {
		"127.0.0.0/33",        "::/129",       "10.0.0.0/",         "10.0.0.0/x",
		"10.0.0.0/-1",         "10.0.0.0/8/8", "localhost",         "10.0.0",
		"::ffff:10.0.0.0/104", "10.0.0.0/+8",  "1.2.3.4, nonsense", "/8",
		"10.0.0.0/ 8",         "fe80::1%lo",   "::ffff:10.0.0.1",
	};
	struct netlist nets;
	char err[160], many[4096] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (netlist_parse(bad[i], &nets, err, sizeof(err)) == 0)
			fail_msg("%s taken", bad[i]);
		assert_int_equal(nets.n, 0);
		assert_string_not_equal(err, "");
	}
	assert_int_equal(netlist_parse("10.0.0.0/8, 10.0.0.0/33", &nets, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "10.0.0.0/33: want a network"));
	for (int i = 0; i <= NETLIST_MAX; i++)
		strcat(many, "10.0.0.0/8,");
	assert_int_equal(netlist_parse(many, &nets, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 32 networks"));
	assert_int_equal(nets.n, 0);
	many[0] = '\0';
	for (int i = 0; i < NETLIST_MAX; i++)
		strcat(many, "10.0.0.0/8 ");
	assert_int_equal(netlist_parse(many, &nets, err, sizeof(err)), 0);
	assert_int_equal(nets.n, NETLIST_MAX);
	memset(many, '1', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	assert_int_equal(netlist_parse(many, &nets, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "characters"));
}

static void limit_key_is_the_host_or_its_64(void **state)
{
	char k[80], small[8];

	(void)state;
	addr_limit_key("192.0.2.7", k, sizeof(k));
	assert_string_equal(k, "192.0.2.7");
	addr_limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof(k));
	assert_string_equal(k, "2001:db8:1:2::/64");
	addr_limit_key("2001:db8:1:2::1", k, sizeof(k));
	assert_string_equal(k, "2001:db8:1:2::/64");
	addr_limit_key("2001:db8:1:3::1", k, sizeof(k));
	assert_string_equal(k, "2001:db8:1:3::/64");
	addr_limit_key("::1", k, sizeof(k));
	assert_string_equal(k, "::/64");
	addr_limit_key("::ffff:192.0.2.9", k, sizeof(k));
	assert_string_equal(k, "192.0.2.9");
	addr_limit_key("?", k, sizeof(k));
	assert_string_equal(k, "?");
	addr_limit_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", k, ADDR_LIMIT_KEY_MAX);
	assert_string_equal(k, "ffff:ffff:ffff:ffff::/64");
	addr_limit_key("2001:db8:1:2::1", small, sizeof(small));
	assert_string_equal(small, "2001:db"); /* cut, never overrun */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mapped_addresses_are_their_ipv4),
		cmocka_unit_test(allow_list_matches_its_networks),
		cmocka_unit_test(allow_list_matches_text),
		cmocka_unit_test(allow_list_refuses_what_is_not_a_network),
		cmocka_unit_test(limit_key_is_the_host_or_its_64),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
