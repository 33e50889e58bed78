/* ratelimit: limits per peer, per sender and per address (the super node's, the gateway's),
 * kept without I/O so that they can be unit tested: token buckets keyed by
 * a Node-ID, a name, or an address's addr_limit_key (common/netlist.h). */
#ifndef P2PSIP_RATELIMIT_H
#define P2PSIP_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATE_KEY_MAX 64 /* bytes of a key (a Node-ID, an account name) */

struct rate_table;

/* A table of at most slots buckets; when full, the bucket used longest ago
 * is given to a new key (it starts full). NULL when out of memory. */
struct rate_table *rate_table_new(int slots);
void rate_table_free(struct rate_table *t);

/* Takes cost tokens from key's bucket, which refills at rate per second up
 * to burst. 1 if they were there (and are taken), 0 if not (nothing
 * taken). A cost over burst never passes. */
int rate_take(struct rate_table *t, const void *key, size_t keylen, double rate, double burst,
	      double cost, uint64_t now_ms);

#endif
