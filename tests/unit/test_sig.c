/* Unit tests of common/sig.c: the exact bytes of the canonical encoding
 * (big-endian integers, length-prefixed byte strings), and ECDSA P-256 and
 * Ed25519 signatures over it: valid ones verify, any flipped byte, another
 * key or a truncated signature do not, and a failed builder cannot sign. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sig.h"

#include <openssl/x509.h>
#include <string.h>

struct keys {
	EVP_PKEY *p256, *ed, *p256b, *edb;
};

static int setup(void **state)
{
	static struct keys k;

	k.p256 = EVP_EC_gen("P-256");
	k.p256b = EVP_EC_gen("P-256");
	k.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k.edb = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	*state = &k;
	return k.p256 && k.p256b && k.ed && k.edb ? 0 : -1;
}

static int teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->p256);
	EVP_PKEY_free(k->p256b);
	EVP_PKEY_free(k->ed);
	EVP_PKEY_free(k->edb);
	return 0;
}

/* The public half only, as a verifier gets it from a certificate. */
static EVP_PKEY *public_only(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_PUBKEY(key, &der);
	EVP_PKEY *pub;

	assert_true(n > 0);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	assert_non_null(pub);
	return pub;
}

static void test_canon_encodes_integers_big_endian(void **state)
{
	static const uint8_t want[] = {
		0xab,                                           /* u8 */
		0x01, 0x02, 0x03, 0x04,                         /* u32 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* u64 */
		0x00,                                           /* u8 */
		0xff, 0xff, 0xff, 0xff,                         /* u32 max */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* u64 max */
	};
	struct canon c;

	(void)state;
	canon_init(&c);
	canon_u8(&c, 0xab);
	canon_u32(&c, 0x01020304);
	canon_u64(&c, 0x0102030405060708ULL);
	canon_u8(&c, 0);
	canon_u32(&c, UINT32_MAX);
	canon_u64(&c, UINT64_MAX);
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.len, sizeof(want));
	assert_memory_equal(c.buf, want, sizeof(want));
	canon_free(&c);
	assert_null(c.buf);
	assert_int_equal(c.len, 0);
}

static void test_canon_prefixes_bytes_and_strings_with_a_32_bit_length(void **state)
{
	static const uint8_t want[] = {0, 0, 0, 2, 0x00, 0xff,       /* bytes {0, 255} */
				       0, 0, 0, 2, 'h',  'i',        /* "hi" */
				       0, 0, 0, 0,                   /* "" */
				       0, 0, 0, 0,                   /* no bytes */
				       0, 0, 0, 3, 0xc3, 0xa9, '!'}; /* UTF-8 as is */
	struct canon c;

	(void)state;
	canon_init(&c);
	canon_bytes(&c, "\x00\xff", 2);
	canon_str(&c, "hi");
	canon_str(&c, "");
	canon_bytes(&c, NULL, 0);
	canon_str(&c, "\xc3\xa9!");
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.len, sizeof(want));
	assert_memory_equal(c.buf, want, sizeof(want));
	canon_free(&c);
}

static void test_canon_is_unambiguous_where_concatenation_is_not(void **state)
{
	struct canon a, b;

	(void)state;
	canon_init(&a);
	canon_init(&b);
	canon_str(&a, "ab");
	canon_str(&a, "c");
	canon_str(&b, "a");
	canon_str(&b, "bc");
	assert_int_equal(a.len, b.len);
	assert_memory_not_equal(a.buf, b.buf, a.len);
	canon_free(&a);
	canon_free(&b);
}

static void test_canon_grows_past_its_first_allocation(void **state)
{
	uint8_t big[1000];
	struct canon c;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	canon_init(&c);
	canon_u8(&c, 1);
	canon_bytes(&c, big, sizeof(big));
	canon_bytes(&c, big, sizeof(big));
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.len, 1 + 2 * (4 + sizeof(big)));
	assert_true(c.cap >= c.len);
	assert_memory_equal(c.buf + 1 + 4, big, sizeof(big));
	assert_memory_equal(c.buf + 1 + 4 + sizeof(big) + 4, big, sizeof(big));
	canon_free(&c);
}

