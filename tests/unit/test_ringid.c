/* Unit tests of common/ringid.c: 128-bit ring identifiers. Open and
 * half-open intervals (ordinary, wrapping past zero, a == b, endpoints,
 * empty ones), a + 2^k with carries and wrap-around, clockwise distance,
 * hex form in both cases and bad hex, and Resource-IDs against SHA-256
 * computed here through EVP and known test vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ringid.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rid R(const char *hex)
{
	struct rid r;

	if (rid_parse(hex, &r) != 0)
		fail_msg("bad test constant %s", hex);
	return r;
}

/* A Node-ID with every byte 0 but the last one, which is v. */
static struct rid small(uint8_t v)
{
	struct rid r;

	memset(&r, 0, sizeof(r));
	r.b[RID_LEN - 1] = v;
	return r;
}

static void assert_rid_hex(const struct rid *r, const char *want)
{
	char hex[RID_HEX_LEN + 1];

	rid_hex(r, hex);
	assert_string_equal(hex, want);
}

#define ZERO "00000000000000000000000000000000"
#define ONE "00000000000000000000000000000001"
#define HALF "80000000000000000000000000000000"
#define MAX "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"

static void test_compare_is_big_endian_unsigned(void **state)
{
	struct rid a = R("0100000000000000000000000000000F");
	struct rid b = R("00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	struct rid hi = R(HALF), z = R(ZERO);

	(void)state;
	assert_true(rid_cmp(&a, &b) > 0);
	assert_true(rid_cmp(&b, &a) < 0);
	assert_true(rid_cmp(&hi, &z) > 0); /* unsigned: 0x80 is not negative */
	assert_int_equal(rid_cmp(&a, &a), 0);
	assert_true(rid_eq(&a, &a));
	assert_false(rid_eq(&a, &b));
}

static void test_open_interval_excludes_both_ends(void **state)
{
	struct rid a = small(10), b = small(20);

	(void)state;
	for (int v = 0; v < 256; v++) {
		struct rid x = small((uint8_t)v);
		assert_int_equal(rid_in_open(&x, &a, &b), v > 10 && v < 20);
	}
	/* Far away on the ring, above b in the high bytes. */
	struct rid far = R("0100000000000000000000000000000F");
	assert_false(rid_in_open(&far, &a, &b));
}

static void test_half_open_interval_includes_only_the_end(void **state)
{
	struct rid a = small(10), b = small(20);

	(void)state;
	for (int v = 0; v < 256; v++) {
		struct rid x = small((uint8_t)v);
		assert_int_equal(rid_in_half(&x, &a, &b), v > 10 && v <= 20);
	}
}

static void test_wrapping_interval_goes_through_zero(void **state)
{
	struct rid a = R("F0000000000000000000000000000000");
	struct rid b = R("10000000000000000000000000000000");
	struct rid inside[] = {R("F0000000000000000000000000000001"), R(MAX), R(ZERO), R(ONE),
			       R("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")};
	struct rid outside[] = {R("10000000000000000000000000000001"), R(HALF),
				R("EFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")};

	(void)state;
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		assert_true(rid_in_open(&inside[i], &a, &b));
		assert_true(rid_in_half(&inside[i], &a, &b));
	}
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		assert_false(rid_in_open(&outside[i], &a, &b));
		assert_false(rid_in_half(&outside[i], &a, &b));
	}
	/* The ends. */
	assert_false(rid_in_open(&a, &a, &b));
	assert_false(rid_in_open(&b, &a, &b));
	assert_false(rid_in_half(&a, &a, &b));
	assert_true(rid_in_half(&b, &a, &b));
}

static void test_equal_ends_mean_the_whole_ring(void **state)
{
	struct rid a = R("123456789ABCDEF0123456789ABCDEF0");
	struct rid others[] = {R(ZERO), R(MAX), R("123456789ABCDEF0123456789ABCDEF1"),
			       R("123456789ABCDEF0123456789ABCDEEF"), R(HALF)};

	(void)state;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_true(rid_in_open(&others[i], &a, &a));
		assert_true(rid_in_half(&others[i], &a, &a));
	}
	/* (a, a) is the ring minus a; (a, a] is all of it. */
	assert_false(rid_in_open(&a, &a, &a));
	assert_true(rid_in_half(&a, &a, &a));
	/* The same at the edges of the number range. */
	struct rid z = R(ZERO), m = R(MAX);
	assert_false(rid_in_open(&z, &z, &z));
	assert_true(rid_in_open(&m, &z, &z));
	assert_false(rid_in_open(&m, &m, &m));
	assert_true(rid_in_open(&z, &m, &m));
}

