/* 128-bit identifiers on the overlay's ring. */
#include "ringid.h"

#include "util.h"

#include <openssl/sha.h>
#include <string.h>

int rid_cmp(const struct rid *a, const struct rid *b)
{
	return memcmp(a->b, b->b, RID_LEN);
}

int rid_eq(const struct rid *a, const struct rid *b)
{
	return memcmp(a->b, b->b, RID_LEN) == 0;
}

int rid_in_open(const struct rid *x, const struct rid *a, const struct rid *b)
{
	int ab = rid_cmp(a, b);

	if (ab < 0)
		return rid_cmp(a, x) < 0 && rid_cmp(x, b) < 0;
	if (ab > 0)
		return rid_cmp(a, x) < 0 || rid_cmp(x, b) < 0;
	return !rid_eq(x, a);
}

int rid_in_half(const struct rid *x, const struct rid *a, const struct rid *b)
{
	if (rid_eq(a, b))
		return 1;
	return rid_in_open(x, a, b) || rid_eq(x, b);
}

void rid_add_pow2(const struct rid *a, int k, struct rid *out)
{
	int byte = RID_LEN - 1 - k / 8;
	unsigned carry = 1u << (k % 8);

	*out = *a;
	for (int i = byte; i >= 0 && carry != 0; i--) {
		unsigned v = out->b[i] + carry;
		out->b[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

void rid_dist(const struct rid *a, const struct rid *b, struct rid *out)
{
	int borrow = 0;

	for (int i = RID_LEN - 1; i >= 0; i--) {
		int v = (int)b->b[i] - (int)a->b[i] - borrow;
		borrow = v < 0;
		out->b[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
}

void rid_hex(const struct rid *id, char out[RID_HEX_LEN + 1])
{
	hex_encode(id->b, RID_LEN, out);
}

int rid_parse(const char *hex, struct rid *out)
{
	return hex_decode(hex, out->b, RID_LEN);
}

void rid_of_name(const char *name, struct rid *out)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256((const uint8_t *)name, strlen(name), md);
	memcpy(out->b, md, RID_LEN);
}

void rid_from_bytes(const uint8_t b[RID_LEN], struct rid *out)
{
	memcpy(out->b, b, RID_LEN);
}
