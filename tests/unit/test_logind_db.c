/* logind_db: users, certificates, revocation and the CRL number in SQLite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "log.h"
#include "logind_db.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000
#define HASH                                                                                       \
	"$scrypt$n=1024,r=8,p=1$00112233445566778899AABBCCDDEEFF$"                                 \
	"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"

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
	f->path = tu_path(f->dir, "logind.db");
	f->db = ldb_open(f->path, 1, err, sizeof(err));
	if (f->db == NULL) {
		fprintf(stderr, "ldb_open: %s\n", err);
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
	f->db = ldb_open(f->path, 0, err, sizeof(err));
	if (f->db == NULL)
		fail_msg("reopen: %s", err);
}

/* A certificate row; serials are built from n. */
static void add_cert(sqlite3 *db, int n, const char *name, int64_t not_after)
{
	struct cert_rec c = {0};

	snprintf(c.serial, sizeof(c.serial), "4%031X", n);
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.role, sizeof(c.role), "user");
	snprintf(c.node_id, sizeof(c.node_id), "%032X", n);
	c.not_before = NOW - 300;
	c.not_after = not_after;
	c.issued = NOW + n;
	c.pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
	assert_int_equal(ldb_cert_add(db, &c), LDB_OK);
}

static const char *serial_of(int n)
{
	static char s[SERIAL_HEX_LEN + 1];

	snprintf(s, sizeof(s), "4%031X", n);
	return s;
}

static struct cert_rec get_cert(sqlite3 *db, int n)
{
	struct cert_rec c;

	assert_int_equal(ldb_cert_get(db, serial_of(n), &c), LDB_OK);
	return c;
}

