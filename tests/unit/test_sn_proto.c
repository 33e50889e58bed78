/* sn_proto: node descriptors {"id", "host", "port"} and lists of them in JSON,
 * routed requests' envelopes and replies, and the parsers of the frames of
 * attached nodes (relay, media, client requests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "record.h"
#include "sn_proto.h"
#include "testutil.h"
#include "util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ID_HEX "00112233445566778899aabbccddeeff"
#define ID2_HEX "ffeeddccbbaa99887766554433221100"
#define ROUTE_TTL_MAX ROUTE_TTL

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

/* ---- route_ok, route_error ---- */

static void route_replies_say_ok_or_why_not(void **state)
{
	json_t *j;

	(void)state;
	j = route_ok(NULL);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_true(json_is_object(json_object_get(j, "res")));
	assert_int_equal(json_object_size(json_object_get(j, "res")), 0);
	json_decref(j);
	j = route_ok(json_pack("{s:i}", "n", 3));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "res"), "n")), 3);
	json_decref(j);
	j = route_error("limit", "%d of %s", 4, "four");
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "err")), "limit");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "4 of four");
	json_decref(j);
}

/* ---- frames of attached nodes ----
 * frame() holds the frame under test (parsers borrow from it); err is the
 * reason of the last refusal, which must not be empty. */

static json_t *cur;
static char err[256];

static const json_t *frame(const char *text)
{
	json_decref(cur);
	cur = parse(text);
	err[0] = '\0';
	return cur;
}

static int teardown_frame(void **state)
{
	(void)state;
	json_decref(cur);
	cur = NULL;
	return 0;
}

#define REFUSED(call)                                                                              \
	do {                                                                                       \
		assert_int_equal((call), -1);                                                      \
		if (err[0] == '\0')                                                                \
			fail_msg("refused without a reason");                                      \
	} while (0)

/* A JSON string of n characters c, quoted. */
static char *long_string(size_t n, char c)
{
	char *s = malloc(n + 3);

	assert_non_null(s);
	s[0] = '"';
	memset(s + 1, c, n);
	s[n + 1] = '"';
	s[n + 2] = '\0';
	return s;
}

static void relay_alloc_parse_takes_1_to_max_streams(void **state)
{
	struct relay_alloc_req a;
	char text[64];

	(void)state;
	assert_int_equal(
		relay_alloc_parse(frame("{\"t\":\"relay_alloc\",\"n\":2}"), &a, err, sizeof(err)),
		0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.tunnel, 0);
	snprintf(text, sizeof(text), "{\"n\":%d,\"tunnel\":true}", RELAY_ALLOC_MAX);
	assert_int_equal(relay_alloc_parse(frame(text), &a, err, sizeof(err)), 0);
	assert_int_equal(a.n, RELAY_ALLOC_MAX);
	assert_int_equal(a.tunnel, 1);
	assert_int_equal(
		relay_alloc_parse(frame("{\"n\":1,\"tunnel\":false}"), &a, err, sizeof(err)), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.tunnel, 0);
	/* Anything but true is no tunnel, as the relay always read it. */
	assert_int_equal(
		relay_alloc_parse(frame("{\"n\":1,\"tunnel\":\"yes\"}"), &a, err, sizeof(err)), 0);
	assert_int_equal(a.tunnel, 0);
}

