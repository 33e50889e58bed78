/* Fuzzes LAN announcements as a node reads them off the multicast group
 * (common/lan.c): the datagram parser, then the receiver's whole chain of
 * checks with its table, whose bounds must hold whatever comes. */
#include "fuzz_ca.h"
#include "lan.h"
#include "log.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lan *lan;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	lan = lan_new("overlay.example", fuzz_ca());
	if (lan == NULL)
		abort();
	return 0;
}

static void check_ann(const uint8_t *data, size_t size, const struct lan_ann *a)
{
	if (a->naddr < 1 || a->naddr > LAN_ADDRS_MAX || a->signed_len > size || a->cert < data ||
	    a->cert + a->cert_len > data + size || a->sig_len > size ||
	    strnlen(a->overlay, sizeof(a->overlay)) == sizeof(a->overlay))
		abort();
	for (int i = 0; i < a->naddr; i++)
		if (a->addr[i].port == 0 || !addr_is_ip(a->addr[i].host))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lan_ann a;
	struct lan_heard h[LAN_HEARD_MAX];
	static uint64_t ms = 1;
	char why[256];

	if (lan_parse(data, size, &a) == LAN_ACCEPTED)
		check_ann(data, size, &a);
	/* a fresh source each time, so that the token bucket does not hide the checks */
	snprintf(why, sizeof(why), "10.%u.%u.%u", (unsigned)(ms >> 16) & 255,
		 (unsigned)(ms >> 8) & 255, (unsigned)ms & 255);
	if (lan_take(lan, data, size, why, time_now(), ms++, why, sizeof(why)) >= LAN_NRES)
		abort();
	if (lan_heard(lan, h, LAN_HEARD_MAX, ms) > LAN_HEARD_MAX)
		abort();
	return 0;
}