static void sign_verify_round(EVP_PKEY *key, EVP_PKEY *other, size_t max_len)
{
	static const uint8_t msg[] = "register node 0123 at 192.0.2.1:5060";
	uint8_t sig[SIG_MAX], m[sizeof(msg)];
	size_t siglen = sizeof(sig);
	EVP_PKEY *pub = public_only(key);

	assert_int_equal(sig_sign(key, msg, sizeof(msg), sig, &siglen), 0);
	assert_in_range(siglen, 1, max_len);
	assert_int_equal(sig_verify(key, msg, sizeof(msg), sig, siglen), 1);
	assert_int_equal(sig_verify(pub, msg, sizeof(msg), sig, siglen), 1);

	/* Every flipped message byte fails. */
	for (size_t i = 0; i < sizeof(msg); i++) {
		memcpy(m, msg, sizeof(msg));
		m[i] ^= 0x01;
		if (sig_verify(pub, m, sizeof(m), sig, siglen) != 0)
			fail_msg("flipped message byte %zu still verifies", i);
	}
	/* Every flipped signature byte fails. */
	for (size_t i = 0; i < siglen; i++) {
		sig[i] ^= 0x80;
		if (sig_verify(pub, msg, sizeof(msg), sig, siglen) != 0)
			fail_msg("flipped signature byte %zu still verifies", i);
		sig[i] ^= 0x80;
	}
	/* Truncated, extended, empty, another key, another length of message. */
	assert_int_equal(sig_verify(pub, msg, sizeof(msg), sig, siglen - 1), 0);
	assert_int_equal(sig_verify(pub, msg, sizeof(msg), sig, 0), 0);
	assert_int_equal(sig_verify(pub, msg, sizeof(msg) - 1, sig, siglen), 0);
	assert_int_equal(sig_verify(other, msg, sizeof(msg), sig, siglen), 0);
	sig[siglen] = 0;
	assert_int_equal(sig_verify(pub, msg, sizeof(msg), sig, siglen + 1), 0);
	EVP_PKEY_free(pub);
}

static void test_p256_sign_and_verify(void **state)
{
	struct keys *k = *state;

	sign_verify_round(k->p256, k->p256b, 72);
}

static void test_ed25519_sign_and_verify(void **state)
{
	struct keys *k = *state;
	uint8_t sig[SIG_MAX], sig2[SIG_MAX];
	size_t l1 = sizeof(sig), l2 = sizeof(sig2);

	sign_verify_round(k->ed, k->edb, 64);
	/* Pure Ed25519: exactly 64 bytes and deterministic. */
	assert_int_equal(sig_sign(k->ed, (const uint8_t *)"m", 1, sig, &l1), 0);
	assert_int_equal(sig_sign(k->ed, (const uint8_t *)"m", 1, sig2, &l2), 0);
	assert_int_equal(l1, 64);
	assert_memory_equal(sig, sig2, 64);
}

static void test_signature_of_one_key_type_fails_with_the_other(void **state)
{
	struct keys *k = *state;
	uint8_t sig[SIG_MAX];
	size_t l = sizeof(sig);

	assert_int_equal(sig_sign(k->ed, (const uint8_t *)"m", 1, sig, &l), 0);
	assert_int_equal(sig_verify(k->p256, (const uint8_t *)"m", 1, sig, l), 0);
	l = sizeof(sig);
	assert_int_equal(sig_sign(k->p256, (const uint8_t *)"m", 1, sig, &l), 0);
	assert_int_equal(sig_verify(k->ed, (const uint8_t *)"m", 1, sig, l), 0);
}

static void test_sign_fails_when_the_signature_buffer_is_too_small(void **state)
{
	struct keys *k = *state;
	uint8_t sig[SIG_MAX];
	size_t l = 63;

	assert_int_equal(sig_sign(k->ed, (const uint8_t *)"m", 1, sig, &l), -1);
	l = 10;
	assert_int_equal(sig_sign(k->p256, (const uint8_t *)"m", 1, sig, &l), -1);
}