static void relay_alloc_parse_refuses_missing_odd_and_oversized_counts(void **state)
{
	struct relay_alloc_req a;
	char text[64];

	(void)state;
	REFUSED(relay_alloc_parse(frame("{\"t\":\"relay_alloc\"}"), &a, err, sizeof(err)));
	assert_contains(err, "n: 1 to");
	REFUSED(relay_alloc_parse(frame("{\"n\":\"2\"}"), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("{\"n\":2.0}"), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("{\"n\":true}"), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("{\"n\":null}"), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("{\"n\":0}"), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("{\"n\":-1}"), &a, err, sizeof(err)));
	snprintf(text, sizeof(text), "{\"n\":%d}", RELAY_ALLOC_MAX + 1);
	REFUSED(relay_alloc_parse(frame(text), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("{\"n\":9223372036854775807}"), &a, err, sizeof(err)));
	REFUSED(relay_alloc_parse(frame("[2]"), &a, err, sizeof(err)));
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void relay_use_parse_reads_far_addresses_and_resets(void **state)
{
	struct relay_use_req u;

	(void)state;
	assert_int_equal(relay_use_parse(frame("{\"t\":\"relay_use\",\"id\":5,"
					       "\"far\":\"192.0.2.1:4000\"}"),
					 &u, err, sizeof(err)),
			 0);
	assert_int_equal(u.id, 5);
	assert_true(u.has_far);
	assert_false(u.has_rtcp);
	assert_false(u.near_reset);
	assert_int_equal(u.far.ss_family, AF_INET);
	assert_int_equal(port_of(&u.far), 4000);

	assert_int_equal(relay_use_parse(frame("{\"id\":5,\"far\":\"[2001:db8::1]:4000\","
					       "\"far_rtcp\":\"[2001:db8::1]:4009\"}"),
					 &u, err, sizeof(err)),
			 0);
	assert_int_equal(u.far.ss_family, AF_INET6);
	assert_true(u.has_rtcp);
	assert_int_equal(port_of(&u.rtcp), 4009);

	/* A far end that gave its private address: read alike (where the
	 * relay may send is sn_relaypol's question). */
	assert_int_equal(relay_use_parse(frame("{\"id\":5,\"far\":\"10.1.2.3:4000\"}"), &u, err,
					 sizeof(err)),
			 0);
	assert_true(u.has_far);

	/* A reset of the near side alone. */
	assert_int_equal(relay_use_parse(frame("{\"id\":4294967295,\"near_reset\":true}"), &u, err,
					 sizeof(err)),
			 0);
	assert_int_equal(u.id, UINT32_MAX);
	assert_true(u.near_reset);
	assert_false(u.has_far);

	/* Where the node's phone receives: the near side's target before the
	 * phone speaks (a DTLS server speaks only when spoken to). */
	assert_int_equal(relay_use_parse(frame("{\"id\":5,\"near\":\"192.0.2.7:5004\","
					       "\"near_rtcp\":\"192.0.2.7:5009\"}"),
					 &u, err, sizeof(err)),
			 0);
	assert_true(u.has_near);
	assert_true(u.has_near_rtcp);
	assert_false(u.has_far);
	assert_int_equal(port_of(&u.near), 5004);
	assert_int_equal(port_of(&u.near_rtcp), 5009);
}

static void relay_use_parse_refuses_what_is_not_an_address(void **state)
{
	struct relay_use_req u;
	char *text, *big;

	(void)state;
	REFUSED(relay_use_parse(frame("{\"id\":5}"), &u, err, sizeof(err)));
	assert_contains(err, "far: want IP:PORT");
	REFUSED(relay_use_parse(frame("{\"id\":5,\"near_reset\":false}"), &u, err, sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":5}"), &u, err, sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"near\":\"192.0.2.1\"}"), &u, err, sizeof(err)));
	assert_contains(err, "near: want IP:PORT");
	REFUSED(relay_use_parse(frame("{\"id\":5,\"near\":\"192.0.2.1:9\",\"near_rtcp\":\"x:1\"}"),
				&u, err, sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":\"192.0.2.1:0\"}"), &u, err, sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":\"192.0.2.1\"}"), &u, err, sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":\"192.0.2.1:70000\"}"), &u, err,
				sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":\"phone.example:4000\"}"), &u, err,
				sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":\"192.0.2.1:4000\",\"far_rtcp\":\"x\"}"),
				&u, err, sizeof(err)));
	REFUSED(relay_use_parse(frame("{\"id\":5,\"far\":\"\"}"), &u, err, sizeof(err)));
	big = long_string(4000, '1');
	text = malloc(strlen(big) + 32);
	assert_non_null(text);
	sprintf(text, "{\"id\":5,\"far\":%s}", big);
	REFUSED(relay_use_parse(frame(text), &u, err, sizeof(err)));
	free(text);
	free(big);
}

