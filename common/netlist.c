/* Network lists and the limit key of an address (netlist.h): no I/O, no
 * state, so that they can be tested and fuzzed. */
#include "netlist.h"

#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NETLIST_SEPS ", \t\r\n"
#define NET_ITEM_MAX 64 /* characters of one "IP/BITS": an IPv6 one takes 43 */

/* An IPv6 address's 16 bytes; ::ffff:a.b.c.d reaches a.b.c.d. */
static void from_v6(const uint8_t *a, struct netaddr *out)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(out, 0, sizeof(*out));
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		out->v4 = 1;
		memcpy(out->a, a + 12, 4);
	} else
		memcpy(out->a, a, 16);
}

int netaddr_of_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->v4 = 1;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	from_v6(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, out);
	return 0;
}

int netaddr_parse(const char *text, struct netaddr *out)
{
	uint8_t a6[16];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->a) == 1) {
		out->v4 = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a6) != 1)
		return -1;
	from_v6(a6, out);
	return 0;
}

int netaddr_eq(const struct netaddr *a, const struct netaddr *b)
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

int netlist_has(const struct netlist *nets, const struct netaddr *ip)
{
	for (int i = 0; i < nets->n; i++)
		if (nets->net[i].ip.v4 == ip->v4 &&
		    prefix_eq(nets->net[i].ip.a, ip->a, nets->net[i].bits))
			return 1;
	return 0;
}

int netlist_has_text(const struct netlist *nets, const char *ip)
{
	struct netaddr a;

	return netaddr_parse(ip, &a) == 0 && netlist_has(nets, &a);
}

/* One "IP[/BITS]" (s is the item alone, and is changed). */
static int net_parse(char *s, struct netlist_net *out)
{
	char *slash = strchr(s, '/'), *end;
	long bits;

	if (slash != NULL)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (netaddr_parse(s, &out->ip) < 0)
		return -1;
	if (out->ip.v4 && strchr(s, ':') != NULL)
		return -1; /* ::ffff:a.b.c.d: write an IPv4 network as one */
	out->bits = out->ip.v4 ? 32 : 128;
	if (slash == NULL)
		return 0;
	bits = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > out->bits)
		return -1; /* "/", "/x", "/-1", "/+8", "/8/8", "/33" */
	out->bits = (int)bits;
	return 0;
}

int netlist_parse(const char *text, struct netlist *out, char *err, size_t errlen)
{
	char buf[NETLIST_TEXT_MAX + 1], *save = NULL;

	out->n = 0;
	if (text == NULL)
		return 0;
	if (strlen(text) > NETLIST_TEXT_MAX) {
		err_set(err, errlen, "at most %d characters", NETLIST_TEXT_MAX);
		return -1;
	}
	str_copy(buf, text, sizeof(buf));
	for (char *t = strtok_r(buf, NETLIST_SEPS, &save); t != NULL;
	     t = strtok_r(NULL, NETLIST_SEPS, &save)) {
		char item[NET_ITEM_MAX];

		if (out->n == NETLIST_MAX) {
			err_set(err, errlen, "at most %d networks", NETLIST_MAX);
			goto bad;
		}
		snprintf(item, sizeof(item), "%s", t);
		if (strlen(t) >= sizeof(item) || net_parse(t, &out->net[out->n]) < 0) {
			err_set(err, errlen, "%s: want a network as IP or IP/BITS", item);
			goto bad;
		}
		out->n++;
	}
	return 0;
bad:
	out->n = 0;
	return -1;
}

void addr_limit_key(const char *ip, char *out, size_t len)
{
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, ip, &a6) != 1) {
		str_copy(out, ip, len);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof(buf));
		str_copy(out, buf, len);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
	snprintf(out, len, "%s/64", buf);
}
