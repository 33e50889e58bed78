/* 128-bit identifiers on the overlay's ring (Node-IDs and Resource-IDs) and
 * the interval arithmetic Chord needs. */
#ifndef P2PSIP_RINGID_H
#define P2PSIP_RINGID_H

#include <stddef.h>
#include <stdint.h>

#define RID_LEN 16
#define RID_HEX_LEN 32

struct rid {
	uint8_t b[RID_LEN]; /* big-endian */
};

int rid_cmp(const struct rid *a, const struct rid *b);
int rid_eq(const struct rid *a, const struct rid *b);
/* x in the open interval (a, b) going clockwise; a == b means the whole
 * ring but a. */
int rid_in_open(const struct rid *x, const struct rid *a, const struct rid *b);
/* x in (a, b]; a == b means the whole ring. */
int rid_in_half(const struct rid *x, const struct rid *a, const struct rid *b);
/* out = a + 2^k (mod 2^128), 0 <= k < 128. */
void rid_add_pow2(const struct rid *a, int k, struct rid *out);
/* Clockwise distance from a to b as a 128-bit number. */
void rid_dist(const struct rid *a, const struct rid *b, struct rid *out);

void rid_hex(const struct rid *id, char out[RID_HEX_LEN + 1]);
/* Accepts 32 hex digits in either case. */
int rid_parse(const char *hex, struct rid *out);
/* Resource-ID: the first 128 bits of SHA-256 of the name. */
void rid_of_name(const char *name, struct rid *out);
void rid_from_bytes(const uint8_t b[RID_LEN], struct rid *out);

#endif