static void test_interval_between_neighbours_is_empty(void **state)
{
	struct rid a = small(41), b = small(42);
	struct rid m = R(MAX), z = R(ZERO);

	(void)state;
	for (int v = 0; v < 256; v++) {
		struct rid x = small((uint8_t)v);
		assert_false(rid_in_open(&x, &a, &b));
		assert_int_equal(rid_in_half(&x, &a, &b), v == 42);
	}
	/* MAX and 0 are neighbours across the wrap. */
	assert_false(rid_in_open(&m, &m, &z));
	assert_false(rid_in_open(&z, &m, &z));
	assert_true(rid_in_half(&z, &m, &z));
	assert_false(rid_in_half(&m, &m, &z));
	/* (0, MAX) is everything but the two ends. */
	struct rid one = R(ONE), half = R(HALF);
	assert_true(rid_in_open(&one, &z, &m));
	assert_true(rid_in_open(&half, &z, &m));
	assert_false(rid_in_open(&z, &z, &m));
	assert_false(rid_in_open(&m, &z, &m));
}

static void expect_add(const char *a, int k, const char *want)
{
	struct rid x = R(a), out;

	memset(&out, 0xAA, sizeof(out));
	rid_add_pow2(&x, k, &out);
	assert_rid_hex(&out, want);
	/* In place, as Chord's finger computation may do. */
	rid_add_pow2(&x, k, &x);
	assert_rid_hex(&x, want);
}

static void test_add_pow2_for_low_bits(void **state)
{
	(void)state;
	expect_add(ZERO, 0, ONE);
	expect_add(ONE, 0, "00000000000000000000000000000002");
	expect_add(ZERO, 7, "00000000000000000000000000000080");
	expect_add(ZERO, 8, "00000000000000000000000000000100");
	expect_add("0000000000000000000000000000007F", 7, "000000000000000000000000000000FF");
}

static void test_add_pow2_carries_across_bytes(void **state)
{
	(void)state;
	expect_add("000000000000000000000000000000FF", 0, "00000000000000000000000000000100");
	expect_add("00000000000000000000000000000080", 7, "00000000000000000000000000000100");
	expect_add("000000000000000000000000000000C0", 7, "00000000000000000000000000000140");
	expect_add("0000000000000000000000000000FF00", 8, "00000000000000000000000000010000");
	expect_add("0000000000000000000000000000FF80", 7, "00000000000000000000000000010000");
	expect_add("00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 0, "01000000000000000000000000000000");
	expect_add("00FFFFFFFFFFFFFFFFFFFFFFFFFFFF00", 8, "01000000000000000000000000000000");
	/* Bits below k are left alone. */
	expect_add("000000000000000000000000000001FF", 8, "000000000000000000000000000002FF");
}

static void test_add_pow2_wraps_past_two_to_the_128(void **state)
{
	(void)state;
	expect_add(MAX, 0, ZERO);
	expect_add(MAX, 7, "0000000000000000000000000000007F");
	expect_add(MAX, 8, "000000000000000000000000000000FF");
	expect_add(ZERO, 127, HALF);
	expect_add(HALF, 127, ZERO);
	expect_add(MAX, 127, "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	expect_add("C0000000000000000000000000000001", 127, "40000000000000000000000000000001");
	expect_add("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00", 8, "00000000000000000000000000000000");
}

static void expect_dist(const char *a, const char *b, const char *want)
{
	struct rid x = R(a), y = R(b), out;

	memset(&out, 0x55, sizeof(out));
	rid_dist(&x, &y, &out);
	assert_rid_hex(&out, want);
}

static void test_dist_is_clockwise_and_wraps(void **state)
{
	(void)state;
	expect_dist(ZERO, ZERO, ZERO);
	expect_dist(HALF, HALF, ZERO);
	expect_dist("0000000000000000000000000000000A", "00000000000000000000000000000014",
		    "0000000000000000000000000000000A");
	/* Backwards means nearly all the way round: 2^128 - 10. */
	expect_dist("00000000000000000000000000000014", "0000000000000000000000000000000A",
		    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6");
	expect_dist(MAX, ZERO, ONE);
	expect_dist(ZERO, MAX, MAX);
	expect_dist(ONE, ZERO, MAX);
	expect_dist(ZERO, HALF, HALF);
	expect_dist(HALF, ZERO, HALF);
	/* Borrows run through every byte. */
	expect_dist("000000000000000000000000000000FF", "01000000000000000000000000000000",
		    "00FFFFFFFFFFFFFFFFFFFFFFFFFFFF01");
}

static void test_dist_undoes_add_pow2(void **state)
{
	const char *starts[] = {ZERO, ONE, HALF, MAX, "0123456789ABCDEFFEDCBA9876543210",
				"FFFFFFFFFFFFFFFF0000000000000000"};

	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (int k = 0; k < 128; k++) {
			struct rid a = R(starts[i]), b, d, want;
			memset(&want, 0, sizeof(want));
			want.b[RID_LEN - 1 - k / 8] = (uint8_t)(1u << (k % 8));
			rid_add_pow2(&a, k, &b);
			rid_dist(&a, &b, &d);
			assert_true(rid_eq(&d, &want));
			/* And a + 2^k lies in (a, a + 2^k]. */
			assert_true(rid_in_half(&b, &a, &b));
			assert_false(rid_in_open(&b, &a, &b));
		}
	}
}

static void test_parse_takes_either_case(void **state)
{
	struct rid up, low, mixed;
	uint8_t want[RID_LEN] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};

	(void)state;
	assert_int_equal(rid_parse("0123456789ABCDEFFEDCBA9876543210", &up), 0);
	assert_int_equal(rid_parse("0123456789abcdeffedcba9876543210", &low), 0);
	assert_int_equal(rid_parse("0123456789aBcDeFfEdCbA9876543210", &mixed), 0);
	assert_memory_equal(up.b, want, RID_LEN);
	assert_true(rid_eq(&up, &low));
	assert_true(rid_eq(&up, &mixed));
	/* rid_hex writes upper case, and parsing it gives the same ID. */
	assert_rid_hex(&low, "0123456789ABCDEFFEDCBA9876543210");
}

static void test_parse_refuses_bad_hex(void **state)
{
	const char *bad[] = {
		"",
		"0123456789ABCDEFFEDCBA987654321",   /* 31 digits */
		"0123456789ABCDEFFEDCBA98765432100", /* 33 digits */
		"0123456789ABCDEFFEDCBA987654321G",
		"0123456789ABCDEFFEDCBA987654321 ",
		" 0123456789ABCDEFFEDCBA987654321",
		"0x23456789ABCDEFFEDCBA9876543210",
		"-123456789ABCDEFFEDCBA9876543210",
		"0123456789ABCDEF:EDCBA9876543210",
		"0123456789ABCDEFFEDCBA98765432\xc3\xa9",
	};
	struct rid out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rid_parse(bad[i], &out) != -1)
			fail_msg("rid_parse accepted '%s'", bad[i]);
}

