/* The super node's SQLite file. */
#include "sn_db.h"

#include "db.h"
#include "log.h"
#include "util.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define CERT_SEEN 256 /* certificates known to be in the file already */

static const char *const migrations[] = {
	"CREATE TABLE certs (fp BLOB PRIMARY KEY, der BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE vals ("
	" res BLOB NOT NULL, owner BLOB NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,"
	" data TEXT NOT NULL, stored INTEGER NOT NULL, life INTEGER NOT NULL,"
	" del INTEGER NOT NULL, cert_fp BLOB NOT NULL, sig BLOB NOT NULL,"
	" expires INTEGER NOT NULL, PRIMARY KEY (res, owner)) WITHOUT ROWID;"
	"CREATE INDEX vals_expires ON vals(expires);",
	/* What lets a restart go on with bootstrapd down (issue 16): its last
	 * answers, and the ring members last seen. */
	"CREATE TABLE boot_cache (name TEXT PRIMARY KEY, data BLOB NOT NULL,"
	" saved INTEGER NOT NULL);"
	"CREATE TABLE ring_cache (node_id TEXT PRIMARY KEY, host TEXT NOT NULL,"
	" port INTEGER NOT NULL, last_seen INTEGER NOT NULL);",
};

struct sdb {
	sqlite3 *db;
	sqlite3_stmt *put, *del, *cert;
	size_t pending;
	uint8_t seen[CERT_SEEN][32];
	int nseen;
};

struct sdb *sdb_open(const char *path, char *err, size_t errlen)
{
	struct sdb *d = calloc(1, sizeof(*d));
	char inner[256];

	if (d == NULL)
		return NULL;
	if (mkdir_parents(path, 0700, err, errlen) < 0)
		goto fail;
	d->db = db_open(path, 1, migrations, (int)ARRAY_LEN(migrations), err, errlen);
	if (d->db == NULL)
		goto fail;
	/* Replicas on other nodes carry durability; a commit need not wait for
	 * the disk, only reach the WAL (it survives a crash of the process). */
	if (db_exec(d->db, "PRAGMA synchronous=NORMAL", inner, sizeof(inner)) < 0)
		goto fail;
	d->put =
		db_stmt(d->db, "INSERT OR REPLACE INTO vals (res, owner, name, kind, data, stored,"
			       " life, del, cert_fp, sig, expires) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
	d->del = db_stmt(d->db, "DELETE FROM vals WHERE res = ? AND owner = ? AND stored = ?");
	d->cert = db_stmt(d->db, "INSERT OR IGNORE INTO certs (fp, der) VALUES (?, ?)");
	if (d->put == NULL || d->del == NULL || d->cert == NULL) {
		err_set(err, errlen, "%s: cannot prepare statements", path);
		goto fail;
	}
	return d;
fail:
	sdb_close(d);
	return NULL;
}

void sdb_close(struct sdb *d)
{
	if (d == NULL)
		return;
	if (d->db != NULL)
		sdb_flush(d);
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->del);
	sqlite3_finalize(d->cert);
	db_close(d->db);
	free(d);
}

static int begin(struct sdb *d)
{
	if (d->pending == 0 && db_begin(d->db) < 0)
		return -1;
	d->pending++;
	return 0;
}

static int step(struct sdb *d, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("records database: %s", sqlite3_errmsg(d->db));
		return -1;
	}
	return 0;
}

static int put_cert(struct sdb *d, X509 *cert, uint8_t fp[32])
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len;

	if (X509_digest(cert, EVP_sha256(), fp, &n) != 1)
		return -1;
	for (int i = 0; i < d->nseen; i++)
		if (memcmp(d->seen[i], fp, 32) == 0)
			return 0;
	len = i2d_X509(cert, &der);
	if (len <= 0)
		return -1;
	sqlite3_bind_blob(d->cert, 1, fp, 32, SQLITE_STATIC);
	sqlite3_bind_blob(d->cert, 2, der, len, SQLITE_STATIC);
	if (step(d, d->cert) < 0) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	memcpy(d->seen[d->nseen < CERT_SEEN ? d->nseen++ : (int)(fp[0] % CERT_SEEN)], fp, 32);
	return 0;
}

int sdb_put(struct sdb *d, const struct record *r)
{
	uint8_t fp[32];
	sqlite3_stmt *st = d->put;

	if (begin(d) < 0 || put_cert(d, r->cert, fp) < 0)
		return -1;
	sqlite3_bind_blob(st, 1, r->res.b, RID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->owner.b, RID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->data, (int)r->data_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->stored);
	sqlite3_bind_int64(st, 7, r->life);
	sqlite3_bind_int(st, 8, r->deleted);
	sqlite3_bind_blob(st, 9, fp, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, r->sig, (int)r->sig_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)record_expires_ms(r));
	return step(d, st);
}

