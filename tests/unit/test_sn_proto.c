/* sn_proto: node descriptors {"id", "host", "port"} and lists of them in JSON,
 * and the envelope check of routed requests (sn_route.c, pure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "supernode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ID_HEX "00112233445566778899aabbccddeeff"
#define ROUTE_TTL_MAX 32 /* sn_route.c's ROUTE_TTL */

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j =
		json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);

	if (j == NULL)
		fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
	return j;
}

/* node_from_json on a JSON text; 0 or -1. */
static int node_of(const char *text, struct node *n)
{
	json_t *j = parse(text);
	int rc = node_from_json(j, n);

	json_decref(j);
	return rc;
}

static void node_json_round_trips(void **state)
{
	struct node a, b;
	json_t *j;
	char *text;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(rid_parse(ID_HEX, &a.id), 0);
	strcpy(a.host, "192.0.2.7");
	a.port = 5071;
	j = node_to_json(&a);
	assert_non_null(j);
	/* Either case of hex is the id (rid_hex writes upper case). */
	assert_int_equal(strcasecmp(json_string_value(json_object_get(j, "id")), ID_HEX), 0);
	assert_string_equal(json_string_value(json_object_get(j, "host")), "192.0.2.7");
	assert_int_equal(json_integer_value(json_object_get(j, "port")), 5071);
	assert_int_equal(json_object_size(j), 3);
	assert_int_equal(node_from_json(j, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	json_decref(j);

	/* IPv6, the extreme ports, and through text. */
	strcpy(a.host, "2001:db8::1");
	a.port = 65535;
	j = node_to_json(&a);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(node_of(text, &b), 0);
	free(text);
	assert_memory_equal(&a, &b, sizeof(a));
	a.port = 1;
	j = node_to_json(&a);
	assert_int_equal(node_from_json(j, &b), 0);
	assert_int_equal(b.port, 1);
	json_decref(j);

	/* Upper-case hex reads as the same id. */
	assert_int_equal(node_of("{\"id\":\"00112233445566778899AABBCCDDEEFF\","
				 "\"host\":\"::1\",\"port\":9}",
				 &b),
			 0);
	assert_true(rid_eq(&a.id, &b.id));
	assert_string_equal(b.host, "::1");
	/* Unknown fields are ignored (newer peers may add some). */
	assert_int_equal(node_of("{\"id\":\"" ID_HEX "\",\"host\":\"10.1.2.3\",\"port\":9,"
				 "\"load\":3}",
				 &b),
			 0);
}

static void node_from_json_refuses_bad_ids(void **state)
{
	struct node n;

	(void)state;
	/* 31 and 33 hex digits, a non-hex digit, not a string, missing, empty. */
	assert_int_equal(node_of("{\"id\":\"0112233445566778899aabbccddeeff\","
				 "\"host\":\"10.0.0.1\",\"port\":1}",
				 &n),
			 -1);
	assert_int_equal(node_of("{\"id\":\"" ID_HEX "0\",\"host\":\"10.0.0.1\",\"port\":1}", &n),
			 -1);
	assert_int_equal(node_of("{\"id\":\"g0112233445566778899aabbccddeeff\","
				 "\"host\":\"10.0.0.1\",\"port\":1}",
				 &n),
			 -1);
	assert_int_equal(node_of("{\"id\":\"0x112233445566778899aabbccddeeff\","
				 "\"host\":\"10.0.0.1\",\"port\":1}",
				 &n),
			 -1);
	assert_int_equal(node_of("{\"id\":\" 0112233445566778899aabbccddeeff\","
				 "\"host\":\"10.0.0.1\",\"port\":1}",
				 &n),
			 -1);
	assert_int_equal(node_of("{\"id\":12,\"host\":\"10.0.0.1\",\"port\":1}", &n), -1);
	assert_int_equal(node_of("{\"id\":\"\",\"host\":\"10.0.0.1\",\"port\":1}", &n), -1);
	assert_int_equal(node_of("{\"host\":\"10.0.0.1\",\"port\":1}", &n), -1);
	assert_int_equal(node_of("{\"id\":\"00112233445566778899aabbccddee\\u0000f\","
				 "\"host\":\"10.0.0.1\",\"port\":1}",
				 &n),
			 -1);
}

static void node_from_json_refuses_hosts_that_are_not_ip_addresses(void **state)
{
	static const char *const bad[] = {
		"\"localhost\"",
		"\"sn1.overlay.example\"",
		"\"10.0.0\"",
		"\"10.0.0.256\"",
		"\"\"",
		"\"10.0.0.1 \"",
		"\" 10.0.0.1\"",
		"\"10.0.0.1:5060\"",
		"\"[::1]\"",
		"\"fe80::1%eth0\"",
		"\"::g\"",
		"1",
		"null",
		"[\"10.0.0.1\"]",
		"\"10.0.0.1\\u0000\"",
	};
	char text[256], host[80];
	struct node n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"id\":\"%s\",\"host\":%s,\"port\":5060}", ID_HEX,
			 bad[i]);
		if (node_of(text, &n) != -1)
			fail_msg("host %s accepted", bad[i]);
	}
	assert_int_equal(node_of("{\"id\":\"" ID_HEX "\",\"port\":5060}", &n), -1);
	/* The longest address text fits; anything longer than the 63 bytes a
	 * node holds is refused, never cut. */
	assert_int_equal(node_of("{\"id\":\"" ID_HEX "\",\"host\":"
				 "\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255\",\"port\":1}",
				 &n),
			 0);
	assert_string_equal(n.host, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	memset(host, '1', 70);
	host[70] = '\0';
	snprintf(text, sizeof(text), "{\"id\":\"%s\",\"host\":\"%s\",\"port\":1}", ID_HEX, host);
	assert_int_equal(node_of(text, &n), -1);
}

static void node_from_json_refuses_bad_ports_and_missing_fields(void **state)
{
	static const char *const bad[] = {"0",    "65536", "-1",         "\"5060\"", "5060.0",
					  "true", "null",  "4294972356", "[5060]"};
	char text[256];
	struct node n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"id\":\"%s\",\"host\":\"10.0.0.1\",\"port\":%s}",
			 ID_HEX, bad[i]);
		if (node_of(text, &n) != -1)
			fail_msg("port %s accepted", bad[i]);
	}
	assert_int_equal(node_of("{\"id\":\"" ID_HEX "\",\"host\":\"10.0.0.1\"}", &n), -1);
	assert_int_equal(node_of("{}", &n), -1);
	assert_int_equal(node_of("[]", &n), -1);
	assert_int_equal(node_of("\"" ID_HEX "\"", &n), -1);
	assert_int_equal(node_from_json(NULL, &n), -1);
}

