/* netlist: lists of networks an operator allows ([relay] allow_networks,
 * [ordinarynode] phone_networks) and the key an address's limits count
 * under; pure, so that both can be unit tested and fuzzed. */
#ifndef P2PSIP_NETLIST_H
#define P2PSIP_NETLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETLIST_MAX 32        /* networks in one list */
#define NETLIST_TEXT_MAX 1024 /* characters of a list (a configuration value's limit) */
#define ADDR_LIMIT_KEY_MAX 64 /* room addr_limit_key needs for any IP address */

/* An address reduced to what the rules look at: IPv4, or IPv6. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address, so that a
 * dual-stack socket cannot take an IPv4 host around an IPv4 rule. */
struct netaddr {
	int v4;
	uint8_t a[16]; /* IPv4: the first 4 bytes */
};

struct netlist_net {
	struct netaddr ip;
	int bits;
};

struct netlist {
	struct netlist_net net[NETLIST_MAX];
	int n;
};

/* The address of an AF_INET or AF_INET6 socket address: 0, or -1 for any
 * other family. */
int netaddr_of_sockaddr(const struct sockaddr *sa, struct netaddr *out);
/* The address written as text ("192.0.2.1", "2001:db8::1"): 0, or -1 when
 * it is not an IP address. */
int netaddr_parse(const char *text, struct netaddr *out);
/* 1 if a and b are the same address. */
int netaddr_eq(const struct netaddr *a, const struct netaddr *b);

/* Parses "IP[/BITS], IP[/BITS] ..." (commas and/or white space between
 * items; an address alone is a /32 or /128; NULL or an empty text is an
 * empty list) into out. At most NETLIST_MAX networks and NETLIST_TEXT_MAX
 * characters; BITS is decimal digits only, at most 32 or 128; an IPv4
 * network must be written as IPv4, not as ::ffff:a.b.c.d/BITS. 0, or -1
 * with err saying why and out empty. */
int netlist_parse(const char *text, struct netlist *out, char *err, size_t errlen);
/* 1 if ip is in one of the networks (an IPv4 network holds no IPv6
 * address and the other way round); 0 for an empty list. */
int netlist_has(const struct netlist *nets, const struct netaddr *ip);
/* The same for an address given as text; 0 when it is not an IP address. */
int netlist_has_text(const struct netlist *nets, const char *ip);

/* The key an address's limits count under, written to out: an IPv4
 * address as it is, an IPv6 address by its /64 ("2001:db8:1:2::/64", one
 * subscriber usually holds a whole /64), an IPv4-mapped IPv6 address as its
 * IPv4 address. Anything that is not an IP address is copied as it is. */
void addr_limit_key(const char *ip, char *out, size_t len);

#endif
