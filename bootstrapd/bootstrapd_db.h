/* bootstrapd's database: the table of live super nodes and the cached CRL.
 * The only file of bootstrapd that touches SQLite. */
#ifndef P2PSIP_BOOTSTRAPD_DB_H
#define P2PSIP_BOOTSTRAPD_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct crl;

enum bdb_rc {
	BDB_OK = 0,
	BDB_NOT_FOUND,
	BDB_ERROR
};

struct sn_rec {
	char node_id[33];
	char name[65];
	char serial[65];
	char *addresses; /* JSON array text */
	int64_t load;
	int64_t cert_expires;
	int64_t first_seen, last_seen;
};

sqlite3 *bdb_open(const char *path, char *err, size_t errlen);
/* Inserts or replaces the row of r->node_id; last_seen = first_seen = now
 * for a new row. */
enum bdb_rc bdb_sn_put(sqlite3 *db, const struct sn_rec *r, int64_t now);
enum bdb_rc bdb_sn_heartbeat(sqlite3 *db, const char *node_id, const char *serial,
			     int64_t cert_expires, int64_t load, int64_t now);
enum bdb_rc bdb_sn_delete(sqlite3 *db, const char *node_id);
/* Drops rows silent since before now - timeout or whose certificate ended;
 * returns how many, or -1. */
int bdb_sn_expire(sqlite3 *db, int64_t now, int64_t timeout);
/* Drops rows whose serial the CRL lists; returns how many, or -1. */
int bdb_sn_drop_revoked(sqlite3 *db, const struct crl *c);
/* Live rows; caller frees with bdb_sn_free. */
int bdb_sn_all(sqlite3 *db, struct sn_rec **out, size_t *n);
void bdb_sn_free(struct sn_rec *r, size_t n);
int bdb_sn_count(sqlite3 *db);

int bdb_crl_put(sqlite3 *db, const uint8_t *der, size_t len, int64_t number, int64_t now);
/* The cached CRL as stored (malloc'd), or BDB_NOT_FOUND. */
enum bdb_rc bdb_crl_get(sqlite3 *db, uint8_t **der, size_t *len, int64_t *fetched);

#endif
