/* sn_db: the super node's SQLite file of held values: round trip, shared
 * certificates, deletion, grouped commits, and rows that cannot be read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "identity.h"
#include "log.h"
#include "record.h"
#include "sn_db.h"
#include "testutil.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NOW 1700000000000ull /* ms */
#define ALICE "user:alice@overlay.example"
#define BOB "user:bob@overlay.example"

struct signer {
	EVP_PKEY *key;
	X509 *cert;
};

struct fx {
	char *dir;
	char *path;
	struct tu_ca ca;
	struct signer alice, bob;
	struct sdb *db;
};

static int make_signer(struct fx *f, struct signer *s, const char *name, uint64_t serial)
{
	time_t t = time(NULL);

	s->key = key_generate();
	if (s->key == NULL)
		return -1;
	s->cert = tu_issue(&f->ca, s->key, "user", name, t - 60, t + 86400, serial);
	return s->cert != NULL ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	log_init("test", LOG_LVL_ERROR);
	if (f == NULL || tu_ca_new(&f->ca) < 0 || make_signer(f, &f->alice, "alice", 10) < 0 ||
	    make_signer(f, &f->bob, "bob", 11) < 0)
		return -1;
	f->dir = tu_tmpdir_new();
	if (f->dir == NULL)
		return -1;
	/* sdb_open makes the directories it needs. */
	f->path = tu_path(f->dir, "var/records.db");
	f->db = sdb_open(f->path, err, sizeof(err));
	if (f->db == NULL) {
		fprintf(stderr, "sdb_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sdb_close(f->db);
	EVP_PKEY_free(f->alice.key);
	X509_free(f->alice.cert);
	EVP_PKEY_free(f->bob.key);
	X509_free(f->bob.cert);
	tu_ca_free(&f->ca);
	free(f->path);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	char err[256];

	sdb_close(f->db);
	f->db = sdb_open(f->path, err, sizeof(err));
	if (f->db == NULL)
		fail_msg("reopen: %s", err);
}

static void mk(struct record *r, const struct signer *s, const char *name, const char *data,
	       uint64_t stored, int deleted)
{
	assert_int_equal(record_init(r, name, "sip", data, stored, 600, deleted), 0);
	assert_int_equal(record_sign(r, s->key, s->cert), 0);
}

/* Signs and writes one value (not committed). */
static void put(struct fx *f, const struct signer *s, const char *name, const char *data,
		uint64_t stored)
{
	struct record r;

	mk(&r, s, name, data, stored, 0);
	assert_int_equal(sdb_put(f->db, &r), 0);
	record_clear(&r);
}

#define LOADED_MAX 16

struct loaded {
	int n;
	struct record r[LOADED_MAX];
};

static void take(struct record *r, void *arg)
{
	struct loaded *l = arg;

	assert_true(l->n < LOADED_MAX);
	l->r[l->n++] = *r; /* taken over */
	memset(r, 0, sizeof(*r));
}

static void loaded_free(struct loaded *l)
{
	for (int i = 0; i < l->n; i++)
		record_clear(&l->r[i]);
	l->n = 0;
}

static const struct record *find(const struct loaded *l, const char *name, const struct signer *s)
{
	uint8_t nid[NODE_ID_LEN];

	assert_int_equal(node_id_from_cert(s->cert, nid), 0);
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->r[i].name, name) == 0 &&
		    memcmp(l->r[i].owner.b, nid, NODE_ID_LEN) == 0)
			return &l->r[i];
	return NULL;
}

/* Rows of a table, counted over a connection of its own. */
static int rows(struct fx *f, const char *table)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[64];
	int n = -1;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void exec_sql(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, msg);
		sqlite3_free(msg);
		sqlite3_close(db);
		fail();
	}
	sqlite3_close(db);
}

