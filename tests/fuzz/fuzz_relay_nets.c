/* Fuzzes [relay] allow_networks as sn_relaypol.c reads it, and the class
 * of any 16 bytes taken as an IPv6 or IPv4 address: a list that parses
 * holds only networks of a valid length, each holding its own address. */
#include "log.h"
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

static void classes(const uint8_t *data, size_t size)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct relay_ip ip;

	memcpy(s6.sin6_addr.s6_addr, data, size < 16 ? size : 16);
	memcpy(&s4.sin_addr, data, size < 4 ? size : 4);
	if (relay_ip_of((struct sockaddr *)&s6, &ip) < 0 ||
	    relay_addr_class(&ip) > RELAY_ADDR_SPECIAL)
		abort();
	if (relay_ip_of((struct sockaddr *)&s4, &ip) < 0 ||
	    relay_addr_class(&ip) > RELAY_ADDR_SPECIAL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_nets nets;
	char err[160], *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (relay_nets_parse(text, &nets, err, sizeof(err)) == 0) {
		if (nets.n < 0 || nets.n > RELAY_NETS_MAX)
			abort();
		for (int i = 0; i < nets.n; i++)
			if (nets.net[i].bits < 0 ||
			    nets.net[i].bits > (nets.net[i].ip.v4 ? 32 : 128) ||
			    !relay_nets_has(&nets, &nets.net[i].ip))
				abort();
	}
	free(text);
	classes(data, size);
	return 0;
}
