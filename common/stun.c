/* STUN Binding messages (RFC 5389): parsing and building. */
#include "stun.h"

#include <netinet/in.h>
#include <string.h>

#define ATTR_MAPPED 0x0001
#define ATTR_USERNAME 0x0006
#define ATTR_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_UNKNOWN 0x000A
#define ATTR_REALM 0x0014
#define ATTR_NONCE 0x0015
#define ATTR_XOR_MAPPED 0x0020
#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_SOFTWARE 0x8022
#define ATTR_ALTERNATE 0x8023
#define ATTR_FINGERPRINT 0x8028
#define ATTR_ICE_CONTROLLED 0x8029
#define ATTR_ICE_CONTROLLING 0x802A
#define FINGERPRINT_XOR 0x5354554eu

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t stun_crc32(const uint8_t *b, size_t n)
{
	static uint32_t table[256];
	uint32_t c = 0xFFFFFFFFu;

	if (table[1] == 0)
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;
			for (int k = 0; k < 8; k++)
				v = (v & 1) ? 0xEDB88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

int stun_is_stun(const uint8_t *b, size_t n)
{
	return n >= STUN_HEADER && (b[0] & 0xC0) == 0 && get32(b + 4) == STUN_MAGIC &&
	       (get16(b + 2) & 3) == 0 && (size_t)get16(b + 2) + STUN_HEADER == n;
}

/* A (XOR-)MAPPED-ADDRESS value into ss. */
static int parse_addr(const uint8_t *v, size_t len, int xor, const uint8_t *tid,
		      struct sockaddr_storage *ss)
{
	uint16_t port;

	if (len < 4)
		return -1;
	port = get16(v + 2) ^ (xor ? (uint16_t)(STUN_MAGIC >> 16) : 0);
	memset(ss, 0, sizeof(*ss));
	if (v[1] == 1 && len == 8) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		uint32_t a = get32(v + 4) ^ (xor ? STUN_MAGIC : 0);
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(a);
		return 0;
	}
	if (v[1] == 2 && len == 20) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		uint8_t key[16];
		put32(key, STUN_MAGIC);
		memcpy(key + 4, tid, STUN_TID_LEN);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		for (int i = 0; i < 16; i++)
			in6->sin6_addr.s6_addr[i] = v[4 + i] ^ (xor ? key[i] : 0);
		return 0;
	}
	return -1;
}

/* One attribute at b + off (type at, value v of len bytes) into m. */
static int parse_attr(const uint8_t *b, size_t off, uint16_t at, const uint8_t *v, uint16_t len,
		      struct stun_msg *m, int *have_xor)
{
	switch (at) {
	case ATTR_MAPPED:
	case ATTR_XOR_MAPPED: {
		struct sockaddr_storage ss;
		if (parse_addr(v, len, at == ATTR_XOR_MAPPED, m->tid, &ss) < 0)
			return -1;
		if (at == ATTR_XOR_MAPPED || !*have_xor)
			m->mapped = ss; /* XOR-MAPPED-ADDRESS wins */
		*have_xor |= at == ATTR_XOR_MAPPED;
		m->has_mapped = 1;
		return 0;
	}
	case ATTR_ERROR_CODE:
		if (len < 4)
			return -1;
		m->error_code = (v[2] & 7) * 100 + v[3];
		return 0;
	case ATTR_FINGERPRINT:
		if (len != 4 || get32(v) != (stun_crc32(b, off) ^ FINGERPRINT_XOR))
			return -1;
		m->has_fingerprint = 1;
		return 0;
	case ATTR_USERNAME:
	case ATTR_INTEGRITY:
	case ATTR_UNKNOWN:
	case ATTR_REALM:
	case ATTR_NONCE:
	case ATTR_PRIORITY:
	case ATTR_USE_CANDIDATE:
	case ATTR_SOFTWARE:
	case ATTR_ALTERNATE:
	case ATTR_ICE_CONTROLLED:
	case ATTR_ICE_CONTROLLING:
		return 0; /* known; nothing a Binding without credentials needs */
	default:
		if (at < 0x8000 && m->nunknown < STUN_UNKNOWN_MAX)
			m->unknown[m->nunknown++] = at;
		return 0;
	}
}

int stun_parse(const uint8_t *b, size_t n, struct stun_msg *m)
{
	size_t off = STUN_HEADER;
	int have_xor = 0;

	memset(m, 0, sizeof(*m));
	if (!stun_is_stun(b, n))
		return -1;
	m->type = get16(b);
	memcpy(m->tid, b + 8, STUN_TID_LEN);
	while (off < n) {
		uint16_t at, len;
		size_t padded;

		if (n - off < 4)
			return -1;
		at = get16(b + off);
		len = get16(b + off + 2);
		padded = ((size_t)len + 3) & ~(size_t)3;
		if (padded > n - off - 4)
			return -1;
		if (m->has_fingerprint)
			return -1; /* FINGERPRINT must be the last attribute */
		if (parse_attr(b, off, at, b + off + 4, len, m, &have_xor) < 0)
			return -1;
		off += 4 + padded;
	}
	return 0;
}

/* ---- building ---- */