static void nodes_json_round_trips_a_list(void **state)
{
	struct node list[3], back[SUCC_MAX];
	json_t *j;

	(void)state;
	memset(list, 0, sizeof(list));
	for (int i = 0; i < 3; i++) {
		memset(list[i].id.b, 0x11 * (i + 1), RID_LEN);
		snprintf(list[i].host, sizeof(list[i].host), "198.51.100.%d", i + 1);
		list[i].port = (uint16_t)(6000 + i);
	}
	j = nodes_to_json(list, 3);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 3);
	assert_int_equal(nodes_from_json(j, back, SUCC_MAX), 3);
	assert_memory_equal(list, back, sizeof(list));
	json_decref(j);
	j = nodes_to_json(list, 0);
	assert_int_equal(json_array_size(j), 0);
	assert_int_equal(nodes_from_json(j, back, SUCC_MAX), 0);
	json_decref(j);
}

static void nodes_from_json_skips_bad_entries_and_caps_at_max(void **state)
{
	struct node list[4];
	json_t *j;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text),
		 "[{\"id\":\"%s\",\"host\":\"10.0.0.1\",\"port\":1},"
		 " {\"id\":\"nothex\",\"host\":\"10.0.0.2\",\"port\":2},"
		 " 7, null, \"x\", [],"
		 " {\"id\":\"%s\",\"host\":\"localhost\",\"port\":3},"
		 " {\"id\":\"%s\",\"host\":\"10.0.0.4\",\"port\":0},"
		 " {\"id\":\"%s\",\"host\":\"10.0.0.5\",\"port\":5},"
		 " {\"id\":\"%s\",\"host\":\"10.0.0.6\",\"port\":6},"
		 " {\"id\":\"%s\",\"host\":\"10.0.0.7\",\"port\":7}]",
		 ID_HEX, ID_HEX, ID_HEX, ID_HEX, ID_HEX, ID_HEX);
	j = parse(text);
	memset(list, 0xee, sizeof(list));
	assert_int_equal(nodes_from_json(j, list, 4), 4);
	assert_int_equal(list[0].port, 1);
	assert_int_equal(list[1].port, 5);
	assert_int_equal(list[2].port, 6);
	assert_int_equal(list[3].port, 7);
	assert_string_equal(list[3].host, "10.0.0.7");
	/* The cap: no more than max written. */
	memset(list, 0xee, sizeof(list));
	assert_int_equal(nodes_from_json(j, list, 2), 2);
	assert_int_equal(list[1].port, 5);
	assert_int_equal(list[2].port, 0xeeee);
	memset(list, 0xee, sizeof(list));
	assert_int_equal(nodes_from_json(j, list, 0), 0);
	assert_int_equal(list[0].port, 0xeeee);
	json_decref(j);

	/* Only bad entries: an empty result, not an error. */
	j = parse("[1, {}, {\"id\":\"x\"}]");
	assert_int_equal(nodes_from_json(j, list, 4), 0);
	json_decref(j);
}

