/* Unit tests of common/record.c: stored values of the overlay. Name and
 * kind validation, signing and verification (every signed field and the
 * signature itself tampered with, a signature moved to another owner's
 * certificate), the JSON wire form both ways and hostile variants of it,
 * the access rules for user:, service: and proxy: names against
 * certificates of the test PKI, the proxy domain validator, and expiry boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "identity.h"
#include "record.h"
#include "testutil.h"
#include "util.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OVERLAY "overlay.example"
#define ALICE_NAME "user:alice@overlay.example"

struct fx {
	struct tu_ca ca;
	EVP_PKEY *alice_key, *bob_key, *sn_key, *gw_key;
	X509 *alice, *bob, *sn, *server, *alice_elsewhere, *no_role, *gw;
};

/* A copy of cert with O= replaced by overlay, signed again by ca. */
static X509 *with_overlay(struct tu_ca *ca, X509 *cert, const char *overlay)
{
	X509 *c = X509_dup(cert);
	X509_NAME *n = X509_get_subject_name(c);
	int idx = X509_NAME_get_index_by_NID(n, NID_organizationName, -1);

	X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, idx));
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)overlay, -1, 0,
				   0);
	if (X509_sign(c, ca->key, EVP_sha256()) <= 0) {
		X509_free(c);
		return NULL;
	}
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int64_t now = (int64_t)time(NULL);

	if (f == NULL || tu_ca_new(&f->ca) < 0)
		return -1;
	*state = f;
	f->alice_key = EVP_EC_gen("P-256");
	f->bob_key = EVP_EC_gen("P-256");
	f->sn_key = EVP_EC_gen("P-256");
	f->gw_key = EVP_EC_gen("P-256");
	f->gw = tu_issue(&f->ca, f->gw_key, "gateway", "gw1", now - 60, now + 3600, 15);
	f->alice = tu_issue(&f->ca, f->alice_key, "user", "alice", now - 60, now + 3600, 10);
	f->bob = tu_issue(&f->ca, f->bob_key, "user", "bob", now - 60, now + 3600, 11);
	f->sn = tu_issue(&f->ca, f->sn_key, "supernode", "sn1", now - 60, now + 3600, 12);
	f->server = tu_issue(&f->ca, f->sn_key, "server", "localhost", now - 60, now + 3600, 13);
	f->no_role = tu_issue(&f->ca, f->alice_key, NULL, "alice", now - 60, now + 3600, 14);
	if (f->alice == NULL || f->bob == NULL || f->sn == NULL || f->server == NULL ||
	    f->no_role == NULL || f->gw == NULL)
		return -1;
	f->alice_elsewhere = with_overlay(&f->ca, f->alice, "other.example");
	return f->alice_elsewhere != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->alice);
	X509_free(f->bob);
	X509_free(f->sn);
	X509_free(f->server);
	X509_free(f->no_role);
	X509_free(f->gw);
	EVP_PKEY_free(f->gw_key);
	X509_free(f->alice_elsewhere);
	EVP_PKEY_free(f->alice_key);
	EVP_PKEY_free(f->bob_key);
	EVP_PKEY_free(f->sn_key);
	tu_ca_free(&f->ca);
	free(f);
	return 0;
}

static void make(struct record *r, const char *name, const char *data, EVP_PKEY *key, X509 *cert)
{
	assert_int_equal(record_init(r, name, "sip", data, 1700000000000ull, 3600, 0), 0);
	assert_int_equal(record_sign(r, key, cert), 0);
}

static json_t *alice_json(struct fx *f)
{
	struct record r;
	json_t *j;

	make(&r, ALICE_NAME, "{\"contact\":\"sip:alice@192.0.2.1\"}", f->alice_key, f->alice);
	j = record_to_json(&r);
	assert_non_null(j);
	record_clear(&r);
	return j;
}

static char *cert_b64(X509 *cert)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	char *b64;

	assert_true(n > 0);
	b64 = b64_encode(der, (size_t)n);
	OPENSSL_free(der);
	return b64;
}

/* ---- record_init ---- */

static void test_init_fills_fields_and_resource_id(void **state)
{
	struct record r;
	struct rid want;

	(void)state;
	assert_int_equal(record_init(&r, ALICE_NAME, "sip", "payload", 123456789ull, 60, 0), 0);
	assert_string_equal(r.name, ALICE_NAME);
	assert_string_equal(r.kind, "sip");
	assert_string_equal(r.data, "payload");
	assert_int_equal(r.data_len, 7);
	assert_int_equal(r.stored, 123456789ull);
	assert_int_equal(r.life, 60);
	assert_int_equal(r.deleted, 0);
	assert_null(r.cert);
	rid_of_name(ALICE_NAME, &want);
	assert_true(rid_eq(&r.res, &want));
	record_clear(&r);
	assert_null(r.data);
	record_clear(&r); /* twice is harmless */
}

