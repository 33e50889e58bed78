/* SQLite helpers: open in WAL mode, schema versions with migrations. */
#ifndef P2PSIP_DB_H
#define P2PSIP_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Opens (creating if asked) the database and brings its schema up to date:
 * migrations[i] turns version i into version i+1 (PRAGMA user_version),
 * each in its own transaction. A database newer than the program is refused. */
sqlite3 *db_open(const char *path, int create, const char *const *migrations, int nmig, char *err,
		 size_t errlen);
void db_close(sqlite3 *db);
int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
int db_begin(sqlite3 *db); /* BEGIN IMMEDIATE */
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);
int db_user_version(sqlite3 *db);
/* Prepares a statement; NULL with err filled on failure. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* The same, logging the failure (a bad statement is a programming error). */
sqlite3_stmt *db_stmt(sqlite3 *db, const char *sql);
/* Steps a statement that returns no rows and finalizes it. Returns SQLite's
 * code (SQLITE_DONE on success); failures other than constraints are logged. */
int db_run(sqlite3 *db, sqlite3_stmt *st);
/* Copies a text column ("" for NULL) into a caller's buffer. */
void db_col_text(sqlite3_stmt *st, int col, char *out, size_t outlen);

/* The table both nodes keep what a restart needs in while bootstrapd is down
 * (boot_cache: name TEXT PRIMARY KEY, data BLOB, saved INTEGER ms). */
/* Writes one row, saved now: 0, or -1. */
int db_cache_put(sqlite3 *db, const char *name, const void *data, size_t len);
/* One row's data (malloc'd, for the caller to free) when it has 1..max
 * bytes, with its length and saved_ms (may be NULL); NULL otherwise. */
void *db_cache_get(sqlite3 *db, const char *name, size_t max, size_t *len, int64_t *saved_ms);

#endif