static void ldb_open_refuses_a_missing_file_without_create(void **state)
{
	struct fx *f = *state;
	char *p = tu_path(f->dir, "absent.db");
	char err[256] = "";

	assert_null(ldb_open(p, 0, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	free(p);
}

static void a_user_is_added_read_and_deleted(void **state)
{
	struct fx *f = *state;
	struct user_rec u;
	int revoked = -1;

	assert_int_equal(ldb_user_add(f->db, "alice", "user", HASH, NOW), LDB_OK);
	memset(&u, 0x55, sizeof(u));
	assert_int_equal(ldb_user_get(f->db, "alice", &u), LDB_OK);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.role, "user");
	assert_string_equal(u.pw_hash, HASH);
	assert_int_equal(u.disabled, 0);
	assert_int_equal(u.created, NOW);
	assert_int_equal(u.updated, NOW);
	assert_int_equal(ldb_user_add(f->db, "alice", "supernode", HASH, NOW + 1), LDB_EXISTS);
	assert_int_equal(ldb_user_get(f->db, "alice", &u), LDB_OK);
	assert_string_equal(u.role, "user");
	assert_int_equal(ldb_user_del(f->db, "alice", NOW + 2, &revoked), LDB_OK);
	assert_int_equal(revoked, 0);
	assert_int_equal(ldb_user_get(f->db, "alice", &u), LDB_NOT_FOUND);
	assert_int_equal(ldb_user_del(f->db, "alice", NOW + 3, &revoked), LDB_NOT_FOUND);
}

static void an_unknown_user_is_not_found(void **state)
{
	struct fx *f = *state;
	struct user_rec u;
	int revoked = 0;

	assert_int_equal(ldb_user_get(f->db, "nobody", &u), LDB_NOT_FOUND);
	assert_int_equal(ldb_user_get(f->db, "", &u), LDB_NOT_FOUND);
	assert_int_equal(ldb_user_set_hash(f->db, "nobody", HASH, NOW), LDB_NOT_FOUND);
	assert_int_equal(ldb_user_set_disabled(f->db, "nobody", 1, NOW, &revoked), LDB_NOT_FOUND);
	assert_int_equal(revoked, 0);
	assert_int_equal(ldb_user_set_disabled(f->db, "nobody", 0, NOW, &revoked), LDB_NOT_FOUND);
}

static void a_role_outside_user_and_supernode_is_not_stored(void **state)
{
	struct fx *f = *state;
	struct user_rec u;

	assert_int_not_equal(ldb_user_add(f->db, "eve", "admin", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_get(f->db, "eve", &u), LDB_NOT_FOUND);
	assert_int_equal(ldb_user_add(f->db, "sn1", "supernode", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "gw1", "gateway", HASH, NOW), LDB_OK);
}

static void disabling_a_user_revokes_its_live_certificates_only(void **state)
{
	struct fx *f = *state;
	struct user_rec u;
	struct cert_rec c;
	int revoked = -1;

	assert_int_equal(ldb_user_add(f->db, "bob", "user", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "bobby", "user", HASH, NOW), LDB_OK);
	add_cert(f->db, 1, "bob", NOW + 3600);   /* live */
	add_cert(f->db, 2, "bob", NOW + 7200);   /* live */
	add_cert(f->db, 3, "bob", NOW - 1);      /* expired */
	add_cert(f->db, 4, "bob", NOW + 3600);   /* revoked before */
	add_cert(f->db, 5, "bobby", NOW + 3600); /* someone else's */
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(4), 1, NOW - 10), LDB_OK);

	assert_int_equal(ldb_user_set_disabled(f->db, "bob", 1, NOW + 5, &revoked), LDB_OK);
	assert_int_equal(revoked, 2);
	assert_int_equal(ldb_user_get(f->db, "bob", &u), LDB_OK);
	assert_int_equal(u.disabled, 1);
	assert_int_equal(u.updated, NOW + 5);
	assert_int_equal(u.created, NOW);
	c = get_cert(f->db, 1);
	assert_int_equal(c.revoked, NOW + 5);
	assert_int_equal(c.reason, REASON_CESSATION);
	c = get_cert(f->db, 2);
	assert_int_equal(c.revoked, NOW + 5);
	c = get_cert(f->db, 3);
	assert_int_equal(c.revoked, 0);
	c = get_cert(f->db, 4);
	assert_int_equal(c.revoked, NOW - 10);
	assert_int_equal(c.reason, 1);
	c = get_cert(f->db, 5);
	assert_int_equal(c.revoked, 0);

	/* Enabling again revokes nothing and brings nothing back. */
	revoked = -1;
	assert_int_equal(ldb_user_set_disabled(f->db, "bob", 0, NOW + 6, &revoked), LDB_OK);
	assert_int_equal(revoked, 0);
	assert_int_equal(ldb_user_get(f->db, "bob", &u), LDB_OK);
	assert_int_equal(u.disabled, 0);
	c = get_cert(f->db, 1);
	assert_int_equal(c.revoked, NOW + 5);
	/* Disabling twice finds nothing more to revoke. */
	assert_int_equal(ldb_user_set_disabled(f->db, "bob", 1, NOW + 7, &revoked), LDB_OK);
	assert_int_equal(revoked, 0);
}

static void deleting_a_user_revokes_its_live_certificates(void **state)
{
	struct fx *f = *state;
	struct cert_rec c;
	int revoked = -1;

	assert_int_equal(ldb_user_add(f->db, "carol", "user", HASH, NOW), LDB_OK);
	add_cert(f->db, 10, "carol", NOW + 3600);
	add_cert(f->db, 11, "carol", NOW - 100);
	assert_int_equal(ldb_user_del(f->db, "carol", NOW + 1, &revoked), LDB_OK);
	assert_int_equal(revoked, 1);
	c = get_cert(f->db, 10);
	assert_int_equal(c.revoked, NOW + 1);
	assert_int_equal(c.reason, REASON_CESSATION);
	c = get_cert(f->db, 11);
	assert_int_equal(c.revoked, 0);
	/* The certificates stay on record. */
	assert_int_equal(ldb_cert_get(f->db, serial_of(10), &c), LDB_OK);
	assert_string_equal(c.name, "carol");
}

