/* bootstrapd_db: the super node table, its expiry and revocation, and the cached CRL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bootstrapd_db.h"
#include "crl.h"
#include "db.h"
#include "log.h"
#include "testutil.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000

struct fx {
	char *dir;
	char *path;
	sqlite3 *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	log_init("test", LOG_LVL_ERROR);
	f->dir = tu_tmpdir_new();
	if (f->dir == NULL)
		return -1;
	f->path = tu_path(f->dir, "bootstrapd.db");
	f->db = bdb_open(f->path, err, sizeof(err));
	if (f->db == NULL) {
		fprintf(stderr, "bdb_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	db_close(f->db);
	free(f->path);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	char err[256];

	db_close(f->db);
	f->db = bdb_open(f->path, err, sizeof(err));
	if (f->db == NULL)
		fail_msg("reopen: %s", err);
}

/* Puts super node n with the given serial, certificate end and time. */
static void put(sqlite3 *db, int n, const char *serial, int64_t cert_expires, int64_t now)
{
	struct sn_rec r = {0};
	char addrs[64];

	snprintf(r.node_id, sizeof(r.node_id), "%032X", n);
	snprintf(r.name, sizeof(r.name), "sn%d", n);
	snprintf(r.serial, sizeof(r.serial), "%s", serial);
	snprintf(addrs, sizeof(addrs), "[{\"host\":\"192.0.2.%d\",\"port\":5061}]", n);
	r.addresses = addrs;
	r.load = n * 10;
	r.cert_expires = cert_expires;
	assert_int_equal(bdb_sn_put(db, &r, now), BDB_OK);
}

static const char *id_of(int n)
{
	static char s[33];

	snprintf(s, sizeof(s), "%032X", n);
	return s;
}

/* The row of node n, or fails. */
static struct sn_rec row_of(sqlite3 *db, int n, struct sn_rec **all, size_t *count)
{
	assert_int_equal(bdb_sn_all(db, all, count), 0);
	for (size_t i = 0; i < *count; i++)
		if (strcmp((*all)[i].node_id, id_of(n)) == 0)
			return (*all)[i];
	fail_msg("node %d not in the table", n);
	return (struct sn_rec){0};
}

static int has_node(sqlite3 *db, int n)
{
	struct sn_rec *all;
	size_t count;
	int found = 0;

	assert_int_equal(bdb_sn_all(db, &all, &count), 0);
	for (size_t i = 0; i < count; i++)
		found |= strcmp(all[i].node_id, id_of(n)) == 0;
	bdb_sn_free(all, count);
	return found;
}

static void an_empty_table_has_no_rows(void **state)
{
	struct fx *f = *state;
	struct sn_rec *all = (struct sn_rec *)1;
	size_t n = 99;

	assert_int_equal(bdb_sn_count(f->db), 0);
	assert_int_equal(bdb_sn_all(f->db, &all, &n), 0);
	assert_int_equal(n, 0);
	bdb_sn_free(all, n);
}

static void a_put_row_is_read_back_whole(void **state)
{
	struct fx *f = *state;
	struct sn_rec *all, r;
	size_t n;

	put(f->db, 1, "2A", NOW + 3600, NOW);
	assert_int_equal(bdb_sn_count(f->db), 1);
	r = row_of(f->db, 1, &all, &n);
	assert_int_equal(n, 1);
	assert_string_equal(r.node_id, id_of(1));
	assert_string_equal(r.name, "sn1");
	assert_string_equal(r.serial, "2A");
	assert_string_equal(r.addresses, "[{\"host\":\"192.0.2.1\",\"port\":5061}]");
	assert_int_equal(r.load, 10);
	assert_int_equal(r.cert_expires, NOW + 3600);
	assert_int_equal(r.first_seen, NOW);
	assert_int_equal(r.last_seen, NOW);
	bdb_sn_free(all, n);
}

