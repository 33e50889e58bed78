/* logind_x509: the CA, user and server certificates, serials, CRLs and DNS names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crl.h"
#include "log.h"
#include "logind_x509.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OVERLAY "overlay.example"

static EVP_PKEY *ca_key, *user_key, *other_key;
static X509 *ca_cert;
static int64_t now;

static X509 *build_ca(EVP_PKEY *key, const char *serial)
{
	struct cert_spec s = {0};
	char err[256] = "";
	X509 *c;

	s.pubkey = key;
	s.serial_hex = serial;
	s.overlay = OVERLAY;
	s.name = OVERLAY " CA";
	s.not_before = now - CLOCK_SKEW;
	s.not_after = now + 86400;
	s.is_ca = 1;
	c = x509_build(&s, key, NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("x509_build CA: %s", err);
	return c;
}

static int setup(void **state)
{
	(void)state;
	log_init("test", LOG_LVL_ERROR);
	now = (int64_t)time(NULL);
	ca_key = EVP_EC_gen("P-256");
	user_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	if (ca_key == NULL || user_key == NULL || other_key == NULL)
		return -1;
	ca_cert = build_ca(ca_key, "4000000000000000000000000000000A");
	return ca_cert != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(user_key);
	EVP_PKEY_free(other_key);
	return 0;
}

static struct cert_spec user_spec(const char *serial)
{
	struct cert_spec s = {0};

	s.pubkey = user_key;
	s.serial_hex = serial;
	s.overlay = OVERLAY;
	s.role = "user";
	s.name = "alice";
	s.san_uri = "sip:alice@" OVERLAY;
	s.not_before = now - CLOCK_SKEW;
	s.not_after = now + 3600;
	return s;
}

/* 1 if cert chains to ca through a store that holds only ca. */
static int chains_to(X509 *cert, X509 *ca)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX_init(ctx, store, cert, NULL);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok == 1;
}

static void expect_name_entry(X509_NAME *n, int pos, int nid, const char *value)
{
	X509_NAME_ENTRY *e = X509_NAME_get_entry(n, pos);
	const ASN1_STRING *d;

	assert_non_null(e);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), nid);
	d = X509_NAME_ENTRY_get_data(e);
	assert_int_equal(ASN1_STRING_length(d), strlen(value));
	assert_memory_equal(ASN1_STRING_get0_data(d), value, strlen(value));
}

static int ext_critical(X509 *c, int nid)
{
	int i = X509_get_ext_by_NID(c, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(c, i));
}

static char *serial_of(X509 *c)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
	char *hex = BN_bn2hex(bn);
	char *s = strdup(hex);

	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

static void expect_time(const ASN1_TIME *t, int64_t want)
{
	ASN1_TIME *w = ASN1_TIME_set(NULL, (time_t)want);

	assert_int_equal(ASN1_TIME_compare(t, w), 0);
	ASN1_TIME_free(w);
}

static void x509_build_makes_a_self_signed_ca(void **state)
{
	X509_NAME *subj = X509_get_subject_name(ca_cert);
	BASIC_CONSTRAINTS *bc;
	char *serial = serial_of(ca_cert);

	(void)state;
	assert_int_equal(X509_get_version(ca_cert), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(subj, X509_get_issuer_name(ca_cert)), 0);
	assert_int_equal(X509_check_issued(ca_cert, ca_cert), X509_V_OK);
	assert_int_equal(X509_verify(ca_cert, ca_key), 1);
	assert_int_equal(X509_NAME_entry_count(subj), 2);
	expect_name_entry(subj, 0, NID_organizationName, OVERLAY);
	expect_name_entry(subj, 1, NID_commonName, OVERLAY " CA");
	assert_string_equal(serial, "4000000000000000000000000000000A");
	free(serial);
	/* basicConstraints CA:TRUE, critical. */
	assert_int_equal(ext_critical(ca_cert, NID_basic_constraints), 1);
	bc = X509_get_ext_d2i(ca_cert, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_check_ca(ca_cert) >= 1);
	/* keyUsage: certificate and CRL signing, critical. */
	assert_int_equal(ext_critical(ca_cert, NID_key_usage), 1);
	assert_true(X509_get_key_usage(ca_cert) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(ca_cert) & KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(ca_cert));
	expect_time(X509_get0_notBefore(ca_cert), now - CLOCK_SKEW);
	expect_time(X509_get0_notAfter(ca_cert), now + 86400);
	/* It verifies as its own trust anchor. */
	assert_true(chains_to(ca_cert, ca_cert));
}