static void ldb_user_set_hash_replaces_the_hash(void **state)
{
	struct fx *f = *state;
	struct user_rec u;
	const char *h2 = "$scrypt$n=2048,r=8,p=1$FF$00";

	assert_int_equal(ldb_user_add(f->db, "dan", "user", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_set_hash(f->db, "dan", h2, NOW + 9), LDB_OK);
	assert_int_equal(ldb_user_get(f->db, "dan", &u), LDB_OK);
	assert_string_equal(u.pw_hash, h2);
	assert_int_equal(u.updated, NOW + 9);
	assert_int_equal(u.created, NOW);
}

static void ldb_user_set_promotable_sets_and_clears(void **state)
{
	struct fx *f = *state;
	struct user_rec u;

	assert_int_equal(ldb_user_add(f->db, "cat", "user", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_get(f->db, "cat", &u), LDB_OK);
	assert_int_equal(u.promotable, 0);
	assert_int_equal(ldb_user_set_promotable(f->db, "cat", 1, NOW + 1), LDB_OK);
	assert_int_equal(ldb_user_get(f->db, "cat", &u), LDB_OK);
	assert_int_equal(u.promotable, 1);
	assert_int_equal(u.updated, NOW + 1);
	assert_int_equal(ldb_user_set_promotable(f->db, "cat", 0, NOW + 2), LDB_OK);
	assert_int_equal(ldb_user_get(f->db, "cat", &u), LDB_OK);
	assert_int_equal(u.promotable, 0);
	assert_int_equal(ldb_user_set_promotable(f->db, "nobody", 1, NOW), LDB_NOT_FOUND);
}

static void ldb_user_list_gives_every_user_with_live_certificates(void **state)
{
	struct fx *f = *state;
	json_t *list, *o;
	int revoked;

	assert_int_equal(ldb_user_add(f->db, "zed", "user", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "amy", "supernode", HASH, NOW + 1), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "max", "user", HASH, NOW + 2), LDB_OK);
	add_cert(f->db, 20, "amy", NOW + 3600);
	add_cert(f->db, 21, "amy", NOW + 3600);
	add_cert(f->db, 22, "amy", NOW - 1);
	add_cert(f->db, 23, "amy", NOW + 3600);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(23), 1, NOW), LDB_OK);
	assert_int_equal(ldb_user_set_disabled(f->db, "max", 1, NOW, &revoked), LDB_OK);

	list = ldb_user_list(f->db, NOW);
	assert_non_null(list);
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 3);
	/* Sorted by name; exactly the documented fields. */
	o = json_array_get(list, 0);
	assert_int_equal(json_object_size(o), 6);
	assert_true(json_is_false(json_object_get(o, "promotable")));
	assert_string_equal(json_string_value(json_object_get(o, "name")), "amy");
	assert_string_equal(json_string_value(json_object_get(o, "role")), "supernode");
	assert_true(json_is_false(json_object_get(o, "disabled")));
	assert_int_equal(json_integer_value(json_object_get(o, "created")), NOW + 1);
	assert_true(json_is_integer(json_object_get(o, "live_certs")));
	assert_int_equal(json_integer_value(json_object_get(o, "live_certs")), 2);
	o = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "max");
	assert_true(json_is_true(json_object_get(o, "disabled")));
	assert_int_equal(json_integer_value(json_object_get(o, "live_certs")), 0);
	o = json_array_get(list, 2);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "zed");
	assert_string_equal(json_string_value(json_object_get(o, "role")), "user");
	assert_int_equal(json_integer_value(json_object_get(o, "live_certs")), 0);
	json_decref(list);

	/* Later, amy's certificates have expired. */
	list = ldb_user_list(f->db, NOW + 3600);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "live_certs")),
			 0);
	json_decref(list);
}

