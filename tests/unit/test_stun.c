/* Unit tests of common/stun.c: the sample responses of RFC 5769 (IPv4 and
 * IPv6 XOR-MAPPED-ADDRESS, FINGERPRINT), round trips of what we build,
 * error responses, and hostile input: every truncation, bad lengths, a
 * wrong fingerprint, attributes after FINGERPRINT, bad address families,
 * unknown comprehension-required attributes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t TID[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
				0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* RFC 5769 2.2: sample IPv4 response (SOFTWARE "test vector",
 * XOR-MAPPED-ADDRESS 192.0.2.1:32853, MESSAGE-INTEGRITY, FINGERPRINT). */
static const uint8_t RESP4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
	0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
	0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

static void test_rfc5769_ipv4(void **state)
{
	struct stun_msg m;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&m.mapped;
	char ip[64];

	(void)state;
	assert_true(stun_is_stun(RESP4, sizeof(RESP4)));
	assert_int_equal(stun_parse(RESP4, sizeof(RESP4), &m), 0);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_memory_equal(m.tid, TID, 12);
	assert_true(m.has_mapped);
	assert_true(m.has_fingerprint);
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 32853);
	inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "192.0.2.1");
	assert_int_equal(m.nunknown, 0);
}

static void test_fingerprint_checked(void **state)
{
	uint8_t b[sizeof(RESP4)];
	struct stun_msg m;

	(void)state;
	memcpy(b, RESP4, sizeof(b));
	b[sizeof(b) - 1] ^= 1; /* the CRC itself */
	assert_int_equal(stun_parse(b, sizeof(b), &m), -1);
	memcpy(b, RESP4, sizeof(b));
	b[30] ^= 0x20; /* a byte the CRC covers */
	assert_int_equal(stun_parse(b, sizeof(b), &m), -1);
}

static void roundtrip(const struct sockaddr *sa, int with_fingerprint)
{
	uint8_t b[STUN_MSG_MAX], tid[12];
	struct stun_msg m;
	size_t n;

	for (int i = 0; i < 12; i++)
		tid[i] = (uint8_t)(i * 37 + 5);
	n = stun_binding_success(b, sizeof(b), tid, sa, with_fingerprint);
	assert_true(n > STUN_HEADER);
	assert_int_equal(stun_parse(b, n, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_memory_equal(m.tid, tid, 12);
	assert_int_equal(m.has_fingerprint, with_fingerprint);
	if (sa->sa_family == AF_INET)
		assert_memory_equal(&m.mapped, sa, sizeof(struct sockaddr_in));
	else
		assert_memory_equal(&((struct sockaddr_in6 *)&m.mapped)->sin6_addr,
				    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	/* too small a buffer: nothing */
	assert_int_equal(stun_binding_success(b, n - 1, tid, sa, with_fingerprint), 0);
}

static void test_roundtrips(void **state)
{
	struct sockaddr_in in = {0};
	struct sockaddr_in6 in6 = {0};
	uint8_t b[64], tid[12] = {1, 2, 3};
	struct stun_msg m;
	size_t n;

	(void)state;
	in.sin_family = AF_INET;
	in.sin_port = htons(40000);
	inet_pton(AF_INET, "203.0.113.77", &in.sin_addr);
	roundtrip((struct sockaddr *)&in, 1);
	roundtrip((struct sockaddr *)&in, 0);
	in6.sin6_family = AF_INET6;
	in6.sin6_port = htons(5);
	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &in6.sin6_addr);
	roundtrip((struct sockaddr *)&in6, 1);
	roundtrip((struct sockaddr *)&in6, 0);
	n = stun_binding_request(b, sizeof(b), tid);
	assert_int_equal(n, STUN_HEADER + 8);
	assert_int_equal(stun_parse(b, n, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_false(m.has_mapped);
}

static void test_error_response(void **state)
{
	uint8_t b[STUN_MSG_MAX], tid[12] = {9};
	uint16_t unk[2] = {0x7777, 0x0042};
	struct stun_msg m;
	size_t n;

	(void)state;
	n = stun_binding_error(b, sizeof(b), tid, 420, "Unknown Attribute", unk, 2, 1);
	assert_true(n > 0);
	assert_int_equal(stun_parse(b, n, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_ERROR);
	assert_int_equal(m.error_code, 420);
	assert_true(m.has_fingerprint);
	n = stun_binding_error(b, sizeof(b), tid, 420, "", unk, 1, 0);
	assert_int_equal(n, STUN_HEADER + 8 + 8); /* ERROR-CODE, UNKNOWN-ATTRIBUTES */
	assert_int_equal(stun_parse(b, n, &m), 0);
	assert_int_equal(m.error_code, 420);
	assert_false(m.has_fingerprint);
	assert_int_equal(stun_binding_error(b, sizeof(b), tid, 200, "no", NULL, 0, 1), 0);
}

/* A Binding answer is no amplifier: the super node's answer to the
 * smallest request (a bare 20-byte header) and to what our nodes send
 * (header and FINGERPRINT, 28 bytes). Before issue 13 both got 72 bytes
 * (MAPPED-ADDRESS and SOFTWARE too): 3.6 and 2.57 times. */
static void test_answers_are_small(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = 7};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = 7};
	uint8_t req[64], out[STUN_MSG_MAX], tid[12] = {4, 2};
	size_t nreq = stun_binding_request(req, sizeof(req), tid);

	(void)state;
	assert_int_equal(nreq, 28);
	/* IPv4: 32 bytes for 20 (1.6), 40 for 28 (1.43) */
	assert_int_equal(stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&in, 0),
			 32);
	assert_int_equal(stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&in, 1),
			 40);
	/* IPv6: 44 for 20 (2.2), 52 for 28 (1.86) */
	assert_int_equal(stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&in6, 0),
			 44);
	assert_int_equal(stun_binding_success(out, sizeof(out), tid, (struct sockaddr *)&in6, 1),
			 52);
	assert_true(10 * 44 <= 22 * STUN_HEADER && 10 * 52 <= 19 * nreq);
}