static void test_init_refuses_bad_names(void **state)
{
	char longest[RECORD_NAME_MAX + 2];
	const char *bad[] = {"",
			     "user:alice @overlay.example",
			     " user:alice@overlay.example",
			     "user:alice\t@overlay.example",
			     "user:alice@overlay.example\n",
			     "user:alice\x7f@overlay.example",
			     "user:al\xc3\xa9@overlay.example",
			     "user:alice\x01"};
	struct record r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (record_init(&r, bad[i], "sip", "x", 1, 1, 0) != -1)
			fail_msg("record_init accepted name '%s'", bad[i]);
		assert_null(r.data);
	}
	memset(longest, 'a', sizeof(longest));
	longest[RECORD_NAME_MAX] = '\0';
	assert_int_equal(record_init(&r, longest, "sip", "x", 1, 1, 0), 0);
	assert_int_equal(strlen(r.name), RECORD_NAME_MAX);
	record_clear(&r);
	longest[RECORD_NAME_MAX] = 'a';
	longest[RECORD_NAME_MAX + 1] = '\0';
	assert_int_equal(record_init(&r, longest, "sip", "x", 1, 1, 0), -1);
	/* Every printable ASCII character but space is allowed. */
	assert_int_equal(record_init(&r, "!~\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", "sip", "x", 1, 1, 0),
			 0);
	record_clear(&r);
}

static void test_init_checks_the_kind_charset_and_length(void **state)
{
	char kind[RECORD_KIND_MAX + 2];
	const char *bad[] = {"", "SIP", "sip reg", "sip/reg", "sip:reg", "s\xc3\xa9", "sip\n",
			     "Sip"};
	struct record r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (record_init(&r, "service:relay", bad[i], "x", 1, 1, 0) != -1)
			fail_msg("record_init accepted kind '%s'", bad[i]);
	}
	assert_int_equal(record_init(&r, "service:relay", "sip-reg_1.0", "x", 1, 1, 0), 0);
	record_clear(&r);
	memset(kind, 'k', sizeof(kind));
	kind[RECORD_KIND_MAX] = '\0';
	assert_int_equal(record_init(&r, "service:relay", kind, "x", 1, 1, 0), 0);
	record_clear(&r);
	kind[RECORD_KIND_MAX] = 'k';
	kind[RECORD_KIND_MAX + 1] = '\0';
	assert_int_equal(record_init(&r, "service:relay", kind, "x", 1, 1, 0), -1);
}

/* ---- signatures ---- */

static void test_signed_record_verifies_and_names_its_owner(void **state)
{
	struct fx *f = *state;
	uint8_t nid[NODE_ID_LEN];
	struct record r;

	make(&r, ALICE_NAME, "hello", f->alice_key, f->alice);
	assert_true(record_sig_ok(&r));
	assert_int_equal(node_id_from_cert(f->alice, nid), 0);
	assert_memory_equal(r.owner.b, nid, RID_LEN);
	assert_ptr_equal(r.cert, f->alice);
	assert_true(r.sig_len > 0 && r.sig_len <= SIG_MAX);
	/* Signing again (a refresh) replaces the certificate reference. */
	assert_int_equal(record_sign(&r, f->alice_key, f->alice), 0);
	assert_true(record_sig_ok(&r));
	record_clear(&r);
}

static void test_unsigned_record_does_not_verify(void **state)
{
	struct record r;

	(void)state;
	assert_int_equal(record_init(&r, ALICE_NAME, "sip", "x", 1, 1, 0), 0);
	assert_false(record_sig_ok(&r));
	record_clear(&r);
}

static void test_key_that_does_not_match_the_certificate_fails(void **state)
{
	struct fx *f = *state;
	struct record r;

	make(&r, ALICE_NAME, "hello", f->bob_key, f->alice);
	assert_false(record_sig_ok(&r));
	record_clear(&r);
}

static void test_changing_any_signed_field_breaks_the_signature(void **state)
{
	struct fx *f = *state;
	struct record r;
	char saved[RECORD_NAME_MAX + 1];

	make(&r, ALICE_NAME, "hello world", f->alice_key, f->alice);
	assert_true(record_sig_ok(&r));

	memcpy(saved, r.name, sizeof(saved));
	r.name[5] = 'A';
	assert_false(record_sig_ok(&r));
	memcpy(r.name, saved, sizeof(saved));
	strcat(r.name, "/x");
	assert_false(record_sig_ok(&r));
	memcpy(r.name, saved, sizeof(saved));
	assert_true(record_sig_ok(&r));

	r.kind[0] = 't';
	assert_false(record_sig_ok(&r));
	r.kind[0] = 's';

	r.data[0] = 'H';
	assert_false(record_sig_ok(&r));
	r.data[0] = 'h';
	r.data_len--;
	assert_false(record_sig_ok(&r));
	r.data_len++;
	assert_true(record_sig_ok(&r));

	r.stored++;
	assert_false(record_sig_ok(&r));
	r.stored--;
	r.stored ^= 1ull << 63;
	assert_false(record_sig_ok(&r));
	r.stored ^= 1ull << 63;

	r.life++;
	assert_false(record_sig_ok(&r));
	r.life--;

	r.deleted = 1;
	assert_false(record_sig_ok(&r));
	r.deleted = 0;

	r.owner.b[0] ^= 1;
	assert_false(record_sig_ok(&r));
	r.owner.b[0] ^= 1;
	assert_true(record_sig_ok(&r));

	for (size_t i = 0; i < r.sig_len; i += 7) {
		r.sig[i] ^= 0x01;
		assert_false(record_sig_ok(&r));
		r.sig[i] ^= 0x01;
	}
	r.sig_len--;
	assert_false(record_sig_ok(&r));
	r.sig_len++;
	r.sig_len = 0;
	assert_false(record_sig_ok(&r));
	record_clear(&r);
}

