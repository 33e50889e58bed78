/* logind_adhoc: the CA every machine derives from a join code: the same key
 * and certificate public key from the same code on two runs (typed
 * differently), another key from another code; a code file that holds no
 * code is refused and nothing is returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "logind_adhoc.h"
#include "testutil.h"
#include "util.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CODE "ABCDE-FGHIJ-KLMNO-PQRST"
#define OVL "adhoc-test.p2psip"

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

static void code_files_hold_a_code_or_are_refused(void **state)
{
	char *dir = tu_tmpdir_new(), *path = tu_path(dir, "code"), err[256];
	EVP_PKEY *k;
	X509 *c;

	(void)state;
	assert_int_equal(tu_write(path, CODE "\nrest\n", strlen(CODE) + 6), 0);
	assert_int_equal(adhoc_ca_from_file(path, OVL, &k, &c, err, sizeof(err)), 0);
	EVP_PKEY_free(k);
	X509_free(c);
	assert_int_equal(tu_write(path, "<html>\n", 7), 0);
	assert_int_equal(adhoc_ca_from_file(path, OVL, &k, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "join code"));
	assert_null(k);
	char big[ADHOC_CODE_FILE_MAX + 10];
	memset(big, 'A', sizeof(big));
	assert_int_equal(tu_write(path, big, sizeof(big)), 0);
	assert_int_equal(adhoc_ca_from_file(path, OVL, &k, &c, err, sizeof(err)), -1);
	unlink(path);
	assert_int_equal(adhoc_ca_from_file(path, OVL, &k, &c, err, sizeof(err)), -1);
	free(path);
	tu_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_code_same_ca_on_two_runs),
		cmocka_unit_test(another_code_another_key),
		cmocka_unit_test(code_files_hold_a_code_or_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
