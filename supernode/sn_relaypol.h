/* sn_relaypol: where the media relay may send, decided without I/O: the
 * class of an address (special, private, public) and the operator's
 * allow-list of networks ([relay] allow_networks), so both can be unit
 * tested and fuzzed. */
#ifndef P2PSIP_SN_RELAYPOL_H
#define P2PSIP_SN_RELAYPOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RELAY_NETS_MAX 32 /* networks in [relay] allow_networks */

/* An address reduced to what the rules look at: IPv4, or IPv6 (an
 * IPv4-mapped IPv6 address is its IPv4 address). */
struct relay_ip {
	int v4;
	uint8_t a[16]; /* IPv4: the first 4 bytes */
};

struct relay_net {
	struct relay_ip ip;
	int bits;
};

struct relay_nets {
	struct relay_net net[RELAY_NETS_MAX];
	int n;
};

enum relay_addr_class {
	RELAY_ADDR_PUBLIC,
	/* RFC 1918, RFC 6598 (carrier-grade NAT), IPv6 ULA and site-local */
	RELAY_ADDR_PRIVATE,
	/* loopback, unspecified, "this network", multicast, broadcast and the
	 * reserved 240/4, link-local, IPv4-compatible IPv6 */
	RELAY_ADDR_SPECIAL
};

/* The address of an AF_INET or AF_INET6 socket address; -1 otherwise. */
int relay_ip_of(const struct sockaddr *sa, struct relay_ip *out);
/* What kind of address ip is. NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
 * addresses are judged by the IPv4 address they carry. */
enum relay_addr_class relay_addr_class(const struct relay_ip *ip);
/* Words for a class, for error answers and the log. */
const char *relay_addr_class_name(enum relay_addr_class c);
/* Parses "CIDR, CIDR, ..." (an address alone is a /32 or /128; an empty
 * text is an empty list). 0, or -1 with err. */
int relay_nets_parse(const char *text, struct relay_nets *out, char *err, size_t errlen);
/* 1 if ip is in one of the networks. */
int relay_nets_has(const struct relay_nets *nets, const struct relay_ip *ip);
/* 1 if a and b are the same address. */
int relay_ip_eq(const struct relay_ip *a, const struct relay_ip *b);

#endif