static void ldb_user_list_of_an_empty_database_is_an_empty_array(void **state)
{
	struct fx *f = *state;
	json_t *list = ldb_user_list(f->db, NOW);

	assert_non_null(list);
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void a_certificate_is_added_and_read_back(void **state)
{
	struct fx *f = *state;
	struct cert_rec in = {0}, out;

	snprintf(in.serial, sizeof(in.serial), "4123456789ABCDEF0123456789ABCDEF");
	snprintf(in.name, sizeof(in.name), "sn7");
	snprintf(in.role, sizeof(in.role), "supernode");
	snprintf(in.node_id, sizeof(in.node_id), "00112233445566778899AABBCCDDEEFF");
	in.not_before = NOW - 300;
	in.not_after = NOW + 86400;
	in.issued = NOW;
	in.pem = "PEM";
	assert_int_equal(ldb_cert_add(f->db, &in), LDB_OK);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(ldb_cert_get(f->db, in.serial, &out), LDB_OK);
	assert_string_equal(out.serial, in.serial);
	assert_string_equal(out.name, "sn7");
	assert_string_equal(out.role, "supernode");
	assert_string_equal(out.node_id, in.node_id);
	assert_int_equal(out.not_before, NOW - 300);
	assert_int_equal(out.not_after, NOW + 86400);
	assert_int_equal(out.issued, NOW);
	assert_int_equal(out.revoked, 0);
	assert_int_equal(out.reason, 0);
	/* Serials are unique. */
	in.issued = NOW + 1;
	assert_int_equal(ldb_cert_add(f->db, &in), LDB_EXISTS);
	assert_int_equal(ldb_cert_get(f->db, "41", &out), LDB_NOT_FOUND);
}

static void ldb_cert_list_lists_all_or_one_users_certificates(void **state)
{
	struct fx *f = *state;
	json_t *list, *o;

	add_cert(f->db, 32, "erin", NOW + 3600);
	add_cert(f->db, 30, "frank", NOW + 3600);
	add_cert(f->db, 31, "erin", NOW + 3600);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(31), 1, NOW + 50), LDB_OK);

	list = ldb_cert_list(f->db, NULL);
	assert_int_equal(json_array_size(list), 3);
	/* In order of issue. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "serial")),
			    serial_of(30));
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "serial")),
			    serial_of(32));
	json_decref(list);

	list = ldb_cert_list(f->db, "erin");
	assert_int_equal(json_array_size(list), 2);
	o = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(o, "serial")), serial_of(31));
	assert_string_equal(json_string_value(json_object_get(o, "name")), "erin");
	assert_string_equal(json_string_value(json_object_get(o, "role")), "user");
	assert_string_equal(json_string_value(json_object_get(o, "node_id")),
			    "0000000000000000000000000000001F");
	assert_int_equal(json_integer_value(json_object_get(o, "not_before")), NOW - 300);
	assert_int_equal(json_integer_value(json_object_get(o, "not_after")), NOW + 3600);
	assert_int_equal(json_integer_value(json_object_get(o, "issued")), NOW + 31);
	assert_int_equal(json_integer_value(json_object_get(o, "revoked")), NOW + 50);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "keyCompromise");
	o = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(o, "serial")), serial_of(32));
	assert_null(json_object_get(o, "revoked"));
	assert_null(json_object_get(o, "reason"));
	json_decref(list);

	list = ldb_cert_list(f->db, "nobody");
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void ldb_certs_live_lists_one_accounts_live_certificates_newest_first(void **state)
{
	struct fx *f = *state;
	struct cert_rec *c = NULL;
	size_t n = 0;

	/* issued = NOW + n: 12 is the newest. */
	for (int i = 1; i <= 12; i++)
		add_cert(f->db, i, i == 5 ? "bob" : "alice", i == 7 ? NOW - 1 : NOW + 86400);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(3), 4, NOW), LDB_OK);
	assert_int_equal(ldb_certs_live(f->db, "alice", NOW, &c, &n), 0);
	/* 12 minus bob's, the expired 7 and the revoked 3; past the first
	 * allocation of 8. */
	assert_int_equal(n, 9);
	assert_string_equal(c[0].serial, serial_of(12));
	assert_string_equal(c[8].serial, serial_of(1));
	for (size_t i = 1; i < n; i++)
		assert_true(c[i - 1].issued > c[i].issued);
	free(c);
	assert_int_equal(ldb_certs_live(f->db, "nobody", NOW, &c, &n), 0);
	assert_int_equal(n, 0);
	free(c);
}

