/* The ordinary node's SQLite file (state_dir/ordinarynode.db): the phones'
 * bindings, so that a restart loses none, and the super nodes it was last
 * attached to, tried first at the next start. The only file touching SQLite. */
#include "on.h"

#include "db.h"
#include "log.h"
#include "record.h"
#include "util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct on_db {
	sqlite3 *db;
};

static const char *const migrations[] = {
	"CREATE TABLE bindings (account TEXT NOT NULL, uri TEXT NOT NULL, src TEXT NOT NULL,"
	" call_id TEXT NOT NULL, cseq INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" PRIMARY KEY (account, uri));"
	"CREATE TABLE supernodes (host TEXT NOT NULL, port INTEGER NOT NULL,"
	" node_id TEXT NOT NULL, last_ok INTEGER NOT NULL, PRIMARY KEY (host, port));",
	/* RFC 5626 instance and reg-id of each binding (issue 11). */
	"ALTER TABLE bindings ADD COLUMN instance TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE bindings ADD COLUMN reg_id TEXT NOT NULL DEFAULT '';",
	/* bootstrapd's last configuration and CRL, for a start while it is
	 * down (issue 16). */
	"CREATE TABLE boot_cache (name TEXT PRIMARY KEY, data BLOB NOT NULL,"
	" saved INTEGER NOT NULL);",
};

struct on_db *on_db_open(const char *path, char *err, size_t errlen)
{
	struct on_db *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	d->db = db_open(path, 1, migrations, (int)ARRAY_LEN(migrations), err, errlen);
	if (d->db == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void on_db_close(struct on_db *d)
{
	if (d == NULL)
		return;
	db_close(d->db);
	free(d);
}

void on_db_sn_remember(struct on_db *d, const char *host, uint16_t port, const char *node_id)
{
	sqlite3_stmt *st;

	if (d == NULL)
		return;
	st = db_stmt(d->db, "INSERT OR REPLACE INTO supernodes (host, port, node_id, last_ok)"
			    " VALUES (?, ?, ?, ?)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, port);
		sqlite3_bind_text(st, 3, node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)now_ms());
		db_run(d->db, st);
	}
	st = db_stmt(d->db, "DELETE FROM supernodes WHERE rowid NOT IN"
			    " (SELECT rowid FROM supernodes ORDER BY last_ok DESC LIMIT 16)");
	if (st != NULL)
		db_run(d->db, st);
}

void on_db_sn_learn(struct on_db *d, const char *host, uint16_t port)
{
	sqlite3_stmt *st;

	if (d == NULL)
		return;
	/* last_ok 0: after every super node this node was attached to. */
	st = db_stmt(d->db, "INSERT OR IGNORE INTO supernodes (host, port, node_id, last_ok)"
			    " VALUES (?, ?, '', 0)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, port);
		db_run(d->db, st);
	}
	st = db_stmt(d->db, "DELETE FROM supernodes WHERE rowid NOT IN"
			    " (SELECT rowid FROM supernodes ORDER BY last_ok DESC LIMIT 16)");
	if (st != NULL)
		db_run(d->db, st);
}

int on_db_sn_load(struct on_db *d, struct sn_addr *out, int max)
{
	sqlite3_stmt *st = d != NULL ? db_stmt(d->db, "SELECT host, port FROM supernodes"
						      " ORDER BY last_ok DESC")
				     : NULL;
	int n = 0;

	if (st == NULL)
		return 0;
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct sn_addr *a = &out[n];
		db_col_text(st, 0, a->host, sizeof(a->host));
		a->fallback = 0;
		/* A damaged row is never an address to dial. */
		if (!addr_is_ip(a->host) || sqlite3_column_int64(st, 1) < 1 ||
		    sqlite3_column_int64(st, 1) > 65535) {
			log_warn("ordinarynode.db: skipping an unreadable row of super nodes");
			continue;
		}
		a->port = (uint16_t)sqlite3_column_int(st, 1);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

int on_db_cache_put(struct on_db *d, const char *name, const void *data, size_t len)
{
	return d != NULL ? db_cache_put(d->db, name, data, len) : -1;
}

void *on_db_cache_get(struct on_db *d, const char *name, size_t max, size_t *len, int64_t *saved_ms)
{
	*len = 0;
	return d != NULL ? db_cache_get(d->db, name, max, len, saved_ms) : NULL;
}

/* One account's rows: its old ones out, its bindings in. Expiry is kept as
 * wall-clock time, so that it means the same after a restart. */
static void save_account(sqlite3_stmt *del, sqlite3_stmt *ins, const struct on_db_account *a,
			 uint64_t mono, uint64_t wall)
{
	const struct on_reg *g = a->reg;

	sqlite3_bind_text(del, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_step(del);
	sqlite3_reset(del);
	for (int k = 0; k < g->n; k++) {
		const struct on_binding *b = &g->b[k];
		sqlite3_bind_text(ins, 1, a->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, b->uri, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, b->src, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, b->call_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, b->cseq);
		sqlite3_bind_int64(ins, 6, (sqlite3_int64)(wall + (b->expires_ms - mono)));
		sqlite3_bind_text(ins, 7, b->instance, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 8, b->reg_id, -1, SQLITE_STATIC);
		sqlite3_step(ins);
		sqlite3_reset(ins);
	}
}

int on_db_bindings_save(struct on_db *d, const struct on_db_account *acc, int n)
{
	sqlite3_stmt *del, *ins;
	uint64_t mono = time_mono_ms(), wall = now_ms();
	int rc = -1;

	if (d == NULL || n == 0 || db_begin(d->db) < 0)
		return -1;
	del = db_stmt(d->db, "DELETE FROM bindings WHERE account = ?");
	ins = db_stmt(d->db, "INSERT OR REPLACE INTO bindings (account, uri, src, call_id, cseq,"
			     " expires, instance, reg_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (del != NULL && ins != NULL) {
		for (int i = 0; i < n; i++)
			save_account(del, ins, &acc[i], mono, wall);
		rc = 0;
	}
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	if (db_commit(d->db) < 0)
		log_warn("bindings could not be saved");
	return rc;
}

int on_db_bindings_load(struct on_db *d,
			void (*fn)(void *arg, const char *account, const struct on_binding *b),
			void *arg)
{
	sqlite3_stmt *st;
	uint64_t mono = time_mono_ms(), wall = now_ms();
	int rows = 0;

	if (d == NULL)
		return -1;
	st = db_stmt(d->db, "SELECT account, uri, src, call_id, cseq, expires, instance, reg_id"
			    " FROM bindings WHERE expires > ? ORDER BY expires DESC");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)wall);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char name[128];
		struct on_binding b = {0};

		db_col_text(st, 0, name, sizeof(name));
		db_col_text(st, 1, b.uri, sizeof(b.uri));
		db_col_text(st, 2, b.src, sizeof(b.src));
		db_col_text(st, 3, b.call_id, sizeof(b.call_id));
		b.cseq = (uint32_t)sqlite3_column_int64(st, 4);
		b.expires_ms = mono + (uint64_t)(sqlite3_column_int64(st, 5) - (sqlite3_int64)wall);
		db_col_text(st, 6, b.instance, sizeof(b.instance));
		db_col_text(st, 7, b.reg_id, sizeof(b.reg_id));
		fn(arg, name, &b);
		rows++;
	}
	sqlite3_finalize(st);
	return rows;
}
