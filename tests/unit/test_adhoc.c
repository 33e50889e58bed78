/* adhoc: join codes (made, normalized, refused), and what every machine
 * derives from one alike: the same CA key and certificate public key from
 * the same code on two runs, another key from another code, a stable name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adhoc.h"
#include "logind_adhoc.h"
#include "util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#define CODE "ABCDE-FGHIJ-KLMNO-PQRST"
#define OVL "adhoc-test.p2psip"

static void new_codes_are_grouped_base32_and_differ(void **state)
{
	char a[ADHOC_CODE_TEXT_MAX], b[ADHOC_CODE_TEXT_MAX], n[ADHOC_CODE_MAX + 1], err[128];

	(void)state;
	assert_int_equal(adhoc_code_new(a, sizeof(a)), 0);
	assert_int_equal(adhoc_code_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), ADHOC_CODE_CHARS + ADHOC_CODE_CHARS / 5 - 1);
	assert_int_equal(a[5], '-');
	assert_string_not_equal(a, b);
	assert_int_equal(adhoc_code_normalize(a, n, sizeof(n), err, sizeof(err)), 0);
	assert_int_equal(strlen(n), ADHOC_CODE_CHARS);
	assert_int_equal(adhoc_code_new(a, 10), -1); /* too small a buffer */
}

static void codes_as_typed_are_normalized_or_refused(void **state)
{
	char n[ADHOC_CODE_MAX + 1], err[128];
	char long_code[ADHOC_CODE_MAX + 2];

	(void)state;
	assert_int_equal(
		adhoc_code_normalize("abcde fghij-klmno pqrst", n, sizeof(n), err, sizeof(err)), 0);
	assert_string_equal(n, "ABCDEFGHIJKLMNOPQRST");
	/* 0, 1, 8 and 9 are not base32: a typo, not a different code */
	assert_int_equal(
		adhoc_code_normalize("ABCDE-FGHIJ-KLMNO-PQRS0", n, sizeof(n), err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "A-Z, 2-7"));
	assert_int_equal(
		adhoc_code_normalize("ABCDE-FGHIJ-KLMNO-PQRS", n, sizeof(n), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 20"));
	memset(long_code, 'A', sizeof(long_code) - 1);
	long_code[sizeof(long_code) - 1] = '\0';
	assert_int_equal(adhoc_code_normalize(long_code, n, sizeof(n), err, sizeof(err)), -1);
	assert_int_equal(adhoc_code_normalize("", n, sizeof(n), err, sizeof(err)), -1);
}

/* The public key's DER, for comparing keys made on two runs. */
static size_t pub_der(EVP_PKEY *key, unsigned char *out)
{
	unsigned char *p = out;
	int n = i2d_PUBKEY(key, &p);

	assert_true(n > 0 && n < 200);
	return (size_t)n;
}

static void same_code_same_ca_on_two_runs(void **state)
{
	EVP_PKEY *k1, *k2;
	X509 *c1, *c2;
	unsigned char d1[200], d2[200], d3[200];
	char err[256];

	(void)state;
	assert_int_equal(adhoc_ca_derive(CODE, OVL, &k1, &c1, err, sizeof(err)), 0);
	/* typed differently: the same code */
	assert_int_equal(adhoc_ca_derive("abcdefghijklmnopqrst", OVL, &k2, &c2, err, sizeof(err)),
			 0);
	size_t n = pub_der(k1, d1);
	assert_int_equal(pub_der(k2, d2), n);
	assert_memory_equal(d1, d2, n);
	assert_int_equal(pub_der(X509_get0_pubkey(c2), d3), n);
	assert_memory_equal(d1, d3, n);
	/* the same subject, serial and validity; each signature verifies with
	 * the other run's key (ECDSA's signatures themselves differ) */
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(c1), X509_get_subject_name(c2)), 0);
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(c1), X509_get0_serialNumber(c2)),
			 0);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(c1), X509_get0_notAfter(c2)), 0);
	assert_int_equal(X509_verify(c1, k2), 1);
	assert_int_equal(X509_verify(c2, k1), 1);
	assert_int_equal(X509_check_ca(c1), 1);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	X509_free(c1);
	X509_free(c2);
}

static void another_code_another_key(void **state)
{
	EVP_PKEY *k1, *k2;
	X509 *c1, *c2;
	unsigned char d1[200], d2[200];
	char err[256];

	(void)state;
	assert_int_equal(adhoc_ca_derive(CODE, OVL, &k1, &c1, err, sizeof(err)), 0);
	assert_int_equal(
		adhoc_ca_derive("ABCDE-FGHIJ-KLMNO-PQRSU", OVL, &k2, &c2, err, sizeof(err)), 0);
	size_t n = pub_der(k1, d1);
	assert_true(pub_der(k2, d2) != n || memcmp(d1, d2, n) != 0);
	assert_int_equal(X509_verify(c1, k2), 0);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	X509_free(c1);
	X509_free(c2);
	assert_int_equal(adhoc_ca_derive("short", OVL, &k1, &c1, err, sizeof(err)), -1);
	assert_null(k1);
	assert_null(c1);
}

/* The private scalar is the seed itself when below the group order; a seed
 * at or above it (or zero) still gives a key, through the counter. */
static void scalar_is_the_seed_or_a_retry(void **state)
{
	uint8_t seed[ADHOC_SEED_LEN], back[ADHOC_SEED_LEN];
	BIGNUM *d = NULL;
	EVP_PKEY *k;

	(void)state;
	memset(seed, 0x11, sizeof(seed));
	k = adhoc_ca_key(seed);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
	assert_int_equal(BN_bn2binpad(d, back, sizeof(back)), sizeof(back));
	assert_memory_equal(seed, back, sizeof(seed));
	BN_free(d);
	EVP_PKEY_free(k);
	memset(seed, 0xff, sizeof(seed));
	k = adhoc_ca_key(seed);
	assert_non_null(k);
	EVP_PKEY_free(k);
	memset(seed, 0, sizeof(seed));
	k = adhoc_ca_key(seed);
	assert_non_null(k);
	EVP_PKEY_free(k);
}

/* Pinned (and computed again with Python's hashlib.scrypt): a change of
 * the derivation would split overlays between machines with the old and the
 * new program, so it needs a new salt ("v2"). */
static void derivation_is_pinned(void **state)
{
	uint8_t seed[ADHOC_SEED_LEN];
	char name[ADHOC_NAME_MAX], serial[33];

	(void)state;
	assert_int_equal(adhoc_seed("ABCDEFGHIJKLMNOPQRST", seed), 0);
	adhoc_overlay_name(seed, name, sizeof(name));
	adhoc_ca_serial(seed, serial);
	assert_int_equal(strncmp(name, "adhoc-", 6), 0);
	assert_int_equal(strlen(name), strlen("adhoc-01234567.p2psip"));
	assert_string_equal(name, "adhoc-6b7d963c.p2psip");
	assert_true(serial[0] >= '4' && serial[0] <= '7');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_codes_are_grouped_base32_and_differ),
		cmocka_unit_test(codes_as_typed_are_normalized_or_refused),
		cmocka_unit_test(same_code_same_ca_on_two_runs),
		cmocka_unit_test(another_code_another_key),
		cmocka_unit_test(scalar_is_the_seed_or_a_retry),
		cmocka_unit_test(derivation_is_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
