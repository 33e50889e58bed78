/* Where the media relay may send (sn_relaypol.h): the classes of addresses,
 * pure so that they can be tested and fuzzed. */
#include "sn_relaypol.h"

#include <string.h>

static enum relay_addr_class class_v4(const uint8_t *a)
{
	if (a[0] == 0 || a[0] == 127 || a[0] >= 224 || (a[0] == 169 && a[1] == 254))
		return RELAY_ADDR_SPECIAL; /* this network, loopback, multicast, 240/4, link-local
					    */
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64))
		return RELAY_ADDR_PRIVATE;
	return RELAY_ADDR_PUBLIC;
}

enum relay_addr_class relay_addr_class(const struct netaddr *ip)
{
	static const uint8_t zero[12], nat64[12] = {0, 0x64, 0xff, 0x9b};
	const uint8_t *a = ip->a;

	if (ip->v4)
		return class_v4(a);
	if (memcmp(a, zero, 12) == 0)
		return RELAY_ADDR_SPECIAL; /* ::, ::1, ::a.b.c.d */
	if (memcmp(a, nat64, 12) == 0)
		return class_v4(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)
		return class_v4(a + 2); /* 6to4 */
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return RELAY_ADDR_SPECIAL; /* multicast, link-local */
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0))
		return RELAY_ADDR_PRIVATE; /* ULA, the old site-local */
	return RELAY_ADDR_PUBLIC;
}

const char *relay_addr_class_name(enum relay_addr_class c)
{
	switch (c) {
	case RELAY_ADDR_PRIVATE:
		return "a private network's address";
	case RELAY_ADDR_SPECIAL:
		return "a loopback, unspecified, multicast, broadcast or link-local address";
	default:
		return "a public address";
	}
}