static void x509_build_makes_a_user_certificate_that_chains_to_the_ca(void **state)
{
	struct cert_spec s = user_spec("4123456789ABCDEF0123456789ABCDEF");
	char err[256] = "";
	X509 *c = x509_build(&s, ca_key, ca_cert, err, sizeof(err));
	X509_NAME *subj;
	GENERAL_NAMES *san;
	GENERAL_NAME *g;
	BASIC_CONSTRAINTS *bc;
	char *serial;

	(void)state;
	if (c == NULL)
		fail_msg("x509_build user: %s", err);
	subj = X509_get_subject_name(c);
	assert_int_equal(X509_NAME_entry_count(subj), 3);
	expect_name_entry(subj, 0, NID_organizationName, OVERLAY);
	expect_name_entry(subj, 1, NID_organizationalUnitName, "user");
	expect_name_entry(subj, 2, NID_commonName, "alice");
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(ca_cert)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(c), user_key), 1);
	serial = serial_of(c);
	assert_string_equal(serial, "4123456789ABCDEF0123456789ABCDEF");
	free(serial);
	expect_time(X509_get0_notBefore(c), now - CLOCK_SKEW);
	expect_time(X509_get0_notAfter(c), now + 3600);

	/* SAN: exactly the user's URI. */
	san = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	g = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(g->type, GEN_URI);
	assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
			    "sip:alice@" OVERLAY);
	GENERAL_NAMES_free(san);

	/* Not a CA; client and server auth. */
	assert_int_equal(ext_critical(c, NID_basic_constraints), 1);
	bc = X509_get_ext_d2i(c, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(c), 0);
	assert_true(X509_get_extended_key_usage(c) & XKU_SSL_CLIENT);
	assert_true(X509_get_extended_key_usage(c) & XKU_SSL_SERVER);
	assert_true(X509_get_key_usage(c) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(c) & KU_KEY_CERT_SIGN);
	/* The authority key id points at the CA's key. */
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(c),
					       X509_get0_subject_key_id(ca_cert)),
			 0);

	assert_true(chains_to(c, ca_cert));
	assert_int_equal(X509_verify(c, ca_key), 1);
	assert_int_equal(X509_verify(c, other_key), 0);
	X509_free(c);
}

static void a_user_certificate_does_not_chain_to_another_ca(void **state)
{
	X509 *other_ca = build_ca(other_key, "4000000000000000000000000000000B");
	struct cert_spec s = user_spec("4000000000000000000000000000000C");
	X509 *c = x509_build(&s, ca_key, ca_cert, NULL, 0);

	(void)state;
	assert_non_null(c);
	assert_false(chains_to(c, other_ca));
	X509_free(c);
	X509_free(other_ca);
}

static void a_user_certificate_cannot_sign_certificates(void **state)
{
	struct cert_spec s = user_spec("4000000000000000000000000000000D");
	X509 *user = x509_build(&s, ca_key, ca_cert, NULL, 0);
	struct cert_spec s2 = user_spec("4000000000000000000000000000000E");
	X509 *child;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();

	(void)state;
	s2.pubkey = other_key;
	s2.name = "mallory";
	child = x509_build(&s2, user_key, user, NULL, 0);
	assert_non_null(child);
	X509_STORE_add_cert(store, ca_cert);
	sk_X509_push(chain, user);
	X509_STORE_CTX_init(ctx, store, child, chain);
	assert_int_equal(X509_verify_cert(ctx), 0);
	sk_X509_free(chain);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(child);
	X509_free(user);
}

