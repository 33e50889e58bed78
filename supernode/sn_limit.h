/* sn_limit: the super node's limits per peer, per sender and per address,
 * kept without I/O so that they can be unit tested: token buckets keyed by
 * a Node-ID or a name, and the key an IP address is counted under (IPv6 by
 * its /64). */
#ifndef P2PSIP_SN_LIMIT_H
#define P2PSIP_SN_LIMIT_H

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

/* The key an address's limits count under, written to out: an IPv4
 * address as it is, an IPv6 address by its /64 ("2001:db8:1:2::/64"), an
 * IPv4-mapped IPv6 address as its IPv4 address. Anything that is not an IP
 * address is copied as it is. */
void addr_limit_key(const char *addr, char *out, size_t len);

#endif