static void sdb_put_flush_load_round_trips_signed_values(void **state)
{
	struct fx *f = *state;
	struct loaded l = {0};
	struct record del;
	const struct record *r;

	put(f, &f->alice, ALICE, "sip:alice@192.0.2.1:5060", NOW);
	put(f, &f->alice, ALICE "/voicemail", "{\"to\":\"sip:vm@192.0.2.9\"}", NOW + 1);
	mk(&del, &f->bob, BOB, "", NOW + 2, 1); /* a signed deletion */
	assert_int_equal(sdb_put(f->db, &del), 0);
	record_clear(&del);
	assert_int_equal(sdb_flush(f->db), 0);
	reopen(f);

	assert_int_equal(sdb_load(f->db, take, &l), 3);
	assert_int_equal(l.n, 3);
	for (int i = 0; i < l.n; i++)
		assert_true(record_sig_ok(&l.r[i]));
	r = find(&l, ALICE, &f->alice);
	assert_non_null(r);
	assert_string_equal(r->kind, "sip");
	assert_string_equal(r->data, "sip:alice@192.0.2.1:5060");
	assert_int_equal(r->data_len, strlen("sip:alice@192.0.2.1:5060"));
	assert_int_equal(r->stored, NOW);
	assert_int_equal(r->life, 600);
	assert_false(r->deleted);
	{
		struct rid res;
		rid_of_name(ALICE, &res);
		assert_true(rid_eq(&res, &r->res));
	}
	assert_int_equal(X509_cmp(r->cert, f->alice.cert), 0);
	r = find(&l, ALICE "/voicemail", &f->alice);
	assert_non_null(r);
	assert_string_equal(r->data, "{\"to\":\"sip:vm@192.0.2.9\"}");
	r = find(&l, BOB, &f->bob);
	assert_non_null(r);
	assert_true(r->deleted);
	assert_int_equal(r->data_len, 0);
	assert_string_equal(r->data, "");
	loaded_free(&l);

	/* And once more after another reopen: nothing lost, nothing doubled. */
	reopen(f);
	assert_int_equal(sdb_load(f->db, take, &l), 3);
	loaded_free(&l);
}

static void sdb_stores_each_certificate_once(void **state)
{
	struct fx *f = *state;

	put(f, &f->alice, ALICE, "a", NOW);
	put(f, &f->alice, ALICE "/x", "b", NOW);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "vals"), 2);
	assert_int_equal(rows(f, "certs"), 1);
	put(f, &f->bob, BOB, "c", NOW);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "certs"), 2);
	/* A reopened file does not take the certificate twice either. */
	reopen(f);
	put(f, &f->alice, ALICE "/y", "d", NOW);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "vals"), 4);
	assert_int_equal(rows(f, "certs"), 2);
}

static void sdb_put_replaces_the_value_of_the_same_signer(void **state)
{
	struct fx *f = *state;
	struct loaded l = {0};

	put(f, &f->alice, ALICE, "old", NOW);
	put(f, &f->alice, ALICE, "new", NOW + 10);
	put(f, &f->bob, ALICE, "bob's", NOW);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "vals"), 2);
	assert_int_equal(sdb_load(f->db, take, &l), 2);
	assert_string_equal(find(&l, ALICE, &f->alice)->data, "new");
	assert_string_equal(find(&l, ALICE, &f->bob)->data, "bob's");
	loaded_free(&l);
}

