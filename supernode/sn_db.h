/* The super node's SQLite file: every value it holds, so that a restarted
 * node serves what it held. Writes are grouped into transactions that the
 * caller commits with sdb_flush (a timer); the only file touching SQLite. */
#ifndef P2PSIP_SN_DB_H
#define P2PSIP_SN_DB_H

#include <stddef.h>

#include "record.h"

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

#endif