static void putting_a_node_again_replaces_it_but_keeps_first_seen(void **state)
{
	struct fx *f = *state;
	struct sn_rec *all, r = {0};
	size_t n;

	put(f->db, 1, "2A", NOW + 3600, NOW);
	snprintf(r.node_id, sizeof(r.node_id), "%s", id_of(1));
	snprintf(r.name, sizeof(r.name), "sn1-renamed");
	snprintf(r.serial, sizeof(r.serial), "2B");
	r.addresses = "[{\"host\":\"198.51.100.1\",\"port\":5062}]";
	r.load = 99;
	r.cert_expires = NOW + 7200;
	assert_int_equal(bdb_sn_put(f->db, &r, NOW + 50), BDB_OK);
	assert_int_equal(bdb_sn_count(f->db), 1);
	r = row_of(f->db, 1, &all, &n);
	assert_string_equal(r.name, "sn1-renamed");
	assert_string_equal(r.serial, "2B");
	assert_string_equal(r.addresses, "[{\"host\":\"198.51.100.1\",\"port\":5062}]");
	assert_int_equal(r.load, 99);
	assert_int_equal(r.cert_expires, NOW + 7200);
	assert_int_equal(r.first_seen, NOW);
	assert_int_equal(r.last_seen, NOW + 50);
	bdb_sn_free(all, n);
}

static void a_heartbeat_updates_a_known_node_only(void **state)
{
	struct fx *f = *state;
	struct sn_rec *all, r;
	size_t n;

	put(f->db, 2, "2A", NOW + 3600, NOW);
	assert_int_equal(bdb_sn_heartbeat(f->db, id_of(2), "3C", NOW + 9000, 7, NOW + 30), BDB_OK);
	r = row_of(f->db, 2, &all, &n);
	assert_string_equal(r.serial, "3C");
	assert_int_equal(r.cert_expires, NOW + 9000);
	assert_int_equal(r.load, 7);
	assert_int_equal(r.last_seen, NOW + 30);
	assert_int_equal(r.first_seen, NOW);
	assert_string_equal(r.addresses, "[{\"host\":\"192.0.2.2\",\"port\":5061}]");
	bdb_sn_free(all, n);
	assert_int_equal(bdb_sn_heartbeat(f->db, id_of(3), "3C", NOW + 9000, 7, NOW + 30),
			 BDB_NOT_FOUND);
	assert_int_equal(bdb_sn_heartbeat(f->db, "' OR 1=1 --", "3C", NOW, 7, NOW), BDB_NOT_FOUND);
	assert_int_equal(bdb_sn_count(f->db), 1);
}

static void a_node_is_deleted_once(void **state)
{
	struct fx *f = *state;

	put(f->db, 1, "2A", NOW + 3600, NOW);
	put(f->db, 2, "2B", NOW + 3600, NOW);
	assert_int_equal(bdb_sn_delete(f->db, id_of(1)), BDB_OK);
	assert_int_equal(bdb_sn_count(f->db), 1);
	assert_false(has_node(f->db, 1));
	assert_true(has_node(f->db, 2));
	assert_int_equal(bdb_sn_delete(f->db, id_of(1)), BDB_NOT_FOUND);
	assert_int_equal(bdb_sn_delete(f->db, "' OR '1'='1"), BDB_NOT_FOUND);
	assert_int_equal(bdb_sn_count(f->db), 1);
}

static void expiry_drops_silent_nodes_and_ended_certificates(void **state)
{
	struct fx *f = *state;

	put(f->db, 1, "01", NOW + 9999, NOW - 100); /* silent since NOW-100 */
	put(f->db, 2, "02", NOW + 9999, NOW - 60);  /* exactly at the limit */
	put(f->db, 3, "03", NOW + 9999, NOW - 10);  /* recent */
	put(f->db, 4, "04", NOW, NOW - 10);         /* certificate ends now */
	put(f->db, 5, "05", NOW + 1, NOW - 10);     /* certificate ends later */
	assert_int_equal(bdb_sn_expire(f->db, NOW, 60), 2);
	assert_false(has_node(f->db, 1));
	assert_true(has_node(f->db, 2));
	assert_true(has_node(f->db, 3));
	assert_false(has_node(f->db, 4));
	assert_true(has_node(f->db, 5));
	assert_int_equal(bdb_sn_expire(f->db, NOW, 60), 0);
	/* A heartbeat keeps a node alive. */
	assert_int_equal(bdb_sn_heartbeat(f->db, id_of(2), "02", NOW + 9999, 0, NOW + 30), BDB_OK);
	assert_int_equal(bdb_sn_expire(f->db, NOW + 61, 60), 2);
	assert_true(has_node(f->db, 2));
	assert_int_equal(bdb_sn_count(f->db), 1);
}