static void test_deleted_flag_is_signed_as_a_boolean(void **state)
{
	struct fx *f = *state;
	struct record r;

	assert_int_equal(record_init(&r, ALICE_NAME, "sip", "", 5, 5, 1), 0);
	assert_int_equal(record_sign(&r, f->alice_key, f->alice), 0);
	assert_true(record_sig_ok(&r));
	r.deleted = 0;
	assert_false(record_sig_ok(&r));
	record_clear(&r);
}

static void test_signature_moved_to_another_certificate_fails(void **state)
{
	struct fx *f = *state;
	struct record r, moved;
	uint8_t nid[NODE_ID_LEN];

	make(&r, ALICE_NAME, "hello", f->alice_key, f->alice);
	assert_int_equal(record_copy(&moved, &r), 0);
	X509_free(moved.cert);
	assert_int_equal(X509_up_ref(f->bob), 1);
	moved.cert = f->bob;
	assert_int_equal(node_id_from_cert(f->bob, nid), 0);
	rid_from_bytes(nid, &moved.owner);
	assert_false(record_sig_ok(&moved));
	/* Bob's certificate but Alice's Node-ID as the key: still wrong. */
	moved.owner = r.owner;
	assert_false(record_sig_ok(&moved));
	record_clear(&moved);

	/* The same on the wire: swap the "cert" field. */
	json_t *j = record_to_json(&r);
	char *b64 = cert_b64(f->bob);
	char err[256] = "";
	json_object_set_new(j, "cert", json_string(b64));
	assert_int_equal(record_from_json(j, &moved, err, sizeof(err)), 0);
	assert_memory_equal(moved.owner.b, nid, RID_LEN);
	assert_false(record_sig_ok(&moved));
	record_clear(&moved);
	free(b64);
	json_decref(j);
	record_clear(&r);
}

static void test_copy_is_deep_and_shares_the_certificate(void **state)
{
	struct fx *f = *state;
	struct record r, c;

	make(&r, ALICE_NAME, "hello", f->alice_key, f->alice);
	assert_int_equal(record_copy(&c, &r), 0);
	assert_ptr_not_equal(c.data, r.data);
	assert_ptr_equal(c.cert, r.cert);
	record_clear(&r);
	/* The copy keeps its own reference to the certificate. */
	assert_true(record_sig_ok(&c));
	assert_string_equal(c.data, "hello");
	record_clear(&c);
}

/* ---- wire form ---- */

static void assert_same_record(const struct record *a, const struct record *b)
{
	assert_string_equal(a->name, b->name);
	assert_true(rid_eq(&a->res, &b->res));
	assert_string_equal(a->kind, b->kind);
	assert_int_equal(a->data_len, b->data_len);
	assert_memory_equal(a->data, b->data, a->data_len + 1);
	assert_int_equal(a->stored, b->stored);
	assert_int_equal(a->life, b->life);
	assert_int_equal(a->deleted != 0, b->deleted != 0);
	assert_true(rid_eq(&a->owner, &b->owner));
	assert_non_null(b->cert);
	assert_int_equal(X509_cmp(a->cert, b->cert), 0);
	assert_int_equal(a->sig_len, b->sig_len);
	assert_memory_equal(a->sig, b->sig, a->sig_len);
}

static void test_json_round_trip_keeps_every_field_and_verifies(void **state)
{
	struct fx *f = *state;
	struct record r, back;
	char err[256] = "";
	json_t *j;
	char *text;

	assert_int_equal(record_init(&r, "user:alice@overlay.example/phone", "sip-reg",
				     "caf\xc3\xa9 \"quoted\" \\ \x01", 1700000000123ull, UINT32_MAX,
				     0),
			 0);
	assert_int_equal(record_sign(&r, f->alice_key, f->alice), 0);
	j = record_to_json(&r);
	assert_non_null(j);
	assert_null(json_object_get(j, "del"));
	assert_int_equal(json_integer_value(json_object_get(j, "stored")), 1700000000123ll);
	assert_int_equal(json_integer_value(json_object_get(j, "life")), (json_int_t)UINT32_MAX);

	assert_int_equal(record_from_json(j, &back, err, sizeof(err)), 0);
	assert_same_record(&r, &back);
	assert_true(record_sig_ok(&back));
	record_clear(&back);

	/* Through text as well, as it travels. */
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_int_equal(record_from_json(j, &back, err, sizeof(err)), 0);
	assert_same_record(&r, &back);
	assert_true(record_sig_ok(&back));
	record_clear(&back);
	free(text);
	json_decref(j);
	record_clear(&r);
}

