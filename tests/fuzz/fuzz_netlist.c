/* Fuzzes common/netlist.c: a list of networks as [relay] allow_networks and
 * [ordinarynode] phone_networks read it (a list that parses holds only
 * networks of a valid length, each holding its own address), the same text
 * as an address (matched, keyed), and any 16 bytes taken as an IPv6 or IPv4
 * socket address, with the class sn_relaypol.c gives it. */
#include "log.h"
#include "netlist.h"
#include "sn_relaypol.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static void addresses(const uint8_t *data, size_t size)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct netaddr ip;

	memcpy(s6.sin6_addr.s6_addr, data, size < 16 ? size : 16);
	memcpy(&s4.sin_addr, data, size < 4 ? size : 4);
	if (netaddr_of_sockaddr((struct sockaddr *)&s6, &ip) < 0 ||
	    relay_addr_class(&ip) > RELAY_ADDR_SPECIAL)
		abort();
	if (netaddr_of_sockaddr((struct sockaddr *)&s4, &ip) < 0 ||
	    relay_addr_class(&ip) > RELAY_ADDR_SPECIAL)
		abort();
}

static void one_address(const char *text, const struct netlist *nets)
{
	struct netaddr ip;
	char key[ADDR_LIMIT_KEY_MAX];

	addr_limit_key(text, key, sizeof(key));
	if (memchr(key, '\0', sizeof(key)) == NULL)
		abort();
	if (netaddr_parse(text, &ip) == 0) {
		if (strlen(key) == 0 || netlist_has(nets, &ip) != netlist_has_text(nets, text))
			abort();
	} else if (netlist_has_text(nets, text))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netlist nets;
	char err[160], *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (netlist_parse(text, &nets, err, sizeof(err)) == 0) {
		if (nets.n < 0 || nets.n > NETLIST_MAX)
			abort();
		for (int i = 0; i < nets.n; i++)
			if (nets.net[i].bits < 0 ||
			    nets.net[i].bits > (nets.net[i].ip.v4 ? 32 : 128) ||
			    !netlist_has(&nets, &nets.net[i].ip))
				abort();
	} else if (nets.n != 0)
		abort();
	one_address(text, &nets);
	free(text);
	addresses(data, size);
	return 0;
}