int sdb_delete(struct sdb *d, const struct record *r)
{
	if (begin(d) < 0)
		return -1;
	sqlite3_bind_blob(d->del, 1, r->res.b, RID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(d->del, 2, r->owner.b, RID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(d->del, 3, (sqlite3_int64)r->stored);
	return step(d, d->del);
}

int sdb_flush(struct sdb *d)
{
	if (d->pending == 0)
		return 0;
	d->pending = 0;
	if (db_commit(d->db) < 0) {
		log_error("records database: commit failed: %s", sqlite3_errmsg(d->db));
		db_rollback(d->db);
		d->nseen = 0; /* the certificates went with the rollback */
		return -1;
	}
	return 0;
}

size_t sdb_pending(const struct sdb *d)
{
	return d->pending;
}

static int row_to_record(sqlite3_stmt *st, struct record *r)
{
	const unsigned char *der = sqlite3_column_blob(st, 7);
	int derlen = sqlite3_column_bytes(st, 7);
	const unsigned char *p = der;
	int siglen = sqlite3_column_bytes(st, 8);
	X509 *cert;

	if (der == NULL || siglen <= 0 || siglen > SIG_MAX)
		return -1;
	cert = d2i_X509(NULL, &p, derlen);
	if (cert == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (record_init(r, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(uint64_t)sqlite3_column_int64(st, 3),
			(uint32_t)sqlite3_column_int64(st, 4), sqlite3_column_int(st, 5)) < 0) {
		X509_free(cert);
		record_clear(r);
		return -1;
	}
	memcpy(r->sig, sqlite3_column_blob(st, 8), (size_t)siglen);
	r->sig_len = (size_t)siglen;
	rid_from_bytes(sqlite3_column_blob(st, 6), &r->owner);
	r->cert = cert;
	return 0;
}

int sdb_load(struct sdb *d, void (*fn)(struct record *r, void *arg), void *arg)
{
	sqlite3_stmt *st = db_stmt(d->db, "SELECT v.name, v.kind, v.data, v.stored, v.life, v.del,"
					  " v.owner, c.der, v.sig FROM vals v"
					  " JOIN certs c ON c.fp = v.cert_fp");
	int n = 0, rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct record r;
		if (sqlite3_column_bytes(st, 6) != RID_LEN || row_to_record(st, &r) < 0) {
			log_warn("records database: skipping an unreadable row");
			continue;
		}
		fn(&r, arg);
		n++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? n : -1;
}

/* ---- what a restart needs while bootstrapd is down ---- */

int sdb_cache_put(struct sdb *d, const char *name, const void *data, size_t len)
{
	if (begin(d) < 0)
		return -1;
	return db_cache_put(d->db, name, data, len);
}

void *sdb_cache_get(struct sdb *d, const char *name, size_t max, size_t *len, int64_t *saved_ms)
{
	return db_cache_get(d->db, name, max, len, saved_ms);
}

int sdb_ring_save(struct sdb *d, const struct node *nodes, int n)
{
	sqlite3_stmt *st = db_stmt(d->db, "INSERT OR REPLACE INTO ring_cache"
					  " (node_id, host, port, last_seen) VALUES (?, ?, ?, ?)");
	char hex[RID_HEX_LEN + 1];
	int rc = 0;

	if (st == NULL || begin(d) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		rid_hex(&nodes[i].id, hex);
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, nodes[i].host, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, nodes[i].port);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ms());
		rc = step(d, st);
	}
	sqlite3_finalize(st);
	st = db_stmt(d->db, "DELETE FROM ring_cache WHERE node_id NOT IN (SELECT node_id"
			    " FROM ring_cache ORDER BY last_seen DESC LIMIT " SDB_RING_MAX_STR ")");
	if (st == NULL || db_run(d->db, st) != SQLITE_DONE)
		rc = -1;
	return rc;
}

/* A row someone else wrote (or a damaged file) is read with the checks of
 * an address a peer gave. */
static int row_to_node(sqlite3_stmt *st, struct node *out)
{
	char hex[RID_HEX_LEN + 2];
	int64_t port = sqlite3_column_int64(st, 2);

	db_col_text(st, 0, hex, sizeof(hex));
	db_col_text(st, 1, out->host, sizeof(out->host));
	if (strlen(hex) != RID_HEX_LEN || rid_parse(hex, &out->id) < 0 || !addr_is_ip(out->host) ||
	    port < 1 || port > 65535)
		return -1;
	out->port = (uint16_t)port;
	return 0;
}

int sdb_ring_load(struct sdb *d, struct node *out, int max)
{
	sqlite3_stmt *st = db_stmt(d->db, "SELECT node_id, host, port FROM ring_cache"
					  " ORDER BY last_seen DESC");
	int n = 0;

	if (st == NULL)
		return -1;
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		if (row_to_node(st, &out[n]) < 0) {
			log_warn("records database: skipping an unreadable row of ring members");
			continue;
		}
		n++;
	}
	sqlite3_finalize(st);
	return n;
}