static void test_deletion_with_empty_data_round_trips(void **state)
{
	struct fx *f = *state;
	struct record r, back;
	char err[256] = "";
	json_t *j;

	assert_int_equal(record_init(&r, ALICE_NAME, "sip", "", 1700000000000ull, 0, 1), 0);
	assert_int_equal(record_sign(&r, f->alice_key, f->alice), 0);
	j = record_to_json(&r);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "del")));
	assert_string_equal(json_string_value(json_object_get(j, "data")), "");
	assert_int_equal(record_from_json(j, &back, err, sizeof(err)), 0);
	assert_true(back.deleted);
	assert_int_equal(back.data_len, 0);
	assert_string_equal(back.data, "");
	assert_true(record_sig_ok(&back));
	record_clear(&back);

	/* "del": false is the same as no "del". */
	json_object_set_new(j, "del", json_false());
	assert_int_equal(record_from_json(j, &back, err, sizeof(err)), 0);
	assert_false(back.deleted);
	assert_false(record_sig_ok(&back));
	record_clear(&back);
	json_decref(j);
	record_clear(&r);
}

static void expect_refused(json_t *j, const char *want)
{
	struct record r;
	char err[256] = "";

	memset(&r, 0x5A, sizeof(r));
	if (record_from_json(j, &r, err, sizeof(err)) != -1) {
		char *s = json_dumps(j, JSON_COMPACT);
		fail_msg("record_from_json accepted %.200s", s);
	}
	assert_contains(err, want);
	/* Nothing is left to free. */
	assert_null(r.data);
	assert_null(r.cert);
	json_decref(j);
}

static void expect_accepted(json_t *j)
{
	struct record r;
	char err[256] = "";

	if (record_from_json(j, &r, err, sizeof(err)) != 0)
		fail_msg("record_from_json refused: %s", err);
	record_clear(&r);
	json_decref(j);
}

/* The valid wire form with one field set to v (NULL: removed). */
static json_t *with(struct fx *f, const char *key, json_t *v)
{
	json_t *j = alice_json(f);

	if (v == NULL)
		json_object_del(j, key);
	else
		json_object_set_new(j, key, v);
	return j;
}

static void test_from_json_refuses_unknown_and_missing_fields(void **state)
{
	struct fx *f = *state;
	const char *required[] = {"name", "kind", "data", "stored", "life", "cert", "sig"};
	json_t *arr = json_array();

	expect_refused(with(f, "extra", json_integer(1)), "unknown field 'extra'");
	expect_refused(with(f, "Name", json_string("x")), "unknown field");
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		expect_refused(with(f, required[i], NULL), required[i]);
		/* null counts as missing */
		expect_refused(with(f, required[i], json_null()), required[i]);
	}
	expect_refused(arr, "expected an object");
	expect_refused(json_string("x"), "expected an object");
	/* "del" is optional. */
	expect_accepted(with(f, "del", NULL));
}

static void test_from_json_refuses_wrong_types(void **state)
{
	struct fx *f = *state;

	expect_refused(with(f, "name", json_integer(5)), "name: expected a string");
	expect_refused(with(f, "kind", json_true()), "kind: expected a string");
	expect_refused(with(f, "data", json_integer(5)), "data:");
	expect_refused(with(f, "data", json_pack("{s:s}", "a", "b")), "data:");
	expect_refused(with(f, "stored", json_string("1700000000000")), "stored: expected an integer");
	expect_refused(with(f, "stored", json_real(1.0)), "stored: expected an integer");
	expect_refused(with(f, "life", json_real(1.5)), "life: expected an integer");
	expect_refused(with(f, "del", json_string("yes")), "del: expected true or false");
	expect_refused(with(f, "del", json_integer(1)), "del: expected true or false");
	expect_refused(with(f, "cert", json_integer(1)), "cert: expected a string");
	expect_refused(with(f, "sig", json_array()), "sig: expected a string");
}