static void sha256(const char *s, uint8_t md[32])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
}

static void test_resource_id_is_the_first_half_of_sha256(void **state)
{
	const char *names[] = {"user:alice@overlay.example", "service:relay", "service:stun",
			       "user:bob@overlay.example/phone", "x"};
	struct rid r, r2;
	uint8_t md[32];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sha256(names[i], md);
		rid_of_name(names[i], &r);
		assert_memory_equal(r.b, md, RID_LEN);
		rid_of_name(names[i], &r2);
		assert_true(rid_eq(&r, &r2));
	}
	/* FIPS 180-2 test vectors, written out. */
	rid_of_name("abc", &r);
	assert_rid_hex(&r, "BA7816BF8F01CFEA414140DE5DAE2223");
	rid_of_name("", &r);
	assert_rid_hex(&r, "E3B0C44298FC1C149AFBF4C8996FB924");
	/* Names differing in one character land far apart. */
	rid_of_name("user:alice@overlay.example", &r);
	rid_of_name("user:alicf@overlay.example", &r2);
	assert_false(rid_eq(&r, &r2));
}

static void test_from_bytes_copies_sixteen_bytes(void **state)
{
	uint8_t b[RID_LEN + 1];
	struct rid r;

	(void)state;
	for (int i = 0; i <= RID_LEN; i++)
		b[i] = (uint8_t)(0xF0 + i);
	rid_from_bytes(b, &r);
	assert_memory_equal(r.b, b, RID_LEN);
	assert_rid_hex(&r, "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_is_big_endian_unsigned),
		cmocka_unit_test(test_open_interval_excludes_both_ends),
		cmocka_unit_test(test_half_open_interval_includes_only_the_end),
		cmocka_unit_test(test_wrapping_interval_goes_through_zero),
		cmocka_unit_test(test_equal_ends_mean_the_whole_ring),
		cmocka_unit_test(test_interval_between_neighbours_is_empty),
		cmocka_unit_test(test_add_pow2_for_low_bits),
		cmocka_unit_test(test_add_pow2_carries_across_bytes),
		cmocka_unit_test(test_add_pow2_wraps_past_two_to_the_128),
		cmocka_unit_test(test_dist_is_clockwise_and_wraps),
		cmocka_unit_test(test_dist_undoes_add_pow2),
		cmocka_unit_test(test_parse_takes_either_case),
		cmocka_unit_test(test_parse_refuses_bad_hex),
		cmocka_unit_test(test_resource_id_is_the_first_half_of_sha256),
		cmocka_unit_test(test_from_bytes_copies_sixteen_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
