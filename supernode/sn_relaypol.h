/* sn_relaypol: where the media relay may send, decided without I/O: the
 * class of an address (special, private, public), so that it can be unit
 * tested and fuzzed. The operator's allow-list ([relay] allow_networks) is
 * a common/netlist.h list. */
#ifndef P2PSIP_SN_RELAYPOL_H
#define P2PSIP_SN_RELAYPOL_H

#include "netlist.h"

enum relay_addr_class {
	RELAY_ADDR_PUBLIC,
	/* RFC 1918, RFC 6598 (carrier-grade NAT), IPv6 ULA and site-local */
	RELAY_ADDR_PRIVATE,
	/* loopback, unspecified, "this network", multicast, broadcast and the
	 * reserved 240/4, link-local, IPv4-compatible IPv6 */
	RELAY_ADDR_SPECIAL
};

/* What kind of address ip is. NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
 * addresses are judged by the IPv4 address they carry. */
enum relay_addr_class relay_addr_class(const struct netaddr *ip);
/* Words for a class, for error answers and the log. */
const char *relay_addr_class_name(enum relay_addr_class c);

#endif