static size_t header(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[STUN_TID_LEN])
{
	if (cap < STUN_HEADER)
		return 0;
	put16(out, type);
	put16(out + 2, 0);
	put32(out + 4, STUN_MAGIC);
	memcpy(out + 8, tid, STUN_TID_LEN);
	return STUN_HEADER;
}

/* Appends an attribute (zero padding); keeps the header length right. */
static int attr(uint8_t *out, size_t cap, size_t *off, uint16_t type, const void *v, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;

	if (*off == 0 || len > 0xFFFF || cap - *off < 4 + padded)
		return -1;
	put16(out + *off, type);
	put16(out + *off + 2, (uint16_t)len);
	memcpy(out + *off + 4, v, len);
	memset(out + *off + 4 + len, 0, padded - len);
	*off += 4 + padded;
	put16(out + 2, (uint16_t)(*off - STUN_HEADER));
	return 0;
}

static int fingerprint(uint8_t *out, size_t cap, size_t *off)
{
	uint8_t v[4];

	if (*off == 0 || cap - *off < 8)
		return -1;
	put16(out + 2, (uint16_t)(*off + 8 - STUN_HEADER));
	put32(v, stun_crc32(out, *off) ^ FINGERPRINT_XOR);
	return attr(out, cap, off, ATTR_FINGERPRINT, v, 4);
}

static size_t addr_value(uint8_t *v, const struct sockaddr *sa, int xor, const uint8_t *tid)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		v[0] = 0;
		v[1] = 1;
		put16(v + 2, ntohs(in->sin_port) ^ (xor ? (uint16_t)(STUN_MAGIC >> 16) : 0));
		put32(v + 4, ntohl(in->sin_addr.s_addr) ^ (xor ? STUN_MAGIC : 0));
		return 8;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		uint8_t key[16];
		put32(key, STUN_MAGIC);
		memcpy(key + 4, tid, STUN_TID_LEN);
		v[0] = 0;
		v[1] = 2;
		put16(v + 2, ntohs(in6->sin6_port) ^ (xor ? (uint16_t)(STUN_MAGIC >> 16) : 0));
		for (int i = 0; i < 16; i++)
			v[4 + i] = in6->sin6_addr.s6_addr[i] ^ (xor ? key[i] : 0);
		return 20;
	}
	return 0;
}

size_t stun_binding_request(uint8_t *out, size_t cap, const uint8_t tid[STUN_TID_LEN])
{
	size_t off = header(out, cap, STUN_BINDING_REQUEST, tid);

	return fingerprint(out, cap, &off) < 0 ? 0 : off;
}

size_t stun_binding_success(uint8_t *out, size_t cap, const uint8_t tid[STUN_TID_LEN],
			    const struct sockaddr *mapped, int with_fingerprint)
{
	size_t off = header(out, cap, STUN_BINDING_SUCCESS, tid), n;
	uint8_t v[20];

	if ((n = addr_value(v, mapped, 1, tid)) == 0 ||
	    attr(out, cap, &off, ATTR_XOR_MAPPED, v, n) < 0 ||
	    (with_fingerprint && fingerprint(out, cap, &off) < 0))
		return 0;
	return off;
}

size_t stun_binding_error(uint8_t *out, size_t cap, const uint8_t tid[STUN_TID_LEN], int code,
			  const char *reason, const uint16_t *unknown, int nunknown,
			  int with_fingerprint)
{
	size_t off = header(out, cap, STUN_BINDING_ERROR, tid), rl = strlen(reason);
	uint8_t v[4 + 128], u[2 * STUN_UNKNOWN_MAX];

	if (rl > sizeof(v) - 4 || code < 300 || code > 699 || nunknown > STUN_UNKNOWN_MAX)
		return 0;
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rl);
	if (attr(out, cap, &off, ATTR_ERROR_CODE, v, 4 + rl) < 0)
		return 0;
	for (int i = 0; i < nunknown; i++)
		put16(u + 2 * i, unknown[i]);
	if (nunknown > 0 && attr(out, cap, &off, ATTR_UNKNOWN, u, 2 * (size_t)nunknown) < 0)
		return 0;
	return with_fingerprint && fingerprint(out, cap, &off) < 0 ? 0 : off;
}

/* ---- what the answers say ---- */

int stun_addr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

enum stun_nat stun_classify(const struct sockaddr *local, const struct sockaddr_storage *mapped,
			    int n)
{
	if (n <= 0)
		return STUN_NAT_NO_ANSWER;
	if (stun_addr_eq(local, (const struct sockaddr *)&mapped[0]))
		return STUN_NAT_NONE;
	if (n == 1)
		return STUN_NAT_BEHIND;
	return stun_addr_eq((const struct sockaddr *)&mapped[0], (const struct sockaddr *)&mapped[1])
		       ? STUN_NAT_SAME_MAPPING
		       : STUN_NAT_PER_DESTINATION;
}

const char *stun_nat_name(enum stun_nat nat)
{
	switch (nat) {
	case STUN_NAT_NO_ANSWER:
		return "no answer";
	case STUN_NAT_NONE:
		return "none";
	case STUN_NAT_BEHIND:
		return "nat";
	case STUN_NAT_SAME_MAPPING:
		return "nat, same mapping for every destination";
	case STUN_NAT_PER_DESTINATION:
		return "nat, mapping per destination";
	}
	return "?";
}
