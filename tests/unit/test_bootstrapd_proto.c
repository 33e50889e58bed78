/* bootstrapd_proto: announce and heartbeat bodies, public addresses, super node choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bootstrapd_proto.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int announce_text(const char *text, int allow_private, struct announce *a, char *err,
			 size_t errlen)
{
	err[0] = '\0';
	return announce_parse((const uint8_t *)text, strlen(text), allow_private, a, err, errlen);
}

static void expect_announce_refused(const char *text, int allow_private, const char *want)
{
	struct announce a;
	char err[256];

	if (announce_text(text, allow_private, &a, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" for %s does not contain \"%s\"", err, text, want);
}

/* One address, as a body. */
static void one_addr(char *out, size_t len, const char *host, const char *port)
{
	snprintf(out, len, "{\"addresses\":[{\"host\":\"%s\",\"port\":%s}],\"load\":3}", host,
		 port);
}

static void announce_parse_reads_ipv4_and_ipv6_addresses(void **state)
{
	struct announce a;
	char err[256];

	(void)state;
	assert_int_equal(announce_text("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5061},"
				       "{\"host\":\"2a00:1450:4001:0000:0000:0000:0000:0001\","
				       "\"port\":5062}],\"load\":17}",
				       0, &a, err, sizeof(err)),
			 0);
	assert_int_equal(a.naddrs, 2);
	assert_string_equal(a.addrs[0].host, "8.8.8.8");
	assert_int_equal(a.addrs[0].port, 5061);
	assert_string_equal(a.addrs[1].host, "2a00:1450:4001::1");
	assert_int_equal(a.addrs[1].port, 5062);
	assert_int_equal(a.load, 17);
}

static void announce_parse_normalises_ipv6_to_lower_case_compressed(void **state)
{
	struct announce a;
	char err[256], body[256];

	(void)state;
	one_addr(body, sizeof(body), "2001:DB8::1", "5060");
	assert_int_equal(announce_text(body, 1, &a, err, sizeof(err)), 0);
	assert_string_equal(a.addrs[0].host, "2001:db8::1");
	one_addr(body, sizeof(body), "2A00:0:0:0:0:0:0:00FF", "5060");
	assert_int_equal(announce_text(body, 0, &a, err, sizeof(err)), 0);
	assert_string_equal(a.addrs[0].host, "2a00::ff");
}

static void announce_parse_accepts_ports_1_and_65535_and_load_limits(void **state)
{
	struct announce a;
	char err[256], body[256];

	(void)state;
	one_addr(body, sizeof(body), "8.8.8.8", "1");
	assert_int_equal(announce_text(body, 0, &a, err, sizeof(err)), 0);
	assert_int_equal(a.addrs[0].port, 1);
	one_addr(body, sizeof(body), "8.8.8.8", "65535");
	assert_int_equal(announce_text(body, 0, &a, err, sizeof(err)), 0);
	assert_int_equal(a.addrs[0].port, 65535);
	assert_int_equal(announce_text("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}]}", 0,
				       &a, err, sizeof(err)),
			 0);
	assert_int_equal(a.load, 0);
	snprintf(body, sizeof(body),
		 "{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}],\"load\":%d", SN_LOAD_MAX);
	strcat(body, "}");
	assert_int_equal(announce_text(body, 0, &a, err, sizeof(err)), 0);
	assert_int_equal(a.load, SN_LOAD_MAX);
}

static void announce_parse_refuses_hostnames_and_non_addresses(void **state)
{
	char body[256];
	static const char *const hosts[] = {
		"example.com", "localhost", "8.8.8.8:5060", " 8.8.8.8",   "8.8.8.8 ",
		"8.8.8",       "8.8.8.8.8", "256.1.1.1",    "08.8.8.8",   "fe80::1%eth0",
		"[2a00::1]",   "",          "0x08080808",   "2a00::1::2",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		one_addr(body, sizeof(body), hosts[i], "5060");
		expect_announce_refused(body, 1, "host");
	}
	expect_announce_refused("{\"addresses\":[{\"host\":134744072,\"port\":5060}]}", 1, "host");
}

static void announce_parse_refuses_bad_ports(void **state)
{
	char body[256];
	static const char *const ports[] = {"0",      "65536", "-1",   "\"5060\"",
					    "5060.5", "1e3",   "null", "99999999999999999999"};

	(void)state;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		one_addr(body, sizeof(body), "8.8.8.8", ports[i]);
		expect_announce_refused(body, 1, "");
	}
	one_addr(body, sizeof(body), "8.8.8.8", "0");
	expect_announce_refused(body, 1, "port");
	one_addr(body, sizeof(body), "8.8.8.8", "65536");
	expect_announce_refused(body, 1, "port");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\"}]}", 1, "port: missing");
}