static void ldb_cert_revoke_revokes_once(void **state)
{
	struct fx *f = *state;
	struct cert_rec c;

	add_cert(f->db, 40, "gina", NOW + 3600);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(40), 4, NOW + 1), LDB_OK);
	c = get_cert(f->db, 40);
	assert_int_equal(c.revoked, NOW + 1);
	assert_int_equal(c.reason, 4);
	/* A second revocation changes nothing. */
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(40), 1, NOW + 2), LDB_EXISTS);
	c = get_cert(f->db, 40);
	assert_int_equal(c.revoked, NOW + 1);
	assert_int_equal(c.reason, 4);
	assert_int_equal(ldb_cert_revoke(f->db, "4000000000000000000000000000FFFF", 1, NOW),
			 LDB_NOT_FOUND);
	assert_int_equal(ldb_cert_revoke(f->db, "", 1, NOW), LDB_NOT_FOUND);
}

static void ldb_crl_entries_lists_revoked_certificates_not_yet_expired(void **state)
{
	struct fx *f = *state;
	struct crl_entry *e = NULL;
	size_t n = 99;

	assert_int_equal(ldb_crl_entries(f->db, NOW, &e, &n), 0);
	assert_int_equal(n, 0);
	free(e);

	add_cert(f->db, 50, "hal", NOW + 3600); /* revoked, live */
	add_cert(f->db, 51, "hal", NOW + 100);  /* revoked, expires at NOW+100 */
	add_cert(f->db, 52, "hal", NOW + 3600); /* not revoked */
	add_cert(f->db, 53, "hal", NOW - 1);    /* revoked after it expired */
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(50), 1, NOW - 5), LDB_OK);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(51), 0, NOW - 4), LDB_OK);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(53), 1, NOW - 3), LDB_OK);

	assert_int_equal(ldb_crl_entries(f->db, NOW, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].serial, serial_of(50));
	assert_int_equal(e[0].revoked, NOW - 5);
	assert_int_equal(e[0].reason, 1);
	assert_string_equal(e[1].serial, serial_of(51));
	assert_int_equal(e[1].revoked, NOW - 4);
	assert_int_equal(e[1].reason, 0);
	free(e);
	/* Once 51 has expired it leaves the list. */
	assert_int_equal(ldb_crl_entries(f->db, NOW + 100, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].serial, serial_of(50));
	free(e);
}

static void ldb_crl_entries_grows_past_its_first_allocation(void **state)
{
	struct fx *f = *state;
	struct crl_entry *e = NULL;
	size_t n = 0;

	for (int i = 0; i < 40; i++) {
		add_cert(f->db, 100 + i, "ivy", NOW + 3600);
		assert_int_equal(ldb_cert_revoke(f->db, serial_of(100 + i), 1, NOW), LDB_OK);
	}
	assert_int_equal(ldb_crl_entries(f->db, NOW, &e, &n), 0);
	assert_int_equal(n, 40);
	for (int i = 0; i < 40; i++)
		assert_string_equal(e[i].serial, serial_of(100 + i));
	free(e);
}

