/* The super node's SQLite file: every value it holds, so that a restarted
 * node serves what it held. Writes are grouped into transactions that the
 * caller commits with sdb_flush (a timer); the only file touching SQLite. */
#ifndef P2PSIP_SN_DB_H
#define P2PSIP_SN_DB_H

#include <stddef.h>

#include "record.h"
#include "sn_ring.h"

/* Ring members kept for a restart while bootstrapd is down. */
#define SDB_RING_MAX 64
#define SDB_RING_MAX_STR "64"

struct sdb;

struct sdb *sdb_open(const char *path, char *err, size_t errlen);
void sdb_close(struct sdb *db); /* flushes first */
int sdb_put(struct sdb *db, const struct record *r);
int sdb_delete(struct sdb *db, const struct record *r);
/* Commits what is pending; 0 when there was nothing or it went well. */
int sdb_flush(struct sdb *db);
size_t sdb_pending(const struct sdb *db);
/* Calls fn with every stored value (fn takes the record over or clears it).
 * Returns how many were read, or -1. */
int sdb_load(struct sdb *db, void (*fn)(struct record *r, void *arg), void *arg);

/* A named cache row (bootstrapd's last configuration, the last verified
 * CRL), written in the pending transaction. 0 or -1. */
int sdb_cache_put(struct sdb *db, const char *name, const void *data, size_t len);
/* The row's bytes (malloc'd, *len set) and when they were saved, or NULL
 * when there is none, it is empty or larger than max. */
void *sdb_cache_get(struct sdb *db, const char *name, size_t max, size_t *len, int64_t *saved_ms);
/* Upserts these ring members as seen now; only the SDB_RING_MAX last seen
 * are kept. 0 or -1. */
int sdb_ring_save(struct sdb *db, const struct node *nodes, int n);
/* The ring members, last seen first, at most max; rows that do not read as
 * a Node-ID, an IP address and a port are skipped with a log line. How
 * many, or -1. */
int sdb_ring_load(struct sdb *db, struct node *out, int max);

#endif
