/* Unit tests of common/identity.c: Node-IDs (checked against an independent
 * SHA-256 over the DER SubjectPublicKeyInfo), subject fields of overlay
 * certificates, serials and validity times, the allowed key types, PEM
 * reading and writing (mode, no overwrite) and identity_load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "identity.h"
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct fx {
	char *dir;
	struct tu_ca ca;
	EVP_PKEY *key;
	X509 *cert; /* OU=user, CN=alice, serial 0x1234 */
	int64_t nb, na;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dir = tu_tmpdir_new();
	f->nb = (int64_t)time(NULL) - 100;
	f->na = f->nb + 86400;
	if (f->dir == NULL || tu_ca_new(&f->ca) < 0)
		return -1;
	f->key = EVP_EC_gen("P-256");
	f->cert = tu_issue(&f->ca, f->key, "user", "alice", f->nb, f->na, 0x1234);
	*state = f;
	return f->key != NULL && f->cert != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	tu_ca_free(&f->ca);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* The Node-ID as the protocol defines it, computed without identity.c. */
static void expected_node_id(EVP_PKEY *key, uint8_t out[NODE_ID_LEN])
{
	unsigned char *der = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	int n = i2d_PUBKEY(key, &der);

	assert_true(n > 0);
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	memcpy(out, md, NODE_ID_LEN);
}

static void test_node_id_is_sha256_prefix_of_der_spki(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t want[NODE_ID_LEN], got[NODE_ID_LEN];

	assert_non_null(ed);
	expected_node_id(f->key, want);
	assert_int_equal(node_id_from_key(f->key, got), 0);
	assert_memory_equal(got, want, NODE_ID_LEN);
	memset(got, 0, sizeof(got));
	assert_int_equal(node_id_from_cert(f->cert, got), 0);
	assert_memory_equal(got, want, NODE_ID_LEN);

	expected_node_id(ed, want);
	assert_int_equal(node_id_from_key(ed, got), 0);
	assert_memory_equal(got, want, NODE_ID_LEN);
	EVP_PKEY_free(ed);
}

static void test_node_id_of_a_public_only_key_is_the_same(void **state)
{
	struct fx *f = *state;
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_PUBKEY(f->key, &der);
	EVP_PKEY *pub;
	uint8_t a[NODE_ID_LEN], b[NODE_ID_LEN];

	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	assert_non_null(pub);
	assert_int_equal(node_id_from_key(f->key, a), 0);
	assert_int_equal(node_id_from_key(pub, b), 0);
	assert_memory_equal(a, b, NODE_ID_LEN);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
}

static void test_node_ids_of_different_keys_differ(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *other = key_generate();
	uint8_t a[NODE_ID_LEN], b[NODE_ID_LEN];

	assert_int_equal(node_id_from_key(f->key, a), 0);
	assert_int_equal(node_id_from_key(other, b), 0);
	assert_memory_not_equal(a, b, NODE_ID_LEN);
	EVP_PKEY_free(other);
}