static void the_crl_number_increments_and_survives_reopening(void **state)
{
	struct fx *f = *state;
	int64_t v = 0;

	assert_int_equal(ldb_next_crl_number(f->db, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ldb_next_crl_number(f->db, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(ldb_next_crl_number(f->db, &v), 0);
	assert_int_equal(v, 3);
	reopen(f);
	assert_int_equal(ldb_next_crl_number(f->db, &v), 0);
	assert_int_equal(v, 4);
}

static void data_survives_reopening(void **state)
{
	struct fx *f = *state;
	struct user_rec u;
	struct cert_rec c;

	assert_int_equal(ldb_user_add(f->db, "jo", "user", HASH, NOW), LDB_OK);
	add_cert(f->db, 60, "jo", NOW + 3600);
	assert_int_equal(ldb_cert_revoke(f->db, serial_of(60), 1, NOW), LDB_OK);
	reopen(f);
	assert_int_equal(ldb_user_get(f->db, "jo", &u), LDB_OK);
	assert_string_equal(u.pw_hash, HASH);
	c = get_cert(f->db, 60);
	assert_int_equal(c.revoked, NOW);
}

static int count_rows(sqlite3 *db, const char *table)
{
	char sql[64];
	sqlite3_stmt *st = NULL;
	int n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void hostile_names_are_stored_literally(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {
		"a'; DROP TABLE users;--",
		"x\" OR \"1\"=\"1",
		"b'); DELETE FROM certs; --",
		"' OR 1=1 --",
		"%",
		"_",
	};
	struct user_rec u;
	struct cert_rec c = {0};
	json_t *list;
	int revoked;

	assert_int_equal(ldb_user_add(f->db, "kim", "user", HASH, NOW), LDB_OK);
	add_cert(f->db, 70, "kim", NOW + 3600);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(ldb_user_add(f->db, names[i], "user", names[i], NOW), LDB_OK);
		assert_int_equal(ldb_user_get(f->db, names[i], &u), LDB_OK);
		assert_string_equal(u.name, names[i]);
		assert_string_equal(u.pw_hash, names[i]);
	}
	assert_int_equal(count_rows(f->db, "users"), 7);
	assert_int_equal(count_rows(f->db, "certs"), 1);
	/* A serial made of SQL finds nothing and revokes nothing. */
	assert_int_equal(ldb_cert_revoke(f->db, "' OR 1=1 --", 1, NOW), LDB_NOT_FOUND);
	assert_int_equal(get_cert(f->db, 70).revoked, 0);
	/* A certificate under such a name is listed by that name only. */
	snprintf(c.serial, sizeof(c.serial), "%s", "' OR '1'='1");
	snprintf(c.name, sizeof(c.name), "%s", names[3]);
	snprintf(c.role, sizeof(c.role), "user");
	snprintf(c.node_id, sizeof(c.node_id), "00");
	c.not_after = NOW + 3600;
	c.pem = "'); DROP TABLE certs; --";
	assert_int_equal(ldb_cert_add(f->db, &c), LDB_OK);
	list = ldb_cert_list(f->db, names[3]);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "serial")),
			    "' OR '1'='1");
	json_decref(list);
	list = ldb_cert_list(f->db, "%");
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* Disabling the injection-named user leaves kim's certificate alone. */
	assert_int_equal(ldb_user_set_disabled(f->db, names[3], 1, NOW, &revoked), LDB_OK);
	assert_int_equal(revoked, 1);
	assert_int_equal(get_cert(f->db, 70).revoked, 0);
	assert_int_equal(ldb_user_del(f->db, names[0], NOW, &revoked), LDB_OK);
	assert_int_equal(count_rows(f->db, "users"), 6);
	assert_int_equal(count_rows(f->db, "certs"), 2);
	assert_int_equal(count_rows(f->db, "meta"), 1);
	list = ldb_user_list(f->db, NOW);
	assert_int_equal(json_array_size(list), 6);
	json_decref(list);
}