static void announce_parse_takes_at_most_sn_addrs_max_addresses(void **state)
{
	char body[1024];
	struct announce a;
	char err[256];
	size_t n;

	(void)state;
	n = (size_t)snprintf(body, sizeof(body), "{\"addresses\":[");
	for (int i = 0; i < SN_ADDRS_MAX; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "%s{\"host\":\"8.8.8.%d\",\"port\":5060}", i ? "," : "",
				      i + 1);
	snprintf(body + n, sizeof(body) - n, "]}");
	assert_int_equal(announce_text(body, 0, &a, err, sizeof(err)), 0);
	assert_int_equal(a.naddrs, SN_ADDRS_MAX);
	assert_string_equal(a.addrs[SN_ADDRS_MAX - 1].host, "8.8.8.8");
	snprintf(body + n, sizeof(body) - n, ",{\"host\":\"8.8.4.4\",\"port\":5060}]}");
	expect_announce_refused(body, 0, "addresses");
	expect_announce_refused("{\"addresses\":[]}", 0, "addresses");
	expect_announce_refused("{\"load\":1}", 0, "addresses");
	expect_announce_refused("{\"addresses\":{\"host\":\"8.8.8.8\",\"port\":1}}", 0,
				"addresses");
	expect_announce_refused("{\"addresses\":[\"8.8.8.8:5060\"]}", 0, "addresses");
}

static void announce_parse_refuses_duplicates_after_normalising(void **state)
{
	struct announce a;
	char err[256];

	(void)state;
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060},"
				"{\"host\":\"8.8.8.8\",\"port\":5060}]}",
				0, "twice");
	expect_announce_refused("{\"addresses\":[{\"host\":\"2a00::1\",\"port\":5060},"
				"{\"host\":\"2A00:0:0::0001\",\"port\":5060}]}",
				0, "twice");
	/* Same host, other port: two addresses. */
	assert_int_equal(announce_text("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060},"
				       "{\"host\":\"8.8.8.8\",\"port\":5061}]}",
				       0, &a, err, sizeof(err)),
			 0);
	assert_int_equal(a.naddrs, 2);
}

static void announce_parse_refuses_unknown_fields_and_bad_json(void **state)
{
	char *big = malloc(SN_BODY_MAX + 2);
	struct announce a;
	char err[256];
	int n;

	(void)state;
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}],"
				"\"node_id\":\"00\"}",
				0, "unknown field 'node_id'");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060,"
				"\"proto\":\"udp\"}]}",
				0, "unknown field 'proto'");
	expect_announce_refused("{\"addresses\":[],\"addresses\":[]}", 0, "duplicate");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}]", 0, "JSON");
	expect_announce_refused("[]", 0, "JSON");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.\\u00008.8\",\"port\":1}]}", 0,
				"");
	err[0] = '\0';
	assert_int_equal(announce_parse(NULL, 0, 0, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	n = snprintf(big, SN_BODY_MAX + 2,
		     "{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}]}");
	memset(big + n, ' ', (size_t)(SN_BODY_MAX + 1 - n));
	big[SN_BODY_MAX + 1] = '\0';
	assert_int_equal(
		announce_parse((const uint8_t *)big, SN_BODY_MAX + 1, 0, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
	free(big);
}

static void announce_parse_refuses_loads_out_of_range(void **state)
{
	(void)state;
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}],"
				"\"load\":-1}",
				0, "load");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}],"
				"\"load\":1000001}",
				0, "load");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}],"
				"\"load\":1.5}",
				0, "load");
	expect_announce_refused("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060}],"
				"\"load\":\"3\"}",
				0, "load");
}

static void announce_parse_takes_private_addresses_only_when_allowed(void **state)
{
	static const char *const priv[] = {
		"127.0.0.1",    "10.1.2.3", "172.16.0.1",  "192.168.1.1", "169.254.1.1",
		"100.64.0.1",   "0.0.0.0",  "::1",         "fe80::1",     "fc00::1",
		"fd12:3456::1", "::",       "2001:db8::1", "192.0.2.1",   "::ffff:10.0.0.1",
	};
	struct announce a;
	char err[256], body[256];

	(void)state;
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		one_addr(body, sizeof(body), priv[i], "5060");
		expect_announce_refused(body, 0, "not a public address");
		if (announce_text(body, 1, &a, err, sizeof(err)) != 0)
			fail_msg("%s refused with allow_private: %s", priv[i], err);
		assert_int_equal(a.naddrs, 1);
	}
}

