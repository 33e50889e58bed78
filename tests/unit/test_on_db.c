/* on_db: the ordinary node's SQLite file: remembered super nodes (last good
 * first, 16 kept), bindings saved per account and read back after a
 * "restart" with their expiry, instance and reg-id, expired ones left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "on.h"
#include "testutil.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
	char *dir, *path;
	struct on_db *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	log_init("test", LOG_LVL_ERROR);
	if (f == NULL || (f->dir = tu_tmpdir_new()) == NULL)
		return -1;
	f->path = tu_path(f->dir, "ordinarynode.db");
	f->db = on_db_open(f->path, err, sizeof(err));
	if (f->db == NULL) {
		fprintf(stderr, "on_db_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	on_db_close(f->db);
	tu_tmpdir_free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	char err[256];

	on_db_close(f->db);
	f->db = on_db_open(f->path, err, sizeof(err));
	assert_non_null(f->db);
}

static void test_file_private(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
}

/* The super node attached to last comes first; a second attach to the
 * same one moves it up instead of adding a row. */
static void test_sn_order(void **state)
{
	struct fx *f = *state;
	struct sn_addr a[ON_RESERVE_MAX];

	assert_int_equal(on_db_sn_load(f->db, a, ON_RESERVE_MAX), 0);
	on_db_sn_remember(f->db, "192.0.2.1", 7000, "aa");
	usleep(2000);
	on_db_sn_remember(f->db, "192.0.2.2", 7001, "bb");
	reopen(f);
	assert_int_equal(on_db_sn_load(f->db, a, ON_RESERVE_MAX), 2);
	assert_string_equal(a[0].host, "192.0.2.2");
	assert_int_equal(a[0].port, 7001);
	assert_int_equal(a[0].fallback, 0);
	assert_string_equal(a[1].host, "192.0.2.1");
	usleep(2000);
	on_db_sn_remember(f->db, "192.0.2.1", 7000, "aa");
	assert_int_equal(on_db_sn_load(f->db, a, ON_RESERVE_MAX), 2);
	assert_string_equal(a[0].host, "192.0.2.1");
	/* max bounds what is read */
	assert_int_equal(on_db_sn_load(f->db, a, 1), 1);
}

static void test_sn_kept(void **state)
{
	struct fx *f = *state;
	struct sn_addr a[32];
	char host[32];

	for (int i = 0; i < 20; i++) {
		snprintf(host, sizeof(host), "192.0.2.%d", i + 1);
		on_db_sn_remember(f->db, host, 7000, "aa");
		usleep(1500);
	}
	assert_int_equal(on_db_sn_load(f->db, a, 32), 16);
	assert_string_equal(a[0].host, "192.0.2.20");
	assert_string_equal(a[15].host, "192.0.2.5");
}