static void x509_build_puts_dns_and_ip_sans_in_server_certificates(void **state)
{
	struct cert_spec s = {0};
	X509 *c;
	char err[256] = "";
	GENERAL_NAMES *san;

	(void)state;
	s.pubkey = user_key;
	s.serial_hex = "4000000000000000000000000000000F";
	s.overlay = OVERLAY;
	s.role = "server";
	s.name = "logind." OVERLAY;
	s.dns[0] = "logind." OVERLAY;
	s.dns[1] = "localhost";
	s.ndns = 2;
	s.ips[0] = "192.0.2.10";
	s.ips[1] = "2001:db8::10";
	s.nips = 2;
	s.not_before = now - CLOCK_SKEW;
	s.not_after = now + 3600;
	c = x509_build(&s, ca_key, ca_cert, err, sizeof(err));
	if (c == NULL)
		fail_msg("x509_build server: %s", err);
	san = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(san), 4);
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(c, "logind." OVERLAY, 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(c, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(c, "evil.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(c, "192.0.2.10", 0), 1);
	assert_int_equal(X509_check_ip_asc(c, "2001:db8::10", 0), 1);
	assert_int_equal(X509_check_ip_asc(c, "192.0.2.11", 0), 0);
	assert_true(chains_to(c, ca_cert));
	X509_free(c);
}

static void x509_build_keeps_hostile_names_inside_their_fields(void **state)
{
	struct cert_spec s = user_spec("40000000000000000000000000000010");
	X509 *c;
	GENERAL_NAMES *san;
	X509_NAME *subj;

	(void)state;
	/* Text that would add names if it were spliced into a config string. */
	s.san_uri = "sip:x@" OVERLAY ",DNS:evil.example,IP:10.0.0.1";
	s.name = "x/OU=supernode/CN=root, O=evil";
	c = x509_build(&s, ca_key, ca_cert, NULL, 0);
	assert_non_null(c);
	san = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_URI);
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(c, "evil.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(c, "10.0.0.1", 0), 0);
	subj = X509_get_subject_name(c);
	assert_int_equal(X509_NAME_entry_count(subj), 3);
	expect_name_entry(subj, 1, NID_organizationalUnitName, "user");
	expect_name_entry(subj, 2, NID_commonName, "x/OU=supernode/CN=root, O=evil");
	X509_free(c);
}

static void x509_build_refuses_a_bad_serial_or_ip(void **state)
{
	struct cert_spec s = user_spec("not hex");
	char err[256] = "";

	(void)state;
	assert_null(x509_build(&s, ca_key, ca_cert, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	s = user_spec("40000000000000000000000000000011");
	s.ips[0] = "300.1.1.1";
	s.nips = 1;
	err[0] = '\0';
	assert_null(x509_build(&s, ca_key, ca_cert, err, sizeof(err)));
	assert_true(strlen(err) > 0);
}

static void x509_build_signs_with_an_ed25519_ca(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *edca = build_ca(ed, "40000000000000000000000000000012");
	struct cert_spec s = user_spec("40000000000000000000000000000013");
	X509 *c = x509_build(&s, ed, edca, NULL, 0);

	(void)state;
	assert_non_null(c);
	assert_true(chains_to(c, edca));
	X509_free(c);
	X509_free(edca);
	EVP_PKEY_free(ed);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void x509_serial_new_gives_1000_distinct_positive_32_digit_serials(void **state)
{
	enum {
		N = 1000
	};
	char(*serials)[SERIAL_HEX_LEN + 1] = calloc(N, sizeof(*serials));
	char **sorted = calloc(N, sizeof(*sorted));
	char norm[SERIAL_HEX_LEN + 8];

	(void)state;
	for (int i = 0; i < N; i++) {
		char *s = serials[i];
		assert_int_equal(x509_serial_new(s), 0);
		assert_int_equal(strlen(s), SERIAL_HEX_LEN);
		assert_int_equal(strspn(s, "0123456789ABCDEF"), SERIAL_HEX_LEN);
		/* Top bit clear (positive) and no leading zero byte. */
		assert_true(s[0] >= '4' && s[0] <= '7');
		/* Already in the form the database uses. */
		assert_int_equal(serial_normalize(s, norm, sizeof(norm)), 0);
		assert_string_equal(norm, s);
		sorted[i] = s;
	}
	qsort(sorted, N, sizeof(*sorted), cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(sorted[i - 1], sorted[i]);
	free(sorted);
	free(serials);
}

static void x509_serial_new_round_trips_through_a_certificate(void **state)
{
	char serial[SERIAL_HEX_LEN + 1];
	struct cert_spec s;
	X509 *c;
	char *got;

	(void)state;
	assert_int_equal(x509_serial_new(serial), 0);
	s = user_spec(serial);
	c = x509_build(&s, ca_key, ca_cert, NULL, 0);
	assert_non_null(c);
	got = serial_of(c);
	assert_string_equal(got, serial);
	free(got);
	X509_free(c);
}

static void norm_ok(const char *in, const char *want)
{
	char out[SERIAL_HEX_LEN + 8];

	if (serial_normalize(in, out, sizeof(out)) != 0)
		fail_msg("serial_normalize(\"%s\") refused", in);
	assert_string_equal(out, want);
}

static void norm_bad(const char *in)
{
	char out[SERIAL_HEX_LEN + 8];

	if (serial_normalize(in, out, sizeof(out)) == 0)
		fail_msg("serial_normalize(\"%s\") accepted as \"%s\"", in, out);
}

static void serial_normalize_accepts_any_case_and_colons(void **state)
{
	(void)state;
	norm_ok("aa:BB:0c", "AABB0C");
	norm_ok("AABB0C", "AABB0C");
	norm_ok("aabb0c", "AABB0C");
	norm_ok("2a", "2A");
	norm_ok("00:2A", "2A");
	norm_ok("0000002a", "2A");
	norm_ok(":2a:", "2A");
	norm_ok("4123456789abcdef0123456789abcdef", "4123456789ABCDEF0123456789ABCDEF");
	/* Every spelling of one number gives one form, whatever the parity. */
	{
		char a[SERIAL_HEX_LEN + 8], b[SERIAL_HEX_LEN + 8], c[SERIAL_HEX_LEN + 8];
		assert_int_equal(serial_normalize("abc", a, sizeof(a)), 0);
		assert_int_equal(serial_normalize("0ABC", b, sizeof(b)), 0);
		assert_int_equal(serial_normalize("00:0a:bc", c, sizeof(c)), 0);
		assert_string_equal(a, b);
		assert_string_equal(a, c);
		norm_ok(a, a);
	}
}

static void serial_normalize_refuses_what_is_not_hex(void **state)
{
	char out[4];

	(void)state;
	norm_bad("");
	norm_bad(":");
	norm_bad("::::");
	norm_bad("xyz");
	norm_bad("0x2a");
	norm_bad("-2a");
	norm_bad("+2a");
	norm_bad("2a 2b");
	norm_bad(" 2a");
	norm_bad("2a\n");
	norm_bad("2g");
	norm_bad("2a'--");
	/* More digits than any serial (40 is the cap). */
	norm_bad("0102030405060708090A0B0C0D0E0F1011121314F");
	/* The output buffer is honoured. */
	assert_int_equal(serial_normalize("AABBCC", out, sizeof(out)), -1);
	assert_int_equal(serial_normalize("AB", out, sizeof(out)), 0);
	assert_string_equal(out, "AB");
}

static const ASN1_INTEGER *hex_int(const char *hex, ASN1_INTEGER **keep)
{
	BIGNUM *bn = NULL;

	BN_hex2bn(&bn, hex);
	*keep = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *keep;
}

static int entry_reason(X509_REVOKED *rev)
{
	ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	int r;

	if (e == NULL)
		return -1;
	r = (int)ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return r;
}

static void x509_build_crl_lists_entries_with_reasons_and_number(void **state)
{
	struct crl_entry e[3] = {
		{"4000000000000000000000000000AAAA", now - 100, 1},
		{"2A", now - 50, 0},
		{"4000000000000000000000000000BBBB", now - 10, 5},
	};
	char err[256] = "";
	X509_CRL *crl = x509_build_crl(ca_key, ca_cert, 42, now - CLOCK_SKEW, now + 86400, e, 3,
				       err, sizeof(err));
	ASN1_INTEGER *num, *ai;
	X509_REVOKED *rev;

	(void)state;
	if (crl == NULL)
		fail_msg("x509_build_crl: %s", err);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_int_equal(X509_CRL_verify(crl, other_key), 0);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca_cert)),
			 0);
	expect_time(X509_CRL_get0_lastUpdate(crl), now - CLOCK_SKEW);
	expect_time(X509_CRL_get0_nextUpdate(crl), now + 86400);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	for (int i = 0; i < 3; i++) {
		rev = NULL;
		assert_int_equal(X509_CRL_get0_by_serial(crl, &rev,
							 (ASN1_INTEGER *)hex_int(e[i].serial, &ai)),
				 1);
		ASN1_INTEGER_free(ai);
		expect_time(X509_REVOKED_get0_revocationDate(rev), e[i].revoked);
		/* "unspecified" is left out, as RFC 5280 asks. */
		assert_int_equal(entry_reason(rev), e[i].reason == 0 ? -1 : e[i].reason);
	}
	rev = NULL;
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, (ASN1_INTEGER *)hex_int("2B", &ai)), 0);
	ASN1_INTEGER_free(ai);
	X509_CRL_free(crl);
}

static void x509_build_crl_is_accepted_by_crl_parse_and_a_store(void **state)
{
	struct crl_entry e = {"40000000000000000000000000000011", now - 5, 1};
	struct cert_spec s = user_spec("40000000000000000000000000000011");
	X509 *c = x509_build(&s, ca_key, ca_cert, NULL, 0);
	X509_CRL *x =
		x509_build_crl(ca_key, ca_cert, 7, now - CLOCK_SKEW, now + 600, &e, 1, NULL, 0);
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(x, &der);
	char err[256] = "";
	struct crl *parsed = crl_parse(der, (size_t)len, ca_cert, err, sizeof(err));
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	(void)state;
	if (parsed == NULL)
		fail_msg("crl_parse: %s", err);
	assert_int_equal(parsed->number, 7);
	assert_int_equal(parsed->count, 1);
	assert_true(crl_is_revoked_hex(parsed, "40000000000000000000000000000011"));
	assert_false(crl_is_revoked_hex(parsed, "40000000000000000000000000000012"));
	/* A verifier checking CRLs refuses the revoked certificate. */
	X509_STORE_add_cert(store, ca_cert);
	X509_STORE_add_crl(store, x);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	X509_STORE_CTX_init(ctx, store, c, NULL);
	assert_int_equal(X509_verify_cert(ctx), 0);
	assert_int_equal(X509_STORE_CTX_get_error(ctx), X509_V_ERR_CERT_REVOKED);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	crl_free(parsed);
	OPENSSL_free(der);
	X509_CRL_free(x);
	X509_free(c);
}

static void x509_build_crl_makes_an_empty_list_and_refuses_bad_serials(void **state)
{
	struct crl_entry bad = {"zz", now, 1};
	char err[256] = "";
	X509_CRL *crl =
		x509_build_crl(ca_key, ca_cert, 1, now, now + 60, NULL, 0, err, sizeof(err));

	(void)state;
	assert_non_null(crl);
	/* OpenSSL keeps no list at all (num -1) for a CRL without entries. */
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	X509_CRL_free(crl);
	assert_null(x509_build_crl(ca_key, ca_cert, 2, now, now + 60, &bad, 1, err, sizeof(err)));
	assert_true(strlen(err) > 0);
}

static void crl_reason_parse_and_name_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i <= 6; i++) {
		const char *n = crl_reason_name(i);
		assert_non_null(n);
		assert_int_equal(crl_reason_parse(n), i);
	}
	assert_string_equal(crl_reason_name(1), "keyCompromise");
	assert_string_equal(crl_reason_name(5), "cessationOfOperation");
	assert_int_equal(crl_reason_parse("KEYCOMPROMISE"), 1);
	assert_int_equal(crl_reason_parse("superseded"), 4);
	assert_int_equal(crl_reason_parse(""), -1);
	assert_int_equal(crl_reason_parse("bogus"), -1);
	assert_int_equal(crl_reason_parse("keyCompromise "), -1);
	assert_int_equal(crl_reason_parse("1"), -1);
	/* Out-of-range numbers still name something printable. */
	assert_non_null(crl_reason_name(-1));
	assert_non_null(crl_reason_name(99));
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void dns_name_is_valid_accepts_ordinary_names(void **state)
{
	char *l63 = repeat('a', 63);
	char name[300];

	(void)state;
	assert_true(dns_name_is_valid("a"));
	assert_true(dns_name_is_valid("localhost"));
	assert_true(dns_name_is_valid("logind.overlay.example"));
	assert_true(dns_name_is_valid("Logind.Overlay.Example"));
	assert_true(dns_name_is_valid("xn--bcher-kva.example"));
	assert_true(dns_name_is_valid("a-b.c-d.example"));
	assert_true(dns_name_is_valid("1.2.3.4"));
	assert_true(dns_name_is_valid(l63));
	snprintf(name, sizeof(name), "%s.example", l63);
	assert_true(dns_name_is_valid(name));
	/* 253 characters: 63.63.63.61. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	assert_int_equal(strlen(name), 253);
	assert_true(dns_name_is_valid(name));
	free(l63);
}

static void dns_name_is_valid_refuses_malformed_names(void **state)
{
	char *l63 = repeat('a', 63);
	char *l64 = repeat('a', 64);
	char name[300];

	(void)state;
	assert_false(dns_name_is_valid(""));
	assert_false(dns_name_is_valid(l64));
	snprintf(name, sizeof(name), "%s.example", l64);
	assert_false(dns_name_is_valid(name));
	snprintf(name, sizeof(name), "www.%s", l64);
	assert_false(dns_name_is_valid(name));
	/* 254 characters. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", l63, l63, l63, l63);
	assert_int_equal(strlen(name), 254);
	assert_false(dns_name_is_valid(name));
	assert_false(dns_name_is_valid("-a.example"));
	assert_false(dns_name_is_valid("a.-b.example"));
	assert_false(dns_name_is_valid("a-.example"));
	assert_false(dns_name_is_valid("a..example"));
	assert_false(dns_name_is_valid(".example"));
	assert_false(dns_name_is_valid("."));
	assert_false(dns_name_is_valid("example.com."));
	assert_false(dns_name_is_valid("_sip._tcp.example"));
	assert_false(dns_name_is_valid("a_b.example"));
	assert_false(dns_name_is_valid("*.example"));
	assert_false(dns_name_is_valid("a b.example"));
	assert_false(dns_name_is_valid("a,b.example"));
	assert_false(dns_name_is_valid("a\n.example"));
	assert_false(dns_name_is_valid("b\xc3\xbc"
				       "cher.example"));
	assert_false(dns_name_is_valid("example.com:443"));
	free(l63);
	free(l64);
}

static void dns_name_is_valid_refuses_a_hyphen_ending_the_last_label(void **state)
{
	(void)state;
	/* Regression (fixed): dns_name_is_valid (logind/logind_x509.c:319-336) refuses a
	 * hyphen before each '.' (line 324) but never checks the last
	 * character, so a last label ending in '-' ("example-", "a.example-")
	 * is accepted into server certificates, against RFC 1123 and the
	 * function's own rule for inner labels. */
	assert_false(dns_name_is_valid("example-"));
	assert_false(dns_name_is_valid("a.example-"));
	assert_false(dns_name_is_valid("-"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(x509_build_makes_a_self_signed_ca),
		cmocka_unit_test(x509_build_makes_a_user_certificate_that_chains_to_the_ca),
		cmocka_unit_test(a_user_certificate_does_not_chain_to_another_ca),
		cmocka_unit_test(a_user_certificate_cannot_sign_certificates),
		cmocka_unit_test(x509_build_puts_dns_and_ip_sans_in_server_certificates),
		cmocka_unit_test(x509_build_keeps_hostile_names_inside_their_fields),
		cmocka_unit_test(x509_build_refuses_a_bad_serial_or_ip),
		cmocka_unit_test(x509_build_signs_with_an_ed25519_ca),
		cmocka_unit_test(x509_serial_new_gives_1000_distinct_positive_32_digit_serials),
		cmocka_unit_test(x509_serial_new_round_trips_through_a_certificate),
		cmocka_unit_test(serial_normalize_accepts_any_case_and_colons),
		cmocka_unit_test(serial_normalize_refuses_what_is_not_hex),
		cmocka_unit_test(x509_build_crl_lists_entries_with_reasons_and_number),
		cmocka_unit_test(x509_build_crl_is_accepted_by_crl_parse_and_a_store),
		cmocka_unit_test(x509_build_crl_makes_an_empty_list_and_refuses_bad_serials),
		cmocka_unit_test(crl_reason_parse_and_name_round_trip),
		cmocka_unit_test(dns_name_is_valid_accepts_ordinary_names),
		cmocka_unit_test(dns_name_is_valid_refuses_malformed_names),
		cmocka_unit_test(dns_name_is_valid_refuses_a_hyphen_ending_the_last_label),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
