/* SQLite helpers: open in WAL mode, schema versions with migrations. */
#include "db.h"

#include "log.h"
#include "record.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE", NULL, 0);
}

int db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT", NULL, 0);
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		db_exec(db, "ROLLBACK", NULL, 0);
}

int db_user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

sqlite3_stmt *db_stmt(sqlite3 *db, const char *sql)
{
	char err[256];
	sqlite3_stmt *st = db_prepare(db, sql, err, sizeof(err));

	if (st == NULL)
		log_error("database: %s", err);
	return st;
}

int db_run(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT)
		log_error("database: %s", sqlite3_errmsg(db));
	return rc;
}

void db_col_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	str_copy(out, t != NULL ? (const char *)t : "", outlen);
}

static int migrate(sqlite3 *db, const char *const *migrations, int nmig, char *err, size_t errlen)
{
	int v = db_user_version(db);
	char sql[64];

	if (v < 0) {
		err_set(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (v > nmig) {
		err_set(err, errlen, "database schema version %d is newer than this program (%d)",
			v, nmig);
		return -1;
	}
	for (; v < nmig; v++) {
		if (db_begin(db) < 0 || db_exec(db, migrations[v], err, errlen) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, sql, err, errlen) < 0 || db_commit(db) < 0)
			goto fail;
	}
	return 0;
fail:
	db_rollback(db);
	return -1;
}

sqlite3 *db_open(const char *path, int create, const char *const *migrations, int nmig, char *err,
		 size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	char inner[256];

	if (create) {
		/* SQLite creates a file with mode 0644 (less the umask) and its
		 * -wal and -shm files with the mode of the database: databases
		 * hold password hashes and phones' addresses, so 0600. */
		int fd = path[0] != ':' && strncmp(path, "file:", 5) != 0
				 ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)
				 : -1;
		if (fd >= 0)
			close(fd);
		flags |= SQLITE_OPEN_CREATE;
	}
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		err_set(err, errlen, "%s: %s", path,
			db != NULL ? sqlite3_errmsg(db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 1);
	/* WAL keeps readers (sqlite3 CLI, backups) off the writer's back;
	 * synchronous=FULL makes every commit durable across power loss. */
	if (db_exec(db, "PRAGMA journal_mode=WAL", inner, sizeof(inner)) < 0 ||
	    db_exec(db, "PRAGMA synchronous=FULL", inner, sizeof(inner)) < 0 ||
	    db_exec(db, "PRAGMA foreign_keys=ON", inner, sizeof(inner)) < 0) {
		err_set(err, errlen, "%s: %s", path, inner);
		goto fail;
	}
	if (migrate(db, migrations, nmig, inner, sizeof(inner)) < 0) {
		err_set(err, errlen, "%s: %s", path, inner);
		goto fail;
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

void db_close(sqlite3 *db)
{
	if (db != NULL)
		sqlite3_close_v2(db);
}

int db_cache_put(sqlite3 *db, const char *name, const void *data, size_t len)
{
	sqlite3_stmt *st = db_stmt(db, "INSERT OR REPLACE INTO boot_cache (name, data, saved)"
				       " VALUES (?, ?, ?)");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms());
	return db_run(db, st) == SQLITE_DONE ? 0 : -1;
}

void *db_cache_get(sqlite3 *db, const char *name, size_t max, size_t *len, int64_t *saved_ms)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT data, saved FROM boot_cache WHERE name = ?");
	void *out = NULL;
	int n;

	*len = 0;
	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && (n = sqlite3_column_bytes(st, 0)) > 0 &&
	    (size_t)n <= max && (out = malloc((size_t)n)) != NULL) {
		memcpy(out, sqlite3_column_blob(st, 0), (size_t)n);
		*len = (size_t)n;
		if (saved_ms != NULL)
			*saved_ms = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return out;
}