static void exec_sql(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A damaged or planted row is never dialled: logged and skipped. */
static void test_sn_garbage_skipped(void **state)
{
	struct fx *f = *state;
	struct sn_addr a[8];

	on_db_sn_remember(f->db, "192.0.2.1", 7000, "aa");
	exec_sql(f, "INSERT INTO supernodes VALUES ('example.com', 7001, 'bb', 9e15);"
		    "INSERT INTO supernodes VALUES ('192.0.2.3', 70000, 'cc', 9e15);"
		    "INSERT INTO supernodes VALUES (x'0001', 'port', 'dd', 9e15);"
		    "INSERT INTO supernodes VALUES ('192.0.2.4', -1, 'ee', 9e15);");
	assert_int_equal(on_db_sn_load(f->db, a, 8), 1);
	assert_string_equal(a[0].host, "192.0.2.1");
	assert_int_equal(a[0].port, 7000);
}

/* Super nodes bootstrapd listed come after those attached to, and learning
 * one again does not demote it. */
static void test_sn_learned_after_attached(void **state)
{
	struct fx *f = *state;
	struct sn_addr a[8];

	on_db_sn_learn(f->db, "192.0.2.7", 7007);
	on_db_sn_remember(f->db, "192.0.2.1", 7000, "aa");
	on_db_sn_learn(f->db, "192.0.2.1", 7000);
	reopen(f);
	assert_int_equal(on_db_sn_load(f->db, a, 8), 2);
	assert_string_equal(a[0].host, "192.0.2.1");
	assert_string_equal(a[1].host, "192.0.2.7");
	assert_int_equal(a[1].port, 7007);
}

/* bootstrapd's last answers: kept across a restart, replaced, bounded. */
static void test_cache_rows(void **state)
{
	struct fx *f = *state;
	size_t len = 1;
	int64_t saved = 0;
	char *got;

	assert_null(on_db_cache_get(f->db, "crl", 100, &len, NULL));
	assert_int_equal(len, 0);
	assert_int_equal(on_db_cache_put(f->db, "crl", "\x30\x00\x01", 3), 0);
	assert_int_equal(on_db_cache_put(f->db, "crl", "\x30\x00\x02", 3), 0);
	reopen(f);
	got = on_db_cache_get(f->db, "crl", 100, &len, &saved);
	assert_non_null(got);
	assert_int_equal(len, 3);
	assert_memory_equal(got, "\x30\x00\x02", 3);
	assert_true(saved > 0);
	free(got);
	assert_null(on_db_cache_get(f->db, "crl", 2, &len, NULL));
	assert_int_equal(on_db_cache_put(NULL, "crl", "x", 1), -1);
	assert_null(on_db_cache_get(NULL, "crl", 2, &len, NULL));
}

static void binding(struct on_binding *b, const char *uri, uint64_t life_ms)
{
	memset(b, 0, sizeof(*b));
	str_copy(b->uri, uri, sizeof(b->uri));
	str_copy(b->src, "sip:192.0.2.9:5062;transport=udp", sizeof(b->src));
	str_copy(b->call_id, "cid-1", sizeof(b->call_id));
	str_copy(b->instance, "\"<urn:uuid:00000000-0000-0000-0000-000000000001>\"",
		 sizeof(b->instance));
	str_copy(b->reg_id, "1", sizeof(b->reg_id));
	str_copy(b->host, "parsed fields are not stored", sizeof(b->host));
	b->cseq = 42;
	b->expires_ms = time_mono_ms() + life_ms;
}

struct got {
	int n;
	char account[8][32];
	struct on_binding b[8];
};

static void collect(void *arg, const char *account, const struct on_binding *b)
{
	struct got *g = arg;

	if (g->n < 8) {
		str_copy(g->account[g->n], account, sizeof(g->account[0]));
		g->b[g->n++] = *b;
	}
}

static void test_bindings_round_trip(void **state)
{
	struct fx *f = *state;
	static struct on_reg alice, bob;
	struct on_db_account acc[2] = {{"alice", &alice}, {"bob", &bob}};
	struct got g = {0};
	uint64_t now;
	int64_t left;

	binding(&alice.b[0], "sip:alice@192.0.2.9:5062", 3600 * 1000);
	binding(&alice.b[1], "sip:alice@192.0.2.9:5064", 600 * 1000);
	alice.n = 2;
	bob.n = 0;
	assert_int_equal(on_db_bindings_save(f->db, acc, 2), 0);
	reopen(f);
	assert_int_equal(on_db_bindings_load(f->db, collect, &g), 2);
	assert_int_equal(g.n, 2);
	/* longest-lived first */
	assert_string_equal(g.account[0], "alice");
	assert_string_equal(g.b[0].uri, "sip:alice@192.0.2.9:5062");
	assert_string_equal(g.b[0].src, "sip:192.0.2.9:5062;transport=udp");
	assert_string_equal(g.b[0].call_id, "cid-1");
	assert_string_equal(g.b[0].instance, alice.b[0].instance);
	assert_string_equal(g.b[0].reg_id, "1");
	assert_int_equal(g.b[0].cseq, 42);
	assert_string_equal(g.b[0].host, "");
	now = time_mono_ms();
	left = (int64_t)(g.b[0].expires_ms - now);
	assert_true(left > 3590 * 1000 && left <= 3600 * 1000);
	assert_string_equal(g.b[1].uri, "sip:alice@192.0.2.9:5064");
}

/* Saving an account replaces its rows and leaves other accounts alone. */
static void test_bindings_replace(void **state)
{
	struct fx *f = *state;
	static struct on_reg alice, bob;
	struct on_db_account both[2] = {{"alice", &alice}, {"bob", &bob}};
	struct got g = {0};

	binding(&alice.b[0], "sip:alice@192.0.2.9:5062", 60000);
	alice.n = 1;
	binding(&bob.b[0], "sip:bob@192.0.2.7", 120000);
	bob.n = 1;
	assert_int_equal(on_db_bindings_save(f->db, both, 2), 0);
	alice.n = 0;
	assert_int_equal(on_db_bindings_save(f->db, both, 1), 0);
	assert_int_equal(on_db_bindings_load(f->db, collect, &g), 1);
	assert_string_equal(g.account[0], "bob");
	/* nothing to save: nothing written */
	assert_int_equal(on_db_bindings_save(f->db, both, 0), -1);
}

static void test_bindings_expired(void **state)
{
	struct fx *f = *state;
	static struct on_reg alice;
	struct on_db_account acc = {"alice", &alice};
	struct got g = {0};

	binding(&alice.b[0], "sip:alice@192.0.2.9:5062", 1);
	binding(&alice.b[1], "sip:alice@192.0.2.9:5064", 60000);
	alice.n = 2;
	assert_int_equal(on_db_bindings_save(f->db, &acc, 1), 0);
	usleep(20000);
	assert_int_equal(on_db_bindings_load(f->db, collect, &g), 1);
	assert_string_equal(g.b[0].uri, "sip:alice@192.0.2.9:5064");
}

static void test_null(void **state)
{
	struct sn_addr a[1];
	struct on_db_account acc = {"alice", NULL};

	(void)state;
	on_db_sn_remember(NULL, "192.0.2.1", 1, "aa");
	assert_int_equal(on_db_sn_load(NULL, a, 1), 0);
	assert_int_equal(on_db_bindings_save(NULL, &acc, 1), -1);
	assert_int_equal(on_db_bindings_load(NULL, collect, NULL), -1);
	on_db_close(NULL);
}

static void test_bad_path(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(on_db_open("/proc/nonexistent/x/ordinarynode.db", err, sizeof(err)));
	assert_true(err[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sn_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sn_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sn_garbage_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sn_learned_after_attached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings_expired, setup, teardown),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