static void relay_use_parse_keeps_the_relays_leniency(void **state)
{
	struct relay_use_req u;

	(void)state;
	/* An id that is no stream id reads as 0, which no stream has: the
	 * answer is "no such relay stream", as before. */
	assert_int_equal(
		relay_use_parse(frame("{\"id\":\"5\",\"near_reset\":true}"), &u, err, sizeof(err)),
		0);
	assert_int_equal(u.id, 0);
	assert_int_equal(
		relay_use_parse(frame("{\"id\":-1,\"near_reset\":true}"), &u, err, sizeof(err)), 0);
	assert_int_equal(u.id, 0);
	assert_int_equal(relay_use_parse(frame("{\"id\":4294967296,\"near_reset\":true}"), &u, err,
					 sizeof(err)),
			 0);
	assert_int_equal(u.id, 0);
	assert_int_equal(relay_use_parse(frame("{\"near_reset\":true}"), &u, err, sizeof(err)), 0);
	assert_int_equal(u.id, 0);
	/* A far that is not a string is no far. */
	assert_int_equal(relay_use_parse(frame("{\"id\":5,\"far\":5,\"near_reset\":true}"), &u, err,
					 sizeof(err)),
			 0);
	assert_false(u.has_far);
}

static void relay_free_parse_keeps_stream_ids_only(void **state)
{
	struct relay_free_req f;

	(void)state;
	assert_int_equal(relay_free_parse(frame("{\"t\":\"relay_free\",\"ids\":[1,2,3]}"), &f, err,
					  sizeof(err)),
			 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.ids[0], 1);
	assert_int_equal(f.ids[2], 3);
	assert_int_equal(
		relay_free_parse(frame("{\"ids\":[1,\"x\",null,-5,1e30,0,4294967296,{},7]}"), &f,
				 err, sizeof(err)),
		0);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.ids[0], 1);
	assert_int_equal(f.ids[1], 7);
	/* No list: nothing to free, and said so. */
	assert_int_equal(relay_free_parse(frame("{}"), &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(relay_free_parse(frame("{\"ids\":\"x\"}"), &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(relay_free_parse(frame("{\"ids\":[]}"), &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 0);
}

static void relay_free_parse_refuses_over_the_limit(void **state)
{
	struct relay_free_req f;
	json_t *j = json_pack("{s:s,s:[]}", "t", "relay_free", "ids");

	(void)state;
	for (int i = 1; i <= RELAY_FREE_MAX; i++)
		json_array_append_new(json_object_get(j, "ids"), json_integer(i));
	err[0] = '\0';
	assert_int_equal(relay_free_parse(j, &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, RELAY_FREE_MAX);
	assert_int_equal(f.ids[RELAY_FREE_MAX - 1], RELAY_FREE_MAX);
	json_array_append_new(json_object_get(j, "ids"), json_integer(1));
	REFUSED(relay_free_parse(j, &f, err, sizeof(err)));
	assert_contains(err, "ids: at most");
	json_decref(j);
}

static void media_frame_parse_decodes_a_packet(void **state)
{
	struct media_frame m;

	(void)state;
	assert_int_equal(
		media_frame_parse(frame("{\"t\":\"media\",\"id\":3,\"c\":1,\"p\":\"AAEC\"}"), &m,
				  err, sizeof(err)),
		MEDIA_OK);
	assert_int_equal(m.id, 3);
	assert_int_equal(m.ch, 1);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.pkt, "\x00\x01\x02", 3);
	/* Without "c" (or with one that is no number): RTP, as the relay
	 * always took it. */
	assert_int_equal(
		media_frame_parse(frame("{\"id\":3,\"p\":\"AA==\"}"), &m, err, sizeof(err)),
		MEDIA_OK);
	assert_int_equal(m.ch, 0);
	assert_int_equal(m.len, 1);
	assert_int_equal(media_frame_parse(frame("{\"id\":3,\"c\":\"1\",\"p\":\"AA==\"}"), &m, err,
					   sizeof(err)),
			 MEDIA_OK);
	assert_int_equal(m.ch, 0);
}

static void media_frame_parse_refuses_bad_fields(void **state)
{
	struct media_frame m;
	static const char *const bad[] = {
		"{\"t\":\"media\"}",
		"{\"c\":0,\"p\":\"AAAA\"}",
		"{\"id\":3,\"c\":0}",
		"{\"id\":\"3\",\"c\":0,\"p\":\"AAAA\"}",
		"{\"id\":0,\"c\":0,\"p\":\"AAAA\"}",
		"{\"id\":-3,\"c\":0,\"p\":\"AAAA\"}",
		"{\"id\":4294967296,\"c\":0,\"p\":\"AAAA\"}",
		"{\"id\":3,\"c\":2,\"p\":\"AAAA\"}",
		"{\"id\":3,\"c\":-1,\"p\":\"AAAA\"}",
		"{\"id\":3,\"c\":0,\"p\":5}",
		"{\"id\":3,\"c\":0,\"p\":null}",
		"[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (media_frame_parse(frame(bad[i]), &m, err, sizeof(err)) != MEDIA_BAD)
			fail_msg("%s: not refused as bad", bad[i]);
		if (err[0] == '\0')
			fail_msg("%s: refused without a reason", bad[i]);
	}
}

static void media_frame_parse_refuses_packets_too_big_or_not_base64(void **state)
{
	struct media_frame m;
	uint8_t raw[MEDIA_PKT_MAX + 1];
	static const char *const bad[] = {"\"\"",    "\"!!not base64\"", "\"A===\"",
					  "\"AAA\"", "\"AA==AA==\"",     "\"AA AA\""};
	char text[128];
	json_t *j;
	char *p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"id\":3,\"c\":0,\"p\":%s}", bad[i]);
		if (media_frame_parse(frame(text), &m, err, sizeof(err)) != MEDIA_TOO_BIG)
			fail_msg("%s: not refused as too big", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* Exactly the largest packet, and one byte more. */
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)i;
	p = b64_encode(raw, MEDIA_PKT_MAX);
	j = json_pack("{s:i,s:i,s:s}", "id", 3, "c", 0, "p", p);
	free(p);
	assert_int_equal(media_frame_parse(j, &m, err, sizeof(err)), MEDIA_OK);
	assert_int_equal(m.len, MEDIA_PKT_MAX);
	assert_memory_equal(m.pkt, raw, MEDIA_PKT_MAX);
	p = b64_encode(raw, MEDIA_PKT_MAX + 1);
	json_object_set_new(j, "p", json_string(p));
	free(p);
	assert_int_equal(media_frame_parse(j, &m, err, sizeof(err)), MEDIA_TOO_BIG);
	json_decref(j);
}

static void client_store_parse_wants_a_value_with_a_name(void **state)
{
	struct client_store_req r;
	char *name, text[RECORD_NAME_MAX + 64];

	(void)state;
	assert_int_equal(client_store_parse(frame("{\"t\":\"store\",\"tid\":1,\"val\":"
						  "{\"name\":\"user:a@overlay.example/x\"}}"),
					    &r, err, sizeof(err)),
			 0);
	assert_string_equal(r.name, "user:a@overlay.example/x");
	assert_ptr_equal(r.val, json_object_get(cur, "val"));
	REFUSED(client_store_parse(frame("{\"t\":\"store\"}"), &r, err, sizeof(err)));
	assert_string_equal(err, "store needs a value with a name");
	REFUSED(client_store_parse(frame("{\"val\":{}}"), &r, err, sizeof(err)));
	REFUSED(client_store_parse(frame("{\"val\":\"x\"}"), &r, err, sizeof(err)));
	REFUSED(client_store_parse(frame("{\"val\":[{\"name\":\"x\"}]}"), &r, err, sizeof(err)));
	REFUSED(client_store_parse(frame("{\"val\":{\"name\":5}}"), &r, err, sizeof(err)));
	REFUSED(client_store_parse(frame("{\"val\":{\"name\":\"\"}}"), &r, err, sizeof(err)));
	REFUSED(client_store_parse(frame("{\"val\":{\"name\":\"a\\u0000b\"}}"), &r, err,
				   sizeof(err)));
	name = long_string(RECORD_NAME_MAX, 'n');
	snprintf(text, sizeof(text), "{\"val\":{\"name\":%s}}", name);
	free(name);
	assert_int_equal(client_store_parse(frame(text), &r, err, sizeof(err)), 0);
	name = long_string(RECORD_NAME_MAX + 1, 'n');
	snprintf(text, sizeof(text), "{\"val\":{\"name\":%s}}", name);
	free(name);
	REFUSED(client_store_parse(frame(text), &r, err, sizeof(err)));
}

static void client_fetch_parse_wants_a_name(void **state)
{
	struct client_fetch_req r;
	char *name, text[RECORD_NAME_MAX + 64];

	(void)state;
	assert_int_equal(client_fetch_parse(frame("{\"t\":\"fetch\",\"name\":\"service:stun\"}"),
					    &r, err, sizeof(err)),
			 0);
	assert_string_equal(r.name, "service:stun");
	REFUSED(client_fetch_parse(frame("{\"t\":\"fetch\"}"), &r, err, sizeof(err)));
	REFUSED(client_fetch_parse(frame("{\"name\":42}"), &r, err, sizeof(err)));
	assert_string_equal(err, "name: expected a string");
	REFUSED(client_fetch_parse(frame("{\"name\":\"\"}"), &r, err, sizeof(err)));
	REFUSED(client_fetch_parse(frame("{\"name\":null}"), &r, err, sizeof(err)));
	name = long_string(RECORD_NAME_MAX + 1, 'n');
	snprintf(text, sizeof(text), "{\"name\":%s}", name);
	free(name);
	REFUSED(client_fetch_parse(frame(text), &r, err, sizeof(err)));
}

static void client_node_parse_takes_an_optional_node_id(void **state)
{
	struct client_node_req r;
	struct rid id;

	(void)state;
	assert_int_equal(client_node_parse(frame("{\"t\":\"ping\"}"), &r, err, sizeof(err)), 0);
	assert_false(r.has_node);
	assert_int_equal(client_node_parse(frame("{\"t\":\"ping\",\"node\":\"" ID_HEX "\"}"), &r,
					   err, sizeof(err)),
			 0);
	assert_true(r.has_node);
	assert_int_equal(rid_parse(ID_HEX, &id), 0);
	assert_true(rid_eq(&r.node, &id));
	REFUSED(client_node_parse(frame("{\"node\":\"xyz\"}"), &r, err, sizeof(err)));
	REFUSED(client_node_parse(frame("{\"node\":\"z0112233445566778899aabbccddeeff\"}"), &r, err,
				  sizeof(err)));
	assert_string_equal(err, "node: expected 32 hex digits");
	REFUSED(client_node_parse(frame("{\"node\":\"" ID_HEX "0\"}"), &r, err, sizeof(err)));
	REFUSED(client_node_parse(frame("{\"node\":5}"), &r, err, sizeof(err)));
	REFUSED(client_node_parse(frame("{\"node\":null}"), &r, err, sizeof(err)));
}

static void client_send_parse_reads_destination_body_and_hint(void **state)
{
	struct client_send_req r;
	struct rid to, via;

	(void)state;
	assert_int_equal(rid_parse(ID_HEX, &to), 0);
	assert_int_equal(rid_parse(ID2_HEX, &via), 0);
	assert_int_equal(client_send_parse(frame("{\"t\":\"send\",\"to\":\"" ID_HEX "\","
						 "\"body\":\"hi\"}"),
					   &r, err, sizeof(err)),
			 0);
	assert_true(rid_eq(&r.to, &to));
	assert_true(rid_eq(&r.via, &to)); /* to a super node itself */
	assert_string_equal(r.body, "hi");
	assert_false(r.has_at);
	assert_int_equal(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":\"hi\","
						 "\"sn\":\"" ID2_HEX "\","
						 "\"sn_addr\":\"[2001:db8::7]:5071\"}"),
					   &r, err, sizeof(err)),
			 0);
	assert_true(rid_eq(&r.via, &via));
	assert_true(r.has_at);
	assert_true(rid_eq(&r.at.id, &via));
	assert_string_equal(r.at.host, "2001:db8::7");
	assert_int_equal(r.at.port, 5071);
}

static void client_send_parse_refuses_bad_fields(void **state)
{
	struct client_send_req r;
	json_t *j;
	char *body;

	(void)state;
	REFUSED(client_send_parse(frame("{\"body\":\"hi\"}"), &r, err, sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\"}"), &r, err, sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":5,\"body\":\"hi\"}"), &r, err, sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":7}"), &r, err,
				  sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":\"\"}"), &r, err,
				  sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":\"hi\",\"sn\":null}"), &r,
				  err, sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":\"hi\",\"sn\":\"x\"}"), &r,
				  err, sizeof(err)));
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":\"hi\","
					"\"sn_addr\":\"nonsense\"}"),
				  &r, err, sizeof(err)));
	assert_string_equal(err, "sn_addr: want HOST:PORT");
	REFUSED(client_send_parse(frame("{\"to\":\"" ID_HEX "\",\"body\":\"hi\",\"sn_addr\":5}"),
				  &r, err, sizeof(err)));
	assert_string_equal(err, "sn_addr: want HOST:PORT");

	/* The largest body, one byte more, and an address over its limit. */
	body = malloc(CLIENT_BODY_MAX + 2);
	assert_non_null(body);
	memset(body, 'b', CLIENT_BODY_MAX + 1);
	body[CLIENT_BODY_MAX] = '\0';
	j = json_pack("{s:s,s:s}", "to", ID_HEX, "body", body);
	err[0] = '\0';
	assert_int_equal(client_send_parse(j, &r, err, sizeof(err)), 0);
	body[CLIENT_BODY_MAX] = 'b';
	body[CLIENT_BODY_MAX + 1] = '\0';
	json_object_set_new(j, "body", json_string(body));
	REFUSED(client_send_parse(j, &r, err, sizeof(err)));
	json_object_set_new(j, "body", json_string("hi"));
	memset(body, '1', CLIENT_ADDR_MAX + 1);
	body[CLIENT_ADDR_MAX + 1] = '\0';
	json_object_set_new(j, "sn_addr", json_string(body));
	err[0] = '\0';
	REFUSED(client_send_parse(j, &r, err, sizeof(err)));
	json_decref(j);
	free(body);
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
		cmocka_unit_test(route_replies_say_ok_or_why_not),
		cmocka_unit_test_teardown(relay_alloc_parse_takes_1_to_max_streams, teardown_frame),
		cmocka_unit_test_teardown(
			relay_alloc_parse_refuses_missing_odd_and_oversized_counts, teardown_frame),
		cmocka_unit_test_teardown(relay_use_parse_reads_far_addresses_and_resets,
					  teardown_frame),
		cmocka_unit_test_teardown(relay_use_parse_refuses_what_is_not_an_address,
					  teardown_frame),
		cmocka_unit_test_teardown(relay_use_parse_keeps_the_relays_leniency,
					  teardown_frame),
		cmocka_unit_test_teardown(relay_free_parse_keeps_stream_ids_only, teardown_frame),
		cmocka_unit_test_teardown(relay_free_parse_refuses_over_the_limit, teardown_frame),
		cmocka_unit_test_teardown(media_frame_parse_decodes_a_packet, teardown_frame),
		cmocka_unit_test_teardown(media_frame_parse_refuses_bad_fields, teardown_frame),
		cmocka_unit_test_teardown(media_frame_parse_refuses_packets_too_big_or_not_base64,
					  teardown_frame),
		cmocka_unit_test_teardown(client_store_parse_wants_a_value_with_a_name,
					  teardown_frame),
		cmocka_unit_test_teardown(client_fetch_parse_wants_a_name, teardown_frame),
		cmocka_unit_test_teardown(client_node_parse_takes_an_optional_node_id,
					  teardown_frame),
		cmocka_unit_test_teardown(client_send_parse_reads_destination_body_and_hint,
					  teardown_frame),
		cmocka_unit_test_teardown(client_send_parse_refuses_bad_fields, teardown_frame),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