static void test_from_json_refuses_bad_strings(void **state)
{
	struct fx *f = *state;
	char name[RECORD_NAME_MAX + 2];

	/* jansson refuses \u0000 in text; an object built in memory can hold it. */
	expect_refused(with(f, "data", json_stringn("a\0b", 3)), "NUL");
	expect_refused(with(f, "name", json_stringn("user:a\0b", 8)), "name");
	expect_refused(with(f, "kind", json_stringn("s\0p", 3)), "kind");
	expect_refused(with(f, "name", json_string("")), "name");
	expect_refused(with(f, "kind", json_string("")), "kind");
	expect_refused(with(f, "name", json_string("user:alice @overlay.example")), "name");
	expect_refused(with(f, "kind", json_string("SIP")), "kind");
	memset(name, 'n', sizeof(name));
	name[RECORD_NAME_MAX + 1] = '\0';
	expect_refused(with(f, "name", json_string(name)), "name");
	name[RECORD_NAME_MAX] = '\0';
	expect_accepted(with(f, "name", json_string(name)));
}

static void test_from_json_checks_integer_ranges(void **state)
{
	struct fx *f = *state;

	expect_refused(with(f, "life", json_integer((json_int_t)UINT32_MAX + 1)), "life");
	expect_refused(with(f, "life", json_integer(-1)), "life");
	expect_accepted(with(f, "life", json_integer((json_int_t)UINT32_MAX)));
	expect_accepted(with(f, "life", json_integer(0)));
	expect_refused(with(f, "stored", json_integer(-1)), "stored");
	expect_refused(with(f, "stored", json_integer(INT64_MIN)), "stored");
	expect_refused(with(f, "stored", json_integer(INT64_MAX)), "stored");
	expect_accepted(with(f, "stored", json_integer(0)));
}

static void test_from_json_limits_the_data_size(void **state)
{
	struct fx *f = *state;
	char *big = malloc(RECORD_DATA_HARD_MAX + 2);

	memset(big, 'd', RECORD_DATA_HARD_MAX + 1);
	big[RECORD_DATA_HARD_MAX + 1] = '\0';
	expect_refused(with(f, "data", json_string(big)), "data");
	big[RECORD_DATA_HARD_MAX] = '\0';
	expect_accepted(with(f, "data", json_string(big)));
	expect_accepted(with(f, "data", json_string("")));
	free(big);
}

/* A certificate of the test PKI whose DER is exactly der_len bytes long,
 * padded with a comment extension. */
static X509 *cert_of_size(struct fx *f, int der_len)
{
	int64_t now = (int64_t)time(NULL);
	int pad = der_len - 600;

	for (int tries = 0; tries < 200 && pad > 0; tries++) {
		X509 *c = tu_issue(&f->ca, f->alice_key, "user", "alice", now - 60, now + 3600, 20);
		char *text = malloc((size_t)pad + 1);
		X509_EXTENSION *ext;
		int n;

		memset(text, 'p', (size_t)pad);
		text[pad] = '\0';
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, text);
		free(text);
		assert_non_null(ext);
		X509_add_ext(c, ext, -1);
		X509_EXTENSION_free(ext);
		assert_true(X509_sign(c, f->ca.key, EVP_sha256()) > 0);
		n = i2d_X509(c, NULL);
		if (n == der_len)
			return c;
		X509_free(c);
		/* ECDSA signatures vary by a byte or two: aim again. */
		pad += der_len - n > 0 ? (der_len - n + 1) / 2 : (der_len - n - 1) / 2;
		if (der_len - n == 1 || der_len - n == -1)
			pad += der_len - n;
	}
	fail_msg("could not make a certificate of %d bytes", der_len);
	return NULL;
}

static void test_from_json_refuses_bad_certificates(void **state)
{
	struct fx *f = *state;
	unsigned char *der = NULL;
	int n = i2d_X509(f->alice, &der);
	uint8_t *junk = malloc((size_t)n + 1);
	char *b64;
	X509 *c;

	expect_refused(with(f, "cert", json_string("!!!!")), "cert: not base64");
	expect_refused(with(f, "cert", json_string("QUJD")), "cert: not a DER certificate");
	expect_refused(with(f, "cert", json_string("QUJ=D")), "cert");

	/* A whole certificate followed by one more byte. */
	memcpy(junk, der, (size_t)n);
	junk[n] = 0;
	b64 = b64_encode(junk, (size_t)n + 1);
	expect_refused(with(f, "cert", json_string(b64)), "cert: not a DER certificate");
	free(b64);
	/* Cut short by one byte. */
	b64 = b64_encode(der, (size_t)n - 1);
	expect_refused(with(f, "cert", json_string(b64)), "cert: not a DER certificate");
	free(b64);
	/* With a line break in the base64, as PEM would have. */
	b64 = b64_encode(der, (size_t)n);
	{
		size_t len = strlen(b64);
		char *wrapped = malloc(len + 2);
		memcpy(wrapped, b64, 64);
		wrapped[64] = '\n';
		memcpy(wrapped + 65, b64 + 64, len - 64 + 1);
		expect_refused(with(f, "cert", json_string(wrapped)), "cert");
		free(wrapped);
	}
	free(b64);

	/* RECORD_CERT_MAX bytes of DER pass, one more does not. */
	c = cert_of_size(f, RECORD_CERT_MAX);
	b64 = cert_b64(c);
	expect_accepted(with(f, "cert", json_string(b64)));
	free(b64);
	X509_free(c);
	c = cert_of_size(f, RECORD_CERT_MAX + 1);
	b64 = cert_b64(c);
	expect_refused(with(f, "cert", json_string(b64)), "cert: not base64 or too long");
	free(b64);
	X509_free(c);

	OPENSSL_free(der);
	free(junk);
}

