/* adhoc: join codes (made, normalized, refused), and what every machine
 * derives from one alike: the private scalar (or its retry), a stable
 * overlay name and serial. The certificates: test_logind_adhoc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adhoc.h"
#include "util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <string.h>

#define CODE "ABCDE-FGHIJ-KLMNO-PQRST"

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
		cmocka_unit_test(scalar_is_the_seed_or_a_retry),
		cmocka_unit_test(derivation_is_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
