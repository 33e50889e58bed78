/* bootstrapd's database: live super nodes and the cached CRL. */
#include "bootstrapd_db.h"

#include "crl.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
	"CREATE TABLE supernodes ("
	" node_id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" serial TEXT NOT NULL,"
	" addresses TEXT NOT NULL,"
	" load INTEGER NOT NULL DEFAULT 0,"
	" cert_expires INTEGER NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL);"
	"CREATE TABLE crl ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" der BLOB NOT NULL,"
	" number INTEGER NOT NULL,"
	" fetched INTEGER NOT NULL);",
};

sqlite3 *bdb_open(const char *path, char *err, size_t errlen)
{
	return db_open(path, 1, migrations, (int)ARRAY_LEN(migrations), err, errlen);
}

static enum bdb_rc done(sqlite3 *db, sqlite3_stmt *st)
{
	return db_run(db, st) == SQLITE_DONE ? BDB_OK : BDB_ERROR;
}

enum bdb_rc bdb_sn_put(sqlite3 *db, const struct sn_rec *r, int64_t now)
{
	sqlite3_stmt *st = db_stmt(
		db, "INSERT INTO supernodes (node_id, name, serial, addresses, load, cert_expires, "
		    "first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
		    "ON CONFLICT(node_id) DO UPDATE SET name = ?2, serial = ?3, addresses = ?4, "
		    "load = ?5, cert_expires = ?6, last_seen = ?7");

	if (st == NULL)
		return BDB_ERROR;
	sqlite3_bind_text(st, 1, r->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->addresses, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->load);
	sqlite3_bind_int64(st, 6, r->cert_expires);
	sqlite3_bind_int64(st, 7, now);
	return done(db, st);
}

enum bdb_rc bdb_sn_heartbeat(sqlite3 *db, const char *node_id, const char *serial,
			     int64_t cert_expires, int64_t load, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE supernodes SET serial = ?, cert_expires = ?, "
				       "load = ?, last_seen = ? WHERE node_id = ?");
	enum bdb_rc rc;

	if (st == NULL)
		return BDB_ERROR;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cert_expires);
	sqlite3_bind_int64(st, 3, load);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, node_id, -1, SQLITE_STATIC);
	rc = done(db, st);
	if (rc == BDB_OK && sqlite3_changes(db) == 0)
		return BDB_NOT_FOUND;
	return rc;
}

enum bdb_rc bdb_sn_delete(sqlite3 *db, const char *node_id)
{
	sqlite3_stmt *st = db_stmt(db, "DELETE FROM supernodes WHERE node_id = ?");
	enum bdb_rc rc;

	if (st == NULL)
		return BDB_ERROR;
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_STATIC);
	rc = done(db, st);
	if (rc == BDB_OK && sqlite3_changes(db) == 0)
		return BDB_NOT_FOUND;
	return rc;
}

int bdb_sn_expire(sqlite3 *db, int64_t now, int64_t timeout)
{
	sqlite3_stmt *st = db_stmt(db, "DELETE FROM supernodes WHERE last_seen < ? OR "
				       "cert_expires <= ?");

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now - timeout);
	sqlite3_bind_int64(st, 2, now);
	return done(db, st) == BDB_OK ? sqlite3_changes(db) : -1;
}

int bdb_sn_drop_revoked(sqlite3 *db, const struct crl *c)
{
	struct sn_rec *all = NULL;
	size_t n = 0;
	int dropped = 0;

	if (bdb_sn_all(db, &all, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (crl_is_revoked_hex(c, all[i].serial) &&
		    bdb_sn_delete(db, all[i].node_id) == BDB_OK) {
			log_info("super node %s (%s) dropped: certificate %s revoked",
				 all[i].node_id, all[i].name, all[i].serial);
			dropped++;
		}
	}
	bdb_sn_free(all, n);
	return dropped;
}

int bdb_sn_all(sqlite3 *db, struct sn_rec **out, size_t *n)
{
	sqlite3_stmt *st =
		db_stmt(db, "SELECT node_id, name, serial, addresses, load, cert_expires, "
			    "first_seen, last_seen FROM supernodes ORDER BY node_id");
	size_t cap = 0;
	int s;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct sn_rec *r;
		if (*n == cap) {
			struct sn_rec *nb = realloc(*out, (cap ? 2 * cap : 16) * sizeof(**out));
			if (nb == NULL)
				break;
			*out = nb;
			cap = cap ? 2 * cap : 16;
		}
		r = &(*out)[*n];
		memset(r, 0, sizeof(*r));
		db_col_text(st, 0, r->node_id, sizeof(r->node_id));
		db_col_text(st, 1, r->name, sizeof(r->name));
		db_col_text(st, 2, r->serial, sizeof(r->serial));
		r->addresses = strdup((const char *)sqlite3_column_text(st, 3));
		r->load = sqlite3_column_int64(st, 4);
		r->cert_expires = sqlite3_column_int64(st, 5);
		r->first_seen = sqlite3_column_int64(st, 6);
		r->last_seen = sqlite3_column_int64(st, 7);
		(*n)++;
		if (r->addresses == NULL)
			break;
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		bdb_sn_free(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

void bdb_sn_free(struct sn_rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].addresses);
	free(r);
}

int bdb_sn_count(sqlite3 *db)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT count(*) FROM supernodes");
	int n = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int bdb_crl_put(sqlite3 *db, const uint8_t *der, size_t len, int64_t number, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "INSERT OR REPLACE INTO crl (id, der, number, fetched) "
				       "VALUES (1, ?, ?, ?)");

	if (st == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, der, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	sqlite3_bind_int64(st, 3, now);
	return done(db, st) == BDB_OK ? 0 : -1;
}

enum bdb_rc bdb_crl_get(sqlite3 *db, uint8_t **der, size_t *len, int64_t *fetched)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT der, fetched FROM crl WHERE id = 1");
	enum bdb_rc rc = BDB_ERROR;
	int s;

	*der = NULL;
	*len = 0;
	if (st == NULL)
		return BDB_ERROR;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		*der = malloc(n > 0 ? (size_t)n : 1);
		if (*der != NULL) {
			memcpy(*der, sqlite3_column_blob(st, 0), (size_t)n);
			*len = (size_t)n;
			*fetched = sqlite3_column_int64(st, 1);
			rc = BDB_OK;
		}
	} else if (s == SQLITE_DONE) {
		rc = BDB_NOT_FOUND;
	}
	sqlite3_finalize(st);
	return rc;
}