static void test_from_json_refuses_bad_signatures(void **state)
{
	struct fx *f = *state;
	uint8_t sig[SIG_MAX + 1];
	char *b64;

	memset(sig, 0x30, sizeof(sig));
	b64 = b64_encode(sig, SIG_MAX + 1);
	expect_refused(with(f, "sig", json_string(b64)), "sig: not base64 or too long");
	free(b64);
	b64 = b64_encode(sig, SIG_MAX);
	expect_accepted(with(f, "sig", json_string(b64))); /* structure only */
	free(b64);
	expect_refused(with(f, "sig", json_string("")), "sig");
	expect_refused(with(f, "sig", json_string("AAA")), "sig");
	expect_refused(with(f, "sig", json_string("AA==AA==")), "sig");
	expect_refused(with(f, "sig", json_string("AAAA AAA")), "sig");
}

static void test_from_json_of_a_tampered_value_parses_but_does_not_verify(void **state)
{
	struct fx *f = *state;
	const char *fields[] = {"name", "kind", "data", "stored", "life", "del"};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *j = alice_json(f);
		struct record r;
		char err[256] = "";

		if (strcmp(fields[i], "name") == 0)
			json_object_set_new(j, "name", json_string("user:alice@overlay.example/x"));
		else if (strcmp(fields[i], "kind") == 0)
			json_object_set_new(j, "kind", json_string("sip2"));
		else if (strcmp(fields[i], "data") == 0)
			json_object_set_new(j, "data", json_string("{}"));
		else if (strcmp(fields[i], "del") == 0)
			json_object_set_new(j, "del", json_true());
		else
			json_object_set_new(
				j, fields[i],
				json_integer(json_integer_value(json_object_get(j, fields[i])) + 1));
		assert_int_equal(record_from_json(j, &r, err, sizeof(err)), 0);
		if (record_sig_ok(&r))
			fail_msg("a value with %s changed still verifies", fields[i]);
		record_clear(&r);
		json_decref(j);
	}
}

/* ---- access rules ---- */

static int may_store(X509 *cert, EVP_PKEY *key, const char *name, const char *overlay, char *err,
		  size_t errlen)
{
	struct record r;
	int rc;

	assert_int_equal(record_init(&r, name, "sip", "x", 1, 1, 0), 0);
	assert_int_equal(record_sign(&r, key, cert), 0);
	err[0] = '\0';
	rc = record_access_ok(&r, overlay, err, errlen);
	record_clear(&r);
	return rc;
}

static void test_user_may_store_only_under_its_own_name(void **state)
{
	struct fx *f = *state;
	char err[256];
	const char *allowed[] = {"user:alice@overlay.example", "user:alice@overlay.example/anything",
				 "user:alice@overlay.example/", "user:alice@overlay.example/a/b"};
	const char *refused[] = {"user:alicex@overlay.example", "user:alice@overlay.exampleX",
				 "user:bob@overlay.example",    "user:ali@overlay.example",
				 "user:alice@overlay.exampl",   "user:alice",
				 "user:alice@",                 "user:@overlay.example",
				 "user:alice@other.example",    "user:alice@overlay.example.evil",
				 "user:",                       "user:Alice@overlay.example"};

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (may_store(f->alice, f->alice_key, allowed[i], OVERLAY, err, sizeof(err)) != 0)
			fail_msg("alice may not store %s: %s", allowed[i], err);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (may_store(f->alice, f->alice_key, refused[i], OVERLAY, err, sizeof(err)) != -1)
			fail_msg("alice may store %s", refused[i]);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(may_store(f->alice, f->alice_key, "user:bob@overlay.example", OVERLAY, err,
				sizeof(err)),
			 -1);
	assert_contains(err, "may only be stored by its user");
	assert_int_equal(may_store(f->bob, f->bob_key, "user:bob@overlay.example", OVERLAY, err,
				sizeof(err)),
			 0);
}

static void test_service_records_need_a_supernode_certificate(void **state)
{
	struct fx *f = *state;
	char err[256];

	assert_int_equal(may_store(f->sn, f->sn_key, "service:relay", OVERLAY, err, sizeof(err)), 0);
	assert_int_equal(may_store(f->sn, f->sn_key, "service:stun", OVERLAY, err, sizeof(err)), 0);
	assert_int_equal(may_store(f->alice, f->alice_key, "service:x", OVERLAY, err, sizeof(err)), -1);
	assert_contains(err, "super nodes");
	assert_int_equal(may_store(f->server, f->sn_key, "service:relay", OVERLAY, err, sizeof(err)),
			 -1);
	/* "service:" names no service. */
	assert_int_equal(may_store(f->sn, f->sn_key, "service:", OVERLAY, err, sizeof(err)), -1);
	assert_contains(err, "service:");
	/* A super node is no user. */
	assert_int_equal(may_store(f->sn, f->sn_key, "user:sn1@overlay.example", OVERLAY, err,
				sizeof(err)),
			 -1);
	assert_int_equal(may_store(f->sn, f->sn_key, "user:alice@overlay.example", OVERLAY, err,
				sizeof(err)),
			 -1);
	assert_contains(err, "may only be stored by its user");
}

