/* Where the media relay may send (sn_relaypol.h): address classes and the
 * operator's allow-list, pure so that they can be tested and fuzzed. */
#include "sn_relaypol.h"

#include "conf.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NETS_TEXT_MAX 2048 /* characters of allow_networks */

/* An IPv6 address's 16 bytes; ::ffff:a.b.c.d reaches a.b.c.d. */
static void ip_from_v6(const uint8_t *a, struct relay_ip *out)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(out, 0, sizeof(*out));
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		out->v4 = 1;
		memcpy(out->a, a + 12, 4);
	} else
		memcpy(out->a, a, 16);
}

int relay_ip_of(const struct sockaddr *sa, struct relay_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->v4 = 1;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	ip_from_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, out);
	return 0;
}

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

enum relay_addr_class relay_addr_class(const struct relay_ip *ip)
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

int relay_ip_eq(const struct relay_ip *a, const struct relay_ip *b)
{
	return a->v4 == b->v4 && memcmp(a->a, b->a, a->v4 ? 4 : 16) == 0;
}

/* The first bits of a and b agree. */
static int prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

int relay_nets_has(const struct relay_nets *nets, const struct relay_ip *ip)
{
	for (int i = 0; i < nets->n; i++)
		if (nets->net[i].ip.v4 == ip->v4 &&
		    prefix_eq(nets->net[i].ip.a, ip->a, nets->net[i].bits))
			return 1;
	return 0;
}

/* One "IP[/BITS]". */
static int net_parse(char *s, struct relay_net *out)
{
	char *slash = strchr(s, '/'), *end;
	long bits;
	uint8_t a6[16];

	if (slash != NULL)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->ip.a) == 1)
		out->ip.v4 = 1;
	else if (inet_pton(AF_INET6, s, a6) == 1) {
		ip_from_v6(a6, &out->ip);
		if (out->ip.v4)
			return -1; /* write an IPv4 network as one */
	} else
		return -1;
	out->bits = out->ip.v4 ? 32 : 128;
	if (slash == NULL)
		return 0;
	bits = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > out->bits)
		return -1;
	out->bits = (int)bits;
	return 0;
}

int relay_nets_parse(const char *text, struct relay_nets *out, char *err, size_t errlen)
{
	char buf[NETS_TEXT_MAX + 1], *items[RELAY_NETS_MAX];
	int n;

	out->n = 0;
	if (text == NULL)
		return 0;
	if (strlen(text) > NETS_TEXT_MAX) {
		err_set(err, errlen, "at most %d characters", NETS_TEXT_MAX);
		return -1;
	}
	str_copy(buf, text, sizeof(buf));
	n = conf_split_list(buf, items, RELAY_NETS_MAX);
	if (n < 0) {
		err_set(err, errlen, "at most %d networks", RELAY_NETS_MAX);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char item[64];

		snprintf(item, sizeof(item), "%s", items[i]);
		if (net_parse(items[i], &out->net[out->n]) < 0) {
			err_set(err, errlen, "%s: want a network as IP/BITS", item);
			out->n = 0;
			return -1;
		}
		out->n++;
	}
	return 0;
}
