/* Unit tests of common/crl.c: parsing DER and PEM CRLs of the test CA,
 * refusing CRLs of another CA, tampered or truncated ones and trailing
 * bytes, the fields read out (times, number, count), revocation look-ups by
 * ASN1_INTEGER and by hex, and the PEM round trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crl.h"
#include "testutil.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fx {
	struct tu_ca ca, other;
	uint8_t *der; /* CRL of ca revoking 5 and 0x40AB12, number 7 */
	size_t der_len;
	char *pem;
};

static const uint64_t revoked[] = {5, 0x40AB12};

static uint8_t *crl_der(X509_CRL *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(x, &der);
	uint8_t *out;

	assert_true(n > 0);
	out = malloc((size_t)n + 16);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static char *crl_pem(X509_CRL *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_int_equal(PEM_write_bio_X509_CRL(b, x), 1);
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	X509_CRL *x;

	if (f == NULL || tu_ca_new(&f->ca) < 0 || tu_ca_new(&f->other) < 0)
		return -1;
	x = tu_crl(&f->ca, revoked, 2, 7);
	f->der = crl_der(x, &f->der_len);
	f->pem = crl_pem(x);
	X509_CRL_free(x);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->der);
	free(f->pem);
	tu_ca_free(&f->ca);
	tu_ca_free(&f->other);
	free(f);
	return 0;
}

static ASN1_INTEGER *serial(uint64_t v)
{
	ASN1_INTEGER *a = ASN1_INTEGER_new();

	ASN1_INTEGER_set_uint64(a, v);
	return a;
}

static void test_der_crl_is_parsed_with_its_fields(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int64_t now = (int64_t)time(NULL);
	struct crl *c = crl_parse(f->der, f->der_len, f->ca.cert, err, sizeof(err));

	assert_non_null(c);
	assert_int_equal(c->count, 2);
	assert_int_equal(c->number, 7);
	assert_in_range(c->last_update, now - 65, now - 55);
	assert_in_range(c->next_update, now + 3595, now + 3605);
	assert_int_equal(c->der_len, f->der_len);
	assert_memory_equal(c->der, f->der, f->der_len);
	crl_free(c);
	crl_free(NULL);
}

static void test_pem_crl_is_parsed(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	struct crl *c =
		crl_parse((const uint8_t *)f->pem, strlen(f->pem), f->ca.cert, err, sizeof(err));

	assert_non_null(c);
	assert_int_equal(c->count, 2);
	assert_int_equal(c->number, 7);
	/* The DER kept is the same whichever form came in. */
	assert_int_equal(c->der_len, f->der_len);
	assert_memory_equal(c->der, f->der, f->der_len);
	crl_free(c);
}

static void test_crl_of_another_ca_is_rejected(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	/* Both test CAs have the same subject, so only the signature tells. */
	assert_null(crl_parse(f->der, f->der_len, f->other.cert, err, sizeof(err)));
	assert_contains(err, "not signed by the overlay CA");
}

static void test_crl_signed_by_another_ca_is_rejected(void **state)
{
	struct fx *f = *state;
	X509_CRL *x = tu_crl(&f->other, revoked, 1, 1);
	size_t len;
	uint8_t *der = crl_der(x, &len);
	char err[256] = "";

	assert_null(crl_parse(der, len, f->ca.cert, err, sizeof(err)));
	assert_contains(err, "not signed by the overlay CA");
	free(der);
	X509_CRL_free(x);
}

static void test_tampered_crl_is_rejected(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	/* The last byte is in the signature; byte 40 is inside the signed
	 * body (issuer name or dates). Either way it must not verify. */
	f->der[f->der_len - 1] ^= 0x01;
	assert_null(crl_parse(f->der, f->der_len, f->ca.cert, err, sizeof(err)));
	f->der[f->der_len - 1] ^= 0x01;
	f->der[40] ^= 0x01;
	assert_null(crl_parse(f->der, f->der_len, f->ca.cert, err, sizeof(err)));
	f->der[40] ^= 0x01;
	assert_non_null(f->der); /* restored for the next tests */
}

static void test_trailing_bytes_after_der_are_rejected(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	memcpy(f->der + f->der_len, "garbage", 7);
	assert_null(crl_parse(f->der, f->der_len + 7, f->ca.cert, err, sizeof(err)));
	assert_contains(err, "not a CRL");
	assert_null(crl_parse(f->der, f->der_len + 1, f->ca.cert, err, sizeof(err)));
}

static void test_truncated_der_is_rejected(void **state)
{
	struct fx *f = *state;
	char err[256];

	for (size_t cut = 1; cut < f->der_len; cut++) {
		struct crl *c = crl_parse(f->der, cut, f->ca.cert, err, sizeof(err));
		if (c != NULL) {
			crl_free(c);
			fail_msg("accepted a CRL cut at %zu of %zu", cut, f->der_len);
		}
	}
}

static void test_garbage_and_size_limits_are_rejected(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	uint8_t *huge = calloc(1, CRL_MAX + 1);

	assert_null(crl_parse((const uint8_t *)"", 0, f->ca.cert, err, sizeof(err)));
	assert_contains(err, "size out of range");
	assert_null(crl_parse((const uint8_t *)"hello", 5, f->ca.cert, err, sizeof(err)));
	assert_contains(err, "not a CRL");
	assert_null(crl_parse((const uint8_t *)"-----BEGIN X509 CRL-----\nAAAA\n", 30, f->ca.cert,
			      err, sizeof(err)));
	assert_contains(err, "not a CRL");
	assert_non_null(huge);
	memcpy(huge, f->der, f->der_len);
	assert_null(crl_parse(huge, CRL_MAX + 1, f->ca.cert, err, sizeof(err)));
	assert_contains(err, "size out of range");
	free(huge);
}