static void test_gateway_records_need_a_gateway_certificate(void **state)
{
	struct fx *f = *state;
	char err[256];
	const char *gateway_only[] = {"service:gateway", "proxy:example.net", "proxy:*"};

	for (size_t i = 0; i < ARRAY_LEN(gateway_only); i++) {
		if (may_store(f->gw, f->gw_key, gateway_only[i], OVERLAY, err, sizeof(err)) != 0)
			fail_msg("gw1 may not store %s: %s", gateway_only[i], err);
		assert_int_equal(may_store(f->alice, f->alice_key, gateway_only[i], OVERLAY, err,
					   sizeof(err)),
				 -1);
		assert_contains(err, "may only be stored by gateways");
		assert_int_equal(
			may_store(f->sn, f->sn_key, gateway_only[i], OVERLAY, err, sizeof(err)),
			-1);
		assert_contains(err, "may only be stored by gateways");
		assert_int_equal(
			may_store(f->server, f->sn_key, gateway_only[i], OVERLAY, err, sizeof(err)),
			-1);
	}
	/* A gateway is neither a super node nor another user... */
	assert_int_equal(may_store(f->gw, f->gw_key, "service:relay", OVERLAY, err, sizeof(err)),
			 -1);
	assert_contains(err, "super nodes");
	assert_int_equal(may_store(f->gw, f->gw_key, "service:stun", OVERLAY, err, sizeof(err)),
			 -1);
	assert_int_equal(may_store(f->gw, f->gw_key, ALICE_NAME, OVERLAY, err, sizeof(err)), -1);
	assert_contains(err, "may only be stored by its user");
	assert_int_equal(may_store(f->gw, f->gw_key, "user:alice@overlay.example/node", OVERLAY,
				   err, sizeof(err)),
			 -1);
	/* ...but keeps its own node record, as every node does. */
	assert_int_equal(may_store(f->gw, f->gw_key, "user:gw1@overlay.example/node", OVERLAY, err,
				   sizeof(err)),
			 0);
}

