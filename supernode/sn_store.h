/* The records a super node holds (its own range and replicas of others), in
 * memory, with the overlay's limits. Pure: persistence is sn_db's job. */
#ifndef P2PSIP_SN_STORE_H
#define P2PSIP_SN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct store;

struct store_limits {
	size_t value_max;          /* bytes of data */
	int values_per_resource;   /* dictionary entries */
	int records_per_user;      /* values one signer name may hold here */
	uint32_t lifetime_max;     /* seconds */
};

enum store_rc {
	STORE_OK = 0,
	STORE_STALE,     /* not newer than what is held */
	STORE_EXPIRED,   /* already past its lifetime */
	STORE_FUTURE,    /* storage time too far ahead */
	STORE_TOO_BIG,   /* data over value_max */
	STORE_TOO_LONG,  /* lifetime over lifetime_max */
	STORE_FULL,      /* values_per_resource reached */
	STORE_QUOTA,     /* records_per_user reached */
	STORE_NOMEM,
};

const char *store_rc_str(enum store_rc rc);

struct store *store_new(void);
void store_free(struct store *st);

/* Takes r (moved in on STORE_OK, and r is cleared; left to the caller
 * otherwise). lim NULL skips the size, count and quota limits (values read
 * back from this node's own database). Time rules always apply. On
 * STORE_OK, *held (if not NULL) points at the value in the store, valid
 * until the next change. */
enum store_rc store_put(struct store *st, struct record *r, uint64_t now,
			const struct store_limits *lim, const struct record **held);

/* All values held for a resource, deletions and not yet swept expired ones
 * included (callers skip what they must not show); n 0 when there are none.
 * The array stays valid until the next change of the store. */
const struct record *store_get(struct store *st, const struct rid *res, int *n);

/* Calls fn for every value whose resource lies in (from, to] (the whole
 * store when from == to), in no particular order. */
void store_each_in(struct store *st, const struct rid *from, const struct rid *to,
		   void (*fn)(const struct record *r, void *arg), void *arg);
/* Drops expired values; fn sees each one before it goes. Returns how many. */
int store_expire(struct store *st, uint64_t now, void (*fn)(const struct record *r, void *arg),
		 void *arg);

size_t store_values(const struct store *st);
size_t store_resources(const struct store *st);

#endif