static void nodes_from_json_refuses_non_arrays(void **state)
{
	static const char *const bad[] = {
		"{\"id\":\"" ID_HEX "\",\"host\":\"10.0.0.1\",\"port\":1}",
		"\"[]\"",
		"3",
		"null",
		"{}",
		"true"};
	struct node list[4];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		assert_int_equal(nodes_from_json(j, list, 4), -1);
		json_decref(j);
	}
	assert_int_equal(nodes_from_json(NULL, list, 4), -1);
}

/* ---- route_envelope_check ---- */

static json_t *envelope(void)
{
	return parse("{\"t\":\"route\",\"tid\":7,\"dest\":\"" ID_HEX "\",\"mode\":\"res\","
		     "\"hops\":0,\"ttl\":32,\"path\":[],\"req\":{\"t\":\"fetch\"}}");
}

/* Checks msg; on refusal there must be a reason in err. */
static int check(json_t *msg)
{
	char err[256] = "";
	int rc = route_envelope_check(msg, err, sizeof(err));

	if (rc < 0 && err[0] == '\0')
		fail_msg("refused without a reason");
	if (rc == 0 && err[0] != '\0')
		fail_msg("accepted with an error: %s", err);
	return rc;
}

/* The envelope with key set to the JSON value text (NULL: removed). */
static int check_with(const char *key, const char *value)
{
	json_t *msg = envelope();
	int rc;

	if (value == NULL)
		json_object_del(msg, key);
	else
		json_object_set_new(msg, key, json_loads(value, JSON_DECODE_ANY, NULL));
	rc = check(msg);
	json_decref(msg);
	return rc;
}

static void route_envelope_check_accepts_valid_envelopes(void **state)
{
	json_t *msg = envelope();
	json_t *path;

	(void)state;
	assert_int_equal(check(msg), 0);
	assert_int_equal(route_envelope_check(msg, NULL, 0), 0);
	json_decref(msg);
	assert_int_equal(check_with("mode", "\"node\""), 0);
	assert_int_equal(check_with("dest", "\"00112233445566778899AABBCCDDEEFF\""), 0);
	assert_int_equal(check_with("hops", "32"), 0);
	assert_int_equal(check_with("ttl", "0"), 0);
	assert_int_equal(check_with("path", NULL), 0);
	assert_int_equal(check_with("t", NULL), 0);
	assert_int_equal(check_with("tid", NULL), 0);
	assert_int_equal(check_with("final", "true"), 0);
	assert_int_equal(check_with("req", "{}"), 0);

	/* A path of exactly the maximum length. */
	msg = envelope();
	path = json_object_get(msg, "path");
	for (int i = 0; i < ROUTE_TTL_MAX; i++)
		json_array_append_new(path, json_string(ID_HEX));
	assert_int_equal(check(msg), 0);
	json_decref(msg);
}