static void test_proxy_domains_are_lower_case_dns_names(void **state)
{
	struct fx *f = *state;
	char err[256], long_label[80], long_name[4 * sizeof(long_label)];
	const char *good[] = {
		"example.net",    "*", "a", "a-b.c0.example", "xn--bcher-kva.example", "0.example",
		"sip.atlanta.com"};
	const char *bad[] = {"",
			     "Example.net",
			     "example.net.",
			     ".example.net",
			     "example..net",
			     "-a.example",
			     "a-.example",
			     "exa_mple.net",
			     "*.example.net",
			     "**",
			     "example.net:5060",
			     "a b",
			     "user@example.net",
			     "[::1]",
			     "example.net/x",
			     "%2e"};

	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (!record_proxy_domain_ok(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (record_proxy_domain_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_false(record_proxy_domain_ok(long_label));
	long_label[63] = '\0';
	assert_true(record_proxy_domain_ok(long_label));
	/* 4 labels of 63 and 3 dots: 255 characters, over 253. */
	snprintf(long_name, sizeof(long_name), "%s.%s.%s.%s", long_label, long_label, long_label,
		 long_label);
	assert_false(record_proxy_domain_ok(long_name));
	/* The access rule gives the reason. */
	assert_int_equal(
		may_store(f->gw, f->gw_key, "proxy:Example.NET", OVERLAY, err, sizeof(err)), -1);
	assert_contains(err, "lower-case DNS name");
	assert_int_equal(may_store(f->gw, f->gw_key, "proxy:", OVERLAY, err, sizeof(err)), -1);
	assert_contains(err, "lower-case DNS name");
}

static void test_certificate_of_another_overlay_is_refused(void **state)
{
	struct fx *f = *state;
	char err[256];

	assert_int_equal(may_store(f->alice_elsewhere, f->alice_key, ALICE_NAME, OVERLAY, err,
				sizeof(err)),
			 -1);
	assert_contains(err, "not of this overlay");
	/* Alice's real certificate, judged by another overlay. */
	assert_int_equal(may_store(f->alice, f->alice_key, "user:alice@other.example", "other.example",
				err, sizeof(err)),
			 -1);
	assert_contains(err, "not of this overlay");
	assert_int_equal(may_store(f->sn, f->sn_key, "service:relay", "overlay.exampl", err,
				sizeof(err)),
			 -1);
	/* A certificate without a role is not usable either. */
	assert_int_equal(may_store(f->no_role, f->alice_key, ALICE_NAME, OVERLAY, err, sizeof(err)),
			 -1);
}

static void test_names_without_a_rule_are_refused_with_a_reason(void **state)
{
	struct fx *f = *state;
	const char *names[] = {"foo:bar", "users:alice@overlay.example", "service", "USER:alice",
			       "x"};
	char err[256];
	struct record r;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(may_store(f->sn, f->sn_key, names[i], OVERLAY, err, sizeof(err)), -1);
		assert_contains(err, "no access rule");
		assert_contains(err, names[i]);
		assert_int_equal(may_store(f->alice, f->alice_key, names[i], OVERLAY, err, sizeof(err)),
				 -1);
	}
	/* Without a certificate nothing is allowed. */
	assert_int_equal(record_init(&r, ALICE_NAME, "sip", "x", 1, 1, 0), 0);
	assert_int_equal(record_access_ok(&r, OVERLAY, err, sizeof(err)), -1);
	record_clear(&r);
}

/* ---- expiry ---- */

static void test_expiry_is_stored_plus_life(void **state)
{
	struct record r;

	(void)state;
	assert_int_equal(record_init(&r, ALICE_NAME, "sip", "x", 1000, 10, 0), 0);
	assert_int_equal(record_expires_ms(&r), 11000);
	assert_false(record_is_expired(&r, 0));
	assert_false(record_is_expired(&r, 10999));
	assert_true(record_is_expired(&r, 11000));
	assert_true(record_is_expired(&r, 11001));
	r.life = 0;
	assert_int_equal(record_expires_ms(&r), 1000);
	assert_false(record_is_expired(&r, 999));
	assert_true(record_is_expired(&r, 1000));
	/* The largest lifetime does not overflow 32 bits on the way. */
	r.life = UINT32_MAX;
	assert_int_equal(record_expires_ms(&r), 1000 + (uint64_t)UINT32_MAX * 1000);
	assert_false(record_is_expired(&r, (uint64_t)UINT32_MAX * 1000));
	/* The largest storage time the wire form admits, with the largest life. */
	r.stored = INT64_MAX / 2;
	assert_int_equal(record_expires_ms(&r), (uint64_t)(INT64_MAX / 2) + (uint64_t)UINT32_MAX * 1000);
	assert_false(record_is_expired(&r, (uint64_t)(INT64_MAX / 2)));
	record_clear(&r);
}

static void test_now_ms_follows_the_wall_clock(void **state)
{
	uint64_t a = now_ms();
	uint64_t t = (uint64_t)time(NULL) * 1000;

	(void)state;
	assert_true(a + 2000 > t && a < t + 2000);
	assert_true(now_ms() >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_fills_fields_and_resource_id),
		cmocka_unit_test(test_init_refuses_bad_names),
		cmocka_unit_test(test_init_checks_the_kind_charset_and_length),
		cmocka_unit_test(test_signed_record_verifies_and_names_its_owner),
		cmocka_unit_test(test_unsigned_record_does_not_verify),
		cmocka_unit_test(test_key_that_does_not_match_the_certificate_fails),
		cmocka_unit_test(test_changing_any_signed_field_breaks_the_signature),
		cmocka_unit_test(test_deleted_flag_is_signed_as_a_boolean),
		cmocka_unit_test(test_signature_moved_to_another_certificate_fails),
		cmocka_unit_test(test_copy_is_deep_and_shares_the_certificate),
		cmocka_unit_test(test_json_round_trip_keeps_every_field_and_verifies),
		cmocka_unit_test(test_deletion_with_empty_data_round_trips),
		cmocka_unit_test(test_from_json_refuses_unknown_and_missing_fields),
		cmocka_unit_test(test_from_json_refuses_wrong_types),
		cmocka_unit_test(test_from_json_refuses_bad_strings),
		cmocka_unit_test(test_from_json_checks_integer_ranges),
		cmocka_unit_test(test_from_json_limits_the_data_size),
		cmocka_unit_test(test_from_json_refuses_bad_certificates),
		cmocka_unit_test(test_from_json_refuses_bad_signatures),
		cmocka_unit_test(test_from_json_of_a_tampered_value_parses_but_does_not_verify),
		cmocka_unit_test(test_user_may_store_only_under_its_own_name),
		cmocka_unit_test(test_service_records_need_a_supernode_certificate),
		cmocka_unit_test(test_gateway_records_need_a_gateway_certificate),
		cmocka_unit_test(test_proxy_domains_are_lower_case_dns_names),
		cmocka_unit_test(test_certificate_of_another_overlay_is_refused),
		cmocka_unit_test(test_names_without_a_rule_are_refused_with_a_reason),
		cmocka_unit_test(test_expiry_is_stored_plus_life),
		cmocka_unit_test(test_now_ms_follows_the_wall_clock),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