static void test_unknown_attributes(void **state)
{
	uint8_t b[64] = {0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42};
	struct stun_msg m;

	(void)state;
	/* a comprehension-required 0x7001 (len 1, padded) and an optional 0xC001 */
	memcpy(b + 20,
	       (const uint8_t[]){0x70, 0x01, 0x00, 0x01, 0xAA, 0, 0, 0, 0xC0, 0x01, 0x00, 0x02, 1,
				 2, 0, 0},
	       16);
	assert_int_equal(stun_parse(b, 36, &m), 0);
	assert_int_equal(m.nunknown, 1);
	assert_int_equal(m.unknown[0], 0x7001);
}

static void test_hostile(void **state)
{
	uint8_t b[sizeof(RESP4) + 8];
	struct stun_msg m;

	(void)state;
	/* every truncation of a valid message */
	for (size_t n = 0; n < sizeof(RESP4); n++)
		assert_int_equal(stun_parse(RESP4, n, &m), -1);
	/* not STUN: top bits, cookie, odd length, length beyond the datagram */
	memcpy(b, RESP4, sizeof(RESP4));
	b[0] |= 0x80;
	assert_false(stun_is_stun(b, sizeof(RESP4)));
	memcpy(b, RESP4, sizeof(RESP4));
	b[5] = 0;
	assert_false(stun_is_stun(b, sizeof(RESP4)));
	memcpy(b, RESP4, sizeof(RESP4));
	b[3] = 0x3d;
	assert_int_equal(stun_parse(b, sizeof(RESP4), &m), -1);
	/* an attribute after FINGERPRINT */
	memcpy(b, RESP4, sizeof(RESP4));
	memcpy(b + sizeof(RESP4), (const uint8_t[]){0x80, 0x22, 0, 4, 'x', 'y', 'z', 'w'}, 8);
	b[3] = 0x44;
	assert_int_equal(stun_parse(b, sizeof(b), &m), -1);
	/* an attribute length that runs past the end */
	memcpy(b, RESP4, sizeof(RESP4));
	b[23] = 0x40;
	assert_int_equal(stun_parse(b, sizeof(RESP4), &m), -1);
	/* XOR-MAPPED-ADDRESS of family 3, and of a wrong size for IPv4 */
	{
		uint8_t x[32] = {0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42};
		memcpy(x + 20, (const uint8_t[]){0x00, 0x20, 0x00, 0x08, 0, 3, 1, 2, 3, 4, 5, 6},
		       12);
		assert_int_equal(stun_parse(x, 32, &m), -1);
		memcpy(x + 20, (const uint8_t[]){0x00, 0x20, 0x00, 0x04, 0, 1, 1, 2, 0, 0, 0, 0},
		       12);
		x[3] = 0x08;
		assert_int_equal(stun_parse(x, 28, &m), -1);
	}
}

static struct sockaddr_storage v4(const char *ip, int port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return ss;
}

static void test_classify(void **state)
{
	struct sockaddr_storage local = v4("10.0.0.5", 4000), m[2];

	(void)state;
	assert_int_equal(stun_classify((struct sockaddr *)&local, m, 0), STUN_NAT_NO_ANSWER);
	m[0] = v4("10.0.0.5", 4000);
	assert_int_equal(stun_classify((struct sockaddr *)&local, m, 1), STUN_NAT_NONE);
	m[0] = v4("198.51.100.9", 61000);
	assert_int_equal(stun_classify((struct sockaddr *)&local, m, 1), STUN_NAT_BEHIND);
	m[1] = v4("198.51.100.9", 61000);
	assert_int_equal(stun_classify((struct sockaddr *)&local, m, 2), STUN_NAT_SAME_MAPPING);
	m[1] = v4("198.51.100.9", 61001);
	assert_int_equal(stun_classify((struct sockaddr *)&local, m, 2), STUN_NAT_PER_DESTINATION);
	m[0] = v4("10.0.0.5", 4001); /* same host, another port: a NAT on the host */
	assert_int_equal(stun_classify((struct sockaddr *)&local, m, 1), STUN_NAT_BEHIND);
	assert_string_equal(stun_nat_name(STUN_NAT_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_ipv4),
		cmocka_unit_test(test_fingerprint_checked),
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_unknown_attributes),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_answers_are_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
