/* logind's database: users and every certificate issued. */
#include "logind_db.h"

#include "db.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
	"CREATE TABLE users ("
	" name TEXT PRIMARY KEY,"
	" role TEXT NOT NULL CHECK (role IN ('user','supernode')),"
	" pw_hash TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE certs ("
	" serial TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" node_id TEXT NOT NULL,"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" issued INTEGER NOT NULL,"
	" revoked INTEGER,"
	" reason INTEGER,"
	" pem TEXT NOT NULL);"
	"CREATE INDEX certs_by_name ON certs(name);"
	"CREATE INDEX certs_revoked ON certs(revoked) WHERE revoked IS NOT NULL;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES ('crl_number', 0);",
	/* 2: role gateway. SQLite cannot change a CHECK in place: the table
	 * is rebuilt, every row kept, inside the migration's transaction. */
	"CREATE TABLE users_new ("
	" name TEXT PRIMARY KEY,"
	" role TEXT NOT NULL CHECK (role IN ('user','supernode','gateway')),"
	" pw_hash TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"INSERT INTO users_new (name, role, pw_hash, disabled, created, updated)"
	" SELECT name, role, pw_hash, disabled, created, updated FROM users;"
	"DROP TABLE users;"
	"ALTER TABLE users_new RENAME TO users;",
	/* 3: an account of role user that may also hold a supernode
	 * certificate (self-selected super nodes). */
	"ALTER TABLE users ADD COLUMN promotable INTEGER NOT NULL DEFAULT 0;",
};

sqlite3 *ldb_open(const char *path, int create, char *err, size_t errlen)
{
	return db_open(path, create, migrations, (int)ARRAY_LEN(migrations), err, errlen);
}

/* Runs a statement that returns no rows; LDB_EXISTS on a duplicate key. */
static enum ldb_rc step_done(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = db_run(db, st);

	if (rc == SQLITE_DONE)
		return LDB_OK;
	/* Only a duplicate key means "exists"; a CHECK failing is an error. */
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return LDB_EXISTS;
	return LDB_ERROR;
}

enum ldb_rc ldb_user_get(sqlite3 *db, const char *name, struct user_rec *out)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT name, role, pw_hash, disabled, created, updated, "
				       "promotable FROM users WHERE name = ?");
	enum ldb_rc rc = LDB_ERROR;
	int s;

	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		db_col_text(st, 0, out->name, sizeof(out->name));
		db_col_text(st, 1, out->role, sizeof(out->role));
		db_col_text(st, 2, out->pw_hash, sizeof(out->pw_hash));
		out->disabled = sqlite3_column_int(st, 3);
		out->created = sqlite3_column_int64(st, 4);
		out->updated = sqlite3_column_int64(st, 5);
		out->promotable = sqlite3_column_int(st, 6);
		rc = LDB_OK;
	} else if (s == SQLITE_DONE) {
		rc = LDB_NOT_FOUND;
	} else {
		log_error("database: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}

enum ldb_rc ldb_user_add(sqlite3 *db, const char *name, const char *role, const char *hash,
			 int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO users (name, role, pw_hash, disabled, created, "
				       "updated) VALUES (?, ?, ?, 0, ?, ?)");

	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now);
	return step_done(db, st);
}

enum ldb_rc ldb_user_set_promotable(sqlite3 *db, const char *name, int promotable, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE users SET promotable = ?, updated = ? WHERE name = ?");
	enum ldb_rc rc;

	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_int(st, 1, promotable != 0);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = step_done(db, st);
	if (rc == LDB_OK && sqlite3_changes(db) == 0)
		rc = LDB_NOT_FOUND;
	return rc;
}

/* Revokes every live certificate of name; inside the caller's transaction. */
static int revoke_live(sqlite3 *db, const char *name, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE certs SET revoked = ?, reason = ? "
				       "WHERE name = ? AND revoked IS NULL AND not_after > ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, REASON_CESSATION);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	if (step_done(db, st) != LDB_OK)
		return -1;
	return sqlite3_changes(db);
}

static enum ldb_rc user_change(sqlite3 *db, const char *sql, const char *name, int64_t v,
			       int64_t now, int revoke, int *revoked)
{
	sqlite3_stmt *st;
	enum ldb_rc rc;
	int n = 0;

	if (db_begin(db) < 0)
		return LDB_ERROR;
	st = db_stmt(db, sql);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, v);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, now);
	rc = step_done(db, st);
	if (rc != LDB_OK)
		goto fail;
	if (sqlite3_changes(db) == 0) {
		db_rollback(db);
		return LDB_NOT_FOUND;
	}
	if (revoke && (n = revoke_live(db, name, now)) < 0)
		goto fail;
	if (db_commit(db) < 0)
		goto fail;
	if (revoked != NULL)
		*revoked = n;
	return LDB_OK;