static void test_node_id_hex_is_32_uppercase_digits(void **state)
{
	uint8_t id[NODE_ID_LEN];
	char hex[NODE_ID_HEX_LEN + 1];

	(void)state;
	for (int i = 0; i < NODE_ID_LEN; i++)
		id[i] = (uint8_t)(0xa0 + i);
	node_id_hex(id, hex);
	assert_string_equal(hex, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
}

static void test_subject_fields_of_an_overlay_certificate(void **state)
{
	struct fx *f = *state;
	char buf[64];

	assert_int_equal(cert_role(f->cert, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "user");
	assert_int_equal(cert_name(f->cert, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "alice");
	assert_int_equal(cert_overlay(f->cert, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "overlay.example");
}

static void test_missing_ou_gives_minus_one(void **state)
{
	struct fx *f = *state;
	X509 *c = tu_issue(&f->ca, f->key, NULL, "norole", f->nb, f->na, 7);
	char buf[64] = "untouched";

	assert_non_null(c);
	assert_int_equal(cert_role(c, buf, sizeof(buf)), -1);
	assert_int_equal(cert_name(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "norole");
	X509_free(c);
	/* The CA's own certificate has no OU either. */
	assert_int_equal(cert_role(f->ca.cert, buf, sizeof(buf)), -1);
}

static void test_subject_field_that_does_not_fit_gives_minus_one(void **state)
{
	struct fx *f = *state;
	char buf[6];

	assert_int_equal(cert_name(f->cert, buf, 5), -1); /* "alice" needs 6 */
	assert_int_equal(cert_name(f->cert, buf, 6), 0);
	assert_string_equal(buf, "alice");
}

static void test_duplicate_or_nul_subject_fields_are_refused(void **state)
{
	struct fx *f = *state;
	X509 *c = X509_dup(f->cert);
	X509 *d = X509_new();
	X509_NAME *n;
	char buf[64];

	assert_non_null(c);
	/* A second OU would make the role ambiguous. */
	n = X509_get_subject_name(c);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8,
						    (const unsigned char *)"supernode", -1, -1, 0),
			 1);
	assert_int_equal(cert_role(c, buf, sizeof(buf)), -1);
	/* A CN with a NUL inside: "admin\0.evil". */
	n = X509_NAME_new();
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						    (const unsigned char *)"admin\0.evil", 11, -1,
						    0),
			 1);
	assert_int_equal(X509_set_subject_name(d, n), 1);
	assert_int_equal(cert_name(d, buf, sizeof(buf)), -1);
	X509_NAME_free(n);
	X509_free(c);
	X509_free(d);
}

static void test_serial_hex_is_uppercase(void **state)
{
	struct fx *f = *state;
	X509 *c = tu_issue(&f->ca, f->key, "user", "a", f->nb, f->na, 0x40ABCDEF01ULL);
	char buf[SERIAL_HEX_MAX];

	assert_int_equal(cert_serial_hex(f->cert, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234");
	assert_int_equal(cert_serial_hex(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "40ABCDEF01");
	assert_int_equal(cert_serial_hex(c, buf, 10), -1); /* needs 11 */
	assert_int_equal(cert_serial_hex(c, buf, 11), 0);
	X509_free(c);
}

static void test_serial_hex_is_whole_bytes_like_openssl(void **state)
{
	struct fx *f = *state;
	X509 *c = tu_issue(&f->ca, f->key, "user", "a", f->nb, f->na, 0x0A);
	X509 *d = tu_issue(&f->ca, f->key, "user", "a", f->nb, f->na, 0x0ABC);
	char buf[SERIAL_HEX_MAX];

	/* Whole bytes, as "openssl x509 -serial" prints them, so that an
	 * operator can paste what openssl shows; serial_normalize (logind)
	 * produces the same form from any spelling. */
	assert_int_equal(cert_serial_hex(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0A");
	assert_int_equal(cert_serial_hex(d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0ABC");
	X509_free(c);
	X509_free(d);
}

static void test_validity_times_are_epoch_seconds(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cert_not_before(f->cert), f->nb);
	assert_int_equal(cert_not_after(f->cert), f->na);
}

static void test_only_p256_and_ed25519_keys_are_allowed(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	EVP_PKEY *rsa = EVP_RSA_gen(1024);
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *gen = key_generate();

	assert_non_null(ed);
	assert_non_null(p384);
	assert_non_null(rsa);
	assert_non_null(x25519);
	assert_non_null(gen);
	assert_int_equal(key_is_allowed(f->key), 1);
	assert_int_equal(key_is_allowed(gen), 1);
	assert_int_equal(key_is_allowed(ed), 1);
	assert_int_equal(key_is_allowed(p384), 0);
	assert_int_equal(key_is_allowed(rsa), 0);
	assert_int_equal(key_is_allowed(x25519), 0);
	assert_string_equal(key_type_name(f->key), "ECDSA P-256");
	assert_string_equal(key_type_name(ed), "Ed25519");
	assert_string_equal(key_type_name(p384), "ECDSA (other curve)");
	assert_string_equal(key_type_name(rsa), "RSA");
	assert_string_equal(key_type_name(x25519), "unknown");
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(gen);
}

static void test_key_write_pem_uses_mode_0600_and_reads_back(void **state)
{
	struct fx *f = *state;
	char *p = tu_path(f->dir, "node.key");
	char err[256] = "";
	mode_t old = umask(0);
	struct stat st;
	EVP_PKEY *back;

	assert_int_equal(key_write_pem(f->key, p, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	back = key_read_pem(p, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, f->key), 1);
	EVP_PKEY_free(back);
	free(p);
}

static void test_key_write_pem_refuses_to_overwrite(void **state)
{
	struct fx *f = *state;
	char *p = tu_path(f->dir, "node.key");
	EVP_PKEY *other = key_generate();
	EVP_PKEY *back;
	char err[256] = "";

	assert_int_equal(key_write_pem(f->key, p, err, sizeof(err)), 0);
	assert_int_equal(key_write_pem(other, p, err, sizeof(err)), -1);
	assert_contains(err, p);
	back = key_read_pem(p, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, f->key), 1); /* the first key is kept */
	EVP_PKEY_free(back);
	EVP_PKEY_free(other);
	free(p);
}

static void test_key_read_pem_refuses_garbage_missing_and_oversized_files(void **state)
{
	struct fx *f = *state;
	char *garbage = tu_path(f->dir, "garbage.key");
	char *cert = tu_path(f->dir, "cert.pem");
	char *missing = tu_path(f->dir, "missing.key");
	char *big = tu_path(f->dir, "big.key");
	char *blob = malloc(KEY_PEM_MAX + 1);
	char err[256] = "";

	assert_non_null(blob);
	memset(blob, '\n', KEY_PEM_MAX + 1);
	assert_int_equal(tu_write(garbage, "-----BEGIN PRIVATE KEY-----\nxx\n", 31), 0);
	assert_int_equal(tu_write_cert(cert, f->cert), 0);
	assert_int_equal(tu_write(big, blob, KEY_PEM_MAX + 1), 0);
	assert_null(key_read_pem(garbage, err, sizeof(err)));
	assert_contains(err, "not a PEM private key");
	/* A certificate is not a key. */
	assert_null(key_read_pem(cert, err, sizeof(err)));
	assert_contains(err, "not a PEM private key");
	assert_null(key_read_pem(missing, err, sizeof(err)));
	assert_contains(err, missing);
	assert_null(key_read_pem(big, err, sizeof(err)));
	assert_contains(err, "larger than");
	free(blob);
	free(garbage);
	free(cert);
	free(missing);
	free(big);
}

static void test_cert_pem_round_trips(void **state)
{
	struct fx *f = *state;
	char *p = tu_path(f->dir, "c.pem");
	char *pem = cert_to_pem(f->cert);
	X509 *a, *b;
	char err[256] = "";

	assert_non_null(pem);
	assert_true(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	a = cert_from_pem(pem, strlen(pem));
	assert_non_null(a);
	assert_int_equal(X509_cmp(a, f->cert), 0);
	assert_int_equal(cert_write_pem(f->cert, p, err, sizeof(err)), 0);
	b = cert_read_pem(p, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(X509_cmp(b, f->cert), 0);
	/* cert_write_pem replaces an older certificate (renewal). */
	assert_int_equal(cert_write_pem(f->ca.cert, p, err, sizeof(err)), 0);
	X509_free(b);
	b = cert_read_pem(p, err, sizeof(err));
	assert_int_equal(X509_cmp(b, f->ca.cert), 0);
	X509_free(a);
	X509_free(b);
	free(pem);
	free(p);
}

static void test_cert_from_pem_refuses_garbage(void **state)
{
	struct fx *f = *state;
	char *pem = cert_to_pem(f->cert);
	char *p = tu_path(f->dir, "bad.pem");
	char err[256] = "";

	(void)state;
	assert_null(cert_from_pem("", 0));
	assert_null(cert_from_pem("hello", 5));
	/* Truncated in the middle of the base64. */
	assert_null(cert_from_pem(pem, strlen(pem) / 2));
	assert_int_equal(tu_write(p, "junk", 4), 0);
	assert_null(cert_read_pem(p, err, sizeof(err)));
	assert_contains(err, "not a PEM certificate");
	free(pem);
	free(p);
}

static void test_identity_load_fills_every_field(void **state)
{
	struct fx *f = *state;
	char *k = tu_path(f->dir, "id.key");
	char *c = tu_path(f->dir, "id.pem");
	struct identity id;
	uint8_t want[NODE_ID_LEN];
	char hex[NODE_ID_HEX_LEN + 1];
	char err[256] = "";

	assert_int_equal(tu_write_key(k, f->key), 0);
	assert_int_equal(tu_write_cert(c, f->cert), 0);
	assert_int_equal(identity_load(&id, k, c, err, sizeof(err)), 0);
	expected_node_id(f->key, want);
	assert_memory_equal(id.node_id, want, NODE_ID_LEN);
	node_id_hex(want, hex);
	assert_string_equal(id.node_id_hex, hex);
	assert_string_equal(id.role, "user");
	assert_string_equal(id.name, "alice");
	assert_string_equal(id.overlay, "overlay.example");
	assert_int_equal(EVP_PKEY_eq(id.key, f->key), 1);
	assert_int_equal(X509_cmp(id.cert, f->cert), 0);
	identity_free(&id);
	assert_null(id.key);
	identity_free(&id); /* twice is fine */
	identity_free(NULL);
	free(k);
	free(c);
}

static void test_identity_load_of_mismatching_key_and_cert_fails_clearly(void **state)
{
	struct fx *f = *state;
	char *k = tu_path(f->dir, "other.key");
	char *c = tu_path(f->dir, "id.pem");
	EVP_PKEY *other = key_generate();
	struct identity id;
	char err[512] = "";

	assert_int_equal(tu_write_key(k, other), 0);
	assert_int_equal(tu_write_cert(c, f->cert), 0);
	assert_int_equal(identity_load(&id, k, c, err, sizeof(err)), -1);
	assert_contains(err, "does not belong to the key");
	assert_contains(err, c);
	assert_contains(err, k);
	assert_null(id.key);
	assert_null(id.cert);
	EVP_PKEY_free(other);
	free(k);
	free(c);
}

static void test_identity_load_reports_missing_files(void **state)
{
	struct fx *f = *state;
	char *k = tu_path(f->dir, "id.key");
	char *c = tu_path(f->dir, "none.pem");
	struct identity id;
	char err[512] = "";

	assert_int_equal(identity_load(&id, k, c, err, sizeof(err)), -1);
	assert_contains(err, k);
	assert_int_equal(tu_write_key(k, f->key), 0);
	assert_int_equal(identity_load(&id, k, c, err, sizeof(err)), -1);
	assert_contains(err, c);
	assert_null(id.key);
	free(k);
	free(c);
}

static void test_identity_load_of_the_ca_has_no_role(void **state)
{
	struct fx *f = *state;
	char *k = tu_path(f->dir, "ca.key");
	char *c = tu_path(f->dir, "ca.pem");
	struct identity id;
	char err[256] = "";

	assert_int_equal(tu_write_key(k, f->ca.key), 0);
	assert_int_equal(tu_write_cert(c, f->ca.cert), 0);
	assert_int_equal(identity_load(&id, k, c, err, sizeof(err)), 0);
	assert_string_equal(id.role, "");
	assert_string_equal(id.name, "test CA");
	identity_free(&id);
	free(k);
	free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_node_id_is_sha256_prefix_of_der_spki),
		T(test_node_id_of_a_public_only_key_is_the_same),
		T(test_node_ids_of_different_keys_differ),
		T(test_node_id_hex_is_32_uppercase_digits),
		T(test_subject_fields_of_an_overlay_certificate),
		T(test_missing_ou_gives_minus_one),
		T(test_subject_field_that_does_not_fit_gives_minus_one),
		T(test_duplicate_or_nul_subject_fields_are_refused),
		T(test_serial_hex_is_uppercase),
		T(test_serial_hex_is_whole_bytes_like_openssl),
		T(test_validity_times_are_epoch_seconds),
		T(test_only_p256_and_ed25519_keys_are_allowed),
		T(test_key_write_pem_uses_mode_0600_and_reads_back),
		T(test_key_write_pem_refuses_to_overwrite),
		T(test_key_read_pem_refuses_garbage_missing_and_oversized_files),
		T(test_cert_pem_round_trips),
		T(test_cert_from_pem_refuses_garbage),
		T(test_identity_load_fills_every_field),
		T(test_identity_load_of_mismatching_key_and_cert_fails_clearly),
		T(test_identity_load_reports_missing_files),
		T(test_identity_load_of_the_ca_has_no_role),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
