/* Unit tests of common/certcheck.c: signer certificates checked outside
 * TLS against the overlay CA, with the per-fingerprint cache. A good
 * certificate passes twice; revocation, expiry and other signers are
 * refused, including for certificates that are already in the cache. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "certcheck.h"
#include "crl.h"
#include "testutil.h"
#include "util.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fx {
	struct tu_ca ca, twin, other;
	EVP_PKEY *key;
	struct certcheck *cc;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	if (tu_ca_new(&f->ca) < 0 || tu_ca_new(&f->twin) < 0 || tu_other_ca_new(&f->other) < 0)
		return -1;
	f->key = EVP_EC_gen("P-256");
	f->cc = certcheck_new(f->ca.cert);
	return f->key != NULL && f->cc != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	certcheck_free(f->cc);
	EVP_PKEY_free(f->key);
	tu_ca_free(&f->ca);
	tu_ca_free(&f->twin);
	tu_ca_free(&f->other);
	free(f);
	return 0;
}

static X509 *issue(struct tu_ca *ca, EVP_PKEY *key, int64_t nb, int64_t na, uint64_t serial)
{
	X509 *c = tu_issue(ca, key, "user", "alice", nb, na, serial);

	assert_non_null(c);
	return c;
}

static struct crl *crl_of(struct tu_ca *ca, const uint64_t *serials, size_t n)
{
	X509_CRL *x = tu_crl(ca, serials, n, 1);
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(x, &der);
	struct crl *crl = crl_parse(der, (size_t)len, ca->cert, NULL, 0);

	assert_non_null(crl);
	OPENSSL_free(der);
	X509_CRL_free(x);
	return crl;
}

static void test_certificate_of_the_ca_passes_twice(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	X509 *c = issue(&f->ca, f->key, now - 60, now + 3600, 100);
	char err[256] = "untouched";

	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), 0);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), 0);
	/* A copy has the same fingerprint. */
	X509 *dup = X509_dup(c);
	assert_int_equal(certcheck_verify(f->cc, dup, err, sizeof(err)), 0);
	X509_free(dup);
	/* A NULL error buffer is fine. */
	assert_int_equal(certcheck_verify(f->cc, c, NULL, 0), 0);
	X509_free(c);
}

static void test_cached_certificate_is_refused_once_revoked(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	X509 *c = issue(&f->ca, f->key, now - 60, now + 3600, 101);
	uint64_t other_serials[] = {7, 102};
	uint64_t serials[] = {7, 101};
	struct crl *unrelated = crl_of(&f->ca, other_serials, 2);
	struct crl *crl = crl_of(&f->ca, serials, 2);
	char err[256] = "";

	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), 0);
	certcheck_set_crl(f->cc, unrelated);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), 0);
	certcheck_set_crl(f->cc, crl);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	assert_contains(err, "revoked");
	/* Revoked before it was ever cached. */
	X509 *c2 = issue(&f->ca, f->key, now - 60, now + 3600, 7);
	err[0] = '\0';
	assert_int_equal(certcheck_verify(f->cc, c2, err, sizeof(err)), -1);
	assert_contains(err, "revoked");
	/* Without a CRL again, it passes. */
	certcheck_set_crl(f->cc, NULL);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), 0);
	X509_free(c2);
	crl_free(crl);
	crl_free(unrelated);
	X509_free(c);
}

static void test_expired_certificate_is_refused(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	X509 *c = issue(&f->ca, f->key, now - 7200, now - 60, 103);
	char err[256] = "";

	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	assert_contains(err, "signer certificate");
	assert_contains(err, "expired");
	X509_free(c);
	/* Expired right now: not_after is exclusive. */
	c = issue(&f->ca, f->key, now - 7200, now, 104);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	X509_free(c);
}

static void test_not_yet_valid_certificate_is_refused(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	X509 *c = issue(&f->ca, f->key, now + 3600, now + 7200, 105);
	char err[256] = "";

	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	assert_contains(err, "not yet valid");
	/* A refusal is not remembered as a success either. */
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	X509_free(c);
	/* A few seconds ahead of our clock is still in the future. */
	c = issue(&f->ca, f->key, now + 5, now + 7200, 106);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	X509_free(c);
}