static struct crl *crl_of(struct tu_ca *ca, const uint64_t *serials, size_t n, int64_t number)
{
	X509_CRL *x = tu_crl(ca, serials, n, number);
	unsigned char *der = NULL;
	int len = i2d_X509_CRL(x, &der);
	char err[256] = "";
	struct crl *c = crl_parse(der, (size_t)len, ca->cert, err, sizeof(err));

	if (c == NULL)
		fail_msg("crl_parse: %s", err);
	OPENSSL_free(der);
	X509_CRL_free(x);
	return c;
}

static void revoked_nodes_are_dropped_by_serial(void **state)
{
	struct fx *f = *state;
	struct tu_ca ca;
	const uint64_t serials[] = {0x2A, 0xABC, 0x4123456789ABCDEFull};
	struct crl *c;

	assert_int_equal(tu_ca_new(&ca), 0);
	c = crl_of(&ca, serials, 3, 9);
	put(f->db, 1, "2A", NOW + 3600, NOW);
	put(f->db, 2, "2B", NOW + 3600, NOW);
	put(f->db, 3, "0ABC", NOW + 3600, NOW);
	put(f->db, 4, "4123456789ABCDEF", NOW + 3600, NOW);
	put(f->db, 5, "4123456789ABCDEF00", NOW + 3600, NOW);
	put(f->db, 6, "2A2A", NOW + 3600, NOW);
	assert_int_equal(bdb_sn_drop_revoked(f->db, c), 3);
	assert_false(has_node(f->db, 1));
	assert_true(has_node(f->db, 2));
	assert_false(has_node(f->db, 3));
	assert_false(has_node(f->db, 4));
	assert_true(has_node(f->db, 5));
	assert_true(has_node(f->db, 6));
	assert_int_equal(bdb_sn_drop_revoked(f->db, c), 0);
	crl_free(c);
	tu_ca_free(&ca);
}

static void an_empty_or_absent_crl_drops_nothing(void **state)
{
	struct fx *f = *state;
	struct tu_ca ca;
	struct crl *c;

	assert_int_equal(tu_ca_new(&ca), 0);
	c = crl_of(&ca, NULL, 0, 1);
	put(f->db, 1, "2A", NOW + 3600, NOW);
	put(f->db, 2, "not hex", NOW + 3600, NOW);
	assert_int_equal(bdb_sn_drop_revoked(f->db, c), 0);
	assert_int_equal(bdb_sn_drop_revoked(f->db, NULL), 0);
	assert_int_equal(bdb_sn_count(f->db), 2);
	crl_free(c);
	tu_ca_free(&ca);
}

static void many_rows_are_all_returned_in_node_id_order(void **state)
{
	struct fx *f = *state;
	struct sn_rec *all;
	size_t n;

	for (int i = 40; i > 0; i--)
		put(f->db, i, "2A", NOW + 3600, NOW);
	assert_int_equal(bdb_sn_count(f->db), 40);
	assert_int_equal(bdb_sn_all(f->db, &all, &n), 0);
	assert_int_equal(n, 40);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(all[i].node_id, id_of((int)i + 1));
		assert_int_equal(all[i].load, ((int)i + 1) * 10);
	}
	bdb_sn_free(all, n);
}

