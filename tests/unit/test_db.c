/* Unit tests of common/db.c: db_open creates the file, runs migrations in
 * order inside transactions and records PRAGMA user_version; a reopen runs
 * only the new ones; a newer database is refused; a failing migration
 * leaves the previous version intact; WAL and the other pragmas are set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "testutil.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Each migration fails if run twice (no IF NOT EXISTS), and the second
 * depends on the first, so order and exactly-once are both visible. */
static const char *const migs[] = {
	"CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);",
	"ALTER TABLE a ADD COLUMN y INTEGER; UPDATE a SET y = x + 1;",
	"CREATE TABLE b (z TEXT); INSERT INTO b SELECT 'from ' || y FROM a;",
};

struct fx {
	char *dir;
	char *path;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->dir = tu_tmpdir_new()) == NULL)
		return -1;
	f->path = tu_path(f->dir, "t.db");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->path);
	tu_tmpdir_free(f->dir);
	free(f);
	return 0;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql, NULL, 0);
	int64_t v = -999;

	assert_non_null(st);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql, NULL, 0);
	char *v = NULL;

	assert_non_null(st);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void test_open_creates_and_runs_migrations_in_order(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	sqlite3 *db;
	char *z;

	assert_int_equal(file_exists(f->path), 0);
	db = db_open(f->path, 1, migs, 3, err, sizeof(err));
	if (db == NULL)
		fail_msg("db_open: %s", err);
	assert_int_equal(file_exists(f->path), 1);
	assert_int_equal(db_user_version(db), 3);
	assert_int_equal(query_int(db, "SELECT y FROM a"), 2);
	z = query_text(db, "SELECT z FROM b");
	assert_string_equal(z, "from 2");
	free(z);
	db_close(db);
}

static void test_reopen_runs_nothing_already_applied(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	sqlite3 *db = db_open(f->path, 1, migs, 2, err, sizeof(err));

	assert_non_null(db);
	assert_int_equal(db_user_version(db), 2);
	db_close(db);
	/* Same migrations: a second run of either would fail. */
	db = db_open(f->path, 0, migs, 2, err, sizeof(err));
	if (db == NULL)
		fail_msg("reopen: %s", err);
	assert_int_equal(db_user_version(db), 2);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	db_close(db);
	/* One more: only the third runs. */
	db = db_open(f->path, 0, migs, 3, err, sizeof(err));
	if (db == NULL)
		fail_msg("upgrade: %s", err);
	assert_int_equal(db_user_version(db), 3);
	assert_int_equal(query_int(db, "SELECT count(*) FROM b"), 1);
	db_close(db);
}

static void test_newer_database_is_refused(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	sqlite3 *db = db_open(f->path, 1, migs, 3, err, sizeof(err));

	assert_non_null(db);
	db_close(db);
	assert_null(db_open(f->path, 0, migs, 2, err, sizeof(err)));
	assert_contains(err, f->path);
	assert_contains(err, "schema version 3 is newer than this program (2)");
	/* And left as it was. */
	db = db_open(f->path, 0, migs, 3, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_user_version(db), 3);
	db_close(db);
}

static void test_failing_migration_rolls_back_and_keeps_the_version(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		migs[0],
		"CREATE TABLE half (x); INSERT INTO half VALUES (1); INSERT INTO nosuch VALUES "
		"(1);",
	};
	char err[256] = "";
	sqlite3 *db;

	assert_null(db_open(f->path, 1, bad, 2, err, sizeof(err)));
	assert_contains(err, "no such table: nosuch");
	/* Migration 1 committed, migration 2 left no trace. */
	db = db_open(f->path, 0, migs, 1, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_user_version(db), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'"),
			 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	db_close(db);
}

static void test_wal_and_pragmas_are_on(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	sqlite3 *db = db_open(f->path, 1, migs, 1, err, sizeof(err));
	char *mode;

	assert_non_null(db);
	mode = query_text(db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	db_close(db);
}

/* Databases hold password hashes and phones' addresses: a new one and its
 * WAL are readable by their owner only, whatever the umask lets through. */
static void test_a_new_database_and_its_wal_are_0600(void **state)
{
	struct fx *f = *state;
	char err[256], *wal = tu_path(f->dir, "t.db-wal");
	mode_t old = umask(022);
	struct stat st;
	sqlite3 *db;

	db = db_open(f->path, 1, migs, 3, err, sizeof(err));
	umask(old);
	assert_non_null(db);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	db_close(db);
	free(wal);
}

static void test_open_without_create_refuses_a_missing_file(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	assert_null(db_open(f->path, 0, migs, 1, err, sizeof(err)));
	assert_contains(err, f->path);
	assert_int_equal(file_exists(f->path), 0);
}

static void test_open_refuses_a_file_that_is_not_a_database(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	char junk[4096];

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(tu_write(f->path, junk, sizeof(junk)), 0);
	assert_null(db_open(f->path, 0, migs, 1, err, sizeof(err)));
	assert_contains(err, f->path);
}

static void test_zero_migrations_leave_version_zero(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	sqlite3 *db = db_open(f->path, 1, NULL, 0, err, sizeof(err));

	assert_non_null(db);
	assert_int_equal(db_user_version(db), 0);
	db_close(db);
	db_close(NULL);
}

static void test_exec_prepare_and_transactions(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	sqlite3 *db = db_open(f->path, 1, migs, 1, err, sizeof(err));

	assert_non_null(db);
	assert_int_equal(db_exec(db, "INSERT INTO a VALUES (5)", err, sizeof(err)), 0);
	assert_int_equal(db_exec(db, "INSERT INTO nosuch VALUES (5)", err, sizeof(err)), -1);
	assert_contains(err, "no such table");
	assert_null(db_prepare(db, "SELEC 1", err, sizeof(err)));
	assert_contains(err, "syntax error");

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO a VALUES (6)", NULL, 0), 0);
	db_rollback(db);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a WHERE x = 6"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO a VALUES (7)", NULL, 0), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a WHERE x = 7"), 1);
	/* Rollback outside a transaction does nothing; commit fails. */
	db_rollback(db);
	assert_int_equal(db_commit(db), -1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 3);
	db_close(db);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates_and_runs_migrations_in_order),
		T(test_reopen_runs_nothing_already_applied),
		T(test_newer_database_is_refused),
		T(test_failing_migration_rolls_back_and_keeps_the_version),
		T(test_wal_and_pragmas_are_on),
		T(test_a_new_database_and_its_wal_are_0600),
		T(test_open_without_create_refuses_a_missing_file),
		T(test_open_refuses_a_file_that_is_not_a_database),
		T(test_zero_migrations_leave_version_zero),
		T(test_exec_prepare_and_transactions),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