static void heartbeat_parse_reads_the_load_and_an_empty_body_is_zero(void **state)
{
	int64_t load = -1;
	char err[256];

	(void)state;
	assert_int_equal(heartbeat_parse(NULL, 0, &load, err, sizeof(err)), 0);
	assert_int_equal(load, 0);
	load = -1;
	assert_int_equal(heartbeat_parse((const uint8_t *)"{}", 0, &load, err, sizeof(err)), 0);
	assert_int_equal(load, 0);
	load = -1;
	assert_int_equal(heartbeat_parse((const uint8_t *)"{}", 2, &load, err, sizeof(err)), 0);
	assert_int_equal(load, 0);
	assert_int_equal(
		heartbeat_parse((const uint8_t *)"{\"load\":42}", 11, &load, err, sizeof(err)), 0);
	assert_int_equal(load, 42);
}

static void heartbeat_parse_refuses_hostile_bodies(void **state)
{
	static const char *const bad[] = {
		"{\"load\":-1}",
		"{\"load\":1000001}",
		"{\"load\":\"1\"}",
		"{\"load\":1,\"x\":2}",
		"{\"load\":1,\"load\":2}",
		"[]",
		"{",
		"\"load\"",
		"{\"load\":true}",
	};
	int64_t load;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (heartbeat_parse((const uint8_t *)bad[i], strlen(bad[i]), &load, err,
				    sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void ip_is_public_knows_the_special_ranges(void **state)
{
	static const struct {
		const char *ip;
		int pub;
	} cases[] = {
		{"8.8.8.8", 1},
		{"1.1.1.1", 1},
		{"0.0.0.0", 0},
		{"0.255.255.255", 0},
		{"1.0.0.0", 1},
		{"9.255.255.255", 1},
		{"10.0.0.0", 0},
		{"10.255.255.255", 0},
		{"11.0.0.0", 1},
		{"100.63.255.255", 1},
		{"100.64.0.0", 0},
		{"100.127.255.255", 0},
		{"100.128.0.0", 1},
		{"126.255.255.255", 1},
		{"127.0.0.1", 0},
		{"127.255.255.255", 0},
		{"128.0.0.0", 1},
		{"169.253.255.255", 1},
		{"169.254.0.1", 0},
		{"169.254.255.255", 0},
		{"169.255.0.0", 1},
		{"172.15.255.255", 1},
		{"172.16.0.0", 0},
		{"172.31.255.255", 0},
		{"172.32.0.0", 1},
		{"192.0.2.0", 0},
		{"192.0.2.255", 0},
		{"192.0.3.0", 1},
		{"192.167.255.255", 1},
		{"192.168.0.0", 0},
		{"192.168.255.255", 0},
		{"192.169.0.0", 1},
		{"198.51.100.7", 0},
		{"203.0.113.7", 0},
		{"223.255.255.255", 1},
		{"224.0.0.1", 0},
		{"239.255.255.255", 0},
		{"240.0.0.1", 0},
		{"255.255.255.255", 0},
		{"::", 0},
		{"::1", 0},
		{"fe80::1", 0},
		{"fc00::1", 0},
		{"fd00::1", 0},
		{"ff02::1", 0},
		{"::ffff:8.8.8.8", 0},
		{"2001:db8::1", 0},
		{"2001:db8:ffff:ffff::1", 0},
		{"2001:db9::1", 1},
		{"2a00::1", 1},
		{"2a00:1450:4001::200e", 1},
		{"2600::1", 1},
		{"4000::1", 0},
		{"example.com", 0},
		{"", 0},
		{"8.8.8.8/32", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ip_is_public(cases[i].ip) != cases[i].pub)
			fail_msg("ip_is_public(\"%s\") should be %d", cases[i].ip, cases[i].pub);
}

static void announce_addrs_json_renders_the_stored_array(void **state)
{
	struct announce a;
	char err[256];
	char *s;
	json_t *j, *e;
	json_error_t je;

	(void)state;
	assert_int_equal(announce_text("{\"addresses\":[{\"host\":\"8.8.8.8\",\"port\":5060},"
				       "{\"host\":\"2A00::1\",\"port\":443}]}",
				       0, &a, err, sizeof(err)),
			 0);
	s = announce_addrs_json(&a);
	assert_non_null(s);
	assert_null(strchr(s, ' '));
	assert_null(strchr(s, '\n'));
	j = json_loads(s, 0, &je);
	assert_non_null(j);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 2);
	e = json_array_get(j, 0);
	assert_int_equal(json_object_size(e), 2);
	assert_string_equal(json_string_value(json_object_get(e, "host")), "8.8.8.8");
	assert_int_equal(json_integer_value(json_object_get(e, "port")), 5060);
	e = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(e, "host")), "2a00::1");
	assert_int_equal(json_integer_value(json_object_get(e, "port")), 443);
	json_decref(j);
	/* What it renders is a valid announce again. */
	{
		char body[512];
		struct announce b;
		snprintf(body, sizeof(body), "{\"addresses\":%s}", s);
		assert_int_equal(announce_text(body, 0, &b, err, sizeof(err)), 0);
		assert_int_equal(b.naddrs, 2);
		assert_string_equal(b.addrs[1].host, "2a00::1");
	}
	free(s);
	memset(&a, 0, sizeof(a));
	s = announce_addrs_json(&a);
	assert_string_equal(s, "[]");
	free(s);
}

/* uniform() stubs. */
struct seq {
	const double *v;
	size_t n, i;
};

static double seq_next(void *ctx)
{
	struct seq *s = ctx;

	return s->v[s->i++ % s->n];
}

static double always_one(void *ctx)
{
	(void)ctx;
	return 1.0;
}

/* xorshift64*, mapped to (0,1]. */
static double prng(void *ctx)
{
	uint64_t *x = ctx;

	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return ((double)((*x * 2685821657736338717ull) >> 11) + 1.0) / 9007199254740992.0;
}

static void sn_select_follows_the_draws(void **state)
{
	/* 1 - u picks the position among those left: 0.9 -> 0 of 3, then
	 * 0.1 -> last of 2, then the one left. */
	const double u1[] = {0.9, 0.1, 0.5};
	struct seq s = {u1, 3, 0};
	size_t out[3];

	(void)state;
	assert_int_equal(sn_select(3, 3, seq_next, &s, out), 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 1);
}

static void sn_select_returns_min_of_want_and_n_without_repeats(void **state)
{
	size_t out[20];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t n = 0; n <= 20; n++) {
		for (size_t want = 0; want <= 22; want++) {
			size_t got, expect = want < n ? want : n;
			int seen[20] = {0};
			for (size_t i = 0; i < 20; i++)
				out[i] = 999;
			got = sn_select(n, want, prng, &x, out);
			assert_int_equal(got, expect);
			for (size_t i = 0; i < got; i++) {
				assert_true(out[i] < n);
				assert_int_equal(seen[out[i]], 0);
				seen[out[i]] = 1;
			}
			/* Nothing is written past what was returned. */
			for (size_t i = got; i < 20; i++)
				assert_int_equal(out[i], 999);
		}
	}
}