static void hostile_text_is_stored_literally(void **state)
{
	struct fx *f = *state;
	struct sn_rec r = {0}, *all;
	size_t n;

	put(f->db, 1, "2A", NOW + 3600, NOW);
	snprintf(r.node_id, sizeof(r.node_id), "x'); DROP TABLE supernodes; --");
	snprintf(r.name, sizeof(r.name), "\" OR \"1\"=\"1");
	snprintf(r.serial, sizeof(r.serial), "' OR 1=1 --");
	r.addresses = "'); DELETE FROM crl; --";
	assert_int_equal(bdb_sn_put(f->db, &r, NOW), BDB_OK);
	assert_int_equal(bdb_sn_count(f->db), 2);
	assert_int_equal(bdb_sn_all(f->db, &all, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[1].node_id, "x'); DROP TABLE supernodes; --");
	assert_string_equal(all[1].name, "\" OR \"1\"=\"1");
	assert_string_equal(all[1].serial, "' OR 1=1 --");
	assert_string_equal(all[1].addresses, "'); DELETE FROM crl; --");
	bdb_sn_free(all, n);
	assert_int_equal(bdb_sn_delete(f->db, "x'); DROP TABLE supernodes; --"), BDB_OK);
	assert_int_equal(bdb_sn_count(f->db), 1);
}

static void the_crl_is_stored_and_read_back(void **state)
{
	struct fx *f = *state;
	uint8_t *der = (uint8_t *)1;
	size_t len = 99;
	int64_t fetched = 0;
	const uint8_t a[] = {0x30, 0x00, 0xff, 0x00, 0x01};
	uint8_t b[3000];

	assert_int_equal(bdb_crl_get(f->db, &der, &len, &fetched), BDB_NOT_FOUND);
	assert_null(der);
	assert_int_equal(len, 0);
	/* Binary, with NUL bytes. */
	assert_int_equal(bdb_crl_put(f->db, a, sizeof(a), 5, NOW), 0);
	assert_int_equal(bdb_crl_get(f->db, &der, &len, &fetched), BDB_OK);
	assert_int_equal(len, sizeof(a));
	assert_memory_equal(der, a, sizeof(a));
	assert_int_equal(fetched, NOW);
	free(der);
	/* A newer one replaces it. */
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7);
	assert_int_equal(bdb_crl_put(f->db, b, sizeof(b), 6, NOW + 10), 0);
	assert_int_equal(bdb_crl_get(f->db, &der, &len, &fetched), BDB_OK);
	assert_int_equal(len, sizeof(b));
	assert_memory_equal(der, b, sizeof(b));
	assert_int_equal(fetched, NOW + 10);
	free(der);
}

static void a_real_crl_survives_the_round_trip(void **state)
{
	struct fx *f = *state;
	struct tu_ca ca;
	const uint64_t serials[] = {0x2A};
	struct crl *c, *back;
	uint8_t *der;
	size_t len;
	int64_t fetched;

	assert_int_equal(tu_ca_new(&ca), 0);
	c = crl_of(&ca, serials, 1, 12);
	assert_int_equal(bdb_crl_put(f->db, c->der, c->der_len, c->number, NOW), 0);
	assert_int_equal(bdb_crl_get(f->db, &der, &len, &fetched), BDB_OK);
	back = crl_parse(der, len, ca.cert, NULL, 0);
	assert_non_null(back);
	assert_int_equal(back->number, 12);
	assert_true(crl_is_revoked_hex(back, "2A"));
	crl_free(back);
	free(der);
	crl_free(c);
	tu_ca_free(&ca);
}

static void reopening_keeps_nodes_and_crl(void **state)
{
	struct fx *f = *state;
	const uint8_t a[] = {1, 2, 3};
	struct sn_rec *all, r;
	uint8_t *der;
	size_t len, n;
	int64_t fetched;

	put(f->db, 7, "2A", NOW + 3600, NOW);
	assert_int_equal(bdb_crl_put(f->db, a, sizeof(a), 3, NOW), 0);
	reopen(f);
	assert_int_equal(bdb_sn_count(f->db), 1);
	r = row_of(f->db, 7, &all, &n);
	assert_string_equal(r.serial, "2A");
	assert_int_equal(r.first_seen, NOW);
	bdb_sn_free(all, n);
	assert_int_equal(bdb_crl_get(f->db, &der, &len, &fetched), BDB_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(der, a, 3);
	free(der);
}

static void bdb_sn_free_accepts_null(void **state)
{
	(void)state;
	bdb_sn_free(NULL, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(an_empty_table_has_no_rows),
		T(a_put_row_is_read_back_whole),
		T(putting_a_node_again_replaces_it_but_keeps_first_seen),
		T(a_heartbeat_updates_a_known_node_only),
		T(a_node_is_deleted_once),
		T(expiry_drops_silent_nodes_and_ended_certificates),
		T(revoked_nodes_are_dropped_by_serial),
		T(an_empty_or_absent_crl_drops_nothing),
		T(many_rows_are_all_returned_in_node_id_order),
		T(hostile_text_is_stored_literally),
		T(the_crl_is_stored_and_read_back),
		T(a_real_crl_survives_the_round_trip),
		T(reopening_keeps_nodes_and_crl),
		cmocka_unit_test(bdb_sn_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