static void route_envelope_check_refuses_unknown_keys_and_bad_dest(void **state)
{
	(void)state;
	assert_int_equal(check_with("extra", "1"), -1);
	assert_int_equal(check_with("Dest", "\"" ID_HEX "\""), -1);
	assert_int_equal(check_with("dest", NULL), -1);
	assert_int_equal(check_with("dest", "\"0112233445566778899aabbccddeeff\""), -1);
	assert_int_equal(check_with("dest", "\"" ID_HEX "00\""), -1);
	assert_int_equal(check_with("dest", "\"z0112233445566778899aabbccddeeff\""), -1);
	assert_int_equal(check_with("dest", "\"\""), -1);
	assert_int_equal(check_with("dest", "17"), -1);
	assert_int_equal(check_with("dest", "null"), -1);
}

static void route_envelope_check_refuses_bad_mode(void **state)
{
	(void)state;
	assert_int_equal(check_with("mode", NULL), -1);
	assert_int_equal(check_with("mode", "\"\""), -1);
	assert_int_equal(check_with("mode", "\"RES\""), -1);
	assert_int_equal(check_with("mode", "\"re\""), -1);
	assert_int_equal(check_with("mode", "\"resx\""), -1);
	assert_int_equal(check_with("mode", "\"nodes\""), -1);
	assert_int_equal(check_with("mode", "1"), -1);
}

static void route_envelope_check_refuses_hops_and_ttl_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(check_with("hops", "-1"), -1);
	assert_int_equal(check_with("hops", "33"), -1);
	assert_int_equal(check_with("hops", "\"1\""), -1);
	assert_int_equal(check_with("hops", "1.0"), -1);
	assert_int_equal(check_with("hops", NULL), -1);
	assert_int_equal(check_with("ttl", "-1"), -1);
	assert_int_equal(check_with("ttl", "33"), -1);
	assert_int_equal(check_with("ttl", "9223372036854775807"), -1);
	assert_int_equal(check_with("ttl", "null"), -1);
	assert_int_equal(check_with("ttl", NULL), -1);
}

static void route_envelope_check_refuses_req_not_an_object_and_long_paths(void **state)
{
	json_t *msg, *path;

	(void)state;
	assert_int_equal(check_with("req", NULL), -1);
	assert_int_equal(check_with("req", "[]"), -1);
	assert_int_equal(check_with("req", "\"fetch\""), -1);
	assert_int_equal(check_with("req", "null"), -1);
	assert_int_equal(check_with("path", "{}"), -1);
	assert_int_equal(check_with("path", "\"a\""), -1);
	assert_int_equal(check_with("path", "null"), -1);

	msg = envelope();
	path = json_object_get(msg, "path");
	for (int i = 0; i < ROUTE_TTL_MAX + 1; i++)
		json_array_append_new(path, json_string(ID_HEX));
	assert_int_equal(check(msg), -1);
	json_decref(msg);
}

static void route_envelope_check_refuses_non_objects(void **state)
{
	json_t *j = json_array();
	char err[64] = "";

	(void)state;
	assert_int_equal(check(j), -1);
	json_decref(j);
	j = json_string("route");
	assert_int_equal(check(j), -1);
	json_decref(j);
	assert_int_equal(route_envelope_check(NULL, err, sizeof(err)), -1);
	/* No room for the reason: still refused, nothing written past err. */
	j = envelope();
	json_object_set_new(j, "mode", json_string("x"));
	err[0] = '\0';
	assert_int_equal(route_envelope_check(j, err, 1), -1);
	assert_int_equal(err[0], '\0');
	assert_int_equal(route_envelope_check(j, NULL, 0), -1);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(node_json_round_trips),
		cmocka_unit_test(node_from_json_refuses_bad_ids),
		cmocka_unit_test(node_from_json_refuses_hosts_that_are_not_ip_addresses),
		cmocka_unit_test(node_from_json_refuses_bad_ports_and_missing_fields),
		cmocka_unit_test(nodes_json_round_trips_a_list),
		cmocka_unit_test(nodes_from_json_skips_bad_entries_and_caps_at_max),
		cmocka_unit_test(nodes_from_json_refuses_non_arrays),
		cmocka_unit_test(route_envelope_check_accepts_valid_envelopes),
		cmocka_unit_test(route_envelope_check_refuses_unknown_keys_and_bad_dest),
		cmocka_unit_test(route_envelope_check_refuses_bad_mode),
		cmocka_unit_test(route_envelope_check_refuses_hops_and_ttl_out_of_range),
		cmocka_unit_test(route_envelope_check_refuses_req_not_an_object_and_long_paths),
		cmocka_unit_test(route_envelope_check_refuses_non_objects),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