static void test_cached_certificate_is_refused_once_expired(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int64_t now;
	X509 *c = NULL;

	/* Valid for the rest of this second and the next one. */
	for (int i = 0; i < 5; i++) {
		now = time_now();
		c = issue(&f->ca, f->key, now - 60, now + 1, 107);
		if (certcheck_verify(f->cc, c, err, sizeof(err)) == 0)
			break;
		X509_free(c);
		c = NULL;
	}
	assert_non_null(c);
	while (time_now() < now + 1)
		usleep(20 * 1000);
	assert_int_equal(certcheck_verify(f->cc, c, err, sizeof(err)), -1);
	assert_contains(err, "expired");
	X509_free(c);
}

static void test_certificate_of_another_ca_is_refused(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	X509 *good = issue(&f->ca, f->key, now - 60, now + 3600, 108);
	X509 *foreign = issue(&f->other, f->key, now - 60, now + 3600, 108);
	X509 *twin = issue(&f->twin, f->key, now - 60, now + 3600, 108);
	char err[256] = "";

	/* The same key and serial as a cached certificate change nothing. */
	assert_int_equal(certcheck_verify(f->cc, good, err, sizeof(err)), 0);
	assert_int_equal(certcheck_verify(f->cc, foreign, err, sizeof(err)), -1);
	assert_contains(err, "signer certificate");
	err[0] = '\0';
	/* Same issuer name as the overlay CA, another key. */
	assert_int_equal(certcheck_verify(f->cc, twin, err, sizeof(err)), -1);
	assert_contains(err, "signer certificate");
	/* And again: refusals are not cached as successes. */
	assert_int_equal(certcheck_verify(f->cc, twin, err, sizeof(err)), -1);
	assert_int_equal(certcheck_verify(f->cc, foreign, err, sizeof(err)), -1);
	X509_free(good);
	X509_free(foreign);
	X509_free(twin);
}

static void test_certificate_signed_by_a_user_is_refused(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	struct tu_ca fake;
	X509 *leaf;
	char err[256] = "";

	/* Alice's own certificate used as if it were a CA. */
	fake.key = f->key;
	fake.cert = issue(&f->ca, f->key, now - 60, now + 3600, 109);
	leaf = issue(&fake, f->key, now - 60, now + 3600, 110);
	assert_int_equal(certcheck_verify(f->cc, leaf, err, sizeof(err)), -1);
	assert_contains(err, "signer certificate");
	X509_free(leaf);
	X509_free(fake.cert);
}

static void test_many_certificates_all_pass(void **state)
{
	struct fx *f = *state;
	int64_t now = time_now();
	X509 *c[40];
	char err[256] = "";

	/* More than fit without some sharing a slot would be too slow; these
	 * at least exercise replacement when two land in the same one. */
	for (size_t i = 0; i < 40; i++) {
		c[i] = issue(&f->ca, f->key, now - 60, now + 3600, 1000 + i);
		assert_int_equal(certcheck_verify(f->cc, c[i], err, sizeof(err)), 0);
	}
	for (size_t i = 0; i < 40; i++) {
		assert_int_equal(certcheck_verify(f->cc, c[i], err, sizeof(err)), 0);
		X509_free(c[i]);
	}
}

static void test_new_needs_a_ca_and_free_takes_null(void **state)
{
	(void)state;
	assert_null(certcheck_new(NULL));
	certcheck_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certificate_of_the_ca_passes_twice),
		cmocka_unit_test(test_cached_certificate_is_refused_once_revoked),
		cmocka_unit_test(test_expired_certificate_is_refused),
		cmocka_unit_test(test_not_yet_valid_certificate_is_refused),
		cmocka_unit_test(test_cached_certificate_is_refused_once_expired),
		cmocka_unit_test(test_certificate_of_another_ca_is_refused),
		cmocka_unit_test(test_certificate_signed_by_a_user_is_refused),
		cmocka_unit_test(test_many_certificates_all_pass),
		cmocka_unit_test(test_new_needs_a_ca_and_free_takes_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