static void test_sign_with_a_public_only_key_fails(void **state)
{
	struct keys *k = *state;
	EVP_PKEY *pub = public_only(k->p256);
	uint8_t sig[SIG_MAX];
	size_t l = sizeof(sig);

	assert_int_equal(sig_sign(pub, (const uint8_t *)"m", 1, sig, &l), -1);
	EVP_PKEY_free(pub);
}

static void test_canon_sign_and_verify(void **state)
{
	struct keys *k = *state;
	struct canon c, d;
	uint8_t sig[SIG_MAX];
	size_t l = sizeof(sig);

	canon_init(&c);
	canon_str(&c, "announce");
	canon_u64(&c, 1700000000);
	canon_bytes(&c, "\x01\x02", 2);
	assert_int_equal(canon_sign(k->p256, &c, sig, &l), 0);
	assert_int_equal(canon_verify(k->p256, &c, sig, l), 1);
	assert_int_equal(sig_verify(k->p256, c.buf, c.len, sig, l), 1);
	/* A different field sequence with the same content does not verify. */
	canon_init(&d);
	canon_str(&d, "announce");
	canon_u64(&d, 1700000001);
	canon_bytes(&d, "\x01\x02", 2);
	assert_int_equal(canon_verify(k->p256, &d, sig, l), 0);
	canon_free(&c);
	canon_free(&d);
}

static void test_failed_canon_refuses_to_sign_and_to_verify(void **state)
{
	struct keys *k = *state;
	struct canon c;
	uint8_t sig[SIG_MAX];
	size_t l = sizeof(sig);

	canon_init(&c);
	canon_str(&c, "x");
	assert_int_equal(canon_sign(k->ed, &c, sig, &l), 0);
	c.failed = 1; /* as after an allocation failure */
	l = sizeof(sig);
	assert_int_equal(canon_sign(k->ed, &c, sig, &l), -1);
	assert_int_equal(canon_verify(k->ed, &c, sig, 64), 0);
	/* Nothing more is appended once it has failed. */
	canon_u32(&c, 7);
	assert_int_equal(c.len, 5);
	canon_free(&c);
}

static void test_canon_bytes_over_4_gib_marks_the_builder_failed(void **state)
{
	struct canon c;

	(void)state;
	if (sizeof(size_t) <= 4)
		skip();
	canon_init(&c);
	canon_u8(&c, 1);
	/* The length check comes first, so the pointer is never read. */
	canon_bytes(&c, "", (size_t)UINT32_MAX + 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.len, 1);
	canon_free(&c);
}

static void test_empty_message_signs_and_verifies(void **state)
{
	struct keys *k = *state;
	struct canon c;
	uint8_t sig[SIG_MAX];
	size_t l = sizeof(sig);

	canon_init(&c);
	assert_int_equal(canon_sign(k->p256, &c, sig, &l), 0);
	assert_int_equal(canon_verify(k->p256, &c, sig, l), 1);
	l = sizeof(sig);
	assert_int_equal(canon_sign(k->ed, &c, sig, &l), 0);
	assert_int_equal(canon_verify(k->ed, &c, sig, l), 1);
	canon_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_encodes_integers_big_endian),
		cmocka_unit_test(test_canon_prefixes_bytes_and_strings_with_a_32_bit_length),
		cmocka_unit_test(test_canon_is_unambiguous_where_concatenation_is_not),
		cmocka_unit_test(test_canon_grows_past_its_first_allocation),
		cmocka_unit_test(test_p256_sign_and_verify),
		cmocka_unit_test(test_ed25519_sign_and_verify),
		cmocka_unit_test(test_signature_of_one_key_type_fails_with_the_other),
		cmocka_unit_test(test_sign_fails_when_the_signature_buffer_is_too_small),
		cmocka_unit_test(test_sign_with_a_public_only_key_fails),
		cmocka_unit_test(test_canon_sign_and_verify),
		cmocka_unit_test(test_failed_canon_refuses_to_sign_and_to_verify),
		cmocka_unit_test(test_canon_bytes_over_4_gib_marks_the_builder_failed),
		cmocka_unit_test(test_empty_message_signs_and_verifies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