static void ldb_user_count_counts_each_role_disabled_ones_included(void **state)
{
	struct fx *f = *state;
	int64_t users = -1, sns = -1, gws = -1;
	int revoked;

	assert_int_equal(ldb_user_count(f->db, &users, &sns, &gws), 0);
	assert_int_equal(users, 0);
	assert_int_equal(sns, 0);
	assert_int_equal(gws, 0);
	assert_int_equal(ldb_user_add(f->db, "u1", "user", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "u2", "user", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "s1", "supernode", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(f->db, "gw1", "gateway", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_set_disabled(f->db, "u2", 1, NOW, &revoked), LDB_OK);
	assert_int_equal(ldb_user_count(f->db, &users, &sns, &gws), 0);
	assert_int_equal(users, 2);
	assert_int_equal(sns, 1);
	assert_int_equal(gws, 1);
	assert_int_equal(ldb_user_del(f->db, "u1", NOW, &revoked), LDB_OK);
	assert_int_equal(ldb_user_count(f->db, &users, &sns, &gws), 0);
	assert_int_equal(users, 1);
	assert_int_equal(sns, 1);
}

/* A database made by the version before role gateway (schema 1, its
 * users table allowing user and supernode only), written here as that
 * version wrote it. */
static void make_schema_1(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(
			db,
			"CREATE TABLE users (name TEXT PRIMARY KEY,"
			" role TEXT NOT NULL CHECK (role IN ('user','supernode')),"
			" pw_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
			" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
			"CREATE TABLE certs (serial TEXT PRIMARY KEY, name TEXT NOT NULL,"
			" role TEXT NOT NULL, node_id TEXT NOT NULL, not_before INTEGER NOT NULL,"
			" not_after INTEGER NOT NULL, issued INTEGER NOT NULL, revoked INTEGER,"
			" reason INTEGER, pem TEXT NOT NULL);"
			"CREATE INDEX certs_by_name ON certs(name);"
			"CREATE INDEX certs_revoked ON certs(revoked) WHERE revoked IS NOT NULL;"
			"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
			"INSERT INTO meta VALUES ('crl_number', 41);"
			"INSERT INTO users VALUES ('alice', 'user', 'h1', 0, 10, 11);"
			"INSERT INTO users VALUES ('sn1', 'supernode', 'h2', 1, 20, 21);"
			"PRAGMA user_version = 1;",
			NULL, NULL, NULL),
		SQLITE_OK);
	/* The old CHECK: no gateway could be stored. */
	assert_int_not_equal(
		sqlite3_exec(db, "INSERT INTO users VALUES ('gw0', 'gateway', 'h', 0, 1, 1)", NULL,
			     NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
}

static void an_old_users_table_is_rebuilt_keeping_every_row(void **state)
{
	struct fx *f = *state;
	char *path = tu_path(f->dir, "old.db");
	char err[256];
	struct user_rec u;
	int64_t crl = 0;
	sqlite3 *db;

	make_schema_1(path);
	db = ldb_open(path, 0, err, sizeof(err));
	if (db == NULL)
		fail_msg("ldb_open of a schema 1 database: %s", err);
	assert_int_equal(db_user_version(db), 3);
	assert_int_equal(ldb_user_get(db, "alice", &u), LDB_OK);
	assert_string_equal(u.role, "user");
	assert_int_equal(u.promotable, 0); /* migration 3: nobody is promotable */
	assert_string_equal(u.pw_hash, "h1");
	assert_int_equal(u.disabled, 0);
	assert_int_equal(u.created, 10);
	assert_int_equal(u.updated, 11);
	assert_int_equal(ldb_user_get(db, "sn1", &u), LDB_OK);
	assert_string_equal(u.role, "supernode");
	assert_int_equal(u.disabled, 1);
	assert_int_equal(count_rows(db, "users"), 2);
	assert_int_equal(ldb_next_crl_number(db, &crl), 0);
	assert_int_equal(crl, 42);
	/* The new CHECK: gateway now, anything else still not. */
	assert_int_equal(ldb_user_add(db, "gw1", "gateway", HASH, NOW), LDB_OK);
	assert_int_not_equal(ldb_user_add(db, "eve", "admin", HASH, NOW), LDB_OK);
	assert_int_equal(ldb_user_add(db, "alice", "user", HASH, NOW), LDB_EXISTS);
	db_close(db);
	/* Opened again: nothing to migrate, nothing lost. */
	db = ldb_open(path, 0, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(count_rows(db, "users"), 3);
	db_close(db);
	free(path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ldb_open_refuses_a_missing_file_without_create),
		T(a_user_is_added_read_and_deleted),
		T(an_unknown_user_is_not_found),
		T(a_role_outside_user_and_supernode_is_not_stored),
		T(disabling_a_user_revokes_its_live_certificates_only),
		T(deleting_a_user_revokes_its_live_certificates),
		T(ldb_user_set_hash_replaces_the_hash),
		T(ldb_user_set_promotable_sets_and_clears),
		T(ldb_user_list_gives_every_user_with_live_certificates),
		T(ldb_user_list_of_an_empty_database_is_an_empty_array),
		T(ldb_user_count_counts_each_role_disabled_ones_included),
		T(an_old_users_table_is_rebuilt_keeping_every_row),
		T(a_certificate_is_added_and_read_back),
		T(ldb_cert_list_lists_all_or_one_users_certificates),
		T(ldb_certs_live_lists_one_accounts_live_certificates_newest_first),
		T(ldb_cert_revoke_revokes_once),
		T(ldb_crl_entries_lists_revoked_certificates_not_yet_expired),
		T(ldb_crl_entries_grows_past_its_first_allocation),
		T(the_crl_number_increments_and_survives_reopening),
		T(data_survives_reopening),
		T(hostile_names_are_stored_literally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