static void sn_select_copes_with_extreme_draws(void **state)
{
	const double tiny[] = {4.9406564584124654e-324, 2.2250738585072014e-308, 1e-300, 1.0};
	struct seq s = {tiny, 4, 0};
	size_t out[4];
	int seen[4] = {0};

	(void)state;
	assert_int_equal(sn_select(4, 4, always_one, NULL, out), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i], (size_t)i);
	/* The smallest doubles in (0,1] pick the last place, never past it. */
	assert_int_equal(sn_select(4, 4, seq_next, &s, out), 4);
	for (int i = 0; i < 4; i++)
		seen[out[i]]++;
	for (int i = 0; i < 4; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(out[0], 3);
}

static void sn_select_spreads_newcomers_over_equal_nodes(void **state)
{
	uint64_t x = 777;
	size_t out[2];
	int picked[5] = {0};

	(void)state;
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(sn_select(5, 2, prng, &x, out), 2);
		picked[out[0]]++;
		picked[out[1]]++;
	}
	/* Each is picked in 2 of 5 draws: 2000 times, give or take. */
	for (int i = 0; i < 5; i++)
		assert_in_range(picked[i], 1800, 2200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(announce_parse_reads_ipv4_and_ipv6_addresses),
		cmocka_unit_test(announce_parse_normalises_ipv6_to_lower_case_compressed),
		cmocka_unit_test(announce_parse_accepts_ports_1_and_65535_and_load_limits),
		cmocka_unit_test(announce_parse_refuses_hostnames_and_non_addresses),
		cmocka_unit_test(announce_parse_refuses_bad_ports),
		cmocka_unit_test(announce_parse_takes_at_most_sn_addrs_max_addresses),
		cmocka_unit_test(announce_parse_refuses_duplicates_after_normalising),
		cmocka_unit_test(announce_parse_refuses_unknown_fields_and_bad_json),
		cmocka_unit_test(announce_parse_refuses_loads_out_of_range),
		cmocka_unit_test(announce_parse_takes_private_addresses_only_when_allowed),
		cmocka_unit_test(heartbeat_parse_reads_the_load_and_an_empty_body_is_zero),
		cmocka_unit_test(heartbeat_parse_refuses_hostile_bodies),
		cmocka_unit_test(ip_is_public_knows_the_special_ranges),
		cmocka_unit_test(announce_addrs_json_renders_the_stored_array),
		cmocka_unit_test(sn_select_follows_the_draws),
		cmocka_unit_test(sn_select_returns_min_of_want_and_n_without_repeats),
		cmocka_unit_test(sn_select_copes_with_extreme_draws),
		cmocka_unit_test(sn_select_spreads_newcomers_over_equal_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