fail:
	db_rollback(db);
	return LDB_ERROR;
}

enum ldb_rc ldb_user_del(sqlite3 *db, const char *name, int64_t now, int *revoked)
{
	int n = 0;
	enum ldb_rc rc = user_change(db, "DELETE FROM users WHERE name = ?", name, 0, now, 1, &n);

	if (revoked != NULL)
		*revoked = n;
	return rc;
}

enum ldb_rc ldb_user_set_disabled(sqlite3 *db, const char *name, int disabled, int64_t now,
				  int *revoked)
{
	*revoked = 0;
	return user_change(db, "UPDATE users SET disabled = ?2, updated = ?3 WHERE name = ?1", name,
			   disabled, now, disabled, revoked);
}

enum ldb_rc ldb_user_set_hash(sqlite3 *db, const char *name, const char *hash, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE users SET pw_hash = ?, updated = ? WHERE name = ?");
	enum ldb_rc rc;

	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = step_done(db, st);
	if (rc == LDB_OK && sqlite3_changes(db) == 0)
		return LDB_NOT_FOUND;
	return rc;
}

json_t *ldb_user_list(sqlite3 *db, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT u.name, u.role, u.disabled, u.created, "
				       " (SELECT count(*) FROM certs c WHERE c.name = u.name AND "
				       "  c.revoked IS NULL AND c.not_after > ?), "
				       "u.promotable FROM users u ORDER BY u.name");
	json_t *list = json_array();
	int s;

	if (st == NULL) {
		json_decref(list);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, now);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(
			list, json_pack("{s:s,s:s,s:b,s:I,s:I,s:b}", "name",
					sqlite3_column_text(st, 0), "role", sqlite3_column_text(st, 1),
					"disabled", sqlite3_column_int(st, 2), "created",
					(json_int_t)sqlite3_column_int64(st, 3), "live_certs",
					(json_int_t)sqlite3_column_int64(st, 4), "promotable",
					sqlite3_column_int(st, 5)));
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		json_decref(list);
		return NULL;
	}
	return list;
}

enum ldb_rc ldb_cert_add(sqlite3 *db, const struct cert_rec *c)
{
	sqlite3_stmt *st =
		db_stmt(db, "INSERT INTO certs (serial, name, role, node_id, not_before, "
			    "not_after, issued, pem) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");

	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_text(st, 1, c->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, c->not_before);
	sqlite3_bind_int64(st, 6, c->not_after);
	sqlite3_bind_int64(st, 7, c->issued);
	sqlite3_bind_text(st, 8, c->pem, -1, SQLITE_STATIC);
	return step_done(db, st);
}

static void cert_from_row(sqlite3_stmt *st, struct cert_rec *c)
{
	memset(c, 0, sizeof(*c));
	db_col_text(st, 0, c->serial, sizeof(c->serial));
	db_col_text(st, 1, c->name, sizeof(c->name));
	db_col_text(st, 2, c->role, sizeof(c->role));
	db_col_text(st, 3, c->node_id, sizeof(c->node_id));
	c->not_before = sqlite3_column_int64(st, 4);
	c->not_after = sqlite3_column_int64(st, 5);
	c->issued = sqlite3_column_int64(st, 6);
	c->revoked = sqlite3_column_int64(st, 7);
	c->reason = sqlite3_column_int(st, 8);
}

#define CERT_COLS "serial, name, role, node_id, not_before, not_after, issued, revoked, reason"

enum ldb_rc ldb_cert_get(sqlite3 *db, const char *serial, struct cert_rec *out)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT " CERT_COLS " FROM certs WHERE serial = ?");
	enum ldb_rc rc = LDB_ERROR;
	int s;

	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		cert_from_row(st, out);
		rc = LDB_OK;
	} else if (s == SQLITE_DONE) {
		rc = LDB_NOT_FOUND;
	}
	sqlite3_finalize(st);
	return rc;
}