static void sdb_delete_removes_the_value_of_that_storage_time(void **state)
{
	struct fx *f = *state;
	struct loaded l = {0};
	struct record a, b;

	mk(&a, &f->alice, ALICE, "a", NOW, 0);
	mk(&b, &f->bob, BOB, "b", NOW, 0);
	assert_int_equal(sdb_put(f->db, &a), 0);
	assert_int_equal(sdb_put(f->db, &b), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(sdb_delete(f->db, &a), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "vals"), 1);
	assert_int_equal(sdb_load(f->db, take, &l), 1);
	assert_non_null(find(&l, BOB, &f->bob));
	loaded_free(&l);
	/* Deleting a value that is not there is no error. */
	assert_int_equal(sdb_delete(f->db, &a), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	/* An expired value's delete does not remove its newer replacement. */
	record_clear(&b);
	mk(&b, &f->bob, BOB, "b2", NOW + 5, 0);
	assert_int_equal(sdb_put(f->db, &b), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	record_clear(&b);
	mk(&b, &f->bob, BOB, "b", NOW, 0);
	assert_int_equal(sdb_delete(f->db, &b), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(sdb_load(f->db, take, &l), 1);
	assert_string_equal(l.r[0].data, "b2");
	loaded_free(&l);
	record_clear(&a);
	record_clear(&b);
}

static void sdb_commits_nothing_before_flush_and_everything_after(void **state)
{
	struct fx *f = *state;
	struct record r;

	assert_int_equal(sdb_pending(f->db), 0);
	assert_int_equal(sdb_flush(f->db), 0); /* nothing to do */
	put(f, &f->alice, ALICE, "a", NOW);
	put(f, &f->bob, BOB, "b", NOW);
	put(f, &f->bob, BOB "/2", "c", NOW);
	assert_int_equal(sdb_pending(f->db), 3);
	assert_int_equal(rows(f, "vals"), 0);
	assert_int_equal(rows(f, "certs"), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(sdb_pending(f->db), 0);
	assert_int_equal(rows(f, "vals"), 3);
	assert_int_equal(rows(f, "certs"), 2);

	mk(&r, &f->alice, ALICE, "a", NOW, 0);
	assert_int_equal(sdb_delete(f->db, &r), 0);
	record_clear(&r);
	assert_int_equal(sdb_pending(f->db), 1);
	assert_int_equal(rows(f, "vals"), 3);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "vals"), 2);

	/* Closing flushes. */
	put(f, &f->alice, ALICE "/z", "z", NOW);
	assert_int_equal(rows(f, "vals"), 2);
	reopen(f);
	assert_int_equal(rows(f, "vals"), 3);
}

static void sdb_load_skips_unreadable_rows_and_loads_the_rest(void **state)
{
	struct fx *f = *state;
	struct loaded l = {0};
	unsigned char fp[32];
	unsigned int n = 0;
	char hex[65], sql[256];

	put(f, &f->alice, ALICE, "a", NOW);
	put(f, &f->alice, ALICE "/2", "a2", NOW);
	put(f, &f->bob, BOB, "b", NOW);
	put(f, &f->bob, BOB "/2", "b2", NOW);
	put(f, &f->bob, BOB "/3", "b3", NOW);
	assert_int_equal(sdb_flush(f->db), 0);

	/* Alice's certificate is no longer DER. */
	assert_int_equal(X509_digest(f->alice.cert, EVP_sha256(), fp, &n), 1);
	assert_int_equal(n, 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", fp[i]);
	snprintf(sql, sizeof(sql), "UPDATE certs SET der = x'3082ffff00' WHERE fp = x'%s'", hex);
	exec_sql(f, sql);
	/* A signature too long, an owner of the wrong size, a bad name. */
	exec_sql(f, "UPDATE vals SET sig = zeroblob(300) WHERE name = '" BOB "/2'");
	exec_sql(f, "UPDATE vals SET owner = x'0102' WHERE name = '" BOB "/3'");
	exec_sql(f, "UPDATE vals SET name = 'bad name' WHERE name = '" BOB "'");
	assert_int_equal(rows(f, "vals"), 5);

	assert_int_equal(sdb_load(f->db, take, &l), 0);
	assert_int_equal(l.n, 0);

	/* Put one of bob's back in order: it loads, the others stay skipped. */
	exec_sql(f, "UPDATE vals SET name = '" BOB "' WHERE name = 'bad name'");
	assert_int_equal(sdb_load(f->db, take, &l), 1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.r[0].data, "b");
	assert_true(record_sig_ok(&l.r[0]));
	loaded_free(&l);
}

/* A commit that fails (disk full) must not leave the file without the
 * certificate of values written after it. The failure is made by a file size
 * limit that stops the WAL from growing. */
static void sdb_after_a_failed_commit_later_values_still_load(void **state)
{
	struct fx *f = *state;
	struct loaded l = {0};
	struct rlimit old, lim;
	struct stat sb;
	char *wal = malloc(strlen(f->path) + 8);
	void (*prev)(int);
	int n, found;

	assert_non_null(wal);
	sprintf(wal, "%s-wal", f->path);
	put(f, &f->bob, BOB, "b", NOW);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(stat(wal, &sb), 0);
	free(wal);

	put(f, &f->alice, ALICE, "lost with the failed commit", NOW);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size;
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(sdb_flush(f->db), -1); /* logs the failure */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	assert_int_equal(sdb_pending(f->db), 0);

	/* The disk has room again: alice stores another value. */
	put(f, &f->alice, ALICE "/2", "after", NOW);
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "vals"), 2);
	assert_int_equal(rows(f, "certs"), 2); /* alice's went with the rollback */
	reopen(f);
	n = sdb_load(f->db, take, &l);
	found = find(&l, ALICE "/2", &f->alice) != NULL;
	loaded_free(&l);
	assert_int_equal(n, 2);
	assert_true(found);
}

static void sdb_open_refuses_an_unusable_path_and_close_takes_null(void **state)
{
	char err[256] = "";
	char *dir = tu_tmpdir_new();
	char *file = tu_path(dir, "plain");
	char *below = tu_path(file, "records.db");
	char junk[4096];

	(void)state;
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(tu_write(file, junk, sizeof(junk)), 0);
	assert_null(sdb_open(below, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	err[0] = '\0';
	assert_null(sdb_open(file, err, sizeof(err))); /* not a database */
	assert_true(strlen(err) > 0);
	sdb_close(NULL);
	free(below);
	free(file);
	tu_tmpdir_free(dir);
}

/* ---- what a restart needs while bootstrapd is down ---- */

static void sdb_cache_rows_round_trip_and_respect_max(void **state)
{
	struct fx *f = *state;
	size_t len = 99;
	int64_t saved = 0;
	char *got;

	assert_null(sdb_cache_get(f->db, "config", 1024, &len, &saved));
	assert_int_equal(len, 0);
	assert_int_equal(sdb_cache_put(f->db, "config", "{\"a\":1}", 7), 0);
	assert_int_equal(sdb_cache_put(f->db, "config", "{\"b\":2}", 7), 0); /* replaces */
	reopen(f);                                                           /* closing flushes */
	got = sdb_cache_get(f->db, "config", 1024, &len, &saved);
	assert_non_null(got);
	assert_int_equal(len, 7);
	assert_memory_equal(got, "{\"b\":2}", 7);
	assert_true(saved > 0);
	free(got);
	assert_null(sdb_cache_get(f->db, "config", 6, &len, NULL)); /* larger than max */
	assert_null(sdb_cache_get(f->db, "crl", 1024, &len, NULL));
}

static void node_at(struct node *n, int i)
{
	char hex[RID_HEX_LEN + 1];

	snprintf(hex, sizeof(hex), "%032x", i + 1);
	assert_int_equal(rid_parse(hex, &n->id), 0);
	snprintf(n->host, sizeof(n->host), "192.0.2.%d", i % 250 + 1);
	n->port = (uint16_t)(7000 + i);
}

static void sdb_ring_members_kept_last_seen_first_at_most_64(void **state)
{
	struct fx *f = *state;
	struct node m[70], out[80];

	assert_int_equal(sdb_ring_load(f->db, out, 80), 0);
	for (int i = 0; i < 70; i++)
		node_at(&m[i], i);
	assert_int_equal(sdb_ring_save(f->db, m, 3), 0);
	reopen(f);
	assert_int_equal(sdb_ring_load(f->db, out, 80), 3);
	assert_int_equal(out[0].port + out[1].port + out[2].port, 7000 + 7001 + 7002);
	for (int i = 3; i < 70; i++) {
		assert_int_equal(sdb_ring_save(f->db, &m[i], 1), 0);
		usleep(1000); /* last_seen in ms orders them */
	}
	assert_int_equal(sdb_flush(f->db), 0);
	assert_int_equal(rows(f, "ring_cache"), SDB_RING_MAX);
	assert_int_equal(sdb_ring_load(f->db, out, 80), SDB_RING_MAX);
	assert_int_equal(out[0].port, 7069);
	assert_string_equal(out[0].host, "192.0.2.70");
	assert_true(rid_eq(&out[0].id, &m[69].id));
	assert_int_equal(sdb_ring_load(f->db, out, 2), 2); /* max bounds what is read */
}

static void sdb_ring_load_skips_garbage_rows(void **state)
{
	struct fx *f = *state;
	struct node m, out[8];

	node_at(&m, 5);
	assert_int_equal(sdb_ring_save(f->db, &m, 1), 0);
	assert_int_equal(sdb_flush(f->db), 0);
	exec_sql(f, "INSERT INTO ring_cache VALUES ('zz', '192.0.2.1', 7000, 9e15);"
		    "INSERT INTO ring_cache VALUES ('"
		    "0000000000000000000000000000000a"
		    "', 'example.com', 7000, 9e15);"
		    "INSERT INTO ring_cache VALUES ('"
		    "0000000000000000000000000000000b"
		    "', '192.0.2.1', 70000, 9e15);"
		    "INSERT INTO ring_cache VALUES (x'00ff', x'0102', 'port', 9e15);");
	assert_int_equal(sdb_ring_load(f->db, out, 8), 1); /* each logged and skipped */
	assert_true(rid_eq(&out[0].id, &m.id));
	assert_int_equal(out[0].port, m.port);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(sdb_put_flush_load_round_trips_signed_values),
		T(sdb_stores_each_certificate_once),
		T(sdb_put_replaces_the_value_of_the_same_signer),
		T(sdb_delete_removes_the_value_of_that_storage_time),
		T(sdb_commits_nothing_before_flush_and_everything_after),
		T(sdb_load_skips_unreadable_rows_and_loads_the_rest),
		T(sdb_after_a_failed_commit_later_values_still_load),
		T(sdb_cache_rows_round_trip_and_respect_max),
		T(sdb_ring_members_kept_last_seen_first_at_most_64),
		T(sdb_ring_load_skips_garbage_rows),
		cmocka_unit_test(sdb_open_refuses_an_unusable_path_and_close_takes_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