static void test_is_revoked_by_serial(void **state)
{
	struct fx *f = *state;
	struct crl *c = crl_parse(f->der, f->der_len, f->ca.cert, NULL, 0);
	ASN1_INTEGER *s5 = serial(5), *s6 = serial(6), *s4 = serial(4), *big = serial(0x40AB12);

	assert_non_null(c);
	assert_int_equal(crl_is_revoked(c, s5), 1);
	assert_int_equal(crl_is_revoked(c, big), 1);
	assert_int_equal(crl_is_revoked(c, s6), 0);
	assert_int_equal(crl_is_revoked(c, s4), 0);
	assert_int_equal(crl_is_revoked(NULL, s5), 0);
	ASN1_INTEGER_free(s5);
	ASN1_INTEGER_free(s6);
	ASN1_INTEGER_free(s4);
	ASN1_INTEGER_free(big);
	crl_free(c);
}

static void test_is_revoked_by_hex_serial(void **state)
{
	struct fx *f = *state;
	struct crl *c = crl_parse(f->der, f->der_len, f->ca.cert, NULL, 0);

	assert_non_null(c);
	assert_int_equal(crl_is_revoked_hex(c, "5"), 1);
	assert_int_equal(crl_is_revoked_hex(c, "05"), 1);
	assert_int_equal(crl_is_revoked_hex(c, "40AB12"), 1);
	assert_int_equal(crl_is_revoked_hex(c, "40ab12"), 1);
	assert_int_equal(crl_is_revoked_hex(c, "40AB13"), 0);
	assert_int_equal(crl_is_revoked_hex(c, "6"), 0);
	assert_int_equal(crl_is_revoked_hex(c, ""), 0);
	assert_int_equal(crl_is_revoked_hex(c, "zz"), 0);
	assert_int_equal(crl_is_revoked_hex(NULL, "5"), 0);
	crl_free(c);
}

/* A CRL without the optional nextUpdate and CRL number. */
static X509_CRL *bare_crl(struct tu_ca *ca)
{
	X509_CRL *x = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));

	X509_CRL_set_version(x, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(x, X509_get_subject_name(ca->cert));
	X509_CRL_set1_lastUpdate(x, t);
	X509_CRL_sign(x, ca->key, EVP_sha256());
	ASN1_TIME_free(t);
	return x;
}

static void test_absent_number_and_next_update_read_as_minus_one(void **state)
{
	struct fx *f = *state;
	X509_CRL *x = bare_crl(&f->ca);
	size_t len;
	uint8_t *der = crl_der(x, &len);
	struct crl *c = crl_parse(der, len, f->ca.cert, NULL, 0);

	assert_non_null(c);
	assert_int_equal(c->number, -1);
	assert_int_equal(c->next_update, -1);
	assert_int_equal(crl_is_revoked_hex(c, "5"), 0);
	crl_free(c);
	free(der);
	X509_CRL_free(x);
}

static void test_large_crl_number_is_read(void **state)
{
	struct fx *f = *state;
	X509_CRL *x = tu_crl(&f->ca, NULL, 0, INT64_MAX);
	size_t len;
	uint8_t *der = crl_der(x, &len);
	struct crl *c = crl_parse(der, len, f->ca.cert, NULL, 0);

	assert_non_null(c);
	assert_true(c->number == INT64_MAX);
	crl_free(c);
	free(der);
	X509_CRL_free(x);
}

static void test_empty_crl_counts_zero_entries(void **state)
{
	struct fx *f = *state;
	X509_CRL *x = tu_crl(&f->ca, NULL, 0, 1);
	size_t len;
	uint8_t *der = crl_der(x, &len);
	struct crl *c = crl_parse(der, len, f->ca.cert, NULL, 0);

	assert_non_null(c);
	/* OpenSSL leaves the list absent (sk_num -1) when nothing is revoked;
	 * the first CRL logind publishes is like that. */
	assert_int_equal(c->count, 0);
	crl_free(c);
	free(der);
	X509_CRL_free(x);
}

static void test_to_pem_round_trips(void **state)
{
	struct fx *f = *state;
	struct crl *c = crl_parse(f->der, f->der_len, f->ca.cert, NULL, 0);
	struct crl *back;
	char *pem;

	assert_non_null(c);
	pem = crl_to_pem(c);
	assert_non_null(pem);
	assert_true(strncmp(pem, "-----BEGIN X509 CRL-----\n", 25) == 0);
	back = crl_parse((const uint8_t *)pem, strlen(pem), f->ca.cert, NULL, 0);
	assert_non_null(back);
	assert_int_equal(back->der_len, c->der_len);
	assert_memory_equal(back->der, c->der, c->der_len);
	assert_int_equal(back->number, 7);
	free(pem);
	crl_free(c);
	crl_free(back);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_der_crl_is_parsed_with_its_fields),
		T(test_pem_crl_is_parsed),
		T(test_crl_of_another_ca_is_rejected),
		T(test_crl_signed_by_another_ca_is_rejected),
		T(test_tampered_crl_is_rejected),
		T(test_trailing_bytes_after_der_are_rejected),
		T(test_truncated_der_is_rejected),
		T(test_garbage_and_size_limits_are_rejected),
		T(test_is_revoked_by_serial),
		T(test_is_revoked_by_hex_serial),
		T(test_absent_number_and_next_update_read_as_minus_one),
		T(test_large_crl_number_is_read),
		T(test_empty_crl_counts_zero_entries),
		T(test_to_pem_round_trips),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