json_t *ldb_cert_list(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = db_stmt(db, name != NULL ? "SELECT " CERT_COLS " FROM certs "
						      "WHERE name = ? ORDER BY issued, serial"
						    : "SELECT " CERT_COLS " FROM certs "
						      "ORDER BY issued, serial");
	json_t *list = json_array();
	struct cert_rec c;
	int s;

	if (st == NULL) {
		json_decref(list);
		return NULL;
	}
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o;
		cert_from_row(st, &c);
		o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "serial", c.serial, "name", c.name,
			      "role", c.role, "node_id", c.node_id, "not_before",
			      (json_int_t)c.not_before, "not_after", (json_int_t)c.not_after,
			      "issued", (json_int_t)c.issued);
		if (c.revoked != 0) {
			json_object_set_new(o, "revoked", json_integer(c.revoked));
			json_object_set_new(o, "reason", json_string(crl_reason_name(c.reason)));
		}
		json_array_append_new(list, o);
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* Room in *buf (cap elements of elem bytes, n used) for one more: doubled
 * when full. */
static int room_for_one(void **buf, size_t n, size_t *cap, size_t elem)
{
	void *nb;

	if (n < *cap)
		return 0;
	if ((nb = realloc(*buf, 2 * *cap * elem)) == NULL)
		return -1;
	*buf = nb;
	*cap *= 2;
	return 0;
}

int ldb_certs_live(sqlite3 *db, const char *name, int64_t now, struct cert_rec **out, size_t *n)
{
	/* rowid breaks ties between certificates issued in the same second. */
	sqlite3_stmt *st = db_stmt(db, "SELECT " CERT_COLS " FROM certs WHERE name = ? AND "
				       "revoked IS NULL AND not_after > ? ORDER BY issued DESC, "
				       "rowid DESC");
	size_t cap = 8;
	int s;

	*n = 0;
	*out = malloc(cap * sizeof(**out));
	if (st == NULL || *out == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (room_for_one((void **)out, *n, &cap, sizeof(**out)) < 0)
			goto fail;
		cert_from_row(st, &(*out)[(*n)++]);
	}
	if (s != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

enum ldb_rc ldb_cert_revoke(sqlite3 *db, const char *serial, int reason, int64_t now)
{
	struct cert_rec c;
	enum ldb_rc rc = ldb_cert_get(db, serial, &c);
	sqlite3_stmt *st;

	if (rc != LDB_OK)
		return rc;
	if (c.revoked != 0)
		return LDB_EXISTS;
	st = db_stmt(db, "UPDATE certs SET revoked = ?, reason = ? "
			 "WHERE serial = ? AND revoked IS NULL");
	if (st == NULL)
		return LDB_ERROR;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, reason);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	return step_done(db, st);
}

int ldb_crl_entries(sqlite3 *db, int64_t now, struct crl_entry **out, size_t *n)
{
	sqlite3_stmt *st =
		db_stmt(db, "SELECT serial, revoked, reason FROM certs "
			    "WHERE revoked IS NOT NULL AND not_after > ? ORDER BY serial");
	size_t cap = 16;
	int s;

	*n = 0;
	*out = NULL;
	if (st == NULL)
		return -1;
	*out = malloc(cap * sizeof(**out));
	if (*out == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, now);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (room_for_one((void **)out, *n, &cap, sizeof(**out)) < 0)
			goto fail;
		db_col_text(st, 0, (*out)[*n].serial, sizeof((*out)[*n].serial));
		(*out)[*n].revoked = sqlite3_column_int64(st, 1);
		(*out)[*n].reason = sqlite3_column_int(st, 2);
		(*n)++;
	}
	if (s != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}

int ldb_next_crl_number(sqlite3 *db, int64_t *out)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE meta SET value = value + 1 WHERE key = 'crl_number' "
				       "RETURNING value");
	int rc = -1;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int ldb_user_count(sqlite3 *db, int64_t *users, int64_t *supernodes, int64_t *gateways)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT role, COUNT(*) FROM users GROUP BY role");
	int s;

	*users = *supernodes = *gateways = 0;
	if (st == NULL)
		return -1;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *role = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);
		if (role != NULL && strcmp(role, "supernode") == 0)
			*supernodes = n;
		else if (role != NULL && strcmp(role, "gateway") == 0)
			*gateways = n;
		else
			*users += n;
	}
	if (s != SQLITE_DONE)
		log_error("database: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? 0 : -1;
}
